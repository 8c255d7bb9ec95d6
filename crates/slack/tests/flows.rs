//! The Slack endpoints end to end: real signed requests into [`SlackIngress`], real HTTP calls
//! out to the fake Slack Web API, the core's use cases in between. Each test asserts the exact
//! Web API calls a person's action causes, and what the store holds afterwards.
//!
//! The workflow's part (the approval gate storing its token and posting the card) is played by
//! the test through the same use case the workflow task calls.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use powerpole_core::ports::{Decision, Notice, RequestStore, TaskToken};
use powerpole_core::usecases::ApprovalGate;
use powerpole_core::{
    AccessRequest, ApprovalPolicy, ApprovalRules, ClusterId, ClusterPolicy, ManualClock,
    MemoryStore, Permission, Region, RequestId, RequestState, SlackUserId,
};
use powerpole_core::{Broker, Ports, SystemClock};
use powerpole_slack::{
    ApproverPolicy, Approvers, Reply, RetryPolicy, SignatureVerifier, SlackChat, SlackIngress,
    SlackWebApi,
};
use powerpole_testkit::fake_slack::{
    FakeCall, FakeFailure, FakeSlack, sign, signed_form_headers, unix_now,
};
use powerpole_testkit::slack_payloads::{
    RequestInput, block_click, button_click, extension_submission, interaction_form,
    request_submission, slash_command,
};
use powerpole_testkit::workflow::RecordingWorkflow;
use serde_json::Value;
use time::macros::datetime;

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const TOKEN: &str = "xoxb-test-token";
const APPROVERS: &str = "C0APPROVE1";
const REQUESTS: &str = "C0REQUEST1";
const REQUESTER: &str = "U0REQUEST1";
const APPROVER: &str = "U0APPROVE1";
const APPROVER_2: &str = "U0APPROVE2";
const OUTSIDER: &str = "U0OUTSIDE1";

struct Harness {
    slack: FakeSlack,
    chat: SlackChat,
    ingress: SlackIngress<MemoryStore, RecordingWorkflow, ManualClock>,
}

fn clusters() -> Vec<ClusterPolicy> {
    let mut orders = ClusterPolicy::new(
        ClusterId::parse("orders-prod").unwrap(),
        Region::parse("ap-northeast-1").unwrap(),
    );
    orders.levels = vec![Permission::Read, Permission::Dml];
    vec![
        orders,
        ClusterPolicy::new(
            ClusterId::parse("billing-prod").unwrap(),
            Region::parse("us-east-1").unwrap(),
        ),
    ]
}

async fn harness() -> Harness {
    harness_with(clusters()).await
}

/// [`harness`] serving `clusters`.
async fn harness_with(clusters: Vec<ClusterPolicy>) -> Harness {
    let slack = FakeSlack::start().await.unwrap();
    slack.set_user_email(REQUESTER, "keisuke.owato@example.com");
    slack.set_channel_members(APPROVERS, &[APPROVER, APPROVER_2, REQUESTER]);
    let web = SlackWebApi::new(TOKEN.into(), &slack.api_url(), RetryPolicy::default()).unwrap();
    let chat = SlackChat::new(web.clone(), APPROVERS).with_requests_channel(REQUESTS);
    let ingress = SlackIngress::new(
        SignatureVerifier::new(SECRET).unwrap(),
        web,
        chat.clone(),
        ApproverPolicy {
            channel: APPROVERS.into(),
            who: Approvers::AnyChannelMember,
        },
        clusters,
        MemoryStore::new(),
        RecordingWorkflow::default(),
        ManualClock::new(time::OffsetDateTime::now_utc()),
    );
    Harness {
        slack,
        chat,
        ingress,
    }
}

fn user(id: &str) -> SlackUserId {
    SlackUserId::parse(id).unwrap()
}

fn form_body(fields: &[(&str, &str)]) -> Vec<u8> {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
        .into_bytes()
}

fn submission(user: &str, permission: &str, duration: &str, reason: &str) -> Value {
    request_submission(
        user,
        &RequestInput {
            cluster: "orders-prod",
            region: "ap-northeast-1",
            permission,
            duration_minutes: duration,
            reason,
        },
    )
}

fn click(user: &str, channel: &str, card_ts: &str, action: &str, request: RequestId) -> Value {
    button_click(user, channel, card_ts, action, &request.to_string())
}

impl Harness {
    async fn command(&self, body: &[u8]) -> Reply {
        let headers = signed_form_headers(SECRET, body);
        self.ingress.command(headers.as_slice(), body).await
    }

    async fn interact(&self, payload: &Value) -> Reply {
        let body = interaction_form(payload);
        let headers = signed_form_headers(SECRET, &body);
        self.ingress.interaction(headers.as_slice(), &body).await
    }

    /// Submits a valid request as the requester and plays the workflow's approval gate: token
    /// stored, card posted. Forgets the calls made so far.
    async fn pending_with_card(&self, reason: &str) -> (AccessRequest, String) {
        let reply = self
            .interact(&submission(REQUESTER, "READ", "60", reason))
            .await;
        assert_eq!(reply, Reply::ack());
        let request = self.only_request().await;
        Broker::new(
            Ports::new(self.ingress.store(), &self.chat, SystemClock),
            self.ingress.broker().clusters().to_vec(),
        )
        .open_approval(request.id(), TaskToken("gate-token-1".into()))
        .await
        .unwrap();
        let card = self.slack.calls_to("chat.postMessage").pop().unwrap();
        assert_eq!(card.str("channel"), Some(APPROVERS));
        let ts = card.response["ts"].as_str().unwrap().to_owned();
        self.slack.clear_calls();
        (self.only_request().await, ts)
    }

    async fn only_request(&self) -> AccessRequest {
        let mut requests = self
            .ingress
            .store()
            .by_requester(&user(REQUESTER))
            .await
            .unwrap();
        assert_eq!(requests.len(), 1, "expected exactly one request");
        requests.remove(0)
    }

    fn methods(&self) -> Vec<String> {
        self.slack.calls().into_iter().map(|c| c.method).collect()
    }
}

fn ephemeral_text(reply: &Reply) -> String {
    let body = reply.body.as_ref().expect("a JSON answer");
    assert_eq!(body["response_type"], "ephemeral");
    body["text"].as_str().unwrap().to_owned()
}

fn blocks_text(call: &FakeCall) -> String {
    call.body["blocks"].to_string()
}

