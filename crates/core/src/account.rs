//! The one-time database account of a request: the requester's e-mail, the DB user name derived
//! from it, and the generated password.

use std::fmt;

use rand::seq::SliceRandom;
use rand::{CryptoRng, RngExt};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::error::{Error, Field, Result};
use crate::ids::string_newtype;

/// An e-mail address as Slack's directory reports it, checked before anything is derived from it.
///
/// Quoted local parts, whitespace, control characters and the RFC 5322 "specials"
/// (`"(),:;<>[\]`) are refused: a directory never hands those out for a real person, so they
/// are treated as hostile.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// The longest address SMTP allows.
    pub const MAX_LEN: usize = 254;

    /// Validates an address.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an empty, over-long, quoted or otherwise hostile address.
    pub fn parse(s: &str) -> Result<Self> {
        let email = s.trim();
        let fail = |problem: &str| Err(Error::invalid(Field::Email, problem));
        if email.is_empty() {
            return fail("must not be empty");
        }
        if email.len() > Self::MAX_LEN {
            return fail("must be at most 254 characters");
        }
        let Some((local, domain)) = email.rsplit_once('@') else {
            return fail("must contain @");
        };
        if local.is_empty() || domain.is_empty() {
            return fail("needs text before and after @");
        }
        if !local.chars().all(is_local_part_char) {
            return fail("the part before @ contains characters a mailbox name cannot have");
        }
        if !domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            return fail("the domain may contain only letters, digits, dots and hyphens");
        }
        Ok(Self(email.to_owned()))
    }

    /// The part before the `@`.
    #[must_use]
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or(self.0.as_str(), |(l, _)| l)
    }

    /// The part after the `@`, as given.
    #[must_use]
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }
}
string_newtype!(Email);

/// RFC 5322 `atext` plus the dot, and (RFC 6531) non-ASCII letters and digits.
fn is_local_part_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "!#$%&'*+-/=?^_`{|}~.".contains(c)
        || (!c.is_ascii() && c.is_alphanumeric())
}

/// A database user name the broker creates: 1–32 characters (MySQL's limit) from `[a-z0-9._-]`,
/// with at least one letter or digit, never a built-in account name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DbUsername(String);

impl DbUsername {
    /// MySQL's limit on user names.
    pub const MAX_LEN: usize = 32;
    /// Length of the hex hash suffix added to names that had to be altered.
    const SUFFIX_HEX: usize = 8;
    /// Built-in or conventional administrative accounts of MySQL, MariaDB and Aurora.
    const RESERVED: [&'static str; 12] = [
        "root",
        "admin",
        "mysql.sys",
        "mysql.session",
        "mysql.infoschema",
        "mariadb.sys",
        "rdsadmin",
        "rdsrepladmin",
        "rdsproxyadmin",
        "rds_superuser_role",
        "public",
        "powerpole_admin",
    ];

    /// Derives the user name from the requester's e-mail: the local part, lower-cased, keeping
    /// only `[a-z0-9._-]` (`keisuke.owato@example.com` → `keisuke.owato`).
    ///
    /// A name that had to be altered (characters dropped, shortened to 32 characters, or equal to
    /// a reserved account such as `root`) gets `_` and 8 hex digits of SHA-256 of the lower-cased
    /// local part, so two mailboxes never map to the same name by accident.
    ///
    /// # Errors
    /// [`Error::Invalid`] when no letter or digit survives (e.g. an all-Japanese local part).
    ///
    /// A local part that already ends in `_` and 8 hex digits is altered too: such names are
    /// only ever made by hashing (see [`DbUsername::looks_hashed`]).
    pub fn from_email(email: &Email) -> Result<Self> {
        let local = email.local_part();
        let kept = Self::kept(local)?;
        let altered = kept != local.to_ascii_lowercase()
            || kept.len() > Self::MAX_LEN
            || Self::is_reserved(&kept)
            || Self::looks_hashed(&kept);
        if !altered {
            return Ok(Self(kept));
        }
        Ok(Self::with_suffix(&kept, &local.to_lowercase()))
    }

