//! The fake Slack Web API speaks Slack's wire format as slack-morphism models it: requests
//! serialised from slack-morphism's request types are understood, and every answer deserialises
//! into the matching slack-morphism response type. The Web API client built on slack-morphism
//! can therefore be tested against the fake.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use powerpole_testkit::fake_slack::{FakeSlack, get, post};
use serde::Serialize;
use serde::de::DeserializeOwned;
use slack_morphism::api::{
    SlackApiChatPostEphemeralRequest, SlackApiChatPostEphemeralResponse,
    SlackApiChatPostMessageRequest, SlackApiChatPostMessageResponse, SlackApiChatUpdateRequest,
    SlackApiChatUpdateResponse, SlackApiConversationsMembersResponse,
    SlackApiUserGroupsUsersListResponse, SlackApiUsersInfoResponse, SlackApiViewsOpenRequest,
    SlackApiViewsOpenResponse, SlackApiViewsUpdateRequest, SlackApiViewsUpdateResponse,
};
use slack_morphism::prelude::{
    SlackBlock, SlackBlockMarkDownText, SlackBlockPlainTextOnly, SlackBlockText, SlackChannelId,
    SlackMessageContent, SlackModalView, SlackSectionBlock, SlackTriggerId, SlackUserId, SlackView,
};

const TOKEN: &str = "xoxb-1234-5678-abcdefghijklmnop";

async fn call<RQ: Serialize, RS: DeserializeOwned>(fake: &FakeSlack, method: &str, req: &RQ) -> RS {
    let reply = post(
        &format!("{}/{method}", fake.api_url()),
        &[
            ("authorization", format!("Bearer {TOKEN}").as_str()),
            ("content-type", "application/json; charset=utf-8"),
        ],
        serde_json::to_string(req).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 200);
    let json = reply.json().unwrap();
    assert_eq!(json["ok"], true, "{method}: {json}");
    serde_json::from_value(json).unwrap()
}

async fn call_get<RS: DeserializeOwned>(fake: &FakeSlack, method_and_query: &str) -> RS {
    let reply = get(
        &format!("{}/{method_and_query}", fake.api_url()),
        &[("authorization", format!("Bearer {TOKEN}"))],
    )
    .await
    .unwrap();
    let json = reply.json().unwrap();
    assert_eq!(json["ok"], true, "{method_and_query}: {json}");
    serde_json::from_value(json).unwrap()
}

fn content(text: &str) -> SlackMessageContent {
    SlackMessageContent::new()
        .with_text(text.to_owned())
        .with_blocks(vec![SlackBlock::Section(
            SlackSectionBlock::new().with_text(SlackBlockText::MarkDown(
                SlackBlockMarkDownText::new(format!("*{text}*")),
            )),
        )])
}

fn modal(title: &str) -> SlackView {
    SlackView::Modal(
        SlackModalView::new(SlackBlockPlainTextOnly::from(title), vec![])
            .with_callback_id("powerpole_request".into()),
    )
}

#[tokio::test]
async fn chat_methods_round_trip_through_slack_morphism_types() {
    let fake = FakeSlack::start().await.unwrap();

    let posted: SlackApiChatPostMessageResponse = call(
        &fake,
        "chat.postMessage",
        &SlackApiChatPostMessageRequest::new(
            SlackChannelId::new("C0APPROVERS".to_owned()),
            content("DB access request"),
        ),
    )
    .await;
    assert_eq!(posted.channel.0, "C0APPROVERS");
    assert_eq!(
        posted.message.content.text.as_deref(),
        Some("DB access request")
    );
    assert_eq!(
        posted.message.content.blocks.as_ref().map(Vec::len),
        Some(1)
    );

    let recorded = &fake.calls_to("chat.postMessage")[0];
    assert_eq!(recorded.str("channel"), Some("C0APPROVERS"));
    assert_eq!(recorded.body["blocks"][0]["type"], "section");

    let updated: SlackApiChatUpdateResponse = call(
        &fake,
        "chat.update",
        &SlackApiChatUpdateRequest::new(
            posted.channel.clone(),
            content("Approved by <@U0APPROVER>"),
            posted.ts.clone(),
        ),
    )
    .await;
    assert_eq!(updated.ts, posted.ts);
    assert_eq!(
        updated.message.content.text.as_deref(),
        Some("Approved by <@U0APPROVER>")
    );

    let _: SlackApiChatPostEphemeralResponse = call(
        &fake,
        "chat.postEphemeral",
        &SlackApiChatPostEphemeralRequest::new(
            SlackChannelId::new("C0APPROVERS".to_owned()),
            SlackUserId::new("U0APPROVER".to_owned()),
            content("Already approved by <@U0OTHER>"),
        ),
    )
    .await;

    let dm: SlackApiChatPostMessageResponse = call(
        &fake,
        "chat.postMessage",
        &SlackApiChatPostMessageRequest::new(
            SlackChannelId::new("U024BE7LH".to_owned()),
            content("Your access is ready"),
        ),
    )
    .await;
    assert_eq!(dm.channel.0, "D024BE7LH");
    assert_ne!(dm.ts, posted.ts);
}

#[tokio::test]
async fn views_round_trip_through_slack_morphism_types() {
    let fake = FakeSlack::start().await.unwrap();
    let opened: SlackApiViewsOpenResponse = call(
        &fake,
        "views.open",
        &SlackApiViewsOpenRequest::new(
            SlackTriggerId::new("8035481953376.1234567890123.5f8a".to_owned()),
            modal("Request DB access"),
        ),
    )
    .await;
    let id = opened.view.state_params.id.clone();
    let SlackView::Modal(view) = &opened.view.view else {
        panic!("expected a modal");
    };
    assert_eq!(
        view.callback_id.as_ref().map(|c| c.0.as_str()),
        Some("powerpole_request")
    );

    let updated: SlackApiViewsUpdateResponse = call(
        &fake,
        "views.update",
        &SlackApiViewsUpdateRequest::new(modal("Request sent")).with_view_id(id.clone()),
    )
    .await;
    assert_eq!(updated.view.state_params.id, id);
}

#[tokio::test]
async fn read_methods_answer_gets_as_slack_morphism_sends_them() {
    let fake = FakeSlack::start().await.unwrap();
    fake.set_user_email("U024BE7LH", "keisuke.owato@example.com");
    fake.set_channel_members("C0APPROVERS", &["U0APPROVER", "U0SECOND"]);
    fake.set_usergroup_users("S0DBRE", &["U0APPROVER"]);

    let info: SlackApiUsersInfoResponse = call_get(&fake, "users.info?user=U024BE7LH").await;
    assert_eq!(info.user.id.0, "U024BE7LH");
    assert_eq!(
        info.user.profile.and_then(|p| p.email).map(|e| e.0),
        Some("keisuke.owato@example.com".to_owned())
    );

    let members: SlackApiConversationsMembersResponse =
        call_get(&fake, "conversations.members?channel=C0APPROVERS&limit=200").await;
    assert_eq!(members.members.len(), 2);

    let users: SlackApiUserGroupsUsersListResponse =
        call_get(&fake, "usergroups.users.list?usergroup=S0DBRE").await;
    assert_eq!(users.users, vec![SlackUserId::new("U0APPROVER".to_owned())]);
}
