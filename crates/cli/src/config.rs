//! The broker's configuration: one TOML file (see `powerpole.example.toml`), every value
//! overridable by an environment variable, validated once at start-up with errors that name the
//! key.
//!
//! An environment variable `POWERPOLE__<SECTION>__<KEY>` overrides `<section>.<key>`;
//! `POWERPOLE__CLUSTERS__<N>__<KEY>` overrides `clusters[N].<key>`. Values are read as TOML when
//! they parse as a number or a boolean, as text otherwise. Secrets (the Slack signing secret and
//! bot token, the clusters' admin URLs) are best given this way rather than in the file.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use powerpole_core::tripwire::TripwireRules;
use powerpole_core::{
    ApprovalPolicy, ApprovalRules, ClusterId, ClusterPolicy, DbUsername, IdentityRules, Permission,
    Region, SensitiveTables, SlackUserId, WindowPolicy,
};
use powerpole_mysql::AccountSettings;
use serde::Deserialize;
use sqlx::mysql::MySqlConnectOptions;
use toml::Value;

/// The prefix of the overriding environment variables.
pub const ENV_PREFIX: &str = "POWERPOLE__";

/// A configuration problem, naming the key (`slack.signing_secret`, `clusters[0].admin_url`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The key, or the file for a problem with the file itself.
    pub key: String,
    /// What is wrong, never quoting a secret.
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration error: {}: {}", self.key, self.problem)
    }
}

impl std::error::Error for ConfigError {}

/// The adapter's reason for refusing a setting, without its "invalid setting" prefix.
fn setting_problem(error: &powerpole_mysql::Error) -> String {
    match error {
        powerpole_mysql::Error::Config(problem) => problem.clone(),
        other => other.to_string(),
    }
}

fn problem(key: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.into(),
        problem: problem.into(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    server: RawServer,
    state: RawState,
    #[serde(default)]
    clock: RawClock,
    slack: RawSlack,
    #[serde(default)]
    identity: RawIdentity,
    #[serde(default)]
    clusters: Vec<RawCluster>,
}

/// `[identity]`: how requesters are named on the databases.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentity {
    #[serde(default)]
    primary_domains: Vec<String>,
    #[serde(default)]
    db_users: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawState {
    dir: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClock {
    speed: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlack {
    signing_secret: String,
    bot_token: String,
    api_url: Option<String>,
    approvers_channel: String,
    requests_channel: Option<String>,
    approvers: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    id: String,
    region: String,
    admin_url: String,
    endpoint: Option<String>,
    port: Option<u16>,
    max_duration_minutes: Option<i64>,
    levels: Option<Vec<String>>,
    audit_log: Option<String>,
    require_tls: Option<bool>,
    max_user_connections: Option<u32>,
    read_statement_seconds: Option<u64>,
    #[serde(default)]
    sensitive_tables: Vec<String>,
    tripwires: Option<Vec<String>>,
    #[serde(default)]
    approval: BTreeMap<String, RawApproval>,
    auto_approve_read: Option<bool>,
}

/// One level's approval policy: `DDL = { approvers = "users:U1,U2 group:S123", required = 2 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApproval {
    approvers: String,
    required: Option<i64>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the Slack endpoints listen.
    pub listen: SocketAddr,
    /// The state directory: the SQLite file and the secret files (0700).
    pub state_dir: PathBuf,
    /// How much faster than real time the broker's clock runs (1 in production).
    pub clock_speed: f64,
    /// Slack.
    pub slack: SlackConfig,
    /// How requesters' DB users are named (`[identity]`).
    pub identity: IdentityRules,
    /// The clusters served, with how to reach each as an administrator.
    pub clusters: Vec<ClusterConfig>,
}

/// The Slack part of the configuration.
#[derive(Clone)]
pub struct SlackConfig {
    /// Checks the requests Slack sends.
    pub signing_secret: String,
    /// The bot token for the Web API.
    pub bot_token: String,
    /// The Web API's base URL.
    pub api_url: String,
    /// Where approval cards go.
    pub approvers_channel: String,
    /// Where requests are acknowledged publicly, if anywhere.
    pub requests_channel: Option<String>,
    /// Who may approve.
    pub approvers: powerpole_slack::Approvers,
}

impl fmt::Debug for SlackConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackConfig")
            .field("signing_secret", &"[REDACTED]")
            .field("bot_token", &"[REDACTED]")
            .field("api_url", &self.api_url)
            .field("approvers_channel", &self.approvers_channel)
            .field("requests_channel", &self.requests_channel)
            .field("approvers", &self.approvers)
            .finish()
    }
}

