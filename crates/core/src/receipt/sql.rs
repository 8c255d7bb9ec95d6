//! Just enough of MySQL's SQL to review a statement from the audit log: what kind it is (read,
//! DML, DDL, DCL, other), which tables it names, and the statement with every password masked.
//!
//! The text is cut into tokens by a small lexer that knows comments, string literals (with
//! backslash and doubled-quote escapes), back-quoted identifiers and `@` variables; nothing else
//! of the grammar. It never fails and never panics: a truncated or malformed statement (the
//! server truncates long ones, and failed statements are logged as typed) yields fewer tables, not
//! an error.

use std::collections::BTreeSet;

/// The kind of a statement, by its leading keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatementKind {
    /// `SELECT`, `SHOW`, `DESCRIBE`, `EXPLAIN`, `WITH`, `TABLE`, `VALUES`, `HELP`.
    Read,
    /// `INSERT`, `UPDATE`, `DELETE`, `REPLACE`, `LOAD DATA`.
    Dml,
    /// `CREATE`, `ALTER`, `DROP`, `RENAME` (of anything but users and roles), `TRUNCATE`.
    Ddl,
    /// `GRANT`, `REVOKE`, users and roles (`CREATE USER`, `ALTER USER`, …), `SET PASSWORD`,
    /// `SET ROLE`, `SET DEFAULT ROLE`.
    Dcl,
    /// Anything else (`SET`, `USE`, transactions, `CALL`, `KILL`, …).
    Other,
}

impl StatementKind {
    /// Every kind, in the order receipts list them.
    pub const ALL: [Self; 5] = [Self::Read, Self::Dml, Self::Ddl, Self::Dcl, Self::Other];

    /// The kind's stable name: `read`, `dml`, `ddl`, `dcl`, `other`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Dml => "dml",
            Self::Ddl => "ddl",
            Self::Dcl => "dcl",
            Self::Other => "other",
        }
    }
}

impl std::fmt::Display for StatementKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What replaces a password.
pub const MASK: &str = "*****";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// An unquoted word (keyword or identifier), upper-cased, with the text as written.
    Word { upper: String, text: String },
    /// A back-quoted identifier, unescaped.
    Quoted(String),
    /// A string literal.
    Str,
    /// A number.
    Number,
    /// A `@` or `@@` variable.
    Variable,
    /// Any other character.
    Punct(char),
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

impl Token {
    fn word(&self) -> Option<&str> {
        match &self.kind {
            Kind::Word { upper, .. } => Some(upper),
            _ => None,
        }
    }

