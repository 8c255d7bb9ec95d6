//! The Web API client, the `Chat` and `Directory` adapters and the approver policy against the
//! fake Slack Web API on loopback: the exact calls made, retries, give-ups and refusals.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use std::fmt::{Debug, Write as _};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use powerpole_core::ports::{Chat, Directory, Notice};
use powerpole_core::{
    AccessRequest, AccessSpec, AccessWindow, Actor, ClusterId, DbUsername, Email, MessageRef,
    Permission, Reason, Region, RequestId, SlackUserId, Transition, WindowPolicy,
};
use powerpole_slack::views;
use powerpole_slack::{
    ApproverPolicy, Approvers, Error, Refusal, RetryPolicy, SlackChat, SlackDirectory, SlackWebApi,
    WebApiFailure,
};
use powerpole_testkit::fake_slack::{FakeCall, FakeFailure, FakeSlack};
use secrecy::SecretString;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

const TOKEN: &str = "xoxb-1234-5678-powerpole-test-token";
const APPROVERS: &str = "G0APPROVERS";
const REQUESTS: &str = "C0REQUESTS1";

fn user(id: &str) -> SlackUserId {
    SlackUserId::parse(id).unwrap()
}

fn quick() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
        attempt_timeout: Duration::from_secs(5),
    }
}

fn web_at(url: &str, policy: RetryPolicy) -> SlackWebApi {
    SlackWebApi::new(SecretString::from(TOKEN), url, policy).unwrap()
}

async fn fake_and_web(policy: RetryPolicy) -> (FakeSlack, SlackWebApi) {
    let fake = FakeSlack::start().await.unwrap();
    let web = web_at(&fake.api_url(), policy);
    (fake, web)
}

/// Asserts a call's method, HTTP method, bearer token and body, and that Slack accepted it.
fn assert_call(call: &FakeCall, method: &str, http_method: &str, body: &Value) {
    assert_eq!(call.method, method);
    assert_eq!(call.http_method, http_method, "{method}");
    assert_eq!(call.token.as_deref(), Some(TOKEN), "{method}");
    assert_eq!(&call.body, body, "{method}");
}

fn web_api_error(error: &Error) -> (&'static str, u32, &WebApiFailure) {
    match error {
        Error::WebApi {
            method,
            attempts,
            failure,
            ..
        } => (method, *attempts, failure),
        other => panic!("expected a Web API error, got {other:?}"),
    }
}

/// The error and every source under it, as text.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = format!("{error} / {error:?}");
    let mut source = error.source();
    while let Some(cause) = source {
        write!(text, " / {cause} / {cause:?}").unwrap();
        source = cause.source();
    }
    text
}

const T0: OffsetDateTime = datetime!(2026-11-23 14:00 UTC);

fn request() -> AccessRequest {
    let spec = AccessSpec {
        cluster: ClusterId::parse("prod-orders").unwrap(),
        region: Region::parse("ap-northeast-1").unwrap(),
        permission: Permission::Read,
        window: AccessWindow::request(T0, time::Duration::hours(1), T0, &WindowPolicy::default())
            .unwrap(),
        reason: Reason::parse("INC-42 check <!channel> orders").unwrap(),
    };
    AccessRequest::submit(
        RequestId::generate(T0, &mut rand::rng()),
        user("UREQUESTER1"),
        DbUsername::from_email(&Email::parse("keisuke.owato@example.com").unwrap()).unwrap(),
        spec,
        T0,
    )
}

// ---------------------------------------------------------------------------------------------
// Exact calls

#[tokio::test]
async fn post_message_sends_text_and_blocks_as_json_with_the_bearer_token() {
    let (fake, web) = fake_and_web(quick()).await;
    let blocks = json!([{"type": "section", "text": {"type": "mrkdwn", "text": "*hello*"}}]);

    let posted = web
        .post_message("C0CHANNEL01", "hello", Some(&blocks))
        .await
        .unwrap();

    let calls = fake.calls();
    assert_eq!(calls.len(), 1);
    assert_call(
        &calls[0],
        "chat.postMessage",
        "POST",
        &json!({"channel": "C0CHANNEL01", "text": "hello", "blocks": blocks}),
    );
    assert_eq!(posted.channel, "C0CHANNEL01");
    assert_eq!(Some(posted.ts.as_str()), calls[0].response["ts"].as_str());
}

