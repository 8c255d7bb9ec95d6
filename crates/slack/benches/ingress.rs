//! The ingress path of one Slack request: signature check on the raw body, then parsing.
//!
//! Measured: verify alone, verify + parse of a `/powerpole` slash command, verify + parse of an
//! Approve click (`block_actions`, the approval card as Slack echoes it), and verify + parse of a
//! request-modal submission; and the whole slash-command path: verify + parse + render the modal
//! to the JSON sent to `views.open`.
//!
//! Run: `cargo bench -p powerpole-slack --bench ingress -- --warm-up-time 1 --measurement-time 3`.
//! Bodies are signed with the current time when the bench starts, so a run must finish within
//! Slack's five-minute window (it takes well under one).

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "criterion's macros generate undocumented items; a bench fails loudly"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use powerpole_slack::{Interaction, SignatureVerifier, SlashCommand};
use powerpole_testkit::fake_slack::{sign, unix_now};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const SLASH_COMMAND: &str = include_str!("../tests/fixtures/slash_command.form");
const BLOCK_ACTIONS: &str = include_str!("../tests/fixtures/block_actions_approve.json");
const VIEW_SUBMISSION: &str = include_str!("../tests/fixtures/view_submission_request.json");

struct Signed {
    body: Vec<u8>,
    timestamp: String,
    signature: String,
}

fn signed(body: Vec<u8>) -> Signed {
    let timestamp = unix_now().to_string();
    let signature = sign(SECRET, &timestamp, &body);
    Signed {
        body,
        timestamp,
        signature,
    }
}

fn interaction_form(json: &str) -> Vec<u8> {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", json)
        .finish()
        .into_bytes()
}

fn ingress(c: &mut Criterion) {
    let verifier = SignatureVerifier::new(SECRET).unwrap();
    let command = signed(SLASH_COMMAND.as_bytes().to_vec());
    let click = signed(interaction_form(BLOCK_ACTIONS));
    let submission = signed(interaction_form(VIEW_SUBMISSION));

    let verify = |s: &Signed| {
        verifier
            .verify_parts(Some(&s.signature), Some(&s.timestamp), black_box(&s.body))
            .unwrap();
    };

    c.bench_function("verify slash command", |b| b.iter(|| verify(&command)));
    c.bench_function("verify + parse slash command", |b| {
        b.iter(|| {
            verify(&command);
            black_box(SlashCommand::from_form(&command.body).unwrap())
        });
    });
    let clusters = [powerpole_core::ClusterPolicy::new(
        powerpole_core::ClusterId::parse("prod-orders").unwrap(),
        powerpole_core::Region::parse("ap-northeast-1").unwrap(),
    )];
    c.bench_function("verify + parse slash command + render modal", |b| {
        b.iter(|| {
            verify(&command);
            black_box(SlashCommand::from_form(&command.body).unwrap());
            black_box(powerpole_slack::views::request_modal(&clusters).to_string())
        });
    });
    c.bench_function("verify + parse block action", |b| {
        b.iter(|| {
            verify(&click);
            let Interaction::BlockAction(action) = Interaction::from_form(&click.body).unwrap()
            else {
                panic!("not a block action")
            };
            black_box(action)
        });
    });
    c.bench_function("verify + parse view submission", |b| {
        b.iter(|| {
            verify(&submission);
            let Interaction::ViewSubmission(view) =
                Interaction::from_form(&submission.body).unwrap()
            else {
                panic!("not a view submission")
            };
            black_box(view)
        });
    });
}

/// The whole endpoints, as a server calls them, for answers that need no Web API call: a
/// `/powerpole help` and a request-modal submission with mistakes (verify, parse, validate
/// against the clusters, render the inline errors). The fixture's inputs do not carry the
/// broker's block and action ids, so every field is reported: the most errors to render.
fn endpoints(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let web = powerpole_slack::SlackWebApi::new(
        "xoxb-bench".to_owned().into(),
        "http://127.0.0.1:9/api/",
        powerpole_slack::RetryPolicy::default(),
    )
    .unwrap();
    let chat = powerpole_slack::SlackChat::new(web.clone(), "C0APPROVE1");
    let ingress = powerpole_slack::SlackIngress::new(
        SignatureVerifier::new(SECRET).unwrap(),
        web,
        chat,
        powerpole_slack::ApproverPolicy {
            channel: "C0APPROVE1".into(),
            who: powerpole_slack::Approvers::AnyChannelMember,
        },
        vec![powerpole_core::ClusterPolicy::new(
            powerpole_core::ClusterId::parse("prod-orders-1").unwrap(),
            powerpole_core::Region::parse("ap-northeast-1").unwrap(),
        )],
        powerpole_core::MemoryStore::new(),
        NoWorkflow,
        powerpole_core::SystemClock,
    );
    let help = SLASH_COMMAND.replace("text=", "text=help&was=");
    let help = signed(help.into_bytes());
    let invalid = signed(interaction_form(VIEW_SUBMISSION));
    let headers = |s: &Signed| {
        [
            ("x-slack-request-timestamp", s.timestamp.clone()),
            ("x-slack-signature", s.signature.clone()),
        ]
    };

    c.bench_function("endpoint: /powerpole help", |b| {
        b.iter(|| {
            let reply = runtime.block_on(ingress.command(&headers(&help), &help.body));
            assert_eq!(reply.status, 200);
            black_box(reply.body_bytes())
        });
    });
    c.bench_function("endpoint: invalid submission -> inline errors", |b| {
        b.iter(|| {
            let reply = runtime.block_on(ingress.interaction(&headers(&invalid), &invalid.body));
            assert_eq!(reply.body.as_ref().unwrap()["response_action"], "errors");
            black_box(reply.body_bytes())
        });
    });
}

/// The endpoints benchmarked never reach the workflow.
struct NoWorkflow;

impl powerpole_core::ports::Workflow for NoWorkflow {
    async fn start(&self, _start: &powerpole_core::ports::Start) -> powerpole_core::Result<()> {
        unreachable!("not reached by the benchmarked answers")
    }

    async fn end_early(&self, _id: powerpole_core::RequestId) -> powerpole_core::Result<()> {
        unreachable!("not reached by the benchmarked answers")
    }

    async fn resume(
        &self,
        _token: &powerpole_core::TaskToken,
        _decision: powerpole_core::ports::Decision,
    ) -> powerpole_core::Result<()> {
        unreachable!("not reached by the benchmarked answers")
    }

    async fn stop(
        &self,
        _id: powerpole_core::RequestId,
        _cause: &str,
    ) -> powerpole_core::Result<()> {
        unreachable!("not reached by the benchmarked answers")
    }
}

criterion_group!(benches, ingress, endpoints);
criterion_main!(benches);
