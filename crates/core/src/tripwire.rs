//! Live tripwires: while access is active the broker reads the requester's audit records every
//! minute and tells the approvers, in the card's thread and with a Revoke now button, of each
//! statement that drops or truncates, deletes or updates every row, changes access control, or
//! touches a sensitive table. Statements are shown with passwords masked, as receipts show them.

use std::collections::BTreeSet;

use time::{Duration, OffsetDateTime};

use crate::audit::{AuditOperation, AuditRecord};
use crate::blast::SensitiveTables;
use crate::error::{Error, Field, Result};
use crate::receipt::sql::{self, Hazard};
use crate::timefmt::{Precision, rfc3339};

/// How far back each look reaches: a look that comes late (a slow run, a restart) still sees
/// what the previous one could not, and what was already told is not told again.
pub const LOOKBACK: Duration = Duration::minutes(15);

/// How often the broker looks.
pub const INTERVAL: Duration = Duration::minutes(1);

/// The most characters of a statement an alert shows.
pub const STATEMENT_CHARS: usize = 500;

/// The first words of a tripwire event's detail.
pub const PREFIX: &str = "Tripwire";

/// Which tripwires a cluster has: any of the [`Hazard`]s, and statements on its sensitive
/// tables. All of them by default; none turns the live look off for the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TripwireRules {
    hazards: BTreeSet<Hazard>,
    sensitive_tables: bool,
}

impl Default for TripwireRules {
    fn default() -> Self {
        Self {
            hazards: Hazard::ALL.into_iter().collect(),
            sensitive_tables: true,
        }
    }
}

impl TripwireRules {
    /// The name of the sensitive-table rule in configuration.
    pub const SENSITIVE_TABLES: &'static str = "sensitive_tables";

    /// The rules named `names`: [`Hazard::as_str`] names and [`Self::SENSITIVE_TABLES`].
    ///
    /// # Errors
    /// [`Error::Invalid`] naming an unknown rule and the known ones.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self> {
        let mut rules = Self {
            hazards: BTreeSet::new(),
            sensitive_tables: false,
        };
        for name in names {
            let name = name.trim();
            if name == Self::SENSITIVE_TABLES {
                rules.sensitive_tables = true;
            } else if let Some(hazard) = Hazard::ALL.into_iter().find(|h| h.as_str() == name) {
                rules.hazards.insert(hazard);
            } else {
                return Err(Error::invalid(
                    Field::Schema,
                    format!(
                        "unknown tripwire {name:?}: expected drop_truncate, every_row, \
                         access_control or {}",
                        Self::SENSITIVE_TABLES
                    ),
                ));
            }
        }
        Ok(rules)
    }

    /// Whether no tripwire is set.
    #[must_use]
    pub fn is_off(&self) -> bool {
        self.hazards.is_empty() && !self.sensitive_tables
    }
}

/// One statement that sets a tripwire off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trip {
    /// When the server logged it.
    pub at: OffsetDateTime,
    /// The session it ran in.
    pub connection_id: u64,
    /// Its id within the session.
    pub query_id: u64,
    /// The statement, passwords masked, at most [`STATEMENT_CHARS`] characters.
    pub statement: String,
    /// Its hazard, if any.
    pub hazard: Option<Hazard>,
    /// The sensitive tables it names (`schema.table`).
    pub sensitive: Vec<String>,
    /// Whether the server refused it.
    pub failed: bool,
}

impl Trip {
    /// What identifies the statement across looks: its session, its id and its time.
    #[must_use]
    pub fn key(&self) -> String {
        format!(
            "{PREFIX} session {} query {} at {}",
            self.connection_id,
            self.query_id,
            rfc3339(self.at, Precision::Seconds)
        )
    }

    /// Why it trips, for people: the hazard and the sensitive tables.
    #[must_use]
    pub fn reasons(&self) -> String {
        let mut reasons: Vec<String> = self
            .hazard
            .map(|h| h.describe().to_owned())
            .into_iter()
            .collect();
        if !self.sensitive.is_empty() {
            reasons.push(format!("sensitive table {}", self.sensitive.join(", ")));
        }
        if self.failed {
            reasons.push("refused by the server".to_owned());
        }
        reasons.join("; ")
    }

    /// The event detail: [`Trip::key`], the reasons, the statement.
    #[must_use]
    pub fn summary(&self) -> String {
        format!("{}: {}: {}", self.key(), self.reasons(), self.statement)
    }
}