    fn is_punct(&self, c: char) -> bool {
        self.kind == Kind::Punct(c)
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()
}

/// Cuts `sql` into tokens, skipping whitespace and comments.
fn lex(sql: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = sql.char_indices().peekable();
    let end_of = |chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>| {
        chars.peek().map_or(sql.len(), |&(i, _)| i)
    };
    while let Some((start, c)) = chars.next() {
        let kind = match c {
            c if c.is_whitespace() => continue,
            '#' => {
                skip_line(&mut chars);
                continue;
            }
            '-' if chars.peek().is_some_and(|&(_, n)| n == '-') => {
                let mut ahead = chars.clone();
                ahead.next();
                if ahead.peek().is_none_or(|&(_, n)| n.is_whitespace()) {
                    skip_line(&mut chars);
                    continue;
                }
                Kind::Punct('-')
            }
            '/' if chars.peek().is_some_and(|&(_, n)| n == '*') => {
                chars.next();
                if chars.peek().is_some_and(|&(_, n)| n == '!' || n == '+') {
                    chars.next();
                    while chars.peek().is_some_and(|&(_, n)| n.is_ascii_digit()) {
                        chars.next();
                    }
                } else {
                    skip_comment(&mut chars);
                }
                continue;
            }
            '*' if chars.peek().is_some_and(|&(_, n)| n == '/') => {
                chars.next();
                continue;
            }
            '\'' | '"' => {
                skip_string(&mut chars, c);
                Kind::Str
            }
            '`' => Kind::Quoted(read_quoted(&mut chars)),
            '@' => {
                if chars.peek().is_some_and(|&(_, n)| n == '@') {
                    chars.next();
                }
                match chars.peek().map(|&(_, n)| n) {
                    Some(q @ ('\'' | '"')) => {
                        chars.next();
                        skip_string(&mut chars, q);
                    }
                    Some('`') => {
                        chars.next();
                        read_quoted(&mut chars);
                    }
                    _ => {
                        while chars
                            .peek()
                            .is_some_and(|&(_, n)| is_word_char(n) || n == '.')
                        {
                            chars.next();
                        }
                    }
                }
                Kind::Variable
            }
            c if c.is_ascii_digit() => {
                while chars.peek().is_some_and(|&(_, n)| is_word_char(n)) {
                    chars.next();
                }
                Kind::Number
            }
            c if is_word_char(c) => {
                while chars.peek().is_some_and(|&(_, n)| is_word_char(n)) {
                    chars.next();
                }
                let text = sql.get(start..end_of(&mut chars)).unwrap_or_default();
                Kind::Word {
                    upper: text.to_uppercase(),
                    text: text.to_owned(),
                }
            }
            other => Kind::Punct(other),
        };
        tokens.push(Token {
            kind,
            start,
            end: end_of(&mut chars),
        });
    }
    tokens
}

fn skip_line(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) {
    for (_, c) in chars.by_ref() {
        if c == '\n' {
            break;
        }
    }
}

fn skip_comment(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) {
    while let Some((_, c)) = chars.next() {
        if c == '*' && chars.peek().is_some_and(|&(_, n)| n == '/') {
            chars.next();
            break;
        }
    }
}

fn skip_string(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>, quote: char) {
    while let Some((_, c)) = chars.next() {
        if c == '\\' {
            chars.next();
        } else if c == quote {
            if chars.peek().is_some_and(|&(_, n)| n == quote) {
                chars.next();
            } else {
                break;
            }
        }
    }
}

fn read_quoted(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) -> String {
    let mut name = String::new();
    while let Some((_, c)) = chars.next() {
        if c == '`' {
            if chars.peek().is_some_and(|&(_, n)| n == '`') {
                chars.next();
            } else {
                break;
            }
        }
        name.push(c);
    }
    name
}

/// The words that lead a statement, skipping opening parentheses.
fn leading_words(tokens: &[Token]) -> impl Iterator<Item = &str> {
    tokens
        .iter()
        .skip_while(|t| t.is_punct('('))
        .map_while(Token::word)
}

/// The kind of `sql`, by its leading keywords.
#[must_use]
pub fn classify(sql: &str) -> StatementKind {
    classify_tokens(&lex(sql))
}

fn classify_tokens(tokens: &[Token]) -> StatementKind {
    let mut words = leading_words(tokens);
    let Some(first) = words.next() else {
        return StatementKind::Other;
    };
    match first {
        "SELECT" | "SHOW" | "DESCRIBE" | "DESC" | "EXPLAIN" | "WITH" | "TABLE" | "VALUES"
        | "HELP" => StatementKind::Read,
        "INSERT" | "UPDATE" | "DELETE" | "REPLACE" | "LOAD" => StatementKind::Dml,
        "GRANT" | "REVOKE" => StatementKind::Dcl,
        "TRUNCATE" => StatementKind::Ddl,
        "CREATE" | "ALTER" | "DROP" | "RENAME" => {
            let object = words.find(|w| !matches!(*w, "OR" | "REPLACE" | "IF" | "NOT" | "EXISTS"));
            if matches!(object, Some("USER" | "ROLE")) {
                StatementKind::Dcl
            } else {
                StatementKind::Ddl
            }
        }
        "SET" => match (words.next(), words.next()) {
            (Some("PASSWORD" | "ROLE"), _) | (Some("DEFAULT"), Some("ROLE")) => StatementKind::Dcl,
            _ => StatementKind::Other,
        },
        _ => StatementKind::Other,
    }
}

/// What makes a statement dangerous enough to tell the approvers while access is live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Hazard {
    /// `DROP` (of a table, database, …) or `TRUNCATE`.
    Destructive,
    /// `DELETE` or `UPDATE` with no `WHERE`: every row.
    EveryRow,
    /// Access control: grants, users, roles, passwords.
    AccessControl,
}

impl Hazard {
    /// Every hazard.
    pub const ALL: [Self; 3] = [Self::Destructive, Self::EveryRow, Self::AccessControl];

    /// The hazard's name in configuration: `drop_truncate`, `every_row`, `access_control`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Destructive => "drop_truncate",
            Self::EveryRow => "every_row",
            Self::AccessControl => "access_control",
        }
    }

    /// How an alert names it.
    #[must_use]
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Destructive => "DROP/TRUNCATE",
            Self::EveryRow => "DELETE/UPDATE without WHERE",
            Self::AccessControl => "access control (DCL)",
        }
    }
}

