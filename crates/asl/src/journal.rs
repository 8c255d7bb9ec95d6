//! The runner's durable record in SQLite: one row per execution holding where it is (the
//! cursor a restarted runner resumes from), an append-only event history, and the task tokens
//! handed out with their deadline and answer. Every change of an execution is one transaction
//! that only applies while the execution is still running, so a concurrent stop always wins.

use powerpole_core::ports::ExecutionStatus;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::sqlite;
use crate::timefmt::{self, serde_opt_ts, serde_ts};

/// A stored status read back; a name the journal never writes is corrupt.
fn parse_status(text: &str) -> Result<ExecutionStatus> {
    match ExecutionStatus::from_name(text) {
        ExecutionStatus::Other(other) => Err(Error::corrupt("execution status", other)),
        status => Ok(status),
    }
}

/// One entry of an execution's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    /// Position in the journal; later events have larger ids.
    pub id: i64,
    /// When it happened, by the runner's clock.
    pub at: OffsetDateTime,
    /// The state it is about, if any.
    pub state: Option<String>,
    /// What happened.
    pub kind: EventKind,
}

/// What happened in an execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
#[non_exhaustive]
pub enum EventKind {
    /// The execution was created with this input.
    ExecutionStarted {
        /// The execution's input.
        input: Value,
    },
    /// A new runner picked the execution up where the previous one left it.
    ExecutionResumed,
    /// A state was entered with this (raw) input.
    StateEntered {
        /// The state's input.
        input: Value,
    },
    /// A state finished with this output.
    StateExited {
        /// The state's output.
        output: Value,
    },
    /// A Choice state picked its next state.
    ChoiceMade {
        /// The chosen state.
        next: String,
    },
    /// A Wait state waits until `until`.
    WaitStarted {
        /// When the wait ends.
        #[serde(with = "serde_ts")]
        until: OffsetDateTime,
    },
    /// A task attempt is being invoked.
    TaskScheduled {
        /// The function invoked.
        function: String,
        /// The attempt, from 1.
        attempt: u64,
        /// When the attempt times out, if it can.
        #[serde(with = "serde_opt_ts")]
        timeout_at: Option<OffsetDateTime>,
    },
    /// A `.waitForTaskToken` attempt handed out `token`.
    TaskTokenIssued {
        /// The function invoked with the token.
        function: String,
        /// The attempt, from 1.
        attempt: u64,
        /// The token.
        token: String,
        /// When the task times out, if it can.
        #[serde(with = "serde_opt_ts")]
        timeout_at: Option<OffsetDateTime>,
    },
    /// The function of a `.waitForTaskToken` task returned; the task now waits for its token.
    TaskInvoked,
    /// The task succeeded.
    TaskSucceeded,
    /// The task attempt failed.
    TaskFailed {
        /// The error name.
        error: String,
        /// The cause.
        cause: String,
    },
    /// A retrier matched; the next attempt starts at `until`.
    RetryScheduled {
        /// The error retried.
        error: String,
        /// The retry number of that retrier, from 1.
        retry: u64,
        /// When the next attempt starts.
        #[serde(with = "serde_ts")]
        until: OffsetDateTime,
    },
    /// A catcher matched and sent the execution to `next`.
    ErrorCaught {
        /// The error caught.
        error: String,
        /// The catcher's next state.
        next: String,
    },
    /// The execution succeeded.
    ExecutionSucceeded {
        /// Its output.
        output: Value,
    },
    /// The execution failed.
    ExecutionFailed {
        /// The error name.
        error: String,
        /// The cause.
        cause: String,
    },
    /// The execution ran past its `TimeoutSeconds`.
    ExecutionTimedOut,
    /// The execution was stopped.
    ExecutionAborted {
        /// The error given when stopping.
        error: String,
        /// The cause given when stopping.
        cause: String,
    },
}

/// An event to append.
#[derive(Debug, Clone)]
pub(crate) struct NewEvent {
    pub(crate) state: Option<String>,
    pub(crate) kind: EventKind,
}

