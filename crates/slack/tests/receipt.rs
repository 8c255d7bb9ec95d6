//! The session receipt in Slack: posted as a reply in the approval card's thread, with every
//! person- or database-typed text escaped and within Slack's limits however long the lists.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use std::time::Duration;

use powerpole_core::ports::Chat;
use powerpole_core::receipt::BastionSession;
use powerpole_core::{
    AccessRequest, AccessSpec, AccessWindow, Actor, AuditOperation, AuditRecord, BastionId,
    ClusterId, DbUsername, Email, Gathered, MessageRef, Permission, Reason, Receipt, Region,
    RequestId, SlackUserId, Transition, WindowPolicy,
};
use powerpole_slack::receipt_view::{MAX_BLOCKS, MAX_TEXT, receipt_message};
use powerpole_slack::{RetryPolicy, SlackChat, SlackWebApi};
use powerpole_testkit::fake_slack::FakeSlack;
use secrecy::SecretString;
use serde_json::Value;
use time::OffsetDateTime;
use time::macros::datetime;

const T0: OffsetDateTime = datetime!(2026-11-23 14:00 UTC);

fn approved() -> AccessRequest {
    let spec = AccessSpec {
        cluster: ClusterId::parse("prod-orders").unwrap(),
        region: Region::parse("ap-northeast-1").unwrap(),
        permission: Permission::Ddl,
        window: AccessWindow::request(T0, time::Duration::hours(1), T0, &WindowPolicy::default())
            .unwrap(),
        reason: Reason::parse("INC-42 fix <!channel> & <https://evil|orders>").unwrap(),
    };
    let mut request = AccessRequest::submit(
        RequestId::generate(T0, &mut rand::rng()),
        SlackUserId::parse("UREQUESTER1").unwrap(),
        DbUsername::from_email(&Email::parse("keisuke.owato@example.com").unwrap()).unwrap(),
        spec,
        T0,
    );
    request
        .apply(
            Transition::Approve,
            Actor::User(SlackUserId::parse("UAPPROVER1").unwrap()),
            T0,
            "",
        )
        .unwrap();
    request
}

fn query(request: &AccessRequest, minute: i64, object: &str, retcode: i32) -> AuditRecord {
    AuditRecord {
        at: T0 + time::Duration::minutes(minute),
        resolution: time::Duration::SECOND,
        server_host: "db".into(),
        username: request.db_username().as_str().into(),
        host: "10.0.0.1".into(),
        connection_id: 12,
        query_id: 1,
        operation: AuditOperation::Query,
        database: "shop".into(),
        object: object.into(),
        retcode,
    }
}

fn texts(message: &Value) -> Vec<String> {
    let mut all = Vec::new();
    for block in message["blocks"].as_array().unwrap() {
        if let Some(text) = block["text"]["text"].as_str() {
            all.push(text.to_owned());
        }
        for field in block["fields"].as_array().into_iter().flatten() {
            all.push(field["text"].as_str().unwrap().to_owned());
        }
        for element in block["elements"].as_array().into_iter().flatten() {
            all.push(element["text"].as_str().unwrap().to_owned());
        }
    }
    all
}