    /// The name of someone whose address is outside the primary domains (see
    /// [`crate::identity`]): the local part, `_`, the domain's first label, `_` and 8 hex digits
    /// of SHA-256 of the whole lower-cased address (`alice@b.com` → `alice_b_…`), shortened to
    /// 32 characters. It never equals a primary-domain name, which ends in a hash of the local
    /// part alone or in none.
    ///
    /// # Errors
    /// As [`DbUsername::from_email`].
    pub fn from_foreign_email(email: &Email) -> Result<Self> {
        let kept = Self::kept(email.local_part())?;
        let label: String = email
            .domain()
            .split('.')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let base = if label.is_empty() {
            kept
        } else {
            format!("{kept}_{label}")
        };
        Ok(Self::with_suffix(&base, &email.as_str().to_lowercase()))
    }

    /// The hashed form of `email`'s name even when the plain one would do (for a name that
    /// is mapped to someone else): as [`DbUsername::from_foreign_email`] for a `foreign` address,
    /// else the local part with its hash.
    ///
    /// # Errors
    /// As [`DbUsername::from_email`].
    pub fn hashed(email: &Email, foreign: bool) -> Result<Self> {
        if foreign {
            return Self::from_foreign_email(email);
        }
        let local = email.local_part();
        Ok(Self::with_suffix(
            &Self::kept(local)?,
            &local.to_lowercase(),
        ))
    }

    /// Whether `name` ends in `_` and 8 lower-case hex digits, the mark of a hashed name.
    #[must_use]
    pub fn looks_hashed(name: &str) -> bool {
        name.len() > Self::SUFFIX_HEX
            && name.is_char_boundary(name.len() - Self::SUFFIX_HEX - 1)
            && name[..name.len() - Self::SUFFIX_HEX].ends_with('_')
            && name[name.len() - Self::SUFFIX_HEX..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }

    /// The ASCII letters, digits and `._-` of `local`, lower-cased.
    fn kept(local: &str) -> Result<String> {
        let kept: String = local
            .chars()
            .filter(char::is_ascii)
            .map(|c| c.to_ascii_lowercase())
            .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(*c))
            .collect();
        if !kept.chars().any(|c| c.is_ascii_alphanumeric()) {
            return Err(Error::invalid(
                Field::Email,
                "the part before @ has no ASCII letter or digit to build a database user name from",
            ));
        }
        Ok(kept)
    }

    /// `base` (shortened to leave room) with `_` and 8 hex digits of SHA-256 of `hashed`.
    fn with_suffix(base: &str, hashed: &str) -> Self {
        let digest = Sha256::digest(hashed.as_bytes());
        let suffix = &hex::encode(digest)[..Self::SUFFIX_HEX];
        let room = Self::MAX_LEN - Self::SUFFIX_HEX - 1;
        let base: String = base.chars().take(room).collect();
        Self(format!("{base}_{suffix}"))
    }

    /// Validates a stored user name.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the broken rule.
    pub fn parse(s: &str) -> Result<Self> {
        let problem = if s.is_empty() || s.len() > Self::MAX_LEN {
            Some("must be 1 to 32 characters")
        } else if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
        {
            Some("may contain only a-z, 0-9, '.', '_' and '-'")
        } else if !s.chars().any(|c| c.is_ascii_alphanumeric()) {
            Some("needs at least one letter or digit")
        } else if Self::is_reserved(s) {
            Some("is a reserved account name")
        } else {
            None
        };
        match problem {
            Some(problem) => Err(Error::invalid(Field::DbUsername, problem)),
            None => Ok(Self(s.to_owned())),
        }
    }

    /// Whether `name` is a built-in or administrative account (see the list above), or in the
    /// `mysql.` / `mariadb.` namespace the servers keep for themselves.
    #[must_use]
    pub fn is_reserved(name: &str) -> bool {
        Self::RESERVED.contains(&name) || name.starts_with("mysql.") || name.starts_with("mariadb.")
    }
}
string_newtype!(DbUsername);

