//! What an approval gives away, measured before anyone clicks: the exact `GRANT` statements the
//! request's account will get, what they reach on the cluster (tables, approximate rows and
//! bytes per schema, from the server's `information_schema`) and which of those tables match
//! the cluster's sensitive-table patterns. The approval card shows it; the request keeps it as
//! an event, so the record says what the approver saw.

use std::fmt::Write as _;

use crate::error::{Error, Field, Result};
use crate::grants::{Permission, SchemaName};
use crate::lifecycle::AccessRequest;

/// One table a plan reaches, as the server describes it. Row counts and sizes are the server's
/// estimates (InnoDB's `TABLE_ROWS` is approximate), absent where it has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableStats {
    /// The table's schema.
    pub schema: SchemaName,
    /// The table's name.
    pub table: String,
    /// Approximate number of rows.
    pub rows: Option<u64>,
    /// Data and index size in bytes.
    pub bytes: Option<u64>,
}

/// What the DB adapter found for a request's plan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Survey {
    /// The statements that grant the plan, exactly as provisioning runs them.
    pub grants: Vec<String>,
    /// The schemas the grants cover.
    pub schemas: Vec<SchemaName>,
    /// The base tables in those schemas.
    pub tables: Vec<TableStats>,
}

/// Table-name patterns approvers want called out: `users` or `pii_*` match a table of that name
/// in any schema, `shop.users` or `*.users` match `schema.table`; `*` stands for any run of
/// characters, and matching ignores ASCII case.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SensitiveTables(Vec<String>);

impl SensitiveTables {
    /// The most patterns a cluster may list.
    pub const MAX_PATTERNS: usize = 64;

    /// Validates patterns.
    ///
    /// # Errors
    /// [`Error::Invalid`] with [`Field::Schema`] for more than [`Self::MAX_PATTERNS`] patterns,
    /// an empty one, or one with a character other than letters, digits, `_`, `$`, `-`, `.` and
    /// `*`, or with more than one `.`.
    pub fn parse<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Result<Self> {
        let patterns: Vec<String> = patterns
            .into_iter()
            .map(|p| p.trim().to_ascii_lowercase())
            .collect();
        if patterns.len() > Self::MAX_PATTERNS {
            return Err(Error::invalid(
                Field::Schema,
                format!("at most {} sensitive-table patterns", Self::MAX_PATTERNS),
            ));
        }
        for pattern in &patterns {
            let valid = !pattern.is_empty()
                && pattern.len() <= 129
                && pattern.matches('.').count() <= 1
                && pattern
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_$-.*".contains(c));
            if !valid {
                return Err(Error::invalid(
                    Field::Schema,
                    format!(
                        "sensitive-table pattern {pattern:?} must be table or schema.table, \
                         from letters, digits, '_', '$', '-' and '*'"
                    ),
                ));
            }
        }
        Ok(Self(patterns))
    }

    /// The patterns, lower-cased.
    #[must_use]
    pub fn patterns(&self) -> &[String] {
        &self.0
    }

    /// Whether `schema.table` matches a pattern.
    #[must_use]
    pub fn matches(&self, schema: &str, table: &str) -> bool {
        let (schema, table) = (schema.to_ascii_lowercase(), table.to_ascii_lowercase());
        self.0.iter().any(|pattern| match pattern.split_once('.') {
            Some((s, t)) => glob(s, &schema) && glob(t, &table),
            None => glob(pattern, &table),
        })
    }
}

/// `*`-only glob match.
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// What one schema holds that the grants reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaReach {
    /// The schema.
    pub schema: SchemaName,
    /// Its base tables.
    pub tables: usize,
    /// Their approximate rows.
    pub rows: u64,
    /// Their data and index bytes.
    pub bytes: u64,
}

/// The card's blast radius: the grants, what they reach, what is sensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlastRadius {
    /// The grant statements.
    pub grants: Vec<String>,
    /// Per schema, in the survey's order.
    pub schemas: Vec<SchemaReach>,
    /// `schema.table` of every table matching a sensitive pattern, in order.
    pub sensitive: Vec<String>,
}

impl BlastRadius {
    /// The heading line of [`BlastRadius::summary`].
    pub const HEADING: &'static str = "Blast radius";
    /// Most sensitive tables named one by one in the summary.
    pub const MAX_SENSITIVE_NAMED: usize = 20;

    /// Sums `survey` up per schema and picks out the tables `sensitive` matches.
    #[must_use]
    pub fn of(survey: &Survey, sensitive: &SensitiveTables) -> Self {
        let schemas = survey
            .schemas
            .iter()
            .map(|schema| {
                let tables: Vec<&TableStats> = survey
                    .tables
                    .iter()
                    .filter(|t| t.schema == *schema)
                    .collect();
                SchemaReach {
                    schema: schema.clone(),
                    tables: tables.len(),
                    rows: tables.iter().filter_map(|t| t.rows).sum(),
                    bytes: tables.iter().filter_map(|t| t.bytes).sum(),
                }
            })
            .collect();
        let mut flagged: Vec<String> = survey
            .tables
            .iter()
            .filter(|t| sensitive.matches(t.schema.as_str(), &t.table))
            .map(|t| format!("{}.{}", t.schema, t.table))
            .collect();
        flagged.sort();
        Self {
            grants: survey.grants.clone(),
            schemas,
            sensitive: flagged,
        }
    }

