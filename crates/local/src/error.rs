//! The one error type of the embedded adapters, and how it reads through the core's ports.

/// What can go wrong in the embedded adapters.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The runner failed.
    #[error(transparent)]
    Asl(#[from] powerpole_asl::Error),
    /// A clock speed that is not a positive finite number.
    #[error("invalid clock speed {0}: expected a positive finite number")]
    InvalidClockSpeed(f64),
    /// The request store's SQLite database failed.
    #[error("sqlite store {operation} failed")]
    Store {
        /// What the store was doing.
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A request in the SQLite store does not read back as a valid request: a value fails
    /// validation, or its history breaks the lifecycle or disagrees with its stored state or
    /// version (the row was edited by hand).
    #[error("request {id} in the sqlite store: {problem}")]
    StoredRequest {
        /// The request's id as stored.
        id: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A record in the SQLite store other than a request does not read back.
    #[error("sqlite store holds malformed {what}: {problem}")]
    Corrupt {
        /// What was being read.
        what: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

impl Error {
    /// A request store error while doing `operation`.
    pub(crate) fn store(operation: &'static str) -> impl FnOnce(sqlx::Error) -> Self {
        move |source| Self::Store { operation, source }
    }

    /// A stored record that cannot be read back.
    pub(crate) fn corrupt(what: &'static str, problem: impl ToString) -> Self {
        Self::Corrupt {
            what,
            problem: problem.to_string(),
        }
    }
}

/// The local adapters' result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The system name port errors carry for runner failures.
const SYSTEM: &str = "asl-runner";

/// The system name port errors carry for request store failures.
const STORE_SYSTEM: &str = "sqlite";

/// Whether SQLite refused because another connection held a lock (`SQLITE_BUSY`,
/// `SQLITE_LOCKED` and their extended codes) or no pooled connection came free in time: the
/// same call may succeed once the other writer is done.
pub(crate) fn is_busy(err: &sqlx::Error) -> bool {
    const SQLITE_BUSY: i32 = 5;
    const SQLITE_LOCKED: i32 = 6;
    match err {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            .is_some_and(|code| matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED)),
        sqlx::Error::PoolTimedOut => true,
        _ => false,
    }
}

impl From<Error> for powerpole_core::Error {
    fn from(err: Error) -> Self {
        use powerpole_asl::Error as Asl;
        let backend = |system, retryable, err| Self::Backend {
            system,
            retryable,
            source: Box::new(err),
        };
        match &err {
            Error::Asl(
                Asl::ExecutionDoesNotExist(_) | Asl::TaskDoesNotExist | Asl::TaskNotWaiting(_),
            ) => Self::NotFound(err.to_string()),
            Error::Asl(Asl::ExecutionAlreadyExists(_) | Asl::ExecutionNotRunning(_)) => {
                Self::Conflict(err.to_string())
            }
            Error::Asl(Asl::InvalidExecutionName(_)) => {
                Self::invalid(powerpole_core::Field::RequestId, err.to_string())
            }
            Error::Store { source, .. } => backend(STORE_SYSTEM, is_busy(source), err),
            Error::StoredRequest { .. } | Error::Corrupt { .. } => {
                backend(STORE_SYSTEM, false, err)
            }
            Error::Asl(Asl::Sqlite { .. } | Asl::StillRunning(_)) => backend(SYSTEM, true, err),
            _ => backend(SYSTEM, false, err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use powerpole_asl::Error as Asl;

    fn port(err: Asl) -> powerpole_core::Error {
        Error::from(err).into()
    }

    #[test]
    fn runner_errors_map_onto_the_port_classification() {
        assert!(matches!(
            port(Asl::TaskDoesNotExist),
            powerpole_core::Error::NotFound(_)
        ));
        assert!(matches!(
            port(Asl::TaskNotWaiting("TIMED_OUT".into())),
            powerpole_core::Error::NotFound(_)
        ));
        assert!(matches!(
            port(Asl::ExecutionDoesNotExist("x".into())),
            powerpole_core::Error::NotFound(_)
        ));
        assert!(matches!(
            port(Asl::ExecutionNotRunning("x".into())),
            powerpole_core::Error::Conflict(_)
        ));
        let backend = port(Asl::Sqlite {
            operation: "insert",
            source: sqlx::Error::PoolClosed,
        });
        assert!(matches!(
            backend,
            powerpole_core::Error::Backend {
                system: "asl-runner",
                retryable: true,
                ..
            }
        ));
    }
}
