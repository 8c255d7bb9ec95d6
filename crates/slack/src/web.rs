//! The Slack Web API client: one [`SlackWebApi`] per process, cloned into whatever needs it.
//!
//! Calls go through slack-morphism's HTTP session (bearer auth, Slack's `ok`/`error` envelope,
//! `Retry-After` on HTTP 429) with bodies of our own: write methods post the Block Kit JSON that
//! [`crate::views`] renders, read methods are `GET`s with a query string as Slack documents them.
//! Only the fields the broker uses are decoded from the answers, so a Slack addition to a view
//! or a message never turns a success into an error.
//!
//! Each call is retried by the client's [`RetryPolicy`]: HTTP 429 after the `Retry-After` Slack
//! asks for (capped by `max_delay`), HTTP 5xx, connection failures and timeouts after an
//! exponential backoff with jitter, and `ok:false` only for `ratelimited`. Every retry is logged
//! with `tracing::warn!`. The bot token is sent in the `Authorization` header and nowhere else: it
//! is in no log line, no error and no `Debug` output.

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use powerpole_core::{Email, MessageRef, SlackUserId};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::{Value, json};
use slack_morphism::errors::SlackClientError;
use slack_morphism::hyper_tokio::{SlackClientHyperConnector, SlackHyperClient};
use slack_morphism::{ClientResult, SlackApiToken, SlackApiTokenValue, SlackClient};

use crate::error::{Error, Result, WebApiFailure};

/// Slack's own Web API base URL.
pub const SLACK_API_URL: &str = "https://slack.com/api";

/// Page size asked of `conversations.members` (Slack recommends at most 200).
const MEMBERS_PAGE_LIMIT: &str = "200";

/// How often and how patiently a Web API call is tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included (0 counts as 1).
    pub max_attempts: u32,
    /// The backoff before the second attempt; it doubles for each further one.
    pub base_delay: Duration,
    /// The longest wait between two attempts, `Retry-After` included.
    pub max_delay: Duration,
    /// How long one attempt may take before it counts as a failed connection.
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    /// Four attempts, 250 ms doubling up to 10 s, 10 s per attempt.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            attempt_timeout: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// How long to wait after failed attempt number `attempt` (1-based) before the next one, or
    /// `None` when this failure is not worth another attempt.
    fn delay(&self, failure: &WebApiFailure, attempt: u32) -> Option<Duration> {
        match failure {
            WebApiFailure::RateLimited {
                retry_after: Some(after),
            } => Some((*after).min(self.max_delay)),
            WebApiFailure::RateLimited { retry_after: None }
            | WebApiFailure::Transport
            | WebApiFailure::Timeout => Some(self.backoff(attempt)),
            WebApiFailure::Slack { code, .. } if code == "ratelimited" => {
                Some(self.backoff(attempt))
            }
            WebApiFailure::Status(status) if *status >= 500 => Some(self.backoff(attempt)),
            _ => None,
        }
    }

    /// Exponential backoff with "equal jitter": half the exponential delay plus a random part
    /// of the other half, so concurrent callers spread out but each still backs off.
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1_u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        let exponential = self
            .base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        let half = exponential / 2;
        let half_nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let random = RandomState::new().hash_one(attempt);
        let jitter = random % half_nanos.saturating_add(1);
        half + Duration::from_nanos(jitter)
    }
}

/// Installs rustls' `ring` crypto provider as the process default, for the TLS clients that rely
/// on one (the AWS SDK next to slack-morphism in one binary cannot pick one by itself). Call it
/// once at start-up; a provider installed earlier stays.
///
/// Returns whether this call installed it.
pub fn install_crypto_provider() -> bool {
    rustls::crypto::ring::default_provider()
        .install_default()
        .is_ok()
}

/// The Slack Web API client. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct SlackWebApi {
    inner: Arc<Inner>,
}

struct Inner {
    client: SlackHyperClient,
    token: SecretString,
    api_url: String,
    policy: RetryPolicy,
}

impl fmt::Debug for SlackWebApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackWebApi")
            .field("api_url", &self.inner.api_url)
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}

/// What one call sends.
enum Call<'a> {
    /// A JSON body (write methods).
    Post(&'a Value),
    /// A query string (read methods, which Slack does not accept as JSON).
    Get(&'a [(&'static str, String)]),
}

