//! A request's whole life through the real state machine file, run by the local ASL runner on
//! a compressed clock: signed Slack requests into the Slack endpoints, the fake Slack Web API,
//! the MySQL adapter on the test MariaDB, secrets in 0600 files. Each test plays the two people
//! (requester and approver) and checks what each sees, what the database holds and what the
//! request's history says.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use powerpole_asl::{AslRunner, Definition, ExecutionStatus, RunnerOptions, TaskHandlers};
use powerpole_core::ports::{RequestStore, SecretVault};
use powerpole_core::{
    AccessRequest, ApprovalRules, Broker, ClusterId, ClusterPolicy, EventKind, IdentityRules,
    MemoryStore, Ports, Region, RequestId, RequestState, SlackUserId, Unwired,
};
use powerpole_local::{
    BrokerTasks, JournalWorkflow, OnBrokerClock, ScaledClock, SecretFiles, ThisMachine,
};
use powerpole_mysql::{AccountSettings, AuditFiles, MySqlAccounts};
use powerpole_slack::{
    ApproverPolicy, Approvers, RetryPolicy, SignatureVerifier, SlackChat, SlackIngress, SlackWebApi,
};
use powerpole_testkit::fake_slack::{FakeCall, FakeSlack, signed_form_headers};
use powerpole_testkit::faults::TcpProxy;
use powerpole_testkit::slack_payloads::{
    RequestInput, block_click, button_click, extension_submission, interaction_form,
    request_submission,
};
use serde_json::{Value, json};
use sqlx::mysql::MySqlConnectOptions;
use sqlx::{ConnectOptions, Executor, MySqlConnection};

const SECRET: &str = "e2e-signing-secret-0123456789abcdef";
const APPROVERS: &str = "C0APPROVE1";
const APPROVER: &str = "U0APPROVE1";
const CLUSTER: &str = "e2e-orders";
/// One clock minute is 0.4 s: a 15-minute window lasts 6 s, the 30 minutes approvers get 12 s.
const SPEED: f64 = 150.0;
const PATIENCE: Duration = Duration::from_secs(30);

type Tasks = BrokerTasks<
    Ports<
        Arc<MemoryStore>,
        SlackChat,
        ScaledClock,
        SecretFiles,
        ThisMachine,
        MySqlAccounts,
        Unwired,
        Unwired,
        OnBrokerClock<AuditFiles>,
        powerpole_local::NoBastionSessions,
    >,
>;
type Runner = AslRunner<ScaledClock, Tasks>;

struct World {
    slack: FakeSlack,
    store: Arc<MemoryStore>,
    vault: SecretFiles,
    runner: Runner,
    ingress: SlackIngress<Arc<MemoryStore>, JournalWorkflow<ScaledClock, Tasks>, ScaledClock>,
    admin: MySqlConnectOptions,
    requester: String,
    parts: Parts,
}

fn definition() -> Definition {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../statemachine/powerpole.asl.json");
    let text = std::fs::read_to_string(path).unwrap();
    Definition::load(&text, &Tasks::variables()).unwrap()
}

/// A broker wired as `powerpole serve` wires it, for a requester of its own (`tag` keeps the DB
/// user names of concurrent tests apart).
async fn world(tag: &str) -> Option<World> {
    world_via(tag, None).await
}

/// As [`world`], with the broker reaching MariaDB through `proxy` (to take the server away).
async fn world_via(tag: &str, proxy: Option<&TcpProxy>) -> Option<World> {
    world_with(
        tag,
        proxy,
        ApprovalRules::default(),
        IdentityRules::default(),
    )
    .await
}

