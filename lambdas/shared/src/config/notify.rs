//! What the `notify` Lambda reads.

use std::path::PathBuf;

use super::access::db_ca_bundle;
use super::clusters::{ClusterConfig, clusters};
use super::env::{ConfigError, Problems, Vars};
use super::resources::table;
use super::slack::SlackConfig;

/// What the `notify` Lambda reads: the table, Slack, and the clusters, whose admin accounts
/// measure the approval card's blast radius.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    /// [`TABLE`](super::TABLE).
    pub table: String,
    /// The Slack settings.
    pub slack: SlackConfig,
    /// [`CLUSTERS`](super::CLUSTERS), whose admin secrets are read at cold start.
    pub clusters: Vec<ClusterConfig>,
    /// [`DB_CA_BUNDLE`](super::DB_CA_BUNDLE).
    pub db_ca_bundle: Option<PathBuf>,
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
        let clusters = p.take(clusters(vars));
        let db_ca_bundle = p.take(db_ca_bundle(vars));
        let (Some(table), Some(slack), Some(clusters), Some(db_ca_bundle)) =
            (table, slack, clusters, db_ca_bundle)
        else {
            return Err(p.into_error());
        };
        Ok(Self {
            table,
            slack,
            clusters,
            db_ca_bundle,
        })
    }
}
