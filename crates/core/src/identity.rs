//! Who a requester is on the database: the DB user name a request creates, by a deterministic
//! rule from the requester's Slack user and e-mail, so the same person always gets the same name
//! and two people never get one name.
//!
//! 1. A configured mapping (Slack user id → DB user name) wins, for people whose local part
//!    cannot be used (all non-ASCII, a reserved name). Mapped names are validated as any DB
//!    user name, and one name maps to one person only.
//! 2. An address in one of the primary domains (all of them, when none are configured) is named
//!    after its local part ([`DbUsername::from_email`]): `alice@a.com` → `alice`.
//! 3. Any other address gets its local part, its domain's first label and a hash of the whole
//!    address ([`DbUsername::from_foreign_email`]): `alice@b.com` → `alice_b_1c2d3e4f`.
//!
//! A derived name that equals a name mapped to someone else takes the hash suffix too, so a
//! mapping never hands one person another's account. Names ending in `_` and 8 hex digits are
//! only ever made by hashing.

use std::collections::BTreeMap;

use crate::account::{DbUsername, Email};
use crate::error::{Error, Field, Result};
use crate::ids::SlackUserId;

/// How requesters are named on the databases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityRules {
    primary_domains: Vec<String>,
    mapping: BTreeMap<SlackUserId, DbUsername>,
}