/// As [`world_via`], the cluster with the `approval` rules and requesters named by `identity`.
async fn world_with(
    tag: &str,
    proxy: Option<&TcpProxy>,
    approval: ApprovalRules,
    identity: IdentityRules,
) -> Option<World> {
    let url = powerpole_testkit::mysql_admin_url()?;
    let audit_log = powerpole_testkit::mysql_audit_log()?;
    let admin: MySqlConnectOptions = url.parse().unwrap();
    let broker_admin = proxy.map_or_else(|| admin.clone(), |p| admin.clone().port(p.port()));
    let slack = FakeSlack::start().await.unwrap();
    let requester = format!("U0E2E{}", tag.to_ascii_uppercase());
    let email = format!("e2e.{tag}.{}@example.com", std::process::id());
    slack.set_user_email(&requester, &email);
    slack.set_channel_members(APPROVERS, &[APPROVER]);
    let web = SlackWebApi::new(
        "xoxb-e2e".to_owned().into(),
        &slack.api_url(),
        RetryPolicy::default(),
    )
    .unwrap();
    let chat = SlackChat::new(web.clone(), APPROVERS);
    let clock = ScaledClock::new(SPEED).unwrap();
    let cluster = ClusterPolicy::new(
        ClusterId::parse(CLUSTER).unwrap(),
        Region::parse("ap-northeast-1").unwrap(),
    )
    .with_endpoint("127.0.0.1")
    .with_approval(approval);
    let store = Arc::new(MemoryStore::new());
    let dir = std::env::temp_dir().join(format!(
        "powerpole-tests-{tag}-{}-{}",
        std::process::id(),
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    ));
    let vault = SecretFiles::open(dir.join("secrets")).unwrap();
    let dir = dir.join("state");
    std::fs::create_dir_all(&dir).unwrap();
    let parts = Parts {
        store: store.clone(),
        vault: vault.clone(),
        chat: chat.clone(),
        clock,
        cluster: cluster.clone(),
        broker_admin,
        audit_log,
        db: dir.join("runner.sqlite"),
    };
    let runner = parts.runner().await;
    let ingress = SlackIngress::new(
        SignatureVerifier::new(SECRET).unwrap(),
        web,
        chat,
        ApproverPolicy {
            channel: APPROVERS.into(),
            who: Approvers::AnyChannelMember,
        },
        vec![cluster],
        store.clone(),
        JournalWorkflow::new(runner.clone()),
        clock,
    )
    .with_identity(identity);
    Some(World {
        slack,
        store,
        vault,
        runner,
        ingress,
        admin,
        requester,
        parts,
    })
}

/// What the runner is built from, kept to build it again after a crash.
struct Parts {
    store: Arc<MemoryStore>,
    vault: SecretFiles,
    chat: SlackChat,
    clock: ScaledClock,
    cluster: ClusterPolicy,
    broker_admin: MySqlConnectOptions,
    audit_log: PathBuf,
    db: PathBuf,
}

impl Parts {
    fn tasks(&self, admin: MySqlConnectOptions) -> Tasks {
        let accounts = MySqlAccounts::new()
            .with_clock_speed(SPEED)
            .unwrap()
            .with_cluster(
                self.cluster.cluster.clone(),
                admin,
                AccountSettings::new()
                    .with_connect_timeout(Duration::from_millis(500))
                    .unwrap(),
            );
        let ports = Ports::new(self.store.clone(), self.chat.clone(), self.clock)
            .with_access(self.vault.clone(), ThisMachine, accounts)
            .with_evidence(
                OnBrokerClock::new(
                    AuditFiles::new().with_cluster(self.cluster.cluster.clone(), &self.audit_log),
                    self.clock,
                ),
                powerpole_local::NoBastionSessions,
            );
        BrokerTasks::new(Broker::new(ports, vec![self.cluster.clone()]))
    }

    /// A runner on the state file: a new one resumes whatever the last one left running.
    async fn runner(&self) -> Runner {
        AslRunner::new(
            powerpole_asl::sqlite::open(&self.db).await.unwrap(),
            definition(),
            self.tasks(self.broker_admin.clone()),
            self.clock,
            RunnerOptions {
                poll_interval: Duration::from_millis(20),
                ..RunnerOptions::default()
            },
        )
        .await
        .unwrap()
    }
}

impl World {
    async fn interact(&self, payload: &Value) {
        let body = interaction_form(payload);
        let reply = self
            .ingress
            .interaction(signed_form_headers(SECRET, &body).as_slice(), &body)
            .await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert!(
            reply
                .body
                .as_ref()
                .is_none_or(|b| b.get("response_action").is_none()),
            "the submission was refused: {reply:?}"
        );
    }

    /// The requester fills in the modal: READ on the cluster, now, for 15 minutes.
    async fn submit(&self) -> AccessRequest {
        self.interact(&request_submission(
            &self.requester,
            &RequestInput {
                cluster: CLUSTER,
                region: "ap-northeast-1",
                permission: "READ",
                duration_minutes: "15",
                reason: "INC-77 check the orders table",
            },
        ))
        .await;
        let mut mine = self
            .store
            .by_requester(&SlackUserId::parse(&self.requester).unwrap())
            .await
            .unwrap();
        assert_eq!(mine.len(), 1);
        mine.remove(0)
    }

    /// Waits for the approval card the workflow posts, and returns its `ts`.
    async fn card(&self) -> String {
        let posts = self
            .slack
            .wait_for_calls_where(PATIENCE, |c| {
                c.method == "chat.postMessage" && c.str("channel") == Some(APPROVERS)
            })
            .await;
        posts[0].response["ts"].as_str().unwrap().to_owned()
    }

    async fn click(&self, user: &str, channel: &str, ts: &str, action: &str, id: RequestId) {
        self.interact(&button_click(user, channel, ts, action, &id.to_string()))
            .await;
    }

    /// The DMs to the requester so far, as their fallback texts.
    fn dms(&self) -> Vec<String> {
        self.slack
            .calls_to("chat.postMessage")
            .into_iter()
            .filter(|c| c.str("channel") == Some(self.requester.as_str()))
            .map(|c| c.str("text").unwrap_or_default().to_owned())
            .collect()
    }

