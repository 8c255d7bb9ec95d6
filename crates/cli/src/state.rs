//! The layout of the broker's state directory, for every command that reads it: the SQLite
//! file, and the clock anchor that keeps a compressed clock's timeline across restarts.

use std::path::{Path, PathBuf};

use powerpole_core::Clock as _;
use powerpole_local::ScaledClock;
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

/// The broker's clock as the state directory's anchor saved it (`serve` writes it at start):
/// the timeline the state's times are on. `None` when there is no readable anchor.
#[must_use]
pub fn saved_clock(state_dir: &Path) -> Option<ScaledClock> {
    let (real, shown, speed): (i128, i128, f64) = std::fs::read(clock_anchor(state_dir))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())?;
    let real = OffsetDateTime::from_unix_timestamp_nanos(real).ok()?;
    let shown = OffsetDateTime::from_unix_timestamp_nanos(shown).ok()?;
    ScaledClock::anchored(real, shown, speed).ok()
}

/// Saves `clock`'s timeline as the state directory's anchor.
///
/// # Errors
/// When the anchor file cannot be written.
pub fn save_clock(state_dir: &Path, clock: &ScaledClock) -> std::io::Result<()> {
    let (real, shown) = clock.anchor();
    let anchor = (
        real.unix_timestamp_nanos(),
        shown.unix_timestamp_nanos(),
        clock.speed(),
    );
    std::fs::write(clock_anchor(state_dir), serde_json::to_vec(&anchor)?)
}

/// The broker's time now, read from the state directory's clock anchor without touching it: a
/// compressed demo clock runs ahead of the wall clock, and the state's times are on its
/// timeline. The wall clock when there is no anchor.
#[must_use]
pub fn broker_now(state_dir: &Path) -> OffsetDateTime {
    saved_clock(state_dir).map_or_else(OffsetDateTime::now_utc, |clock| clock.now())
}
