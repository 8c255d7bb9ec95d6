//! [`TaskError`]: a task failure as Step Functions sees it.

/// A task failure as Step Functions sees it: its [`TaskError::error_type`] is the name the
/// state machine's `Retry` and `Catch` clauses match.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// Trying again later may succeed (throttling, 5xx, timeouts).
    #[error("{0}")]
    Retryable(String),
    /// Trying again cannot help (bad input, a refused step).
    #[error("{0}")]
    NonRetryable(String),
    /// Not yet: the thing waited for (a booting bastion) is not ready; the state machine polls
    /// by retrying on this error, bounded.
    #[error("{0}")]
    NotReady(String),
    /// The approval gate opened for a request that is no longer pending (a retried gate after
    /// a click, a cancellation): there is no click to wait for, so the state machine catches
    /// this and takes the recorded decision at once.
    #[error("{0}")]
    GateClosed(String),
}

impl TaskError {
    /// The `errorType` the state machine matches.
    #[must_use]
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Retryable(_) => "Retryable",
            Self::NonRetryable(_) => "NonRetryable",
            Self::NotReady(_) => "NotReady",
            Self::GateClosed(_) => "GateClosed",
        }
    }
}

impl From<powerpole_core::Error> for TaskError {
    fn from(err: powerpole_core::Error) -> Self {
        if err.is_retryable() {
            Self::Retryable(err.to_string())
        } else {
            Self::NonRetryable(err.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_keep_their_retry_class() {
        let backend = powerpole_core::Error::Backend {
            system: "dynamodb",
            retryable: true,
            source: "throttled".into(),
        };
        assert_eq!(TaskError::from(backend).error_type(), "Retryable");
        let conflict = powerpole_core::Error::Conflict("already approved".into());
        assert_eq!(TaskError::from(conflict).error_type(), "NonRetryable");
    }
}
