//! What Slack posts to the broker's interactivity URL, built for tests: a submission of the
//! broker's request modal and a click on one of its buttons, as `payload` form bodies, and a
//! slash command, ready to be signed with [`crate::fake_slack::signed_form_headers`].

use serde_json::{Value, json};

/// The workspace the payloads come from.
pub const TEAM: &str = "T0FAKE0001";

/// The request form as a person fills it in.
#[derive(Debug, Clone)]
pub struct RequestInput<'a> {
    /// The cluster chosen.
    pub cluster: &'a str,
    /// The region (pre-filled from the cluster).
    pub region: &'a str,
    /// `READ`, `DML` or `DDL`.
    pub permission: &'a str,
    /// The duration in minutes.
    pub duration_minutes: &'a str,
    /// The reason typed.
    pub reason: &'a str,
}

fn select(value: &str) -> Value {
    json!({ "value": { "type": "static_select", "selected_option": {
        "value": value, "text": { "type": "plain_text", "text": value } } } })
}

fn text(value: &str) -> Value {
    json!({ "value": { "type": "plain_text_input", "value": value } })
}

/// A `view_submission` of the broker's request modal by `user`.
#[must_use]
pub fn request_submission(user: &str, input: &RequestInput<'_>) -> Value {
    json!({
        "type": "view_submission",
        "team": { "id": TEAM, "domain": "example" },
        "user": { "id": user, "username": "someone", "team_id": TEAM },
        "api_app_id": "A0FAKEAPP1",
        "token": "deprecated",
        "trigger_id": "1337.42.abcdef",
        "view": {
            "id": "V0MODAL0001", "team_id": TEAM, "type": "modal",
            "callback_id": "powerpole_request", "private_metadata": "", "hash": "1.abc",
            "title": { "type": "plain_text", "text": "Database access" }, "blocks": [],
            "state": { "values": {
                "cluster": select(input.cluster),
                "region": text(input.region),
                "permission": select(input.permission),
                "duration": select(input.duration_minutes),
                "reason": text(input.reason),
            }},
        },
    })
}

/// A `block_actions` click by `user` on the button `action` carrying `value`, in the message
/// `ts` of `channel`.
#[must_use]
pub fn button_click(user: &str, channel: &str, ts: &str, action: &str, value: &str) -> Value {
    json!({
        "type": "block_actions",
        "team": { "id": TEAM, "domain": "example" },
        "user": { "id": user, "username": "someone", "team_id": TEAM },
        "api_app_id": "A0FAKEAPP1",
        "token": "deprecated",
        "trigger_id": "1337.42.abcdef",
        "container": { "type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false },
        "channel": { "id": channel, "name": "channel" },
        "message": { "type": "message", "ts": ts, "text": "message" },
        "response_url": "https://hooks.slack.com/actions/T0FAKE0001/1/xyz",
        "actions": [{
            "type": "button", "action_id": action, "block_id": "b", "value": value,
            "text": { "type": "plain_text", "text": action }, "action_ts": "1700000000.000100",
        }],
    })
}

/// A `view_submission` of the broker's extension modal by `user` for request `request`: how
/// many more `minutes` and why.
#[must_use]
pub fn extension_submission(user: &str, request: &str, minutes: &str, reason: &str) -> Value {
    json!({
        "type": "view_submission",
        "team": { "id": TEAM, "domain": "example" },
        "user": { "id": user, "username": "someone", "team_id": TEAM },
        "api_app_id": "A0FAKEAPP1",
        "token": "deprecated",
        "trigger_id": "1337.42.abcdef",
        "view": {
            "id": "V0MODAL0002", "team_id": TEAM, "type": "modal",
            "callback_id": "powerpole_extend", "private_metadata": request, "hash": "1.abc",
            "title": { "type": "plain_text", "text": "Extend access" }, "blocks": [],
            "state": { "values": {
                "duration": select(minutes),
                "reason": text(reason),
            }},
        },
    })
}

/// [`button_click`] on a button in the block `block_id` (the extension cards tell their
/// extensions apart by block).
#[must_use]
pub fn block_click(
    user: &str,
    channel: &str,
    ts: &str,
    block_id: &str,
    action: &str,
    value: &str,
) -> Value {
    let mut click = button_click(user, channel, ts, action, value);
    click["actions"][0]["block_id"] = json!(block_id);
    click
}

/// The form body Slack posts for an interaction: one `payload` field holding the JSON.
#[must_use]
pub fn interaction_form(payload: &Value) -> Vec<u8> {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish()
        .into_bytes()
}

/// The form body Slack posts for `/powerpole {text}` typed by `user`.
#[must_use]
pub fn slash_command(text: &str, user: &str) -> Vec<u8> {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("token", "deprecated-verification-token"),
            ("team_id", TEAM),
            ("team_domain", "example"),
            ("channel_id", "C0GENERAL1"),
            ("channel_name", "general"),
            ("user_id", user),
            ("user_name", "someone"),
            ("command", "/powerpole"),
            ("text", text),
            ("api_app_id", "A0FAKEAPP1"),
            (
                "response_url",
                "https://hooks.slack.com/commands/T0FAKE0001/1/abc",
            ),
            ("trigger_id", "13345224609.738474920.8088930838d88f008e0"),
        ])
        .finish()
        .into_bytes()
}
