//! Identifiers: request ids, database clusters, AWS regions and Slack users.

use std::fmt;
use std::str::FromStr;

use rand::{CryptoRng, RngExt};
use time::OffsetDateTime;
use ulid::Ulid;

use crate::error::{Error, Field, Result};

/// Implements `as_str`, `Display`, `AsRef<str>` and `FromStr` (via `parse`) for a validated
/// string newtype.
macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            /// The validated value.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::error::Error;

            fn from_str(s: &str) -> $crate::error::Result<Self> {
                Self::parse(s)
            }
        }
    };
}
pub(crate) use string_newtype;

/// The id of one access request: a ULID, so ids sort by creation time. It is also the Step
/// Functions execution name, the EC2 client token and the secret's name suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(Ulid);

impl RequestId {
    /// A fresh id for a request created at `at`, with 80 random bits from `rng`.
    pub fn generate<R: CryptoRng + ?Sized>(at: OffsetDateTime, rng: &mut R) -> Self {
        let millis = u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        Self(Ulid::from_parts(millis, rng.random::<u128>()))
    }

    /// Parses the 26-character Crockford base32 form (case-insensitive).
    ///
    /// # Errors
    /// [`Error::Invalid`] when `s` is not a ULID.
    pub fn parse(s: &str) -> Result<Self> {
        Ulid::from_string(s.trim())
            .map(Self)
            .map_err(|_| Error::invalid(Field::RequestId, "expected a 26-character ULID"))
    }

    /// When the id was generated, to the millisecond.
    #[must_use]
    pub fn created_at(&self) -> OffsetDateTime {
        let nanos = i128::from(self.0.timestamp_ms()) * 1_000_000;
        OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for RequestId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// An Aurora DB cluster identifier: 1–63 letters, digits and hyphens, starting with a letter,
/// no trailing hyphen and no two hyphens in a row. Stored lower-case, as AWS stores it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClusterId(String);

impl ClusterId {
    /// Validates a cluster identifier.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the broken rule.
    pub fn parse(s: &str) -> Result<Self> {
        let id = s.trim().to_ascii_lowercase();
        let problem = if id.is_empty() {
            Some("must not be empty")
        } else if id.len() > 63 {
            Some("must be at most 63 characters")
        } else if !id.starts_with(|c: char| c.is_ascii_lowercase()) {
            Some("must start with a letter")
        } else if !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            Some("may contain only letters, digits and hyphens")
        } else if id.ends_with('-') || id.contains("--") {
            Some("must not end with a hyphen or contain two hyphens in a row")
        } else {
            None
        };
        match problem {
            Some(problem) => Err(Error::invalid(Field::Cluster, problem)),
            None => Ok(Self(id)),
        }
    }
}
string_newtype!(ClusterId);

/// An AWS region code such as `ap-northeast-1` or `us-gov-west-1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region(String);

impl Region {
    /// Validates the shape of a region code (`xx-name[-name]-N`), not its existence.
    ///
    /// # Errors
    /// [`Error::Invalid`] when `s` does not look like a region code.
    pub fn parse(s: &str) -> Result<Self> {
        let region = s.trim().to_ascii_lowercase();
        let parts: Vec<&str> = region.split('-').collect();
        let well_formed = region.len() <= 25
            && parts.len() >= 3
            && parts[0].len() == 2
            && parts[..parts.len() - 1]
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
            && parts[parts.len() - 1].len() <= 2
            && !parts[parts.len() - 1].is_empty()
            && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit());
        if well_formed {
            Ok(Self(region))
        } else {
            Err(Error::invalid(
                Field::Region,
                "expected an AWS region code such as ap-northeast-1",
            ))
        }
    }
}
string_newtype!(Region);

/// A Slack user id (`U…` or, on Enterprise Grid, `W…`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlackUserId(String);

impl SlackUserId {
    /// Validates a Slack user id: `U` or `W` followed by 2–20 upper-case letters or digits.
    ///
    /// # Errors
    /// [`Error::Invalid`] when `s` is not a user id (channel and bot ids are refused).
    pub fn parse(s: &str) -> Result<Self> {
        let id = s.trim();
        let rest = id.strip_prefix(['U', 'W']).unwrap_or_default();
        if (2..=20).contains(&rest.len())
            && rest
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            Ok(Self(id.to_owned()))
        } else {
            Err(Error::invalid(
                Field::SlackUser,
                "expected a Slack user id such as U024BE7LH",
            ))
        }
    }
}
string_newtype!(SlackUserId);

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn request_ids_sort_by_creation_time_and_round_trip() {
        let mut rng = rand::rng();
        let early = RequestId::generate(datetime!(2026-11-23 10:00 UTC), &mut rng);
        let late = RequestId::generate(datetime!(2026-11-23 10:00:01 UTC), &mut rng);
        assert!(early < late);
        assert!(early.to_string() < late.to_string());
        assert_eq!(RequestId::parse(&early.to_string()).unwrap(), early);
        assert_eq!(
            RequestId::parse(&early.to_string().to_lowercase()).unwrap(),
            early
        );
        assert_eq!(early.created_at(), datetime!(2026-11-23 10:00 UTC));
    }

    #[test]
    fn request_id_rejects_garbage() {
        for bad in [
            "",
            "not-a-ulid",
            "01JDX'; DROP TABLE x;--",
            "0".repeat(27).as_str(),
        ] {
            let err = RequestId::parse(bad).unwrap_err();
            assert_eq!(err.field(), Some(Field::RequestId), "{bad}");
        }
    }

    #[test]
    fn cluster_ids_follow_aurora_rules() {
        assert_eq!(
            ClusterId::parse(" Prod-Orders-1 ").unwrap().as_str(),
            "prod-orders-1"
        );
        assert!(ClusterId::parse(&format!("a{}", "b".repeat(62))).is_ok());
        for bad in [
            "",
            "1cluster",
            "-cluster",
            "cluster-",
            "clus--ter",
            "clus_ter",
            "clus ter",
            "cluster`",
            &format!("a{}", "b".repeat(63)),
        ] {
            assert!(ClusterId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn regions_are_checked_for_shape() {
        for good in [
            "ap-northeast-1",
            "us-east-1",
            "us-gov-west-1",
            "eu-central-2",
        ] {
            assert_eq!(Region::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            "tokyo",
            "ap-northeast",
            "ap-northeast-x",
            "a-b-1",
            "ap--1",
            "ap-north-east-123",
        ] {
            assert!(Region::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn slack_user_ids_refuse_channels_and_junk() {
        assert_eq!(
            SlackUserId::parse("U024BE7LH").unwrap().as_str(),
            "U024BE7LH"
        );
        assert!(SlackUserId::parse("W012A3CDE").is_ok());
        for bad in [
            "",
            "U",
            "C024BE7LH",
            "B024BE7LH",
            "u024be7lh",
            "U024 BE7",
            "<@U024BE7LH>",
        ] {
            assert!(SlackUserId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
