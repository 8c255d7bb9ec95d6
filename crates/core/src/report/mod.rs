//! The security team's period report: every request of a period with its session receipt, the
//! anomalies across all of them first (statements outside the window, logins from hosts nobody
//! expected, refused logins, failed statements, DDL and DCL, orphans the sweeper found, audit
//! logs that could not be read), and who held access to which cluster on each day.
//!
//! [`Report::assemble`] is pure; the use case [`crate::Broker::report`] gathers each request's
//! receipt through the same ports as a single receipt, so every statement a report holds has its
//! passwords masked as a receipt's do. [`html::render`] writes it as one self-contained page;
//! [`archive`] names a page kept in a `ReportArchive` and what the approvers are told of it.

pub mod archive;
pub mod html;

use time::{Date, OffsetDateTime, Time};

use crate::error::{Error, Field, Result};
use crate::grants::Permission;
use crate::ids::{ClusterId, RequestId};
use crate::lifecycle::{AccessRequest, EventKind};
use crate::ports::{Orphan, ResourceKind};
use crate::receipt::{Gathered, Receipt, Statement, StatementKind};
use crate::window::AccessWindow;

/// The span a report covers: from `since` (included) to `until` (excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    since: OffsetDateTime,
    until: OffsetDateTime,
}

impl Period {
    /// The period from `since` to `until`.
    ///
    /// # Errors
    /// [`Error::Invalid`] when `until` is not after `since`.
    pub fn new(since: OffsetDateTime, until: OffsetDateTime) -> Result<Self> {
        if until <= since {
            return Err(Error::invalid(
                Field::Start,
                "the period's end (--until) must be after its start (--since)",
            ));
        }
        Ok(Self { since, until })
    }

    /// The `days` whole UTC days before the day of `now`: from midnight `days` days before
    /// today to today's midnight. A weekly run at any time of a day covers the same week.
    ///
    /// # Errors
    /// [`Error::Invalid`] when `days` is zero.
    pub fn whole_days_before(now: OffsetDateTime, days: u16) -> Result<Self> {
        let midnight = now
            .to_offset(time::UtcOffset::UTC)
            .date()
            .with_time(Time::MIDNIGHT)
            .assume_utc();
        Self::new(midnight - time::Duration::days(i64::from(days)), midnight)
    }

    /// The period's first instant.
    #[must_use]
    pub fn since(&self) -> OffsetDateTime {
        self.since
    }

    /// The first instant after the period.
    #[must_use]
    pub fn until(&self) -> OffsetDateTime {
        self.until
    }

    /// Whether `at` falls in the period.
    #[must_use]
    pub fn contains(&self, at: OffsetDateTime) -> bool {
        self.since <= at && at < self.until
    }

    /// Whether the span from `from` to `to` (both included) shares an instant with the period.
    #[must_use]
    pub fn overlaps(&self, from: OffsetDateTime, to: OffsetDateTime) -> bool {
        from < self.until && to >= self.since
    }
}

/// The client hosts logins are expected from, as MySQL host patterns: `%` matches any run of
/// characters, `_` one character; `10.0.1.0/24` (CIDR, IPv4 or IPv6) and `10.0.1.0/255.255.255.0`
/// (netmask) match the addresses of a network. No pattern at all expects every host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostPatterns(Vec<String>);

impl HostPatterns {
    /// Logins from anywhere are expected.
    #[must_use]
    pub fn any() -> Self {
        Self(Vec::new())
    }

    /// Logins are expected from hosts matching one of `patterns`.
    #[must_use]
    pub fn new<S: Into<String>>(patterns: impl IntoIterator<Item = S>) -> Self {
        Self(patterns.into_iter().map(Into::into).collect())
    }

    /// This machine only (`localhost`, `127.0.0.1`, `::1`): the embedded broker, where people
    /// connect from the broker's own machine.
    #[must_use]
    pub fn loopback() -> Self {
        Self::new(["localhost", "127.0.0.1", "::1"])
    }

    /// The patterns, as given.
    #[must_use]
    pub fn patterns(&self) -> &[String] {
        &self.0
    }

    /// Whether a login from `host` is expected.
    #[must_use]
    pub fn expects(&self, host: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|p| host_matches(p, host))
    }
}

