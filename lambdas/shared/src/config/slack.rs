//! What every Lambda reads to talk to Slack ([`SlackConfig`]), and who may approve.

#[cfg(feature = "slack")]
use powerpole_slack::Approvers;

use super::env::{ConfigError, Problems, Vars, optional, required};
use super::resources::SecretArn;

/// The ARN of the Secrets Manager secret holding `{"signing_secret", "bot_token"}`.
pub const SLACK_SECRET_ARN: &str = "POWERPOLE_SLACK_SECRET_ARN";
/// The Slack Web API base URL (optional).
pub const SLACK_API_URL: &str = "POWERPOLE_SLACK_API_URL";
/// The approvers' channel id, where approval cards are posted.
pub const APPROVERS_CHANNEL: &str = "POWERPOLE_APPROVERS_CHANNEL";
/// The public channel requests are acknowledged in (optional).
pub const REQUESTS_CHANNEL: &str = "POWERPOLE_REQUESTS_CHANNEL";
/// Who may approve: `channel`, `none`, or `users:U1,U2` and/or `group:S1,S2` separated by a
/// space, e.g. `users:U1,U2 group:S123` (optional).
pub const APPROVERS: &str = "POWERPOLE_APPROVERS";

/// The Slack Web API base URL used when [`SLACK_API_URL`] is not set.
pub const DEFAULT_SLACK_API_URL: &str = "https://slack.com/api";

/// [`SLACK_SECRET_ARN`]: the secret with the Slack app's signing secret and bot token.
///
/// # Errors
/// [`ConfigError::Missing`] or [`ConfigError::Invalid`].
pub fn slack_secret_arn(vars: &(impl Vars + ?Sized)) -> Result<SecretArn, ConfigError> {
    let value = required(vars, SLACK_SECRET_ARN)?;
    SecretArn::parse(&value).map_err(|problem| ConfigError::invalid(SLACK_SECRET_ARN, problem))
}

/// [`SLACK_API_URL`], [`DEFAULT_SLACK_API_URL`] when unset: an `https://` URL (plain `http://`
/// only to a loopback address, for a fake), without a trailing `/`.
///
/// # Errors
/// [`ConfigError::Invalid`].
pub fn slack_api_url(vars: &(impl Vars + ?Sized)) -> Result<String, ConfigError> {
    let Some(value) = optional(vars, SLACK_API_URL) else {
        return Ok(DEFAULT_SLACK_API_URL.to_owned());
    };
    let value = value.trim_end_matches('/');
    let host = |rest: &str| {
        let authority = rest.split('/').next().unwrap_or_default();
        let host = authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host);
        (!host.is_empty()).then(|| host.to_owned())
    };
    let ok = if let Some(rest) = value.strip_prefix("https://") {
        host(rest).is_some()
    } else if let Some(rest) = value.strip_prefix("http://") {
        host(rest).is_some_and(|h| matches!(h.as_str(), "127.0.0.1" | "localhost" | "[::1]"))
    } else {
        false
    };
    if !ok || value.chars().any(char::is_whitespace) {
        return Err(ConfigError::invalid(
            SLACK_API_URL,
            "expected an https:// URL such as https://slack.com/api (http:// only to loopback)",
        ));
    }
    Ok(value.to_owned())
}

fn is_channel_id(value: &str) -> bool {
    value
        .strip_prefix('C')
        .or_else(|| value.strip_prefix('G'))
        .is_some_and(|rest| {
            (2..=20).contains(&rest.len())
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
}

fn channel(value: String, var: &'static str) -> Result<String, ConfigError> {
    if is_channel_id(&value) {
        Ok(value)
    } else {
        Err(ConfigError::invalid(
            var,
            "expected a channel id such as C0123ABCD (not a #name)",
        ))
    }
}

/// [`APPROVERS_CHANNEL`]: the channel id (`C…`/`G…`) approval cards are posted to.
///
/// # Errors
/// [`ConfigError::Missing`] or [`ConfigError::Invalid`].
pub fn approvers_channel(vars: &(impl Vars + ?Sized)) -> Result<String, ConfigError> {
    channel(required(vars, APPROVERS_CHANNEL)?, APPROVERS_CHANNEL)
}

/// [`REQUESTS_CHANNEL`]: the public channel requests are acknowledged in, if any.
///
/// # Errors
/// [`ConfigError::Invalid`].
pub fn requests_channel(vars: &(impl Vars + ?Sized)) -> Result<Option<String>, ConfigError> {
    optional(vars, REQUESTS_CHANNEL)
        .map(|value| channel(value, REQUESTS_CHANNEL))
        .transpose()
}

/// [`APPROVERS`]: `channel` (the default: any member of the approvers' channel), `none`, or
/// `users:U1,U2` and/or `group:S1,S2` (these people and the members of these user groups, e.g.
/// `users:U1,U2 group:S123`), read by the core's parser: the default approval policy (one
/// approval) of every level a cluster does not override (see [`super::clusters`]).
///
/// # Errors
/// [`ConfigError::Invalid`].
#[cfg(feature = "slack")]
pub fn approvers(vars: &(impl Vars + ?Sized)) -> Result<Approvers, ConfigError> {
    optional(vars, APPROVERS).map_or(Ok(Approvers::AnyChannelMember), |value| {
        value
            .parse::<Approvers>()
            .map_err(|e| ConfigError::invalid(APPROVERS, e.problem()))
    })
}

/// What every Lambda needs to talk to Slack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackConfig {
    /// [`SLACK_SECRET_ARN`].
    pub secret: SecretArn,
    /// [`SLACK_API_URL`].
    pub api_url: String,
    /// [`APPROVERS_CHANNEL`].
    pub approvers_channel: String,
    /// [`REQUESTS_CHANNEL`].
    pub requests_channel: Option<String>,
}

impl SlackConfig {
    /// Reads [`SLACK_SECRET_ARN`], [`SLACK_API_URL`], [`APPROVERS_CHANNEL`],
    /// [`REQUESTS_CHANNEL`].
    ///
    /// # Errors
    /// Every problem found.
    pub fn from_env(vars: &(impl Vars + ?Sized)) -> Result<Self, ConfigError> {
        let mut p = Problems::default();
        let secret = p.take(slack_secret_arn(vars));
        let api_url = p.take(slack_api_url(vars));
        let approvers_channel = p.take(approvers_channel(vars));
        let requests_channel = p.take(requests_channel(vars));
        let (Some(secret), Some(api_url), Some(approvers_channel), Some(requests_channel)) =
            (secret, api_url, approvers_channel, requests_channel)
        else {
            return Err(p.into_error());
        };
        Ok(Self {
            secret,
            api_url,
            approvers_channel,
            requests_channel,
        })
    }
}
