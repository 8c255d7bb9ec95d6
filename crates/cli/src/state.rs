//! The layout of the broker's state directory, for every command that reads it: the SQLite
//! file, and the clock anchor that keeps a compressed clock's timeline across restarts.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

/// The SQLite file of a state directory.
#[must_use]
pub fn database(state_dir: &Path) -> PathBuf {
    state_dir.join("powerpole.sqlite")
}

/// The clock anchor of a state directory: when (real time) the broker's clock showed what, at
/// which speed.
#[must_use]
pub fn clock_anchor(state_dir: &Path) -> PathBuf {
    state_dir.join("clock.json")
}

/// The broker's time now, read from the state directory's clock anchor without touching it: a
/// compressed demo clock runs ahead of the wall clock, and the state's times are on its
/// timeline. The wall clock when there is no anchor or it was made at another speed.
#[must_use]
pub fn broker_now(state_dir: &Path, speed: f64) -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    let anchor: Option<(i128, i128, f64)> = std::fs::read(clock_anchor(state_dir))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    match anchor {
        Some((real, shown, anchored_speed)) if (anchored_speed - speed).abs() < f64::EPSILON => {
            let elapsed = ((now.unix_timestamp_nanos() - real) as f64 * speed) as i128;
            OffsetDateTime::from_unix_timestamp_nanos(shown + elapsed).unwrap_or(now)
        }
        _ => now,
    }
}
