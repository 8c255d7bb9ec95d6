//! The task handlers the `notify`, `provision` and `teardown` Lambdas wrap, driven with the
//! payloads Step Functions sends them (fixtures in `tests/fixtures/stepfunctions`, shaped by the
//! state machine's `Parameters`, including a `Catch`'s error as AWS records a Lambda failure),
//! over the real adapters: the fake Slack Web API, 0600 secret files and MariaDB.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use std::path::PathBuf;
use std::sync::Arc;

use powerpole_core::ports::{Decision, RequestStore};
use powerpole_core::{
    AccessRequest, Broker, ClusterId, ClusterPolicy, DbUsername, Email, ManualClock, MemoryStore,
    Ports, Region, RequestForm, RequestId, RequestState, SlackUserId, Unwired,
};
use powerpole_local::{NoAuditLog, NoBastionSessions, SecretFiles, ThisMachine};
use powerpole_mysql::{AccountSettings, MySqlAccounts};
use powerpole_slack::{RetryPolicy, SlackChat, SlackDirectory, SlackWebApi};
use powerpole_tasks::{self as tasks, TaskError};
use powerpole_testkit::fake_slack::FakeSlack;
use powerpole_testkit::mysql;
use powerpole_testkit::workflow::RecordingWorkflow;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const APPROVERS: &str = "C0APPROVE1";
const CLUSTER: &str = "tasks-orders";
const FIXTURE_ID: &str = "01KAW3J5ZQ8X7V2M4N6P8R0T2W";

/// The task functions' broker over the world's ports.
type TaskBroker<'a> = Broker<
    Ports<
        &'a Arc<MemoryStore>,
        &'a SlackChat,
        &'a ManualClock,
        &'a SecretFiles,
        ThisMachine,
        &'a MySqlAccounts,
        Unwired,
        Unwired,
        NoAuditLog,
        NoBastionSessions,
    >,
>;

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/stepfunctions")
        .join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

struct World {
    slack: FakeSlack,
    store: Arc<MemoryStore>,
    vault: SecretFiles,
    accounts: MySqlAccounts,
    chat: SlackChat,
    clock: ManualClock,
    cluster: ClusterPolicy,
    admin: sqlx::mysql::MySqlConnectOptions,
    request: AccessRequest,
}

/// The fixtures' request, pending, for a requester of its own.
async fn world(tag: &str) -> Option<World> {
    let admin: sqlx::mysql::MySqlConnectOptions =
        powerpole_testkit::mysql_admin_url()?.parse().unwrap();
    let slack = FakeSlack::start().await.unwrap();
    let web = SlackWebApi::new(
        "xoxb-tasks".to_owned().into(),
        &slack.api_url(),
        RetryPolicy::default(),
    )
    .unwrap();
    let cluster = ClusterPolicy::new(
        ClusterId::parse(CLUSTER).unwrap(),
        Region::parse("ap-northeast-1").unwrap(),
    );
    let now = OffsetDateTime::now_utc();
    let clock = ManualClock::new(now);
    let form = RequestForm {
        cluster: CLUSTER.into(),
        region: "ap-northeast-1".into(),
        permission: "READ".into(),
        duration_minutes: "60".into(),
        start: None,
        reason: "INC-5 payload check".into(),
    };
    let email = Email::parse(&format!("tasks.{tag}.{}@example.com", std::process::id())).unwrap();
    let request = AccessRequest::submit(
        RequestId::parse(FIXTURE_ID).unwrap(),
        SlackUserId::parse(&format!("U0TASK{}", tag.to_ascii_uppercase())).unwrap(),
        DbUsername::from_email(&email).unwrap(),
        form.validate(std::slice::from_ref(&cluster), now).unwrap(),
        now,
    );
    let store = Arc::new(MemoryStore::new());
    store.insert(&request).await.unwrap();
    let dir = std::env::temp_dir().join(format!(
        "powerpole-tasks-{tag}-{}-{}",
        std::process::id(),
        now.unix_timestamp_nanos()
    ));
    Some(World {
        slack,
        store,
        vault: SecretFiles::open(dir).unwrap(),
        accounts: MySqlAccounts::new().with_cluster(
            cluster.cluster.clone(),
            admin.clone(),
            AccountSettings::new(),
        ),
        chat: SlackChat::new(web, APPROVERS),
        clock,
        cluster,
        admin,
        request,
    })
}

