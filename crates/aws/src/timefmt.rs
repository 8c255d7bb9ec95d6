//! How every adapter writes a time: RFC 3339 in UTC, whole seconds (`2026-11-23T14:00:00Z`), so
//! stored strings sort in time order and tags read the same everywhere.

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// `at` as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn utc_seconds(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    let at = at.replace_nanosecond(0).unwrap_or(at);
    at.format(&Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn times_are_utc_whole_seconds() {
        assert_eq!(
            utc_seconds(datetime!(2026-11-23 23:30:15.7 +09:00)),
            "2026-11-23T14:30:15Z"
        );
    }
}
