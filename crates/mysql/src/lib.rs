//! The MySQL adapter: one-time accounts on Aurora MySQL / MariaDB over the MySQL protocol
//! ([`MySqlAccounts`], the core's `DbAccounts` port), and the audit-log parser behind
//! `AuditSource` on CloudWatch, and the `AuditSource` on a local `server_audit` file
//! ([`AuditFiles`]).

pub mod accounts;
pub mod audit_file;
pub mod audit_log;
pub mod error;
mod sql;

pub use accounts::{AccountSettings, MySqlAccounts};
pub use audit_file::AuditFiles;
pub use audit_log::{AuditLineError, parse_line, parse_log};
pub use error::{Error, Result};