impl SlackWebApi {
    /// A client for the Web API at `api_url` (e.g. [`SLACK_API_URL`], or a fake's
    /// `http://127.0.0.1:PORT/api`; a trailing `/` is ignored) authorised by the bot token.
    /// TLS uses rustls with the `ring` provider and the system's root certificates; plain
    /// `http://` is accepted for a loopback fake.
    ///
    /// # Errors
    /// [`Error::EmptyBotToken`], [`Error::InvalidApiUrl`] when `api_url` is not an absolute
    /// http(s) URL, [`Error::TlsRoots`] when the system has no root certificates.
    pub fn new(token: SecretString, api_url: &str, policy: RetryPolicy) -> Result<Self> {
        if token.expose_secret().trim().is_empty() {
            return Err(Error::EmptyBotToken);
        }
        let api_url = api_url.trim().trim_end_matches('/');
        let absolute = api_url.parse::<http::Uri>().is_ok_and(|uri| {
            matches!(uri.scheme_str(), Some("http" | "https")) && uri.authority().is_some()
        });
        if !absolute {
            return Err(Error::InvalidApiUrl {
                url: api_url.to_owned(),
            });
        }
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
            .map_err(Error::TlsRoots)?
            .https_or_http()
            .enable_http1()
            .build();
        let connector =
            SlackClientHyperConnector::with_connector(https).with_slack_api_url(api_url);
        Ok(Self {
            inner: Arc::new(Inner {
                client: SlackClient::new(connector),
                token,
                api_url: api_url.to_owned(),
                policy,
            }),
        })
    }

    /// The Web API base URL calls go to.
    #[must_use]
    pub fn api_url(&self) -> &str {
        &self.inner.api_url
    }

    /// The retry policy of every call.
    #[must_use]
    pub fn policy(&self) -> RetryPolicy {
        self.inner.policy
    }

    /// Opens a modal (`views.open`) in answer to the interaction that gave `trigger_id`.
    /// Returns the view's id.
    ///
    /// # Errors
    /// [`Error::WebApi`] when Slack refuses (e.g. `expired_trigger_id`) or keeps failing.
    pub async fn views_open(&self, trigger_id: &str, view: &Value) -> Result<String> {
        #[derive(Deserialize)]
        struct Opened {
            view: OpenedView,
        }
        #[derive(Deserialize)]
        struct OpenedView {
            id: String,
        }
        let body = json!({ "trigger_id": trigger_id, "view": view });
        let opened: Opened = self.call("views.open", Call::Post(&body)).await?;
        Ok(opened.view.id)
    }

    /// Posts a message (`chat.postMessage`) to a channel, or to a person's DM with the bot when
    /// `channel` is a user id. `text` is the notification and fallback text; `blocks`, when
    /// given, a Block Kit array. Returns where the message is (for a DM: the DM channel).
    ///
    /// # Errors
    /// [`Error::WebApi`] when Slack refuses (e.g. `channel_not_found`, `not_in_channel`) or keeps
    /// failing.
    pub async fn post_message(
        &self,
        channel: &str,
        text: &str,
        blocks: Option<&Value>,
    ) -> Result<MessageRef> {
        #[derive(Deserialize)]
        struct Posted {
            channel: String,
            ts: String,
        }
        let body = with_blocks(json!({ "channel": channel, "text": text }), blocks);
        let posted: Posted = self.call("chat.postMessage", Call::Post(&body)).await?;
        Ok(MessageRef {
            channel: posted.channel,
            ts: posted.ts,
        })
    }

    /// Posts a reply in the thread of `parent` (`chat.postMessage` with `thread_ts`), without
    /// broadcasting it to the channel.
    ///
    /// # Errors
    /// [`Error::WebApi`] when Slack refuses (e.g. `thread_not_found`) or keeps failing.
    pub async fn post_reply(
        &self,
        parent: &MessageRef,
        text: &str,
        blocks: Option<&Value>,
    ) -> Result<MessageRef> {
        #[derive(Deserialize)]
        struct Posted {
            channel: String,
            ts: String,
        }
        let body = with_blocks(
            json!({ "channel": parent.channel, "thread_ts": parent.ts, "text": text }),
            blocks,
        );
        let posted: Posted = self.call("chat.postMessage", Call::Post(&body)).await?;
        Ok(MessageRef {
            channel: posted.channel,
            ts: posted.ts,
        })
    }

