//! The `notify` Lambda. Step Functions task (`${notify_function}`): opens the approval gate
//! (posts the card, stores the task token), expires undecided requests, and tells the requester
//! about a denial, the coming end of access, or a failure.
//!
//! Reads [`NotifyConfig`] from the environment at cold start (see `lambdas/README.md`).

use lambda_runtime::{LambdaEvent, run, service_fn};
use powerpole_lambda::config::{NotifyConfig, ProcessEnv};
use powerpole_lambda::wiring::{self, NotifyPorts};
use powerpole_lambda::{TaskError, emf, startup_failed, tasks};
use serde_json::Value;

async fn handler(ports: &NotifyPorts, event: LambdaEvent<Value>) -> Result<Value, TaskError> {
    tasks::notify_observed(
        &ports.store,
        &ports.chat,
        &ports.clock,
        event.payload,
        emf::emit,
    )
    .await
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    powerpole_lambda::init_tracing();
    powerpole_slack::install_crypto_provider();
    let config = NotifyConfig::from_env(&ProcessEnv).map_err(startup_failed)?;
    let sdk = powerpole_aws::config::load(None).await;
    let ports = wiring::notify_ports(&sdk, config)
        .await
        .map_err(startup_failed)?;
    run(service_fn(|event| handler(&ports, event))).await
}
