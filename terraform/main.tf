# Shared lookups and names. The Lambdas, their environment and their roles are in lambdas.tf,
# environment.tf and iam.tf.

provider "aws" {
  default_tags {
    tags = merge({ "powerpole:stack" = var.name }, var.tags)
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name

  zip_dir = coalesce(var.lambda_zip_dir, "${path.module}/../target/lambda")

  # Built from its name, not taken from the resource: the ingress Lambdas need it in their
  # environment and the state machine needs the task Lambdas' ARNs, which would otherwise be a
  # dependency cycle through the one aws_lambda_function resource.
  state_machine_name    = var.name
  state_machine_arn     = "arn:${local.partition}:states:${local.region}:${local.account}:stateMachine:${local.state_machine_name}"
  state_machine_exec    = "arn:${local.partition}:states:${local.region}:${local.account}:execution:${local.state_machine_name}:*"
  request_secrets_arn   = "arn:${local.partition}:secretsmanager:${local.region}:${local.account}:secret:${var.secret_prefix}*"
  admin_secret_arns     = [for c in var.clusters : c.admin_secret_arn]
  admin_secret_kms_keys = compact([for c in var.clusters : c.admin_secret_kms_key_arn])
  # Where Aurora exports each served cluster's audit log (read by the teardown receipt).
  audit_log_group_arns = [
    for c in var.clusters :
    "arn:${local.partition}:logs:${c.region}:${local.account}:log-group:/aws/rds/cluster/${c.id}/audit:*"
  ]
  bastion_arn_prefix = "arn:${local.partition}:ec2:${local.region}:${local.account}"

  # POWERPOLE_CLUSTERS: exactly the keys the Lambdas accept (unknown keys are refused).
  clusters_json = jsonencode([
    for c in var.clusters : {
      id                     = c.id
      region                 = c.region
      endpoint               = c.endpoint
      port                   = c.port
      admin_secret_arn       = c.admin_secret_arn
      max_duration_minutes   = c.max_duration_minutes
      levels                 = c.levels
      require_tls            = c.require_tls
      max_user_connections   = c.max_user_connections
      read_statement_seconds = c.read_statement_seconds
      sensitive_tables       = c.sensitive_tables
      tripwires              = c.tripwires
      approval               = c.approval
      auto_approve_read      = c.auto_approve_read
    }
  ])
}
