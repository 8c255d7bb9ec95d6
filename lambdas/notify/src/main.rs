//! The `notify` Lambda. Step Functions task: posts the approval card and the requester's DMs.
//!
//! Until its use case is built it validates its input and fails with `NonRetryable`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    powerpole_lambda::run_not_yet_implemented("notify").await
}