/// One cluster and its administrator connection.
#[derive(Clone)]
pub struct ClusterConfig {
    /// What the broker allows on it.
    pub policy: ClusterPolicy,
    /// How the broker connects as its administrator.
    pub admin: MySqlConnectOptions,
    /// The server's `server_audit` log file, read for session receipts (optional).
    pub audit_log: Option<PathBuf>,
    /// How the one-time users are made: TLS only unless `require_tls = false`, session and
    /// statement limits.
    pub accounts: AccountSettings,
}

impl fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("policy", &self.policy)
            .field("admin", &"[REDACTED]")
            .field("audit_log", &self.audit_log)
            .field("accounts", &self.accounts)
            .finish()
    }
}

impl Config {
    /// Reads `path`, applies the environment's overrides and validates everything.
    ///
    /// # Errors
    /// The first [`ConfigError`] found.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| problem(path.display().to_string(), format!("cannot read: {e}")))?;
        Self::from_toml(&text, std::env::vars())
    }

    /// Validates `text` with the overrides among `env`.
    ///
    /// # Errors
    /// The first [`ConfigError`] found.
    pub fn from_toml(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut doc: Value = toml::from_str(text).map_err(|e| {
            problem(
                "file",
                format!("not valid TOML: {}", e.message().trim_end()),
            )
        })?;
        let overrides: BTreeMap<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        for (name, value) in &overrides {
            apply_override(&mut doc, name, value)?;
        }
        let text = toml::to_string(&doc)
            .map_err(|e| problem("file", format!("cannot be re-read: {e}")))?;
        let raw: Raw = toml::from_str(&text).map_err(|e| {
            let key = e
                .span()
                .map_or_else(|| "file".to_owned(), |span| key_at(&text, span.start));
            let message = e.message().trim_end().to_owned();
            match message.split('`').nth(1) {
                Some(field) if message.contains(" field ") => problem(
                    if key == "file" || key.is_empty() {
                        field.to_owned()
                    } else {
                        format!("{key}.{field}")
                    },
                    message.clone(),
                ),
                _ => problem(key, message),
            }
        })?;
        raw.validate()
    }
}

/// The dotted key at byte `at` of `text` (`slack.bot_token`, `clusters[1].region`), or the
/// table (`slack`) when `at` is on a table header or inside a table's body.
fn key_at(text: &str, at: usize) -> String {
    let before = &text[..at.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or_default().trim();
    let mut section = String::new();
    let mut clusters = 0usize;
    for header in before[..line_start].lines().map(str::trim) {
        if header == "[[clusters]]" {
            section = format!("clusters[{clusters}]");
            clusters += 1;
        } else if let Some(name) = header.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            section = name.trim().to_owned();
        }
    }
    match line.split_once('=') {
        Some((key, _)) if !line.starts_with('[') => {
            let key = key.trim().trim_matches('"');
            if section.is_empty() {
                key.to_owned()
            } else {
                format!("{section}.{key}")
            }
        }
        _ if line == "[[clusters]]" => format!("clusters[{clusters}]"),
        _ => line
            .trim_matches(|c| c == '[' || c == ']')
            .trim()
            .to_owned(),
    }
}

