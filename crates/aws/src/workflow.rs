//! The per-request workflow on AWS Step Functions: one execution per request, named after the
//! request id, resumed at the approval gate with the task token the gate handed out.
//!
//! - **Start is idempotent.** StartExecution with the name and input of a running execution
//!   returns that execution; with the name of a closed one AWS answers `ExecutionAlreadyExists`.
//!   Either answer means "the request's execution exists", and both are success — also when a
//!   repeated start carries a different `decide_within_seconds` (the input is
//!   `{"request_id", "decide_within_seconds"}`, never a secret; `ExecutionAlreadyExists` is
//!   AWS's answer to a running execution with other input too).
//! - **End early** stops the request's execution and starts `<request id>-end` with
//!   `{"request_id", "mode": "end"}`, which the state machine routes straight to teardown.
//! - **Resume** sends the decision as the gate's output, `{"decision": "approve"}` or
//!   `{"decision": "deny"}`, for the state machine's `Choice` to branch on. A token whose task is
//!   gone (`InvalidToken`, `TaskDoesNotExist`, `TaskTimedOut`: already resumed, timed out, or its
//!   execution ended) is [`Error::NotFound`]: no retry can bring the task back, and the caller's
//!   right move is to re-read the request (which then says expired or decided), not to retry as
//!   [`Error::Conflict`] would suggest.
//! - **Stop** addresses the execution by the ARN derived from the state machine's
//!   (`…:stateMachine:NAME` → `…:execution:NAME:<request id>`); stopping a missing or finished
//!   execution is success.

use aws_sdk_sfn::Client;
use aws_sdk_sfn::config::http::HttpResponse;
use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionError;
use aws_sdk_sfn::operation::start_execution::StartExecutionError;
use aws_sdk_sfn::operation::stop_execution::StopExecutionError;
use aws_sdk_sfn::types::ExecutionStatus as SdkExecutionStatus;
use powerpole_core::ports::{Decision, ExecutionStatus, Start, Workflow, end_execution_name};
use powerpole_core::{RequestId, StateMachineArn, TaskToken};

use serde_json::Value;

use crate::error::{Error, Result, sdk};

/// The service name errors carry.
const SERVICE: &str = "sfn";

/// The error name a stopped execution records.
const STOP_ERROR: &str = "powerpole.Stopped";

/// Step Functions' limit on an `error` name, in characters.
const MAX_ERROR_CHARS: usize = 256;

/// Step Functions' limit on a `cause`, in characters.
const MAX_CAUSE_CHARS: usize = 32_768;

/// Error codes of SendTaskSuccess / SendTaskFailure that mean the token's task no longer waits.
const GONE_TASK_CODES: [&str; 3] = ["InvalidToken", "TaskDoesNotExist", "TaskTimedOut"];

/// The core's reading of a status Step Functions reports.
fn execution_status(status: &SdkExecutionStatus) -> ExecutionStatus {
    match status {
        SdkExecutionStatus::Running => ExecutionStatus::Running,
        SdkExecutionStatus::Succeeded => ExecutionStatus::Succeeded,
        SdkExecutionStatus::Failed => ExecutionStatus::Failed,
        SdkExecutionStatus::TimedOut => ExecutionStatus::TimedOut,
        SdkExecutionStatus::Aborted => ExecutionStatus::Aborted,
        SdkExecutionStatus::PendingRedrive => ExecutionStatus::PendingRedrive,
        other => ExecutionStatus::Other(other.as_str().to_owned()),
    }
}

/// The [`Workflow`] port on Step Functions: one state machine, one execution per request.
#[derive(Debug, Clone)]
pub struct StepFunctionsWorkflow {
    client: Client,
    state_machine_arn: String,
    execution_prefix: String,
}

