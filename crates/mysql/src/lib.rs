//! The MySQL adapter: one-time accounts on Aurora MySQL / MariaDB over the MySQL protocol
//! ([`MySqlAccounts`], the core's `DbAccounts` port), and the `AuditSource` on a local
//! `server_audit` file ([`AuditFiles`]), read with the core's audit-line parser
//! ([`powerpole_core::audit::line`], re-exported here).

pub mod accounts;
pub mod audit_file;
pub mod error;
mod sql;

pub use accounts::{ADMIN_CREDENTIALS_TTL, AccountSettings, AdminCredentials, MySqlAccounts};
pub use audit_file::AuditFiles;
pub use error::{Error, Result};
pub use powerpole_core::audit::{AuditLineError, parse_line, parse_log};
