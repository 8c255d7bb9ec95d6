//! The runner against small state machines written for each feature of the States Language it
//! implements, on a manual clock.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

mod common;

use common::{Reply, T0, count, finished, history_until, invoke, runner, settle, wait_deadlines};
use powerpole_asl::Error;
use powerpole_asl::{EventKind, ExecutionStatus};
use serde_json::{Value, json};
use time::Duration;

fn machine(start: &str, states: Value) -> Value {
    json!({ "StartAt": start, "States": states })
}

#[tokio::test]
async fn a_task_composes_input_path_parameters_selector_result_path_and_output_path_in_order() {
    let (runner, _clock, handlers) = runner(machine(
        "Invoke",
        json!({
            "Invoke": invoke("shape", json!({
                "InputPath": "$.a",
                "Parameters": {
                    "FunctionName": "shape",
                    "Payload": {
                        "x.$": "$.x",
                        "name.$": "$$.Execution.Name",
                        "state.$": "$$.State.Name",
                        "fixed": "f"
                    }
                },
                "ResultSelector": { "got.$": "$.Payload.echo", "status.$": "$.StatusCode" },
                "ResultPath": "$.a.result",
                "OutputPath": "$.a",
                "End": true
            }))
        }),
    ))
    .await;
    runner
        .start_execution("e1", json!({"a": {"x": 1, "keep": "k"}, "other": 2}))
        .await
        .unwrap();
    let done = finished(&runner, "e1").await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    let payload = json!({"x": 1, "name": "e1", "state": "Invoke", "fixed": "f"});
    assert_eq!(handlers.calls_of("shape")[0].payload, payload);
    assert_eq!(
        done.output,
        Some(json!({"x": 1, "keep": "k", "result": {"got": payload, "status": 200}}))
    );
}

#[tokio::test]
async fn the_lambda_result_shape_is_what_step_functions_returns() {
    let (runner, _clock, handlers) = runner(machine(
        "Invoke",
        json!({ "Invoke": invoke("f", json!({"End": true})) }),
    ))
    .await;
    handlers.script("f", [Reply::Ok(json!({"ok": true}))]);
    runner.start_execution("e1", json!({})).await.unwrap();
    let out = finished(&runner, "e1").await.output.unwrap();
    assert_eq!(out["Payload"], json!({"ok": true}));
    assert_eq!(out["StatusCode"], json!(200));
    assert_eq!(out["ExecutedVersion"], json!("$LATEST"));
}

#[tokio::test]
async fn pass_states_shape_data() {
    let (runner, _clock, _) = runner(machine(
        "Params",
        json!({
            "Params": {"Type": "Pass", "Parameters": {"id.$": "$.id", "k": 1}, "ResultPath": "$.p", "Next": "Literal"},
            "Literal": {"Type": "Pass", "Result": {"r": true}, "ResultPath": "$.lit", "Next": "Discard"},
            "Discard": {"Type": "Pass", "Result": "ignored", "ResultPath": null, "Next": "Replace"},
            "Replace": {"Type": "Pass", "InputPath": "$.p", "Next": "Empty"},
            "Empty": {"Type": "Pass", "InputPath": null, "ResultPath": "$.was", "OutputPath": "$.was", "Next": "Nothing"},
            "Nothing": {"Type": "Pass", "OutputPath": null, "End": true}
        }),
    ))
    .await;
    runner
        .start_execution("e1", json!({"id": "r1"}))
        .await
        .unwrap();
    let done = finished(&runner, "e1").await;
    assert_eq!(done.output, Some(json!({})));
    let exits: Vec<Value> = runner
        .history("e1")
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::StateExited { output } => Some(output),
            _ => None,
        })
        .collect();
    assert_eq!(
        exits,
        [
            json!({"id": "r1", "p": {"id": "r1", "k": 1}}),
            json!({"id": "r1", "p": {"id": "r1", "k": 1}, "lit": {"r": true}}),
            json!({"id": "r1", "p": {"id": "r1", "k": 1}, "lit": {"r": true}}),
            json!({"id": "r1", "k": 1}),
            json!({}),
            json!({}),
        ]
    );
}