fn host_matches(pattern: &str, host: &str) -> bool {
    if let Some(matched) = in_network(pattern, host) {
        return matched;
    }
    let (pattern, host): (Vec<char>, Vec<char>) = (
        pattern.to_lowercase().chars().collect(),
        host.to_lowercase().chars().collect(),
    );
    let (mut p, mut h) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while h < host.len() {
        match pattern.get(p) {
            Some('%') => {
                backtrack = Some((p, h));
                p += 1;
            }
            Some(&c) if c == '_' || c == host[h] => {
                p += 1;
                h += 1;
            }
            _ => match backtrack {
                Some((star, from)) => {
                    p = star + 1;
                    h = from + 1;
                    backtrack = Some((star, from + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '%')
}

/// Whether `host` is an address of the network `pattern` names (`ip/prefix`, or `ipv4/netmask`);
/// `None` when `pattern` names no network.
fn in_network(pattern: &str, host: &str) -> Option<bool> {
    use std::net::IpAddr;
    let (network, mask) = pattern.split_once('/')?;
    let network: IpAddr = network.trim().parse().ok()?;
    let bits = |ip: IpAddr| -> (u128, u32) {
        match ip {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
            IpAddr::V6(v6) => (u128::from(v6), 128),
        }
    };
    let (net, width) = bits(network);
    let mask: u128 = match (mask.trim().parse::<u32>(), mask.trim().parse::<IpAddr>()) {
        (Ok(prefix), _) if prefix <= width => {
            let ones = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - prefix)
            };
            ones >> (128 - width)
        }
        (_, Ok(netmask @ IpAddr::V4(_))) if width == 32 => bits(netmask).0,
        _ => return None,
    };
    let Ok(host) = host.trim().parse::<IpAddr>() else {
        return Some(false);
    };
    let (host, host_width) = bits(host);
    Some(host_width == width && host & mask == net & mask)
}

/// What a report covers: a period, optionally one cluster and one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportScope {
    /// The period.
    pub period: Period,
    /// Only this cluster's requests, when set.
    pub cluster: Option<ClusterId>,
    /// Only this person's requests, when set: their Slack user id or their DB user name.
    pub user: Option<String>,
    /// The hosts logins are expected from.
    pub expected_hosts: HostPatterns,
}

impl ReportScope {
    /// Every request of every cluster in `period`, logins expected from anywhere.
    #[must_use]
    pub fn of(period: Period) -> Self {
        Self {
            period,
            cluster: None,
            user: None,
            expected_hosts: HostPatterns::any(),
        }
    }

    /// Whether `request` belongs in the report: its cluster and person match the filters, and
    /// its life (from submission to the end of its window or the removal of its access, whichever
    /// is later) overlaps the period.
    #[must_use]
    pub fn covers(&self, request: &AccessRequest) -> bool {
        let spec = request.spec();
        if self.cluster.as_ref().is_some_and(|c| *c != spec.cluster) {
            return false;
        }
        if self.user.as_deref().is_some_and(|u| {
            u != request.requester().as_str() && u != request.db_username().as_str()
        }) {
            return false;
        }
        let last_event = request.events().last().map(|e| e.at);
        let to = last_event.map_or(request.window().end(), |at| at.max(request.window().end()));
        self.period.overlaps(request.submitted_at(), to)
    }

    fn covers_orphan(&self, orphan: &Orphan) -> bool {
        if !self.period.contains(orphan.found_at) {
            return false;
        }
        if self.cluster.is_none() && self.user.is_none() {
            return true;
        }
        let Some((user, cluster)) = (orphan.kind == ResourceKind::Account)
            .then(|| orphan.resource.rsplit_once('@'))
            .flatten()
        else {
            return false;
        };
        self.cluster.as_ref().is_none_or(|c| c.as_str() == cluster)
            && self.user.as_deref().is_none_or(|u| u == user)
    }
}

/// What makes an entry of the anomalies section, most serious first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnomalyKind {
    /// A statement ran, or a command was typed on the bastion, before the window opened or after
    /// it closed.
    OutsideWindow,
    /// A login came from a host the report was told not to expect.
    UnexpectedHost,
    /// The broker made something (DB user, secret, bastion) no request owned.
    Orphan,
    /// Access was provisioned but its audit log could not be read: nothing is known of it.
    EvidenceMissing,
    /// The server refused a login.
    RefusedLogin,
    /// The server refused a statement.
    FailedStatement,
    /// A schema change.
    Ddl,
    /// A privilege or account change.
    Dcl,
}

impl AnomalyKind {
    /// Every kind, most serious first.
    pub const ALL: [Self; 8] = [
        Self::OutsideWindow,
        Self::UnexpectedHost,
        Self::Orphan,
        Self::EvidenceMissing,
        Self::RefusedLogin,
        Self::FailedStatement,
        Self::Ddl,
        Self::Dcl,
    ];

    /// The kind's stable name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::OutsideWindow => "outside_window",
            Self::UnexpectedHost => "unexpected_host",
            Self::Orphan => "orphan",
            Self::EvidenceMissing => "evidence_missing",
            Self::RefusedLogin => "refused_login",
            Self::FailedStatement => "failed_statement",
            Self::Ddl => "ddl",
            Self::Dcl => "dcl",
        }
    }

    /// The kind for people.
    #[must_use]
    pub const fn title(self) -> &'static str {
        match self {
            Self::OutsideWindow => "Statement or command outside the window",
            Self::UnexpectedHost => "Login from an unexpected host",
            Self::Orphan => "Orphan found by the sweeper",
            Self::EvidenceMissing => "Audit log unavailable",
            Self::RefusedLogin => "Refused login",
            Self::FailedStatement => "Failed statement",
            Self::Ddl => "DDL statement",
            Self::Dcl => "DCL statement",
        }
    }
}