/// The hazard of `sql`, if it has one. A `WHERE` inside a string, a comment or a quoted name
/// does not count.
#[must_use]
pub fn hazard(sql: &str) -> Option<Hazard> {
    let tokens = lex(sql);
    match classify_tokens(&tokens) {
        StatementKind::Dcl => return Some(Hazard::AccessControl),
        StatementKind::Ddl => {
            return leading_words(&tokens)
                .next()
                .filter(|w| matches!(*w, "DROP" | "TRUNCATE"))
                .map(|_| Hazard::Destructive);
        }
        _ => {}
    }
    let every_row = matches!(leading_words(&tokens).next(), Some("DELETE" | "UPDATE"))
        && !tokens.iter().any(|t| t.word() == Some("WHERE"));
    every_row.then_some(Hazard::EveryRow)
}

/// Whether an unquoted word starts the part of a statement where passwords may be written.
fn opens_secrets(upper: &str) -> bool {
    upper == "IDENTIFIED" || upper.contains("PASSWORD")
}

/// `sql` with every password masked as [`MASK`]. The server masks them already; this is the
/// second line of defence, for a statement it did not mask (one it failed to parse, say).
///
/// From the first `IDENTIFIED` or `…PASSWORD…` keyword on, every string literal is masked, and
/// so is any bare word or number right after `BY`, `AS`, `USING` or `=` (a password typed
/// without quotes), except the keywords `PASSWORD` and `RANDOM`.
#[must_use]
pub fn mask_secrets(sql: &str) -> String {
    let tokens = lex(sql);
    let Some(from) = tokens
        .iter()
        .position(|t| t.word().is_some_and(opens_secrets))
    else {
        return sql.to_owned();
    };
    let mut masked = String::with_capacity(sql.len());
    let mut copied = 0;
    let mut previous: Option<&Token> = None;
    for token in &tokens[from..] {
        let after_assignment = previous
            .is_some_and(|p| p.is_punct('=') || matches!(p.word(), Some("BY" | "AS" | "USING")));
        let replacement = match &token.kind {
            Kind::Str => Some(format!("'{MASK}'")),
            Kind::Word { upper, .. }
                if after_assignment && !matches!(upper.as_str(), "PASSWORD" | "RANDOM") =>
            {
                Some(MASK.to_owned())
            }
            Kind::Number | Kind::Quoted(_) if after_assignment => Some(MASK.to_owned()),
            _ => None,
        };
        if let Some(replacement) = replacement
            && let Some(before) = sql.get(copied..token.start)
        {
            masked.push_str(before);
            masked.push_str(&replacement);
            copied = token.end;
        }
        previous = Some(token);
    }
    masked.push_str(sql.get(copied..).unwrap_or_default());
    masked
}

/// Words that end a table list or cannot be a table's name when unquoted.
const NOT_A_TABLE: &[&str] = &[
    "AS",
    "CROSS",
    "DUAL",
    "DUMPFILE",
    "EXCEPT",
    "FOR",
    "FORCE",
    "FROM",
    "GROUP",
    "HAVING",
    "IGNORE",
    "INNER",
    "INTERSECT",
    "INTO",
    "JOIN",
    "JSON_TABLE",
    "LATERAL",
    "LEFT",
    "LIMIT",
    "LOCK",
    "NATURAL",
    "ON",
    "ORDER",
    "OUTER",
    "OUTFILE",
    "PARTITION",
    "RIGHT",
    "SELECT",
    "SET",
    "STRAIGHT_JOIN",
    "TO",
    "UNION",
    "USE",
    "USING",
    "VALUE",
    "VALUES",
    "WHERE",
    "WINDOW",
    "WITH",
    "READ",
    "WRITE",
    "ADD",
    "MODIFY",
    "CHANGE",
    "RENAME",
    "DROP",
    "ENGINE",
    "LIKE",
    "KEY",
    "INDEX",
    "PRIMARY",
    "UNIQUE",
    "CHECK",
    "CONSTRAINT",
    "FOREIGN",
    "DEFAULT",
    "CHARACTER",
    "CHARSET",
    "COLLATE",
    "COMMENT",
    "ALGORITHM",
    "SELECT",
    "TABLE",
    "TABLES",
];

