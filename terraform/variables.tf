# Inputs of the powerpole root module. The README's "Inputs" table lists them all.

variable "name" {
  description = "Name prefix of every resource (functions, table, API, state machine, roles)."
  type        = string
  default     = "powerpole"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3 to 31 lower-case letters, digits and dashes, starting with a letter."
  }
}

variable "tags" {
  description = "Tags added to every resource that takes tags."
  type        = map(string)
  default     = {}
}

variable "lambda_zip_dir" {
  description = "Directory of the Lambda zips in cargo lambda's layout (<binary>/bootstrap.zip). Null means ../target/lambda next to this module (what scripts/package-lambdas.sh writes)."
  type        = string
  default     = null
}

variable "log_level" {
  description = "RUST_LOG of every Lambda."
  type        = string
  default     = "info"
}

variable "log_retention_days" {
  description = "Retention of every log group the module creates (Lambdas, API access log, state machine, SSM sessions)."
  type        = number
  default     = 365
}

# --- network ----------------------------------------------------------------------------------------

variable "vpc_id" {
  description = "VPC of the clusters. The bastions and the notify, provision, teardown and sweep Lambdas run in it."
  type        = string
}

variable "lambda_subnet_ids" {
  description = "Private subnets of the Lambdas that reach the clusters. They need a route to Slack and the AWS APIs (NAT gateway, or VPC endpoints plus NAT for slack.com)."
  type        = list(string)
}

variable "bastion_subnet_id" {
  description = "Private subnet bastions are launched in (the launch template's). Needs HTTPS to the SSM endpoints (NAT or VPC endpoints) and a route to the clusters."
  type        = string
}

