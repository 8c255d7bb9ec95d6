//! What a Task state calls: the handlers the embedding program supplies (one per Lambda function
//! of the state machine), the failure they report, and the error names of the States Language.

use std::future::Future;

use serde_json::{Value, json};

/// Matches every error but [`RUNTIME`].
pub const ALL: &str = "States.ALL";
/// A Task ran longer than its `TimeoutSeconds`, or the execution longer than its own.
pub const TIMEOUT: &str = "States.Timeout";
/// Matches every error but [`TIMEOUT`] (and [`RUNTIME`]) in a `Retry` or `Catch`.
pub const TASK_FAILED: &str = "States.TaskFailed";
/// A `ResultPath` could not be applied to the state's input.
pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
/// An intrinsic function failed on its arguments.
pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
/// No `Choice` rule matched and there is no `Default`.
pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
/// A path selected nothing, or a value had the wrong type; neither `Retry` nor `Catch` can
/// handle it, the execution fails.
pub const RUNTIME: &str = "States.Runtime";

/// A failed task: `error` is the name `Retry` and `Catch` match on (for a Lambda function, its
/// `errorType`, such as `Retryable` or `NonRetryable`), `cause` says what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFailure {
    /// The error name.
    pub error: String,
    /// A human-readable explanation.
    pub cause: String,
}

impl TaskFailure {
    /// A failure named `error`.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// The `{"Error": …, "Cause": …}` object a `Catch` hands to its next state.
    #[must_use]
    pub fn to_value(&self) -> Value {
        json!({ "Error": self.error, "Cause": self.cause })
    }

    /// A [`RUNTIME`] failure.
    pub(crate) fn runtime(cause: impl Into<String>) -> Self {
        Self::new(RUNTIME, cause)
    }
}

/// The Lambda functions a state machine's `arn:aws:states:::lambda:invoke` tasks call.
///
/// `function` is the task's `FunctionName` after substitution (on AWS a function ARN, locally
/// whatever the substitution map says). Handlers must be idempotent: after a restart, a task
/// that was running is invoked again, and `Retry` invokes it again after a failure. For a
/// `.waitForTaskToken` task the payload carries the token and the returned value is ignored;
/// the task completes when the token is sent back.
pub trait TaskHandlers: Send + Sync + 'static {
    /// Runs `function` on `payload`.
    ///
    /// # Errors
    /// A [`TaskFailure`] whose `error` the state's `Retry` and `Catch` match.
    fn invoke(
        &self,
        function: &str,
        payload: Value,
    ) -> impl Future<Output = Result<Value, TaskFailure>> + Send;
}

/// The result of Step Functions' optimized Lambda integration around a function's output, so
/// `ResultSelector` and `OutputPath` written for AWS (`$.Payload`) read the same locally.
pub(crate) fn lambda_result(payload: Value, request_id: &str) -> Value {
    json!({
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "HttpHeaders": {},
            "HttpStatusCode": 200
        },
        "SdkResponseMetadata": { "RequestId": request_id },
        "StatusCode": 200
    })
}

/// Whether a `Retry`/`Catch` entry naming `name` handles `error`.
pub(crate) fn error_matches(name: &str, error: &str) -> bool {
    if error == RUNTIME {
        return false;
    }
    match name {
        ALL => true,
        TASK_FAILED => error != TIMEOUT,
        _ => name == error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_step_functions_documents() {
        assert!(error_matches(ALL, "Retryable"));
        assert!(error_matches(ALL, TIMEOUT));
        assert!(error_matches(TASK_FAILED, "Retryable"));
        assert!(!error_matches(TASK_FAILED, TIMEOUT));
        assert!(error_matches(TIMEOUT, TIMEOUT));
        assert!(error_matches("Retryable", "Retryable"));
        assert!(!error_matches("Retryable", "NonRetryable"));
        assert!(!error_matches(ALL, RUNTIME));
        assert!(!error_matches(RUNTIME, RUNTIME));
    }

    #[test]
    fn the_lambda_result_wraps_the_payload() {
        let out = lambda_result(json!({"ok": true}), "r-1");
        assert_eq!(out["Payload"], json!({"ok": true}));
        assert_eq!(out["StatusCode"], json!(200));
        assert_eq!(out["ExecutedVersion"], json!("$LATEST"));
    }

    #[test]
    fn a_failure_becomes_the_catch_object() {
        assert_eq!(
            TaskFailure::new("NonRetryable", "boom").to_value(),
            json!({"Error": "NonRetryable", "Cause": "boom"})
        );
    }
}
