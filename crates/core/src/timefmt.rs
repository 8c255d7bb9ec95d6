//! The one way powerpole writes a time: RFC 3339 in UTC with a fixed number of fractional
//! digits, so stored strings sort in time order and every output reads the same.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// How many fractional digits of the second are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// None: `2026-11-23T14:30:15Z` (tags, DynamoDB attributes, people).
    Seconds,
    /// Three: `2026-11-23T14:30:15.700Z` (the States Language context object).
    Millis,
    /// Nine, fixed width: `2026-11-23T14:30:15.700000000Z` (SQLite columns that sort as text).
    Nanos,
    /// As many as the time needs: `2026-11-23T14:30:15.7Z` (the workflow's timestamps).
    Full,
}

/// `at` in UTC as RFC 3339, to `precision` (shorter precisions truncate).
#[must_use]
pub fn rfc3339(at: OffsetDateTime, precision: Precision) -> String {
    let utc = at.to_offset(UtcOffset::UTC);
    let written = match precision {
        Precision::Seconds => utc.replace_nanosecond(0).unwrap_or(utc).format(&Rfc3339),
        Precision::Millis => utc.format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        )),
        Precision::Nanos => utc.format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z"
        )),
        Precision::Full => utc.format(&Rfc3339),
    };
    written.unwrap_or_else(|_| utc.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn times_are_written_in_utc_to_the_precision_asked() {
        let at = datetime!(2026-11-23 23:30:15.7 +09:00);

        assert_eq!(rfc3339(at, Precision::Seconds), "2026-11-23T14:30:15Z");
        assert_eq!(rfc3339(at, Precision::Millis), "2026-11-23T14:30:15.700Z");
        assert_eq!(
            rfc3339(at, Precision::Nanos),
            "2026-11-23T14:30:15.700000000Z"
        );
        assert_eq!(rfc3339(at, Precision::Full), "2026-11-23T14:30:15.7Z");
    }

    #[test]
    fn fixed_width_times_sort_as_text_in_time_order() {
        let early = datetime!(2026-11-23 14:30:15.000000009 UTC);
        let late = datetime!(2026-11-23 14:30:15.1 UTC);

        assert!(rfc3339(early, Precision::Nanos) < rfc3339(late, Precision::Nanos));
    }
}