variable "https_egress_cidrs" {
  description = "Where bastions and the in-VPC Lambdas may open HTTPS connections (SSM, Secrets Manager, Slack). Narrow it to the VPC endpoints' subnets when there is no NAT."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

# --- clusters ---------------------------------------------------------------------------------------

variable "clusters" {
  description = "The Aurora MySQL clusters served. Each is POWERPOLE_CLUSTERS' entry (port: where people and the broker connect, default 3306) plus the cluster's security group (the module adds ingress rules on port from the broker's groups) and, when the admin secret uses a customer key, that key. require_tls (default true) creates the one-time users REQUIRE SSL; max_user_connections (default 4) and read_statement_seconds (MariaDB only, default none) limit them. sensitive_tables lists table patterns (users, pii_*, shop.users) the approval card's blast radius flags; tripwires (default all: drop_truncate, every_row, access_control, sensitive_tables; [] for none) the live tripwires posted in the card's thread. approval overrides, per level (READ, DML, DDL), who approves (channel; none: that level is refused at submit; or users:U1,U2 and/or group:S1,S2 separated by a space: these people and the members of any of these user groups) and how many distinct approvers are required (default 1, at most 5), e.g. { DDL = { approvers = \"users:U1,U2 group:S123\", required = 2 } }; levels not named take slack_approvers with one approval. auto_approve_read (default false) approves READ requests by policy, still recorded and posted on a card."
  type = list(object({
    id                       = string
    region                   = string
    endpoint                 = string
    admin_secret_arn         = string
    security_group_id        = string
    port                     = optional(number, 3306)
    max_duration_minutes     = optional(number)
    levels                   = optional(list(string))
    admin_secret_kms_key_arn = optional(string)
    require_tls              = optional(bool, true)
    max_user_connections     = optional(number)
    read_statement_seconds   = optional(number)
    sensitive_tables         = optional(list(string), [])
    tripwires                = optional(list(string))
    approval = optional(map(object({
      approvers = string
      required  = optional(number)
    })), {})
    auto_approve_read = optional(bool, false)
  }))

  validation {
    condition     = length(var.clusters) > 0
    error_message = "At least one cluster must be served."
  }

  validation {
    condition = alltrue([
      for c in var.clusters : alltrue([
        for level, rule in c.approval :
        contains(["READ", "DML", "DDL"], level) && (rule.required == null ? true : rule.required >= 1 && rule.required <= 5)
      ])
    ])
    error_message = "approval is keyed by READ, DML or DDL, and required is 1 to 5."
  }

  validation {
    condition = alltrue([
      for c in var.clusters : alltrue([
        for level, rule in c.approval : can(regex(local.approvers_pattern, rule.approvers))
      ])
    ])
    error_message = "approval.<LEVEL>.approvers is channel, none, or users:U1,U2 and/or group:S1,S2 separated by a space (e.g. users:U1,U2 group:S123)."
  }
}

# --- Slack ------------------------------------------------------------------------------------------

variable "slack_approvers_channel" {
  description = "Channel id (C…/G…) of the approvers' private channel."
  type        = string

  validation {
    condition     = can(regex("^[CG][A-Z0-9]{2,20}$", var.slack_approvers_channel))
    error_message = "slack_approvers_channel must be a channel id such as C0123ABCD."
  }
}

variable "slack_requests_channel" {
  description = "Channel id of the public channel where requests are acknowledged; empty for none."
  type        = string
  default     = ""
}

variable "slack_approvers" {
  description = "Who may approve every level a cluster's approval does not override (one approval): channel (any member of the approvers' channel), none, or users:U1,U2 and/or group:S1,S2 separated by a space (these people and the members of any of these user groups), e.g. users:U1,U2 group:S123."
  type        = string
  default     = "channel"

  validation {
    condition     = can(regex(local.approvers_pattern, var.slack_approvers))
    error_message = "slack_approvers is channel, none, or users:U1,U2 and/or group:S1,S2 separated by a space (e.g. users:U1,U2 group:S123)."
  }
}

locals {
  # What POWERPOLE_APPROVERS and a level's approvers may be (the core's Approvers parser, which
  # also takes tabs and repeated ids): channel, none, users: and/or group:, each section once.
  approvers_pattern = "^ *(channel|none|users: *[UW][A-Z0-9]{2,20}( *, *[UW][A-Z0-9]{2,20})*( +group: *S[A-Z0-9]{2,20}( *, *S[A-Z0-9]{2,20})*)?|group: *S[A-Z0-9]{2,20}( *, *S[A-Z0-9]{2,20})*( +users: *[UW][A-Z0-9]{2,20}( *, *[UW][A-Z0-9]{2,20})*)?) *$"
}

variable "primary_domains" {
  description = "E-mail domains whose people's DB users are their plain local part (alice@example.com → alice); people of other domains get local_label_hash (alice@partner.com → alice_partner_1c2d3e4f). Empty: every domain keeps the plain local part."
  type        = list(string)
  default     = []
}

variable "db_users" {
  description = "Slack user id → DB user name, for people whose e-mail local part cannot name one (all non-ASCII, a reserved name). Names are validated at cold start: 1-32 of a-z 0-9 . _ -, not root/admin/rdsadmin/mysql.*, one name per person."
  type        = map(string)
  default     = {}
}

variable "slack_api_url" {
  description = "Slack Web API base URL."
  type        = string
  default     = "https://slack.com/api"
}

# --- broker settings ----------------------------------------------------------------------------------

variable "secret_prefix" {
  description = "Name prefix of the per-request password secrets (<prefix><request id>). The IAM policies are scoped to it."
  type        = string
  default     = "powerpole/"

  validation {
    condition     = can(regex("^[A-Za-z0-9/_+=.@-]{1,256}$", var.secret_prefix))
    error_message = "secret_prefix may hold ASCII letters, digits and /_+=.@- only."
  }
}

variable "db_ca_bundle" {
  description = "Absolute path of a PEM bundle shipped inside the zips (e.g. /var/task/rds-global-bundle.pem) to verify the clusters' certificates; empty to require TLS without verifying."
  type        = string
  default     = ""
}

variable "sweep_schedule" {
  description = "EventBridge schedule expression of the sweeper."
  type        = string
  default     = "rate(5 minutes)"
}

variable "watch_schedule" {
  description = "EventBridge schedule expression of the live tripwires' look at active access (the sweep Lambda with {\"task\": \"watch\"}). Each look reads the last 15 minutes of audit log."
  type        = string
  default     = "rate(1 minute)"
}

variable "report_schedule" {
  description = "EventBridge schedule expression of the weekly report (the sweep Lambda with {\"task\": \"report\"}), which covers the 7 whole UTC days before the day it runs."
  type        = string
  default     = "cron(30 0 ? * MON *)"
}

variable "report_expected_hosts" {
  description = "Client hosts the weekly report expects database logins from, as MySQL host patterns or CIDR networks (e.g. [\"10.0.16.0/20\"]). Empty: the bastion subnet's CIDR block. A login from anywhere else is an unexpected_host anomaly."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for h in var.report_expected_hosts : length(regexall("^[^,\\s]+$", h)) > 0])
    error_message = "Each expected host is one pattern without commas or blanks."
  }
}