impl StepFunctionsWorkflow {
    /// The workflow of the state machine `state_machine_arn`
    /// (`arn:PARTITION:states:REGION:ACCOUNT:stateMachine:NAME`, optionally followed by
    /// `:VERSION` or `:ALIAS`; executions of a version or alias still live under `NAME`).
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] when the ARN is not a state machine ARN.
    pub fn new(client: Client, state_machine_arn: &str) -> Result<Self> {
        let execution_prefix = execution_prefix(state_machine_arn)?;
        Ok(Self {
            client,
            state_machine_arn: state_machine_arn.to_owned(),
            execution_prefix,
        })
    }

    /// The state machine executions are started from.
    #[must_use]
    pub fn state_machine_arn(&self) -> &str {
        &self.state_machine_arn
    }

    /// The ARN of the request's execution (whether or not it exists).
    #[must_use]
    pub fn execution_arn(&self, id: RequestId) -> String {
        format!("{}{id}", self.execution_prefix)
    }

    /// The status of the request's execution, or `None` when there is none.
    ///
    /// # Errors
    /// [`Error::Sdk`] when DescribeExecution fails for another reason.
    pub async fn describe(&self, id: RequestId) -> Result<Option<ExecutionStatus>> {
        let answer = self
            .client
            .describe_execution()
            .execution_arn(self.execution_arn(id))
            .send()
            .await;
        match answer {
            Ok(out) => Ok(Some(execution_status(out.status()))),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(DescribeExecutionError::is_execution_does_not_exist) =>
            {
                Ok(None)
            }
            Err(err) => Err(sdk(SERVICE, "DescribeExecution", err)),
        }
    }

    /// Fails the task waiting on `token` with `error` (a name the state machine's `Catch` can
    /// match, cut to 256 characters) and `cause` (cut to 32 768), instead of resuming it.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the token's task no longer waits (already resumed, timed out or
    /// its execution ended); [`Error::Sdk`] when SendTaskFailure fails otherwise.
    pub async fn send_failure(&self, token: &TaskToken, error: &str, cause: &str) -> Result<()> {
        self.client
            .send_task_failure()
            .task_token(&token.0)
            .error(truncate(error, MAX_ERROR_CHARS))
            .cause(truncate(cause, MAX_CAUSE_CHARS))
            .send()
            .await
            .map_err(|err| token_error("SendTaskFailure", err))?;
        tracing::info!(error, "approval task failed");
        Ok(())
    }

    async fn start_execution(&self, id: RequestId, name: String, input: Value) -> Result<()> {
        let answer = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await;
        match answer {
            Ok(out) => {
                tracing::info!(request = %id, execution = out.execution_arn(), "workflow started");
                Ok(())
            }
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(StartExecutionError::is_execution_already_exists) =>
            {
                tracing::info!(request = %id, "workflow already started");
                Ok(())
            }
            Err(err) => Err(sdk(SERVICE, "StartExecution", err)),
        }
    }

    async fn send_decision(&self, token: &TaskToken, decision: Decision) -> Result<()> {
        let output = serde_json::json!({ "decision": decision_name(decision) }).to_string();
        self.client
            .send_task_success()
            .task_token(&token.0)
            .output(output)
            .send()
            .await
            .map_err(|err| token_error("SendTaskSuccess", err))?;
        tracing::info!(decision = decision_name(decision), "approval task resumed");
        Ok(())
    }

    async fn stop_execution(&self, id: RequestId, cause: &str) -> Result<()> {
        let answer = self
            .client
            .stop_execution()
            .execution_arn(self.execution_arn(id))
            .error(STOP_ERROR)
            .cause(truncate(cause, MAX_CAUSE_CHARS))
            .send()
            .await;
        let err = match answer {
            Ok(_) => {
                tracing::info!(request = %id, cause, "workflow stopped");
                return Ok(());
            }
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(StopExecutionError::is_execution_does_not_exist) =>
            {
                tracing::info!(request = %id, "no workflow to stop");
                return Ok(());
            }
            Err(err) => sdk(SERVICE, "StopExecution", err),
        };
        // AWS does not document its answer for a closed execution: whatever refusal it gives,
        // an execution that is no longer running needs no stopping.
        if !err.is_retryable()
            && let Ok(status) = self.describe(id).await
            && status.as_ref().is_none_or(|s| !s.is_running())
        {
            tracing::info!(request = %id, ?status, "workflow already finished");
            return Ok(());
        }
        Err(err)
    }
}

impl Workflow for StepFunctionsWorkflow {
    async fn start(&self, start: &Start) -> powerpole_core::Result<()> {
        let input = serde_json::json!({
            "request_id": start.request.to_string(),
            "decide_within_seconds": start.decide_within.whole_seconds(),
        });
        Ok(self
            .start_execution(start.request, start.request.to_string(), input)
            .await?)
    }

