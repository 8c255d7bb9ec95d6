//! The database audit log on CloudWatch Logs, for reviewing what one person did with one grant.
//!
//! Aurora exports its advanced-auditing log (the MariaDB `server_audit` format) to one log group
//! per cluster, `/aws/rds/cluster/<cluster id>/audit`, one log stream per instance and one event
//! per audit line. A query asks FilterLogEvents for the access window, widened at the end by a
//! grace period (a session logs its `DISCONNECT` after the window closes), with the quoted user
//! name as filter pattern. That pattern is only a coarse pre-filter (it also matches another
//! user's statement that names this user, or a longer user name containing it): every line is
//! parsed with [`parse_line`] and kept only when its user is exactly the one asked for.
//! Malformed lines are reported and logged, never fatal. Paging follows `nextToken` until it is
//! exhausted, up to a bound, so a runaway log cannot keep a Lambda busy forever.

use std::collections::BTreeMap;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsError;
use powerpole_core::audit::{AuditLineError, parse_line};
use powerpole_core::ports::AuditSource;
use powerpole_core::{AccessWindow, AuditRecord, ClusterId, DbUsername};
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result, sdk};

/// The service name errors carry.
const SERVICE: &str = "logs";

/// The placeholder a log group template replaces with the cluster id.
const CLUSTER_PLACEHOLDER: &str = "{cluster}";

/// How much of a malformed line a warning quotes, in characters.
const LOGGED_LINE_CHARS: usize = 512;

/// Where each cluster's audit log is and how it is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditLogSettings {
    group_template: String,
    groups: BTreeMap<ClusterId, String>,
    grace: Duration,
    page_size: Option<i32>,
    max_pages: u32,
}

impl AuditLogSettings {
    /// The log group Aurora exports a cluster's audit log to.
    pub const AURORA_TEMPLATE: &'static str = "/aws/rds/cluster/{cluster}/audit";
    /// How long after the window's end records are still read, by default.
    pub const DEFAULT_GRACE: Duration = Duration::minutes(5);
    /// The longest grace period allowed.
    pub const MAX_GRACE: Duration = Duration::hours(1);
    /// How many pages one query reads at most, by default.
    pub const DEFAULT_MAX_PAGES: u32 = 1000;
    /// FilterLogEvents' largest page.
    pub const MAX_PAGE_SIZE: u32 = 10_000;

    /// Aurora's log group per cluster, a 5-minute grace, the service's page size and at most
    /// 1000 pages per query.
    #[must_use]
    pub fn new() -> Self {
        Self {
            group_template: Self::AURORA_TEMPLATE.to_owned(),
            groups: BTreeMap::new(),
            grace: Self::DEFAULT_GRACE,
            page_size: None,
            max_pages: Self::DEFAULT_MAX_PAGES,
        }
    }

    /// Names every cluster's log group after `template`, in which `{cluster}` stands for the
    /// cluster id (e.g. `/powerpole/{cluster}/audit`).
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] when the template lacks `{cluster}` or is not a valid log group name
    /// once filled in.
    pub fn with_group_template(mut self, template: &str) -> Result<Self> {
        if !template.contains(CLUSTER_PLACEHOLDER) {
            return Err(setting(format!(
                "log group template {template:?} must contain {CLUSTER_PLACEHOLDER}"
            )));
        }
        check_group_name(&template.replace(CLUSTER_PLACEHOLDER, "c"))?;
        template.clone_into(&mut self.group_template);
        Ok(self)
    }

    /// Reads `cluster`'s audit log from `group` instead of the template's group.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] when `group` is not a valid log group name.
    pub fn with_group(mut self, cluster: ClusterId, group: &str) -> Result<Self> {
        check_group_name(group)?;
        self.groups.insert(cluster, group.to_owned());
        Ok(self)
    }

    /// How long after the window's end records are still read (0 to 1 hour).
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] when `grace` is negative or longer than an hour.
    pub fn with_grace(mut self, grace: Duration) -> Result<Self> {
        if grace.is_negative() || grace > Self::MAX_GRACE {
            return Err(setting(format!(
                "the grace period must be 0 to 1 hour, not {grace}"
            )));
        }
        self.grace = grace;
        Ok(self)
    }

    /// How many events one FilterLogEvents page holds at most (1 to 10 000).
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] when `size` is 0 or above 10 000.
    pub fn with_page_size(mut self, size: u32) -> Result<Self> {
        match i32::try_from(size) {
            Ok(size_i32) if (1..=Self::MAX_PAGE_SIZE).contains(&size) => {
                self.page_size = Some(size_i32);
                Ok(self)
            }
            _ => Err(setting(format!(
                "the page size must be 1 to {}, not {size}",
                Self::MAX_PAGE_SIZE
            ))),
        }
    }

    /// How many pages one query reads before giving up with an error (at least 1).
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] when `pages` is 0.
    pub fn with_max_pages(mut self, pages: u32) -> Result<Self> {
        if pages == 0 {
            return Err(setting("at least one page must be allowed".to_owned()));
        }
        self.max_pages = pages;
        Ok(self)
    }

    /// The log group holding `cluster`'s audit log.
    #[must_use]
    pub fn group_for(&self, cluster: &ClusterId) -> String {
        self.groups.get(cluster).cloned().unwrap_or_else(|| {
            self.group_template
                .replace(CLUSTER_PLACEHOLDER, cluster.as_str())
        })
    }

    /// How long after the window's end records are still read.
    #[must_use]
    pub fn grace(&self) -> Duration {
        self.grace
    }
}

