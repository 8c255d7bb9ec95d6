//! The report as one self-contained HTML page: inline CSS, an inline SVG timeline per day, and a
//! small inline script for the search box — no external script, font, style sheet or image, so
//! the file works opened from disk and attached to a ticket. A Content-Security-Policy allows
//! only the page's own style and script (by hash) and no fetch at all.
//!
//! Every piece of content that came from people or servers (reasons, statements, hosts, ids) goes
//! through [`escape`]; only the page's own markup is written raw.

use std::fmt::Write as _;

use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use super::{Anomaly, HeldAccess, Report, ReportEntry, TimelineDay, anomaly_count};
use crate::encoding::base64;
use crate::extension::ExtensionOutcome;
use crate::grants::Permission;
use crate::lifecycle::Actor;
use crate::ports::Orphan;
use crate::receipt::{
    BastionSession, DbActivity, ExtensionRecord, Gathered, Login, Receipt, Statement, StatementKind,
};
use crate::timefmt::{Precision, rfc3339};

const STYLE: &str = "\
:root{--fg:#1d2330;--muted:#5b6475;--line:#d8dce3;--bg:#fff;--warn:#b42318;--soft:#f5f6f8}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1100px;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
.muted{color:var(--muted)}
table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600}
td.k{width:180px;background:var(--soft)}
code,pre{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{white-space:pre-wrap;word-break:break-word;margin:0}
.anomalies td:first-child{color:var(--warn);font-weight:600;white-space:nowrap}
.badge{display:inline-block;padding:0 6px;border-radius:8px;background:var(--soft);border:1px solid var(--line);font-size:12px}
.badge.warn{background:#fee4e2;border-color:#fda29b;color:var(--warn)}
section.request{border:1px solid var(--line);border-radius:6px;padding:8px 14px;margin:14px 0}
.search{position:sticky;top:0;background:var(--bg);padding:8px 0;border-bottom:1px solid var(--line)}
.search input{font:inherit;padding:6px 8px;width:360px;max-width:100%}
svg{display:block;margin:4px 0 12px}
svg text{font:11px system-ui,sans-serif;fill:var(--fg)}
.legend span{margin-right:12px}
.sw{display:inline-block;width:10px;height:10px;margin-right:4px}
.sw.read{background:#3b7dd8}.sw.dml{background:#d99a1b}.sw.ddl{background:#c0392b}
@media print{.search{display:none}section.request{break-inside:avoid}}";

const SCRIPT: &str = "\
(function(){var box=document.getElementById('filter');var shown=document.getElementById('shown');\
var items=Array.prototype.slice.call(document.querySelectorAll('[data-search]'));\
function apply(){var q=box.value.trim().toLowerCase();var n=0;\
items.forEach(function(el){var hit=q===''||el.textContent.toLowerCase().indexOf(q)!==-1;\
el.hidden=!hit;if(hit){n+=1;}});shown.textContent=n+' of '+items.length+' entries shown';}\
box.addEventListener('input',apply);apply();})();";

const TIMELINE_WIDTH: f64 = 1040.0;
const LABEL_WIDTH: f64 = 260.0;
const LANE_HEIGHT: f64 = 22.0;

/// `text` with every character that means something in HTML (`&`, `<`, `>`, `"`, `'`) replaced by
/// its entity, and `{` / `}` too (so no template engine a page is pasted into sees `{{`).
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '{' => out.push_str("&#123;"),
            '}' => out.push_str("&#125;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn csp_hash(source: &str) -> String {
    format!("'sha256-{}'", base64(&Sha256::digest(source.as_bytes())))
}

fn at(t: OffsetDateTime) -> String {
    rfc3339(t, Precision::Seconds)
}

fn actor(a: &Actor) -> String {
    match a {
        Actor::User(user) => user.to_string(),
        Actor::System(component) => format!("the {}", component.as_str()),
    }
}

/// The report as one self-contained HTML page.
#[must_use]
pub fn render(report: &Report) -> String {
    let mut page = String::with_capacity(16 * 1024);
    let scope = &report.scope;
    let period = format!(
        "{} → {}",
        at(scope.period.since()),
        at(scope.period.until())
    );
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src {}; script-src {}; img-src data:; base-uri 'none'; form-action 'none'\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>powerpole access report {}</title><style>{STYLE}</style></head><body>\n",
        csp_hash(STYLE),
        csp_hash(SCRIPT),
        escape(&period),
    );
    let _ = write!(
        page,
        "<h1>Access report</h1><p class=\"muted\">{} · generated {} · ",
        escape(&period),
        at(report.generated_at)
    );
    let mut filters = Vec::new();
    if let Some(cluster) = &scope.cluster {
        filters.push(format!("cluster {cluster}"));
    }
    if let Some(user) = &scope.user {
        filters.push(format!("person {user}"));
    }
    if filters.is_empty() {
        filters.push("every cluster and person".to_owned());
    }
    let _ = writeln!(
        page,
        "{} · {}</p>",
        escape(&filters.join(", ")),
        report.summary()
    );
    page.push_str(
        "<div class=\"search\"><label>Search <input id=\"filter\" type=\"search\" \
         placeholder=\"user, cluster, statement, host…\" autocomplete=\"off\"></label> \
         <span id=\"shown\" class=\"muted\"></span></div>\n",
    );
    anomalies(&mut page, &report.anomalies);
    timeline(&mut page, &report.timeline);
    page.push_str("<h2 id=\"requests\">Requests</h2>\n");
    if report.entries.is_empty() {
        page.push_str("<p>No request in this period.</p>\n");
    }
    for entry in &report.entries {
        request(&mut page, report, entry);
    }
    orphans(&mut page, &report.orphans);
    let _ = write!(page, "<script>{SCRIPT}</script>\n</body></html>\n");
    page
}

fn anomalies(page: &mut String, list: &[Anomaly]) {
    let _ = writeln!(page, "<h2 id=\"anomalies\">Anomalies ({})</h2>", list.len());
    if list.is_empty() {
        page.push_str("<p>None: every statement ran inside its window, from expected hosts, and nothing failed.</p>\n");
        return;
    }
    page.push_str(
        "<table class=\"anomalies\"><thead><tr><th>What</th><th>When</th><th>Request</th>\
         <th>Cluster · DB user</th><th>Statement / subject</th><th>Note</th></tr></thead><tbody>\n",
    );
    for a in list {
        let request = a.request.map_or_else(
            || "—".to_owned(),
            |id| format!("<a href=\"#r-{id}\">{id}</a>"),
        );
        let who = format!(
            "{} · {}",
            a.cluster.as_ref().map_or("—", |c| c.as_str()),
            a.db_user.as_deref().unwrap_or("—")
        );
        let _ = writeln!(
            page,
            "<tr data-search data-kind=\"{}\"><td>{}</td><td>{}</td><td>{request}</td><td>{}</td>\
             <td><pre>{}</pre></td><td>{}</td></tr>",
            a.kind.as_str(),
            a.kind.title(),
            at(a.at),
            escape(&who),
            escape(&a.subject),
            escape(&a.note),
        );
    }
    page.push_str("</tbody></table>\n");
}

fn colour(p: Permission) -> &'static str {
    match p {
        Permission::Read => "#3b7dd8",
        Permission::Dml => "#d99a1b",
        Permission::Ddl => "#c0392b",
    }
}

fn timeline(page: &mut String, days: &[TimelineDay]) {
    page.push_str("<h2 id=\"timeline\">Who held access</h2>\n");
    if days.is_empty() {
        page.push_str("<p>Nobody held access in this period.</p>\n");
        return;
    }
    page.push_str(
        "<p class=\"legend muted\"><span><i class=\"sw read\"></i>READ</span>\
         <span><i class=\"sw dml\"></i>DML</span><span><i class=\"sw ddl\"></i>DDL</span> \
         hours in UTC</p>\n",
    );
    let scale = (TIMELINE_WIDTH - LABEL_WIDTH - 24.0) / 86_400.0;
    for day in days {
        let mut lanes: Vec<(String, String)> = Vec::new();
        for bar in &day.bars {
            let lane = (bar.cluster.as_str().to_owned(), bar.db_user.clone());
            if !lanes.contains(&lane) {
                lanes.push(lane);
            }
        }
        let height = 24.0 + LANE_HEIGHT * lanes.len() as f64;
        let _ = writeln!(
            page,
            "<h3>{}</h3><svg role=\"img\" aria-label=\"access held on {}\" width=\"100%\" \
             height=\"{height}\" viewBox=\"0 0 {TIMELINE_WIDTH} {height}\" xmlns=\"http://www.w3.org/2000/svg\">",
            day.date, day.date
        );
        for hour in (0..=24).step_by(3) {
            let x = LABEL_WIDTH + f64::from(hour) * 3600.0 * scale;
            let _ = writeln!(
                page,
                "<line x1=\"{x:.1}\" y1=\"14\" x2=\"{x:.1}\" y2=\"{height}\" stroke=\"#d8dce3\"/>\
                 <text x=\"{x:.1}\" y=\"10\" text-anchor=\"middle\">{hour:02}:00</text>"
            );
        }
        for (i, (cluster, user)) in lanes.iter().enumerate() {
            let y = 18.0 + LANE_HEIGHT * i as f64;
            let _ = writeln!(
                page,
                "<text x=\"4\" y=\"{:.1}\">{} · {}</text>",
                y + 13.0,
                escape(cluster),
                escape(user)
            );
        }
        let midnight = day.date.with_time(time::Time::MIDNIGHT).assume_utc();
        for bar in &day.bars {
            let lane = lanes
                .iter()
                .position(|(c, u)| c == bar.cluster.as_str() && *u == bar.db_user)
                .unwrap_or(0);
            let x = LABEL_WIDTH + (bar.from - midnight).as_seconds_f64() * scale;
            let width = ((bar.to - bar.from).as_seconds_f64() * scale).max(2.0);
            let y = 18.0 + LANE_HEIGHT * lane as f64;
            let _ = writeln!(
                page,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{width:.1}\" height=\"{:.1}\" rx=\"3\" \
                 fill=\"{}\"><title>{}</title></rect>",
                y + 2.0,
                LANE_HEIGHT - 6.0,
                colour(bar.permission),
                escape(&format!(
                    "{} {} on {} ({}) {} → {}, request {}",
                    bar.requester,
                    bar.db_user,
                    bar.cluster,
                    bar.permission,
                    at(bar.from),
                    at(bar.to),
                    bar.request
                ))
            );
        }
        page.push_str("</svg>\n");
    }
}

fn row(page: &mut String, key: &str, value: &str) {
    let _ = writeln!(page, "<tr><td class=\"k\">{key}</td><td>{value}</td></tr>");
}

fn request(page: &mut String, report: &Report, entry: &ReportEntry) {
    let r = &entry.receipt;
    let flagged = report.anomalies_of(r.request).count();
    let badge = if flagged > 0 {
        format!(
            " <span class=\"badge warn\">{}</span>",
            anomaly_count(flagged)
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        page,
        "<section class=\"request\" id=\"r-{}\" data-search><h3>{} · {} · {} · {} \
         <span class=\"badge\">{}</span>{badge}</h3><table>",
        r.request,
        escape(r.db_username.as_str()),
        escape(r.cluster.as_str()),
        r.permission,
        r.request,
        r.state.as_str(),
    );
    row(
        page,
        "Requester",
        &format!("{} at {}", escape(r.requester.as_str()), at(r.requested_at)),
    );
    row(page, "Reason", &format!("<pre>{}</pre>", escape(&r.reason)));
    row(
        page,
        "Cluster",
        &format!(
            "{} ({})",
            escape(r.cluster.as_str()),
            escape(r.region.as_str())
        ),
    );
    row(
        page,
        "Level",
        &escape(
            &r.level_used()
                .unwrap_or_else(|| format!("{} granted, use unknown", r.permission)),
        ),
    );
    let decision = r.decision.as_ref().map_or_else(
        || "not decided".to_owned(),
        |d| format!("{} by {} at {}", d.kind.as_str(), actor(&d.by), at(d.at)),
    );
    row(page, "Decision", &escape(&decision));
    row(page, "Approvals", &approvals(r));
    row(
        page,
        "Extensions",
        &escape(&extensions_summary(&r.extensions)),
    );
    row(
        page,
        "Window requested",
        &format!(
            "{} → {}",
            at(entry.requested.start()),
            at(entry.requested.end())
        ),
    );
    row(
        page,
        "Window granted",
        &format!("{} → {}", at(r.granted.start()), at(r.granted.end())),
    );
    let used = match &r.database {
        Gathered::Found(DbActivity { used: Some(u), .. }) => {
            format!("{} → {}", at(u.first_connect), at(u.last_disconnect))
        }
        Gathered::Found(_) => "never connected".to_owned(),
        Gathered::Unavailable { .. } => "unknown (no audit log)".to_owned(),
    };
    row(page, "Window used", &used);
    row(page, "Access held", &held(entry.held));
    page.push_str("</table>\n");
    extensions(page, &r.extensions);
    match &r.database {
        Gathered::Found(db) => activity(page, db),
        Gathered::Unavailable { why } => {
            let _ = writeln!(
                page,
                "<p><b>Database audit log unavailable:</b> {}</p>",
                escape(why)
            );
        }
    }
    sessions(page, &r.bastion_sessions);
    page.push_str("</section>\n");
}

/// Who approved and when, one approver a line, escaped.
fn approvals(r: &Receipt) -> String {
    if r.auto_approved {
        return "none needed: approved by the cluster&#39;s policy".to_owned();
    }
    if r.approvals.is_empty() {
        return "none".to_owned();
    }
    let mut lines: Vec<String> = r
        .approvals
        .iter()
        .map(|a| format!("{} at {}", escape(a.by.as_str()), at(a.at)))
        .collect();
    if r.approvals_required > 1 {
        lines.push(format!(
            "({} of {} required)",
            r.approvals.len(),
            r.approvals_required
        ));
    }
    lines.join("<br>")
}

fn extensions_summary(list: &[ExtensionRecord]) -> String {
    if list.is_empty() {
        return "none asked for".to_owned();
    }
    let approved: Vec<&ExtensionRecord> = list
        .iter()
        .filter(|e| matches!(e.outcome, ExtensionOutcome::Approved { .. }))
        .collect();
    let minutes: i64 = approved.iter().map(|e| e.length.minutes()).sum();
    format!(
        "{} asked for, {} approved (+{minutes} min)",
        list.len(),
        approved.len()
    )
}

fn extensions(page: &mut String, list: &[ExtensionRecord]) {
    if list.is_empty() {
        return;
    }
    let _ = writeln!(
        page,
        "<h4>Extensions ({})</h4><table><thead><tr><th>#</th><th>Asked</th><th>By</th>\
         <th>Length</th><th>Reason</th><th>Outcome</th><th>Decided by</th><th>Decided</th>\
         </tr></thead><tbody>",
        list.len()
    );
    for e in list {
        let _ = writeln!(
            page,
            "<tr data-extension=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>+{} min</td>\
             <td><pre>{}</pre></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e.outcome_name(),
            e.number,
            at(e.asked_at),
            escape(e.asked_by.as_str()),
            e.length.minutes(),
            escape(&e.reason),
            match e.outcome {
                ExtensionOutcome::Pending => "waiting for an approver",
                ExtensionOutcome::Approved { .. } => "approved",
                ExtensionOutcome::Denied { .. } => "denied",
                ExtensionOutcome::Lapsed { .. } => "lapsed: not decided before the end",
            },
            e.decided_by()
                .map_or_else(|| "—".to_owned(), |by| escape(by.as_str())),
            e.decided_at().map_or_else(|| "—".to_owned(), at),
        );
    }
    page.push_str("</tbody></table>\n");
}

fn held(held: Option<HeldAccess>) -> String {
    match held {
        None => "never provisioned".to_owned(),
        Some(h) if h.still_held => format!("{} → still held", at(h.from)),
        Some(h) => format!("{} → {}", at(h.from), at(h.to)),
    }
}

fn activity(page: &mut String, db: &DbActivity) {
    let counts: Vec<String> = StatementKind::ALL
        .iter()
        .map(|k| format!("{} {}", db.counts.of(*k), k))
        .collect();
    let _ = writeln!(
        page,
        "<p>{} statement(s): {} · {} session(s) · {} refused login(s) · {} failed statement(s)</p>",
        db.counts.total(),
        counts.join(" · "),
        db.sessions,
        db.failed_logins,
        db.failed.len()
    );
    statements(page, "DDL and DCL, verbatim", &db.ddl_dcl);
    statements(page, "Failed statements", &db.failed);
    statements(page, "Statements outside the window", &db.outside_window);
    logins(page, &db.logins);
    if !db.tables.is_empty() {
        let tables: Vec<String> = db
            .tables
            .iter()
            .map(|t| format!("<code>{}</code>", escape(t)))
            .collect();
        let _ = writeln!(page, "<p>Tables touched: {}</p>", tables.join(", "));
    }
}

fn statements(page: &mut String, title: &str, list: &[Statement]) {
    if list.is_empty() {
        return;
    }
    let _ = writeln!(
        page,
        "<h4>{title} ({})</h4><table><thead><tr><th>When</th><th>Session</th><th>Kind</th>\
         <th>Result</th><th>Statement</th></tr></thead><tbody>",
        list.len()
    );
    for s in list {
        let result = if s.retcode == 0 {
            "ok".to_owned()
        } else {
            format!("error {}", s.retcode)
        };
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>#{}</td><td>{}</td><td>{result}</td><td><pre>{}</pre></td></tr>",
            at(s.at),
            s.connection_id,
            s.kind,
            escape(&s.text)
        );
    }
    page.push_str("</tbody></table>\n");
}

fn logins(page: &mut String, list: &[Login]) {
    if list.is_empty() {
        return;
    }
    let _ = writeln!(
        page,
        "<h4>Logins ({})</h4><table><thead><tr><th>When</th><th>Session</th><th>Host</th>\
         <th>Result</th></tr></thead><tbody>",
        list.len()
    );
    for l in list {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>#{}</td><td>{}</td><td>{}</td></tr>",
            at(l.at),
            l.connection_id,
            escape(&l.host),
            if l.refused { "refused" } else { "accepted" }
        );
    }
    page.push_str("</tbody></table>\n");
}

