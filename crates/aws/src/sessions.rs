//! The SSM Session Manager log on CloudWatch Logs: who opened sessions on a request's bastion,
//! and when.
//!
//! With CloudWatch streaming on (Session Manager preferences: `cloudWatchLogGroupName`,
//! `cloudWatchStreamingEnabled`), every chunk of a session is one JSON log event in the group:
//! `{"eventTime", "target": {"id": "i-…"}, "userIdentity": {"arn"}, "sessionId", "sessionData"}`.
//! A query asks FilterLogEvents for the window (plus a grace period at the end) with the quoted
//! instance id as filter pattern; each event is parsed and kept only when its `target.id` is
//! exactly the bastion. Events are grouped by `sessionId` into one [`BastionSession`] each (who,
//! first and last event, and the commands typed: the lines of `sessionData` that show a prompt,
//! read by [`shell::commands`], secrets masked). The rest of what the session printed is never
//! kept: it is program output, not the receipt's business. Events that are not JSON (streaming
//! off: the whole transcript as one text event) are counted and skipped.

use std::collections::BTreeMap;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsError;
use powerpole_core::ports::SessionLog;
use powerpole_core::receipt::{BastionSession, Gathered, shell};
use powerpole_core::{AccessWindow, BastionId};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result, sdk};

/// The service name errors carry.
const SERVICE: &str = "logs";

/// The [`SessionLog`] port on the CloudWatch Logs group Session Manager streams to.
#[derive(Debug, Clone)]
pub struct CloudWatchSessionLog {
    client: Client,
    group: Option<String>,
    grace: Duration,
    max_pages: u32,
}

impl CloudWatchSessionLog {
    /// How long after the window's end events are still read, by default.
    pub const DEFAULT_GRACE: Duration = Duration::minutes(5);
    /// How many pages one query reads at most, by default.
    pub const DEFAULT_MAX_PAGES: u32 = 200;

    /// Reads sessions from `group`; `None` when Session Manager does not log to CloudWatch,
    /// which every receipt then says.
    #[must_use]
    pub fn new(client: Client, group: Option<String>) -> Self {
        Self {
            client,
            group,
            grace: Self::DEFAULT_GRACE,
            max_pages: Self::DEFAULT_MAX_PAGES,
        }
    }

    /// How many pages one query reads before giving up with an error (at least 1).
    #[must_use]
    pub fn with_max_pages(mut self, pages: u32) -> Self {
        self.max_pages = pages.max(1);
        self
    }

    /// The sessions opened on `bastion` from the window's start to its end plus the grace
    /// period, oldest first.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the log group does not exist; [`Error::Malformed`] when more pages
    /// remain after the maximum; [`Error::Sdk`] when FilterLogEvents fails.
    pub async fn fetch(
        &self,
        group: &str,
        bastion: &BastionId,
        window: &AccessWindow,
    ) -> Result<Vec<BastionSession>> {
        let start = epoch_millis(window.start());
        let end = epoch_millis(window.end() + self.grace);
        let pattern = format!("\"{}\"", bastion.0);
        let mut sessions: BTreeMap<String, (BastionSession, Vec<Output>)> = BTreeMap::new();
        let mut seen = 0_usize;
        let mut unreadable = 0_usize;
        let mut pages = 0_u32;
        let mut next_token: Option<String> = None;
        loop {
            let page = self
                .client
                .filter_log_events()
                .log_group_name(group)
                .start_time(start)
                .end_time(end)
                .filter_pattern(&pattern)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|err| {
                    if err
                        .as_service_error()
                        .is_some_and(FilterLogEventsError::is_resource_not_found_exception)
                    {
                        Error::NotFound(format!("session log group {group}"))
                    } else {
                        sdk(SERVICE, "FilterLogEvents", err)
                    }
                })?;
            pages += 1;
            for event in page.events() {
                let logged_at = event
                    .timestamp()
                    .and_then(|ms| {
                        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
                    })
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH);
                match read_event(event.message().unwrap_or_default(), logged_at) {
                    Some(read) if read.target == bastion.0 => {
                        let (session, lines) =
                            sessions.entry(read.id.clone()).or_insert_with(|| {
                                (
                                    BastionSession {
                                        id: read.id,
                                        principal: read.principal,
                                        bastion: bastion.clone(),
                                        first_seen: read.at,
                                        last_seen: read.at,
                                        commands: Vec::new(),
                                    },
                                    Vec::new(),
                                )
                            });
                        session.first_seen = session.first_seen.min(read.at);
                        session.last_seen = session.last_seen.max(read.at);
                        lines.push((read.at, seen, read.lines));
                        seen += 1;
                    }
                    Some(_) => {}
                    None => unreadable += 1,
                }
            }
            match page.next_token() {
                Some(token) if !token.is_empty() => {
                    if pages >= self.max_pages {
                        return Err(Error::malformed(
                            format!("session log group {group}"),
                            format!("more than {pages} pages of events for {}", bastion.0),
                        ));
                    }
                    next_token = Some(token.to_owned());
                }
                _ => break,
            }
        }
        if unreadable > 0 {
            tracing::warn!(group, bastion = %bastion.0, unreadable, "session log events that are not Session Manager JSON");
        }
        let mut sessions: Vec<BastionSession> = sessions
            .into_values()
            .map(|(mut session, mut lines)| {
                lines.sort_by_key(|&(at, seen, _)| (at, seen));
                session.commands =
                    shell::commands(lines.iter().flat_map(|(at, _, chunk)| {
                        chunk.iter().map(move |line| (*at, line.as_str()))
                    }));
                session
            })
            .collect();
        sessions.sort_by_key(|s| (s.first_seen, s.id.clone()));
        Ok(sessions)
    }
}