fn gate() -> Value {
    machine(
        "Decide",
        json!({
            "Decide": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.decision", "StringEquals": "approve", "Next": "Approved"},
                    {"And": [
                        {"Variable": "$.decision", "StringEquals": "deny"},
                        {"Variable": "$.reason", "IsPresent": true}
                    ], "Next": "DeniedWithReason"},
                    {"Variable": "$.n", "NumericGreaterThanEquals": 10, "Next": "Big"}
                ],
                "Default": "Other"
            },
            "Approved": {"Type": "Succeed"},
            "DeniedWithReason": {"Type": "Succeed"},
            "Big": {"Type": "Succeed"},
            "Other": {"Type": "Fail", "Error": "Other", "Cause": "no rule"}
        }),
    )
}

async fn chosen(input: Value) -> (ExecutionStatus, Option<String>) {
    let (runner, _clock, _) = runner(gate()).await;
    runner.start_execution("e1", input).await.unwrap();
    let done = finished(&runner, "e1").await;
    let chosen = runner
        .history("e1")
        .await
        .unwrap()
        .into_iter()
        .find_map(|e| match e.kind {
            EventKind::ChoiceMade { next } => Some(next),
            _ => None,
        });
    (done.status, chosen)
}

#[tokio::test]
async fn choice_rules_are_tried_in_order_with_a_default() {
    assert_eq!(
        chosen(json!({"decision": "approve", "n": 99})).await,
        (ExecutionStatus::Succeeded, Some("Approved".into()))
    );
    assert_eq!(
        chosen(json!({"decision": "deny", "reason": "no", "n": 99})).await,
        (ExecutionStatus::Succeeded, Some("DeniedWithReason".into()))
    );
    assert_eq!(
        chosen(json!({"decision": "deny", "n": 10})).await,
        (ExecutionStatus::Succeeded, Some("Big".into()))
    );
    assert_eq!(
        chosen(json!({"decision": "deny", "n": 9})).await,
        (ExecutionStatus::Failed, Some("Other".into()))
    );
}

#[tokio::test]
async fn a_choice_without_match_or_default_fails_the_execution() {
    let (runner, _clock, _) = runner(machine(
        "Decide",
        json!({
            "Decide": {"Type": "Choice", "Choices": [
                {"Variable": "$.x", "BooleanEquals": true, "Next": "Yes"}
            ]},
            "Yes": {"Type": "Succeed"}
        }),
    ))
    .await;
    runner
        .start_execution("e1", json!({"x": false}))
        .await
        .unwrap();
    let done = finished(&runner, "e1").await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("States.NoChoiceMatched"));
}

fn flaky(retry: Value, catch: Value) -> Value {
    machine(
        "Invoke",
        json!({
            "Invoke": invoke("flaky", json!({
                "Retry": retry,
                "Catch": catch,
                "ResultPath": "$.result",
                "Next": "Done"
            })),
            "Done": {"Type": "Succeed"},
            "Caught": {"Type": "Pass", "Next": "CaughtDone"},
            "CaughtDone": {"Type": "Succeed"}
        }),
    )
}

fn retry_deadlines(history: &[powerpole_asl::HistoryEvent]) -> Vec<time::OffsetDateTime> {
    history
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::RetryScheduled { until, .. } => Some(until),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn retries_back_off_by_the_rate_and_count_attempts() {
    let (runner, clock, handlers) = runner(flaky(
        json!([{"ErrorEquals": ["Retryable"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 3}]),
        json!([{"ErrorEquals": ["NonRetryable"], "Next": "Caught"}]),
    ))
    .await;
    handlers.script(
        "flaky",
        [
            Reply::Fail("Retryable", "1"),
            Reply::Fail("Retryable", "2"),
            Reply::Fail("Retryable", "3"),
        ],
    );
    runner.start_execution("e1", json!({})).await.unwrap();
    let expected = [
        T0 + Duration::seconds(2),
        T0 + Duration::seconds(8),
        T0 + Duration::seconds(26),
    ];
    for (i, due) in expected.iter().enumerate() {
        let history =
            history_until(&runner, "e1", "a retry", |h| retry_deadlines(h).len() > i).await;
        assert_eq!(retry_deadlines(&history)[i], *due);
        clock.set(*due - Duration::seconds(1));
        settle().await;
        assert_eq!(
            handlers.calls_of("flaky").len(),
            i + 1,
            "retried before its time"
        );
        clock.set(*due);
        handlers.wait_calls("flaky", i + 2).await;
    }
    let done = finished(&runner, "e1").await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    let at: Vec<_> = handlers.calls_of("flaky").iter().map(|c| c.at).collect();
    assert_eq!(at, [T0, expected[0], expected[1], expected[2]]);
    let history = runner.history("e1").await.unwrap();
    let attempts: Vec<u64> = history
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::TaskScheduled { attempt, .. } => Some(attempt),
            _ => None,
        })
        .collect();
    assert_eq!(attempts, [1, 2, 3, 4]);
}