    async fn dm_containing(&self, text: &str) -> FakeCall {
        let calls = self
            .slack
            .wait_for_calls_where(PATIENCE, |c| {
                c.method == "chat.postMessage"
                    && c.str("channel") == Some(self.requester.as_str())
                    && c.str("text").is_some_and(|t| t.contains(text))
            })
            .await;
        calls
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no DM containing {text:?}; DMs: {:?}", self.dms()))
    }

    /// Waits for the session receipt posted in the thread of the card `ts`, and checks it came
    /// after the requester was told access ended, and only once.
    async fn receipt(&self, ts: &str) -> FakeCall {
        let in_thread = |c: &FakeCall| {
            c.method == "chat.postMessage"
                && c.str("channel") == Some(APPROVERS)
                && c.str("thread_ts") == Some(ts)
        };
        self.slack.wait_for_calls_where(PATIENCE, in_thread).await;
        let calls = self.slack.calls();
        let receipt_at = calls.iter().position(in_thread).unwrap();
        let ended_at = calls
            .iter()
            .position(|c| {
                c.str("channel") == Some(self.requester.as_str())
                    && c.str("text").is_some_and(|t| t.contains("has ended"))
            })
            .expect("the requester is told access ended");
        assert!(
            ended_at < receipt_at,
            "the receipt comes after the ended DM"
        );
        assert_eq!(calls.iter().filter(|c| in_thread(c)).count(), 1);
        calls[receipt_at].clone()
    }

    async fn finished(&self, name: &str) -> ExecutionStatus {
        self.runner
            .wait_for_completion(name, PATIENCE)
            .await
            .unwrap()
            .status
    }

    /// The states execution `name` entered, in order.
    async fn entered(&self, name: &str) -> Vec<String> {
        self.runner
            .history(name)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| matches!(e.kind, powerpole_asl::EventKind::StateEntered { .. }))
            .filter_map(|e| e.state)
            .collect()
    }

    /// The requester submits, the approver approves on the card: returns the request, the
    /// card's `ts` and the ready DM.
    async fn live(&self) -> (AccessRequest, String, FakeCall) {
        let request = self.submit().await;
        let ts = self.card().await;
        self.click(APPROVER, APPROVERS, &ts, "approve", request.id())
            .await;
        let ready = self.dm_containing("ready").await;
        (request, ts, ready)
    }

    async fn request(&self, id: RequestId) -> AccessRequest {
        self.store.get(id).await.unwrap().unwrap()
    }

    async fn login(&self, request: &AccessRequest) -> Result<MySqlConnection, sqlx::Error> {
        let password = self.vault.get(request.id()).await.unwrap();
        self.admin
            .clone()
            .username(request.db_username().as_str())
            .password(password.expose())
            .connect()
            .await
    }

    async fn user_exists(&self, request: &AccessRequest) -> bool {
        powerpole_testkit::mysql::user_exists(&self.admin, request.db_username().as_str())
            .await
            .unwrap()
    }
}

fn kinds(request: &AccessRequest) -> Vec<EventKind> {
    request
        .events()
        .iter()
        .map(|e| e.kind)
        .filter(|k| *k != EventKind::Step)
        .collect()
}

