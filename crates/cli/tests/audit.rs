//! `powerpole audit ID`: the session receipt of a request recorded in the broker's state, read
//! with the cluster's `server_audit` file named in the configuration — as markdown and as JSON —
//! and a clear failure for an id the state does not hold. `powerpole report`: the same receipts
//! for a period, anomalies first, as one HTML file (hostile text shown as text, and checked in a
//! real headless Chromium) and as JSON Lines with the schema the README documents.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use powerpole_core::ports::RequestStore;
use powerpole_core::{
    AccessRequest, AccessSpec, AccessWindow, Actor, ClusterId, Component, DbUsername, Permission,
    Reason, Region, RequestId, SlackUserId, Transition, WindowPolicy,
};
use powerpole_local::SqliteStore;
use serde_json::Value;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);
const ID: &str = "01KAXR4C1PRECE1PTC11000000";

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "powerpole-audit-{}-{}",
        std::process::id(),
        OffsetDateTime::now_utc().unix_timestamp_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An ended request of `U0REQUESTER`, approved by `U0APPROVER`, for 10:00–11:00.
fn ended() -> AccessRequest {
    ended_approved_at(T0 - Duration::minutes(5))
}

/// [`ended`], approved at `approved`: a late approval moves the window to start then.
fn ended_approved_at(approved: OffsetDateTime) -> AccessRequest {
    let spec = AccessSpec {
        cluster: ClusterId::parse("orders-prod").unwrap(),
        region: Region::parse("ap-northeast-1").unwrap(),
        permission: Permission::Ddl,
        window: AccessWindow::request(T0, Duration::hours(1), T0, &WindowPolicy::default())
            .unwrap(),
        reason: Reason::parse("INC-9 | fix the orders schema").unwrap(),
    };
    let mut request = AccessRequest::submit(
        RequestId::parse(ID).unwrap(),
        SlackUserId::parse("U0REQUESTER").unwrap(),
        DbUsername::parse("keisuke.owato").unwrap(),
        spec,
        T0 - Duration::minutes(10),
    );
    let workflow = || Actor::System(Component::Workflow);
    let approver = Actor::User(SlackUserId::parse("U0APPROVER").unwrap());
    request
        .apply(Transition::Approve, approver, approved, "")
        .unwrap();
    let granted = request.window();
    for (transition, at) in [
        (Transition::StartProvisioning, granted.start()),
        (Transition::Activate, granted.start()),
        (Transition::StartTeardown, granted.end()),
    ] {
        request.apply(transition, workflow(), at, "").unwrap();
    }
    request
        .record_cleanup(workflow(), granted.end(), "DB user dropped")
        .unwrap();
    request
        .apply(Transition::Finish, workflow(), granted.end(), "")
        .unwrap();
    request
}

const AUDIT_LOG: &str = "\
20261123 10:02:00,db,keisuke.owato,10.0.0.9,41,0,CONNECT,shop,,0
20261123 10:03:00,db,keisuke.owato,10.0.0.9,41,5,QUERY,shop,'SELECT * FROM orders',0
20261123 10:04:00,db,keisuke.owato,10.0.0.9,41,6,QUERY,shop,'UPDATE orders SET state = \\'done\\' WHERE id = 1',0
20261123 10:05:00,db,keisuke.owato,10.0.0.9,41,7,QUERY,shop,'CREATE TABLE notes (id INT)',0
20261123 10:06:00,db,keisuke.owato,10.0.0.9,41,8,QUERY,shop,'SELECT * FROM nope',1146
20261123 10:07:00,db,keisuke.owato,10.0.0.9,41,9,QUERY,shop,'ALTER USER CURRENT_USER() IDENTIFIED BY \\'hunter2\\'',1064
20261123 10:07:30,db,admin,127.0.0.1,3,1,QUERY,mysql,'DROP TABLE shop.orders',0
20261123 10:08:00,db,keisuke.owato,10.0.0.9,41,0,DISCONNECT,shop,,0
";

/// A state directory holding [`ended`] and a configuration whose cluster reads `audit.log`.
async fn recorded() -> PathBuf {
    recorded_with(&ended(), AUDIT_LOG).await
}

/// A state directory holding `request` and a configuration whose cluster reads `log`.
async fn recorded_with(request: &AccessRequest, log: &str) -> PathBuf {
    recorded_all(std::slice::from_ref(request), log).await
}

