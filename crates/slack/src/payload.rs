//! What Slack sends, parsed from an already-verified raw body into the adapter's own types.
//!
//! Slash commands arrive as `application/x-www-form-urlencoded` fields ([`SlashCommand`]);
//! interactions (button clicks, modal submissions) as one form field `payload` holding JSON
//! ([`Interaction`]). The JSON is read with slack-morphism's wire types, which never leave this
//! module: each converts with `TryFrom` into a struct that carries the core's
//! [`SlackUserId`] and [`MessageRef`]. A body that is not what Slack sends is an [`Error`], never a
//! panic.

use std::borrow::Cow;
use std::collections::BTreeMap;

use powerpole_core::usecases::ExtensionForm;
use powerpole_core::{MessageRef, RequestForm, RequestId, SlackUserId};
use serde::Deserialize;
use slack_morphism::prelude::{
    SlackInteractionActionContainer, SlackInteractionBlockActionsEvent, SlackInteractionEvent,
    SlackInteractionViewSubmissionEvent, SlackView, SlackViewStateValue,
};
use time::OffsetDateTime;

use crate::error::{Error, Result};

/// A slash command invocation (`/powerpole …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlashCommand {
    /// The command as typed, with its slash: `/powerpole`.
    pub command: String,
    /// Everything after the command, trimmed; empty when nothing was typed.
    pub text: String,
    /// Who ran it.
    pub user: SlackUserId,
    /// Their (legacy) user name, when Slack sends it. Display only: never an identity.
    pub user_name: Option<String>,
    /// The channel it was run in.
    pub channel_id: String,
    /// The workspace.
    pub team_id: String,
    /// Opens a modal for this invocation (`views.open`), valid for three seconds.
    pub trigger_id: String,
    /// Where delayed replies to this invocation go (valid for 30 minutes, 5 replies).
    pub response_url: String,
}

impl SlashCommand {
    /// Parses the form body Slack posts for a slash command.
    ///
    /// # Errors
    /// [`Error::MissingField`] when a field Slack always sends is absent or empty;
    /// [`Error::InvalidField`] when `user_id` is not a Slack user id.
    pub fn from_form(raw_body: &[u8]) -> Result<Self> {
        let form = Form::parse(raw_body);
        Ok(Self {
            command: form.required("command")?.trim().to_owned(),
            text: form.get("text").unwrap_or_default().trim().to_owned(),
            user: parse_user("user_id", form.required("user_id")?)?,
            user_name: form
                .get("user_name")
                .filter(|name| !name.is_empty())
                .map(str::to_owned),
            channel_id: form.required("channel_id")?.to_owned(),
            team_id: form.required("team_id")?.to_owned(),
            trigger_id: form.required("trigger_id")?.to_owned(),
            response_url: form.required("response_url")?.to_owned(),
        })
    }
}

/// A user interaction with a message or a modal.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Interaction {
    /// A button or menu was used (`block_actions`).
    BlockAction(BlockAction),
    /// A modal was submitted (`view_submission`).
    ViewSubmission(ViewSubmission),
    /// An interaction the broker does not handle (`view_closed`, `shortcut`, …): acknowledge it
    /// and do nothing.
    Other {
        /// Slack's `type` of the payload.
        kind: String,
    },
}

impl Interaction {
    /// Parses the form body Slack posts to the interactivity URL: one `payload` field holding
    /// JSON.
    ///
    /// # Errors
    /// [`Error::MalformedForm`] without a `payload` field; otherwise as
    /// [`Interaction::from_json`].
    pub fn from_form(raw_body: &[u8]) -> Result<Self> {
        let form = Form::parse(raw_body);
        let payload = form
            .get("payload")
            .ok_or(Error::MalformedForm("no `payload` field"))?;
        Self::from_json(payload)
    }

