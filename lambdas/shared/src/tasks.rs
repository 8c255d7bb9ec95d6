//! The workflow's tasks: what the `notify`, `provision` and `teardown` Lambdas do with the
//! payload the state machine sends them, and what the local ASL runner calls for the same
//! `FunctionName`. Each handler parses the payload, calls one core use case and maps the result
//! to the JSON the state machine reads (or to a [`TaskError`] its `Retry`/`Catch` match).
//!
//! The `teardown` function also posts the session receipt ([`receipt`], task `receipt`).
//!
//! Payload: `{"task": "<name>", "request_id": "<ULID>", "token"?: "<task token>", "error"?:
//! {"Error", "Cause"}}` — ids and timestamps only, never a secret.
//!
//! The `*_observed` forms also hand the SLO observations of what the step recorded
//! ([`slo::recorded_at`]) to a sink: the Lambdas print them as EMF lines; the local runner calls
//! the plain forms, which drop them.

use powerpole_core::ports::{
    AuditSource, BastionFleet, Chat, DbAccounts, Decision, RequestStore, SecretVault, SessionLog,
    TaskToken,
};
use powerpole_core::usecases::{
    self, Activation, ApprovalGate, SweepAction, SweepPolicy, SweepPorts, SweepReport, Teardown,
};
use powerpole_core::slo::{self, Observation};
use powerpole_core::{Clock, ClusterPolicy, RequestId};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::TaskError;

/// The `FunctionName` the local runner knows each Lambda by (terraform fills the ARNs in).
pub const NOTIFY: &str = "notify";
/// See [`NOTIFY`].
pub const PROVISION: &str = "provision";
/// See [`NOTIFY`].
pub const TEARDOWN: &str = "teardown";
/// The task of the `teardown` function that posts the session receipt.
pub const RECEIPT_TASK: &str = "receipt";

/// The payload of a task.
#[derive(Debug, Deserialize)]
pub struct TaskPayload {
    /// Which task.
    pub task: String,
    /// The request.
    pub request_id: String,
    /// The approval gate's task token (`open_approval` only).
    #[serde(default)]
    pub token: Option<String>,
    /// The error a `Catch` recorded (`fail` only).
    #[serde(default)]
    pub error: Option<CaughtError>,
}

/// An error as a `Catch` with `ResultPath` records it.
#[derive(Debug, Deserialize)]
pub struct CaughtError {
    /// The error name (`Retryable`, `States.Timeout`, …).
    #[serde(rename = "Error", default)]
    pub error: String,
    /// What went wrong.
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

impl CaughtError {
    /// What went wrong: a Lambda error's `errorMessage` (Step Functions puts the Lambda's error
    /// JSON in `Cause`), or the cause as it is.
    #[must_use]
    pub fn message(&self) -> String {
        serde_json::from_str::<Value>(&self.cause)
            .ok()
            .and_then(|v| v.get("errorMessage")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| self.cause.clone())
    }
}

impl TaskPayload {
    /// Parses a task payload.
    ///
    /// # Errors
    /// [`TaskError::NonRetryable`] when it is not one.
    pub fn parse(payload: Value) -> Result<Self, TaskError> {
        serde_json::from_value(payload)
            .map_err(|e| TaskError::NonRetryable(format!("bad task payload: {e}")))
    }

    fn id(&self) -> Result<RequestId, TaskError> {
        Ok(RequestId::parse(&self.request_id)?)
    }