variable "report_retention_days" {
  description = "Days each weekly report page (and each replaced version of one) is kept in the reports bucket before it expires."
  type        = number
  default     = 1095

  validation {
    condition     = var.report_retention_days >= 1
    error_message = "report_retention_days must be at least 1."
  }
}

variable "report_object_lock_days" {
  description = "Days every report page is locked (S3 Object Lock, compliance mode: nobody can delete or overwrite it before). 0 turns object lock off; it can only be turned on when the bucket is created."
  type        = number
  default     = 0

  # Naming another variable here needs Terraform 1.9 (versions.tf).
  validation {
    condition     = var.report_object_lock_days >= 0 && var.report_object_lock_days <= var.report_retention_days
    error_message = "report_object_lock_days must be from 0 to report_retention_days."
  }
}

variable "sweep_grace_minutes" {
  description = "How long past its window (or its state's limit) a resource may live before the sweeper removes it."
  type        = number
  default     = 15
}

variable "lambda_memory_mb" {
  description = "Memory of each Lambda, by name (request, approve, notify, provision, teardown, sweep)."
  type        = map(number)
  default = {
    request   = 256
    approve   = 256
    notify    = 256
    provision = 512
    teardown  = 512
    sweep     = 512
  }
}

variable "lambda_reserved_concurrency" {
  description = "Reserved concurrency of each Lambda, by name. The sweeper keeps 1: one sweep at a time is enough."
  type        = map(number)
  default = {
    request   = 20
    approve   = 20
    notify    = 10
    provision = 10
    teardown  = 10
    sweep     = 1
  }
}

# --- API --------------------------------------------------------------------------------------------

variable "api_throttling_burst_limit" {
  description = "Burst limit of the Slack routes."
  type        = number
  default     = 50
}

variable "api_throttling_rate_limit" {
  description = "Steady requests per second of the Slack routes."
  type        = number
  default     = 20
}

# --- bastions ---------------------------------------------------------------------------------------

variable "bastion_instance_type" {
  description = "Instance type of the bastions (x86_64, to match the AMI parameter)."
  type        = string
  default     = "t3.micro"
}

variable "bastion_ami_parameter" {
  description = "Public SSM parameter of the bastion AMI, resolved at every launch (always the latest Amazon Linux 2023)."
  type        = string
  default     = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
}

variable "bastion_root_volume_gib" {
  description = "Size of the bastion's encrypted root volume."
  type        = number
  default     = 8
}

variable "session_idle_timeout_minutes" {
  description = "Session Manager idle timeout (1–60)."
  type        = number
  default     = 20

  validation {
    condition     = var.session_idle_timeout_minutes >= 1 && var.session_idle_timeout_minutes <= 60
    error_message = "session_idle_timeout_minutes must be 1 to 60."
  }
}

variable "manage_session_manager_preferences" {
  description = "Whether to own the account's regional Session Manager preferences document (SSM-SessionManagerRunShell). Only one stack per account and region may; set false when another stack owns it and point it at this module's session log group."
  type        = bool
  default     = true
}

# --- alarms -----------------------------------------------------------------------------------------

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic; empty for none (subscribe chat or paging tools to the topic yourself)."
  type        = string
  default     = ""
}

variable "kms_deletion_window_days" {
  description = "Deletion window of the module's KMS key."
  type        = number
  default     = 30
}

variable "requester_principal_tag" {
  description = "Principal tag holding a requester's e-mail address on their own AWS role (IAM Identity Center attribute for access control). ssm:StartSession is allowed only on bastions whose powerpole:requester tag equals it."
  type        = string
  default     = "email"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.:/=+@-]{1,128}$", var.requester_principal_tag))
    error_message = "requester_principal_tag must be a tag key: 1 to 128 letters, digits and _.:/=+@-."
  }
}