#[tokio::test]
async fn a_message_to_a_user_lands_in_the_dm_and_is_updated_there() {
    let (fake, web) = fake_and_web(quick()).await;

    let posted = web.post_message("UPERSON01", "first", None).await.unwrap();
    assert_eq!(
        posted.channel, "DPERSON01",
        "the DM channel, not the user id"
    );
    web.update_message(&posted, "second", Some(&json!([])))
        .await
        .unwrap();
    web.update_message(&posted, "third", None).await.unwrap();

    let calls = fake.calls();
    assert_eq!(calls.len(), 3);
    assert_call(
        &calls[0],
        "chat.postMessage",
        "POST",
        &json!({"channel": "UPERSON01", "text": "first"}),
    );
    assert_call(
        &calls[1],
        "chat.update",
        "POST",
        &json!({"channel": "DPERSON01", "ts": posted.ts, "text": "second", "blocks": []}),
    );
    assert_call(
        &calls[2],
        "chat.update",
        "POST",
        &json!({"channel": "DPERSON01", "ts": posted.ts, "text": "third"}),
    );
    assert!(calls.iter().all(FakeCall::ok));
}

#[tokio::test]
async fn views_open_sends_the_trigger_and_view_and_returns_the_view_id() {
    let (fake, web) = fake_and_web(quick()).await;
    let modal = views::request_modal(&[]);

    let id = web.views_open("1234.5678.abcd", &modal).await.unwrap();

    let calls = fake.calls();
    assert_eq!(calls.len(), 1);
    assert_call(
        &calls[0],
        "views.open",
        "POST",
        &json!({"trigger_id": "1234.5678.abcd", "view": modal}),
    );
    assert_eq!(Some(id.as_str()), calls[0].response["view"]["id"].as_str());
}

#[tokio::test]
async fn post_ephemeral_names_the_channel_and_the_user() {
    let (fake, web) = fake_and_web(quick()).await;
    let blocks = json!([{"type": "section", "text": {"type": "mrkdwn", "text": "only you"}}]);

    web.post_ephemeral(APPROVERS, &user("UPERSON01"), "only you", Some(&blocks))
        .await
        .unwrap();

    let calls = fake.calls();
    assert_eq!(calls.len(), 1);
    assert_call(
        &calls[0],
        "chat.postEphemeral",
        "POST",
        &json!({"channel": APPROVERS, "user": "UPERSON01", "text": "only you", "blocks": blocks}),
    );
    assert!(calls[0].ok());
}

#[tokio::test]
async fn user_email_reads_the_profile_with_a_get() {
    let (fake, web) = fake_and_web(quick()).await;
    fake.set_user_email("UPERSON01", "keisuke.owato@example.com");

    let email = web.user_email(&user("UPERSON01")).await.unwrap();

    assert_eq!(email, Email::parse("keisuke.owato@example.com").unwrap());
    let calls = fake.calls();
    assert_eq!(calls.len(), 1);
    assert_call(
        &calls[0],
        "users.info",
        "GET",
        &json!({"user": "UPERSON01"}),
    );
}

#[tokio::test]
async fn a_profile_without_email_names_the_missing_scope() {
    let (fake, web) = fake_and_web(quick()).await;
    fake.set_user_without_email("UPERSON01");

    let error = web.user_email(&user("UPERSON01")).await.unwrap_err();

    assert!(
        matches!(&error, Error::MissingEmail { user } if user.as_str() == "UPERSON01"),
        "{error:?}"
    );
    assert!(error.to_string().contains("users:read.email"), "{error}");
    assert!(!error.is_retryable());
    assert_eq!(fake.calls().len(), 1, "a missing e-mail is not retried");
}

#[tokio::test]
async fn channel_members_follows_the_cursor_to_the_last_page() {
    let (fake, web) = fake_and_web(quick()).await;
    let members = [
        "UMEMBER01",
        "UMEMBER02",
        "UMEMBER03",
        "UMEMBER04",
        "UMEMBER05",
    ];
    fake.set_channel_members(APPROVERS, &members);
    fake.set_members_page_size(2);

    let listed = web.channel_members(APPROVERS).await.unwrap();

    assert_eq!(listed, members.map(user));
    let calls = fake.calls();
    assert_eq!(calls.len(), 3);
    assert_call(
        &calls[0],
        "conversations.members",
        "GET",
        &json!({"channel": APPROVERS, "limit": "200"}),
    );
    for (call, cursor) in calls[1..].iter().zip(["members:2", "members:4"]) {
        assert_call(
            call,
            "conversations.members",
            "GET",
            &json!({"channel": APPROVERS, "limit": "200", "cursor": cursor}),
        );
    }
}

