//! powerpole in the shape it is deployed, on one machine: the six Lambda binaries as their own
//! processes behind the Lambda Runtime API, Slack's requests signed as Slack signs them and
//! wrapped in API Gateway HTTP API (payload 2.0) events, the real state machine with
//! terraform's substitutions run by an engine whose Task states invoke those processes through
//! the Lambda Invoke API, `StartExecution` / `SendTaskSuccess` / `StopExecution` reaching that
//! engine through the Step Functions API the SDK speaks, every other AWS call going to moto over
//! the wire, MariaDB with `server_audit` as the cluster, the fake Slack Web API. Each Lambda has
//! exactly the environment terraform gives it.
//!
//! The scenarios run one at a time (see `harness`): the happy path, deny, expiry, End now, and
//! a fault matrix, each ending with the sweeper finding nothing and nothing left behind. Each
//! prints its figures (`figure: deployed-shape …`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

#[path = "deployed/harness.rs"]
mod harness;
#[path = "common/s3.rs"]
mod s3_page;

use std::time::Instant;

use harness::{APPROVER, APPROVER_2, APPROVERS, Deployed, Tweaks, kinds, requires_imdsv2, tag};
use powerpole_asl::ExecutionStatus;
use powerpole_core::{AccessRequest, EventKind, RequestState};
use powerpole_testkit::deployed::lambda::Outcome;
use powerpole_testkit::fake_slack::FakeFailure;
use powerpole_testkit::slack_payloads::button_click;
use sqlx::Executor;
use time::Duration;

/// A clock step small enough to stop between the approval and the warning.
const FINE: Duration = Duration::seconds(2);
/// A clock step for running through the waits of a 15-minute window.
const COARSE: Duration = Duration::seconds(30);

/// The normal life after the card: approved, ready (the bastion booted as soon as it runs);
/// returns the request and the wall time from the click to the ready DM.
async fn approve_to_ready(d: &Deployed, request: &AccessRequest, ts: &str) -> std::time::Duration {
    let clicked = Instant::now();
    d.click(APPROVER, APPROVERS, ts, "approve", request.id())
        .await;
    d.run_until_dm("access is ready", FINE).await;
    clicked.elapsed()
}

/// From a live request to its end: the warning, then teardown, the receipt and a succeeded
/// execution.
async fn run_out(d: &Deployed, request: &AccessRequest) {
    d.run_until_dm("ends at", COARSE).await;
    assert_eq!(
        d.run_to_completion(request.id(), COARSE).await,
        ExecutionStatus::Succeeded,
        "[{}] the execution ends well: {:?}",
        d.name,
        d.states_entered(request.id()).await
    );
    assert_eq!(d.dms_containing("access is ready"), 1, "one ready DM");
    assert_eq!(d.dms_containing("ends at"), 1, "one warning");
    assert_eq!(d.dms_containing("has ended"), 1, "one ended DM");
    let done = d.request(request.id()).await;
    assert_eq!(done.state(), RequestState::Ended);
    assert_eq!(
        kinds(&done),
        [
            EventKind::Submitted,
            EventKind::Surveyed,
            EventKind::Approved,
            EventKind::ProvisioningStarted,
            EventKind::Activated,
            EventKind::TeardownStarted,
            EventKind::CleanedUp,
            EventKind::Ended,
        ],
        "[{}] the request's events, in order",
        d.name
    );
}

/// A request approved while EC2's answer to its `RunInstances` is held back for `hold`;
/// returns once the instance exists and provision still waits for the answer.
async fn launching(d: &Deployed, hold: std::time::Duration) -> AccessRequest {
    let request = d.submit().await;
    let ts = d.card().await;
    d.aws.hold_response("RunInstances", hold);
    d.click(APPROVER, APPROVERS, &ts, "approve", request.id())
        .await;
    d.run_until("the first RunInstances reached moto", FINE, || async {
        d.aws.count("RunInstances") >= 1 && !d.bastions_of(request.id()).await.is_empty()
    })
    .await;
    request
}

