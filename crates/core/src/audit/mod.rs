//! One line of the database audit log, in the domain's terms. The MariaDB `server_audit` plugin
//! and Aurora's advanced auditing write the same ten fields; [`line`](mod@line) reads them.

pub mod line;

pub use line::{AuditField, AuditLineError, parse_line, parse_lines, parse_log};

use time::{Duration, OffsetDateTime};

use crate::window::AccessWindow;

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
    /// When it happened, as precisely as the log tells: somewhere in `[at, at + resolution)`.
    pub at: OffsetDateTime,
    /// How precise `at` is: one second for MariaDB's `YYYYMMDD HH:MM:SS`, one microsecond for
    /// Aurora's epoch microseconds.
    pub resolution: Duration,
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

impl AuditRecord {
    /// Whether the record may have happened inside `window`, at the log's precision: a line
    /// stamped `21:11:33` by a whole-second log is inside a window that starts at `21:11:33.355`.
    #[must_use]
    pub fn logged_within(&self, window: &AccessWindow) -> bool {
        self.at + self.resolution > window.start() && self.at < window.end()
    }
}
