//! The one error type of the Slack adapter, and why an inbound request was refused.

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
