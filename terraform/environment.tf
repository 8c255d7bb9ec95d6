# Each Lambda's environment, by the configuration it reads (lambdas/shared/src/config/):
# IngressConfig (request, approve), NotifyConfig (notify), AccessConfig (provision, teardown),
# SweepConfig (sweep). Optional variables are always set; blank means "use the default".
# tests/terraform checks these maps against the code: keep each one a merge() of the env_* maps.

locals {
  # Every Lambda: the table, Slack, the log filter.
  env_core = {
    POWERPOLE_TABLE             = aws_dynamodb_table.requests.name
    POWERPOLE_SLACK_SECRET_ARN  = aws_secretsmanager_secret.slack.arn
    POWERPOLE_SLACK_API_URL     = var.slack_api_url
    POWERPOLE_APPROVERS_CHANNEL = var.slack_approvers_channel
    RUST_LOG                    = var.log_level
  }

  # The public channel new requests are acknowledged in (SlackConfig).
  env_requests_channel = {
    POWERPOLE_REQUESTS_CHANNEL = var.slack_requests_channel
  }

  # The Slack endpoints.
  env_ingress = {
    POWERPOLE_STATE_MACHINE_ARN = local.state_machine_arn
    POWERPOLE_APPROVERS         = var.slack_approvers
    POWERPOLE_CLUSTERS          = local.clusters_json
    POWERPOLE_PRIMARY_DOMAINS   = join(",", var.primary_domains)
    POWERPOLE_DB_USERS          = jsonencode(var.db_users)
  }

  # What reaches the clusters as their admin (notify measures the blast radius with it).
  env_clusters = {
    POWERPOLE_CLUSTERS     = local.clusters_json
    POWERPOLE_DB_CA_BUNDLE = var.db_ca_bundle
  }

  # What reaches the password secrets and the bastions.
  env_access = {
    POWERPOLE_SECRET_PREFIX                   = var.secret_prefix
    POWERPOLE_BASTION_LAUNCH_TEMPLATE         = aws_launch_template.bastion.id
    POWERPOLE_BASTION_LAUNCH_TEMPLATE_VERSION = tostring(aws_launch_template.bastion.latest_version)
  }

  # The password secrets' key (provision encrypts with it).
  env_secret_key = {
    POWERPOLE_SECRET_KMS_KEY_ID = aws_kms_key.main.arn
  }

  # The teardown's session receipt (and the sweep's weekly report) also reads the SSM session log.
  env_receipt = {
    POWERPOLE_SESSION_LOG_GROUP = aws_cloudwatch_log_group.sessions.name
  }

  env_sweep = {
    POWERPOLE_SWEEP_GRACE_MINUTES = tostring(var.sweep_grace_minutes)
    POWERPOLE_REPORT_BUCKET       = aws_s3_bucket.reports.id
    # Database logins the weekly report expects: from the bastions' subnet unless told otherwise.
    POWERPOLE_EXPECTED_HOSTS = join(",", length(var.report_expected_hosts) > 0 ? var.report_expected_hosts : [data.aws_subnet.bastion.cidr_block])
    # The minute's look sends decisions (approvals, denials) that did not reach their workflow again.
    POWERPOLE_STATE_MACHINE_ARN = local.state_machine_arn
  }

  lambda_env = {
    request   = merge(local.env_core, local.env_requests_channel, local.env_ingress)
    approve   = merge(local.env_core, local.env_requests_channel, local.env_ingress)
    notify    = merge(local.env_core, local.env_requests_channel, local.env_clusters)
    provision = merge(local.env_core, local.env_requests_channel, local.env_clusters, local.env_access, local.env_secret_key)
    teardown  = merge(local.env_core, local.env_requests_channel, local.env_clusters, local.env_access, local.env_secret_key, local.env_receipt)
    sweep     = merge(local.env_core, local.env_requests_channel, local.env_clusters, local.env_access, local.env_secret_key, local.env_receipt, local.env_sweep)
  }
}