#[tokio::test]
async fn approved_request_gets_a_working_account_a_warning_and_is_torn_down_at_the_end() {
    let Some(w) = world("approve").await else {
        return;
    };

    let schema = format!("e2e_blast_{}", std::process::id());
    let mut admin = sqlx::ConnectOptions::connect(&w.admin).await.unwrap();
    sqlx::Executor::execute(
        &mut admin,
        sqlx::AssertSqlSafe(format!("CREATE DATABASE IF NOT EXISTS `{schema}`")),
    )
    .await
    .unwrap();
    let request = w.submit().await;
    let ts = w.card().await;
    let posted = w.slack.calls_to("chat.postMessage");
    let card = posted
        .iter()
        .find(|c| c.response["ts"].as_str() == Some(ts.as_str()))
        .unwrap();
    let blast = card.body["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["block_id"] == "blast_radius")
        .map(|b| b["text"]["text"].as_str().unwrap().to_owned())
        .expect("the card shows the blast radius measured on MariaDB");
    assert!(
        blast.contains(&format!(
            "ON `{}`.* TO '{}'@'%'",
            schema.replace('_', "\\_"),
            request.db_username()
        )) && blast.contains(&format!("• {schema}: 0 tables")),
        "{blast}"
    );
    sqlx::Executor::execute(
        &mut admin,
        sqlx::AssertSqlSafe(format!("DROP DATABASE `{schema}`")),
    )
    .await
    .unwrap();
    w.click(APPROVER, APPROVERS, &ts, "approve", request.id())
        .await;
    let ready = w.dm_containing("ready").await;

    assert!(
        !ready
            .body
            .to_string()
            .contains(w.vault.get(request.id()).await.unwrap().expose()),
        "the password is never in Slack"
    );
    assert!(
        ready.body["blocks"]
            .to_string()
            .contains(request.db_username().as_str())
    );
    let mut session = w
        .login(&request)
        .await
        .expect("the requester logs in with the vault's password");
    let one: i64 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut session)
        .await
        .unwrap();
    assert_eq!(one, 1);

    w.dm_containing("ends at").await;
    assert_eq!(
        w.finished(&request.id().to_string()).await,
        ExecutionStatus::Succeeded
    );
    w.dm_containing("has ended").await;

    let done = w.request(request.id()).await;
    assert_eq!(done.state(), RequestState::Ended);
    assert_eq!(
        kinds(&done),
        vec![
            EventKind::Submitted,
            EventKind::Surveyed,
            EventKind::Approved,
            EventKind::ProvisioningStarted,
            EventKind::Activated,
            EventKind::TeardownStarted,
            EventKind::CleanedUp,
            EventKind::Ended,
        ]
    );
    let cleanup = done
        .events()
        .iter()
        .find(|e| e.kind == EventKind::CleanedUp)
        .unwrap();
    assert!(
        cleanup.detail.contains("1 session(s) killed"),
        "{}",
        cleanup.detail
    );
    assert!(!w.user_exists(&request).await, "the DB user is dropped");
    assert!(
        session.execute("SELECT 1").await.is_err(),
        "the open session was killed"
    );
    assert!(
        w.vault.get(request.id()).await.is_err(),
        "the secret is deleted"
    );
    let card = w.slack.calls_to("chat.update").pop().unwrap();
    assert!(card.body["blocks"].to_string().contains("access has ended"));
    let receipt = w.receipt(&ts).await;
    let summary = receipt.str("text").unwrap();
    assert!(summary.contains(&request.id().to_string()), "{summary}");
    assert!(
        !summary.contains(" 0 statement(s)") && summary.contains(" 0 outside the window"),
        "the SELECT run in the window is counted in it on a {SPEED}x clock: {summary}"
    );
    let shown = receipt.body["blocks"].to_string();
    assert!(
        shown.contains(&format!("<@{APPROVER}>")),
        "who approved: {shown}"
    );
    assert!(shown.contains("no bastion in local mode"), "{shown}");
    let entered = w.entered(&request.id().to_string()).await;
    assert_eq!(
        entered,
        [
            "Route",
            "AwaitDecision",
            "Decided",
            "Schedule",
            "WaitForStart",
            "Provision",
            "Activate",
            "WaitForWarning",
            "Warn",
            "WaitForEnd",
            "CheckEnd",
            "Extended",
            "Teardown",
            "WaitForAuditLog",
            "Receipt",
        ],
        "a normal request takes 15 state transitions (target: at most 15)"
    );
}

#[tokio::test]
async fn a_denied_request_creates_nothing_and_the_requester_is_told_who_denied_it() {
    let Some(w) = world("deny").await else { return };

    let request = w.submit().await;
    let ts = w.card().await;
    w.click(APPROVER, APPROVERS, &ts, "deny", request.id())
        .await;

    assert_eq!(
        w.finished(&request.id().to_string()).await,
        ExecutionStatus::Succeeded
    );
    let denied = w.dm_containing("was denied").await;
    assert!(denied.str("text").unwrap().contains(APPROVER));
    let done = w.request(request.id()).await;
    assert_eq!(
        kinds(&done),
        vec![EventKind::Submitted, EventKind::Surveyed, EventKind::Denied]
    );
    assert!(!w.user_exists(&request).await);
    assert!(w.vault.get(request.id()).await.is_err());
}

#[tokio::test]
async fn a_request_nobody_decides_expires_and_its_card_says_so() {
    let Some(w) = world("expire").await else {
        return;
    };

    let request = w.submit().await;
    w.card().await;

    assert_eq!(
        w.finished(&request.id().to_string()).await,
        ExecutionStatus::Succeeded
    );
    let done = w.request(request.id()).await;
    assert_eq!(
        kinds(&done),
        vec![
            EventKind::Submitted,
            EventKind::Surveyed,
            EventKind::Expired
        ]
    );
    w.dm_containing("expired").await;
    let card = w.slack.calls_to("chat.update").pop().unwrap();
    assert!(
        card.body["blocks"].to_string().contains("Expired"),
        "{}",
        card.body
    );
    assert!(!w.user_exists(&request).await);
}

