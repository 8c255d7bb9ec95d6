//! `powerpole demo`: the broker on this machine with a simulated Slack, driving one request the
//! way the two people would — the requester asks, the approver approves, the requester connects
//! and runs a query (and one the server refuses), with `--extend` asks for 15 more minutes that
//! the approver grants, is warned, and access ends — on a compressed
//! clock, printing a timeline — then writes the security team's report of the run
//! (`powerpole report`). Everything else it creates (state directory, DB user, secret) is gone
//! when it returns.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use powerpole_core::Clock as _;
use powerpole_local::ScaledClock;
use powerpole_testkit::fake_slack::{self, FakeCall, FakeSlack, signed_form_headers};
use powerpole_testkit::slack_payloads::{
    RequestInput, block_click, button_click, extension_submission, interaction_form,
    request_submission,
};
use serde_json::Value;
use sqlx::mysql::MySqlConnectOptions;
use sqlx::{ConnectOptions as _, Row as _};

use crate::config::{ClusterConfig, Config, SlackConfig};
use crate::serve::Server;

const REQUESTER: &str = "U0DEMOREQ1";
const APPROVER: &str = "U0DEMOAPR1";
const APPROVERS: &str = "C0DEMOAPPR";
const CLUSTER: &str = "demo-orders";
const PATIENCE: Duration = Duration::from_secs(120);

struct Timeline {
    started: Instant,
    clock: ScaledClock,
}

impl Timeline {
    fn say(&self, who: &str, what: &str) {
        let real = self.started.elapsed().as_secs_f64();
        let clock = self.clock.now();
        println!(
            "{real:>5.1}s  {:02}:{:02}  {who:<10} {what}",
            clock.hour(),
            clock.minute()
        );
    }
}

/// How the demo runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// How many times faster than real time the clock runs.
    pub speed: f64,
    /// The server's `server_audit` log file, if it has one.
    pub audit_log: Option<std::path::PathBuf>,
    /// Where the report of the run is written.
    pub report: std::path::PathBuf,
    /// Whether the requester extends their access by 15 minutes (approved) before its end.
    pub extend: bool,
}

/// Runs the demo against the MySQL/MariaDB server at `admin_url`.
///
/// # Errors
/// When a step does not happen within two minutes, the server refuses, or the report cannot be
/// written.
pub async fn run(admin_url: &str, options: &Options) -> anyhow::Result<()> {
    let admin: MySqlConnectOptions = admin_url
        .parse()
        .context("--admin-url is not a mysql:// URL")?;
    let slack = FakeSlack::start().await?;
    slack.set_user_email(REQUESTER, "dana.dbre@example.com");
    slack.set_channel_members(APPROVERS, &[APPROVER]);
    let state = tempdir()?;
    let result = drive(&slack, &admin, &state, options).await;
    std::fs::remove_dir_all(&state).ok();
    let left = state.exists();
    result?;
    if left {
        bail!(
            "the demo state directory {} was not removed",
            state.display()
        );
    }
    println!("\nNothing is left behind: the DB user, its secret and the demo state are gone.");
    Ok(())
}

fn tempdir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "powerpole-demo-{}-{}",
        std::process::id(),
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    ));
    Ok(dir)
}

async fn drive(
    slack: &FakeSlack,
    admin: &MySqlConnectOptions,
    state: &std::path::Path,
    options: &Options,
) -> anyhow::Result<()> {
    let speed = options.speed;
    let secret = format!("demo-signing-secret-{}", std::process::id());
    let config = Config {
        listen: "127.0.0.1:0".parse()?,
        state_dir: state.to_owned(),
        clock_speed: speed,
        slack: SlackConfig {
            signing_secret: secret.clone(),
            bot_token: "xoxb-demo".into(),
            api_url: slack.api_url(),
            approvers_channel: APPROVERS.into(),
            requests_channel: None,
            approvers: powerpole_slack::Approvers::AnyChannelMember,
        },
        identity: powerpole_core::IdentityRules::default(),
        clusters: vec![ClusterConfig {
            policy: powerpole_core::ClusterPolicy::new(
                powerpole_core::ClusterId::parse(CLUSTER)?,
                powerpole_core::Region::parse("ap-northeast-1")?,
            )
            .with_endpoint(admin.get_host())
            .with_port(admin.get_port()),
            admin: admin.clone(),
            audit_log: options.audit_log.clone(),
            accounts: powerpole_mysql::AccountSettings::new(),
        }],
    };
    crate::serve::check_clusters(&config).await?;
    let broker = Arc::new(Server::start(&config).await?);
    let clock = crate::serve::clock(state, speed)?;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(broker.clone().serve(listener));
    let t = Timeline {
        started: Instant::now(),
        clock,
    };
    println!("powerpole demo — one request, start to finish, at {speed}x speed");
    println!("  real  clock  who        what");
    let outcome = story(&t, slack, admin, &base, &secret, state, options.extend).await;
    server.abort();
    broker.runner.shutdown().await;
    outcome?;
    let written = crate::report::run(
        &config,
        &crate::report::Options {
            out: Some(options.report.clone()),
            ..crate::report::Options::default()
        },
    )
    .await
    .context("the report of the run")?;
    t.say(
        "broker",
        "writes the security team's report (powerpole report)",
    );
    let path = std::fs::canonicalize(&options.report).unwrap_or_else(|_| options.report.clone());
    println!(
        "\nThe security team's report of this run ({}), one self-contained HTML file:\n  {}",
        written.report.summary(),
        path.display()
    );
    if options.audit_log.is_none() {
        println!("  (no --audit-log given: the report cannot say what the DB user ran)");
    }
    Ok(())
}

