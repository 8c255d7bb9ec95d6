//! The Lambdas' configuration: environment variables read once at cold start and checked before
//! anything is built, and the shapes of the two kinds of secret values read at cold start (the
//! Slack app's credentials, a cluster's admin credentials).
//!
//! One function per variable; `IngressConfig`, [`NotifyConfig`] and [`AccessConfig`] gather
//! what each kind of Lambda reads and report every problem at once. Every error names the
//! variable (or the secret) at fault and never contains a secret value. The variables and which
//! Lambda reads which are listed in `lambdas/README.md`.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;

use powerpole_core::usecases::SweepPolicy;
use powerpole_core::{ClusterId, ClusterPolicy, Permission, Region, WindowPolicy};
#[cfg(feature = "slack")]
use powerpole_slack::Approvers;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;

/// The DynamoDB table of requests (name or ARN).
pub const TABLE: &str = "POWERPOLE_TABLE";
/// The ARN of the state machine executions are started from.
pub const STATE_MACHINE_ARN: &str = "POWERPOLE_STATE_MACHINE_ARN";
/// The ARN of the Secrets Manager secret holding `{"signing_secret", "bot_token"}`.
pub const SLACK_SECRET_ARN: &str = "POWERPOLE_SLACK_SECRET_ARN";
/// The Slack Web API base URL (optional).
pub const SLACK_API_URL: &str = "POWERPOLE_SLACK_API_URL";
/// The approvers' channel id, where approval cards are posted.
pub const APPROVERS_CHANNEL: &str = "POWERPOLE_APPROVERS_CHANNEL";
/// The public channel requests are acknowledged in (optional).
pub const REQUESTS_CHANNEL: &str = "POWERPOLE_REQUESTS_CHANNEL";
/// Who may approve: `channel`, `users:U1,U2` or `group:S123` (optional).
pub const APPROVERS: &str = "POWERPOLE_APPROVERS";
/// The clusters served, as a JSON array.
pub const CLUSTERS: &str = "POWERPOLE_CLUSTERS";
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

/// Minutes past a deadline the sweeper leaves to the workflow (optional, 1–240, default 15).
pub const SWEEP_GRACE_MINUTES: &str = "POWERPOLE_SWEEP_GRACE_MINUTES";

/// The Slack Web API base URL used when [`SLACK_API_URL`] is not set.
pub const DEFAULT_SLACK_API_URL: &str = "https://slack.com/api";
/// The secret name prefix used when [`SECRET_PREFIX`] is not set.
pub const DEFAULT_SECRET_PREFIX: &str = "powerpole/";
/// The port used when a cluster's admin secret names none.
pub const DEFAULT_MYSQL_PORT: u16 = 3306;

/// A boxed error kept as the source of a [`ConfigError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a Lambda cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required variable is unset or blank.
    #[error("{var} is not set")]
    Missing {
        /// The variable.
        var: &'static str,
    },
    /// A variable's value is not acceptable.
    #[error("{var} is invalid: {problem}")]
    Invalid {
        /// The variable.
        var: &'static str,
        /// What is wrong, without echoing anything secret.
        problem: String,
    },
    /// A secret named by a variable could not be read.
    #[error("the secret {arn} (from {var}) could not be read: {code}")]
    SecretUnreadable {
        /// The variable naming the secret.
        var: &'static str,
        /// The secret.
        arn: String,
        /// The AWS error code, or the kind of failure.
        code: String,
        /// The SDK's error.
        #[source]
        source: BoxError,
    },
    /// A secret's value does not have the expected shape.
    #[error("the secret {arn} (from {var}) is malformed: {problem}")]
    SecretMalformed {
        /// The variable naming the secret.
        var: &'static str,
        /// The secret.
        arn: String,
        /// What is wrong with its shape; never its content.
        problem: String,
    },
    /// A client could not be built from valid settings.
    #[error("{what} could not be set up: {source}")]
    Setup {
        /// Which client.
        what: &'static str,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// More than one of the above.
    #[error("{} configuration problems: {}", .0.len(), Joined(.0))]
    Several(Vec<ConfigError>),
}

impl ConfigError {
    /// An invalid-value error.
    pub fn invalid(var: &'static str, problem: impl Into<String>) -> Self {
        Self::Invalid {
            var,
            problem: problem.into(),
        }
    }