#[tokio::test]
async fn an_exhausted_retrier_hands_over_to_catch_and_max_delay_caps_the_wait() {
    let (runner, clock, handlers) = runner(flaky(
        json!([
            {"ErrorEquals": ["Retryable"], "IntervalSeconds": 10, "BackoffRate": 10, "MaxAttempts": 2, "MaxDelaySeconds": 30},
            {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}
        ]),
        json!([{"ErrorEquals": ["Retryable"], "Next": "Caught", "ResultPath": "$.error"}]),
    ))
    .await;
    handlers.script("flaky", vec![Reply::Fail("Retryable", "boom"); 5]);
    runner
        .start_execution("e1", json!({"id": "r1"}))
        .await
        .unwrap();
    let history = history_until(&runner, "e1", "first retry", |h| {
        !retry_deadlines(h).is_empty()
    })
    .await;
    assert_eq!(retry_deadlines(&history), [T0 + Duration::seconds(10)]);
    clock.set(T0 + Duration::seconds(10));
    let history = history_until(&runner, "e1", "second retry", |h| {
        retry_deadlines(h).len() == 2
    })
    .await;
    assert_eq!(retry_deadlines(&history)[1], T0 + Duration::seconds(40));
    clock.set(T0 + Duration::seconds(40));
    let done = finished(&runner, "e1").await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(
        handlers.calls_of("flaky").len(),
        3,
        "the States.ALL retrier must not be used"
    );
    let history = runner.history("e1").await.unwrap();
    let caught_input = history
        .iter()
        .find_map(|e| match (&e.kind, e.state.as_deref()) {
            (EventKind::StateEntered { input }, Some("Caught")) => Some(input.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        caught_input,
        json!({"id": "r1", "error": {"Error": "Retryable", "Cause": "boom"}})
    );
}

#[tokio::test]
async fn catchers_match_in_order_and_task_failed_does_not_catch_timeouts() {
    let (runner, _clock, handlers) = runner(machine(
        "Invoke",
        json!({
            "Invoke": invoke("f", json!({
                "Catch": [
                    {"ErrorEquals": ["Other"], "Next": "Wrong"},
                    {"ErrorEquals": ["States.TaskFailed"], "Next": "Right"},
                    {"ErrorEquals": ["States.ALL"], "Next": "Wrong"}
                ],
                "End": true
            })),
            "Right": {"Type": "Succeed"},
            "Wrong": {"Type": "Fail", "Error": "Wrong"}
        }),
    ))
    .await;
    handlers.script("f", [Reply::Fail("NonRetryable", "bad input")]);
    runner.start_execution("e1", json!({})).await.unwrap();
    let done = finished(&runner, "e1").await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(
        done.output,
        Some(json!({"Error": "NonRetryable", "Cause": "bad input"})),
        "a catcher without ResultPath replaces the input with the error"
    );
    assert_eq!(handlers.calls_of("f").len(), 1);

    let (runner, clock, handlers) = common::runner(machine(
        "Invoke",
        json!({
            "Invoke": invoke("slow", json!({
                "TimeoutSeconds": 30,
                "Catch": [
                    {"ErrorEquals": ["States.TaskFailed"], "Next": "Wrong"},
                    {"ErrorEquals": ["States.Timeout"], "Next": "Right", "ResultPath": "$.timeout"}
                ],
                "End": true
            })),
            "Right": {"Type": "Succeed"},
            "Wrong": {"Type": "Fail", "Error": "Wrong"}
        }),
    ))
    .await;
    handlers.script("slow", [Reply::Hang]);
    runner
        .start_execution("e1", json!({"id": 1}))
        .await
        .unwrap();
    handlers.wait_calls("slow", 1).await;
    clock.set(T0 + Duration::seconds(29));
    settle().await;
    assert_eq!(
        runner.describe("e1").await.unwrap().status,
        ExecutionStatus::Running
    );
    clock.set(T0 + Duration::seconds(30));
    let done = finished(&runner, "e1").await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(
        done.output.unwrap()["timeout"]["Error"],
        json!("States.Timeout")
    );
}

#[tokio::test]
async fn an_uncaught_error_fails_the_execution_with_its_name_and_cause() {
    let (runner, _clock, handlers) = runner(machine(
        "Invoke",
        json!({ "Invoke": invoke("f", json!({
            "Retry": [{"ErrorEquals": ["Retryable"]}],
            "End": true
        })) }),
    ))
    .await;
    handlers.script("f", [Reply::Fail("NonRetryable", "no such cluster")]);
    runner.start_execution("e1", json!({})).await.unwrap();
    let done = finished(&runner, "e1").await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("NonRetryable"));
    assert_eq!(done.cause.as_deref(), Some("no such cluster"));
    assert_eq!(handlers.calls_of("f").len(), 1);
}

#[tokio::test]
async fn runtime_errors_are_not_caught_by_states_all() {
    let (runner, _clock, handlers) = runner(machine(
        "Invoke",
        json!({
            "Invoke": invoke("f", json!({
                "Parameters": {"FunctionName": "f", "Payload": {"x.$": "$.missing"}},
                "Retry": [{"ErrorEquals": ["States.ALL"]}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": true
            })),
            "Caught": {"Type": "Succeed"}
        }),
    ))
    .await;
    runner.start_execution("e1", json!({})).await.unwrap();
    let done = finished(&runner, "e1").await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("States.Runtime"));
    assert!(done.cause.unwrap().contains("$.missing"));
    assert!(handlers.calls().is_empty());
}

#[tokio::test]
async fn a_result_path_that_does_not_fit_is_a_catchable_error() {
    let (runner, _clock, _) = runner(machine(
        "Invoke",
        json!({
            "Invoke": invoke("f", json!({
                "ResultPath": "$.text.inner",
                "Catch": [{"ErrorEquals": ["States.ResultPathMatchFailure"], "Next": "Caught"}],
                "End": true
            })),
            "Caught": {"Type": "Succeed"}
        }),
    ))
    .await;
    runner
        .start_execution("e1", json!({"text": "plain"}))
        .await
        .unwrap();
    let done = finished(&runner, "e1").await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(
        done.output.unwrap()["Error"],
        json!("States.ResultPathMatchFailure")
    );
}

#[tokio::test]
async fn fail_states_report_literal_and_computed_error_and_cause() {
    let (runner, _clock, _) = runner(machine(
        "Fail",
        json!({ "Fail": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('request {} failed', $.id)"} }),
    ))
    .await;
    runner
        .start_execution("e1", json!({"e": "Provision", "id": "r1"}))
        .await
        .unwrap();
    let done = finished(&runner, "e1").await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("Provision"));
    assert_eq!(done.cause.as_deref(), Some("request r1 failed"));
}

async fn waits_until(wait: Value, input: Value, due: time::OffsetDateTime) {
    let (runner, clock, _) = runner(machine(
        "Hold",
        json!({ "Hold": wait, "Done": {"Type": "Succeed"} }),
    ))
    .await;
    runner.start_execution("e1", input.clone()).await.unwrap();
    let history = history_until(&runner, "e1", "the wait", |h| !wait_deadlines(h).is_empty()).await;
    assert_eq!(wait_deadlines(&history), [due], "{wait}");
    clock.set(due - Duration::seconds(1));
    settle().await;
    assert_eq!(
        runner.describe("e1").await.unwrap().status,
        ExecutionStatus::Running,
        "{wait} ended early"
    );
    clock.set(due);
    let done = finished(&runner, "e1").await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{wait}");
    assert_eq!(done.output, Some(input));
}

#[tokio::test]
async fn wait_states_wait_until_their_deadline_by_the_clock() {
    let start = "2026-11-23T15:30:00Z";
    let at = T0 + Duration::minutes(90);
    waits_until(
        json!({"Type": "Wait", "Seconds": 600, "Next": "Done"}),
        json!({"a": 1}),
        T0 + Duration::minutes(10),
    )
    .await;
    waits_until(
        json!({"Type": "Wait", "Timestamp": start, "Next": "Done"}),
        json!({"a": 1}),
        at,
    )
    .await;
    waits_until(
        json!({"Type": "Wait", "SecondsPath": "$.s", "Next": "Done"}),
        json!({"s": 42}),
        T0 + Duration::seconds(42),
    )
    .await;
    waits_until(
        json!({"Type": "Wait", "TimestampPath": "$.start", "Next": "Done"}),
        json!({"start": "2026-11-24T00:30:00+09:00"}),
        at,
    )
    .await;
}

#[tokio::test]
async fn a_timestamp_in_the_past_does_not_wait_and_a_bad_path_value_fails() {
    let (runner, _clock, _) = runner(machine(
        "Hold",
        json!({ "Hold": {"Type": "Wait", "TimestampPath": "$.t", "End": true} }),
    ))
    .await;
    runner
        .start_execution("past", json!({"t": "2020-01-01T00:00:00Z"}))
        .await
        .unwrap();
    assert_eq!(
        finished(&runner, "past").await.status,
        ExecutionStatus::Succeeded
    );
    runner
        .start_execution("bad", json!({"t": "soon"}))
        .await
        .unwrap();
    let done = finished(&runner, "bad").await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("States.Runtime"));
}

fn approval() -> Value {
    machine(
        "Approve",
        json!({
            "Approve": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {
                    "FunctionName": "approve",
                    "Payload": {"request_id.$": "$.request_id", "token.$": "$$.Task.Token"}
                },
                "TimeoutSecondsPath": "$.approval_timeout",
                "ResultPath": "$.approval",
                "Catch": [
                    {"ErrorEquals": ["States.Timeout"], "Next": "Expired", "ResultPath": "$.error"},
                    {"ErrorEquals": ["States.ALL"], "Next": "Broken", "ResultPath": "$.error"}
                ],
                "Next": "Decide"
            },
            "Decide": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.approval.decision", "StringEquals": "approve", "Next": "Approved"}],
                "Default": "Denied"
            },
            "Approved": {"Type": "Succeed"},
            "Denied": {"Type": "Succeed"},
            "Expired": {"Type": "Succeed"},
            "Broken": {"Type": "Fail", "ErrorPath": "$.error.Error"}
        }),
    )
}

