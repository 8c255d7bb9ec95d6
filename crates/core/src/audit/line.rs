//! Parser for one line of the database audit log, into an [`AuditRecord`]. Pure text in,
//! records out: the MySQL adapter reads local `server_audit` files with it, the AWS adapter
//! the lines CloudWatch Logs returns.
//!
//! The MariaDB `server_audit` plugin and Aurora MySQL advanced auditing write the same ten
//! comma-separated fields:
//!
//! ```text
//! timestamp,serverhost,username,host,connectionid,queryid,operation,database,object,retcode
//! 20261123 14:22:38,vm,admin,127.0.0.1,4,2,QUERY,mysql,'CREATE USER \'bob\'@\'%\' IDENTIFIED BY *****',0
//! 1653053459680124,c731-instance-1,admin,52.94.133.136,35,698024,WRITE,testdb,test2,0
//! ```
//!
//! - **Timestamp.** MariaDB writes `YYYYMMDD HH:MM:SS` in the server's local time, Aurora the Unix
//!   epoch in microseconds. The local time is read as UTC: Aurora runs in UTC, and so must the
//!   test MariaDB (it takes the zone of its process, so start it with `TZ=UTC`). A MariaDB in
//!   another zone would be shifted by its offset, which the line does not carry.
//! - **Object.** A statement is single-quoted; inside the quotes the server escapes `'` as `\'`,
//!   `\` as `\\`, newline as `\n`, carriage return as `\r` and tab as `\t`, so the text may hold
//!   commas. These escapes are undone; any other backslash pair is kept as written, because a
//!   readable statement is worth more to a reviewer than a refused line. Table events (`READ`,
//!   `WRITE`, `CREATE`, …) name the table unquoted. The server masks passwords as `*****` and
//!   truncates statements longer than `server_audit_query_log_limit`; both reach the record as
//!   written.
//! - **Other fields** are unquoted, never contain commas, and are trimmed of surrounding
//!   whitespace (the published Aurora line has a single space for empty hosts).
//! - **Return code.** MariaDB leaves it empty on table events (the outcome is on the `QUERY`
//!   line with the same query id); an empty return code reads as 0.
//! - **Nine fields.** The original tool's published slide shows an Aurora line without the query
//!   id (`1678427005974410, ,keisuke.owato, ,5093401,QUERY,world,'CREATE TABLE …',0`). A
//!   nine-field line whose sixth field is an operation name is read in that shape, with query
//!   id 0; the operation name can never be mistaken for a query id, which is always a number.
//!
//! The server does not escape commas in user or database names (a user `a,b` yields twelve
//! fields), so such lines are ambiguous and reported as [`AuditLineError::FieldCount`].
//! Malformed lines are reported, never guessed at and never panicked on.

use std::fmt;
use std::num::ParseIntError;

use super::{AuditOperation, AuditRecord};
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

/// How much of an offending value an error keeps, in characters.
const SNIPPET_CHARS: usize = 40;

/// One of the audit line's fields, to say where a line went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditField {
    /// When the event happened.
    Timestamp,
    /// The server that logged it.
    ServerHost,
    /// The DB user.
    Username,
    /// The client host.
    Host,
    /// The session id.
    ConnectionId,
    /// The statement id within the session.
    QueryId,
    /// What happened.
    Operation,
    /// The default database.
    Database,
    /// The statement or table.
    Object,
    /// The server's return code.
    Retcode,
}

impl fmt::Display for AuditField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Timestamp => "timestamp",
            Self::ServerHost => "server host",
            Self::Username => "username",
            Self::Host => "host",
            Self::ConnectionId => "connection id",
            Self::QueryId => "query id",
            Self::Operation => "operation",
            Self::Database => "database",
            Self::Object => "object",
            Self::Retcode => "return code",
        })
    }
}

