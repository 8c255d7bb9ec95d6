//! The `sweep` Lambda. Runs on three EventBridge schedules. `{"task": "watch"}` (every minute) is
//! the live tripwires' look: each active request's recent audit records, and a message in the
//! card's thread for each new statement that trips (see `powerpole_core::Broker::watch`).
//! `{"task": "report"}` (weekly) is the security team's report of the last 7 whole UTC days: the
//! HTML page put in the reports bucket and its address posted to the approvers' channel (see
//! `powerpole_core::Broker::publish_report`), logins from outside `POWERPOLE_EXPECTED_HOSTS`
//! among its anomalies. Any other event (every five minutes) is one sweep of the store, the clusters' broker-made DB users, the password secrets and the bastions —
//! settles requests a workflow left behind and removes whatever no live request owns (see
//! `powerpole_core::Broker::sweep`). Every action is on the request's history or an orphan
//! record, and in one message to the approvers' channel.
//!
//! Reads [`SweepConfig`] from the environment and the clusters' admin secrets at cold start
//! (see `lambdas/README.md`). Every run prints one EMF line with `OrphansFound`,
//! `OldestBastionAge`, `OldestUserAge` and `UsersWithoutBackstop` (zero when nothing is left), so
//! a sweeper that stops
//! running shows as missing data. An invocation that met problems logs the report and fails, so
//! the function's `Errors` metric and its alarm show a sweeper that cannot do its job.

use lambda_runtime::{Diagnostic, LambdaEvent, run, service_fn};
use powerpole_aws::S3ReportArchive;
use powerpole_core::report::HostPatterns;
use powerpole_core::slo::Observation;
use powerpole_core::timefmt::{Precision, rfc3339};
use powerpole_core::usecases::SweepPolicy;
use powerpole_core::{Period, ReportScope};
use powerpole_lambda_shared::config::{ProcessEnv, REPORT_BUCKET, SweepConfig};
use powerpole_lambda_shared::wiring::{self, SweepBroker};
use powerpole_lambda_shared::{TaskError, diagnostic, emf, startup_failed};
use serde_json::{Value, json};

/// How many whole days the weekly report covers.
const REPORT_DAYS: u16 = 7;

/// What the weekly report needs besides the broker: where it goes, whom it expects logins from.
struct Reporting {
    archive: Option<S3ReportArchive>,
    expected_hosts: HostPatterns,
}

async fn handler(
    broker: &SweepBroker,
    policy: &SweepPolicy,
    reporting: &Reporting,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    match event.payload.get("task").and_then(Value::as_str) {
        Some("watch") => return watch(broker).await,
        Some("report") => return report(broker, reporting).await,
        _ => {}
    }
    let report = broker
        .sweep(policy)
        .await
        .map_err(|e| diagnostic(e.into()))?;
    emf::emit(&[
        Observation::orphans_found(report.orphans_found()),
        Observation::oldest_bastion_age(report.oldest_bastion.unwrap_or_default()),
        Observation::oldest_user_age(report.oldest_account.unwrap_or_default()),
        Observation::users_without_backstop(report.users_without_backstop),
    ]);
    let summary = powerpole_tasks::sweep_json(&report);
    tracing::info!(report = %summary, "sweep done");
    answer(summary, &report.problems)
}

/// `summary`, or a failed invocation naming the first of `problems`.
fn answer(summary: Value, problems: &[String]) -> Result<Value, Diagnostic> {
    match problems.first() {
        None => Ok(summary),
        Some(first) => Err(diagnostic(TaskError::Retryable(format!(
            "{} problem(s), first: {first}",
            problems.len()
        )))),
    }
}

/// The minute's look: the live tripwires, and decisions (approvals, denials) that did not reach their workflow sent
/// again; problems fail the invocation, as a sweep's do.
async fn watch(broker: &SweepBroker) -> Result<Value, Diagnostic> {
    let resent = broker
        .resume_undelivered()
        .await
        .map_err(|e| diagnostic(e.into()))?;
    let report = broker.watch().await.map_err(|e| diagnostic(e.into()))?;
    let summary = json!({
        "watched": report.watched,
        "tripped": report.tripped,
        "problems": report.problems,
        "approvals_resent": resent,
    });
    answer(summary, &report.problems)
}

/// The weekly report, archived and announced; without a bucket the invocation fails for good.
async fn report(broker: &SweepBroker, reporting: &Reporting) -> Result<Value, Diagnostic> {
    let Some(archive) = &reporting.archive else {
        return Err(diagnostic(TaskError::NonRetryable(format!(
            "{REPORT_BUCKET} is not set: there is nowhere to put the report"
        ))));
    };
    let period =
        Period::whole_days_before(broker.now(), REPORT_DAYS).map_err(|e| diagnostic(e.into()))?;
    let scope = ReportScope {
        expected_hosts: reporting.expected_hosts.clone(),
        ..ReportScope::of(period)
    };
    let published = broker
        .publish_report(archive, scope)
        .await
        .map_err(|e| diagnostic(e.into()))?;
    let summary = json!({
        "report": published.archived.location,
        "since": rfc3339(published.period.since(), Precision::Seconds),
        "until": rfc3339(published.period.until(), Precision::Seconds),
        "requests": published.requests,
        "anomalies": published.anomalies,
        "orphans": published.orphans,
    });
    tracing::info!(report = %summary, "report published");
    Ok(summary)
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    powerpole_lambda_shared::init_tracing();
    powerpole_slack::install_crypto_provider();
    let config = SweepConfig::from_env(&ProcessEnv).map_err(startup_failed)?;
    let policy = config.policy();
    let sdk = powerpole_aws::config::load(None).await;
    let reporting = Reporting {
        archive: config
            .report_bucket
            .as_deref()
            .map(|bucket| wiring::report_archive(&sdk, bucket))
            .transpose()
            .map_err(startup_failed)?,
        expected_hosts: config.expected_hosts.clone(),
    };
    let broker = wiring::sweep_broker(&sdk, config)
        .await
        .map_err(startup_failed)?;
    run(service_fn(|event| {
        handler(&broker, &policy, &reporting, event)
    }))
    .await
}
