//! Shared fixtures of the runner tests (also included by powerpole-local's tests of the workflow
//! and the store on the runner's database): scripted task handlers that record every call with
//! the clock's time, a runner on a manual clock, and polling helpers.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the fixtures"
)]

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use powerpole_asl::{AslRunner, Definition, RunnerOptions, TaskFailure, TaskHandlers};
use powerpole_asl::{EventKind, ExecutionDescription, HistoryEvent};
use powerpole_core::ManualClock;
use serde_json::{Value, json};
use sqlx::SqlitePool;
use time::OffsetDateTime;
use time::macros::datetime;

/// The time every test starts at.
pub const T0: OffsetDateTime = datetime!(2026-11-23 14:00 UTC);

/// How long a test waits for something before failing.
pub const PATIENCE: StdDuration = StdDuration::from_secs(10);

/// What a scripted function does on one call.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Returns this value.
    Ok(Value),
    /// Fails with this error name and cause.
    Fail(&'static str, &'static str),
    /// Never returns.
    Hang,
    /// Returns this value once the clock shows the time.
    OkAt(OffsetDateTime, Value),
}

/// One recorded call.
#[derive(Debug, Clone)]
pub struct Call {
    pub function: String,
    pub payload: Value,
    pub at: OffsetDateTime,
}

/// Handlers that follow a script per function (echoing the payload once the script is used
/// up) and record every call.
#[derive(Clone)]
pub struct Scripted {
    clock: ManualClock,
    calls: Arc<Mutex<Vec<Call>>>,
    script: Arc<Mutex<HashMap<String, VecDeque<Reply>>>>,
}

impl Scripted {
    pub fn new(clock: &ManualClock) -> Self {
        Self {
            clock: clock.clone(),
            calls: Arc::default(),
            script: Arc::default(),
        }
    }

    /// Queues `replies` for `function`.
    pub fn script(&self, function: &str, replies: impl IntoIterator<Item = Reply>) {
        self.script
            .lock()
            .unwrap()
            .entry(function.to_owned())
            .or_default()
            .extend(replies);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn calls_of(&self, function: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.function == function)
            .collect()
    }

    /// Waits until `function` was called `n` times; returns the calls.
    pub async fn wait_calls(&self, function: &str, n: usize) -> Vec<Call> {
        let started = std::time::Instant::now();
        loop {
            let calls = self.calls_of(function);
            if calls.len() >= n {
                return calls;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{function} was called {} times, expected {n}",
                calls.len()
            );
            tokio::time::sleep(StdDuration::from_millis(2)).await;
        }
    }
}

impl TaskHandlers for Scripted {
    fn invoke(
        &self,
        function: &str,
        payload: Value,
    ) -> impl Future<Output = Result<Value, TaskFailure>> + Send {
        self.calls.lock().unwrap().push(Call {
            function: function.to_owned(),
            payload: payload.clone(),
            at: powerpole_core::Clock::now(&self.clock),
        });
        let reply = self
            .script
            .lock()
            .unwrap()
            .get_mut(function)
            .and_then(VecDeque::pop_front);
        let clock = self.clock.clone();
        async move {
            match reply {
                None => Ok(json!({ "echo": payload })),
                Some(Reply::Ok(value)) => Ok(value),
                Some(Reply::Fail(error, cause)) => Err(TaskFailure::new(error, cause)),
                Some(Reply::Hang) => std::future::pending().await,
                Some(Reply::OkAt(at, value)) => {
                    while powerpole_core::Clock::now(&clock) < at {
                        tokio::time::sleep(StdDuration::from_millis(2)).await;
                    }
                    Ok(value)
                }
            }
        }
    }
}

/// Options with a short poll interval, so tests react to the manual clock quickly.
pub fn options() -> RunnerOptions {
    RunnerOptions {
        poll_interval: StdDuration::from_millis(3),
        ..RunnerOptions::default()
    }
}

