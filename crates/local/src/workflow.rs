//! The [`Workflow`] port on the in-process runner, behaving as the Step Functions adapter does:
//! one execution per request named after the request id with input
//! `{"request_id", "decide_within_seconds"}`, a duplicate start is success, the approval gate is
//! resumed with `{"decision": "approve"}` or `{"decision": "deny"}`, stopping a missing or
//! finished execution is success, and ending early stops the execution and starts
//! `<id>-end` with `{"request_id", "mode": "end"}`. Every transition is in the runner's journal,
//! so the workflow survives a restart.

use powerpole_asl::{AslRunner, Error as Asl, TaskHandlers};
use powerpole_core::ports::{Decision, Start, Workflow, end_execution_name};
use powerpole_core::{Clock, RequestId, TaskToken};
use serde_json::{Value, json};

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

/// The per-request workflow on a journal-backed [`AslRunner`]. Clones share the runner.
pub struct JournalWorkflow<C, H> {
    runner: AslRunner<C, H>,
}

impl<C, H> Clone for JournalWorkflow<C, H> {
    fn clone(&self) -> Self {
        Self::new(self.runner.clone())
    }
}

impl<C, H> std::fmt::Debug for JournalWorkflow<C, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("JournalWorkflow")
            .field(&self.runner)
            .finish()
    }
}

impl<C, H> JournalWorkflow<C, H> {
    /// The workflow whose executions `runner` runs.
    #[must_use]
    pub const fn new(runner: AslRunner<C, H>) -> Self {
        Self { runner }
    }

    /// The runner, to describe executions, read their history or shut it down.
    #[must_use]
    pub const fn runner(&self) -> &AslRunner<C, H> {
        &self.runner
    }
}

impl<C, H> From<AslRunner<C, H>> for JournalWorkflow<C, H> {
    fn from(runner: AslRunner<C, H>) -> Self {
        Self::new(runner)
    }
}

/// The port's reading of a runner error.
fn port(err: Asl) -> powerpole_core::Error {
    Error::from(err).into()
}

impl<C: Clock + 'static, H: TaskHandlers> JournalWorkflow<C, H> {
    /// Starts the execution `name`; one that exists already is success.
    async fn start_once(&self, name: &str, input: Value) -> powerpole_core::Result<()> {
        match self.runner.start_execution(name, input).await {
            Ok(_) | Err(Asl::ExecutionAlreadyExists(_)) => Ok(()),
            Err(err) => Err(port(err)),
        }
    }
}

impl<C: Clock + 'static, H: TaskHandlers> Workflow for JournalWorkflow<C, H> {
    async fn start(&self, start: &Start) -> powerpole_core::Result<()> {
        let name = start.request.to_string();
        let input = json!({
            "request_id": name,
            "decide_within_seconds": start.decide_within.whole_seconds(),
        });
        self.start_once(&name, input).await
    }

    async fn resume(&self, token: &TaskToken, decision: Decision) -> powerpole_core::Result<()> {
        self.runner
            .send_task_success(&token.0, decision_output(decision))
            .await
            .map_err(port)
    }

    async fn stop(&self, id: RequestId, cause: &str) -> powerpole_core::Result<()> {
        match self
            .runner
            .stop_execution(&id.to_string(), STOP_ERROR, cause)
            .await
        {
            Ok(()) | Err(Asl::ExecutionDoesNotExist(_) | Asl::ExecutionNotRunning(_)) => Ok(()),
            Err(err) => Err(port(err)),
        }
    }

    async fn end_early(&self, id: RequestId) -> powerpole_core::Result<()> {
        self.stop(id, "ended early by the requester").await?;
        let input = json!({ "request_id": id.to_string(), "mode": "end" });
        self.start_once(&end_execution_name(id), input).await
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