/// One entry of the anomalies section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anomaly {
    /// What it is.
    pub kind: AnomalyKind,
    /// When it happened (or was found).
    pub at: OffsetDateTime,
    /// The request it belongs to, if any.
    pub request: Option<RequestId>,
    /// The cluster, when known.
    pub cluster: Option<ClusterId>,
    /// The DB user, when known.
    pub db_user: Option<String>,
    /// The statement (passwords masked), the host, the resource or the missing source.
    pub subject: String,
    /// What else to know: the error code, the window it missed, what the sweeper did.
    pub note: String,
}

/// When a request's DB user existed: from the start of provisioning to the removal of its
/// access, or to the report's time when it has not been removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldAccess {
    /// Provisioning started.
    pub from: OffsetDateTime,
    /// Access was removed, or the report was made while it was still held.
    pub to: OffsetDateTime,
    /// Whether it was still held when the report was made.
    pub still_held: bool,
}

impl HeldAccess {
    /// When `request` held access, as of `now`; `None` when it was never provisioned.
    #[must_use]
    pub fn of(request: &AccessRequest, now: OffsetDateTime) -> Option<Self> {
        let events = request.events();
        let from = events
            .iter()
            .find(|e| e.kind == EventKind::ProvisioningStarted)?
            .at;
        let removed = events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Ended | EventKind::CleanedUp))
            .map(|e| e.at)
            .max();
        let failed_clean =
            request.state() == crate::lifecycle::RequestState::Failed && !request.cleanup_owed();
        let removed =
            removed.or_else(|| failed_clean.then(|| events.last().map(|e| e.at)).flatten());
        Some(match removed {
            Some(to) => Self {
                from,
                to: to.max(from),
                still_held: false,
            },
            None => Self {
                from,
                to: now.max(from),
                still_held: true,
            },
        })
    }
}

/// One request of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportEntry {
    /// Its session receipt.
    pub receipt: Receipt,
    /// The window asked for (the receipt's is the one granted).
    pub requested: AccessWindow,
    /// When its DB user existed, if it ever did.
    pub held: Option<HeldAccess>,
}

/// One bar of a day's timeline: who held access to which cluster, from when to when that day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineBar {
    /// The request.
    pub request: RequestId,
    /// The cluster.
    pub cluster: ClusterId,
    /// The DB user.
    pub db_user: String,
    /// The requester's Slack user id.
    pub requester: String,
    /// The level.
    pub permission: Permission,
    /// The start, on this day.
    pub from: OffsetDateTime,
    /// The end, on this day.
    pub to: OffsetDateTime,
}