#[tokio::test]
async fn channel_has_member_stops_reading_pages_once_found() {
    let (fake, web) = fake_and_web(quick()).await;
    fake.set_channel_members(APPROVERS, &["UMEMBER01", "UMEMBER02", "UMEMBER03"]);
    fake.set_members_page_size(1);

    assert!(
        web.channel_has_member(APPROVERS, &user("UMEMBER02"))
            .await
            .unwrap()
    );
    assert_eq!(fake.calls().len(), 2);

    fake.clear_calls();
    assert!(
        !web.channel_has_member(APPROVERS, &user("USTRANGER1"))
            .await
            .unwrap()
    );
    assert_eq!(fake.calls().len(), 3, "every page is read before saying no");
}

#[tokio::test]
async fn usergroup_members_lists_the_group() {
    let (fake, web) = fake_and_web(quick()).await;
    fake.set_usergroup_users("S0DBRE0001", &["UMEMBER01", "UMEMBER02"]);

    let listed = web.usergroup_members("S0DBRE0001").await.unwrap();

    assert_eq!(listed, vec![user("UMEMBER01"), user("UMEMBER02")]);
    let calls = fake.calls();
    assert_eq!(calls.len(), 1);
    assert_call(
        &calls[0],
        "usergroups.users.list",
        "GET",
        &json!({"usergroup": "S0DBRE0001"}),
    );
}

// ---------------------------------------------------------------------------------------------
// Retries

#[tokio::test]
async fn a_429_is_retried_after_the_retry_after_slack_asks_for() {
    let (fake, web) = fake_and_web(RetryPolicy {
        max_delay: Duration::from_secs(5),
        ..quick()
    })
    .await;
    fake.fail_next(
        "chat.postMessage",
        FakeFailure::RateLimited {
            retry_after_secs: 1,
        },
    );

    let started = Instant::now();
    web.post_message(REQUESTS, "hi", None).await.unwrap();
    let waited = started.elapsed();

    let calls = fake.calls_to("chat.postMessage");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].status, 429);
    assert!(calls[1].ok());
    assert_eq!(calls[0].body, calls[1].body, "the same call is repeated");
    assert!(
        waited >= Duration::from_secs(1),
        "Retry-After not honoured: {waited:?}"
    );
}

