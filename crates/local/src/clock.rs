//! A clock that runs faster than real time, so a demo or an end-to-end test can live through an
//! access window of hours in minutes while every component still reads one consistent time.

use std::time::Instant;

use powerpole_core::Clock;
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};

/// Starts at a given time and advances `speed` times faster than the machine's clock
/// (speed 60: one minute per second). Copies share the same origin, so they agree.
#[derive(Debug, Clone, Copy)]
pub struct ScaledClock {
    origin: OffsetDateTime,
    started: Instant,
    speed: f64,
}

impl ScaledClock {
    /// A clock starting at the real current time.
    ///
    /// # Errors
    /// [`Error::InvalidClockSpeed`] when `speed` is not a positive finite number.
    pub fn new(speed: f64) -> Result<Self> {
        Self::starting_at(OffsetDateTime::now_utc(), speed)
    }

    /// A clock showing `at` now.
    ///
    /// # Errors
    /// [`Error::InvalidClockSpeed`] when `speed` is not a positive finite number.
    pub fn starting_at(at: OffsetDateTime, speed: f64) -> Result<Self> {
        if !speed.is_finite() || speed <= 0.0 {
            return Err(Error::InvalidClockSpeed(speed));
        }
        Ok(Self {
            origin: at,
            started: Instant::now(),
            speed,
        })
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
        self.origin
            .checked_add(Duration::seconds_f64(elapsed))
            .unwrap_or(self.origin)
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
}
