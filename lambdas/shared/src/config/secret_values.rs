//! The shapes of the secret values read at cold start: the Slack app's credentials
//! ([`SlackSecret`]) and a cluster's admin credentials ([`AdminSecret`]). Errors say which field
//! is wrong, never what it holds.

use secrecy::SecretString;
use serde_json::Value;

use super::clusters::{CLUSTERS, is_host_name};
use super::env::ConfigError;
use super::resources::SecretArn;
use super::slack::SLACK_SECRET_ARN;

/// The Slack app's credentials, from the secret named by [`SLACK_SECRET_ARN`].
#[derive(Debug)]
pub struct SlackSecret {
    /// The signing secret Slack's requests are checked with (the Slack endpoints need it).
    pub signing_secret: Option<SecretString>,
    /// The bot token (`xoxb-…`) Web API calls are made with.
    pub bot_token: SecretString,
}

/// Reads a string field of a secret's JSON object, reporting only the field's name.
fn secret_field(
    object: &serde_json::Map<String, Value>,
    field: &str,
) -> Result<Option<String>, String> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Err(format!("{field} is empty")),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(_) => Err(format!("{field} is not a string")),
    }
}

/// Parses a secret value as a JSON object without letting the parser quote it.
fn secret_object(text: &str) -> Result<serde_json::Map<String, Value>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err("expected a JSON object".to_owned()),
        Err(e) => Err(format!(
            "not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        )),
    }
}

impl SlackSecret {
    /// Parses `{"signing_secret": "…", "bot_token": "xoxb-…"}` (`signing_secret` may be left out
    /// for the Lambdas that only call the Web API).
    ///
    /// # Errors
    /// [`ConfigError::SecretMalformed`] saying which field is wrong, never what it holds.
    pub fn parse(arn: &SecretArn, text: &str) -> Result<Self, ConfigError> {
        let malformed = |problem: String| ConfigError::SecretMalformed {
            var: SLACK_SECRET_ARN,
            arn: arn.to_string(),
            problem,
        };
        let object = secret_object(text).map_err(malformed)?;
        let signing_secret = secret_field(&object, "signing_secret").map_err(malformed)?;
        let bot_token = secret_field(&object, "bot_token")
            .map_err(malformed)?
            .ok_or_else(|| malformed("bot_token is missing".to_owned()))?;
        Ok(Self {
            signing_secret: signing_secret.map(SecretString::from),
            bot_token: SecretString::from(bot_token),
        })
    }

    /// The signing secret, which the Slack endpoints cannot do without.
    ///
    /// # Errors
    /// [`ConfigError::SecretMalformed`] when the secret has none.
    pub fn require_signing_secret(&self, arn: &SecretArn) -> Result<&SecretString, ConfigError> {
        self.signing_secret
            .as_ref()
            .ok_or_else(|| ConfigError::SecretMalformed {
                var: SLACK_SECRET_ARN,
                arn: arn.to_string(),
                problem: "signing_secret is missing".to_owned(),
            })
    }
}

/// A cluster's admin credentials, from its `admin_secret_arn`: the shape of an RDS-managed
/// master user secret (`username`, `password`), optionally with `host` and `port` as in
/// secrets made for rotation.
#[derive(Debug)]
pub struct AdminSecret {
    /// The admin user.
    pub username: String,
    /// Its password.
    pub password: SecretString,
    /// The host to connect to instead of the cluster's `endpoint`.
    pub host: Option<String>,
    /// The port to connect to instead of the cluster's `port`.
    pub port: Option<u16>,
}

impl AdminSecret {
    /// Parses an admin secret of `cluster`.
    ///
    /// # Errors
    /// [`ConfigError::SecretMalformed`] (variable [`CLUSTERS`]) saying which field is wrong,
    /// never what it holds.
    pub fn parse(arn: &SecretArn, text: &str) -> Result<Self, ConfigError> {
        let malformed = |problem: String| ConfigError::SecretMalformed {
            var: CLUSTERS,
            arn: arn.to_string(),
            problem,
        };
        let object = secret_object(text).map_err(malformed)?;
        let username = secret_field(&object, "username")
            .map_err(malformed)?
            .ok_or_else(|| malformed("username is missing".to_owned()))?;
        let password = match object.get("password") {
            Some(Value::String(p)) if !p.is_empty() => SecretString::from(p.clone()),
            Some(Value::String(_)) => return Err(malformed("password is empty".to_owned())),
            None | Some(Value::Null) => return Err(malformed("password is missing".to_owned())),
            Some(_) => return Err(malformed("password is not a string".to_owned())),
        };
        let host = secret_field(&object, "host").map_err(malformed)?;
        if host.as_deref().is_some_and(|h| !is_host_name(h)) {
            return Err(malformed("host is not a host name".to_owned()));
        }
        let port = match object.get("port") {
            None | Some(Value::Null) => None,
            Some(value) => Some(
                port_number(value)
                    .ok_or_else(|| malformed("port is not a port number".to_owned()))?,
            ),
        };
        Ok(Self {
            username,
            password,
            host,
            port,
        })
    }
}

