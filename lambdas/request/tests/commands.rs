//! `POST /slack/commands` as the `request` Lambda serves it: an API Gateway HTTP API event,
//! signed as Slack signs it, through `lambda_http` and the ingress to the HTTP response.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

#[path = "../../shared/tests/support/apigw.rs"]
mod apigw;

use apigw::{CLUSTER, Encoding, SECRET, event, ingress, json_body, slash_command};
use lambda_http::http::{StatusCode, header};
use powerpole_lambda_shared::http::commands;
use powerpole_testkit::fake_slack::{sign, signed_form_headers, unix_now};

const PATH: &str = "/slack/commands";

#[tokio::test]
async fn a_signed_help_command_is_answered_with_json() {
    let (slack, ingress) = ingress().await;
    let body = slash_command("help");
    let request = event(
        "POST",
        PATH,
        &signed_form_headers(SECRET, &body),
        &body,
        Encoding::Text,
    );

    let response = commands(&ingress, request).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    let reply = json_body(&response);
    assert_eq!(reply["response_type"], "ephemeral");
    assert!(reply["text"].as_str().unwrap().contains(CLUSTER), "{reply}");
    assert!(slack.calls().is_empty());
}

#[tokio::test]
async fn the_bare_command_opens_the_modal_and_acknowledges_with_an_empty_200() {
    let (slack, ingress) = ingress().await;
    let body = slash_command("");
    let request = event(
        "POST",
        PATH,
        &signed_form_headers(SECRET, &body),
        &body,
        Encoding::Text,
    );

    let response = commands(&ingress, request).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get(header::CONTENT_TYPE).is_none());
    assert!(response.body().is_empty());
    let opened = slack.calls_to("views.open");
    assert_eq!(opened.len(), 1);
    assert_eq!(
        opened[0].str("trigger_id"),
        Some("13345224609.738474920.8088930838d88f008e0")
    );
}

#[tokio::test]
async fn a_base64_encoded_body_is_verified_on_the_decoded_bytes() {
    let (_slack, ingress) = ingress().await;
    let body = slash_command("help");
    let request = event(
        "POST",
        PATH,
        &signed_form_headers(SECRET, &body),
        &body,
        Encoding::Base64,
    );
    assert_eq!(request.body().as_ref(), body.as_slice());

    let response = commands(&ingress, request).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json_body(&response)["response_type"], "ephemeral");
}

#[tokio::test]
async fn unsigned_or_forged_commands_get_401_and_do_nothing() {
    let (slack, ingress) = ingress().await;
    let body = slash_command("");
    let unsigned = vec![(
        "content-type".to_owned(),
        "application/x-www-form-urlencoded".to_owned(),
    )];
    let now = unix_now();
    let forged = vec![
        ("x-slack-request-timestamp".to_owned(), now.to_string()),
        (
            "x-slack-signature".to_owned(),
            sign("not-the-signing-secret", now, &body),
        ),
    ];
    let other_body = vec![
        ("x-slack-request-timestamp".to_owned(), now.to_string()),
        (
            "x-slack-signature".to_owned(),
            sign(SECRET, now, &slash_command("list")),
        ),
    ];
    for headers in [unsigned, forged, other_body] {
        let request = event("POST", PATH, &headers, &body, Encoding::Text);
        let response = commands(&ingress, request).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{headers:?}");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert!(json_body(&response)["error"].is_string());
    }
    assert!(slack.calls().is_empty());
}

#[tokio::test]
async fn other_methods_are_refused() {
    let (slack, ingress) = ingress().await;
    let request = event("GET", PATH, &[], b"", Encoding::Text);

    let response = commands(&ingress, request).await.unwrap();

    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "POST");
    assert!(slack.calls().is_empty());
}