#[tokio::test]
async fn a_long_retry_after_is_capped_by_max_delay() {
    let (fake, web) = fake_and_web(quick()).await;
    fake.fail_next(
        "chat.postMessage",
        FakeFailure::RateLimited {
            retry_after_secs: 60,
        },
    );

    let started = Instant::now();
    web.post_message(REQUESTS, "hi", None).await.unwrap();

    assert_eq!(fake.calls_to("chat.postMessage").len(), 2);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_until_one_succeeds() {
    let (fake, web) = fake_and_web(quick()).await;
    fake.fail_times("users.info", 2, FakeFailure::ServerError);
    fake.set_user_email("UPERSON01", "a.b@example.com");

    let started = Instant::now();
    let email = web.user_email(&user("UPERSON01")).await.unwrap();

    assert_eq!(email.as_str(), "a.b@example.com");
    let statuses: Vec<u16> = fake
        .calls_to("users.info")
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, [500, 500, 200]);
    assert!(
        started.elapsed() >= Duration::from_millis(30),
        "backoff of at least 10 ms then 20 ms expected, took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn persistent_server_errors_give_up_after_max_attempts_with_a_clear_error() {
    let (fake, web) = fake_and_web(quick()).await;
    fake.fail_times("chat.postMessage", 10, FakeFailure::ServerError);

    let error = web.post_message(REQUESTS, "hi", None).await.unwrap_err();

    assert_eq!(fake.calls_to("chat.postMessage").len(), 3);
    let (method, attempts, failure) = web_api_error(&error);
    assert_eq!(
        (method, attempts, failure),
        ("chat.postMessage", 3, &WebApiFailure::Status(500))
    );
    assert_eq!(
        error.to_string(),
        "Slack chat.postMessage failed after 3 attempts: HTTP 500"
    );
    assert!(error.is_retryable());
    let core: powerpole_core::Error = error.into();
    assert!(
        matches!(
            core,
            powerpole_core::Error::Backend {
                system: "slack",
                retryable: true,
                ..
            }
        ),
        "{core:?}"
    );
}

#[tokio::test]
async fn a_slack_error_is_not_retried_and_names_its_code() {
    let (fake, web) = fake_and_web(quick()).await;
    fake.fail_next(
        "chat.postMessage",
        FakeFailure::SlackError("channel_not_found"),
    );

    let error = web.post_message(REQUESTS, "hi", None).await.unwrap_err();

    assert_eq!(fake.calls_to("chat.postMessage").len(), 1);
    let (_, attempts, _) = web_api_error(&error);
    assert_eq!(attempts, 1);
    assert_eq!(error.slack_code(), Some("channel_not_found"));
    assert_eq!(
        error.to_string(),
        "Slack chat.postMessage failed after 1 attempt: Slack error `channel_not_found`"
    );
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn an_ok_false_ratelimited_is_retried_and_persistent_ones_name_the_code() {
    let (fake, web) = fake_and_web(quick()).await;
    fake.fail_next("views.open", FakeFailure::SlackError("ratelimited"));
    web.views_open("1.2.3", &json!({"type": "modal"}))
        .await
        .unwrap();
    assert_eq!(fake.calls_to("views.open").len(), 2);

    fake.clear_calls();
    fake.fail_times(
        "chat.update",
        3,
        FakeFailure::RateLimited {
            retry_after_secs: 0,
        },
    );
    let card = MessageRef {
        channel: APPROVERS.into(),
        ts: "1.000001".into(),
    };
    let error = web.update_message(&card, "x", None).await.unwrap_err();
    assert_eq!(fake.calls_to("chat.update").len(), 3);
    assert_eq!(error.slack_code(), Some("ratelimited"));
    let text = error.to_string();
    assert!(
        text.contains("chat.update") && text.contains("3 attempts") && text.contains("ratelimited"),
        "{text}"
    );
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api", listener.local_addr().unwrap());
    drop(listener);
    let web = web_at(&url, quick());

    let error = web.post_message(REQUESTS, "hi", None).await.unwrap_err();

    let (method, attempts, failure) = web_api_error(&error);
    assert_eq!(
        (method, attempts, failure),
        ("chat.postMessage", 3, &WebApiFailure::Transport)
    );
    assert!(error.is_retryable());
}

#[tokio::test]
async fn a_slack_that_never_answers_times_out_each_attempt() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api", listener.local_addr().unwrap());
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&held);
    let silent = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            keep.lock().unwrap().push(stream);
        }
    });
    let web = web_at(
        &url,
        RetryPolicy {
            max_attempts: 2,
            attempt_timeout: Duration::from_millis(200),
            ..quick()
        },
    );

    let started = Instant::now();
    let error = web.post_message(REQUESTS, "hi", None).await.unwrap_err();

    let (_, attempts, failure) = web_api_error(&error);
    assert_eq!((attempts, failure), (2, &WebApiFailure::Timeout));
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert!(error.is_retryable());
    silent.abort();
}

// ---------------------------------------------------------------------------------------------
// Logs and errors never carry the token

/// Every span and event of this test binary, with the thread it happened on. Installed as the
/// global subscriber: a scoped one (`set_default`) misses events when other tests run in
/// parallel, because tracing then caches callsite interest from threads without it.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<(ThreadId, String)>>>);

impl Captured {
    fn global() -> &'static Self {
        static CAPTURED: OnceLock<Captured> = OnceLock::new();
        CAPTURED.get_or_init(|| {
            let captured = Self::default();
            tracing::subscriber::set_global_default(captured.clone()).unwrap();
            captured
        })
    }

    fn push(&self, line: String) {
        self.0
            .lock()
            .unwrap()
            .push((std::thread::current().id(), line));
    }

    fn all(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(_, l)| l.clone())
            .collect()
    }

    fn this_thread(&self) -> Vec<String> {
        let me = std::thread::current().id();
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(thread, _)| *thread == me)
            .map(|(_, l)| l.clone())
            .collect()
    }
}

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn Debug) {
        write!(self.0, " {}={value:?}", field.name()).unwrap();
    }
}

