//! What the broker logs when a submission cannot be recorded: the reason, taken from the error's
//! sources, not only the outer "slack failed". A binary of its own: tracing's callsite cache is
//! process-wide, and other tests in one binary would reach the same callsites from other threads.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use powerpole_core::{ClusterId, ClusterPolicy, ManualClock, MemoryStore, Region};
use powerpole_slack::{
    ApproverPolicy, Approvers, RetryPolicy, SignatureVerifier, SlackChat, SlackIngress, SlackWebApi,
};
use powerpole_testkit::fake_slack::{FakeFailure, FakeSlack, signed_form_headers};
use powerpole_testkit::slack_payloads::{RequestInput, interaction_form, request_submission};
use powerpole_testkit::workflow::RecordingWorkflow;

const SECRET: &str = "submission-log-signing-secret-0123";
const APPROVERS: &str = "C0APPROVE1";
const REQUESTER: &str = "U0REQUEST1";

/// A `MakeWriter` appending every log line to a shared buffer.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
    }
}

async fn submit(slack: &FakeSlack) {
    let web =
        SlackWebApi::new("xoxb-log".into(), &slack.api_url(), RetryPolicy::default()).unwrap();
    let ingress = SlackIngress::new(
        SignatureVerifier::new(SECRET).unwrap(),
        web.clone(),
        SlackChat::new(web, APPROVERS),
        ApproverPolicy {
            channel: APPROVERS.into(),
            who: Approvers::AnyChannelMember,
        },
        vec![ClusterPolicy::new(
            ClusterId::parse("orders-prod").unwrap(),
            Region::parse("ap-northeast-1").unwrap(),
        )],
        MemoryStore::new(),
        RecordingWorkflow::default(),
        ManualClock::new(time::OffsetDateTime::now_utc()),
    );
    let body = interaction_form(&request_submission(
        REQUESTER,
        &RequestInput {
            cluster: "orders-prod",
            region: "ap-northeast-1",
            permission: "READ",
            duration_minutes: "60",
            reason: "INC-6 read",
        },
    ));
    let reply = ingress
        .interaction(signed_form_headers(SECRET, &body).as_slice(), &body)
        .await;
    assert_eq!(reply.body.unwrap()["response_action"], "update");
}

#[tokio::test]
async fn a_failed_submission_is_logged_with_the_reason_behind_it() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let slack = FakeSlack::start().await.unwrap();

    slack.set_user_email(REQUESTER, "'; DROP USER admin; --@example.com");
    submit(&slack).await;
    let refused = capture.take();
    slack.set_user_email(REQUESTER, "keisuke.owato@example.com");
    slack.fail_next("users.info", FakeFailure::SlackError("account_inactive"));
    submit(&slack).await;
    let failed = capture.take();

    assert!(
        refused.contains("submission refused")
            && refused.contains(
                "invalid email: the part before @ contains characters a mailbox name cannot have"
            )
            && refused.contains(REQUESTER),
        "{refused}"
    );
    assert!(!refused.contains("slack failed"), "{refused}");
    assert!(
        failed.contains("submission failed")
            && failed.contains("slack failed: Slack users.info failed after 1 attempt: Slack error `account_inactive`"),
        "{failed}"
    );
}