#[tokio::test]
async fn a_request_cancelled_by_its_requester_stops_its_workflow_and_creates_nothing() {
    let Some(w) = world("cancel").await else {
        return;
    };
    let request = w.submit().await;
    w.card().await;
    // The card is redrawn "cancelled" from the reference the gate saves right after posting
    // it; a cancel within those milliseconds is recorded but leaves the card as posted.
    let saved = std::time::Instant::now();
    while w
        .request(request.id())
        .await
        .resources()
        .approval_card
        .is_none()
    {
        assert!(
            saved.elapsed() < PATIENCE,
            "the card is never saved on the request"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    w.click(
        &w.requester,
        &w.requester,
        "1732370000.000300",
        "cancel",
        request.id(),
    )
    .await;

    assert_eq!(
        w.finished(&request.id().to_string()).await,
        ExecutionStatus::Aborted,
        "the workflow waiting at the approval gate is stopped"
    );
    let done = w.request(request.id()).await;
    assert_eq!(done.state(), RequestState::Cancelled);
    assert!(!w.user_exists(&request).await, "nothing was provisioned");
    assert!(w.vault.get(request.id()).await.is_err());
    let card = w.slack.calls_to("chat.update").pop().unwrap();
    assert!(
        card.body["blocks"].to_string().contains("Cancelled by"),
        "{}",
        card.body
    );
}

#[tokio::test]
async fn end_now_tears_down_at_once_and_the_workflow_ends_cleanly() {
    let Some(w) = world("endnow").await else {
        return;
    };
    let (request, ts, ready) = w.live().await;
    let dm_channel = ready.response["channel"].as_str().unwrap().to_owned();
    let mut session = w.login(&request).await.unwrap();

    w.click(
        &w.requester,
        &dm_channel,
        ready.response["ts"].as_str().unwrap(),
        "end_now",
        request.id(),
    )
    .await;

    let end = format!("{}-end", request.id());
    assert_eq!(w.finished(&end).await, ExecutionStatus::Succeeded);
    assert_eq!(
        w.finished(&request.id().to_string()).await,
        ExecutionStatus::Aborted
    );
    let done = w.request(request.id()).await;
    assert_eq!(done.state(), RequestState::Ended);
    let ending = done
        .events()
        .iter()
        .find(|e| e.kind == EventKind::TeardownStarted)
        .unwrap();
    assert_eq!(ending.actor.to_string(), format!("user:{}", w.requester));
    assert!(
        done.events().last().unwrap().at < done.window().end(),
        "ended before the window's end"
    );
    assert!(!w.user_exists(&request).await);
    assert!(session.execute("SELECT 1").await.is_err());
    w.dm_containing("has ended").await;
    assert!(
        !w.dms().iter().any(|t| t.contains("ends at")),
        "no warning after an early end"
    );
    w.receipt(&ts).await;
}

#[tokio::test]
async fn mariadb_down_at_teardown_retries_then_fails_the_request_with_cleanup_owed() {
    let Some(url) = powerpole_testkit::mysql_admin_url() else {
        return;
    };
    let admin: MySqlConnectOptions = url.parse().unwrap();
    let proxy = TcpProxy::to(admin.get_host(), admin.get_port())
        .await
        .unwrap();
    let w = world_via("down", Some(&proxy)).await.unwrap();
    let request = w.submit().await;
    let ts = w.card().await;
    w.click(APPROVER, APPROVERS, &ts, "approve", request.id())
        .await;
    w.dm_containing("ready").await;

    proxy.cut();

    assert_eq!(
        w.finished(&request.id().to_string()).await,
        ExecutionStatus::Failed
    );
    let failed = w.request(request.id()).await;
    assert_eq!(failed.state(), RequestState::Failed);
    assert!(failed.cleanup_owed(), "the sweeper still owes the removal");
    let history = w.runner.history(&request.id().to_string()).await.unwrap();
    let teardown_attempts = history
        .iter()
        .filter(|e| {
            e.state.as_deref() == Some("Teardown")
                && matches!(e.kind, powerpole_asl::EventKind::TaskScheduled { .. })
        })
        .count();
    assert_eq!(teardown_attempts, 7, "one attempt and six retries");
    let told = w.dm_containing("failed").await;
    assert!(
        told.str("text").unwrap().contains("may still exist"),
        "{:?}",
        told.str("text")
    );
    assert!(
        w.user_exists(&request).await,
        "nothing pretended to remove the user"
    );

    let server_back = w.parts.tasks(w.admin.clone());
    server_back
        .invoke(
            "teardown",
            json!({ "task": "cleanup", "request_id": request.id().to_string() }),
        )
        .await
        .unwrap();
    let settled = w.request(request.id()).await;
    assert!(
        !w.user_exists(&request).await,
        "dropped once the server is back"
    );
    assert!(!settled.cleanup_owed());
    assert!(w.vault.get(request.id()).await.is_err());
}

#[tokio::test]
async fn a_runner_that_crashes_between_two_states_is_resumed_by_the_next_one() {
    let Some(mut w) = world("crash").await else {
        return;
    };
    let request = w.submit().await;
    let ts = w.card().await;
    w.click(APPROVER, APPROVERS, &ts, "approve", request.id())
        .await;
    w.dm_containing("ready").await;
    let name = request.id().to_string();
    let mut state = None;
    for _ in 0..200 {
        state = w.runner.describe(&name).await.unwrap().current_state;
        if state.as_deref() == Some("WaitForWarning") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        state.as_deref(),
        Some("WaitForWarning"),
        "crash while waiting"
    );

    w.runner.shutdown().await;
    drop(std::mem::replace(&mut w.runner, w.parts.runner().await));

    assert_eq!(w.finished(&name).await, ExecutionStatus::Succeeded);
    w.dm_containing("ends at").await;
    w.dm_containing("has ended").await;
    assert_eq!(w.request(request.id()).await.state(), RequestState::Ended);
    assert!(!w.user_exists(&request).await);
    let resumed = w
        .runner
        .history(&name)
        .await
        .unwrap()
        .iter()
        .any(|e| matches!(e.kind, powerpole_asl::EventKind::ExecutionResumed));
    assert!(
        resumed,
        "the new runner resumed the execution rather than restarting it"
    );
    assert_eq!(
        w.dms().iter().filter(|t| t.contains("ready")).count(),
        1,
        "no second ready message"
    );
}

impl World {
    /// The requester clicks Extend in the ready message `ready` and asks for `minutes` more;
    /// returns the `ts` of the extension card posted in the thread of the approval card `ts`.
    async fn extend(&self, ready: &FakeCall, id: RequestId, minutes: &str, ts: &str) -> String {
        let dm = ready.response["channel"].as_str().unwrap();
        let dm_ts = ready.response["ts"].as_str().unwrap();
        self.click(&self.requester, dm, dm_ts, "extend", id).await;
        let opened = self
            .slack
            .wait_for_calls_where(PATIENCE, |c| c.method == "views.open")
            .await;
        assert_eq!(opened[0].body["view"]["private_metadata"], id.to_string());
        self.interact(&extension_submission(
            &self.requester,
            &id.to_string(),
            minutes,
            "INC-77 the check takes longer",
        ))
        .await;
        let cards = self
            .slack
            .wait_for_calls_where(PATIENCE, |c| {
                c.method == "chat.postMessage" && c.str("thread_ts") == Some(ts)
            })
            .await;
        cards[0].response["ts"].as_str().unwrap().to_owned()
    }
}

fn utc_minute(at: time::OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

#[tokio::test]
async fn an_approved_extension_keeps_the_same_account_and_session_past_the_old_end() {
    let Some(w) = world("extend").await else {
        return;
    };
    let (request, ts, ready) = w.live().await;
    let mut session = w.login(&request).await.unwrap();
    let password = w.vault.get(request.id()).await.unwrap();
    let old_end = w.request(request.id()).await.window().end();

    let ext_ts = w.extend(&ready, request.id(), "30", &ts).await;
    w.interact(&block_click(
        APPROVER,
        APPROVERS,
        &ext_ts,
        "extension-1",
        "extension_approve",
        &request.id().to_string(),
    ))
    .await;
    w.dm_containing("extended your access").await;
    let new_end = w.request(request.id()).await.window().end();
    assert_eq!(new_end, old_end + time::Duration::minutes(30));

    use powerpole_core::Clock as _;
    while w.parts.clock.now() < old_end + time::Duration::minutes(13) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let one: i64 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut session)
        .await
        .expect("the session opened before the old end still works past its backstop");
    assert_eq!(one, 1);
    assert_eq!(
        w.vault.get(request.id()).await.unwrap().expose(),
        password.expose(),
        "the same password"
    );
    let warning = w.dm_containing("ends at").await;
    assert!(
        warning.str("text").unwrap().contains(&utc_minute(new_end)),
        "the warning is for the new end: {:?}",
        warning.str("text")
    );
    assert_eq!(
        w.finished(&request.id().to_string()).await,
        ExecutionStatus::Succeeded
    );
    w.dm_containing("has ended").await;

    let done = w.request(request.id()).await;
    assert_eq!(done.state(), RequestState::Ended);
    assert_eq!(
        kinds(&done),
        vec![
            EventKind::Submitted,
            EventKind::Surveyed,
            EventKind::Approved,
            EventKind::ProvisioningStarted,
            EventKind::Activated,
            EventKind::ExtensionRequested,
            EventKind::Extended,
            EventKind::TeardownStarted,
            EventKind::CleanedUp,
            EventKind::Ended,
        ]
    );
    let torn_down = done
        .events()
        .iter()
        .find(|e| e.kind == EventKind::TeardownStarted)
        .unwrap();
    assert!(
        torn_down.at >= new_end,
        "torn down at the new end, not the old one"
    );
    assert!(
        done.events().iter().any(|e| e
            .detail
            .starts_with(powerpole_core::usecases::BACKSTOP_MOVED)),
        "the backstop was moved to the new end"
    );
    assert_eq!(
        w.dms().iter().filter(|t| t.contains("ends at")).count(),
        1,
        "one warning, before the new end"
    );
    assert!(!w.user_exists(&request).await);
    assert!(session.execute("SELECT 1").await.is_err());
    let entered = w.entered(&request.id().to_string()).await;
    let after_activate: Vec<&str> = entered
        .iter()
        .skip_while(|s| *s != "Activate")
        .skip(1)
        .map(String::as_str)
        .collect();
    assert_eq!(
        after_activate,
        [
            "WaitForWarning",
            "Warn",
            "WaitForEnd",
            "CheckEnd",
            "Extended",
            "WaitForWarning",
            "Warn",
            "WaitForEnd",
            "CheckEnd",
            "Extended",
            "Teardown",
            "WaitForAuditLog",
            "Receipt",
        ],
        "one execution: the extended request waits again"
    );
}

#[tokio::test]
async fn an_extension_nobody_decides_lapses_and_access_ends_as_planned() {
    let Some(w) = world("lapse").await else {
        return;
    };
    let (request, ts, ready) = w.live().await;
    let end = w.request(request.id()).await.window().end();

    let ext_ts = w.extend(&ready, request.id(), "60", &ts).await;

    assert_eq!(
        w.finished(&request.id().to_string()).await,
        ExecutionStatus::Succeeded
    );
    w.dm_containing("it lapsed").await;
    w.dm_containing("has ended").await;
    let done = w.request(request.id()).await;
    assert_eq!(done.state(), RequestState::Ended);
    assert_eq!(done.window().end(), end);
    assert!(kinds(&done).contains(&EventKind::ExtensionLapsed));
    assert!(!w.user_exists(&request).await);
    let redrawn = w
        .slack
        .calls_to("chat.update")
        .into_iter()
        .find(|c| c.str("ts") == Some(ext_ts.as_str()))
        .expect("the extension card is redrawn");
    assert!(redrawn.body["blocks"].to_string().contains("Lapsed"));
}

/// The account a session is logged in as.
async fn whoami(conn: &mut MySqlConnection) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1)")
        .fetch_one(conn)
        .await
}

