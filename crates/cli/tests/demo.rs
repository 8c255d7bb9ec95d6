//! `powerpole demo` as a newcomer runs it (here against the test MariaDB): one request from
//! `/powerpole` to the end, told as a timeline, leaving nothing behind but the report of the
//! run, which lists what the requester ran from the server's audit log; with `--extend`, the
//! requester's extension asked for, approved, and outliving the old end.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use std::process::{Command, Stdio};

use sqlx::ConnectOptions as _;
use sqlx::mysql::MySqlConnectOptions;

/// Both demos create the same DB user on the same server: one runs at a time.
static ONE_DEMO: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What a run of `powerpole demo` with `args` left: its output and the report it wrote.
struct Run {
    admin_url: String,
    pid: u32,
    report: std::path::PathBuf,
    out: std::process::Output,
}

/// Runs `powerpole demo --speed 150` with `args` against the test MariaDB, as `scripts/demo.sh`
/// does; `None` (the test skips) when the server is not configured.
fn run_demo(args: &[&str]) -> Option<Run> {
    let admin_url = powerpole_testkit::mysql_admin_url()?;
    let audit_log = powerpole_testkit::mysql_audit_log()?;
    let report = std::env::temp_dir().join(format!(
        "powerpole-demo-test-report-{}-{}.html",
        std::process::id(),
        args.join("")
    ));
    let child = Command::new(env!("CARGO_BIN_EXE_powerpole"))
        .args(["demo", "--speed", "150", "--report"])
        .arg(&report)
        .args(args)
        .env("POWERPOLE_DEMO_ADMIN_URL", &admin_url)
        .env("POWERPOLE_DEMO_AUDIT_LOG", &audit_log)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    Some(Run {
        admin_url,
        pid,
        report,
        out,
    })
}

#[tokio::test]
async fn the_demo_tells_a_whole_request_and_leaves_nothing_behind() {
    let _one = ONE_DEMO.lock().await;
    let Some(Run {
        admin_url,
        pid,
        report,
        out,
    }) = run_demo(&[])
    else {
        return;
    };

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
    assert_eq!(demo_users(&admin_url).await, 0);
}

/// How many DB users the demo's requester has on the server at `admin_url`.
async fn demo_users(admin_url: &str) -> i64 {
    let admin: MySqlConnectOptions = admin_url.parse().unwrap();
    let mut conn = admin.connect().await.unwrap();
    sqlx::query_scalar("SELECT COUNT(*) FROM mysql.user WHERE user LIKE 'dana.dbre%'")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

/// Minutes past midnight of the first `HH:MM` after `marker` in `text`.
fn clock_after(text: &str, marker: &str) -> i32 {
    let rest = text
        .find(marker)
        .map(|i| &text[i + marker.len()..])
        .unwrap_or_else(|| panic!("no {marker:?} in:\n{text}"));
    let digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    let (h, m) = (0..rest.len().saturating_sub(4))
        .filter_map(|i| rest.get(i..i + 5))
        .find(|w| w.as_bytes()[2] == b':' && digits(&w[..2]) && digits(&w[3..]))
        .map(|w| {
            (
                w[..2].parse::<i32>().unwrap(),
                w[3..].parse::<i32>().unwrap(),
            )
        })
        .unwrap_or_else(|| panic!("no HH:MM after {marker:?} in:\n{text}"));
    h * 60 + m
}

#[tokio::test]
async fn the_demo_with_extend_shows_an_approved_extension_outliving_the_old_end() {
    let _one = ONE_DEMO.lock().await;
    let Some(Run {
        admin_url,
        report,
        out,
        ..
    }) = run_demo(&["--extend"])
    else {
        return;
    };

    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let mut from = 0;
    for step in [
        "clicks Approve",
        "connects as dana.dbre@",
        "clicks Extend in the ready message: a small form opens",
        "asks for 15 more minutes, with a reason",
        "posts the extension card in the approval card's thread",
        "clicks Approve on the extension card",
        "DMs: extended until ",
        "has passed: the same session still works",
        "access ends in 10 minutes",
        "drops the user",
        "the open session is gone",
        "Nothing is left behind",
    ] {
        let at = stdout[from..]
            .find(step)
            .unwrap_or_else(|| panic!("missing {step:?} after byte {from} in:\n{stdout}"));
        from += at + step.len();
    }
    let old_end = clock_after(&stdout, "the old end (");
    let new_end = clock_after(&stdout, "DMs: extended until ");
    let later_by = (new_end - old_end).rem_euclid(24 * 60);
    assert!(
        (1..=15).contains(&later_by),
        "the extended end is up to 15 minutes after the old end: {later_by} in:\n{stdout}"
    );
    std::fs::remove_file(&report).unwrap();
    assert_eq!(demo_users(&admin_url).await, 0);
}
