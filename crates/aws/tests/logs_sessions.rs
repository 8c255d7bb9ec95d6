//! The Session Manager log on CloudWatch Logs against moto: sessions on the bastion grouped by
//! session id with the commands typed in them, other instances' sessions and other windows left
//! out, a missing group, no group.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use powerpole_aws::CloudWatchSessionLog;
use powerpole_core::ports::SessionLog;
use powerpole_core::{AccessWindow, BastionId, Gathered};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

const BASTION: &str = "i-0a1b2c3d4e5f60718";
const OTHER: &str = "i-0ffffffffffffffff";

async fn client(endpoint: &str) -> Client {
    Client::new(&powerpole_aws::config::load(Some(endpoint)).await)
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

fn event(at: OffsetDateTime, session: &str, who: &str, target: &str) -> InputLogEvent {
    typed(at, session, who, target, &["mysql> SELECT 1;"])
}

fn typed(
    at: OffsetDateTime,
    session: &str,
    who: &str,
    target: &str,
    lines: &[&str],
) -> InputLogEvent {
    let message = json!({
        "eventVersion": "1.0",
        "eventTime": at.format(&Rfc3339).unwrap(),
        "awsRegion": "ap-northeast-1",
        "target": {"id": target},
        "userIdentity": {"arn": format!("arn:aws:sts::123456789012:assumed-role/dev/{who}")},
        "runAsUser": "ssm-user",
        "sessionId": session,
        "sessionData": lines,
    });
    InputLogEvent::builder()
        .timestamp(i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap())
        .message(message.to_string())
        .build()
        .unwrap()
}

async fn put(client: &Client, group: &str, stream: &str, mut events: Vec<InputLogEvent>) {
    events.sort_by_key(InputLogEvent::timestamp);
    client
        .create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await
        .unwrap();
    client
        .put_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .set_log_events(Some(events))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn the_bastion_s_sessions_of_the_window_come_back_one_per_session_id() {
    let Some(endpoint) = powerpole_testkit::aws_endpoint() else {
        return;
    };
    let client = client(&endpoint).await;
    let group = format!(
        "/powerpole/{}/ssm",
        powerpole_testkit::unique_name("sessions")
    );
    client
        .create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    let now = now();
    let at = |minutes_ago: i64| now - Duration::minutes(minutes_ago);
    let window = AccessWindow::from_parts(at(60), at(20)).unwrap();
    put(
        &client,
        &group,
        "alice-0a1b",
        vec![
            typed(
                at(50),
                "alice-0a1b",
                "alice",
                BASTION,
                &[
                    "sh-5.2$ mysql -h db -u alice -pHunter2 shop",
                    "Welcome to the MariaDB monitor.",
                ],
            ),
            typed(
                at(45),
                "alice-0a1b",
                "alice",
                BASTION,
                &[
                    "MariaDB [shop]> SELECT * FROM orders",
                    "    -> LIMIT 1;",
                    "| 1 | Hunter2 |",
                ],
            ),
            typed(
                at(30),
                "alice-0a1b",
                "alice",
                BASTION,
                &["MariaDB [shop]> exit", "Bye"],
            ),
        ],
    )
    .await;
    put(
        &client,
        &group,
        "alice-9z8y",
        vec![event(at(18), "alice-9z8y", "alice", BASTION)],
    )
    .await;
    put(
        &client,
        &group,
        "bob-1111",
        vec![event(at(40), "bob-1111", "bob", OTHER)],
    )
    .await;
    put(
        &client,
        &group,
        "carol-2222",
        vec![event(at(90), "carol-2222", "carol", BASTION)],
    )
    .await;
    let log = CloudWatchSessionLog::new(client, Some(group));

    let found = log
        .sessions(Some(&BastionId(BASTION.into())), &window)
        .await
        .unwrap();

    let Gathered::Found(sessions) = found else {
        panic!("{found:?}")
    };
    let seen: Vec<(&str, &str, OffsetDateTime, OffsetDateTime)> = sessions
        .iter()
        .map(|s| {
            (
                s.id.as_str(),
                s.principal.as_str(),
                s.first_seen,
                s.last_seen,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "alice-0a1b",
                "arn:aws:sts::123456789012:assumed-role/dev/alice",
                at(50),
                at(30)
            ),
            (
                "alice-9z8y",
                "arn:aws:sts::123456789012:assumed-role/dev/alice",
                at(18),
                at(18)
            ),
        ],
        "the session within the grace period counts; other instances and times do not"
    );
    let commands: Vec<(&str, &str)> = sessions[0]
        .commands
        .iter()
        .map(|c| (c.kind.as_str(), c.text.as_str()))
        .collect();
    assert_eq!(
        commands,
        [
            ("shell", "mysql -h db -u alice -p***** shop"),
            ("sql", "SELECT * FROM orders LIMIT 1;"),
            ("sql", "exit"),
        ],
        "the commands typed, in order, the password masked and the output left out"
    );
    assert_eq!(sessions[0].commands[0].at, at(50));
}

#[tokio::test]
async fn a_missing_group_is_not_found_and_no_group_or_no_bastion_is_said() {
    let Some(endpoint) = powerpole_testkit::aws_endpoint() else {
        return;
    };
    let client = client(&endpoint).await;
    let now = now();
    let window = AccessWindow::from_parts(now - Duration::hours(1), now).unwrap();
    let bastion = BastionId(BASTION.into());

    let missing = CloudWatchSessionLog::new(
        client.clone(),
        Some(format!(
            "/powerpole/{}",
            powerpole_testkit::unique_name("absent")
        )),
    )
    .sessions(Some(&bastion), &window)
    .await
    .unwrap_err();
    assert!(
        matches!(missing, powerpole_core::Error::NotFound(ref m) if m.contains("session log group")),
        "{missing:?}"
    );

    let unset = CloudWatchSessionLog::new(client.clone(), None)
        .sessions(Some(&bastion), &window)
        .await
        .unwrap();
    assert!(
        matches!(&unset, Gathered::Unavailable { why } if why.contains("POWERPOLE_SESSION_LOG_GROUP")),
        "{unset:?}"
    );
    let no_bastion = CloudWatchSessionLog::new(client, Some("/g".into()))
        .sessions(None, &window)
        .await
        .unwrap();
    assert!(matches!(no_bastion, Gathered::Unavailable { .. }));
}
