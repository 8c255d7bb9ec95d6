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

criterion_group!(benches, ingress);
criterion_main!(benches);
