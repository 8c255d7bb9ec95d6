//! `powerpole serve` as a separate process with a configuration file, driven only over HTTP
//! with signed Slack requests, against the fake Slack Web API and the test MariaDB; then
//! `powerpole requests show`. Also: a SIGKILL mid-request loses nothing, a broker killed for good
//! still loses the user its access (the database's backstop), and bad configuration stops the
//! broker with one line naming the key and exit code 2.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use powerpole_testkit::fake_slack::{self, FakeCall, FakeSlack, signed_form_headers};
use powerpole_testkit::serve_config::ServeConfig;
use powerpole_testkit::slack_payloads::{
    RequestInput, button_click, interaction_form, request_submission,
};
use serde_json::Value;
use sqlx::mysql::MySqlConnectOptions;
use sqlx::{ConnectOptions as _, Executor as _};

const SECRET: &str = "serve-test-signing-secret";
const APPROVERS: &str = "C0APPROVE1";
const APPROVER: &str = "U0APPROVE1";
const PATIENCE: Duration = Duration::from_secs(60);

/// All tests share one MariaDB and its registry of broker-made accounts, and `powerpole sweep`
/// removes every registered account its own state does not know: the sweep test holds this for
/// writing, every test that needs its DB user to live holds it for reading.
static ACCOUNTS: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

