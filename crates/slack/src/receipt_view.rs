//! The session receipt as a Slack message, posted in the approval card's thread.
//!
//! Every text a person or the database typed (the reason, statements, table names, session
//! principals, why a source is unavailable) is escaped with [`escape`]. Slack's limits are kept:
//! at most [`MAX_BLOCKS`] blocks and [`MAX_TEXT`] characters per text block; a long list ends with
//! "… and N more", and the message says where the full receipt is (`powerpole audit ID`).

use powerpole_core::receipt::{BastionSession, DbActivity, Decision, Gathered, Statement};
use powerpole_core::{Actor, EventKind, Receipt, StatementKind};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::views::escape;

/// Slack's limit on blocks per message.
pub const MAX_BLOCKS: usize = 50;
/// Slack's limit on a section's text, in characters.
pub const MAX_TEXT: usize = 3000;
/// Slack's limit on one section field's text, in characters.
const MAX_FIELD: usize = 2000;
/// How much of one statement a list shows, in characters.
const STATEMENT_CHARS: usize = 300;
/// What a list leaves free for its "… and N more" line.
const LIST_RESERVE: usize = 80;

/// The receipt as a message: `text` (the notification and fallback) and `blocks`.
#[must_use]
pub fn receipt_message(receipt: &Receipt) -> Value {
    let id = receipt.request;
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": "Session receipt", "emoji": true}}),
        json!({"type": "section", "fields": summary_fields(receipt)}),
        section(&format!("*Reason*\n{}", escape(&receipt.reason))),
    ];
    let fallback = match &receipt.database {
        Gathered::Found(db) => {
            blocks.extend(database_blocks(db));
            format!(
                "Session receipt of request {id}: {} statement(s), {} DDL/DCL, {} failed, {} outside the window.",
                db.counts.total(),
                db.ddl_dcl.len(),
                db.failed.len(),
                db.outside_window.len()
            )
        }
        Gathered::Unavailable { why } => {
            blocks.push(section(&format!(
                ":warning: *Database audit log unavailable*: {}",
                escape(why)
            )));
            format!("Session receipt of request {id}: the database audit log is unavailable.")
        }
    };
    blocks.push(sessions_block(&receipt.bastion_sessions));
    blocks.push(json!({"type": "context", "elements": [mrkdwn(&format!(
        "Full receipt, every statement listed: `powerpole audit {id}` (`--json` for tools)"
    ))]}));
    blocks.truncate(MAX_BLOCKS);
    json!({"text": fallback, "blocks": blocks})
}

fn mrkdwn(text: &str) -> Value {
    json!({"type": "mrkdwn", "text": cut(text, MAX_TEXT)})
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": mrkdwn(text)})
}

fn field(text: &str) -> Value {
    json!({"type": "mrkdwn", "text": cut(text, MAX_FIELD)})
}

/// `text` cut to `max` characters, with `…` when cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((end, _)) if text.chars().count() > max => format!("{}…", &text[..end]),
        _ => text.to_owned(),
    }
}

fn when(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    format!(
        "<!date^{}^{{date_short_pretty}} {{time_secs}}|{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC>",
        at.unix_timestamp(),
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second()
    )
}

fn who(actor: &Actor) -> String {
    match actor {
        Actor::User(user) => format!("<@{user}>"),
        Actor::System(component) => format!("the {}", component.as_str()),
    }
}

fn decision(decision: Option<&Decision>) -> String {
    match decision {
        Some(d) if d.kind == EventKind::Approved => {
            format!("*Approved by*\n{} {}", who(&d.by), when(d.at))
        }
        Some(d) => format!("*Decision*\n{} by {} {}", d.kind, who(&d.by), when(d.at)),
        None => "*Decision*\nnone".to_owned(),
    }
}

fn summary_fields(receipt: &Receipt) -> Value {
    let used = match &receipt.database {
        Gathered::Found(DbActivity {
            used: Some(used), ..
        }) => format!(
            "*Window used*\n{} → {}",
            when(used.first_connect),
            when(used.last_disconnect)
        ),
        Gathered::Found(_) => "*Window used*\nnever connected".to_owned(),
        Gathered::Unavailable { .. } => "*Window used*\nunknown (no audit log)".to_owned(),
    };
    let ended = receipt
        .ended_at
        .map_or_else(|| receipt.state.as_str().to_owned(), when);
    json!([
        field(&format!(
            "*Requester*\n<@{}> {}",
            receipt.requester,
            when(receipt.requested_at)
        )),
        field(&decision(receipt.decision.as_ref())),
        field(&format!(
            "*Cluster*\n`{}` ({}) · {}",
            receipt.cluster, receipt.region, receipt.permission
        )),
        field(&format!(
            "*Level*\n{}",
            receipt
                .level_used()
                .unwrap_or_else(|| format!("{} granted, use unknown", receipt.permission))
        )),
        field(&format!("*DB user*\n`{}`", receipt.db_username)),
        field(&format!(
            "*Window granted*\n{} → {}",
            when(receipt.granted.start()),
            when(receipt.granted.end())
        )),
        field(&used),
        field(&format!("*Access removed*\n{ended}")),
    ])
}

