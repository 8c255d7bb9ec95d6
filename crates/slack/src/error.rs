//! The one error type of the Slack adapter, why an inbound request was refused, and why a
//! click on an approval card was refused.

use std::fmt;
use std::time::Duration;

use powerpole_core::SlackUserId;

/// Result of the Slack adapter.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the Slack adapter.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An inbound request failed the signature check; it must be answered with
    /// [`Rejection::http_status`] and nothing else done with it.
    #[error("Slack request rejected: {0}")]
    Rejected(#[from] Rejection),

    /// The configured signing secret is empty, so no request could ever be verified.
    #[error("the Slack signing secret is empty")]
    EmptySigningSecret,

    /// A verified body is not the form Slack sends for this endpoint.
    #[error("malformed Slack form body: {0}")]
    MalformedForm(&'static str),

    /// A field Slack always sends is missing from a verified body.
    #[error("Slack payload lacks the `{0}` field")]
    MissingField(&'static str),

    /// A field is present but not what the domain accepts (for example a user id that is not one).
    #[error("Slack payload field `{field}` is invalid")]
    InvalidField {
        /// The payload field, as Slack names it.
        field: &'static str,
        /// The domain's reason.
        #[source]
        source: powerpole_core::Error,
    },

    /// The interaction `payload` is not JSON of the shape Slack documents for its `type`.
    #[error("malformed Slack interaction payload")]
    InvalidJson(#[source] serde_json::Error),

    /// The configured bot token is empty, so no Web API call could ever be authorised.
    #[error("the Slack bot token is empty")]
    EmptyBotToken,

    /// The configured Web API base URL is not an absolute `http://` or `https://` URL.
    #[error("the Slack Web API URL {url:?} is not an absolute http(s) URL")]
    InvalidApiUrl {
        /// The URL as configured.
        url: String,
    },

    /// The machine has no trusted root certificates, so no TLS connection can be verified.
    #[error("no trusted root certificates for TLS to Slack")]
    TlsRoots(#[source] std::io::Error),

    /// A Web API call failed for good: Slack refused it, or it kept failing until the retry
    /// policy gave up.
    #[error(
        "Slack {method} failed after {attempts} attempt{}: {failure}",
        if *attempts == 1 { "" } else { "s" }
    )]
    WebApi {
        /// The Web API method, e.g. `chat.postMessage`.
        method: &'static str,
        /// How many times it was tried.
        attempts: u32,
        /// How the last attempt failed.
        failure: WebApiFailure,
        /// slack-morphism's error for the last attempt (none when it timed out).
        #[source]
        source: Option<Box<slack_morphism::errors::SlackClientError>>,
    },

    /// Slack answered `ok:true` with something the broker cannot use (e.g. a pagination cursor
    /// that does not advance).
    #[error("Slack {method} answered unexpectedly: {problem}")]
    UnexpectedResponse {
        /// The Web API method.
        method: &'static str,
        /// What was wrong with the answer.
        problem: &'static str,
    },

    /// `users.info` has no e-mail address for the user: the app lacks the `users:read.email`
    /// scope, or the user is a bot or guest without one.
    #[error(
        "Slack returned no e-mail address for user {user}: the app needs the `users:read.email` \
         scope (and the user must have an address)"
    )]
    MissingEmail {
        /// The user looked up.
        user: SlackUserId,
    },

    /// `users.info` returned an e-mail address the domain refuses.
    #[error("Slack returned an unusable e-mail address for user {user}")]
    InvalidEmail {
        /// The user looked up.
        user: SlackUserId,
        /// The domain's reason.
        #[source]
        source: powerpole_core::Error,
    },
}

impl Error {
    /// Whether the same operation may succeed later (rate limits, Slack 5xx, no connection),
    /// as opposed to a refusal that will repeat (`channel_not_found`, `invalid_auth`, …).
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::WebApi { failure, .. } => failure.is_transient(),
            _ => false,
        }
    }

    /// The Slack error code of a refused Web API call (`channel_not_found`, `ratelimited`, …).
    #[must_use]
    pub fn slack_code(&self) -> Option<&str> {
        match self {
            Self::WebApi {
                failure: WebApiFailure::Slack { code, .. },
                ..
            } => Some(code),
            Self::WebApi {
                failure: WebApiFailure::RateLimited { .. },
                ..
            } => Some("ratelimited"),
            _ => None,
        }
    }
}

/// Errors of the Slack adapter reach the core as [`powerpole_core::Error::Backend`] with
/// `system: "slack"`, retryable exactly when [`Error::is_retryable`] says so — except an e-mail
/// address the domain refuses ([`Error::InvalidEmail`]), which is no failure of Slack's and
/// reaches the core as the domain's own [`powerpole_core::Error::Invalid`].
impl From<Error> for powerpole_core::Error {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidEmail { source, .. } => source,
            error => Self::Backend {
                system: "slack",
                retryable: error.is_retryable(),
                source: Box::new(error),
            },
        }
    }
}