fn apply_override(doc: &mut Value, name: &str, value: &str) -> Result<(), ConfigError> {
    let path: Vec<String> = name[ENV_PREFIX.len()..]
        .split("__")
        .map(str::to_ascii_lowercase)
        .collect();
    if path.iter().any(String::is_empty) {
        return Err(problem(name, "expected POWERPOLE__<SECTION>__<KEY>"));
    }
    let parsed = value
        .parse::<i64>()
        .map(Value::Integer)
        .or_else(|_| value.parse::<f64>().map(Value::Float))
        .or_else(|_| value.parse::<bool>().map(Value::Boolean))
        .unwrap_or_else(|_| Value::String(value.to_owned()));
    let mut node = doc;
    for (i, part) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        node = match node {
            Value::Table(table) => {
                if last {
                    table.insert(part.clone(), parsed);
                    return Ok(());
                }
                let next_is_index = path[i + 1].parse::<usize>().is_ok();
                table.entry(part.clone()).or_insert_with(|| {
                    if next_is_index {
                        Value::Array(Vec::new())
                    } else {
                        Value::Table(toml::Table::new())
                    }
                })
            }
            Value::Array(items) => {
                let index: usize = part
                    .parse()
                    .map_err(|_| problem(name, format!("{part:?} is not an index")))?;
                if index >= items.len() {
                    return Err(problem(
                        name,
                        format!("there is no clusters[{index}] in the file to override"),
                    ));
                }
                if last {
                    items[index] = parsed;
                    return Ok(());
                }
                &mut items[index]
            }
            _ => return Err(problem(name, "overrides a value that is not a section")),
        };
    }
    Ok(())
}

impl Raw {
    fn validate(self) -> Result<Config, ConfigError> {
        let listen = self
            .server
            .listen
            .as_deref()
            .unwrap_or("127.0.0.1:3000")
            .parse::<SocketAddr>()
            .map_err(|_| {
                problem(
                    "server.listen",
                    "expected an address such as 127.0.0.1:3000",
                )
            })?;
        let clock_speed = self.clock.speed.unwrap_or(1.0);
        if !(clock_speed.is_finite() && (1.0..=10_000.0).contains(&clock_speed)) {
            return Err(problem("clock.speed", "expected a number from 1 to 10000"));
        }
        let state_dir = expand_home(&self.state.dir);
        if self.state.dir.trim().is_empty() {
            return Err(problem("state.dir", "must not be empty"));
        }
        let slack = self.slack.validate()?;
        let identity = self.identity.validate()?;
        if self.clusters.is_empty() {
            return Err(problem("clusters", "configure at least one [[clusters]]"));
        }
        let clusters = self
            .clusters
            .into_iter()
            .enumerate()
            .map(|(i, c)| c.validate(i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Config {
            listen,
            state_dir,
            clock_speed,
            slack,
            identity,
            clusters,
        })
    }
}

fn expand_home(dir: &str) -> PathBuf {
    match (dir.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(dir),
    }
}

impl RawIdentity {
    fn validate(self) -> Result<IdentityRules, ConfigError> {
        let mut mapping = Vec::new();
        for (user, name) in &self.db_users {
            let key = format!("identity.db_users.{user}");
            let user = SlackUserId::parse(user)
                .map_err(|_| problem(key.clone(), "expected a Slack user id such as U0123ABCD"))?;
            let name = DbUsername::parse(name).map_err(|e| problem(key, e.problem()))?;
            mapping.push((user, name));
        }
        IdentityRules::new(self.primary_domains.iter().map(String::as_str), mapping).map_err(|e| {
            let key = match e.field() {
                Some(powerpole_core::Field::Email) => "identity.primary_domains",
                _ => "identity.db_users",
            };
            problem(key, e.problem())
        })
    }
}

impl RawSlack {
    fn validate(self) -> Result<SlackConfig, ConfigError> {
        if self.signing_secret.trim().is_empty() {
            return Err(problem("slack.signing_secret", "must not be empty"));
        }
        if self.bot_token.trim().is_empty() {
            return Err(problem("slack.bot_token", "must not be empty"));
        }
        let api_url = self
            .api_url
            .unwrap_or_else(|| powerpole_slack::SLACK_API_URL.to_owned());
        if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
            return Err(problem("slack.api_url", "expected an http(s) URL"));
        }
        let channel_id = |key: &str, id: &str| {
            if id.len() >= 9
                && id
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            {
                Ok(id.to_owned())
            } else {
                Err(problem(
                    key,
                    "expected a Slack channel id such as C0123ABCDE",
                ))
            }
        };
        let approvers_channel = channel_id("slack.approvers_channel", &self.approvers_channel)?;
        let requests_channel = self
            .requests_channel
            .map(|c| channel_id("slack.requests_channel", &c))
            .transpose()?;
        let approvers = self
            .approvers
            .as_deref()
            .unwrap_or("channel")
            .parse()
            .map_err(|e: powerpole_core::Error| problem("slack.approvers", e.problem()))?;
        Ok(SlackConfig {
            signing_secret: self.signing_secret,
            bot_token: self.bot_token,
            api_url,
            approvers_channel,
            requests_channel,
            approvers,
        })
    }
}