async fn issued_token(handlers: &common::Scripted) -> String {
    let calls = handlers.wait_calls("approve", 1).await;
    calls[0].payload["token"].as_str().unwrap().to_owned()
}

fn last_state(history: &[powerpole_asl::HistoryEvent]) -> Option<String> {
    history.iter().rev().find_map(|e| match e.kind {
        EventKind::StateEntered { .. } => e.state.clone(),
        _ => None,
    })
}

#[tokio::test]
async fn a_token_task_waits_for_send_task_success() {
    let (runner, _clock, handlers) = runner(approval()).await;
    runner
        .start_execution("e1", json!({"request_id": "r1", "approval_timeout": 3600}))
        .await
        .unwrap();
    let token = issued_token(&handlers).await;
    assert_eq!(
        handlers.calls_of("approve")[0].payload["request_id"],
        json!("r1")
    );
    history_until(&runner, "e1", "the function to return", |h| {
        count(h, |k| matches!(k, EventKind::TaskInvoked)) == 1
    })
    .await;
    settle().await;
    assert_eq!(
        runner.describe("e1").await.unwrap().status,
        ExecutionStatus::Running
    );
    runner
        .send_task_success(&token, json!({"decision": "approve"}))
        .await
        .unwrap();
    let done = finished(&runner, "e1").await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(
        done.output.unwrap()["approval"],
        json!({"decision": "approve"})
    );
    assert_eq!(
        last_state(&runner.history("e1").await.unwrap()).as_deref(),
        Some("Approved")
    );
    assert!(matches!(
        runner
            .send_task_success(&token, json!({"decision": "deny"}))
            .await,
        Err(Error::TaskNotWaiting(_))
    ));
    assert!(matches!(
        runner.send_task_success("no-such-token", json!({})).await,
        Err(Error::TaskDoesNotExist)
    ));
    assert_eq!(handlers.calls_of("approve").len(), 1);
}

