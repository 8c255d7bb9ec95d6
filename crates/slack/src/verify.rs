//! Ingress verification: is this request from Slack, and fresh?
//!
//! Slack signs every request it sends with the app's signing secret: `X-Slack-Signature` is
//! `v0=` and the hex HMAC-SHA256 of `v0:{X-Slack-Request-Timestamp}:{raw body}`. The check runs on
//! the raw bytes before anything parses them, refuses bodies over a size cap before hashing, and
//! refuses timestamps more than five minutes away from now so a captured request cannot be
//! replayed. The HMAC and its constant-time comparison are slack-morphism's.
//!
//! A verified request can still be a redelivery: Slack retries a delivery it believes failed and
//! says so in `X-Slack-Retry-Num` ([`retry_num`]). The use cases are idempotent; the number is
//! for logging and for answering a retry early.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use slack_morphism::SlackSigningSecret;
use slack_morphism::signature_verifier::{
    SlackEventSignatureVerifier, SlackEventSignatureVerifierError,
};

use crate::error::{Error, Rejection, Result};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// The timestamp header.
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
/// The redelivery counter header.
pub const RETRY_NUM_HEADER: &str = "x-slack-retry-num";

/// The largest body accepted by default: 64 KiB, well above any slash command or interaction
/// payload the broker's own views produce.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

/// How far a request timestamp may be from now, either way: Slack's five minutes.
pub const REPLAY_WINDOW_SECS: i64 = 300;

/// Read access to request headers by lower-case name, whatever the HTTP stack.
pub trait HeaderLookup {
    /// The value of header `name` (lower-case ASCII), if present and valid text. When a header is
    /// repeated, the first value.
    fn header(&self, name: &str) -> Option<&str>;
}