    /// Parses the JSON of an interaction payload (the `payload` form field, or a Socket Mode
    /// envelope's payload).
    ///
    /// # Errors
    /// [`Error::InvalidJson`] when `payload` is not JSON, has no `type`, or is a
    /// `block_actions` / `view_submission` payload missing what Slack always sends;
    /// [`Error::MissingField`] / [`Error::InvalidField`] when it parses but lacks an action or a
    /// valid user.
    pub fn from_json(payload: &str) -> Result<Self> {
        match serde_json::from_str::<SlackInteractionEvent>(payload) {
            Ok(SlackInteractionEvent::BlockActions(event)) => {
                BlockAction::try_from(event).map(Self::BlockAction)
            }
            Ok(SlackInteractionEvent::ViewSubmission(event)) => {
                ViewSubmission::try_from(event).map(Self::ViewSubmission)
            }
            Ok(_) => Ok(Self::Other {
                kind: kind_of(payload).unwrap_or_default(),
            }),
            Err(e) => match kind_of(payload) {
                Some(kind) if kind != "block_actions" && kind != "view_submission" => {
                    Ok(Self::Other { kind })
                }
                Some(_) | None => Err(Error::InvalidJson(e)),
            },
        }
    }
}

/// The `type` of an interaction payload, read without the rest of it, so that a kind the broker
/// ignores is told from a broken payload of a kind it handles.
fn kind_of(payload: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Probe<'a> {
        #[serde(rename = "type", borrow)]
        kind: Cow<'a, str>,
    }
    serde_json::from_str::<Probe<'_>>(payload)
        .ok()
        .map(|probe| probe.kind.into_owned())
}

/// A click on a button (or a choice in a menu) of a message or a modal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockAction {
    /// Who clicked.
    pub user: SlackUserId,
    /// Which element: the `action_id` the broker gave it.
    pub action_id: String,
    /// The block holding the element.
    pub block_id: Option<String>,
    /// The element's value (for the broker's buttons, the request id); for a menu, the chosen
    /// option's value.
    pub value: Option<String>,
    /// The channel the message is in; `None` for a click inside a modal.
    pub channel: Option<String>,
    /// The message clicked on (channel and ts), to update it in place; `None` inside a modal.
    pub message: Option<MessageRef>,
    /// The modal clicked in, when the element is in one.
    pub view_id: Option<String>,
    /// Where replies to this click go (ephemeral "already decided" answers).
    pub response_url: Option<String>,
    /// Opens a modal in answer to this click, valid for three seconds.
    pub trigger_id: String,
}

impl BlockAction {
    /// The request id the element carries in its value.
    ///
    /// # Errors
    /// [`Error::MissingField`] without a value; [`Error::InvalidField`] when the value is not a
    /// request id.
    pub fn request_id(&self) -> Result<RequestId> {
        let value = self.value.as_deref().ok_or(Error::MissingField("value"))?;
        RequestId::parse(value).map_err(|source| Error::InvalidField {
            field: "value",
            source,
        })
    }
}

impl TryFrom<SlackInteractionBlockActionsEvent> for BlockAction {
    type Error = Error;

    fn try_from(event: SlackInteractionBlockActionsEvent) -> Result<Self> {
        let user = event.user.ok_or(Error::MissingField("user"))?;
        let action = event
            .actions
            .and_then(|actions| actions.into_iter().next())
            .ok_or(Error::MissingField("actions"))?;
        let value = action
            .value
            .or_else(|| action.selected_option.map(|option| option.value));
        let channel = event.channel.map(|channel| channel.id.0);
        let (message, view_id) = match event.container {
            SlackInteractionActionContainer::Message(container) => {
                let channel = container
                    .channel_id
                    .map(|id| id.0)
                    .or_else(|| channel.clone());
                (
                    channel.map(|channel| MessageRef {
                        channel,
                        ts: container.message_ts.0,
                    }),
                    None,
                )
            }
            SlackInteractionActionContainer::MessageAttachment(container) => {
                let channel = container
                    .channel_id
                    .map(|id| id.0)
                    .or_else(|| channel.clone());
                (
                    channel.map(|channel| MessageRef {
                        channel,
                        ts: container.message_ts.0,
                    }),
                    None,
                )
            }
            SlackInteractionActionContainer::View(container) => (None, Some(container.view_id.0)),
        };
        Ok(Self {
            user: parse_user("user.id", &user.id.0)?,
            action_id: action.action_id.0,
            block_id: action.block_id.map(|id| id.0),
            value,
            channel,
            message,
            view_id,
            response_url: event.response_url.map(|url| url.0.to_string()),
            trigger_id: event.trigger_id.0,
        })
    }
}