/// A runner of `definition` on a fresh in-memory database, a manual clock at [`T0`], and
/// scripted handlers.
pub async fn runner(
    definition: Value,
) -> (AslRunner<ManualClock, Scripted>, ManualClock, Scripted) {
    let pool = powerpole_asl::sqlite::in_memory().await.unwrap();
    runner_on(pool, definition, ManualClock::new(T0)).await
}

/// A runner of `definition` on `pool` with `clock`.
pub async fn runner_on(
    pool: SqlitePool,
    definition: Value,
    clock: ManualClock,
) -> (AslRunner<ManualClock, Scripted>, ManualClock, Scripted) {
    let handlers = Scripted::new(&clock);
    let runner = runner_with(pool, definition, &clock, handlers.clone()).await;
    (runner, clock, handlers)
}

/// A runner of `definition` on `pool` with `clock` and `handlers`.
pub async fn runner_with(
    pool: SqlitePool,
    definition: Value,
    clock: &ManualClock,
    handlers: Scripted,
) -> AslRunner<ManualClock, Scripted> {
    let definition = Definition::from_json(&definition.to_string()).unwrap();
    AslRunner::new(pool, definition, handlers, clock.clone(), options())
        .await
        .unwrap()
}

/// A runner of `definition` on the database file `db` with `clock` and `handlers`: a new one on
/// the same file resumes what the last one left running.
pub async fn runner_on_file(
    db: &TempDb,
    definition: Value,
    clock: &ManualClock,
    handlers: &Scripted,
) -> AslRunner<ManualClock, Scripted> {
    let pool = powerpole_asl::sqlite::open(db.path()).await.unwrap();
    runner_with(pool, definition, clock, handlers.clone()).await
}

/// Waits until the execution's history satisfies `done`; returns it.
pub async fn history_until(
    runner: &AslRunner<ManualClock, Scripted>,
    name: &str,
    what: &str,
    done: impl Fn(&[HistoryEvent]) -> bool,
) -> Vec<HistoryEvent> {
    let started = std::time::Instant::now();
    loop {
        let history = runner.history(name).await.unwrap();
        if done(&history) {
            return history;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "gave up waiting for {what}; history: {history:#?}"
        );
        tokio::time::sleep(StdDuration::from_millis(2)).await;
    }
}

/// How many events of the history match `pred`.
pub fn count(history: &[HistoryEvent], pred: impl Fn(&EventKind) -> bool) -> usize {
    history.iter().filter(|e| pred(&e.kind)).count()
}

/// The ends of every wait the history started.
pub fn wait_deadlines(history: &[HistoryEvent]) -> Vec<OffsetDateTime> {
    history
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::WaitStarted { until } => Some(until),
            _ => None,
        })
        .collect()
}

/// Waits until the execution has ended.
pub async fn finished(
    runner: &AslRunner<ManualClock, Scripted>,
    name: &str,
) -> ExecutionDescription {
    runner.wait_for_completion(name, PATIENCE).await.unwrap()
}

/// Lets the runner look at the clock a few times; used before asserting that nothing happened.
pub async fn settle() {
    tokio::time::sleep(StdDuration::from_millis(40)).await;
}

/// A database file no other test uses, removed (with its WAL files) when dropped.
pub struct TempDb(PathBuf);

impl TempDb {
    pub fn new(tag: &str) -> Self {
        let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
        Self(std::env::temp_dir().join(format!(
            "powerpole-local-{tag}-{}-{nanos}.sqlite",
            std::process::id()
        )))
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut name = self.0.clone().into_os_string();
            name.push(suffix);
            let _ = std::fs::remove_file(name);
        }
    }
}

/// A lambda:invoke Task state calling `function` with the whole input as payload.
pub fn invoke(function: &str, extra: Value) -> Value {
    let mut state = json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": { "FunctionName": function, "Payload.$": "$" },
    });
    if let (Value::Object(s), Value::Object(e)) = (&mut state, extra) {
        s.extend(e);
    }
    state
}