/// Why one audit-log line could not be read. Values quoted in an error are cut to their first
/// 40 characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditLineError {
    /// The line holds nothing but whitespace.
    #[error("the line is empty")]
    Empty,
    /// The line does not split into the ten fields (or the nine-field Aurora shape).
    #[error("expected 10 comma-separated fields, found {found}")]
    FieldCount {
        /// How many fields the line has.
        found: usize,
    },
    /// The object's opening quote is never closed.
    #[error("the quote opened at column {column} is never closed")]
    UnterminatedQuote {
        /// The 1-based character column of the opening quote.
        column: usize,
    },
    /// Something other than a comma follows a closing quote.
    #[error("unexpected text after the closing quote, at column {column}")]
    TextAfterQuote {
        /// The 1-based character column of the unexpected text.
        column: usize,
    },
    /// A field other than the object is quoted.
    #[error("the {field} is quoted; only the object may be")]
    UnexpectedQuote {
        /// The quoted field.
        field: AuditField,
    },
    /// The timestamp is neither `YYYYMMDD HH:MM:SS` nor epoch microseconds in range.
    #[error("bad timestamp {value:?}: expected `YYYYMMDD HH:MM:SS` or epoch microseconds")]
    BadTimestamp {
        /// The timestamp as written.
        value: String,
    },
    /// A numeric field does not hold a number of its type.
    #[error("bad {field} {value:?}")]
    BadNumber {
        /// Which field.
        field: AuditField,
        /// The field as written.
        value: String,
        /// Why it is not a number.
        #[source]
        source: ParseIntError,
    },
    /// The operation is not an upper-case name such as `QUERY` or `FAILED_CONNECT`.
    #[error("bad operation {value:?}")]
    BadOperation {
        /// The operation as written.
        value: String,
    },
}

/// Parses one audit-log line (without its line ending).
///
/// # Errors
///
/// Returns an [`AuditLineError`] naming what is wrong when the line is blank, does not have ten
/// fields (or the nine-field Aurora shape), has a broken quote, or holds a bad timestamp,
/// number or operation.
pub fn parse_line(line: &str) -> Result<AuditRecord, AuditLineError> {
    if line.trim_ascii().is_empty() {
        return Err(AuditLineError::Empty);
    }
    let fields = split_fields(line)?;
    let (ts, server_host, username, host, connection_id, query_id, op, database, object, rc) =
        match fields.as_slice() {
            [ts, sh, user, host, conn, qid, op, db, obj, rc] => {
                (ts, sh, user, host, conn, Some(qid), op, db, obj, rc)
            }
            [ts, sh, user, host, conn, op, db, obj, rc] if op.is_operation_name() => {
                (ts, sh, user, host, conn, None, op, db, obj, rc)
            }
            other => return Err(AuditLineError::FieldCount { found: other.len() }),
        };
    let (at, resolution) = timestamp(ts.plain(AuditField::Timestamp)?)?;
    let query_id = match query_id {
        Some(raw) => number(raw.plain(AuditField::QueryId)?, AuditField::QueryId)?,
        None => 0,
    };
    let retcode = match rc.plain(AuditField::Retcode)? {
        "" => 0,
        text => number(text, AuditField::Retcode)?,
    };
    Ok(AuditRecord {
        at,
        resolution,
        server_host: server_host.plain(AuditField::ServerHost)?.to_owned(),
        username: username.plain(AuditField::Username)?.to_owned(),
        host: host.plain(AuditField::Host)?.to_owned(),
        connection_id: number(
            connection_id.plain(AuditField::ConnectionId)?,
            AuditField::ConnectionId,
        )?,
        query_id,
        operation: operation(op.plain(AuditField::Operation)?)?,
        database: database.plain(AuditField::Database)?.to_owned(),
        object: object.text().to_owned(),
        retcode,
    })
}

/// Parses every non-blank line of an audit log, with its 1-based line number, keeping going
/// past bad lines. Blank lines are skipped but still counted in the numbering.
///
/// A log read as bytes that may not be UTF-8 (the server can cut a statement inside a
/// multi-byte character) should go through [`String::from_utf8_lossy`] first.
pub fn parse_lines(
    text: &str,
) -> impl Iterator<Item = (usize, Result<AuditRecord, AuditLineError>)> + '_ {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim_ascii().is_empty())
        .map(|(index, line)| (index + 1, parse_line(line)))
}

/// Parses a whole audit log into its records and its bad lines (1-based line number and
/// error), skipping blank lines. See [`parse_lines`] for a streaming version.
#[must_use]
pub fn parse_log(text: &str) -> (Vec<AuditRecord>, Vec<(usize, AuditLineError)>) {
    let mut records = Vec::new();
    let mut errors = Vec::new();
    for (number, result) in parse_lines(text) {
        match result {
            Ok(record) => records.push(record),
            Err(err) => errors.push((number, err)),
        }
    }
    (records, errors)
}

