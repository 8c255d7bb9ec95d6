//! The fake Slack Web API itself: it records what it is sent, answers like Slack, fails on
//! demand and goes away when dropped. Driven over real HTTP on loopback.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use std::time::Duration;

use powerpole_testkit::fake_slack::{FakeFailure, FakeSlack, HttpReply, get, post};
use serde_json::{Value, json};

const TOKEN: &str = "xoxb-1234-5678-abcdefghijklmnop";

async fn call(fake: &FakeSlack, method: &str, body: &Value) -> HttpReply {
    post(
        &format!("{}{method}", fake.base_url()),
        &[
            ("Authorization", format!("Bearer {TOKEN}").as_str()),
            ("Content-Type", "application/json; charset=utf-8"),
        ],
        body.to_string(),
    )
    .await
    .unwrap()
}

async fn call_json(fake: &FakeSlack, method: &str, body: &Value) -> Value {
    let reply = call(fake, method, body).await;
    assert_eq!(reply.status, 200, "{method}");
    reply.json().unwrap()
}

fn ts_parts(ts: &str) -> (u64, u64) {
    let (secs, micros) = ts.split_once('.').unwrap();
    assert_eq!(micros.len(), 6, "{ts}");
    (secs.parse().unwrap(), micros.parse().unwrap())
}

