//! The [`Workflow`] port on the local runner, behaving as the Step Functions adapter does: one
//! execution per request named after the request id with input `{"request_id": "…"}`, a
//! duplicate start is success, the approval gate is resumed with `{"decision": "approve"}` or
//! `{"decision": "deny"}`, and stopping a missing or finished execution is success.

use powerpole_core::ports::{Decision, Workflow};
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
    async fn start(&self, id: RequestId) -> powerpole_core::Result<()> {
        let name = id.to_string();
        match self
            .start_execution(&name, json!({ "request_id": name }))
            .await
        {
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
