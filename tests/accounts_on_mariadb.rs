//! The core's DB user names and generated passwords work on a real MariaDB server: the account
//! can log in, sees only what it was granted, and its password never reaches the audit log. And
//! with the server's event scheduler off (switched off here, in a binary of its own, so no other
//! test's backstop depends on it meanwhile), the adapter says the backstop will not fire.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use std::time::Duration;

use powerpole_core::{DbPassword, DbUsername, Email, Permission};
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor, MySqlConnection, Row};

/// Runs SQL built from values the core validated (user names, generated passwords, test schema).
async fn exec(conn: &mut MySqlConnection, sql: String) {
    if let Err(e) = conn.execute(AssertSqlSafe(sql)).await {
        panic!("admin statement failed: {e}");
    }
}

async fn admin() -> Option<(MySqlConnection, MySqlConnectOptions)> {
    let url = powerpole_testkit::mysql_admin_url()?;
    let options: MySqlConnectOptions = url
        .parse()
        .expect("POWERPOLE_TEST_MYSQL_URL is a mysql:// URL");
    let conn = options.connect().await.expect("admin connects to MariaDB");
    Some((conn, options))
}

/// Whether a line of the audit log records `statement` for `username` (the log escapes quotes).
fn audited(log: &str, statement: &str, username: &str) -> bool {
    log.lines()
        .any(|line| line.contains(statement) && line.contains(username))
}

#[tokio::test]
async fn derived_user_logs_in_with_generated_password_and_sees_only_granted_schema() {
    let Some((mut admin, options)) = admin().await else {
        return;
    };
    let email = Email::parse(&format!("O'Brien+e2e{}@example.com", std::process::id())).unwrap();
    let username = DbUsername::from_email(&email).unwrap();
    assert!(username.as_str().starts_with("obrien"), "{username}");
    let password = DbPassword::generate();
    let schema = format!("e2e_shop_{}", std::process::id());

    exec(&mut admin, format!("DROP USER IF EXISTS '{username}'@'%'")).await;
    exec(
        &mut admin,
        format!("CREATE DATABASE IF NOT EXISTS `{schema}`"),
    )
    .await;
    exec(
        &mut admin,
        format!("CREATE TABLE IF NOT EXISTS `{schema}`.orders (id INT PRIMARY KEY)"),
    )
    .await;
    exec(
        &mut admin,
        format!(
            "CREATE USER '{username}'@'%' IDENTIFIED BY '{}' WITH MAX_USER_CONNECTIONS 2",
            password.expose()
        ),
    )
    .await;
    let privileges: Vec<&str> = Permission::Read
        .privileges()
        .iter()
        .map(|p| p.name())
        .collect();
    exec(
        &mut admin,
        format!(
            "GRANT {} ON `{}`.* TO '{username}'@'%'",
            privileges.join(", "),
            schema.replace('_', "\\_")
        ),
    )
    .await;

    let as_user = options
        .clone()
        .username(username.as_str())
        .password(password.expose());
    let pool = MySqlPoolOptions::new()
        .max_connections(1)
        .connect_with(as_user)
        .await
        .unwrap();
    let who: String = sqlx::query("SELECT CURRENT_USER()")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(who, format!("{username}@%"));
    let visible: Vec<String> = sqlx::query("SELECT schema_name FROM information_schema.schemata")
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(visible.contains(&schema), "{visible:?}");
    assert!(
        !visible.iter().any(|s| s == "mysql"),
        "mysql schema visible: {visible:?}"
    );
    let write = sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO `{schema}`.orders VALUES (1)"
    )))
    .execute(&pool)
    .await;
    assert!(write.is_err(), "READ user could write");
    pool.close().await;

    let wrong = options
        .clone()
        .username(username.as_str())
        .password("Wrong-password-0123456789abcdefgh");
    assert!(MySqlConnection::connect_with(&wrong).await.is_err());

    exec(&mut admin, format!("DROP USER '{username}'@'%'")).await;
    exec(&mut admin, format!("DROP DATABASE `{schema}`")).await;

    if let Some(log) = powerpole_testkit::mysql_audit_log() {
        let mut text = String::new();
        for _ in 0..50 {
            text = std::fs::read_to_string(&log).unwrap_or_default();
            if audited(&text, "DROP USER", username.as_str()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            audited(&text, "CREATE USER", username.as_str()),
            "CREATE USER not audited"
        );
        assert!(
            !text.contains(password.expose()),
            "password leaked into the audit log"
        );
    }
}

#[tokio::test]
async fn with_the_event_scheduler_off_the_backstop_is_reported_as_not_firing() {
    use powerpole_core::ports::{Backstop, DbAccounts};
    use powerpole_core::{ClusterId, GrantPlan, RequestId};
    use powerpole_mysql::{AccountSettings, MySqlAccounts};

    let Some((mut conn, options)) = admin().await else {
        return;
    };
    let cluster = ClusterId::parse("scheduler-off").unwrap();
    let accounts =
        MySqlAccounts::new().with_cluster(cluster.clone(), options, AccountSettings::new());
    let user = DbUsername::parse(&format!("sched.off{}", std::process::id())).unwrap();
    exec(&mut conn, "SET GLOBAL event_scheduler = OFF".into()).await;

    let created = accounts
        .create(
            &cluster,
            RequestId::generate(time::OffsetDateTime::now_utc(), &mut rand::rng()),
            &user,
            &DbPassword::generate(),
            &GrantPlan::new(Permission::Read, []).unwrap(),
            time::Duration::hours(1),
        )
        .await;
    let listed = accounts.list(&cluster).await;
    exec(&mut conn, "SET GLOBAL event_scheduler = ON".into()).await;
    let removed = accounts.remove(&cluster, &user).await;

    assert_eq!(created.unwrap(), Backstop::SchedulerOff);
    let listed = listed.unwrap();
    let mine = listed.iter().find(|a| a.username == user).unwrap();
    assert_eq!(mine.backstop, Backstop::SchedulerOff);
    assert!(
        mine.backstop
            .problem()
            .unwrap()
            .contains("event_scheduler is OFF")
    );
    removed.unwrap();
}