/// `/powerpole cancel` from the requester, through the request function; its answer.
async fn powerpole_cancel(d: &Deployed) -> serde_json::Value {
    d.slack_post(
        "/slack/commands",
        &powerpole_testkit::slack_payloads::slash_command("cancel", &d.requester),
        None,
    )
    .await
}

/// A request approved and live: submit, card, approve, ready.
async fn live(d: &Deployed) -> (AccessRequest, String, std::time::Duration) {
    let request = d.submit().await;
    let ts = d.card().await;
    let took = approve_to_ready(d, &request, &ts).await;
    (request, ts, took)
}

#[tokio::test]
async fn approved_request_gets_a_bastion_and_a_working_account_then_everything_is_removed() {
    let Some(d) = Deployed::start("happy").await else {
        return;
    };
    let request = d.submit().await;
    let ts = d.card().await;
    assert_eq!(d.cards(), 1);
    let sweep = d.sweep().await;
    assert_eq!(
        sweep["actions"],
        serde_json::json!([]),
        "a pending request leaves the sweeper nothing to do: {sweep}"
    );

    let took = approve_to_ready(&d, &request, &ts).await;

    let bastions = d.bastions_of(request.id()).await;
    assert_eq!(bastions.len(), 1, "one bastion: {bastions:?}");
    let bastion = &bastions[0];
    assert!(requires_imdsv2(bastion), "IMDSv2 required: {bastion:?}");
    assert_eq!(bastion.key_name(), None, "no key pair");
    assert_eq!(tag(bastion, "powerpole:managed"), Some("true"));
    let mut session = d
        .login(&request)
        .await
        .expect("the requester logs in with the password from Secrets Manager");
    let one: i64 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut session)
        .await
        .unwrap();
    assert_eq!(one, 1);
    let password = d.password(request.id()).await;
    let sweep = d.sweep().await;
    assert_eq!(
        sweep["actions"],
        serde_json::json!([]),
        "a live request leaves the sweeper nothing to do: {sweep}"
    );

    run_out(&d, &request).await;
    assert!(
        session.execute("SELECT 1").await.is_err(),
        "the open session was killed"
    );
    let receipt = d
        .slack
        .calls_to("chat.postMessage")
        .into_iter()
        .find(|c| c.str("thread_ts") == Some(ts.as_str()))
        .expect("the session receipt in the card's thread");
    d.assert_password_nowhere(&password).await;
    assert!(
        receipt
            .str("text")
            .is_some_and(|t| t.contains(&request.id().to_string())),
        "the receipt names the request: {}",
        receipt.body
    );
    d.assert_no_orphans(&request).await;
    d.figures(
        request.id(),
        &format!(
            ", approve → ready {} ms of broker time (the boot is simulated as instant)",
            took.as_millis()
        ),
    )
    .await;
}

#[tokio::test]
async fn a_denied_request_creates_nothing() {
    let Some(d) = Deployed::start("deny").await else {
        return;
    };
    let request = d.submit().await;
    let ts = d.card().await;

    d.click(APPROVER, APPROVERS, &ts, "deny", request.id())
        .await;

    assert_eq!(
        d.run_to_completion(request.id(), FINE).await,
        ExecutionStatus::Succeeded
    );
    assert_eq!(d.dms_containing("was denied"), 1);
    let done = d.request(request.id()).await;
    assert_eq!(
        kinds(&done),
        [EventKind::Submitted, EventKind::Surveyed, EventKind::Denied]
    );
    assert!(d.bastions_of(request.id()).await.is_empty());
    assert_eq!(d.aws.count("RunInstances"), 0);
    d.assert_no_orphans(&request).await;
    d.figures(request.id(), "").await;
}