impl RawCluster {
    fn validate(self, i: usize) -> Result<ClusterConfig, ConfigError> {
        let key = |field: &str| format!("clusters[{i}].{field}");
        let id = ClusterId::parse(&self.id).map_err(|e| problem(key("id"), e.to_string()))?;
        let region =
            Region::parse(&self.region).map_err(|e| problem(key("region"), e.to_string()))?;
        let mut policy = ClusterPolicy::new(id, region);
        if let Some(minutes) = self.max_duration_minutes {
            policy.window = WindowPolicy::new(time::Duration::minutes(minutes))
                .map_err(|e| problem(key("max_duration_minutes"), e.to_string()))?;
        }
        if let Some(levels) = self.levels {
            policy.levels = levels
                .iter()
                .map(|l| l.parse::<Permission>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| problem(key("levels"), e.to_string()))?;
            if policy.levels.is_empty() {
                return Err(problem(key("levels"), "allow at least one level"));
            }
        }
        let scheme_ok =
            self.admin_url.starts_with("mysql://") || self.admin_url.starts_with("mariadb://");
        let parsed = if scheme_ok {
            self.admin_url.parse::<MySqlConnectOptions>().ok()
        } else {
            None
        };
        let admin: MySqlConnectOptions = parsed.ok_or_else(|| {
            problem(
                key("admin_url"),
                "expected mysql://USER:PASSWORD@HOST:PORT (the URL is not shown)",
            )
        })?;
        let endpoint = self.endpoint.unwrap_or_else(|| admin.get_host().to_owned());
        if endpoint.trim().is_empty() {
            return Err(problem(key("endpoint"), "must not be empty"));
        }
        let port = match self.port {
            Some(0) => return Err(problem(key("port"), "expected a port from 1 to 65535")),
            Some(port) => port,
            None => admin.get_port(),
        };
        let audit_log = match self.audit_log {
            Some(path) if path.trim().is_empty() => {
                return Err(problem(
                    key("audit_log"),
                    "expected the path of the server's server_audit log file",
                ));
            }
            path => path.map(|p| expand_home(p.trim())),
        };
        let mut accounts =
            AccountSettings::new().with_require_tls(self.require_tls.unwrap_or(true));
        if let Some(n) = self.max_user_connections {
            accounts = accounts
                .with_max_user_connections(n)
                .map_err(|e| problem(key("max_user_connections"), setting_problem(&e)))?;
        }
        if let Some(seconds) = self.read_statement_seconds {
            accounts = accounts
                .with_read_statement_timeout(std::time::Duration::from_secs(seconds))
                .map_err(|e| problem(key("read_statement_seconds"), setting_problem(&e)))?;
        }
        let sensitive = SensitiveTables::parse(self.sensitive_tables.iter().map(String::as_str))
            .map_err(|e| problem(key("sensitive_tables"), e.to_string()))?;
        let tripwires = match &self.tripwires {
            Some(rules) => TripwireRules::parse(rules.iter().map(String::as_str))
                .map_err(|e| problem(key("tripwires"), e.to_string()))?,
            None => TripwireRules::default(),
        };
        let mut approval = ApprovalRules::default()
            .with_auto_approve_read(self.auto_approve_read.unwrap_or(false));
        for (level, entry) in &self.approval {
            let at = key(&format!("approval.{level}"));
            let level = level
                .parse::<Permission>()
                .map_err(|_| problem(at.clone(), "expected READ, DML or DDL"))?;
            let rule = ApprovalPolicy::configured(&entry.approvers, entry.required)
                .map_err(|e| problem(at, e.problem()))?;
            approval = approval.with_level(level, rule);
        }
        if let Some(why) = approval.problem_with(&policy.levels) {
            return Err(problem(key("approval"), why));
        }
        Ok(ClusterConfig {
            policy: policy
                .with_endpoint(endpoint)
                .with_port(port)
                .with_sensitive_tables(sensitive)
                .with_tripwires(tripwires)
                .with_approval(approval),
            admin,
            audit_log,
            accounts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        [state]
        dir = "/tmp/powerpole-config-test"

        [slack]
        signing_secret = "s3cret"
        bot_token = "xoxb-1"
        approvers_channel = "C0APPROVE1"

        [[clusters]]
        id = "orders-prod"
        region = "ap-northeast-1"
        admin_url = "mysql://admin:pw@127.0.0.1:3306"
    "#;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_minimal_file_gets_the_documented_defaults() {
        let config = Config::from_toml(GOOD, env(&[])).unwrap();

        assert_eq!(config.listen, "127.0.0.1:3000".parse().unwrap());
        assert!((config.clock_speed - 1.0).abs() < f64::EPSILON);
        assert_eq!(config.slack.api_url, "https://slack.com/api");
        assert_eq!(
            config.slack.approvers,
            powerpole_slack::Approvers::AnyChannelMember
        );
        assert_eq!(config.clusters[0].policy.endpoint, "127.0.0.1");
        assert_eq!(config.clusters[0].policy.port, 3306);
        assert_eq!(config.clusters[0].policy.levels, Permission::ALL.to_vec());
        assert_eq!(config.clusters[0].audit_log, None);
    }

    #[test]
    fn the_default_approvers_may_be_people_and_groups_together_in_the_file_or_the_environment() {
        let in_file = |approvers: &str| {
            Config::from_toml(
                &GOOD.replace(
                    "approvers_channel = \"C0APPROVE1\"",
                    &format!("approvers_channel = \"C0APPROVE1\"\napprovers = \"{approvers}\""),
                ),
                env(&[]),
            )
        };

        let config = in_file("users:U0AAAAAA1,U0BBBBBB2 group:S0DBRE123").unwrap();
        assert_eq!(
            config.slack.approvers.to_string(),
            "users:U0AAAAAA1,U0BBBBBB2 group:S0DBRE123"
        );
        let from_env = Config::from_toml(
            GOOD,
            env(&[("POWERPOLE__SLACK__APPROVERS", "group:S0DBRE123,S0SRE4567")]),
        )
        .unwrap();
        assert_eq!(
            from_env.slack.approvers.to_string(),
            "group:S0DBRE123,S0SRE4567"
        );

        let err = in_file("channel group:S0DBRE123").unwrap_err();
        assert_eq!(err.key, "slack.approvers");
        assert_eq!(
            err.problem,
            "channel stands alone: it cannot be combined with users: or group:"
        );
        assert_eq!(
            in_file("users:U0AAAAAA1 users:U0BBBBBB2")
                .unwrap_err()
                .problem,
            "users: is given twice; list every user id after one users:"
        );
    }

    #[test]
    fn a_cluster_overrides_the_approval_policy_per_level_and_may_auto_approve_read() {
        let text = format!(
            "{GOOD}\n        auto_approve_read = true\n\n        [clusters.approval]\n        \
             DDL = {{ approvers = \"users:U0AAAAAA1,U0BBBBBB2,U0CCCCCC3\", required = 2 }}\n        \
             DML = {{ approvers = \"group:S0DBRE123\" }}\n        \
             READ = {{ approvers = \"users:U0AAAAAA1 group:S0DBRE123,S0SRE4567\", required = 2 }}\n"
        );
        let config = Config::from_toml(&text, env(&[])).unwrap();
        let rules = &config.clusters[0].policy.approval;

        assert_eq!(rules.required(Permission::Ddl).get(), 2);
        assert_eq!(rules.required(Permission::Dml).get(), 1);
        assert_eq!(
            rules
                .approvers(Permission::Dml, &config.slack.approvers)
                .to_string(),
            "group:S0DBRE123"
        );
        assert_eq!(rules.required(Permission::Read).get(), 2);
        assert_eq!(
            rules
                .approvers(Permission::Read, &config.slack.approvers)
                .to_string(),
            "users:U0AAAAAA1 group:S0DBRE123,S0SRE4567",
            "one person and two groups may give two approvals"
        );
        assert!(rules.auto_approves(Permission::Read));
        assert!(
            !Config::from_toml(GOOD, env(&[])).unwrap().clusters[0]
                .policy
                .approval
                .auto_approves(Permission::Read),
            "off by default"
        );
    }

    #[test]
    fn the_identity_section_maps_people_and_refuses_reserved_or_shared_names() {
        let with =
            |section: &str| Config::from_toml(&format!("[identity]\n{section}\n{GOOD}"), env(&[]));
        let config =
            with("primary_domains = [\"example.com\"]\ndb_users = { U0DAISUKE = \"daisuke\" }")
                .unwrap();
        let daisuke = SlackUserId::parse("U0DAISUKE").unwrap();
        assert_eq!(
            config.identity.mapped(&daisuke).unwrap().as_str(),
            "daisuke"
        );
        assert_eq!(config.identity.primary_domains(), ["example.com"]);

        for (section, key, says) in [
            (
                "db_users = { U0ROOT001 = \"root\" }",
                "identity.db_users.U0ROOT001",
                "reserved",
            ),
            (
                "db_users = { U0SYS0001 = \"mysql.sys2\" }",
                "identity.db_users.U0SYS0001",
                "reserved",
            ),
            (
                "db_users = { alice = \"alice\" }",
                "identity.db_users.alice",
                "Slack user id",
            ),
            (
                "db_users = { U0AAAAAA1 = \"ops\", U0BBBBBB2 = \"ops\" }",
                "identity.db_users",
                "one name, one person",
            ),
            (
                "primary_domains = [\"not a domain\"]",
                "identity.primary_domains",
                "not a domain",
            ),
        ] {
            let err = with(section).unwrap_err();
            assert_eq!(err.key, key, "{section}");
            assert!(err.problem.contains(says), "{section}: {}", err.problem);
        }
    }

    #[test]
    fn impossible_approval_policies_are_refused_at_load_naming_the_key() {
        let with = |table: &str| {
            Config::from_toml(
                &format!("{GOOD}\n        [clusters.approval]\n        {table}\n"),
                env(&[]),
            )
            .unwrap_err()
        };
        let err = with(r#"DDL = { approvers = "users:U0AAAAAA1", required = 2 }"#);
        assert_eq!(err.key, "clusters[0].approval.DDL");
        assert_eq!(
            err.problem,
            "2 approvals are required but users: lists only 1"
        );
        assert_eq!(
            with(r#"ADMIN = { approvers = "channel" }"#).key,
            "clusters[0].approval.ADMIN"
        );
        assert_eq!(
            with(r#"DML = { approvers = "channel", required = 9 }"#).problem,
            "required must be 1 to 5, not 9"
        );
        let err = Config::from_toml(
            &format!(
                "{GOOD}\n        levels = [\"READ\"]\n        [clusters.approval]\n        \
                 DDL = {{ approvers = \"channel\" }}\n"
            ),
            env(&[]),
        )
        .unwrap_err();
        assert_eq!(err.key, "clusters[0].approval");
    }

    #[test]
    fn people_connect_on_the_admin_urls_port_unless_the_cluster_names_another() {
        let from_url = GOOD.replace("127.0.0.1:3306", "127.0.0.1:13306");
        let config = Config::from_toml(&from_url, env(&[])).unwrap();
        assert_eq!(config.clusters[0].policy.port, 13306);

        let named = format!("{from_url}\nendpoint = \"db.internal\"\nport = 3310");
        let config = Config::from_toml(&named, env(&[])).unwrap();
        assert_eq!(
            (
                config.clusters[0].policy.endpoint.as_str(),
                config.clusters[0].policy.port
            ),
            ("db.internal", 3310)
        );

        for bad in ["0", "70000"] {
            let err =
                Config::from_toml(&format!("{from_url}\nport = {bad}"), env(&[])).unwrap_err();
            assert!(err.key.contains("clusters[0]"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_cluster_may_name_its_audit_log_file() {
        let with_log = GOOD.replace(
            "admin_url = \"mysql://admin:pw@127.0.0.1:3306\"",
            "admin_url = \"mysql://admin:pw@127.0.0.1:3306\"\naudit_log = \"/var/lib/mysql/server_audit.log\"",
        );
        let config = Config::from_toml(&with_log, env(&[])).unwrap();
        assert_eq!(
            config.clusters[0].audit_log.as_deref(),
            Some(Path::new("/var/lib/mysql/server_audit.log"))
        );
        let empty = with_log.replace("/var/lib/mysql/server_audit.log", " ");
        let err = Config::from_toml(&empty, env(&[])).unwrap_err();
        assert_eq!(err.key, "clusters[0].audit_log");
    }

    #[test]
    fn environment_variables_override_any_key_including_a_clusters() {
        let config = Config::from_toml(
            GOOD,
            env(&[
                ("POWERPOLE__SLACK__SIGNING_SECRET", "from-env"),
                ("POWERPOLE__CLOCK__SPEED", "60"),
                (
                    "POWERPOLE__CLUSTERS__0__ADMIN_URL",
                    "mysql://a:b@db.internal:3307",
                ),
                ("OTHER__SLACK__BOT_TOKEN", "ignored"),
            ]),
        )
        .unwrap();

        assert_eq!(config.slack.signing_secret, "from-env");
        assert!((config.clock_speed - 60.0).abs() < f64::EPSILON);
        assert_eq!(config.clusters[0].admin.get_host(), "db.internal");
        assert_eq!(config.slack.bot_token, "xoxb-1");
    }

    #[test]
    fn each_mistake_names_its_key() {
        let cases = [
            (
                GOOD.replace("signing_secret = \"s3cret\"\n", ""),
                "signing_secret",
            ),
            (
                GOOD.replace("region = \"ap-northeast-1\"", "region = 7"),
                "clusters[0].region",
            ),
            (
                GOOD.replace("[state]", "[state]\ncolour = \"blue\""),
                "colour",
            ),
            (
                GOOD.replace("C0APPROVE1", "#approvers"),
                "slack.approvers_channel",
            ),
            (
                GOOD.replace("mysql://admin:pw@127.0.0.1:3306", "postgres://x"),
                "clusters[0].admin_url",
            ),
            (
                GOOD.replace("id = \"orders-prod\"", "id = \"orders prod\""),
                "clusters[0].id",
            ),
            (format!("{GOOD}\nendpoint = \" \""), "clusters[0].endpoint"),
            (
                format!("{GOOD}\nmax_duration_minutes = 900"),
                "clusters[0].max_duration_minutes",
            ),
            (
                format!("{GOOD}\nlevels = [\"ADMIN\"]"),
                "clusters[0].levels",
            ),
            (
                format!("{GOOD}\nmax_user_connections = 0"),
                "clusters[0].max_user_connections",
            ),
            (
                format!("{GOOD}\nread_statement_seconds = 0"),
                "clusters[0].read_statement_seconds",
            ),
            (
                format!("{GOOD}\nsensitive_tables = [\"users;drop\"]"),
                "clusters[0].sensitive_tables",
            ),
            (
                format!("{GOOD}\ntripwires = [\"drop\"]"),
                "clusters[0].tripwires",
            ),
            (format!("{GOOD}\nrequire_tls = \"yes\""), "require_tls"),
            (
                GOOD.replace("[state]", "[clock]\nspeed = 0\n[state]"),
                "clock.speed",
            ),
            (
                GOOD.replace("[state]", "[server]\nlisten = \"everywhere\"\n[state]"),
                "server.listen",
            ),
        ];

        for (text, key) in cases {
            let err = Config::from_toml(&text, env(&[])).unwrap_err();
            assert!(
                err.key.contains(key) || err.problem.contains(key),
                "{key}: {err}"
            );
        }
    }

    #[test]
    fn no_error_or_debug_output_shows_a_secret() {
        let config = Config::from_toml(GOOD, env(&[])).unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret") && !shown.contains("xoxb-1") && !shown.contains(":pw@"));

        let bad_url = GOOD.replace("mysql://admin:pw@127.0.0.1:3306", "mysql://admin:pw@[bad");
        let err = Config::from_toml(&bad_url, env(&[]))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("pw"), "{err}");
    }

    #[test]
    fn the_example_file_in_the_repository_is_valid() {
        let example = include_str!("../../../powerpole.example.toml");

        let config = Config::from_toml(example, env(&[])).unwrap();

        assert_eq!(config.clusters.len(), 1);
        assert_eq!(config.slack.approvers_channel, "C0123APPROVERS");
    }

    #[test]
    fn an_override_for_a_cluster_the_file_lacks_is_refused() {
        let err = Config::from_toml(GOOD, env(&[("POWERPOLE__CLUSTERS__3__ADMIN_URL", "x")]))
            .unwrap_err();

        assert_eq!(err.key, "POWERPOLE__CLUSTERS__3__ADMIN_URL");
    }
}