/// The output lines of one event of a session: when, the order it was read in, the lines.
type Output = (OffsetDateTime, usize, Vec<String>);

/// One Session Manager event, as read.
#[derive(Debug, PartialEq, Eq)]
struct SessionEvent {
    id: String,
    principal: String,
    target: String,
    at: OffsetDateTime,
    lines: Vec<String>,
}

/// A Session Manager event's session id, principal, target, time (its `eventTime`, else when it
/// was logged) and output lines; `None` when it is not one.
fn read_event(message: &str, logged_at: OffsetDateTime) -> Option<SessionEvent> {
    let event: Value = serde_json::from_str(message).ok()?;
    let id = event.get("sessionId")?.as_str()?.to_owned();
    let target = event.get("target")?.get("id")?.as_str()?.to_owned();
    let principal = event
        .get("userIdentity")
        .and_then(|u| u.get("arn"))
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_owned();
    let at = event
        .get("eventTime")
        .and_then(Value::as_str)
        .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
        .unwrap_or(logged_at);
    let lines = match event.get("sessionData") {
        Some(Value::Array(lines)) => lines
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(line)) => vec![line.clone()],
        _ => Vec::new(),
    };
    Some(SessionEvent {
        id,
        principal,
        target,
        at,
        lines,
    })
}

impl SessionLog for CloudWatchSessionLog {
    async fn sessions(
        &self,
        bastion: Option<&BastionId>,
        window: &AccessWindow,
    ) -> powerpole_core::Result<Gathered<Vec<BastionSession>>> {
        let Some(bastion) = bastion else {
            return Ok(Gathered::Unavailable {
                why: "the request launched no bastion".to_owned(),
            });
        };
        let Some(group) = &self.group else {
            return Ok(Gathered::Unavailable {
                why: "Session Manager logging to CloudWatch is not configured \
                      (POWERPOLE_SESSION_LOG_GROUP)"
                    .to_owned(),
            });
        };
        Ok(Gathered::Found(self.fetch(group, bastion, window).await?))
    }
}

/// Milliseconds since the epoch, as CloudWatch Logs counts time.
fn epoch_millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn session_manager_events_are_read_and_anything_else_is_not() {
        let logged = datetime!(2026-11-23 14:00 UTC);
        let event = r#"{"eventVersion":"1.0","eventTime":"2026-11-23T14:03:04Z","awsRegion":"ap-northeast-1",
            "target":{"id":"i-0123456789abcdef0"},"userIdentity":{"arn":"arn:aws:sts::1:assumed-role/dev/alice"},
            "runAsUser":"ssm-user","sessionId":"alice-0a1b","sessionData":["mysql> SELECT 1;"]}"#;
        assert_eq!(
            read_event(event, logged),
            Some(SessionEvent {
                id: "alice-0a1b".to_owned(),
                principal: "arn:aws:sts::1:assumed-role/dev/alice".to_owned(),
                target: "i-0123456789abcdef0".to_owned(),
                at: datetime!(2026-11-23 14:03:04 UTC),
                lines: vec!["mysql> SELECT 1;".to_owned()],
            })
        );
        assert_eq!(
            read_event("Script started on 2026-11-23 i-0123", logged),
            None
        );
        assert_eq!(read_event(r#"{"sessionId":"x"}"#, logged), None);
    }
}