fn port_number(value: &Value) -> Option<u16> {
    match value {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => s.trim().parse::<u16>().ok(),
        _ => None,
    }
    .filter(|port| *port != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::fixtures::*;
    use secrecy::ExposeSecret;

    fn slack_arn() -> SecretArn {
        SecretArn::parse(SLACK_ARN).unwrap()
    }

    #[test]
    fn the_slack_secret_is_read_from_its_json() {
        let secret = SlackSecret::parse(
            &slack_arn(),
            r#"{"signing_secret": "8f742231b10e8888abcd99yyyzzz85a5", "bot_token": "xoxb-1-2-abc"}"#,
        )
        .unwrap();
        assert_eq!(secret.bot_token.expose_secret(), "xoxb-1-2-abc");
        let signing = secret.require_signing_secret(&slack_arn()).unwrap();
        assert_eq!(signing.expose_secret(), "8f742231b10e8888abcd99yyyzzz85a5");
        let printed = format!("{secret:?}");
        assert!(
            !printed.contains("xoxb") && !printed.contains("8f742231"),
            "{printed}"
        );

        let token_only = SlackSecret::parse(&slack_arn(), r#"{"bot_token": "xoxb-1"}"#).unwrap();
        let error = token_only.require_signing_secret(&slack_arn()).unwrap_err();
        assert_eq!(only_var(&error), SLACK_SECRET_ARN);
        assert!(error.to_string().contains("signing_secret is missing"));
    }

    #[test]
    fn a_malformed_slack_secret_is_named_without_echoing_it() {
        let cases = [
            (
                r#"{"signing_secret": "s3cr3t-value", "bot_token": "xoxb-s3cr3t-value""#,
                "not valid JSON",
            ),
            (r#"s3cr3t-value"#, "not valid JSON"),
            (r#""s3cr3t-value""#, "JSON object"),
            (
                r#"{"signing_secret": "s3cr3t-value"}"#,
                "bot_token is missing",
            ),
            (r#"{"bot_token": 987654321}"#, "bot_token is not a string"),
            (
                r#"{"bot_token": "xoxb-s3cr3t-value", "signing_secret": ["s3cr3t-value"]}"#,
                "signing_secret is not a string",
            ),
            (r#"{"bot_token": "  "}"#, "bot_token is empty"),
        ];
        for (text, expected) in cases {
            let error = SlackSecret::parse(&slack_arn(), text).unwrap_err();
            assert_eq!(only_var(&error), SLACK_SECRET_ARN);
            let shown = format!("{error} {error:?}");
            assert!(shown.contains(expected), "{shown}");
            assert!(shown.contains(SLACK_ARN), "{shown}");
            assert!(
                !shown.contains("s3cr3t") && !shown.contains("987654321"),
                "{shown}"
            );
        }
    }

    #[test]
    fn admin_secrets_take_the_rds_shapes() {
        let arn = SecretArn::parse(ADMIN_ARN).unwrap();
        let managed =
            AdminSecret::parse(&arn, r#"{"username": "admin", "password": "p@ss \"w0rd"}"#)
                .unwrap();
        assert_eq!(managed.username, "admin");
        assert_eq!(managed.password.expose_secret(), "p@ss \"w0rd");
        assert_eq!((managed.host, managed.port), (None, None));
        let rotated = AdminSecret::parse(
            &arn,
            r#"{"engine": "mysql", "username": "admin", "password": "x", "host": "orders.cluster-abc.rds.amazonaws.com", "port": 3307, "dbClusterIdentifier": "orders"}"#,
        )
        .unwrap();
        assert_eq!(
            rotated.host.as_deref(),
            Some("orders.cluster-abc.rds.amazonaws.com")
        );
        assert_eq!(rotated.port, Some(3307));
        let string_port = AdminSecret::parse(
            &arn,
            r#"{"username": "a", "password": "x", "port": "3306"}"#,
        )
        .unwrap();
        assert_eq!(string_port.port, Some(3306));

        for (text, expected) in [
            (r#"{"username": "admin"}"#, "password is missing"),
            (
                r#"{"username": "admin", "password": 87654321}"#,
                "password is not a string",
            ),
            (r#"{"password": "hunter2-s3cr3t"}"#, "username is missing"),
            (
                r#"{"username": "a", "password": "hunter2-s3cr3t", "port": "x"}"#,
                "port",
            ),
            (
                r#"{"username": "a", "password": "hunter2-s3cr3t", "port": 70000}"#,
                "port",
            ),
            (
                r#"{"username": "a", "password": "hunter2-s3cr3t", "host": "a b"}"#,
                "host",
            ),
            (
                r#"{"username": "a", "password": "hunter2-s3cr3t""#,
                "not valid JSON",
            ),
        ] {
            let error = AdminSecret::parse(&arn, text).unwrap_err();
            assert_eq!(only_var(&error), CLUSTERS);
            let shown = format!("{error} {error:?}");
            assert!(shown.contains(expected), "{shown}");
            assert!(
                !shown.contains("s3cr3t") && !shown.contains("87654321"),
                "{shown}"
            );
        }
    }
}
