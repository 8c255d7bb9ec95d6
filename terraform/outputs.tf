output "slack_commands_url" {
  description = "Slash command Request URL (slack/manifest.yml: features.slash_commands[0].url)."
  value       = "${aws_apigatewayv2_api.slack.api_endpoint}/slack/commands"
}

output "slack_interactions_url" {
  description = "Interactivity Request URL (slack/manifest.yml: settings.interactivity.request_url)."
  value       = "${aws_apigatewayv2_api.slack.api_endpoint}/slack/interactions"
}

output "slack_secret_arn" {
  description = "Secret to put {\"signing_secret\", \"bot_token\"} into after apply."
  value       = aws_secretsmanager_secret.slack.arn
}

output "state_machine_arn" {
  description = "The workflow's state machine."
  value       = aws_sfn_state_machine.workflow.arn
}

output "table_name" {
  description = "The DynamoDB table of requests."
  value       = aws_dynamodb_table.requests.name
}

output "lambda_function_names" {
  description = "Function name of each Lambda, by role."
  value       = { for k, f in aws_lambda_function.this : k => f.function_name }
}

output "bastion_launch_template_id" {
  description = "The bastions' launch template."
  value       = aws_launch_template.bastion.id
}

output "bastion_security_group_id" {
  description = "Security group of the bastions (the clusters admit it)."
  value       = aws_security_group.bastion.id
}

output "lambda_security_group_id" {
  description = "Security group of the in-VPC Lambdas (the clusters admit it)."
  value       = aws_security_group.lambda.id
}

output "session_log_group" {
  description = "CloudWatch log group of the Session Manager session logs."
  value       = aws_cloudwatch_log_group.sessions.name
}

output "alarm_topic_arn" {
  description = "SNS topic of the SLO and health alarms."
  value       = aws_sns_topic.alarms.arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the service levels."
  value       = aws_cloudwatch_dashboard.slo.dashboard_name
}

output "kms_key_arn" {
  description = "The module's KMS key."
  value       = aws_kms_key.main.arn
}

output "requester_policy_arn" {
  description = "IAM policy for the requesters' roles: ssm:StartSession on their own bastion only (tag powerpole:requester = their principal tag)."
  value       = aws_iam_policy.requesters.arn
}

output "report_bucket" {
  description = "The S3 bucket the weekly reports are put in (under reports/)."
  value       = aws_s3_bucket.reports.id
}
