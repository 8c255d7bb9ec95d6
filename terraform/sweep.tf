# The sweep Lambda's schedules: the sweeper, the live tripwires' look at active access
# ({"task": "watch"}) and the weekly report ({"task": "report"}). A failed asynchronous invocation
# goes to the dead-letter queue after Lambda's retries; the next run comes anyway, so one retry is
# enough (a retried report makes the same period and the same object).

resource "aws_cloudwatch_event_rule" "sweep" {
  name                = "${var.name}-sweep"
  description         = "powerpole sweeper"
  schedule_expression = var.sweep_schedule
}

resource "aws_cloudwatch_event_target" "sweep" {
  rule = aws_cloudwatch_event_rule.sweep.name
  arn  = aws_lambda_function.this["sweep"].arn
}

resource "aws_lambda_permission" "sweep" {
  statement_id  = "AllowSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["sweep"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.sweep.arn
}

resource "aws_lambda_function_event_invoke_config" "sweep" {
  function_name                = aws_lambda_function.this["sweep"].function_name
  maximum_retry_attempts       = 1
  maximum_event_age_in_seconds = 600
}

# The sweep Lambda's scheduled tasks besides the sweep itself: the live tripwires' look at active
# access (every minute) and the weekly report (reports.tf has its bucket). Each schedule sends
# {"task": <key>}.
locals {
  sweep_tasks = {
    watch = {
      description  = "powerpole live tripwires: active access's audit log, every minute"
      schedule     = var.watch_schedule
      statement_id = "AllowWatchSchedule"
    }
    report = {
      description  = "powerpole weekly report of the last 7 whole UTC days, to S3 and the approvers' channel"
      schedule     = var.report_schedule
      statement_id = "AllowReportSchedule"
    }
  }
}

resource "aws_cloudwatch_event_rule" "task" {
  for_each            = local.sweep_tasks
  name                = "${var.name}-${each.key}"
  description         = each.value.description
  schedule_expression = each.value.schedule
}

resource "aws_cloudwatch_event_target" "task" {
  for_each = local.sweep_tasks
  rule     = aws_cloudwatch_event_rule.task[each.key].name
  arn      = aws_lambda_function.this["sweep"].arn
  input    = jsonencode({ task = each.key })
}

resource "aws_lambda_permission" "task" {
  for_each      = local.sweep_tasks
  statement_id  = each.value.statement_id
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["sweep"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.task[each.key].arn
}

# The watch schedule's resources had their own names before the weekly report joined it.
moved {
  from = aws_cloudwatch_event_rule.watch
  to   = aws_cloudwatch_event_rule.task["watch"]
}

moved {
  from = aws_cloudwatch_event_target.watch
  to   = aws_cloudwatch_event_target.task["watch"]
}

moved {
  from = aws_lambda_permission.watch
  to   = aws_lambda_permission.task["watch"]
}