/// A one-time database password. Its value is shown only through [`DbPassword::expose`]: `Debug`
/// and `Display` print `[REDACTED]`, and the memory is zeroed on drop.
///
/// The alphabet is letters, digits and [`DbPassword::SYMBOLS`]: nothing that needs quoting in SQL,
/// a shell, a URL or a MySQL option file (no quote, backslash, backtick, `%`, `#`, `;`, `@`, `:`,
/// `$`, whitespace), and the first character is a letter so no tool mistakes it for an option.
pub struct DbPassword(SecretString);

impl DbPassword {
    /// Length of generated passwords.
    pub const LEN: usize = 40;
    /// Shortest password [`DbPassword::parse`] accepts.
    pub const MIN_LEN: usize = 32;
    /// Longest password [`DbPassword::parse`] accepts.
    pub const MAX_LEN: usize = 128;
    /// The symbols a password may contain besides letters and digits.
    pub const SYMBOLS: &'static str = "-_.+=,";
    const UPPER: &'static [u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const LOWER: &'static [u8] = b"abcdefghijklmnopqrstuvwxyz";
    const DIGITS: &'static [u8] = b"0123456789";

    /// A new random password from the thread-local CSPRNG (ChaCha, seeded by the OS).
    #[must_use]
    pub fn generate() -> Self {
        Self::generate_with(&mut rand::rng())
    }

    /// A new random password of [`DbPassword::LEN`] characters from `rng`, with at least one
    /// upper-case letter, lower-case letter, digit and symbol.
    pub fn generate_with<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let letters: Vec<u8> = [Self::UPPER, Self::LOWER].concat();
        let all: Vec<u8> = [
            Self::UPPER,
            Self::LOWER,
            Self::DIGITS,
            Self::SYMBOLS.as_bytes(),
        ]
        .concat();
        let pick = |set: &[u8], rng: &mut R| char::from(set[rng.random_range(0..set.len())]);
        let mut rest: Vec<char> = vec![
            pick(Self::UPPER, rng),
            pick(Self::LOWER, rng),
            pick(Self::DIGITS, rng),
            pick(Self::SYMBOLS.as_bytes(), rng),
        ];
        while rest.len() < Self::LEN - 1 {
            rest.push(pick(&all, rng));
        }
        rest.shuffle(rng);
        let mut password = String::with_capacity(Self::LEN);
        password.push(pick(&letters, rng));
        password.extend(rest);
        Self(SecretString::from(password))
    }

    /// Accepts a password read back from the secret store, checking it against the same
    /// alphabet and length rules. The error never contains the value.
    ///
    /// # Errors
    /// [`Error::Invalid`] with [`Field::DbPassword`].
    pub fn parse(value: String) -> Result<Self> {
        let secret = SecretString::from(value);
        let s = secret.expose_secret();
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&s.len()) {
            return Err(Error::invalid(
                Field::DbPassword,
                "must be 32 to 128 characters",
            ));
        }
        if !s.chars().all(Self::is_allowed) {
            return Err(Error::invalid(
                Field::DbPassword,
                "contains a character outside letters, digits and -_.+=,",
            ));
        }
        Ok(Self(secret))
    }

    /// The password itself, for the two places it may go: the DB server and the secret store.
    #[must_use]
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    fn is_allowed(c: char) -> bool {
        c.is_ascii_alphanumeric() || Self::SYMBOLS.contains(c)
    }
}

impl fmt::Debug for DbPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DbPassword([REDACTED])")
    }
}