    fn unknown(&self, function: &str) -> TaskError {
        TaskError::NonRetryable(format!("{function} has no task {:?}", self.task))
    }
}

/// The `notify` Lambda's tasks: `open_approval`, `expire`, `denied`, `warn`, `fail`.
///
/// A gate that finds its request already decided (a retried gate after a click) leaves the
/// token unanswered: the gate's timeout then runs `expire`, which answers with the recorded
/// decision, so the workflow carries on either way.
///
/// # Errors
/// [`TaskError`] classified for the state machine.
pub async fn notify<S, C, K>(
    store: &S,
    chat: &C,
    clock: &K,
    payload: Value,
) -> Result<Value, TaskError>
where
    S: RequestStore,
    C: Chat,
    K: Clock,
{
    notify_observed(store, chat, clock, payload, |_| {}).await
}

/// [`notify`], handing `observe` the `BuildFailed` / `TeardownFailed` a `fail` records.
///
/// # Errors
/// As [`notify`].
pub async fn notify_observed<S, C, K, O>(
    store: &S,
    chat: &C,
    clock: &K,
    payload: Value,
    observe: O,
) -> Result<Value, TaskError>
where
    S: RequestStore,
    C: Chat,
    K: Clock,
    O: Fn(&[Observation]),
{
    let payload = TaskPayload::parse(payload)?;
    let id = payload.id()?;
    let now = clock.now();
    match payload.task.as_str() {
        "open_approval" => {
            let token = TaskToken(payload.token.clone().ok_or_else(|| {
                TaskError::NonRetryable("open_approval needs the task token".into())
            })?);
            if let ApprovalGate::Closed(request) =
                usecases::open_approval(store, chat, id, token).await?
            {
                tracing::warn!(request = %id, state = %request.state(), "approval gate opened for a request no longer pending");
            }
            Ok(json!({}))
        }
        "expire" => {
            let decision = usecases::expire(store, chat, id, now).await?;
            let name = match decision {
                Some(Decision::Approve) => "approve",
                Some(Decision::Deny) => "deny",
                None => "expired",
            };
            Ok(json!({ "decision": name }))
        }
        "denied" => {
            usecases::tell_denied(store, chat, id, now).await?;
            Ok(json!({}))
        }
        "warn" => {
            usecases::warn(store, chat, id, now).await?;
            Ok(json!({}))
        }
        "fail" => {
            let what = payload.error.as_ref().map_or_else(
                || "a step failed".to_owned(),
                |e| format!("{} ({})", first_line(&e.message()), e.error),
            );
            let request = usecases::mark_failed(store, chat, id, &what, now).await?;
            observe(&slo::recorded_at(&request, now));
            Ok(json!({}))
        }
        _ => Err(payload.unknown(NOTIFY)),
    }
}

/// What the `provision` and `teardown` Lambdas need.
#[derive(Debug)]
pub struct AccessPorts<S, V, F, A, C, K> {
    /// The request store.
    pub store: S,
    /// Where passwords live.
    pub vault: V,
    /// Bastions.
    pub fleet: F,
    /// DB accounts on the clusters.
    pub accounts: A,
    /// Slack.
    pub chat: C,
    /// The clock.
    pub clock: K,
    /// The clusters served.
    pub clusters: Vec<ClusterPolicy>,
}

/// The `provision` Lambda's tasks: `schedule`, `provision`, `activate` (which fails with
/// `NotReady` while the bastion boots, for the state machine to retry).
///
/// # Errors
/// [`TaskError`] classified for the state machine.
pub async fn provision<S, V, F, A, C, K>(
    ports: &AccessPorts<S, V, F, A, C, K>,
    payload: Value,
) -> Result<Value, TaskError>
where
    S: RequestStore,
    V: SecretVault,
    F: BastionFleet,
    A: DbAccounts,
    C: Chat,
    K: Clock,
{
    provision_observed(ports, payload, |_| {}).await
}

/// [`provision`], handing `observe` the `BuildSucceeded` and `TimeToReady` an `activate`
/// records.
///
/// # Errors
/// As [`provision`].
pub async fn provision_observed<S, V, F, A, C, K, O>(
    ports: &AccessPorts<S, V, F, A, C, K>,
    payload: Value,
    observe: O,
) -> Result<Value, TaskError>
where
    S: RequestStore,
    V: SecretVault,
    F: BastionFleet,
    A: DbAccounts,
    C: Chat,
    K: Clock,
    O: Fn(&[Observation]),
{
    let payload = TaskPayload::parse(payload)?;
    let id = payload.id()?;
    let p = ports;
    match payload.task.as_str() {
        "schedule" => {
            let schedule = usecases::schedule(&p.store, id).await?;
            Ok(json!({
                "start_at": timestamp(schedule.start_at)?,
                "warn_at": timestamp(schedule.warn_at)?,
                "end_at": timestamp(schedule.end_at)?,
            }))
        }
        "provision" => {
            let now = p.clock.now();
            usecases::provision(
                &p.store,
                &p.vault,
                &p.fleet,
                &p.accounts,
                &p.clusters,
                id,
                now,
            )
            .await?;
            Ok(json!({}))
        }
        "activate" => {
            let now = p.clock.now();
            match usecases::activate(&p.store, &p.fleet, &p.chat, &p.clusters, id, now).await? {
                Activation::Ready(request) => {
                    observe(&slo::recorded_at(&request, now));
                    Ok(json!({}))
                }
                Activation::BastionStarting => Err(TaskError::NotReady(format!(
                    "the bastion of request {id} is still starting"
                ))),
            }
        }
        _ => Err(payload.unknown(PROVISION)),
    }
}

/// The `teardown` Lambda's tasks: `teardown` (the normal end) and `cleanup` (after a failure).
///
/// # Errors
/// [`TaskError`] classified for the state machine.
pub async fn teardown<S, V, F, A, C, K>(
    ports: &AccessPorts<S, V, F, A, C, K>,
    payload: Value,
) -> Result<Value, TaskError>
where
    S: RequestStore,
    V: SecretVault,
    F: BastionFleet,
    A: DbAccounts,
    C: Chat,
    K: Clock,
{
    teardown_observed(ports, payload, |_| {}).await
}

/// [`teardown`], handing `observe` the `TeardownSucceeded` a completed removal records (a
/// removal that fails for good is counted by `notify`'s `fail`, as `TeardownFailed`).
///
/// # Errors
/// As [`teardown`].
pub async fn teardown_observed<S, V, F, A, C, K, O>(
    ports: &AccessPorts<S, V, F, A, C, K>,
    payload: Value,
    observe: O,
) -> Result<Value, TaskError>
where
    S: RequestStore,
    V: SecretVault,
    F: BastionFleet,
    A: DbAccounts,
    C: Chat,
    K: Clock,
    O: Fn(&[Observation]),
{
    let payload = TaskPayload::parse(payload)?;
    let id = payload.id()?;
    let why = match payload.task.as_str() {
        "teardown" => Teardown::End,
        "cleanup" => Teardown::AfterFailure,
        _ => return Err(payload.unknown(TEARDOWN)),
    };
    let p = ports;
    let now = p.clock.now();
    let request = usecases::teardown(
        &p.store,
        &p.vault,
        &p.fleet,
        &p.accounts,
        &p.chat,
        &p.clusters,
        id,
        why,
        now,
    )
    .await?;
    observe(&slo::recorded_at(&request, now));
    Ok(json!({}))
}

/// One sweep (the `sweep` Lambda on its schedule, `powerpole sweep` locally) over the same
/// ports the teardown uses.
///
/// # Errors
/// [`TaskError`] when the sweep as a whole fails; problems with single items are in the report.
pub async fn sweep<S, V, F, A, C, K>(
    ports: &AccessPorts<S, V, F, A, C, K>,
    policy: &SweepPolicy,
) -> Result<SweepReport, TaskError>
where
    S: RequestStore,
    V: SecretVault,
    F: BastionFleet,
    A: DbAccounts,
    C: Chat,
    K: Clock,
{
    let p = ports;
    let sweep_ports = SweepPorts {
        store: &p.store,
        vault: &p.vault,
        fleet: &p.fleet,
        accounts: &p.accounts,
        chat: &p.chat,
        clusters: &p.clusters,
    };
    Ok(usecases::sweep(sweep_ports, policy, p.clock.now()).await?)
}

/// A sweep report as JSON: what was settled and removed, the problems, the oldest bastion and
/// DB user left (seconds).
#[must_use]
pub fn sweep_json(report: &SweepReport) -> Value {
    let actions: Vec<Value> = report
        .actions
        .iter()
        .map(|action| match action {
            SweepAction::Settled { request, detail } => json!({
                "action": "settled",
                "request_id": request.to_string(),
                "detail": detail,
            }),
            SweepAction::Removed {
                kind,
                resource,
                request,
                orphan,
                detail,
            } => json!({
                "action": "removed",
                "kind": kind.as_str(),
                "resource": resource,
                "request_id": request.map(|id| id.to_string()),
                "orphan": orphan,
                "detail": detail,
            }),
        })
        .collect();
    json!({
        "at": timestamp(report.at).unwrap_or_default(),
        "actions": actions,
        "orphans_found": report.orphans_found(),
        "problems": report.problems,
        "oldest_bastion_seconds": report.oldest_bastion.map(|d| d.whole_seconds()),
        "oldest_user_seconds": report.oldest_account.map(|d| d.whole_seconds()),
    })
}

/// Whether a payload for the `teardown` function asks for the session receipt
/// ([`receipt`]) rather than a teardown.
#[must_use]
pub fn is_receipt(payload: &Value) -> bool {
    payload.get("task").and_then(Value::as_str) == Some(RECEIPT_TASK)
}

/// The `teardown` function's `receipt` task: assembles the request's session receipt from the
/// store, the audit log and the session log, and posts it in the approval card's thread (once).
/// Answers with the statement count, or `null` when the audit log was unavailable.
///
/// # Errors
/// [`TaskError`] classified for the state machine (a throttled log is `Retryable`).
pub async fn receipt<S, C, K, U, L>(
    store: &S,
    chat: &C,
    clock: &K,
    audit: &U,
    sessions: &L,
    payload: Value,
) -> Result<Value, TaskError>
where
    S: RequestStore,
    C: Chat,
    K: Clock,
    U: AuditSource,
    L: SessionLog,
{
    let payload = TaskPayload::parse(payload)?;
    if payload.task != RECEIPT_TASK {
        return Err(payload.unknown(TEARDOWN));
    }
    let id = payload.id()?;
    let receipt = usecases::post_receipt(store, audit, sessions, chat, id, clock.now()).await?;
    let statements = receipt.database.found().map(|db| db.counts.total());
    Ok(json!({ "statements": statements }))
}

/// A timestamp as the state machine's `Wait` reads it: RFC 3339 in UTC.
fn timestamp(at: OffsetDateTime) -> Result<String, TaskError> {
    at.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .map_err(|e| TaskError::NonRetryable(format!("unprintable time: {e}")))
}

fn first_line(text: &str) -> &str {
    let line = text.lines().next().unwrap_or_default();
    line.char_indices()
        .nth(300)
        .map_or(line, |(end, _)| &line[..end])
}
