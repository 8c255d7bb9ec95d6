//! What the `notify` Lambda reads.

use super::env::{ConfigError, Problems, Vars};
use super::resources::table;
use super::slack::SlackConfig;

/// What the `notify` Lambda reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    /// [`TABLE`](super::TABLE).
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