impl World {
    fn broker(&self) -> TaskBroker<'_> {
        let ports = Ports::new(&self.store, &self.chat, &self.clock)
            .with_access(&self.vault, ThisMachine, &self.accounts)
            .with_evidence(NoAuditLog, NoBastionSessions);
        Broker::new(ports, vec![self.cluster.clone()])
    }

    async fn notify(&self, name: &str) -> Result<Value, TaskError> {
        tasks::notify(&self.broker(), fixture(name)).await
    }

    async fn current(&self) -> AccessRequest {
        self.store.get(self.request.id()).await.unwrap().unwrap()
    }

    async fn approve(&self) {
        self.notify("open_approval").await.unwrap();
        let ports = Ports::new(&self.store, &self.chat, &self.clock).with_intake(
            SlackDirectory::new(self.chat.web().clone()),
            RecordingWorkflow::default(),
        );
        Broker::new(ports, vec![self.cluster.clone()])
            .decide(
                self.request.id(),
                &SlackUserId::parse("U0APPROVE1").unwrap(),
                Decision::Approve,
            )
            .await
            .unwrap();
    }

    fn dm_texts(&self) -> Vec<String> {
        let me = self.request.requester().as_str();
        self.slack
            .calls_to("chat.postMessage")
            .into_iter()
            .filter(|c| c.str("channel") == Some(me))
            .map(|c| c.str("text").unwrap_or_default().to_owned())
            .collect()
    }

    async fn user_exists(&self) -> bool {
        mysql::user_exists(&self.admin, self.request.db_username().as_str())
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn the_payloads_step_functions_sends_take_a_request_from_the_gate_to_teardown() {
    let Some(w) = world("life").await else { return };

    w.approve().await;
    let gated = w.current().await;
    let token = fixture("open_approval")["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(gated.state(), RequestState::Approved);
    let card = &w.slack.calls_to("chat.postMessage")[0];
    assert_eq!(card.str("channel"), Some(APPROVERS));
    assert!(
        !card.body.to_string().contains(&token),
        "the task token never reaches Slack"
    );

    let times = tasks::provision(&w.broker(), fixture("schedule"))
        .await
        .unwrap();
    let at = |k: &str| OffsetDateTime::parse(times[k].as_str().unwrap(), &Rfc3339).unwrap();
    assert_eq!(at("end_at") - at("start_at"), time::Duration::hours(1));
    assert_eq!(at("end_at") - at("warn_at"), time::Duration::minutes(10));

    tasks::provision(&w.broker(), fixture("provision"))
        .await
        .unwrap();
    tasks::provision(&w.broker(), fixture("provision"))
        .await
        .unwrap();
    tasks::provision(&w.broker(), fixture("activate"))
        .await
        .unwrap();
    assert!(w.user_exists().await);
    assert_eq!(w.current().await.state(), RequestState::Active);
    w.notify("warn").await.unwrap();
    tasks::teardown(&w.broker(), fixture("teardown"))
        .await
        .unwrap();

    assert_eq!(w.current().await.state(), RequestState::Ended);
    assert!(!w.user_exists().await);
    let dms = w.dm_texts();
    assert_eq!(dms.len(), 3, "{dms:?}");
    assert!(dms[0].contains("ready"), "{dms:?}");
    assert!(dms[1].contains("ends at"), "{dms:?}");
    assert!(dms[2].contains("has ended"), "{dms:?}");
}

#[tokio::test]
async fn a_caught_lambda_error_reaches_the_requester_as_its_message_not_as_json() {
    let Some(w) = world("fail").await else { return };
    w.approve().await;
    tasks::provision(&w.broker(), fixture("provision"))
        .await
        .unwrap();

    w.notify("fail").await.unwrap();
    tasks::teardown(&w.broker(), fixture("cleanup"))
        .await
        .unwrap();

    let failed = w.current().await;
    assert_eq!(failed.state(), RequestState::Failed);
    assert!(
        !failed.cleanup_owed(),
        "the cleanup after the failure settled it"
    );
    assert!(!w.user_exists().await);
    let told = w.dm_texts().pop().unwrap();
    assert!(
        told.contains("mysql failed: connection refused (Retryable)"),
        "{told}"
    );
    assert!(!told.contains("stackTrace"), "{told}");
}

#[tokio::test]
async fn an_expired_gate_answers_with_the_recorded_decision_or_expires() {
    let Some(w) = world("expire").await else {
        return;
    };
    w.notify("open_approval").await.unwrap();

    let expired = w.notify("expire").await.unwrap();

    assert_eq!(expired, serde_json::json!({ "decision": "expired" }));
    assert_eq!(w.current().await.state(), RequestState::Expired);
    let again = w.notify("denied").await.unwrap();
    assert_eq!(again, serde_json::json!({}));
    assert_eq!(w.dm_texts().len(), 1, "only the expiry message, no denial");
}

#[tokio::test]
async fn a_gate_retried_after_the_click_is_closed_at_once_and_expire_answers_the_decision() {
    let Some(w) = world("regate").await else {
        return;
    };
    w.approve().await;
    let cards = w.slack.calls_to("chat.postMessage").len();

    let again = w.notify("open_approval").await.unwrap_err();

    assert_eq!(
        again.error_type(),
        "GateClosed",
        "the state machine catches this and goes to Expire: {again}"
    );
    assert_eq!(
        w.slack.calls_to("chat.postMessage").len(),
        cards,
        "no second card"
    );
    let answer = w.notify("expire").await.unwrap();
    assert_eq!(answer, serde_json::json!({ "decision": "approve" }));
    assert_eq!(w.current().await.state(), RequestState::Approved);
}

#[tokio::test]
async fn an_auto_approved_read_closes_the_gate_with_its_card_posted_and_expire_answers_approve() {
    let Some(mut w) = world("autogate").await else {
        return;
    };
    w.cluster = w
        .cluster
        .clone()
        .with_approval(powerpole_core::ApprovalRules::default().with_auto_approve_read(true));

    let gate = w.notify("open_approval").await.unwrap_err();

    assert_eq!(
        gate.error_type(),
        "GateClosed",
        "the state machine takes the decision at once: {gate}"
    );
    let cards = w.slack.calls_to("chat.postMessage");
    assert_eq!(cards.len(), 1, "one card, for the audit");
    assert_eq!(cards[0].str("channel"), Some(APPROVERS));
    assert!(
        cards[0].body["blocks"]
            .to_string()
            .contains("Auto-approved by policy"),
        "{}",
        cards[0].body
    );
    let answer = w.notify("expire").await.unwrap();
    assert_eq!(answer, serde_json::json!({ "decision": "approve" }));
    let approved = w.current().await;
    assert_eq!(approved.state(), RequestState::Approved);
    assert!(approved.auto_approved());
    w.notify("open_approval").await.unwrap_err();
    assert_eq!(
        w.slack.calls_to("chat.postMessage").len(),
        1,
        "a retried gate posts no second card"
    );
}

#[tokio::test]
async fn malformed_payloads_fail_without_retry_and_say_why() {
    let Some(w) = world("bad").await else { return };
    let cases = [
        ("bad_request_id", "ULID"),
        ("unknown_task", "has no task \"reboot\""),
    ];

    for (name, why) in cases {
        let err = tasks::provision(&w.broker(), fixture(name))
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), "NonRetryable", "{name}");
        assert!(err.to_string().contains(why), "{name}: {err}");
    }
    let wrong_function = w.notify("schedule").await.unwrap_err();
    assert_eq!(wrong_function.error_type(), "NonRetryable");
    assert!(
        wrong_function.to_string().contains("notify has no task"),
        "{wrong_function}"
    );
    let early = tasks::provision(&w.broker(), fixture("provision"))
        .await
        .unwrap_err();
    assert_eq!(
        early.error_type(),
        "NonRetryable",
        "a pending request is never provisioned"
    );
}

