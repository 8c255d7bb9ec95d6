//! When access is granted: the access window and the policy that bounds it.

use time::{Duration, OffsetDateTime};

use crate::error::{Error, Field, Result};

/// Bounds on access windows. The shortest window is always 15 minutes; the longest is 8 hours
/// unless a cluster's configuration sets it lower.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowPolicy {
    max_duration: Duration,
}

impl WindowPolicy {
    /// The shortest window anyone may ask for.
    pub const MIN_DURATION: Duration = Duration::minutes(15);
    /// The longest window any configuration may allow.
    pub const MAX_DURATION: Duration = Duration::hours(8);
    /// How far in the past a requested start may be (the time spent filling in the form).
    pub const START_GRACE: Duration = Duration::minutes(5);
    /// How far ahead a start may be scheduled.
    pub const MAX_LEAD: Duration = Duration::days(30);

    /// A policy allowing windows up to `max_duration`.
    ///
    /// # Errors
    /// [`Error::Invalid`] when `max_duration` is below 15 minutes or above 8 hours.
    pub fn new(max_duration: Duration) -> Result<Self> {
        if max_duration < Self::MIN_DURATION || max_duration > Self::MAX_DURATION {
            return Err(Error::invalid(
                Field::Duration,
                format!(
                    "the maximum must be between 15 minutes and 8 hours, not {}",
                    describe(max_duration)
                ),
            ));
        }
        Ok(Self { max_duration })
    }

    /// The longest window this policy allows.
    #[must_use]
    pub fn max_duration(&self) -> Duration {
        self.max_duration
    }
}

impl Default for WindowPolicy {
    fn default() -> Self {
        Self {
            max_duration: Self::MAX_DURATION,
        }
    }
}

/// The time span a request's access exists: `start` inclusive, `end` exclusive, whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessWindow {
    start: OffsetDateTime,
    end: OffsetDateTime,
}

impl AccessWindow {
    /// A new window asked for at `now`, checked against `policy`: the start is not more than
    /// five minutes in the past nor more than 30 days ahead, and the duration is between
    /// 15 minutes and the policy's maximum. Sub-second parts are dropped.
    ///
    /// # Errors
    /// [`Error::Invalid`] on [`Field::Start`] or [`Field::Duration`].
    pub fn request(
        start: OffsetDateTime,
        duration: Duration,
        now: OffsetDateTime,
        policy: &WindowPolicy,
    ) -> Result<Self> {
        let start = whole_seconds(start);
        if start < now - WindowPolicy::START_GRACE {
            return Err(Error::invalid(Field::Start, "must not be in the past"));
        }
        if start > now + WindowPolicy::MAX_LEAD {
            return Err(Error::invalid(
                Field::Start,
                "must be within the next 30 days",
            ));
        }
        if duration < WindowPolicy::MIN_DURATION {
            return Err(Error::invalid(
                Field::Duration,
                "must be at least 15 minutes",
            ));
        }
        if duration > policy.max_duration() {
            return Err(Error::invalid(
                Field::Duration,
                format!(
                    "must be at most {} for this cluster",
                    describe(policy.max_duration())
                ),
            ));
        }
        Ok(Self {
            start,
            end: start + whole_seconds_duration(duration),
        })
    }

    /// A window read back from storage: only `start < end` is checked, since the policy in
    /// force when it was requested may have changed since.
    ///
    /// # Errors
    /// [`Error::Invalid`] when `end` is not after `start`.
    pub fn from_parts(start: OffsetDateTime, end: OffsetDateTime) -> Result<Self> {
        if end <= start {
            return Err(Error::invalid(Field::Duration, "end must be after start"));
        }
        Ok(Self { start, end })
    }

    /// When access begins.
    #[must_use]
    pub fn start(&self) -> OffsetDateTime {
        self.start
    }

    /// When access ends.
    #[must_use]
    pub fn end(&self) -> OffsetDateTime {
        self.end
    }

    /// How long access lasts.
    #[must_use]
    pub fn duration(&self) -> Duration {
        self.end - self.start
    }

    /// When to warn that access ends in `lead` (never before the start).
    #[must_use]
    pub fn warning_at(&self, lead: Duration) -> OffsetDateTime {
        (self.end - lead).max(self.start)
    }

