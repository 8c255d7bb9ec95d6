//! The SQLite database the runner keeps its journal in, which the embedding program may share
//! for its own tables: opening it (a file in WAL mode, so readers do not block the writer, or a
//! private in-memory database for tests), and the conventions the journal's tables follow and
//! other tables in the same file can follow too: the schema created if missing, writes in
//! `BEGIN IMMEDIATE` transactions, times as fixed-width UTC text.

use std::path::Path;
use std::time::Duration;

use powerpole_core::timefmt::{Precision, rfc3339};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use time::OffsetDateTime;

use crate::error::{Error, Result};

/// How long a connection waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens (creating it if needed) the database file at `path`.
///
/// # Errors
/// [`Error::Sqlite`] when the file cannot be opened or created.
pub async fn open(path: impl AsRef<Path>) -> Result<SqlitePool> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true);
    SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(Error::sqlite("open"))
}

/// A fresh in-memory database, private to the returned pool. It lives as long as the pool: one
/// connection that never expires.
///
/// # Errors
/// [`Error::Sqlite`] when SQLite cannot be started.
pub async fn in_memory() -> Result<SqlitePool> {
    let options = SqliteConnectOptions::new()
        .in_memory(true)
        .foreign_keys(true);
    SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await
        .map_err(Error::sqlite("open in-memory"))
}

/// Creates what `schema` describes (`CREATE … IF NOT EXISTS` statements, run in order), so
/// opening a database that has it changes nothing.
///
/// # Errors
/// The driver's error of the first statement that fails.
pub async fn create_schema(pool: &SqlitePool, schema: &[&'static str]) -> Result<(), sqlx::Error> {
    for statement in schema {
        sqlx::query(*statement).execute(pool).await?;
    }
    Ok(())
}

/// Adds `column` (with its SQL `declaration`, e.g. `TEXT`) to `table` when a database created
/// before the column existed lacks it; a table that has it is left as it is.
///
/// # Errors
/// The driver's error when the table cannot be read or altered.
pub async fn add_column(
    pool: &SqlitePool,
    table: &'static str,
    column: &'static str,
    declaration: &'static str,
) -> Result<(), sqlx::Error> {
    let present: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2")
            .bind(table)
            .bind(column)
            .fetch_optional(pool)
            .await?;
    if present.is_none() {
        let alter = format!("ALTER TABLE \"{table}\" ADD COLUMN \"{column}\" {declaration}");
        sqlx::query(sqlx::AssertSqlSafe(alter))
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// Begins a write transaction holding the database's write lock from its first statement
/// (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead of failing when one
/// upgrades its read lock.
///
/// # Errors
/// The driver's error when no connection or no lock can be had.
pub async fn begin_write(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// A time as stored: RFC 3339 in UTC with nine fractional digits (`2026-11-23T14:00:00.000000000Z`),
/// fixed width, so text order is time order and nothing is rounded.
#[must_use]
pub fn timestamp(at: OffsetDateTime) -> String {
    rfc3339(at, Precision::Nanos)
}