impl tracing::Subscriber for Captured {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut fields = Fields(format!("span {}", span.metadata().name()));
        span.record(&mut fields);
        self.push(fields.0);
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut fields = Fields("record".to_owned());
        values.record(&mut fields);
        self.push(fields.0);
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(format!("{}", event.metadata().level()));
        event.record(&mut fields);
        self.push(fields.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test]
async fn each_retry_is_logged_and_neither_logs_nor_errors_carry_the_token() {
    let captured = Captured::global();
    let (fake, web) = fake_and_web(quick()).await;
    fake.fail_times("chat.postMessage", 3, FakeFailure::ServerError);

    let error = web.post_message(REQUESTS, "hi", None).await.unwrap_err();

    let lines = captured.this_thread();
    let retries: Vec<&String> = lines
        .iter()
        .filter(|line| line.starts_with("WARN") && line.contains("retrying"))
        .collect();
    assert_eq!(retries.len(), 2, "{lines:#?}");
    for (retry, attempt) in retries.iter().zip(1..) {
        assert!(
            retry.contains("method=\"chat.postMessage\"")
                && retry.contains(&format!("attempt={attempt} "))
                && retry.contains("delay_ms="),
            "{retry}"
        );
    }
    assert!(lines.iter().any(|line| line.starts_with("span")));
    let all = captured.all();
    assert!(!all.iter().any(|line| line.contains(TOKEN)), "{all:#?}");
    let core: powerpole_core::Error = error.into();
    assert!(!chain(&core).contains(TOKEN));
    assert!(!format!("{web:?}").contains(TOKEN));
}

// ---------------------------------------------------------------------------------------------
// Chat and Directory

#[tokio::test]
async fn the_approval_card_goes_to_the_approvers_channel_and_is_redrawn_in_place() {
    let (fake, web) = fake_and_web(quick()).await;
    let chat = SlackChat::new(web, APPROVERS);
    let mut request = request();

    let pending = views::approval_card(&request);
    let card = chat.post_approval_card(&request).await.unwrap();
    request
        .apply(
            Transition::Approve,
            Actor::User(user("UAPPROVER1")),
            T0 + time::Duration::minutes(2),
            "",
        )
        .unwrap();
    chat.update_approval_card(&card, &request).await.unwrap();

    let calls = fake.calls();
    assert_eq!(calls.len(), 2);
    let decided = views::approval_card(&request);
    assert_call(
        &calls[0],
        "chat.postMessage",
        "POST",
        &json!({"channel": APPROVERS, "text": pending["text"], "blocks": pending["blocks"]}),
    );
    assert_eq!(card.channel, APPROVERS);
    assert_call(
        &calls[1],
        "chat.update",
        "POST",
        &json!({"channel": APPROVERS, "ts": card.ts, "text": decided["text"], "blocks": decided["blocks"]}),
    );
    assert!(calls[1].ok());
    assert!(
        calls[1]
            .body
            .to_string()
            .contains("Approved by <@UAPPROVER1>")
    );
}

#[tokio::test]
async fn a_notice_is_a_direct_message_to_the_person() {
    let (fake, web) = fake_and_web(quick()).await;
    let chat = SlackChat::new(web, APPROVERS);
    let notice = Notice::Expired {
        request: request().id(),
    };

    chat.notify(&user("UREQUESTER1"), &notice).await.unwrap();

    let message = views::notice_message(&notice);
    let calls = fake.calls();
    assert_eq!(calls.len(), 1);
    assert_call(
        &calls[0],
        "chat.postMessage",
        "POST",
        &json!({"channel": "UREQUESTER1", "text": message["text"], "blocks": message["blocks"]}),
    );
    assert_eq!(calls[0].response["channel"], "DREQUESTER1");
}

#[tokio::test]
async fn announce_posts_to_the_requests_channel_only_when_there_is_one() {
    let (fake, web) = fake_and_web(quick()).await;

    let silent = SlackChat::new(web.clone(), APPROVERS);
    assert_eq!(silent.announce("ignored").await.unwrap(), None);
    assert!(fake.calls().is_empty());

    let public = SlackChat::new(web, APPROVERS).with_requests_channel(REQUESTS);
    let note = public
        .announce("<@UREQUESTER1> asked for READ on `prod-orders`")
        .await
        .unwrap()
        .unwrap();

    assert_eq!(note.channel, REQUESTS);
    let calls = fake.calls();
    assert_eq!(calls.len(), 1);
    assert_call(
        &calls[0],
        "chat.postMessage",
        "POST",
        &json!({"channel": REQUESTS, "text": "<@UREQUESTER1> asked for READ on `prod-orders`"}),
    );
}

#[tokio::test]
async fn chat_failures_reach_the_core_as_slack_backend_errors() {
    let (fake, web) = fake_and_web(quick()).await;
    let chat = SlackChat::new(web, APPROVERS);

    fake.fail_next(
        "chat.postMessage",
        FakeFailure::SlackError("not_in_channel"),
    );
    let refused = chat.post_approval_card(&request()).await.unwrap_err();
    assert!(
        matches!(
            &refused,
            powerpole_core::Error::Backend {
                system: "slack",
                retryable: false,
                ..
            }
        ),
        "{refused:?}"
    );
    assert!(chain(&refused).contains("not_in_channel"));

    fake.fail_times("chat.postMessage", 3, FakeFailure::ServerError);
    let flaky = chat.post_approval_card(&request()).await.unwrap_err();
    assert!(flaky.is_retryable(), "{flaky:?}");
}

#[tokio::test]
async fn the_directory_finds_emails_and_maps_unknown_users_to_a_final_error() {
    let (fake, web) = fake_and_web(quick()).await;
    fake.set_user_email("UPERSON01", "keisuke.owato@example.com");
    let directory = SlackDirectory::new(web);

    assert_eq!(
        directory
            .email_of(&user("UPERSON01"))
            .await
            .unwrap()
            .as_str(),
        "keisuke.owato@example.com"
    );
    let unknown = directory.email_of(&user("UNOBODY01")).await.unwrap_err();
    assert!(!unknown.is_retryable());
    assert!(chain(&unknown).contains("user_not_found"), "{unknown:?}");
}

// ---------------------------------------------------------------------------------------------
// Approver policy

fn policy(who: Approvers) -> ApproverPolicy {
    ApproverPolicy {
        channel: APPROVERS.to_owned(),
        who,
    }
}

#[tokio::test]
async fn a_click_outside_the_approvers_channel_is_refused_without_asking_slack() {
    let (fake, web) = fake_and_web(quick()).await;
    fake.set_channel_members(APPROVERS, &["UMEMBER01"]);
    let policy = policy(Approvers::AnyChannelMember);

    for channel in [Some(REQUESTS), None] {
        let refusal = policy
            .check(&web, channel, &user("UMEMBER01"))
            .await
            .unwrap_err();
        assert!(
            matches!(&refusal, Refusal::WrongChannel { channel } if channel == APPROVERS),
            "{refusal:?}"
        );
        assert_eq!(
            refusal.to_string(),
            format!("Sorry, requests can only be approved or denied from <#{APPROVERS}>.")
        );
    }
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn any_channel_member_may_decide_and_nobody_else() {
    let (fake, web) = fake_and_web(quick()).await;
    fake.set_channel_members(APPROVERS, &["UMEMBER01", "UMEMBER02"]);
    let policy = policy(Approvers::AnyChannelMember);

    policy
        .check(&web, Some(APPROVERS), &user("UMEMBER02"))
        .await
        .unwrap();
    let refusal = policy
        .check(&web, Some(APPROVERS), &user("USTRANGER1"))
        .await
        .unwrap_err();

    assert!(
        matches!(&refusal, Refusal::NotChannelMember { .. }),
        "{refusal:?}"
    );
    assert!(refusal.to_string().starts_with("Sorry, only members of"));
    let calls = fake.calls_to("conversations.members");
    assert_eq!(calls.len(), 2);
    assert!(calls.iter().all(|c| c.str("channel") == Some(APPROVERS)));
}

fn approvers(setting: &str) -> Approvers {
    setting.parse().unwrap()
}

#[tokio::test]
async fn listed_users_may_decide_without_a_lookup() {
    let (fake, web) = fake_and_web(quick()).await;
    let policy = policy(approvers("users:UBOSS0001,UBOSS0002"));

    policy
        .check(&web, Some(APPROVERS), &user("UBOSS0002"))
        .await
        .unwrap();
    let refusal = policy
        .check(&web, Some(APPROVERS), &user("UMEMBER01"))
        .await
        .unwrap_err();

    assert!(
        matches!(refusal, Refusal::NotApprover { .. }),
        "{refusal:?}"
    );
    assert_eq!(
        refusal.to_string(),
        "Sorry, only <@UBOSS0001> or <@UBOSS0002> can approve or deny this request."
    );
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn user_group_members_may_decide_and_others_may_not() {
    let (fake, web) = fake_and_web(quick()).await;
    fake.set_usergroup_users("S0DBRE0001", &["UDBRE0001", "UDBRE0002"]);
    let policy = policy(approvers("group:S0DBRE0001"));

    policy
        .check(&web, Some(APPROVERS), &user("UDBRE0001"))
        .await
        .unwrap();
    let refusal = policy
        .check(&web, Some(APPROVERS), &user("UMEMBER01"))
        .await
        .unwrap_err();

    assert_eq!(
        refusal.to_string(),
        "Sorry, only members of <!subteam^S0DBRE0001> can approve or deny this request."
    );
    let calls = fake.calls_to("usergroups.users.list");
    assert_eq!(calls.len(), 2);
    assert!(
        calls
            .iter()
            .all(|c| c.str("usergroup") == Some("S0DBRE0001"))
    );
}

#[tokio::test]
async fn listed_users_and_members_of_any_listed_group_may_decide_and_nobody_else() {
    let (fake, web) = fake_and_web(quick()).await;
    fake.set_usergroup_users("S0DBRE0001", &["UDBRE0001"]);
    fake.set_usergroup_users("S0SRE00001", &["USRE00001"]);
    let policy = policy(approvers(
        "users:UBOSS0001,UBOSS0002 group:S0DBRE0001,S0SRE00001",
    ));
    let check = |who: &str| {
        let (policy, web, who) = (&policy, &web, user(who));
        async move { policy.check(web, Some(APPROVERS), &who).await }
    };

    check("UBOSS0001").await.unwrap();
    assert!(
        fake.calls().is_empty(),
        "a listed person is not looked up in the groups"
    );

    check("UDBRE0001").await.unwrap();
    assert_eq!(
        fake.calls_to("usergroups.users.list")
            .iter()
            .map(|c| c.str("usergroup").unwrap().to_owned())
            .collect::<Vec<_>>(),
        ["S0DBRE0001"],
        "found in the first group: the second is not asked"
    );

    fake.clear_calls();
    check("USRE00001").await.unwrap();
    assert_eq!(fake.calls_to("usergroups.users.list").len(), 2);

    fake.clear_calls();
    let refusal = check("UMEMBER01").await.unwrap_err();
    assert!(
        matches!(refusal, Refusal::NotApprover { .. }),
        "{refusal:?}"
    );
    assert_eq!(
        refusal.to_string(),
        "Sorry, only <@UBOSS0001>, <@UBOSS0002> or members of <!subteam^S0DBRE0001> or \
         <!subteam^S0SRE00001> can approve or deny this request."
    );
    assert_eq!(
        fake.calls_to("usergroups.users.list").len(),
        2,
        "every group is asked before refusing"
    );
}

#[tokio::test]
async fn a_group_slack_cannot_read_does_not_stop_members_of_another() {
    let (fake, web) = fake_and_web(quick()).await;
    fake.set_usergroup_users("S0SRE00001", &["USRE00001"]);
    let policy = policy(approvers("users:UBOSS0001 group:S0GONE0001,S0SRE00001"));

    policy
        .check(&web, Some(APPROVERS), &user("USRE00001"))
        .await
        .unwrap();
    let refusal = policy
        .check(&web, Some(APPROVERS), &user("UMEMBER01"))
        .await
        .unwrap_err();

    assert!(
        matches!(&refusal, Refusal::Unchecked(e) if e.slack_code() == Some("no_such_subteam")),
        "nobody is refused as a non-member of a group Slack could not list: {refusal:?}"
    );
}

#[tokio::test]
async fn when_slack_cannot_say_who_approves_the_click_is_refused() {
    let (fake, web) = fake_and_web(quick()).await;
    let policy = policy(approvers("group:S0GONE0001"));

    let refusal = policy
        .check(&web, Some(APPROVERS), &user("UDBRE0001"))
        .await
        .unwrap_err();

    assert!(
        matches!(&refusal, Refusal::Unchecked(e) if e.slack_code() == Some("no_such_subteam")),
        "{refusal:?}"
    );
    assert!(refusal.to_string().contains("try again"));
    assert_eq!(fake.calls().len(), 1);
}
