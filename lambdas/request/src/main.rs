//! The `request` Lambda. Serves Slack's slash command `/powerpole` and records new requests.
//!
//! Until its use case is built it validates its input and fails with `NonRetryable`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    powerpole_lambda::run_not_yet_implemented("request").await
}