/// A submitted modal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewSubmission {
    /// Who submitted it.
    pub user: SlackUserId,
    /// The modal.
    pub view_id: String,
    /// The `callback_id` the broker gave the modal.
    pub callback_id: Option<String>,
    /// The `private_metadata` the broker gave the modal.
    pub private_metadata: Option<String>,
    /// The inputs: block id → action id → value.
    pub values: BTreeMap<String, BTreeMap<String, StateValue>>,
    /// Opens a modal in answer, when Slack sends one.
    pub trigger_id: Option<String>,
}

impl ViewSubmission {
    /// The value of one input.
    #[must_use]
    pub fn value(&self, block_id: &str, action_id: &str) -> Option<&StateValue> {
        self.values.get(block_id)?.get(action_id)
    }

    /// The text of one input: what was typed, or the value of the chosen option; `None` when the
    /// input is missing or empty.
    #[must_use]
    pub fn text(&self, block_id: &str, action_id: &str) -> Option<&str> {
        match self.value(block_id, action_id)? {
            StateValue::Text(text) => Some(text),
            StateValue::Empty | StateValue::DateTime(_) | StateValue::Many(_) => None,
        }
    }
}

impl ViewSubmission {
    /// The request form as filled in the broker's modal ([`crate::views::request_modal`]):
    /// blocks are the core's field names, each with one input. Missing inputs become empty
    /// strings, which the core's validation reports next to the right input.
    #[must_use]
    pub fn request_form(&self) -> RequestForm {
        let text = |block: &str| {
            self.text(block, crate::views::INPUT_ACTION)
                .unwrap_or_default()
                .to_owned()
        };
        RequestForm {
            cluster: text("cluster"),
            region: text("region"),
            permission: text("permission"),
            duration_minutes: text("duration"),
            start: match self.value("start", crate::views::INPUT_ACTION) {
                Some(StateValue::DateTime(at)) => Some(*at),
                _ => None,
            },
            reason: text("reason"),
        }
    }
}

impl ViewSubmission {
    /// The extension modal ([`crate::views::extension_modal`]) as submitted: the request its
    /// `private_metadata` names, and the form (missing inputs are empty strings, which the core
    /// refuses next to the right input).
    ///
    /// # Errors
    /// [`Error::MissingField`] without `private_metadata`; [`Error::InvalidField`] when it is not
    /// a request id.
    pub fn extension_form(&self) -> Result<(RequestId, ExtensionForm)> {
        let metadata = self
            .private_metadata
            .as_deref()
            .ok_or(Error::MissingField("private_metadata"))?;
        let id = RequestId::parse(metadata).map_err(|source| Error::InvalidField {
            field: "private_metadata",
            source,
        })?;
        let text = |block: &str| {
            self.text(block, crate::views::INPUT_ACTION)
                .unwrap_or_default()
                .to_owned()
        };
        Ok((
            id,
            ExtensionForm {
                minutes: text("duration"),
                reason: text("reason"),
            },
        ))
    }
}

impl TryFrom<SlackInteractionViewSubmissionEvent> for ViewSubmission {
    type Error = Error;

