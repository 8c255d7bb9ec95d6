//! `powerpole demo` as a newcomer runs it (here against the test MariaDB): one request from
//! `/powerpole` to the end, told as a timeline, leaving nothing behind but the report of the
//! run, which lists what the requester ran from the server's audit log.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use std::process::{Command, Stdio};

use sqlx::ConnectOptions as _;
use sqlx::mysql::MySqlConnectOptions;

#[tokio::test]
async fn the_demo_tells_a_whole_request_and_leaves_nothing_behind() {
    let Some(admin_url) = powerpole_testkit::mysql_admin_url() else {
        return;
    };
    let Some(audit_log) = powerpole_testkit::mysql_audit_log() else {
        return;
    };
    let report = std::env::temp_dir().join(format!(
        "powerpole-demo-test-report-{}.html",
        std::process::id()
    ));
    let child = Command::new(env!("CARGO_BIN_EXE_powerpole"))
        .args(["demo", "--speed", "150", "--report"])
        .arg(&report)
        .env("POWERPOLE_DEMO_ADMIN_URL", &admin_url)
        .env("POWERPOLE_DEMO_AUDIT_LOG", &audit_log)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();

    let out = child.wait_with_output().unwrap();

    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for step in [
        "runs /powerpole: the request form opens",
        "asks for READ on demo-orders",
        "posts the approval card",
        "clicks Approve",
        "creates DB user dana.dbre",
        "connects as dana.dbre@",
        "queries a table that does not exist: refused",
        "access ends in 10 minutes",
        "drops the user",
        "the open session is gone",
        "posts the session receipt in the approval card's thread",
        "writes the security team's report",
        "Nothing is left behind",
    ] {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
    let path = std::fs::canonicalize(&report).unwrap();
    assert!(
        stdout.contains(&format!("HTML file:\n  {}\n", path.display())),
        "the report's path is printed: {stdout}"
    );
    let html = std::fs::read_to_string(&report).unwrap();
    std::fs::remove_file(&report).unwrap();
    let anomalies =
        &html[html.find("id=\"anomalies\"").unwrap()..html.find("id=\"timeline\"").unwrap()];
    assert!(
        anomalies.contains("SELECT * FROM demo_orders.orders"),
        "the refused query is an anomaly: {anomalies}"
    );
    assert!(html.contains("Logins (1)"), "the requester's one session");
    assert!(!html.contains("never connected") && !html.contains("no audit log"));
    assert!(html.contains("INC-1024 check yesterday&#39;s stuck orders"));
    let leftovers: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("powerpole-demo-{pid}-"))
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let admin: MySqlConnectOptions = admin_url.parse().unwrap();
    let mut conn = admin.connect().await.unwrap();
    let users: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM mysql.user WHERE user LIKE 'dana.dbre%'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(users, 0);
}
