//! Everything the broker shows in Slack, as Block Kit JSON: the request modal, inline modal
//! errors, the approval card before and after a decision, and the requester's messages.
//!
//! Text a person typed (the reason) is escaped (`&`, `<`, `>`), so `<!channel>` or a fake link
//! in a reason is shown, never acted on. Buttons carry only the request id. No view has a field
//! for a password: the types that reach this module hold references to secrets, never values.

use std::fmt::Write as _;

use powerpole_core::ports::{Notice, SecretLocation};
use powerpole_core::report::anomaly_count;
use powerpole_core::report::archive::PublishedReport;
use powerpole_core::sweep::SweepReport;
use powerpole_core::timefmt::Precision;
use powerpole_core::tripwire::Trip;
use powerpole_core::{
    AccessRequest, ApproverList, BASTION_DB_CA, ClusterPolicy, Error, EventKind, Field, Permission,
    RequestId, RequestState,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// The modal's `callback_id`.
pub const REQUEST_CALLBACK: &str = "powerpole_request";
/// The `action_id` of every input in the modal; blocks are told apart by `block_id`, which is the
/// core's field name (`cluster`, `region`, `permission`, `duration`, `start`, `reason`).
pub const INPUT_ACTION: &str = "value";
/// Action ids of the buttons.
pub const APPROVE_ACTION: &str = "approve";
/// See [`APPROVE_ACTION`].
pub const DENY_ACTION: &str = "deny";
/// See [`APPROVE_ACTION`].
pub const END_NOW_ACTION: &str = "end_now";
/// See [`APPROVE_ACTION`]: the requester's (or an approver's) Cancel before access starts.
pub const CANCEL_ACTION: &str = "cancel";
/// See [`APPROVE_ACTION`]: an approver's "Revoke now" on the card of live access.
pub const REVOKE_ACTION: &str = "revoke";

/// See [`APPROVE_ACTION`]: the requester's "Extend" in the ready and ending-soon messages.
pub const EXTEND_ACTION: &str = "extend";
/// See [`APPROVE_ACTION`]: Approve on an extension card (its `block_id` is
/// [`extension_block`] of the extension's number).
pub const EXTENSION_APPROVE_ACTION: &str = "extension_approve";
/// See [`EXTENSION_APPROVE_ACTION`].
pub const EXTENSION_DENY_ACTION: &str = "extension_deny";
/// The extension modal's `callback_id`; its `private_metadata` is the request id, its blocks
/// `duration` and `reason` (the core's field names, so refusals land next to their input).
pub const EXTEND_CALLBACK: &str = "powerpole_extend";

const DURATIONS_MINUTES: [i64; 7] = [15, 30, 60, 120, 240, 360, 480];
const EXTENSION_BLOCK: &str = "extension-";

/// The `block_id` of the buttons on the card of extension `number`.
#[must_use]
pub fn extension_block(number: u32) -> String {
    format!("{EXTENSION_BLOCK}{number}")
}

/// The extension number a `block_id` of [`extension_block`] names.
#[must_use]
pub fn extension_number(block_id: &str) -> Option<u32> {
    block_id.strip_prefix(EXTENSION_BLOCK)?.parse().ok()
}

/// Escapes the three characters Slack's `mrkdwn` treats as control characters.
#[must_use]
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Named approvers as a person reads them, with mentions: "<@U1>, <@U2> or members of
/// <!subteam^S1> or <!subteam^S2>".
#[must_use]
pub fn approver_names(list: &ApproverList) -> String {
    let mut names: Vec<String> = list.users().iter().map(|u| format!("<@{u}>")).collect();
    if !list.groups().is_empty() {
        let groups: Vec<String> = list
            .groups()
            .iter()
            .map(|g| format!("<!subteam^{g}>"))
            .collect();
        names.push(format!("members of {}", groups.join(" or ")));
    }
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.concat(),
    }
}

fn plain(text: &str) -> Value {
    json!({"type": "plain_text", "text": text, "emoji": true})
}

fn mrkdwn(text: &str) -> Value {
    json!({"type": "mrkdwn", "text": text})
}

/// A time shown in each reader's own time zone, with a UTC fallback.
fn when(at: OffsetDateTime) -> String {
    format!(
        "<!date^{}^{{date_short_pretty}} {{time}}|{} UTC>",
        at.unix_timestamp(),
        crate::views::utc(at)
    )
}

