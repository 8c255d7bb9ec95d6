//! Cold start against Secrets Manager (moto): the secrets the configuration names are read from
//! the region in their ARN and turned into clients, and an unreadable or malformed secret stops
//! the start with an error naming the variable and the secret, never echoing its value. Also: a
//! warm Lambda follows a rotation of a cluster's admin secret (moto + the test MariaDB).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use aws_config::SdkConfig;
use powerpole_lambda_shared::config::{
    self, AccessConfig, ConfigError, IngressConfig, NotifyConfig, SecretArn,
};
use powerpole_lambda_shared::wiring;
use secrecy::ExposeSecret;
use serde_json::json;

const SIGNING: &str = "c0ld-start-signing-s3cr3t-value";
const TOKEN: &str = "xoxb-c0ld-start-s3cr3t-token";
const PASSWORD: &str = "c0ld-start-admin-s3cr3t";

struct Moto {
    sdk: SdkConfig,
    client: aws_sdk_secretsmanager::Client,
}

async fn moto() -> Option<Moto> {
    let endpoint = powerpole_testkit::aws_endpoint()?;
    let sdk = powerpole_aws::config::load(Some(&endpoint)).await;
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    Some(Moto { sdk, client })
}

impl Moto {
    async fn secret(&self, value: &serde_json::Value) -> String {
        self.client
            .create_secret()
            .name(powerpole_testkit::unique_name("powerpole-cold-start"))
            .secret_string(value.to_string())
            .send()
            .await
            .unwrap()
            .arn
            .unwrap()
    }

