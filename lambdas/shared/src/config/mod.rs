//! The Lambdas' configuration: environment variables read once at cold start and checked before
//! anything is built, and the shapes of the two kinds of secret values read at cold start (the
//! Slack app's credentials, a cluster's admin credentials).
//!
//! One function per variable; `IngressConfig`, [`NotifyConfig`], [`AccessConfig`] and
//! [`SweepConfig`] gather what each kind of Lambda reads and report every problem at once. Every
//! error names the variable (or the secret) at fault and never contains a secret value. The
//! variables and which Lambda reads which are listed in `lambdas/README.md`.
//!
//! By concern: `env` (where variables come from, [`ConfigError`]), `resources` (the table, the
//! state machine, secret ARNs), `slack`, `clusters`, `secret_values` (the secrets' JSON shapes),
//! and one module per kind of Lambda (`ingress`, `notify`, `access`, `sweep`). Everything is
//! used from here, `powerpole_lambda_shared::config::…`.

mod access;
mod clusters;
mod env;
#[cfg(test)]
mod fixtures;
mod identity;
#[cfg(feature = "slack")]
mod ingress;
mod notify;
mod resources;
mod secret_values;
mod slack;
mod sweep;

pub use access::{
    AccessConfig, BASTION_LAUNCH_TEMPLATE, BASTION_LAUNCH_TEMPLATE_VERSION, BastionTemplate,
    DB_CA_BUNDLE, DEFAULT_SECRET_PREFIX, SECRET_KMS_KEY_ID, SECRET_PREFIX, SESSION_LOG_GROUP,
    SecretsConfig, bastion_template, db_ca_bundle, secrets, session_log_group,
};
pub use clusters::{CLUSTERS, ClusterConfig, clusters};
pub use env::{BoxError, ConfigError, ProcessEnv, Vars};
pub use identity::{DB_USERS, PRIMARY_DOMAINS, identity};
#[cfg(feature = "slack")]
pub use ingress::IngressConfig;
pub use notify::NotifyConfig;
pub use resources::{STATE_MACHINE_ARN, SecretArn, TABLE, state_machine_arn, table};
pub use secret_values::{AdminSecret, SlackSecret};
#[cfg(feature = "slack")]
pub use slack::approvers;
pub use slack::{
    APPROVERS, APPROVERS_CHANNEL, DEFAULT_SLACK_API_URL, REQUESTS_CHANNEL, SLACK_API_URL,
    SLACK_SECRET_ARN, SlackConfig, approvers_channel, requests_channel, slack_api_url,
    slack_secret_arn,
};
pub use sweep::{
    EXPECTED_HOSTS, REPORT_BUCKET, SWEEP_GRACE_MINUTES, SweepConfig, expected_hosts, report_bucket,
    sweep_grace,
};
