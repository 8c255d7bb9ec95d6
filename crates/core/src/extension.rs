//! Extending live access: how much longer a requester asks for ([`ExtensionLength`]), what the
//! cluster's maximum still allows from the start ([`allowance`]), and each extension a request
//! asked for with what became of it ([`Extension`]), read back from the request's events.
//!
//! An extension is not a new request: it needs an approver who is not the requester, and once
//! approved it moves the effective window's end; the DB user, its password and the bastion stay.
//! The events carry what the window is computed from: `ExtensionRequested` says `+N min: reason`.

use time::{Duration, OffsetDateTime};

use crate::error::{Error, Field, Result};
use crate::ids::SlackUserId;
use crate::lifecycle::{Actor, Event, EventKind};
use crate::window::{AccessWindow, WindowPolicy, describe};

/// The start of the note that records where an extension's card was posted (its Slack `ts`).
pub const EXTENSION_CARD: &str = "extension card posted: ";

/// How long before the current end an extension must be decided: a decision later than that
/// lapses, so the workflow, which looks at the end once it is reached, never races a click.
pub const DECISION_CUTOFF: Duration = Duration::minutes(1);

/// How much longer access should last: whole minutes, at least 15, at most 8 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExtensionLength(Duration);

impl ExtensionLength {
    /// The shortest extension anyone may ask for.
    pub const MIN: Duration = WindowPolicy::MIN_DURATION;

    /// An extension of `length`, cut to whole minutes.
    ///
    /// # Errors
    /// [`Error::Invalid`] on [`Field::Duration`] below 15 minutes or above 8 hours.
    pub fn new(length: Duration) -> Result<Self> {
        let length = Duration::minutes(length.whole_minutes());
        if length < Self::MIN {
            return Err(Error::invalid(
                Field::Duration,
                "must be at least 15 minutes",
            ));
        }
        if length > WindowPolicy::MAX_DURATION {
            return Err(Error::invalid(Field::Duration, "must be at most 8h"));
        }
        Ok(Self(length))
    }

    /// An extension of `minutes` as a form gives it (`"30"`).
    ///
    /// # Errors
    /// [`Error::Invalid`] on [`Field::Duration`] when it is not a number of minutes in range.
    pub fn parse_minutes(minutes: &str) -> Result<Self> {
        let minutes = minutes
            .trim()
            .parse::<i64>()
            .map_err(|_| Error::invalid(Field::Duration, "must be a number of minutes"))?;
        Self::new(Duration::minutes(minutes))
    }

    /// The extra time.
    #[must_use]
    pub const fn duration(self) -> Duration {
        self.0
    }

    /// The extra time in minutes.
    #[must_use]
    pub const fn minutes(self) -> i64 {
        self.0.whole_minutes()
    }
}

/// How much longer `window` may last when the cluster allows `max` from its start (zero when
/// it already lasts that long).
#[must_use]
pub fn allowance(window: &AccessWindow, max: Duration) -> Duration {
    (window.start() + max - window.end()).max(Duration::ZERO)
}

/// Checks that `length` keeps `window` within `max` from its start.
///
/// # Errors
/// [`Error::Invalid`] on [`Field::Duration`], saying how much more is allowed.
pub fn check_within(window: &AccessWindow, length: ExtensionLength, max: Duration) -> Result<()> {
    let left = allowance(window, max);
    if length.duration() <= left {
        return Ok(());
    }
    let limit = describe(max);
    Err(Error::invalid(
        Field::Duration,
        if left < ExtensionLength::MIN {
            format!(
                "this access already lasts as long as the cluster allows ({limit} from its start)"
            )
        } else {
            format!(
                "must be at most {} more: the cluster allows {limit} from the start",
                describe(left)
            )
        },
    ))
}

/// The detail of an `ExtensionRequested` event.
pub(crate) fn requested_detail(length: ExtensionLength, reason: &str) -> String {
    format!("+{} min: {reason}", length.minutes())
}

/// What became of an extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtensionOutcome {
    /// Waiting for an approver.
    Pending,
    /// Approved: the end moved.
    Approved {
        /// The approver.
        by: SlackUserId,
        /// When.
        at: OffsetDateTime,
    },
    /// Refused: the end stays.
    Denied {
        /// The approver.
        by: SlackUserId,
        /// When.
        at: OffsetDateTime,
    },
    /// Nobody decided before the end it would have moved.
    Lapsed {
        /// When it lapsed.
        at: OffsetDateTime,
    },
}

