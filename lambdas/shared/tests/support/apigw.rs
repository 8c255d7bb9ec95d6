//! What the `request` and `approve` endpoint tests share: a [`SlackIngress`] over the in-memory
//! store, a recording workflow and the fake Slack Web API, and API Gateway HTTP API (payload
//! v2) events shaped like aws_lambda_events' `example-apigw-v2-request-*.json` fixtures,
//! turned into requests by `lambda_http` exactly as the runtime does.

#![allow(dead_code, reason = "each test binary uses part of the support")]

use lambda_http::{Body, Request};
use powerpole_core::{ClusterId, ClusterPolicy, MemoryStore, Region, SystemClock};
use powerpole_slack::{
    ApproverPolicy, Approvers, RetryPolicy, SignatureVerifier, SlackChat, SlackIngress, SlackWebApi,
};
use powerpole_testkit::fake_slack::FakeSlack;
use powerpole_testkit::slack_payloads::{RequestInput, interaction_form, request_submission};
pub use powerpole_testkit::workflow::RecordingWorkflow;
use serde_json::{Value, json};

pub const SECRET: &str = "lambda-endpoint-signing-secret-0123";
pub const APPROVERS: &str = "C0APPROVE1";
pub const REQUESTER: &str = "U0REQUEST1";
pub const CLUSTER: &str = "orders-prod";

pub type Ingress = SlackIngress<MemoryStore, RecordingWorkflow, SystemClock>;

/// The endpoints wired as the lambdas wire them, over test ports.
pub async fn ingress() -> (FakeSlack, Ingress) {
    let slack = FakeSlack::start().await.unwrap();
    slack.set_user_email(REQUESTER, "keisuke.owato@example.com");
    let web = SlackWebApi::new(
        "xoxb-lambda-test".to_owned().into(),
        &slack.api_url(),
        RetryPolicy::default(),
    )
    .unwrap();
    let cluster = ClusterPolicy::new(
        ClusterId::parse(CLUSTER).unwrap(),
        Region::parse("ap-northeast-1").unwrap(),
    );
    let ingress = SlackIngress::new(
        SignatureVerifier::new(SECRET).unwrap(),
        web.clone(),
        SlackChat::new(web, APPROVERS),
        ApproverPolicy {
            channel: APPROVERS.into(),
            who: Approvers::AnyChannelMember,
        },
        vec![cluster],
        MemoryStore::new(),
        RecordingWorkflow::default(),
        SystemClock,
    );
    (slack, ingress)
}

/// How the event carries the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Text,
    Base64,
}

/// An HTTP API (v2) event for `method path` with `headers` and `body`, as a `lambda_http`
/// request: the event API Gateway sends for a Slack POST (`tests/fixtures/apigw-v2-slack-post.json`)
/// with this request's method, path, headers and body filled in.
pub fn event(
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
    encoding: Encoding,
) -> Request {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/tests/fixtures/apigw-v2-slack-post.json"
    );
    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    let route = format!("{method} {path}");
    event["routeKey"] = json!(route);
    event["rawPath"] = json!(path);
    event["requestContext"]["routeKey"] = json!(route);
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(path);
    event["headers"]["content-length"] = json!(body.len().to_string());
    for (name, value) in headers {
        event["headers"][name.to_ascii_lowercase()] = json!(value);
    }
    event["body"] = match encoding {
        Encoding::Text => json!(std::str::from_utf8(body).unwrap()),
        Encoding::Base64 => serde_json::to_value(Body::Binary(body.to_vec())).unwrap(),
    };
    event["isBase64Encoded"] = json!(encoding == Encoding::Base64);
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

pub fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
        .into_bytes()
}

/// The form Slack posts for `/powerpole <text>`.
pub fn slash_command(text: &str) -> Vec<u8> {
    form(&[
        ("token", "deprecated-verification-token"),
        ("team_id", "T0FAKE0001"),
        ("team_domain", "example"),
        ("channel_id", "C0GENERAL1"),
        ("channel_name", "general"),
        ("user_id", REQUESTER),
        ("user_name", "keisuke.owato"),
        ("command", "/powerpole"),
        ("text", text),
        ("api_app_id", "A0FAKEAPP1"),
        (
            "response_url",
            "https://hooks.slack.com/commands/T0FAKE0001/1/abc",
        ),
        ("trigger_id", "13345224609.738474920.8088930838d88f008e0"),
    ])
}

/// The form Slack posts when the requester submits the request modal: READ on the cluster,
/// now, for 60 minutes.
pub fn submission() -> Vec<u8> {
    interaction_form(&request_submission(
        REQUESTER,
        &RequestInput {
            cluster: CLUSTER,
            region: "ap-northeast-1",
            permission: "READ",
            duration_minutes: "60",
            reason: "INC-77 check the orders table",
        },
    ))
}

/// The response's body as JSON.
pub fn json_body(response: &lambda_http::Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).unwrap()
}