#[tokio::test]
async fn the_slash_command_opens_the_request_modal_with_the_configured_clusters() {
    let h = harness().await;

    let reply = h.command(&slash_command("", REQUESTER)).await;

    assert_eq!(reply, Reply::ack());
    assert_eq!(h.methods(), vec!["views.open"]);
    let open = &h.slack.calls_to("views.open")[0];
    assert_eq!(open.token.as_deref(), Some(TOKEN));
    assert_eq!(
        open.str("trigger_id"),
        Some("13345224609.738474920.8088930838d88f008e0")
    );
    let view = &open.body["view"];
    assert_eq!(view["callback_id"], "powerpole_request");
    let options: Vec<&str> = view["blocks"][0]["element"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert_eq!(options, vec!["orders-prod", "billing-prod"]);
    assert_eq!(
        view["blocks"][1]["element"]["initial_value"],
        "ap-northeast-1"
    );
}

#[tokio::test]
async fn help_and_list_answer_only_the_caller_without_web_api_calls() {
    let h = harness().await;

    let help = ephemeral_text(&h.command(&slash_command("help", REQUESTER)).await);
    let empty = ephemeral_text(&h.command(&slash_command("list", REQUESTER)).await);
    let unknown = ephemeral_text(&h.command(&slash_command("<!channel>", REQUESTER)).await);

    assert!(
        help.contains("`orders-prod` (ap-northeast-1) — READ / DML, up to 8 hours"),
        "{help}"
    );
    assert!(empty.contains("no requests yet"), "{empty}");
    assert!(
        unknown.contains("&lt;!channel&gt;") && !unknown.contains("<!channel>"),
        "{unknown}"
    );
    assert!(h.methods().is_empty(), "{:?}", h.methods());

    h.interact(&submission(REQUESTER, "READ", "60", "INC-7 check rows"))
        .await;
    let listed = ephemeral_text(&h.command(&slash_command("list", REQUESTER)).await);
    let request = h.only_request().await;
    assert!(
        listed.contains(&format!("`{}` *READ* on `orders-prod`", request.id())),
        "{listed}"
    );
    assert!(listed.contains("_pending_"), "{listed}");
}

#[tokio::test]
async fn a_retried_slash_command_delivery_opens_no_second_modal() {
    let h = harness().await;
    let body = slash_command("", REQUESTER);
    let mut headers = signed_form_headers(SECRET, &body);
    headers.push(("x-slack-retry-num".into(), "1".into()));
    headers.push(("x-slack-retry-reason".into(), "http_timeout".into()));

    let reply = h.ingress.command(headers.as_slice(), &body).await;

    assert_eq!(reply, Reply::ack());
    assert!(h.methods().is_empty());
}

#[tokio::test]
async fn an_invalid_submission_gets_inline_errors_and_records_nothing() {
    let h = harness().await;

    let reply = h
        .interact(&submission(REQUESTER, "DDL", "600", "   "))
        .await;

    let body = reply.body.as_ref().expect("inline errors");
    assert_eq!(reply.status, 200);
    assert_eq!(body["response_action"], "errors");
    let errors = body["errors"].as_object().unwrap();
    let mut fields: Vec<&str> = errors.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, vec!["duration", "permission", "reason"]);
    assert_eq!(errors["permission"], "DDL is not allowed on orders-prod");
    assert_eq!(errors["reason"], "Must not be empty");
    assert_eq!(errors["duration"], "Must be at most 8h for this cluster");
    assert!(h.methods().is_empty(), "{:?}", h.methods());
    assert!(
        h.ingress
            .store()
            .by_requester(&user(REQUESTER))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_valid_submission_is_recorded_acknowledged_and_its_workflow_started() {
    let h = harness().await;

    let reply = h
        .interact(&submission(
            REQUESTER,
            "DML",
            "120",
            "INC-42 fix stuck orders",
        ))
        .await;

    assert_eq!(reply, Reply::ack(), "an empty 200 closes the modal");
    let request = h.only_request().await;
    assert_eq!(request.state(), RequestState::Pending);
    assert_eq!(request.db_username().as_str(), "keisuke.owato");
    assert_eq!(request.spec().permission, Permission::Dml);
    assert_eq!(request.spec().window.duration(), time::Duration::hours(2));
    assert_eq!(
        h.methods(),
        vec!["users.info", "chat.postMessage", "chat.postMessage"]
    );
    assert_eq!(
        h.slack.calls_to("users.info")[0].str("user"),
        Some(REQUESTER)
    );
    let posts = h.slack.calls_to("chat.postMessage");
    assert_eq!(posts[0].str("channel"), Some(REQUESTER), "receipt as a DM");
    assert!(blocks_text(&posts[0]).contains(&request.id().to_string()));
    assert_eq!(posts[1].str("channel"), Some(REQUESTS));
    assert_eq!(
        posts[1].str("text"),
        Some(format!("<@{REQUESTER}> requested DML access to `orders-prod` for 2 hours: INC-42 fix stuck orders").as_str())
    );
    let started = h.ingress_workflow_started();
    assert_eq!(started, vec![request.id()]);
}

impl Harness {
    fn ingress_workflow_started(&self) -> Vec<RequestId> {
        self.ingress.workflow().started()
    }

    fn ingress_workflow_resumed(&self) -> Vec<(TaskToken, Decision)> {
        self.ingress.workflow().resumed()
    }
}

#[tokio::test]
async fn a_retried_submission_delivery_records_one_request_and_posts_nothing_more() {
    let h = harness().await;
    let payload = submission(REQUESTER, "READ", "60", "INC-9 read");
    h.interact(&payload).await;
    let calls_after_first = h.slack.calls().len();
    let body = interaction_form(&payload);
    let mut headers = signed_form_headers(SECRET, &body);
    headers.push(("x-slack-retry-num".into(), "1".into()));

    let reply = h.ingress.interaction(headers.as_slice(), &body).await;

    assert_eq!(reply, Reply::ack());
    h.only_request().await;
    assert_eq!(h.slack.calls().len(), calls_after_first);
}

#[tokio::test]
async fn approving_updates_the_card_in_place_and_resumes_the_workflow() {
    let h = harness().await;
    let (request, card_ts) = h.pending_with_card("INC-1 read orders").await;

    let reply = h
        .interact(&click(
            APPROVER,
            APPROVERS,
            &card_ts,
            "approve",
            request.id(),
        ))
        .await;

    assert_eq!(reply, Reply::ack());
    assert_eq!(h.methods(), vec!["conversations.members", "chat.update"]);
    let update = &h.slack.calls_to("chat.update")[0];
    assert_eq!(update.str("channel"), Some(APPROVERS));
    assert_eq!(update.str("ts"), Some(card_ts.as_str()));
    let blocks = blocks_text(update);
    assert!(
        blocks.contains(&format!("Approved by <@{APPROVER}>")),
        "{blocks}"
    );
    assert!(
        !blocks.contains("\"actions\""),
        "buttons must be gone: {blocks}"
    );
    assert_eq!(h.only_request().await.state(), RequestState::Approved);
    assert_eq!(
        h.ingress_workflow_resumed(),
        vec![(TaskToken("gate-token-1".into()), Decision::Approve)]
    );
}

#[tokio::test]
async fn denying_updates_the_card_and_resumes_the_workflow_with_deny() {
    let h = harness().await;
    let (request, card_ts) = h.pending_with_card("INC-2 read orders").await;

    h.interact(&click(APPROVER, APPROVERS, &card_ts, "deny", request.id()))
        .await;

    assert_eq!(h.methods(), vec!["conversations.members", "chat.update"]);
    let blocks = blocks_text(&h.slack.calls_to("chat.update")[0]);
    assert!(
        blocks.contains(&format!("Denied by <@{APPROVER}>")),
        "{blocks}"
    );
    assert_eq!(h.only_request().await.state(), RequestState::Denied);
    assert_eq!(h.ingress_workflow_resumed()[0].1, Decision::Deny);
}

#[tokio::test]
async fn the_requester_cannot_approve_their_own_request() {
    let h = harness().await;
    let (request, card_ts) = h.pending_with_card("INC-3 read orders").await;

    h.interact(&click(
        REQUESTER,
        APPROVERS,
        &card_ts,
        "approve",
        request.id(),
    ))
    .await;

    assert_eq!(
        h.methods(),
        vec!["conversations.members", "chat.postEphemeral"]
    );
    let answer = &h.slack.calls_to("chat.postEphemeral")[0];
    assert_eq!(answer.str("user"), Some(REQUESTER));
    assert_eq!(answer.str("channel"), Some(APPROVERS));
    assert!(
        answer
            .str("text")
            .unwrap()
            .contains("cannot decide their own request")
    );
    assert_eq!(h.only_request().await, request, "nothing changed");
    assert!(h.ingress_workflow_resumed().is_empty());
}

#[tokio::test]
async fn the_requester_cancels_from_the_pending_notice_and_a_stranger_cannot() {
    let h = harness().await;
    let (request, card_ts) = h.pending_with_card("INC-5 read orders").await;
    let dm_ts = "1732370000.000200";

    h.interact(&click(
        "U0STRANGER",
        REQUESTER,
        dm_ts,
        "cancel",
        request.id(),
    ))
    .await;
    assert_eq!(h.only_request().await.state(), RequestState::Pending);
    let refused = h.slack.calls_to("chat.postEphemeral");
    assert_eq!(refused.len(), 1, "{:?}", h.methods());
    assert_eq!(refused[0].str("user"), Some("U0STRANGER"));
    h.slack.clear_calls();

    let reply = h
        .interact(&click(REQUESTER, REQUESTER, dm_ts, "cancel", request.id()))
        .await;

    assert_eq!(reply, Reply::ack());
    assert_eq!(h.only_request().await.state(), RequestState::Cancelled);
    assert_eq!(h.ingress.workflow().stopped(), vec![request.id()]);
    let card = &h.slack.calls_to("chat.update")[0];
    assert_eq!(card.str("ts"), Some(card_ts.as_str()));
    assert!(
        card.body
            .to_string()
            .contains(&format!("Cancelled by <@{REQUESTER}>")),
        "{}",
        card.body
    );
    assert!(h.slack.calls_to("chat.postEphemeral").is_empty());
}

#[tokio::test]
async fn powerpole_cancel_withdraws_the_callers_only_waiting_request() {
    let h = harness().await;
    let (request, _) = h.pending_with_card("INC-6 read orders").await;

    let other = ephemeral_text(&h.command(&slash_command("cancel", "U0NOBODY01")).await);
    let bad = ephemeral_text(&h.command(&slash_command("cancel x<y", REQUESTER)).await);
    let done = ephemeral_text(&h.command(&slash_command("cancel", REQUESTER)).await);
    let again = ephemeral_text(
        &h.command(&slash_command(
            &format!("cancel {}", request.id()),
            REQUESTER,
        ))
        .await,
    );

    assert_eq!(other, "You have no request waiting to start.");
    assert!(bad.contains("`x&lt;y` is not a request id"), "{bad}");
    assert!(
        done.contains("is cancelled: nothing will be created"),
        "{done}"
    );
    assert!(again.contains("Nothing to cancel"), "{again}");
    assert_eq!(h.only_request().await.state(), RequestState::Cancelled);
    assert_eq!(h.ingress.workflow().stopped(), vec![request.id()]);
}

#[tokio::test]
async fn powerpole_cancel_while_provisioning_switches_the_workflow_to_its_teardown() {
    let h = harness().await;
    let (request, _) = h
        .approved_with_card_then(
            "INC-7 read orders",
            &[powerpole_core::Transition::StartProvisioning],
        )
        .await;

    let done = ephemeral_text(&h.command(&slash_command("cancel", REQUESTER)).await);

    assert!(
        done.contains("is cancelled: provisioning had begun, so what it made"),
        "{done}"
    );
    let cancelled = h.only_request().await;
    assert_eq!(cancelled.state(), RequestState::Cancelled);
    assert!(cancelled.cleanup_owed(), "what provisioning made is owed");
    assert_eq!(
        h.ingress.workflow().ended_early(),
        vec![request.id()],
        "the teardown-only run removes what was made"
    );
    assert!(h.ingress.workflow().stopped().is_empty());
    let card = h.slack.calls_to("chat.update").pop().expect("card redrawn");
    assert!(
        blocks_text(&card).contains(&format!("cancelled by <@{REQUESTER}>"))
            && blocks_text(&card).contains("what provisioning made is removed"),
        "{}",
        blocks_text(&card)
    );
}

#[tokio::test]
async fn a_retried_approve_delivery_is_silent_and_decides_once() {
    let h = harness().await;
    let (request, card_ts) = h.pending_with_card("INC-4 read orders").await;
    let approve = click(APPROVER, APPROVERS, &card_ts, "approve", request.id());
    h.interact(&approve).await;
    h.slack.clear_calls();
    let body = interaction_form(&approve);
    let mut headers = signed_form_headers(SECRET, &body);
    headers.push(("x-slack-retry-num".into(), "1".into()));
    headers.push(("x-slack-retry-reason".into(), "http_timeout".into()));

    let reply = h.ingress.interaction(headers.as_slice(), &body).await;

    assert_eq!(reply, Reply::ack());
    assert!(
        h.slack.calls_to("chat.postEphemeral").is_empty(),
        "the approver clicked once and hears nothing about a second decision: {:?}",
        h.methods()
    );
    assert_eq!(h.only_request().await.state(), RequestState::Approved);
    assert_eq!(h.ingress_workflow_resumed().len(), 1);
}

#[tokio::test]
async fn a_second_click_gets_a_polite_already_decided_and_changes_nothing() {
    let h = harness().await;
    let (request, card_ts) = h.pending_with_card("INC-4 read orders").await;
    h.interact(&click(
        APPROVER,
        APPROVERS,
        &card_ts,
        "approve",
        request.id(),
    ))
    .await;
    h.slack.clear_calls();

    h.interact(&click(
        APPROVER_2,
        APPROVERS,
        &card_ts,
        "deny",
        request.id(),
    ))
    .await;

    assert_eq!(
        h.methods(),
        vec!["conversations.members", "chat.postEphemeral"]
    );
    let answer = &h.slack.calls_to("chat.postEphemeral")[0];
    assert_eq!(answer.str("user"), Some(APPROVER_2));
    let text = answer.str("text").unwrap();
    assert!(text.contains("already decided"), "{text}");
    assert!(
        text.contains(&format!("Approved by <@{APPROVER}>")),
        "{text}"
    );
    assert_eq!(h.only_request().await.state(), RequestState::Approved);
    assert_eq!(h.ingress_workflow_resumed().len(), 1);
}

#[tokio::test]
async fn clicks_from_outside_the_approvers_or_their_channel_are_refused() {
    let h = harness().await;
    let (request, card_ts) = h.pending_with_card("INC-5 read orders").await;

    h.interact(&click(
        OUTSIDER,
        APPROVERS,
        &card_ts,
        "approve",
        request.id(),
    ))
    .await;
    h.interact(&click(
        APPROVER,
        "C0ELSEWHR1",
        &card_ts,
        "approve",
        request.id(),
    ))
    .await;

    assert_eq!(
        h.methods(),
        vec![
            "conversations.members",
            "chat.postEphemeral",
            "chat.postEphemeral"
        ]
    );
    let answers = h.slack.calls_to("chat.postEphemeral");
    assert_eq!(answers[0].str("user"), Some(OUTSIDER));
    assert_eq!(answers[1].str("channel"), Some("C0ELSEWHR1"));
    assert_eq!(h.only_request().await, request);
    assert!(h.ingress_workflow_resumed().is_empty());
}

#[tokio::test]
async fn every_message_showing_a_reason_escapes_slack_controls() {
    let h = harness().await;
    let reason = "<!channel> <!here> ping <@U0BOSS0001> & see <https://evil.example|this>";
    h.interact(&submission(REQUESTER, "READ", "60", reason))
        .await;
    let request = h.only_request().await;
    Broker::new(
        Ports::new(h.ingress.store(), &h.chat, SystemClock),
        Vec::new(),
    )
    .open_approval(request.id(), TaskToken("t".into()))
    .await
    .unwrap();

    let posts = h.slack.calls_to("chat.postMessage");
    assert_eq!(posts.len(), 3, "receipt, note, card");
    for post in &posts {
        let shown = format!("{} {}", post.body["text"], post.body["blocks"]);
        for control in ["<!channel>", "<!here>", "<@U0BOSS0001>", "<https://evil"] {
            assert!(
                !shown.contains(control),
                "{control} reached Slack in {shown}"
            );
        }
    }
    let note = posts[1].str("text").unwrap();
    assert!(
        note.ends_with("&lt;!channel&gt; &lt;!here&gt; ping &lt;@U0BOSS0001&gt; &amp; see &lt;https://evil.example|this&gt;"),
        "{note}"
    );
}

#[tokio::test]
async fn only_correctly_signed_fresh_requests_are_accepted() {
    let h = harness().await;
    let body = slash_command("list", REQUESTER);
    let now = unix_now();
    let ts = now.to_string();
    let stale = (now - 301).to_string();
    let good = sign(SECRET, now, &body);
    let cases: Vec<Case> = vec![
        ("valid", headers(&ts, &good), body.clone(), 200),
        (
            "wrong secret",
            headers(&ts, &sign("another-secret", now, &body)),
            body.clone(),
            401,
        ),
        (
            "stale",
            headers(&stale, &sign(SECRET, &stale, &body)),
            body.clone(),
            401,
        ),
        (
            "tampered",
            headers(&ts, &good),
            slash_command("list", OUTSIDER),
            401,
        ),
        ("no headers", Vec::new(), body.clone(), 401),
        (
            "oversized",
            headers(&ts, &sign(SECRET, now, &vec![b'a'; 70_000])),
            vec![b'a'; 70_000],
            413,
        ),
    ];

    for (case, headers, body, status) in cases {
        let reply = h.ingress.command(headers.as_slice(), &body).await;
        assert_eq!(reply.status, status, "{case}");
    }
    let garbage = form_body(&[("payload", "{not json")]);
    let reply = h
        .ingress
        .interaction(signed_form_headers(SECRET, &garbage).as_slice(), &garbage)
        .await;
    assert_eq!(reply.status, 400, "garbage payload");
    assert!(h.methods().is_empty());
}

/// A delivery: what it is, its headers, its body and the status it must get.
type Case = (&'static str, Vec<(String, String)>, Vec<u8>, u16);

fn headers(ts: &str, signature: &str) -> Vec<(String, String)> {
    vec![
        ("x-slack-request-timestamp".into(), ts.into()),
        ("x-slack-signature".into(), signature.into()),
    ]
}

/// The text of the modal that replaced the form after a submission failed.
fn replaced_modal_text(reply: &Reply) -> String {
    let body = reply.body.as_ref().expect("an answer");
    assert_eq!(body["response_action"], "update", "{body}");
    body["view"]["blocks"][0]["text"]["text"]
        .as_str()
        .unwrap()
        .to_owned()
}

impl Harness {
    /// `user` submits a valid form; asserts nothing was recorded or started, and returns what
    /// the modal then says.
    async fn failed_submission(&self, user_id: &str) -> String {
        let reply = self
            .interact(&submission(user_id, "READ", "60", "INC-6 read"))
            .await;
        assert!(
            self.ingress
                .store()
                .by_requester(&user(user_id))
                .await
                .unwrap()
                .is_empty(),
            "nothing is recorded"
        );
        assert!(self.ingress.workflow().started().is_empty());
        replaced_modal_text(&reply)
    }
}

#[tokio::test]
async fn a_submission_slack_cannot_name_gets_a_clear_message_in_the_modal() {
    let h = harness().await;

    let shown = h.failed_submission(OUTSIDER).await;

    assert!(
        shown.contains("Slack refused to tell powerpole who you are. Nothing was recorded."),
        "{shown}"
    );
    assert!(shown.contains(&format!("<#{APPROVERS}>")), "{shown}");
    assert!(!shown.contains("user_not_found"), "no internals: {shown}");
}

#[tokio::test]
async fn an_email_that_cannot_become_a_db_user_is_refused_with_the_reason_and_whom_to_ask() {
    let h = harness().await;
    h.slack
        .set_user_email(OUTSIDER, "'; DROP USER admin; --@example.com");

    let shown = h.failed_submission(OUTSIDER).await;

    assert!(
        shown.contains("e-mail address of your Slack profile, and that address cannot become one"),
        "{shown}"
    );
    assert!(
        shown.contains("the part before @ contains characters a mailbox name cannot have"),
        "the reason: {shown}"
    );
    assert!(
        shown.contains(&format!(
            "Ask a powerpole admin (the approvers in <#{APPROVERS}> know who)"
        )),
        "whom to ask: {shown}"
    );
    assert!(!shown.contains("slack failed"), "{shown}");
    assert!(
        !shown.contains("DROP USER"),
        "the address is not echoed: {shown}"
    );
}

#[tokio::test]
async fn a_profile_without_an_email_points_at_the_missing_scope() {
    let h = harness().await;
    h.slack.set_user_without_email(OUTSIDER);

    let shown = h.failed_submission(OUTSIDER).await;

    assert!(shown.contains("`users:read.email` scope"), "{shown}");
    assert!(shown.contains("Nothing was recorded"), "{shown}");
}

#[tokio::test]
async fn slack_not_answering_at_submission_asks_to_submit_again() {
    let h = harness().await;
    h.slack
        .fail_times("users.info", 10, FakeFailure::ServerError);

    let shown = h.failed_submission(REQUESTER).await;

    assert!(
        shown.contains("Slack did not answer when powerpole asked who you are"),
        "{shown}"
    );
    assert!(
        shown.contains("Submit the form again in a moment"),
        "{shown}"
    );
    assert!(!shown.contains("500"), "no internals: {shown}");
}

/// A workflow service that does not answer.
struct DownWorkflow;

impl powerpole_core::ports::Workflow for DownWorkflow {
    async fn start(&self, _start: &powerpole_core::ports::Start) -> powerpole_core::Result<()> {
        Err(powerpole_core::Error::Backend {
            system: "stepfunctions",
            retryable: true,
            source: "StartExecution: ServiceUnavailable (HTTP 503)".into(),
        })
    }

    async fn resume(&self, _token: &TaskToken, _decision: Decision) -> powerpole_core::Result<()> {
        Ok(())
    }

    async fn stop(&self, _id: RequestId, _cause: &str) -> powerpole_core::Result<()> {
        Ok(())
    }

    async fn end_early(&self, _id: RequestId) -> powerpole_core::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_workflow_that_does_not_start_asks_to_submit_again_without_internals() {
    let slack = FakeSlack::start().await.unwrap();
    slack.set_user_email(REQUESTER, "keisuke.owato@example.com");
    let web = SlackWebApi::new(TOKEN.into(), &slack.api_url(), RetryPolicy::default()).unwrap();
    let ingress = SlackIngress::new(
        SignatureVerifier::new(SECRET).unwrap(),
        web.clone(),
        SlackChat::new(web, APPROVERS),
        ApproverPolicy {
            channel: APPROVERS.into(),
            who: Approvers::AnyChannelMember,
        },
        clusters(),
        MemoryStore::new(),
        DownWorkflow,
        ManualClock::new(time::OffsetDateTime::now_utc()),
    );
    let body = interaction_form(&submission(REQUESTER, "READ", "60", "INC-7 read"));

    let reply = ingress
        .interaction(signed_form_headers(SECRET, &body).as_slice(), &body)
        .await;

    let shown = replaced_modal_text(&reply);
    assert!(
        shown.contains("did not answer. Submit the form again in a moment: a request already recorded is not recorded twice."),
        "{shown}"
    );
    for internal in ["stepfunctions", "503", "StartExecution", "failed"] {
        assert!(!shown.contains(internal), "{internal} in {shown}");
    }
}

#[tokio::test]
async fn the_clock_decides_the_start_of_a_now_request() {
    let h = harness().await;
    let at = datetime!(2030-01-01 09:00 UTC);
    h.ingress.clock().set(at);

    h.interact(&submission(REQUESTER, "READ", "60", "INC-8 read"))
        .await;

    assert_eq!(h.only_request().await.spec().window.start(), at);
}

impl Harness {
    /// [`Harness::pending_with_card`], approved by [`APPROVER`] and moved through `steps` the
    /// way the workflow would; forgets the calls made so far.
    async fn approved_with_card_then(
        &self,
        reason: &str,
        steps: &[powerpole_core::Transition],
    ) -> (AccessRequest, String) {
        use powerpole_core::{Actor, Component};
        let (request, card_ts) = self.pending_with_card(reason).await;
        self.interact(&click(
            APPROVER,
            APPROVERS,
            &card_ts,
            "approve",
            request.id(),
        ))
        .await;
        let mut moved = self.only_request().await;
        let expected = moved.version();
        let now = time::OffsetDateTime::now_utc();
        for step in steps {
            moved
                .apply(*step, Actor::System(Component::Workflow), now, "")
                .unwrap();
        }
        self.ingress.store().update(&moved, expected).await.unwrap();
        self.slack.clear_calls();
        (self.only_request().await, card_ts)
    }

    /// [`Harness::pending_with_card`], approved by [`APPROVER`] and made live the way the
    /// workflow's provisioning would; forgets the calls made so far.
    async fn active_with_card(&self, reason: &str) -> (AccessRequest, String) {
        use powerpole_core::Transition;
        self.approved_with_card_then(
            reason,
            &[Transition::StartProvisioning, Transition::Activate],
        )
        .await
    }
}

#[tokio::test]
async fn an_approver_revokes_live_access_and_the_requester_is_told_who() {
    let h = harness().await;
    let (request, card_ts) = h.active_with_card("INC-11 read orders").await;
    assert!(
        powerpole_slack::views::approval_card(&request)["blocks"]
            .to_string()
            .contains("Revoke now"),
        "the live card offers Revoke now"
    );

    let reply = h
        .interact(&click(
            APPROVER_2,
            APPROVERS,
            &card_ts,
            "revoke",
            request.id(),
        ))
        .await;

    assert_eq!(reply, Reply::ack());
    assert_eq!(h.ingress.workflow().ended_early(), vec![request.id()]);
    let revoked = h.only_request().await;
    assert_eq!(revoked.state(), RequestState::Ending);
    let dm = h
        .slack
        .calls_to("chat.postMessage")
        .into_iter()
        .find(|c| c.str("channel") == Some(REQUESTER))
        .expect("the requester is told");
    assert!(
        dm.str("text")
            .unwrap()
            .contains(&format!("<@{APPROVER_2}> revoked your access")),
        "{:?}",
        dm.str("text")
    );
    let card = h
        .slack
        .calls_to("chat.update")
        .pop()
        .expect("the card is redrawn");
    let blocks = blocks_text(&card);
    assert!(
        blocks.contains(&format!("revoked by <@{APPROVER_2}>")) && !blocks.contains("Revoke now"),
        "{blocks}"
    );
}

#[tokio::test]
async fn only_approvers_revoke_and_a_second_revoke_changes_nothing() {
    let h = harness().await;
    let (request, card_ts) = h.active_with_card("INC-12 read orders").await;

    h.interact(&click(
        OUTSIDER,
        APPROVERS,
        &card_ts,
        "revoke",
        request.id(),
    ))
    .await;
    assert_eq!(h.only_request().await.state(), RequestState::Active);
    assert!(h.ingress.workflow().ended_early().is_empty());
    let refused = h.slack.calls_to("chat.postEphemeral");
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].str("user"), Some(OUTSIDER));

    for _ in 0..2 {
        h.interact(&click(
            APPROVER,
            APPROVERS,
            &card_ts,
            "revoke",
            request.id(),
        ))
        .await;
    }
    assert_eq!(h.ingress.workflow().ended_early(), vec![request.id()]);
    let answers = h.slack.calls_to("chat.postEphemeral");
    assert!(
        answers
            .last()
            .and_then(|c| c.str("text"))
            .is_some_and(|t| t.contains("already ending")),
        "{answers:?}"
    );
}

#[tokio::test]
async fn revoking_access_that_has_not_started_says_so_without_internals() {
    let h = harness().await;
    let (request, card_ts) = h.pending_with_card("INC-13 read orders").await;
    h.interact(&click(
        APPROVER,
        APPROVERS,
        &card_ts,
        "approve",
        request.id(),
    ))
    .await;
    h.slack.clear_calls();

    h.interact(&click(
        APPROVER_2,
        APPROVERS,
        &card_ts,
        "revoke",
        request.id(),
    ))
    .await;

    let answers = h.slack.calls_to("chat.postEphemeral");
    assert_eq!(answers.len(), 1);
    assert_eq!(
        answers[0].str("text"),
        Some("Nothing to do: this request is approved.")
    );
    assert!(h.ingress.workflow().ended_early().is_empty());
}

impl Harness {
    /// The requester asks for `minutes` more on `request` in the extension modal.
    async fn ask_extension(&self, request: RequestId, minutes: &str) -> Reply {
        self.interact(&extension_submission(
            REQUESTER,
            &request.to_string(),
            minutes,
            "INC-11 the backfill is still running",
        ))
        .await
    }

    /// `who` clicks `action` (`extension_approve` / `extension_deny`) on the card of extension 1.
    async fn decide_extension(&self, who: &str, ts: &str, action: &str, request: RequestId) {
        let reply = self
            .interact(&block_click(
                who,
                APPROVERS,
                ts,
                "extension-1",
                action,
                &request.to_string(),
            ))
            .await;
        assert_eq!(reply, Reply::ack());
    }
}

#[tokio::test]
async fn the_requester_extends_and_an_approver_other_than_them_approves_in_the_cards_thread() {
    let h = harness().await;
    let (request, card_ts) = h.active_with_card("INC-11 read orders").await;
    let ends_at = request.window().end();
    let warning = powerpole_slack::views::notice_message(&Notice::EndingSoon {
        request: request.id(),
        ends_at,
        left: time::Duration::minutes(10),
    });
    assert!(
        warning["blocks"]
            .to_string()
            .contains("\"action_id\":\"extend\"")
    );

    h.interact(&click(REQUESTER, REQUESTER, "1.1", "extend", request.id()))
        .await;
    let open = h
        .slack
        .calls_to("views.open")
        .pop()
        .expect("the modal opens");
    let view = &open.body["view"];
    assert_eq!(view["callback_id"], "powerpole_extend");
    assert_eq!(view["private_metadata"], request.id().to_string());
    let offered: Vec<&str> = view["blocks"][1]["element"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        offered,
        ["15", "30", "60", "120", "240", "360"],
        "within 8 h of the start"
    );
    let reply = h.ask_extension(request.id(), "30").await;
    assert_eq!(reply, Reply::ack(), "the modal closes");
    let posted = h.slack.calls_to("chat.postMessage");
    let ext_card = posted
        .iter()
        .find(|c| c.str("thread_ts") == Some(card_ts.as_str()))
        .expect("the extension card is in the approval card's thread");
    assert_eq!(ext_card.str("channel"), Some(APPROVERS));
    assert!(blocks_text(ext_card).contains("extension-1"));
    let ext_ts = ext_card.response["ts"].as_str().unwrap().to_owned();
    h.slack.clear_calls();

    h.decide_extension(REQUESTER, &ext_ts, "extension_approve", request.id())
        .await;
    let refused = h.slack.calls_to("chat.postEphemeral");
    assert_eq!(refused.len(), 1, "{:?}", h.methods());
    assert!(
        refused[0]
            .str("text")
            .unwrap()
            .contains("the requester cannot decide their own extension")
    );
    assert_eq!(h.only_request().await.window().end(), ends_at);
    h.slack.clear_calls();
    h.decide_extension(APPROVER, &ext_ts, "extension_approve", request.id())
        .await;

    let extended = h.only_request().await;
    assert_eq!(
        extended.window().end(),
        ends_at + time::Duration::minutes(30)
    );
    assert_eq!(extended.state(), RequestState::Active);
    assert!(h.ingress.workflow().ended_early().is_empty());
    let updates = h.slack.calls_to("chat.update");
    let redrawn = updates
        .iter()
        .find(|c| c.str("ts") == Some(ext_ts.as_str()))
        .expect("the extension card is redrawn in place");
    assert!(blocks_text(redrawn).contains(&format!("Approved by <@{APPROVER}>")));
    assert!(!blocks_text(redrawn).contains("extension_approve"));
    assert!(
        updates
            .iter()
            .any(|c| c.str("ts") == Some(card_ts.as_str())),
        "the approval card shows the new end"
    );
    let told = h
        .slack
        .calls_to("chat.postMessage")
        .into_iter()
        .find(|c| c.str("channel") == Some(REQUESTER))
        .expect("the requester is told");
    assert!(
        told.str("text")
            .unwrap()
            .contains(&format!("<@{APPROVER}> extended your access")),
        "{:?}",
        told.str("text")
    );
    h.slack.clear_calls();
    h.decide_extension(APPROVER_2, &ext_ts, "extension_deny", request.id())
        .await;
    assert_eq!(
        h.only_request().await.window().end(),
        ends_at + time::Duration::minutes(30),
        "a second click changes nothing"
    );
    assert!(
        h.slack.calls_to("chat.postEphemeral")[0]
            .str("text")
            .unwrap()
            .contains("already decided")
    );
}

#[tokio::test]
async fn more_than_the_cluster_maximum_from_the_start_is_refused_inline_in_the_modal() {
    let h = harness().await;
    let (request, _) = h.active_with_card("INC-14 read orders").await;

    let too_long = h.ask_extension(request.id(), "421").await;
    let empty = h
        .interact(&extension_submission(
            REQUESTER,
            &request.id().to_string(),
            "",
            " ",
        ))
        .await;
    let stranger = h
        .interact(&extension_submission(
            OUTSIDER,
            &request.id().to_string(),
            "30",
            "mine now",
        ))
        .await;

    let body = too_long.body.expect("inline errors");
    assert_eq!(body["response_action"], "errors");
    assert_eq!(
        body["errors"]["duration"],
        "Must be at most 7h more: the cluster allows 8h from the start"
    );
    let body = empty.body.expect("inline errors");
    assert!(body["errors"]["duration"].is_string() && body["errors"]["reason"].is_string());
    let body = stranger.body.expect("inline errors");
    assert_eq!(
        body["errors"]["duration"],
        "Not possible: only the requester can extend their access."
    );
    assert!(h.only_request().await.extensions().is_empty());
    assert!(h.slack.calls_to("chat.postMessage").is_empty());

    h.interact(&click(OUTSIDER, OUTSIDER, "1.1", "extend", request.id()))
        .await;
    assert!(h.slack.calls_to("views.open").is_empty());
    assert_eq!(
        h.slack.calls_to("chat.postEphemeral")[0].str("text"),
        Some("Only the requester can extend their access.")
    );
}

#[tokio::test]
async fn an_extension_clicked_after_the_end_lapses_and_its_card_says_so() {
    let h = harness().await;
    let (request, _) = h.active_with_card("INC-15 read orders").await;
    h.ask_extension(request.id(), "60").await;
    let ext_card = h.slack.calls_to("chat.postMessage")[0].clone();
    let ext_ts = ext_card.response["ts"].as_str().unwrap().to_owned();
    h.slack.clear_calls();

    h.ingress.clock().set(request.window().end());
    h.decide_extension(APPROVER, &ext_ts, "extension_approve", request.id())
        .await;

    let lapsed = h.only_request().await;
    assert_eq!(lapsed.window().end(), request.window().end());
    assert!(!lapsed.extensions()[0].is_approved());
    assert!(
        h.slack.calls_to("chat.postEphemeral")[0]
            .str("text")
            .unwrap()
            .starts_with("Too late")
    );
    let redrawn = h.slack.calls_to("chat.update").pop().unwrap();
    assert_eq!(redrawn.str("ts"), Some(ext_ts.as_str()));
    assert!(blocks_text(&redrawn).contains("Lapsed"));
}

#[tokio::test]
async fn a_retried_extension_approve_delivery_is_silent_and_extends_once() {
    let h = harness().await;
    let (request, _) = h.active_with_card("INC-16 read orders").await;
    h.ask_extension(request.id(), "30").await;
    let ext_ts = h.slack.calls_to("chat.postMessage")[0].response["ts"]
        .as_str()
        .unwrap()
        .to_owned();
    let approve = block_click(
        APPROVER,
        APPROVERS,
        &ext_ts,
        "extension-1",
        "extension_approve",
        &request.id().to_string(),
    );
    h.interact(&approve).await;
    h.slack.clear_calls();
    let body = interaction_form(&approve);
    let mut headers = signed_form_headers(SECRET, &body);
    headers.push(("x-slack-retry-num".into(), "1".into()));

    let reply = h.ingress.interaction(headers.as_slice(), &body).await;

    assert_eq!(reply, Reply::ack());
    assert_eq!(
        h.methods(),
        ["conversations.members"],
        "only the approver check: no answer, no redraw, no second DM"
    );
    assert_eq!(
        h.only_request().await.window().end(),
        request.window().end() + time::Duration::minutes(30),
        "extended once"
    );
}

/// The DBRE user group: both approvers, and the requester too (who never counts).
const DBRE: &str = "S0DBRE0001";

/// `orders-prod` with READ needing two approvals from [`DBRE`], DML approved by nobody, and
/// `billing-prod` approving READ by policy.
fn policy_clusters() -> Vec<ClusterPolicy> {
    let mut clusters = clusters();
    clusters[0].approval = ApprovalRules::default()
        .with_level(
            Permission::Read,
            ApprovalPolicy::configured(&format!("group:{DBRE}"), Some(2)).unwrap(),
        )
        .with_level(
            Permission::Dml,
            ApprovalPolicy::configured("none", None).unwrap(),
        );
    clusters[1].approval = ApprovalRules::default().with_auto_approve_read(true);
    clusters
}

#[tokio::test]
async fn two_approvals_from_the_group_are_counted_once_each_and_only_the_second_resumes() {
    let h = harness_with(policy_clusters()).await;
    h.slack
        .set_usergroup_users(DBRE, &[APPROVER, APPROVER_2, REQUESTER]);
    let (request, card_ts) = h.pending_with_card("INC-20 read orders").await;
    let card = powerpole_slack::views::approval_card(&request)["blocks"].to_string();
    assert!(card.contains("*Approvals:* 0 of 2 — none yet"), "{card}");
    let approve = |who: &str| click(who, APPROVERS, &card_ts, "approve", request.id());

    h.interact(&approve(APPROVER)).await;

    assert_eq!(
        h.methods(),
        vec!["usergroups.users.list", "chat.update", "chat.postEphemeral"]
    );
    let card = blocks_text(&h.slack.calls_to("chat.update")[0]);
    assert!(card.contains("*Approvals:* 1 of 2"), "{card}");
    assert!(card.contains(&format!("<@{APPROVER}>")), "{card}");
    assert!(
        card.contains("\"approve\""),
        "still open for the second: {card}"
    );
    let answer = h.slack.calls_to("chat.postEphemeral")[0].clone();
    assert!(
        answer.str("text").unwrap().contains("counted: 1 of 2"),
        "{answer:?}"
    );
    assert!(h.ingress_workflow_resumed().is_empty());

    h.slack.clear_calls();
    h.interact(&approve(APPROVER)).await;
    h.interact(&approve(REQUESTER)).await;
    h.interact(&approve(OUTSIDER)).await;

    let answers: Vec<String> = h
        .slack
        .calls_to("chat.postEphemeral")
        .iter()
        .map(|c| c.str("text").unwrap().to_owned())
        .collect();
    assert_eq!(answers.len(), 3, "{answers:?}");
    assert!(
        answers[0].contains("the same person counts once"),
        "{}",
        answers[0]
    );
    assert!(
        answers[1].contains("cannot decide their own request"),
        "the requester is in the group and still never counts: {}",
        answers[1]
    );
    assert!(
        answers[2].contains(&format!("only members of <!subteam^{DBRE}> can approve")),
        "{}",
        answers[2]
    );
    assert!(
        h.slack.calls_to("chat.update").is_empty(),
        "nothing changed"
    );
    assert_eq!(h.only_request().await.approvals(), [&user(APPROVER)]);

    h.slack.clear_calls();
    h.interact(&approve(APPROVER_2)).await;

    let card = blocks_text(&h.slack.calls_to("chat.update")[0]);
    assert!(
        card.contains(&format!(
            "Approved by <@{APPROVER}>, <@{APPROVER_2}> (2 of 2)"
        )),
        "{card}"
    );
    assert!(!card.contains("\"approve\""), "{card}");
    assert_eq!(h.only_request().await.state(), RequestState::Approved);
    assert_eq!(
        h.ingress_workflow_resumed(),
        vec![(TaskToken("gate-token-1".into()), Decision::Approve)]
    );
}

#[tokio::test]
async fn one_deny_ends_a_request_with_one_of_two_approvals() {
    let h = harness_with(policy_clusters()).await;
    h.slack.set_usergroup_users(DBRE, &[APPROVER, APPROVER_2]);
    let (request, card_ts) = h.pending_with_card("INC-21 read orders").await;
    h.interact(&click(
        APPROVER,
        APPROVERS,
        &card_ts,
        "approve",
        request.id(),
    ))
    .await;

    h.interact(&click(
        APPROVER_2,
        APPROVERS,
        &card_ts,
        "deny",
        request.id(),
    ))
    .await;

    assert_eq!(h.only_request().await.state(), RequestState::Denied);
    assert_eq!(
        h.ingress_workflow_resumed(),
        vec![(TaskToken("gate-token-1".into()), Decision::Deny)]
    );
}

#[tokio::test]
async fn a_level_approved_by_people_and_a_group_takes_either_and_refuses_others_naming_both() {
    let mut clusters = clusters();
    clusters[0].approval = ApprovalRules::default().with_level(
        Permission::Read,
        ApprovalPolicy::configured(&format!("users:{APPROVER} group:{DBRE}"), Some(2)).unwrap(),
    );
    let h = harness_with(clusters).await;
    h.slack.set_usergroup_users(DBRE, &[APPROVER_2]);
    let (request, card_ts) = h.pending_with_card("INC-23 read orders").await;
    let approve = |who: &str| click(who, APPROVERS, &card_ts, "approve", request.id());

    h.interact(&approve(OUTSIDER)).await;

    let refusal = h.slack.calls_to("chat.postEphemeral")[0].clone();
    assert_eq!(
        refusal.str("text"),
        Some(
            format!(
                "Sorry, only <@{APPROVER}> or members of <!subteam^{DBRE}> can approve or deny \
                 this request."
            )
            .as_str()
        )
    );
    assert!(h.only_request().await.approvals().is_empty());

    h.slack.clear_calls();
    h.interact(&approve(APPROVER)).await;

    assert_eq!(
        h.methods(),
        vec!["chat.update", "chat.postEphemeral"],
        "listed by name, not in the group: no lookup"
    );
    assert_eq!(h.only_request().await.approvals(), [&user(APPROVER)]);

    h.slack.clear_calls();
    h.interact(&approve(APPROVER_2)).await;

    assert_eq!(h.slack.calls_to("usergroups.users.list").len(), 1);
    assert_eq!(h.only_request().await.state(), RequestState::Approved);
    assert_eq!(
        h.ingress_workflow_resumed(),
        vec![(TaskToken("gate-token-1".into()), Decision::Approve)]
    );
}

#[tokio::test]
async fn help_says_which_levels_need_more_approvers_or_have_none() {
    let h = harness_with(policy_clusters()).await;

    let help = ephemeral_text(&h.command(&slash_command("help", REQUESTER)).await);

    assert!(
        help.contains(
            "`orders-prod` (ap-northeast-1) — READ / DML, up to 8 hours (READ needs 2 \
             approvers: members of <!subteam^S0DBRE0001>; DML: no approvers configured)"
        ),
        "{help}"
    );
    assert!(
        help.contains("up to 8 hours (READ auto-approved)"),
        "{help}"
    );
}

#[tokio::test]
async fn a_level_nobody_approves_is_refused_at_submit_saying_whom_to_ask() {
    let h = harness_with(policy_clusters()).await;

    let reply = h
        .interact(&submission(REQUESTER, "DML", "60", "INC-22 fix orders"))
        .await;

    let body = reply.body.as_ref().expect("inline errors");
    assert_eq!(body["response_action"], "errors");
    let error = body["errors"]["permission"].as_str().unwrap();
    assert!(
        error.starts_with("DML on orders-prod has no approvers configured"),
        "{error}"
    );
    assert!(error.contains("ask a powerpole admin"), "{error}");
    assert!(h.methods().is_empty(), "{:?}", h.methods());
    assert!(
        h.ingress
            .store()
            .by_requester(&user(REQUESTER))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn read_on_a_cluster_marked_auto_approve_is_approved_by_policy_on_a_card_of_its_own() {
    let h = harness_with(policy_clusters()).await;
    let reply = h
        .interact(&request_submission(
            REQUESTER,
            &RequestInput {
                cluster: "billing-prod",
                region: "us-east-1",
                permission: "READ",
                duration_minutes: "30",
                reason: "INC-23 read invoices",
            },
        ))
        .await;
    assert_eq!(reply, Reply::ack());
    let request = h.only_request().await;
    h.slack.clear_calls();

    let gate = Broker::new(
        Ports::new(h.ingress.store(), &h.chat, SystemClock),
        policy_clusters(),
    )
    .open_approval(request.id(), TaskToken("gate-token-1".into()))
    .await
    .unwrap();

    assert!(matches!(gate, ApprovalGate::AutoApproved(_)), "{gate:?}");
    let cards = h.slack.calls_to("chat.postMessage");
    assert_eq!(cards.len(), 1);
    assert_eq!(
        cards[0].str("channel"),
        Some(APPROVERS),
        "audited on a card"
    );
    let card = blocks_text(&cards[0]);
    assert!(card.contains("Auto-approved by policy"), "{card}");
    assert!(!card.contains("\"approve\""), "{card}");
    let stored = h.only_request().await;
    assert_eq!(stored.state(), RequestState::Approved);
    assert_eq!(
        stored.decision().unwrap().actor.to_string(),
        "system:policy"
    );
}

#[tokio::test]
async fn namesakes_of_two_domains_get_their_own_db_users_and_the_receipt_names_it() {
    const NAMESAKE: &str = "U0NAMESAK1";
    const MAPPED: &str = "U0DAISUKE1";
    let mut h = harness().await;
    h.ingress = h.ingress.with_identity(
        powerpole_core::IdentityRules::new(
            ["example.com"],
            [(
                user(MAPPED),
                powerpole_core::DbUsername::parse("daisuke").unwrap(),
            )],
        )
        .unwrap(),
    );
    h.slack.set_user_email(REQUESTER, "alice@example.com");
    h.slack.set_user_email(NAMESAKE, "alice@partner.example");
    h.slack.set_user_email(MAPPED, "大輔@example.com");

    let mut receipts = Vec::new();
    for who in [REQUESTER, NAMESAKE, MAPPED] {
        let reply = h
            .interact(&submission(who, "READ", "60", "INC-30 read orders"))
            .await;
        assert_eq!(reply, Reply::ack(), "{who}: {reply:?}");
        let dm = h
            .slack
            .calls_to("chat.postMessage")
            .into_iter()
            .find(|c| c.str("channel") == Some(who))
            .unwrap();
        receipts.push(dm.str("text").unwrap().to_owned());
    }
    let mut names = Vec::new();
    for who in [REQUESTER, NAMESAKE, MAPPED] {
        let requests = h.ingress.store().by_requester(&user(who)).await.unwrap();
        names.push(requests[0].db_username().as_str().to_owned());
    }

    assert_eq!(names[0], "alice");
    assert!(names[1].starts_with("alice_partner_"), "{names:?}");
    assert_eq!(names[2], "daisuke");
    for (receipt, name) in receipts.iter().zip(&names) {
        assert!(
            receipt.contains(&format!("as DB user `{name}`")),
            "{receipt}"
        );
    }
}
