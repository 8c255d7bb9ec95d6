//! Permission levels and the grant plan each one means, as data. The MySQL adapter turns a plan
//! into SQL; nothing here is SQL text.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Field, Result};
use crate::ids::string_newtype;

/// The access level a person asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// Read data and view definitions.
    Read,
    /// `READ` plus changing rows (the original tool's "DMLOperator").
    Dml,
    /// `DML` plus changing schema objects (the original tool's "DDLOperator").
    Ddl,
}

impl Permission {
    /// Every level, weakest first.
    pub const ALL: [Self; 3] = [Self::Read, Self::Dml, Self::Ddl];

    /// The level's name as shown and stored: `READ`, `DML`, `DDL`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Read => "READ",
            Self::Dml => "DML",
            Self::Ddl => "DDL",
        }
    }

    /// One line explaining the level to the person choosing it.
    #[must_use]
    pub const fn description(self) -> &'static str {
        match self {
            Self::Read => "Read rows and view definitions (SELECT, SHOW VIEW).",
            Self::Dml => "READ plus INSERT, UPDATE and DELETE rows.",
            Self::Ddl => "DML plus create, alter and drop tables, indexes, views and triggers.",
        }
    }

    /// The privileges the level grants on each schema it covers.
    #[must_use]
    pub const fn privileges(self) -> &'static [Privilege] {
        use Privilege::*;
        match self {
            Self::Read => &[Select, ShowView],
            Self::Dml => &[Select, ShowView, Insert, Update, Delete],
            Self::Ddl => &[
                Select, ShowView, Insert, Update, Delete, Create, Alter, Drop, Index, References,
                CreateView, Trigger, Execute,
            ],
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Permission {
    type Err = Error;

    /// Accepts `READ`, `DML`, `DDL` in any case, and the original tool's `DMLOperator` /
    /// `DDLOperator`.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "READ" => Ok(Self::Read),
            "DML" | "DMLOPERATOR" => Ok(Self::Dml),
            "DDL" | "DDLOPERATOR" => Ok(Self::Ddl),
            _ => Err(Error::invalid(
                Field::Permission,
                "expected READ, DML or DDL",
            )),
        }
    }
}

/// A schema-level privilege the broker may grant. Administrative privileges (`GRANT OPTION`,
/// `SUPER`, `FILE`, `PROCESS`, `CREATE USER`, `RELOAD`, `SHUTDOWN`, …) have no variant, so no
/// plan can contain them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Privilege {
    Select,
    ShowView,
    Insert,
    Update,
    Delete,
    Create,
    Alter,
    Drop,
    Index,
    References,
    CreateView,
    Trigger,
    Execute,
}

impl Privilege {
    /// The privilege's name in MySQL's grant tables and documentation.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Select => "SELECT",
            Self::ShowView => "SHOW VIEW",
            Self::Insert => "INSERT",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
            Self::Create => "CREATE",
            Self::Alter => "ALTER",
            Self::Drop => "DROP",
            Self::Index => "INDEX",
            Self::References => "REFERENCES",
            Self::CreateView => "CREATE VIEW",
            Self::Trigger => "TRIGGER",
            Self::Execute => "EXECUTE",
        }
    }
}

impl fmt::Display for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A database (schema) name grants may target: 1–64 characters from letters, digits, `_`, `$`
/// and `-`.
///
/// In `GRANT … ON db.*`, MySQL treats `_` and `%` in the database name as wildcards; adapters
/// must escape `_` (as `\_`) when they quote the name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SchemaName(String);

impl SchemaName {
    /// Schemas that belong to the server and never receive grants from the broker.
    pub const SYSTEM: [&'static str; 4] =
        ["mysql", "sys", "performance_schema", "information_schema"];

    /// Validates a schema name.
    ///
    /// # Errors
    /// [`Error::Invalid`] with [`Field::Schema`].
    pub fn parse(s: &str) -> Result<Self> {
        let valid = (1..=64).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_$-".contains(c));
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::invalid(
                Field::Schema,
                "must be 1 to 64 characters from letters, digits, '_', '$' and '-'",
            ))
        }
    }

    /// Whether this is one of the server's own schemas (case-insensitive).
    #[must_use]
    pub fn is_system(&self) -> bool {
        Self::SYSTEM
            .iter()
            .any(|system| system.eq_ignore_ascii_case(&self.0))
    }
}
string_newtype!(SchemaName);

/// What one request's account is granted: the level's privileges on each listed schema, and
/// nothing global. An empty schema list means "every user schema the cluster has" (or the
/// cluster's configured set): the DB adapter enumerates them, since only the server knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantPlan {
    permission: Permission,
    schemas: Vec<SchemaName>,
}