    /// Whether `at` falls inside the window.
    #[must_use]
    pub fn contains(&self, at: OffsetDateTime) -> bool {
        self.start <= at && at < self.end
    }
}

fn whole_seconds(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(0).unwrap_or(at)
}

fn whole_seconds_duration(d: Duration) -> Duration {
    Duration::seconds(d.whole_seconds())
}

/// `90 minutes` → `1h30m`, for messages.
pub(crate) fn describe(d: Duration) -> String {
    let minutes = d.whole_minutes();
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-23 14:00 UTC);

    #[test]
    fn a_one_hour_window_starting_now_is_accepted() {
        let w =
            AccessWindow::request(NOW, Duration::hours(1), NOW, &WindowPolicy::default()).unwrap();
        assert_eq!(w.start(), NOW);
        assert_eq!(w.end(), datetime!(2026-11-23 15:00 UTC));
        assert_eq!(
            w.warning_at(Duration::minutes(10)),
            datetime!(2026-11-23 14:50 UTC)
        );
        assert!(w.contains(NOW) && !w.contains(w.end()));
    }

    #[test]
    fn duration_bounds_are_15_minutes_to_the_policy_maximum() {
        let policy = WindowPolicy::default();
        let ask = |d| AccessWindow::request(NOW, d, NOW, &policy);
        assert!(ask(Duration::minutes(15)).is_ok());
        assert!(ask(Duration::hours(8)).is_ok());
        assert_eq!(
            ask(Duration::minutes(14)).unwrap_err().field(),
            Some(Field::Duration)
        );
        let err = ask(Duration::hours(8) + Duration::seconds(1)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid duration: must be at most 8h for this cluster"
        );
    }

    #[test]
    fn a_cluster_may_lower_the_maximum_but_not_raise_it() {
        let policy = WindowPolicy::new(Duration::minutes(90)).unwrap();
        let err = AccessWindow::request(NOW, Duration::hours(2), NOW, &policy).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid duration: must be at most 1h30m for this cluster"
        );
        assert!(WindowPolicy::new(Duration::hours(9)).is_err());
        assert!(WindowPolicy::new(Duration::minutes(10)).is_err());
    }

    #[test]
    fn start_may_not_be_in_the_past_or_too_far_ahead() {
        let policy = WindowPolicy::default();
        let ask = |start| AccessWindow::request(start, Duration::hours(1), NOW, &policy);
        assert!(
            ask(NOW - Duration::minutes(5)).is_ok(),
            "form-filling grace"
        );
        assert_eq!(
            ask(NOW - Duration::minutes(6)).unwrap_err().field(),
            Some(Field::Start)
        );
        assert!(ask(NOW + Duration::days(30)).is_ok());
        assert_eq!(
            ask(NOW + Duration::days(31)).unwrap_err().field(),
            Some(Field::Start)
        );
    }

    #[test]
    fn warning_never_precedes_the_start() {
        let w = AccessWindow::request(NOW, Duration::minutes(15), NOW, &WindowPolicy::default())
            .unwrap();
        assert_eq!(w.warning_at(Duration::minutes(30)), NOW);
    }

    #[test]
    fn stored_windows_need_end_after_start() {
        assert!(AccessWindow::from_parts(NOW, NOW).is_err());
        assert!(AccessWindow::from_parts(NOW, NOW + Duration::hours(12)).is_ok());
    }

    proptest! {
        #[test]
        fn accepted_windows_respect_the_policy(
            offset_s in -86_400i64..86_400 * 40,
            duration_s in 0i64..86_400,
            max_min in 15i64..=480,
        ) {
            let policy = WindowPolicy::new(Duration::minutes(max_min)).unwrap();
            let start = NOW + Duration::seconds(offset_s);
            if let Ok(w) = AccessWindow::request(start, Duration::seconds(duration_s), NOW, &policy) {
                prop_assert!(w.duration() >= WindowPolicy::MIN_DURATION);
                prop_assert!(w.duration() <= policy.max_duration());
                prop_assert!(w.start() >= NOW - WindowPolicy::START_GRACE);
                prop_assert!(w.start() <= NOW + WindowPolicy::MAX_LEAD);
                prop_assert!(w.end() <= w.start() + WindowPolicy::MAX_DURATION);
            }
        }
    }
}