#[tokio::test]
async fn a_request_nobody_decides_expires_and_its_card_says_so() {
    let Some(d) = Deployed::start("expire").await else {
        return;
    };
    let request = d.submit().await;
    d.card().await;

    assert_eq!(
        d.run_to_completion(request.id(), Duration::minutes(1))
            .await,
        ExecutionStatus::Succeeded
    );
    let done = d.request(request.id()).await;
    assert_eq!(
        kinds(&done),
        [
            EventKind::Submitted,
            EventKind::Surveyed,
            EventKind::Expired
        ]
    );
    assert_eq!(d.dms_containing("expired"), 1);
    let card = d.slack.calls_to("chat.update").pop().unwrap();
    assert!(
        card.body["blocks"].to_string().contains("Expired"),
        "{}",
        card.body
    );
    assert_eq!(d.aws.count("RunInstances"), 0);
    d.assert_no_orphans(&request).await;
    d.figures(request.id(), "").await;
}

#[tokio::test]
async fn end_now_tears_everything_down_at_once() {
    let Some(d) = Deployed::start("endnow").await else {
        return;
    };
    let (request, _, _) = live(&d).await;
    let ready = d
        .slack
        .calls_to("chat.postMessage")
        .into_iter()
        .find(|c| c.str("text").is_some_and(|t| t.contains("access is ready")))
        .unwrap();
    let channel = ready.response["channel"].as_str().unwrap().to_owned();
    let ts = ready.response["ts"].as_str().unwrap().to_owned();

    d.interact(
        &button_click(
            &d.requester,
            &channel,
            &ts,
            "end_now",
            &request.id().to_string(),
        ),
        None,
    )
    .await;

    assert_eq!(
        d.run_execution(&format!("{}-end", request.id()), COARSE)
            .await,
        ExecutionStatus::Succeeded,
        "End now tears down in an execution of its own"
    );
    assert_eq!(
        d.sfn
            .runner()
            .describe(&request.id().to_string())
            .await
            .unwrap()
            .status,
        ExecutionStatus::Aborted,
        "the request's execution is stopped"
    );
    let done = d.request(request.id()).await;
    assert_eq!(done.state(), RequestState::Ended);
    assert!(
        done.events().last().unwrap().at < done.window().end(),
        "ended before the window's end"
    );
    assert_eq!(d.dms_containing("ends at"), 0, "ended before the warning");
    assert_eq!(d.dms_containing("has ended"), 1);
    d.assert_no_orphans(&request).await;
    d.figures(request.id(), "").await;
}

#[tokio::test]
async fn slack_429_and_500_while_notify_warns_still_warn_once() {
    let Some(d) = Deployed::start("slack-faults").await else {
        return;
    };
    let (request, _, _) = live(&d).await;

    d.slack.fail_next(
        "chat.postMessage",
        FakeFailure::RateLimited {
            retry_after_secs: 1,
        },
    );
    d.slack
        .fail_next("chat.postMessage", FakeFailure::ServerError);
    run_out(&d, &request).await;

    let refused = d
        .slack
        .calls_to("chat.postMessage")
        .iter()
        .filter(|c| c.status == 429 || c.status == 500)
        .count();
    assert_eq!(refused, 2, "both faults were met");
    d.assert_no_orphans(&request).await;
    d.figures(request.id(), "").await;
}

#[tokio::test]
async fn mariadb_unreachable_at_teardown_is_retried_until_it_is_back() {
    let Some(d) = Deployed::start("db-down").await else {
        return;
    };
    let (request, _, _) = live(&d).await;
    d.run_until_dm("ends at", COARSE).await;
    let before = d.function("teardown").invocations();

    d.db.cut();
    d.run_until(
        "two teardown attempts with MariaDB away",
        COARSE,
        || async { d.function("teardown").invocations() >= before + 2 },
    )
    .await;
    assert!(
        d.user_exists(&request).await,
        "nothing could be dropped yet"
    );
    d.db.restore().await.unwrap();

    run_out(&d, &request).await;
    d.assert_no_orphans(&request).await;
    d.figures(
        request.id(),
        &format!(
            ", {} teardown invocations",
            d.function("teardown").invocations() - before
        ),
    )
    .await;
}

