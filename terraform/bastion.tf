# The throw-away bastions: a launch template (latest Amazon Linux 2023 from the public SSM
# parameter, resolved at each launch; IMDSv2 only; no key pair; no public address; encrypted root
# volume), a security group with no ingress, and an instance profile that allows Session Manager
# and reading only request password secrets.
#
# provision launches from this template (POWERPOLE_BASTION_LAUNCH_TEMPLATE) and adds the request's
# tags (powerpole:request-id, powerpole:expires-at, powerpole:managed = true) and the user data.

resource "aws_security_group" "bastion" {
  name        = "${var.name}-bastion"
  description = "powerpole bastions: no ingress (Session Manager only); egress to the clusters and HTTPS"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_egress_rule" "bastion_to_cluster" {
  for_each                     = { for c in var.clusters : c.id => c }
  security_group_id            = aws_security_group.bastion.id
  description                  = "MySQL to cluster ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = each.value.security_group_id
}

resource "aws_vpc_security_group_egress_rule" "bastion_https" {
  for_each          = toset(var.https_egress_cidrs)
  security_group_id = aws_security_group.bastion.id
  description       = "HTTPS to the SSM, Secrets Manager and package endpoints"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

# The clusters' side: their security groups admit the bastions and the in-VPC Lambdas.
resource "aws_vpc_security_group_ingress_rule" "cluster_from_bastion" {
  for_each                     = { for c in var.clusters : c.id => c }
  security_group_id            = each.value.security_group_id
  description                  = "powerpole bastions"
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = aws_security_group.bastion.id
}

resource "aws_vpc_security_group_ingress_rule" "cluster_from_lambda" {
  for_each                     = { for c in var.clusters : c.id => c }
  security_group_id            = each.value.security_group_id
  description                  = "powerpole provision, teardown and sweep Lambdas"
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = aws_security_group.lambda.id
}

data "aws_iam_policy_document" "bastion_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "bastion" {
  name               = "${var.name}-bastion"
  assume_role_policy = data.aws_iam_policy_document.bastion_assume.json
}

resource "aws_iam_role_policy_attachment" "bastion_ssm" {
  role       = aws_iam_role.bastion.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

data "aws_iam_policy_document" "bastion" {
  statement {
    sid       = "ReadRequestPasswordSecretsOnly"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.request_secrets_arn]
    # Only the secret of this instance's own request: the provision Lambda tags each request's
    # secret with its bastion's ARN (powerpole:bastion) once the bastion is launched.
    condition {
      test     = "StringEquals"
      variable = "secretsmanager:ResourceTag/powerpole:bastion"
      values   = ["$${ec2:SourceInstanceARN}"]
    }
  }
  statement {
    sid       = "DecryptThroughSecretsManager"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.main.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
  statement {
    sid       = "SessionDataEncryption"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.main.arn]
  }
  statement {
    sid       = "SessionLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.sessions.arn}:*"]
  }
  statement {
    sid       = "MarkOwnBootFinished"
    actions   = ["ec2:CreateTags"]
    resources = ["$${ec2:SourceInstanceARN}"]
    # The boot script's last step (crates/aws/src/bastions.rs, user_data): the instance tags
    # itself powerpole:booted, and nothing else, which the provision Lambda waits for.
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = ["powerpole:booted"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/powerpole:managed"
      values   = ["true"]
    }
  }
  statement {
    sid       = "SessionLogEncryptionCheck"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "bastion" {
  name   = "${var.name}-bastion"
  role   = aws_iam_role.bastion.id
  policy = data.aws_iam_policy_document.bastion.json
}

resource "aws_iam_instance_profile" "bastion" {
  name = "${var.name}-bastion"
  role = aws_iam_role.bastion.name
}

resource "aws_launch_template" "bastion" {
  name                   = "${var.name}-bastion"
  description            = "powerpole throw-away bastion (Session Manager only)"
  image_id               = "resolve:ssm:${var.bastion_ami_parameter}"
  instance_type          = var.bastion_instance_type
  update_default_version = true
  ebs_optimized          = true

  iam_instance_profile {
    arn = aws_iam_instance_profile.bastion.arn
  }

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  network_interfaces {
    subnet_id                   = var.bastion_subnet_id
    security_groups             = [aws_security_group.bastion.id]
    associate_public_ip_address = false
    delete_on_termination       = true
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      encrypted             = true
      volume_size           = var.bastion_root_volume_gib
      volume_type           = "gp3"
      delete_on_termination = true
    }
  }

  monitoring {
    enabled = true
  }
}
