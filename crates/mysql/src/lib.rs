//! The MySQL adapter: one-time accounts on Aurora MySQL / MariaDB over the MySQL protocol
//! (`DbAccounts`), and the audit-log parser behind `AuditSource`.
//!
//! Built by the "DB accounts on a real MySQL server" issue; until then only the smoke tests in
//! `tests/` run, proving the test server is real.

pub mod audit_log;

pub use audit_log::{AuditLineError, parse_line, parse_log};
