//! `POST /slack/interactions` as the `approve` Lambda serves it: an API Gateway HTTP API event,
//! signed as Slack signs it, through `lambda_http` and the ingress to the HTTP response.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

#[path = "../../shared/tests/support/apigw.rs"]
mod apigw;

use apigw::{CLUSTER, Encoding, REQUESTER, SECRET, event, ingress, json_body, submission};
use lambda_http::http::{StatusCode, header};
use powerpole_core::SlackUserId;
use powerpole_core::ports::RequestStore;
use powerpole_lambda_shared::http::interactions;
use powerpole_testkit::fake_slack::signed_form_headers;

const PATH: &str = "/slack/interactions";

#[tokio::test]
async fn a_signed_submission_records_the_request_and_starts_its_workflow() {
    for encoding in [Encoding::Text, Encoding::Base64] {
        let (slack, ingress) = ingress().await;
        let body = submission();
        let request = event(
            "POST",
            PATH,
            &signed_form_headers(SECRET, &body),
            &body,
            encoding,
        );

        let response = interactions(&ingress, request).await.unwrap();

        assert_eq!(response.status(), StatusCode::OK, "{encoding:?}");
        assert!(response.body().is_empty(), "{encoding:?}");
        let requester = SlackUserId::parse(REQUESTER).unwrap();
        let recorded = ingress.store().by_requester(&requester).await.unwrap();
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].spec().cluster.as_str(), CLUSTER);
        assert_eq!(ingress.workflow().started(), vec![recorded[0].id()]);
        assert_eq!(slack.calls_to("users.info").len(), 1);
        let receipt = slack.calls_to("chat.postMessage");
        assert_eq!(receipt.len(), 1);
        assert_eq!(receipt[0].str("channel"), Some(REQUESTER));
    }
}

#[tokio::test]
async fn an_unsigned_submission_gets_401_and_records_nothing() {
    let (slack, ingress) = ingress().await;
    let body = submission();
    let headers = vec![(
        "content-type".to_owned(),
        "application/x-www-form-urlencoded".to_owned(),
    )];
    let request = event("POST", PATH, &headers, &body, Encoding::Base64);

    let response = interactions(&ingress, request).await.unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    assert!(json_body(&response)["error"].is_string());
    let requester = SlackUserId::parse(REQUESTER).unwrap();
    assert!(
        ingress
            .store()
            .by_requester(&requester)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(ingress.workflow().started().is_empty());
    assert!(slack.calls().is_empty());
}

#[tokio::test]
async fn a_signed_but_malformed_interaction_gets_400() {
    let (_slack, ingress) = ingress().await;
    let body = b"payload=%7Bnot-json".to_vec();
    let request = event(
        "POST",
        PATH,
        &signed_form_headers(SECRET, &body),
        &body,
        Encoding::Text,
    );

    let response = interactions(&ingress, request).await.unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(json_body(&response)["error"].is_string());
}

#[tokio::test]
async fn other_methods_are_refused() {
    let (_slack, ingress) = ingress().await;
    let request = event("PUT", PATH, &[], b"", Encoding::Text);

    let response = interactions(&ingress, request).await.unwrap();

    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}