#[tokio::test]
async fn every_call_is_recorded_with_method_token_and_body() {
    let fake = FakeSlack::start().await.unwrap();
    assert!(fake.base_url().starts_with("http://127.0.0.1:"));
    assert!(fake.base_url().ends_with("/api/"));
    assert!(fake.addr().ip().is_loopback());

    let body = json!({
        "channel": "C0APPROVERS",
        "text": "Access request from <@U024BE7LH>",
        "blocks": [{ "type": "section", "text": { "type": "mrkdwn", "text": "hi" } }],
    });
    let answer = call_json(&fake, "chat.postMessage", &body).await;
    assert_eq!(answer["ok"], true);
    assert_eq!(answer["channel"], "C0APPROVERS");
    assert_eq!(
        answer["message"]["text"],
        "Access request from <@U024BE7LH>"
    );
    assert_eq!(answer["message"]["blocks"], body["blocks"]);

    let calls = fake.calls_to("chat.postMessage");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].method, "chat.postMessage");
    assert_eq!(calls[0].http_method, "POST");
    assert_eq!(calls[0].token.as_deref(), Some(TOKEN));
    assert_eq!(calls[0].body, body);
    assert_eq!(calls[0].str("channel"), Some("C0APPROVERS"));
    assert_eq!(calls[0].status, 200);
    assert!(calls[0].ok());
    assert_eq!(calls[0].response, answer);
    assert!(fake.calls_to("chat.update").is_empty());
    assert_eq!(fake.calls().len(), 1);

    fake.clear_calls();
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn message_timestamps_are_fresh_and_strictly_increasing() {
    let fake = FakeSlack::start().await.unwrap();
    let mut seen = Vec::new();
    for i in 0..5 {
        let answer = call_json(
            &fake,
            "chat.postMessage",
            &json!({ "channel": "C0REQUESTS", "text": format!("note {i}") }),
        )
        .await;
        seen.push(answer["ts"].as_str().unwrap().to_owned());
        let answer = call_json(
            &fake,
            "chat.postEphemeral",
            &json!({ "channel": "C0REQUESTS", "user": "U024BE7LH", "text": "only you" }),
        )
        .await;
        seen.push(answer["message_ts"].as_str().unwrap().to_owned());
    }
    let parts: Vec<_> = seen.iter().map(|ts| ts_parts(ts)).collect();
    assert!(parts.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    let now = u64::try_from(powerpole_testkit::fake_slack::unix_now()).unwrap();
    assert!(parts[0].0.abs_diff(now) < 60, "ts {} is not now", seen[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posts_get_distinct_timestamps() {
    let fake = std::sync::Arc::new(FakeSlack::start().await.unwrap());
    let mut tasks = Vec::new();
    for i in 0..20 {
        let fake = std::sync::Arc::clone(&fake);
        tasks.push(tokio::spawn(async move {
            call_json(
                &fake,
                "chat.postMessage",
                &json!({ "channel": "C0REQUESTS", "text": format!("note {i}") }),
            )
            .await["ts"]
                .as_str()
                .unwrap()
                .to_owned()
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.push(task.await.unwrap());
    }
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 20);
    assert_eq!(fake.calls_to("chat.postMessage").len(), 20);
}

#[tokio::test]
async fn form_bodies_and_form_tokens_are_understood() {
    let fake = FakeSlack::start().await.unwrap();
    let reply = post(
        &format!("{}chat.postMessage", fake.base_url()),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "token=xoxb-form-token&channel=C0REQUESTS&text=hello+%3C%40U1%3E&blocks=%5B%5D",
    )
    .await
    .unwrap();
    assert_eq!(reply.json().unwrap()["ok"], true);
    let call = &fake.calls()[0];
    assert_eq!(call.token.as_deref(), Some("xoxb-form-token"));
    assert_eq!(
        call.body,
        json!({ "channel": "C0REQUESTS", "text": "hello <@U1>", "blocks": "[]" })
    );
}

#[tokio::test]
async fn a_dm_lands_in_the_dm_channel_and_updates_need_a_posted_message() {
    let fake = FakeSlack::start().await.unwrap();
    let posted = call_json(
        &fake,
        "chat.postMessage",
        &json!({ "channel": "U024BE7LH", "text": "Your access is ready" }),
    )
    .await;
    assert_eq!(posted["channel"], "D024BE7LH");
    let ts = posted["ts"].as_str().unwrap();

    let updated = call_json(
        &fake,
        "chat.update",
        &json!({ "channel": "D024BE7LH", "ts": ts, "text": "Access ended" }),
    )
    .await;
    assert_eq!(updated["ok"], true);
    assert_eq!(updated["ts"], ts);
    assert_eq!(updated["text"], "Access ended");

    for (channel, ts) in [("U024BE7LH", ts), ("D024BE7LH", "1.000001")] {
        let answer = call_json(
            &fake,
            "chat.update",
            &json!({ "channel": channel, "ts": ts, "text": "x" }),
        )
        .await;
        assert_eq!(answer, json!({ "ok": false, "error": "message_not_found" }));
    }
    let answer = call_json(&fake, "chat.postMessage", &json!({ "channel": "C1" })).await;
    assert_eq!(answer["error"], "no_text");
    let answer = call_json(&fake, "chat.postMessage", &json!({ "text": "x" })).await;
    assert_eq!(answer["error"], "channel_not_found");
}

#[tokio::test]
async fn users_info_answers_with_the_configured_email() {
    let fake = FakeSlack::start().await.unwrap();
    fake.set_user_email("U024BE7LH", "keisuke.owato@example.com");
    let answer = call_json(&fake, "users.info", &json!({ "user": "U024BE7LH" })).await;
    assert_eq!(answer["ok"], true);
    assert_eq!(answer["user"]["id"], "U024BE7LH");
    assert_eq!(
        answer["user"]["profile"]["email"],
        "keisuke.owato@example.com"
    );
    assert_eq!(answer["user"]["is_bot"], false);

    let answer = call_json(&fake, "users.info", &json!({ "user": "U0NOBODY" })).await;
    assert_eq!(answer, json!({ "ok": false, "error": "user_not_found" }));

    let reply = get(
        &format!(
            "{}users.info?user=U024BE7LH&include_locale=true",
            fake.base_url()
        ),
        &[("Authorization", format!("Bearer {TOKEN}"))],
    )
    .await
    .unwrap();
    assert_eq!(
        reply.json().unwrap()["user"]["profile"]["email"],
        "keisuke.owato@example.com"
    );
    let last = fake.calls().pop().unwrap();
    assert_eq!(last.http_method, "GET");
    assert_eq!(last.token.as_deref(), Some(TOKEN));
    assert_eq!(
        last.body,
        json!({ "user": "U024BE7LH", "include_locale": "true" })
    );
}

#[tokio::test]
async fn views_open_and_update() {
    let fake = FakeSlack::start().await.unwrap();
    let view = json!({
        "type": "modal",
        "callback_id": "powerpole_request",
        "title": { "type": "plain_text", "text": "Request DB access" },
        "blocks": [],
    });
    let opened = call_json(
        &fake,
        "views.open",
        &json!({ "trigger_id": "8035481953376.1234567890123.5f8a", "view": view }),
    )
    .await;
    assert_eq!(opened["ok"], true);
    let id = opened["view"]["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with('V'));
    assert_eq!(opened["view"]["callback_id"], "powerpole_request");
    assert!(opened["view"]["hash"].is_string());

    let updated = call_json(
        &fake,
        "views.update",
        &json!({ "view_id": id, "view": view }),
    )
    .await;
    assert_eq!(updated["ok"], true);
    assert_eq!(updated["view"]["id"], id.as_str());

    let answer = call_json(
        &fake,
        "views.update",
        &json!({ "view_id": "V0NONE", "view": view }),
    )
    .await;
    assert_eq!(answer["error"], "not_found");
    let answer = call_json(&fake, "views.open", &json!({ "view": view })).await;
    assert_eq!(answer["error"], "invalid_arguments");
}

#[tokio::test]
async fn members_and_usergroups_come_from_the_configuration() {
    let fake = FakeSlack::start().await.unwrap();
    fake.set_channel_members("C0APPROVERS", &["U0APPROVER", "U0SECOND"]);
    fake.set_usergroup_users("S0DBRE", &["U0APPROVER"]);

    let answer = call_json(
        &fake,
        "conversations.members",
        &json!({ "channel": "C0APPROVERS" }),
    )
    .await;
    assert_eq!(answer["members"], json!(["U0APPROVER", "U0SECOND"]));
    assert_eq!(answer["response_metadata"]["next_cursor"], "");
    let answer = call_json(
        &fake,
        "conversations.members",
        &json!({ "channel": "C0NONE" }),
    )
    .await;
    assert_eq!(answer["error"], "channel_not_found");

    let answer = call_json(
        &fake,
        "usergroups.users.list",
        &json!({ "usergroup": "S0DBRE" }),
    )
    .await;
    assert_eq!(answer, json!({ "ok": true, "users": ["U0APPROVER"] }));
    let answer = call_json(
        &fake,
        "usergroups.users.list",
        &json!({ "usergroup": "S0NONE" }),
    )
    .await;
    assert_eq!(answer["error"], "no_such_subteam");
}

#[tokio::test]
async fn injected_failures_hit_the_next_calls_to_that_method_only() {
    let fake = FakeSlack::start().await.unwrap();
    let message = json!({ "channel": "C0APPROVERS", "text": "card" });

    fake.fail_next(
        "chat.postMessage",
        FakeFailure::SlackError("channel_not_found"),
    );
    let reply = call(&fake, "chat.postMessage", &message).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json().unwrap(),
        json!({ "ok": false, "error": "channel_not_found" })
    );
    assert_eq!(
        call_json(&fake, "chat.postMessage", &message).await["ok"],
        true
    );

    fake.fail_next(
        "chat.postMessage",
        FakeFailure::RateLimited {
            retry_after_secs: 3,
        },
    );
    let reply = call(&fake, "chat.postMessage", &message).await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.header("retry-after"), Some("3"));
    assert_eq!(reply.json().unwrap()["error"], "ratelimited");

    fake.fail_times("chat.postMessage", 2, FakeFailure::ServerError);
    fake.set_user_email("U024BE7LH", "keisuke.owato@example.com");
    assert_eq!(
        call_json(&fake, "users.info", &json!({ "user": "U024BE7LH" })).await["ok"],
        true
    );
    for _ in 0..2 {
        let reply = call(&fake, "chat.postMessage", &message).await;
        assert_eq!(reply.status, 500);
        assert!(reply.json().is_err(), "a 500 is not JSON");
    }
    assert_eq!(
        call_json(&fake, "chat.postMessage", &message).await["ok"],
        true
    );

    let statuses: Vec<u16> = fake
        .calls_to("chat.postMessage")
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, [200, 200, 429, 500, 500, 200]);
    let oks: Vec<bool> = fake
        .calls_to("chat.postMessage")
        .iter()
        .map(|c| c.ok())
        .collect();
    assert_eq!(oks, [false, true, false, false, false, true]);
}

#[tokio::test]
async fn requests_slack_would_refuse_are_refused() {
    let fake = FakeSlack::start().await.unwrap();
    let unauthenticated = post(
        &format!("{}chat.postMessage", fake.base_url()),
        &[("Content-Type", "application/json")],
        r#"{"channel":"C1","text":"x"}"#,
    )
    .await
    .unwrap();
    assert_eq!(
        unauthenticated.json().unwrap(),
        json!({ "ok": false, "error": "not_authed" })
    );
    assert_eq!(fake.calls()[0].token, None);

    let answer = call_json(&fake, "chat.scheduleMessage", &json!({})).await;
    assert_eq!(answer["error"], "unknown_method");

    let broken = post(
        &format!("{}chat.postMessage", fake.base_url()),
        &[
            ("Authorization", format!("Bearer {TOKEN}").as_str()),
            ("Content-Type", "application/json"),
        ],
        "{not json",
    )
    .await
    .unwrap();
    assert_eq!(broken.json().unwrap()["error"], "invalid_json");

    let elsewhere = post(
        &format!("http://{}/slack/commands", fake.addr()),
        &[("Content-Type", "text/plain")],
        "",
    )
    .await
    .unwrap();
    assert_eq!(elsewhere.status, 404);
    assert_eq!(fake.calls().len(), 3);
}

#[tokio::test]
async fn the_slack_morphism_style_url_works_too() {
    let fake = FakeSlack::start().await.unwrap();
    assert!(!fake.api_url().ends_with('/'));
    let reply = post(
        &format!("{}/chat.postMessage", fake.api_url()),
        &[
            ("Authorization", format!("Bearer {TOKEN}").as_str()),
            ("Content-Type", "application/json"),
        ],
        r#"{"channel":"C1","text":"x"}"#,
    )
    .await
    .unwrap();
    assert_eq!(reply.json().unwrap()["ok"], true);
    assert_eq!(fake.calls()[0].method, "chat.postMessage");
}

#[tokio::test]
async fn wait_for_calls_sees_background_work() {
    let fake = FakeSlack::start().await.unwrap();
    let url = format!("{}chat.postMessage", fake.base_url());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        post(
            &url,
            &[
                ("Authorization", format!("Bearer {TOKEN}").as_str()),
                ("Content-Type", "application/json"),
            ],
            r#"{"channel":"U024BE7LH","text":"Access ends in 10 minutes"}"#,
        )
        .await
        .unwrap();
    });
    let calls = fake
        .wait_for_calls("chat.postMessage", 1, Duration::from_secs(5))
        .await;
    assert_eq!(calls.len(), 1);
    let none = fake
        .wait_for_calls("chat.update", 1, Duration::from_millis(20))
        .await;
    assert!(none.is_empty());
}

#[tokio::test]
async fn the_server_stops_when_dropped() {
    let fake = FakeSlack::start().await.unwrap();
    let addr = fake.addr();
    assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
    drop(fake);
    let mut refused = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
    }
    assert!(refused, "{addr} still accepts connections");
}
