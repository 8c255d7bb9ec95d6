//! The session receipt: what the security team reviews once a request is over. It brings
//! together the request's own history (who asked; who approved and when — every approver of a
//! request needing several, or the cluster's policy — or who denied it; each extension asked for
//! and what became of it; the window granted), the database audit log of its DB user (the window
//! actually used, statements by kind, every DDL and DCL statement, failures, statements outside
//! the window, tables touched) and the SSM sessions on its bastion.
//!
//! [`Receipt::assemble`] is pure; the use case [`crate::usecases::receipt`] gathers its inputs
//! from the ports. Every statement a receipt keeps has its passwords masked
//! ([`sql::mask_secrets`]), whether or not the server masked them.

pub mod shell;
pub mod sql;

use std::collections::BTreeSet;

use time::OffsetDateTime;

use crate::account::DbUsername;
use crate::audit::{AuditOperation, AuditRecord};
use crate::extension::{ExtensionLength, ExtensionOutcome};
use crate::grants::Permission;
use crate::ids::{ClusterId, Region, RequestId, SlackUserId};
use crate::lifecycle::{AccessRequest, Actor, EventKind, RequestState};
use crate::resources::BastionId;
use crate::window::AccessWindow;

pub use shell::{CommandKind, SessionCommand};
pub use sql::{MASK, StatementKind};

/// `text` cut after `max` characters, with `…` when it was longer.
pub(crate) fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// The start of the step event that records, with the posted receipt, the lowest level the
/// session needed (`level needed: DML`, `level needed: nothing`): the history the requester's
/// next approval card shows (see [`crate::blast::usage_history`]).
pub const LEVEL_NEEDED: &str = "level needed: ";

/// Something a receipt gathers from outside the store: found, or unavailable and why (an audit
/// log that is not exported, no bastion in local mode…). An unavailable source is said so in the
/// receipt, never shown as "nothing happened".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gathered<T> {
    /// What the source holds.
    Found(T),
    /// The source could not be read, or does not exist.
    Unavailable {
        /// Why, for people.
        why: String,
    },
}

impl<T> Gathered<T> {
    /// The value, if it was found.
    #[must_use]
    pub fn found(&self) -> Option<&T> {
        match self {
            Self::Found(value) => Some(value),
            Self::Unavailable { .. } => None,
        }
    }
}

/// One SSM Session Manager session on the request's bastion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BastionSession {
    /// The session id (`<principal>-<hex>`).
    pub id: String,
    /// Who opened it (the IAM principal's ARN, as SSM logs it).
    pub principal: String,
    /// The instance it was opened on.
    pub bastion: BastionId,
    /// Its first logged event.
    pub first_seen: OffsetDateTime,
    /// Its last logged event.
    pub last_seen: OffsetDateTime,
    /// The commands typed in it, oldest first, secrets masked ([`shell::commands`]).
    pub commands: Vec<SessionCommand>,
}

/// One statement from the audit log, with its passwords masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// When it ran.
    pub at: OffsetDateTime,
    /// The session it ran in.
    pub connection_id: u64,
    /// The default database at the time (may be empty).
    pub database: String,
    /// Its kind.
    pub kind: StatementKind,
    /// The statement, passwords masked.
    pub text: String,
    /// The server's return code (0 = success).
    pub retcode: i32,
}

/// How many statements of each kind ran.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatementCounts {
    /// Reads.
    pub read: usize,
    /// Data changes.
    pub dml: usize,
    /// Schema changes.
    pub ddl: usize,
    /// Privilege and account changes.
    pub dcl: usize,
    /// Everything else.
    pub other: usize,
}

impl StatementCounts {
    /// The count of one kind.
    #[must_use]
    pub fn of(&self, kind: StatementKind) -> usize {
        match kind {
            StatementKind::Read => self.read,
            StatementKind::Dml => self.dml,
            StatementKind::Ddl => self.ddl,
            StatementKind::Dcl => self.dcl,
            StatementKind::Other => self.other,
        }
    }