/// The statements in `records` that trip one of `rules`, oldest first.
#[must_use]
pub fn trips(
    records: &[AuditRecord],
    rules: &TripwireRules,
    sensitive: &SensitiveTables,
) -> Vec<Trip> {
    let mut found: Vec<Trip> = records
        .iter()
        .filter(|r| r.operation == AuditOperation::Query)
        .filter_map(|record| {
            let hazard = sql::hazard(&record.object).filter(|h| rules.hazards.contains(h));
            let touched: Vec<String> = sql::tables(&record.object)
                .into_iter()
                .map(|name| match name.split_once('.') {
                    Some(_) => name,
                    None => format!("{}.{name}", record.database),
                })
                .filter(|name| {
                    rules.sensitive_tables
                        && name
                            .split_once('.')
                            .is_some_and(|(schema, table)| sensitive.matches(schema, table))
                })
                .collect();
            (hazard.is_some() || !touched.is_empty()).then(|| Trip {
                at: record.at,
                connection_id: record.connection_id,
                query_id: record.query_id,
                statement: crate::receipt::cut(&sql::mask_secrets(&record.object), STATEMENT_CHARS),
                hazard,
                sensitive: touched,
                failed: record.retcode != 0,
            })
        })
        .collect();
    found.sort_by_key(|t| (t.at, t.connection_id, t.query_id));
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn query(n: u64, database: &str, sql: &str, retcode: i32) -> AuditRecord {
        AuditRecord {
            at: datetime!(2026-12-04 10:00 UTC) + Duration::seconds(i64::try_from(n).unwrap()),
            resolution: Duration::SECOND,
            server_host: "db".into(),
            username: "alice".into(),
            host: "10.0.0.1".into(),
            connection_id: 7,
            query_id: n,
            operation: AuditOperation::Query,
            database: database.into(),
            object: sql.into(),
            retcode,
        }
    }

    #[test]
    fn drops_unbounded_writes_dcl_and_sensitive_tables_trip_and_nothing_else() {
        let records = [
            query(1, "shop", "SELECT * FROM orders WHERE id = 1", 0),
            query(2, "shop", "SELECT email FROM users", 0),
            query(3, "shop", "DELETE FROM orders", 0),
            query(4, "shop", "DROP TABLE carts", 1146),
            query(5, "shop", "UPDATE orders SET s = 1 WHERE id = 2", 0),
            query(
                6,
                "shop",
                "ALTER USER 'alice'@'%' IDENTIFIED BY 'hunter2'",
                0,
            ),
            query(7, "other", "select * from hr.pii_people", 0),
            AuditRecord {
                operation: AuditOperation::Connect,
                object: "DROP TABLE x".into(),
                ..query(8, "shop", "", 0)
            },
        ];
        let sensitive = SensitiveTables::parse(["users", "pii_*"]).unwrap();

        let found = trips(&records, &TripwireRules::default(), &sensitive);

        let seen: Vec<(u64, String)> = found.iter().map(|t| (t.query_id, t.reasons())).collect();
        assert_eq!(
            seen,
            [
                (2, "sensitive table shop.users".to_owned()),
                (3, "DELETE/UPDATE without WHERE".to_owned()),
                (4, "DROP/TRUNCATE; refused by the server".to_owned()),
                (6, "access control (DCL)".to_owned()),
                (7, "sensitive table hr.pii_people".to_owned()),
            ]
        );
        let dcl = &found[3];
        assert!(!dcl.statement.contains("hunter2"), "{}", dcl.statement);
        assert!(!dcl.summary().contains("hunter2"));
        assert_eq!(
            dcl.key(),
            "Tripwire session 7 query 6 at 2026-12-04T10:00:06Z"
        );
        assert!(dcl.summary().starts_with(&dcl.key()));
    }

    #[test]
    fn only_the_configured_tripwires_fire() {
        let records = [
            query(1, "shop", "DELETE FROM orders", 0),
            query(2, "shop", "DROP TABLE carts", 0),
            query(3, "shop", "SELECT * FROM users", 0),
        ];
        let sensitive = SensitiveTables::parse(["users"]).unwrap();
        let only_drops = TripwireRules::parse(["drop_truncate"]).unwrap();
        let ids: Vec<u64> = trips(&records, &only_drops, &sensitive)
            .iter()
            .map(|t| t.query_id)
            .collect();
        assert_eq!(ids, [2]);
        let only_tables = TripwireRules::parse(["sensitive_tables"]).unwrap();
        assert_eq!(trips(&records, &only_tables, &sensitive)[0].query_id, 3);
        let off = TripwireRules::parse([]).unwrap();
        assert!(off.is_off() && trips(&records, &off, &sensitive).is_empty());
        assert!(!TripwireRules::default().is_off());
        let unknown = TripwireRules::parse(["drop"]).unwrap_err().to_string();
        assert!(unknown.contains("unknown tripwire \"drop\""), "{unknown}");
    }

    #[test]
    fn a_long_statement_is_cut() {
        let long = format!("DELETE FROM t /* {} */", "x".repeat(2 * STATEMENT_CHARS));
        let found = trips(
            &[query(1, "shop", &long, 0)],
            &TripwireRules::default(),
            &SensitiveTables::default(),
        );
        assert_eq!(found[0].statement.chars().count(), STATEMENT_CHARS + 1);
        assert!(found[0].statement.ends_with('…'));
    }
}