/// The access held on one day (UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineDay {
    /// The day.
    pub date: Date,
    /// Its bars, by cluster, person, then start.
    pub bars: Vec<TimelineBar>,
}

/// The report of a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// What it covers.
    pub scope: ReportScope,
    /// When it was made.
    pub generated_at: OffsetDateTime,
    /// The anomalies, most serious first, then oldest first.
    pub anomalies: Vec<Anomaly>,
    /// Every request, oldest first.
    pub entries: Vec<ReportEntry>,
    /// The orphans the sweeper found in the period, oldest first.
    pub orphans: Vec<Orphan>,
    /// Each day of the period on which someone held access, oldest first.
    pub timeline: Vec<TimelineDay>,
}

impl Report {
    /// The report of `scope` from each request with its receipt (requests the scope does not
    /// cover are left out) and the orphans the sweeper recorded, made at `generated_at`.
    #[must_use]
    pub fn assemble(
        scope: ReportScope,
        gathered: Vec<(AccessRequest, Receipt)>,
        orphans: Vec<Orphan>,
        generated_at: OffsetDateTime,
    ) -> Self {
        let mut entries: Vec<ReportEntry> = gathered
            .into_iter()
            .filter(|(request, _)| scope.covers(request))
            .map(|(request, receipt)| ReportEntry {
                requested: request.spec().window,
                held: HeldAccess::of(&request, generated_at),
                receipt,
            })
            .collect();
        entries.sort_by_key(|e| (e.receipt.requested_at, e.receipt.request));
        let mut orphans: Vec<Orphan> = orphans
            .into_iter()
            .filter(|o| scope.covers_orphan(o))
            .collect();
        orphans.sort_by_key(|a| (a.found_at, a.key()));
        let mut anomalies: Vec<Anomaly> = entries
            .iter()
            .flat_map(|e| entry_anomalies(e, &scope.expected_hosts))
            .chain(orphans.iter().map(orphan_anomaly))
            .collect();
        anomalies.sort_by_key(|a| (a.kind, a.at, a.request));
        let timeline = timeline(&entries, &scope.period);
        Self {
            scope,
            generated_at,
            anomalies,
            entries,
            orphans,
            timeline,
        }
    }

    /// How many requests and anomalies it holds, in words: `2 request(s), 1 anomaly`.
    #[must_use]
    pub fn summary(&self) -> String {
        format!(
            "{} request(s), {}",
            self.entries.len(),
            anomaly_count(self.anomalies.len())
        )
    }

    /// The anomalies of one request.
    pub fn anomalies_of(&self, request: RequestId) -> impl Iterator<Item = &Anomaly> {
        self.anomalies
            .iter()
            .filter(move |a| a.request == Some(request))
    }
}

/// `n` anomalies in words: `1 anomaly`, `3 anomalies`.
#[must_use]
pub fn anomaly_count(n: usize) -> String {
    format!("{n} anomal{}", if n == 1 { "y" } else { "ies" })
}