/// A state directory holding `requests` and a configuration whose cluster reads `log`.
async fn recorded_all(requests: &[AccessRequest], log: &str) -> PathBuf {
    let dir = temp_dir();
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let pool = powerpole_local::sqlite::open(state.join("powerpole.sqlite"))
        .await
        .unwrap();
    let store = SqliteStore::open(pool).await.unwrap();
    for request in requests {
        store.insert(request).await.unwrap();
    }
    std::fs::write(dir.join("audit.log"), log).unwrap();
    let config = dir.join("powerpole.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[state]
dir = "{state}"

[slack]
signing_secret = "s"
bot_token = "xoxb-audit-test"
approvers_channel = "C0APPROVE1"

[[clusters]]
id = "orders-prod"
region = "ap-northeast-1"
admin_url = "mysql://nobody:nothing@127.0.0.1:1"
audit_log = "{log}"
"#,
            state = state.display(),
            log = dir.join("audit.log").display(),
        ),
    )
    .unwrap();
    config
}

fn audit(config: &Path, args: &[&str]) -> Output {
    powerpole(config, "audit", args)
}

fn powerpole(config: &Path, command: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_powerpole"))
        .arg(command)
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_receipt_of_a_recorded_request_is_markdown_by_default() {
    let config = recorded().await;

    let out = audit(&config, &[ID]);

    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(&format!("# Session receipt — request {ID}")),
        "{text}"
    );
    for expected in [
        "| Requester | U0REQUESTER at 2026-11-23T09:50:00Z |",
        "| Decision | approved by U0APPROVER at 2026-11-23T09:55:00Z |",
        "| Window granted | 2026-11-23T10:00:00Z → 2026-11-23T11:00:00Z |",
        "| Window used | 2026-11-23T10:02:00Z → 2026-11-23T10:08:00Z |",
        "| Level | DDL granted, used |",
        "## Statements (5)",
        "2 read · 1 dml · 1 ddl · 1 dcl · 0 other",
        "CREATE TABLE notes (id INT);",
        "#41 read -- error 1146\nSELECT * FROM nope;",
        "- `shop.orders`",
        "no bastion in local mode",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    assert!(
        text.contains("| Reason | INC-9   fix the orders schema |"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "never a password:\n{text}");
    assert!(
        !text.contains("DROP TABLE shop.orders"),
        "another user's statement"
    );
}

#[tokio::test]
async fn the_receipt_as_json_lists_counts_statements_and_tables() {
    let config = recorded().await;

    let out = audit(&config, &[ID, "--json"]);

    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let receipt: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(receipt["request"], ID);
    assert_eq!(receipt["decision"]["by"], "U0APPROVER");
    let db = &receipt["database"];
    assert_eq!(
        db["counts"],
        serde_json::json!({"read": 2, "dml": 1, "ddl": 1, "dcl": 1, "other": 0})
    );
    assert_eq!(db["ddl_dcl"][0]["statement"], "CREATE TABLE notes (id INT)");
    assert_eq!(
        db["ddl_dcl"][1]["statement"],
        "ALTER USER CURRENT_USER() IDENTIFIED BY '*****'"
    );
    assert_eq!(db["failed"][0]["retcode"], 1146);
    assert_eq!(db["outside_window"], serde_json::json!([]));
    assert_eq!(
        db["tables"],
        serde_json::json!(["shop.nope", "shop.notes", "shop.orders"])
    );
    assert_eq!(db["used"]["last_disconnect"], "2026-11-23T10:08:00Z");
    assert!(receipt["bastion_sessions"]["unavailable"].is_string());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("hunter2"));
}

#[tokio::test]
async fn an_unknown_or_malformed_id_fails_with_a_clear_message() {
    let config = recorded().await;

    let unknown = audit(&config, &["01KAXR4C1PRECE1PTC11999999"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&unknown.stderr).trim(),
        "powerpole: no request 01KAXR4C1PRECE1PTC11999999"
    );
    assert!(unknown.stdout.is_empty());

    let malformed = audit(&config, &["not-an-id"]);
    assert_eq!(malformed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&malformed.stderr).contains("not a request id"));
}

