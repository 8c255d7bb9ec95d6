#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]
//! `SecretsManagerVault` against moto: a request's secret is bound to its bastion (the tag the
//! bastions' role policy checks) and listed by prefix until deleted. In a test binary of its own:
//! `tests/secrets.rs` captures the adapter's log lines with a thread-local subscriber, which
//! tracing's per-callsite interest cache makes miss lines first reached from another thread.

use aws_sdk_secretsmanager::Client;
use powerpole_aws::{SecretsManagerSettings, SecretsManagerVault};
use powerpole_core::ports::SecretVault;
use powerpole_core::{DbPassword, DbUsername, RequestId};
use time::OffsetDateTime;
use time::macros::datetime;

const EXPIRES: OffsetDateTime = datetime!(2026-11-23 18:30:00 +09:00);

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

#[tokio::test]
async fn a_secret_is_bound_to_its_bastion_and_listed_until_deleted() {
    let Some(endpoint) = powerpole_testkit::aws_endpoint() else {
        return;
    };
    let client = client(&endpoint).await;
    let vault = SecretsManagerVault::new(client.clone(), settings());
    let id = request_id();
    let secret = vault
        .put(id, &user(), &DbPassword::generate(), EXPIRES)
        .await
        .unwrap();

    vault
        .allow_reader(id, &powerpole_core::BastionId("i-0123456789abcdef0".into()))
        .await
        .unwrap();
    vault
        .allow_reader(id, &powerpole_core::BastionId("i-0123456789abcdef0".into()))
        .await
        .unwrap();

    let described = client
        .describe_secret()
        .secret_id(vault.secret_name(id))
        .send()
        .await
        .unwrap();
    let bound: Vec<(&str, &str)> = described
        .tags()
        .iter()
        .filter(|t| t.key() == Some(powerpole_aws::secrets::TAG_BASTION))
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    let account = secret.0.split(':').nth(4).unwrap();
    let region = secret.0.split(':').nth(3).unwrap();
    assert_eq!(
        bound,
        [(
            "powerpole:bastion",
            format!("arn:aws:ec2:{region}:{account}:instance/i-0123456789abcdef0").as_str()
        )]
    );
    let listed = vault.list().await.unwrap();
    assert_eq!(
        listed.iter().map(|s| s.request).collect::<Vec<_>>(),
        [id],
        "the vault lists only secrets under its own prefix"
    );
    assert_eq!(listed[0].secret, secret);
    vault.delete(id).await.unwrap();
    assert_eq!(vault.list().await.unwrap(), []);
}
