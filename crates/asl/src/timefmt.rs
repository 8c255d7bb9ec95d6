//! Timestamps as the States Language writes them, and in journal records (the stored form is
//! [`crate::sqlite::timestamp`]).

use powerpole_core::timefmt::{Precision, rfc3339};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Parses an RFC 3339 timestamp (`2026-11-23T14:00:00Z`, `2026-11-23T23:00:00+09:00`).
pub(crate) fn parse(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// The context object's form, as Step Functions writes it: UTC, milliseconds, `Z`.
pub(crate) fn context(at: OffsetDateTime) -> String {
    rfc3339(at, Precision::Millis)
}

/// Serde adapter for timestamps in journal records.
pub(crate) mod serde_ts {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    pub(crate) fn serialize<S: Serializer>(at: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::sqlite::timestamp(*at))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(d)?;
        super::parse(&text).ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 time"))
    }
}

/// Serde adapter for optional timestamps in journal records.
pub(crate) mod serde_opt_ts {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    pub(crate) fn serialize<S: Serializer>(
        at: &Option<OffsetDateTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => s.serialize_some(&crate::sqlite::timestamp(*at)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| {
                super::parse(&text)
                    .ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 time"))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::timestamp;
    use time::macros::datetime;

    #[test]
    fn timestamps_round_trip_through_the_journal() {
        let at = datetime!(2026-11-23 14:00:01.123456789 UTC);
        assert_eq!(parse(&timestamp(at)), Some(at));
        let tokyo = datetime!(2026-11-23 23:00 +09:00);
        assert_eq!(timestamp(tokyo), "2026-11-23T14:00:00.000000000Z");
        let (whole, half) = (
            timestamp(tokyo),
            timestamp(tokyo + time::Duration::milliseconds(500)),
        );
        assert!(whole < half, "{whole} sorts after {half}");
    }

    #[test]
    fn the_context_object_uses_milliseconds_in_utc() {
        assert_eq!(
            context(datetime!(2026-11-23 23:00:01.5 +09:00)),
            "2026-11-23T14:00:01.500Z"
        );
    }

    #[test]
    fn offsets_are_understood() {
        assert_eq!(
            parse("2026-11-23T23:00:00+09:00"),
            Some(datetime!(2026-11-23 14:00 UTC))
        );
        assert_eq!(parse("2026-11-23 14:00"), None);
        assert_eq!(parse("soon"), None);
    }
}
