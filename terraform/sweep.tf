# The sweep Lambda's two schedules: the sweeper, and the live tripwires' look at active access
# ({"task": "watch"}). A failed asynchronous invocation goes to the dead-letter queue after
# Lambda's retries; the next run comes anyway, so one retry is enough.

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

resource "aws_cloudwatch_event_rule" "watch" {
  name                = "${var.name}-watch"
  description         = "powerpole live tripwires: active access's audit log, every minute"
  schedule_expression = var.watch_schedule
}

resource "aws_cloudwatch_event_target" "watch" {
  rule  = aws_cloudwatch_event_rule.watch.name
  arn   = aws_lambda_function.this["sweep"].arn
  input = jsonencode({ task = "watch" })
}

resource "aws_lambda_permission" "watch" {
  statement_id  = "AllowWatchSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["sweep"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.watch.arn
}
