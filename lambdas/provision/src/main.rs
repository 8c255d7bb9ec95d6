//! The `provision` Lambda. Step Functions task: creates the bastion, the secret and the one-time DB user.
//!
//! Until its use case is built it validates its input and fails with `NonRetryable`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    powerpole_lambda::run_not_yet_implemented("provision").await
}