    /// Every statement.
    #[must_use]
    pub fn total(&self) -> usize {
        self.read + self.dml + self.ddl + self.dcl + self.other
    }

    fn add(&mut self, kind: StatementKind) {
        let count = match kind {
            StatementKind::Read => &mut self.read,
            StatementKind::Dml => &mut self.dml,
            StatementKind::Ddl => &mut self.ddl,
            StatementKind::Dcl => &mut self.dcl,
            StatementKind::Other => &mut self.other,
        };
        *count += 1;
    }
}

/// The time access was really used: from the first connection to the last disconnection (or the
/// last record, when the session's end was not logged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsedWindow {
    /// The first connection.
    pub first_connect: OffsetDateTime,
    /// The last disconnection.
    pub last_disconnect: OffsetDateTime,
}

/// One login of the DB user, accepted or refused, with the host it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// When.
    pub at: OffsetDateTime,
    /// The client host the server saw (an address, or `localhost` for a socket).
    pub host: String,
    /// The session it opened (or tried to).
    pub connection_id: u64,
    /// Whether the server refused it (`FAILED_CONNECT`).
    pub refused: bool,
}

/// What the DB user did, from the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbActivity {
    /// When the account was used, if it was.
    pub used: Option<UsedWindow>,
    /// How many sessions were opened.
    pub sessions: usize,
    /// How many logins were refused.
    pub failed_logins: usize,
    /// Every login, accepted or refused, oldest first.
    pub logins: Vec<Login>,
    /// Statements by kind.
    pub counts: StatementCounts,
    /// Every DDL and DCL statement, oldest first.
    pub ddl_dcl: Vec<Statement>,
    /// Every statement the server refused (return code ≠ 0), oldest first.
    pub failed: Vec<Statement>,
    /// Every statement that ran outside the granted window, oldest first.
    pub outside_window: Vec<Statement>,
    /// The tables statements named (`db.table` when known), sorted.
    pub tables: BTreeSet<String>,
}

impl Login {
    fn of(record: &AuditRecord, refused: bool) -> Self {
        Self {
            at: record.at,
            host: record.host.clone(),
            connection_id: record.connection_id,
            refused,
        }
    }
}

impl DbActivity {
    /// The lowest level that would have let the user run what they ran (every statement tried,
    /// failed ones too): DDL for any DDL, else DML for any data change, else READ; `None` when
    /// they ran nothing. DCL counts for no level: none of them grants it.
    #[must_use]
    pub fn level_needed(&self) -> Option<Permission> {
        if self.counts.total() == 0 {
            None
        } else if self.counts.ddl > 0 {
            Some(Permission::Ddl)
        } else if self.counts.dml > 0 {
            Some(Permission::Dml)
        } else {
            Some(Permission::Read)
        }
    }

    /// Reads the audit records of `username`, classifying each statement against `granted`.
    /// Records of any other user are ignored.
    #[must_use]
    pub fn from_records(
        username: &DbUsername,
        granted: &AccessWindow,
        records: &[AuditRecord],
    ) -> Self {
        let mut records: Vec<&AuditRecord> = records
            .iter()
            .filter(|r| r.username == username.as_str())
            .collect();
        records.sort_by_key(|r| (r.at, r.connection_id, r.query_id));
        let mut activity = Self::default();
        let mut first_connect = None;
        for record in &records {
            match &record.operation {
                AuditOperation::Connect => {
                    activity.sessions += 1;
                    first_connect.get_or_insert(record.at);
                    activity.logins.push(Login::of(record, false));
                }
                AuditOperation::Disconnect => {}
                AuditOperation::FailedConnect => {
                    activity.failed_logins += 1;
                    activity.logins.push(Login::of(record, true));
                }
                AuditOperation::Query => activity.add_statement(record, granted),
                AuditOperation::Other(name) if name.starts_with("QUERY") => {
                    activity.add_statement(record, granted);
                }
                AuditOperation::Other(_) => {}
            }
        }
        let used_records = records
            .iter()
            .filter(|r| r.operation != AuditOperation::FailedConnect);
        let first = first_connect.or_else(|| used_records.clone().map(|r| r.at).min());
        let last = used_records.map(|r| r.at).max();
        if let (Some(first), Some(last)) = (first, last) {
            activity.used = Some(UsedWindow {
                first_connect: first,
                last_disconnect: last.max(first),
            });
        }
        activity
    }

