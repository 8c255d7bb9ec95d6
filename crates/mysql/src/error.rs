//! The one error type of the MySQL adapter.

use powerpole_core::{AuditLineError, ClusterId, DbUsername};

/// What can go wrong talking to a MySQL server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The cluster is not configured.
    #[error("cluster {0} is not configured")]
    UnknownCluster(ClusterId),
    /// A setting is invalid.
    #[error("invalid setting: {0}")]
    Config(String),
    /// An account with the name exists that the broker does not manage; nothing was changed.
    #[error("account {username} already exists on {cluster} and is not managed by powerpole")]
    Foreign {
        /// The cluster.
        cluster: ClusterId,
        /// The account's name.
        username: DbUsername,
    },
    /// The account is managed by the broker for another request.
    #[error("account {username} on {cluster} already belongs to request {owner}")]
    OwnedByOtherRequest {
        /// The cluster.
        cluster: ClusterId,
        /// The account's name.
        username: DbUsername,
        /// The request that owns it.
        owner: String,
    },
    /// A statement failed. For statements that carry a password the server's message is replaced,
    /// so the password can never travel inside this error.
    #[error("{action} on {cluster} failed: {message}")]
    Statement {
        /// What the broker was doing.
        action: &'static str,
        /// The cluster.
        cluster: ClusterId,
        /// The server's message, or a fixed text for password-bearing statements.
        message: String,
        /// MySQL's error number, when the server answered.
        code: Option<u16>,
        /// Whether trying again may help.
        retryable: bool,
        /// The driver's error, kept only for statements without a password.
        #[source]
        source: Option<sqlx::Error>,
    },
    /// An audit-log line could not be parsed.
    #[error("audit log line {line}: {source}")]
    AuditLine {
        /// The 1-based line number.
        line: usize,
        /// What was wrong.
        #[source]
        source: AuditLineError,
    },
}

impl Error {
    /// Whether trying again later may succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Statement {
                retryable: true,
                ..
            }
        )
    }
}

impl From<Error> for powerpole_core::Error {
    fn from(err: Error) -> Self {
        match err {
            Error::UnknownCluster(cluster) => Self::NotFound(format!("cluster {cluster}")),
            Error::Foreign { .. } | Error::OwnedByOtherRequest { .. } => {
                Self::Conflict(err.to_string())
            }
            Error::Config(_) | Error::Statement { .. } | Error::AuditLine { .. } => Self::Backend {
                system: "mysql",
                retryable: err.is_retryable(),
                source: Box::new(err),
            },
        }
    }
}

/// The adapter's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