/// Modifiers that may stand between a keyword and the table it introduces.
const MODIFIERS: &[&str] = &[
    "IF",
    "NOT",
    "EXISTS",
    "TEMPORARY",
    "IGNORE",
    "LOW_PRIORITY",
    "HIGH_PRIORITY",
    "DELAYED",
    "QUICK",
    "ONLY",
    "TABLE",
];

/// Functions whose arguments use `FROM` without naming a table.
const FROM_FUNCTIONS: &[&str] = &["EXTRACT", "TRIM", "SUBSTRING", "SUBSTR", "POSITION", "MID"];

/// The tables `sql` names, as written (`db.table` when qualified), in order of appearance and
/// without repeats: after `FROM`, `JOIN`, `INTO`, `UPDATE`, `TABLE`, `TABLES`, `TRUNCATE`,
/// `DESCRIBE`/`DESC`/`EXPLAIN` of a table, and `RENAME … TO`. `SHOW` statements name none.
#[must_use]
pub fn tables(sql: &str) -> Vec<String> {
    let tokens = lex(sql);
    let first = leading_words(&tokens).next().unwrap_or_default();
    if first == "SHOW" || first == "HELP" {
        return Vec::new();
    }
    let renames = tokens.iter().any(|t| t.word() == Some("RENAME"));
    let mut found: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut calls: Vec<Option<String>> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        let previous = i.checked_sub(1).and_then(|p| tokens.get(p));
        if token.is_punct('(') {
            calls.push(previous.and_then(Token::word).map(str::to_owned));
        } else if token.is_punct(')') {
            calls.pop();
        }
        let Some(word) = token.word() else {
            i += 1;
            continue;
        };
        let previous_word = previous.and_then(Token::word);
        let introduces = match word {
            "FROM" => !calls
                .last()
                .and_then(Option::as_deref)
                .is_some_and(|f| FROM_FUNCTIONS.contains(&f)),
            "JOIN" | "INTO" | "TABLE" | "TABLES" => true,
            "UPDATE" => !matches!(previous_word, Some("KEY" | "FOR" | "ON")),
            "TRUNCATE" | "DESCRIBE" | "DESC" | "EXPLAIN" => i == 0,
            "TO" => renames,
            _ => false,
        };
        if !introduces {
            i += 1;
            continue;
        }
        let lists = matches!(word, "FROM" | "TABLE" | "TABLES" | "UPDATE" | "TRUNCATE");
        let mut at = i + 1;
        loop {
            while tokens
                .get(at)
                .and_then(Token::word)
                .is_some_and(|w| MODIFIERS.contains(&w))
            {
                at += 1;
            }
            let Some((name, next)) = table_name(&tokens, at) else {
                break;
            };
            if seen.insert(name.clone()) {
                found.push(name);
            }
            at = next;
            if !lists {
                break;
            }
            if tokens.get(at).and_then(Token::word) == Some("AS") {
                at += 1;
            }
            if tokens
                .get(at)
                .and_then(Token::word)
                .is_some_and(|w| !NOT_A_TABLE.contains(&w))
                || matches!(tokens.get(at).map(|t| &t.kind), Some(Kind::Quoted(_)))
            {
                at += 1;
            }
            if tokens.get(at).is_some_and(|t| t.is_punct(',')) {
                at += 1;
            } else {
                break;
            }
        }
        i = at.max(i + 1);
    }
    found
}

