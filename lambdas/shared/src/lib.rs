//! What every powerpole Lambda shares: JSON logging, [`config`] (the environment, read once at
//! cold start), and [`diagnostic`], which reports a [`TaskError`] (the workflow's tasks live in
//! `powerpole-tasks`, shared with the local runner) with the `errorType` (`Retryable` /
//! `NonRetryable` / `NotReady`) the state machine's `Retry` and `Catch` clauses match.
//!
//! Two features serve the binaries, so the configuration builds and is tested without the AWS
//! SDK: `aws` adds `wiring` (the AWS, Slack and MySQL adapters built once at cold start),
//! `http` adds `http` (the Slack endpoints behind API Gateway). [`emf`] prints the SLO metrics.

pub mod config;
pub mod emf;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "aws")]
pub mod wiring;

use lambda_runtime::Diagnostic;

pub use powerpole_tasks::TaskError;

/// A task failure as the Lambda runtime reports it: the [`TaskError::error_type`] the state
/// machine's `Retry` and `Catch` match, and the message.
#[must_use]
pub fn diagnostic(error: TaskError) -> Diagnostic {
    Diagnostic {
        error_type: error.error_type().to_owned(),
        error_message: error.to_string(),
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
            let diagnostic = diagnostic(error);
            assert_eq!(diagnostic.error_type, name);
            assert_eq!(diagnostic.error_message, message);
        }
    }
}