    /// The variables at fault, in the order found.
    #[must_use]
    pub fn vars(&self) -> Vec<&'static str> {
        match self {
            Self::Missing { var }
            | Self::Invalid { var, .. }
            | Self::SecretUnreadable { var, .. }
            | Self::SecretMalformed { var, .. } => vec![var],
            Self::Setup { .. } => Vec::new(),
            Self::Several(all) => all.iter().flat_map(Self::vars).collect(),
        }
    }
}

struct Joined<'a>(&'a [ConfigError]);

impl fmt::Display for Joined<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

/// Collects the problems of several pieces so that one start-up reports them all.
#[derive(Default)]
struct Problems(Vec<ConfigError>);

impl Problems {
    fn take<T>(&mut self, result: Result<T, ConfigError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(ConfigError::Several(all)) => {
                self.0.extend(all);
                None
            }
            Err(error) => {
                self.0.push(error);
                None
            }
        }
    }

    fn into_error(mut self) -> ConfigError {
        match self.0.len() {
            1 => self.0.remove(0),
            _ => ConfigError::Several(self.0),
        }
    }
}

/// Where variables are read from: the process environment in a Lambda, a list in tests.
pub trait Vars {
    /// The value of `name`, or `None` when it is unset.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Vars for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Vars for [(K, V)] {
    fn var(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| k.as_ref() == name)
            .map(|(_, v)| v.as_ref().to_owned())
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> Vars for [(K, V); N] {
    fn var(&self, name: &str) -> Option<String> {
        self.as_slice().var(name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Vars for Vec<(K, V)> {
    fn var(&self, name: &str) -> Option<String> {
        self.as_slice().var(name)
    }
}

/// The trimmed value of `var`; blank counts as unset.
fn optional(vars: &(impl Vars + ?Sized), var: &str) -> Option<String> {
    vars.var(var)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn required(vars: &(impl Vars + ?Sized), var: &'static str) -> Result<String, ConfigError> {
    optional(vars, var).ok_or(ConfigError::Missing { var })
}

/// The ARN of a Secrets Manager secret, and the region it lives in (where it must be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretArn {
    arn: String,
    region: String,
}

impl SecretArn {
    /// Checks the shape `arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME`.
    ///
    /// # Errors
    /// The problem, phrased for the person who set it.
    pub fn parse(arn: &str) -> Result<Self, String> {
        let parts: Vec<&str> = arn.splitn(7, ':').collect();
        match parts.as_slice() {
            [
                "arn",
                partition,
                "secretsmanager",
                region,
                account,
                "secret",
                name,
            ] if !partition.is_empty()
                && Region::parse(region).is_ok()
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && !name.is_empty()
                && !arn.chars().any(char::is_whitespace) =>
            {
                Ok(Self {
                    arn: arn.to_owned(),
                    region: (*region).to_owned(),
                })
            }
            _ => Err(
                "expected a secret ARN, arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME"
                    .to_owned(),
            ),
        }
    }

    /// The ARN.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.arn
    }

    /// The region the secret is in.
    #[must_use]
    pub fn region(&self) -> &str {
        &self.region
    }
}

impl fmt::Display for SecretArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn)
    }
}

/// [`TABLE`]: a DynamoDB table name (3–255 of `A-Z a-z 0-9 _ . -`) or table ARN.
///
/// # Errors
/// [`ConfigError::Missing`] or [`ConfigError::Invalid`].
pub fn table(vars: &(impl Vars + ?Sized)) -> Result<String, ConfigError> {
    let value = required(vars, TABLE)?;
    let name = if value.starts_with("arn:") {
        let parts: Vec<&str> = value.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", _, "dynamodb", _, _, resource] => resource.strip_prefix("table/"),
            _ => None,
        }
        .ok_or_else(|| {
            ConfigError::invalid(
                TABLE,
                "expected a table name or arn:…:dynamodb:…:table/NAME",
            )
        })?
    } else {
        value.as_str()
    };
    let valid = (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if !valid {
        return Err(ConfigError::invalid(
            TABLE,
            "a table name has 3 to 255 ASCII letters, digits and _.-",
        ));
    }
    Ok(value)
}