    /// Plain-text lines for the request's record and the card: the heading, each grant, one
    /// line per schema, and the sensitive tables (at most [`Self::MAX_SENSITIVE_NAMED`] named).
    #[must_use]
    pub fn summary(&self) -> String {
        let mut out = format!("{}:", Self::HEADING);
        for grant in &self.grants {
            let _ = write!(out, "\n{grant}");
        }
        if self.schemas.is_empty() {
            out.push_str("\nno schema: the grants reach nothing yet");
        }
        for s in &self.schemas {
            let _ = write!(
                out,
                "\n{}: {} table{}, ~{} rows, {}",
                s.schema,
                s.tables,
                if s.tables == 1 { "" } else { "s" },
                approx(s.rows),
                size(s.bytes)
            );
        }
        if !self.sensitive.is_empty() {
            let named = self.sensitive.len().min(Self::MAX_SENSITIVE_NAMED);
            let _ = write!(out, "\nsensitive: {}", self.sensitive[..named].join(", "));
            if self.sensitive.len() > named {
                let _ = write!(out, " and {} more", self.sensitive.len() - named);
            }
        }
        out
    }
}

/// How many of the requester's past grants an approval card's history looks back on.
pub const HISTORY_LENGTH: usize = 5;

/// The requester's history with this level on this cluster, as a line for the blast radius:
/// of their last [`HISTORY_LENGTH`] finished grants of `request`'s level on its cluster (from
/// `past`, newest first, as [`crate::ports::RequestStore::by_requester`] gives them), how many
/// used it, and what would have done for the others. `None` without such a grant.
#[must_use]
pub fn usage_history(request: &AccessRequest, past: &[AccessRequest]) -> Option<String> {
    let (cluster, level) = (&request.spec().cluster, request.spec().permission);
    let needed: Vec<Option<Permission>> = past
        .iter()
        .filter(|p| p.id() != request.id())
        .filter(|p| p.spec().cluster == *cluster && p.spec().permission == level)
        .filter_map(AccessRequest::level_needed)
        .take(HISTORY_LENGTH)
        .collect();
    if needed.is_empty() {
        return None;
    }
    let used = needed.iter().filter(|n| **n >= Some(level)).count();
    let mut line = format!(
        "history: {used} of the last {} {level} grant{} on {cluster} used {level}",
        needed.len(),
        if needed.len() == 1 { "" } else { "s" }
    );
    let mut lower: Vec<String> = Permission::ALL
        .iter()
        .filter(|p| **p < level)
        .filter_map(|p| {
            let n = needed.iter().filter(|n| **n == Some(*p)).count();
            (n > 0).then(|| format!("{p} would have done {n}"))
        })
        .collect();
    let idle = needed.iter().filter(|n| n.is_none()).count();
    if idle > 0 {
        lower.push(format!("nothing was run {idle}"));
    }
    if !lower.is_empty() {
        let _ = write!(line, " ({})", lower.join(", "));
    }
    Some(line)
}

/// `1234567` → `1.2M`.
fn approx(n: u64) -> String {
    #[allow(
        clippy::cast_precision_loss,
        reason = "an approximate figure for people"
    )]
    let f = n as f64;
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", f / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1}M", f / 1e6),
        _ => format!("{:.1}G", f / 1e9),
    }
}

