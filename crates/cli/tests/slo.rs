//! `powerpole slo --config FILE [--json]` as a separate process over a state directory holding
//! request histories built through the lifecycle: the figures, and each objective met, missed or
//! without data. Also what every state reader shares: `--config` anywhere on the command line,
//! and `requests list` as a table whose columns line up.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use powerpole_core::ports::{Orphan, RequestStore, ResourceKind};
use powerpole_core::{
    AccessRequest, AccessSpec, AccessWindow, Actor, BastionId, ClusterId, Component, DbUsername,
    Email, Permission, Reason, Region, RequestId, SlackUserId, Transition, WindowPolicy,
};
use powerpole_local::SqliteStore;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

const WORKFLOW: Actor = Actor::System(Component::Workflow);

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "powerpole-slo-{tag}-{}-{}",
        std::process::id(),
        OffsetDateTime::now_utc().unix_timestamp_nanos()
    ));
    std::fs::create_dir_all(dir.join("state")).unwrap();
    dir
}

fn write_config(dir: &Path) -> PathBuf {
    let path = dir.join("powerpole.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[state]
dir = "{state}"

[slack]
signing_secret = "slo-test-signing-secret"
bot_token = "xoxb-slo-test"
approvers_channel = "C0APPROVE1"

[[clusters]]
id = "slo-orders"
region = "ap-northeast-1"
admin_url = "mysql://nobody:nothing@127.0.0.1:1"
"#,
            state = dir.join("state").display(),
        ),
    )
    .unwrap();
    path
}

async fn store(dir: &Path) -> SqliteStore {
    let pool = powerpole_local::sqlite::open(dir.join("state/powerpole.sqlite"))
        .await
        .unwrap();
    SqliteStore::open(pool).await.unwrap()
}