    fn try_from(event: SlackInteractionViewSubmissionEvent) -> Result<Self> {
        let params = event.view.state_params;
        let (callback_id, private_metadata) = match event.view.view {
            SlackView::Modal(modal) => (modal.callback_id, modal.private_metadata),
            SlackView::Home(home) => (home.callback_id, home.private_metadata),
        };
        let values = params
            .state
            .map(|state| {
                state
                    .values
                    .into_iter()
                    .map(|(block, actions)| {
                        let actions = actions
                            .into_iter()
                            .map(|(action, value)| (action.0, StateValue::from(value)))
                            .collect();
                        (block.0, actions)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            user: parse_user("user.id", &event.user.id.0)?,
            view_id: params.id.0,
            callback_id: callback_id.map(|id| id.0),
            private_metadata,
            values,
            trigger_id: event.trigger_id.map(|id| id.0),
        })
    }
}

/// The value of one modal input.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StateValue {
    /// Nothing typed or chosen (an optional input left blank, or an empty text).
    Empty,
    /// Typed text; the chosen option's value; a date (`2026-11-23`), a time (`14:30`), a user,
    /// channel or conversation id.
    Text(String),
    /// The instant chosen in a date-time picker.
    DateTime(OffsetDateTime),
    /// The values chosen in a multi-select or checkboxes.
    Many(Vec<String>),
}

impl From<SlackViewStateValue> for StateValue {
    fn from(value: SlackViewStateValue) -> Self {
        let single = value
            .value
            .filter(|text| !text.is_empty())
            .or_else(|| value.selected_option.map(|option| option.value))
            .or(value.selected_date)
            .or(value.selected_time)
            .or_else(|| value.selected_user.map(|id| id.0))
            .or_else(|| value.selected_channel.map(|id| id.0))
            .or_else(|| value.selected_conversation.map(|id| id.0));
        if let Some(text) = single {
            return Self::Text(text);
        }
        if let Some(at) = value.selected_date_time {
            return OffsetDateTime::from_unix_timestamp(at.0.as_second())
                .map_or(Self::Empty, Self::DateTime);
        }
        let many: Option<Vec<String>> = value
            .selected_options
            .map(|options| options.into_iter().map(|option| option.value).collect())
            .or_else(|| {
                value
                    .selected_users
                    .map(|ids| ids.into_iter().map(|id| id.0).collect())
            })
            .or_else(|| {
                value
                    .selected_conversations
                    .map(|ids| ids.into_iter().map(|id| id.0).collect())
            });
        many.map_or(Self::Empty, Self::Many)
    }
}

fn parse_user(field: &'static str, id: &str) -> Result<SlackUserId> {
    SlackUserId::parse(id).map_err(|source| Error::InvalidField { field, source })
}

/// Decoded `application/x-www-form-urlencoded` fields, in order.
struct Form<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'a> Form<'a> {
    fn parse(raw_body: &'a [u8]) -> Self {
        Self(form_urlencoded::parse(raw_body).collect())
    }

    /// The first value of `name`.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_ref())
    }

