//! What every powerpole Lambda shares: JSON logging, [`config`] (the environment, read once at
//! cold start), the workflow's task handlers ([`tasks`]), and [`TaskError`], whose `errorType`
//! (`Retryable` / `NonRetryable` / `NotReady`) is what the state machine's `Retry` and `Catch`
//! clauses match.
//!
//! Two features serve the binaries and stay off for the local runner, which only needs the task
//! handlers: `aws` adds `wiring` (the AWS, Slack and MySQL adapters built once at cold start),
//! `http` adds `http` (the Slack endpoints behind API Gateway). [`emf`] prints the SLO metrics.

pub mod config;
pub mod emf;
#[cfg(feature = "http")]
pub mod http;
pub mod tasks;
#[cfg(feature = "aws")]
pub mod wiring;

use lambda_runtime::Diagnostic;

/// A task failure as Step Functions sees it.
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
}

impl TaskError {
    /// The `errorType` the state machine matches.
    #[must_use]
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Retryable(_) => "Retryable",
            Self::NonRetryable(_) => "NonRetryable",
            Self::NotReady(_) => "NotReady",
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

impl From<TaskError> for Diagnostic {
    fn from(err: TaskError) -> Self {
        Self {
            error_type: err.error_type().to_owned(),
            error_message: err.to_string(),
        }
    }
}

/// Sets up JSON logs on stdout, filtered by `RUST_LOG` (default `info`), as CloudWatch expects.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .without_time()
        .init();
}

/// Logs why a Lambda cannot start (the variables at fault, never a secret) and turns it into
/// the error `main` exits with, which Lambda reports as an init failure.
#[must_use]
pub fn startup_failed(error: config::ConfigError) -> lambda_runtime::Error {
    tracing::error!(error = %error, vars = ?error.vars(), "cannot start");
    Box::new(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_becomes_the_diagnostic_the_state_machine_matches() {
        for (error, name) in [
            (TaskError::Retryable("throttled".into()), "Retryable"),
            (
                TaskError::NonRetryable("bad payload".into()),
                "NonRetryable",
            ),
            (TaskError::NotReady("booting".into()), "NotReady"),
        ] {
            let message = error.to_string();
            let diagnostic = Diagnostic::from(error);
            assert_eq!(diagnostic.error_type, name);
            assert_eq!(diagnostic.error_message, message);
        }
    }

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
