//! The `approve` Lambda: `POST /slack/interactions` behind an API Gateway HTTP API. Serves
//! Slack's interactions: request-modal submissions, Approve / Deny on approval cards, and the
//! requester's End now.
//!
//! Reads [`IngressConfig`] from the environment at cold start (see `lambdas/README.md`).

use lambda_http::{run, service_fn};
use powerpole_lambda_shared::config::{IngressConfig, ProcessEnv};
use powerpole_lambda_shared::{emf, http, startup_failed, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    powerpole_lambda_shared::init_tracing();
    powerpole_slack::install_crypto_provider();
    let config = IngressConfig::from_env(&ProcessEnv).map_err(startup_failed)?;
    let sdk = powerpole_aws::config::load(None).await;
    let ingress = wiring::ingress(&sdk, config)
        .await
        .map_err(startup_failed)?
        .observed_by(emf::emit);
    run(service_fn(|request| http::interactions(&ingress, request))).await
}
