//! What the `provision` and `teardown` Lambdas read ([`AccessConfig`]): everything that makes
//! and removes access — the clusters, the password secrets, the bastions' launch template, the
//! clusters' CA bundle — and the session log `teardown` reads for receipts.

use std::path::PathBuf;

use super::clusters::{ClusterConfig, clusters};
use super::env::{ConfigError, Problems, Vars, optional, required};
use super::resources::table;
use super::slack::SlackConfig;

/// The name prefix of the per-request password secrets (optional).
pub const SECRET_PREFIX: &str = "POWERPOLE_SECRET_PREFIX";
/// The KMS key the per-request password secrets are encrypted with (optional).
pub const SECRET_KMS_KEY_ID: &str = "POWERPOLE_SECRET_KMS_KEY_ID";
/// The EC2 launch template bastions start from (id `lt-…` or name).
pub const BASTION_LAUNCH_TEMPLATE: &str = "POWERPOLE_BASTION_LAUNCH_TEMPLATE";
/// The launch template version (optional: a number, `$Latest` or `$Default`).
pub const BASTION_LAUNCH_TEMPLATE_VERSION: &str = "POWERPOLE_BASTION_LAUNCH_TEMPLATE_VERSION";
/// A PEM bundle of the CAs the clusters' TLS certificates are checked against (optional).
pub const DB_CA_BUNDLE: &str = "POWERPOLE_DB_CA_BUNDLE";
/// The CloudWatch Logs group Session Manager streams session logs to (optional; the `teardown`
/// Lambda reads it for session receipts).
pub const SESSION_LOG_GROUP: &str = "POWERPOLE_SESSION_LOG_GROUP";

/// The secret name prefix used when [`SECRET_PREFIX`] is not set.
pub const DEFAULT_SECRET_PREFIX: &str = "powerpole/";

/// How per-request password secrets are named and encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretsConfig {
    /// The name prefix ([`SECRET_PREFIX`], default [`DEFAULT_SECRET_PREFIX`]).
    pub prefix: String,
    /// The KMS key ([`SECRET_KMS_KEY_ID`]); `None` for the account's `aws/secretsmanager` key.
    pub kms_key_id: Option<String>,
}

/// [`SECRET_PREFIX`] and [`SECRET_KMS_KEY_ID`].
///
/// # Errors
/// [`ConfigError::Invalid`] for a prefix with characters secret names cannot have, or a key id
/// with whitespace.
pub fn secrets(vars: &(impl Vars + ?Sized)) -> Result<SecretsConfig, ConfigError> {
    let prefix = optional(vars, SECRET_PREFIX).unwrap_or_else(|| DEFAULT_SECRET_PREFIX.to_owned());
    let valid = prefix.len() <= 256
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c));
    let mut problems = Problems::default();
    if !valid {
        problems.0.push(ConfigError::invalid(
            SECRET_PREFIX,
            "up to 256 ASCII letters, digits and /_+=.@-",
        ));
    }
    let kms_key_id = optional(vars, SECRET_KMS_KEY_ID);
    if kms_key_id
        .as_deref()
        .is_some_and(|k| k.chars().any(char::is_whitespace))
    {
        problems.0.push(ConfigError::invalid(
            SECRET_KMS_KEY_ID,
            "a key id, key ARN, alias name or alias ARN has no whitespace",
        ));
    }
    if problems.0.is_empty() {
        Ok(SecretsConfig { prefix, kms_key_id })
    } else {
        Err(problems.into_error())
    }
}

/// The launch template bastions start from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BastionTemplate {
    /// `lt-…` (an id) or a template name.
    pub template: String,
    /// A version number, `$Latest` or `$Default`; `None` for the template's default version.
    pub version: Option<String>,
}

impl BastionTemplate {
    /// Whether [`Self::template`] is an id rather than a name.
    #[must_use]
    pub fn is_id(&self) -> bool {
        self.template
            .strip_prefix("lt-")
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
    }
}

