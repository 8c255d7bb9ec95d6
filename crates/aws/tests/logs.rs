//! The CloudWatch Logs audit source against moto: audit lines of several users, inside and
//! outside the window, in two log streams; paging; a missing log group.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use powerpole_aws::Error;
use powerpole_aws::logs::{AuditLogSettings, CloudWatchAuditSource};
use powerpole_core::ports::AuditSource;
use powerpole_core::{AccessWindow, AuditOperation, ClusterId, DbUsername};
use time::macros::format_description;
use time::{Duration, OffsetDateTime};

const USER: &str = "keisuke.owato";

async fn client(endpoint: &str) -> Client {
    Client::new(&powerpole_aws::config::load(Some(endpoint)).await)
}

/// A fresh cluster id, so that each test has its own log group.
fn fresh_cluster() -> ClusterId {
    ClusterId::parse(&powerpole_testkit::unique_name("audit")).unwrap()
}

/// Now, to the second: MariaDB's audit timestamps have no fraction.
fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

/// A MariaDB `server_audit` line (local time, which the test server and Aurora keep in UTC).
fn mariadb_line(at: OffsetDateTime, user: &str, op: &str, object: &str) -> String {
    let ts = at
        .format(format_description!(
            "[year][month][day] [hour]:[minute]:[second]"
        ))
        .unwrap();
    format!("{ts},vm,{user},10.0.1.5,12,3,{op},shop,{object},0")
}

/// An Aurora advanced-auditing line (epoch microseconds).
fn aurora_line(at: OffsetDateTime, user: &str, op: &str, object: &str) -> String {
    let micros = at.unix_timestamp_nanos() / 1000;
    format!("{micros},ip-10-0-0-1,{user},10.0.1.5,12,4,{op},shop,{object},0")
}

fn millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap()
}

/// Creates the cluster's Aurora-named log group and one stream per entry of `streams`, each with
/// its `(time, line)` events.
async fn put_audit_log(
    client: &Client,
    cluster: &ClusterId,
    streams: &[(&str, Vec<(OffsetDateTime, String)>)],
) {
    let group = format!("/aws/rds/cluster/{cluster}/audit");
    client
        .create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    for (stream, events) in streams {
        client
            .create_log_stream()
            .log_group_name(&group)
            .log_stream_name(*stream)
            .send()
            .await
            .unwrap();
        let mut events = events.clone();
        events.sort_by_key(|(at, _)| *at);
        let events: Vec<InputLogEvent> = events
            .into_iter()
            .map(|(at, line)| {
                InputLogEvent::builder()
                    .timestamp(millis(at))
                    .message(line)
                    .build()
                    .unwrap()
            })
            .collect();
        let put = client
            .put_log_events()
            .log_group_name(&group)
            .log_stream_name(*stream)
            .set_log_events(Some(events))
            .send()
            .await
            .unwrap();
        assert!(
            put.rejected_log_events_info().is_none(),
            "moto rejected events: {:?}",
            put.rejected_log_events_info()
        );
    }
}

