//! The one error type of the embedded adapters, and how it reads through the core's ports.

/// What can go wrong in the embedded adapters.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The state machine definition uses something the runner does not implement, or breaks a
    /// rule of the Amazon States Language. `state` is `None` for a top-level field.
    #[error(
        "state machine definition, {}field {field}: {problem}",
        state.as_ref().map(|s| format!("state {s:?}, ")).unwrap_or_default()
    )]
    Definition {
        /// The state the problem is in, if any.
        state: Option<String>,
        /// The field, as a dotted path inside the state (e.g. `Retry[0].BackoffRate`).
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// A `${name}` placeholder of the definition has no value, or a value was given for a name
    /// the definition does not use.
    #[error("substitution variable {name:?}: {problem}")]
    Substitution {
        /// The placeholder's name.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// An execution name is empty, too long, or holds whitespace or control characters.
    #[error("invalid execution name {0:?}: expected 1 to 80 characters without whitespace")]
    InvalidExecutionName(String),
    /// No execution has this name.
    #[error("execution {0:?} does not exist")]
    ExecutionDoesNotExist(String),
    /// An execution with this name exists and was started with another input.
    #[error("execution {0:?} already exists with a different input")]
    ExecutionAlreadyExists(String),
    /// The execution has already finished.
    #[error("execution {0:?} is not running")]
    ExecutionNotRunning(String),
    /// No task was ever handed this token.
    #[error("no task was issued this task token")]
    TaskDoesNotExist,
    /// The token's task no longer waits: it was resumed, failed, timed out, or its execution
    /// ended.
    #[error("the task of this token no longer waits ({0})")]
    TaskNotWaiting(String),
    /// The execution did not finish within the time the caller was willing to wait.
    #[error("execution {0:?} is still running")]
    StillRunning(String),
    /// A clock speed that is not a positive finite number.
    #[error("invalid clock speed {0}: expected a positive finite number")]
    InvalidClockSpeed(f64),
    /// SQLite failed.
    #[error("sqlite {operation} failed")]
    Sqlite {
        /// What the journal was doing.
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
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
    /// The journal holds something the runner cannot read back.
    #[error("journal holds malformed {what}: {problem}")]
    Corrupt {
        /// What was being read.
        what: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

impl Error {
    /// A definition error about `field` of `state` (`None`: a top-level field).
    pub(crate) fn definition(
        state: Option<&str>,
        field: impl Into<String>,
        problem: impl Into<String>,
    ) -> Self {
        Self::Definition {
            state: state.map(str::to_owned),
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// An SQLite error while doing `operation`.
    pub(crate) fn sqlite(operation: &'static str) -> impl FnOnce(sqlx::Error) -> Self {
        move |source| Self::Sqlite { operation, source }
    }

    /// A request store error while doing `operation`.
    pub(crate) fn store(operation: &'static str) -> impl FnOnce(sqlx::Error) -> Self {
        move |source| Self::Store { operation, source }
    }

    /// A journal entry that cannot be read back.
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
        match err {
            Error::ExecutionDoesNotExist(_)
            | Error::TaskDoesNotExist
            | Error::TaskNotWaiting(_) => Self::NotFound(err.to_string()),
            Error::ExecutionAlreadyExists(_) | Error::ExecutionNotRunning(_) => {
                Self::Conflict(err.to_string())
            }
            Error::InvalidExecutionName(_) => {
                Self::invalid(powerpole_core::Field::RequestId, err.to_string())
            }
            Error::Store { ref source, .. } => Self::Backend {
                system: STORE_SYSTEM,
                retryable: is_busy(source),
                source: Box::new(err),
            },
            Error::StoredRequest { .. } => Self::Backend {
                system: STORE_SYSTEM,
                retryable: false,
                source: Box::new(err),
            },
            Error::Sqlite { .. } | Error::StillRunning(_) => Self::Backend {
                system: SYSTEM,
                retryable: true,
                source: Box::new(err),
            },
            _ => Self::Backend {
                system: SYSTEM,
                retryable: false,
                source: Box::new(err),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_errors_name_the_state_and_the_field() {
        let err = Error::definition(Some("Approve"), "HeartbeatSeconds", "not supported");
        assert_eq!(
            err.to_string(),
            "state machine definition, state \"Approve\", field HeartbeatSeconds: not supported"
        );
        let top = Error::definition(None, "StartAt", "missing");
        assert_eq!(
            top.to_string(),
            "state machine definition, field StartAt: missing"
        );
    }

    #[test]
    fn runner_errors_map_onto_the_port_classification() {
        assert!(matches!(
            powerpole_core::Error::from(Error::TaskDoesNotExist),
            powerpole_core::Error::NotFound(_)
        ));
        assert!(matches!(
            powerpole_core::Error::from(Error::TaskNotWaiting("TIMED_OUT".into())),
            powerpole_core::Error::NotFound(_)
        ));
        assert!(matches!(
            powerpole_core::Error::from(Error::ExecutionDoesNotExist("x".into())),
            powerpole_core::Error::NotFound(_)
        ));
        assert!(matches!(
            powerpole_core::Error::from(Error::ExecutionNotRunning("x".into())),
            powerpole_core::Error::Conflict(_)
        ));
        let backend = powerpole_core::Error::from(Error::Sqlite {
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