#[tokio::test]
async fn the_receipt_is_a_reply_in_the_card_thread_with_the_statements_escaped() {
    let fake = FakeSlack::start().await.unwrap();
    let web = SlackWebApi::new(
        SecretString::from("xoxb-receipt-test"),
        &fake.api_url(),
        RetryPolicy {
            max_attempts: 1,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(10),
            attempt_timeout: Duration::from_secs(5),
        },
    )
    .unwrap();
    let chat = SlackChat::new(web, "G0APPROVERS");
    let request = approved();
    let records = vec![
        query(
            &request,
            1,
            "SELECT * FROM orders WHERE note = '<!here>'",
            0,
        ),
        query(
            &request,
            2,
            "CREATE TABLE `a<b>` (id int) COMMENT '<@U0BOSS>'",
            0,
        ),
        query(&request, 3, "ALTER USER x IDENTIFIED BY 'hunter2'", 1227),
    ];
    let receipt = Receipt::assemble(
        &request,
        Gathered::Found(records),
        Gathered::Found(vec![BastionSession {
            id: "alice-0123<x>".into(),
            principal: "arn:aws:sts::1:assumed-role/dev/alice".into(),
            bastion: BastionId("i-0123456789abcdef0".into()),
            first_seen: T0,
            last_seen: T0 + time::Duration::minutes(4),
            commands: powerpole_core::receipt::shell::commands([
                (T0, "sh-5.2$ mysql -u alice -phunter2"),
                (T0, "mysql> SELECT 1;"),
            ]),
        }]),
    );
    let card = MessageRef {
        channel: "G0APPROVERS".into(),
        ts: "1795442400.000100".into(),
    };

    chat.post_receipt(&card, &receipt).await.unwrap();

    let posts = fake.calls_to("chat.postMessage");
    assert_eq!(posts.len(), 1);
    let post = &posts[0];
    assert!(post.ok(), "{:?}", post.response);
    assert_eq!(post.str("channel"), Some("G0APPROVERS"));
    assert_eq!(post.str("thread_ts"), Some("1795442400.000100"));
    assert!(post.body.get("reply_broadcast").is_none());
    let shown = post.body["blocks"].to_string();
    assert!(
        shown.contains("*Level*\\nDDL granted, used"),
        "the level granted against what the session needed: {shown}"
    );
    for raw in [
        "<!channel>",
        "<!here>",
        "<@U0BOSS>",
        "<https://evil",
        "a<b>",
        "123<x>",
    ] {
        assert!(
            !shown.contains(raw),
            "{raw} reached Slack unescaped: {shown}"
        );
    }
    assert!(shown.contains("&lt;!channel&gt; &amp;"));
    assert!(
        shown.contains("CREATE TABLE `a&lt;b&gt;`"),
        "the DDL verbatim: {shown}"
    );
    assert!(!shown.contains("hunter2"), "never a password");
    assert!(shown.contains("2 command(s) typed"), "{shown}");
    assert!(shown.contains("error 1227"));
    assert!(shown.contains("<@UREQUESTER1>") && shown.contains("<@UAPPROVER1>"));
    assert!(shown.contains(&format!("powerpole audit {}", request.id())));
    assert!(
        post.str("text")
            .unwrap()
            .contains("3 statement(s), 2 DDL/DCL, 1 failed")
    );
}

#[test]
fn long_lists_are_cut_with_a_count_and_every_block_stays_within_slack_s_limits() {
    let request = approved();
    let records: Vec<AuditRecord> = (0..400)
        .map(|i| {
            query(
                &request,
                i % 200,
                &format!(
                    "CREATE TABLE t{i} (c{} int) -- {}",
                    "x".repeat(200),
                    "<&>".repeat(50)
                ),
                i32::from(i % 2 == 0),
            )
        })
        .collect();
    let receipt = Receipt::assemble(
        &request,
        Gathered::Found(records),
        Gathered::Unavailable {
            why: "no bastion in local mode".into(),
        },
    );

    let message = receipt_message(&receipt);

    let blocks = message["blocks"].as_array().unwrap();
    assert!(blocks.len() <= MAX_BLOCKS);
    for text in texts(&message) {
        assert!(
            text.chars().count() <= MAX_TEXT,
            "{} chars",
            text.chars().count()
        );
    }
    let all = texts(&message).join("\n");
    assert!(all.contains("*DDL and DCL statements* (400)"));
    assert!(all.contains("*Failed statements* (200)"));
    assert!(all.contains("more"), "{all}");
    let more: Vec<&str> = all.matches("… and ").collect();
    assert!(
        more.len() >= 3,
        "the DDL, failed and tables lists are cut: {all}"
    );
    assert!(all.contains("no bastion in local mode"));
    assert!(all.contains("*Tables touched* (400)"));
}

#[test]
fn an_unavailable_audit_log_is_said_not_shown_as_no_activity() {
    let receipt = Receipt::assemble(
        &approved(),
        Gathered::Unavailable {
            why: "audit log group /aws/rds/cluster/x/audit not found".into(),
        },
        Gathered::Found(Vec::new()),
    );

    let all = texts(&receipt_message(&receipt)).join("\n");

    assert!(all.contains("Database audit log unavailable"));
    assert!(all.contains("unknown (no audit log)"));
    assert!(!all.contains("*Statements*"));
}
