//! The `approve` Lambda's SLO metric: an Approve click that decides a request hands
//! `TimeToApprove` (submission → decision) to the ingress's observer, which the Lambda wires to
//! the EMF printer; a click on a request already decided observes nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

#[path = "../../shared/tests/support/apigw.rs"]
mod apigw;

use std::sync::Mutex;

use apigw::{APPROVERS, Encoding, REQUESTER, SECRET, event, ingress, submission};
use lambda_http::http::StatusCode;
use powerpole_core::ports::{RequestStore, TaskToken};
use powerpole_core::slo::{Metric, Observation};
use powerpole_core::{Broker, Ports, SystemClock};
use powerpole_core::{RequestState, SlackUserId};
use powerpole_lambda_shared::http::interactions;
use powerpole_slack::views::APPROVE_ACTION;
use powerpole_slack::{RetryPolicy, SlackChat, SlackWebApi};
use powerpole_testkit::fake_slack::signed_form_headers;
use powerpole_testkit::slack_payloads::{button_click, interaction_form};

const PATH: &str = "/slack/interactions";
const APPROVER: &str = "U0APPROVE1";

static SEEN: Mutex<Vec<Observation>> = Mutex::new(Vec::new());

fn record(observations: &[Observation]) {
    SEEN.lock().unwrap().extend_from_slice(observations);
}

#[tokio::test]
async fn a_decision_reports_its_time_to_approve_once() {
    let (slack, ingress) = ingress().await;
    let ingress = ingress.observed_by(record);
    slack.set_channel_members(APPROVERS, &[APPROVER]);
    let post = |body: Vec<u8>| {
        let request = event(
            "POST",
            PATH,
            &signed_form_headers(SECRET, &body),
            &body,
            Encoding::Text,
        );
        interactions(&ingress, request)
    };
    let response = post(submission()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let requester = SlackUserId::parse(REQUESTER).unwrap();
    let id = ingress.store().by_requester(&requester).await.unwrap()[0].id();
    let web = SlackWebApi::new(
        "xoxb-lambda-test".to_owned().into(),
        &slack.api_url(),
        RetryPolicy::default(),
    )
    .unwrap();
    Broker::new(
        Ports::new(
            ingress.store(),
            &SlackChat::new(web, APPROVERS),
            SystemClock,
        ),
        Vec::new(),
    )
    .open_approval(id, TaskToken("gate-token".into()))
    .await
    .unwrap();
    let card = slack.calls_to("chat.postMessage").pop().unwrap();
    let ts = card.response["ts"].as_str().unwrap().to_owned();
    assert!(SEEN.lock().unwrap().is_empty(), "submitting is no figure");

    let click = || {
        interaction_form(&button_click(
            APPROVER,
            APPROVERS,
            &ts,
            APPROVE_ACTION,
            &id.to_string(),
        ))
    };
    post(click()).await.unwrap();
    let decided = ingress.store().get(id).await.unwrap().unwrap();
    assert_eq!(decided.state(), RequestState::Approved);
    let seen = SEEN.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].metric(), Metric::TimeToApprove);
    assert_eq!(seen[0].request(), Some(id));
    let expected = decided.decision().unwrap().at - decided.submitted_at();
    assert!(
        (seen[0].value() - expected.as_seconds_f64()).abs() < 0.001,
        "{} s observed, {expected} between submission and decision",
        seen[0].value()
    );

    post(click()).await.unwrap();
    assert_eq!(
        SEEN.lock().unwrap().len(),
        1,
        "a second click decides nothing"
    );
}
