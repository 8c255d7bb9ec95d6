//! The variables of a well-configured deployment, and helpers to change them, for the tests of
//! every configuration module.

use super::{
    APPROVERS_CHANNEL, BASTION_LAUNCH_TEMPLATE, CLUSTERS, ConfigError, SLACK_SECRET_ARN,
    STATE_MACHINE_ARN, TABLE,
};

pub const SLACK_ARN: &str =
    "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:powerpole/slack-AbCdEf";
pub const ADMIN_ARN: &str =
    "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:rds!cluster-1234-AbCdEf";

pub fn clusters_json() -> String {
    serde_json::json!([
        {
            "id": "orders",
            "region": "ap-northeast-1",
            "endpoint": "orders.cluster-abc.ap-northeast-1.rds.amazonaws.com",
            "admin_secret_arn": ADMIN_ARN,
        },
        {
            "id": "billing",
            "region": "ap-northeast-1",
            "endpoint": "billing.cluster-abc.ap-northeast-1.rds.amazonaws.com",
            "max_duration_minutes": 60,
            "levels": ["read", "DML"],
            "admin_secret_arn": ADMIN_ARN,
        }
    ])
    .to_string()
}

pub fn good() -> Vec<(&'static str, String)> {
    vec![
        (TABLE, "powerpole-requests".into()),
        (
            STATE_MACHINE_ARN,
            "arn:aws:states:ap-northeast-1:123456789012:stateMachine:powerpole".into(),
        ),
        (SLACK_SECRET_ARN, SLACK_ARN.into()),
        (APPROVERS_CHANNEL, "C0APPROVE1".into()),
        (CLUSTERS, clusters_json()),
        (BASTION_LAUNCH_TEMPLATE, "lt-0123456789abcdef0".into()),
    ]
}

pub fn with(changes: &[(&'static str, Option<&str>)]) -> Vec<(&'static str, String)> {
    let mut vars = good();
    for (name, value) in changes {
        vars.retain(|(k, _)| k != name);
        if let Some(value) = value {
            vars.push((name, (*value).to_owned()));
        }
    }
    vars
}

pub fn only_var(error: &ConfigError) -> &'static str {
    let vars = error.vars();
    assert_eq!(vars.len(), 1, "{error}");
    vars[0]
}