/// [`STATE_MACHINE_ARN`]: `arn:PARTITION:states:REGION:ACCOUNT:stateMachine:NAME[:VERSION]`.
///
/// # Errors
/// [`ConfigError::Missing`] or [`ConfigError::Invalid`].
pub fn state_machine_arn(vars: &(impl Vars + ?Sized)) -> Result<String, ConfigError> {
    let value = required(vars, STATE_MACHINE_ARN)?;
    let parts: Vec<&str> = value.split(':').collect();
    let valid = match parts.as_slice() {
        [
            "arn",
            partition,
            "states",
            region,
            account,
            "stateMachine",
            name,
            ..,
        ] => {
            [partition, region, account, name]
                .iter()
                .all(|p| !p.is_empty())
                && parts.len() <= 8
                && !value.chars().any(char::is_whitespace)
        }
        _ => false,
    };
    if !valid {
        return Err(ConfigError::invalid(
            STATE_MACHINE_ARN,
            "expected arn:aws:states:REGION:ACCOUNT:stateMachine:NAME",
        ));
    }
    Ok(value)
}

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

/// [`APPROVERS`]: `channel` (the default: any member of the approvers' channel), `users:U1,U2`
/// or `group:S123`, read by the Slack adapter's own parser.
///
/// # Errors
/// [`ConfigError::Invalid`].
#[cfg(feature = "slack")]
pub fn approvers(vars: &(impl Vars + ?Sized)) -> Result<Approvers, ConfigError> {
    optional(vars, APPROVERS).map_or(Ok(Approvers::AnyChannelMember), |value| {
        value.parse::<Approvers>().map_err(|e| match e {
            powerpole_slack::Error::InvalidApprovers(problem) => {
                ConfigError::invalid(APPROVERS, problem)
            }
            other => ConfigError::invalid(APPROVERS, other.to_string()),
        })
    })
}

/// One cluster the broker serves, and where its admin credentials are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The cluster and its limits.
    pub policy: ClusterPolicy,
    /// The secret with the admin (master) user's `username` and `password`.
    pub admin_secret: SecretArn,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterEntry {
    id: String,
    region: String,
    endpoint: String,
    #[serde(default)]
    max_duration_minutes: Option<i64>,
    #[serde(default)]
    levels: Option<Vec<String>>,
    admin_secret_arn: String,
}

fn is_host_name(host: &str) -> bool {
    (1..=253).contains(&host.len())
        && host.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn cluster(entry: ClusterEntry) -> Result<ClusterConfig, String> {
    let id = ClusterId::parse(&entry.id).map_err(|e| e.to_string())?;
    let region = Region::parse(&entry.region).map_err(|e| e.to_string())?;
    let endpoint = entry.endpoint.trim();
    if !is_host_name(endpoint) {
        return Err(
            "endpoint must be a host name such as db.cluster-abc.region.rds.amazonaws.com".into(),
        );
    }
    let mut policy = ClusterPolicy::new(id, region).with_endpoint(endpoint);
    if let Some(minutes) = entry.max_duration_minutes {
        policy.window = WindowPolicy::new(time::Duration::minutes(minutes))
            .map_err(|_| format!("max_duration_minutes must be 15 to 480, not {minutes}"))?;
    }
    if let Some(levels) = entry.levels {
        let mut allowed = BTreeSet::new();
        for level in &levels {
            allowed.insert(
                level
                    .parse::<Permission>()
                    .map_err(|_| format!("levels: {level:?} is not READ, DML or DDL"))?,
            );
        }
        if allowed.is_empty() {
            return Err("levels must name at least one of READ, DML, DDL".into());
        }
        policy.levels = allowed.into_iter().collect();
    }
    let admin_secret = SecretArn::parse(entry.admin_secret_arn.trim())
        .map_err(|p| format!("admin_secret_arn: {p}"))?;
    Ok(ClusterConfig {
        policy,
        admin_secret,
    })
}

/// [`CLUSTERS`]: a JSON array of
/// `{"id", "region", "endpoint", "max_duration_minutes"?, "levels"?, "admin_secret_arn"}`, at
/// least one, ids unique. `max_duration_minutes` defaults to 480 (8 h, the most allowed),
/// `levels` to all three.
///
/// # Errors
/// [`ConfigError::Missing`] or [`ConfigError::Invalid`] naming the entry at fault.
pub fn clusters(vars: &(impl Vars + ?Sized)) -> Result<Vec<ClusterConfig>, ConfigError> {
    let value = required(vars, CLUSTERS)?;
    let bad = |problem: String| ConfigError::invalid(CLUSTERS, problem);
    let entries: Vec<Value> = serde_json::from_str(&value)
        .map_err(|e| bad(format!("expected a JSON array of clusters: {e}")))?;
    if entries.is_empty() {
        return Err(bad("no cluster is configured".into()));
    }
    let mut clusters: Vec<ClusterConfig> = Vec::with_capacity(entries.len());
    for (index, entry) in entries.into_iter().enumerate() {
        let name = entry.get("id").and_then(Value::as_str).map_or_else(
            || format!("cluster #{}", index + 1),
            |id| format!("cluster {id:?}"),
        );
        let parsed = serde_json::from_value::<ClusterEntry>(entry)
            .map_err(|e| e.to_string())
            .and_then(cluster)
            .map_err(|problem| bad(format!("{name}: {problem}")))?;
        if clusters
            .iter()
            .any(|c| c.policy.cluster == parsed.policy.cluster)
        {
            return Err(bad(format!("{name} is listed twice")));
        }
        clusters.push(parsed);
    }
    Ok(clusters)
}

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

/// What the `request` and `approve` Lambdas read (the Slack endpoints).
#[cfg(feature = "slack")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngressConfig {
    /// [`TABLE`].
    pub table: String,
    /// [`STATE_MACHINE_ARN`].
    pub state_machine_arn: String,
    /// The Slack settings.
    pub slack: SlackConfig,
    /// [`APPROVERS`].
    pub approvers: Approvers,
    /// [`CLUSTERS`] (the admin secrets are not read).
    pub clusters: Vec<ClusterConfig>,
}