impl NewEvent {
    pub(crate) fn at(state: &str, kind: EventKind) -> Self {
        Self {
            state: Some(state.to_owned()),
            kind,
        }
    }

    pub(crate) fn execution(kind: EventKind) -> Self {
        Self { state: None, kind }
    }
}

/// Where a running execution is: the state, its raw input, and how far its work got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Cursor {
    pub(crate) state: String,
    pub(crate) input: Value,
    #[serde(with = "serde_ts")]
    pub(crate) entered: OffsetDateTime,
    #[serde(default)]
    pub(crate) retries: Vec<u64>,
    #[serde(default)]
    pub(crate) attempts: u64,
    pub(crate) phase: Phase,
}

/// How far a state's work got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub(crate) enum Phase {
    /// Nothing done yet (or a retry is due): start (again) from the state's input.
    Ready,
    /// A Wait state waits until `until`.
    Waiting {
        #[serde(with = "serde_ts")]
        until: OffsetDateTime,
    },
    /// A retry starts at `until`.
    Backoff {
        #[serde(with = "serde_ts")]
        until: OffsetDateTime,
    },
    /// A task attempt is being invoked.
    Invoking {
        #[serde(with = "serde_opt_ts")]
        deadline: Option<OffsetDateTime>,
    },
    /// A `.waitForTaskToken` attempt with its token; `invoked` once its function returned.
    Token {
        token: String,
        #[serde(with = "serde_opt_ts")]
        deadline: Option<OffsetDateTime>,
        invoked: bool,
    },
}

/// An execution as stored.
#[derive(Debug, Clone)]
pub(crate) struct ExecutionRow {
    pub(crate) name: String,
    pub(crate) input: Value,
    pub(crate) status: ExecutionStatus,
    pub(crate) start_time: OffsetDateTime,
    pub(crate) deadline: Option<OffsetDateTime>,
    pub(crate) stop_time: Option<OffsetDateTime>,
    pub(crate) output: Option<Value>,
    pub(crate) error: Option<String>,
    pub(crate) cause: Option<String>,
    pub(crate) cursor: Option<Cursor>,
}

/// How a finished execution ended.
#[derive(Debug, Clone)]
pub(crate) struct Finish {
    pub(crate) status: ExecutionStatus,
    pub(crate) output: Option<Value>,
    pub(crate) error: Option<String>,
    pub(crate) cause: Option<String>,
}

/// Where a task token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenState {
    /// Its task waits for it.
    Waiting,
    /// Sent back with this output.
    Succeeded(Value),
    /// Sent back as failed.
    Failed { error: String, cause: String },
    /// Its task ended otherwise (timed out, its function failed, the execution ended).
    Closed(String),
}

/// A task token as stored.
#[derive(Debug, Clone)]
pub(crate) struct TokenRow {
    pub(crate) execution: String,
    pub(crate) deadline: Option<OffsetDateTime>,
    pub(crate) state: TokenState,
}

/// What `create` found.
#[derive(Debug)]
pub(crate) enum Created {
    /// The execution is new.
    New,
    /// An execution with that name exists.
    Existing(Box<ExecutionRow>),
}

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS asl_executions (
        name TEXT PRIMARY KEY NOT NULL,
        input TEXT NOT NULL,
        status TEXT NOT NULL,
        start_time TEXT NOT NULL,
        deadline TEXT,
        stop_time TEXT,
        output TEXT,
        error TEXT,
        cause TEXT,
        cursor TEXT
    )",
    "CREATE INDEX IF NOT EXISTS asl_executions_status ON asl_executions (status)",
    "CREATE TABLE IF NOT EXISTS asl_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        execution TEXT NOT NULL REFERENCES asl_executions (name),
        at TEXT NOT NULL,
        state TEXT,
        event TEXT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS asl_events_execution ON asl_events (execution, id)",
    "CREATE TABLE IF NOT EXISTS asl_tokens (
        token TEXT PRIMARY KEY NOT NULL,
        execution TEXT NOT NULL REFERENCES asl_executions (name),
        state TEXT NOT NULL,
        deadline TEXT,
        status TEXT NOT NULL,
        output TEXT,
        error TEXT,
        cause TEXT
    )",
    "CREATE INDEX IF NOT EXISTS asl_tokens_execution ON asl_tokens (execution, status)",
];

