//! The AWS adapters, one per service, each behind a core port and each built once per process
//! from one [`aws_config::SdkConfig`] (see [`config::load`]):
//!
//! | port | adapter | service |
//! |---|---|---|
//! | `RequestStore` | [`DynamoDbStore`] | DynamoDB (table design in [`store::items`]) |
//! | `SecretVault` | [`SecretsManagerVault`] | Secrets Manager |
//! | `BastionFleet` | [`Ec2Fleet`] | EC2 |
//! | `Workflow` | [`StepFunctionsWorkflow`] | Step Functions |
//! | `AuditSource` | [`CloudWatchAuditSource`] | CloudWatch Logs |
//! | `SessionLog` | [`CloudWatchSessionLog`] | CloudWatch Logs (Session Manager's group) |
//! | `ReportArchive` | [`S3ReportArchive`] | S3 (the period reports' bucket) |
//!
//! Every failure is an [`Error`]; AWS failures keep the SDK error as their source and say whether
//! a retry can help, which is what the Lambdas' `Retryable` / `NonRetryable` error types carry.

pub mod bastions;
pub mod config;
pub mod error;
pub mod logs;
pub mod reports;
pub mod secrets;
pub mod sessions;
pub mod store;
pub mod workflow;

pub use bastions::{Ec2Fleet, Ec2FleetSettings};
pub use error::{Error, Result};
pub use logs::{AuditLogSettings, CloudWatchAuditSource};
pub use reports::{ReportBucket, S3ReportArchive};
pub use secrets::{SecretsManagerSettings, SecretsManagerVault};
pub use sessions::CloudWatchSessionLog;
pub use store::DynamoDbStore;
pub use workflow::StepFunctionsWorkflow;