#[tokio::test]
async fn a_provision_process_killed_mid_invocation_is_retried_by_the_state_machine() {
    let Some(d) = Deployed::start("killed").await else {
        return;
    };
    let request = d.submit().await;
    let ts = d.card().await;
    d.function("provision")
        .crash_next_matching(r#""task":"provision""#);

    approve_to_ready(&d, &request, &ts).await;

    assert_eq!(d.bastions_of(request.id()).await.len(), 1, "one bastion");
    run_out(&d, &request).await;
    d.assert_no_orphans(&request).await;
    d.figures(request.id(), "").await;
}

#[tokio::test]
async fn a_delivery_sent_twice_and_two_approve_clicks_at_once_act_once() {
    let Some(d) = Deployed::start("twice").await else {
        return;
    };
    d.interact(&d.submission(), None).await;
    d.interact(&d.submission(), Some(1)).await;
    let request = d.the_request().await;
    let ts = d.card().await;

    let click = |user: &'static str| {
        button_click(user, APPROVERS, &ts, "approve", &request.id().to_string())
    };
    let (by_first, by_second) = (click(APPROVER), click(APPROVER_2));
    let (first, second) = tokio::join!(d.interact(&by_first, None), d.interact(&by_second, None));
    let retried = d.interact(&click(APPROVER), Some(1)).await;
    assert!(
        retried["body"].as_str().unwrap_or_default().is_empty(),
        "a retried delivery is silent: {retried}"
    );
    assert_eq!(first["statusCode"], 200);
    assert_eq!(second["statusCode"], 200);
    d.run_until_dm("access is ready", FINE).await;

    assert_eq!(d.cards(), 1, "one card");
    assert_eq!(d.bastions_of(request.id()).await.len(), 1, "one bastion");
    let approved = d.request(request.id()).await;
    assert_eq!(
        kinds(&approved)
            .iter()
            .filter(|k| **k == EventKind::Approved)
            .count(),
        1,
        "one approval recorded"
    );
    run_out(&d, &request).await;
    d.assert_no_orphans(&request).await;
    d.figures(request.id(), "").await;
}

#[tokio::test]
async fn provision_crashing_after_run_instances_launches_one_bastion() {
    let Some(d) = Deployed::start("crash-launch").await else {
        return;
    };
    let request = launching(&d, std::time::Duration::from_secs(30)).await;
    d.function("provision").kill();
    d.run_until_dm("access is ready", FINE).await;

    assert_eq!(d.bastions_of(request.id()).await.len(), 1, "one bastion");
    assert_eq!(
        d.aws.count("RunInstances"),
        1,
        "the retry found the instance by its tag"
    );
    run_out(&d, &request).await;
    d.assert_no_orphans(&request).await;
    d.figures(request.id(), "").await;
}

#[tokio::test]
async fn aws_throttling_for_a_while_delays_but_does_not_break_a_request() {
    let Some(d) = Deployed::start("throttled").await else {
        return;
    };
    let request = d.submit().await;
    let ts = d.card().await;
    d.click(APPROVER, APPROVERS, &ts, "approve", request.id())
        .await;
    d.aws.throttle_all(12);
    d.aws.throttle("RunInstances", 4);

    d.run_until_dm("access is ready", FINE).await;
    run_out(&d, &request).await;

    assert_eq!(d.bastions_of(request.id()).await.len(), 1, "one bastion");
    d.assert_no_orphans(&request).await;
    d.figures(request.id(), "").await;
}

