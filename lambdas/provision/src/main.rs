//! The `provision` Lambda. Step Functions task (`${provision_function}`): `schedule` (the
//! window's timestamps for the `Wait` states), `provision` (the password secret, the one-time DB
//! user, the bastion) and `activate` (`NotReady` while the bastion boots, then the requester's
//! connect instructions).
//!
//! Reads [`AccessConfig`] from the environment and the clusters' admin secrets at cold start
//! (see `lambdas/README.md`).

use lambda_runtime::{Diagnostic, LambdaEvent, run, service_fn};
use powerpole_lambda_shared::config::{AccessConfig, ProcessEnv};
use powerpole_lambda_shared::wiring::{self, AccessBroker};
use powerpole_lambda_shared::{diagnostic, emf, startup_failed};
use serde_json::Value;

async fn handler(broker: &AccessBroker, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    powerpole_tasks::provision(broker, event.payload)
        .await
        .map_err(diagnostic)
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    powerpole_lambda_shared::init_tracing();
    powerpole_slack::install_crypto_provider();
    let config = AccessConfig::from_env(&ProcessEnv).map_err(startup_failed)?;
    let sdk = powerpole_aws::config::load(None).await;
    let broker = wiring::access_broker(&sdk, config)
        .await
        .map_err(startup_failed)?
        .observed_by(emf::emit);
    run(service_fn(|event| handler(&broker, event))).await
}
