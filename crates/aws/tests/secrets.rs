#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]
//! `SecretsManagerVault` against moto: round trip, idempotent put and delete, tags, and the
//! password never showing in an error or a log line.

use std::io::Write;
use std::sync::{Arc, Mutex};

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::retry::RetryConfig;
use powerpole_aws::secrets::{
    SecretsManagerSettings, SecretsManagerVault, TAG_EXPIRES_AT, TAG_REQUEST_ID,
};
use powerpole_core::ports::SecretVault;
use powerpole_core::{DbPassword, DbUsername, RequestId};
use time::OffsetDateTime;
use time::macros::datetime;

async fn client(endpoint: &str) -> Client {
    Client::new(&powerpole_aws::config::load(Some(endpoint)).await)
}

fn settings() -> SecretsManagerSettings {
    SecretsManagerSettings::new(&format!("{}/", powerpole_testkit::unique_name("powerpole")))
        .unwrap()
}

fn request_id() -> RequestId {
    RequestId::generate(OffsetDateTime::now_utc(), &mut rand::rng())
}

fn user() -> DbUsername {
    DbUsername::parse("keisuke.owato").unwrap()
}

const EXPIRES: OffsetDateTime = datetime!(2026-11-23 18:30:00 +09:00);

#[tokio::test]
async fn a_password_round_trips() {
    let Some(endpoint) = powerpole_testkit::aws_endpoint() else {
        return;
    };
    let vault = SecretsManagerVault::new(client(&endpoint).await, settings());
    let id = request_id();
    let password = DbPassword::generate();

    let secret = vault.put(id, &user(), &password, EXPIRES).await.unwrap();

    assert!(
        secret.0.starts_with("arn:aws:secretsmanager:"),
        "{secret:?}"
    );
    assert!(secret.0.contains(&vault.secret_name(id)), "{secret:?}");
    let read = vault.get(id).await.unwrap();
    assert_eq!(read.expose(), password.expose());
}

#[tokio::test]
async fn the_stored_value_is_username_and_password_json() {
    let Some(endpoint) = powerpole_testkit::aws_endpoint() else {
        return;
    };
    let client = client(&endpoint).await;
    let vault = SecretsManagerVault::new(client.clone(), settings());
    let id = request_id();
    let password = DbPassword::generate();
    vault.put(id, &user(), &password, EXPIRES).await.unwrap();

    let raw = client
        .get_secret_value()
        .secret_id(vault.secret_name(id))
        .send()
        .await
        .unwrap();

    let json: serde_json::Value = serde_json::from_str(raw.secret_string().unwrap()).unwrap();
    assert_eq!(json["username"], "keisuke.owato");
    assert_eq!(json["password"], password.expose());
}

#[tokio::test]
async fn putting_twice_keeps_the_first_password() {
    let Some(endpoint) = powerpole_testkit::aws_endpoint() else {
        return;
    };
    let vault = SecretsManagerVault::new(client(&endpoint).await, settings());
    let id = request_id();
    let first = DbPassword::generate();
    let second = DbPassword::generate();

    let a = vault.put(id, &user(), &first, EXPIRES).await.unwrap();
    let b = vault.put(id, &user(), &second, EXPIRES).await.unwrap();

    assert_eq!(a, b);
    assert_eq!(vault.get(id).await.unwrap().expose(), first.expose());
}