fn entry_anomalies(entry: &ReportEntry, hosts: &HostPatterns) -> Vec<Anomaly> {
    let r = &entry.receipt;
    let anomaly = |kind, at, subject: String, note: String| Anomaly {
        kind,
        at,
        request: Some(r.request),
        cluster: Some(r.cluster.clone()),
        db_user: Some(r.db_username.as_str().to_owned()),
        subject,
        note,
    };
    let outside = |at: OffsetDateTime| {
        if at < r.granted.start() {
            Some(format!(
                "before the window opened at {}",
                stamp(r.granted.start())
            ))
        } else if at > r.granted.end() {
            Some(format!(
                "after the window closed at {}",
                stamp(r.granted.end())
            ))
        } else {
            None
        }
    };
    let mut found: Vec<Anomaly> = r
        .bastion_sessions
        .found()
        .into_iter()
        .flatten()
        .flat_map(|session| {
            session.commands.iter().filter_map(|c| {
                let note = format!("typed in SSM session {} {}", session.id, outside(c.at)?);
                Some(anomaly(
                    AnomalyKind::OutsideWindow,
                    c.at,
                    c.text.clone(),
                    note,
                ))
            })
        })
        .collect();
    let db = match &r.database {
        Gathered::Found(db) => db,
        Gathered::Unavailable { why } => {
            found.extend(entry.held.map(|held| {
                anomaly(
                    AnomalyKind::EvidenceMissing,
                    held.from,
                    why.clone(),
                    "what this DB user did is unknown".to_owned(),
                )
            }));
            return found;
        }
    };
    let statement = |kind, s: &Statement, note: String| anomaly(kind, s.at, s.text.clone(), note);
    for s in &db.outside_window {
        let note = outside(s.at).unwrap_or_else(|| "outside the window".to_owned());
        found.push(statement(AnomalyKind::OutsideWindow, s, note));
    }
    for login in &db.logins {
        if !hosts.expects(&login.host) {
            let note = format!(
                "{} login, session #{}; expected: {}",
                if login.refused { "refused" } else { "accepted" },
                login.connection_id,
                hosts.patterns().join(", ")
            );
            found.push(anomaly(
                AnomalyKind::UnexpectedHost,
                login.at,
                login.host.clone(),
                note,
            ));
        }
        if login.refused {
            found.push(anomaly(
                AnomalyKind::RefusedLogin,
                login.at,
                login.host.clone(),
                format!("session #{}", login.connection_id),
            ));
        }
    }
    for s in &db.failed {
        found.push(statement(
            AnomalyKind::FailedStatement,
            s,
            format!("error {}, session #{}", s.retcode, s.connection_id),
        ));
    }
    for s in &db.ddl_dcl {
        let kind = if s.kind == StatementKind::Dcl {
            AnomalyKind::Dcl
        } else {
            AnomalyKind::Ddl
        };
        let outcome = if s.retcode == 0 {
            "succeeded".to_owned()
        } else {
            format!("refused, error {}", s.retcode)
        };
        found.push(statement(
            kind,
            s,
            format!("{outcome}, session #{}", s.connection_id),
        ));
    }
    found
}

fn orphan_anomaly(orphan: &Orphan) -> Anomaly {
    let (db_user, cluster) = match orphan.resource.rsplit_once('@') {
        Some((user, cluster)) if orphan.kind == ResourceKind::Account => {
            (Some(user.to_owned()), ClusterId::parse(cluster).ok())
        }
        _ => (None, None),
    };
    Anomaly {
        kind: AnomalyKind::Orphan,
        at: orphan.found_at,
        request: orphan.request,
        cluster,
        db_user,
        subject: format!("{} {}", orphan.kind.as_str(), orphan.resource),
        note: orphan.detail.clone(),
    }
}

fn stamp(at: OffsetDateTime) -> String {
    crate::timefmt::rfc3339(at, crate::timefmt::Precision::Seconds)
}

fn timeline(entries: &[ReportEntry], period: &Period) -> Vec<TimelineDay> {
    let mut days: std::collections::BTreeMap<Date, Vec<TimelineBar>> =
        std::collections::BTreeMap::new();
    for entry in entries {
        let Some(held) = entry.held else { continue };
        let r = &entry.receipt;
        let (from, to) = (held.from.max(period.since), held.to.min(period.until));
        if to <= from {
            continue;
        }
        let mut day = from.to_offset(time::UtcOffset::UTC).date();
        loop {
            let midnight = day.with_time(Time::MIDNIGHT).assume_utc();
            let next = midnight + time::Duration::DAY;
            let (start, end) = (from.max(midnight), to.min(next));
            if start < end {
                days.entry(day).or_default().push(TimelineBar {
                    request: r.request,
                    cluster: r.cluster.clone(),
                    db_user: r.db_username.as_str().to_owned(),
                    requester: r.requester.as_str().to_owned(),
                    permission: r.permission,
                    from: start,
                    to: end,
                });
            }
            if next >= to {
                break;
            }
            let Some(following) = day.next_day() else {
                break;
            };
            day = following;
        }
    }
    days.into_iter()
        .map(|(date, mut bars)| {
            bars.sort_by(|a, b| {
                (a.cluster.as_str(), &a.db_user, a.from).cmp(&(
                    b.cluster.as_str(),
                    &b.db_user,
                    b.from,
                ))
            });
            TimelineDay { date, bars }
        })
        .collect()
}

#[cfg(test)]
mod tests;