#[tokio::test]
async fn a_variable_missing_in_terraform_stops_the_function_naming_it() {
    let Some(d) = Deployed::start_with(
        "no-table",
        Tweaks {
            remove_env: vec![("approve".to_owned(), "POWERPOLE_TABLE".to_owned())],
            ..Tweaks::default()
        },
    )
    .await
    else {
        return;
    };
    let event = d.slack_event(
        "/slack/interactions",
        &powerpole_testkit::slack_payloads::interaction_form(&d.submission()),
        None,
    );

    let outcome = d.function("approve").invoke(&event).await.unwrap();

    assert!(
        matches!(outcome, Outcome::Unhandled { .. }),
        "the submission is not served: {outcome:?}"
    );
    let log = std::fs::read_to_string(d.work.join("approve.log")).unwrap();
    assert!(
        log.contains("POWERPOLE_TABLE"),
        "the cold start names the variable: {log}"
    );
}

#[tokio::test]
async fn a_broken_path_in_the_definition_fails_the_execution_naming_it() {
    let Some(d) = Deployed::start_with(
        "bad-path",
        Tweaks {
            definition_edits: vec![(
                r#""TimestampPath": "$.times.warn_at""#.to_owned(),
                r#""TimestampPath": "$.times.warn_time""#.to_owned(),
            )],
            ..Tweaks::default()
        },
    )
    .await
    else {
        return;
    };
    let (request, _, _) = live(&d).await;

    assert_eq!(
        d.run_to_completion(request.id(), COARSE).await,
        ExecutionStatus::Failed
    );
    let failed = d
        .sfn
        .runner()
        .describe(&request.id().to_string())
        .await
        .unwrap();
    assert!(
        failed
            .cause
            .as_deref()
            .unwrap_or_default()
            .contains("warn_time"),
        "the failure names the path: {failed:?}"
    );
    d.clock.skip(Duration::minutes(40));
    let sweep = d.sweep().await;
    assert!(
        sweep["actions"].as_array().is_some_and(|a| !a.is_empty()),
        "the sweeper settles what the failed workflow left: {sweep}"
    );
    d.assert_no_orphans(&request).await;
}

#[tokio::test]
async fn powerpole_cancel_through_the_request_function_stops_the_workflow_and_creates_nothing() {
    let Some(d) = Deployed::start("cancel").await else {
        return;
    };
    let request = d.submit().await;
    d.card().await;

    let reply = powerpole_cancel(&d).await;

    assert_eq!(reply["statusCode"], 200, "{reply}");
    assert!(
        reply["body"]
            .as_str()
            .is_some_and(|b| b.contains(&request.id().to_string())),
        "the requester is told which request was cancelled: {reply}"
    );
    assert_eq!(
        d.run_to_completion(request.id(), FINE).await,
        ExecutionStatus::Aborted,
        "the workflow waiting at the approval gate is stopped"
    );
    assert_eq!(
        d.request(request.id()).await.state(),
        RequestState::Cancelled
    );
    let card = d.slack.calls_to("chat.update").pop().unwrap();
    assert!(
        card.body["blocks"].to_string().contains("Cancelled by"),
        "{}",
        card.body
    );
    assert_eq!(d.aws.count("RunInstances"), 0);
    d.assert_no_orphans(&request).await;
    d.figures(request.id(), "").await;
}

#[tokio::test]
async fn powerpole_cancel_while_provisioning_removes_what_was_made_even_the_bastion_launched_after_it()
 {
    let Some(d) = Deployed::start("cancel-provisioning").await else {
        return;
    };
    let request = launching(&d, std::time::Duration::from_secs(8)).await;
    assert_eq!(
        d.request(request.id()).await.state(),
        RequestState::Provisioning
    );

    let reply = powerpole_cancel(&d).await;

    assert!(
        reply["body"]
            .as_str()
            .is_some_and(|b| b.contains("provisioning had begun")),
        "the requester is told what is removed: {reply}"
    );
    assert_eq!(
        d.run_execution(&format!("{}-end", request.id()), FINE)
            .await,
        ExecutionStatus::Succeeded,
        "the teardown-only run removes what was made"
    );
    d.run_until(
        "the bastion launched after the cancel is terminated",
        FINE,
        || async {
            let bastions = d.bastions_of(request.id()).await;
            !bastions.is_empty() && bastions.iter().all(harness::terminated)
        },
    )
    .await;
    let done = d.request(request.id()).await;
    assert_eq!(done.state(), RequestState::Cancelled);
    assert!(!done.cleanup_owed(), "{:?}", done.events());
    assert_eq!(d.dms_containing("access is ready"), 0, "never ready");
    assert_eq!(d.aws.count("RunInstances"), 1);
    let card = d.slack.calls_to("chat.update").pop().unwrap();
    assert!(
        card.body["blocks"].to_string().contains("cancelled by"),
        "{}",
        card.body
    );
    d.assert_no_orphans(&request).await;
    d.figures(request.id(), "").await;
}

