//! A clock that runs faster than real time, so a demo or an end-to-end test can live through an
//! access window of hours in minutes while every component still reads one consistent time; and
//! the audit log read on that clock's timeline ([`OnBrokerClock`]), since a database server logs
//! real time.

use std::time::Instant;

use powerpole_core::ports::AuditSource;
use powerpole_core::{AccessWindow, AuditRecord, Clock, ClusterId, DbUsername};
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};

/// Starts at a given time and advances `speed` times faster than the machine's clock
/// (speed 60: one minute per second). Copies share the same origin, so they agree.
#[derive(Debug, Clone, Copy)]
pub struct ScaledClock {
    /// The anchor: at real time `real` the clock showed `shown`.
    real: OffsetDateTime,
    shown: OffsetDateTime,
    /// When this value was made, and what the clock showed then.
    started: Instant,
    started_shown: OffsetDateTime,
    speed: f64,
}

impl ScaledClock {
    /// A clock starting at the real current time.
    ///
    /// # Errors
    /// [`Error::InvalidClockSpeed`] when `speed` is not a positive finite number.
    pub fn new(speed: f64) -> Result<Self> {
        let now = OffsetDateTime::now_utc();
        Self::anchored(now, now, speed)
    }

    /// A clock showing `at` now.
    ///
    /// # Errors
    /// [`Error::InvalidClockSpeed`] when `speed` is not a positive finite number.
    pub fn starting_at(at: OffsetDateTime, speed: f64) -> Result<Self> {
        Self::anchored(OffsetDateTime::now_utc(), at, speed)
    }

    /// The clock that showed `shown` when the machine's clock showed `real` (a clock anchor
    /// saved by an earlier process), and has run `speed` times faster since.
    ///
    /// # Errors
    /// [`Error::InvalidClockSpeed`] when `speed` is not a positive finite number.
    pub fn anchored(real: OffsetDateTime, shown: OffsetDateTime, speed: f64) -> Result<Self> {
        if !speed.is_finite() || speed <= 0.0 {
            return Err(Error::InvalidClockSpeed(speed));
        }
        let started_shown = shown
            .checked_add(scaled(OffsetDateTime::now_utc() - real, speed))
            .unwrap_or(shown);
        Ok(Self {
            real,
            shown,
            started: Instant::now(),
            started_shown,
            speed,
        })
    }

    /// The anchor to save so that a later process continues this clock: the real time and what
    /// the clock showed then.
    #[must_use]
    pub fn anchor(&self) -> (OffsetDateTime, OffsetDateTime) {
        (self.real, self.shown)
    }

    /// The real time (the machine's, a database server's log) at which this clock shows `shown`.
    #[must_use]
    pub fn to_real(&self, shown: OffsetDateTime) -> OffsetDateTime {
        self.real
            .checked_add(scaled(shown - self.shown, self.speed.recip()))
            .unwrap_or(self.real)
    }

    /// What this clock shows (or showed) at real time `real`.
    #[must_use]
    pub fn from_real(&self, real: OffsetDateTime) -> OffsetDateTime {
        self.shown
            .checked_add(scaled(real - self.real, self.speed))
            .unwrap_or(self.shown)
    }

