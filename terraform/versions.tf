terraform {
  # 1.9 lets a variable's validation name another variable (report_object_lock_days checks
  # report_retention_days).
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.81 added the state machine's customer-managed KMS encryption_configuration.
      version = ">= 5.81.0, < 7.0.0"
    }
  }
}