async fn post(base: &str, path: &str, secret: &str, body: Vec<u8>) -> anyhow::Result<u16> {
    let headers = signed_form_headers(secret, &body);
    Ok(fake_slack::post(&format!("{base}{path}"), &headers, body)
        .await?
        .status)
}

/// Posts `payload` to the interactivity endpoint as Slack would, signed.
async fn interact(base: &str, secret: &str, payload: &Value) -> anyhow::Result<u16> {
    post(
        base,
        "/slack/interactions",
        secret,
        interaction_form(payload),
    )
    .await
}

async fn wait_for(
    slack: &FakeSlack,
    what: &str,
    wanted: impl Fn(&FakeCall) -> bool,
) -> anyhow::Result<FakeCall> {
    slack
        .wait_for_calls_where(PATIENCE, wanted)
        .await
        .into_iter()
        .next()
        .with_context(|| format!("{what} did not happen within {PATIENCE:?}"))
}

fn dm(text: &'static str) -> impl Fn(&FakeCall) -> bool {
    move |c| {
        c.method == "chat.postMessage"
            && c.str("channel") == Some(REQUESTER)
            && c.str("text").is_some_and(|t| t.contains(text))
    }
}

async fn story(
    t: &Timeline,
    slack: &FakeSlack,
    admin: &MySqlConnectOptions,
    base: &str,
    secret: &str,
    state: &std::path::Path,
    extend: bool,
) -> anyhow::Result<()> {
    let command = form(&[
        ("command", "/powerpole"),
        ("text", ""),
        ("user_id", REQUESTER),
        ("channel_id", "C0GENERAL1"),
        ("team_id", "T0FAKE0001"),
        ("trigger_id", "1.2.3"),
        ("response_url", "https://hooks.slack.com/commands/1"),
    ]);
    post(base, "/slack/commands", secret, command).await?;
    wait_for(slack, "the request form", |c| c.method == "views.open").await?;
    t.say("requester", "runs /powerpole: the request form opens");

    let submission = request_submission(
        REQUESTER,
        &RequestInput {
            cluster: CLUSTER,
            region: "ap-northeast-1",
            permission: "READ",
            duration_minutes: "15",
            reason: "INC-1024 check yesterday's stuck orders",
        },
    );
    interact(base, secret, &submission).await?;
    t.say("requester", "asks for READ on demo-orders for 15 minutes");
    let card = wait_for(slack, "the approval card", |c| {
        c.method == "chat.postMessage" && c.str("channel") == Some(APPROVERS)
    })
    .await?;
    let id = card.body["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|b| b["elements"].as_array().into_iter().flatten())
        .find_map(|e| e["value"].as_str())
        .context("the card has no Approve button")?
        .to_owned();
    t.say(
        "broker",
        &format!("posts the approval card for request {id}"),
    );

    let ts = card.response["ts"].as_str().unwrap_or_default();
    let click = button_click(APPROVER, APPROVERS, ts, "approve", &id);
    interact(base, secret, &click).await?;
    t.say("approver", "clicks Approve");
    wait_for(slack, "the card update", |c| c.method == "chat.update").await?;
    t.say("broker", "updates the card: approved by the approver");

    let ready = wait_for(slack, "the ready message", dm("ready")).await?;
    let user = ready.body["blocks"]
        .to_string()
        .split("you are `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .context("the ready message names no DB user")?
        .to_owned();
    t.say(
        "broker",
        &format!("creates DB user {user}; DMs how to connect (no password shown)"),
    );

    let secret_file = std::fs::read(state.join("secrets").join(format!("{id}.json")))
        .context("the secret file of the request is missing")?;
    let stored: Value = serde_json::from_slice(&secret_file)?;
    let password = stored["password"]
        .as_str()
        .context("no password in the secret")?;
    let mut session = admin
        .clone()
        .username(&user)
        .password(password)
        .connect()
        .await
        .context("the requester could not log in")?;
    let row =
        sqlx::query("SELECT CURRENT_USER() AS me, COUNT(*) AS n FROM information_schema.SCHEMATA")
            .fetch_one(&mut session)
            .await?;
    let me: String = row.try_get("me")?;
    t.say(
        "requester",
        &format!("connects as {me} and runs a query: it works"),
    );
    let refused = sqlx::query("SELECT * FROM demo_orders.orders")
        .fetch_one(&mut session)
        .await
        .is_err();
    if !refused {
        bail!("a query on a table that does not exist was not refused");
    }
    t.say(
        "requester",
        "queries a table that does not exist: refused (the report lists it)",
    );

    if extend {
        let old_end = t.clock.now() + time::Duration::minutes(15);
        let ends = extension(t, slack, base, secret, &id, ts, &ready).await?;
        t.say(
            "broker",
            &format!("DMs: extended until {ends}; same DB user, password and session"),
        );
        while t.clock.now() < old_end + time::Duration::minutes(1) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        sqlx::query("SELECT 1")
            .fetch_one(&mut session)
            .await
            .context("the session did not outlive the old end")?;
        t.say(
            "requester",
            &format!(
                "the old end ({:02}:{:02}) has passed: the same session still works",
                old_end.hour(),
                old_end.minute()
            ),
        );
    }

    wait_for(slack, "the 10-minute warning", dm("ends at")).await?;
    t.say(
        "broker",
        "DMs: access ends in 10 minutes (with Extend and End now buttons)",
    );
    wait_for(slack, "the end", dm("has ended")).await?;
    t.say(
        "broker",
        "kills the session, drops the user, deletes the secret; DMs: ended",
    );

    let still_works = sqlx::query("SELECT 1")
        .fetch_one(&mut session)
        .await
        .is_ok();
    let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mysql.user WHERE user = ?")
        .bind(&user)
        .fetch_one(&mut admin.connect().await?)
        .await?;
    if still_works || exists > 0 {
        bail!("access was not removed (session alive: {still_works}, user rows: {exists})");
    }
    t.say(
        "requester",
        "the open session is gone and the user no longer exists",
    );
    wait_for(slack, "the session receipt", |c| {
        c.method == "chat.postMessage"
            && c.str("thread_ts").is_some()
            && !c.str("text").is_some_and(|t| t.contains("asks to extend"))
    })
    .await?;
    t.say(
        "broker",
        "posts the session receipt in the approval card's thread (also: powerpole audit ID)",
    );
    Ok(())
}

/// The requester clicks Extend in the ready message `ready` and asks for 15 more minutes; the
/// approver approves on the extension card in the approval card's thread (`card_ts`). Returns
/// the new end as the requester's DM gives it.
async fn extension(
    t: &Timeline,
    slack: &FakeSlack,
    base: &str,
    secret: &str,
    id: &str,
    card_ts: &str,
    ready: &FakeCall,
) -> anyhow::Result<String> {
    let dm_channel = ready.response["channel"].as_str().unwrap_or(REQUESTER);
    let dm_ts = ready.response["ts"].as_str().unwrap_or_default();
    let click = button_click(REQUESTER, dm_channel, dm_ts, "extend", id);
    interact(base, secret, &click).await?;
    wait_for(slack, "the extension form", |c| {
        c.method == "views.open" && c.body["view"]["callback_id"] == "powerpole_extend"
    })
    .await?;
    t.say(
        "requester",
        "clicks Extend in the ready message: a small form opens",
    );
    let asked = extension_submission(REQUESTER, id, "15", "INC-1024 one more check");
    interact(base, secret, &asked).await?;
    t.say("requester", "asks for 15 more minutes, with a reason");
    let ext_card = wait_for(slack, "the extension card", |c| {
        c.method == "chat.postMessage" && c.str("thread_ts") == Some(card_ts)
    })
    .await?;
    t.say(
        "broker",
        "posts the extension card in the approval card's thread",
    );
    let ext_ts = ext_card.response["ts"].as_str().unwrap_or_default();
    let approve = block_click(
        APPROVER,
        APPROVERS,
        ext_ts,
        "extension-1",
        "extension_approve",
        id,
    );
    interact(base, secret, &approve).await?;
    t.say("approver", "clicks Approve on the extension card");
    let told = wait_for(slack, "the extension message", dm("extended your access")).await?;
    Ok(told
        .str("text")
        .and_then(|text| text.split('|').nth(1))
        .and_then(|rest| rest.split('>').next())
        .unwrap_or("later")
        .to_owned())
}

fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
        .into_bytes()
}
