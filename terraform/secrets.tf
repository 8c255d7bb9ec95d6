# The Slack app's credentials. Terraform creates the secret, never its value: put
# {"signing_secret": "…", "bot_token": "xoxb-…"} into it once after apply (README, step 3). The
# Lambdas read it at cold start.

resource "aws_secretsmanager_secret" "slack" {
  #checkov:skip=CKV2_AWS_57:Slack's signing secret and bot token are issued by Slack and cannot be rotated by a Lambda; rotate them in the Slack app and put the new value (README).
  name        = "${var.name}-slack"
  description = "powerpole Slack app: signing_secret and bot_token"
  kms_key_id  = aws_kms_key.main.arn

  lifecycle {
    precondition {
      # The Lambdas may create and delete secrets under the prefix: the Slack secret must not be one.
      condition     = !startswith("${var.name}-slack", var.secret_prefix)
      error_message = "secret_prefix must not be a prefix of the Slack secret's name (${var.name}-slack)."
    }
  }
}
