//! The EMF lines the Lambdas print are valid per the CloudWatch embedded metric format
//! specification, checked by an independent validator written from the specification (not from
//! the renderer): one JSON object per line; `_aws` with an integer millisecond `Timestamp` and
//! `CloudWatchMetrics`; each directive with only `Namespace`, `Dimensions` and `Metrics`; every
//! dimension key a string member of the root; at most 30 keys per dimension set; at most 100
//! metric definitions; each definition's `Name` a number (or array of at most 100 numbers)
//! member of the root, its `Unit` one CloudWatch knows, nothing else in it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use powerpole_core::RequestId;
use powerpole_core::slo::{Metric, Observation, Unit};
use powerpole_lambda_shared::emf::{self, render};
use serde_json::{Map, Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const AT: OffsetDateTime = datetime!(2026-11-23 14:00:00.123 UTC);
const AT_MS: i64 = 1_795_442_400_123;

/// The units CloudWatch accepts (`MetricDatum.Unit`, `StandardUnit`).
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

fn only_members(object: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), String> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(extra) => Err(format!(
            "{what} has a member the spec does not define: {extra}"
        )),
        None => Ok(()),
    }
}

/// Checks one log line against the EMF specification; the error says what is wrong.
fn validate(line: &str) -> Result<Value, String> {
    if line.contains('\n') || line.trim() != line {
        return Err("a log event must be the JSON object alone".into());
    }
    if line.len() > 256 * 1024 {
        return Err("larger than a log event may be".into());
    }
    let root: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let root_obj = root.as_object().ok_or("the root is not an object")?;
    let aws = root_obj
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("no _aws metadata object")?;
    only_members(
        aws,
        &["Timestamp", "CloudWatchMetrics", "LogGroupName"],
        "_aws",
    )?;
    let timestamp = aws.get("Timestamp").ok_or("no _aws.Timestamp")?;
    if !(timestamp.is_i64() || timestamp.is_u64()) {
        return Err("_aws.Timestamp is not an integer number of milliseconds".into());
    }
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .ok_or("no _aws.CloudWatchMetrics array")?;
    if directives.is_empty() {
        return Err("no metric directive".into());
    }
    for directive in directives {
        let directive = directive
            .as_object()
            .ok_or("a metric directive is not an object")?;
        only_members(
            directive,
            &["Namespace", "Dimensions", "Metrics"],
            "a directive",
        )?;
        let namespace = directive
            .get("Namespace")
            .and_then(Value::as_str)
            .ok_or("a directive has no Namespace string")?;
        if namespace.is_empty() || namespace.len() > 255 {
            return Err("Namespace must be 1-255 characters".into());
        }
        let sets = directive
            .get("Dimensions")
            .and_then(Value::as_array)
            .ok_or("a directive has no Dimensions array")?;
        let mut dimension_keys = Vec::new();
        for set in sets {
            let set = set.as_array().ok_or("a dimension set is not an array")?;
            if set.len() > 30 {
                return Err("a dimension set has more than 30 keys".into());
            }
            for key in set {
                let key = key.as_str().ok_or("a dimension key is not a string")?;
                let value = root_obj
                    .get(key)
                    .ok_or_else(|| format!("dimension {key} has no member"))?;
                let value = value
                    .as_str()
                    .ok_or_else(|| format!("dimension {key} is not a string"))?;
                if value.is_empty() || value.len() > 1024 {
                    return Err(format!("dimension {key} must be 1-1024 characters"));
                }
                dimension_keys.push(key);
            }
        }
        let metrics = directive
            .get("Metrics")
            .and_then(Value::as_array)
            .ok_or("a directive has no Metrics array")?;
        if metrics.len() > 100 {
            return Err("more than 100 metric definitions".into());
        }
        for definition in metrics {
            let definition = definition
                .as_object()
                .ok_or("a metric definition is not an object")?;
            only_members(
                definition,
                &["Name", "Unit", "StorageResolution"],
                "a definition",
            )?;
            let name = definition
                .get("Name")
                .and_then(Value::as_str)
                .ok_or("a metric definition has no Name string")?;
            if name.is_empty() || name.len() > 255 {
                return Err("a metric Name must be 1-255 characters".into());
            }
            if dimension_keys.contains(&name) {
                return Err(format!("{name} is both a dimension and a metric"));
            }
            if let Some(unit) = definition.get("Unit") {
                let unit = unit.as_str().ok_or("a Unit is not a string")?;
                if !UNITS.contains(&unit) {
                    return Err(format!("{unit} is not a CloudWatch unit"));
                }
            }
            if let Some(resolution) = definition.get("StorageResolution")
                && resolution != &json!(1)
                && resolution != &json!(60)
            {
                return Err("StorageResolution must be 1 or 60".into());
            }
            match root_obj.get(name) {
                Some(Value::Number(_)) => {}
                Some(Value::Array(values)) => {
                    if values.is_empty() || values.len() > 100 {
                        return Err(format!("{name} must hold 1-100 values"));
                    }
                    if !values.iter().all(Value::is_number) {
                        return Err(format!("{name} holds something other than numbers"));
                    }
                }
                Some(_) => return Err(format!("metric {name} is not a number")),
                None => return Err(format!("metric {name} has no member")),
            }
        }
    }
    Ok(root)
}