impl IdentityRules {
    /// Rules keeping the plain local part for addresses in `primary_domains` (every domain when
    /// empty), hashing the others, with the explicit `mapping` first.
    ///
    /// # Errors
    /// [`Error::Invalid`] with [`Field::Email`] for a domain that is not a host name;
    /// [`Field::DbUsername`] when two people are mapped to one name.
    pub fn new<'a>(
        primary_domains: impl IntoIterator<Item = &'a str>,
        mapping: impl IntoIterator<Item = (SlackUserId, DbUsername)>,
    ) -> Result<Self> {
        let mut domains = Vec::new();
        for domain in primary_domains {
            let domain = domain.trim().trim_start_matches('@').to_ascii_lowercase();
            let valid = !domain.is_empty()
                && domain.split('.').all(|label| {
                    !label.is_empty()
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
            if !valid {
                return Err(Error::invalid(
                    Field::Email,
                    format!("primary domain {domain:?} is not a domain such as example.com"),
                ));
            }
            if !domains.contains(&domain) {
                domains.push(domain);
            }
        }
        let mut by_user = BTreeMap::new();
        for (user, name) in mapping {
            if DbUsername::looks_hashed(name.as_str()) {
                return Err(Error::invalid(
                    Field::DbUsername,
                    format!(
                        "{name} (for {user}) ends in _ and 8 hex digits, which only hashed \
                         names do: choose another"
                    ),
                ));
            }
            if let Some((other, _)) = by_user.iter().find(|(_, n)| **n == name) {
                return Err(Error::invalid(
                    Field::DbUsername,
                    format!("{name} is mapped to both {other} and {user}: one name, one person"),
                ));
            }
            by_user.insert(user, name);
        }
        Ok(Self {
            primary_domains: domains,
            mapping: by_user,
        })
    }

    /// The primary domains (lower-cased), empty when every domain is.
    #[must_use]
    pub fn primary_domains(&self) -> &[String] {
        &self.primary_domains
    }

    /// The name mapped to `user`, if any.
    #[must_use]
    pub fn mapped(&self, user: &SlackUserId) -> Option<&DbUsername> {
        self.mapping.get(user)
    }

    /// The DB user name of `user`, whose directory e-mail is `email`, by the rules above.
    ///
    /// # Errors
    /// [`Error::Invalid`] with [`Field::Email`] when an unmapped address cannot name a DB user
    /// (no ASCII letter or digit in its local part).
    pub fn db_username(&self, user: &SlackUserId, email: &Email) -> Result<DbUsername> {
        if let Some(name) = self.mapped(user) {
            return Ok(name.clone());
        }
        let primary = self.is_primary(email);
        let derived = if primary {
            DbUsername::from_email(email)?
        } else {
            DbUsername::from_foreign_email(email)?
        };
        let taken = self
            .mapping
            .iter()
            .any(|(other, name)| other != user && *name == derived);
        if taken {
            return DbUsername::hashed(email, !primary);
        }
        Ok(derived)
    }

    fn is_primary(&self, email: &Email) -> bool {
        let domain = email.domain().to_ascii_lowercase();
        self.primary_domains.is_empty() || self.primary_domains.contains(&domain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn u(id: &str) -> SlackUserId {
        SlackUserId::parse(id).unwrap()
    }

    fn e(address: &str) -> Email {
        Email::parse(address).unwrap()
    }

    fn rules(mapping: &[(&str, &str)]) -> IdentityRules {
        IdentityRules::new(
            ["a.com"],
            mapping
                .iter()
                .map(|(user, name)| (u(user), DbUsername::parse(name).unwrap())),
        )
        .unwrap()
    }

    #[test]
    fn the_same_local_part_in_another_domain_gets_a_distinct_stable_readable_name() {
        let rules = rules(&[]);
        let first = rules
            .db_username(&u("U0ALICE01"), &e("alice@a.com"))
            .unwrap();
        let second = rules
            .db_username(&u("U0ALICE02"), &e("alice@b.com"))
            .unwrap();

        assert_eq!(first.as_str(), "alice");
        assert_ne!(second, first);
        assert!(second.as_str().starts_with("alice_b_"), "{second}");
        assert_eq!(second.as_str().len(), "alice_b_".len() + 8);
        assert_eq!(
            rules
                .db_username(&u("U0ALICE02"), &e("Alice@B.com"))
                .unwrap(),
            second,
            "stable"
        );
        assert_ne!(
            rules
                .db_username(&u("U0ALICE03"), &e("alice@b.org"))
                .unwrap(),
            second
        );
    }

    #[test]
    fn without_primary_domains_every_domain_keeps_the_local_part() {
        let rules = IdentityRules::default();
        assert_eq!(
            rules
                .db_username(&u("U0ALICE02"), &e("alice@b.com"))
                .unwrap()
                .as_str(),
            "alice"
        );
    }

    #[test]
    fn the_mapping_wins_and_a_derived_name_never_lands_on_a_mapped_one() {
        let rules = rules(&[("U0DAISUKE", "daisuke")]);
        let mapped = rules
            .db_username(&u("U0DAISUKE"), &e("大輔@a.com"))
            .unwrap();
        let namesake = rules
            .db_username(&u("U0OTHER01"), &e("daisuke@a.com"))
            .unwrap();

        assert_eq!(mapped.as_str(), "daisuke");
        assert_ne!(namesake, mapped, "the mapping hands nobody else's name");
        assert!(namesake.as_str().starts_with("daisuke_"), "{namesake}");
        assert!(
            IdentityRules::default()
                .db_username(&u("U0DAISUKE"), &e("大輔@a.com"))
                .is_err()
        );
    }

    #[test]
    fn one_name_for_two_people_and_bad_domains_are_refused() {
        let name = DbUsername::parse("ops").unwrap();
        let err = IdentityRules::new([], [(u("U0AAAAAA1"), name.clone()), (u("U0BBBBBB2"), name)])
            .unwrap_err();
        assert_eq!(err.field(), Some(Field::DbUsername));
        assert!(err.to_string().contains("one name, one person"), "{err}");
        assert!(IdentityRules::new(["exa mple.com"], []).is_err());
        assert_eq!(
            IdentityRules::new(["@A.com", "a.com"], [])
                .unwrap()
                .primary_domains(),
            ["a.com"]
        );
    }

    proptest! {
        #[test]
        fn two_different_addresses_never_get_one_name(
            a in "[a-z0-9._-]{1,40}", b in "[a-z0-9._-]{1,40}",
            da in prop::sample::select(vec!["a.com", "b.com", "b.org", "mail.a.com"]),
            db in prop::sample::select(vec!["a.com", "b.com", "b.org", "mail.a.com"]),
        ) {
            let (x, y) = (format!("{a}@{da}"), format!("{b}@{db}"));
            prop_assume!(x != y);
            let rules = rules(&[("U0MAPPED1", "alice")]);
            let (Ok(ex), Ok(ey)) = (Email::parse(&x), Email::parse(&y)) else { return Ok(()); };
            let (Ok(nx), Ok(ny)) = (
                rules.db_username(&u("U0XXXXXX1"), &ex),
                rules.db_username(&u("U0YYYYYY2"), &ey),
            ) else { return Ok(()); };
            prop_assert_ne!(&nx, &ny, "{} and {}", x, y);
            prop_assert!(DbUsername::parse(nx.as_str()).is_ok());
            prop_assert_ne!(nx.as_str(), "alice");
        }
    }
}
