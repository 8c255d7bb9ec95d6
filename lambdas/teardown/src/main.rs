//! The `teardown` Lambda. Step Functions task: locks, kills, drops the DB user, deletes the secret, terminates the bastion.
//!
//! Until its use case is built it validates its input and fails with `NonRetryable`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    powerpole_lambda::run_not_yet_implemented("teardown").await
}