fn utc(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

fn minutes_label(minutes: i64) -> String {
    match (minutes / 60, minutes % 60) {
        (0, 1) => "1 minute".to_owned(),
        (0, m) => format!("{m} minutes"),
        (1, 0) => "1 hour".to_owned(),
        (h, 0) => format!("{h} hours"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// "in 10 minutes": `left` rounded to the nearest minute.
fn time_left(left: time::Duration) -> String {
    match (left.whole_seconds() + 30) / 60 {
        minutes if minutes < 1 => "in less than a minute".to_owned(),
        minutes => format!("in {}", minutes_label(minutes)),
    }
}

/// `text` as one shell word: in single quotes, each `'` in it written as `'\''`.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The request modal, for `views.open`. The first cluster is pre-selected and its region
/// pre-filled; durations are offered up to the longest any cluster allows (the chosen cluster's
/// own limit is enforced on submission).
#[must_use]
pub fn request_modal(clusters: &[ClusterPolicy]) -> Value {
    let cluster_option = |c: &ClusterPolicy| json!({"text": plain(&format!("{} ({})", c.cluster, c.region)), "value": c.cluster.as_str()});
    let longest = clusters
        .iter()
        .map(|c| c.window.max_duration().whole_minutes())
        .max()
        .unwrap_or(60);
    let duration_option =
        |m: i64| json!({"text": plain(&minutes_label(m)), "value": m.to_string()});
    let durations: Vec<Value> = DURATIONS_MINUTES
        .into_iter()
        .filter(|m| *m <= longest)
        .map(duration_option)
        .collect();
    let level_option = |p: Permission| json!({"text": plain(p.as_str()), "description": plain(p.description()), "value": p.as_str()});
    let mut cluster_select = json!({
        "type": "static_select",
        "action_id": INPUT_ACTION,
        "options": clusters.iter().map(cluster_option).collect::<Vec<_>>(),
    });
    let mut region_input = json!({"type": "plain_text_input", "action_id": INPUT_ACTION});
    if let Some(first) = clusters.first() {
        cluster_select["initial_option"] = cluster_option(first);
        region_input["initial_value"] = json!(first.region.as_str());
    }
    json!({
        "type": "modal",
        "callback_id": REQUEST_CALLBACK,
        "title": plain("Database access"),
        "submit": plain("Request"),
        "close": plain("Cancel"),
        "blocks": [
            {"type": "input", "block_id": "cluster", "label": plain("Cluster"), "element": cluster_select},
            {"type": "input", "block_id": "region", "label": plain("Region"), "element": region_input,
             "hint": plain("Filled in from the cluster; it must match.")},
            {"type": "input", "block_id": "permission", "label": plain("Permission"), "element": {
                "type": "radio_buttons", "action_id": INPUT_ACTION,
                "options": Permission::ALL.map(level_option),
                "initial_option": level_option(Permission::Read),
            }},
            {"type": "input", "block_id": "duration", "label": plain("Duration"), "element": {
                "type": "static_select", "action_id": INPUT_ACTION,
                "options": durations,
                "initial_option": duration_option(60),
            }},
            {"type": "input", "block_id": "start", "optional": true, "label": plain("Start"),
             "element": {"type": "datetimepicker", "action_id": INPUT_ACTION},
             "hint": plain("Leave empty to start as soon as it is approved.")},
            {"type": "input", "block_id": "reason", "label": plain("Reason"), "element": {
                "type": "plain_text_input", "action_id": INPUT_ACTION, "multiline": true,
                "max_length": powerpole_core::Reason::MAX_CHARS,
                "placeholder": plain("Ticket and what you need to do"),
            }},
        ],
    })
}

/// The answer to a modal submission with invalid fields: each message next to its input.
#[must_use]
pub fn modal_errors(errors: &[Error]) -> Value {
    let mut by_block = serde_json::Map::new();
    for error in errors {
        if let Error::Invalid { field, problem } = error {
            by_block
                .entry(field.as_str())
                .or_insert_with(|| json!(capitalize(problem)));
        }
    }
    json!({"response_action": "errors", "errors": by_block})
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The request's fields; From and Until are the window access has, which starts at the approval
/// when that came after the requested start.
fn summary_fields(request: &AccessRequest) -> Value {
    let spec = request.spec();
    let granted = request.window();
    let moved = if granted.start() == spec.window.start() {
        String::new()
    } else {
        format!(
            "\n_asked for {}; starts at the approval_",
            when(spec.window.start())
        )
    };
    json!([
        mrkdwn(&format!("*Requester*\n<@{}>", request.requester())),
        mrkdwn(&format!("*Cluster*\n`{}` ({})", spec.cluster, spec.region)),
        mrkdwn(&format!(
            "*Level*\n{} — {}",
            spec.permission,
            spec.permission.description()
        )),
        mrkdwn(&format!("*DB user*\n`{}`", request.db_username())),
        mrkdwn(&format!("*From*\n{}{moved}", when(granted.start()))),
        mrkdwn(&format!("*Until*\n{}", when(granted.end()))),
    ])
}

/// The approval card as a message (`text` fallback and `blocks`) for the approvers' channel:
/// Approve and Deny (with a confirmation) while pending; who decided and when afterwards.
#[must_use]
pub fn approval_card(request: &AccessRequest) -> Value {
    let spec = request.spec();
    let fallback = format!(
        "{} access to {} requested by <@{}>: {}",
        spec.permission,
        spec.cluster,
        request.requester(),
        escape(spec.reason.as_str())
    );
    let mut blocks = vec![
        json!({"type": "header", "text": plain("Database access request")}),
        json!({"type": "section", "fields": summary_fields(request)}),
        json!({"type": "section", "text": mrkdwn(&format!("*Reason*\n{}", escape(spec.reason.as_str())))}),
    ];
    if let Some(survey) = request.survey() {
        blocks.push(json!({"type": "section", "block_id": "blast_radius", "text": mrkdwn(&blast_radius(survey))}));
    }
    if let Some(tally) = approval_tally(request) {
        blocks.push(
            json!({"type": "context", "block_id": "approvals", "elements": [mrkdwn(&tally)]}),
        );
    }
    if request.state() == RequestState::Pending {
        let id = request.id().to_string();
        blocks.push(json!({"type": "actions", "block_id": "decision", "elements": [
            {"type": "button", "action_id": APPROVE_ACTION, "style": "primary", "text": plain("Approve"), "value": id},
            {"type": "button", "action_id": DENY_ACTION, "style": "danger", "text": plain("Deny"), "value": id,
             "confirm": {"title": plain("Deny this request?"), "text": plain("The requester will be told it was denied."),
                         "confirm": plain("Deny"), "deny": plain("Keep it"), "style": "danger"}},
        ]}));
    } else {
        blocks.push(json!({"type": "context", "elements": [mrkdwn(&outcome(request))]}));
    }
    if request.state() == RequestState::Active {
        blocks.push(
            json!({"type": "actions", "block_id": "revoke", "elements": [revoke_button(request)]}),
        );
    }
    json!({"text": fallback, "blocks": blocks})
}

/// "*Approvals:* 1 of 2 — <@U2>" on the card of a pending request that needs more than one
/// approval, with who gave them and when; `None` for a request decided by one.
fn approval_tally(request: &AccessRequest) -> Option<String> {
    let required = request.required_approvals();
    if required < 2 || request.state() != RequestState::Pending {
        return None;
    }
    let given: Vec<String> = request
        .events()
        .iter()
        .filter(|e| e.kind == EventKind::ApprovalGiven)
        .filter_map(|e| match &e.actor {
            powerpole_core::Actor::User(user) => Some(format!("<@{user}> {}", when(e.at))),
            powerpole_core::Actor::System(_) => None,
        })
        .collect();
    let who = if given.is_empty() {
        "none yet".to_owned()
    } else {
        given.join(", ")
    };
    Some(format!(
        ":ballot_box_with_check: *Approvals:* {} of {required} — {who}",
        request.approvals().len()
    ))
}

/// The ephemeral answer to an approver whose approval was counted and is not the last needed.
#[must_use]
pub fn approval_counted(request: &AccessRequest) -> String {
    let (given, required) = (request.approvals().len(), request.required_approvals());
    format!(
        ":ballot_box_with_check: Your approval of request `{}` is counted: {given} of {required}. \
         It waits for {} more approver{}.",
        request.id(),
        required.saturating_sub(given),
        if required.saturating_sub(given) == 1 {
            ""
        } else {
            "s"
        }
    )
}

/// The ephemeral answer to an approver who approved the same pending request again.
#[must_use]
pub fn approval_repeated(request: &AccessRequest) -> String {
    let (given, required) = (request.approvals().len(), request.required_approvals());
    format!(
        "You have already approved request `{}`; the same person counts once. It has {given} of \
         {required} approvals and needs another approver.",
        request.id()
    )
}

/// The recorded blast radius ([`powerpole_core::BlastRadius::summary`]) as the card shows it:
/// the grants verbatim in a code block, a line per schema, the sensitive tables flagged; all of
/// it escaped and kept within a section's limit.
fn blast_radius(summary: &str) -> String {
    let mut lines = summary.lines();
    let heading = lines.next().unwrap_or_default().trim_end_matches(':');
    let (mut grants, mut reach, mut sensitive, mut history) = (Vec::new(), Vec::new(), None, None);
    for line in lines {
        if line.starts_with("GRANT ") {
            grants.push(escape(line));
        } else if let Some(tables) = line.strip_prefix("sensitive: ") {
            sensitive = Some(escape(tables));
        } else if let Some(used) = line.strip_prefix("history: ") {
            history = Some(escape(used));
        } else {
            reach.push(format!("• {}", escape(line)));
        }
    }
    let mut text = format!("*{}*", escape(heading));
    if !grants.is_empty() {
        let _ = write!(text, "\n```{}```", grants.join("\n"));
    }
    for line in reach {
        text.push('\n');
        text.push_str(&line);
    }
    if let Some(tables) = sensitive {
        let _ = write!(text, "\n:warning: *Sensitive tables:* {tables}");
    }
    if let Some(used) = history {
        let _ = write!(text, "\n:bar_chart: *Requester's history:* {used}");
    }
    crate::receipt_view::cut(&text, crate::receipt_view::MAX_TEXT)
}

/// A tripwire in the card's thread: who ran what on which cluster, why it trips, the statement
/// (passwords masked, escaped) and Revoke now for the approvers.
#[must_use]
pub fn tripwire_message(request: &AccessRequest, trip: &Trip) -> Value {
    let spec = request.spec();
    let fallback = format!(
        "Tripwire on {}: <@{}>: {}",
        spec.cluster,
        request.requester(),
        escape(&trip.reasons())
    );
    let text = format!(
        ":rotating_light: *Tripwire*: <@{}> on `{}` as `{}` {}\n*{}*\n```{}```",
        request.requester(),
        escape(spec.cluster.as_str()),
        escape(request.db_username().as_str()),
        when(trip.at),
        escape(&trip.reasons()),
        escape(&trip.statement)
    );
    json!({"text": fallback, "blocks": [
        {"type": "section", "text": mrkdwn(&crate::receipt_view::cut(&text, crate::receipt_view::MAX_TEXT))},
        {"type": "actions", "block_id": "revoke", "elements": [revoke_button(request)]},
    ]})
}

/// The approvers' Revoke now, confirmed, carrying only the request id.
fn revoke_button(request: &AccessRequest) -> Value {
    json!({"type": "button", "action_id": REVOKE_ACTION, "style": "danger", "text": plain("Revoke now"),
           "value": request.id().to_string(),
           "confirm": {"title": plain("Revoke this access?"),
                       "text": plain("Sessions are killed and the DB user dropped now; the requester is told who revoked it."),
                       "confirm": plain("Revoke"), "deny": plain("Keep it"), "style": "danger"}})
}

/// The requester's "Extend": opens the extension modal; carries only the request id.
fn extend_button(request: RequestId) -> Value {
    json!({"type": "button", "action_id": EXTEND_ACTION, "text": plain("Extend"), "value": request.to_string()})
}

/// The extension modal for `request` on a cluster allowing `max` from the start: how much
/// longer (only lengths that stay within it are offered) and why.
#[must_use]
pub fn extension_modal(request: &AccessRequest, max: time::Duration) -> Value {
    let window = request.window();
    let left = powerpole_core::extension::allowance(&window, max).whole_minutes();
    let option =
        |m: i64| json!({"text": plain(&format!("+{}", minutes_label(m))), "value": m.to_string()});
    let lengths: Vec<Value> = DURATIONS_MINUTES
        .into_iter()
        .filter(|m| *m <= left)
        .map(option)
        .collect();
    let mut select =
        json!({"type": "static_select", "action_id": INPUT_ACTION, "options": lengths});
    if let Some(first) = DURATIONS_MINUTES.into_iter().find(|m| *m <= left) {
        select["initial_option"] = option(first);
    }
    json!({
        "type": "modal",
        "callback_id": EXTEND_CALLBACK,
        "private_metadata": request.id().to_string(),
        "title": plain("Extend access"),
        "submit": plain("Ask"),
        "close": plain("Cancel"),
        "blocks": [
            {"type": "section", "text": mrkdwn(&format!(
                "`{}` on `{}` ends {}. The cluster allows {} from the start ({}), so at most *{}* more.",
                request.db_username(), request.spec().cluster, when(window.end()),
                minutes_label(max.whole_minutes()), when(window.start()), minutes_label(left)))},
            {"type": "input", "block_id": "duration", "label": plain("How much longer"), "element": select},
            {"type": "input", "block_id": "reason", "label": plain("Why"), "element": {
                "type": "plain_text_input", "action_id": INPUT_ACTION, "multiline": true,
                "max_length": powerpole_core::Reason::MAX_CHARS,
                "placeholder": plain("What is left to do"),
            }},
            {"type": "context", "elements": [mrkdwn("An approver who is not you decides; your DB user, password and bastion stay.")]},
        ],
    })
}

/// The card of extension `number` of `request`, a reply in the approval card's thread: who
/// asks for how much more and why, Approve / Deny while it waits, the outcome afterwards.
#[must_use]
pub fn extension_card(request: &AccessRequest, number: u32) -> Value {
    let Some(extension) = request
        .extensions()
        .into_iter()
        .find(|e| e.number == number)
    else {
        return simple("This extension is unknown.");
    };
    let spec = request.spec();
    let more = minutes_label(extension.length.minutes());
    let fallback = format!(
        "<@{}> asks to extend {} access to {} by {more}: {}",
        request.requester(),
        spec.permission,
        spec.cluster,
        escape(&extension.reason)
    );
    let end = request.window().end();
    let mut blocks = vec![
        json!({"type": "header", "text": plain(&format!("Extension request #{number}"))}),
        json!({"type": "section", "fields": [
            mrkdwn(&format!("*Requester*\n<@{}>", request.requester())),
            mrkdwn(&format!("*Cluster*\n`{}` ({}) — {}", spec.cluster, spec.region, spec.permission)),
            mrkdwn(&format!("*Asks for*\n{more} more")),
            mrkdwn(&format!("*Started*\n{}", when(request.window().start()))),
        ]}),
        json!({"type": "section", "text": mrkdwn(&format!("*Why*\n{}", escape(&extension.reason)))}),
    ];
    let id = request.id().to_string();
    match &extension.outcome {
        powerpole_core::ExtensionOutcome::Pending => {
            blocks.push(json!({"type": "section", "text": mrkdwn(&format!(
                "Ends {} now; approved, it ends {}.", when(end), when(end + extension.length.duration())))}));
            blocks.push(json!({"type": "actions", "block_id": extension_block(number), "elements": [
                {"type": "button", "action_id": EXTENSION_APPROVE_ACTION, "style": "primary", "text": plain("Approve"), "value": id},
                {"type": "button", "action_id": EXTENSION_DENY_ACTION, "style": "danger", "text": plain("Deny"), "value": id},
            ]}));
        }
        powerpole_core::ExtensionOutcome::Approved { by, at } => blocks.push(json!({"type": "context", "elements": [
            mrkdwn(&format!(":white_check_mark: Approved by <@{by}> {} · access now ends {}", when(*at), when(end)))]})),
        powerpole_core::ExtensionOutcome::Denied { by, at } => blocks.push(json!({"type": "context", "elements": [
            mrkdwn(&format!(":no_entry: Denied by <@{by}> {} · access ends {}", when(*at), when(end)))]})),
        powerpole_core::ExtensionOutcome::Lapsed { at } => blocks.push(json!({"type": "context", "elements": [
            mrkdwn(&format!(":hourglass: Lapsed {}: nobody decided before the end", when(*at)))]})),
    }
    json!({"text": fallback, "blocks": blocks})
}

/// One line saying how a request was decided and how it ended (empty while it is pending).
#[must_use]
pub fn outcome(request: &AccessRequest) -> String {
    let decision = request.decision();
    let by = |event: &powerpole_core::Event| match &event.actor {
        powerpole_core::Actor::User(user) => format!("<@{user}>"),
        powerpole_core::Actor::System(component) => format!("the {}", component.as_str()),
    };
    let mut line = match decision {
        Some(e) if request.auto_approved() => format!(
            ":robot_face: Auto-approved by policy {} ({} on a cluster that approves READ without a \
             person)",
            when(e.at),
            request.spec().permission
        ),
        Some(e) if e.kind == EventKind::Approved && request.approvals().len() > 1 => {
            let people: Vec<String> = request
                .approvals()
                .iter()
                .map(|user| format!("<@{user}>"))
                .collect();
            format!(
                ":white_check_mark: Approved by {} ({} of {}) {}",
                people.join(", "),
                people.len(),
                request.required_approvals(),
                when(e.at)
            )
        }
        Some(e) if e.kind == EventKind::Approved => {
            format!(":white_check_mark: Approved by {} {}", by(e), when(e.at))
        }
        Some(e) if e.kind == EventKind::Denied => {
            format!(":no_entry: Denied by {} {}", by(e), when(e.at))
        }
        Some(e) if e.kind == EventKind::Expired => format!(
            ":hourglass: Expired {}: nobody decided before the start",
            when(e.at)
        ),
        Some(e) => format!(
            ":leftwards_arrow_with_hook: Cancelled by {} {}",
            by(e),
            when(e.at)
        ),
        None => String::new(),
    };
    let revoked = request
        .events()
        .iter()
        .find(|e| e.kind == EventKind::TeardownStarted && e.detail.starts_with("revoked by "))
        .map(|e| format!("revoked by {} {}", by(e), when(e.at)));
    let cancelled_later = request
        .events()
        .iter()
        .find(|e| e.kind == EventKind::Cancelled)
        .filter(|_| decision.is_some_and(|d| d.kind != EventKind::Cancelled))
        .map(|e| {
            let removal = if request.provisioning_started() {
                "; what provisioning made is removed"
            } else {
                ""
            };
            format!("cancelled by {} {}{removal}", by(e), when(e.at))
        });
    let tail = match request.state() {
        _ if revoked.is_some() => revoked,
        RequestState::Cancelled if cancelled_later.is_some() => cancelled_later,
        RequestState::Active => Some("access is live".to_owned()),
        RequestState::Ended => Some("access has ended".to_owned()),
        RequestState::Failed => Some("failed; access removed or being removed".to_owned()),
        _ => None,
    };
    if let Some(tail) = tail {
        line = if line.is_empty() {
            tail
        } else {
            format!("{line} · {tail}")
        };
    }
    line
}

/// An answer only the person who ran the slash command sees.
#[must_use]
pub fn ephemeral(text: &str) -> Value {
    json!({"response_type": "ephemeral", "text": text})
}

/// `/powerpole help`: what the command does and the clusters on offer.
#[must_use]
pub fn help(clusters: &[ClusterPolicy]) -> Value {
    let offered: Vec<String> = clusters
        .iter()
        .map(|c| {
            let levels: Vec<&str> = c.levels.iter().map(|l| l.as_str()).collect();
            format!(
                "• `{}` ({}) — {}, up to {}{}",
                c.cluster,
                c.region,
                levels.join(" / "),
                minutes_label(c.window.max_duration().whole_minutes()),
                approval_note(c)
            )
        })
        .collect();
    let text = format!(
        "*/powerpole* asks for temporary access to a database. An approver decides; at the start \
         you get a one-time DB user (its password stays in the vault) and it is removed at the end.\n\
         • `/powerpole` — open the request form\n\
         • `/powerpole list` — your requests and where they are\n\
         • `/powerpole cancel [ID]` — withdraw a request before its access starts (your only \
         open one when no ID is given)\n\
         • `/powerpole help` — this message\n\
         *Clusters*\n{}",
        if offered.is_empty() {
            "none configured".to_owned()
        } else {
            offered.join("\n")
        }
    );
    ephemeral(&text)
}

/// What `/powerpole help` says of a cluster's approval rules beyond one approval: the levels
/// needing more, those nobody may approve, READ approved by policy.
fn approval_note(cluster: &ClusterPolicy) -> String {
    let notes: Vec<String> = cluster
        .levels
        .iter()
        .filter_map(|&level| {
            let rule = cluster.approval.for_level(level);
            if rule.is_some_and(|r| *r.approvers() == powerpole_core::Approvers::Nobody) {
                Some(format!("{level}: no approvers configured"))
            } else if cluster.approval.auto_approves(level) {
                Some(format!("{level} auto-approved"))
            } else {
                let n = cluster.approval.required(level).get();
                let approvers = if n > 1 {
                    format!("{n} approvers")
                } else {
                    "an approver".to_owned()
                };
                match rule.map(powerpole_core::ApprovalPolicy::approvers) {
                    Some(powerpole_core::Approvers::Listed(list)) => Some(format!(
                        "{level} needs {approvers}: {}",
                        approver_names(list)
                    )),
                    _ => (n > 1).then(|| format!("{level} needs {approvers}")),
                }
            }
        })
        .collect();
    if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    }
}

/// `/powerpole list`: the caller's requests, newest first (at most `limit`).
#[must_use]
pub fn request_list(requests: &[AccessRequest], limit: usize) -> Value {
    if requests.is_empty() {
        return ephemeral("You have no requests yet. Run `/powerpole` to ask for access.");
    }
    let lines: Vec<String> = requests
        .iter()
        .take(limit)
        .map(|r| {
            let (spec, window) = (r.spec(), r.window());
            format!(
                "• `{}` *{}* on `{}` {} → {} — _{}_",
                r.id(),
                spec.permission,
                spec.cluster,
                when(window.start()),
                when(window.end()),
                r.state()
            )
        })
        .collect();
    let more = requests.len().saturating_sub(limit);
    let tail = if more > 0 {
        format!("\n…and {more} older")
    } else {
        String::new()
    };
    ephemeral(&format!("*Your requests*\n{}{tail}", lines.join("\n")))
}

/// The requester's receipt for a recorded request.
#[must_use]
pub fn submitted_message(request: &AccessRequest) -> Value {
    let spec = request.spec();
    let waits = match request.required_approvals() {
        1 => "an approver".to_owned(),
        n => format!("{n} different approvers"),
    };
    let text = format!(
        ":inbox_tray: Request `{}` recorded: {} on `{}` from {} to {}, as DB user `{}`. It waits \
         for {waits}; you will be told here.",
        request.id(),
        spec.permission,
        spec.cluster,
        when(spec.window.start()),
        when(spec.window.end()),
        escape(request.db_username().as_str())
    );
    message(
        &text,
        vec![
            json!({"type": "section", "text": mrkdwn(&text)}),
            json!({"type": "actions", "block_id": "cancel", "elements": [
                {"type": "button", "action_id": CANCEL_ACTION, "text": plain("Cancel request"),
                 "value": request.id().to_string(),
                 "confirm": {"title": plain("Cancel this request?"),
                             "text": plain("Nothing will be created; the approvers' card says you cancelled it."),
                             "confirm": plain("Cancel it"), "deny": plain("Keep it")}},
            ]}),
        ],
    )
}

/// The short note (`mrkdwn`) in the public requests channel.
#[must_use]
pub fn requested_note(request: &AccessRequest) -> String {
    let spec = request.spec();
    format!(
        "<@{}> requested {} access to `{}` for {}: {}",
        request.requester(),
        spec.permission,
        spec.cluster,
        minutes_label(spec.window.duration().whole_minutes()),
        escape(spec.reason.as_str())
    )
}

/// A modal replacing the submitted form with one `mrkdwn` message.
fn replaced_modal(text: &str) -> Value {
    json!({
        "response_action": "update",
        "view": {
            "type": "modal",
            "title": plain("Database access"),
            "close": plain("Close"),
            "blocks": [{"type": "section", "text": mrkdwn(text)}],
        },
    })
}

/// The answer to a modal submission that failed for a reason no input can show — each error
/// `Broker::submit` returns: the form is replaced by what happened and what to do, never an
/// adapter's internals. `approvers_channel`
/// is where the requester finds people who know who runs powerpole.
#[must_use]
pub fn submission_failed(error: &Error, approvers_channel: &str) -> Value {
    let admin = format!("a powerpole admin (the approvers in <#{approvers_channel}> know who)");
    let again =
        "Submit the form again in a moment: a request already recorded is not recorded twice.";
    let text = match error {
        Error::Invalid {
            field: Field::Email | Field::DbUsername,
            problem,
        } => format!(
            ":no_entry_sign: Your database user is named after the e-mail address of your Slack \
             profile, and that address cannot become one: {}. Nothing was recorded. Ask {admin} \
             to map your Slack user to a database user name (`identity.db_users` in the \
             broker's configuration), or to have the address changed.",
            escape(problem)
        ),
        Error::Invalid { .. } => format!(
            ":no_entry_sign: The request was refused: {}. Nothing was recorded; correct the form \
             and submit it again.",
            escape(&error.to_string())
        ),
        Error::Backend {
            system: "slack",
            source,
            ..
        } => match source.downcast_ref::<crate::Error>() {
            Some(crate::Error::MissingEmail { .. }) => format!(
                ":warning: Slack did not give powerpole the e-mail address of your profile, which \
                 names your database user. Nothing was recorded. Ask {admin}: the Slack app needs \
                 the `users:read.email` scope, and your profile needs an address."
            ),
            _ if error.is_retryable() => format!(
                ":warning: Slack did not answer when powerpole asked who you are. Nothing was \
                 recorded. {again}"
            ),
            _ => format!(
                ":warning: Slack refused to tell powerpole who you are. Nothing was recorded. Ask \
                 {admin} to look at the broker's log."
            ),
        },
        Error::Conflict(_) => {
            format!(":warning: Your request crossed another change to your requests. {again}")
        }
        Error::Backend {
            retryable: true, ..
        } => format!(
            ":warning: A service powerpole records requests in or starts their approval with did \
             not answer. {again}"
        ),
        _ => format!(
            ":warning: powerpole could not record your request and send it to the approvers. \
             {again} If it keeps failing, ask {admin}: the broker's log says why."
        ),
    };
    replaced_modal(&text)
}

/// A direct message to the requester for `notice`, as `text` fallback and `blocks`.
#[must_use]
pub fn notice_message(notice: &Notice) -> Value {
    match notice {
        Notice::Ready {
            request,
            username,
            bastion,
            region,
            endpoint,
            port,
            secret,
            ends_at,
        } => {
            let (fetch, from) = match secret {
                SecretLocation::SecretsManager(id) => (
                    format!(
                        "aws secretsmanager get-secret-value --region {region} --secret-id {} --query SecretString --output text | jq -r .password",
                        shell_quote(&id.0)
                    ),
                    "read from Secrets Manager".to_owned(),
                ),
                SecretLocation::File(path) => (
                    format!("jq -r .password {}", shell_quote(&path.display().to_string())),
                    "read from its secret file (JSON, readable only by the user powerpole runs as, on the machine it runs on)".to_owned(),
                ),
            };
            // On a bastion (Amazon Linux's MariaDB 10.5 client, TLS off by default) the server's
            // certificate is verified against the RDS bundle; `loose-` keeps a MySQL client, which
            // knows other names for the same options, from refusing the file.
            let tls = if bastion.is_some() {
                format!(
                    "loose-ssl\\nssl-ca={BASTION_DB_CA}\\nloose-ssl-verify-server-cert\\nloose-ssl-mode=VERIFY_IDENTITY\\n"
                )
            } else {
                String::new()
            };
            let mysql = format!(
                "mysql --defaults-extra-file=<(printf '[client]\\npassword=%s\\n{tls}' \"$({fetch})\") --protocol=TCP -h {} -P {port} -u {}",
                shell_quote(endpoint),
                shell_quote(username.as_str())
            );
            let mut steps = Vec::new();
            if let Some(bastion) = bastion {
                steps.push(format!(
                    "1. Open a session on your bastion:\n```aws ssm start-session --region {region} --target {}```",
                    shell_quote(&bastion.0)
                ));
            }
            steps.push(format!(
                "{}. Start `mysql` with the password {from} — it is never shown:\n```{}```",
                steps.len() + 1,
                escape(&mysql)
            ));
            message(
                &format!(
                    "Your database access is ready until {} UTC (request {request}).",
                    utc(*ends_at)
                ),
                vec![
                    json!({"type": "section", "text": mrkdwn(&format!(":key: *Access ready* until {} — you are `{username}`.", when(*ends_at)))}),
                    json!({"type": "section", "text": mrkdwn(&steps.join("\n"))}),
                    json!({"type": "context", "elements": [mrkdwn(&format!("Request `{request}` · everything you run is audited"))]}),
                    json!({"type": "actions", "elements": [
                        extend_button(*request),
                        {"type": "button", "action_id": END_NOW_ACTION, "text": plain("End now"), "value": request.to_string(),
                         "confirm": {"title": plain("End your access now?"), "text": plain("Your sessions are killed and the DB user dropped."),
                                     "confirm": plain("End now"), "deny": plain("Keep it")}}
                    ]}),
                ],
            )
        }
        Notice::EndingSoon {
            request,
            ends_at,
            left,
        } => message(
            &format!(
                "Your database access ends at {} UTC, {}.",
                utc(*ends_at),
                time_left(*left)
            ),
            vec![
                json!({"type": "section", "text": mrkdwn(&format!(":alarm_clock: Your access ends {} ({}). Sessions are killed then.", time_left(*left), when(*ends_at)))}),
                json!({"type": "actions", "elements": [
                    extend_button(*request),
                    {"type": "button", "action_id": END_NOW_ACTION, "text": plain("End now"), "value": request.to_string()}
                ]}),
            ],
        ),
        Notice::Ended { request, bastion } => simple(&format!(
            ":lock: Your access for request `{request}` has ended: the DB user is dropped{}.",
            if bastion.is_some() {
                " and the bastion terminated"
            } else {
                ""
            }
        )),
        Notice::Denied { request, by } => simple(&format!(
            ":no_entry: Request `{request}` was denied by <@{by}>."
        )),
        Notice::Cancelled { request, by } => simple(&format!(
            ":leftwards_arrow_with_hook: <@{by}> cancelled your request `{request}` before its \
             access started; nothing was created."
        )),
        Notice::Revoked { request, by } => simple(&format!(
            ":octagonal_sign: <@{by}> revoked your access for request `{request}`: your sessions \
             are being killed and the DB user dropped now."
        )),
        Notice::Extended {
            request,
            by,
            ends_at,
        } => simple(&format!(
            ":heavy_plus_sign: <@{by}> extended your access for request `{request}`: it now ends \
             {}. Same DB user, same password, same bastion.",
            when(*ends_at)
        )),
        Notice::ExtensionDenied {
            request,
            by,
            ends_at,
        } => simple(&format!(
            ":no_entry: <@{by}> denied your extension of request `{request}`: access still ends \
             {}.",
            when(*ends_at)
        )),
        Notice::ExtensionLapsed { request } => simple(&format!(
            ":hourglass: Nobody decided your extension of request `{request}` before its end: \
             it lapsed, and access ended as planned."
        )),
        Notice::Expired { request } => simple(&format!(
            ":hourglass: Request `{request}` expired: nobody decided before its start."
        )),
        Notice::Failed { request, what } => simple(&format!(
            ":warning: Request `{request}` failed: {}. Anything already created has been or is being removed.",
            escape(what)
        )),
        _ => simple("powerpole has news about one of your requests."),
    }
}

fn message(text: &str, blocks: Vec<Value>) -> Value {
    json!({"text": text, "blocks": blocks})
}

fn simple(text: &str) -> Value {
    message(text, vec![json!({"type": "section", "text": mrkdwn(text)})])
}

/// The most lines a sweep report lists; the rest are counted.
pub const SWEEP_REPORT_LINES: usize = 30;

/// The sweeper's message to the approvers' channel: what it settled and removed, and what it
/// could not do this time.
#[must_use]
pub fn sweep_report(report: &SweepReport) -> Value {
    let mut lines: Vec<String> = report
        .actions
        .iter()
        .map(|action| format!("• {}", escape(&action.to_string())))
        .collect();
    lines.extend(
        report
            .problems
            .iter()
            .map(|p| format!("• :warning: not done, retried next sweep: {}", escape(p))),
    );
    let total = lines.len();
    lines.truncate(SWEEP_REPORT_LINES);
    if total > SWEEP_REPORT_LINES {
        lines.push(format!("…and {} more", total - SWEEP_REPORT_LINES));
    }
    let text = format!(
        ":broom: *Sweeper* settled or removed {} thing(s) the workflow left behind\n{}",
        report.actions.len(),
        lines.join("\n")
    );
    json!({"text": text})
}

/// The approvers' channel message of an archived period report: the period, what it holds,
/// and where the page is (the archive's address and, if any, a page that opens it with the
/// reader's own access; never a presigned link).
#[must_use]
pub fn published_report(report: &PublishedReport) -> Value {
    let day = |at: OffsetDateTime| powerpole_core::timefmt::rfc3339(at, Precision::Seconds);
    let mut text = format!(
        ":bookmark_tabs: *Access report* {} → {}: {} request(s), {}, {} orphan(s)\n`{}`",
        day(report.period.since()),
        day(report.period.until()),
        report.requests,
        anomaly_count(report.anomalies),
        report.orphans,
        escape(&report.archived.location),
    );
    if let Some(link) = &report.archived.link {
        let _ = write!(text, "\n<{}|Open it in the S3 console>", escape(link));
    }
    json!({"text": text})
}

#[cfg(test)]
mod tests {
    use super::*;
    use powerpole_core::{
        AccessSpec, AccessWindow, Actor, BastionId, ClusterId, Component, DbUsername, Email, Field,
        Reason, Region, RequestId, SecretRef, SlackUserId, Transition, WindowPolicy,
    };
    use time::Duration;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-23 14:00 UTC);

    #[test]
    fn named_approvers_read_as_a_sentence_of_mentions() {
        let names = |setting: &str| {
            let powerpole_core::Approvers::Listed(list) = setting.parse().unwrap() else {
                panic!("{setting} names approvers")
            };
            approver_names(&list)
        };

        assert_eq!(names("users:U0AAAAAA1"), "<@U0AAAAAA1>");
        assert_eq!(
            names("users:U0AAAAAA1,U0BBBBBB2,U0CCCCCC3"),
            "<@U0AAAAAA1>, <@U0BBBBBB2> or <@U0CCCCCC3>"
        );
        assert_eq!(names("group:S0DBRE123"), "members of <!subteam^S0DBRE123>");
        assert_eq!(
            names("users:U0AAAAAA1,U0BBBBBB2 group:S0DBRE123"),
            "<@U0AAAAAA1>, <@U0BBBBBB2> or members of <!subteam^S0DBRE123>"
        );
        assert_eq!(
            names("group:S0DBRE123,S0SRE4567"),
            "members of <!subteam^S0DBRE123> or <!subteam^S0SRE4567>"
        );
    }

    fn request(reason: &str) -> AccessRequest {
        let spec = AccessSpec {
            cluster: ClusterId::parse("prod-orders").unwrap(),
            region: Region::parse("ap-northeast-1").unwrap(),
            permission: Permission::Dml,
            window: AccessWindow::request(T0, Duration::hours(1), T0, &WindowPolicy::default())
                .unwrap(),
            reason: Reason::parse(reason).unwrap(),
        };
        AccessRequest::submit(
            RequestId::generate(T0, &mut rand::rng()),
            SlackUserId::parse("UREQ1").unwrap(),
            DbUsername::from_email(&Email::parse("keisuke.owato@example.com").unwrap()).unwrap(),
            spec,
            T0,
        )
    }

    fn buttons(card: &Value) -> Vec<Value> {
        card["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["type"] == "actions")
            .flat_map(|b| b["elements"].as_array().unwrap().clone())
            .collect()
    }

    #[test]
    fn a_reason_with_mentions_and_links_is_shown_not_acted_on() {
        let card = approval_card(&request(
            "<!channel> see <https://evil.example|ticket> & fix",
        ));
        let text = card.to_string();
        assert!(!text.contains("<!channel>"), "{text}");
        assert!(
            text.contains("&lt;!channel&gt; see &lt;https://evil.example|ticket&gt; &amp; fix")
        );
    }

    #[test]
    fn the_card_shows_the_blast_radius_grants_verbatim_and_flags_sensitive_tables() {
        let mut pending = request("INC-1");
        let summary = "Blast radius:\n\
                       GRANT SELECT, INSERT ON `shop`.* TO 'keisuke.owato'@'%'\n\
                       shop: 2 tables, ~2.0k rows, 1 MB\n\
                       sensitive: shop.users, shop.<script>\n\
                       history: 0 of the last 2 DML grants on prod-orders used DML (READ would have done 2)";
        pending
            .record_survey(Actor::System(Component::Workflow), T0, summary)
            .unwrap();

        let card = approval_card(&pending);

        let block = card["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["block_id"] == "blast_radius")
            .expect("a blast radius section");
        let text = block["text"]["text"].as_str().unwrap();
        assert_eq!(
            text,
            "*Blast radius*\n\
             ```GRANT SELECT, INSERT ON `shop`.* TO 'keisuke.owato'@'%'```\n\
             • shop: 2 tables, ~2.0k rows, 1 MB\n\
             :warning: *Sensitive tables:* shop.users, shop.&lt;script&gt;\n\
             :bar_chart: *Requester's history:* 0 of the last 2 DML grants on prod-orders used DML \
             (READ would have done 2)"
        );
        assert!(
            approval_card(&request("INC-1"))["blocks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|b| b["block_id"] != "blast_radius"),
            "no section before the survey"
        );
    }

    #[test]
    fn a_tripwire_names_the_statement_escaped_and_offers_revoke_for_this_request() {
        let request = request("INC-1");
        let trip = Trip {
            at: T0,
            connection_id: 4,
            query_id: 9,
            statement: "DELETE FROM shop.carts /* <!channel> */".to_owned(),
            hazard: Some(powerpole_core::receipt::sql::Hazard::EveryRow),
            sensitive: Vec::new(),
            failed: false,
        };

        let message = tripwire_message(&request, &trip);

        let text = message.to_string();
        assert!(!text.contains("<!channel>"), "{text}");
        assert!(
            text.contains("DELETE FROM shop.carts /* &lt;!channel&gt; */"),
            "{text}"
        );
        assert!(text.contains("DELETE/UPDATE without WHERE"), "{text}");
        assert!(
            message["text"]
                .as_str()
                .unwrap()
                .starts_with("Tripwire on prod-orders: <@UREQ1>"),
            "{text}"
        );
        let revoke = buttons(&message);
        assert_eq!(revoke.len(), 1);
        assert_eq!(revoke[0]["action_id"], REVOKE_ACTION);
        assert_eq!(revoke[0]["value"], request.id().to_string());
        assert!(revoke[0]["confirm"].is_object());
    }

    #[test]
    fn the_pending_notice_offers_a_confirmed_cancel_carrying_only_the_id() {
        let pending = request("INC-1");

        let notice = submitted_message(&pending);

        assert!(
            notice["text"]
                .as_str()
                .unwrap()
                .starts_with(&format!(":inbox_tray: Request `{}` recorded", pending.id())),
            "{notice}"
        );
        let buttons = buttons(&notice);
        assert_eq!(buttons.len(), 1, "{notice}");
        assert_eq!(buttons[0]["action_id"], CANCEL_ACTION);
        assert_eq!(buttons[0]["value"], pending.id().to_string());
        assert_eq!(buttons[0]["text"]["text"], "Cancel request");
        assert!(buttons[0]["confirm"].is_object(), "asks before cancelling");
    }

    #[test]
    fn pending_card_has_approve_and_confirmed_deny_carrying_only_the_id() {
        let r = request("INC-1");
        let buttons = buttons(&approval_card(&r));
        assert_eq!(buttons.len(), 2);
        assert_eq!(buttons[0]["action_id"], APPROVE_ACTION);
        assert_eq!(buttons[0]["style"], "primary");
        assert_eq!(buttons[1]["action_id"], DENY_ACTION);
        assert_eq!(buttons[1]["style"], "danger");
        assert!(buttons[1]["confirm"].is_object());
        for b in &buttons {
            assert_eq!(b["value"], r.id().to_string());
        }
    }

    #[test]
    fn a_decided_card_says_who_and_when_and_has_no_buttons() {
        let mut r = request("INC-1");
        r.apply(
            Transition::Approve,
            Actor::User(SlackUserId::parse("UBOSS1").unwrap()),
            T0 + Duration::minutes(3),
            "",
        )
        .unwrap();
        let card = approval_card(&r);
        assert!(buttons(&card).is_empty());
        let text = card.to_string();
        let decided_at = (T0 + Duration::minutes(3)).unix_timestamp();
        assert!(
            text.contains(&format!("Approved by <@UBOSS1> <!date^{decided_at}^")),
            "{text}"
        );
        assert!(text.contains("|2026-11-23 14:03 UTC>"), "{text}");
        let mut expired = request("INC-2");
        expired
            .apply(
                Transition::Expire,
                Actor::System(powerpole_core::Component::Workflow),
                T0,
                "",
            )
            .unwrap();
        assert!(approval_card(&expired).to_string().contains("Expired"));
    }

    #[test]
    fn modal_errors_land_next_to_their_inputs() {
        let errors = vec![
            Error::invalid(Field::Duration, "must be at most 2h for this cluster"),
            Error::invalid(Field::Reason, "must not be empty"),
        ];
        assert_eq!(
            modal_errors(&errors),
            json!({"response_action": "errors", "errors": {
                "duration": "Must be at most 2h for this cluster",
                "reason": "Must not be empty"
            }})
        );
    }

    #[test]
    fn every_error_a_submission_can_meet_says_what_to_do_without_internals() {
        let backend = |retryable| Error::Backend {
            system: "dynamodb",
            retryable,
            source: "ProvisionedThroughputExceededException".into(),
        };
        let errors = [
            Error::invalid(Field::Email, "the part before @ has no ASCII letter"),
            Error::invalid(Field::Cluster, "x is not a cluster this broker serves"),
            Error::Conflict("request 01J… exists".into()),
            backend(true),
            backend(false),
            crate::Error::MissingEmail {
                user: SlackUserId::parse("U0REQUEST1").unwrap(),
            }
            .into(),
            crate::Error::UnexpectedResponse {
                method: "users.info",
                problem: "no user",
            }
            .into(),
        ];

        for error in &errors {
            let modal = submission_failed(error, "C0APPROVE1");
            let shown = modal["view"]["blocks"][0]["text"]["text"].as_str().unwrap();
            assert_eq!(modal["response_action"], "update");
            for internal in ["dynamodb", "Exception", "01J", "users.info", "failed"] {
                assert!(!shown.contains(internal), "{internal} in {shown}");
            }
            assert!(
                shown.contains("again") || shown.contains("Ask a powerpole admin"),
                "says what to do: {shown}"
            );
        }
    }

    #[test]
    fn the_modal_offers_configured_clusters_levels_and_durations_within_limits() {
        let mut reporting = ClusterPolicy::new(
            ClusterId::parse("reporting").unwrap(),
            Region::parse("us-east-1").unwrap(),
        );
        reporting.window = WindowPolicy::new(Duration::hours(2)).unwrap();
        let modal = request_modal(&[reporting]);
        let blocks = modal["blocks"].as_array().unwrap();
        let ids: Vec<&str> = blocks
            .iter()
            .map(|b| b["block_id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            [
                "cluster",
                "region",
                "permission",
                "duration",
                "start",
                "reason"
            ]
        );
        assert_eq!(blocks[1]["element"]["initial_value"], "us-east-1");
        let durations: Vec<&str> = blocks[3]["element"]["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["value"].as_str().unwrap())
            .collect();
        assert_eq!(durations, ["15", "30", "60", "120"]);
        assert_eq!(blocks[2]["element"]["options"].as_array().unwrap().len(), 3);
        assert_eq!(modal["callback_id"], REQUEST_CALLBACK);
    }

    fn ready(bastion: Option<&str>, secret: SecretLocation) -> Notice {
        Notice::Ready {
            request: request("x").id(),
            username: DbUsername::parse("keisuke.owato").unwrap(),
            bastion: bastion.map(|b| BastionId(b.into())),
            region: Region::parse("ap-northeast-1").unwrap(),
            endpoint: "prod-orders.cluster-abc.ap-northeast-1.rds.amazonaws.com".into(),
            port: 3307,
            secret,
            ends_at: T0 + Duration::hours(1),
        }
    }

    /// The connect command as Slack shows it: the code block's text with `&lt;` etc. undone.
    fn command_in(message: &Value) -> String {
        let text = message["blocks"][1]["text"]["text"].as_str().unwrap();
        let block = text.rsplit("```").nth(1).unwrap();
        block
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    }

    #[test]
    fn the_ready_message_explains_how_to_connect_without_the_password() {
        let notice = ready(
            Some("i-0abc"),
            SecretLocation::SecretsManager(SecretRef(
                "arn:aws:secretsmanager:ap-northeast-1:1:secret:powerpole/x".into(),
            )),
        );
        let message = notice_message(&notice);
        let text = message.to_string();
        assert!(
            text.contains("aws ssm start-session --region ap-northeast-1 --target 'i-0abc'"),
            "{text}"
        );
        let command = command_in(&message);
        assert!(
            command.starts_with("mysql --defaults-extra-file=<(printf '[client]\\npassword=%s\\nloose-ssl\\nssl-ca=/etc/pki/powerpole/rds-ca.pem\\nloose-ssl-verify-server-cert\\nloose-ssl-mode=VERIFY_IDENTITY\\n' \"$(aws secretsmanager get-secret-value --region ap-northeast-1 --secret-id 'arn:aws:secretsmanager:ap-northeast-1:1:secret:powerpole/x' --query SecretString --output text | jq -r .password)\")"),
            "{command}"
        );
        assert!(
            command.ends_with(
                " -h 'prod-orders.cluster-abc.ap-northeast-1.rds.amazonaws.com' -P 3307 -u 'keisuke.owato'"
            ),
            "{command}"
        );
        assert!(
            !text.contains("<("),
            "Slack's control characters are escaped: {text}"
        );
    }

    #[test]
    fn the_ready_message_offers_extend_and_end_now_for_this_request() {
        let notice = ready(None, SecretLocation::File("/state/secrets/x.json".into()));
        let Notice::Ready { request, .. } = &notice else {
            unreachable!("a ready notice")
        };
        let message = notice_message(&notice);

        let buttons = buttons(&message);
        assert_eq!(buttons.len(), 2);
        assert_eq!(buttons[0]["action_id"], EXTEND_ACTION);
        assert_eq!(buttons[1]["action_id"], END_NOW_ACTION);
        assert!(buttons.iter().all(|b| b["value"] == request.to_string()));
        assert!(buttons[1]["confirm"].is_object(), "asks before ending");
    }

    #[test]
    fn the_extension_card_escapes_the_reason_and_its_buttons_name_the_extension() {
        let mut live = request("INC-1");
        let approver = Actor::User(SlackUserId::parse("UAPPROVER1").unwrap());
        let workflow = Actor::System(Component::Workflow);
        live.apply(Transition::Approve, approver, T0, "").unwrap();
        live.apply(Transition::StartProvisioning, workflow.clone(), T0, "")
            .unwrap();
        live.apply(Transition::Activate, workflow, T0, "").unwrap();
        let requester = Actor::User(live.requester().clone());
        live.request_extension(
            requester,
            powerpole_core::ExtensionLength::new(Duration::minutes(30)).unwrap(),
            &Reason::parse("<!channel> one more <https://evil.example|step>").unwrap(),
            Duration::hours(8),
            T0,
        )
        .unwrap();

        let card = extension_card(&live, 1);

        let text = card.to_string();
        assert!(!text.contains("<!channel>"), "{text}");
        assert!(text.contains("&lt;!channel&gt; one more"), "{text}");
        let buttons = buttons(&card);
        assert_eq!(
            buttons
                .iter()
                .map(|b| b["action_id"].clone())
                .collect::<Vec<_>>(),
            [EXTENSION_APPROVE_ACTION, EXTENSION_DENY_ACTION]
        );
        assert!(text.contains(&format!("\"block_id\":\"{}\"", extension_block(1))));
        assert_eq!(extension_number(&extension_block(1)), Some(1));
        assert_eq!(extension_number("decision"), None);
    }

    #[test]
    fn a_revoked_request_tells_the_requester_who_revoked_it() {
        let id = request("x").id();
        let message = notice_message(&Notice::Revoked {
            request: id,
            by: SlackUserId::parse("U0APPROVE2").unwrap(),
        });

        let text = message["text"].as_str().unwrap();
        assert!(
            text.contains("<@U0APPROVE2> revoked your access") && text.contains(&id.to_string()),
            "{text}"
        );
    }

    #[test]
    fn the_local_ready_message_reads_the_secret_file_and_has_no_bastion_step() {
        let message = notice_message(&ready(
            None,
            SecretLocation::File("/home/o'neil/.powerpole/secrets/x.json".into()),
        ));

        let command = command_in(&message);
        assert!(
            command.contains("\"$(jq -r .password '/home/o'\\''neil/.powerpole/secrets/x.json')\""),
            "a quote in the path stays inside one shell word: {command}"
        );
        assert!(!command.contains("aws "), "{command}");
        assert!(!message.to_string().contains("ssm"));
    }

    #[test]
    fn the_warning_says_how_long_is_left_and_offers_extend_and_end_now_for_this_request_only() {
        let id = request("x").id();
        let message = notice_message(&Notice::EndingSoon {
            request: id,
            ends_at: T0,
            left: Duration::seconds(9 * 60 + 58),
        });
        let buttons = buttons(&message);
        assert_eq!(buttons.len(), 2);
        assert_eq!(buttons[0]["action_id"], EXTEND_ACTION);
        assert_eq!(buttons[1]["action_id"], END_NOW_ACTION);
        assert!(buttons.iter().all(|b| b["value"] == id.to_string()));
        assert_eq!(
            message["text"],
            "Your database access ends at 2026-11-23 14:00 UTC, in 10 minutes."
        );
        let soon = notice_message(&Notice::EndingSoon {
            request: id,
            ends_at: T0,
            left: Duration::seconds(20),
        });
        assert!(
            soon["text"]
                .as_str()
                .unwrap()
                .contains("in less than a minute")
        );
    }

    #[test]
    fn the_end_message_mentions_a_bastion_only_when_there_was_one() {
        let id = request("x").id();
        let local = notice_message(&Notice::Ended {
            request: id,
            bastion: None,
        });
        let aws = notice_message(&Notice::Ended {
            request: id,
            bastion: Some(BastionId("i-0abc".into())),
        });

        assert!(
            !local["text"].as_str().unwrap().contains("bastion"),
            "{local}"
        );
        assert!(
            aws["text"]
                .as_str()
                .unwrap()
                .contains("the DB user is dropped and the bastion terminated"),
            "{aws}"
        );
    }

    #[test]
    fn a_published_report_says_what_it_holds_and_where_it_is_without_a_presigned_link() {
        let report = PublishedReport {
            period: powerpole_core::Period::new(T0 - Duration::days(7), T0).unwrap(),
            requests: 12,
            anomalies: 1,
            orphans: 0,
            archived: powerpole_core::report::archive::ArchivedReport {
                location: "s3://powerpole-reports/reports/r.html".into(),
                link: Some("https://console.aws.amazon.com/s3/object/powerpole-reports?prefix=reports/r.html&a=<b>".into()),
            },
        };

        let text = published_report(&report)["text"]
            .as_str()
            .unwrap()
            .to_owned();

        assert!(
            text.contains("2026-11-16T14:00:00Z → 2026-11-23T14:00:00Z"),
            "{text}"
        );
        assert!(
            text.contains("12 request(s), 1 anomaly, 0 orphan(s)"),
            "{text}"
        );
        assert!(
            text.contains("`s3://powerpole-reports/reports/r.html`"),
            "{text}"
        );
        assert!(
            text.contains("&lt;b&gt;|Open it in the S3 console>"),
            "{text}"
        );
        assert!(!text.contains("X-Amz-"), "{text}");
    }

    #[test]
    fn a_late_approval_shows_the_granted_window_on_the_card() {
        let mut r = request("INC-1");
        let approved_at = T0 + Duration::minutes(20);
        r.apply(
            Transition::Approve,
            Actor::User(SlackUserId::parse("UBOSS1").unwrap()),
            approved_at,
            "",
        )
        .unwrap();

        let fields = approval_card(&r)["blocks"][1]["fields"].to_string();

        let until = (approved_at + Duration::hours(1)).unix_timestamp();
        assert!(
            fields.contains(&format!(
                "*From*\\n<!date^{}^",
                approved_at.unix_timestamp()
            )),
            "{fields}"
        );
        assert!(
            fields.contains(&format!("*Until*\\n<!date^{until}^")),
            "{fields}"
        );
        assert!(
            fields.contains(&format!("asked for <!date^{}^", T0.unix_timestamp())),
            "{fields}"
        );
    }
}
