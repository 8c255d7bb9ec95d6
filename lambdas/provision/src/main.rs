//! The `provision` Lambda. Step Functions task (`${provision_function}`): `schedule` (the
//! window's timestamps for the `Wait` states), `provision` (the password secret, the one-time DB
//! user, the bastion) and `activate` (`NotReady` while the bastion boots, then the requester's
//! connect instructions).
//!
//! Reads [`AccessConfig`] from the environment and the clusters' admin secrets at cold start
//! (see `lambdas/README.md`).

use lambda_runtime::{LambdaEvent, run, service_fn};
use powerpole_lambda::config::{AccessConfig, ProcessEnv};
use powerpole_lambda::wiring::{self, AwsAccessPorts};
use powerpole_lambda::{TaskError, emf, startup_failed, tasks};
use serde_json::Value;

async fn handler(ports: &AwsAccessPorts, event: LambdaEvent<Value>) -> Result<Value, TaskError> {
    tasks::provision_observed(ports, event.payload, emf::emit).await
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    powerpole_lambda::init_tracing();
    powerpole_slack::install_crypto_provider();
    let config = AccessConfig::from_env(&ProcessEnv).map_err(startup_failed)?;
    let sdk = powerpole_aws::config::load(None).await;
    let ports = wiring::access_ports(&sdk, config)
        .await
        .map_err(startup_failed)?;
    run(service_fn(|event| handler(&ports, event))).await
}