#[tokio::test]
async fn an_answer_that_arrives_while_the_function_runs_is_kept() {
    let (runner, clock, handlers) = runner(approval()).await;
    let returns_at = T0 + Duration::seconds(3);
    handlers.script(
        "approve",
        [Reply::OkAt(returns_at, json!({"card": "posted"}))],
    );
    runner
        .start_execution("e1", json!({"request_id": "r1", "approval_timeout": 3600}))
        .await
        .unwrap();
    let token = issued_token(&handlers).await;
    runner
        .send_task_success(&token, json!({"decision": "deny"}))
        .await
        .unwrap();
    settle().await;
    assert_eq!(
        runner.describe("e1").await.unwrap().status,
        ExecutionStatus::Running,
        "the task completes only after its function returns"
    );
    clock.set(returns_at);
    let done = finished(&runner, "e1").await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(
        done.output.unwrap()["approval"],
        json!({"decision": "deny"})
    );
    assert_eq!(
        last_state(&runner.history("e1").await.unwrap()).as_deref(),
        Some("Denied")
    );
}

#[tokio::test]
async fn send_task_failure_fails_the_task_into_its_catch() {
    let (runner, _clock, handlers) = runner(approval()).await;
    runner
        .start_execution("e1", json!({"request_id": "r1", "approval_timeout": 3600}))
        .await
        .unwrap();
    let token = issued_token(&handlers).await;
    runner
        .send_task_failure(&token, "CardGone", "the approval card was deleted")
        .await
        .unwrap();
    let done = finished(&runner, "e1").await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("CardGone"));
}