fn id() -> RequestId {
    RequestId::parse("01KAQ6ZB9X4T0V8P2M3N5R7S9W").unwrap()
}

/// One observation of every metric, as the Lambdas and the sweeper make them.
fn every_metric() -> Vec<Observation> {
    let mut all = Vec::new();
    let mut r = request_history();
    all.append(&mut r);
    all.push(Observation::orphans_found(2));
    all.push(Observation::oldest_bastion_age(Duration::hours(3)));
    all.push(Observation::oldest_user_age(Duration::seconds(90)));
    all.push(Observation::users_without_backstop(1));
    all
}

/// Every observation a request history can yield, from the core's derivation.
fn request_history() -> Vec<Observation> {
    use powerpole_core::lifecycle::{AccessSpec, Actor, Component, Reason, Transition};
    use powerpole_core::{
        AccessRequest, AccessWindow, ClusterId, DbUsername, Email, Permission, Region, SlackUserId,
        WindowPolicy,
    };
    let t0 = datetime!(2026-11-23 13:00 UTC);
    let spec = AccessSpec {
        cluster: ClusterId::parse("orders-prod").unwrap(),
        region: Region::parse("ap-northeast-1").unwrap(),
        permission: Permission::Read,
        window: AccessWindow::request(t0, Duration::hours(1), t0, &WindowPolicy::default())
            .unwrap(),
        reason: Reason::parse("INC-77").unwrap(),
    };
    let email = Email::parse("keisuke.owato@example.com").unwrap();
    let workflow = Actor::System(Component::Workflow);
    let mut built = AccessRequest::submit(
        id(),
        SlackUserId::parse("U0REQUEST1").unwrap(),
        DbUsername::from_email(&email).unwrap(),
        spec.clone(),
        t0,
    );
    let approver = Actor::User(SlackUserId::parse("U0APPROVE1").unwrap());
    built
        .apply(
            Transition::Approve,
            approver,
            t0 + Duration::seconds(75),
            "",
        )
        .unwrap();
    built
        .apply(
            Transition::StartProvisioning,
            workflow.clone(),
            t0 + Duration::seconds(76),
            "",
        )
        .unwrap();
    let mut failed = built.clone();
    built
        .apply(
            Transition::Activate,
            workflow.clone(),
            t0 + Duration::seconds(110),
            "",
        )
        .unwrap();
    built
        .record_cleanup(workflow.clone(), t0 + Duration::hours(1), "")
        .unwrap();
    failed
        .apply(Transition::Fail, workflow, t0 + Duration::seconds(300), "")
        .unwrap();
    let mut all = powerpole_core::slo::observations(&built);
    all.extend(powerpole_core::slo::observations(&failed));
    all
}

