//! The core's [`Chat`] and [`Directory`] ports over the Slack Web API.
//!
//! [`SlackChat`] posts the approval card to the approvers' channel and redraws it in place,
//! sends notices as direct messages, posts the session receipt in the card's thread, and
//! acknowledges requests in an optional public channel.
//! [`SlackDirectory`] finds a person's e-mail address. What is shown comes from
//! [`crate::views`]; failures reach the core as [`powerpole_core::Error::Backend`] with
//! `system: "slack"`, retryable for rate limits, Slack 5xx and lost connections only (an e-mail
//! address the domain refuses arrives as the domain's own error).

use powerpole_core::ports::{Chat, Directory, Notice};
use powerpole_core::report::archive::PublishedReport;
use powerpole_core::sweep::SweepReport;
use powerpole_core::tripwire::Trip;
use powerpole_core::{AccessRequest, Email, MessageRef, Receipt, SlackUserId};
use serde_json::Value;

use crate::views;
use crate::web::SlackWebApi;

/// [`Chat`] on Slack.
#[derive(Debug, Clone)]
pub struct SlackChat {
    web: SlackWebApi,
    approvers_channel: String,
    requests_channel: Option<String>,
}

impl SlackChat {
    /// Posts approval cards to `approvers_channel` (a channel id; the bot must be a member).
    #[must_use]
    pub fn new(web: SlackWebApi, approvers_channel: impl Into<String>) -> Self {
        Self {
            web,
            approvers_channel: approvers_channel.into(),
            requests_channel: None,
        }
    }

    /// Also acknowledges requests in this public channel (see [`SlackChat::announce`]).
    #[must_use]
    pub fn with_requests_channel(mut self, channel: impl Into<String>) -> Self {
        self.requests_channel = Some(channel.into());
        self
    }

    /// The approvers' channel.
    #[must_use]
    pub fn approvers_channel(&self) -> &str {
        &self.approvers_channel
    }

    /// The public requests channel, if one is configured.
    #[must_use]
    pub fn requests_channel(&self) -> Option<&str> {
        self.requests_channel.as_deref()
    }

    /// The Web API client underneath.
    #[must_use]
    pub fn web(&self) -> &SlackWebApi {
        &self.web
    }

    /// Posts a short note to the public requests channel, if one is configured (`None`
    /// otherwise). `text` is Slack `mrkdwn`: escape anything a person typed with
    /// [`views::escape`].
    ///
    /// # Errors
    /// [`powerpole_core::Error::Backend`] when Slack refuses or keeps failing.
    pub async fn announce(&self, text: &str) -> powerpole_core::Result<Option<MessageRef>> {
        let Some(channel) = &self.requests_channel else {
            return Ok(None);
        };
        Ok(Some(self.web.post_message(channel, text, None).await?))
    }
}

impl Chat for SlackChat {
    async fn post_approval_card(
        &self,
        request: &AccessRequest,
    ) -> powerpole_core::Result<MessageRef> {
        let card = views::approval_card(request);
        let (text, blocks) = parts(&card);
        Ok(self
            .web
            .post_message(&self.approvers_channel, text, blocks)
            .await?)
    }

    async fn update_approval_card(
        &self,
        card: &MessageRef,
        request: &AccessRequest,
    ) -> powerpole_core::Result<()> {
        let redrawn = views::approval_card(request);
        let (text, blocks) = parts(&redrawn);
        Ok(self.web.update_message(card, text, blocks).await?)
    }

    async fn notify(&self, user: &SlackUserId, notice: &Notice) -> powerpole_core::Result<()> {
        let message = views::notice_message(notice);
        let (text, blocks) = parts(&message);
        self.web.post_message(user.as_str(), text, blocks).await?;
        Ok(())
    }

    async fn report_sweep(&self, report: &SweepReport) -> powerpole_core::Result<()> {
        let message = views::sweep_report(report);
        let (text, blocks) = parts(&message);
        self.web
            .post_message(&self.approvers_channel, text, blocks)
            .await?;
        Ok(())
    }

    async fn post_receipt(
        &self,
        card: &MessageRef,
        receipt: &Receipt,
    ) -> powerpole_core::Result<MessageRef> {
        let message = crate::receipt_view::receipt_message(receipt);
        let (text, blocks) = parts(&message);
        Ok(self.web.post_reply(card, text, blocks).await?)
    }

    async fn post_tripwire(
        &self,
        card: &MessageRef,
        request: &AccessRequest,
        trip: &Trip,
    ) -> powerpole_core::Result<()> {
        let message = views::tripwire_message(request, trip);
        let (text, blocks) = parts(&message);
        self.web.post_reply(card, text, blocks).await?;
        Ok(())
    }

    async fn post_extension_card(
        &self,
        card: &MessageRef,
        request: &AccessRequest,
    ) -> powerpole_core::Result<MessageRef> {
        let number = request.extensions().last().map_or(0, |e| e.number);
        let message = views::extension_card(request, number);
        let (text, blocks) = parts(&message);
        Ok(self.web.post_reply(card, text, blocks).await?)
    }

    async fn update_extension_card(
        &self,
        message: &MessageRef,
        request: &AccessRequest,
        number: u32,
    ) -> powerpole_core::Result<()> {
        let redrawn = views::extension_card(request, number);
        let (text, blocks) = parts(&redrawn);
        Ok(self.web.update_message(message, text, blocks).await?)
    }

    async fn post_report(&self, report: &PublishedReport) -> powerpole_core::Result<()> {
        let message = views::published_report(report);
        let (text, blocks) = parts(&message);
        self.web
            .post_message(&self.approvers_channel, text, blocks)
            .await?;
        Ok(())
    }
}

/// The fallback text and blocks of a message rendered by [`views`].
fn parts(message: &Value) -> (&str, Option<&Value>) {
    (
        message
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default(),
        message.get("blocks"),
    )
}

/// [`Directory`] on Slack's `users.info` (needs `users:read` and `users:read.email`).
#[derive(Debug, Clone)]
pub struct SlackDirectory {
    web: SlackWebApi,
}

impl SlackDirectory {
    /// Looks people up through `web`.
    #[must_use]
    pub const fn new(web: SlackWebApi) -> Self {
        Self { web }
    }
}

impl Directory for SlackDirectory {
    async fn email_of(&self, user: &SlackUserId) -> powerpole_core::Result<Email> {
        Ok(self.web.user_email(user).await?)
    }
}
