//! What the broker allows on each cluster, and the validation of a filled-in request form
//! against it. Every field is checked, so a form with three mistakes gets three messages at once.

use time::{Duration, OffsetDateTime};

use crate::approvals::{ApprovalRules, Approvers};
use crate::blast::SensitiveTables;
use crate::error::{Error, Field};
use crate::grants::Permission;
use crate::ids::{ClusterId, Region};
use crate::lifecycle::{AccessSpec, Reason};
use crate::tripwire::TripwireRules;
use crate::window::{AccessWindow, WindowPolicy};

/// One cluster the broker serves and its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterPolicy {
    /// The cluster.
    pub cluster: ClusterId,
    /// Its region.
    pub region: Region,
    /// The longest window it allows.
    pub window: WindowPolicy,
    /// The levels it allows, weakest first.
    pub levels: Vec<Permission>,
    /// The host name people connect to (the cluster's writer endpoint).
    pub endpoint: String,
    /// The port people connect to.
    pub port: u16,
    /// Tables the approval card calls out (see [`SensitiveTables`]).
    pub sensitive: SensitiveTables,
    /// The live tripwires of its active access.
    pub tripwires: TripwireRules,
    /// Who approves each level and how many must (the broker's default where not overridden).
    pub approval: ApprovalRules,
}

impl ClusterPolicy {
    /// The MySQL port, where a cluster is reached unless configured otherwise.
    pub const DEFAULT_PORT: u16 = 3306;

    /// A cluster allowing every level for up to 8 hours, reached at a host named like the
    /// cluster on port 3306 (see [`ClusterPolicy::with_endpoint`], [`ClusterPolicy::with_port`]).
    #[must_use]
    pub fn new(cluster: ClusterId, region: Region) -> Self {
        Self {
            endpoint: cluster.as_str().to_owned(),
            port: Self::DEFAULT_PORT,
            cluster,
            region,
            window: WindowPolicy::default(),
            levels: Permission::ALL.to_vec(),
            sensitive: SensitiveTables::default(),
            tripwires: TripwireRules::default(),
            approval: ApprovalRules::default(),
        }
    }

    /// The same cluster with the approval rules `approval`.
    #[must_use]
    pub fn with_approval(mut self, approval: ApprovalRules) -> Self {
        self.approval = approval;
        self
    }

    /// The same cluster reached at `endpoint`.
    #[must_use]
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = endpoint.into();
        self
    }

    /// The same cluster reached on `port`.
    #[must_use]
    pub const fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The same cluster, calling out tables that match `sensitive` on approval cards.
    #[must_use]
    pub fn with_sensitive_tables(mut self, sensitive: SensitiveTables) -> Self {
        self.sensitive = sensitive;
        self
    }

    /// The same cluster with only the tripwires `rules` set.
    #[must_use]
    pub fn with_tripwires(mut self, rules: TripwireRules) -> Self {
        self.tripwires = rules;
        self
    }
}

/// A request form as a person filled it in, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestForm {
    /// The chosen cluster id.
    pub cluster: String,
    /// The region (pre-filled from the cluster; must match it).
    pub region: String,
    /// `READ`, `DML` or `DDL`.
    pub permission: String,
    /// The window length in minutes.
    pub duration_minutes: String,
    /// The chosen start, or `None` for "now".
    pub start: Option<OffsetDateTime>,
    /// Why access is needed.
    pub reason: String,
}