    /// How many times faster than real time the clock runs.
    #[must_use]
    pub fn speed(&self) -> f64 {
        self.speed
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> OffsetDateTime {
        let elapsed = self.started.elapsed().as_secs_f64() * self.speed;
        self.started_shown
            .checked_add(Duration::seconds_f64(elapsed))
            .unwrap_or(self.started_shown)
    }
}

/// `span` stretched `factor` times, saturating; exactly `span` at factor 1.
fn scaled(span: Duration, factor: f64) -> Duration {
    if (factor - 1.0).abs() < f64::EPSILON {
        return span;
    }
    Duration::saturating_seconds_f64(span.as_seconds_f64() * factor)
}

/// `at` to the nearest microsecond: the finest an audit log tells, and what hides the float
/// rounding of a scaled conversion.
fn to_micros(at: OffsetDateTime) -> OffsetDateTime {
    let nanos = at.unix_timestamp_nanos();
    let rounded = (nanos + 500).div_euclid(1_000) * 1_000;
    OffsetDateTime::from_unix_timestamp_nanos(rounded).unwrap_or(at)
}

/// An audit source read on a [`ScaledClock`]'s timeline: the window asked for (broker time) is
/// turned into the real time the server logged in, and each record's time (and its precision)
/// back into broker time, so a receipt is right at any clock speed.
#[derive(Debug, Clone)]
pub struct OnBrokerClock<A> {
    inner: A,
    clock: ScaledClock,
}

impl<A> OnBrokerClock<A> {
    /// `inner`'s records on `clock`'s timeline.
    #[must_use]
    pub fn new(inner: A, clock: ScaledClock) -> Self {
        Self { inner, clock }
    }
}

impl<A: AuditSource> AuditSource for OnBrokerClock<A> {
    async fn records(
        &self,
        cluster: &ClusterId,
        username: &DbUsername,
        window: &AccessWindow,
    ) -> powerpole_core::Result<Vec<AuditRecord>> {
        let real = AccessWindow::from_parts(
            self.clock.to_real(window.start()),
            self.clock.to_real(window.end()),
        )?;
        let records = self.inner.records(cluster, username, &real).await?;
        Ok(records
            .into_iter()
            .map(|record| AuditRecord {
                at: to_micros(self.clock.from_real(record.at)),
                resolution: scaled(record.resolution, self.clock.speed),
                ..record
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_scaled_clock_runs_faster_than_real_time() {
        let at = datetime!(2026-11-23 14:00 UTC);
        let clock = ScaledClock::starting_at(at, 600.0).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let elapsed = clock.now() - at;
        assert!(elapsed >= Duration::seconds(30), "{elapsed}");
        assert!(elapsed < Duration::minutes(30), "{elapsed}");
        let copy = clock;
        assert!(copy.now() >= clock.now() - Duration::seconds(1));
    }

    #[test]
    fn a_scaled_clock_starts_at_real_time() {
        let clock = ScaledClock::new(60.0).unwrap();
        let drift = clock.now() - OffsetDateTime::now_utc();
        assert!(drift.abs() < Duration::seconds(5), "{drift}");
        assert!((clock.speed() - 60.0).abs() < f64::EPSILON);
    }

    #[test]
    fn nonsense_speeds_are_refused() {
        for speed in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                ScaledClock::new(speed),
                Err(Error::InvalidClockSpeed(_))
            ));
        }
    }

    #[test]
    fn an_anchored_clock_continues_the_timeline_an_earlier_process_saved() {
        let shown = datetime!(2026-11-23 14:00 UTC);
        let real = OffsetDateTime::now_utc() - Duration::minutes(1);
        let clock = ScaledClock::anchored(real, shown, 60.0).unwrap();
        let drift = clock.now() - (shown + Duration::hours(1));
        assert!(drift.abs() < Duration::seconds(30), "{drift}");
        assert!((clock.to_real(shown) - real).abs() < Duration::milliseconds(5));
        assert!((clock.from_real(real) - shown).abs() < Duration::milliseconds(300));
        let later = shown + Duration::hours(3);
        assert!((clock.from_real(clock.to_real(later)) - later).abs() < Duration::milliseconds(1));
    }

    struct Logged(Vec<AuditRecord>, std::sync::Mutex<Option<AccessWindow>>);

    impl AuditSource for Logged {
        async fn records(
            &self,
            _: &ClusterId,
            _: &DbUsername,
            window: &AccessWindow,
        ) -> powerpole_core::Result<Vec<AuditRecord>> {
            *self.1.lock().unwrap() = Some(*window);
            Ok(self.0.clone())
        }
    }

    #[tokio::test]
    async fn audit_records_are_read_in_real_time_and_shown_on_the_brokers_clock() {
        let real = datetime!(2026-12-03 10:00 UTC);
        let shown = datetime!(2026-12-03 20:00 UTC);
        let clock = ScaledClock::anchored(real, shown, 600.0).unwrap();
        let at_real = clock.to_real(shown + Duration::hours(2));
        let record = AuditRecord {
            at: at_real,
            resolution: Duration::SECOND,
            server_host: "db".into(),
            username: "bob".into(),
            host: "localhost".into(),
            connection_id: 1,
            query_id: 1,
            operation: powerpole_core::AuditOperation::Query,
            database: String::new(),
            object: "SELECT 1".into(),
            retcode: 0,
        };
        let source = OnBrokerClock::new(Logged(vec![record], std::sync::Mutex::default()), clock);
        let window =
            AccessWindow::from_parts(shown + Duration::hours(1), shown + Duration::hours(3))
                .unwrap();

        let records = source
            .records(
                &ClusterId::parse("orders").unwrap(),
                &DbUsername::parse("bob").unwrap(),
                &window,
            )
            .await
            .unwrap();

        let asked = source.inner.1.lock().unwrap().unwrap();
        assert!((asked.start() - clock.to_real(window.start())).abs() < Duration::milliseconds(1));
        assert!((asked.duration() - Duration::seconds(12)).abs() < Duration::milliseconds(1));
        assert!((records[0].at - (shown + Duration::hours(2))).abs() < Duration::milliseconds(1));
        assert_eq!(records[0].resolution, Duration::minutes(10));
    }
}
