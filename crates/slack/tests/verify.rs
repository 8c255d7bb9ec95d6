//! Ingress verification against requests signed with a real HMAC-SHA256 signer independent of
//! the adapter's (testkit's `sign`, on the `hmac` 0.12 / `sha2` 0.10 crates): only a correctly
//! signed, fresh, reasonably sized request is accepted, and only then is its payload parsed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use http::{HeaderMap, HeaderValue};
use powerpole_slack::verify::DEFAULT_MAX_BODY_BYTES;
use powerpole_slack::{Error, Interaction, Rejection, SignatureVerifier, SlashCommand, retry_num};
use powerpole_testkit::fake_slack::{sign, signed_form_headers, unix_now};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const OTHER_SECRET: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
const SLASH_COMMAND: &str = include_str!("fixtures/slash_command.form");
const BLOCK_ACTIONS: &str = include_str!("fixtures/block_actions_approve.json");

fn verifier() -> SignatureVerifier {
    SignatureVerifier::new(SECRET).unwrap()
}

/// Headers of a request signed at `timestamp` with `secret`.
fn headers(secret: &str, timestamp: i64, body: &[u8]) -> Vec<(String, String)> {
    vec![
        (
            "Content-Type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        ),
        (
            "X-Slack-Request-Timestamp".to_owned(),
            timestamp.to_string(),
        ),
        (
            "X-Slack-Signature".to_owned(),
            sign(secret, timestamp, body),
        ),
    ]
}

fn without(mut headers: Vec<(String, String)>, name: &str) -> Vec<(String, String)> {
    headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    headers
}

fn with(mut headers: Vec<(String, String)>, name: &str, value: &str) -> Vec<(String, String)> {
    headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    headers.push((name.to_owned(), value.to_owned()));
    headers
}

fn interaction_form(json: &str) -> Vec<u8> {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", json)
        .finish()
        .into_bytes()
}

/// What an ingress endpoint does: verify, then parse.
fn ingress_command(headers: &[(String, String)], body: &[u8]) -> Result<SlashCommand, Error> {
    verifier().verify(headers, body)?;
    SlashCommand::from_form(body)
}

fn ingress_interaction(headers: &[(String, String)], body: &[u8]) -> Result<Interaction, Error> {
    verifier().verify(headers, body)?;
    Interaction::from_form(body)
}

fn rejection(result: Result<impl std::fmt::Debug, Error>) -> Rejection {
    match result {
        Err(Error::Rejected(rejection)) => rejection,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn a_correctly_signed_fresh_request_is_accepted_and_parsed() {
    let body = SLASH_COMMAND.as_bytes();
    let command = ingress_command(&headers(SECRET, unix_now(), body), body).unwrap();
    assert_eq!(command.command, "/powerpole");
    assert_eq!(command.user.as_str(), "U024BE7LH");

    let body = interaction_form(BLOCK_ACTIONS);
    let Interaction::BlockAction(action) =
        ingress_interaction(&signed_form_headers(SECRET, &body), &body).unwrap()
    else {
        panic!("expected a block action");
    };
    assert_eq!(action.action_id, "approve");
}

#[test]
fn a_request_signed_with_another_secret_is_refused() {
    let body = SLASH_COMMAND.as_bytes();
    let headers = headers(OTHER_SECRET, unix_now(), body);
    assert_eq!(
        rejection(ingress_command(&headers, body)),
        Rejection::BadSignature
    );
}

#[test]
fn a_stale_request_is_refused_even_when_correctly_signed() {
    let body = SLASH_COMMAND.as_bytes();
    for age in [301, 600, 86_400] {
        let headers = headers(SECRET, unix_now() - age, body);
        match rejection(ingress_command(&headers, body)) {
            Rejection::StaleTimestamp { age_secs } => assert!(age_secs >= age, "{age_secs}"),
            other => panic!("expected stale, got {other:?}"),
        }
    }
}

#[test]
fn a_request_from_the_future_is_refused() {
    let body = SLASH_COMMAND.as_bytes();
    let headers = headers(SECRET, unix_now() + 600, body);
    match rejection(ingress_command(&headers, body)) {
        Rejection::FutureTimestamp { ahead_secs } => assert!(ahead_secs >= 599, "{ahead_secs}"),
        other => panic!("expected future, got {other:?}"),
    }
}

#[test]
fn small_clock_skew_is_tolerated() {
    let body = SLASH_COMMAND.as_bytes();
    for skew in [-240, -5, 5, 240] {
        let headers = headers(SECRET, unix_now() + skew, body);
        assert!(ingress_command(&headers, body).is_ok(), "skew {skew}");
    }
}

#[test]
fn a_body_tampered_after_signing_is_refused() {
    let body = SLASH_COMMAND.as_bytes();
    let headers = headers(SECRET, unix_now(), body);
    let tampered = SLASH_COMMAND.replace("user_id=U024BE7LH", "user_id=U0APPROVER");
    assert_eq!(
        rejection(ingress_command(&headers, tampered.as_bytes())),
        Rejection::BadSignature
    );
    let appended = format!("{SLASH_COMMAND}&text=list");
    assert_eq!(
        rejection(ingress_command(&headers, appended.as_bytes())),
        Rejection::BadSignature
    );
}

#[test]
fn a_replayed_signature_with_a_fresh_timestamp_is_refused() {
    let body = SLASH_COMMAND.as_bytes();
    let old = headers(SECRET, unix_now() - 3_600, body);
    let replayed = with(old, "X-Slack-Request-Timestamp", &unix_now().to_string());
    assert_eq!(
        rejection(ingress_command(&replayed, body)),
        Rejection::BadSignature
    );
}

#[test]
fn missing_headers_are_refused() {
    let body = SLASH_COMMAND.as_bytes();
    let signed = headers(SECRET, unix_now(), body);
    assert_eq!(
        rejection(ingress_command(
            &without(signed.clone(), "x-slack-signature"),
            body
        )),
        Rejection::MissingSignature
    );
    assert_eq!(
        rejection(ingress_command(
            &without(signed, "x-slack-request-timestamp"),
            body
        )),
        Rejection::MissingTimestamp
    );
    assert_eq!(
        rejection(ingress_command(&[], body)),
        Rejection::MissingSignature
    );
}

#[test]
fn malformed_signatures_and_timestamps_are_refused() {
    let body = SLASH_COMMAND.as_bytes();
    let now = unix_now();
    let signed = headers(SECRET, now, body);
    let good = sign(SECRET, now, body);
    let hex = good.trim_start_matches("v0=");
    for bad in [
        format!("v1={hex}"),
        hex.to_owned(),
        format!("v0={}", &hex[..63]),
        format!("v0={hex}00"),
        format!("v0={}", "z".repeat(64)),
        String::new(),
    ] {
        assert_eq!(
            rejection(ingress_command(
                &with(signed.clone(), "X-Slack-Signature", &bad),
                body
            )),
            Rejection::MalformedSignature,
            "{bad:?}"
        );
    }
    for bad in ["", "soon", "-1", "1.5e9", "17000000000000"] {
        assert_eq!(
            rejection(ingress_command(
                &with(signed.clone(), "X-Slack-Request-Timestamp", bad),
                body
            )),
            Rejection::MalformedTimestamp,
            "{bad:?}"
        );
    }
}

#[test]
fn an_oversized_body_is_refused_before_hashing_even_when_signed() {
    let mut body = SLASH_COMMAND.as_bytes().to_vec();
    body.extend(std::iter::repeat_n(
        b'a',
        DEFAULT_MAX_BODY_BYTES + 1 - body.len(),
    ));
    let headers = headers(SECRET, unix_now(), &body);
    let rejected = rejection(ingress_command(&headers, &body));
    assert_eq!(
        rejected,
        Rejection::BodyTooLarge {
            len: DEFAULT_MAX_BODY_BYTES + 1,
            max: DEFAULT_MAX_BODY_BYTES
        }
    );
    assert_eq!(rejected.http_status(), 413);

    body.pop();
    let headers = self::headers(SECRET, unix_now(), &body);
    assert!(verifier().verify(&headers, &body).is_ok());
    let small = verifier().with_max_body_bytes(1024);
    assert!(matches!(
        small.verify(&headers, &body),
        Err(Rejection::BodyTooLarge { max: 1024, .. })
    ));
}

#[test]
fn a_signed_body_that_is_not_utf8_is_refused() {
    let body = b"payload=\xff\xfe";
    let headers = headers(SECRET, unix_now(), body);
    assert_eq!(
        rejection(ingress_command(&headers, body)),
        Rejection::BodyNotUtf8
    );
}

#[test]
fn correctly_signed_garbage_passes_the_check_but_not_the_parser() {
    for json in ["not json", "{}", r#"{"type":"block_actions","user":{}}"#] {
        let body = interaction_form(json);
        let headers = headers(SECRET, unix_now(), &body);
        assert!(verifier().verify(&headers, &body).is_ok());
        assert!(
            matches!(
                ingress_interaction(&headers, &body),
                Err(Error::InvalidJson(_))
            ),
            "{json}"
        );
    }
}

#[test]
fn http_header_maps_work_and_retries_are_counted() {
    let body = SLASH_COMMAND.as_bytes();
    let now = unix_now();
    let mut map = HeaderMap::new();
    map.insert(
        "x-slack-request-timestamp",
        HeaderValue::from_str(&now.to_string()).unwrap(),
    );
    map.insert(
        "x-slack-signature",
        HeaderValue::from_str(&sign(SECRET, now, body)).unwrap(),
    );
    assert!(verifier().verify(&map, body).is_ok());
    assert_eq!(retry_num(&map), None);

    map.insert("x-slack-retry-num", HeaderValue::from_static("1"));
    map.insert(
        "x-slack-retry-reason",
        HeaderValue::from_static("http_timeout"),
    );
    assert!(verifier().verify(&map, body).is_ok());
    assert_eq!(retry_num(&map), Some(1));
}

#[test]
fn rejections_never_echo_the_secret_or_the_signature() {
    let body = SLASH_COMMAND.as_bytes();
    let headers = headers(OTHER_SECRET, unix_now(), body);
    let signature = headers[2].1.clone();
    let err = ingress_command(&headers, body).unwrap_err();
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(SECRET));
        assert!(!text.contains(OTHER_SECRET));
        assert!(!text.contains(&signature[3..20]));
    }
}
