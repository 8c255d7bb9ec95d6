//! The runner through the core's `Workflow` port (as the broker uses it), and on a scaled
//! clock.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

#[path = "../../asl/tests/common/mod.rs"]
mod common;

use std::future::Future;
use std::time::{Duration as StdDuration, Instant};

use common::{Scripted, finished, runner};
use powerpole_asl::{
    AslRunner, Definition, EventKind, ExecutionStatus, RunnerOptions, TaskFailure, TaskHandlers,
    sqlite,
};
use powerpole_core::ports::{Decision, Start, Workflow, end_execution_name};
use powerpole_core::{RequestId, TaskToken};
use powerpole_local::{JournalWorkflow, ScaledClock, decision_output};
use serde_json::{Value, json};

const ID: &str = "01JD5Z7K8M9N0P1Q2R3S4T5V6W";

fn gate() -> Value {
    json!({
        "StartAt": "Mode",
        "States": {
            "Mode": {
                "Type": "Choice",
                "Choices": [{"And": [
                    {"Variable": "$.mode", "IsPresent": true},
                    {"Variable": "$.mode", "StringEquals": "end"}
                ], "Next": "Teardown"}],
                "Default": "Approve"
            },
            "Teardown": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "teardown", "Payload": {"request_id.$": "$.request_id"}},
                "End": true
            },
            "Approve": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {
                    "FunctionName": "approve",
                    "Payload": {"request_id.$": "$.request_id", "token.$": "$$.Task.Token"}
                },
                "TimeoutSecondsPath": "$.decide_within_seconds",
                "ResultPath": "$.approval",
                "Next": "Decide"
            },
            "Decide": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.approval.decision", "StringEquals": "approve", "Next": "Approved"}],
                "Default": "Denied"
            },
            "Approved": {"Type": "Succeed"},
            "Denied": {"Type": "Succeed"}
        }
    })
}

async fn token(handlers: &Scripted) -> TaskToken {
    let calls = handlers.wait_calls("approve", 1).await;
    TaskToken(calls[0].payload["token"].as_str().unwrap().to_owned())
}

fn chosen(history: &[powerpole_asl::HistoryEvent]) -> Option<String> {
    history
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ChoiceMade { next } => Some(next.clone()),
            _ => None,
        })
        .next_back()
}

#[tokio::test]
async fn the_port_starts_one_execution_per_request_and_resumes_it_with_the_decision() {
    let (runner, _clock, handlers) = runner(gate()).await;
    let workflow = JournalWorkflow::new(runner.clone());
    let id = RequestId::parse(ID).unwrap();
    Workflow::start(&workflow, &start_of(id)).await.unwrap();
    Workflow::start(&workflow, &start_of(id)).await.unwrap();
    let execution = runner.describe(ID).await.unwrap();
    assert_eq!(
        execution.input,
        json!({"request_id": ID, "decide_within_seconds": 3600})
    );
    let later = Start {
        request: id,
        decide_within: time::Duration::minutes(59),
    };
    Workflow::start(&workflow, &later).await.unwrap();
    assert_eq!(runner.list(None).await.unwrap().len(), 1);
    token(&handlers).await;
    common::settle().await;
    assert_eq!(
        handlers.calls_of("approve").len(),
        1,
        "a second start does not run a second gate"
    );
    assert_eq!(
        handlers.calls_of("approve")[0].payload["request_id"],
        json!(ID)
    );

    let token = token(&handlers).await;
    workflow.resume(&token, Decision::Approve).await.unwrap();
    let done = finished(&runner, ID).await;
    assert_eq!(
        done.output.unwrap()["approval"],
        json!({"decision": "approve"})
    );
    assert_eq!(
        chosen(&runner.history(ID).await.unwrap()).as_deref(),
        Some("Approved")
    );

    let again = workflow.resume(&token, Decision::Deny).await.unwrap_err();
    assert!(
        matches!(again, powerpole_core::Error::NotFound(_)),
        "{again}"
    );
    let unknown = workflow
        .resume(&TaskToken("forged".into()), Decision::Approve)
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, powerpole_core::Error::NotFound(_)),
        "{unknown}"
    );
    Workflow::start(&workflow, &start_of(id)).await.unwrap();
}

#[tokio::test]
async fn a_deny_takes_the_default_branch() {
    let (runner, _clock, handlers) = runner(gate()).await;
    let workflow = JournalWorkflow::new(runner.clone());
    let id = RequestId::parse(ID).unwrap();
    Workflow::start(&workflow, &start_of(id)).await.unwrap();
    workflow
        .resume(&token(&handlers).await, Decision::Deny)
        .await
        .unwrap();
    finished(&runner, ID).await;
    assert_eq!(
        chosen(&runner.history(ID).await.unwrap()).as_deref(),
        Some("Denied")
    );
    assert_eq!(decision_output(Decision::Deny), json!({"decision": "deny"}));
}

