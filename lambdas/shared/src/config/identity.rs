//! How requesters' DB users are named ([`PRIMARY_DOMAINS`], [`DB_USERS`]; see
//! [`powerpole_core::identity`]), read by the Slack endpoints, where requests are submitted.

use std::collections::BTreeMap;

use powerpole_core::{DbUsername, Field, IdentityRules, SlackUserId};

use super::env::{ConfigError, Vars, optional};

/// The e-mail domains whose people keep their plain local part, comma-separated (all, when
/// unset or empty).
pub const PRIMARY_DOMAINS: &str = "POWERPOLE_PRIMARY_DOMAINS";
/// Slack user id → DB user name for people whose local part cannot be used, as a JSON object.
pub const DB_USERS: &str = "POWERPOLE_DB_USERS";

/// [`PRIMARY_DOMAINS`] and [`DB_USERS`]: every name validated as a DB user name (reserved
/// names such as `root`, `rdsadmin` or `mysql.*` refused), one name per person.
///
/// # Errors
/// [`ConfigError::Invalid`] naming the variable at fault.
pub fn identity(vars: &(impl Vars + ?Sized)) -> Result<IdentityRules, ConfigError> {
    let domains = optional(vars, PRIMARY_DOMAINS).unwrap_or_default();
    let mapping = match optional(vars, DB_USERS) {
        None => Vec::new(),
        Some(json) => {
            let raw: BTreeMap<String, String> = serde_json::from_str(&json).map_err(|e| {
                ConfigError::invalid(DB_USERS, format!("expected a JSON object of names: {e}"))
            })?;
            let mut mapping = Vec::with_capacity(raw.len());
            for (user, name) in raw {
                let id = SlackUserId::parse(&user).map_err(|_| {
                    ConfigError::invalid(DB_USERS, format!("{user:?} is not a Slack user id"))
                })?;
                let name = DbUsername::parse(&name).map_err(|e| {
                    ConfigError::invalid(DB_USERS, format!("{user}: {name:?} {}", e.problem()))
                })?;
                mapping.push((id, name));
            }
            mapping
        }
    };
    IdentityRules::new(
        domains.split(',').map(str::trim).filter(|d| !d.is_empty()),
        mapping,
    )
    .map_err(|e| {
        let var = if e.field() == Some(Field::Email) {
            PRIMARY_DOMAINS
        } else {
            DB_USERS
        };
        ConfigError::invalid(var, e.problem())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::fixtures::*;

    #[test]
    fn unset_means_every_domain_is_primary_and_nobody_is_mapped() {
        assert_eq!(identity(&good()).unwrap(), IdentityRules::default());
    }

    #[test]
    fn domains_and_names_are_read_and_bad_ones_refused_naming_the_variable() {
        let vars = with(&[
            (PRIMARY_DOMAINS, Some("example.com, example.co.jp")),
            (DB_USERS, Some(r#"{"U0DAISUKE": "daisuke"}"#)),
        ]);
        let rules = identity(&vars).unwrap();
        assert_eq!(rules.primary_domains(), ["example.com", "example.co.jp"]);
        let daisuke = SlackUserId::parse("U0DAISUKE").unwrap();
        assert_eq!(rules.mapped(&daisuke).unwrap().as_str(), "daisuke");

        for (var, value, says) in [
            (DB_USERS, r#"{"U0ROOT001": "root"}"#, "reserved"),
            (DB_USERS, r#"{"U0RDS0001": "rdsadmin"}"#, "reserved"),
            (DB_USERS, r#"{"U0SYS0001": "mysql.sys2"}"#, "reserved"),
            (DB_USERS, r#"{"alice": "alice"}"#, "Slack user id"),
            (
                DB_USERS,
                r#"{"U0AAAAAA1": "ops", "U0BBBBBB2": "ops"}"#,
                "one person",
            ),
            (DB_USERS, "[1]", "JSON object"),
            (PRIMARY_DOMAINS, "exa mple.com", "not a domain"),
        ] {
            let error = identity(&with(&[(var, Some(value))])).unwrap_err();
            assert_eq!(only_var(&error), var, "{value}");
            assert!(error.to_string().contains(says), "{value}: {error}");
        }
    }
}
