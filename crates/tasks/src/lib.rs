//! The workflow's tasks: what the `notify`, `provision` and `teardown` functions do with the
//! payload the state machine sends them. The Lambdas of those names and the local ASL runner
//! both call [`notify`], [`provision`] and [`teardown`] (the runner through [`invoke`], by
//! `FunctionName`), so the two modes run the same code; nothing here knows the Lambda runtime.
//!
//! Each task function parses the payload into a [`Task`], calls one use case of the
//! [`Broker`] and maps the result to the JSON the state machine reads, or to a [`TaskError`]
//! whose [`TaskError::error_type`] its `Retry`/`Catch` match.
//!
//! Payload: `{"task": "<name>", "request_id": "<ULID>", "token"?: "<task token>", "error"?:
//! {"Error", "Cause"}}` — ids and timestamps only, never a secret.

mod error;
mod payload;
mod sweep;

use powerpole_core::timefmt::{Precision, rfc3339};
use powerpole_core::usecases::{Activation, ApprovalGate, Teardown};
use powerpole_core::{
    AccessPorts, AccountPorts, Broker, EvidencePorts, TaskToken, ports::Decision,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

pub use error::TaskError;
pub use payload::{CaughtError, Function, Task};
pub use sweep::sweep_json;

/// The substitution variables of `statemachine/powerpole.asl.json` that name the task
/// functions, for running it where each function is known by its own name (the local runner).
#[must_use]
pub fn function_variables() -> std::collections::BTreeMap<String, String> {
    Function::ALL
        .into_iter()
        .map(|f| (f.variable(), f.name().to_owned()))
        .collect()
}

/// The `notify` function's tasks: `open_approval` (the blast radius first, see
/// [`Broker::survey`], then the card), `expire`, `denied`, `warn`, `fail`.
///
/// A gate that finds its request already decided (a retried gate after a click), cancelled, or
/// approves it by the cluster's policy (auto-approved READ) fails with
/// [`TaskError::GateClosed`]: the state machine catches it and runs `expire` at
/// once, which answers with the recorded decision, instead of waiting on a token nobody will
/// answer until the gate's timeout.
///
/// # Errors
/// [`TaskError`] classified for the state machine.
pub async fn notify<P: AccountPorts>(
    broker: &Broker<P>,
    payload: Value,
) -> Result<Value, TaskError> {
    match Task::parse(Function::Notify, payload)? {
        Task::OpenApproval { request_id, token } => {
            broker.survey(request_id).await?;
            match broker.open_approval(request_id, TaskToken(token)).await? {
                ApprovalGate::Opened(_) => Ok(json!({})),
                ApprovalGate::AutoApproved(_) => {
                    tracing::info!(request = %request_id, "approved by the cluster's policy");
                    Err(TaskError::GateClosed(format!(
                        "request {request_id} is approved by its cluster's policy: nothing to \
                         wait for"
                    )))
                }
                ApprovalGate::Closed(request) => {
                    tracing::info!(request = %request_id, state = %request.state(), "approval gate opened for a request no longer pending");
                    Err(TaskError::GateClosed(format!(
                        "request {request_id} is {}: nothing to wait for",
                        request.state()
                    )))
                }
            }
        }
        Task::Expire { request_id } => {
            let name = match broker.expire(request_id).await? {
                Some(Decision::Approve) => "approve",
                Some(Decision::Deny) => "deny",
                None => "expired",
            };
            Ok(json!({ "decision": name }))
        }
        Task::Denied { request_id } => {
            broker.tell_denied(request_id).await?;
            Ok(json!({}))
        }
        Task::Warn { request_id } => {
            broker.warn(request_id).await?;
            Ok(json!({}))
        }
        Task::Fail { request_id, error } => {
            let what = error.as_ref().map_or_else(
                || "a step failed".to_owned(),
                |e| format!("{} ({})", first_line(&e.message()), e.error),
            );
            broker.mark_failed(request_id, &what).await?;
            Ok(json!({}))
        }
        other => Err(other.refused_by(Function::Notify)),
    }
}

/// The `provision` function's tasks: `schedule`, `provision`, `activate` (which fails with
/// `NotReady` while the bastion boots, for the state machine to retry) and `check_end` (at the
/// end waited for: `{"extended", "start_at", "warn_at", "end_at"}`).
///
/// # Errors
/// [`TaskError`] classified for the state machine.
pub async fn provision<P: AccessPorts>(
    broker: &Broker<P>,
    payload: Value,
) -> Result<Value, TaskError> {
    match Task::parse(Function::Provision, payload)? {
        Task::Schedule { request_id } => {
            let schedule = broker.schedule(request_id).await?;
            Ok(json!({
                "start_at": timestamp(schedule.start_at),
                "warn_at": timestamp(schedule.warn_at),
                "end_at": timestamp(schedule.end_at),
            }))
        }
        Task::CheckEnd { request_id } => {
            let check = broker.check_end(request_id).await?;
            Ok(json!({
                "extended": check.extended,
                "start_at": timestamp(check.schedule.start_at),
                "warn_at": timestamp(check.schedule.warn_at),
                "end_at": timestamp(check.schedule.end_at),
            }))
        }
        Task::Provision { request_id } => {
            broker.provision(request_id).await?;
            Ok(json!({}))
        }
        Task::Activate { request_id } => match broker.activate(request_id).await? {
            Activation::Ready(_) => Ok(json!({})),
            Activation::BastionStarting => Err(TaskError::NotReady(format!(
                "the bastion of request {request_id} is still starting"
            ))),
        },
        other => Err(other.refused_by(Function::Provision)),
    }
}

/// The `teardown` function's tasks: `teardown` (the normal end), `cleanup` (after a failure)
/// and `receipt`, which assembles the request's session receipt from the store, the audit log
/// and the session log and posts it in the approval card's thread (once). The receipt answers
/// with the statement count, or `null` when the audit log was unavailable.
///
/// # Errors
/// [`TaskError`] classified for the state machine (a throttled log is `Retryable`).
pub async fn teardown<P: AccessPorts + EvidencePorts>(
    broker: &Broker<P>,
    payload: Value,
) -> Result<Value, TaskError> {
    let (request_id, why) = match Task::parse(Function::Teardown, payload)? {
        Task::Teardown { request_id } => (request_id, Teardown::End),
        Task::Cleanup { request_id } => (request_id, Teardown::AfterFailure),
        Task::Receipt { request_id } => {
            let receipt = broker.post_receipt(request_id).await?;
            let statements = receipt.database.found().map(|db| db.counts.total());
            return Ok(json!({ "statements": statements }));
        }
        other => return Err(other.refused_by(Function::Teardown)),
    };
    broker.teardown(request_id, why).await?;
    Ok(json!({}))
}

/// Runs `payload` on the task function named `function` (`notify`, `provision`, `teardown`):
/// how the local ASL runner dispatches the state machine's `FunctionName`.
///
/// # Errors
/// [`TaskError::NonRetryable`] for an unknown function; the task function's errors.
pub async fn invoke<P: AccessPorts + EvidencePorts>(
    broker: &Broker<P>,
    function: &str,
    payload: Value,
) -> Result<Value, TaskError> {
    match Function::parse(function)? {
        Function::Notify => notify(broker, payload).await,
        Function::Provision => provision(broker, payload).await,
        Function::Teardown => teardown(broker, payload).await,
    }
}

/// A timestamp as the state machine's `Wait` reads it: RFC 3339 in UTC.
fn timestamp(at: OffsetDateTime) -> String {
    rfc3339(at, Precision::Full)
}

fn first_line(text: &str) -> &str {
    let line = text.lines().next().unwrap_or_default();
    line.char_indices()
        .nth(300)
        .map_or(line, |(end, _)| &line[..end])
}
