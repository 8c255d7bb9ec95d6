# What a requester's own IAM (SSO) role needs to reach their bastion — and nobody else's.
# Every bastion carries its requester's e-mail address (lower-cased) in `powerpole:requester`;
# StartSession is allowed only where that tag equals the caller's principal tag
# `var.requester_principal_tag` (IAM Identity Center: "attributes for access control",
# key `email` = `${path:emails[primary].value}`). Attach `requester_policy_arn` to the
# requesters' permission set or role. A caller without the principal tag opens no session.

data "aws_iam_policy_document" "requesters" {
  statement {
    sid       = "StartSessionOnOwnBastionOnly"
    actions   = ["ssm:StartSession"]
    resources = ["${local.bastion_arn_prefix}:instance/*"]
    condition {
      test     = "StringEquals"
      variable = "ssm:resourceTag/powerpole:managed"
      values   = ["true"]
    }
    condition {
      test     = "StringEqualsIgnoreCase"
      variable = "ssm:resourceTag/powerpole:requester"
      values   = ["$${aws:PrincipalTag/${var.requester_principal_tag}}"]
    }
  }
  statement {
    sid     = "TheSessionDocument"
    actions = ["ssm:StartSession"]
    # The account's Session Manager preferences document (ssm.tf), used by a plain start-session.
    resources = ["arn:${local.partition}:ssm:${local.region}:${local.account}:document/SSM-SessionManagerRunShell"]
  }
  statement {
    sid       = "OwnSessionsOnly"
    actions   = ["ssm:TerminateSession", "ssm:ResumeSession"]
    resources = ["arn:${local.partition}:ssm:${local.region}:${local.account}:session/$${aws:userid}-*"]
  }
  statement {
    sid       = "SessionDataEncryption"
    actions   = ["kms:GenerateDataKey"]
    resources = [aws_kms_key.main.arn]
  }
}

resource "aws_iam_policy" "requesters" {
  name        = "${var.name}-requesters"
  description = "Session Manager access to the caller's own powerpole bastion only."
  policy      = data.aws_iam_policy_document.requesters.json
}