/// A table name starting at token `at` (`name` or `db.name`), and the index after it.
fn table_name(tokens: &[Token], at: usize) -> Option<(String, usize)> {
    let part = |index: usize| -> Option<String> {
        match &tokens.get(index)?.kind {
            Kind::Quoted(name) if !name.is_empty() => Some(name.clone()),
            Kind::Word { upper, text } if !NOT_A_TABLE.contains(&upper.as_str()) => {
                Some(text.clone())
            }
            _ => None,
        }
    };
    let first = part(at)?;
    if tokens.get(at + 1).is_some_and(|t| t.is_punct('.'))
        && let Some(second) = part(at + 2)
    {
        return Some((format!("{first}.{second}"), at + 3));
    }
    Some((first, at + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hazards_are_drops_truncates_unbounded_writes_and_access_control() {
        for (sql, expected) in [
            ("DROP TABLE orders", Some(Hazard::Destructive)),
            ("drop database shop", Some(Hazard::Destructive)),
            ("TRUNCATE TABLE orders", Some(Hazard::Destructive)),
            ("CREATE TABLE t (id INT)", None),
            ("ALTER TABLE t ADD c INT", None),
            ("DELETE FROM orders", Some(Hazard::EveryRow)),
            ("UPDATE orders SET state = 'where'", Some(Hazard::EveryRow)),
            (
                "UPDATE orders SET s = 1 /* WHERE id = 1 */",
                Some(Hazard::EveryRow),
            ),
            ("update `where` set a = 1", Some(Hazard::EveryRow)),
            ("DELETE FROM orders WHERE id = 7", None),
            ("update orders set s = 1 where id in (1, 2)", None),
            (
                "GRANT SELECT ON shop.* TO 'x'@'%'",
                Some(Hazard::AccessControl),
            ),
            (
                "CREATE USER 'x'@'%' IDENTIFIED BY '*****'",
                Some(Hazard::AccessControl),
            ),
            (
                "SET PASSWORD = PASSWORD('*****')",
                Some(Hazard::AccessControl),
            ),
            ("SELECT * FROM users", None),
            ("INSERT INTO t VALUES (1)", None),
            ("", None),
        ] {
            assert_eq!(hazard(sql), expected, "{sql}");
        }
    }

    #[test]
    fn statements_are_classified_by_their_leading_keywords() {
        let cases = [
            ("SELECT * FROM t", StatementKind::Read),
            ("  (select 1) union (select 2)", StatementKind::Read),
            ("/* hint */ show tables", StatementKind::Read),
            ("with x as (select 1) select * from x", StatementKind::Read),
            ("explain select 1", StatementKind::Read),
            ("update t set a = 1", StatementKind::Dml),
            ("INSERT INTO t VALUES (1)", StatementKind::Dml),
            ("delete from t", StatementKind::Dml),
            ("load data infile 'x' into table t", StatementKind::Dml),
            ("CREATE TABLE t (id int)", StatementKind::Ddl),
            ("create or replace view v as select 1", StatementKind::Ddl),
            ("DROP TABLE IF EXISTS t", StatementKind::Ddl),
            ("truncate t", StatementKind::Ddl),
            ("alter table t add c int", StatementKind::Ddl),
            (
                "CREATE USER 'x'@'%' IDENTIFIED BY *****",
                StatementKind::Dcl,
            ),
            ("drop user if exists x", StatementKind::Dcl),
            ("create role r", StatementKind::Dcl),
            ("ALTER USER x ACCOUNT LOCK", StatementKind::Dcl),
            ("GRANT SELECT ON db.* TO x", StatementKind::Dcl),
            ("revoke all on *.* from x", StatementKind::Dcl),
            ("SET PASSWORD FOR x = 'y'", StatementKind::Dcl),
            ("set default role r to x", StatementKind::Dcl),
            ("SET NAMES utf8mb4", StatementKind::Other),
            ("use shop", StatementKind::Other),
            ("commit", StatementKind::Other),
            ("", StatementKind::Other),
            ("'just a string'", StatementKind::Other),
        ];
        for (sql, kind) in cases {
            assert_eq!(classify(sql), kind, "{sql}");
        }
    }

    #[test]
    fn tables_are_found_after_the_keywords_that_name_them() {
        let cases: [(&str, &[&str]); 16] = [
            (
                "SELECT a FROM orders o JOIN shop.items i ON o.id = i.o",
                &["orders", "shop.items"],
            ),
            (
                "select * from `odd name`, `db`.`t2` as x where 1",
                &["odd name", "db.t2"],
            ),
            ("UPDATE orders SET state = 'x' WHERE id = 1", &["orders"]),
            (
                "insert into log (a) values (1) on duplicate key update a = 2",
                &["log"],
            ),
            (
                "CREATE TABLE IF NOT EXISTS receipts (id int)",
                &["receipts"],
            ),
            ("drop table a, b", &["a", "b"]),
            ("RENAME TABLE a TO b", &["a", "b"]),
            ("truncate table t", &["t"]),
            ("delete from t where x in (select y from u)", &["t", "u"]),
            ("select extract(year from d) from t", &["t"]),
            ("select 1 from dual", &[]),
            ("select * from (select 1) x", &[]),
            ("SHOW TABLES FROM shop", &[]),
            ("select * from t for update", &["t"]),
            ("select a into @v from t", &["t"]),
            ("describe orders", &["orders"]),
        ];
        for (sql, expected) in cases {
            assert_eq!(tables(sql), expected, "{sql}");
        }
    }

    #[test]
    fn passwords_are_masked_even_when_the_server_did_not() {
        let cases = [
            (
                "ALTER USER 'bob'@'%' IDENTIFIED BY 'hunter2'",
                "ALTER USER 'bob'@'%' IDENTIFIED BY '*****'",
            ),
            (
                "SET PASSWORD FOR bob = PASSWORD('hunter2')",
                "SET PASSWORD FOR bob = PASSWORD('*****')",
            ),
            ("set password = 'hunter2'", "set password = '*****'"),
            (
                "alter user bob identified by hunter2",
                "alter user bob identified by *****",
            ),
            (
                "CREATE USER x IDENTIFIED VIA ed25519 USING PASSWORD(\"hunter2\")",
                "CREATE USER x IDENTIFIED VIA ed25519 USING PASSWORD('*****')",
            ),
            (
                "create user x identified by 'it''s \\' secret', y identified by 'two'",
                "create user x identified by '*****', y identified by '*****'",
            ),
            (
                "alter user x identified by 'unterminated",
                "alter user x identified by '*****'",
            ),
            (
                "CREATE USER 'u'@'%' IDENTIFIED BY *****",
                "CREATE USER 'u'@'%' IDENTIFIED BY *****",
            ),
            ("SELECT 'hunter2'", "SELECT 'hunter2'"),
        ];
        for (sql, masked) in cases {
            assert_eq!(mask_secrets(sql), masked, "{sql}");
        }
    }

    fn sql_fragment() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("SELECT".to_owned()),
                Just("FROM".to_owned()),
                Just("UPDATE".to_owned()),
                Just("INTO".to_owned()),
                Just("TABLE".to_owned()),
                Just("RENAME".to_owned()),
                Just("TO".to_owned()),
                Just("IDENTIFIED BY".to_owned()),
                Just("PASSWORD(".to_owned()),
                Just("extract(".to_owned()),
                Just("`".to_owned()),
                Just("'".to_owned()),
                Just("\"".to_owned()),
                Just("\\".to_owned()),
                Just("/*".to_owned()),
                Just("*/".to_owned()),
                Just("/*!50100".to_owned()),
                Just("-- ".to_owned()),
                Just("#".to_owned()),
                Just("@@".to_owned()),
                Just(".".to_owned()),
                Just(",".to_owned()),
                Just("(".to_owned()),
                Just(")".to_owned()),
                Just("é".to_owned()),
                "[a-z_0-9]{1,6}",
            ],
            0..24,
        )
        .prop_map(|parts| parts.join(" "))
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(sql in any::<String>()) {
            let _ = classify(&sql);
            let _ = tables(&sql);
            let _ = mask_secrets(&sql);
        }

        #[test]
        fn sql_like_fragments_never_panic(sql in sql_fragment()) {
            let _ = classify(&sql);
            for table in tables(&sql) {
                prop_assert!(!table.is_empty());
            }
            let _ = mask_secrets(&sql);
        }

        #[test]
        fn a_quoted_password_never_survives_masking(
            password in "[A-Za-z0-9!%^&*()_+=-]{8,24}",
            shape in 0..5_usize,
            lower in any::<bool>(),
            noise in sql_fragment(),
        ) {
            let sql = match shape {
                0 => format!("ALTER USER 'x'@'%' IDENTIFIED BY '{password}' {noise}"),
                1 => format!("SET PASSWORD FOR x = PASSWORD('{password}') {noise}"),
                2 => format!("CREATE USER x IDENTIFIED WITH mysql_native_password AS \"{password}\""),
                3 => format!("GRANT ALL ON *.* TO x IDENTIFIED BY '{password}'"),
                _ => format!("set password='{password}'"),
            };
            let sql = if lower { sql.to_lowercase() } else { sql };
            let pw = if lower { password.to_lowercase() } else { password };
            let masked = mask_secrets(&sql);
            prop_assert!(!masked.contains(&format!("'{pw}'")), "{}", masked);
            prop_assert!(!masked.contains(&format!("\"{pw}\"")), "{}", masked);
        }

        #[test]
        fn a_bare_password_never_survives_masking(password in "[a-z][a-z0-9]{7,20}") {
            prop_assume!(!["password", "random"].contains(&password.as_str()));
            let masked = mask_secrets(&format!("alter user x identified by {password}"));
            prop_assert_eq!(masked, "alter user x identified by *****".to_owned());
        }
    }
}
