//! The `teardown` Lambda. Step Functions task (`${teardown_function}`): `teardown` at the end of
//! the window or on End now, `cleanup` after a failed step. Locks the DB user, ends its
//! sessions, drops it, deletes the password secret, terminates the bastion, tells the requester.
//! Task `receipt` (after the audit log's export delay) posts the session receipt in the approval
//! card's thread, from the cluster's audit log group and Session Manager's log group.
//!
//! Reads [`AccessConfig`] and `POWERPOLE_SESSION_LOG_GROUP` from the environment and the
//! clusters' admin secrets at cold start (see `lambdas/README.md`).

use lambda_runtime::{Diagnostic, LambdaEvent, run, service_fn};
use powerpole_lambda_shared::config::{self, AccessConfig, ProcessEnv};
use powerpole_lambda_shared::wiring::{self, TeardownBroker};
use powerpole_lambda_shared::{diagnostic, emf, startup_failed};
use serde_json::Value;

async fn handler(broker: &TeardownBroker, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    powerpole_tasks::teardown(broker, event.payload)
        .await
        .map_err(diagnostic)
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    powerpole_lambda_shared::init_tracing();
    powerpole_slack::install_crypto_provider();
    let config = AccessConfig::from_env(&ProcessEnv).map_err(startup_failed)?;
    let session_log_group = config::session_log_group(&ProcessEnv).map_err(startup_failed)?;
    let sdk = powerpole_aws::config::load(None).await;
    let broker = wiring::teardown_broker(&sdk, config, session_log_group)
        .await
        .map_err(startup_failed)?
        .observed_by(emf::emit);
    run(service_fn(|event| handler(&broker, event))).await
}