#[tokio::test]
async fn the_port_stops_a_running_execution_and_tolerates_finished_or_missing_ones() {
    let (runner, _clock, handlers) = runner(gate()).await;
    let workflow = JournalWorkflow::new(runner.clone());
    let id = RequestId::parse(ID).unwrap();
    Workflow::start(&workflow, &start_of(id)).await.unwrap();
    let token = token(&handlers).await;
    Workflow::stop(&workflow, id, "revoked early")
        .await
        .unwrap();
    let stopped = runner.describe(ID).await.unwrap();
    assert_eq!(stopped.status, ExecutionStatus::Aborted);
    assert_eq!(stopped.error.as_deref(), Some("powerpole.Stopped"));
    assert_eq!(stopped.cause.as_deref(), Some("revoked early"));
    Workflow::stop(&workflow, id, "again").await.unwrap();
    let other = RequestId::parse("01JD5Z7K8M9N0P1Q2R3S4T5V6X").unwrap();
    Workflow::stop(&workflow, other, "never started")
        .await
        .unwrap();
    assert!(matches!(
        workflow.resume(&token, Decision::Approve).await,
        Err(powerpole_core::Error::NotFound(_))
    ));
}

#[tokio::test]
async fn ending_early_stops_the_execution_and_starts_its_teardown_once() {
    let (runner, _clock, handlers) = runner(gate()).await;
    let workflow = JournalWorkflow::new(runner.clone());
    let id = RequestId::parse(ID).unwrap();
    Workflow::start(&workflow, &start_of(id)).await.unwrap();
    let token = token(&handlers).await;
    workflow.end_early(id).await.unwrap();
    let stopped = runner.describe(ID).await.unwrap();
    assert_eq!(stopped.status, ExecutionStatus::Aborted);
    assert_eq!(stopped.error.as_deref(), Some("powerpole.Stopped"));
    let end = end_execution_name(id);
    let ended = finished(&runner, &end).await;
    assert_eq!(ended.status, ExecutionStatus::Succeeded);
    assert_eq!(ended.input, json!({"request_id": ID, "mode": "end"}));
    assert_eq!(
        handlers.calls_of("teardown")[0].payload,
        json!({"request_id": ID})
    );
    workflow.end_early(id).await.unwrap();
    common::settle().await;
    assert_eq!(handlers.calls_of("teardown").len(), 1, "teardown ran twice");
    assert_eq!(runner.list(None).await.unwrap().len(), 2);
    assert!(matches!(
        workflow.resume(&token, Decision::Approve).await,
        Err(powerpole_core::Error::NotFound(_))
    ));
}

#[derive(Clone)]
struct Echo;

impl TaskHandlers for Echo {
    fn invoke(
        &self,
        _function: &str,
        payload: Value,
    ) -> impl Future<Output = Result<Value, TaskFailure>> + Send {
        std::future::ready(Ok(payload))
    }
}

#[tokio::test]
async fn a_scaled_clock_compresses_waits() {
    let definition = Definition::from_json(
        &json!({
            "StartAt": "Hold",
            "States": {
                "Hold": {"Type": "Wait", "Seconds": 60, "Next": "Invoke"},
                "Invoke": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "f", "Payload.$": "$"},
                    "OutputPath": "$.Payload",
                    "End": true
                }
            }
        })
        .to_string(),
    )
    .unwrap();
    let runner = AslRunner::new(
        sqlite::in_memory().await.unwrap(),
        definition,
        Echo,
        ScaledClock::new(600.0).unwrap(),
        RunnerOptions {
            poll_interval: StdDuration::from_millis(10),
            ..RunnerOptions::default()
        },
    )
    .await
    .unwrap();
    let started = Instant::now();
    runner.start_execution("e1", json!({"a": 1})).await.unwrap();
    let done = runner
        .wait_for_completion("e1", StdDuration::from_secs(10))
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(done.output, Some(json!({"a": 1})));
    assert!(took >= StdDuration::from_millis(90), "waited only {took:?}");
    assert!(took < StdDuration::from_secs(5), "waited {took:?}");
    let stop = done.stop_time.unwrap();
    assert!(stop - done.start_time >= time::Duration::seconds(60));
}

fn start_of(id: RequestId) -> Start {
    Start {
        request: id,
        decide_within: time::Duration::hours(1),
    }
}
