# One role per Lambda, granting exactly what its code calls (lambdas/README.md, "What each calls"),
# scoped to the module's resources. tests/terraform/reviewed_iam.py holds the reviewed list of
# SDK operations per Lambda and checks these documents against it and against the code.
#
# Every Lambda also gets lambda_base (its own log group, the dead-letter queue, X-Ray); those in
# the VPC get lambda_vpc (their network interfaces).

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "lambda" {
  for_each           = local.lambdas
  name               = "${var.name}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

resource "aws_iam_role_policy" "lambda" {
  for_each = local.lambdas
  name     = "${var.name}-${each.key}"
  role     = aws_iam_role.lambda[each.key].id
  policy   = local.lambda_policies[each.key]
}

locals {
  lambda_policies = {
    request   = data.aws_iam_policy_document.request.json
    approve   = data.aws_iam_policy_document.approve.json
    notify    = data.aws_iam_policy_document.notify.json
    provision = data.aws_iam_policy_document.provision.json
    teardown  = data.aws_iam_policy_document.teardown.json
    sweep     = data.aws_iam_policy_document.sweep.json
  }

  table_arn = aws_dynamodb_table.requests.arn
  # Secrets Manager decrypts with the module's key (Slack and password secrets) and with the
  # admin secrets' customer keys, if any; only through Secrets Manager.
  secret_keys = concat([aws_kms_key.main.arn], local.admin_secret_kms_keys)
}

data "aws_iam_policy_document" "lambda_base" {
  for_each = local.lambdas

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda[each.key].arn}:*"]
  }
  statement {
    sid       = "DeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }
  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "lambda_vpc" {
  statement {
    sid       = "DescribeOwnInterfaces"
    actions   = ["ec2:DescribeNetworkInterfaces"]
    resources = ["*"]
  }
  statement {
    sid     = "InterfacesInTheClustersVpc"
    actions = ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
    resources = [
      "${local.bastion_arn_prefix}:network-interface/*",
      "${local.bastion_arn_prefix}:subnet/*",
      "${local.bastion_arn_prefix}:security-group/*",
    ]
    condition {
      test     = "ArnEquals"
      variable = "ec2:Vpc"
      values   = ["${local.bastion_arn_prefix}:vpc/${var.vpc_id}"]
    }
  }
}

data "aws_iam_policy_document" "request" {
  source_policy_documents = [data.aws_iam_policy_document.lambda_base["request"].json]

  statement {
    sid       = "ListOwnRequests"
    actions   = ["dynamodb:Query"]
    resources = ["${local.table_arn}/index/by-requester"]
  }
  # `/powerpole cancel [ID]`: the request is read, marked cancelled and its workflow stopped.
  statement {
    sid       = "CancelRequests"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [local.table_arn]
  }
  statement {
    sid       = "StopCancelledExecutions"
    actions   = ["states:StopExecution"]
    resources = [local.state_machine_exec]
  }
  statement {
    sid       = "SlackSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.slack.arn]
  }
  statement {
    sid       = "DecryptSecrets"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.main.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "approve" {
  source_policy_documents = [data.aws_iam_policy_document.lambda_base["approve"].json]

  statement {
    sid       = "Requests"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = [local.table_arn]
  }
  statement {
    sid       = "ListOwnRequests"
    actions   = ["dynamodb:Query"]
    resources = ["${local.table_arn}/index/by-requester"]
  }
  # A submission is refused while another person's live request holds the same DB user name.
  statement {
    sid       = "FindNamesakes"
    actions   = ["dynamodb:Query"]
    resources = ["${local.table_arn}/index/by-deadline"]
  }
  statement {
    sid       = "StartAndResume"
    actions   = ["states:StartExecution", "states:SendTaskSuccess"]
    resources = [local.state_machine_arn]
  }
  statement {
    sid       = "StopAndDescribeExecutions"
    actions   = ["states:StopExecution", "states:DescribeExecution"]
    resources = [local.state_machine_exec]
  }
  statement {
    sid       = "SlackSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.slack.arn]
  }
  statement {
    sid       = "DecryptSecrets"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.main.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "notify" {
  source_policy_documents = [
    data.aws_iam_policy_document.lambda_base["notify"].json,
    data.aws_iam_policy_document.lambda_vpc.json,
  ]

  statement {
    sid       = "Requests"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [local.table_arn]
  }
  statement {
    sid       = "SlackAndAdminSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = concat([aws_secretsmanager_secret.slack.arn], local.admin_secret_arns)
  }
  statement {
    sid       = "DecryptSecrets"
    actions   = ["kms:Decrypt"]
    resources = local.secret_keys
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "provision" {
  source_policy_documents = [
    data.aws_iam_policy_document.lambda_base["provision"].json,
    data.aws_iam_policy_document.lambda_vpc.json,
  ]

  statement {
    sid       = "Requests"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [local.table_arn]
  }
  statement {
    sid       = "ReadSlackAdminAndOwnPasswordSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = concat([aws_secretsmanager_secret.slack.arn, local.request_secrets_arn], local.admin_secret_arns)
  }
  statement {
    sid       = "CreatePasswordSecrets"
    actions   = ["secretsmanager:CreateSecret", "secretsmanager:TagResource", "secretsmanager:DescribeSecret"]
    resources = [local.request_secrets_arn]
  }
  statement {
    sid       = "EncryptAndDecryptSecrets"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = local.secret_keys
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
  statement {
    sid       = "FindBastions"
    actions   = ["ec2:DescribeInstances"]
    resources = ["*"]
  }
  statement {
    sid       = "SeeBastionAgentsOnline"
    actions   = ["ssm:DescribeInstanceInformation"]
    resources = ["*"]
  }
  statement {
    sid       = "LaunchTaggedBastions"
    actions   = ["ec2:RunInstances"]
    resources = ["${local.bastion_arn_prefix}:instance/*", "${local.bastion_arn_prefix}:volume/*"]
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/powerpole:managed"
      values   = ["true"]
    }
  }
  statement {
    sid     = "LaunchFromTheTemplate"
    actions = ["ec2:RunInstances"]
    resources = [
      aws_launch_template.bastion.arn,
      "${local.bastion_arn_prefix}:network-interface/*",
      "${local.bastion_arn_prefix}:subnet/${var.bastion_subnet_id}",
      "${local.bastion_arn_prefix}:security-group/${aws_security_group.bastion.id}",
      "arn:${local.partition}:ec2:${local.region}::image/*",
    ]
  }
  statement {
    sid       = "TagOnLaunch"
    actions   = ["ec2:CreateTags"]
    resources = ["${local.bastion_arn_prefix}:instance/*", "${local.bastion_arn_prefix}:volume/*"]
    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = ["RunInstances"]
    }
  }
  statement {
    sid       = "PassTheBastionRole"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.bastion.arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ec2.amazonaws.com"]
    }
  }
  statement {
    sid       = "ResolveTheAmiParameter"
    actions   = ["ssm:GetParameters"]
    resources = ["arn:${local.partition}:ssm:${local.region}::parameter${var.bastion_ami_parameter}"]
  }
}

data "aws_iam_policy_document" "teardown" {
  source_policy_documents = [
    data.aws_iam_policy_document.lambda_base["teardown"].json,
    data.aws_iam_policy_document.lambda_vpc.json,
  ]

  statement {
    sid       = "Requests"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [local.table_arn]
  }
  statement {
    sid       = "ReadSlackAndAdminSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = concat([aws_secretsmanager_secret.slack.arn], local.admin_secret_arns)
  }
  statement {
    sid       = "DeletePasswordSecrets"
    actions   = ["secretsmanager:DeleteSecret", "secretsmanager:DescribeSecret"]
    resources = [local.request_secrets_arn]
  }
  statement {
    sid       = "DecryptSecrets"
    actions   = ["kms:Decrypt"]
    resources = local.secret_keys
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
  statement {
    sid       = "FindBastions"
    actions   = ["ec2:DescribeInstances"]
    resources = ["*"]
  }
  statement {
    sid       = "TerminateManagedBastions"
    actions   = ["ec2:TerminateInstances"]
    resources = ["${local.bastion_arn_prefix}:instance/*"]
    condition {
      test     = "StringEquals"
      variable = "ec2:ResourceTag/powerpole:managed"
      values   = ["true"]
    }
  }
  statement {
    sid       = "ReceiptReadsAuditAndSessionLogs"
    actions   = ["logs:FilterLogEvents"]
    resources = concat(local.audit_log_group_arns, ["${aws_cloudwatch_log_group.sessions.arn}:*"])
  }
}

data "aws_iam_policy_document" "sweep" {
  source_policy_documents = [
    data.aws_iam_policy_document.lambda_base["sweep"].json,
    data.aws_iam_policy_document.lambda_vpc.json,
  ]

  statement {
    sid       = "Requests"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = [local.table_arn]
  }
  statement {
    sid       = "LiveRequestsByDeadlineAndTheReportsPeriod"
    actions   = ["dynamodb:Query"]
    resources = ["${local.table_arn}/index/by-deadline", "${local.table_arn}/index/by-submission-day"]
  }
  statement {
    sid       = "ReadSlackAndAdminSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = concat([aws_secretsmanager_secret.slack.arn], local.admin_secret_arns)
  }
  statement {
    sid       = "ResendUndeliveredApprovals"
    actions   = ["states:SendTaskSuccess"]
    resources = [local.state_machine_arn]
  }
  statement {
    sid       = "TripwiresAndReportReadAuditAndSessionLogs"
    actions   = ["logs:FilterLogEvents"]
    resources = concat(local.audit_log_group_arns, ["${aws_cloudwatch_log_group.sessions.arn}:*"])
  }
  statement {
    sid       = "PutWeeklyReports"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.reports.arn}/reports/*"]
  }
  statement {
    sid       = "EncryptWeeklyReports"
    actions   = ["kms:GenerateDataKey"]
    resources = [aws_kms_key.main.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }
  statement {
    sid       = "ListSecrets"
    actions   = ["secretsmanager:ListSecrets"]
    resources = ["*"]
  }
  statement {
    sid       = "DeleteExpiredPasswordSecrets"
    actions   = ["secretsmanager:DeleteSecret", "secretsmanager:DescribeSecret"]
    resources = [local.request_secrets_arn]
  }
  statement {
    sid       = "DecryptSecrets"
    actions   = ["kms:Decrypt"]
    resources = local.secret_keys
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
  statement {
    sid       = "FindBastions"
    actions   = ["ec2:DescribeInstances"]
    resources = ["*"]
  }
  statement {
    sid       = "TerminateManagedBastions"
    actions   = ["ec2:TerminateInstances"]
    resources = ["${local.bastion_arn_prefix}:instance/*"]
    condition {
      test     = "StringEquals"
      variable = "ec2:ResourceTag/powerpole:managed"
      values   = ["true"]
    }
  }
}