/// One field as split from the line: trimmed plain text, or an unescaped quoted string.
#[derive(Debug)]
enum RawField<'a> {
    Plain(&'a str),
    Quoted(String),
}

impl RawField<'_> {
    fn plain(&self, field: AuditField) -> Result<&str, AuditLineError> {
        match self {
            Self::Plain(text) => Ok(text),
            Self::Quoted(_) => Err(AuditLineError::UnexpectedQuote { field }),
        }
    }

    fn text(&self) -> &str {
        match self {
            Self::Plain(text) => text,
            Self::Quoted(text) => text,
        }
    }

    fn is_operation_name(&self) -> bool {
        matches!(self, Self::Plain(text) if is_operation_name(text))
    }
}

fn split_fields(line: &str) -> Result<Vec<RawField<'_>>, AuditLineError> {
    let mut fields = Vec::new();
    let mut rest = line;
    loop {
        let start = rest.trim_ascii_start();
        if let Some(body) = start.strip_prefix('\'') {
            let open = line.len() - start.len();
            let (text, after) = unquote(body).ok_or_else(|| AuditLineError::UnterminatedQuote {
                column: column(line, open),
            })?;
            fields.push(RawField::Quoted(text));
            let after = after.trim_ascii_start();
            if after.is_empty() {
                return Ok(fields);
            }
            rest = after
                .strip_prefix(',')
                .ok_or_else(|| AuditLineError::TextAfterQuote {
                    column: column(line, line.len() - after.len()),
                })?;
        } else if let Some((field, next)) = rest.split_once(',') {
            fields.push(RawField::Plain(field.trim_ascii()));
            rest = next;
        } else {
            fields.push(RawField::Plain(rest.trim_ascii()));
            return Ok(fields);
        }
    }
}

/// Reads a quoted string's body up to its closing quote, undoing the server's escapes.
/// Returns the text and what follows the closing quote, or `None` when it is never closed.
fn unquote(body: &str) -> Option<(String, &str)> {
    let mut text = String::with_capacity(body.len());
    let mut chars = body.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '\'' => return Some((text, &body[index + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => text.push('\n'),
                'r' => text.push('\r'),
                't' => text.push('\t'),
                escaped @ ('\'' | '\\') => text.push(escaped),
                other => {
                    text.push('\\');
                    text.push(other);
                }
            },
            _ => text.push(c),
        }
    }
    None
}

fn column(line: &str, byte: usize) -> usize {
    line.get(..byte).map_or(0, |before| before.chars().count()) + 1
}

/// The time a timestamp names and how precise it is.
fn timestamp(text: &str) -> Result<(OffsetDateTime, Duration), AuditLineError> {
    let bad = || AuditLineError::BadTimestamp {
        value: snippet(text),
    };
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let micros: u64 = text.parse().map_err(|_| bad())?;
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
            .map(|at| (at, Duration::MICROSECOND))
            .map_err(|_| bad())
    } else {
        PrimitiveDateTime::parse(
            text,
            format_description!("[year][month][day] [hour]:[minute]:[second]"),
        )
        .map(|at| (at.assume_utc(), Duration::SECOND))
        .map_err(|_| bad())
    }
}

fn number<T>(text: &str, field: AuditField) -> Result<T, AuditLineError>
where
    T: std::str::FromStr<Err = ParseIntError>,
{
    text.parse().map_err(|source| AuditLineError::BadNumber {
        field,
        value: snippet(text),
        source,
    })
}

fn is_operation_name(text: &str) -> bool {
    let mut bytes = text.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_uppercase())
        && bytes.all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

fn operation(text: &str) -> Result<AuditOperation, AuditLineError> {
    if !is_operation_name(text) {
        return Err(AuditLineError::BadOperation {
            value: snippet(text),
        });
    }
    Ok(match text {
        "CONNECT" => AuditOperation::Connect,
        "DISCONNECT" => AuditOperation::Disconnect,
        "FAILED_CONNECT" => AuditOperation::FailedConnect,
        "QUERY" => AuditOperation::Query,
        other => AuditOperation::Other(other.to_owned()),
    })
}