#[test]
fn every_metric_renders_as_one_valid_line_with_its_unit_and_value() {
    let observations = every_metric();
    let lines = render(&observations, AT);
    assert_eq!(lines.len(), 1);
    let doc = validate(&lines[0]).unwrap();
    assert_eq!(doc["_aws"]["Timestamp"], json!(AT_MS));
    let directive = &doc["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "Powerpole");
    assert_eq!(directive["Dimensions"], json!([["Service"]]));
    assert_eq!(doc["Service"], "powerpole");
    let defined: Vec<(String, String)> = directive["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["Name"].as_str().unwrap().to_owned(),
                d["Unit"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = Metric::ALL
        .iter()
        .map(|m| (m.name().to_owned(), m.unit().as_str().to_owned()))
        .collect();
    assert_eq!(defined, expected, "every metric, once, with its unit");
    assert_eq!(doc["BuildSucceeded"], json!(1.0));
    assert_eq!(doc["BuildFailed"], json!(1.0));
    assert_eq!(
        doc["TimeToReady"],
        json!(35.0),
        "approval at 75 s, ready at 110 s"
    );
    assert_eq!(
        doc["TimeToApprove"],
        json!([75.0, 75.0]),
        "two observations of one metric are one array"
    );
    assert_eq!(doc["TeardownSucceeded"], json!(1.0));
    assert_eq!(doc["TeardownFailed"], json!(1.0));
    assert_eq!(doc["OrphansFound"], json!(2.0));
    assert_eq!(doc["OldestBastionAge"], json!(10800.0));
    assert_eq!(doc["OldestUserAge"], json!(90.0));
    assert_eq!(doc["UsersWithoutBackstop"], json!(1.0));
    assert_eq!(
        doc.get("request_id"),
        None,
        "observations of several subjects name none"
    );
}

#[test]
fn a_single_requests_line_carries_its_id_and_nothing_secret() {
    let observations: Vec<Observation> = request_history()
        .into_iter()
        .filter(|o| o.metric() == Metric::TimeToReady || o.metric() == Metric::BuildSucceeded)
        .collect();
    let lines = render(&observations, AT);
    let doc = validate(&lines[0]).unwrap();
    assert_eq!(doc["request_id"], id().to_string());
    let mut members: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    members.sort_unstable();
    assert_eq!(
        members,
        [
            "BuildSucceeded",
            "Service",
            "TimeToReady",
            "_aws",
            "request_id"
        ]
    );
}

#[test]
fn the_sweepers_three_figures_render_without_a_request() {
    let lines = render(
        &[
            Observation::orphans_found(0),
            Observation::oldest_bastion_age(Duration::ZERO),
            Observation::oldest_user_age(Duration::minutes(5)),
        ],
        AT,
    );
    let doc = validate(&lines[0]).unwrap();
    assert_eq!(
        (
            &doc["OrphansFound"],
            &doc["OldestBastionAge"],
            &doc["OldestUserAge"]
        ),
        (&json!(0.0), &json!(0.0), &json!(300.0))
    );
    assert_eq!(doc.get("request_id"), None);
}

#[test]
fn more_than_a_hundred_values_of_a_metric_spill_onto_further_valid_lines() {
    let many: Vec<Observation> = (0..250)
        .map(|i| Observation::oldest_user_age(Duration::seconds(i)))
        .chain([Observation::orphans_found(1)])
        .collect();
    let lines = render(&many, AT);
    assert_eq!(lines.len(), 3);
    let docs: Vec<Value> = lines.iter().map(|l| validate(l).unwrap()).collect();
    let counts: Vec<usize> = docs
        .iter()
        .map(|d| d["OldestUserAge"].as_array().unwrap().len())
        .collect();
    assert_eq!(counts, [100, 100, 50]);
    assert_eq!(docs[0]["OrphansFound"], json!(1.0));
    assert_eq!(
        docs[1].get("OrphansFound"),
        None,
        "each value is reported once"
    );
    assert!(
        docs[1]["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["Name"] == "OldestUserAge")
    );
}

#[test]
fn nothing_observed_prints_nothing() {
    assert!(render(&[], AT).is_empty());
    emf::emit(&[]);
}

#[test]
fn units_are_cloudwatch_units() {
    for unit in [Unit::Count, Unit::Seconds] {
        assert!(UNITS.contains(&unit.as_str()));
    }
}

#[test]
fn the_validator_refuses_what_the_spec_forbids() {
    let good = render(&[Observation::orphans_found(1)], AT).remove(0);
    assert!(validate(&good).is_ok());
    let base: Value = serde_json::from_str(&good).unwrap();
    let broken = |change: &dyn Fn(&mut Value)| {
        let mut doc = base.clone();
        change(&mut doc);
        validate(&doc.to_string())
    };
    let refusals = [
        broken(&|d| {
            d.as_object_mut().unwrap().remove("Service");
        }),
        broken(&|d| d["Service"] = json!(1)),
        broken(&|d| d["OrphansFound"] = json!("1")),
        broken(&|d| {
            d.as_object_mut().unwrap().remove("OrphansFound");
        }),
        broken(&|d| d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("Secs")),
        broken(&|d| d["_aws"]["Timestamp"] = json!("2026-11-23T14:00:00Z")),
        broken(&|d| d["_aws"]["Timestamp"] = json!(1.5)),
        broken(&|d| {
            d["_aws"]
                .as_object_mut()
                .unwrap()
                .remove("CloudWatchMetrics");
        }),
        broken(&|d| d["_aws"]["CloudWatchMetrics"][0]["Extra"] = json!(true)),
        broken(&|d| d["_aws"]["CloudWatchMetrics"][0]["Namespace"] = json!("")),
        broken(&|d| {
            let keys: Vec<String> = (0..31).map(|i| format!("D{i}")).collect();
            for key in &keys {
                d[key.as_str()] = json!("x");
            }
            d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([keys]);
        }),
        broken(&|d| {
            let defs: Vec<Value> = (0..101)
                .map(|i| {
                    d[format!("M{i}").as_str()] = json!(1);
                    json!({ "Name": format!("M{i}"), "Unit": "Count" })
                })
                .collect();
            d["_aws"]["CloudWatchMetrics"][0]["Metrics"] = json!(defs);
        }),
        broken(&|d| d["OrphansFound"] = json!(vec![1; 101])),
    ];
    for (i, refusal) in refusals.iter().enumerate() {
        assert!(refusal.is_err(), "case {i} was accepted");
    }
    assert!(validate(&format!("{good}\n{good}")).is_err());
    assert!(validate(&format!("START {good}")).is_err());
}