impl Default for AuditLogSettings {
    fn default() -> Self {
        Self::new()
    }
}

/// What one audit query found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditBatch {
    /// The user's records, oldest first.
    pub records: Vec<AuditRecord>,
    /// Lines the filter matched that are not audit lines.
    pub malformed: Vec<MalformedLine>,
    /// How many FilterLogEvents pages were read.
    pub pages: u32,
}

/// A log event that could not be read as an audit line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedLine {
    /// The log stream it is in (the instance, for Aurora).
    pub stream: String,
    /// The event's timestamp, in milliseconds since the epoch.
    pub timestamp_ms: i64,
    /// The line as logged.
    pub line: String,
    /// Why it is not an audit line.
    pub error: AuditLineError,
}

/// The [`AuditSource`] port on CloudWatch Logs.
#[derive(Debug, Clone)]
pub struct CloudWatchAuditSource {
    client: Client,
    settings: AuditLogSettings,
}

impl CloudWatchAuditSource {
    /// An audit source reading the log groups `settings` names.
    #[must_use]
    pub fn new(client: Client, settings: AuditLogSettings) -> Self {
        Self { client, settings }
    }

    /// The records of `username` on `cluster` from the window's start to its end plus the grace
    /// period, oldest first, with the malformed lines met on the way.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the cluster's log group does not exist (its audit log is not
    /// exported: an empty answer would wrongly say the person did nothing);
    /// [`Error::Malformed`] when more pages remain after the configured maximum;
    /// [`Error::Sdk`] when FilterLogEvents fails.
    pub async fn fetch(
        &self,
        cluster: &ClusterId,
        username: &DbUsername,
        window: &AccessWindow,
    ) -> Result<AuditBatch> {
        let group = self.settings.group_for(cluster);
        let start = epoch_millis(window.start());
        let end = epoch_millis(window.end() + self.settings.grace);
        let pattern = format!("\"{username}\"");
        let mut found: Vec<(AuditRecord, i64)> = Vec::new();
        let mut malformed = Vec::new();
        let mut others = 0_usize;
        let mut pages = 0_u32;
        let mut next_token: Option<String> = None;
        loop {
            let page = self
                .client
                .filter_log_events()
                .log_group_name(&group)
                .start_time(start)
                .end_time(end)
                .filter_pattern(&pattern)
                .set_limit(self.settings.page_size)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|err| {
                    if err
                        .as_service_error()
                        .is_some_and(FilterLogEventsError::is_resource_not_found_exception)
                    {
                        Error::NotFound(format!("audit log group {group}"))
                    } else {
                        sdk(SERVICE, "FilterLogEvents", err)
                    }
                })?;
            pages += 1;
            for event in page.events() {
                let stream = event.log_stream_name().unwrap_or_default();
                let timestamp_ms = event.timestamp().unwrap_or_default();
                let message = event.message().unwrap_or_default();
                for line in message.lines().filter(|l| !l.trim().is_empty()) {
                    match parse_line(line) {
                        Ok(record) if record.username == username.as_str() => {
                            found.push((record, timestamp_ms));
                        }
                        Ok(_) => others += 1,
                        Err(error) => {
                            tracing::warn!(
                                group = %group,
                                stream,
                                timestamp_ms,
                                line = truncate(line, LOGGED_LINE_CHARS),
                                %error,
                                "malformed audit line"
                            );
                            malformed.push(MalformedLine {
                                stream: stream.to_owned(),
                                timestamp_ms,
                                line: line.to_owned(),
                                error,
                            });
                        }
                    }
                }
            }
            match page.next_token() {
                Some(token) if !token.is_empty() => {
                    if pages >= self.settings.max_pages {
                        return Err(Error::malformed(
                            format!("audit log group {group}"),
                            format!(
                                "more than {pages} pages of events for {username} in one window; \
                                 raise the page limit or narrow the window"
                            ),
                        ));
                    }
                    next_token = Some(token.to_owned());
                }
                _ => break,
            }
        }
        found.sort_by_key(|(record, timestamp_ms)| (record.at, *timestamp_ms));
        tracing::info!(
            group = %group,
            username = %username,
            records = found.len(),
            other_users = others,
            malformed = malformed.len(),
            pages,
            "audit log read"
        );
        Ok(AuditBatch {
            records: found.into_iter().map(|(record, _)| record).collect(),
            malformed,
            pages,
        })
    }
}