fn database_blocks(db: &DbActivity) -> Vec<Value> {
    let counts = StatementKind::ALL
        .iter()
        .map(|kind| format!("{} {}", db.counts.of(*kind), label(*kind)))
        .collect::<Vec<_>>()
        .join(" · ");
    let mut blocks = vec![section(&format!(
        "*Statements*: {} — {counts}\n*Sessions*: {} · *refused logins*: {}",
        db.counts.total(),
        db.sessions,
        db.failed_logins
    ))];
    let lists = [
        ("DDL and DCL statements", &db.ddl_dcl, false),
        ("Failed statements", &db.failed, true),
        ("Statements outside the window", &db.outside_window, false),
    ];
    for (title, statements, with_code) in lists {
        if !statements.is_empty() {
            let lines = statements.iter().map(|s| statement_line(s, with_code));
            blocks.push(section(&code_list(title, statements.len(), lines)));
        }
    }
    if !db.tables.is_empty() {
        let names = db.tables.iter().map(|t| format!("`{}`", code(t)));
        blocks.push(section(&listed(
            &format!("*Tables touched* ({})\n", db.tables.len()),
            names,
            ", ",
            "",
        )));
    }
    blocks
}

fn label(kind: StatementKind) -> &'static str {
    match kind {
        StatementKind::Read => "read",
        StatementKind::Dml => "DML",
        StatementKind::Ddl => "DDL",
        StatementKind::Dcl => "DCL",
        StatementKind::Other => "other",
    }
}

/// Text shown inside a code span or block: escaped, on one line, never closing the block.
fn code(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    escape(&flat).replace("```", "`\u{200b}``")
}

fn statement_line(statement: &Statement, with_code: bool) -> String {
    let at = statement.at.to_offset(time::UtcOffset::UTC);
    let error = if with_code {
        format!("  -- error {}", statement.retcode)
    } else {
        String::new()
    };
    format!(
        "{:02}:{:02}:{:02} #{} {}{error}",
        at.hour(),
        at.minute(),
        at.second(),
        statement.connection_id,
        cut(&code(&statement.text), STATEMENT_CHARS)
    )
}

fn code_list(title: &str, count: usize, lines: impl Iterator<Item = String>) -> String {
    listed(&format!("*{title}* ({count})\n```"), lines, "\n", "```")
}

/// `head`, then as many `items` joined by `separator` as fit in a text block, then "… and N
/// more" for the rest, then `tail`.
fn listed(head: &str, items: impl Iterator<Item = String>, separator: &str, tail: &str) -> String {
    let budget = MAX_TEXT - LIST_RESERVE - head.chars().count() - tail.chars().count();
    let mut body = String::new();
    let mut used = 0;
    let mut left = 0;
    for item in items {
        let cost = item.chars().count() + separator.chars().count();
        if left == 0 && used + cost <= budget {
            if !body.is_empty() {
                body.push_str(separator);
            }
            body.push_str(&item);
            used += cost;
        } else {
            left += 1;
        }
    }
    if left > 0 {
        body.push_str(&format!("{separator}… and {left} more"));
    }
    format!("{head}{body}{tail}")
}

fn sessions_block(sessions: &Gathered<Vec<BastionSession>>) -> Value {
    match sessions {
        Gathered::Found(list) if list.is_empty() => section("*SSM sessions on the bastion*: none"),
        Gathered::Found(list) => {
            let lines = list.iter().map(|s| {
                format!(
                    "• `{}` by `{}` {} → {} · {} command(s) typed",
                    code(&s.id),
                    code(&s.principal),
                    when(s.first_seen),
                    when(s.last_seen),
                    s.commands.len()
                )
            });
            section(&listed(
                &format!("*SSM sessions on the bastion* ({})\n", list.len()),
                lines,
                "\n",
                "",
            ))
        }
        Gathered::Unavailable { why } => {
            section(&format!("*SSM sessions on the bastion*: {}", escape(why)))
        }
    }
}