    fn add_statement(&mut self, record: &AuditRecord, granted: &AccessWindow) {
        let kind = sql::classify(&record.object);
        self.counts.add(kind);
        for table in sql::tables(&record.object) {
            let qualified = if table.contains('.') || record.database.is_empty() {
                table
            } else {
                format!("{}.{table}", record.database)
            };
            self.tables.insert(qualified);
        }
        let statement = || Statement {
            at: record.at,
            connection_id: record.connection_id,
            database: record.database.clone(),
            kind,
            text: sql::mask_secrets(&record.object),
            retcode: record.retcode,
        };
        if matches!(kind, StatementKind::Ddl | StatementKind::Dcl) {
            self.ddl_dcl.push(statement());
        }
        if record.retcode != 0 {
            self.failed.push(statement());
        }
        if !record.logged_within(granted) {
            self.outside_window.push(statement());
        }
    }
}

/// How a request was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Approved, denied, expired or cancelled.
    pub kind: EventKind,
    /// Who decided (a person, or the broker for an expiry).
    pub by: Actor,
    /// When.
    pub at: OffsetDateTime,
}

/// One person's approval of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GivenApproval {
    /// The approver.
    pub by: SlackUserId,
    /// When they approved.
    pub at: OffsetDateTime,
}

/// The approvals `request` records, each approver once, oldest first: those counted towards
/// a request needing several, and the one that approved it (the last, once approved). An
/// approval by the cluster's policy is no person's: see [`AccessRequest::auto_approved`].
fn given_approvals(request: &AccessRequest) -> Vec<GivenApproval> {
    let mut given: Vec<GivenApproval> = Vec::new();
    for event in request.events() {
        if let (EventKind::ApprovalGiven | EventKind::Approved, Actor::User(by)) =
            (event.kind, &event.actor)
            && !given.iter().any(|g| g.by == *by)
        {
            given.push(GivenApproval {
                by: by.clone(),
                at: event.at,
            });
        }
    }
    given
}

/// One extension the requester asked for, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionRecord {
    /// 1 for the request's first extension, 2 for the next, …
    pub number: u32,
    /// How much longer.
    pub length: ExtensionLength,
    /// Why (as the person typed it: escape it before showing it).
    pub reason: String,
    /// Who asked: the requester (the lifecycle lets nobody else ask).
    pub asked_by: SlackUserId,
    /// When.
    pub asked_at: OffsetDateTime,
    /// Approved, denied, lapsed or still waiting.
    pub outcome: ExtensionOutcome,
}

impl ExtensionRecord {
    /// The outcome's stable name: `pending`, `approved`, `denied` or `lapsed`.
    #[must_use]
    pub fn outcome_name(&self) -> &'static str {
        match self.outcome {
            ExtensionOutcome::Pending => "pending",
            ExtensionOutcome::Approved { .. } => "approved",
            ExtensionOutcome::Denied { .. } => "denied",
            ExtensionOutcome::Lapsed { .. } => "lapsed",
        }
    }

    /// The approver who decided it; `None` while it waits and once it lapsed.
    #[must_use]
    pub fn decided_by(&self) -> Option<&SlackUserId> {
        match &self.outcome {
            ExtensionOutcome::Approved { by, .. } | ExtensionOutcome::Denied { by, .. } => Some(by),
            ExtensionOutcome::Pending | ExtensionOutcome::Lapsed { .. } => None,
        }
    }

    /// When it was approved, denied or lapsed; `None` while it waits.
    #[must_use]
    pub fn decided_at(&self) -> Option<OffsetDateTime> {
        match &self.outcome {
            ExtensionOutcome::Approved { at, .. }
            | ExtensionOutcome::Denied { at, .. }
            | ExtensionOutcome::Lapsed { at } => Some(*at),
            ExtensionOutcome::Pending => None,
        }
    }
}