#[tokio::test]
async fn a_token_task_times_out_at_its_deadline() {
    let (runner, clock, handlers) = runner(approval()).await;
    runner
        .start_execution("e1", json!({"request_id": "r1", "approval_timeout": 1800}))
        .await
        .unwrap();
    let token = issued_token(&handlers).await;
    let history = history_until(&runner, "e1", "the token", |h| {
        count(h, |k| matches!(k, EventKind::TaskInvoked)) == 1
    })
    .await;
    let timeout_at = history
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::TaskTokenIssued { timeout_at, .. } => *timeout_at,
            _ => None,
        })
        .unwrap();
    assert_eq!(timeout_at, T0 + Duration::minutes(30));
    clock.set(T0 + Duration::minutes(30) - Duration::seconds(1));
    settle().await;
    assert_eq!(
        runner.describe("e1").await.unwrap().status,
        ExecutionStatus::Running
    );
    clock.set(T0 + Duration::minutes(30));
    let done = finished(&runner, "e1").await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(
        done.output.unwrap()["error"]["Error"],
        json!("States.Timeout")
    );
    assert_eq!(
        last_state(&runner.history("e1").await.unwrap()).as_deref(),
        Some("Expired")
    );
    assert!(matches!(
        runner
            .send_task_success(&token, json!({"decision": "approve"}))
            .await,
        Err(Error::TaskNotWaiting(_))
    ));
}

#[tokio::test]
async fn a_late_answer_after_the_deadline_is_refused() {
    let (runner, clock, handlers) = runner(approval()).await;
    runner
        .start_execution("e1", json!({"request_id": "r1", "approval_timeout": 60}))
        .await
        .unwrap();
    let token = issued_token(&handlers).await;
    clock.set(T0 + Duration::seconds(60));
    assert!(matches!(
        runner
            .send_task_success(&token, json!({"decision": "approve"}))
            .await,
        Err(Error::TaskNotWaiting(_))
    ));
    let done = finished(&runner, "e1").await;
    assert_eq!(
        last_state(&runner.history("e1").await.unwrap()).as_deref(),
        Some("Expired")
    );
    assert_eq!(done.status, ExecutionStatus::Succeeded);
}

#[tokio::test]
async fn a_failing_approval_function_fails_the_task_and_closes_its_token() {
    let (runner, _clock, handlers) = runner(approval()).await;
    handlers.script("approve", [Reply::Fail("NonRetryable", "slack is down")]);
    runner
        .start_execution("e1", json!({"request_id": "r1", "approval_timeout": 60}))
        .await
        .unwrap();
    let token = issued_token(&handlers).await;
    let done = finished(&runner, "e1").await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("NonRetryable"));
    assert!(matches!(
        runner.send_task_success(&token, json!({})).await,
        Err(Error::TaskNotWaiting(_))
    ));
}

#[tokio::test]
async fn stop_aborts_a_waiting_execution_and_closes_its_tokens() {
    let (runner, clock, handlers) = runner(approval()).await;
    runner
        .start_execution("e1", json!({"request_id": "r1", "approval_timeout": 60}))
        .await
        .unwrap();
    let token = issued_token(&handlers).await;
    runner
        .stop_execution("e1", "powerpole.Stopped", "revoked early")
        .await
        .unwrap();
    let done = runner.describe("e1").await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Aborted);
    assert_eq!(done.error.as_deref(), Some("powerpole.Stopped"));
    assert_eq!(done.cause.as_deref(), Some("revoked early"));
    assert_eq!(done.current_state, None);
    assert!(matches!(
        runner.send_task_success(&token, json!({})).await,
        Err(Error::TaskNotWaiting(_))
    ));
    clock.set(T0 + Duration::hours(1));
    settle().await;
    let after = runner.describe("e1").await.unwrap();
    assert_eq!(
        after.status,
        ExecutionStatus::Aborted,
        "a stopped execution stays stopped"
    );
    let history = runner.history("e1").await.unwrap();
    assert!(matches!(
        history.last().unwrap().kind,
        EventKind::ExecutionAborted { .. }
    ));
    assert!(matches!(
        runner.stop_execution("e1", "E", "again").await,
        Err(Error::ExecutionNotRunning(_))
    ));
    assert!(matches!(
        runner.stop_execution("nope", "E", "C").await,
        Err(Error::ExecutionDoesNotExist(_))
    ));
}