/// One extension a request asked for, read from its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// 1 for the request's first extension, 2 for the next, …
    pub number: u32,
    /// How much longer.
    pub length: ExtensionLength,
    /// Why, as the requester typed it.
    pub reason: String,
    /// When it was asked for.
    pub asked_at: OffsetDateTime,
    /// What became of it.
    pub outcome: ExtensionOutcome,
    /// The Slack `ts` of its card in the approval card's thread, once posted.
    pub card_ts: Option<String>,
}

impl Extension {
    /// Whether it still waits for an approver.
    #[must_use]
    pub fn is_pending(&self) -> bool {
        self.outcome == ExtensionOutcome::Pending
    }

    /// Whether it moved the end.
    #[must_use]
    pub fn is_approved(&self) -> bool {
        matches!(self.outcome, ExtensionOutcome::Approved { .. })
    }
}

/// The extensions `events` record, oldest first. An `ExtensionRequested` event whose detail is
/// not `+N min: …` is skipped (the lifecycle never writes one).
pub(crate) fn read(events: &[Event]) -> Vec<Extension> {
    let mut extensions: Vec<Extension> = Vec::new();
    for event in events {
        let latest = extensions.last_mut().filter(|e| e.is_pending());
        match (event.kind, latest) {
            (EventKind::ExtensionRequested, _) => {
                let Some((length, reason)) = parse_requested(&event.detail) else {
                    continue;
                };
                let number = u32::try_from(extensions.len() + 1).unwrap_or(u32::MAX);
                extensions.push(Extension {
                    number,
                    length,
                    reason,
                    asked_at: event.at,
                    outcome: ExtensionOutcome::Pending,
                    card_ts: None,
                });
            }
            (EventKind::Extended, Some(latest)) => {
                if let Actor::User(by) = &event.actor {
                    latest.outcome = ExtensionOutcome::Approved {
                        by: by.clone(),
                        at: event.at,
                    };
                }
            }
            (EventKind::ExtensionDenied, Some(latest)) => {
                if let Actor::User(by) = &event.actor {
                    latest.outcome = ExtensionOutcome::Denied {
                        by: by.clone(),
                        at: event.at,
                    };
                }
            }
            (EventKind::ExtensionLapsed, Some(latest)) => {
                latest.outcome = ExtensionOutcome::Lapsed { at: event.at };
            }
            (EventKind::Step, _) => {
                if let Some(ts) = event.detail.strip_prefix(EXTENSION_CARD)
                    && let Some(last) = extensions.last_mut()
                {
                    last.card_ts = Some(ts.to_owned());
                }
            }
            _ => {}
        }
    }
    extensions
}

fn parse_requested(detail: &str) -> Option<(ExtensionLength, String)> {
    let (minutes, reason) = detail.strip_prefix('+')?.split_once(" min: ")?;
    let length = ExtensionLength::parse_minutes(minutes).ok()?;
    Some((length, reason.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-23 14:00 UTC);

    #[test]
    fn lengths_are_whole_minutes_from_15_minutes_to_8_hours() {
        assert_eq!(ExtensionLength::parse_minutes("30").unwrap().minutes(), 30);
        assert_eq!(
            ExtensionLength::new(Duration::seconds(20 * 60 + 59))
                .unwrap()
                .minutes(),
            20
        );
        for bad in ["14", "481", "-30", "half an hour", ""] {
            assert_eq!(
                ExtensionLength::parse_minutes(bad).unwrap_err().field(),
                Some(Field::Duration),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_maximum_counts_from_the_start_of_the_window() {
        let window = AccessWindow::from_parts(T0, T0 + Duration::hours(7)).unwrap();
        let max = Duration::hours(8);
        let hour = ExtensionLength::new(Duration::hours(1)).unwrap();
        let more = ExtensionLength::new(Duration::minutes(61)).unwrap();

        assert_eq!(allowance(&window, max), Duration::hours(1));
        assert!(check_within(&window, hour, max).is_ok());
        assert_eq!(
            check_within(&window, more, max).unwrap_err().to_string(),
            "invalid duration: must be at most 1h more: the cluster allows 8h from the start"
        );
        let full = AccessWindow::from_parts(T0, T0 + max).unwrap();
        let quarter = ExtensionLength::new(Duration::minutes(15)).unwrap();
        assert!(
            check_within(&full, quarter, max)
                .unwrap_err()
                .to_string()
                .contains("already lasts as long as the cluster allows (8h")
        );
    }

    #[test]
    fn requested_details_read_back() {
        let length = ExtensionLength::new(Duration::minutes(45)).unwrap();
        let detail = requested_detail(length, "INC-7: backfill: still running");
        assert_eq!(
            parse_requested(&detail),
            Some((length, "INC-7: backfill: still running".to_owned()))
        );
        assert_eq!(parse_requested("45 minutes"), None);
    }
}
