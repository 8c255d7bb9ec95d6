//! The `notify` Lambda. Step Functions task (`${notify_function}`): opens the approval gate
//! (posts the card, stores the task token), expires undecided requests, and tells the requester
//! about a denial, the coming end of access, or a failure.
//!
//! Reads [`NotifyConfig`] from the environment at cold start (see `lambdas/README.md`).

use lambda_runtime::{Diagnostic, LambdaEvent, run, service_fn};
use powerpole_lambda_shared::config::{NotifyConfig, ProcessEnv};
use powerpole_lambda_shared::wiring::{self, NotifyBroker};
use powerpole_lambda_shared::{diagnostic, emf, startup_failed};
use serde_json::Value;

async fn handler(broker: &NotifyBroker, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    powerpole_tasks::notify(broker, event.payload)
        .await
        .map_err(diagnostic)
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    powerpole_lambda_shared::init_tracing();
    powerpole_slack::install_crypto_provider();
    let config = NotifyConfig::from_env(&ProcessEnv).map_err(startup_failed)?;
    let sdk = powerpole_aws::config::load(None).await;
    let broker = wiring::notify_broker(&sdk, config)
        .await
        .map_err(startup_failed)?
        .observed_by(emf::emit);
    run(service_fn(|event| handler(&broker, event))).await
}