#[tokio::test]
async fn stop_interrupts_a_running_task() {
    let (runner, _clock, handlers) = runner(machine(
        "Invoke",
        json!({ "Invoke": invoke("slow", json!({"End": true})) }),
    ))
    .await;
    handlers.script("slow", [Reply::Hang]);
    runner.start_execution("e1", json!({})).await.unwrap();
    handlers.wait_calls("slow", 1).await;
    runner.stop_execution("e1", "E", "C").await.unwrap();
    assert_eq!(
        runner.describe("e1").await.unwrap().status,
        ExecutionStatus::Aborted
    );
}

#[tokio::test]
async fn starting_twice_is_idempotent_per_name_and_input() {
    let (runner, clock, handlers) = runner(machine(
        "Hold",
        json!({ "Hold": {"Type": "Wait", "Seconds": 60, "Next": "Invoke"}, "Invoke": invoke("f", json!({"End": true})) }),
    ))
    .await;
    let first = runner
        .start_execution("r1", json!({"request_id": "r1"}))
        .await
        .unwrap();
    assert!(first.created);
    clock.set(T0 + Duration::seconds(5));
    let again = runner
        .start_execution("r1", json!({"request_id": "r1"}))
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.start_time, first.start_time);
    assert_eq!(again.execution_id, first.execution_id);
    assert!(matches!(
        runner
            .start_execution("r1", json!({"request_id": "other"}))
            .await,
        Err(Error::ExecutionAlreadyExists(_))
    ));
    clock.set(T0 + Duration::seconds(60));
    finished(&runner, "r1").await;
    let after = runner
        .start_execution("r1", json!({"request_id": "r1"}))
        .await
        .unwrap();
    assert!(
        !after.created,
        "a finished execution is returned, not run again"
    );
    settle().await;
    assert_eq!(handlers.calls_of("f").len(), 1);
    assert_eq!(runner.list(None).await.unwrap().len(), 1);
    assert!(matches!(
        runner.start_execution("has space", json!({})).await,
        Err(Error::InvalidExecutionName(_))
    ));
    assert!(matches!(
        runner.describe("unknown").await,
        Err(Error::ExecutionDoesNotExist(_))
    ));
    assert!(matches!(
        runner.history("unknown").await,
        Err(Error::ExecutionDoesNotExist(_))
    ));
}

#[tokio::test]
async fn the_context_object_describes_execution_and_state() {
    let (runner, clock, handlers) = runner(machine(
        "Hold",
        json!({
            "Hold": {"Type": "Wait", "Seconds": 5, "Next": "Invoke"},
            "Invoke": invoke("ctx", json!({
                "Parameters": {"FunctionName": "ctx", "Payload": {
                    "id.$": "$$.Execution.Id",
                    "name.$": "$$.Execution.Name",
                    "input.$": "$$.Execution.Input",
                    "started.$": "$$.Execution.StartTime",
                    "entered.$": "$$.State.EnteredTime",
                    "state.$": "$$.State.Name",
                    "retries.$": "$$.State.RetryCount",
                    "machine.$": "$$.StateMachine.Name"
                }},
                "End": true
            }))
        }),
    ))
    .await;
    runner
        .start_execution("r1", json!({"request_id": "r1"}))
        .await
        .unwrap();
    history_until(&runner, "r1", "the wait", |h| !wait_deadlines(h).is_empty()).await;
    clock.set(T0 + Duration::milliseconds(5_250));
    let call = handlers.wait_calls("ctx", 1).await.remove(0);
    assert_eq!(
        call.payload,
        json!({
            "id": "arn:aws:states:local:000000000000:execution:powerpole:r1",
            "name": "r1",
            "input": {"request_id": "r1"},
            "started": "2026-11-23T14:00:00.000Z",
            "entered": "2026-11-23T14:00:05.250Z",
            "state": "Invoke",
            "retries": 0,
            "machine": "powerpole"
        })
    );
}