impl GrantPlan {
    /// A plan granting `permission` on each of `schemas` (duplicates removed, sorted).
    ///
    /// # Errors
    /// [`Error::Invalid`] when a schema is a system schema.
    pub fn new(
        permission: Permission,
        schemas: impl IntoIterator<Item = SchemaName>,
    ) -> Result<Self> {
        let mut schemas: Vec<SchemaName> = schemas.into_iter().collect();
        if let Some(system) = schemas.iter().find(|s| s.is_system()) {
            return Err(Error::invalid(
                Field::Schema,
                format!("{system} is a system schema and is never granted"),
            ));
        }
        schemas.sort();
        schemas.dedup();
        Ok(Self {
            permission,
            schemas,
        })
    }

    /// The level the plan implements.
    #[must_use]
    pub fn permission(&self) -> Permission {
        self.permission
    }

    /// The privileges granted on every schema of the plan.
    #[must_use]
    pub fn privileges(&self) -> &'static [Privilege] {
        self.permission.privileges()
    }

    /// The schemas the plan covers.
    #[must_use]
    pub fn schemas(&self) -> &[SchemaName] {
        &self.schemas
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORBIDDEN: [&str; 9] = [
        "GRANT OPTION",
        "SUPER",
        "FILE",
        "PROCESS",
        "CREATE USER",
        "RELOAD",
        "SHUTDOWN",
        "ALL",
        "ALL PRIVILEGES",
    ];

    fn names(p: Permission) -> Vec<&'static str> {
        p.privileges().iter().map(|p| p.name()).collect()
    }

    #[test]
    fn levels_grant_exactly_the_documented_privileges() {
        assert_eq!(names(Permission::Read), ["SELECT", "SHOW VIEW"]);
        assert_eq!(
            names(Permission::Dml),
            ["SELECT", "SHOW VIEW", "INSERT", "UPDATE", "DELETE"]
        );
        assert_eq!(
            names(Permission::Ddl),
            [
                "SELECT",
                "SHOW VIEW",
                "INSERT",
                "UPDATE",
                "DELETE",
                "CREATE",
                "ALTER",
                "DROP",
                "INDEX",
                "REFERENCES",
                "CREATE VIEW",
                "TRIGGER",
                "EXECUTE"
            ]
        );
    }

    #[test]
    fn each_level_includes_the_one_below() {
        for pair in Permission::ALL.windows(2) {
            for privilege in pair[0].privileges() {
                assert!(
                    pair[1].privileges().contains(privilege),
                    "{} lacks {privilege}",
                    pair[1]
                );
            }
        }
    }

    #[test]
    fn no_level_grants_an_administrative_privilege() {
        for level in Permission::ALL {
            for name in names(level) {
                assert!(!FORBIDDEN.contains(&name), "{level} grants {name}");
            }
        }
    }

    #[test]
    fn permission_parses_names_and_original_aliases() {
        assert_eq!("read".parse::<Permission>().unwrap(), Permission::Read);
        assert_eq!(" DML ".parse::<Permission>().unwrap(), Permission::Dml);
        assert_eq!(
            "DDLOperator".parse::<Permission>().unwrap(),
            Permission::Ddl
        );
        let err = "ADMIN".parse::<Permission>().unwrap_err();
        assert_eq!(err.field(), Some(Field::Permission));
    }

    #[test]
    fn system_schemas_are_never_planned() {
        for system in [
            "mysql",
            "sys",
            "performance_schema",
            "INFORMATION_SCHEMA",
            "MySQL",
        ] {
            let schema = SchemaName::parse(system).unwrap();
            assert!(schema.is_system());
            let err = GrantPlan::new(Permission::Read, [schema]).unwrap_err();
            assert_eq!(err.field(), Some(Field::Schema));
        }
    }

    #[test]
    fn plan_lists_user_schemas_once_in_order() {
        let plan = GrantPlan::new(
            Permission::Dml,
            ["orders", "billing", "orders"].map(|s| SchemaName::parse(s).unwrap()),
        )
        .unwrap();
        let schemas: Vec<&str> = plan.schemas().iter().map(SchemaName::as_str).collect();
        assert_eq!(schemas, ["billing", "orders"]);
        assert_eq!(plan.privileges(), Permission::Dml.privileges());
    }

    #[test]
    fn schema_names_refuse_quoting_tricks() {
        for bad in [
            "",
            "a`b",
            "a'b",
            "a.b",
            "a b",
            "a%",
            "a\\b",
            "a/b",
            &"s".repeat(65),
        ] {
            assert!(SchemaName::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(SchemaName::parse("shop_2024-eu$x").is_ok());
    }
}
