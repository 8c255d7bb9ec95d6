//! Opening the SQLite database the runner keeps its journal in (and that the embedding program
//! may share for its own tables): a file (WAL, so readers do not block the writer) or a private
//! in-memory database for tests.

use std::path::Path;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

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
