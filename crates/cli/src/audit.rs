//! `powerpole audit ID`: a request's session receipt, assembled now from the broker's state, the
//! clusters' `server_audit` files (`audit_log`) and — locally — no bastion: markdown for people,
//! `--json` for tools. Every statement shown has its passwords masked.

use std::fmt::Write as _;

use anyhow::Context as _;
use powerpole_core::receipt::{BastionSession, CommandKind, DbActivity, Gathered, Statement};
use powerpole_core::{Actor, Broker, EvidencePorts, Ports, Receipt, RequestId, StatementKind};
use powerpole_local::{NoBastionSessions, ScaledClock, SqliteStore};
use serde_json::{Value, json};

use crate::config::Config;
use crate::requests::at;

/// The receipt of request `id` as markdown, or JSON with `as_json`.
///
/// # Errors
/// A malformed or unknown id; no broker state; the store's errors.
pub async fn show(config: &Config, id: &str, as_json: bool) -> anyhow::Result<String> {
    let id = RequestId::parse(id).context("not a request id")?;
    let broker = evidence_broker(config).await?;
    let receipt = match broker.receipt(id).await {
        Err(powerpole_core::Error::NotFound(what)) if what == format!("request {id}") => {
            anyhow::bail!("no request {id}")
        }
        other => other?,
    };
    if as_json {
        Ok(serde_json::to_string_pretty(&to_json(&receipt))?)
    } else {
        Ok(markdown(&receipt))
    }
}

/// A broker over the state directory's store, on its saved clock, reading the clusters'
/// `audit_log` files (and no bastion): what receipts and reports read.
///
/// # Errors
/// No broker state; the Slack client cannot be set up.
pub async fn evidence_broker(
    config: &Config,
) -> anyhow::Result<Broker<impl EvidencePorts<Store = SqliteStore>>> {
    let store = crate::requests::open(&config.state_dir).await?;
    let clock = match crate::state::saved_clock(&config.state_dir) {
        Some(clock) => clock,
        None => ScaledClock::new(1.0)?,
    };
    let ports = Ports::new(store, crate::serve::chat(config)?, clock)
        .with_evidence(crate::serve::audit_files(config, clock), NoBastionSessions);
    Ok(Broker::new(ports, crate::serve::clusters(config)))
}

pub(crate) fn actor(a: &Actor) -> String {
    match a {
        Actor::User(user) => user.to_string(),
        Actor::System(component) => format!("the {}", component.as_str()),
    }
}

pub(crate) fn statement_json(s: &Statement) -> Value {
    json!({
        "at": at(s.at),
        "connection_id": s.connection_id,
        "database": s.database,
        "kind": s.kind.as_str(),
        "statement": s.text,
        "retcode": s.retcode,
    })
}

fn session_json(s: &BastionSession) -> Value {
    json!({
        "id": s.id,
        "principal": s.principal,
        "bastion": s.bastion.0,
        "first_seen": at(s.first_seen),
        "last_seen": at(s.last_seen),
        "commands": s.commands.iter().map(|c| json!({
            "at": at(c.at),
            "kind": c.kind.as_str(),
            "text": c.text,
        })).collect::<Vec<_>>(),
    })
}

fn gathered<T>(g: &Gathered<T>, found: impl Fn(&T) -> Value) -> Value {
    match g {
        Gathered::Found(value) => found(value),
        Gathered::Unavailable { why } => json!({ "unavailable": why }),
    }
}

fn db_json(db: &DbActivity) -> Value {
    let counts: serde_json::Map<String, Value> = StatementKind::ALL
        .iter()
        .map(|k| (k.as_str().to_owned(), json!(db.counts.of(*k))))
        .collect();
    json!({
        "used": db.used.map(|u| json!({
            "first_connect": at(u.first_connect),
            "last_disconnect": at(u.last_disconnect),
        })),
        "sessions": db.sessions,
        "failed_logins": db.failed_logins,
        "logins": db.logins.iter().map(|l| json!({
            "at": at(l.at),
            "host": l.host,
            "connection_id": l.connection_id,
            "refused": l.refused,
        })).collect::<Vec<_>>(),
        "statements": db.counts.total(),
        "counts": counts,
        "ddl_dcl": db.ddl_dcl.iter().map(statement_json).collect::<Vec<_>>(),
        "failed": db.failed.iter().map(statement_json).collect::<Vec<_>>(),
        "outside_window": db.outside_window.iter().map(statement_json).collect::<Vec<_>>(),
        "tables": db.tables,
    })
}

