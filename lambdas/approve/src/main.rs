//! The `approve` Lambda. Serves Slack's interactions: modal submissions and the Approve / Deny buttons.
//!
//! Until its use case is built it validates its input and fails with `NonRetryable`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    powerpole_lambda::run_not_yet_implemented("approve").await
}