/// The runner's tables in one SQLite database.
#[derive(Debug, Clone)]
pub(crate) struct Journal {
    pool: SqlitePool,
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::corrupt("journal record", e))
}

fn from_json<T: for<'de> Deserialize<'de>>(what: &'static str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::corrupt(what, e))
}

fn time_col(what: &'static str, text: Option<String>) -> Result<Option<OffsetDateTime>> {
    text.map(|t| timefmt::parse(&t).ok_or_else(|| Error::corrupt(what, t)))
        .transpose()
}

type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;

impl Journal {
    /// The journal in `pool`'s database, creating its tables if needed.
    pub(crate) async fn new(pool: SqlitePool) -> Result<Self> {
        sqlite::create_schema(&pool, SCHEMA)
            .await
            .map_err(Error::sqlite("create tables"))?;
        Ok(Self { pool })
    }

    async fn begin(&self) -> Result<Tx> {
        sqlite::begin_write(&self.pool)
            .await
            .map_err(Error::sqlite("begin"))
    }

    async fn append(
        tx: &mut Tx,
        execution: &str,
        at: OffsetDateTime,
        events: &[NewEvent],
    ) -> Result<()> {
        for event in events {
            sqlx::query("INSERT INTO asl_events (execution, at, state, event) VALUES (?, ?, ?, ?)")
                .bind(execution)
                .bind(sqlite::timestamp(at))
                .bind(event.state.as_deref())
                .bind(to_json(&event.kind)?)
                .execute(&mut **tx)
                .await
                .map_err(Error::sqlite("append event"))?;
        }
        Ok(())
    }

    async fn commit(tx: Tx) -> Result<()> {
        tx.commit().await.map_err(Error::sqlite("commit"))
    }

    /// Creates a running execution, or returns the one that has the name.
    pub(crate) async fn create(&self, row: &ExecutionRow, events: &[NewEvent]) -> Result<Created> {
        let mut tx = self.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO asl_executions (name, input, status, start_time, deadline, cursor)
             VALUES (?, ?, 'RUNNING', ?, ?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&row.name)
        .bind(to_json(&row.input)?)
        .bind(sqlite::timestamp(row.start_time))
        .bind(row.deadline.map(sqlite::timestamp))
        .bind(row.cursor.as_ref().map(to_json).transpose()?)
        .execute(&mut *tx)
        .await
        .map_err(Error::sqlite("insert execution"))?
        .rows_affected();
        if inserted == 0 {
            let existing = Self::fetch(&mut tx, &row.name).await?;
            return match existing {
                Some(found) => Ok(Created::Existing(Box::new(found))),
                None => Err(Error::corrupt("execution", "insert refused but no row")),
            };
        }
        Self::append(&mut tx, &row.name, row.start_time, events).await?;
        Self::commit(tx).await?;
        Ok(Created::New)
    }

    async fn fetch(tx: &mut Tx, name: &str) -> Result<Option<ExecutionRow>> {
        sqlx::query("SELECT * FROM asl_executions WHERE name = ?")
            .bind(name)
            .fetch_optional(&mut **tx)
            .await
            .map_err(Error::sqlite("read execution"))?
            .map(|row| execution_row(&row))
            .transpose()
    }

