//! A sweep report as JSON, as the `sweep` Lambda logs it and `powerpole sweep --json` prints it.

use powerpole_core::sweep::{SweepAction, SweepReport};
use serde_json::{Value, json};

use crate::timestamp;

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
        "at": timestamp(report.at),
        "actions": actions,
        "orphans_found": report.orphans_found(),
        "problems": report.problems,
        "oldest_bastion_seconds": report.oldest_bastion.map(|d| d.whole_seconds()),
        "oldest_user_seconds": report.oldest_account.map(|d| d.whole_seconds()),
        "users_without_backstop": report.users_without_backstop,
    })
}
