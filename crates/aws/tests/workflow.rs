//! The Step Functions workflow against moto, with moto executing the state machines: one
//! execution per request however often it is started, stop and describe of present, finished and
//! missing executions, and a real `.waitForTaskToken` approval gate resumed with its token.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use aws_sdk_sfn::Client;
use aws_sdk_sfn::types::HistoryEventType;
use powerpole_aws::Error;
use powerpole_aws::workflow::StepFunctionsWorkflow;
use powerpole_core::ports::{Decision, ExecutionStatus, Start, Workflow};
use powerpole_core::{RequestId, TaskToken};
use time::OffsetDateTime;

/// A state machine that just waits, long enough to be stopped.
const HOLD: &str = r#"{
  "StartAt": "Hold",
  "States": { "Hold": { "Type": "Wait", "Seconds": 600, "End": true } }
}"#;

/// An approval gate like the real one: a `.waitForTaskToken` task (EventBridge here, which moto
/// can call without Docker), then a `Choice` on the decision the resume sends.
const GATE: &str = r#"{
  "StartAt": "Approval",
  "States": {
    "Approval": {
      "Type": "Task",
      "Resource": "arn:aws:states:::events:putEvents.waitForTaskToken",
      "Parameters": {
        "Entries": [{
          "Source": "powerpole",
          "DetailType": "approval",
          "Detail": { "token.$": "$$.Task.Token", "request_id.$": "$.request_id" }
        }]
      },
      "TimeoutSeconds": 300,
      "Next": "Decided"
    },
    "Decided": {
      "Type": "Choice",
      "Choices": [{ "Variable": "$.decision", "StringEquals": "approve", "Next": "Approved" }],
      "Default": "Denied"
    },
    "Approved": { "Type": "Succeed" },
    "Denied": { "Type": "Fail", "Error": "Denied", "Cause": "the approver said no" }
  }
}"#;

/// How many tests of this binary are using moto's execution mode.
static EXECUTING: Mutex<usize> = Mutex::new(0);

/// moto executes state machines only when told to, server-wide, and keeps the state machines it
/// executes apart from the ones it merely stores. Every test here holds one of these while it
/// runs; the first switches execution on, the last switches it off again, so the other test
/// binaries sharing the server see moto's default.
struct ExecuteMode {
    endpoint: String,
}

impl ExecuteMode {
    fn enter(endpoint: &str) -> Self {
        let mut users = EXECUTING.lock().unwrap_or_else(PoisonError::into_inner);
        if *users == 0 {
            set_execute_mode(endpoint, true).unwrap();
        }
        *users += 1;
        Self {
            endpoint: endpoint.to_owned(),
        }
    }
}

impl Drop for ExecuteMode {
    fn drop(&mut self) {
        let mut users = EXECUTING.lock().unwrap_or_else(PoisonError::into_inner);
        *users -= 1;
        if *users == 0
            && let Err(err) = set_execute_mode(&self.endpoint, false)
        {
            let _ = writeln!(std::io::stderr(), "could not reset moto's config: {err}");
        }
    }
}

/// `POST {endpoint}/moto-api/config`, over a plain blocking socket so that it can run in `Drop`.
fn set_execute_mode(endpoint: &str, on: bool) -> std::io::Result<()> {
    let authority = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let body = format!(r#"{{"stepfunctions":{{"execute_state_machine":{on}}}}}"#);
    let mut stream = TcpStream::connect(authority)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "POST /moto-api/config HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response.split(' ').nth(1).unwrap_or_default();
    if status.starts_with('2') {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "moto answered {:?}",
            response.lines().next()
        )))
    }
}

async fn client(endpoint: &str) -> Client {
    Client::new(&powerpole_aws::config::load(Some(endpoint)).await)
}

/// Creates a uniquely named state machine and returns its ARN.
async fn state_machine(client: &Client, definition: &str) -> String {
    client
        .create_state_machine()
        .name(powerpole_testkit::unique_name("powerpole"))
        .definition(definition)
        .role_arn("arn:aws:iam::123456789012:role/sfn")
        .send()
        .await
        .unwrap()
        .state_machine_arn
}

fn request_id() -> RequestId {
    RequestId::generate(OffsetDateTime::now_utc(), &mut rand::rng())
}