/// [`BASTION_LAUNCH_TEMPLATE`] and [`BASTION_LAUNCH_TEMPLATE_VERSION`].
///
/// # Errors
/// [`ConfigError::Missing`] or [`ConfigError::Invalid`].
pub fn bastion_template(vars: &(impl Vars + ?Sized)) -> Result<BastionTemplate, ConfigError> {
    let mut problems = Problems::default();
    let template = problems.take(required(vars, BASTION_LAUNCH_TEMPLATE).and_then(|t| {
        let name_ok = (3..=128).contains(&t.len())
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "()./_-".contains(c));
        if name_ok {
            Ok(t)
        } else {
            Err(ConfigError::invalid(
                BASTION_LAUNCH_TEMPLATE,
                "expected a launch template id (lt-…) or name (3 to 128 of A-Z a-z 0-9 ()./_-)",
            ))
        }
    }));
    let version = optional(vars, BASTION_LAUNCH_TEMPLATE_VERSION);
    if version.as_deref().is_some_and(|v| {
        !(v == "$Latest" || v == "$Default" || v.bytes().all(|b| b.is_ascii_digit()))
    }) {
        problems.0.push(ConfigError::invalid(
            BASTION_LAUNCH_TEMPLATE_VERSION,
            "expected a version number, $Latest or $Default",
        ));
    }
    match template {
        Some(template) if problems.0.is_empty() => Ok(BastionTemplate { template, version }),
        _ => Err(problems.into_error()),
    }
}

/// [`DB_CA_BUNDLE`]: the path of a PEM file (shipped with the function) whose CAs the clusters'
/// certificates must chain to; `None` to encrypt without checking the certificate.
///
/// # Errors
/// [`ConfigError::Invalid`] when the path is not absolute.
pub fn db_ca_bundle(vars: &(impl Vars + ?Sized)) -> Result<Option<PathBuf>, ConfigError> {
    match optional(vars, DB_CA_BUNDLE).map(PathBuf::from) {
        Some(path) if !path.is_absolute() => Err(ConfigError::invalid(
            DB_CA_BUNDLE,
            "expected an absolute path such as /var/task/rds-global-bundle.pem",
        )),
        path => Ok(path),
    }
}

/// [`SESSION_LOG_GROUP`]: the log group Session Manager streams to; `None` when sessions are
/// not logged to CloudWatch (receipts then say so).
///
/// # Errors
/// [`ConfigError::Invalid`] when it is not a log group name (1–512 of `A-Za-z0-9_./#-`).
pub fn session_log_group(vars: &(impl Vars + ?Sized)) -> Result<Option<String>, ConfigError> {
    match optional(vars, SESSION_LOG_GROUP) {
        Some(group)
            if group.len() > 512
                || !group
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_./#-".contains(c)) =>
        {
            Err(ConfigError::invalid(
                SESSION_LOG_GROUP,
                "expected a log group name such as /powerpole/ssm-sessions",
            ))
        }
        group => Ok(group),
    }
}

/// What the `provision` and `teardown` Lambdas read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessConfig {
    /// [`TABLE`](super::TABLE).
    pub table: String,
    /// The Slack settings.
    pub slack: SlackConfig,
    /// [`CLUSTERS`](super::CLUSTERS), whose admin secrets are read at cold start.
    pub clusters: Vec<ClusterConfig>,
    /// [`SECRET_PREFIX`], [`SECRET_KMS_KEY_ID`].
    pub secrets: SecretsConfig,
    /// [`BASTION_LAUNCH_TEMPLATE`], [`BASTION_LAUNCH_TEMPLATE_VERSION`].
    pub bastion: BastionTemplate,
    /// [`DB_CA_BUNDLE`].
    pub db_ca_bundle: Option<PathBuf>,
}