    /// Replaces a message the bot posted (`chat.update`). Without `blocks` the message keeps
    /// its blocks and only the text changes, as Slack does.
    ///
    /// # Errors
    /// [`Error::WebApi`] when Slack refuses (e.g. `message_not_found`) or keeps failing.
    pub async fn update_message(
        &self,
        message: &MessageRef,
        text: &str,
        blocks: Option<&Value>,
    ) -> Result<()> {
        let body = with_blocks(
            json!({ "channel": message.channel, "ts": message.ts, "text": text }),
            blocks,
        );
        self.call::<IgnoredAny>("chat.update", Call::Post(&body))
            .await?;
        Ok(())
    }

    /// Shows a message in `channel` to `user` only (`chat.postEphemeral`).
    ///
    /// # Errors
    /// [`Error::WebApi`] when Slack refuses (e.g. `user_not_in_channel`) or keeps failing.
    pub async fn post_ephemeral(
        &self,
        channel: &str,
        user: &SlackUserId,
        text: &str,
        blocks: Option<&Value>,
    ) -> Result<()> {
        let body = with_blocks(
            json!({ "channel": channel, "user": user.as_str(), "text": text }),
            blocks,
        );
        self.call::<IgnoredAny>("chat.postEphemeral", Call::Post(&body))
            .await?;
        Ok(())
    }

    /// The e-mail address of a person's Slack profile (`users.info`).
    ///
    /// # Errors
    /// [`Error::MissingEmail`] when the profile has none (most often: the app lacks the
    /// `users:read.email` scope), [`Error::InvalidEmail`] when the address is not one the
    /// domain accepts, [`Error::WebApi`] when Slack refuses (e.g. `user_not_found`) or keeps
    /// failing.
    pub async fn user_email(&self, user: &SlackUserId) -> Result<Email> {
        #[derive(Deserialize)]
        struct UserInfo {
            user: UserEntry,
        }
        #[derive(Deserialize)]
        struct UserEntry {
            #[serde(default)]
            profile: Option<Profile>,
        }
        #[derive(Deserialize)]
        struct Profile {
            #[serde(default)]
            email: Option<String>,
        }
        let params = [("user", user.as_str().to_owned())];
        let info: UserInfo = self.call("users.info", Call::Get(&params)).await?;
        let email = info
            .user
            .profile
            .and_then(|profile| profile.email)
            .filter(|email| !email.trim().is_empty())
            .ok_or_else(|| Error::MissingEmail { user: user.clone() })?;
        Email::parse(&email).map_err(|source| Error::InvalidEmail {
            user: user.clone(),
            source,
        })
    }

    /// Every member of a channel (`conversations.members`, all pages). For a private channel
    /// the bot must be a member and the app needs `groups:read`.
    ///
    /// # Errors
    /// [`Error::WebApi`] when Slack refuses (e.g. `channel_not_found`) or keeps failing,
    /// [`Error::UnexpectedResponse`] when its pagination does not advance.
    pub async fn channel_members(&self, channel: &str) -> Result<Vec<SlackUserId>> {
        let mut members = Vec::new();
        self.scan_members(channel, |member| {
            members.extend(SlackUserId::parse(member).ok());
            ControlFlow::Continue(())
        })
        .await?;
        Ok(members)
    }