#[tokio::test]
async fn a_denial_step_functions_refused_at_the_click_reaches_the_workflow_at_the_minutes_look() {
    let Some(d) = Deployed::start("deny-later").await else {
        return;
    };
    let request = d.submit().await;
    let ts = d.card().await;
    d.sfn_api.throttle("SendTaskSuccess", 8);

    d.click(APPROVER, APPROVERS, &ts, "deny", request.id())
        .await;

    let denied = d.request(request.id()).await;
    assert_eq!(denied.state(), RequestState::Denied);
    assert!(denied.decision_undelivered(), "{:?}", denied.events());
    assert_eq!(d.dms_containing("was denied"), 0, "not told yet");
    d.sfn_api.throttle("SendTaskSuccess", 0);

    let watch = d.scheduled(serde_json::json!({"task": "watch"})).await;

    assert_eq!(watch["approvals_resent"], 1, "{watch}");
    d.run_until_dm("was denied", FINE).await;
    assert_eq!(
        d.run_to_completion(request.id(), FINE).await,
        ExecutionStatus::Succeeded
    );
    assert!(!d.request(request.id()).await.decision_undelivered());
    assert_eq!(
        d.scheduled(serde_json::json!({"task": "watch"})).await["approvals_resent"],
        0,
        "sent once"
    );
    d.assert_no_orphans(&request).await;
    d.figures(request.id(), "").await;
}

#[tokio::test]
async fn the_weekly_report_task_puts_the_page_in_s3_and_posts_its_address() {
    let Some(d) = Deployed::start("weekly").await else {
        return;
    };
    let bucket = "powerpole-deployed-reports";
    let s3 = d.s3();
    let created = s3
        .create_bucket()
        .bucket(bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::ApNortheast1)
                .build(),
        )
        .send()
        .await;
    assert!(
        created.is_ok()
            || created
                .as_ref()
                .is_err_and(|e| format!("{e:?}").contains("BucketAlreadyOwnedByYou")),
        "{created:?}"
    );
    let (request, _, _) = live(&d).await;
    let password = d.password(request.id()).await;
    run_out(&d, &request).await;
    d.clock.skip(Duration::days(2));

    let answer = d.scheduled(serde_json::json!({"task": "report"})).await;

    assert_eq!(
        answer["requests"], 1,
        "today's request is in the week: {answer}"
    );
    let location = answer["report"].as_str().unwrap().to_owned();
    let key = location
        .strip_prefix(&format!("s3://{bucket}/"))
        .unwrap_or_else(|| panic!("the page is in the bucket: {answer}"));
    let page = s3_page::text(s3, bucket, key).await;
    assert!(
        page.contains(&request.id().to_string()),
        "the request is in the page"
    );
    assert!(!page.contains(&password), "no password");
    let announced: Vec<_> = d
        .slack
        .calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.str("text").is_some_and(|t| t.contains(&location)))
        .collect();
    assert_eq!(
        announced.len(),
        1,
        "the approvers get the page's address once"
    );
    assert_eq!(announced[0].str("channel"), Some(APPROVERS));
    d.assert_no_orphans(&request).await;
}