/// A second approver in the approvers' channel.
const APPROVER_2: &str = "U0APPROVE2";

impl World {
    /// `user` (with `email` in the directory) asks for READ on the cluster, now, for 15 minutes.
    async fn submit_as(&self, user: &str, email: &str) -> AccessRequest {
        self.slack.set_user_email(user, email);
        self.interact(&request_submission(
            user,
            &RequestInput {
                cluster: CLUSTER,
                region: "ap-northeast-1",
                permission: "READ",
                duration_minutes: "15",
                reason: "INC-78 check the orders table",
            },
        ))
        .await;
        let mut theirs = self
            .store
            .by_requester(&SlackUserId::parse(user).unwrap())
            .await
            .unwrap();
        assert_eq!(theirs.len(), 1);
        theirs.remove(0)
    }
}

#[tokio::test]
async fn a_read_needing_two_approvals_waits_for_the_second_distinct_approver_then_works() {
    let two = ApprovalRules::default().with_level(
        powerpole_core::Permission::Read,
        powerpole_core::ApprovalPolicy::configured("channel", Some(2)).unwrap(),
    );
    let Some(w) = world_with("twoapprovals", None, two, IdentityRules::default()).await else {
        return;
    };
    w.slack
        .set_channel_members(APPROVERS, &[APPROVER, APPROVER_2]);

    let request = w.submit().await;
    let ts = w.card().await;
    w.click(APPROVER, APPROVERS, &ts, "approve", request.id())
        .await;
    w.click(APPROVER, APPROVERS, &ts, "approve", request.id())
        .await;
    tokio::time::sleep(Duration::from_millis(600)).await;

    let waiting = w.request(request.id()).await;
    assert_eq!(
        waiting.state(),
        RequestState::Pending,
        "one of two approvals"
    );
    assert_eq!(
        waiting.approvals().len(),
        1,
        "the same approver counts once"
    );
    assert!(
        !w.dms().iter().any(|d| d.contains("ready")),
        "{:?}",
        w.dms()
    );
    assert!(!w.user_exists(&request).await, "nothing is created yet");
    let card = w.slack.calls_to("chat.update").pop().unwrap();
    assert!(
        card.body["blocks"]
            .to_string()
            .contains("*Approvals:* 1 of 2"),
        "{}",
        card.body
    );

    w.click(APPROVER_2, APPROVERS, &ts, "approve", request.id())
        .await;
    w.dm_containing("ready").await;
    let mut session = w
        .login(&request)
        .await
        .expect("access after the second approval");
    let one: i64 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut session)
        .await
        .unwrap();
    assert_eq!(one, 1);
    drop(session);

    assert_eq!(
        w.finished(&request.id().to_string()).await,
        ExecutionStatus::Succeeded
    );
    let done = w.request(request.id()).await;
    assert_eq!(done.state(), RequestState::Ended);
    assert_eq!(
        done.approvals(),
        [
            &SlackUserId::parse(APPROVER).unwrap(),
            &SlackUserId::parse(APPROVER_2).unwrap()
        ],
        "the audit says who approved"
    );
    assert!(kinds(&done).contains(&EventKind::ApprovalGiven));
}

