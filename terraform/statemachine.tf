# The workflow: statemachine/powerpole.asl.json, the one definition also run locally, with the
# three task Lambdas filled in. Logging (all events, to an encrypted log group) and X-Ray on.

resource "aws_cloudwatch_log_group" "state_machine" {
  name              = "/aws/vendedlogs/states/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

data "aws_iam_policy_document" "sfn_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

locals {
  # The Lambdas the definition invokes, by template variable.
  state_machine_tasks = {
    notify_function    = "notify"
    provision_function = "provision"
    teardown_function  = "teardown"
  }
}

data "aws_iam_policy_document" "sfn" {
  statement {
    sid     = "InvokeTheTaskLambdas"
    actions = ["lambda:InvokeFunction"]
    resources = flatten([
      for name in values(local.state_machine_tasks) : [
        aws_lambda_function.this[name].arn,
        "${aws_lambda_function.this[name].arn}:*",
      ]
    ])
  }
  statement {
    sid = "LogDelivery"
    actions = [
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }
  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
    resources = ["*"]
  }
}

resource "aws_iam_role" "sfn" {
  name               = "${var.name}-state-machine"
  assume_role_policy = data.aws_iam_policy_document.sfn_assume.json
}

resource "aws_iam_role_policy" "sfn" {
  name   = "${var.name}-state-machine"
  role   = aws_iam_role.sfn.id
  policy = data.aws_iam_policy_document.sfn.json
}

resource "aws_sfn_state_machine" "workflow" {
  name     = local.state_machine_name
  role_arn = aws_iam_role.sfn.arn
  type     = "STANDARD"

  definition = templatefile("${path.module}/../statemachine/powerpole.asl.json", {
    notify_function    = aws_lambda_function.this["notify"].arn
    provision_function = aws_lambda_function.this["provision"].arn
    teardown_function  = aws_lambda_function.this["teardown"].arn
  })

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine.arn}:*"
    include_execution_data = true
    level                  = "ALL"
  }

  tracing_configuration {
    enabled = true
  }

  lifecycle {
    postcondition {
      condition     = self.arn == local.state_machine_arn
      error_message = "The state machine ARN the ingress Lambdas are given must be this state machine's."
    }
  }

  depends_on = [aws_iam_role_policy.sfn]
}
