//! `powerpole demo` as a newcomer runs it (here against the test MariaDB): one request from
//! `/powerpole` to the end, told as a timeline, leaving nothing behind.

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
    let child = Command::new(env!("CARGO_BIN_EXE_powerpole"))
        .args(["demo", "--speed", "150"])
        .env("POWERPOLE_DEMO_ADMIN_URL", &admin_url)
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
        "access ends in 10 minutes",
        "drops the user",
        "the open session is gone",
        "posts the session receipt in the approval card's thread",
        "Nothing is left behind",
    ] {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
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