/// `356515840` → `340 MB`.
fn size(bytes: u64) -> String {
    #[allow(
        clippy::cast_precision_loss,
        reason = "an approximate figure for people"
    )]
    let f = bytes as f64;
    const MIB: f64 = 1024.0 * 1024.0;
    if f < MIB {
        format!("{} KB", bytes.div_ceil(1024))
    } else if f < 1024.0 * MIB {
        format!("{:.0} MB", f / MIB)
    } else {
        format!("{:.1} GB", f / (1024.0 * MIB))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(name: &str) -> SchemaName {
        SchemaName::parse(name).unwrap()
    }

    fn table(s: &str, t: &str, rows: u64, bytes: u64) -> TableStats {
        TableStats {
            schema: schema(s),
            table: t.to_owned(),
            rows: Some(rows),
            bytes: Some(bytes),
        }
    }

    #[test]
    fn patterns_match_tables_in_any_schema_or_schema_qualified() {
        let patterns = SensitiveTables::parse(["users", "pii_*", "billing.*", "*.card*s"]).unwrap();
        assert!(patterns.matches("shop", "users"));
        assert!(patterns.matches("shop", "USERS"));
        assert!(!patterns.matches("shop", "users_archive"));
        assert!(patterns.matches("hr", "pii_people"));
        assert!(!patterns.matches("hr", "people_pii"));
        assert!(patterns.matches("billing", "anything"));
        assert!(!patterns.matches("billing2", "anything"));
        assert!(patterns.matches("shop", "cards"));
        assert!(patterns.matches("shop", "card_tokens"));
        assert!(!patterns.matches("shop", "cardholder"));
        assert!(!SensitiveTables::default().matches("shop", "users"));
    }

    #[test]
    fn hostile_or_malformed_patterns_are_refused() {
        for bad in ["", "a.b.c", "users;drop", "us ers", "`users`", "%"] {
            assert!(SensitiveTables::parse([bad]).is_err(), "{bad:?}");
        }
        let many: Vec<String> = (0..=SensitiveTables::MAX_PATTERNS)
            .map(|i| format!("t{i}"))
            .collect();
        assert!(SensitiveTables::parse(many.iter().map(String::as_str)).is_err());
    }

    #[test]
    fn the_summary_has_each_grant_each_schema_and_the_sensitive_tables() {
        let survey = Survey {
            grants: vec![
                "GRANT SELECT, SHOW VIEW ON `shop`.* TO 'alice'@'%'".to_owned(),
                "GRANT SELECT, SHOW VIEW ON `hr`.* TO 'alice'@'%'".to_owned(),
            ],
            schemas: vec![schema("hr"), schema("shop"), schema("empty")],
            tables: vec![
                table("shop", "orders", 1_234_567, 300 * 1024 * 1024),
                table("shop", "users", 5_000, 40 * 1024 * 1024),
                table("hr", "pii_people", 12, 16 * 1024),
            ],
        };
        let radius = BlastRadius::of(
            &survey,
            &SensitiveTables::parse(["users", "pii_*"]).unwrap(),
        );
        assert_eq!(radius.sensitive, ["hr.pii_people", "shop.users"]);
        assert_eq!(
            radius.summary(),
            "Blast radius:\n\
             GRANT SELECT, SHOW VIEW ON `shop`.* TO 'alice'@'%'\n\
             GRANT SELECT, SHOW VIEW ON `hr`.* TO 'alice'@'%'\n\
             hr: 1 table, ~12 rows, 16 KB\n\
             shop: 2 tables, ~1.2M rows, 340 MB\n\
             empty: 0 tables, ~0 rows, 0 KB\n\
             sensitive: hr.pii_people, shop.users"
        );
    }

    /// A finished request of `requester` for `level` whose receipt recorded `needed`.
    fn past(level: &str, needed: Option<&str>) -> AccessRequest {
        use crate::usecases::fakes::{cluster, form, now, user};
        let spec = crate::RequestForm {
            permission: level.into(),
            ..form()
        }
        .validate(&[cluster()], now())
        .unwrap();
        let email = crate::Email::parse("a@example.com").unwrap();
        let mut request = AccessRequest::submit(
            crate::RequestId::generate(now(), &mut rand::rng()),
            user("U1"),
            crate::DbUsername::from_email(&email).unwrap(),
            spec,
            now(),
        );
        if let Some(needed) = needed {
            request.record_step(
                crate::Actor::System(crate::Component::Workflow),
                now(),
                format!("{}{needed}", crate::receipt::LEVEL_NEEDED),
            );
        }
        request
    }

    #[test]
    fn the_history_counts_the_last_grants_of_the_level_on_the_cluster_that_used_it() {
        let next = past("DDL", None);
        let history = [
            past("DDL", Some("DML")),
            past("DDL", Some("nothing")),
            past("READ", Some("READ")),
            past("DDL", None),
            past("DDL", Some("DDL")),
            past("DDL", Some("DML")),
            past("DDL", Some("READ")),
            past("DDL", Some("DDL")),
            past("DDL", Some("DDL")),
        ];

        assert_eq!(
            usage_history(&next, &history).as_deref(),
            Some(
                "history: 1 of the last 5 DDL grants on orders-prod used DDL \
                 (READ would have done 1, DML would have done 2, nothing was run 1)"
            )
        );
        assert_eq!(usage_history(&next, &history[2..3]), None, "another level");
        assert_eq!(
            usage_history(&past("READ", None), &history[2..3]).as_deref(),
            Some("history: 1 of the last 1 READ grant on orders-prod used READ")
        );
        assert_eq!(usage_history(&next, &[]), None);
    }

    #[test]
    fn a_long_list_of_sensitive_tables_is_cut_with_a_count() {
        let tables: Vec<TableStats> = (0..25)
            .map(|i| table("shop", &format!("pii_{i:02}"), 1, 1))
            .collect();
        let survey = Survey {
            grants: Vec::new(),
            schemas: vec![schema("shop")],
            tables,
        };
        let summary =
            BlastRadius::of(&survey, &SensitiveTables::parse(["pii_*"]).unwrap()).summary();
        assert!(summary.ends_with("shop.pii_19 and 5 more"), "{summary}");
        assert!(!summary.contains("pii_20"));
    }
}