#[tokio::test]
async fn read_on_a_cluster_marked_auto_approve_is_provisioned_without_a_click_and_carded() {
    let auto = ApprovalRules::default().with_auto_approve_read(true);
    let Some(w) = world_with("autoapprove", None, auto, IdentityRules::default()).await else {
        return;
    };

    let request = w.submit().await;
    w.card().await;
    w.dm_containing("ready").await;
    let mut session = w.login(&request).await.expect("auto-approved READ works");
    let one: i64 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut session)
        .await
        .unwrap();
    assert_eq!(one, 1);
    drop(session);

    assert_eq!(
        w.finished(&request.id().to_string()).await,
        ExecutionStatus::Succeeded
    );
    let done = w.request(request.id()).await;
    assert!(done.auto_approved());
    assert_eq!(
        done.decision().unwrap().actor.to_string(),
        "system:policy",
        "recorded with its own actor"
    );
    let cards: Vec<FakeCall> = w
        .slack
        .calls()
        .into_iter()
        .filter(|c| {
            matches!(c.method.as_str(), "chat.postMessage" | "chat.update")
                && c.str("channel") == Some(APPROVERS)
        })
        .collect();
    assert!(
        cards.iter().any(|c| c.body["blocks"]
            .to_string()
            .contains("Auto-approved by policy")),
        "audited on a card"
    );
}

