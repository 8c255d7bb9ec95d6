//! One line of the database audit log, in the domain's terms. The MariaDB `server_audit` plugin
//! and Aurora's advanced auditing write the same ten fields; [`line`](mod@line) reads them.

pub mod line;

pub use line::{AuditField, AuditLineError, parse_line, parse_lines, parse_log};

use time::OffsetDateTime;

/// What an audit record reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditOperation {
    /// A session opened.
    Connect,
    /// A session closed.
    Disconnect,
    /// A login was refused.
    FailedConnect,
    /// A statement ran.
    Query,
    /// Any other operation the server logs (e.g. `READ`, `WRITE`, `QUERY_DDL`).
    Other(String),
}

/// One audit-log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// When it happened.
    pub at: OffsetDateTime,
    /// The server that logged it.
    pub server_host: String,
    /// The DB user.
    pub username: String,
    /// The client host.
    pub host: String,
    /// The session id (what `KILL` takes).
    pub connection_id: u64,
    /// The statement id within the session.
    pub query_id: u64,
    /// What happened.
    pub operation: AuditOperation,
    /// The default database at the time.
    pub database: String,
    /// The statement text or object name (passwords are masked by the server).
    pub object: String,
    /// The server's return code (0 = success).
    pub retcode: i32,
}
