//! The weekly report as the sweep Lambda makes it, on the real things: a request in DynamoDB
//! (moto), its DB user's audit log in CloudWatch Logs (moto) with a statement after its window
//! and a password in a statement, the page put in S3 (moto), the announcement to a fake Slack.
//! The security team finds the request and its anomaly in the page; the approvers' channel gets
//! the page's address; the password is in neither.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

#[path = "common/s3.rs"]
mod s3_page;

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use powerpole_aws::{
    AuditLogSettings, CloudWatchAuditSource, CloudWatchSessionLog, DynamoDbStore, ReportBucket,
    S3ReportArchive,
};
use powerpole_core::ports::RequestStore;
use powerpole_core::report::HostPatterns;
use powerpole_core::{
    AccessRequest, AccessSpec, AccessWindow, Actor, Broker, ClusterId, ClusterPolicy, Component,
    DbUsername, ManualClock, Period, Permission, Ports, Reason, Region, ReportScope, RequestId,
    SlackUserId, Transition, WindowPolicy,
};
use powerpole_slack::{RetryPolicy, SlackChat, SlackWebApi};
use powerpole_testkit::fake_slack::FakeSlack;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, Time};

const APPROVERS: &str = "C0REPORTS";
const PASSWORD: &str = "Wk7-report-test-secret-Q9";

/// A request of `user` on `cluster` for the hour from `start`, approved, provisioned, used and
/// ended on time.
fn ended_request(cluster: &ClusterId, user: &DbUsername, start: OffsetDateTime) -> AccessRequest {
    let window =
        AccessWindow::request(start, Duration::hours(1), start, &WindowPolicy::default()).unwrap();
    let spec = AccessSpec {
        cluster: cluster.clone(),
        region: Region::parse("ap-northeast-1").unwrap(),
        permission: Permission::Dml,
        window,
        reason: Reason::parse("INC-19 fix the weekly totals").unwrap(),
    };
    let submitted = start - Duration::minutes(10);
    let mut request = AccessRequest::submit(
        RequestId::generate(submitted, &mut rand::rng()),
        SlackUserId::parse("U0WEEKREQ").unwrap(),
        user.clone(),
        spec,
        submitted,
    );
    let workflow = || Actor::System(Component::Workflow);
    let approver = Actor::User(SlackUserId::parse("U0WEEKAPP").unwrap());
    let end = start + Duration::hours(1);
    request
        .apply(Transition::Approve, approver, submitted, "")
        .unwrap();
    for (step, at) in [
        (Transition::StartProvisioning, start),
        (Transition::Activate, start),
        (Transition::StartTeardown, end),
    ] {
        request.apply(step, workflow(), at, "").unwrap();
    }
    request
        .record_cleanup(workflow(), end, "DB user dropped")
        .unwrap();
    request
        .apply(Transition::Finish, workflow(), end, "")
        .unwrap();
    request
}

/// A MariaDB `server_audit` line at `at`, from the bastion's address.
fn audit_line(at: OffsetDateTime, user: &DbUsername, op: &str, object: &str) -> InputLogEvent {
    audit_line_from("10.0.1.5", at, user, op, object)
}