    async fn resume(&self, token: &TaskToken, decision: Decision) -> powerpole_core::Result<()> {
        Ok(self.send_decision(token, decision).await?)
    }

    async fn stop(&self, id: RequestId, cause: &str) -> powerpole_core::Result<()> {
        Ok(self.stop_execution(id, cause).await?)
    }

    async fn end_early(&self, id: RequestId) -> powerpole_core::Result<()> {
        self.stop_execution(id, "ended early by the requester")
            .await?;
        let input = serde_json::json!({ "request_id": id.to_string(), "mode": "end" });
        Ok(self
            .start_execution(id, end_execution_name(id), input)
            .await?)
    }
}

/// The decision as the state machine's `Choice` reads it at `$.decision`.
fn decision_name(decision: Decision) -> &'static str {
    match decision {
        Decision::Approve => "approve",
        Decision::Deny => "deny",
    }
}

/// A token error: [`Error::NotFound`] when the token's task no longer waits, else the SDK error.
fn token_error<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err.code() {
        Some(code) if GONE_TASK_CODES.contains(&code) => Error::NotFound(format!(
            "a waiting task for this token ({operation}: {code}; already resumed, timed out or \
             its execution ended)"
        )),
        _ => sdk(SERVICE, operation, err),
    }
}

/// `arn:P:states:R:A:stateMachine:NAME[:QUALIFIER]` → `arn:P:states:R:A:execution:NAME:`.
fn execution_prefix(state_machine_arn: &str) -> Result<String> {
    StateMachineArn::parse(state_machine_arn)
        .map(|arn| arn.execution_prefix())
        .map_err(|e| Error::invalid_setting("state machine ARN", e.to_string()))
}

/// The first `max` characters of `s`.
fn truncate(s: &str, max: usize) -> &str {
    s.char_indices().nth(max).map_or(s, |(end, _)| &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:states:ap-northeast-1:123456789012:stateMachine:powerpole";

    #[test]
    fn the_execution_arn_is_derived_from_the_state_machine_arn() {
        assert_eq!(
            execution_prefix(ARN).unwrap(),
            "arn:aws:states:ap-northeast-1:123456789012:execution:powerpole:"
        );
        assert_eq!(
            execution_prefix(
                "arn:aws-cn:states:cn-north-1:123456789012:stateMachine:powerpole:live"
            )
            .unwrap(),
            "arn:aws-cn:states:cn-north-1:123456789012:execution:powerpole:"
        );
    }

    #[test]
    fn arns_that_are_not_state_machines_are_refused() {
        for arn in [
            "",
            "powerpole",
            "arn:aws:states:ap-northeast-1:123456789012:activity:powerpole",
            "arn:aws:states:ap-northeast-1:123456789012:execution:powerpole:01J",
            "arn:aws:lambda:ap-northeast-1:123456789012:stateMachine:powerpole",
            "arn:aws:states:ap-northeast-1:123456789012:stateMachine:",
            "arn:aws:states::123456789012:stateMachine:powerpole",
            "arn:aws:states:ap-northeast-1:123456789012:stateMachine:power pole",
            "arn:aws:states:ap-northeast-1:123456789012:stateMachine:powerpole:",
            "arn:aws:states:ap-northeast-1:123456789012:stateMachine:powerpole:1:2",
        ] {
            assert!(
                matches!(execution_prefix(arn), Err(Error::InvalidSetting { .. })),
                "{arn:?} was accepted"
            );
        }
    }

    #[test]
    fn decisions_are_named_as_the_state_machine_reads_them() {
        assert_eq!(decision_name(Decision::Approve), "approve");
        assert_eq!(decision_name(Decision::Deny), "deny");
    }

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate("ab", 5), "ab");
        assert_eq!(truncate("日本語です", 2), "日本");
        assert_eq!(truncate("", 0), "");
    }

    #[test]
    fn unknown_statuses_keep_their_name() {
        assert_eq!(
            execution_status(&SdkExecutionStatus::from("PAUSED")),
            ExecutionStatus::Other("PAUSED".to_owned())
        );
        assert!(execution_status(&SdkExecutionStatus::Running).is_running());
        assert!(!execution_status(&SdkExecutionStatus::Aborted).is_running());
    }
}
