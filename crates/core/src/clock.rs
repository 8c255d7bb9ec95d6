//! Time as a port, so waits, expiry and the 10-minute warning are testable in milliseconds.

use std::sync::{Arc, Mutex};

use time::{Duration, OffsetDateTime};

/// Tells the current time (UTC).
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> OffsetDateTime;
}

/// The machine's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that moves only when told to; clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<OffsetDateTime>>);

impl ManualClock {
    /// A clock showing `at`.
    #[must_use]
    pub fn new(at: OffsetDateTime) -> Self {
        Self(Arc::new(Mutex::new(at)))
    }

    /// Moves the clock forward (or back, with a negative `by`).
    pub fn advance(&self, by: Duration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }

    /// Sets the clock to `at`.
    pub fn set(&self, at: OffsetDateTime) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A borrowed clock is a clock.
impl<T: Clock + ?Sized> Clock for &T {
    fn now(&self) -> OffsetDateTime {
        T::now(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn manual_clock_clones_share_time() {
        let clock = ManualClock::new(datetime!(2026-11-23 14:00 UTC));
        let other = clock.clone();
        clock.advance(Duration::minutes(50));
        assert_eq!(other.now(), datetime!(2026-11-23 14:50 UTC));
        other.set(datetime!(2026-11-24 0:00 UTC));
        assert_eq!(clock.now(), datetime!(2026-11-24 0:00 UTC));
    }

    #[test]
    fn system_clock_is_utc() {
        assert!(SystemClock.now().offset().is_utc());
    }
}