/// What the brokers' SLO observers received, by metric name and value.
#[derive(Default)]
struct Seen(Arc<std::sync::Mutex<Vec<powerpole_core::slo::Observation>>>);

impl Seen {
    fn record(&self) -> impl Fn(&[powerpole_core::slo::Observation]) + Send + Sync + 'static {
        let seen = Arc::clone(&self.0);
        move |found| seen.lock().unwrap().extend_from_slice(found)
    }

    fn take(&self, id: RequestId) -> Vec<(&'static str, f64)> {
        let taken: Vec<_> = self.0.lock().unwrap().drain(..).collect();
        assert!(taken.iter().all(|o| o.request() == Some(id)), "{taken:?}");
        taken
            .iter()
            .map(|o| (o.metric().name(), o.value()))
            .collect()
    }
}

#[tokio::test]
async fn the_lambdas_observe_a_build_and_its_teardown_once_each_retries_included() {
    let Some(w) = world("slo").await else { return };
    let seen = Seen::default();
    let id = w.request.id();
    let step = time::Duration::seconds(3);
    w.approve().await;
    tasks::provision(&w.broker(), fixture("schedule"))
        .await
        .unwrap();
    w.clock.advance(step);
    tasks::provision(&w.broker().observed_by(seen.record()), fixture("provision"))
        .await
        .unwrap();
    assert!(seen.take(id).is_empty(), "starting to build is no figure");

    w.clock.advance(step);
    tasks::provision(&w.broker().observed_by(seen.record()), fixture("activate"))
        .await
        .unwrap();
    assert_eq!(
        seen.take(id),
        [("BuildSucceeded", 1.0), ("TimeToReady", 6.0)],
        "approved, then ready 6 s later"
    );
    w.clock.advance(step);
    tasks::provision(&w.broker().observed_by(seen.record()), fixture("activate"))
        .await
        .unwrap();
    assert!(
        seen.take(id).is_empty(),
        "a retried activation counts nothing"
    );

    w.clock.advance(time::Duration::hours(1));
    tasks::teardown(&w.broker().observed_by(seen.record()), fixture("teardown"))
        .await
        .unwrap();
    assert_eq!(seen.take(id), [("TeardownSucceeded", 1.0)]);
    w.clock.advance(step);
    tasks::teardown(&w.broker().observed_by(seen.record()), fixture("teardown"))
        .await
        .unwrap();
    assert!(
        seen.take(id).is_empty(),
        "a retried teardown counts nothing"
    );
    assert!(!w.user_exists().await);
}

#[tokio::test]
async fn a_failed_build_is_observed_where_the_workflow_marks_it_failed() {
    let Some(w) = world("slofail").await else {
        return;
    };
    let seen = Seen::default();
    let id = w.request.id();
    w.approve().await;
    tasks::provision(&w.broker(), fixture("provision"))
        .await
        .unwrap();

    w.clock.advance(time::Duration::seconds(5));
    tasks::teardown(&w.broker().observed_by(seen.record()), fixture("cleanup"))
        .await
        .unwrap();
    assert_eq!(
        seen.take(id),
        [("TeardownSucceeded", 1.0)],
        "the Catch's cleanup"
    );
    w.clock.advance(time::Duration::seconds(5));
    tasks::notify(&w.broker().observed_by(seen.record()), fixture("fail"))
        .await
        .unwrap();
    assert_eq!(seen.take(id), [("BuildFailed", 1.0)]);
    w.clock.advance(time::Duration::seconds(5));
    tasks::notify(&w.broker().observed_by(seen.record()), fixture("fail"))
        .await
        .unwrap();
    assert!(seen.take(id).is_empty(), "a retried fail counts nothing");
    assert!(!w.user_exists().await);
}