fn slo(config: &Path, json: bool) -> String {
    let mut args = vec!["slo", "--config", config.to_str().unwrap()];
    if json {
        args.push("--json");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_powerpole"))
        .args(&args)
        .env_remove("POWERPOLE_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A request submitted `ago` before now, for one hour from its submission, by `who`.
fn submitted(ago: Duration, who: &str) -> AccessRequest {
    let at = OffsetDateTime::now_utc() - ago;
    let spec = AccessSpec {
        cluster: ClusterId::parse("slo-orders").unwrap(),
        region: Region::parse("ap-northeast-1").unwrap(),
        permission: Permission::Read,
        window: AccessWindow::request(at, Duration::hours(1), at, &WindowPolicy::default())
            .unwrap(),
        reason: Reason::parse("INC-9 SLO figures").unwrap(),
    };
    let email = Email::parse(&format!("{who}@example.com")).unwrap();
    AccessRequest::submit(
        ulid(at, who),
        SlackUserId::parse(&format!("U0{}", who.to_ascii_uppercase())).unwrap(),
        DbUsername::from_email(&email).unwrap(),
        spec,
        at,
    )
}

/// A request id made at `at`, its random part taken from `who` (distinct per request here).
fn ulid(at: OffsetDateTime, who: &str) -> RequestId {
    const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let millis = u128::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap();
    let tail = who.bytes().fold(0u128, |acc, b| {
        acc.wrapping_mul(131).wrapping_add(u128::from(b))
    });
    let value = (millis << 80) | (tail & ((1u128 << 80) - 1));
    let text: String = (0..26)
        .map(|i| char::from(CROCKFORD[((value >> (125 - 5 * i)) & 31) as usize]))
        .collect();
    RequestId::parse(&text).unwrap()
}

/// Approved `approve` s after submission, provisioning from 1 s later with a bastion, ready
/// `ready` s after the approval.
fn built(ago: Duration, who: &str, approve: i64, ready: i64) -> AccessRequest {
    let mut r = submitted(ago, who);
    let t0 = r.submitted_at();
    let approver = Actor::User(SlackUserId::parse("U0APPROVER").unwrap());
    r.apply(
        Transition::Approve,
        approver,
        t0 + Duration::seconds(approve),
        "",
    )
    .unwrap();
    let started = t0 + Duration::seconds(approve + 1);
    r.apply(Transition::StartProvisioning, WORKFLOW, started, "")
        .unwrap();
    r.record_bastion(BastionId(format!("i-{who}")), WORKFLOW, started);
    r.apply(
        Transition::Activate,
        WORKFLOW,
        t0 + Duration::seconds(approve + ready),
        "",
    )
    .unwrap();
    r
}

fn ended(mut r: AccessRequest) -> AccessRequest {
    let end = r.window().end();
    r.apply(Transition::StartTeardown, WORKFLOW, end, "")
        .unwrap();
    r.record_cleanup(WORKFLOW, end, "dropped").unwrap();
    r.apply(Transition::Finish, WORKFLOW, end, "").unwrap();
    r
}

#[tokio::test]
async fn the_figures_of_the_state_mark_each_objective_met_or_missed() {
    let dir = temp_dir("mixed");
    let config = write_config(&dir);
    let store = store(&dir).await;
    let on_time = ended(built(Duration::hours(3), "ontime", 60, 40));
    let slow = ended(built(Duration::hours(4), "slow", 120, 900));
    let mut stuck = submitted(Duration::hours(26), "stuck");
    let t0 = stuck.submitted_at();
    stuck
        .apply(
            Transition::Approve,
            Actor::User(SlackUserId::parse("U0APPROVER").unwrap()),
            t0 + Duration::seconds(30),
            "",
        )
        .unwrap();
    stuck
        .apply(
            Transition::StartProvisioning,
            WORKFLOW,
            t0 + Duration::hours(1),
            "",
        )
        .unwrap();
    stuck.record_bastion(
        BastionId("i-stuck".into()),
        WORKFLOW,
        t0 + Duration::hours(1),
    );
    stuck
        .apply(
            Transition::Fail,
            WORKFLOW,
            t0 + Duration::hours(2),
            "cluster down",
        )
        .unwrap();
    let pending = submitted(Duration::minutes(2), "pending");
    for r in [&on_time, &slow, &stuck, &pending] {
        store.insert(r).await.unwrap();
    }
    let now = OffsetDateTime::now_utc();
    for (resource, ago) in [("stray@orders", 30), ("i-0stray", 60 * 30)] {
        let orphan = Orphan {
            kind: ResourceKind::Account,
            resource: resource.into(),
            request: None,
            found_at: now - Duration::minutes(ago),
            detail: "dropped: it names no request".into(),
        };
        store.record_orphan(&orphan).await.unwrap();
    }

    let figures: Value = serde_json::from_str(&slo(&config, true)).unwrap();

    assert_eq!(figures["requests"], 4);
    assert_eq!(figures["builds"]["succeeded"], 2);
    assert_eq!(figures["builds"]["failed"], 1);
    let statuses: Vec<(&str, &str)> = figures["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["objective"].as_str().unwrap(),
                o["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("build_success", "missed"),
            ("time_to_ready", "missed"),
            ("bastion_lifetime", "missed"),
            ("user_lifetime", "missed"),
        ]
    );
    let ready = &figures["time_to_ready_seconds"];
    assert_eq!(
        (&ready["count"], &ready["p50"], &ready["max"]),
        (&Value::from(2), &Value::from(40.0), &Value::from(900.0))
    );
    assert_eq!(figures["ready_late"], 1);
    assert_eq!(figures["time_to_approve_seconds"]["count"], 3);
    assert_eq!(figures["time_to_approve_seconds"]["max"], 120.0);
    assert_eq!(figures["teardowns"]["succeeded"], 2);
    assert_eq!(figures["teardowns"]["failed"], 1);
    let oldest = &figures["oldest_live_user"];
    assert_eq!(oldest["request_id"], stuck.id().to_string());
    let age = oldest["age_seconds"].as_f64().unwrap();
    assert!(
        (25.0 * 3600.0..25.0 * 3600.0 + 300.0).contains(&age),
        "{age}"
    );
    assert_eq!(
        figures["oldest_live_bastion"]["request_id"],
        stuck.id().to_string()
    );
    assert_eq!(figures["users_over_lifetime"], 1);
    assert_eq!(figures["orphans"]["last_24h"], 1);
    assert_eq!(figures["orphans"]["recorded"], 2);
    assert!(
        figures.get("orphans_found").is_none(),
        "no local source yet"
    );

    let text = slo(&config, false);
    assert!(text.contains("over 4 request(s)"), "{text}");
    assert!(
        text.contains("orphans found     1 in the last 24h (2 recorded, last at "),
        "{text}"
    );
    let line = |start: &str| {
        text.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no {start:?} line in\n{text}"))
            .to_owned()
    };
    let builds = line("builds succeed >= 99 %");
    assert!(
        builds.contains("MISSED") && builds.contains("66.67 % (2 of 3)"),
        "{builds}"
    );
    let ready = line("ready within 10m00s");
    assert!(
        ready.contains("MISSED") && ready.contains("max 15m00s"),
        "{ready}"
    );
    assert!(ready.contains("1 late"), "{ready}");
    let users = line("no DB user lives > 24h00m");
    assert!(
        users.contains("MISSED") && users.contains(&stuck.id().to_string()),
        "{users}"
    );
    assert!(
        line("teardowns").contains("2 succeeded, 1 failed"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_healthy_state_meets_every_objective_and_an_empty_one_has_no_data() {
    let dir = temp_dir("healthy");
    let config = write_config(&dir);
    let store = store(&dir).await;

    let empty: Value = serde_json::from_str(&slo(&config, true)).unwrap();
    let statuses: Vec<&str> = empty["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["no data", "no data", "met", "met"]);
    assert_eq!(empty["builds"]["success_rate"], Value::Null);
    assert_eq!(empty["orphans"]["recorded"], 0);

    store
        .insert(&ended(built(Duration::hours(2), "fine", 45, 35)))
        .await
        .unwrap();
    store
        .insert(&built(Duration::minutes(20), "live", 30, 38))
        .await
        .unwrap();
    let text = slo(&config, false);
    for start in ["builds succeed", "ready within", "no bastion", "no DB user"] {
        let line = text.lines().find(|l| l.starts_with(start)).unwrap();
        assert!(line.contains("  met  "), "{line}");
    }
    assert!(!text.contains("MISSED"), "{text}");
    assert!(text.contains("oldest live 19m"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_reader_that_goes_away_is_not_a_crash() {
    let dir = temp_dir("pipe");
    let config = write_config(&dir);
    let store = store(&dir).await;
    store
        .insert(&ended(built(Duration::hours(3), "piped", 60, 40)))
        .await
        .unwrap();

    for command in ["slo", "requests"] {
        let mut args = vec![command, "--config", config.to_str().unwrap()];
        if command == "requests" {
            args.push("list");
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_powerpole"))
            .args(&args)
            .env_remove("POWERPOLE_CONFIG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{command}: {stderr}");
        assert!(!stderr.contains("panicked"), "{command}: {stderr}");
    }
}

fn powerpole(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_powerpole"))
        .args(args)
        .env_remove("POWERPOLE_CONFIG")
        .output()
        .unwrap()
}

#[tokio::test]
async fn config_is_taken_before_or_after_the_subcommand_and_its_absence_is_explained() {
    let dir = temp_dir("config");
    let config = write_config(&dir);
    let store = store(&dir).await;
    store
        .insert(&ended(built(Duration::hours(2), "placed", 60, 40)))
        .await
        .unwrap();
    let file = config.to_str().unwrap();

    let mut answers = Vec::new();
    for args in [
        vec!["requests", "list", "--config", file],
        vec!["requests", "--config", file, "list"],
        vec!["--config", file, "requests", "list"],
        vec!["requests", "list", "-c", file],
    ] {
        let out = powerpole(&args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        answers.push(String::from_utf8(out.stdout).unwrap());
    }
    assert!(answers[0].contains("slo-orders"), "{}", answers[0]);
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:#?}");
    let slo = powerpole(&["slo", "--json", "--config", file]);
    assert!(
        slo.status.success(),
        "{}",
        String::from_utf8_lossy(&slo.stderr)
    );

    let missing = powerpole(&["requests", "list"]);
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("--config FILE") && stderr.contains("POWERPOLE_CONFIG"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_requests_table_lines_up_whatever_the_lengths_of_its_cells() {
    let dir = temp_dir("table");
    let config = write_config(&dir);
    let store = store(&dir).await;
    for (ago, who) in [(3, "al"), (2, "bartholomewfeath"), (1, "cy")] {
        store
            .insert(&ended(built(Duration::hours(ago), who, 60, 40)))
            .await
            .unwrap();
    }

    let out = powerpole(&["requests", "list", "--config", config.to_str().unwrap()]);

    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Vec<char>> = table.lines().map(|l| l.chars().collect()).collect();
    assert_eq!(lines.len(), 4, "{table}");
    let header: String = lines[0].iter().collect();
    for column in ["STATE", "CLUSTER", "LVL", "DB USER", "WINDOW (UTC)"] {
        let at = header[..header.find(column).unwrap()].chars().count();
        for line in &lines[1..] {
            assert!(
                line[at - 2..at].iter().all(|c| *c == ' ') && line[at] != ' ',
                "{column} starts at column {at} in every row:\n{table}"
            );
        }
    }
    assert!(table.contains("bartholomewfeath  "), "{table}");
    std::fs::remove_dir_all(&dir).unwrap();
}