impl AuditSource for CloudWatchAuditSource {
    async fn records(
        &self,
        cluster: &ClusterId,
        username: &DbUsername,
        window: &AccessWindow,
    ) -> powerpole_core::Result<Vec<AuditRecord>> {
        Ok(self.fetch(cluster, username, window).await?.records)
    }
}

/// Milliseconds since the epoch, as CloudWatch Logs counts time.
fn epoch_millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// CloudWatch Logs' rule for log group names: 1–512 of `[A-Za-z0-9_./#-]`.
fn check_group_name(name: &str) -> Result<()> {
    let valid = (1..=512).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./#-".contains(c));
    if valid {
        Ok(())
    } else {
        Err(setting(format!(
            "log group name {name:?} must be 1 to 512 of letters, digits and _./#-"
        )))
    }
}

/// An invalid setting.
fn setting(problem: String) -> Error {
    Error::invalid_setting("audit log", problem)
}

/// The first `max` characters of `s`.
fn truncate(s: &str, max: usize) -> &str {
    s.char_indices().nth(max).map_or(s, |(end, _)| &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn cluster(id: &str) -> ClusterId {
        ClusterId::parse(id).unwrap()
    }

    #[test]
    fn clusters_read_aurora_s_export_group_unless_told_otherwise() {
        let settings = AuditLogSettings::new()
            .with_group(cluster("legacy"), "/custom/legacy-audit")
            .unwrap();
        assert_eq!(
            settings.group_for(&cluster("shop-prod")),
            "/aws/rds/cluster/shop-prod/audit"
        );
        assert_eq!(
            settings.group_for(&cluster("legacy")),
            "/custom/legacy-audit"
        );
        let templated = AuditLogSettings::new()
            .with_group_template("/powerpole/{cluster}/audit")
            .unwrap();
        assert_eq!(
            templated.group_for(&cluster("shop-prod")),
            "/powerpole/shop-prod/audit"
        );
    }

    #[test]
    fn invalid_settings_are_refused() {
        let s = AuditLogSettings::new;
        assert!(s().with_group_template("/aws/rds/audit").is_err());
        assert!(s().with_group_template("/aws/{cluster}/a b").is_err());
        assert!(s().with_group(cluster("a"), "").is_err());
        assert!(s().with_group(cluster("a"), "/x:y").is_err());
        assert!(s().with_grace(Duration::seconds(-1)).is_err());
        assert!(s().with_grace(Duration::minutes(61)).is_err());
        assert!(s().with_grace(Duration::ZERO).is_ok());
        assert!(s().with_page_size(0).is_err());
        assert!(s().with_page_size(10_001).is_err());
        assert!(s().with_page_size(10_000).is_ok());
        assert!(s().with_max_pages(0).is_err());
        assert!(s().with_max_pages(1).is_ok());
    }

    #[test]
    fn times_are_epoch_milliseconds() {
        assert_eq!(
            epoch_millis(datetime!(2026-11-23 14:22:38.123456 UTC)),
            1_795_443_758_123
        );
    }
}