struct Broker {
    dir: PathBuf,
    config: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "powerpole-serve-{tag}-{}-{}",
        std::process::id(),
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A configuration file for a broker on a free port, clock at `speed`, talking to `slack`; the
/// admin URL comes from the environment (as the example recommends for secrets).
fn write_config(dir: &Path, slack_api: &str, speed: u32, port: u16) -> PathBuf {
    let path = dir.join("powerpole.toml");
    let state_dir = dir.join("state");
    let config = ServeConfig {
        port,
        state_dir: &state_dir,
        speed,
        slack_api,
        bot_token: "xoxb-serve-test",
        approvers_channel: APPROVERS,
        cluster: "serve-orders",
    };
    std::fs::write(&path, config.to_toml()).unwrap();
    path
}

fn powerpole(args: &[&str], admin_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_powerpole"));
    command
        .args(args)
        .env("POWERPOLE__SLACK__SIGNING_SECRET", SECRET)
        .env("POWERPOLE__CLUSTERS__0__ADMIN_URL", admin_url)
        .env("RUST_LOG", "info");
    command
}

impl Broker {
    async fn start(dir: &Path, config: &Path, port: u16, admin_url: &str) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("serve.log"))
            .unwrap();
        let child = powerpole(&["serve", "--config", config.to_str().unwrap()], admin_url)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let broker = Self {
            dir: dir.to_owned(),
            config: config.to_owned(),
            port,
            child: Some(child),
        };
        let health = format!("http://127.0.0.1:{port}/healthz");
        for _ in 0..600 {
            if let Ok(reply) = fake_slack::get::<&str, &str>(&health, &[]).await
                && reply.status == 200
            {
                return broker;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("serve never became healthy:\n{}", broker.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default()
    }

    fn kill(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    async fn interact(&self, payload: &Value) -> fake_slack::HttpReply {
        let body = interaction_form(payload);
        let url = format!("http://127.0.0.1:{}/slack/interactions", self.port);
        fake_slack::post(&url, &signed_form_headers(SECRET, &body), body)
            .await
            .unwrap()
    }

    fn requests(&self, args: &[&str], admin_url: &str) -> String {
        let mut all = vec!["requests", "--config", self.config.to_str().unwrap()];
        all.extend_from_slice(args);
        let out = powerpole(&all, admin_url).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn show(&self, id: &str, admin_url: &str) -> Value {
        serde_json::from_str(&self.requests(&["show", id, "--json"], admin_url)).unwrap()
    }
}

async fn wait_for(slack: &FakeSlack, what: &str, wanted: impl Fn(&FakeCall) -> bool) -> FakeCall {
    slack
        .wait_for_calls_where(PATIENCE, wanted)
        .await
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no {what} in {:#?}", slack.calls()))
}

fn dm_containing<'a>(requester: &'a str, text: &'a str) -> impl Fn(&FakeCall) -> bool + 'a {
    move |c| {
        c.method == "chat.postMessage"
            && c.str("channel") == Some(requester)
            && c.str("text").is_some_and(|t| t.contains(text))
    }
}

/// Runs the ready DM's `command` in bash as the requester would paste it, typing `sql` into
/// the `mysql` it starts.
fn pasted(command: &str, sql: &str) -> std::process::Output {
    let mut mysql = Command::new("bash")
        .args(["-c", command])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    mysql
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    mysql.wait_with_output().unwrap()
}

async fn user_exists(admin: &MySqlConnectOptions, user: &str) -> bool {
    powerpole_testkit::mysql::user_exists(admin, user)
        .await
        .unwrap()
}

/// The requester submits, the approver approves; returns the request id once access is ready.
async fn request_and_approve(broker: &Broker, slack: &FakeSlack, requester: &str) -> String {
    let reply = broker
        .interact(&request_submission(
            requester,
            &RequestInput {
                cluster: "serve-orders",
                region: "ap-northeast-1",
                permission: "READ",
                duration_minutes: "15",
                reason: "INC-9 look at the orders",
            },
        ))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let card = wait_for(slack, "approval card", |c| {
        c.method == "chat.postMessage" && c.str("channel") == Some(APPROVERS)
    })
    .await;
    let id = card.body["blocks"].to_string();
    let id = id
        .split("\"value\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let ts = card.response["ts"].as_str().unwrap();
    let reply = broker
        .interact(&button_click(APPROVER, APPROVERS, ts, "approve", &id))
        .await;
    assert_eq!(reply.status, 200);
    wait_for(slack, "ready DM", dm_containing(requester, "ready")).await;
    id
}

#[tokio::test]
async fn a_request_goes_through_the_served_broker_and_requests_show_tells_its_story() {
    let Some(admin_url) = powerpole_testkit::mysql_admin_url() else {
        return;
    };
    let _accounts = ACCOUNTS.read().await;
    let admin: MySqlConnectOptions = admin_url.parse().unwrap();
    let slack = FakeSlack::start().await.unwrap();
    let requester = "U0SERVE001";
    slack.set_user_email(
        requester,
        &format!("serve.one.{}@example.com", std::process::id()),
    );
    slack.set_channel_members(APPROVERS, &[APPROVER]);
    let dir = temp_dir("one");
    let port = free_port();
    let config = write_config(&dir, &slack.api_url(), 150, port);
    let broker = Broker::start(&dir, &config, port, &admin_url).await;

    let unsigned = fake_slack::post(
        &format!("http://127.0.0.1:{port}/slack/interactions"),
        &[("content-type", "application/x-www-form-urlencoded")],
        "payload=%7B%7D",
    )
    .await
    .unwrap();
    assert_eq!(unsigned.status, 401);
    let id = request_and_approve(&broker, &slack, requester).await;

    let shown = broker.show(&id, &admin_url);
    let user = shown["db_user"].as_str().unwrap().to_owned();
    assert_eq!(shown["state"], "active");
    assert!(user_exists(&admin, &user).await);
    let secret: Value = serde_json::from_slice(
        &std::fs::read(dir.join("state/secrets").join(format!("{id}.json"))).unwrap(),
    )
    .unwrap();
    let mut session = admin
        .clone()
        .username(&user)
        .password(secret["password"].as_str().unwrap())
        .connect()
        .await
        .expect("the requester logs in with the stored password");
    session.execute("SELECT 1").await.unwrap();

    wait_for(&slack, "ended DM", dm_containing(requester, "has ended")).await;
    let done = broker.show(&id, &admin_url);
    assert_eq!(done["state"], "ended");
    let kinds: Vec<&str> = done["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .filter(|k| *k != "step")
        .collect();
    assert_eq!(
        kinds,
        [
            "submitted",
            "surveyed",
            "approved",
            "provisioning_started",
            "activated",
            "teardown_started",
            "cleaned_up",
            "ended"
        ]
    );
    assert!(!user_exists(&admin, &user).await);
    assert!(session.execute("SELECT 1").await.is_err(), "session killed");
    let listed: Value =
        serde_json::from_str(&broker.requests(&["list", "--json"], &admin_url)).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["state"], "ended");
    let table = broker.requests(&["list"], &admin_url);
    assert!(table.lines().nth(1).unwrap().starts_with(&id), "{table}");
    let text = broker.requests(&["show", &id], &admin_url);
    assert!(
        text.contains("cleaned_up") && text.contains(&user),
        "{text}"
    );
    assert!(
        !broker.log().contains(secret["password"].as_str().unwrap()),
        "no password in the logs"
    );
}

#[tokio::test]
async fn a_broker_killed_mid_request_picks_it_up_again_and_drops_the_account_on_time() {
    let Some(admin_url) = powerpole_testkit::mysql_admin_url() else {
        return;
    };
    let _accounts = ACCOUNTS.read().await;
    let admin: MySqlConnectOptions = admin_url.parse().unwrap();
    let slack = FakeSlack::start().await.unwrap();
    let requester = "U0SERVE002";
    slack.set_user_email(
        requester,
        &format!("serve.two.{}@example.com", std::process::id()),
    );
    slack.set_channel_members(APPROVERS, &[APPROVER]);
    let dir = temp_dir("kill");
    let port = free_port();
    let config = write_config(&dir, &slack.api_url(), 150, port);
    let mut broker = Broker::start(&dir, &config, port, &admin_url).await;
    let id = request_and_approve(&broker, &slack, requester).await;
    let active = broker.show(&id, &admin_url);
    let user = active["db_user"].as_str().unwrap().to_owned();
    let end = time::OffsetDateTime::parse(
        active["end"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();

    broker.kill();
    assert!(
        user_exists(&admin, &user).await,
        "killing the broker removes nothing"
    );
    let broker = Broker::start(&dir, &config, port, &admin_url).await;

    wait_for(&slack, "ended DM", dm_containing(requester, "has ended")).await;
    let done = broker.show(&id, &admin_url);
    assert_eq!(done["state"], "ended");
    assert!(!user_exists(&admin, &user).await);
    let ended_at = done["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "ended")
        .map(|e| {
            time::OffsetDateTime::parse(
                e["at"].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
        })
        .unwrap();
    assert!(
        ended_at >= end && ended_at - end < time::Duration::minutes(5),
        "dropped at the end of the window ({end}), not at {ended_at}"
    );
}

#[tokio::test]
async fn a_broker_killed_for_good_still_ends_access_on_time_through_the_database() {
    let Some(admin_url) = powerpole_testkit::mysql_admin_url() else {
        return;
    };
    let admin: MySqlConnectOptions = admin_url.parse().unwrap();
    let slack = FakeSlack::start().await.unwrap();
    let requester = "U0SERVE003";
    slack.set_user_email(
        requester,
        &format!("serve.three.{}@example.com", std::process::id()),
    );
    slack.set_channel_members(APPROVERS, &[APPROVER]);
    let dir = temp_dir("backstop");
    let port = free_port();
    // 150x: the 15-minute window is 6 s, the backstop's 10 minutes of grace 4 s.
    let config = write_config(&dir, &slack.api_url(), 150, port);
    let mut broker = Broker::start(&dir, &config, port, &admin_url).await;
    let id = request_and_approve(&broker, &slack, requester).await;
    let user = broker.show(&id, &admin_url)["db_user"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret: Value = serde_json::from_slice(
        &std::fs::read(dir.join("state/secrets").join(format!("{id}.json"))).unwrap(),
    )
    .unwrap();
    let login = admin
        .clone()
        .username(&user)
        .password(secret["password"].as_str().unwrap());
    let mut session = login.connect().await.expect("the requester logs in");
    session.execute("SELECT 1").await.unwrap();

    broker.kill();

    let mut refused = None;
    for _ in 0..300 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Err(e) = login.connect().await {
            refused = Some(e.to_string());
            break;
        }
    }
    let refused = refused.expect("the server locks the account within 30 s, no broker running");
    assert!(refused.contains("locked"), "{refused}");
    // The event locks the account first, then kills its sessions: a login can be refused a
    // moment before the session is gone.
    let mut killed = false;
    for _ in 0..50 {
        if session.execute("SELECT 1").await.is_err() {
            killed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(killed, "the open session is gone within 5 s of the lock");
    assert!(
        user_exists(&admin, &user).await,
        "locked by the server, left for the broker or the sweeper to drop"
    );
    let mut conn = admin.connect().await.unwrap();
    conn.execute(sqlx::AssertSqlSafe(format!("DROP USER '{user}'@'%'")))
        .await
        .unwrap();
    sqlx::query("DELETE FROM powerpole.managed_accounts WHERE user = ?")
        .bind(&user)
        .execute(&mut conn)
        .await
        .unwrap();
}

fn exit_of(config: &Path, admin_url: &str) -> (Option<i32>, String) {
    let out = powerpole(&["serve", "--config", config.to_str().unwrap()], admin_url)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn bad_configuration_stops_the_broker_with_one_line_naming_the_key() {
    let dir = temp_dir("bad");
    let good = write_config(&dir, "http://127.0.0.1:9/api", 1, free_port());
    let text = std::fs::read_to_string(&good).unwrap();
    let variant = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let missing = variant(
        "missing.toml",
        text.replace("approvers_channel = \"C0APPROVE1\"\n", ""),
    );
    let wrong_type = variant("type.toml", text.replace("speed = 1", "speed = \"fast\""));
    let unreachable_port = free_port();
    let cases = [
        (
            missing,
            "mysql://a:b@127.0.0.1:1".to_owned(),
            "approvers_channel",
        ),
        (wrong_type, "mysql://a:b@127.0.0.1:1".to_owned(), "speed"),
        (
            good.clone(),
            format!("mysql://powerpole_admin:wrong-secret-pw@127.0.0.1:{unreachable_port}"),
            "clusters[0].admin_url",
        ),
    ];

    for (config, admin_url, key) in cases {
        let (code, stderr) = exit_of(&config, &admin_url);
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("powerpole:"))
            .collect();
        assert_eq!(code, Some(2), "{key}: {stderr}");
        assert_eq!(lines.len(), 1, "{key}: {stderr}");
        assert!(lines[0].contains(key), "{key}: {stderr}");
        assert!(
            !stderr.contains("wrong-secret-pw"),
            "a secret was printed: {stderr}"
        );
    }
}

/// Multi-threaded: the fake Slack answers the sweep process while the test waits for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn powerpole_sweep_removes_what_no_request_owns_and_leaves_an_active_request_alone() {
    let Some(admin_url) = powerpole_testkit::mysql_admin_url() else {
        return;
    };
    let _accounts = ACCOUNTS.write().await;
    let admin: MySqlConnectOptions = admin_url.parse().unwrap();
    let slack = FakeSlack::start().await.unwrap();
    let requester = "U0SWEEP001";
    slack.set_user_email(
        requester,
        &format!("serve.sweep.{}@example.com", std::process::id()),
    );
    slack.set_channel_members(APPROVERS, &[APPROVER]);
    let dir = temp_dir("sweep");
    let port = free_port();
    let config = write_config(&dir, &slack.api_url(), 10, port);
    let broker = Broker::start(&dir, &config, port, &admin_url).await;
    let id = request_and_approve(&broker, &slack, requester).await;
    let active_user = broker.show(&id, &admin_url)["db_user"]
        .as_str()
        .unwrap()
        .to_owned();
    // A DB user and a secret file of a request the state never held.
    let cluster = powerpole_core::ClusterId::parse("serve-orders").unwrap();
    let accounts = powerpole_mysql::MySqlAccounts::new().with_cluster(
        cluster.clone(),
        admin.clone(),
        powerpole_mysql::AccountSettings::new(),
    );
    let unknown = powerpole_core::RequestId::parse("01JDX0000000000000000SWEEP").unwrap();
    let stray = format!("stray-{:x}", std::process::id());
    powerpole_core::ports::DbAccounts::create(
        &accounts,
        &cluster,
        unknown,
        &powerpole_core::DbUsername::parse(&stray).unwrap(),
        &powerpole_core::DbPassword::generate(),
        &powerpole_core::GrantPlan::new(powerpole_core::Permission::Read, []).unwrap(),
        time::Duration::hours(1),
    )
    .await
    .unwrap();
    let stray_secret = dir.join("state/secrets").join(format!("{unknown}.json"));
    std::fs::write(&stray_secret, "{}").unwrap();
    let sweep = |json: bool| {
        let mut args = vec!["sweep", "--config", config.to_str().unwrap()];
        if json {
            args.push("--json");
        }
        powerpole(&args, &admin_url).output().unwrap()
    };

    let out = sweep(true);

    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let removed: Vec<(String, bool)> = report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["request_id"] == unknown.to_string())
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_owned(),
                a["orphan"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        removed,
        [("account".to_owned(), true), ("secret".to_owned(), true)]
    );
    assert!(
        !report["actions"].to_string().contains(&id),
        "the active request is left alone: {report}"
    );
    assert!(!user_exists(&admin, &stray).await);
    assert!(!stray_secret.exists());
    assert!(user_exists(&admin, &active_user).await);
    assert_eq!(broker.show(&id, &admin_url)["state"], "active");
    let told = wait_for(&slack, "sweep report", |c| {
        c.method == "chat.postMessage"
            && c.str("channel") == Some(APPROVERS)
            && c.str("text").is_some_and(|t| t.contains(&stray))
    })
    .await;
    assert!(told.ok());

    let again = sweep(false);
    assert!(again.status.success());
    let text = String::from_utf8(again.stdout).unwrap();
    assert!(text.contains("0 action(s), 0 problem(s)"), "{text}");
    assert!(text.contains("oldest DB user left: "), "{text}");

    drop(broker);
    powerpole_core::ports::DbAccounts::remove(
        &accounts,
        &cluster,
        &powerpole_core::DbUsername::parse(&active_user).unwrap(),
    )
    .await
    .unwrap();
}

/// The connect command of a ready DM as the requester copies it from Slack: the last code block,
/// with the three entities Slack shows as characters turned back.
fn connect_command(ready: &FakeCall) -> String {
    let steps = ready.body["blocks"][1]["text"]["text"].as_str().unwrap();
    steps
        .rsplit("```")
        .nth(1)
        .unwrap_or_else(|| panic!("no code block in {steps}"))
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn the_ready_dms_command_logs_the_requester_in_as_pasted_and_the_other_dms_fit_local_mode() {
    let Some(admin_url) = powerpole_testkit::mysql_admin_url() else {
        return;
    };
    let _accounts = ACCOUNTS.read().await;
    let admin: MySqlConnectOptions = admin_url.parse().unwrap();
    assert_ne!(
        admin.get_port(),
        3306,
        "the test server must not be on the default port, or a command without -P would pass"
    );
    let slack = FakeSlack::start().await.unwrap();
    let requester = "U0SERVE004";
    slack.set_user_email(
        requester,
        &format!("serve.four.{}@example.com", std::process::id()),
    );
    slack.set_channel_members(APPROVERS, &[APPROVER]);
    let dir = temp_dir("connect");
    let port = free_port();
    let config = write_config(&dir, &slack.api_url(), 100, port);
    let audit_log = powerpole_testkit::mysql_audit_log().expect("the test MariaDB's audit log");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&config)
        .unwrap();
    writeln!(
        file,
        "audit_log = \"{}\"\nsensitive_tables = [\"users\"]",
        audit_log.display()
    )
    .unwrap();
    let broker = Broker::start(&dir, &config, port, &admin_url).await;
    let id = request_and_approve(&broker, &slack, requester).await;
    let user = broker.show(&id, &admin_url)["db_user"]
        .as_str()
        .unwrap()
        .to_owned();
    let ready = wait_for(&slack, "ready DM", dm_containing(requester, "ready")).await;
    let command = connect_command(&ready);

    let out = pasted(&command, "SELECT CURRENT_USER();\n");

    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(&format!("{user}@%")),
        "`{command}` did not log in as {user}: {}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let card = wait_for(&slack, "approval card", |c| {
        c.method == "chat.postMessage"
            && c.str("channel") == Some(APPROVERS)
            && c.str("thread_ts").is_none()
    })
    .await;
    let card_ts = card.response["ts"].as_str().unwrap().to_owned();
    pasted(&command, "DELETE FROM serve_tripwire.orders;\n");
    let trip = wait_for(&slack, "tripwire in the card's thread", |c| {
        c.method == "chat.postMessage"
            && c.str("thread_ts") == Some(card_ts.as_str())
            && c.str("text").is_some_and(|t| t.starts_with("Tripwire"))
    })
    .await;
    let shown = trip.body.to_string();
    assert!(
        shown.contains("DELETE FROM serve_tripwire.orders")
            && shown.contains("DELETE/UPDATE without WHERE")
            && shown.contains("\"action_id\":\"revoke\""),
        "the tripwire names the statement, why, and offers Revoke now: {shown}"
    );
    let warning = wait_for(&slack, "warning DM", dm_containing(requester, "ends at")).await;
    let left = warning
        .str("text")
        .and_then(|t| t.split(", in ").nth(1))
        .and_then(|t| t.strip_suffix(" minutes."))
        .and_then(|m| m.parse::<u32>().ok());
    assert!(
        left.is_some_and(|m| (8..=10).contains(&m)),
        "the warning says how long is left (10 minutes, less what the compressed clock ran on): {:?}",
        warning.str("text")
    );
    let ended = wait_for(&slack, "ended DM", dm_containing(requester, "has ended")).await;
    assert!(
        !ended.str("text").unwrap().contains("bastion"),
        "there is no bastion in local mode: {:?}",
        ended.str("text")
    );
    assert!(!user_exists(&admin, &user).await);
}

#[tokio::test]
async fn the_served_broker_applies_the_files_identity_mapping_and_auto_approves_read() {
    let Some(admin_url) = powerpole_testkit::mysql_admin_url() else {
        return;
    };
    let _accounts = ACCOUNTS.read().await;
    let admin: MySqlConnectOptions = admin_url.parse().unwrap();
    let slack = FakeSlack::start().await.unwrap();
    let requester = "U0SERVEMAP";
    slack.set_user_email(requester, "大輔@example.com");
    slack.set_channel_members(APPROVERS, &[APPROVER]);
    let mapped = format!("daisuke.{}", std::process::id());
    let dir = temp_dir("policy");
    let port = free_port();
    let config = write_config(&dir, &slack.api_url(), 150, port);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "auto_approve_read = true\n\n[identity]\ndb_users = {{ {requester} = \"{mapped}\" }}\n"
    ));
    std::fs::write(&config, text).unwrap();
    let broker = Broker::start(&dir, &config, port, &admin_url).await;

    let reply = broker
        .interact(&request_submission(
            requester,
            &RequestInput {
                cluster: "serve-orders",
                region: "ap-northeast-1",
                permission: "READ",
                duration_minutes: "15",
                reason: "INC-10 read the orders",
            },
        ))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let receipt = wait_for(&slack, "receipt", dm_containing(requester, "recorded")).await;
    assert!(
        receipt
            .str("text")
            .unwrap()
            .contains(&format!("`{mapped}`")),
        "the receipt names the mapped DB user: {receipt:?}"
    );
    let card = wait_for(&slack, "auto-approved card", |c| {
        matches!(c.method.as_str(), "chat.postMessage" | "chat.update")
            && c.str("channel") == Some(APPROVERS)
            && c.body["blocks"]
                .to_string()
                .contains("Auto-approved by policy")
    })
    .await;
    assert!(!card.body["blocks"].to_string().contains("\"approve\""));
    wait_for(&slack, "ready DM", dm_containing(requester, "ready")).await;
    assert!(
        user_exists(&admin, &mapped).await,
        "the account is the mapped name, made without a click"
    );
    wait_for(&slack, "ended DM", dm_containing(requester, "has ended")).await;
    assert!(!user_exists(&admin, &mapped).await);
}