    /// Whether `user` is a member of `channel`; stops reading pages once found.
    ///
    /// # Errors
    /// As [`SlackWebApi::channel_members`].
    pub async fn channel_has_member(&self, channel: &str, user: &SlackUserId) -> Result<bool> {
        let mut found = false;
        self.scan_members(channel, |member| {
            if member == user.as_str() {
                found = true;
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .await?;
        Ok(found)
    }

    /// The members of a user group (`usergroups.users.list`; needs `usergroups:read`).
    ///
    /// # Errors
    /// [`Error::WebApi`] when Slack refuses (e.g. `no_such_subteam`) or keeps failing.
    pub async fn usergroup_members(&self, group: &str) -> Result<Vec<SlackUserId>> {
        #[derive(Deserialize)]
        struct GroupUsers {
            users: Vec<String>,
        }
        let params = [("usergroup", group.to_owned())];
        let listed: GroupUsers = self
            .call("usergroups.users.list", Call::Get(&params))
            .await?;
        Ok(listed
            .users
            .iter()
            .filter_map(|user| SlackUserId::parse(user).ok())
            .collect())
    }

    /// Walks the pages of `conversations.members`, handing each member id to `visit` until it
    /// breaks or the last page is read.
    async fn scan_members(
        &self,
        channel: &str,
        mut visit: impl FnMut(&str) -> ControlFlow<()> + Send,
    ) -> Result<()> {
        const METHOD: &str = "conversations.members";
        #[derive(Deserialize)]
        struct Page {
            members: Vec<String>,
            #[serde(default)]
            response_metadata: Option<Metadata>,
        }
        #[derive(Deserialize)]
        struct Metadata {
            #[serde(default)]
            next_cursor: Option<String>,
        }
        let mut cursor: Option<String> = None;
        loop {
            let mut params = vec![
                ("channel", channel.to_owned()),
                ("limit", MEMBERS_PAGE_LIMIT.to_owned()),
            ];
            if let Some(cursor) = &cursor {
                params.push(("cursor", cursor.clone()));
            }
            let page: Page = self.call(METHOD, Call::Get(&params)).await?;
            if page.members.iter().any(|member| visit(member).is_break()) {
                return Ok(());
            }
            let next = page
                .response_metadata
                .and_then(|metadata| metadata.next_cursor)
                .filter(|next| !next.is_empty());
            match next {
                None => return Ok(()),
                Some(next) if cursor.as_ref() == Some(&next) => {
                    return Err(Error::UnexpectedResponse {
                        method: METHOD,
                        problem: "the pagination cursor did not advance",
                    });
                }
                Some(next) => cursor = Some(next),
            }
        }
    }

    /// Calls `method` under the retry policy.
    async fn call<T>(&self, method: &'static str, call: Call<'_>) -> Result<T>
    where
        T: DeserializeOwned + Send,
    {
        let policy = self.inner.policy;
        let max_attempts = policy.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            let (failure, source) = match tokio::time::timeout(
                policy.attempt_timeout,
                self.send(method, &call),
            )
            .await
            {
                Ok(Ok(answer)) => return Ok(answer),
                Ok(Err(error)) => (classify(&error), Some(Box::new(error))),
                Err(_) => (WebApiFailure::Timeout, None),
            };
            match policy.delay(&failure, attempt) {
                Some(delay) if attempt < max_attempts => {
                    tracing::warn!(
                        method,
                        attempt,
                        max_attempts,
                        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        failure = %failure,
                        "Slack Web API call failed; retrying"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                _ => {
                    return Err(Error::WebApi {
                        method,
                        attempts: attempt,
                        failure,
                        source,
                    });
                }
            }
        }
    }

    /// One attempt, through a slack-morphism session authorised by the bot token.
    async fn send<T>(&self, method: &str, call: &Call<'_>) -> ClientResult<T>
    where
        T: DeserializeOwned + Send,
    {
        let token = SlackApiToken::new(SlackApiTokenValue(
            self.inner.token.expose_secret().to_owned(),
        ));
        let session = self.inner.client.open_session(&token);
        match call {
            Call::Post(body) => {
                session
                    .http_session_api
                    .http_post(method, *body, None)
                    .await
            }
            Call::Get(params) => {
                let params: Vec<(&str, Option<&String>)> = params
                    .iter()
                    .map(|(name, value)| (*name, Some(value)))
                    .collect();
                session
                    .http_session_api
                    .http_get(method, &params, None)
                    .await
            }
        }
    }
}

/// Adds `blocks` to a message body when there are some.
fn with_blocks(mut body: Value, blocks: Option<&Value>) -> Value {
    if let (Some(fields), Some(blocks)) = (body.as_object_mut(), blocks) {
        fields.insert("blocks".to_owned(), blocks.clone());
    }
    body
}

/// How slack-morphism says an attempt failed, in the terms the retry policy decides on.
fn classify(error: &SlackClientError) -> WebApiFailure {
    match error {
        SlackClientError::ApiError(refusal) => WebApiFailure::Slack {
            code: refusal.code.clone(),
            needed_scope: (refusal.code == "missing_scope")
                .then(|| needed_scope(refusal.http_response_body.as_deref()))
                .flatten(),
        },
        SlackClientError::RateLimitError(limited) => WebApiFailure::RateLimited {
            retry_after: limited.retry_after,
        },
        SlackClientError::HttpError(http) => WebApiFailure::Status(http.status_code.as_u16()),
        SlackClientError::HttpProtocolError(_)
        | SlackClientError::EndOfStream(_)
        | SlackClientError::SystemError(_) => WebApiFailure::Transport,
        SlackClientError::ProtocolError(_) | SlackClientError::SocketModeProtocolError(_) => {
            WebApiFailure::InvalidResponse
        }
    }
}

/// The `needed` field of a `missing_scope` answer.
fn needed_scope(body: Option<&str>) -> Option<String> {
    let body: Value = serde_json::from_str(body?).ok()?;
    Some(body.get("needed")?.as_str()?.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            attempt_timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn backoff_doubles_within_equal_jitter_and_stops_at_the_cap() {
        let policy = policy();
        for (attempt, full) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1000),
            (40, 1000),
        ] {
            let full = Duration::from_millis(full);
            for _ in 0..50 {
                let delay = policy.backoff(attempt);
                assert!(
                    delay >= full / 2 && delay <= full,
                    "attempt {attempt}: {delay:?} outside [{:?}, {full:?}]",
                    full / 2
                );
            }
        }
    }

    #[test]
    fn only_transient_failures_get_a_delay() {
        let policy = policy();
        let slack = |code: &str| WebApiFailure::Slack {
            code: code.to_owned(),
            needed_scope: None,
        };
        assert_eq!(
            policy.delay(
                &WebApiFailure::RateLimited {
                    retry_after: Some(Duration::from_secs(30))
                },
                1
            ),
            Some(Duration::from_millis(1000)),
            "Retry-After is capped by max_delay"
        );
        assert_eq!(
            policy.delay(
                &WebApiFailure::RateLimited {
                    retry_after: Some(Duration::from_millis(300))
                },
                1
            ),
            Some(Duration::from_millis(300))
        );
        for retried in [
            slack("ratelimited"),
            WebApiFailure::Status(500),
            WebApiFailure::Status(503),
            WebApiFailure::Transport,
            WebApiFailure::Timeout,
        ] {
            assert!(policy.delay(&retried, 1).is_some(), "{retried}");
        }
        for final_ in [
            slack("channel_not_found"),
            slack("invalid_auth"),
            slack("internal_error"),
            WebApiFailure::Status(404),
            WebApiFailure::InvalidResponse,
        ] {
            assert_eq!(policy.delay(&final_, 1), None, "{final_}");
        }
    }

    #[test]
    fn the_scope_slack_asks_for_is_read_from_a_missing_scope_answer() {
        assert_eq!(
            needed_scope(Some(
                r#"{"ok":false,"error":"missing_scope","needed":"usergroups:read","provided":"chat:write"}"#
            ))
            .as_deref(),
            Some("usergroups:read")
        );
        assert_eq!(needed_scope(Some("not json")), None);
        assert_eq!(needed_scope(None), None);
    }

    #[test]
    fn the_token_is_not_in_debug_output_and_bad_configuration_is_refused() {
        let token = "xoxb-very-secret-token";
        let web = SlackWebApi::new(
            SecretString::from(token),
            "http://127.0.0.1:9/api/",
            policy(),
        )
        .unwrap();
        assert_eq!(web.api_url(), "http://127.0.0.1:9/api");
        assert!(!format!("{web:?}").contains(token));
        assert!(matches!(
            SlackWebApi::new(SecretString::from(" "), SLACK_API_URL, policy()),
            Err(Error::EmptyBotToken)
        ));
        for url in ["", "slack.com/api", "ftp://slack.com/api", "/api"] {
            assert!(
                matches!(
                    SlackWebApi::new(SecretString::from(token), url, policy()),
                    Err(Error::InvalidApiUrl { .. })
                ),
                "{url:?}"
            );
        }
    }
}
