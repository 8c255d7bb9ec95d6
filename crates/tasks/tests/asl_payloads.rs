//! Every `Task` state of `statemachine/powerpole.asl.json` sends a payload its task function
//! understands: each `Parameters.Payload`, with its paths filled in as Step Functions fills them
//! (a request id, a task token, a caught error), parses as a [`Task`] of the function its
//! `FunctionName` names, and together the states use every task there is.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use powerpole_tasks::{Function, Task};
use serde_json::{Map, Value, json};

fn definition() -> Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../statemachine/powerpole.asl.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// What Step Functions puts where the payload has a path (`"request_id.$": "$.request_id"`).
fn filled(payload: &Map<String, Value>) -> Value {
    let sample = |key: &str| match key {
        "request_id" => json!("01KAW3J5ZQ8X7V2M4N6P8R0T2W"),
        "token" => json!("AQCEAAAAKgAAAAMAAAAAAAAAAbTQ"),
        "error" => json!({"Error": "Retryable", "Cause": "{\"errorMessage\":\"boom\"}"}),
        other => panic!("no sample for the payload path {other:?}"),
    };
    Value::Object(
        payload
            .iter()
            .map(|(key, value)| match key.strip_suffix(".$") {
                Some(key) => (key.to_owned(), sample(key)),
                None => (key.clone(), value.clone()),
            })
            .collect(),
    )
}

fn function_of(name: &str) -> Function {
    let name = name
        .strip_prefix("${")
        .and_then(|n| n.strip_suffix("_function}"))
        .unwrap_or_else(|| panic!("FunctionName {name:?} is not a task function variable"));
    Function::parse(name).unwrap()
}

#[test]
fn every_task_state_sends_a_payload_its_function_parses() {
    let definition = definition();
    let states = definition["States"].as_object().unwrap();
    let mut seen = BTreeSet::new();

    for (name, state) in states {
        if state["Type"] != "Task" {
            continue;
        }
        let parameters = &state["Parameters"];
        let function = function_of(parameters["FunctionName"].as_str().unwrap());
        let payload = filled(parameters["Payload"].as_object().unwrap());

        let task = Task::parse(function, payload.clone())
            .unwrap_or_else(|e| panic!("state {name}: {payload} does not parse: {e}"));

        assert_eq!(task.function(), Some(function), "state {name}");
        seen.insert(payload["task"].as_str().unwrap().to_owned());
    }

    assert_eq!(seen.len(), 12, "every task is used by some state: {seen:?}");
}