    /// The first value of `name`, which must be present and not blank.
    fn required(&self, name: &'static str) -> Result<&str> {
        self.get(name)
            .filter(|value| !value.trim().is_empty())
            .ok_or(Error::MissingField(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const SLASH_COMMAND: &str = include_str!("../tests/fixtures/slash_command.form");
    const BLOCK_ACTIONS: &str = include_str!("../tests/fixtures/block_actions_approve.json");
    const VIEW_SUBMISSION: &str = include_str!("../tests/fixtures/view_submission_request.json");

    fn form(json: &str) -> Vec<u8> {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", json)
            .finish()
            .into_bytes()
    }

    fn edited(json: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut value: serde_json::Value = serde_json::from_str(json).unwrap();
        edit(&mut value);
        value.to_string()
    }

    fn block_action(json: &str) -> BlockAction {
        match Interaction::from_form(&form(json)).unwrap() {
            Interaction::BlockAction(action) => action,
            other => panic!("expected a block action, got {other:?}"),
        }
    }

    #[test]
    fn a_slash_command_parses_into_the_adapters_struct() {
        let command = SlashCommand::from_form(SLASH_COMMAND.as_bytes()).unwrap();
        assert_eq!(
            command,
            SlashCommand {
                command: "/powerpole".to_owned(),
                text: String::new(),
                user: SlackUserId::parse("U024BE7LH").unwrap(),
                user_name: Some("keisuke.owato".to_owned()),
                channel_id: "C0REQUESTS".to_owned(),
                team_id: "T0FAKE0001".to_owned(),
                trigger_id: "8035481953376.1234567890123.5f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c"
                    .to_owned(),
                response_url:
                    "https://hooks.slack.com/commands/T0FAKE0001/8035481953376/AbCdEfGhIjKlMnOpQrStUvWx"
                        .to_owned(),
            }
        );
    }

    #[test]
    fn slash_command_text_is_decoded_and_trimmed() {
        let body = SLASH_COMMAND.replace("&text=&", "&text=+list+%3C%21channel%3E+%E2%9C%85+&");
        let command = SlashCommand::from_form(body.as_bytes()).unwrap();
        assert_eq!(command.text, "list <!channel> ✅");
    }

    #[test]
    fn a_slash_command_without_a_required_field_is_refused() {
        for field in [
            "command",
            "user_id",
            "channel_id",
            "team_id",
            "trigger_id",
            "response_url",
        ] {
            let body: String = SLASH_COMMAND
                .split('&')
                .filter(|pair| !pair.starts_with(&format!("{field}=")))
                .collect::<Vec<_>>()
                .join("&");
            let err = SlashCommand::from_form(body.as_bytes()).unwrap_err();
            assert!(
                matches!(err, Error::MissingField(f) if f == field),
                "{field}: {err:?}"
            );
        }
        let blank = SLASH_COMMAND.replace("trigger_id=8035", "trigger_id=+&x=8035");
        assert!(matches!(
            SlashCommand::from_form(blank.as_bytes()),
            Err(Error::MissingField("trigger_id"))
        ));
    }

    #[test]
    fn a_slash_command_from_a_non_user_is_refused() {
        let body = SLASH_COMMAND.replace("user_id=U024BE7LH", "user_id=B024BE7LH");
        let err = SlashCommand::from_form(body.as_bytes()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidField {
                    field: "user_id",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for body in [
            &b""[..],
            b"&&&===",
            b"\xff\xfe\x00binary",
            b"payload",
            b"command=%ZZ",
        ] {
            assert!(SlashCommand::from_form(body).is_err(), "{body:?}");
            assert!(Interaction::from_form(body).is_err(), "{body:?}");
        }
    }

    #[test]
    fn an_approve_click_carries_the_request_and_the_card() {
        let action = block_action(BLOCK_ACTIONS);
        assert_eq!(
            action,
            BlockAction {
                user: SlackUserId::parse("U0APPROVER").unwrap(),
                action_id: "approve".to_owned(),
                block_id: Some("decision".to_owned()),
                value: Some("01JDX3QZ8Y7V6W5T4S3R2Q1P0N".to_owned()),
                channel: Some("C0APPROVERS".to_owned()),
                message: Some(MessageRef {
                    channel: "C0APPROVERS".to_owned(),
                    ts: "1732353758.000200".to_owned(),
                }),
                view_id: None,
                response_url: Some(
                    "https://hooks.slack.com/actions/T0FAKE0001/8035481953376/AbCdEfGhIjKlMnOpQrStUvWx"
                        .to_owned()
                ),
                trigger_id: "8035481953376.1234567890123.5f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c"
                    .to_owned(),
            }
        );
        assert_eq!(
            action.request_id().unwrap().to_string(),
            "01JDX3QZ8Y7V6W5T4S3R2Q1P0N"
        );
    }

    #[test]
    fn a_click_value_that_is_not_a_request_id_is_refused_when_asked_for() {
        let json = edited(BLOCK_ACTIONS, |v| {
            v["actions"][0]["value"] = "01JDX'; DROP TABLE x;--".into();
        });
        let action = block_action(&json);
        assert!(matches!(
            action.request_id(),
            Err(Error::InvalidField { field: "value", .. })
        ));
        let json = edited(BLOCK_ACTIONS, |v| {
            v["actions"][0].as_object_mut().unwrap().remove("value");
        });
        assert!(matches!(
            block_action(&json).request_id(),
            Err(Error::MissingField("value"))
        ));
    }

    #[test]
    fn a_click_inside_a_modal_has_a_view_and_no_message() {
        let json = edited(BLOCK_ACTIONS, |v| {
            v["container"] = serde_json::json!({ "type": "view", "view_id": "V0FAKE000123" });
            let object = v.as_object_mut().unwrap();
            object.remove("channel");
            object.remove("message");
            object.remove("response_url");
        });
        let action = block_action(&json);
        assert_eq!(action.view_id.as_deref(), Some("V0FAKE000123"));
        assert_eq!(action.message, None);
        assert_eq!(action.channel, None);
        assert_eq!(action.response_url, None);
    }

    #[test]
    fn a_menu_choice_gives_the_chosen_options_value() {
        let json = edited(BLOCK_ACTIONS, |v| {
            v["actions"][0] = serde_json::json!({
                "type": "static_select",
                "action_id": "cluster_select",
                "block_id": "cluster",
                "selected_option": {
                    "text": { "type": "plain_text", "text": "prod-orders-1", "emoji": true },
                    "value": "prod-orders-1"
                },
                "placeholder": { "type": "plain_text", "text": "Choose", "emoji": true },
                "action_ts": "1732353770.123456"
            });
        });
        assert_eq!(block_action(&json).value.as_deref(), Some("prod-orders-1"));
    }

    #[test]
    fn a_click_without_action_or_with_a_bot_user_is_refused() {
        let json = edited(BLOCK_ACTIONS, |v| v["actions"] = serde_json::json!([]));
        assert!(matches!(
            Interaction::from_form(&form(&json)),
            Err(Error::MissingField("actions"))
        ));
        let json = edited(BLOCK_ACTIONS, |v| v["user"]["id"] = "B0FAKEBOT1".into());
        assert!(matches!(
            Interaction::from_form(&form(&json)),
            Err(Error::InvalidField {
                field: "user.id",
                ..
            })
        ));
    }

    #[test]
    fn a_request_modal_submission_gives_every_input() {
        let Interaction::ViewSubmission(view) =
            Interaction::from_form(&form(VIEW_SUBMISSION)).unwrap()
        else {
            panic!("expected a view submission");
        };
        assert_eq!(view.user.as_str(), "U024BE7LH");
        assert_eq!(view.view_id, "V0FAKE000123");
        assert_eq!(view.callback_id.as_deref(), Some("powerpole_request"));
        assert_eq!(
            view.private_metadata.as_deref(),
            Some(r#"{"channel":"C0REQUESTS"}"#)
        );
        assert_eq!(
            view.trigger_id.as_deref(),
            Some("8035512345678.1234567890123.aa8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c")
        );
        assert_eq!(
            view.text("cluster", "cluster_select"),
            Some("prod-orders-1")
        );
        assert_eq!(view.text("permission", "permission_choice"), Some("READ"));
        assert_eq!(view.text("duration", "duration_select"), Some("60"));
        assert_eq!(
            view.text("reason", "reason_input"),
            Some("Investigate slow query on orders (INC-4211) <!channel>")
        );
        assert_eq!(
            view.value("start", "start_at"),
            Some(&StateValue::DateTime(datetime!(2024-11-23 10:00 UTC)))
        );
        assert_eq!(
            view.value("ticket", "ticket_input"),
            Some(&StateValue::Empty)
        );
        assert_eq!(view.text("ticket", "ticket_input"), None);
        assert_eq!(
            view.value("schemas", "schemas_select"),
            Some(&StateValue::Many(vec![
                "orders".to_owned(),
                "billing".to_owned()
            ]))
        );
        assert_eq!(view.value("nope", "cluster_select"), None);
        assert_eq!(view.values.len(), 7);
    }

    #[test]
    fn the_request_form_is_read_from_the_modal_inputs() {
        let json = edited(VIEW_SUBMISSION, |v| {
            v["view"]["state"]["values"] = serde_json::json!({
                "cluster": { "value": { "type": "static_select", "selected_option": { "value": "orders-prod", "text": { "type": "plain_text", "text": "x" } } } },
                "region": { "value": { "type": "plain_text_input", "value": "ap-northeast-1" } },
                "permission": { "value": { "type": "radio_buttons", "selected_option": { "value": "DML", "text": { "type": "plain_text", "text": "x" } } } },
                "duration": { "value": { "type": "static_select", "selected_option": { "value": "120", "text": { "type": "plain_text", "text": "x" } } } },
                "start": { "value": { "type": "datetimepicker", "selected_date_time": 1_795_428_000 } },
                "reason": { "value": { "type": "plain_text_input", "value": "INC-1 fix rows" } }
            });
        });
        let Interaction::ViewSubmission(view) = Interaction::from_form(&form(&json)).unwrap()
        else {
            panic!("expected a view submission");
        };

        let form = view.request_form();

        assert_eq!(
            form,
            RequestForm {
                cluster: "orders-prod".into(),
                region: "ap-northeast-1".into(),
                permission: "DML".into(),
                duration_minutes: "120".into(),
                start: Some(OffsetDateTime::from_unix_timestamp(1_795_428_000).unwrap()),
                reason: "INC-1 fix rows".into(),
            }
        );
    }

    #[test]
    fn a_modal_without_the_inputs_gives_an_empty_form_for_validation_to_refuse() {
        let json = edited(VIEW_SUBMISSION, |v| {
            v["view"]["state"]["values"] = serde_json::json!({});
        });
        let Interaction::ViewSubmission(view) = Interaction::from_form(&form(&json)).unwrap()
        else {
            panic!("expected a view submission");
        };

        assert_eq!(view.request_form(), RequestForm::default());
    }

    #[test]
    fn pickers_give_dates_times_and_users_as_text() {
        let json = edited(VIEW_SUBMISSION, |v| {
            v["view"]["state"]["values"] = serde_json::json!({
                "day": { "d": { "type": "datepicker", "selected_date": "2024-11-23" } },
                "at": { "t": { "type": "timepicker", "selected_time": "14:30" } },
                "who": { "u": { "type": "users_select", "selected_user": "U0APPROVER" } },
                "num": { "n": { "type": "number_input", "value": "90" } },
                "blank": { "b": { "type": "plain_text_input", "value": "" } }
            });
        });
        let Interaction::ViewSubmission(view) = Interaction::from_form(&form(&json)).unwrap()
        else {
            panic!("expected a view submission");
        };
        assert_eq!(view.text("day", "d"), Some("2024-11-23"));
        assert_eq!(view.text("at", "t"), Some("14:30"));
        assert_eq!(view.text("who", "u"), Some("U0APPROVER"));
        assert_eq!(view.text("num", "n"), Some("90"));
        assert_eq!(view.value("blank", "b"), Some(&StateValue::Empty));
    }

    #[test]
    fn kinds_the_broker_ignores_are_other() {
        let closed = edited(VIEW_SUBMISSION, |v| v["type"] = "view_closed".into());
        assert_eq!(
            Interaction::from_form(&form(&closed)).unwrap(),
            Interaction::Other {
                kind: "view_closed".to_owned()
            }
        );
        let unknown = r#"{"type":"workflow_step_edit","callback_id":"x","trigger_id":"1.2.3"}"#;
        assert_eq!(
            Interaction::from_json(unknown).unwrap(),
            Interaction::Other {
                kind: "workflow_step_edit".to_owned()
            }
        );
    }

    #[test]
    fn malformed_interaction_payloads_are_clear_errors() {
        assert!(matches!(
            Interaction::from_form(b"token=abc"),
            Err(Error::MalformedForm(_))
        ));
        let missing_team = edited(BLOCK_ACTIONS, |v| {
            v.as_object_mut().unwrap().remove("team");
        });
        let missing_view = edited(VIEW_SUBMISSION, |v| {
            v.as_object_mut().unwrap().remove("view");
        });
        for payload in [
            "",
            "not json",
            "[]",
            "{}",
            r#"{"type": 42}"#,
            r#"{"type":"block_actions"}"#,
            r#"{"type":"view_submission","user":{"id":"U024BE7LH"}}"#,
            &missing_team,
            &missing_view,
            &BLOCK_ACTIONS[..BLOCK_ACTIONS.len() / 2],
        ] {
            let err = Interaction::from_json(payload).unwrap_err();
            assert!(
                matches!(err, Error::InvalidJson(_)),
                "{payload:.40}: {err:?}"
            );
            assert!(err.to_string().contains("malformed"));
        }
    }

    #[test]
    fn no_prefix_of_a_real_payload_panics() {
        for payload in [BLOCK_ACTIONS, VIEW_SUBMISSION] {
            for end in (0..payload.len()).filter(|&i| payload.is_char_boundary(i)) {
                let _ = Interaction::from_json(&payload[..end]);
            }
        }
    }
}
