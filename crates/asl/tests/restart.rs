//! A runner stops (shut down or dropped) and a new one on the same SQLite file resumes every
//! unfinished execution where it was.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

mod common;

use common::{
    PATIENCE, Reply, Scripted, T0, count, finished, history_until, invoke, runner_on_file, settle,
    wait_deadlines,
};
use powerpole_asl::Error;
use powerpole_asl::{EventKind, ExecutionStatus};
use powerpole_core::ManualClock;
use serde_json::{Value, json};
use time::Duration;

fn hold_then_invoke() -> Value {
    json!({
        "StartAt": "Hold",
        "States": {
            "Hold": {"Type": "Wait", "Seconds": 3600, "Next": "Invoke"},
            "Invoke": invoke("f", json!({"ResultPath": "$.f", "End": true}))
        }
    })
}

fn approval() -> Value {
    json!({
        "StartAt": "Approve",
        "States": {
            "Approve": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {
                    "FunctionName": "approve",
                    "Payload": {"request_id.$": "$.request_id", "token.$": "$$.Task.Token"}
                },
                "TimeoutSecondsPath": "$.approval_timeout",
                "ResultPath": "$.approval",
                "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Expired"}],
                "Next": "Approved"
            },
            "Approved": {"Type": "Succeed"},
            "Expired": {"Type": "Succeed"}
        }
    })
}

fn resumed(history: &[powerpole_asl::HistoryEvent]) -> usize {
    count(history, |k| matches!(k, EventKind::ExecutionResumed))
}

#[tokio::test]
async fn a_wait_keeps_its_deadline_across_a_restart() {
    let db = common::TempDb::new("wait");
    let clock = ManualClock::new(T0);
    let first = Scripted::new(&clock);
    let runner = runner_on_file(&db, hold_then_invoke(), &clock, &first).await;
    runner
        .start_execution("e1", json!({"id": "r1"}))
        .await
        .unwrap();
    history_until(&runner, "e1", "the wait", |h| !wait_deadlines(h).is_empty()).await;
    runner.shutdown().await;
    drop(runner);

    clock.set(T0 + Duration::minutes(30));
    let second = Scripted::new(&clock);
    let runner = runner_on_file(&db, hold_then_invoke(), &clock, &second).await;
    let history = runner.history("e1").await.unwrap();
    assert_eq!(resumed(&history), 1);
    assert_eq!(wait_deadlines(&history), [T0 + Duration::hours(1)]);
    clock.set(T0 + Duration::hours(1) - Duration::seconds(1));
    settle().await;
    let waiting = runner.describe("e1").await.unwrap();
    assert_eq!(waiting.status, ExecutionStatus::Running);
    assert_eq!(waiting.current_state.as_deref(), Some("Hold"));
    clock.set(T0 + Duration::hours(1));
    let done = finished(&runner, "e1").await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(
        done.output.unwrap()["f"]["Payload"],
        json!({"echo": {"id": "r1"}})
    );
    assert!(first.calls().is_empty());
    assert_eq!(second.calls_of("f").len(), 1);
    assert_eq!(
        wait_deadlines(&runner.history("e1").await.unwrap()).len(),
        1,
        "the wait was not started again"
    );
}