/// The receipt as JSON.
#[must_use]
pub fn to_json(r: &Receipt) -> Value {
    json!({
        "request": r.request.to_string(),
        "state": r.state.as_str(),
        "requester": r.requester.as_str(),
        "requested_at": at(r.requested_at),
        "reason": r.reason,
        "cluster": r.cluster.as_str(),
        "region": r.region.as_str(),
        "permission": r.permission.as_str(),
        "level_needed": r.database.found().map(|db| db.level_needed().map(|p| p.as_str())),
        "db_user": r.db_username.as_str(),
        "decision": r.decision.as_ref().map(|d| json!({
            "kind": d.kind.as_str(),
            "by": actor(&d.by),
            "at": at(d.at),
        })),
        "granted": { "start": at(r.granted.start()), "end": at(r.granted.end()) },
        "ended_at": r.ended_at.map(at),
        "bastion": r.bastion.as_ref().map(|b| b.0.clone()),
        "database": gathered(&r.database, db_json),
        "bastion_sessions": gathered(&r.bastion_sessions, |list| {
            json!(list.iter().map(session_json).collect::<Vec<_>>())
        }),
    })
}

fn code_block(out: &mut String, title: &str, statements: &[Statement], with_code: bool) {
    let _ = writeln!(out, "\n## {title} ({})\n", statements.len());
    if statements.is_empty() {
        out.push_str("none\n");
        return;
    }
    out.push_str("```sql\n");
    for s in statements {
        let error = if with_code {
            format!(" -- error {}", s.retcode)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "-- {} #{} {}{error}\n{};",
            at(s.at),
            s.connection_id,
            s.kind,
            s.text.replace("```", "` ``")
        );
    }
    out.push_str("```\n");
}

/// The receipt as markdown.
#[must_use]
pub fn markdown(r: &Receipt) -> String {
    let mut out = format!("# Session receipt — request {}\n\n", r.request);
    let decision = r.decision.as_ref().map_or_else(
        || "none".to_owned(),
        |d| format!("{} by {} at {}", d.kind, actor(&d.by), at(d.at)),
    );
    let rows = [
        ("State", r.state.as_str().to_owned()),
        (
            "Requester",
            format!("{} at {}", r.requester, at(r.requested_at)),
        ),
        ("Decision", decision),
        ("Reason", r.reason.replace(['\n', '|'], " ")),
        (
            "Cluster",
            format!("{} ({}) · {}", r.cluster, r.region, r.permission),
        ),
        ("DB user", r.db_username.to_string()),
        (
            "Level",
            r.level_used()
                .unwrap_or_else(|| format!("{} granted, use unknown", r.permission)),
        ),
        (
            "Window granted",
            format!("{} → {}", at(r.granted.start()), at(r.granted.end())),
        ),
        (
            "Window used",
            match &r.database {
                Gathered::Found(DbActivity { used: Some(u), .. }) => {
                    format!("{} → {}", at(u.first_connect), at(u.last_disconnect))
                }
                Gathered::Found(_) => "never connected".to_owned(),
                Gathered::Unavailable { .. } => "unknown (no audit log)".to_owned(),
            },
        ),
        (
            "Access removed",
            r.ended_at.map_or_else(|| "not yet".to_owned(), at),
        ),
    ];
    out.push_str("| | |\n|---|---|\n");
    for (key, value) in rows {
        let _ = writeln!(out, "| {key} | {value} |");
    }
    match &r.database {
        Gathered::Found(db) => {
            let counts: Vec<String> = StatementKind::ALL
                .iter()
                .map(|k| format!("{} {}", db.counts.of(*k), k))
                .collect();
            let _ = writeln!(
                out,
                "\n## Statements ({})\n\n{} · sessions {} · refused logins {}",
                db.counts.total(),
                counts.join(" · "),
                db.sessions,
                db.failed_logins
            );
            code_block(&mut out, "DDL and DCL statements", &db.ddl_dcl, false);
            code_block(&mut out, "Failed statements", &db.failed, true);
            code_block(
                &mut out,
                "Statements outside the window",
                &db.outside_window,
                false,
            );
            let _ = writeln!(out, "\n## Tables touched ({})\n", db.tables.len());
            if db.tables.is_empty() {
                out.push_str("none\n");
            }
            for table in &db.tables {
                let _ = writeln!(out, "- `{table}`");
            }
        }
        Gathered::Unavailable { why } => {
            let _ = writeln!(out, "\n## Database audit log\n\nunavailable: {why}");
        }
    }
    out.push_str("\n## SSM sessions on the bastion\n\n");
    match &r.bastion_sessions {
        Gathered::Found(list) if list.is_empty() => out.push_str("none\n"),
        Gathered::Found(list) => {
            for s in list {
                let _ = writeln!(
                    out,
                    "- `{}` by `{}` on {}: {} → {}, {} command(s)",
                    s.id,
                    s.principal,
                    s.bastion.0,
                    at(s.first_seen),
                    at(s.last_seen),
                    s.commands.len()
                );
                if !s.commands.is_empty() {
                    out.push_str("\n  ```console\n");
                    for c in &s.commands {
                        let prompt = match c.kind {
                            CommandKind::Shell => "$",
                            CommandKind::Sql => "mysql>",
                        };
                        let _ = writeln!(out, "  {} {prompt} {}", at(c.at), c.text);
                    }
                    out.push_str("  ```\n");
                }
            }
        }
        Gathered::Unavailable { why } => {
            let _ = writeln!(out, "unavailable: {why}");
        }
    }
    out
}
