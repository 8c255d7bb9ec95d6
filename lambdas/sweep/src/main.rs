//! The `sweep` Lambda. Runs on an EventBridge schedule (the event itself is ignored): one sweep
//! of the store, the clusters' broker-made DB users, the password secrets and the bastions —
//! settles requests a workflow left behind and removes whatever no live request owns (see
//! `powerpole_core::Broker::sweep`). Every action is on the request's history or an orphan
//! record, and in one message to the approvers' channel.
//!
//! Reads [`SweepConfig`] from the environment and the clusters' admin secrets at cold start
//! (see `lambdas/README.md`). Every run prints one EMF line with `OrphansFound`,
//! `OldestBastionAge`, `OldestUserAge` and `UsersWithoutBackstop` (zero when nothing is left), so
//! a sweeper that stops
//! running shows as missing data. An invocation that met problems logs the report and fails, so
//! the function's `Errors` metric and its alarm show a sweeper that cannot do its job.

use lambda_runtime::{Diagnostic, LambdaEvent, run, service_fn};
use powerpole_core::slo::Observation;
use powerpole_core::usecases::SweepPolicy;
use powerpole_lambda_shared::config::{ProcessEnv, SweepConfig};
use powerpole_lambda_shared::wiring::{self, AccessBroker};
use powerpole_lambda_shared::{TaskError, diagnostic, emf, startup_failed};
use serde_json::Value;

async fn handler(
    broker: &AccessBroker,
    policy: &SweepPolicy,
    _event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    let report = broker
        .sweep(policy)
        .await
        .map_err(|e| diagnostic(e.into()))?;
    emf::emit(&[
        Observation::orphans_found(report.orphans_found()),
        Observation::oldest_bastion_age(report.oldest_bastion.unwrap_or_default()),
        Observation::oldest_user_age(report.oldest_account.unwrap_or_default()),
        Observation::users_without_backstop(report.users_without_backstop),
    ]);
    let summary = powerpole_tasks::sweep_json(&report);
    tracing::info!(report = %summary, "sweep done");
    match report.problems.first() {
        None => Ok(summary),
        Some(first) => Err(diagnostic(TaskError::Retryable(format!(
            "{} problem(s), first: {first}",
            report.problems.len()
        )))),
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    powerpole_lambda_shared::init_tracing();
    powerpole_slack::install_crypto_provider();
    let config = SweepConfig::from_env(&ProcessEnv).map_err(startup_failed)?;
    let policy = config.policy();
    let sdk = powerpole_aws::config::load(None).await;
    let broker = wiring::access_broker(&sdk, config.access)
        .await
        .map_err(startup_failed)?;
    run(service_fn(|event| handler(&broker, &policy, event))).await
}