/// A MariaDB `server_audit` line at `at`, from `host`.
fn audit_line_from(
    host: &str,
    at: OffsetDateTime,
    user: &DbUsername,
    op: &str,
    object: &str,
) -> InputLogEvent {
    let ts = at
        .format(format_description!(
            "[year][month][day] [hour]:[minute]:[second]"
        ))
        .unwrap();
    InputLogEvent::builder()
        .timestamp(i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap())
        .message(format!("{ts},vm,{user},{host},12,3,{op},shop,{object},0"))
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_weekly_report_lands_in_s3_with_its_anomalies_and_the_approvers_get_its_address() {
    let Some(endpoint) = powerpole_testkit::aws_endpoint() else {
        return;
    };
    let sdk = powerpole_aws::config::load(Some(&endpoint)).await;
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let today = now.date().with_time(Time::MIDNIGHT).assume_utc();
    let start = today - Duration::days(2) + Duration::hours(10);
    let cluster = ClusterId::parse(&powerpole_testkit::unique_name("weekly")).unwrap();
    let user = DbUsername::parse("weekly.reporter").unwrap();

    let store = DynamoDbStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        powerpole_testkit::unique_name("powerpole-weekly"),
    );
    store.create_table().await.unwrap();
    let request = ended_request(&cluster, &user, start);
    store.insert(&request).await.unwrap();

    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    let group = format!("/aws/rds/cluster/{cluster}/audit");
    logs.create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    logs.create_log_stream()
        .log_group_name(&group)
        .log_stream_name("instance-1")
        .send()
        .await
        .unwrap();
    logs.put_log_events()
        .log_group_name(&group)
        .log_stream_name("instance-1")
        .set_log_events(Some(vec![
            audit_line(start + Duration::minutes(1), &user, "CONNECT", ""),
            audit_line_from(
                "203.0.113.9",
                start + Duration::minutes(2),
                &user,
                "CONNECT",
                "",
            ),
            audit_line(
                start + Duration::minutes(5),
                &user,
                "QUERY",
                &format!("'ALTER USER weekly IDENTIFIED BY \\'{PASSWORD}\\''"),
            ),
            audit_line(
                start + Duration::minutes(62),
                &user,
                "QUERY",
                "'UPDATE orders SET total = 0 WHERE id = 7'",
            ),
        ]))
        .send()
        .await
        .unwrap();

    let s3 = powerpole_aws::reports::s3_client(&sdk);
    let bucket = powerpole_testkit::unique_name("reports");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let archive = S3ReportArchive::new(&sdk, ReportBucket::new(&bucket).unwrap());

    let slack = FakeSlack::start().await.unwrap();
    let web = SlackWebApi::new(
        "xoxb-weekly".to_owned().into(),
        &slack.api_url(),
        RetryPolicy::default(),
    )
    .unwrap();
    let chat = SlackChat::new(web, APPROVERS);
    let audit = CloudWatchAuditSource::new(logs.clone(), AuditLogSettings::new());
    let sessions = CloudWatchSessionLog::new(logs, None);
    let broker = Broker::new(
        Ports::new(&store, &chat, ManualClock::new(now)).with_evidence(&audit, &sessions),
        vec![ClusterPolicy::new(
            cluster.clone(),
            Region::parse("ap-northeast-1").unwrap(),
        )],
    );
    let week = Period::whole_days_before(now, 7).unwrap();

    let bastion_subnet = ReportScope {
        expected_hosts: HostPatterns::new(["10.0.1.0/24"]),
        ..ReportScope::of(week)
    };

    let published = broker
        .publish_report(&archive, bastion_subnet)
        .await
        .unwrap();

    let key = format!(
        "reports/{}",
        powerpole_core::report::archive::ReportName::of(&week)
    );
    assert_eq!(published.archived.location, format!("s3://{bucket}/{key}"));
    let page = s3_page::text(&s3, &bucket, &key).await;
    assert!(
        page.contains(&request.id().to_string()),
        "the request is in the page"
    );
    assert!(page.contains("INC-19 fix the weekly totals"));
    assert!(
        page.contains("Statement or command outside the window"),
        "the late UPDATE is an anomaly"
    );
    assert!(page.contains("UPDATE orders SET total = 0 WHERE id = 7"));
    assert!(
        page.contains("Login from an unexpected host") && page.contains("203.0.113.9"),
        "a login from outside the bastion subnet is an anomaly"
    );
    assert_eq!(
        published.anomalies, 3,
        "the late UPDATE, the stranger's login and the ALTER USER; not the bastion's login"
    );
    assert!(
        !page.contains(PASSWORD),
        "the password is masked in the page"
    );

    let posts = slack.calls_to("chat.postMessage");
    let announced: Vec<_> = posts
        .iter()
        .filter(|c| c.str("channel") == Some(APPROVERS))
        .collect();
    assert_eq!(announced.len(), 1, "{posts:?}");
    let text = announced[0].str("text").unwrap();
    assert!(text.contains(&format!("`s3://{bucket}/{key}`")), "{text}");
    assert!(text.contains("1 request(s)"), "{text}");
    assert!(
        !text.contains(PASSWORD) && !text.contains("X-Amz-"),
        "{text}"
    );
}
