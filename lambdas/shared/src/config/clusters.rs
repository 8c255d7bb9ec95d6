//! The clusters the broker serves ([`CLUSTERS`]), each with its limits and the ARN of its admin
//! secret.

use std::collections::BTreeSet;

use powerpole_core::tripwire::TripwireRules;
use powerpole_core::{
    ApprovalPolicy, ApprovalRules, ClusterId, ClusterPolicy, Permission, Region, SensitiveTables,
    WindowPolicy,
};
use serde::Deserialize;
use serde_json::Value;

use super::env::{ConfigError, Vars, required};
use super::resources::SecretArn;

/// The clusters served, as a JSON array.
pub const CLUSTERS: &str = "POWERPOLE_CLUSTERS";

/// One cluster the broker serves, and where its admin credentials are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The cluster and its limits.
    pub policy: ClusterPolicy,
    /// The secret with the admin (master) user's `username` and `password`.
    pub admin_secret: SecretArn,
    /// Whether the one-time users may log in only over TLS (`REQUIRE SSL`, the default).
    pub require_tls: bool,
    /// The most sessions a one-time user may hold (the adapter's default when `None`).
    pub max_user_connections: Option<u32>,
    /// The longest a READ user's statement may run, in seconds (MariaDB only; none when `None`).
    pub read_statement_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterEntry {
    id: String,
    region: String,
    endpoint: String,
    #[serde(default)]
    port: Option<i64>,
    #[serde(default)]
    max_duration_minutes: Option<i64>,
    #[serde(default)]
    levels: Option<Vec<String>>,
    admin_secret_arn: String,
    #[serde(default)]
    require_tls: Option<bool>,
    #[serde(default)]
    max_user_connections: Option<u32>,
    #[serde(default)]
    read_statement_seconds: Option<u64>,
    #[serde(default)]
    sensitive_tables: Vec<String>,
    #[serde(default)]
    tripwires: Option<Vec<String>>,
    #[serde(default)]
    approval: std::collections::BTreeMap<String, ApprovalEntry>,
    #[serde(default)]
    auto_approve_read: Option<bool>,
}

/// One level's approval policy: `{"approvers": "users:U1,U2,U3", "required": 2}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApprovalEntry {
    approvers: String,
    #[serde(default)]
    required: Option<i64>,
}

pub(super) fn is_host_name(host: &str) -> bool {
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
    let port = match entry.port {
        None => ClusterPolicy::DEFAULT_PORT,
        Some(port) => u16::try_from(port)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("port must be 1 to 65535, not {port}"))?,
    };
    let mut policy = ClusterPolicy::new(id, region)
        .with_endpoint(endpoint)
        .with_port(port);
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
    policy.sensitive = SensitiveTables::parse(entry.sensitive_tables.iter().map(String::as_str))
        .map_err(|e| format!("sensitive_tables: {e}"))?;
    if let Some(rules) = &entry.tripwires {
        policy.tripwires = TripwireRules::parse(rules.iter().map(String::as_str))
            .map_err(|e| format!("tripwires: {e}"))?;
    }
    let mut approval =
        ApprovalRules::default().with_auto_approve_read(entry.auto_approve_read.unwrap_or(false));
    for (level, rule) in &entry.approval {
        let parsed = level
            .parse::<Permission>()
            .map_err(|_| format!("approval: {level:?} is not READ, DML or DDL"))?;
        let rule = ApprovalPolicy::configured(&rule.approvers, rule.required)
            .map_err(|e| format!("approval.{level}: {}", e.problem()))?;
        approval = approval.with_level(parsed, rule);
    }
    if let Some(why) = approval.problem_with(&policy.levels) {
        return Err(why);
    }
    policy.approval = approval;
    let admin_secret = SecretArn::parse(entry.admin_secret_arn.trim())
        .map_err(|p| format!("admin_secret_arn: {p}"))?;
    Ok(ClusterConfig {
        policy,
        admin_secret,
        require_tls: entry.require_tls.unwrap_or(true),
        max_user_connections: entry.max_user_connections,
        read_statement_seconds: entry.read_statement_seconds,
    })
}