impl fmt::Display for DbPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn username(email: &str) -> Result<DbUsername> {
        DbUsername::from_email(&Email::parse(email)?)
    }

    fn suffix_of(local: &str) -> String {
        hex::encode(Sha256::digest(local.to_lowercase().as_bytes()))[..8].to_owned()
    }

    #[test]
    fn plain_local_part_becomes_the_user_name() {
        assert_eq!(
            username("keisuke.owato@example.com").unwrap().as_str(),
            "keisuke.owato"
        );
        assert_eq!(
            username("Keisuke.Owato@Example.com").unwrap().as_str(),
            "keisuke.owato"
        );
        assert_eq!(username("a_b-c.9@x").unwrap().as_str(), "a_b-c.9");
    }

    #[test]
    fn altered_names_get_a_hash_suffix() {
        let name = username("john+db@example.com").unwrap();
        assert_eq!(name.as_str(), format!("johndb_{}", suffix_of("john+db")));
        assert_ne!(name, username("johndb@example.com").unwrap());
        let irish = username("o'brien@example.com").unwrap();
        assert!(irish.as_str().starts_with("obrien_"), "{irish}");
    }

    #[test]
    fn reserved_account_names_are_never_produced() {
        for local in [
            "root",
            "ROOT",
            "admin",
            "rdsadmin",
            "mysql.sys",
            "mariadb.sys",
        ] {
            let name = username(&format!("{local}@example.com")).unwrap();
            assert!(
                name.as_str()
                    .starts_with(&format!("{}_", local.to_lowercase()))
            );
            assert_eq!(name.as_str().len(), local.len() + 9);
        }
    }

    #[test]
    fn long_local_parts_are_shortened_to_32_characters() {
        let local = "a".repeat(200);
        let name = username(&format!("{local}@x")).unwrap();
        assert_eq!(name.as_str().len(), 32);
        assert_eq!(
            name.as_str(),
            format!("{}_{}", "a".repeat(23), suffix_of(&local))
        );
        let other = username(&format!("{}b@x", "a".repeat(199))).unwrap();
        assert_ne!(name, other, "same 23-char prefix must still differ");
        let exactly_32 = "b".repeat(32);
        assert_eq!(
            username(&format!("{exactly_32}@x")).unwrap().as_str(),
            exactly_32
        );
    }

    #[test]
    fn unicode_is_dropped_with_a_suffix_or_refused() {
        let name = username("josé@example.com").unwrap();
        assert_eq!(name.as_str(), format!("jos_{}", suffix_of("josé")));
        let kelvin = username("\u{212A}ate@example.com").unwrap();
        assert_ne!(
            kelvin.as_str(),
            "kate",
            "lookalike must not collide with kate"
        );
        let err = username("山田@example.jp").unwrap_err();
        assert_eq!(err.field(), Some(Field::Email));
    }

    #[test]
    fn names_that_look_hashed_or_sit_in_the_servers_namespace_are_hashed_again() {
        let hashed = username("bob_1234abcd@example.com").unwrap();
        assert_eq!(
            hashed.as_str(),
            format!("bob_1234abcd_{}", suffix_of("bob_1234abcd"))
        );
        assert!(DbUsername::looks_hashed(hashed.as_str()));
        assert!(!DbUsername::looks_hashed("bob_1234abcx"));
        let namespaced = username("mysql.backup@example.com").unwrap();
        assert!(
            namespaced.as_str().starts_with("mysql.backup_"),
            "{namespaced}"
        );
        assert!(DbUsername::parse("mysql.backup").is_err());
        assert!(DbUsername::parse("mariadb.anything").is_err());
    }

    #[test]
    fn a_foreign_address_is_named_with_its_domain_and_a_hash_of_the_whole_address() {
        let email = Email::parse("Alice@B.example.com").unwrap();
        let name = DbUsername::from_foreign_email(&email).unwrap();
        let expected = hex::encode(Sha256::digest(b"alice@b.example.com"))[..8].to_owned();
        assert_eq!(name.as_str(), format!("alice_b_{expected}"));
        let long = Email::parse(&format!("{}@corp.com", "x".repeat(40))).unwrap();
        assert_eq!(
            DbUsername::from_foreign_email(&long)
                .unwrap()
                .as_str()
                .len(),
            32
        );
    }

    #[test]
    fn hostile_and_empty_emails_are_clear_errors() {
        for bad in [
            "\"'; DROP USER root; --\"@x",
            "'; DROP USER root; --@x",
            "a b@x",
            "a\"b@x",
            "a\\b@x",
            "a;b@x",
            "a\nb@x",
            "a\u{0}b@x",
            "",
            "   ",
            "@example.com",
            "nobody@",
            "no-at-sign",
            "x@exa mple.com",
            "x@exam'ple.com",
        ] {
            let err = username(bad).unwrap_err();
            assert_eq!(err.field(), Some(Field::Email), "{bad:?}");
        }
        let only_symbols = username("...--__@x").unwrap_err();
        assert_eq!(only_symbols.field(), Some(Field::Email));
        assert!(Email::parse(&format!("{}@x.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn parse_checks_stored_user_names() {
        assert!(DbUsername::parse("keisuke.owato").is_ok());
        for bad in [
            "",
            "Root",
            "root",
            "a b",
            "a'b",
            "a`b",
            "...",
            &"a".repeat(33),
        ] {
            assert!(DbUsername::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn password_never_shows_in_debug_or_display() {
        let password = DbPassword::generate();
        let secret = password.expose().to_owned();
        assert_eq!(format!("{password}"), "[REDACTED]");
        assert_eq!(format!("{password:?}"), "DbPassword([REDACTED])");
        assert!(!format!("{:?}", Some(&password)).contains(&secret));
    }

    #[test]
    fn parse_refuses_bad_passwords_without_echoing_them() {
        let quoted = format!("{}'", "A".repeat(40));
        let err = DbPassword::parse(quoted.clone()).unwrap_err();
        assert!(!err.to_string().contains(&quoted));
        assert_eq!(err.field(), Some(Field::DbPassword));
        assert!(DbPassword::parse("Short1-".to_owned()).is_err());
        let generated = DbPassword::generate();
        let again = DbPassword::parse(generated.expose().to_owned()).unwrap();
        assert_eq!(again.expose(), generated.expose());
    }

    #[test]
    fn two_passwords_differ() {
        assert_ne!(
            DbPassword::generate().expose(),
            DbPassword::generate().expose()
        );
    }

    proptest! {
        #[test]
        fn any_email_gives_a_valid_name_or_an_email_error(local in "\\PC{0,80}", domain in "[a-z0-9.-]{1,20}") {
            let Ok(email) = Email::parse(&format!("{local}@{domain}")) else { return Ok(()); };
            match DbUsername::from_email(&email) {
                Ok(name) => {
                    prop_assert!(DbUsername::parse(name.as_str()).is_ok(), "{name} fails its own rules");
                    prop_assert_eq!(DbUsername::from_email(&email).unwrap(), name);
                }
                Err(err) => prop_assert_eq!(err.field(), Some(Field::Email)),
            }
        }

        #[test]
        fn distinct_local_parts_give_distinct_names(a in "[a-zA-Z0-9.+_'-]{1,60}", b in "[a-zA-Z0-9.+_'-]{1,60}") {
            prop_assume!(a.to_lowercase() != b.to_lowercase());
            let (Ok(x), Ok(y)) = (username(&format!("{a}@x")), username(&format!("{b}@x"))) else {
                return Ok(());
            };
            prop_assert_ne!(x, y);
        }

        #[test]
        fn generated_passwords_follow_the_rules(seed in any::<[u8; 32]>()) {
            use rand::SeedableRng;
            let mut rng = rand::rngs::StdRng::from_seed(seed);
            let password = DbPassword::generate_with(&mut rng);
            let p = password.expose();
            prop_assert_eq!(p.len(), DbPassword::LEN);
            prop_assert!(p.len() >= 32);
            prop_assert!(p.starts_with(|c: char| c.is_ascii_alphabetic()));
            prop_assert!(p.chars().any(|c| c.is_ascii_uppercase()));
            prop_assert!(p.chars().any(|c| c.is_ascii_lowercase()));
            prop_assert!(p.chars().any(|c| c.is_ascii_digit()));
            prop_assert!(p.chars().any(|c| DbPassword::SYMBOLS.contains(c)));
            for forbidden in ['\'', '"', '\\', '`', '%', ' ', '\t', '\n', '#', ';', '@', ':', '$'] {
                prop_assert!(!p.contains(forbidden));
            }
            prop_assert!(DbPassword::parse(p.to_owned()).is_ok());
        }
    }
}
