//! `powerpole audit ID`: a request's session receipt, assembled now from the broker's state, the
//! clusters' `server_audit` files (`audit_log`) and — locally — no bastion: markdown for people,
//! `--json` for tools. Every statement shown has its passwords masked.

use std::fmt::Write as _;

use anyhow::Context as _;
use powerpole_core::receipt::{
    BastionSession, CommandKind, DbActivity, ExtensionRecord, Gathered, Statement,
};
use powerpole_core::{
    Actor, Broker, EvidencePorts, Ports, Receipt, RequestId, SlackUserId, StatementKind,
};
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

fn extension_json(e: &ExtensionRecord) -> Value {
    json!({
        "number": e.number,
        "minutes": e.length.minutes(),
        "reason": e.reason,
        "asked_by": e.asked_by.as_str(),
        "asked_at": at(e.asked_at),
        "outcome": e.outcome_name(),
        "decided_by": e.decided_by().map(SlackUserId::as_str),
        "decided_at": e.decided_at().map(at),
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
        "approvals": r.approvals.iter().map(|a| json!({
            "by": a.by.as_str(),
            "at": at(a.at),
        })).collect::<Vec<_>>(),
        "approvals_required": r.approvals_required,
        "auto_approved": r.auto_approved,
        "extensions": r.extensions.iter().map(extension_json).collect::<Vec<_>>(),
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

#[cfg(test)]
mod tests {
    use powerpole_core::report::{HostPatterns, Report};
    use powerpole_core::{
        AccessRequest, AccessSpec, AccessWindow, ClusterId, Component, DbUsername, ExtensionLength,
        Period, Permission, Reason, Region, ReportScope, RequiredApprovals, Transition,
        WindowPolicy,
    };
    use time::macros::datetime;
    use time::{Duration, OffsetDateTime};

    use super::*;

    const T0: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);

    fn user(id: &str) -> SlackUserId {
        SlackUserId::parse(id).unwrap()
    }

    /// A request for 10:00–11:00 needing two approvals, extended once by 30 minutes, asked
    /// again for 15 minutes with a hostile reason (lapsed), then ended.
    fn approved_by_two_and_extended() -> AccessRequest {
        let spec = AccessSpec {
            cluster: ClusterId::parse("orders-prod").unwrap(),
            region: Region::parse("ap-northeast-1").unwrap(),
            permission: Permission::Ddl,
            window: AccessWindow::request(T0, Duration::hours(1), T0, &WindowPolicy::default())
                .unwrap(),
            reason: Reason::parse("INC-9 fix the orders schema").unwrap(),
        };
        let mut request = AccessRequest::submit(
            RequestId::parse("01KAXR4C1PRECE1PTC11000000").unwrap(),
            user("U0REQUESTER"),
            DbUsername::parse("keisuke.owato").unwrap(),
            spec,
            T0 - Duration::minutes(10),
        )
        .with_required_approvals(RequiredApprovals::new(2).unwrap());
        request
            .approve_by(&user("U0APPROVER"), T0 - Duration::minutes(5))
            .unwrap();
        request
            .approve_by(&user("U0SECOND"), T0 - Duration::minutes(4))
            .unwrap();
        let workflow = || Actor::System(Component::Workflow);
        for transition in [Transition::StartProvisioning, Transition::Activate] {
            request.apply(transition, workflow(), T0, "").unwrap();
        }
        let requester = || Actor::User(user("U0REQUESTER"));
        let (max, minutes) = (Duration::hours(8), |n| {
            ExtensionLength::new(Duration::minutes(n)).unwrap()
        });
        request
            .request_extension(
                requester(),
                minutes(30),
                &Reason::parse("INC-9 the backfill is still running").unwrap(),
                max,
                T0 + Duration::minutes(40),
            )
            .unwrap();
        request
            .decide_extension(1, true, &user("U0THIRD"), max, T0 + Duration::minutes(45))
            .unwrap();
        request
            .request_extension(
                requester(),
                minutes(15),
                &Reason::parse("<script>alert(1)</script>").unwrap(),
                max,
                T0 + Duration::minutes(80),
            )
            .unwrap();
        request
            .lapse_extension(workflow(), T0 + Duration::minutes(89))
            .unwrap();
        let end = request.window().end();
        request
            .apply(Transition::StartTeardown, workflow(), end, "")
            .unwrap();
        request
            .apply(Transition::Finish, workflow(), end, "")
            .unwrap();
        request
    }

    #[test]
    fn the_reports_json_has_every_approver_and_each_extension_with_its_outcome() {
        let request = approved_by_two_and_extended();
        let receipt = Receipt::assemble(
            &request,
            Gathered::Found(Vec::new()),
            Gathered::Unavailable {
                why: "no bastion in local mode".into(),
            },
        );
        let scope = ReportScope {
            expected_hosts: HostPatterns::loopback(),
            ..ReportScope::of(
                Period::new(
                    datetime!(2026-11-23 00:00 UTC),
                    datetime!(2026-11-24 00:00 UTC),
                )
                .unwrap(),
            )
        };
        let report = Report::assemble(
            scope,
            vec![(request, receipt)],
            Vec::new(),
            T0 + Duration::hours(3),
        );

        let lines = crate::report::json_lines(&report).unwrap();

        let object: Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
        assert_eq!(
            object["approvals"],
            json!([
                {"by": "U0APPROVER", "at": "2026-11-23T09:55:00Z"},
                {"by": "U0SECOND", "at": "2026-11-23T09:56:00Z"},
            ])
        );
        assert_eq!(object["approvals_required"], 2);
        assert_eq!(object["auto_approved"], false);
        assert_eq!(object["decision"]["by"], "U0SECOND");
        assert_eq!(
            object["extensions"],
            json!([
                {
                    "number": 1, "minutes": 30, "reason": "INC-9 the backfill is still running",
                    "asked_by": "U0REQUESTER", "asked_at": "2026-11-23T10:40:00Z",
                    "outcome": "approved", "decided_by": "U0THIRD",
                    "decided_at": "2026-11-23T10:45:00Z",
                },
                {
                    "number": 2, "minutes": 15, "reason": "<script>alert(1)</script>",
                    "asked_by": "U0REQUESTER", "asked_at": "2026-11-23T11:20:00Z",
                    "outcome": "lapsed", "decided_by": null,
                    "decided_at": "2026-11-23T11:29:00Z",
                },
            ])
        );
        assert_eq!(object["granted"]["end"], "2026-11-23T11:30:00Z");
    }
}