#[tokio::test]
async fn an_execution_times_out_after_the_machine_timeout() {
    let (runner, clock, _) = runner(json!({
        "StartAt": "Hold",
        "TimeoutSeconds": 100,
        "States": {"Hold": {"Type": "Wait", "Seconds": 1000, "End": true}}
    }))
    .await;
    runner.start_execution("e1", json!({})).await.unwrap();
    history_until(&runner, "e1", "the wait", |h| !wait_deadlines(h).is_empty()).await;
    clock.set(T0 + Duration::seconds(100));
    let done = finished(&runner, "e1").await;
    assert_eq!(done.status, ExecutionStatus::TimedOut);
    assert_eq!(done.error.as_deref(), Some("States.Timeout"));
}

#[tokio::test]
async fn executions_run_concurrently() {
    let (runner, clock, handlers) = runner(machine(
        "Hold",
        json!({
            "Hold": {"Type": "Wait", "SecondsPath": "$.s", "Next": "Invoke"},
            "Invoke": invoke("f", json!({"End": true}))
        }),
    ))
    .await;
    for (name, s) in [("slow", 100), ("fast", 10)] {
        runner.start_execution(name, json!({"s": s})).await.unwrap();
    }
    clock.set(T0 + Duration::seconds(10));
    assert_eq!(
        finished(&runner, "fast").await.status,
        ExecutionStatus::Succeeded
    );
    assert_eq!(
        runner.describe("slow").await.unwrap().status,
        ExecutionStatus::Running
    );
    assert_eq!(
        runner
            .list(Some(ExecutionStatus::Running))
            .await
            .unwrap()
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>(),
        ["slow"]
    );
    clock.set(T0 + Duration::seconds(100));
    assert_eq!(
        finished(&runner, "slow").await.status,
        ExecutionStatus::Succeeded
    );
    assert_eq!(handlers.calls_of("f").len(), 2);
}

#[tokio::test]
async fn history_records_every_transition_in_order() {
    let (runner, _clock, _) = runner(machine(
        "A",
        json!({
            "A": {"Type": "Pass", "Result": 1, "Next": "B"},
            "B": invoke("f", json!({"End": true}))
        }),
    ))
    .await;
    runner.start_execution("e1", json!({"x": 1})).await.unwrap();
    finished(&runner, "e1").await;
    let kinds: Vec<(Option<String>, &'static str)> = runner
        .history("e1")
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            let kind = match e.kind {
                EventKind::ExecutionStarted { .. } => "ExecutionStarted",
                EventKind::StateEntered { .. } => "StateEntered",
                EventKind::StateExited { .. } => "StateExited",
                EventKind::TaskScheduled { .. } => "TaskScheduled",
                EventKind::TaskSucceeded => "TaskSucceeded",
                EventKind::ExecutionSucceeded { .. } => "ExecutionSucceeded",
                other => panic!("unexpected {other:?}"),
            };
            (e.state, kind)
        })
        .collect();
    let a = Some("A".to_owned());
    let b = Some("B".to_owned());
    assert_eq!(
        kinds,
        [
            (None, "ExecutionStarted"),
            (a.clone(), "StateEntered"),
            (a.clone(), "StateExited"),
            (b.clone(), "StateEntered"),
            (b.clone(), "TaskScheduled"),
            (b.clone(), "TaskSucceeded"),
            (b, "StateExited"),
            (None, "ExecutionSucceeded"),
        ]
    );
}

/// `statemachine/powerpole.asl.json` with each function variable naming its function.
fn powerpole_machine() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../statemachine/powerpole.asl.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let text = ["notify", "provision", "teardown"]
        .iter()
        .fold(text, |t, f| t.replace(&format!("${{{f}_function}}"), f));
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn the_real_gate_opened_for_a_decided_request_takes_the_recorded_decision_at_once() {
    let (runner, _clock, handlers) = runner(powerpole_machine()).await;
    handlers.script(
        "notify",
        [
            Reply::Fail("GateClosed", "request r1 is denied: nothing to wait for"),
            Reply::Ok(json!({"decision": "deny"})),
            Reply::Ok(json!({})),
        ],
    );

    runner
        .start_execution(
            "r1",
            json!({"request_id": "r1", "decide_within_seconds": 1800}),
        )
        .await
        .unwrap();
    let done = finished(&runner, "r1").await;

    assert_eq!(done.status, ExecutionStatus::Succeeded);
    let tasks: Vec<String> = handlers
        .calls_of("notify")
        .iter()
        .map(|c| c.payload["task"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tasks, ["open_approval", "expire", "denied"]);
    assert!(
        handlers.calls().iter().all(|c| c.at == T0),
        "nothing waited for the 30-minute gate timeout: {:?}",
        handlers.calls()
    );
}