    /// The variables of every Lambda, with the Slack and admin secrets given.
    fn vars(&self, slack_arn: &str, admin_arn: &str) -> Vec<(&'static str, String)> {
        let clusters = json!([{
            "id": "orders-prod",
            "region": "us-east-1",
            "endpoint": "orders-prod.cluster-abc.us-east-1.rds.amazonaws.com",
            "admin_secret_arn": admin_arn,
            "approval": {"DDL": {"approvers": "group:S0DBRE001", "required": 2}},
            "auto_approve_read": true,
        }]);
        vec![
            (config::TABLE, "powerpole-cold-start".into()),
            (
                config::STATE_MACHINE_ARN,
                "arn:aws:states:us-east-1:123456789012:stateMachine:powerpole".into(),
            ),
            (config::SLACK_SECRET_ARN, slack_arn.into()),
            (config::SLACK_API_URL, "http://127.0.0.1:9/api".into()),
            (config::APPROVERS_CHANNEL, "C0APPROVE1".into()),
            (config::REQUESTS_CHANNEL, "C0REQUEST1".into()),
            (config::CLUSTERS, clusters.to_string()),
            (config::BASTION_LAUNCH_TEMPLATE, "powerpole-bastion".into()),
            (config::PRIMARY_DOMAINS, "example.com".into()),
            (config::DB_USERS, r#"{"U0DAISUKE1": "daisuke"}"#.into()),
        ]
    }
}

fn assert_no_secret(error: &ConfigError) {
    let shown = format!("{error} {error:?}");
    for secret in [SIGNING, TOKEN, PASSWORD, "s3cr3t"] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[tokio::test]
async fn every_lambda_starts_from_its_secrets() {
    let Some(moto) = moto().await else { return };
    let slack = moto
        .secret(&json!({"signing_secret": SIGNING, "bot_token": TOKEN}))
        .await;
    let admin = moto
        .secret(
            &json!({"username": "admin", "password": PASSWORD, "host": "127.0.0.1", "port": 3306}),
        )
        .await;
    let vars = moto.vars(&slack, &admin);

    let broker = wiring::access_broker(&moto.sdk, AccessConfig::from_env(&vars).unwrap())
        .await
        .unwrap();
    assert_eq!(broker.clusters().len(), 1);
    assert_eq!(broker.clusters()[0].cluster.as_str(), "orders-prod");
    assert_eq!(broker.chat().approvers_channel(), "C0APPROVE1");
    assert_eq!(broker.chat().requests_channel(), Some("C0REQUEST1"));
    assert_eq!(broker.chat().web().api_url(), "http://127.0.0.1:9/api");

    let notify = wiring::notify_broker(&moto.sdk, NotifyConfig::from_env(&vars).unwrap())
        .await
        .unwrap();
    assert_eq!(notify.chat().approvers_channel(), "C0APPROVE1");
    let rules = &notify.clusters()[0].approval;
    assert!(
        rules.auto_approves(powerpole_core::Permission::Read),
        "the gate's Lambda knows READ is auto-approved"
    );
    assert_eq!(rules.required(powerpole_core::Permission::Ddl).get(), 2);

    let ingress = wiring::ingress(&moto.sdk, IngressConfig::from_env(&vars).unwrap())
        .await
        .unwrap();
    assert_eq!(
        ingress.workflow().state_machine_arn(),
        "arn:aws:states:us-east-1:123456789012:stateMachine:powerpole"
    );
    let identity = ingress.broker().identity();
    assert_eq!(identity.primary_domains(), ["example.com"]);
    assert_eq!(
        identity
            .mapped(&powerpole_core::SlackUserId::parse("U0DAISUKE1").unwrap())
            .map(powerpole_core::DbUsername::as_str),
        Some("daisuke"),
        "the Slack endpoints name DB users by the configured mapping"
    );

    let text = wiring::read_secret(
        &moto.sdk,
        config::SLACK_SECRET_ARN,
        &SecretArn::parse(&slack).unwrap(),
    )
    .await
    .unwrap();
    assert!(text.expose_secret().contains(TOKEN));
}

#[tokio::test]
async fn a_malformed_slack_secret_stops_the_start_without_echoing_it() {
    let Some(moto) = moto().await else { return };
    let admin = moto
        .secret(&json!({"username": "admin", "password": PASSWORD}))
        .await;
    for value in [
        json!({"signing_secret": SIGNING, "bot_token": ["xoxb-c0ld-start-s3cr3t-token"]}),
        json!(format!("{SIGNING}:{TOKEN}")),
    ] {
        let slack = moto.secret(&value).await;
        let vars = moto.vars(&slack, &admin);
        let Err(error) =
            wiring::notify_broker(&moto.sdk, NotifyConfig::from_env(&vars).unwrap()).await
        else {
            panic!("a malformed Slack secret must stop the start");
        };
        let ConfigError::SecretMalformed { var, arn, .. } = &error else {
            panic!("{error}");
        };
        assert_eq!(
            (*var, arn.as_str()),
            (config::SLACK_SECRET_ARN, slack.as_str())
        );
        assert_no_secret(&error);
    }
}

#[tokio::test]
async fn the_endpoints_need_the_signing_secret() {
    let Some(moto) = moto().await else { return };
    let slack = moto.secret(&json!({"bot_token": TOKEN})).await;
    let admin = moto
        .secret(&json!({"username": "admin", "password": PASSWORD}))
        .await;
    let vars = moto.vars(&slack, &admin);

    assert!(
        wiring::notify_broker(&moto.sdk, NotifyConfig::from_env(&vars).unwrap())
            .await
            .is_ok()
    );
    let error = wiring::ingress(&moto.sdk, IngressConfig::from_env(&vars).unwrap())
        .await
        .err()
        .unwrap();
    assert!(
        error.to_string().contains("signing_secret is missing"),
        "{error}"
    );
    assert_eq!(error.vars(), vec![config::SLACK_SECRET_ARN]);
}

#[tokio::test]
async fn a_missing_or_malformed_admin_secret_names_the_clusters_variable() {
    let Some(moto) = moto().await else { return };
    let slack = moto
        .secret(&json!({"signing_secret": SIGNING, "bot_token": TOKEN}))
        .await;
    let malformed = moto
        .secret(&json!({"username": "admin", "password": 1234, "note": PASSWORD}))
        .await;
    let error = wiring::access_broker(
        &moto.sdk,
        AccessConfig::from_env(&moto.vars(&slack, &malformed)).unwrap(),
    )
    .await
    .err()
    .unwrap();
    assert_eq!(error.vars(), vec![config::CLUSTERS]);
    assert!(
        error.to_string().contains("password is not a string"),
        "{error}"
    );
    assert_no_secret(&error);

    let gone = "arn:aws:secretsmanager:us-east-1:123456789012:secret:powerpole-no-such-AbCdEf";
    let error = wiring::access_broker(
        &moto.sdk,
        AccessConfig::from_env(&moto.vars(&slack, gone)).unwrap(),
    )
    .await
    .err()
    .unwrap();
    assert!(
        matches!(&error, ConfigError::SecretUnreadable { var, arn, code, .. }
            if *var == config::CLUSTERS && arn == gone && code == "ResourceNotFoundException"),
        "{error}"
    );
}

#[tokio::test]
async fn a_ca_bundle_without_certificates_is_refused() {
    let Some(moto) = moto().await else { return };
    let slack = moto
        .secret(&json!({"signing_secret": SIGNING, "bot_token": TOKEN}))
        .await;
    let admin = moto
        .secret(&json!({"username": "admin", "password": PASSWORD}))
        .await;
    let path = std::env::temp_dir().join(powerpole_testkit::unique_name("not-a-bundle"));
    std::fs::write(&path, "hello").unwrap();
    let mut vars = moto.vars(&slack, &admin);
    vars.push((config::DB_CA_BUNDLE, path.display().to_string()));

    let error = wiring::access_broker(&moto.sdk, AccessConfig::from_env(&vars).unwrap())
        .await
        .err()
        .unwrap();

    assert_eq!(error.vars(), vec![config::DB_CA_BUNDLE]);
    std::fs::remove_file(path).unwrap();
}

#[tokio::test]
async fn a_rotated_admin_secret_is_read_again_and_teardown_still_works() {
    use powerpole_core::ports::{DbAccounts, Removal};
    use sqlx::{ConnectOptions as _, Executor as _};

    let Some(moto) = moto().await else { return };
    let Some(url) = powerpole_testkit::mysql_admin_url() else {
        return;
    };
    powerpole_slack::install_crypto_provider();
    let root: sqlx::mysql::MySqlConnectOptions = url.parse().unwrap();
    let mut conn = root.connect().await.unwrap();
    let rotated = format!("rotadmin{}", std::process::id());
    conn.execute(sqlx::AssertSqlSafe(format!(
        "CREATE USER '{rotated}'@'127.0.0.1' IDENTIFIED BY 'first-Passw0rd-before-rotation'; \
         GRANT ALL PRIVILEGES ON *.* TO '{rotated}'@'127.0.0.1' WITH GRANT OPTION"
    )))
    .await
    .unwrap();
    let secret = |password: &str| json!({"username": rotated, "password": password, "host": "127.0.0.1", "port": root.get_port()});
    let admin_arn = moto.secret(&secret("first-Passw0rd-before-rotation")).await;
    let clusters = json!([{
        "id": "rotated-db",
        "region": "us-east-1",
        "endpoint": "127.0.0.1",
        "admin_secret_arn": admin_arn,
    }]);
    let vars = vec![(config::CLUSTERS, clusters.to_string())];
    let clusters = config::clusters(&vars).unwrap();
    let accounts = wiring::accounts(&moto.sdk, &clusters, None).await.unwrap();
    let cluster = &clusters[0].policy.cluster;
    let user =
        powerpole_core::DbUsername::parse(&format!("rot.user{}", std::process::id())).unwrap();
    accounts
        .create(
            cluster,
            powerpole_core::RequestId::generate(time::OffsetDateTime::now_utc(), &mut rand::rng()),
            &user,
            &powerpole_core::DbPassword::generate(),
            &powerpole_core::GrantPlan::new(powerpole_core::Permission::Read, []).unwrap(),
            time::Duration::hours(1),
        )
        .await
        .unwrap();

    // The rotation: a new password on the server and in the secret, and the old sessions gone.
    conn.execute(sqlx::AssertSqlSafe(format!(
        "ALTER USER '{rotated}'@'127.0.0.1' IDENTIFIED BY 'second-Passw0rd-after-rotation'"
    )))
    .await
    .unwrap();
    moto.client
        .put_secret_value()
        .secret_id(&admin_arn)
        .secret_string(secret("second-Passw0rd-after-rotation").to_string())
        .send()
        .await
        .unwrap();
    let sessions: Vec<u64> = sqlx::query_scalar(
        "SELECT CAST(ID AS UNSIGNED) FROM information_schema.PROCESSLIST WHERE USER = ?",
    )
    .bind(&rotated)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    for id in sessions {
        conn.execute(sqlx::AssertSqlSafe(format!("KILL CONNECTION {id}")))
            .await
            .ok();
    }

    let removal = accounts.remove(cluster, &user).await;

    assert!(
        matches!(removal, Ok(Removal::Dropped { .. })),
        "teardown after the rotation: {removal:?}"
    );
    conn.execute(sqlx::AssertSqlSafe(format!(
        "DROP USER '{rotated}'@'127.0.0.1'"
    )))
    .await
    .unwrap();
}