#[cfg(feature = "slack")]
impl IngressConfig {
    /// Reads the variables of the Slack endpoints.
    ///
    /// # Errors
    /// Every problem found.
    pub fn from_env(vars: &(impl Vars + ?Sized)) -> Result<Self, ConfigError> {
        let mut p = Problems::default();
        let table = p.take(table(vars));
        let state_machine_arn = p.take(state_machine_arn(vars));
        let slack = p.take(SlackConfig::from_env(vars));
        let approvers = p.take(approvers(vars));
        let clusters = p.take(clusters(vars));
        let (Some(table), Some(state_machine_arn), Some(slack), Some(approvers), Some(clusters)) =
            (table, state_machine_arn, slack, approvers, clusters)
        else {
            return Err(p.into_error());
        };
        Ok(Self {
            table,
            state_machine_arn,
            slack,
            approvers,
            clusters,
        })
    }
}

/// What the `notify` Lambda reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    /// [`TABLE`].
    pub table: String,
    /// The Slack settings.
    pub slack: SlackConfig,
}

impl NotifyConfig {
    /// Reads the `notify` Lambda's variables.
    ///
    /// # Errors
    /// Every problem found.
    pub fn from_env(vars: &(impl Vars + ?Sized)) -> Result<Self, ConfigError> {
        let mut p = Problems::default();
        let table = p.take(table(vars));
        let slack = p.take(SlackConfig::from_env(vars));
        let (Some(table), Some(slack)) = (table, slack) else {
            return Err(p.into_error());
        };
        Ok(Self { table, slack })
    }
}

/// What the `provision` and `teardown` Lambdas read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessConfig {
    /// [`TABLE`].
    pub table: String,
    /// The Slack settings.
    pub slack: SlackConfig,
    /// [`CLUSTERS`], whose admin secrets are read at cold start.
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

/// [`SWEEP_GRACE_MINUTES`]: the sweeper's grace period, [`SweepPolicy::DEFAULT_GRACE`] when
/// unset.
///
/// # Errors
/// [`ConfigError::Invalid`] when it is not a whole number of minutes from 1 to 240.
pub fn sweep_grace(vars: &(impl Vars + ?Sized)) -> Result<time::Duration, ConfigError> {
    let Some(text) = optional(vars, SWEEP_GRACE_MINUTES) else {
        return Ok(SweepPolicy::DEFAULT_GRACE);
    };
    match text.parse::<i64>() {
        Ok(minutes @ 1..=240) => Ok(time::Duration::minutes(minutes)),
        _ => Err(ConfigError::invalid(
            SWEEP_GRACE_MINUTES,
            "expected a whole number of minutes from 1 to 240",
        )),
    }
}

/// What the `sweep` Lambda reads: everything `teardown` reads, and its grace period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepConfig {
    /// The ports' settings, as for `teardown`.
    pub access: AccessConfig,
    /// [`SWEEP_GRACE_MINUTES`].
    pub grace: time::Duration,
}

impl SweepConfig {
    /// Reads the `sweep` Lambda's variables.
    ///
    /// # Errors
    /// Every problem found.
    pub fn from_env(vars: &(impl Vars + ?Sized)) -> Result<Self, ConfigError> {
        let mut p = Problems::default();
        let access = p.take(AccessConfig::from_env(vars));
        let grace = p.take(sweep_grace(vars));
        let (Some(access), Some(grace)) = (access, grace) else {
            return Err(p.into_error());
        };
        Ok(Self { access, grace })
    }