impl AccessConfig {
    /// Reads the `provision` and `teardown` Lambdas' variables.
    ///
    /// # Errors
    /// Every problem found.
    pub fn from_env(vars: &(impl Vars + ?Sized)) -> Result<Self, ConfigError> {
        let mut p = Problems::default();
        let table = p.take(table(vars));
        let slack = p.take(SlackConfig::from_env(vars));
        let clusters = p.take(clusters(vars));
        let secrets = p.take(secrets(vars));
        let bastion = p.take(bastion_template(vars));
        let db_ca_bundle = p.take(db_ca_bundle(vars));
        let (
            Some(table),
            Some(slack),
            Some(clusters),
            Some(secrets),
            Some(bastion),
            Some(db_ca_bundle),
        ) = (table, slack, clusters, secrets, bastion, db_ca_bundle)
        else {
            return Err(p.into_error());
        };
        Ok(Self {
            table,
            slack,
            clusters,
            secrets,
            bastion,
            db_ca_bundle,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::fixtures::*;
    use crate::config::*;
    use powerpole_core::{Permission, WindowPolicy};

    #[test]
    fn the_session_log_group_is_optional_and_checked() {
        assert_eq!(session_log_group(&with(&[])).unwrap(), None);
        assert_eq!(
            session_log_group(&with(&[(SESSION_LOG_GROUP, Some(" /powerpole/ssm "))])).unwrap(),
            Some("/powerpole/ssm".to_owned())
        );
        let err = session_log_group(&with(&[(SESSION_LOG_GROUP, Some("/a b"))])).unwrap_err();
        assert_eq!(err.vars(), vec![SESSION_LOG_GROUP]);
    }

    #[test]
    fn good_values_give_every_lambda_its_configuration() {
        let vars = good();
        let access = AccessConfig::from_env(&vars).unwrap();
        assert_eq!(access.table, "powerpole-requests");
        assert_eq!(access.slack.api_url, DEFAULT_SLACK_API_URL);
        assert_eq!(access.slack.secret.region(), "ap-northeast-1");
        assert_eq!(access.slack.approvers_channel, "C0APPROVE1");
        assert_eq!(access.slack.requests_channel, None);
        assert_eq!(access.clusters.len(), 2);
        let billing = &access.clusters[1].policy;
        assert_eq!(billing.cluster.as_str(), "billing");
        assert_eq!(billing.window.max_duration(), time::Duration::hours(1));
        assert_eq!(billing.levels, vec![Permission::Read, Permission::Dml]);
        assert_eq!(
            billing.endpoint,
            "billing.cluster-abc.ap-northeast-1.rds.amazonaws.com"
        );
        let orders = &access.clusters[0].policy;
        assert_eq!(orders.levels, Permission::ALL.to_vec());
        assert_eq!(orders.window.max_duration(), WindowPolicy::MAX_DURATION);
        assert_eq!(access.clusters[0].admin_secret.as_str(), ADMIN_ARN);
        assert_eq!(access.secrets.prefix, DEFAULT_SECRET_PREFIX);
        assert_eq!(access.secrets.kms_key_id, None);
        assert!(access.bastion.is_id());
        assert_eq!(access.bastion.version, None);
        assert_eq!(access.db_ca_bundle, None);

        let notify = NotifyConfig::from_env(&vars).unwrap();
        assert_eq!(notify.slack, access.slack);
        assert_eq!(notify.clusters, access.clusters);
        assert_eq!(
            state_machine_arn(&vars).unwrap(),
            "arn:aws:states:ap-northeast-1:123456789012:stateMachine:powerpole"
        );
    }

    #[test]
    fn optional_values_are_read_when_set() {
        let vars = with(&[
            (SLACK_API_URL, Some("http://127.0.0.1:9999/api/")),
            (REQUESTS_CHANNEL, Some("C0REQUESTS")),
            (SECRET_PREFIX, Some("dbre/powerpole/")),
            (SECRET_KMS_KEY_ID, Some("alias/powerpole")),
            (BASTION_LAUNCH_TEMPLATE, Some("powerpole-bastion")),
            (BASTION_LAUNCH_TEMPLATE_VERSION, Some("$Latest")),
            (DB_CA_BUNDLE, Some("/var/task/rds-global-bundle.pem")),
            (
                TABLE,
                Some("arn:aws:dynamodb:ap-northeast-1:123456789012:table/powerpole"),
            ),
        ]);
        let access = AccessConfig::from_env(&vars).unwrap();
        assert_eq!(access.slack.api_url, "http://127.0.0.1:9999/api");
        assert_eq!(access.slack.requests_channel.as_deref(), Some("C0REQUESTS"));
        assert_eq!(access.secrets.prefix, "dbre/powerpole/");
        assert_eq!(
            access.secrets.kms_key_id.as_deref(),
            Some("alias/powerpole")
        );
        assert!(!access.bastion.is_id());
        assert_eq!(access.bastion.version.as_deref(), Some("$Latest"));
        assert_eq!(
            access.db_ca_bundle,
            Some(PathBuf::from("/var/task/rds-global-bundle.pem"))
        );
    }

    #[test]
    fn each_missing_required_variable_is_named() {
        for var in [
            TABLE,
            SLACK_SECRET_ARN,
            APPROVERS_CHANNEL,
            CLUSTERS,
            BASTION_LAUNCH_TEMPLATE,
        ] {
            let error = AccessConfig::from_env(&with(&[(var, None)])).unwrap_err();
            assert!(
                matches!(error, ConfigError::Missing { var: v } if v == var),
                "{error}"
            );
            assert_eq!(error.to_string(), format!("{var} is not set"));
            let blank = AccessConfig::from_env(&with(&[(var, Some("  "))])).unwrap_err();
            assert_eq!(only_var(&blank), var);
        }
        let error = state_machine_arn(&with(&[(STATE_MACHINE_ARN, None)])).unwrap_err();
        assert_eq!(error.to_string(), format!("{STATE_MACHINE_ARN} is not set"));
        assert!(
            NotifyConfig::from_env(&with(&[
                (STATE_MACHINE_ARN, None),
                (BASTION_LAUNCH_TEMPLATE, None)
            ]))
            .is_ok()
        );
        let error = NotifyConfig::from_env(&with(&[(CLUSTERS, None)])).unwrap_err();
        assert_eq!(
            only_var(&error),
            CLUSTERS,
            "the blast radius needs the clusters"
        );
    }

    #[test]
    fn each_invalid_variable_is_named() {
        let cases: [(&str, &str); 14] = [
            (TABLE, "x"),
            (TABLE, "arn:aws:s3:::bucket"),
            (SLACK_SECRET_ARN, "powerpole/slack"),
            (
                SLACK_SECRET_ARN,
                "arn:aws:secretsmanager:tokyo:123456789012:secret:x",
            ),
            (SLACK_API_URL, "http://slack.com/api"),
            (SLACK_API_URL, "slack.com/api"),
            (APPROVERS_CHANNEL, "#dbre-approvers"),
            (REQUESTS_CHANNEL, "D0DIRECT1"),
            (CLUSTERS, "{}"),
            (SECRET_PREFIX, "power pole/"),
            (SECRET_KMS_KEY_ID, "alias/ power"),
            (BASTION_LAUNCH_TEMPLATE, "lt"),
            (BASTION_LAUNCH_TEMPLATE_VERSION, "latest"),
            (DB_CA_BUNDLE, "rds.pem"),
        ];
        for (var, value) in cases {
            let error = AccessConfig::from_env(&with(&[(var, Some(value))])).unwrap_err();
            assert_eq!(only_var(&error), var, "{var}={value}: {error}");
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("{var} is invalid: ")),
                "{error}"
            );
        }
        for value in [
            "arn:aws:states:ap-northeast-1:123456789012:activity:x",
            "arn:aws:states:ap-northeast-1:123456789012:stateMachine:a:b:c",
            "powerpole",
        ] {
            let error = state_machine_arn(&[(STATE_MACHINE_ARN, value)]).unwrap_err();
            assert_eq!(only_var(&error), STATE_MACHINE_ARN, "{value}");
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let error = AccessConfig::from_env(&with(&[
            (TABLE, None),
            (APPROVERS_CHANNEL, Some("general")),
            (BASTION_LAUNCH_TEMPLATE_VERSION, Some("newest")),
        ]))
        .unwrap_err();
        assert_eq!(
            error.vars(),
            vec![TABLE, APPROVERS_CHANNEL, BASTION_LAUNCH_TEMPLATE_VERSION]
        );
        let text = error.to_string();
        assert!(text.starts_with("3 configuration problems: "), "{text}");
    }
}