/// A request's session receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The request.
    pub request: RequestId,
    /// Its state when the receipt was made.
    pub state: RequestState,
    /// Who asked.
    pub requester: SlackUserId,
    /// When they asked.
    pub requested_at: OffsetDateTime,
    /// Why (as the person typed it: escape it before showing it).
    pub reason: String,
    /// The cluster.
    pub cluster: ClusterId,
    /// The cluster's region.
    pub region: Region,
    /// The level granted.
    pub permission: Permission,
    /// The DB user.
    pub db_username: DbUsername,
    /// How the request was decided, if it was.
    pub decision: Option<Decision>,
    /// Every person's approval, oldest first (see [`GivenApproval`]); empty for a request
    /// approved by policy or denied before anyone approved.
    pub approvals: Vec<GivenApproval>,
    /// How many distinct approvers the request needed (as recorded at its submission).
    pub approvals_required: usize,
    /// Whether the cluster's policy approved it rather than a person.
    pub auto_approved: bool,
    /// Every extension asked for, oldest first.
    pub extensions: Vec<ExtensionRecord>,
    /// The window granted (as approved: it starts at the approval when that came late).
    pub granted: AccessWindow,
    /// When access was removed, if it was.
    pub ended_at: Option<OffsetDateTime>,
    /// The bastion, if one was launched.
    pub bastion: Option<BastionId>,
    /// What the DB user did.
    pub database: Gathered<DbActivity>,
    /// The SSM sessions on the bastion.
    pub bastion_sessions: Gathered<Vec<BastionSession>>,
}

impl Receipt {
    /// The level granted against what the session needed, in words: "DDL granted, used", "DDL
    /// granted; DML would have done", "DDL granted, not used"; `None` without an audit log.
    #[must_use]
    pub fn level_used(&self) -> Option<String> {
        let Gathered::Found(db) = &self.database else {
            return None;
        };
        let granted = self.permission;
        Some(match db.level_needed() {
            None => format!("{granted} granted, not used"),
            Some(needed) if needed >= granted => format!("{granted} granted, used"),
            Some(needed) => format!("{granted} granted; {needed} would have done"),
        })
    }

    /// The receipt of `request` from its audit records and its bastion's sessions.
    #[must_use]
    pub fn assemble(
        request: &AccessRequest,
        audit: Gathered<Vec<AuditRecord>>,
        bastion_sessions: Gathered<Vec<BastionSession>>,
    ) -> Self {
        let granted = request.window();
        let spec = request.spec();
        let decision = request.decision().map(|e| Decision {
            kind: e.kind,
            by: e.actor.clone(),
            at: e.at,
        });
        let ended_at = request
            .events()
            .iter()
            .rev()
            .find(|e| e.kind == EventKind::CleanedUp)
            .map(|e| e.at);
        let database = match audit {
            Gathered::Found(records) => Gathered::Found(DbActivity::from_records(
                request.db_username(),
                &granted,
                &records,
            )),
            Gathered::Unavailable { why } => Gathered::Unavailable { why },
        };
        Self {
            request: request.id(),
            state: request.state(),
            requester: request.requester().clone(),
            requested_at: request.submitted_at(),
            reason: spec.reason.as_str().to_owned(),
            cluster: spec.cluster.clone(),
            region: spec.region.clone(),
            permission: spec.permission,
            db_username: request.db_username().clone(),
            decision,
            approvals: given_approvals(request),
            approvals_required: request.required_approvals(),
            auto_approved: request.auto_approved(),
            extensions: request
                .extensions()
                .into_iter()
                .map(|e| ExtensionRecord {
                    number: e.number,
                    length: e.length,
                    reason: e.reason,
                    asked_by: request.requester().clone(),
                    asked_at: e.asked_at,
                    outcome: e.outcome,
                })
                .collect(),
            granted,
            ended_at,
            bastion: request.resources().bastion.clone(),
            database,
            bastion_sessions,
        }
    }