#[tokio::test]
async fn deleting_twice_is_fine_and_the_secret_is_gone() {
    let Some(endpoint) = powerpole_testkit::aws_endpoint() else {
        return;
    };
    let client = client(&endpoint).await;
    let vault = SecretsManagerVault::new(client.clone(), settings());
    let id = request_id();
    vault
        .put(id, &user(), &DbPassword::generate(), EXPIRES)
        .await
        .unwrap();

    vault.delete(id).await.unwrap();
    vault.delete(id).await.unwrap();
    vault.delete(request_id()).await.unwrap();

    let err = vault.get(id).await.unwrap_err();
    assert!(matches!(err, powerpole_core::Error::NotFound(_)), "{err:?}");
    let listed = client
        .list_secrets()
        .filters(
            aws_sdk_secretsmanager::types::Filter::builder()
                .key(aws_sdk_secretsmanager::types::FilterNameStringType::Name)
                .values(vault.secret_name(id))
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(listed.secret_list().is_empty(), "{listed:?}");
}

#[tokio::test]
async fn a_missing_secret_is_not_found() {
    let Some(endpoint) = powerpole_testkit::aws_endpoint() else {
        return;
    };
    let vault = SecretsManagerVault::new(client(&endpoint).await, settings());

    let err = vault.get(request_id()).await.unwrap_err();

    assert!(matches!(err, powerpole_core::Error::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn the_secret_is_tagged_with_its_request_and_expiry() {
    let Some(endpoint) = powerpole_testkit::aws_endpoint() else {
        return;
    };
    let client = client(&endpoint).await;
    let settings = settings()
        .with_tag("environment", "test")
        .unwrap()
        .with_kms_key_id("alias/powerpole-test")
        .unwrap();
    let vault = SecretsManagerVault::new(client.clone(), settings);
    let id = request_id();
    let secret = vault
        .put(id, &user(), &DbPassword::generate(), EXPIRES)
        .await
        .unwrap();

    let described = client
        .describe_secret()
        .secret_id(&secret.0)
        .send()
        .await
        .unwrap();

    let tag = |key: &str| {
        described
            .tags()
            .iter()
            .find(|t| t.key() == Some(key))
            .and_then(|t| t.value())
            .map(str::to_owned)
    };
    assert_eq!(tag(TAG_REQUEST_ID), Some(id.to_string()));
    assert_eq!(tag(TAG_EXPIRES_AT).as_deref(), Some("2026-11-23T09:30:00Z"));
    assert_eq!(tag("environment").as_deref(), Some("test"));
    assert_eq!(described.name(), Some(vault.secret_name(id).as_str()));
    assert_eq!(described.kms_key_id(), Some("alias/powerpole-test"));
}

#[tokio::test]
async fn a_malformed_secret_value_is_reported_without_its_content() {
    let Some(endpoint) = powerpole_testkit::aws_endpoint() else {
        return;
    };
    let client = client(&endpoint).await;
    let vault = SecretsManagerVault::new(client.clone(), settings());
    let id = request_id();
    let leaked = "Hunter2-not-a-valid-password";
    client
        .create_secret()
        .name(vault.secret_name(id))
        .secret_string(format!("{{\"username\":\"u\",\"password\":\"{leaked}\"}}"))
        .send()
        .await
        .unwrap();

    let err = vault.get(id).await.unwrap_err();

    assert!(!err.is_retryable());
    assert!(!format!("{err} {err:?}").contains(leaked), "{err:?}");
}

/// A `MakeWriter` appending every log line to a shared buffer.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Everything an error shows: `Display`, `Debug` and each source's `Display`.
fn everything_shown(err: &(dyn std::error::Error + 'static)) -> String {
    let mut shown = format!("{err}\n{err:?}\n");
    let mut source = err.source();
    while let Some(cause) = source {
        shown.push_str(&format!("{cause}\n{cause:?}\n"));
        source = cause.source();
    }
    shown
}

#[tokio::test]
async fn the_password_is_in_no_error_and_no_log_line() {
    let Some(endpoint) = powerpole_testkit::aws_endpoint() else {
        return;
    };
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    // Tests on other threads may have met the adapter's log callsites first, with no subscriber
    // interested; their cached "never" would hide them from this one.
    tracing::callsite::rebuild_interest_cache();

    let config = powerpole_aws::config::load(Some(&endpoint)).await;
    let client = Client::new(&config);
    let vault = SecretsManagerVault::new(client.clone(), settings());
    let password = DbPassword::generate();
    let secret = password.expose().to_owned();
    let mut errors: Vec<powerpole_core::Error> = Vec::new();

    let stored = vault.put(request_id(), &user(), &password, EXPIRES).await;
    let kept = request_id();
    vault.put(kept, &user(), &password, EXPIRES).await.unwrap();
    vault
        .put(kept, &user(), &DbPassword::generate(), EXPIRES)
        .await
        .unwrap();
    assert_eq!(vault.get(kept).await.unwrap().expose(), secret);
    errors.push(vault.get(request_id()).await.unwrap_err());

    let scheduled = request_id();
    client
        .create_secret()
        .name(vault.secret_name(scheduled))
        .secret_string("{}")
        .send()
        .await
        .unwrap();
    client
        .delete_secret()
        .secret_id(vault.secret_name(scheduled))
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();
    errors.push(
        vault
            .put(scheduled, &user(), &password, EXPIRES)
            .await
            .unwrap_err(),
    );
    errors.push(vault.get(scheduled).await.unwrap_err());

    let unreachable = Client::from_conf(
        aws_sdk_secretsmanager::config::Builder::from(&config)
            .endpoint_url("http://127.0.0.1:9")
            .retry_config(RetryConfig::disabled())
            .build(),
    );
    let offline = SecretsManagerVault::new(unreachable, settings());
    let id = request_id();
    errors.push(
        offline
            .put(id, &user(), &password, EXPIRES)
            .await
            .unwrap_err(),
    );
    errors.push(offline.get(id).await.unwrap_err());
    drop(guard);

    stored.unwrap();
    assert!(matches!(errors[0], powerpole_core::Error::NotFound(_)));
    assert!(matches!(errors[1], powerpole_core::Error::Conflict(_)));
    assert!(matches!(errors[2], powerpole_core::Error::NotFound(_)));
    assert!(errors[3].is_retryable(), "{:?}", errors[3]);
    for err in &errors {
        let shown = everything_shown(err);
        assert!(!shown.contains(&secret), "password in error: {shown}");
    }
    let logs = capture.text();
    assert!(
        logs.contains(&vault.secret_name(kept)),
        "the adapter's debug lines were not captured: {logs}"
    );
    assert!(!logs.contains(&secret), "password in the logs");
}
