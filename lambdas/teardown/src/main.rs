//! The `teardown` Lambda. Step Functions task (`${teardown_function}`): `teardown` at the end of
//! the window or on End now, `cleanup` after a failed step. Locks the DB user, ends its
//! sessions, drops it, deletes the password secret, terminates the bastion, tells the requester.
//!
//! Reads [`AccessConfig`] from the environment and the clusters' admin secrets at cold start
//! (see `lambdas/README.md`).

use lambda_runtime::{LambdaEvent, run, service_fn};
use powerpole_lambda::config::{AccessConfig, ProcessEnv};
use powerpole_lambda::wiring::{self, AwsAccessPorts};
use powerpole_lambda::{TaskError, emf, startup_failed, tasks};
use serde_json::Value;

async fn handler(ports: &AwsAccessPorts, event: LambdaEvent<Value>) -> Result<Value, TaskError> {
    tasks::teardown_observed(ports, event.payload, emf::emit).await
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
