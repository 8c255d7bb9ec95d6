terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.81 added the state machine's customer-managed KMS encryption_configuration.
      version = ">= 5.81.0, < 7.0.0"
    }
  }
}
