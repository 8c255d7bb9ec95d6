//! What every powerpole Lambda shares: JSON logging, the Step Functions task input, and
//! [`TaskError`], whose `errorType` (`Retryable` / `NonRetryable`) is what the state machine's
//! `Retry` and `Catch` clauses match.

pub mod tasks;

use lambda_runtime::{Diagnostic, LambdaEvent};
use powerpole_core::RequestId;
use serde::Deserialize;
use serde_json::Value;

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

/// The payload every workflow task receives: ids and timestamps only, never a secret.
#[derive(Debug, Deserialize)]
pub struct TaskInput {
    /// The request the task works on.
    pub request_id: String,
}

impl TaskInput {
    /// The validated request id.
    ///
    /// # Errors
    /// [`TaskError::NonRetryable`] when the id is not a request id.
    pub fn request_id(&self) -> Result<RequestId, TaskError> {
        Ok(RequestId::parse(&self.request_id)?)
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

/// The handler of a task whose use case is not built yet: it validates the input like the real
/// one will and fails with `NonRetryable`, so a deployment that runs it too early stops the
/// workflow visibly instead of pretending the step happened.
///
/// # Errors
/// Always: [`TaskError::NonRetryable`].
pub async fn not_yet_implemented(
    task: &'static str,
    event: LambdaEvent<Value>,
) -> Result<Value, TaskError> {
    let input: TaskInput = serde_json::from_value(event.payload)
        .map_err(|e| TaskError::NonRetryable(format!("bad {task} input: {e}")))?;
    let id = input.request_id()?;
    tracing::error!(request_id = %id, task, "task not implemented yet");
    Err(TaskError::NonRetryable(format!(
        "the {task} task is not implemented yet (request {id})"
    )))
}

/// Runs a task Lambda whose use case is not built yet.
///
/// # Errors
/// When the Lambda runtime API cannot be reached.
pub async fn run_not_yet_implemented(task: &'static str) -> Result<(), lambda_runtime::Error> {
    init_tracing();
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        not_yet_implemented(task, event)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_runtime::Context;
    use serde_json::json;

    async fn call(payload: Value) -> Diagnostic {
        let event = LambdaEvent::new(payload, Context::default());
        not_yet_implemented("provision", event)
            .await
            .unwrap_err()
            .into()
    }

    #[tokio::test]
    async fn bad_input_is_not_retryable_and_names_the_problem() {
        let d = call(json!({"request_id": "'; DROP TABLE x"})).await;
        assert_eq!(d.error_type, "NonRetryable");
        assert!(d.error_message.contains("ULID"), "{}", d.error_message);
        let d = call(json!({"id": 1})).await;
        assert!(
            d.error_message.starts_with("bad provision input"),
            "{}",
            d.error_message
        );
    }

    #[tokio::test]
    async fn unbuilt_task_fails_visibly_instead_of_pretending() {
        let d = call(json!({"request_id": "01JDXZ8Q9V6S1Y3T5W7X9Z1B3D"})).await;
        assert_eq!(d.error_type, "NonRetryable");
        assert!(d.error_message.contains("not implemented"));
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