#[tokio::test]
async fn namesakes_of_two_domains_get_two_accounts_and_neither_opens_the_others() {
    let identity = IdentityRules::new(["example.com"], []).unwrap();
    let Some(w) = world_with("namesakes", None, ApprovalRules::default(), identity).await else {
        return;
    };
    let local = format!("alice.e2e{}", std::process::id());

    let first = w
        .submit_as("U0ALICEA01", &format!("{local}@example.com"))
        .await;
    let second = w
        .submit_as("U0ALICEB01", &format!("{local}@partner.example"))
        .await;

    assert_eq!(first.db_username().as_str(), local);
    assert_ne!(second.db_username(), first.db_username());
    assert!(
        second
            .db_username()
            .as_str()
            .starts_with(&format!("{local}_partner_")),
        "{}",
        second.db_username()
    );
    let cards = w
        .slack
        .wait_for_calls_where(PATIENCE, |c| {
            c.method == "chat.postMessage" && c.str("channel") == Some(APPROVERS)
        })
        .await;
    let mut ts = Vec::new();
    for id in [first.id(), second.id()] {
        let posted = loop {
            let found = w.slack.calls().into_iter().find(|c| {
                c.method == "chat.postMessage"
                    && c.str("channel") == Some(APPROVERS)
                    && c.body["blocks"].to_string().contains(&id.to_string())
            });
            if let Some(card) = found {
                break card;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        ts.push(posted.response["ts"].as_str().unwrap().to_owned());
    }
    assert!(!cards.is_empty());
    w.click(APPROVER, APPROVERS, &ts[0], "approve", first.id())
        .await;
    w.click(APPROVER, APPROVERS, &ts[1], "approve", second.id())
        .await;
    for who in ["U0ALICEA01", "U0ALICEB01"] {
        w.slack
            .wait_for_calls_where(PATIENCE, |c| {
                c.method == "chat.postMessage"
                    && c.str("channel") == Some(who)
                    && c.str("text").is_some_and(|t| t.contains("ready"))
            })
            .await;
    }

    let mut a = w.login(&first).await.expect("the first logs in as herself");
    let mut b = w
        .login(&second)
        .await
        .expect("the second logs in as herself");
    assert_eq!(whoami(&mut a).await.unwrap(), first.db_username().as_str());
    assert_eq!(whoami(&mut b).await.unwrap(), second.db_username().as_str());
    let borrowed = w.vault.get(second.id()).await.unwrap();
    assert!(
        w.admin
            .clone()
            .username(first.db_username().as_str())
            .password(borrowed.expose())
            .connect()
            .await
            .is_err(),
        "the second person's password does not open the first's account"
    );
    drop((a, b));
    for request in [&first, &second] {
        assert_eq!(
            w.finished(&request.id().to_string()).await,
            ExecutionStatus::Succeeded
        );
        assert!(!w.user_exists(request).await);
    }
}