    /// The sweeper's policy: the default limits with this grace period.
    #[must_use]
    pub fn policy(&self) -> SweepPolicy {
        SweepPolicy {
            grace: self.grace,
            ..SweepPolicy::default()
        }
    }
}

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
    /// The port ([`DEFAULT_MYSQL_PORT`] when absent).
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
    use secrecy::ExposeSecret;

    const SLACK_ARN: &str =
        "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:powerpole/slack-AbCdEf";
    const ADMIN_ARN: &str =
        "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:rds!cluster-1234-AbCdEf";

    fn clusters_json() -> String {
        serde_json::json!([
            {
                "id": "orders",
                "region": "ap-northeast-1",
                "endpoint": "orders.cluster-abc.ap-northeast-1.rds.amazonaws.com",
                "admin_secret_arn": ADMIN_ARN,
            },
            {
                "id": "billing",
                "region": "ap-northeast-1",
                "endpoint": "billing.cluster-abc.ap-northeast-1.rds.amazonaws.com",
                "max_duration_minutes": 60,
                "levels": ["read", "DML"],
                "admin_secret_arn": ADMIN_ARN,
            }
        ])
        .to_string()
    }

    fn good() -> Vec<(&'static str, String)> {
        vec![
            (TABLE, "powerpole-requests".into()),
            (
                STATE_MACHINE_ARN,
                "arn:aws:states:ap-northeast-1:123456789012:stateMachine:powerpole".into(),
            ),
            (SLACK_SECRET_ARN, SLACK_ARN.into()),
            (APPROVERS_CHANNEL, "C0APPROVE1".into()),
            (CLUSTERS, clusters_json()),
            (BASTION_LAUNCH_TEMPLATE, "lt-0123456789abcdef0".into()),
        ]
    }

    fn with(changes: &[(&'static str, Option<&str>)]) -> Vec<(&'static str, String)> {
        let mut vars = good();
        for (name, value) in changes {
            vars.retain(|(k, _)| k != name);
            if let Some(value) = value {
                vars.push((name, (*value).to_owned()));
            }
        }
        vars
    }

    fn only_var(error: &ConfigError) -> &'static str {
        let vars = error.vars();
        assert_eq!(vars.len(), 1, "{error}");
        vars[0]
    }

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
        assert_eq!(
            state_machine_arn(&vars).unwrap(),
            "arn:aws:states:ap-northeast-1:123456789012:stateMachine:powerpole"
        );
    }

    #[test]
    fn the_sweeper_reads_the_teardown_variables_and_its_grace_period() {
        let default = SweepConfig::from_env(&good()).unwrap();
        assert_eq!(default.grace, SweepPolicy::DEFAULT_GRACE);
        assert_eq!(default.access, AccessConfig::from_env(&good()).unwrap());

        let set = SweepConfig::from_env(&with(&[(SWEEP_GRACE_MINUTES, Some(" 30 "))])).unwrap();
        assert_eq!(set.policy().grace, time::Duration::minutes(30));
        assert_eq!(set.policy().max_age, SweepPolicy::MAX_AGE);

        for bad in ["0", "241", "15m", "-5"] {
            let error =
                SweepConfig::from_env(&with(&[(SWEEP_GRACE_MINUTES, Some(bad))])).unwrap_err();
            assert_eq!(error.vars(), vec![SWEEP_GRACE_MINUTES], "{bad}");
        }
        let both = SweepConfig::from_env(&with(&[(SWEEP_GRACE_MINUTES, Some("0")), (TABLE, None)]))
            .unwrap_err();
        assert_eq!(both.vars(), vec![TABLE, SWEEP_GRACE_MINUTES]);
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
                (CLUSTERS, None),
                (BASTION_LAUNCH_TEMPLATE, None)
            ]))
            .is_ok()
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

    #[cfg(feature = "slack")]
    #[test]
    fn the_endpoints_read_the_state_machine_and_the_approvers_too() {
        use powerpole_core::SlackUserId;

        let ingress = IngressConfig::from_env(&good()).unwrap();
        assert_eq!(ingress.approvers, Approvers::AnyChannelMember);
        assert_eq!(
            ingress.slack,
            NotifyConfig::from_env(&good()).unwrap().slack
        );
        assert_eq!(ingress.clusters.len(), 2);
        assert!(
            ingress
                .state_machine_arn
                .ends_with(":stateMachine:powerpole")
        );

        let vars = with(&[(APPROVERS, Some("users:U0AAA1, U0BBB2,U0AAA1"))]);
        assert_eq!(
            IngressConfig::from_env(&vars).unwrap().approvers,
            Approvers::Users(vec![
                SlackUserId::parse("U0AAA1").unwrap(),
                SlackUserId::parse("U0BBB2").unwrap()
            ])
        );
        assert_eq!(
            approvers(&[(APPROVERS, "group:S0DBRE1")]).unwrap(),
            Approvers::UserGroup("S0DBRE1".into())
        );
        assert_eq!(
            approvers(&[(APPROVERS, " channel ")]).unwrap(),
            Approvers::AnyChannelMember
        );

        for var in [STATE_MACHINE_ARN, TABLE, CLUSTERS] {
            let error = IngressConfig::from_env(&with(&[(var, None)])).unwrap_err();
            assert_eq!(only_var(&error), var);
        }
        for value in [
            "everyone",
            "users:",
            "users:C0CHANNEL",
            "group:",
            "group:U0USER1",
        ] {
            let error = IngressConfig::from_env(&with(&[(APPROVERS, Some(value))])).unwrap_err();
            assert_eq!(only_var(&error), APPROVERS, "{value}");
            assert!(
                error
                    .to_string()
                    .starts_with("POWERPOLE_APPROVERS is invalid: ")
            );
        }
        assert!(
            IngressConfig::from_env(&with(&[(BASTION_LAUNCH_TEMPLATE, None)])).is_ok(),
            "the endpoints do not launch bastions"
        );
    }

    #[test]
    fn bad_cluster_entries_are_named_with_the_problem() {
        let entry = |changes: serde_json::Value| {
            let mut base = serde_json::json!({
                "id": "orders",
                "region": "ap-northeast-1",
                "endpoint": "orders.example.internal",
                "admin_secret_arn": ADMIN_ARN,
            });
            for (k, v) in changes.as_object().unwrap() {
                if v.is_null() {
                    base.as_object_mut().unwrap().remove(k);
                } else {
                    base[k] = v.clone();
                }
            }
            base
        };
        let cases = [
            (serde_json::json!([]), "no cluster"),
            (
                serde_json::json!([entry(serde_json::json!({"id": "Bad_Id"}))]),
                "cluster \"Bad_Id\"",
            ),
            (
                serde_json::json!([entry(serde_json::json!({"region": "tokyo"}))]),
                "region",
            ),
            (
                serde_json::json!([entry(serde_json::json!({"endpoint": "http://x"}))]),
                "endpoint",
            ),
            (
                serde_json::json!([entry(serde_json::json!({"max_duration_minutes": 600}))]),
                "max_duration_minutes",
            ),
            (
                serde_json::json!([entry(serde_json::json!({"levels": ["ADMIN"]}))]),
                "ADMIN",
            ),
            (
                serde_json::json!([entry(serde_json::json!({"levels": []}))]),
                "levels",
            ),
            (
                serde_json::json!([entry(serde_json::json!({"admin_secret_arn": null}))]),
                "admin_secret_arn",
            ),
            (
                serde_json::json!([entry(serde_json::json!({"admin_secret_arn": "x"}))]),
                "admin_secret_arn",
            ),
            (
                serde_json::json!([entry(serde_json::json!({"max_duration": 60}))]),
                "max_duration",
            ),
            (
                serde_json::json!([entry(serde_json::json!({})), entry(serde_json::json!({}))]),
                "twice",
            ),
            (
                serde_json::json!([entry(serde_json::json!({})), {"region": "x"}]),
                "cluster #2",
            ),
        ];
        for (value, expected) in cases {
            let error = clusters(&[(CLUSTERS, value.to_string())]).unwrap_err();
            assert_eq!(only_var(&error), CLUSTERS);
            let text = error.to_string();
            assert!(text.contains(expected), "{value}: {text}");
        }
        let error = clusters(&[(CLUSTERS, "[{")]).unwrap_err();
        assert!(error.to_string().contains("JSON array"), "{error}");
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

    #[test]
    fn secret_arns_give_their_region() {
        let arn = SecretArn::parse("arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:a:b")
            .unwrap();
        assert_eq!(arn.region(), "cn-north-1");
        assert_eq!(
            arn.as_str(),
            "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:a:b"
        );
        assert!(SecretArn::parse("arn:aws:secretsmanager:us-east-1:1234:secret:x").is_err());
    }
}
