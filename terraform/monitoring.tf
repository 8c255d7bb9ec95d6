# Service levels (README, "Service level objectives"). The Lambdas print CloudWatch embedded-metric
# lines (namespace Powerpole, dimension Service = powerpole); Lambda turns them into metrics, so
# they cost no API call. The alarms notify one encrypted SNS topic.

locals {
  metric_namespace  = "Powerpole"
  metric_dimensions = { Service = "powerpole" }
  alarm_actions     = [aws_sns_topic.alarms.arn]
  sweep_function    = "${var.name}-sweep"
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = aws_kms_key.main.arn
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count     = var.alarm_email == "" ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# ≥ 99 % of builds succeed, over a day.
resource "aws_cloudwatch_metric_alarm" "build_success" {
  alarm_name          = "${var.name}-build-success-below-99pct"
  alarm_description   = "Fewer than 99 % of bastion builds succeeded over the last day."
  comparison_operator = "LessThanThreshold"
  threshold           = 99
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "ratio"
    label       = "Build success %"
    expression  = "IF((ok + failed) > 0, 100 * ok / (ok + failed), 100)"
    return_data = true
  }
  metric_query {
    id = "ok"
    metric {
      namespace   = local.metric_namespace
      metric_name = "BuildSucceeded"
      dimensions  = local.metric_dimensions
      period      = 86400
      stat        = "Sum"
    }
  }
  metric_query {
    id = "failed"
    metric {
      namespace   = local.metric_namespace
      metric_name = "BuildFailed"
      dimensions  = local.metric_dimensions
      period      = 86400
      stat        = "Sum"
    }
  }
}

locals {
  # Alarms on one Powerpole metric each: statistic, threshold, period.
  slo_alarms = {
    time-to-ready-over-10min = {
      metric      = "TimeToReady"
      stat        = "Maximum"
      threshold   = 600
      period      = 300
      description = "A bastion took more than 10 minutes from approval to ready."
    }
    bastion-older-than-24h = {
      metric      = "OldestBastionAge"
      stat        = "Maximum"
      threshold   = 86400
      period      = 300
      description = "A bastion has lived more than 24 hours."
    }
    db-user-older-than-24h = {
      metric      = "OldestUserAge"
      stat        = "Maximum"
      threshold   = 86400
      period      = 300
      description = "A broker-made DB user has lived more than 24 hours."
    }
    teardown-failed = {
      metric      = "TeardownFailed"
      stat        = "Sum"
      threshold   = 0
      period      = 300
      description = "A teardown failed: an account, secret or bastion may be left behind."
    }
    orphans-found = {
      metric      = "OrphansFound"
      stat        = "Sum"
      threshold   = 0
      period      = 300
      description = "The sweeper found (and removed) resources no live request owns."
    }
    users-without-backstop = {
      metric      = "UsersWithoutBackstop"
      stat        = "Maximum"
      threshold   = 0
      period      = 300
      description = "A live DB user has no working backstop event (event_scheduler OFF, or the event dropped): only the broker will remove it."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "slo" {
  for_each            = local.slo_alarms
  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = local.metric_namespace
  metric_name         = each.value.metric
  dimensions          = local.metric_dimensions
  statistic           = each.value.stat
  period              = each.value.period
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "sweep_errors" {
  alarm_name          = "${var.name}-sweep-errors"
  alarm_description   = "The sweeper failed."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = local.sweep_function }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "sweep_missing" {
  alarm_name          = "${var.name}-sweep-not-running"
  alarm_description   = "The sweeper has not run for 15 minutes (schedule disabled, throttled or failing to start)."
  namespace           = "AWS/Lambda"
  metric_name         = "Invocations"
  dimensions          = { FunctionName = local.sweep_function }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  alarm_name          = "${var.name}-dead-letters"
  alarm_description   = "An asynchronous Lambda invocation failed for good (see the dead-letter queue)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "executions_failed" {
  alarm_name          = "${var.name}-executions-failed"
  alarm_description   = "A request's workflow failed (its cleanup ran; check the request's events)."
  namespace           = "AWS/States"
  metric_name         = "ExecutionsFailed"
  dimensions          = { StateMachineArn = local.state_machine_arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

locals {
  dim = ["Service", "powerpole"]
  dashboard_widgets = [
    {
      type = "metric", x = 0, y = 0, width = 12, height = 6
      properties = {
        title  = "Build success % (objective ≥ 99 % per day)"
        region = local.region
        period = 86400
        stat   = "Sum"
        metrics = [
          [{ expression = "IF((ok + failed) > 0, 100 * ok / (ok + failed), 100)", label = "success %", id = "ratio" }],
          concat([local.metric_namespace, "BuildSucceeded"], local.dim, [{ id = "ok", visible = false }]),
          concat([local.metric_namespace, "BuildFailed"], local.dim, [{ id = "failed", visible = false }]),
        ]
        annotations = { horizontal = [{ value = 99, label = "objective" }] }
      }
    },
    {
      type = "metric", x = 12, y = 0, width = 12, height = 6
      properties = {
        title  = "Time to ready / to approve (s; objective ready ≤ 600 s)"
        region = local.region
        period = 300
        metrics = [
          concat([local.metric_namespace, "TimeToReady"], local.dim, [{ stat = "Maximum", label = "ready, max" }]),
          concat([local.metric_namespace, "TimeToReady"], local.dim, [{ stat = "Average", label = "ready, avg" }]),
          concat([local.metric_namespace, "TimeToApprove"], local.dim, [{ stat = "Average", label = "approve, avg" }]),
        ]
        annotations = { horizontal = [{ value = 600, label = "objective" }] }
      }
    },
    {
      type = "metric", x = 0, y = 6, width = 12, height = 6
      properties = {
        title  = "Oldest bastion / DB user (s; objective ≤ 86400 s)"
        region = local.region
        period = 300
        stat   = "Maximum"
        metrics = [
          concat([local.metric_namespace, "OldestBastionAge"], local.dim),
          concat([local.metric_namespace, "OldestUserAge"], local.dim),
        ]
        annotations = { horizontal = [{ value = 86400, label = "objective" }] }
      }
    },
    {
      type = "metric", x = 12, y = 6, width = 12, height = 6
      properties = {
        title  = "Teardowns and orphans"
        region = local.region
        period = 300
        stat   = "Sum"
        metrics = [
          concat([local.metric_namespace, "TeardownSucceeded"], local.dim),
          concat([local.metric_namespace, "TeardownFailed"], local.dim),
          concat([local.metric_namespace, "OrphansFound"], local.dim),
        ]
      }
    },
    {
      type = "metric", x = 0, y = 12, width = 24, height = 6
      properties = {
        title  = "Sweeper invocations and errors"
        region = local.region
        period = 300
        stat   = "Sum"
        metrics = [
          ["AWS/Lambda", "Invocations", "FunctionName", local.sweep_function],
          ["AWS/Lambda", "Errors", "FunctionName", local.sweep_function],
        ]
      }
    },
  ]
}

resource "aws_cloudwatch_dashboard" "slo" {
  dashboard_name = "${var.name}-slo"
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