#[tokio::test]
async fn only_the_user_s_records_of_the_window_come_back_oldest_first() {
    let Some(endpoint) = powerpole_testkit::aws_endpoint() else {
        return;
    };
    let client = client(&endpoint).await;
    let cluster = fresh_cluster();
    let now = now();
    let window =
        AccessWindow::from_parts(now - Duration::minutes(60), now - Duration::minutes(20)).unwrap();
    let at = |minutes_ago: i64| now - Duration::minutes(minutes_ago);
    put_audit_log(
        &client,
        &cluster,
        &[
            (
                "instance-1",
                vec![
                    (
                        at(70),
                        mariadb_line(at(70), USER, "QUERY", "'SELECT \"before\"'"),
                    ),
                    (at(55), mariadb_line(at(55), USER, "CONNECT", "")),
                    (
                        at(45),
                        mariadb_line(at(45), USER, "QUERY", "'UPDATE orders SET x=1'"),
                    ),
                    (at(44), mariadb_line(at(44), "admin", "QUERY", "'SELECT 1'")),
                    (
                        at(43),
                        mariadb_line(
                            at(43),
                            "admin",
                            "QUERY",
                            &format!("'DROP USER IF EXISTS \\'{USER}\\'@\\'%\\''"),
                        ),
                    ),
                    (at(40), format!("this is not an audit line about {USER}")),
                    (at(17), mariadb_line(at(17), USER, "DISCONNECT", "")),
                ],
            ),
            (
                "instance-2",
                vec![
                    (at(50), aurora_line(at(50), USER, "QUERY", "'SELECT 1'")),
                    (
                        at(42),
                        aurora_line(at(42), &format!("{USER}2"), "QUERY", "'SELECT 2'"),
                    ),
                    (
                        at(30),
                        aurora_line(at(30), USER, "QUERY", "'DELETE FROM carts'"),
                    ),
                    (
                        at(5),
                        aurora_line(at(5), USER, "QUERY", "'SELECT \"after\"'"),
                    ),
                ],
            ),
        ],
    )
    .await;
    let source = CloudWatchAuditSource::new(client.clone(), AuditLogSettings::new());
    let username = DbUsername::parse(USER).unwrap();

    let batch = source.fetch(&cluster, &username, &window).await.unwrap();

    let seen: Vec<(OffsetDateTime, AuditOperation, &str)> = batch
        .records
        .iter()
        .map(|r| (r.at, r.operation.clone(), r.object.as_str()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (at(55), AuditOperation::Connect, ""),
            (at(50), AuditOperation::Query, "SELECT 1"),
            (at(45), AuditOperation::Query, "UPDATE orders SET x=1"),
            (at(30), AuditOperation::Query, "DELETE FROM carts"),
            (at(17), AuditOperation::Disconnect, ""),
        ],
        "the user's records from the window plus the 5-minute grace, oldest first"
    );
    assert!(batch.records.iter().all(|r| r.username == USER));
    assert_eq!(batch.malformed.len(), 1, "{:?}", batch.malformed);
    assert_eq!(batch.malformed[0].stream, "instance-1");
    assert_eq!(
        batch.malformed[0].line,
        format!("this is not an audit line about {USER}")
    );
    assert_eq!(batch.pages, 1);

    let records = source.records(&cluster, &username, &window).await.unwrap();
    assert_eq!(records, batch.records);

    let no_grace = CloudWatchAuditSource::new(
        client,
        AuditLogSettings::new().with_grace(Duration::ZERO).unwrap(),
    );
    let strict = no_grace.fetch(&cluster, &username, &window).await.unwrap();
    assert_eq!(
        strict.records.last().map(|r| r.at),
        Some(at(30)),
        "without grace the late DISCONNECT is outside"
    );
}

#[tokio::test]
async fn every_page_is_read_and_the_page_count_is_bounded() {
    let Some(endpoint) = powerpole_testkit::aws_endpoint() else {
        return;
    };
    let client = client(&endpoint).await;
    let cluster = fresh_cluster();
    let now = now();
    let window =
        AccessWindow::from_parts(now - Duration::hours(2), now - Duration::minutes(30)).unwrap();
    let start = window.start() + Duration::minutes(1);
    let mine: Vec<(OffsetDateTime, String)> = (0..23)
        .map(|i| {
            let t = start + Duration::seconds(i * 60);
            (t, aurora_line(t, USER, "QUERY", &format!("'SELECT {i}'")))
        })
        .collect();
    let theirs: Vec<(OffsetDateTime, String)> = (0..10)
        .map(|i| {
            let t = start + Duration::seconds(i * 60 + 30);
            (t, aurora_line(t, "someone.else", "QUERY", "'SELECT 0'"))
        })
        .collect();
    put_audit_log(
        &client,
        &cluster,
        &[("instance-1", mine), ("instance-2", theirs)],
    )
    .await;
    let username = DbUsername::parse(USER).unwrap();

    let paged = CloudWatchAuditSource::new(
        client.clone(),
        AuditLogSettings::new().with_page_size(5).unwrap(),
    );
    let batch = paged.fetch(&cluster, &username, &window).await.unwrap();
    let objects: Vec<String> = batch.records.iter().map(|r| r.object.clone()).collect();
    let expected: Vec<String> = (0..23).map(|i| format!("SELECT {i}")).collect();
    assert_eq!(objects, expected);
    assert!(
        batch.pages >= 5,
        "23 events in pages of 5 took {} pages",
        batch.pages
    );
    assert!(batch.malformed.is_empty());

    let bounded = CloudWatchAuditSource::new(
        client,
        AuditLogSettings::new()
            .with_page_size(5)
            .unwrap()
            .with_max_pages(2)
            .unwrap(),
    );
    let err = bounded
        .fetch(&cluster, &username, &window)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err:?}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_cluster_without_an_exported_audit_log_is_not_found() {
    let Some(endpoint) = powerpole_testkit::aws_endpoint() else {
        return;
    };
    let source = CloudWatchAuditSource::new(client(&endpoint).await, AuditLogSettings::new());
    let now = now();
    let window = AccessWindow::from_parts(now - Duration::hours(1), now).unwrap();
    let username = DbUsername::parse(USER).unwrap();

    let err = source
        .fetch(&fresh_cluster(), &username, &window)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");

    let core_err = source
        .records(&fresh_cluster(), &username, &window)
        .await
        .unwrap_err();
    assert!(
        matches!(core_err, powerpole_core::Error::NotFound(_)),
        "{core_err:?}"
    );
}