impl RequestForm {
    /// Checks every field against the configured `clusters` at `now`.
    ///
    /// # Errors
    /// Every [`Error::Invalid`] found, one per field at most.
    pub fn validate(
        &self,
        clusters: &[ClusterPolicy],
        now: OffsetDateTime,
    ) -> Result<AccessSpec, Vec<Error>> {
        let mut errors = Vec::new();
        let policy = match ClusterId::parse(&self.cluster) {
            Ok(id) => {
                let found = clusters.iter().find(|c| c.cluster == id);
                if found.is_none() {
                    errors.push(Error::invalid(
                        Field::Cluster,
                        format!("{id} is not a cluster this broker serves"),
                    ));
                }
                found
            }
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let region = Region::parse(&self.region)
            .and_then(|region| match policy {
                Some(p) if p.region != region => Err(Error::invalid(
                    Field::Region,
                    format!("{} is in {}, not {region}", p.cluster, p.region),
                )),
                _ => Ok(region),
            })
            .map_err(|e| errors.push(e))
            .ok();
        let permission = self
            .permission
            .parse::<Permission>()
            .and_then(|level| match policy {
                Some(p) if !p.levels.contains(&level) => Err(Error::invalid(
                    Field::Permission,
                    format!("{level} is not allowed on {}", p.cluster),
                )),
                Some(p)
                    if p.approval.for_level(level).map(|a| a.approvers())
                        == Some(&Approvers::Nobody) =>
                {
                    Err(Error::invalid(
                        Field::Permission,
                        format!(
                            "{level} on {} has no approvers configured, so nobody could approve \
                             it: ask a powerpole admin (the approvers' channel knows who) to name \
                             approvers for it, or choose another level",
                            p.cluster
                        ),
                    ))
                }
                _ => Ok(level),
            })
            .map_err(|e| errors.push(e))
            .ok();
        let window_policy = policy.map_or_else(WindowPolicy::default, |p| p.window);
        let window = match self.duration_minutes.trim().parse::<i64>() {
            Ok(minutes) => AccessWindow::request(
                self.start.unwrap_or(now),
                Duration::minutes(minutes),
                now,
                &window_policy,
            )
            .map_err(|e| errors.push(e))
            .ok(),
            Err(_) => {
                errors.push(Error::invalid(
                    Field::Duration,
                    "must be a whole number of minutes",
                ));
                None
            }
        };
        let reason = Reason::parse(&self.reason).map_err(|e| errors.push(e)).ok();
        match (policy, region, permission, window, reason) {
            (Some(policy), Some(region), Some(permission), Some(window), Some(reason))
                if errors.is_empty() =>
            {
                Ok(AccessSpec {
                    cluster: policy.cluster.clone(),
                    region,
                    permission,
                    window,
                    reason,
                })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-23 14:00 UTC);

    fn clusters() -> Vec<ClusterPolicy> {
        let mut reporting = ClusterPolicy::new(
            ClusterId::parse("reporting").unwrap(),
            Region::parse("us-east-1").unwrap(),
        );
        reporting.window = WindowPolicy::new(Duration::hours(2)).unwrap();
        reporting.levels = vec![Permission::Read];
        vec![
            ClusterPolicy::new(
                ClusterId::parse("prod-orders").unwrap(),
                Region::parse("ap-northeast-1").unwrap(),
            ),
            reporting,
        ]
    }

    fn form() -> RequestForm {
        RequestForm {
            cluster: "prod-orders".into(),
            region: "ap-northeast-1".into(),
            permission: "DML".into(),
            duration_minutes: "60".into(),
            start: None,
            reason: "INC-42".into(),
        }
    }

    fn fields(errors: &[Error]) -> Vec<Field> {
        errors.iter().filter_map(Error::field).collect()
    }

    #[test]
    fn a_good_form_becomes_a_spec_starting_now() {
        let spec = form().validate(&clusters(), NOW).unwrap();
        assert_eq!(spec.cluster.as_str(), "prod-orders");
        assert_eq!(spec.window.start(), NOW);
        assert_eq!(spec.window.end(), datetime!(2026-11-23 15:00 UTC));
        assert_eq!(spec.permission, Permission::Dml);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let bad = RequestForm {
            cluster: "prod-orders".into(),
            region: "us-east-1".into(),
            permission: "ROOT".into(),
            duration_minutes: "ninety".into(),
            start: None,
            reason: "  ".into(),
        };
        let errors = bad.validate(&clusters(), NOW).unwrap_err();
        assert_eq!(
            fields(&errors),
            [
                Field::Region,
                Field::Permission,
                Field::Duration,
                Field::Reason
            ]
        );
        assert_eq!(
            errors[0].to_string(),
            "invalid region: prod-orders is in ap-northeast-1, not us-east-1"
        );
    }

    #[test]
    fn the_clusters_own_limits_apply() {
        let mut f = form();
        f.cluster = "reporting".into();
        f.region = "us-east-1".into();
        f.duration_minutes = "180".into();
        let errors = f.validate(&clusters(), NOW).unwrap_err();
        assert_eq!(fields(&errors), [Field::Permission, Field::Duration]);
        assert_eq!(
            errors[0].to_string(),
            "invalid permission: DML is not allowed on reporting"
        );
    }

    #[test]
    fn a_level_nobody_may_approve_is_refused_with_whom_to_ask() {
        let mut clusters = clusters();
        clusters[0].approval = ApprovalRules::default().with_level(
            Permission::Ddl,
            crate::approvals::ApprovalPolicy::one_of(Approvers::Nobody),
        );
        let mut f = form();
        assert!(f.validate(&clusters, NOW).is_ok(), "DML keeps the default");
        f.permission = "DDL".into();
        let errors = f.validate(&clusters, NOW).unwrap_err();
        assert_eq!(fields(&errors), [Field::Permission]);
        assert!(
            errors[0]
                .to_string()
                .starts_with("invalid permission: DDL on prod-orders has no approvers configured"),
            "{}",
            errors[0]
        );
        assert!(errors[0].to_string().contains("ask a powerpole admin"));
    }

    #[test]
    fn an_unknown_cluster_and_a_past_start_are_refused() {
        let mut f = form();
        f.cluster = "someone-elses".into();
        f.start = Some(NOW - Duration::hours(1));
        let errors = f.validate(&clusters(), NOW).unwrap_err();
        assert_eq!(fields(&errors), [Field::Cluster, Field::Start]);
    }
}