    /// The execution named `name`.
    pub(crate) async fn execution(&self, name: &str) -> Result<Option<ExecutionRow>> {
        sqlx::query("SELECT * FROM asl_executions WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(Error::sqlite("read execution"))?
            .map(|row| execution_row(&row))
            .transpose()
    }

    /// Every execution, optionally only those in `status`, oldest first.
    pub(crate) async fn list(&self, status: Option<ExecutionStatus>) -> Result<Vec<ExecutionRow>> {
        let rows = match status {
            Some(status) => {
                sqlx::query(
                    "SELECT * FROM asl_executions WHERE status = ? ORDER BY start_time, name",
                )
                .bind(status.as_str())
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query("SELECT * FROM asl_executions ORDER BY start_time, name")
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .map_err(Error::sqlite("list executions"))?;
        rows.iter().map(execution_row).collect()
    }

    /// Moves a running execution's cursor and appends `events`; `false` when the execution is
    /// no longer running (nothing is written then). A `token` is recorded as waiting.
    pub(crate) async fn advance(
        &self,
        name: &str,
        cursor: &Cursor,
        at: OffsetDateTime,
        events: &[NewEvent],
        token: Option<(&str, Option<OffsetDateTime>)>,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "UPDATE asl_executions SET cursor = ? WHERE name = ? AND status = 'RUNNING'",
        )
        .bind(to_json(cursor)?)
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(Error::sqlite("move execution"))?
        .rows_affected();
        if updated == 0 {
            return Ok(false);
        }
        if let Some((token, deadline)) = token {
            sqlx::query(
                "INSERT INTO asl_tokens (token, execution, state, deadline, status)
                 VALUES (?, ?, ?, ?, 'WAITING')",
            )
            .bind(token)
            .bind(name)
            .bind(&cursor.state)
            .bind(deadline.map(sqlite::timestamp))
            .execute(&mut *tx)
            .await
            .map_err(Error::sqlite("record task token"))?;
        }
        Self::append(&mut tx, name, at, events).await?;
        Self::commit(tx).await?;
        Ok(true)
    }

    /// Ends a running execution, closing its waiting tokens; `false` when it was not running.
    pub(crate) async fn finish(
        &self,
        name: &str,
        finish: &Finish,
        at: OffsetDateTime,
        events: &[NewEvent],
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "UPDATE asl_executions
             SET status = ?, stop_time = ?, output = ?, error = ?, cause = ?, cursor = NULL
             WHERE name = ? AND status = 'RUNNING'",
        )
        .bind(finish.status.as_str())
        .bind(sqlite::timestamp(at))
        .bind(finish.output.as_ref().map(to_json).transpose()?)
        .bind(finish.error.as_deref())
        .bind(finish.cause.as_deref())
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(Error::sqlite("finish execution"))?
        .rows_affected();
        if updated == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE asl_tokens SET status = 'CLOSED', cause = ?
             WHERE execution = ? AND status = 'WAITING'",
        )
        .bind(format!("execution {}", finish.status))
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(Error::sqlite("close task tokens"))?;
        Self::append(&mut tx, name, at, events).await?;
        Self::commit(tx).await?;
        Ok(true)
    }