impl HeaderLookup for HeaderMap {
    fn header(&self, name: &str) -> Option<&str> {
        self.get(name)?.to_str().ok()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderLookup for [(K, V)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> HeaderLookup for [(K, V); N] {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderLookup for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

/// Checks Slack request signatures with one signing secret. Build it once at start-up.
#[derive(Clone)]
pub struct SignatureVerifier {
    inner: SlackEventSignatureVerifier,
    max_body_bytes: usize,
}

impl fmt::Debug for SignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignatureVerifier")
            .field("signing_secret", &"<redacted>")
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

impl SignatureVerifier {
    /// A verifier for the app's signing secret, accepting bodies up to
    /// [`DEFAULT_MAX_BODY_BYTES`].
    ///
    /// # Errors
    /// [`Error::EmptySigningSecret`] when `signing_secret` is empty or blank.
    pub fn new(signing_secret: &str) -> Result<Self> {
        let secret = signing_secret.trim();
        if secret.is_empty() {
            return Err(Error::EmptySigningSecret);
        }
        Ok(Self {
            inner: SlackEventSignatureVerifier::new(&SlackSigningSecret::new(secret.to_owned())),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        })
    }

    /// The same verifier with another body size cap.
    #[must_use]
    pub const fn with_max_body_bytes(mut self, max_body_bytes: usize) -> Self {
        self.max_body_bytes = max_body_bytes;
        self
    }

    /// The body size cap.
    #[must_use]
    pub const fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// Checks a request's `X-Slack-Signature` and `X-Slack-Request-Timestamp` headers against its
    /// raw body, before anything else reads the body.
    ///
    /// # Errors
    /// The [`Rejection`] saying why the request is refused.
    pub fn verify(
        &self,
        headers: &(impl HeaderLookup + ?Sized),
        raw_body: &[u8],
    ) -> Result<(), Rejection> {
        self.verify_parts(
            headers.header(SIGNATURE_HEADER),
            headers.header(TIMESTAMP_HEADER),
            raw_body,
        )
    }

    /// [`Self::verify`] with the two header values already extracted.
    ///
    /// The checks run cheapest first: body size, header presence and shape, the replay window,
    /// and only then the HMAC.
    ///
    /// # Errors
    /// The [`Rejection`] saying why the request is refused.
    pub fn verify_parts(
        &self,
        signature: Option<&str>,
        timestamp: Option<&str>,
        raw_body: &[u8],
    ) -> Result<(), Rejection> {
        if raw_body.len() > self.max_body_bytes {
            return Err(Rejection::BodyTooLarge {
                len: raw_body.len(),
                max: self.max_body_bytes,
            });
        }
        let signature = signature.ok_or(Rejection::MissingSignature)?.trim();
        let timestamp = timestamp.ok_or(Rejection::MissingTimestamp)?.trim();
        if !is_well_formed_signature(signature) {
            return Err(Rejection::MalformedSignature);
        }
        let signed_at = parse_timestamp(timestamp)?;
        check_window(signed_at, unix_now())?;
        let body = std::str::from_utf8(raw_body).map_err(|_| Rejection::BodyNotUtf8)?;
        self.inner
            .verify(signature, body, timestamp)
            .map_err(|e| match e {
                SlackEventSignatureVerifierError::AbsentSignatureError(_) => {
                    Rejection::MissingSignature
                }
                SlackEventSignatureVerifierError::IncorrectOrExpiredTimestampError(_) => {
                    check_window(signed_at, unix_now())
                        .err()
                        .unwrap_or(Rejection::MalformedTimestamp)
                }
                SlackEventSignatureVerifierError::CryptoInitError(_)
                | SlackEventSignatureVerifierError::WrongSignatureError(_) => {
                    Rejection::BadSignature
                }
            })
    }
}

/// How many times Slack has redelivered this request (`X-Slack-Retry-Num`), or `None` on a first
/// delivery or when the header is not a number.
#[must_use]
pub fn retry_num(headers: &(impl HeaderLookup + ?Sized)) -> Option<u32> {
    headers.header(RETRY_NUM_HEADER)?.trim().parse().ok()
}

fn is_well_formed_signature(signature: &str) -> bool {
    signature
        .strip_prefix("v0=")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn parse_timestamp(timestamp: &str) -> Result<i64, Rejection> {
    if timestamp.is_empty()
        || timestamp.len() > 12
        || !timestamp.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(Rejection::MalformedTimestamp);
    }
    timestamp.parse().map_err(|_| Rejection::MalformedTimestamp)
}

fn check_window(signed_at: i64, now: i64) -> Result<(), Rejection> {
    let age = now.saturating_sub(signed_at);
    if age > REPLAY_WINDOW_SECS {
        Err(Rejection::StaleTimestamp { age_secs: age })
    } else if -age > REPLAY_WINDOW_SECS {
        Err(Rejection::FutureTimestamp { ahead_secs: -age })
    } else {
        Ok(())
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_five_minutes_either_way() {
        let now = 1_800_000_000;
        assert_eq!(check_window(now, now), Ok(()));
        assert_eq!(check_window(now - 300, now), Ok(()));
        assert_eq!(check_window(now + 300, now), Ok(()));
        assert_eq!(
            check_window(now - 301, now),
            Err(Rejection::StaleTimestamp { age_secs: 301 })
        );
        assert_eq!(
            check_window(now + 301, now),
            Err(Rejection::FutureTimestamp { ahead_secs: 301 })
        );
    }

    #[test]
    fn timestamps_are_plain_unix_seconds() {
        assert_eq!(parse_timestamp("1531420618"), Ok(1_531_420_618));
        for bad in [
            "",
            "abc",
            "-5",
            "+1531420618",
            "1531420618.5",
            "1e9",
            "9999999999999",
        ] {
            assert_eq!(
                parse_timestamp(bad),
                Err(Rejection::MalformedTimestamp),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn signatures_must_be_v0_and_64_hex_digits() {
        let hex = "a".repeat(64);
        assert!(is_well_formed_signature(&format!("v0={hex}")));
        assert!(!is_well_formed_signature(&format!("v1={hex}")));
        assert!(!is_well_formed_signature(&format!("v0={}", "a".repeat(63))));
        assert!(!is_well_formed_signature(&format!("v0={}", "g".repeat(64))));
        assert!(!is_well_formed_signature(&hex));
        assert!(!is_well_formed_signature(""));
    }

    #[test]
    fn header_lookup_ignores_case_on_pairs_and_reads_header_maps() {
        let pairs = [("X-Slack-Retry-Num", "2"), ("Content-Type", "text/plain")];
        assert_eq!(pairs.header("x-slack-retry-num"), Some("2"));
        assert_eq!(retry_num(&pairs), Some(2));
        assert_eq!(retry_num(&[("X-Slack-Retry-Num", "two")]), None);
        assert_eq!(retry_num(&Vec::<(String, String)>::new()), None);

        let mut map = HeaderMap::new();
        map.insert("X-Slack-Retry-Num", http::HeaderValue::from_static("1"));
        assert_eq!(retry_num(&map), Some(1));
    }

    #[test]
    fn an_empty_secret_is_refused_and_the_secret_is_never_printed() {
        assert!(matches!(
            SignatureVerifier::new("  "),
            Err(Error::EmptySigningSecret)
        ));
        let verifier = SignatureVerifier::new("8f742231b10e8888abcd99yyyzzz85a5");
        let printed = format!("{verifier:?}");
        assert!(!printed.contains("8f742231"), "{printed}");
        assert!(printed.contains("<redacted>"));
    }

    #[test]
    fn rejections_map_to_http_statuses() {
        assert_eq!(
            Rejection::BodyTooLarge { len: 2, max: 1 }.http_status(),
            413
        );
        assert_eq!(Rejection::BadSignature.http_status(), 401);
        assert_eq!(Rejection::MissingTimestamp.http_status(), 401);
    }
}
