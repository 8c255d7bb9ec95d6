//! Loading definitions through the public API: what the runner does not implement is refused
//! naming the state and the field, and `${name}` substitution wants every placeholder and no
//! other variable.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use std::collections::BTreeMap;

use powerpole_asl::{Definition, Error};
use serde_json::json;

#[test]
fn definitions_with_unsupported_features_are_refused_naming_state_and_field() {
    let cases = [
        (
            json!({"StartAt": "Fan", "States": {"Fan": {"Type": "Parallel", "Branches": [], "End": true}}}),
            "state \"Fan\", field Type",
        ),
        (
            json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "ItemsPath": "$.x", "End": true}}}),
            "state \"Each\", field Type",
        ),
        (
            json!({"StartAt": "Gate", "States": {"Gate": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "f", "Payload": {"t.$": "$$.Task.Token"}},
                "HeartbeatSeconds": 60,
                "End": true
            }}}),
            "state \"Gate\", field HeartbeatSeconds",
        ),
        (
            json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "ItemsPath": "$.x", "End": true}}}),
            "state \"P\", field ItemsPath",
        ),
    ];
    for (definition, expected) in cases {
        let err = Definition::from_json(&definition.to_string()).unwrap_err();
        assert!(matches!(err, Error::Definition { .. }), "{err}");
        assert!(err.to_string().contains(expected), "{err}");
    }
}

#[test]
fn load_requires_every_placeholder_and_no_other() {
    let text = r#"{"StartAt": "Invoke", "States": {"Invoke": {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "${provision_function_arn}", "Payload.$": "$"},
        "End": true}}}"#;
    let vars = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    assert!(Definition::load(text, &vars(&[("provision_function_arn", "provision")])).is_ok());
    assert!(matches!(
        Definition::load(text, &vars(&[])),
        Err(Error::Substitution { name, .. }) if name == "provision_function_arn"
    ));
    assert!(matches!(
        Definition::load(
            text,
            &vars(&[("provision_function_arn", "provision"), ("typo", "x")])
        ),
        Err(Error::Substitution { name, .. }) if name == "typo"
    ));
}
