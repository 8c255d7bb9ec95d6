//! `powerpole requests list|show`: what the broker's state holds, as a table or JSON.

use std::path::Path;

use anyhow::Context as _;
use powerpole_core::ports::RequestStore;
use powerpole_core::timefmt::{Precision, rfc3339};
use powerpole_core::{AccessRequest, RequestId};
use powerpole_local::SqliteStore;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// Opens the store of a state directory, read as the running broker wrote it.
///
/// # Errors
/// When there is no state there yet or it cannot be opened.
pub async fn open(state_dir: &Path) -> anyhow::Result<SqliteStore> {
    let file = crate::state::database(state_dir);
    anyhow::ensure!(
        file.exists(),
        "no broker state at {} (has `powerpole serve` run with this configuration?)",
        file.display()
    );
    let pool = powerpole_local::sqlite::open(&file).await?;
    Ok(SqliteStore::open(pool).await?)
}

/// A time as the commands print it: RFC 3339.
pub(crate) fn at(t: OffsetDateTime) -> String {
    rfc3339(t, Precision::Full)
}

fn summary(r: &AccessRequest) -> Value {
    let spec = r.spec();
    let window = r.window();
    json!({
        "id": r.id().to_string(),
        "state": r.state().as_str(),
        "requester": r.requester().as_str(),
        "db_user": r.db_username().as_str(),
        "cluster": spec.cluster.as_str(),
        "region": spec.region.as_str(),
        "permission": spec.permission.as_str(),
        "start": at(window.start()),
        "end": at(window.end()),
        "reason": spec.reason.as_str(),
        "cleanup_owed": r.cleanup_owed(),
    })
}

/// The most recent `limit` requests.
///
/// # Errors
/// The store's errors.
pub async fn list(store: &SqliteStore, limit: usize, as_json: bool) -> anyhow::Result<String> {
    let requests = store.recent(limit).await?;
    if as_json {
        let all: Vec<Value> = requests.iter().map(summary).collect();
        return Ok(serde_json::to_string_pretty(&all)?);
    }
    let rows: Vec<[String; 6]> = requests
        .iter()
        .map(|r| {
            let w = r.window();
            [
                r.id().to_string(),
                r.state().as_str().to_owned(),
                r.spec().cluster.to_string(),
                r.spec().permission.to_string(),
                r.db_username().to_string(),
                format!("{} → {}", at(w.start()), at(w.end())),
            ]
        })
        .collect();
    let mut out = table(
        ["ID", "STATE", "CLUSTER", "LVL", "DB USER", "WINDOW (UTC)"],
        &rows,
    );
    if requests.is_empty() {
        out.push_str("\n(no requests yet)");
    }
    Ok(out)
}

/// `rows` under `headers`, each column as wide as its widest cell, two spaces apart.
fn table<const N: usize>(headers: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = headers.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; N]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut lines = vec![line(headers)];
    lines.extend(
        rows.iter()
            .map(|row| line(row.each_ref().map(String::as_str))),
    );
    lines.join("\n")
}

/// One request with its events.
///
/// # Errors
/// An unknown or malformed id; the store's errors.
pub async fn show(store: &SqliteStore, id: &str, as_json: bool) -> anyhow::Result<String> {
    let id = RequestId::parse(id).context("not a request id")?;
    let request = store
        .get(id)
        .await?
        .with_context(|| format!("no request {id}"))?;
    let events: Vec<Value> = request
        .events()
        .iter()
        .map(|e| {
            json!({
                "at": at(e.at),
                "actor": e.actor.to_string(),
                "kind": e.kind.as_str(),
                "detail": e.detail,
            })
        })
        .collect();
    if as_json {
        let mut shown = summary(&request);
        shown["events"] = Value::Array(events);
        return Ok(serde_json::to_string_pretty(&shown)?);
    }
    let mut out = String::new();
    for (key, value) in summary(&request).as_object().into_iter().flatten() {
        out.push_str(&format!(
            "{key:<13} {}\n",
            value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned)
        ));
    }
    out.push_str("events:");
    for e in request.events() {
        out.push_str(&format!(
            "\n  {}  {:<20} {:<22} {}",
            at(e.at),
            e.kind.as_str(),
            e.actor.to_string(),
            e.detail
        ));
    }
    Ok(out)
}