/// Waits until the execution has left `Running` (moto's executing mode applies StopExecution
/// on its worker thread, so DescribeExecution may say `Running` for a moment after it).
async fn settled(workflow: &StepFunctionsWorkflow, id: RequestId) -> ExecutionStatus {
    for _ in 0..100 {
        match workflow.describe(id).await.unwrap() {
            Some(status) if !status.is_running() => return status,
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("execution {id} still running after 10 s");
}

/// Waits until the execution's approval task is scheduled, and returns the token it was given.
async fn task_token(client: &Client, execution_arn: &str) -> TaskToken {
    for _ in 0..100 {
        let history = client
            .get_execution_history()
            .execution_arn(execution_arn)
            .send()
            .await
            .unwrap();
        let scheduled = history
            .events()
            .iter()
            .filter(|e| *e.r#type() == HistoryEventType::TaskScheduled)
            .find_map(|e| e.task_scheduled_event_details());
        if let Some(details) = scheduled {
            let parameters: serde_json::Value = serde_json::from_str(details.parameters()).unwrap();
            let token = parameters["Entries"][0]["Detail"]["token"]
                .as_str()
                .unwrap_or_else(|| panic!("no token in {parameters}"));
            return TaskToken(token.to_owned());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{execution_arn} never scheduled its approval task");
}

#[tokio::test]
async fn ending_early_stops_the_execution_and_starts_the_teardown_run_once() {
    let Some(endpoint) = powerpole_testkit::aws_endpoint() else {
        return;
    };
    let _mode = ExecuteMode::enter(&endpoint);
    let client = client(&endpoint).await;
    let arn = state_machine(&client, HOLD).await;
    let workflow = StepFunctionsWorkflow::new(client.clone(), &arn).unwrap();
    let id = request_id();
    workflow.start(&start_of(id)).await.unwrap();

    workflow.end_early(id).await.unwrap();
    workflow.end_early(id).await.unwrap();

    assert_eq!(settled(&workflow, id).await, ExecutionStatus::Aborted);
    let executions = client
        .list_executions()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    let mut names: Vec<&str> = executions.executions().iter().map(|e| e.name()).collect();
    names.sort_unstable();
    assert_eq!(names, vec![id.to_string(), format!("{id}-end")]);
    let end_arn = workflow
        .execution_arn(id)
        .replace(&id.to_string(), &format!("{id}-end"));
    let described = client
        .describe_execution()
        .execution_arn(end_arn)
        .send()
        .await
        .unwrap();
    let input: serde_json::Value = serde_json::from_str(described.input().unwrap()).unwrap();
    assert_eq!(
        input,
        serde_json::json!({ "request_id": id.to_string(), "mode": "end" })
    );
}

#[tokio::test]
async fn a_request_has_one_execution_however_often_it_is_started_or_stopped() {
    let Some(endpoint) = powerpole_testkit::aws_endpoint() else {
        return;
    };
    let _mode = ExecuteMode::enter(&endpoint);
    let client = client(&endpoint).await;
    let arn = state_machine(&client, HOLD).await;
    let workflow = StepFunctionsWorkflow::new(client.clone(), &arn).unwrap();
    let id = request_id();

    workflow.start(&start_of(id)).await.unwrap();
    workflow.start(&start_of(id)).await.unwrap();

    let executions = client
        .list_executions()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = executions.executions().iter().map(|e| e.name()).collect();
    assert_eq!(names, vec![id.to_string()]);
    assert_eq!(
        executions.executions()[0].execution_arn(),
        workflow.execution_arn(id)
    );
    let described = client
        .describe_execution()
        .execution_arn(workflow.execution_arn(id))
        .send()
        .await
        .unwrap();
    let input: serde_json::Value = serde_json::from_str(described.input().unwrap()).unwrap();
    assert_eq!(
        input,
        serde_json::json!({ "request_id": id.to_string(), "decide_within_seconds": 3600 })
    );
    assert_eq!(
        workflow.describe(id).await.unwrap(),
        Some(ExecutionStatus::Running)
    );

    workflow.stop(id, "access revoked early").await.unwrap();
    assert_eq!(settled(&workflow, id).await, ExecutionStatus::Aborted);
    workflow.stop(id, "again").await.unwrap();

    workflow.start(&start_of(id)).await.unwrap();
    let executions = client
        .list_executions()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        executions.executions().len(),
        1,
        "a start after the end is the same execution"
    );
    assert_eq!(settled(&workflow, id).await, ExecutionStatus::Aborted);
}

#[tokio::test]
async fn a_missing_execution_is_none_and_stopping_it_is_fine() {
    let Some(endpoint) = powerpole_testkit::aws_endpoint() else {
        return;
    };
    let _mode = ExecuteMode::enter(&endpoint);
    let client = client(&endpoint).await;
    let arn = state_machine(&client, HOLD).await;
    let workflow = StepFunctionsWorkflow::new(client, &arn).unwrap();
    let id = request_id();

    assert_eq!(workflow.describe(id).await.unwrap(), None);
    workflow.stop(id, "nothing to stop").await.unwrap();
}

#[tokio::test]
async fn the_approval_gate_resumes_with_the_decision_and_only_once() {
    let Some(endpoint) = powerpole_testkit::aws_endpoint() else {
        return;
    };
    let _mode = ExecuteMode::enter(&endpoint);
    let client = client(&endpoint).await;
    let arn = state_machine(&client, GATE).await;
    let workflow = StepFunctionsWorkflow::new(client.clone(), &arn).unwrap();

    let approved = request_id();
    workflow.start(&start_of(approved)).await.unwrap();
    let token = task_token(&client, &workflow.execution_arn(approved)).await;
    assert_eq!(
        workflow.describe(approved).await.unwrap(),
        Some(ExecutionStatus::Running),
        "the gate waits for its token"
    );
    workflow.resume(&token, Decision::Approve).await.unwrap();
    assert_eq!(
        settled(&workflow, approved).await,
        ExecutionStatus::Succeeded
    );
    let output = client
        .describe_execution()
        .execution_arn(workflow.execution_arn(approved))
        .send()
        .await
        .unwrap()
        .output
        .unwrap();
    let output: serde_json::Value = serde_json::from_str(&output).unwrap();
    assert_eq!(output, serde_json::json!({ "decision": "approve" }));
    workflow.stop(approved, "access ended").await.unwrap();
    assert_eq!(
        workflow.describe(approved).await.unwrap(),
        Some(ExecutionStatus::Succeeded),
        "stopping a finished execution changes nothing"
    );

    let again = workflow
        .resume(&token, Decision::Deny)
        .await
        .expect_err("a used token cannot resume twice");
    assert!(
        matches!(again, powerpole_core::Error::NotFound(_)),
        "{again:?}"
    );
    assert!(!again.is_retryable());

    let denied = request_id();
    workflow.start(&start_of(denied)).await.unwrap();
    let token = task_token(&client, &workflow.execution_arn(denied)).await;
    workflow.resume(&token, Decision::Deny).await.unwrap();
    assert_eq!(settled(&workflow, denied).await, ExecutionStatus::Failed);

    let failed = request_id();
    workflow.start(&start_of(failed)).await.unwrap();
    let token = task_token(&client, &workflow.execution_arn(failed)).await;
    workflow
        .send_failure(&token, "Denied", "denied by U024BE7LH")
        .await
        .unwrap();
    assert_eq!(settled(&workflow, failed).await, ExecutionStatus::Failed);
    let described = client
        .describe_execution()
        .execution_arn(workflow.execution_arn(failed))
        .send()
        .await
        .unwrap();
    assert_eq!(described.error(), Some("Denied"));
}

#[tokio::test]
async fn an_unknown_token_is_not_found() {
    let Some(endpoint) = powerpole_testkit::aws_endpoint() else {
        return;
    };
    let _mode = ExecuteMode::enter(&endpoint);
    let client = client(&endpoint).await;
    let arn = state_machine(&client, GATE).await;
    let workflow = StepFunctionsWorkflow::new(client, &arn).unwrap();
    let bogus = TaskToken("not-a-token-anyone-was-given".to_owned());

    let err = workflow
        .resume(&bogus, Decision::Approve)
        .await
        .unwrap_err();
    assert!(matches!(err, powerpole_core::Error::NotFound(_)), "{err:?}");
    let err = workflow
        .send_failure(&bogus, "Denied", "no such task")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

fn start_of(id: RequestId) -> Start {
    Start {
        request: id,
        decide_within: time::Duration::hours(1),
    }
}
