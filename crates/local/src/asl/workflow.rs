//! The [`Workflow`] port on the local runner, behaving as the Step Functions adapter does: one
//! execution per request named after the request id with input
//! `{"request_id", "decide_within_seconds"}`, a duplicate start is success, the approval gate is
//! resumed with `{"decision": "approve"}` or `{"decision": "deny"}`, stopping a missing or
//! finished execution is success, and ending early stops the execution and starts
//! `<id>-end` with `{"request_id", "mode": "end"}`.

use powerpole_core::ports::{Decision, Start, Workflow, end_execution_name};
use powerpole_core::{Clock, RequestId, TaskToken};
use serde_json::{Value, json};

use super::runner::AslRunner;
use super::task::TaskHandlers;
use crate::error::Error;

/// The error name a stopped execution records (the same as on AWS).
pub const STOP_ERROR: &str = "powerpole.Stopped";

/// The approval gate's output for `decision`, as the state machine's `Choice` reads it.
#[must_use]
pub fn decision_output(decision: Decision) -> Value {
    let name = match decision {
        Decision::Approve => "approve",
        Decision::Deny => "deny",
    };
    json!({ "decision": name })
}

impl<C: Clock + 'static, H: TaskHandlers> Workflow for AslRunner<C, H> {
    async fn start(&self, start: &Start) -> powerpole_core::Result<()> {
        let name = start.request.to_string();
        let input = json!({
            "request_id": name,
            "decide_within_seconds": start.decide_within.whole_seconds(),
        });
        match self.start_execution(&name, input).await {
            Ok(_) | Err(Error::ExecutionAlreadyExists(_)) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    async fn resume(&self, token: &TaskToken, decision: Decision) -> powerpole_core::Result<()> {
        Ok(self
            .send_task_success(&token.0, decision_output(decision))
            .await?)
    }

    async fn stop(&self, id: RequestId, cause: &str) -> powerpole_core::Result<()> {
        match self
            .stop_execution(&id.to_string(), STOP_ERROR, cause)
            .await
        {
            Ok(()) | Err(Error::ExecutionDoesNotExist(_) | Error::ExecutionNotRunning(_)) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    async fn end_early(&self, id: RequestId) -> powerpole_core::Result<()> {
        self.stop(id, "ended early by the requester").await?;
        let input = json!({ "request_id": id.to_string(), "mode": "end" });
        match self.start_execution(&end_execution_name(id), input).await {
            Ok(_) | Err(Error::ExecutionAlreadyExists(_)) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_match_the_step_functions_adapter() {
        assert_eq!(
            decision_output(Decision::Approve),
            json!({"decision": "approve"})
        );
        assert_eq!(decision_output(Decision::Deny), json!({"decision": "deny"}));
    }
}
