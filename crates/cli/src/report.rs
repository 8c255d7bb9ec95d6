//! `powerpole report`: the security team's report of a period — every request with its session
//! receipt, anomalies first, who held access each day — as one self-contained HTML file, or as
//! JSON Lines for a SIEM (one object per request, then one per orphan; README: "The period
//! report"). Read from the broker's state and the clusters' `audit_log` files, like
//! `powerpole audit`; every statement has its passwords masked.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use powerpole_core::report::{Anomaly, HeldAccess, HostPatterns, Report, ReportEntry, html};
use powerpole_core::timefmt::{Precision, rfc3339};
use powerpole_core::{ClusterId, Period, ReportScope};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime, Time};

use crate::config::{Config, ConfigError};
use crate::requests::at;

/// How far back a report goes without `--since`.
pub const DEFAULT_SPAN: Duration = Duration::days(7);

/// What to report on and how.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The period's start (RFC 3339 or `YYYY-MM-DD`); `until` minus 7 days by default.
    pub since: Option<String>,
    /// The period's end (RFC 3339 or `YYYY-MM-DD`, excluded); the broker's now by default.
    pub until: Option<String>,
    /// Only this cluster.
    pub cluster: Option<String>,
    /// Only this person (Slack user id or DB user).
    pub user: Option<String>,
    /// The hosts logins are expected from (MySQL patterns); this machine by default.
    pub expected_hosts: Vec<String>,
    /// Where to write the report; stdout for JSON when unset, `report.html` for HTML.
    pub out: Option<PathBuf>,
    /// JSON Lines instead of HTML.
    pub json: bool,
}

/// Where the HTML report goes without `--out`.
pub const DEFAULT_OUT: &str = "report.html";

fn parse_time(key: &str, text: &str) -> Result<OffsetDateTime, ConfigError> {
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(at);
    }
    let day = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, day)
        .map(|d| d.with_time(Time::MIDNIGHT).assume_utc())
        .map_err(|_| ConfigError {
            key: key.into(),
            problem: format!(
                "{text:?} is not a time: give RFC 3339 (2026-11-23T10:00:00Z) or a day (2026-11-23, midnight UTC)"
            ),
        })
}

/// The scope `options` ask for, with the broker's time `now` as the default end.
///
/// # Errors
/// [`ConfigError`] for a time, period or cluster id that cannot be read.
pub fn scope(options: &Options, now: OffsetDateTime) -> Result<ReportScope, ConfigError> {
    let until = options
        .until
        .as_deref()
        .map(|t| parse_time("--until", t))
        .transpose()?
        .unwrap_or(now);
    let since = options
        .since
        .as_deref()
        .map(|t| parse_time("--since", t))
        .transpose()?
        .unwrap_or(until - DEFAULT_SPAN);
    let period = Period::new(since, until).map_err(|e| ConfigError {
        key: "--since".into(),
        problem: e.to_string(),
    })?;
    let cluster = options
        .cluster
        .as_deref()
        .map(ClusterId::parse)
        .transpose()
        .map_err(|e| ConfigError {
            key: "--cluster".into(),
            problem: e.to_string(),
        })?;
    let expected_hosts = if options.expected_hosts.is_empty() {
        HostPatterns::loopback()
    } else {
        HostPatterns::new(options.expected_hosts.iter().cloned())
    };
    Ok(ReportScope {
        period,
        cluster,
        user: options.user.clone(),
        expected_hosts,
    })
}

/// What `powerpole report` did.
#[derive(Debug)]
pub struct Written {
    /// What to print: a summary with the file's path, or the JSON Lines themselves.
    pub shown: String,
    /// The report.
    pub report: Report,
}

/// Makes the report `options` ask for from the state and audit logs of `config`.
///
/// # Errors
/// A bad option; no broker state; the store's or a source's errors; the file cannot be written.
pub async fn run(config: &Config, options: &Options) -> anyhow::Result<Written> {
    let scope = scope(options, crate::state::broker_now(&config.state_dir))?;
    let broker = crate::audit::evidence_broker(config).await?;
    let report = broker.period_report(scope).await?;
    let shown = if options.json {
        let lines = json_lines(&report)?;
        match &options.out {
            Some(path) => {
                write(path, &lines)?;
                summary(&report, path)
            }
            None => lines.trim_end().to_owned(),
        }
    } else {
        let path = options
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_OUT));
        write(&path, &html::render(&report))?;
        summary(&report, &path)
    };
    Ok(Written { shown, report })
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn summary(report: &Report, path: &Path) -> String {
    let shown = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    format!(
        "wrote {}: {} from {} to {}",
        shown.display(),
        report.summary(),
        rfc3339(report.scope.period.since(), Precision::Seconds),
        rfc3339(report.scope.period.until(), Precision::Seconds),
    )
}

fn anomaly_json(a: &Anomaly) -> Value {
    json!({
        "kind": a.kind.as_str(),
        "at": at(a.at),
        "request": a.request.map(|id| id.to_string()),
        "cluster": a.cluster.as_ref().map(ClusterId::as_str),
        "db_user": a.db_user,
        "subject": a.subject,
        "note": a.note,
    })
}

fn held_json(held: Option<HeldAccess>) -> Value {
    held.map_or(
        Value::Null,
        |h| json!({ "from": at(h.from), "to": at(h.to), "still_held": h.still_held }),
    )
}

fn entry_json(report: &Report, entry: &ReportEntry) -> Value {
    let mut object = crate::audit::to_json(&entry.receipt);
    object["record"] = json!("request");
    object["requested"] = json!({
        "start": at(entry.requested.start()),
        "end": at(entry.requested.end()),
    });
    object["held"] = held_json(entry.held);
    object["anomalies"] = report
        .anomalies_of(entry.receipt.request)
        .map(anomaly_json)
        .collect();
    object
}

/// The report as JSON Lines: one object per request (`"record": "request"`, the receipt of
/// `powerpole audit --json` plus `requested`, `held` and `anomalies`), then one per orphan
/// (`"record": "orphan"`).
///
/// # Errors
/// Never in practice (serialising a `Value`).
pub fn json_lines(report: &Report) -> serde_json::Result<String> {
    let mut out = String::new();
    for entry in &report.entries {
        out.push_str(&serde_json::to_string(&entry_json(report, entry))?);
        out.push('\n');
    }
    for orphan in &report.orphans {
        let object = json!({
            "record": "orphan",
            "kind": orphan.kind.as_str(),
            "resource": orphan.resource,
            "request": orphan.request.map(|id| id.to_string()),
            "found_at": at(orphan.found_at),
            "detail": orphan.detail,
        });
        out.push_str(&serde_json::to_string(&object)?);
        out.push('\n');
    }
    Ok(out)
}