fn receipt_json(config: &Path) -> Value {
    let out = audit(config, &[ID, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn times(statements: &Value) -> Vec<&str> {
    statements
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["at"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_first_second_of_the_window_is_inside_it() {
    let approved = T0 + Duration::milliseconds(355);
    let config = recorded_with(
        &ended_approved_at(approved),
        "\
20261123 09:59:59,db,keisuke.owato,10.0.0.9,41,0,CONNECT,shop,,0
20261123 09:59:59,db,keisuke.owato,10.0.0.9,41,1,QUERY,shop,'SELECT 0',0
20261123 10:00:00,db,keisuke.owato,10.0.0.9,41,2,QUERY,shop,'SELECT 1',0
20261123 11:00:00,db,keisuke.owato,10.0.0.9,41,3,QUERY,shop,'SELECT 2',0
20261123 11:00:01,db,keisuke.owato,10.0.0.9,41,4,QUERY,shop,'SELECT 3',0
",
    )
    .await;

    let receipt = receipt_json(&config);

    assert_eq!(receipt["granted"]["start"], "2026-11-23T10:00:00.355Z");
    assert_eq!(
        receipt["level_needed"], "READ",
        "DDL was granted and only SELECTs ran"
    );
    let text = String::from_utf8(audit(&config, &[ID]).stdout).unwrap();
    assert!(
        text.contains("| Level | DDL granted; READ would have done |"),
        "{text}"
    );
    assert_eq!(
        times(&receipt["database"]["outside_window"]),
        ["2026-11-23T09:59:59Z", "2026-11-23T11:00:01Z"],
        "the server logs whole seconds: 10:00:00 and 11:00:00 may be inside a window of \
         10:00:00.355–11:00:00.355"
    );
}

#[tokio::test]
async fn on_a_compressed_clock_the_log_is_read_on_the_brokers_time() {
    // At real 08:00:00 the broker's clock (60 times faster) showed T0 = 10:00: its window of
    // 10:00–11:00 is one real minute, 08:00:00–08:01:00, in which the server logged. The grace
    // around it is 5 minutes of broker time (5 real seconds): the session 30 real seconds
    // before is someone else's business.
    let config = recorded_with(
        &ended_approved_at(T0),
        "\
20261123 07:59:30,db,keisuke.owato,10.0.0.9,40,1,QUERY,shop,'SELECT earlier',0
20261123 07:59:58,db,keisuke.owato,10.0.0.9,41,1,QUERY,shop,'SELECT 0',0
20261123 08:00:10,db,keisuke.owato,10.0.0.9,41,0,CONNECT,shop,,0
20261123 08:00:20,db,keisuke.owato,10.0.0.9,41,2,QUERY,shop,'SELECT 1',0
20261123 08:00:50,db,keisuke.owato,10.0.0.9,41,3,QUERY,shop,'SELECT 2',0
20261123 08:01:02,db,keisuke.owato,10.0.0.9,41,4,QUERY,shop,'SELECT 3',0
20261123 08:01:04,db,keisuke.owato,10.0.0.9,41,0,DISCONNECT,shop,,0
",
    )
    .await;
    let state = config.parent().unwrap().join("state");
    let anchor = (
        datetime!(2026-11-23 08:00 UTC).unix_timestamp_nanos(),
        T0.unix_timestamp_nanos(),
        60.0,
    );
    std::fs::write(
        state.join("clock.json"),
        serde_json::to_vec(&anchor).unwrap(),
    )
    .unwrap();

    let receipt = receipt_json(&config);

    let db = &receipt["database"];
    assert_eq!(db["statements"], 4, "{db}");
    assert_eq!(
        times(&db["outside_window"]),
        ["2026-11-23T09:58:00Z", "2026-11-23T11:02:00Z"],
        "{db}"
    );
    assert_eq!(db["used"]["first_connect"], "2026-11-23T10:10:00Z");
    assert_eq!(db["used"]["last_disconnect"], "2026-11-23T11:04:00Z");
}

const DAY: [&str; 4] = ["--since", "2026-11-23", "--until", "2026-11-24"];

/// `powerpole report` for 23 November with `args`, written to a file in `config`'s directory:
/// the file's text.
fn report_html(config: &Path, args: &[&str]) -> String {
    let out = config.parent().unwrap().join("report.html");
    let output = powerpole(
        config,
        "report",
        &[&DAY[..], args, &["--out", out.to_str().unwrap()]].concat(),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let said = String::from_utf8(output.stdout).unwrap();
    assert!(
        said.starts_with(&format!("wrote {}", out.display())),
        "{said}"
    );
    std::fs::read_to_string(out).unwrap()
}

/// The text of `html` between the `id="anomalies"` heading and the timeline.
fn anomalies_section(html: &str) -> &str {
    let from = html.find("id=\"anomalies\"").unwrap();
    let to = html.find("id=\"timeline\"").unwrap();
    &html[from..to]
}

/// [`ended`] under another id, on another day.
fn ended_a_week_later() -> AccessRequest {
    let mut spec = ended().spec().clone();
    spec.window = AccessWindow::request(
        T0 + Duration::days(7),
        Duration::hours(1),
        T0 + Duration::days(7),
        &WindowPolicy::default(),
    )
    .unwrap();
    AccessRequest::submit(
        RequestId::parse("01KAXR4C1PRECE1PTC11000009").unwrap(),
        SlackUserId::parse("U0REQUESTER").unwrap(),
        DbUsername::parse("keisuke.owato").unwrap(),
        spec,
        T0 + Duration::days(7),
    )
}

#[tokio::test]
async fn the_report_of_a_day_puts_its_anomalies_first_and_never_a_password() {
    let config = recorded_all(&[ended(), ended_a_week_later()], AUDIT_LOG).await;

    let html = report_html(&config, &[]);

    let anomalies = anomalies_section(&html);
    for expected in [
        "Failed statement",
        "SELECT * FROM nope",
        "error 1146, session #41",
        "Login from an unexpected host",
        "10.0.0.9",
        "DDL statement",
        "CREATE TABLE notes (id INT)",
        "ALTER USER CURRENT_USER() IDENTIFIED BY &#39;*****&#39;",
    ] {
        assert!(anomalies.contains(expected), "{expected:?} in {anomalies}");
    }
    assert!(html.contains(&format!("id=\"r-{ID}\"")));
    assert!(
        !html.contains("01KAXR4C1PRECE1PTC11000009"),
        "a request of another week"
    );
    assert!(html.contains("INC-9 | fix the orders schema"));
    assert!(html.contains("<svg"), "the day's timeline");
    assert!(!html.contains("hunter2"));
    assert!(!html.contains("DROP TABLE shop.orders"), "another user's");

    let expected_there = report_html(&config, &["--expected-host", "10.0.%"]);
    assert!(!anomalies_section(&expected_there).contains("unexpected host"));
    let elsewhere = report_html(&config, &["--cluster", "billing-prod"]);
    assert!(elsewhere.contains("No request in this period."));
}

#[tokio::test]
async fn hostile_reasons_and_statements_render_as_text() {
    let hostile = "</html><script>alert(1)</script>{{constructor}}";
    let mut request = ended();
    let mut spec = request.spec().clone();
    spec.reason = Reason::parse(&format!("INC-9 {hostile}")).unwrap();
    request = AccessRequest::restore(
        request.id(),
        request.requester().clone(),
        request.db_username().clone(),
        spec,
        request.events().to_vec(),
        request.resources().clone(),
    )
    .unwrap();
    let log = format!(
        "20261123 10:02:00,db,keisuke.owato,10.0.0.9,41,5,QUERY,shop,'SELECT \\'{hostile}\\'',1064\n"
    );
    let config = recorded_with(&request, &log).await;

    let html = report_html(&config, &[]);

    assert_eq!(html.matches("<script").count(), 1, "only the page's own");
    assert_eq!(html.matches("</html>").count(), 1);
    assert!(!html.contains("{{"), "no template syntax survives");
    assert!(html.contains(
        "INC-9 &lt;/html&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#123;&#123;constructor&#125;&#125;"
    ));
    assert!(
        anomalies_section(&html)
            .contains("SELECT &#39;&lt;/html&gt;&lt;script&gt;alert(1)&lt;/script&gt;")
    );
}

const REQUEST_KEYS: [&str; 24] = [
    "anomalies",
    "approvals",
    "approvals_required",
    "auto_approved",
    "bastion",
    "bastion_sessions",
    "cluster",
    "database",
    "db_user",
    "decision",
    "ended_at",
    "extensions",
    "granted",
    "held",
    "level_needed",
    "permission",
    "reason",
    "record",
    "region",
    "request",
    "requested",
    "requested_at",
    "requester",
    "state",
];

#[tokio::test]
async fn the_report_as_json_lines_is_one_object_per_request_in_the_documented_schema() {
    let config = recorded_all(&[ended(), ended_a_week_later()], AUDIT_LOG).await;

    let out = powerpole(
        &config,
        "report",
        &["--since", "2026-11-01", "--until", "2026-12-01", "--json"],
    );

    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    for line in &lines {
        let keys: Vec<&str> = line
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, REQUEST_KEYS, "{line}");
        assert_eq!(line["record"], "request");
    }
    let first = &lines[0];
    assert_eq!(first["request"], ID);
    assert_eq!(first["requested"]["start"], "2026-11-23T10:00:00Z");
    assert_eq!(first["held"]["to"], "2026-11-23T11:00:00Z");
    assert_eq!(first["held"]["still_held"], false);
    assert_eq!(
        first["approvals"],
        serde_json::json!([{"by": "U0APPROVER", "at": "2026-11-23T09:55:00Z"}])
    );
    assert_eq!(first["approvals_required"], 1);
    assert_eq!(first["auto_approved"], false);
    assert_eq!(first["extensions"], serde_json::json!([]));
    assert_eq!(first["database"]["logins"][0]["host"], "10.0.0.9");
    let kinds: Vec<&str> = first["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "unexpected_host",
            "failed_statement",
            "failed_statement",
            "ddl",
            "dcl"
        ]
    );
    let anomaly = first["anomalies"][1].as_object().unwrap();
    let anomaly_keys: Vec<&str> = anomaly.keys().map(String::as_str).collect();
    assert_eq!(
        anomaly_keys,
        [
            "at", "cluster", "db_user", "kind", "note", "request", "subject"
        ]
    );
    assert_eq!(anomaly["subject"], "SELECT * FROM nope");
    assert_eq!(lines[1]["held"], Value::Null, "never provisioned");
    assert_eq!(lines[1]["anomalies"], serde_json::json!([]));
    assert!(!text.contains("hunter2"));
}

#[tokio::test]
async fn a_period_that_ends_before_it_starts_is_refused() {
    let config = recorded().await;

    let out = powerpole(
        &config,
        "report",
        &["--since", "2026-11-24", "--until", "2026-11-23"],
    );

    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("--since"), "{said}");
    assert!(said.contains("must be after its start"), "{said}");
}

/// What `tests/browser/report_in_chromium.py` saw of a page.
struct Seen {
    requests: Vec<String>,
    problems: Vec<Value>,
    before: Value,
    after: Value,
}

/// Opens `report` in headless Chromium, takes a screenshot to `screenshot` and types `query` in
/// the search box.
fn open_in_chromium(chromium: &Path, report: &Path, screenshot: &Path, query: &str) -> Seen {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/report_in_chromium.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(chromium)
        .arg(report)
        .arg(screenshot)
        .arg(query)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the browser driver failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = |key: &str| seen[key].as_array().unwrap().clone();
    Seen {
        requests: list("requests")
            .iter()
            .map(|u| u.as_str().unwrap().to_owned())
            .collect(),
        problems: [list("console"), list("exceptions"), list("log")].concat(),
        before: seen["before"].clone(),
        after: seen["after"].clone(),
    }
}

#[tokio::test]
async fn in_a_real_browser_the_report_loads_nothing_else_logs_no_error_and_its_search_filters() {
    let Some(chromium) = powerpole_testkit::chromium() else {
        return;
    };
    let other = AccessRequest::submit(
        RequestId::parse("01KAXR4C1PRECE1PTC11000008").unwrap(),
        SlackUserId::parse("U0OTHER").unwrap(),
        DbUsername::parse("someone.else").unwrap(),
        AccessSpec {
            reason: Reason::parse("INC-10 </script><script>document.title='owned'</script>")
                .unwrap(),
            ..ended().spec().clone()
        },
        T0 - Duration::minutes(30),
    );
    let config = recorded_all(&[ended(), other], AUDIT_LOG).await;
    let dir = config.parent().unwrap().to_path_buf();
    let html = report_html(&config, &[]);
    let report = dir.join("report.html");
    let screenshot = dir.join("report.png");

    let seen = open_in_chromium(&chromium, &report, &screenshot, "NOPE");

    eprintln!("screenshot of the report: {}", screenshot.display());
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG screenshot");
    assert!(
        png.len() > 10_000,
        "a screenshot of a page with something on it"
    );
    let file_url = format!(
        "file://{}",
        std::fs::canonicalize(&report).unwrap().display()
    );
    assert_eq!(seen.requests, [file_url], "no request but the file itself");
    assert!(
        seen.problems.is_empty(),
        "console errors: {:?}",
        seen.problems
    );
    let total = seen.before["total"].as_u64().unwrap();
    assert!(
        total >= 6,
        "anomalies and both requests are searchable: {}",
        seen.before
    );
    assert_eq!(seen.before["visible"], total);
    assert_eq!(
        seen.before["counter"],
        format!("{total} of {total} entries shown")
    );
    assert_eq!(
        seen.after["ids"],
        serde_json::json!(["failed_statement", format!("r-{ID}")]),
        "the failed statement naming `nope` and its request, whatever the case: {}",
        seen.after
    );
    assert_eq!(seen.after["counter"], format!("2 of {total} entries shown"));
    assert!(html.contains("&lt;/script&gt;&lt;script&gt;document.title="));
}