#[tokio::test]
async fn a_token_wait_keeps_its_token_and_timeout_across_a_restart() {
    let db = common::TempDb::new("token");
    let clock = ManualClock::new(T0);
    let first = Scripted::new(&clock);
    let runner = runner_on_file(&db, approval(), &clock, &first).await;
    for name in ["answered", "expires"] {
        runner
            .start_execution(name, json!({"request_id": name, "approval_timeout": 1800}))
            .await
            .unwrap();
        history_until(&runner, name, "the function to return", |h| {
            count(h, |k| matches!(k, EventKind::TaskInvoked)) == 1
        })
        .await;
    }
    let token_of = |name: &str| {
        first
            .calls_of("approve")
            .into_iter()
            .find(|c| c.payload["request_id"] == json!(name))
            .unwrap()
            .payload["token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (answered, expires) = (token_of("answered"), token_of("expires"));
    runner.shutdown().await;
    drop(runner);

    clock.set(T0 + Duration::minutes(10));
    let second = Scripted::new(&clock);
    let runner = runner_on_file(&db, approval(), &clock, &second).await;
    runner
        .send_task_success(&answered, json!({"decision": "approve"}))
        .await
        .unwrap();
    let done = finished(&runner, "answered").await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(
        done.output.unwrap()["approval"],
        json!({"decision": "approve"})
    );

    clock.set(T0 + Duration::minutes(30) - Duration::seconds(1));
    settle().await;
    assert_eq!(
        runner.describe("expires").await.unwrap().status,
        ExecutionStatus::Running
    );
    clock.set(T0 + Duration::minutes(30));
    finished(&runner, "expires").await;
    let history = runner.history("expires").await.unwrap();
    assert!(
        history
            .iter()
            .any(|e| e.state.as_deref() == Some("Expired"))
    );
    assert!(matches!(
        runner.send_task_success(&expires, json!({})).await,
        Err(Error::TaskNotWaiting(_))
    ));
    assert!(
        second.calls().is_empty(),
        "a function that had returned is not invoked again"
    );
}

#[tokio::test]
async fn a_token_task_whose_function_had_not_returned_is_invoked_again_with_the_same_token() {
    let db = common::TempDb::new("reinvoke-token");
    let clock = ManualClock::new(T0);
    let first = Scripted::new(&clock);
    first.script("approve", [Reply::Hang]);
    let runner = runner_on_file(&db, approval(), &clock, &first).await;
    runner
        .start_execution("e1", json!({"request_id": "r1", "approval_timeout": 60}))
        .await
        .unwrap();
    let token = first.wait_calls("approve", 1).await[0].payload["token"].clone();
    runner.shutdown().await;
    drop(runner);

    let second = Scripted::new(&clock);
    let runner = runner_on_file(&db, approval(), &clock, &second).await;
    let again = second.wait_calls("approve", 1).await;
    assert_eq!(again[0].payload["token"], token);
    runner
        .send_task_success(token.as_str().unwrap(), json!({"decision": "deny"}))
        .await
        .unwrap();
    let done = finished(&runner, "e1").await;
    assert_eq!(
        done.output.unwrap()["approval"],
        json!({"decision": "deny"})
    );
    let history = runner.history("e1").await.unwrap();
    assert_eq!(
        count(&history, |k| matches!(k, EventKind::TaskTokenIssued { .. })),
        1,
        "the token was not issued again"
    );
}

#[tokio::test]
async fn a_task_in_progress_is_invoked_again_after_a_restart() {
    let db = common::TempDb::new("reinvoke");
    let clock = ManualClock::new(T0);
    let definition = json!({
        "StartAt": "Invoke",
        "States": {"Invoke": invoke("f", json!({"TimeoutSeconds": 300, "End": true}))}
    });
    let first = Scripted::new(&clock);
    first.script("f", [Reply::Hang]);
    let runner = runner_on_file(&db, definition.clone(), &clock, &first).await;
    runner.start_execution("e1", json!({"n": 1})).await.unwrap();
    first.wait_calls("f", 1).await;
    runner.shutdown().await;
    drop(runner);

    let second = Scripted::new(&clock);
    second.script("f", [Reply::Hang]);
    let runner = runner_on_file(&db, definition, &clock, &second).await;
    let calls = second.wait_calls("f", 1).await;
    assert_eq!(calls[0].payload, json!({"n": 1}));
    clock.set(T0 + Duration::seconds(300));
    let done = finished(&runner, "e1").await;
    assert_eq!(
        done.error.as_deref(),
        Some("States.Timeout"),
        "the re-invoked attempt keeps the attempt's original timeout"
    );
}

#[tokio::test]
async fn dropping_the_last_runner_handle_stops_its_executions_until_a_new_runner_resumes_them() {
    let db = common::TempDb::new("drop");
    let clock = ManualClock::new(T0);
    let first = Scripted::new(&clock);
    let runner = runner_on_file(&db, hold_then_invoke(), &clock, &first).await;
    let clone = runner.clone();
    runner.start_execution("e1", json!({})).await.unwrap();
    history_until(&runner, "e1", "the wait", |h| !wait_deadlines(h).is_empty()).await;
    drop(runner);
    clock.set(T0 + Duration::minutes(59));
    settle().await;
    assert_eq!(
        clone.describe("e1").await.unwrap().status,
        ExecutionStatus::Running,
        "a remaining clone keeps the execution going"
    );
    drop(clone);
    settle().await;
    clock.set(T0 + Duration::hours(2));
    settle().await;
    assert!(first.calls().is_empty(), "the dropped runner went on");

    let second = Scripted::new(&clock);
    let runner = runner_on_file(&db, hold_then_invoke(), &clock, &second).await;
    let done = runner.wait_for_completion("e1", PATIENCE).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(resumed(&runner.history("e1").await.unwrap()), 1);
    assert_eq!(second.calls_of("f").len(), 1);
}

#[tokio::test]
async fn finished_executions_are_not_resumed() {
    let db = common::TempDb::new("finished");
    let clock = ManualClock::new(T0);
    let definition = json!({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}});
    let runner = runner_on_file(&db, definition.clone(), &clock, &Scripted::new(&clock)).await;
    runner.start_execution("e1", json!({})).await.unwrap();
    finished(&runner, "e1").await;
    let before = runner.history("e1").await.unwrap();
    runner.shutdown().await;
    drop(runner);
    let runner = runner_on_file(&db, definition, &clock, &Scripted::new(&clock)).await;
    assert_eq!(runner.history("e1").await.unwrap(), before);
    assert_eq!(
        runner.describe("e1").await.unwrap().status,
        ExecutionStatus::Succeeded
    );
}