/// [`CLUSTERS`]: a JSON array of
/// `{"id", "region", "endpoint", "port"?, "max_duration_minutes"?, "levels"?, "admin_secret_arn",
/// "require_tls"?, "max_user_connections"?, "read_statement_seconds"?, "sensitive_tables"?,
/// "tripwires"?, "approval"?, "auto_approve_read"?}`, at least one, ids
/// unique. `port` (where people and the broker connect; an admin secret naming a port wins for
/// the broker) defaults to 3306, `max_duration_minutes` to 480 (8 h, the most allowed), `levels`
/// to all three, `require_tls` to true, `max_user_connections` to 4, `read_statement_seconds`
/// to none (the limits are checked when the Lambda wires the accounts), `sensitive_tables`
/// (patterns the approval card flags, see [`SensitiveTables`]) to none, `tripwires` (see
/// [`TripwireRules`]; `[]` turns them off) to all, `approval` (per level,
/// `{"DDL": {"approvers": "users:U1,U2 group:S123", "required": 2}}`, see
/// [`ApprovalPolicy::configured`])
/// to none (every level takes `POWERPOLE_APPROVERS`, one approval), `auto_approve_read` to false.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::fixtures::*;

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
                serde_json::json!([entry(serde_json::json!({"port": 0}))]),
                "port",
            ),
            (
                serde_json::json!([entry(serde_json::json!({"port": 70000}))]),
                "port",
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
                serde_json::json!([entry(serde_json::json!({"tripwires": ["drop"]}))]),
                "tripwires",
            ),
            (
                serde_json::json!([entry(serde_json::json!({"sensitive_tables": ["a b"]}))]),
                "sensitive_tables",
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
                serde_json::json!([entry(
                    serde_json::json!({"approval": {"DDL": {"approvers": "users:U0AAAAAA1", "required": 2}}})
                )]),
                "approval.DDL: 2 approvals are required but users: lists only 1",
            ),
            (
                serde_json::json!([entry(
                    serde_json::json!({"approval": {"ROOT": {"approvers": "channel"}}})
                )]),
                "approval: \"ROOT\"",
            ),
            (
                serde_json::json!([entry(
                    serde_json::json!({"levels": ["DDL"], "auto_approve_read": true})
                )]),
                "auto_approve_read",
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
    fn a_cluster_is_reached_on_3306_unless_it_names_its_port() {
        let entries = serde_json::json!([
            {"id": "orders", "region": "ap-northeast-1", "endpoint": "orders.example.internal",
             "admin_secret_arn": ADMIN_ARN},
            {"id": "billing", "region": "ap-northeast-1", "endpoint": "billing.example.internal",
             "port": 13306, "admin_secret_arn": ADMIN_ARN},
        ]);

        let parsed = clusters(&[(CLUSTERS, entries.to_string())]).unwrap();

        let ports: Vec<u16> = parsed.iter().map(|c| c.policy.port).collect();
        assert_eq!(ports, [3306, 13306]);
    }

    #[test]
    fn a_cluster_names_approvers_and_counts_per_level_and_may_auto_approve_read() {
        let entries = serde_json::json!([
            {"id": "orders", "region": "ap-northeast-1", "endpoint": "orders.example.internal",
             "admin_secret_arn": ADMIN_ARN, "auto_approve_read": true,
             "approval": {"DDL": {"approvers": "users:U0AAAAAA1 group:S0DBRE123", "required": 2},
                          "DML": {"approvers": "none"}}},
            {"id": "billing", "region": "ap-northeast-1", "endpoint": "billing.example.internal",
             "admin_secret_arn": ADMIN_ARN},
        ]);

        let parsed = clusters(&[(CLUSTERS, entries.to_string())]).unwrap();

        let (orders, billing) = (&parsed[0].policy.approval, &parsed[1].policy.approval);
        assert_eq!(orders.required(Permission::Ddl).get(), 2);
        assert_eq!(
            orders
                .for_level(Permission::Ddl)
                .map(|p| p.approvers().to_string()),
            Some("users:U0AAAAAA1 group:S0DBRE123".to_owned())
        );
        assert_eq!(
            orders
                .for_level(Permission::Dml)
                .map(|p| p.approvers().to_string()),
            Some("none".to_owned())
        );
        assert!(orders.auto_approves(Permission::Read));
        assert_eq!(
            billing,
            &ApprovalRules::default(),
            "the default: one approval, no auto"
        );
    }
}
