//! The AWS adapters: DynamoDB `RequestStore`, Secrets Manager `SecretVault`, EC2 `BastionFleet`,
//! Step Functions `Workflow`, CloudWatch Logs `AuditSource`.
//!
//! Built by the "AWS adapters on moto" issue; until then only the smoke tests in `tests/` run,
//! proving the emulator is real.
