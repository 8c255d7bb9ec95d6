//! What the `request` and `approve` Lambdas (the Slack endpoints) read.

use powerpole_slack::Approvers;

use powerpole_core::IdentityRules;

use super::clusters::{ClusterConfig, clusters};
use super::env::{ConfigError, Problems, Vars};
use super::identity::identity;
use super::resources::{state_machine_arn, table};
use super::slack::{SlackConfig, approvers};

/// What the `request` and `approve` Lambdas read (the Slack endpoints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngressConfig {
    /// [`TABLE`](super::TABLE).
    pub table: String,
    /// [`STATE_MACHINE_ARN`](super::STATE_MACHINE_ARN).
    pub state_machine_arn: String,
    /// The Slack settings.
    pub slack: SlackConfig,
    /// [`APPROVERS`](super::APPROVERS).
    pub approvers: Approvers,
    /// [`CLUSTERS`](super::CLUSTERS) (the admin secrets are not read).
    pub clusters: Vec<ClusterConfig>,
    /// [`PRIMARY_DOMAINS`](super::PRIMARY_DOMAINS) and [`DB_USERS`](super::DB_USERS).
    pub identity: IdentityRules,
}

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
        let identity = p.take(identity(vars));
        let (
            Some(table),
            Some(state_machine_arn),
            Some(slack),
            Some(approvers),
            Some(clusters),
            Some(identity),
        ) = (
            table,
            state_machine_arn,
            slack,
            approvers,
            clusters,
            identity,
        )
        else {
            return Err(p.into_error());
        };
        Ok(Self {
            table,
            state_machine_arn,
            slack,
            approvers,
            clusters,
            identity,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::fixtures::*;
    use crate::config::{
        APPROVERS, BASTION_LAUNCH_TEMPLATE, CLUSTERS, NotifyConfig, STATE_MACHINE_ARN, TABLE,
    };

    #[test]
    fn the_endpoints_read_the_state_machine_and_the_approvers_too() {
        use powerpole_core::{ApproverList, SlackUserId};

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
            Approvers::Listed(
                ApproverList::new(
                    vec![
                        SlackUserId::parse("U0AAA1").unwrap(),
                        SlackUserId::parse("U0BBB2").unwrap()
                    ],
                    Vec::new()
                )
                .unwrap()
            )
        );
        assert_eq!(
            approvers(&[(APPROVERS, "group:S0DBRE1")])
                .unwrap()
                .to_string(),
            "group:S0DBRE1"
        );
        assert_eq!(
            approvers(&[(APPROVERS, "users:U0AAA1 group:S0DBRE1,S0SRE2")])
                .unwrap()
                .to_string(),
            "users:U0AAA1 group:S0DBRE1,S0SRE2"
        );
        assert!(
            approvers(&[(APPROVERS, "channel group:S0DBRE1")])
                .unwrap_err()
                .to_string()
                .contains("channel stands alone")
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
}
