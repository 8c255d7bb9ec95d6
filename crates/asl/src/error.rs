//! The one error type of the runner: a definition it cannot run, a call the state of an
//! execution or a task token refuses, or the journal's database failing.

/// What can go wrong in the runner.
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
    /// SQLite failed.
    #[error("sqlite {operation} failed")]
    Sqlite {
        /// What the journal was doing.
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
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

    /// A journal entry that cannot be read back.
    pub(crate) fn corrupt(what: &'static str, problem: impl ToString) -> Self {
        Self::Corrupt {
            what,
            problem: problem.to_string(),
        }
    }
}

/// The runner's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

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
}
