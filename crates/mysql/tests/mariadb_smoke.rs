//! Proves the adapter tests talk to the real MariaDB started by `scripts/test.sh`, with the
//! `server_audit` plugin writing the audit log the broker parses.

use std::time::Duration;

use sqlx::mysql::MySqlConnection;
use sqlx::{AssertSqlSafe, Connection, Row};

#[tokio::test]
async fn the_server_is_mariadb_with_an_active_audit_plugin() {
    let Some(url) = powerpole_testkit::mysql_admin_url() else {
        return;
    };
    let mut conn = MySqlConnection::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test MariaDB: {e}"));

    let version: String = sqlx::query_scalar("SELECT @@version")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(version.contains("MariaDB"), "@@version = {version}");

    let status: String = sqlx::query_scalar(
        "SELECT PLUGIN_STATUS FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'SERVER_AUDIT'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(status, "ACTIVE");
}

#[tokio::test]
async fn a_query_shows_up_in_the_audit_log() {
    let Some(url) = powerpole_testkit::mysql_admin_url() else {
        return;
    };
    let Some(audit_log) = powerpole_testkit::mysql_audit_log() else {
        return;
    };
    let tag = powerpole_testkit::unique_name("smoke");
    let mut conn = MySqlConnection::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test MariaDB: {e}"));

    let row = sqlx::raw_sql(AssertSqlSafe(format!("SELECT '{tag}' AS tag")))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("tag"), tag);

    let mut log = String::new();
    for _ in 0..50 {
        log = std::fs::read_to_string(&audit_log)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", audit_log.display()));
        if log.contains(&tag) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let line = log
        .lines()
        .find(|line| line.contains(&tag))
        .unwrap_or_else(|| panic!("{tag} not in {} after 5 s", audit_log.display()));
    let fields: Vec<&str> = line.splitn(10, ',').collect();
    assert_eq!(fields.len(), 10, "audit line: {line}");
    assert_eq!(fields[2], "powerpole_admin", "audit line: {line}");
    assert_eq!(fields[3], "127.0.0.1", "audit line: {line}");
    assert_eq!(fields[6], "QUERY", "audit line: {line}");

    conn.close().await.unwrap();
}
