# The HTTP API Slack calls: two routes, each proxied to its Lambda (payload format 2.0), throttled,
# with access logs. Slack's signature is checked by the Lambdas on the raw body, so the routes have
# no API Gateway authorizer.

resource "aws_apigatewayv2_api" "slack" {
  name          = "${var.name}-slack"
  description   = "powerpole: Slack slash command and interactivity endpoints"
  protocol_type = "HTTP"
}

resource "aws_cloudwatch_log_group" "api_access" {
  name              = "/aws/apigateway/${var.name}-slack"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.slack.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_burst_limit = var.api_throttling_burst_limit
    throttling_rate_limit  = var.api_throttling_rate_limit
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      requestTime        = "$context.requestTime"
      sourceIp           = "$context.identity.sourceIp"
      routeKey           = "$context.routeKey"
      status             = "$context.status"
      responseLength     = "$context.responseLength"
      integrationStatus  = "$context.integrationStatus"
      integrationLatency = "$context.integrationLatency"
      errorMessage       = "$context.error.message"
    })
  }
}

locals {
  slack_routes = {
    commands     = { path = "/slack/commands", lambda = "request" }
    interactions = { path = "/slack/interactions", lambda = "approve" }
  }
}

resource "aws_apigatewayv2_integration" "slack" {
  for_each               = local.slack_routes
  api_id                 = aws_apigatewayv2_api.slack.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.this[each.value.lambda].invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 10000
}

resource "aws_apigatewayv2_route" "slack" {
  #checkov:skip=CKV_AWS_309:Slack cannot present IAM, JWT or Lambda-authorizer credentials; each Lambda verifies Slack's HMAC signature on the raw body and answers 401 otherwise.
  for_each           = local.slack_routes
  api_id             = aws_apigatewayv2_api.slack.id
  route_key          = "POST ${each.value.path}"
  target             = "integrations/${aws_apigatewayv2_integration.slack[each.key].id}"
  authorization_type = "NONE"
}

resource "aws_lambda_permission" "slack" {
  for_each      = local.slack_routes
  statement_id  = "AllowSlackRoute-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this[each.value.lambda].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.slack.execution_arn}/*/POST${each.value.path}"
}