fn snippet(text: &str) -> String {
    match text.char_indices().nth(SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const SLIDES: &str = include_str!("../../tests/fixtures/aurora_slides.log");
    const MARIADB: &str = include_str!("../../tests/fixtures/mariadb_sample.log");

    fn line_of(text: &str, number: usize) -> &str {
        text.lines().nth(number - 1).unwrap()
    }

    fn err(line: &str) -> AuditLineError {
        parse_line(line).unwrap_err()
    }

    fn escape(object: &str) -> String {
        let mut out = String::with_capacity(object.len() + 2);
        out.push('\'');
        for c in object.chars() {
            match c {
                '\'' => out.push_str("\\'"),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                other => out.push(other),
            }
        }
        out.push('\'');
        out
    }

    fn operation_name(op: &AuditOperation) -> &str {
        match op {
            AuditOperation::Connect => "CONNECT",
            AuditOperation::Disconnect => "DISCONNECT",
            AuditOperation::FailedConnect => "FAILED_CONNECT",
            AuditOperation::Query => "QUERY",
            AuditOperation::Other(name) => name,
        }
    }

    #[derive(Debug, Clone, Copy)]
    enum Shape {
        MariaDb,
        Aurora,
        AuroraWithoutQueryId,
    }

    /// Writes a record the way the servers do; the object is always quoted.
    fn format_line(r: &AuditRecord, shape: Shape) -> String {
        let at = match shape {
            Shape::MariaDb => {
                r.at.format(format_description!(
                    "[year][month][day] [hour]:[minute]:[second]"
                ))
                .unwrap()
            }
            Shape::Aurora | Shape::AuroraWithoutQueryId => {
                (r.at.unix_timestamp_nanos() / 1_000).to_string()
            }
        };
        let query_id = match shape {
            Shape::AuroraWithoutQueryId => String::new(),
            Shape::MariaDb | Shape::Aurora => format!("{},", r.query_id),
        };
        format!(
            "{at},{},{},{},{},{query_id}{},{},{},{}",
            r.server_host,
            r.username,
            r.host,
            r.connection_id,
            operation_name(&r.operation),
            r.database,
            escape(&r.object),
            r.retcode
        )
    }

    #[test]
    fn given_the_slide_line_when_parsed_then_query_id_is_zero_and_blank_hosts_are_empty() {
        let record = parse_line(line_of(SLIDES, 1)).unwrap();

        assert_eq!(
            record,
            AuditRecord {
                at: datetime!(2023-03-10 05:43:25.974410 UTC),
                resolution: Duration::MICROSECOND,
                server_host: String::new(),
                username: "keisuke.owato".to_owned(),
                host: String::new(),
                connection_id: 5_093_401,
                query_id: 0,
                operation: AuditOperation::Query,
                database: "world".to_owned(),
                object: "CREATE TABLE `city` …".to_owned(),
                retcode: 0,
            }
        );
    }

    #[test]
    fn given_a_mariadb_query_with_escaped_quotes_and_commas_when_parsed_then_the_object_is_unescaped()
     {
        let line = r"20261123 15:10:48,vm,root,127.0.0.1,4,6,QUERY,world,'INSERT INTO city VALUES (1, \'Tokyo, Japan\'), (2, \'O\\\'Brien\\\\ville\')',0";

        let record = parse_line(line).unwrap();

        assert_eq!(record.at, datetime!(2026-11-23 15:10:48 UTC));
        assert_eq!(record.server_host, "vm");
        assert_eq!(record.username, "root");
        assert_eq!(record.host, "127.0.0.1");
        assert_eq!((record.connection_id, record.query_id), (4, 6));
        assert_eq!(record.operation, AuditOperation::Query);
        assert_eq!(record.database, "world");
        assert_eq!(
            record.object,
            r"INSERT INTO city VALUES (1, 'Tokyo, Japan'), (2, 'O\'Brien\\ville')"
        );
        assert_eq!(record.retcode, 0);
    }

    #[test]
    fn given_connect_disconnect_and_failed_connect_lines_when_parsed_then_operations_and_retcodes_match()
     {
        let connect = parse_line("20261123 14:22:38,vm,bob,localhost,5,0,CONNECT,,,0").unwrap();
        let disconnect =
            parse_line("20261123 15:10:48,vm,bob,127.0.0.1,5,0,DISCONNECT,world,,0").unwrap();
        let failed =
            parse_line("20261123 15:10:48,vm,bob,127.0.0.1,6,0,FAILED_CONNECT,,,1045").unwrap();

        assert_eq!(connect.operation, AuditOperation::Connect);
        assert_eq!(
            (connect.database.as_str(), connect.object.as_str()),
            ("", "")
        );
        assert_eq!(connect.host, "localhost");
        assert_eq!(disconnect.operation, AuditOperation::Disconnect);
        assert_eq!(disconnect.database, "world");
        assert_eq!(failed.operation, AuditOperation::FailedConnect);
        assert_eq!(failed.retcode, 1045);
        assert_eq!(failed.connection_id, 6);
    }

    #[test]
    fn given_an_aurora_epoch_line_with_ten_fields_when_parsed_then_microseconds_are_kept() {
        // Published on AWS re:Post ("Understanding RDS audit log file format").
        let line =
            "1653053459680124,c731-instance-1,admin,52.94.133.136,35,698024,WRITE,testdb,test2,0";

        let record = parse_line(line).unwrap();

        assert_eq!(record.at, datetime!(2022-05-20 13:30:59.680124 UTC));
        assert_eq!(record.server_host, "c731-instance-1");
        assert_eq!(record.query_id, 698_024);
        assert_eq!(record.operation, AuditOperation::Other("WRITE".to_owned()));
        assert_eq!(record.object, "test2");
    }

    #[test]
    fn given_a_masked_password_when_parsed_then_it_stays_masked() {
        let record = parse_line(line_of(MARIADB, 10)).unwrap();

        assert_eq!(record.object, "CREATE USER 'bob'@'%' IDENTIFIED BY *****");
        let set_password = MARIADB
            .lines()
            .filter_map(|l| parse_line(l).ok())
            .find(|r| r.object.starts_with("SET PASSWORD"))
            .unwrap();
        assert_eq!(
            set_password.object,
            "SET PASSWORD FOR 'bob'@'%' = PASSWORD(*****)"
        );
    }

    #[test]
    fn given_a_table_event_with_an_empty_retcode_when_parsed_then_the_retcode_is_zero() {
        let record = parse_line("20261123 15:10:48,vm,root,127.0.0.1,3,2,WRITE,mysql,db,").unwrap();

        assert_eq!(record.operation, AuditOperation::Other("WRITE".to_owned()));
        assert_eq!(record.object, "db");
        assert_eq!(record.retcode, 0);
    }

    #[test]
    fn given_escaped_newline_tab_cr_and_backslash_when_parsed_then_they_are_restored() {
        let multi_line = parse_line(line_of(MARIADB, 24)).unwrap();
        let controls = parse_line(line_of(MARIADB, 47)).unwrap();

        assert_eq!(
            multi_line.object,
            "SELECT name FROM city WHERE name = 'it''s, a\nmulti-line'"
        );
        assert_eq!(
            controls.object,
            "SELECT 'tab\there', 'cr\rhere', 'héllo ✓', CONCAT('a','\\\\')"
        );
    }

    #[test]
    fn given_an_unknown_escape_when_parsed_then_it_is_kept_as_written() {
        let record = parse_line(r"1,h,u,h,1,1,QUERY,db,'a\%b\_c\`',0").unwrap();

        assert_eq!(record.object, r"a\%b\_c\`");
    }

    #[test]
    fn given_spaces_around_fields_when_parsed_then_they_are_trimmed_except_inside_quotes() {
        let record = parse_line(
            " 1678427005974410 , h , u , 10.0.0.1 , 7 , 8 , QUERY , db ,  ' x, y '  , 0 \r",
        )
        .unwrap();

        assert_eq!(record.server_host, "h");
        assert_eq!(record.host, "10.0.0.1");
        assert_eq!((record.connection_id, record.query_id), (7, 8));
        assert_eq!(record.object, " x, y ");
        assert_eq!(record.retcode, 0);
    }

    #[test]
    fn given_a_truncated_statement_when_parsed_then_the_prefix_is_kept() {
        let record = parse_line(line_of(MARIADB, 49)).unwrap();

        assert_eq!(record.object, "SELECT 'aaaaaaaaaaaaaaaaaaaaa");
    }

    #[test]
    fn given_blank_or_wrongly_split_lines_when_parsed_then_empty_and_field_count_errors() {
        assert_eq!(err(""), AuditLineError::Empty);
        assert_eq!(err(" \t "), AuditLineError::Empty);
        assert_eq!(err("garbage"), AuditLineError::FieldCount { found: 1 });
        assert_eq!(
            err("20261123 14:22:38,vm,bob,localhost,5,0,CONNECT,,,0,extra"),
            AuditLineError::FieldCount { found: 11 }
        );
        assert_eq!(
            err("20261123 14:22:38,vm,bob,localhost,5,0,CONNECT,,"),
            AuditLineError::FieldCount { found: 9 }
        );
    }

    #[test]
    fn given_nine_fields_without_an_operation_in_sixth_place_when_parsed_then_field_count_error() {
        assert_eq!(
            err("1678427005974410,h,u,h,5093401,17,QUERY,world,0"),
            AuditLineError::FieldCount { found: 9 }
        );
    }

    #[test]
    fn given_bad_timestamps_when_parsed_then_bad_timestamp_errors() {
        for bad in [
            "20261332 14:22:38",
            "2026-11-23 14:22:38",
            "20261123 25:00:00",
            "20261123  14:22:38",
            "99999999999999999999",
            "18446744073709551615",
            "-1678427005974410",
            "",
        ] {
            let line = format!("{bad},vm,bob,localhost,5,0,CONNECT,,,0");
            assert_eq!(
                err(&line),
                AuditLineError::BadTimestamp {
                    value: bad.to_owned()
                },
                "{bad:?}"
            );
        }
    }

    #[test]
    fn given_bad_numbers_when_parsed_then_bad_number_errors_name_the_field() {
        let cases = [
            (
                "20261123 14:22:38,vm,bob,h,x5,0,CONNECT,,,0",
                AuditField::ConnectionId,
                "x5",
            ),
            (
                "20261123 14:22:38,vm,bob,h,,0,CONNECT,,,0",
                AuditField::ConnectionId,
                "",
            ),
            (
                "20261123 14:22:38,vm,bob,h,-5,0,CONNECT,,,0",
                AuditField::ConnectionId,
                "-5",
            ),
            (
                "20261123 14:22:38,vm,bob,h,5,1.5,CONNECT,,,0",
                AuditField::QueryId,
                "1.5",
            ),
            (
                "20261123 14:22:38,vm,bob,h,5,0,CONNECT,,,ok",
                AuditField::Retcode,
                "ok",
            ),
            (
                "20261123 14:22:38,vm,bob,h,5,0,CONNECT,,,4294967296",
                AuditField::Retcode,
                "4294967296",
            ),
            (
                "20261123 14:22:38,vm,bob,h,18446744073709551616,0,CONNECT,,,0",
                AuditField::ConnectionId,
                "18446744073709551616",
            ),
        ];
        for (line, field, value) in cases {
            match err(line) {
                AuditLineError::BadNumber {
                    field: got_field,
                    value: got_value,
                    ..
                } => assert_eq!((got_field, got_value.as_str()), (field, value), "{line}"),
                other => panic!("{line}: {other:?}"),
            }
        }
    }

    #[test]
    fn given_a_negative_retcode_when_parsed_then_it_is_kept() {
        let record = parse_line("20261123 14:22:38,vm,bob,h,5,0,QUERY,,'SELECT 1',-1").unwrap();

        assert_eq!(record.retcode, -1);
    }

    #[test]
    fn given_broken_quotes_when_parsed_then_quote_errors_with_columns() {
        assert_eq!(
            err("20261123 14:22:38,vm,bob,h,5,0,QUERY,db,'SELECT 1,0"),
            AuditLineError::UnterminatedQuote { column: 41 }
        );
        assert_eq!(
            err(r"20261123 14:22:38,vm,bob,h,5,0,QUERY,db,'SELECT \',0"),
            AuditLineError::UnterminatedQuote { column: 41 }
        );
        assert_eq!(
            err(r"20261123 14:22:38,vm,bob,h,5,0,QUERY,db,'ends in a backslash\"),
            AuditLineError::UnterminatedQuote { column: 41 }
        );
        assert_eq!(
            err("20261123 14:22:38,vm,bob,h,5,0,QUERY,db,'é' x,0"),
            AuditLineError::TextAfterQuote { column: 45 }
        );
        assert_eq!(
            err("20261123 14:22:38,vm,'bob',h,5,0,QUERY,db,'x',0"),
            AuditLineError::UnexpectedQuote {
                field: AuditField::Username
            }
        );
        assert_eq!(
            err("'20261123 14:22:38',vm,bob,h,5,0,QUERY,db,'x',0"),
            AuditLineError::UnexpectedQuote {
                field: AuditField::Timestamp
            }
        );
    }

    #[test]
    fn given_bad_operations_when_parsed_then_bad_operation_errors() {
        for bad in ["", "query", "Query", "1QUERY", "QUE RY", "QUERY;"] {
            let line = format!("20261123 14:22:38,vm,bob,h,5,0,{bad},,,0");
            assert_eq!(
                err(&line),
                AuditLineError::BadOperation {
                    value: bad.to_owned()
                },
                "{bad:?}"
            );
        }
    }

    #[test]
    fn given_other_operations_when_parsed_then_they_keep_their_name() {
        for name in [
            "QUERY_DDL",
            "QUERY_DML",
            "READ",
            "WRITE",
            "CREATE",
            "PROXY_CONNECT",
        ] {
            let line = format!("20261123 14:22:38,vm,bob,h,5,9,{name},db,t,0");
            assert_eq!(
                parse_line(&line).unwrap().operation,
                AuditOperation::Other(name.to_owned())
            );
        }
    }

    #[test]
    fn given_a_long_bad_value_when_reported_then_the_error_keeps_only_a_snippet() {
        let long = "9".repeat(30) + &"x".repeat(200);
        let line = format!("20261123 14:22:38,vm,bob,h,{long},0,CONNECT,,,0");

        let error = err(&line);

        let AuditLineError::BadNumber { value, .. } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(value.chars().count(), SNIPPET_CHARS + 1);
        assert!(value.ends_with('…'));
        assert!(error.to_string().len() < 100, "{error}");
    }

    #[test]
    fn given_errors_when_displayed_then_they_say_what_is_wrong() {
        assert_eq!(
            AuditLineError::FieldCount { found: 12 }.to_string(),
            "expected 10 comma-separated fields, found 12"
        );
        assert_eq!(
            err("20261123 14:22:38,vm,bob,h,5,x,CONNECT,,,0").to_string(),
            "bad query id \"x\""
        );
        assert_eq!(
            AuditLineError::UnexpectedQuote {
                field: AuditField::ServerHost
            }
            .to_string(),
            "the server host is quoted; only the object may be"
        );
    }

    #[test]
    fn given_a_log_with_blank_and_bad_lines_when_parsed_then_good_and_bad_are_counted_with_line_numbers()
     {
        let text = "20261123 14:22:38,vm,bob,localhost,5,0,CONNECT,,,0\n\
                    \n\
                    not an audit line\n\
                    \x20\x20\n\
                    20261123 14:22:39,vm,bob,localhost,5,1,QUERY,,'SELECT 1',0\r\n\
                    20261123 14:22:40,vm,bob,localhost,5,2,QUERY,,'SELECT \\',0\n\
                    20261123 14:22:41,vm,bob,localhost,5,0,DISCONNECT,,,0";

        let (records, errors) = parse_log(text);

        assert_eq!(records.len(), 3);
        assert_eq!(records[1].object, "SELECT 1");
        assert_eq!(
            errors,
            vec![
                (3, AuditLineError::FieldCount { found: 1 }),
                (6, AuditLineError::UnterminatedQuote { column: 47 }),
            ]
        );
    }

    #[test]
    fn given_the_real_mariadb_log_when_parsed_then_only_the_comma_user_lines_fail() {
        let (records, errors) = parse_log(MARIADB);

        assert_eq!(records.len(), 49);
        assert_eq!(
            errors,
            vec![
                (50, AuditLineError::FieldCount { found: 12 }),
                (51, AuditLineError::FieldCount { found: 12 }),
                (52, AuditLineError::FieldCount { found: 12 }),
            ]
        );
        let failed: Vec<_> = records
            .iter()
            .filter(|r| r.operation == AuditOperation::FailedConnect)
            .collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(
            (failed[0].username.as_str(), failed[0].retcode),
            ("bob", 1045)
        );
        assert!(records.iter().all(|r| r.server_host == "vm"));
    }

    #[test]
    fn given_the_slide_fixture_when_parsed_as_a_log_then_nothing_fails() {
        let (records, errors) = parse_log(SLIDES);

        assert_eq!(errors, vec![]);
        assert_eq!(records.len(), SLIDES.lines().count());
    }

    fn any_operation() -> impl Strategy<Value = AuditOperation> {
        prop_oneof![
            Just(AuditOperation::Connect),
            Just(AuditOperation::Disconnect),
            Just(AuditOperation::FailedConnect),
            Just(AuditOperation::Query),
            "[A-Z][A-Z0-9_]{0,15}"
                .prop_filter("a known name", |n| {
                    !["CONNECT", "DISCONNECT", "FAILED_CONNECT", "QUERY"].contains(&n.as_str())
                })
                .prop_map(AuditOperation::Other),
        ]
    }

    fn plain() -> impl Strategy<Value = String> {
        "[A-Za-z0-9._%@:-]{0,16}"
    }

    fn object() -> impl Strategy<Value = String> {
        "([a-z ,'\\\\\n\r\t`]|\\PC){0,60}"
    }

    prop_compose! {
        fn any_record(max_micros: i64, whole_seconds: bool)(
            micros in 0..=max_micros,
            server_host in plain(),
            username in plain(),
            host in plain(),
            connection_id in any::<u64>(),
            query_id in any::<u64>(),
            operation in any_operation(),
            database in plain(),
            object in object(),
            retcode in any::<i32>(),
        ) -> AuditRecord {
            let micros = if whole_seconds { micros - micros % 1_000_000 } else { micros };
            AuditRecord {
                at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).unwrap(),
                resolution: if whole_seconds { Duration::SECOND } else { Duration::MICROSECOND },
                server_host, username, host, connection_id, query_id, operation, database, object, retcode,
            }
        }
    }

    const YEAR_9999_MICROS: i64 = 253_402_300_799_999_999;

    fn near_miss_line() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just(String::new()),
                Just(" ".to_owned()),
                Just("20261123 14:22:38".to_owned()),
                Just("1678427005974410".to_owned()),
                Just("QUERY".to_owned()),
                Just("'a,\\'b\\\\'".to_owned()),
                "[0-9]{1,21}",
                "-?[0-9]{1,11}",
                "[ a-zA-Z0-9,'\\\\:]{0,12}",
            ],
            0..14,
        )
        .prop_map(|fields| fields.join(","))
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic(line in any::<String>()) {
            let _ = parse_line(&line);
            let _ = parse_log(&line);
        }

        #[test]
        fn arbitrary_bytes_read_lossily_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = parse_line(&text);
            let (records, errors) = parse_log(&text);
            let non_blank = text.lines().filter(|l| !l.trim_ascii().is_empty()).count();
            prop_assert_eq!(records.len() + errors.len(), non_blank);
        }

        #[test]
        fn near_miss_lines_never_panic(line in near_miss_line()) {
            if let Ok(record) = parse_line(&line) {
                for plain in [&record.server_host, &record.username, &record.host, &record.database] {
                    prop_assert!(!plain.contains(','), "{:?} from {:?}", plain, line);
                }
            }
        }

        #[test]
        fn aurora_lines_round_trip(record in any_record(YEAR_9999_MICROS, false)) {
            let line = format_line(&record, Shape::Aurora);
            prop_assert_eq!(parse_line(&line), Ok(record), "{}", line);
        }

        #[test]
        fn mariadb_lines_round_trip(record in any_record(YEAR_9999_MICROS, true)) {
            let line = format_line(&record, Shape::MariaDb);
            prop_assert_eq!(parse_line(&line), Ok(record), "{}", line);
        }

        #[test]
        fn lines_without_a_query_id_round_trip_with_query_id_zero(record in any_record(YEAR_9999_MICROS, false)) {
            let line = format_line(&record, Shape::AuroraWithoutQueryId);
            prop_assert_eq!(parse_line(&line), Ok(AuditRecord { query_id: 0, ..record }), "{}", line);
        }
    }
}