    /// The token's record.
    pub(crate) async fn token(&self, token: &str) -> Result<Option<TokenRow>> {
        let row = sqlx::query("SELECT * FROM asl_tokens WHERE token = ?")
            .bind(token)
            .fetch_optional(&self.pool)
            .await
            .map_err(Error::sqlite("read task token"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let get = |col: &str| -> Result<Option<String>> {
            row.try_get(col).map_err(Error::sqlite("read task token"))
        };
        let status = get("status")?.unwrap_or_default();
        let state = match status.as_str() {
            "WAITING" => TokenState::Waiting,
            "SUCCEEDED" => TokenState::Succeeded(from_json(
                "task output",
                &get("output")?.unwrap_or_default(),
            )?),
            "FAILED" => TokenState::Failed {
                error: get("error")?.unwrap_or_default(),
                cause: get("cause")?.unwrap_or_default(),
            },
            _ => TokenState::Closed(get("cause")?.unwrap_or(status)),
        };
        Ok(Some(TokenRow {
            execution: get("execution")?.unwrap_or_default(),
            deadline: time_col("token deadline", get("deadline")?)?,
            state,
        }))
    }

    /// Settles a waiting token; `false` when it no longer waits.
    pub(crate) async fn settle_token(&self, token: &str, outcome: &TokenState) -> Result<bool> {
        let (status, output, error, cause) = match outcome {
            TokenState::Waiting => return Ok(false),
            TokenState::Succeeded(output) => ("SUCCEEDED", Some(to_json(output)?), None, None),
            TokenState::Failed { error, cause } => {
                ("FAILED", None, Some(error.as_str()), Some(cause.as_str()))
            }
            TokenState::Closed(why) => ("CLOSED", None, None, Some(why.as_str())),
        };
        let updated = sqlx::query(
            "UPDATE asl_tokens SET status = ?, output = ?, error = ?, cause = ?
             WHERE token = ? AND status = 'WAITING'",
        )
        .bind(status)
        .bind(output)
        .bind(error)
        .bind(cause)
        .bind(token)
        .execute(&self.pool)
        .await
        .map_err(Error::sqlite("settle task token"))?
        .rows_affected();
        Ok(updated == 1)
    }

    /// The execution's history, oldest first.
    pub(crate) async fn history(&self, name: &str) -> Result<Vec<HistoryEvent>> {
        let rows = sqlx::query(
            "SELECT id, at, state, event FROM asl_events WHERE execution = ? ORDER BY id",
        )
        .bind(name)
        .fetch_all(&self.pool)
        .await
        .map_err(Error::sqlite("read history"))?;
        rows.iter()
            .map(|row| {
                let read = Error::sqlite("read history");
                let at: String = row.try_get("at").map_err(read)?;
                let event: String = row
                    .try_get("event")
                    .map_err(Error::sqlite("read history"))?;
                Ok(HistoryEvent {
                    id: row.try_get("id").map_err(Error::sqlite("read history"))?,
                    at: timefmt::parse(&at).ok_or_else(|| Error::corrupt("event time", &at))?,
                    state: row
                        .try_get("state")
                        .map_err(Error::sqlite("read history"))?,
                    kind: from_json("history event", &event)?,
                })
            })
            .collect()
    }
}

fn execution_row(row: &SqliteRow) -> Result<ExecutionRow> {
    let get = |col: &str| -> Result<Option<String>> {
        row.try_get(col).map_err(Error::sqlite("read execution"))
    };
    let name = get("name")?.unwrap_or_default();
    let start = get("start_time")?.unwrap_or_default();
    Ok(ExecutionRow {
        input: from_json("execution input", &get("input")?.unwrap_or_default())?,
        status: parse_status(&get("status")?.unwrap_or_default())?,
        start_time: timefmt::parse(&start).ok_or_else(|| Error::corrupt("start time", &start))?,
        deadline: time_col("execution deadline", get("deadline")?)?,
        stop_time: time_col("stop time", get("stop_time")?)?,
        output: get("output")?
            .map(|o| from_json("execution output", &o))
            .transpose()?,
        error: get("error")?,
        cause: get("cause")?,
        cursor: get("cursor")?
            .map(|c| from_json("execution cursor", &c))
            .transpose()?,
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-23 14:00 UTC);

    fn cursor(state: &str) -> Cursor {
        Cursor {
            state: state.to_owned(),
            input: json!({"request_id": "r1"}),
            entered: T0,
            retries: vec![0],
            attempts: 0,
            phase: Phase::Ready,
        }
    }

    fn row(name: &str) -> ExecutionRow {
        ExecutionRow {
            name: name.to_owned(),
            input: json!({"request_id": "r1"}),
            status: ExecutionStatus::Running,
            start_time: T0,
            deadline: None,
            stop_time: None,
            output: None,
            error: None,
            cause: None,
            cursor: Some(cursor("A")),
        }
    }

    async fn journal() -> Journal {
        Journal::new(crate::sqlite::in_memory().await.unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn an_execution_is_created_once() {
        let j = journal().await;
        let started = [NewEvent::execution(EventKind::ExecutionStarted {
            input: json!({"request_id": "r1"}),
        })];
        assert!(matches!(
            j.create(&row("e1"), &started).await.unwrap(),
            Created::New
        ));
        match j.create(&row("e1"), &started).await.unwrap() {
            Created::Existing(found) => {
                assert_eq!(found.status, ExecutionStatus::Running);
                assert_eq!(found.cursor, Some(cursor("A")));
                assert_eq!(found.start_time, T0);
            }
            Created::New => panic!("created twice"),
        }
        assert_eq!(j.history("e1").await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_finished_execution_cannot_move_and_its_tokens_close() {
        let j = journal().await;
        j.create(&row("e1"), &[]).await.unwrap();
        let mut waiting = cursor("Approve");
        waiting.phase = Phase::Token {
            token: "tok".into(),
            deadline: Some(T0),
            invoked: false,
        };
        assert!(
            j.advance("e1", &waiting, T0, &[], Some(("tok", Some(T0))))
                .await
                .unwrap()
        );
        let token = j.token("tok").await.unwrap().unwrap();
        assert_eq!(token.state, TokenState::Waiting);
        assert_eq!(token.deadline, Some(T0));
        assert_eq!(token.execution, "e1");
        let aborted = Finish {
            status: ExecutionStatus::Aborted,
            output: None,
            error: Some("E".into()),
            cause: Some("C".into()),
        };
        assert!(j.finish("e1", &aborted, T0, &[]).await.unwrap());
        assert!(!j.finish("e1", &aborted, T0, &[]).await.unwrap());
        assert!(!j.advance("e1", &cursor("B"), T0, &[], None).await.unwrap());
        assert!(matches!(
            j.token("tok").await.unwrap().unwrap().state,
            TokenState::Closed(_)
        ));
        assert!(
            !j.settle_token("tok", &TokenState::Succeeded(json!({})))
                .await
                .unwrap()
        );
        let stored = j.execution("e1").await.unwrap().unwrap();
        assert_eq!(stored.status, ExecutionStatus::Aborted);
        assert_eq!(stored.cursor, None);
        assert_eq!(stored.error.as_deref(), Some("E"));
    }

    #[tokio::test]
    async fn a_token_settles_once() {
        let j = journal().await;
        j.create(&row("e1"), &[]).await.unwrap();
        j.advance("e1", &cursor("A"), T0, &[], Some(("tok", None)))
            .await
            .unwrap();
        let ok = TokenState::Succeeded(json!({"decision": "approve"}));
        assert!(j.settle_token("tok", &ok).await.unwrap());
        assert!(
            !j.settle_token(
                "tok",
                &TokenState::Failed {
                    error: "E".into(),
                    cause: "C".into()
                }
            )
            .await
            .unwrap()
        );
        assert_eq!(j.token("tok").await.unwrap().unwrap().state, ok);
        assert!(j.token("other").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn history_round_trips_every_field() {
        let j = journal().await;
        j.create(&row("e1"), &[]).await.unwrap();
        let events = [
            NewEvent::at(
                "A",
                EventKind::RetryScheduled {
                    error: "Retryable".into(),
                    retry: 2,
                    until: datetime!(2026-11-23 14:00:04 UTC),
                },
            ),
            NewEvent::at(
                "A",
                EventKind::TaskScheduled {
                    function: "f".into(),
                    attempt: 3,
                    timeout_at: None,
                },
            ),
        ];
        j.advance("e1", &cursor("A"), T0, &events, None)
            .await
            .unwrap();
        let history = j.history("e1").await.unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(history[0].kind, events[0].kind);
        assert_eq!(history[1].kind, events[1].kind);
        assert_eq!(history[0].state.as_deref(), Some("A"));
        assert_eq!(history[0].at, T0);
        assert!(history[0].id < history[1].id);
    }
}
