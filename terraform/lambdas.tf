# The six Lambdas: one zip each from cargo lambda (<binary>/bootstrap.zip), the provided.al2023
# runtime on x86_64 (README: "Architecture"), their log groups, a dead-letter queue for the
# asynchronous invocations (the sweeper's schedule) and, for those that reach the clusters, the
# VPC and its security group.

locals {
  lambdas = {
    request = {
      binary      = "powerpole-request"
      description = "POST /slack/commands: the /powerpole slash command"
      timeout     = 10
      vpc         = false
    }
    approve = {
      binary      = "powerpole-approve"
      description = "POST /slack/interactions: modal submissions, Approve / Deny, End now"
      timeout     = 10
      vpc         = false
    }
    notify = {
      binary      = "powerpole-notify"
      description = "State machine task: approval card (and its blast radius, read on the clusters), expiry, the requester's messages"
      timeout     = 30
      vpc         = true
    }
    provision = {
      binary      = "powerpole-provision"
      description = "State machine task: password secret, one-time DB user, bastion"
      timeout     = 120
      vpc         = true
    }
    teardown = {
      binary      = "powerpole-teardown"
      description = "State machine task: lock, end sessions, drop user, delete secret, terminate, receipt"
      timeout     = 300
      vpc         = true
    }
    sweep = {
      binary      = "powerpole-sweep"
      description = "Scheduled: removes whatever outlived its window, orphans, stuck requests"
      timeout     = 300
      vpc         = true
    }
  }
}

resource "aws_cloudwatch_log_group" "lambda" {
  for_each          = local.lambdas
  name              = "/aws/lambda/${var.name}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_sqs_queue" "dlq" {
  name                      = "${var.name}-lambda-dlq"
  message_retention_seconds = 1209600
  # SQS-managed encryption: with the module's key every role that sends here would also need
  # kms:GenerateDataKey on it.
  sqs_managed_sse_enabled = true
}

resource "aws_security_group" "lambda" {
  name        = "${var.name}-lambda"
  description = "powerpole provision, teardown and sweep Lambdas: no ingress; egress to the clusters and HTTPS"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_egress_rule" "lambda_to_cluster" {
  for_each                     = { for c in var.clusters : c.id => c }
  security_group_id            = aws_security_group.lambda.id
  description                  = "MySQL to cluster ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = each.value.security_group_id
}

resource "aws_vpc_security_group_egress_rule" "lambda_https" {
  for_each          = toset(var.https_egress_cidrs)
  security_group_id = aws_security_group.lambda.id
  description       = "HTTPS to Slack and the AWS APIs"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile and signed uploads; the zips are built by scripts/package-lambdas.sh from a reviewed commit instead.
  for_each = local.lambdas

  function_name = "${var.name}-${each.key}"
  description   = each.value.description
  role          = aws_iam_role.lambda[each.key].arn

  runtime       = "provided.al2023"
  handler       = "bootstrap"
  architectures = ["x86_64"]

  filename         = "${local.zip_dir}/${each.value.binary}/bootstrap.zip"
  source_code_hash = filebase64sha256("${local.zip_dir}/${each.value.binary}/bootstrap.zip")

  memory_size                    = var.lambda_memory_mb[each.key]
  timeout                        = each.value.timeout
  reserved_concurrent_executions = var.lambda_reserved_concurrency[each.key]
  kms_key_arn                    = aws_kms_key.main.arn

  environment {
    variables = local.lambda_env[each.key]
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.lambda[each.key].name
  }

  tracing_config {
    mode = "Active"
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dlq.arn
  }

  dynamic "vpc_config" {
    for_each = each.value.vpc ? [true] : []
    content {
      subnet_ids         = var.lambda_subnet_ids
      security_group_ids = [aws_security_group.lambda.id]
    }
  }

  depends_on = [aws_iam_role_policy.lambda]
}