    /// The span the audit log and the session log are searched: from the start of provisioning
    /// (or the granted start, if earlier) to the removal (or the granted end, if later). The
    /// adapters add their own grace period at the end.
    #[must_use]
    pub fn search_window(request: &AccessRequest) -> AccessWindow {
        let granted = request.window();
        let events = request.events();
        let from = events
            .iter()
            .find(|e| e.kind == EventKind::ProvisioningStarted)
            .map_or(granted.start(), |e| e.at.min(granted.start()));
        let to = events
            .iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    EventKind::CleanedUp | EventKind::Ended | EventKind::Failed
                )
            })
            .map(|e| e.at)
            .max()
            .map_or(granted.end(), |at| at.max(granted.end()));
        AccessWindow::from_parts(from, to).unwrap_or(granted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn user() -> DbUsername {
        DbUsername::parse("keisuke.owato").unwrap()
    }

    fn window() -> AccessWindow {
        AccessWindow::from_parts(
            datetime!(2026-11-23 10:00 UTC),
            datetime!(2026-11-23 11:00 UTC),
        )
        .unwrap()
    }

    fn record(at: OffsetDateTime, op: AuditOperation, object: &str, retcode: i32) -> AuditRecord {
        AuditRecord {
            at,
            resolution: time::Duration::SECOND,
            server_host: "db".into(),
            username: "keisuke.owato".into(),
            host: "10.0.0.9".into(),
            connection_id: 7,
            query_id: 0,
            operation: op,
            database: "shop".into(),
            object: object.into(),
            retcode,
        }
    }

    #[test]
    fn activity_counts_kinds_keeps_ddl_failures_and_strays_and_the_used_window() {
        let q = AuditOperation::Query;
        let records = vec![
            record(
                datetime!(2026-11-23 10:05 UTC),
                AuditOperation::Connect,
                "",
                0,
            ),
            record(
                datetime!(2026-11-23 10:06 UTC),
                q.clone(),
                "SELECT * FROM orders",
                0,
            ),
            record(
                datetime!(2026-11-23 10:07 UTC),
                q.clone(),
                "UPDATE orders SET s = 1",
                0,
            ),
            record(
                datetime!(2026-11-23 10:08 UTC),
                q.clone(),
                "CREATE TABLE shop.notes (id int)",
                0,
            ),
            record(
                datetime!(2026-11-23 10:09 UTC),
                q.clone(),
                "SELECT * FROM nope",
                1146,
            ),
            record(
                datetime!(2026-11-23 10:10 UTC),
                q.clone(),
                "ALTER USER me IDENTIFIED BY 'hunter2'",
                1227,
            ),
            record(datetime!(2026-11-23 11:00:01 UTC), q, "SELECT 1", 0),
            record(
                datetime!(2026-11-23 11:00:02 UTC),
                AuditOperation::Disconnect,
                "",
                0,
            ),
            AuditRecord {
                username: "someone.else".into(),
                ..record(
                    datetime!(2026-11-23 10:30 UTC),
                    AuditOperation::Query,
                    "DROP TABLE x",
                    0,
                )
            },
        ];

        let activity = DbActivity::from_records(&user(), &window(), &records);

        assert_eq!(
            activity.counts,
            StatementCounts {
                read: 3,
                dml: 1,
                ddl: 1,
                dcl: 1,
                other: 0
            }
        );
        assert_eq!(activity.sessions, 1);
        assert_eq!(
            activity.logins,
            [Login {
                at: datetime!(2026-11-23 10:05 UTC),
                host: "10.0.0.9".into(),
                connection_id: 7,
                refused: false,
            }]
        );
        assert_eq!(
            activity.used,
            Some(UsedWindow {
                first_connect: datetime!(2026-11-23 10:05 UTC),
                last_disconnect: datetime!(2026-11-23 11:00:02 UTC),
            })
        );
        let ddl_dcl: Vec<&str> = activity.ddl_dcl.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            ddl_dcl,
            [
                "CREATE TABLE shop.notes (id int)",
                "ALTER USER me IDENTIFIED BY '*****'"
            ]
        );
        let failed: Vec<i32> = activity.failed.iter().map(|s| s.retcode).collect();
        assert_eq!(failed, [1146, 1227]);
        assert_eq!(activity.outside_window.len(), 1);
        assert_eq!(activity.outside_window[0].text, "SELECT 1");
        assert_eq!(
            activity
                .tables
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            ["shop.nope", "shop.notes", "shop.orders"]
        );
    }

    #[test]
    fn no_records_means_an_unused_grant() {
        let activity = DbActivity::from_records(&user(), &window(), &[]);
        assert_eq!(activity.used, None);
        assert_eq!(activity.counts.total(), 0);
    }

    #[test]
    fn a_whole_second_stamp_is_compared_at_its_precision() {
        let granted = AccessWindow::from_parts(
            datetime!(2026-11-23 10:00:00.355 UTC),
            datetime!(2026-11-23 10:30:00.355 UTC),
        )
        .unwrap();
        let at = |t, resolution| AuditRecord {
            resolution,
            ..record(t, AuditOperation::Query, "SELECT 1", 0)
        };
        let records = [
            at(datetime!(2026-11-23 09:59:59 UTC), time::Duration::SECOND),
            at(datetime!(2026-11-23 10:00:00 UTC), time::Duration::SECOND),
            at(datetime!(2026-11-23 10:30:00 UTC), time::Duration::SECOND),
            at(
                datetime!(2026-11-23 10:00:00.1 UTC),
                time::Duration::MICROSECOND,
            ),
            at(
                datetime!(2026-11-23 10:30:00.355 UTC),
                time::Duration::MICROSECOND,
            ),
        ];

        let activity = DbActivity::from_records(&user(), &granted, &records);

        let outside: Vec<_> = activity.outside_window.iter().map(|s| s.at).collect();
        assert_eq!(
            outside,
            [
                datetime!(2026-11-23 09:59:59 UTC),
                datetime!(2026-11-23 10:00:00.1 UTC),
                datetime!(2026-11-23 10:30:00.355 UTC),
            ]
        );
    }

    #[test]
    fn the_lowest_level_that_would_have_done_is_named() {
        let query = |text: &str| {
            record(
                datetime!(2026-11-23 10:10 UTC),
                AuditOperation::Query,
                text,
                0,
            )
        };
        let cases: [(&[&str], Option<Permission>); 4] = [
            (&[], None),
            (
                &[
                    "SELECT 1",
                    "SHOW TABLES",
                    "ALTER USER CURRENT_USER() IDENTIFIED BY 'x'",
                ],
                Some(Permission::Read),
            ),
            (
                &["SELECT 1", "UPDATE orders SET a = 1 WHERE id = 2"],
                Some(Permission::Dml),
            ),
            (
                &["DELETE FROM t WHERE id = 1", "DROP TABLE t"],
                Some(Permission::Ddl),
            ),
        ];
        for (statements, needed) in cases {
            let records: Vec<AuditRecord> = statements.iter().map(|s| query(s)).collect();
            let activity = DbActivity::from_records(&user(), &window(), &records);
            assert_eq!(activity.level_needed(), needed, "{statements:?}");
        }
    }
}
