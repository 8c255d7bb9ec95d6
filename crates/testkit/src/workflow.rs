//! A [`Workflow`] for tests of what sits in front of the workflow (the Slack endpoints, the
//! Lambda handlers): it records what it was asked — starts, resumptions, early ends — and does
//! nothing else. The real workflow runs in the end-to-end tests.

use std::sync::{Mutex, PoisonError};

use powerpole_core::RequestId;
use powerpole_core::ports::{Decision, Start, TaskToken, Workflow};

/// Records every call; every call succeeds.
#[derive(Debug, Default)]
pub struct RecordingWorkflow {
    started: Mutex<Vec<RequestId>>,
    resumed: Mutex<Vec<(TaskToken, Decision)>>,
    ended_early: Mutex<Vec<RequestId>>,
    stopped: Mutex<Vec<RequestId>>,
}

fn snapshot<T: Clone>(calls: &Mutex<Vec<T>>) -> Vec<T> {
    calls.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

fn record<T>(calls: &Mutex<Vec<T>>, call: T) {
    calls
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(call);
}

impl RecordingWorkflow {
    /// The requests whose execution was started, in order.
    #[must_use]
    pub fn started(&self) -> Vec<RequestId> {
        snapshot(&self.started)
    }

    /// The approval gates resumed, with the decision, in order.
    #[must_use]
    pub fn resumed(&self) -> Vec<(TaskToken, Decision)> {
        snapshot(&self.resumed)
    }

    /// The requests switched to their early end, in order.
    #[must_use]
    pub fn ended_early(&self) -> Vec<RequestId> {
        snapshot(&self.ended_early)
    }

    /// The executions stopped, in order.
    #[must_use]
    pub fn stopped(&self) -> Vec<RequestId> {
        snapshot(&self.stopped)
    }
}

impl Workflow for RecordingWorkflow {
    async fn start(&self, start: &Start) -> powerpole_core::Result<()> {
        record(&self.started, start.request);
        Ok(())
    }

    async fn resume(&self, token: &TaskToken, decision: Decision) -> powerpole_core::Result<()> {
        record(&self.resumed, (token.clone(), decision));
        Ok(())
    }

    async fn stop(&self, id: RequestId, _cause: &str) -> powerpole_core::Result<()> {
        record(&self.stopped, id);
        Ok(())
    }

    async fn end_early(&self, id: RequestId) -> powerpole_core::Result<()> {
        record(&self.ended_early, id);
        Ok(())
    }
}