/// How a Web API call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebApiFailure {
    /// HTTP 200 with `ok:false` and an error code.
    Slack {
        /// Slack's error code, e.g. `channel_not_found`.
        code: String,
        /// For `missing_scope`: the scope Slack says the app needs.
        needed_scope: Option<String>,
    },
    /// HTTP 429.
    RateLimited {
        /// Slack's `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// Another HTTP status than 200 or 429.
    Status(u16),
    /// No answer: the connection failed or broke.
    Transport,
    /// No answer within the attempt's time limit.
    Timeout,
    /// An answer that is not the JSON Slack documents.
    InvalidResponse,
}

impl WebApiFailure {
    /// Whether trying again later may help: rate limits, Slack's 5xx and its transient error
    /// codes, and calls that got no answer.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Slack { code, .. } => matches!(
                code.as_str(),
                "ratelimited" | "internal_error" | "service_unavailable"
            ),
            Self::RateLimited { .. } | Self::Transport | Self::Timeout => true,
            Self::Status(status) => *status >= 500,
            Self::InvalidResponse => false,
        }
    }
}

impl fmt::Display for WebApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Slack {
                code,
                needed_scope: Some(scope),
            } => write!(
                f,
                "Slack error `{code}` (the app needs the `{scope}` scope)"
            ),
            Self::Slack { code, .. } => write!(f, "Slack error `{code}`"),
            Self::RateLimited {
                retry_after: Some(after),
            } => write!(
                f,
                "rate limited (HTTP 429, `ratelimited`, Retry-After {} s)",
                after.as_secs()
            ),
            Self::RateLimited { retry_after: None } => {
                f.write_str("rate limited (HTTP 429, `ratelimited`)")
            }
            Self::Status(status) => write!(f, "HTTP {status}"),
            Self::Transport => f.write_str("no answer (connection failed)"),
            Self::Timeout => f.write_str("no answer in time"),
            Self::InvalidResponse => f.write_str("an answer that is not Slack's JSON"),
        }
    }
}

/// Why an inbound request was refused before anything in it was looked at.
///
/// The messages never carry a signature, the signing secret or the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The body is larger than the verifier accepts; it was not hashed.
    #[error("request body of {len} bytes exceeds the limit of {max} bytes")]
    BodyTooLarge {
        /// The body's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// No `X-Slack-Signature` header.
    #[error("missing X-Slack-Signature header")]
    MissingSignature,
    /// No `X-Slack-Request-Timestamp` header.
    #[error("missing X-Slack-Request-Timestamp header")]
    MissingTimestamp,
    /// `X-Slack-Request-Timestamp` is not a Unix time in whole seconds.
    #[error("X-Slack-Request-Timestamp is not a Unix time in seconds")]
    MalformedTimestamp,
    /// The request was signed longer ago than the replay window allows.
    #[error("request timestamp is {age_secs} s old, outside the replay window")]
    StaleTimestamp {
        /// How old the timestamp is.
        age_secs: i64,
    },
    /// The request claims to be signed further in the future than clock skew explains.
    #[error("request timestamp is {ahead_secs} s in the future, outside the replay window")]
    FutureTimestamp {
        /// How far ahead the timestamp is.
        ahead_secs: i64,
    },
    /// `X-Slack-Signature` is not `v0=` followed by 64 hexadecimal digits.
    #[error("X-Slack-Signature is not of the form v0=<64 hex digits>")]
    MalformedSignature,
    /// The body is not UTF-8, which no Slack request is.
    #[error("request body is not UTF-8")]
    BodyNotUtf8,
    /// The signature does not match the body and timestamp under the signing secret.
    #[error("signature does not match the request")]
    BadSignature,
}

impl Rejection {
    /// The HTTP status to answer with: 413 for an oversized body, 401 otherwise.
    #[must_use]
    pub const fn http_status(&self) -> u16 {
        match self {
            Self::BodyTooLarge { .. } => 413,
            _ => 401,
        }
    }
}

/// Why a click on an approval card was refused. Each message is written for the person who
/// clicked and can be shown to them as it is (e.g. as an ephemeral message).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The click came from somewhere other than the approvers' channel (a forwarded or copied
    /// card, or a modal).
    #[error("Sorry, requests can only be approved or denied from <#{channel}>.")]
    WrongChannel {
        /// The approvers' channel.
        channel: String,
    },
    /// The person is not a member of the approvers' channel.
    #[error("Sorry, only members of <#{channel}> can approve or deny requests.")]
    NotChannelMember {
        /// The approvers' channel.
        channel: String,
    },
    /// The person is neither one of the approvers listed by name nor a member of their user
    /// groups.
    #[error("Sorry, only {who} can approve or deny this request.")]
    NotApprover {
        /// Who may, with mentions ([`crate::views::approver_names`]).
        who: String,
    },
    /// Nobody is configured to approve this level on this cluster.
    #[error(
        "Sorry, nobody is configured to approve this level on this cluster; the powerpole \
         admins can name approvers for it."
    )]
    NobodyApproves,
    /// The request could not be read to learn who approves its level; nothing was decided.
    #[error(
        "Sorry, your approval rights could not be checked just now. Nothing was decided; \
         please try again in a moment."
    )]
    RequestUnread,
    /// Slack could not be asked who may approve; nothing was decided.
    #[error(
        "Sorry, your approval rights could not be checked just now. Nothing was decided; \
         please try again in a moment."
    )]
    Unchecked(#[source] Error),
}