fn sessions(page: &mut String, sessions: &Gathered<Vec<BastionSession>>) {
    match sessions {
        Gathered::Found(list) if list.is_empty() => {
            page.push_str("<p>No SSM session on the bastion.</p>\n");
        }
        Gathered::Found(list) => {
            page.push_str(
                "<h4>SSM sessions on the bastion</h4><table><thead><tr><th>Session</th>\
                 <th>Principal</th><th>Bastion</th><th>From</th><th>To</th><th>Commands</th>\
                 </tr></thead><tbody>\n",
            );
            for s in list {
                let _ = writeln!(
                    page,
                    "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&s.id),
                    escape(&s.principal),
                    escape(&s.bastion.0),
                    at(s.first_seen),
                    at(s.last_seen),
                    s.commands.len()
                );
            }
            page.push_str("</tbody></table>\n");
            for s in list.iter().filter(|s| !s.commands.is_empty()) {
                let _ = writeln!(
                    page,
                    "<h4>Commands typed in <code>{}</code> ({})</h4><table><thead><tr><th>When</th>\
                     <th>Where</th><th>Command</th></tr></thead><tbody>",
                    escape(&s.id),
                    s.commands.len()
                );
                for c in &s.commands {
                    let _ = writeln!(
                        page,
                        "<tr><td>{}</td><td>{}</td><td><pre>{}</pre></td></tr>",
                        at(c.at),
                        c.kind.as_str(),
                        escape(&c.text)
                    );
                }
                page.push_str("</tbody></table>\n");
            }
        }
        Gathered::Unavailable { why } => {
            let _ = writeln!(page, "<p class=\"muted\">SSM sessions: {}</p>", escape(why));
        }
    }
}

fn orphans(page: &mut String, list: &[Orphan]) {
    let _ = writeln!(
        page,
        "<h2 id=\"orphans\">Orphans the sweeper found ({})</h2>",
        list.len()
    );
    if list.is_empty() {
        page.push_str("<p>None.</p>\n");
        return;
    }
    page.push_str(
        "<table><thead><tr><th>Found</th><th>Kind</th><th>Resource</th><th>Request</th>\
         <th>What the sweeper did</th></tr></thead><tbody>\n",
    );
    for o in list {
        let _ = writeln!(
            page,
            "<tr data-search><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            at(o.found_at),
            o.kind.as_str(),
            escape(&o.resource),
            o.request
                .map_or_else(|| "—".to_owned(), |id| id.to_string()),
            escape(&o.detail)
        );
    }
    page.push_str("</tbody></table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_template_braces_are_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script></html>{{7*7}} & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;/html&gt;&#123;&#123;7*7&#125;&#125; \
             &amp; &quot;q&quot;"
        );
    }
}
