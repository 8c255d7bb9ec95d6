//! The AWS adapters, one per service, each behind a core port and each built once per process
//! from one [`aws_config::SdkConfig`] (see [`config::load`]):
//!
//! | port | adapter | service |
//! |---|---|---|
//! | `RequestStore` | [`DynamoDbStore`] | DynamoDB (table design in [`store::items`]) |
//! | `SecretVault` | `secrets` | Secrets Manager |
//! | `BastionFleet` | `bastions` | EC2 |
//! | `Workflow` | `workflow` | Step Functions |
//! | `AuditSource` | `logs` | CloudWatch Logs |
//!
//! Every failure is an [`Error`]; AWS failures keep the SDK error as their source and say whether
//! a retry can help, which is what the Lambdas' `Retryable` / `NonRetryable` error types carry.

pub mod bastions;
pub mod config;
pub mod error;
pub mod logs;
pub mod secrets;
pub mod store;
pub mod workflow;

pub use error::{Error, Result};
pub use store::DynamoDbStore;
