//! The runner: executes a [`Definition`] in-process, one tokio task per execution, with every
//! step written to the SQLite journal first so a new runner on the same database resumes each
//! unfinished execution where it was.
//!
//! Time comes from a [`Clock`]: deadlines (Wait, Retry backoff, Task and execution timeouts) are
//! computed from `clock.now()`, and waiting sleeps at most one poll interval of real time before
//! looking at the clock again, so a `ManualClock` moved by a test and a `ScaledClock` both work.
//!
//! Resuming re-enters the current state: a Task that was being invoked is invoked again
//! (handlers are idempotent), a Wait or a retry backoff keeps its deadline, and a
//! `.waitForTaskToken` task keeps its token and its timeout (its function is invoked again only
//! if it had not returned).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use powerpole_core::Clock;
use powerpole_core::ports::ExecutionStatus;
use rand::RngExt;
use serde_json::{Value, json};
use sqlx::SqlitePool;
use time::{Duration, OffsetDateTime};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::definition::{
    Catcher, DataPath, Definition, Kind, Next, Retrier, State, Task, Text, Timeout, WaitFor,
};
use crate::error::{Error, Result};
use crate::journal::{
    Created, Cursor, EventKind, ExecutionRow, Finish, HistoryEvent, Journal, NewEvent, Phase,
    TokenState,
};
use crate::task::{
    NO_CHOICE_MATCHED, RESULT_PATH_MATCH_FAILURE, RUNTIME, TIMEOUT, TaskFailure, TaskHandlers,
    error_matches, lambda_result,
};
use crate::template::resolve;
use crate::timefmt;

/// The account and region the local ARNs name.
const LOCAL_ARN_PREFIX: &str = "arn:aws:states:local:000000000000";

/// Step Functions' limit on an execution name, in characters.
const MAX_NAME_CHARS: usize = 80;

/// How the runner behaves.
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    /// The state machine's name, for `$$.StateMachine` and the execution ARNs.
    pub state_machine_name: String,
    /// The longest real time a waiting execution sleeps before looking at the clock again.
    pub poll_interval: std::time::Duration,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        Self {
            state_machine_name: "powerpole".to_owned(),
            poll_interval: std::time::Duration::from_millis(100),
        }
    }
}

/// What [`AslRunner::start_execution`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// The execution's ARN.
    pub execution_id: String,
    /// When it started.
    pub start_time: OffsetDateTime,
    /// `false` when the execution already existed with the same input.
    pub created: bool,
}

/// An execution as [`AslRunner::describe`] reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionDescription {
    /// The execution's name.
    pub name: String,
    /// The execution's ARN.
    pub execution_id: String,
    /// Where it is.
    pub status: ExecutionStatus,
    /// Its input.
    pub input: Value,
    /// Its output, once it succeeded.
    pub output: Option<Value>,
    /// The error it failed, timed out or was stopped with.
    pub error: Option<String>,
    /// The cause that came with the error.
    pub cause: Option<String>,
    /// When it started.
    pub start_time: OffsetDateTime,
    /// When it ended.
    pub stop_time: Option<OffsetDateTime>,
    /// The state it is in while running.
    pub current_state: Option<String>,
}

/// An in-process interpreter of one state machine, persisting to SQLite. Clones share the
/// executions; dropping the last clone aborts every execution task (their journal stays, and a
/// new runner resumes them).
pub struct AslRunner<C, H> {
    inner: Arc<Inner<C, H>>,
    tasks: Arc<Mutex<JoinSet<()>>>,
}

impl<C, H> Clone for AslRunner<C, H> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            tasks: Arc::clone(&self.tasks),
        }
    }
}

impl<C, H> std::fmt::Debug for AslRunner<C, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AslRunner")
            .field("state_machine", &self.inner.options.state_machine_name)
            .finish_non_exhaustive()
    }
}

struct Inner<C, H> {
    journal: Journal,
    definition: Definition,
    handlers: H,
    clock: C,
    options: RunnerOptions,
    live: Mutex<HashMap<String, Arc<Live>>>,
}

/// The signals of one running execution task.
#[derive(Default)]
struct Live {
    stopped: AtomicBool,
    wake: Notify,
}

impl<C: Clock + 'static, H: TaskHandlers> AslRunner<C, H> {
    /// A runner of `definition` on the database `pool`, creating its tables if needed, and
    /// resuming every execution the journal holds as running. One runner per database.
    ///
    /// # Errors
    /// [`Error::Sqlite`] when the journal cannot be read or written; [`Error::Corrupt`] when a
    /// running execution's record cannot be read back.
    pub async fn new(
        pool: SqlitePool,
        definition: Definition,
        handlers: H,
        clock: C,
        options: RunnerOptions,
    ) -> Result<Self> {
        let journal = Journal::new(pool).await?;
        let runner = Self {
            inner: Arc::new(Inner {
                journal,
                definition,
                handlers,
                clock,
                options,
                live: Mutex::new(HashMap::new()),
            }),
            tasks: Arc::new(Mutex::new(JoinSet::new())),
        };
        for row in runner
            .inner
            .journal
            .list(Some(ExecutionStatus::Running))
            .await?
        {
            let Some(cursor) = &row.cursor else {
                return Err(Error::corrupt("execution cursor", &row.name));
            };
            let now = runner.inner.clock.now();
            let resumed = [NewEvent::at(&cursor.state, EventKind::ExecutionResumed)];
            if runner
                .inner
                .journal
                .advance(&row.name, cursor, now, &resumed, None)
                .await?
            {
                tracing::info!(execution = %row.name, state = %cursor.state, "execution resumed");
                runner.spawn(&row.name);
            }
        }
        Ok(runner)
    }

    /// Starts an execution named `name` with `input`. Starting a name that exists with the same
    /// input returns that execution (`created: false`), whether or not it has finished.
    ///
    /// # Errors
    /// [`Error::InvalidExecutionName`]; [`Error::ExecutionAlreadyExists`] when the name exists
    /// with another input; [`Error::Sqlite`].
    pub async fn start_execution(&self, name: &str, input: Value) -> Result<Started> {
        if name.is_empty()
            || name.chars().count() > MAX_NAME_CHARS
            || name.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(Error::InvalidExecutionName(name.to_owned()));
        }
        let inner = &self.inner;
        let now = inner.clock.now();
        let start_at = inner.definition.start_at().to_owned();
        let deadline = inner.definition.timeout_seconds.map(|s| now + seconds(s));
        let row = ExecutionRow {
            name: name.to_owned(),
            input: input.clone(),
            status: ExecutionStatus::Running,
            start_time: now,
            deadline,
            stop_time: None,
            output: None,
            error: None,
            cause: None,
            cursor: Some(Cursor {
                state: start_at.clone(),
                input: input.clone(),
                entered: now,
                retries: Vec::new(),
                attempts: 0,
                phase: Phase::Ready,
            }),
        };
        let events = [
            NewEvent::execution(EventKind::ExecutionStarted {
                input: input.clone(),
            }),
            NewEvent::at(
                &start_at,
                EventKind::StateEntered {
                    input: input.clone(),
                },
            ),
        ];
        match inner.journal.create(&row, &events).await? {
            Created::New => {
                tracing::info!(execution = %name, state = %start_at, "execution started");
                self.spawn(name);
                Ok(Started {
                    execution_id: inner.execution_arn(name),
                    start_time: now,
                    created: true,
                })
            }
            Created::Existing(found) if found.input == input => {
                if found.status == ExecutionStatus::Running {
                    self.spawn(name);
                }
                Ok(Started {
                    execution_id: inner.execution_arn(name),
                    start_time: found.start_time,
                    created: false,
                })
            }
            Created::Existing(_) => Err(Error::ExecutionAlreadyExists(name.to_owned())),
        }
    }

    /// Where the execution `name` is.
    ///
    /// # Errors
    /// [`Error::ExecutionDoesNotExist`]; [`Error::Sqlite`].
    pub async fn describe(&self, name: &str) -> Result<ExecutionDescription> {
        let row = self
            .inner
            .journal
            .execution(name)
            .await?
            .ok_or_else(|| Error::ExecutionDoesNotExist(name.to_owned()))?;
        Ok(self.inner.description(row))
    }

    /// Every execution (only those in `status`, if given), oldest first.
    ///
    /// # Errors
    /// [`Error::Sqlite`].
    pub async fn list(&self, status: Option<ExecutionStatus>) -> Result<Vec<ExecutionDescription>> {
        let rows = self.inner.journal.list(status).await?;
        Ok(rows
            .into_iter()
            .map(|row| self.inner.description(row))
            .collect())
    }

    /// The execution's history, oldest first.
    ///
    /// # Errors
    /// [`Error::ExecutionDoesNotExist`]; [`Error::Sqlite`].
    pub async fn history(&self, name: &str) -> Result<Vec<HistoryEvent>> {
        if self.inner.journal.execution(name).await?.is_none() {
            return Err(Error::ExecutionDoesNotExist(name.to_owned()));
        }
        self.inner.journal.history(name).await
    }

    /// Completes the `.waitForTaskToken` task waiting on `token` with `output`.
    ///
    /// # Errors
    /// [`Error::TaskDoesNotExist`] for an unknown token; [`Error::TaskNotWaiting`] when its
    /// task was already answered, timed out, or its execution ended; [`Error::Sqlite`].
    pub async fn send_task_success(&self, token: &str, output: Value) -> Result<()> {
        self.settle(token, TokenState::Succeeded(output)).await
    }

    /// Fails the `.waitForTaskToken` task waiting on `token` with `error` (which its `Retry`
    /// and `Catch` match) and `cause`.
    ///
    /// # Errors
    /// As [`AslRunner::send_task_success`].
    pub async fn send_task_failure(&self, token: &str, error: &str, cause: &str) -> Result<()> {
        self.settle(
            token,
            TokenState::Failed {
                error: error.to_owned(),
                cause: cause.to_owned(),
            },
        )
        .await
    }

    async fn settle(&self, token: &str, outcome: TokenState) -> Result<()> {
        let inner = &self.inner;
        let row = inner
            .journal
            .token(token)
            .await?
            .ok_or(Error::TaskDoesNotExist)?;
        match row.state {
            TokenState::Waiting => {}
            TokenState::Succeeded(_) => {
                return Err(Error::TaskNotWaiting("already succeeded".into()));
            }
            TokenState::Failed { .. } => {
                return Err(Error::TaskNotWaiting("already failed".into()));
            }
            TokenState::Closed(why) => return Err(Error::TaskNotWaiting(why)),
        }
        if row.deadline.is_some_and(|d| inner.clock.now() >= d) {
            return Err(Error::TaskNotWaiting("timed out".into()));
        }
        if !inner.journal.settle_token(token, &outcome).await? {
            return Err(Error::TaskNotWaiting("answered meanwhile".into()));
        }
        tracing::info!(execution = %row.execution, "task token answered");
        if let Some(live) = inner.live(&row.execution) {
            live.wake.notify_one();
        }
        Ok(())
    }

    /// Stops the running execution `name`: it ends `ABORTED` with `error` and `cause`, and its
    /// waiting task tokens are closed.
    ///
    /// # Errors
    /// [`Error::ExecutionDoesNotExist`]; [`Error::ExecutionNotRunning`] when it has already
    /// ended; [`Error::Sqlite`].
    pub async fn stop_execution(&self, name: &str, error: &str, cause: &str) -> Result<()> {
        let inner = &self.inner;
        let finish = Finish {
            status: ExecutionStatus::Aborted,
            output: None,
            error: Some(error.to_owned()),
            cause: Some(cause.to_owned()),
        };
        let event = [NewEvent::execution(EventKind::ExecutionAborted {
            error: error.to_owned(),
            cause: cause.to_owned(),
        })];
        let now = inner.clock.now();
        if !inner.journal.finish(name, &finish, now, &event).await? {
            return Err(match inner.journal.execution(name).await? {
                Some(_) => Error::ExecutionNotRunning(name.to_owned()),
                None => Error::ExecutionDoesNotExist(name.to_owned()),
            });
        }
        tracing::info!(execution = %name, error, "execution stopped");
        if let Some(live) = inner.live(name) {
            live.stopped.store(true, Ordering::SeqCst);
            live.wake.notify_one();
        }
        Ok(())
    }

    /// Waits (in real time, at most `patience`) until the execution is no longer running.
    ///
    /// # Errors
    /// [`Error::StillRunning`] when it is still running after `patience`;
    /// [`Error::ExecutionDoesNotExist`]; [`Error::Sqlite`].
    pub async fn wait_for_completion(
        &self,
        name: &str,
        patience: std::time::Duration,
    ) -> Result<ExecutionDescription> {
        let started = std::time::Instant::now();
        loop {
            let description = self.describe(name).await?;
            if description.status != ExecutionStatus::Running {
                return Ok(description);
            }
            if started.elapsed() >= patience {
                return Err(Error::StillRunning(name.to_owned()));
            }
            tokio::time::sleep(self.inner.options.poll_interval).await;
        }
    }

    /// Aborts every execution task and waits until they are gone. Their journal stays as it
    /// is: a new runner on the same database resumes them.
    pub async fn shutdown(&self) {
        let mut tasks =
            std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        tasks.shutdown().await;
        self.inner
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Runs the execution `name` in its own task, unless one already does.
    fn spawn(&self, name: &str) {
        let live = {
            let mut map = self
                .inner
                .live
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if map.contains_key(name) {
                return;
            }
            let live = Arc::new(Live::default());
            map.insert(name.to_owned(), Arc::clone(&live));
            live
        };
        let inner = Arc::clone(&self.inner);
        let name = name.to_owned();
        let span = tracing::info_span!("execution", execution = %name);
        let mut tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        while tasks.try_join_next().is_some() {}
        tasks.spawn(drive(inner, name, live).instrument(span));
    }
}

impl<C, H> Inner<C, H> {
    fn execution_arn(&self, name: &str) -> String {
        format!(
            "{LOCAL_ARN_PREFIX}:execution:{}:{name}",
            self.options.state_machine_name
        )
    }

    fn state_machine_arn(&self) -> String {
        format!(
            "{LOCAL_ARN_PREFIX}:stateMachine:{}",
            self.options.state_machine_name
        )
    }

    fn live(&self, name: &str) -> Option<Arc<Live>> {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    fn description(&self, row: ExecutionRow) -> ExecutionDescription {
        ExecutionDescription {
            execution_id: self.execution_arn(&row.name),
            current_state: row.cursor.map(|c| c.state),
            name: row.name,
            status: row.status,
            input: row.input,
            output: row.output,
            error: row.error,
            cause: row.cause,
            start_time: row.start_time,
            stop_time: row.stop_time,
        }
    }
}

/// The body of an execution task.
async fn drive<C: Clock + 'static, H: TaskHandlers>(
    inner: Arc<Inner<C, H>>,
    name: String,
    live: Arc<Live>,
) {
    let outcome = match inner.journal.execution(&name).await {
        Ok(Some(row)) if row.status == ExecutionStatus::Running => match row.cursor.clone() {
            Some(cursor) => {
                let mut run = Run {
                    inner: &inner,
                    live: &live,
                    exec: row,
                    cursor,
                };
                run.run().await
            }
            None => Err(Error::corrupt("execution cursor", &name)),
        },
        Ok(_) => Ok(()),
        Err(err) => Err(err),
    };
    if let Err(err) = outcome {
        tracing::error!(
            execution = %name,
            error = %err,
            "execution task ended on a journal failure; a new runner resumes it"
        );
    }
    let mut map = inner.live.lock().unwrap_or_else(PoisonError::into_inner);
    if map.get(&name).is_some_and(|l| Arc::ptr_eq(l, &live)) {
        map.remove(&name);
    }
}

/// Whether the execution goes on.
enum Flow {
    Continue,
    Done,
}

/// What a state's step came to.
enum Outcome {
    /// Leave the state with `output` for `next`.
    Go {
        output: Value,
        next: Next,
        events: Vec<NewEvent>,
    },
    /// Stay, recording progress (and a new task token, if any).
    Stay {
        phase: Phase,
        events: Vec<NewEvent>,
        token: Option<(String, Option<OffsetDateTime>)>,
    },
    /// Go on in memory without recording anything.
    Proceed(Phase),
    /// The state failed; a Task's `Retry` and `Catch` get a chance.
    Error(TaskFailure, Vec<NewEvent>),
    /// A `Succeed` state.
    Succeed(Value),
    /// A `Fail` state.
    Fail(TaskFailure),
    /// The execution was stopped or timed out (already recorded).
    Done,
}

impl From<TaskFailure> for Outcome {
    fn from(failure: TaskFailure) -> Self {
        Self::Error(failure, Vec::new())
    }
}

/// Why a pause ended.
enum Woke {
    /// The deadline passed.
    Due,
    /// Something was sent to the execution (a token answer); look again.
    Signal,
    /// The execution was stopped.
    Stopped,
    /// The execution ran past its `TimeoutSeconds`.
    TimedOut,
}

/// How a race of a handler against the clock ended.
enum Raced {
    Returned(Result<Value, TaskFailure>),
    Woke(Woke),
}

/// The token a `.waitForTaskToken` attempt was issued, and when the attempt times out.
struct IssuedToken {
    token: String,
    deadline: Option<OffsetDateTime>,
}

impl IssuedToken {
    /// The phase of the attempt once its function returned: waiting for the token.
    fn invoked(self) -> Phase {
        Phase::Token {
            token: self.token,
            deadline: self.deadline,
            invoked: true,
        }
    }
}

/// Turns a state error into the step's outcome.
macro_rules! attempt {
    ($e:expr) => {
        match $e {
            Ok(value) => value,
            Err(failure) => return Ok(failure.into()),
        }
    };
}

/// One execution being driven.
struct Run<'a, C, H> {
    inner: &'a Inner<C, H>,
    live: &'a Live,
    exec: ExecutionRow,
    cursor: Cursor,
}

impl<C: Clock + 'static, H: TaskHandlers> Run<'_, C, H> {
    fn name(&self) -> &str {
        &self.exec.name
    }

    fn now(&self) -> OffsetDateTime {
        self.inner.clock.now()
    }

    async fn run(&mut self) -> Result<()> {
        loop {
            if self.live.stopped.load(Ordering::SeqCst) {
                return Ok(());
            }
            if self.exec.deadline.is_some_and(|d| self.now() >= d) {
                self.time_out().await?;
                return Ok(());
            }
            let Some(state) = self.inner.definition.state(&self.cursor.state) else {
                let failure = TaskFailure::runtime(format!(
                    "state {:?} is not in the definition",
                    self.cursor.state
                ));
                self.fail(failure, Vec::new()).await?;
                return Ok(());
            };
            let outcome = self.step(state).await?;
            let flow = match outcome {
                Outcome::Go {
                    output,
                    next,
                    events,
                } => self.transition(output, &next, events).await?,
                Outcome::Stay {
                    phase,
                    events,
                    token,
                } => self.stay(phase, events, token).await?,
                Outcome::Proceed(phase) => {
                    self.cursor.phase = phase;
                    Flow::Continue
                }
                Outcome::Error(failure, events) => {
                    self.handle_error(state, failure, events).await?
                }
                Outcome::Succeed(output) => {
                    let exited = vec![NewEvent::at(
                        &self.cursor.state,
                        EventKind::StateExited {
                            output: output.clone(),
                        },
                    )];
                    self.succeed(output, exited).await?
                }
                Outcome::Fail(failure) => self.fail(failure, Vec::new()).await?,
                Outcome::Done => Flow::Done,
            };
            if matches!(flow, Flow::Done) {
                return Ok(());
            }
        }
    }

    async fn step(&mut self, state: &State) -> Result<Outcome> {
        match &state.kind {
            Kind::Pass {
                parameters,
                result,
                result_path,
                next,
            } => {
                let effective = attempt!(input_path(state, &self.cursor.input));
                let context = self.context(None);
                let parameters = match parameters {
                    Some(template) => attempt!(template.eval(&effective, &context)),
                    None => effective,
                };
                let result = result.clone().unwrap_or(parameters);
                let combined = attempt!(result_path_apply(result_path, &self.cursor.input, result));
                Ok(Outcome::Go {
                    output: attempt!(output_path(state, combined)),
                    next: next.clone(),
                    events: Vec::new(),
                })
            }
            Kind::Choice { choices, default } => {
                let effective = attempt!(input_path(state, &self.cursor.input));
                let context = self.context(None);
                let mut chosen = None;
                for (rule, next) in choices {
                    if attempt!(rule.holds(&effective, &context)) {
                        chosen = Some(next);
                        break;
                    }
                }
                let Some(next) = chosen.or(default.as_ref()) else {
                    return Ok(TaskFailure::new(
                        NO_CHOICE_MATCHED,
                        "no Choice rule matched and there is no Default",
                    )
                    .into());
                };
                Ok(Outcome::Go {
                    output: attempt!(output_path(state, effective)),
                    next: Next::State(next.clone()),
                    events: vec![NewEvent::at(
                        &self.cursor.state,
                        EventKind::ChoiceMade { next: next.clone() },
                    )],
                })
            }
            Kind::Wait { until, next } => match self.cursor.phase.clone() {
                Phase::Waiting { until } => {
                    if !self.wait_until(until).await? {
                        return Ok(Outcome::Done);
                    }
                    let effective = attempt!(input_path(state, &self.cursor.input));
                    Ok(Outcome::Go {
                        output: attempt!(output_path(state, effective)),
                        next: next.clone(),
                        events: Vec::new(),
                    })
                }
                _ => {
                    let effective = attempt!(input_path(state, &self.cursor.input));
                    let until = attempt!(self.wait_deadline(until, &effective));
                    Ok(Outcome::Stay {
                        phase: Phase::Waiting { until },
                        events: vec![NewEvent::at(
                            &self.cursor.state,
                            EventKind::WaitStarted { until },
                        )],
                        token: None,
                    })
                }
            },
            Kind::Succeed => {
                let effective = attempt!(input_path(state, &self.cursor.input));
                Ok(Outcome::Succeed(attempt!(output_path(state, effective))))
            }
            Kind::Fail { error, cause } => {
                let context = self.context(None);
                let error = attempt!(fail_text(error.as_ref(), &self.cursor.input, &context));
                let cause = attempt!(fail_text(cause.as_ref(), &self.cursor.input, &context));
                Ok(Outcome::Fail(TaskFailure::new(error, cause)))
            }
            Kind::Task(task) => self.task_step(state, task).await,
        }
    }

    /// A Task state's step, by how far its current attempt got.
    async fn task_step(&mut self, state: &State, task: &Task) -> Result<Outcome> {
        match self.cursor.phase.clone() {
            Phase::Ready | Phase::Waiting { .. } => Ok(self.schedule_attempt(state, task)),
            Phase::Backoff { until } => Ok(if self.wait_until(until).await? {
                Outcome::Proceed(Phase::Ready)
            } else {
                Outcome::Done
            }),
            Phase::Invoking { deadline } => self.invoke_attempt(state, task, deadline).await,
            Phase::Token {
                token,
                deadline,
                invoked,
            } => {
                let issued = IssuedToken { token, deadline };
                if invoked {
                    self.await_token(state, task, issued).await
                } else {
                    self.invoke_with_token(state, task, issued).await
                }
            }
        }
    }

    /// Starts the next attempt: its deadline, and for a `.waitForTaskToken` task a new token.
    fn schedule_attempt(&mut self, state: &State, task: &Task) -> Outcome {
        let deadline = match input_path(state, &self.cursor.input)
            .and_then(|effective| self.task_deadline(task, &effective))
        {
            Ok(deadline) => deadline,
            Err(failure) => return failure.into(),
        };
        self.cursor.attempts += 1;
        let attempt = self.cursor.attempts;
        let function = task.function.clone();
        if !task.wait_for_token {
            return Outcome::Stay {
                phase: Phase::Invoking { deadline },
                events: vec![NewEvent::at(
                    &self.cursor.state,
                    EventKind::TaskScheduled {
                        function,
                        attempt,
                        timeout_at: deadline,
                    },
                )],
                token: None,
            };
        }
        let token = new_token();
        tracing::info!(state = %self.cursor.state, attempt, "task token issued");
        Outcome::Stay {
            phase: Phase::Token {
                token: token.clone(),
                deadline,
                invoked: false,
            },
            events: vec![NewEvent::at(
                &self.cursor.state,
                EventKind::TaskTokenIssued {
                    function,
                    attempt,
                    token: token.clone(),
                    timeout_at: deadline,
                },
            )],
            token: Some((token, deadline)),
        }
    }

    /// When an attempt starting now times out: `TimeoutSeconds`, or `TimeoutSecondsPath` read
    /// from the state's effective input.
    fn task_deadline(
        &self,
        task: &Task,
        effective: &Value,
    ) -> Result<Option<OffsetDateTime>, TaskFailure> {
        let timeout = match &task.timeout {
            None => return Ok(None),
            Some(Timeout::Seconds(s)) => *s,
            Some(Timeout::Path(path)) => {
                let value = resolve(path, effective, &Value::Null)?;
                match value.as_u64() {
                    Some(s) if s > 0 => s,
                    _ => {
                        return Err(TaskFailure::runtime(format!(
                            "TimeoutSecondsPath {path} is not a positive integer: {value}"
                        )));
                    }
                }
            }
        };
        Ok(Some(self.now() + seconds(timeout)))
    }

    /// The task's `Payload` over the state's effective input, and the context object it was
    /// computed with (holding `token`, if any).
    fn payload(
        &self,
        state: &State,
        task: &Task,
        token: Option<&str>,
    ) -> Result<(Value, Value), TaskFailure> {
        let effective = input_path(state, &self.cursor.input)?;
        let context = self.context(token);
        let payload = task.payload.eval(&effective, &context)?;
        Ok((payload, context))
    }

    /// Invokes the function of a `lambda:invoke` attempt until its deadline and reads its
    /// result.
    async fn invoke_attempt(
        &self,
        state: &State,
        task: &Task,
        deadline: Option<OffsetDateTime>,
    ) -> Result<Outcome> {
        let (payload, context) = attempt!(self.payload(state, task, None));
        tracing::debug!(state = %self.cursor.state, function = %task.function, "invoking");
        match self.invoke(&task.function, payload, deadline).await {
            Raced::Returned(Ok(output)) => {
                let request_id = format!(
                    "{}-{}-{}",
                    self.name(),
                    self.cursor.state,
                    self.cursor.attempts
                );
                let result = lambda_result(output, &request_id);
                Ok(self.task_result(state, task, result, &context))
            }
            Raced::Returned(Err(failure)) => Ok(failure.into()),
            Raced::Woke(Woke::Due) => Ok(task_timed_out().into()),
            Raced::Woke(woke) => self.ended(woke).await,
        }
    }

    /// Invokes the function of a `.waitForTaskToken` attempt with its token; once the function
    /// returned, the task waits for the token.
    async fn invoke_with_token(
        &self,
        state: &State,
        task: &Task,
        issued: IssuedToken,
    ) -> Result<Outcome> {
        let (payload, _) = attempt!(self.payload(state, task, Some(&issued.token)));
        match self.invoke(&task.function, payload, issued.deadline).await {
            Raced::Returned(Ok(_)) => Ok(Outcome::Stay {
                phase: issued.invoked(),
                events: vec![NewEvent::at(&self.cursor.state, EventKind::TaskInvoked)],
                token: None,
            }),
            Raced::Returned(Err(failure)) => {
                let why = format!("its function failed: {}", failure.error);
                self.close_token(issued, why, failure).await
            }
            Raced::Woke(Woke::Due) => self.expire_token(issued).await,
            Raced::Woke(woke) => self.ended(woke).await,
        }
    }

    /// Waits until the token is answered or the attempt's deadline passes.
    async fn await_token(
        &self,
        state: &State,
        task: &Task,
        issued: IssuedToken,
    ) -> Result<Outcome> {
        loop {
            let row = self
                .inner
                .journal
                .token(&issued.token)
                .await?
                .ok_or_else(|| Error::corrupt("task token", "missing token record"))?;
            match row.state {
                TokenState::Succeeded(output) => {
                    let context = self.context(Some(&issued.token));
                    return Ok(self.task_result(state, task, output, &context));
                }
                TokenState::Failed { error, cause } => {
                    return Ok(TaskFailure::new(error, cause).into());
                }
                TokenState::Closed(why) => {
                    return Ok(
                        TaskFailure::runtime(format!("the task token was closed: {why}")).into(),
                    );
                }
                TokenState::Waiting => {}
            }
            match self.pause(issued.deadline).await {
                Woke::Signal => {}
                Woke::Due => return self.expire_token(issued).await,
                woke => return self.ended(woke).await,
            }
        }
    }

    /// Closes a token whose task timed out; if it was answered meanwhile, looks again.
    async fn expire_token(&self, issued: IssuedToken) -> Result<Outcome> {
        self.close_token(issued, "timed out".to_owned(), task_timed_out())
            .await
    }

    /// Closes a waiting token for `why`, failing the attempt with `failure`; if it was answered
    /// meanwhile, the task reads the answer instead.
    async fn close_token(
        &self,
        issued: IssuedToken,
        why: String,
        failure: TaskFailure,
    ) -> Result<Outcome> {
        let closed = TokenState::Closed(why);
        if self
            .inner
            .journal
            .settle_token(&issued.token, &closed)
            .await?
        {
            Ok(failure.into())
        } else {
            Ok(Outcome::Proceed(issued.invoked()))
        }
    }

    /// The outcome once a pause ended with the execution over: a timeout is recorded, a stop
    /// already was.
    async fn ended(&self, woke: Woke) -> Result<Outcome> {
        if matches!(woke, Woke::TimedOut) {
            self.time_out().await?;
        }
        Ok(Outcome::Done)
    }

    /// `ResultSelector`, `ResultPath`, `OutputPath` over a task's result.
    fn task_result(&self, state: &State, task: &Task, result: Value, context: &Value) -> Outcome {
        let succeeded = vec![NewEvent::at(&self.cursor.state, EventKind::TaskSucceeded)];
        let selected = match &task.result_selector {
            Some(selector) => match selector.eval(&result, context) {
                Ok(value) => value,
                Err(failure) => return Outcome::Error(failure, succeeded),
            },
            None => result,
        };
        let combined = match result_path_apply(&task.result_path, &self.cursor.input, selected) {
            Ok(value) => value,
            Err(failure) => return Outcome::Error(failure, succeeded),
        };
        match output_path(state, combined) {
            Ok(output) => Outcome::Go {
                output,
                next: task.next.clone(),
                events: succeeded,
            },
            Err(failure) => Outcome::Error(failure, succeeded),
        }
    }

    /// Invokes a handler, racing it against the task's deadline and the execution's end.
    async fn invoke(
        &self,
        function: &str,
        payload: Value,
        deadline: Option<OffsetDateTime>,
    ) -> Raced {
        let call = self.inner.handlers.invoke(function, payload);
        tokio::pin!(call);
        loop {
            tokio::select! {
                result = &mut call => return Raced::Returned(result),
                woke = self.pause(deadline) => match woke {
                    Woke::Signal => {}
                    other => return Raced::Woke(other),
                },
            }
        }
    }

    /// Waits until `until`; `false` when the execution ended first (a timeout is recorded).
    async fn wait_until(&self, until: OffsetDateTime) -> Result<bool> {
        loop {
            match self.pause(Some(until)).await {
                Woke::Signal => {}
                Woke::Due => return Ok(true),
                woke => {
                    self.ended(woke).await?;
                    return Ok(false);
                }
            }
        }
    }

    /// Sleeps until `until` passes, the execution is stopped or times out, or a signal comes.
    async fn pause(&self, until: Option<OffsetDateTime>) -> Woke {
        loop {
            if self.live.stopped.load(Ordering::SeqCst) {
                return Woke::Stopped;
            }
            let now = self.now();
            if self.exec.deadline.is_some_and(|d| now >= d) {
                return Woke::TimedOut;
            }
            if until.is_some_and(|u| now >= u) {
                return Woke::Due;
            }
            let poll = self.inner.options.poll_interval;
            let nearest = [until, self.exec.deadline].into_iter().flatten().min();
            let nap = nearest.map_or(poll, |at| {
                std::time::Duration::try_from(at - now).map_or(poll, |left| left.min(poll))
            });
            tokio::select! {
                () = tokio::time::sleep(nap) => {}
                () = self.live.wake.notified() => return Woke::Signal,
            }
        }
    }

    /// When a Wait state ends.
    fn wait_deadline(
        &self,
        until: &WaitFor,
        effective: &Value,
    ) -> Result<OffsetDateTime, TaskFailure> {
        Ok(match until {
            WaitFor::Seconds(s) => self.cursor.entered + seconds(*s),
            WaitFor::Timestamp(at) => *at,
            WaitFor::SecondsPath(path) => {
                let value = resolve(path, effective, &Value::Null)?;
                let s = value.as_u64().ok_or_else(|| {
                    TaskFailure::runtime(format!(
                        "SecondsPath {path} is not a non-negative integer: {value}"
                    ))
                })?;
                self.cursor.entered + seconds(s)
            }
            WaitFor::TimestampPath(path) => {
                let value = resolve(path, effective, &Value::Null)?;
                value.as_str().and_then(timefmt::parse).ok_or_else(|| {
                    TaskFailure::runtime(format!(
                        "TimestampPath {path} is not an RFC 3339 timestamp: {value}"
                    ))
                })?
            }
        })
    }

    /// The context object (`$$`).
    fn context(&self, token: Option<&str>) -> Value {
        let mut context = json!({
            "Execution": {
                "Id": self.inner.execution_arn(self.name()),
                "Input": self.exec.input,
                "Name": self.name(),
                "RoleArn": "arn:aws:iam::000000000000:role/powerpole-local",
                "StartTime": timefmt::context(self.exec.start_time),
            },
            "State": {
                "EnteredTime": timefmt::context(self.cursor.entered),
                "Name": self.cursor.state,
                "RetryCount": self.cursor.retries.iter().sum::<u64>(),
            },
            "StateMachine": {
                "Id": self.inner.state_machine_arn(),
                "Name": self.inner.options.state_machine_name,
            },
        });
        if let (Some(token), Value::Object(map)) = (token, &mut context) {
            map.insert("Task".to_owned(), json!({ "Token": token }));
        }
        context
    }

    /// Retry, then Catch, then fail the execution.
    async fn handle_error(
        &mut self,
        state: &State,
        failure: TaskFailure,
        mut events: Vec<NewEvent>,
    ) -> Result<Flow> {
        let Kind::Task(task) = &state.kind else {
            return self.fail(failure, events).await;
        };
        let here = self.cursor.state.clone();
        tracing::info!(state = %here, error = %failure.error, "task failed");
        events.push(NewEvent::at(
            &here,
            EventKind::TaskFailed {
                error: failure.error.clone(),
                cause: failure.cause.clone(),
            },
        ));
        if let Some((retry, until)) = self.next_retry(&task.retry, &failure.error) {
            tracing::info!(state = %here, error = %failure.error, retry, "retry scheduled");
            events.push(NewEvent::at(
                &here,
                EventKind::RetryScheduled {
                    error: failure.error.clone(),
                    retry,
                    until,
                },
            ));
            return self.stay(Phase::Backoff { until }, events, None).await;
        }
        match task
            .catch
            .iter()
            .find(|c| handles(&c.errors, &failure.error))
        {
            Some(catcher) => self.catch(catcher, failure, events).await,
            None => self.fail(failure, events).await,
        }
    }

    /// The retry the first retrier matching `error` still allows: its number (from 1, counted
    /// in the cursor) and when it starts. `None` when no retrier matches or it is used up.
    fn next_retry(&mut self, retriers: &[Retrier], error: &str) -> Option<(u64, OffsetDateTime)> {
        let i = retriers.iter().position(|r| handles(&r.errors, error))?;
        let retrier = &retriers[i];
        if self.cursor.retries.len() <= i {
            self.cursor.retries.resize(i + 1, 0);
        }
        let done = self.cursor.retries[i];
        if done >= retrier.max_attempts {
            return None;
        }
        let retry = done + 1;
        self.cursor.retries[i] = retry;
        Some((retry, self.now() + backoff(retrier, retry)))
    }

    /// Goes to the catcher's next state with the error placed at its `ResultPath`.
    async fn catch(
        &mut self,
        catcher: &Catcher,
        failure: TaskFailure,
        mut events: Vec<NewEvent>,
    ) -> Result<Flow> {
        let output =
            match result_path_apply(&catcher.result_path, &self.cursor.input, failure.to_value()) {
                Ok(output) => output,
                Err(problem) => return self.fail(problem, events).await,
            };
        tracing::info!(
            state = %self.cursor.state,
            error = %failure.error,
            next = %catcher.next,
            "error caught"
        );
        events.push(NewEvent::at(
            &self.cursor.state,
            EventKind::ErrorCaught {
                error: failure.error,
                next: catcher.next.clone(),
            },
        ));
        self.transition(output, &Next::State(catcher.next.clone()), events)
            .await
    }

    async fn stay(
        &mut self,
        phase: Phase,
        events: Vec<NewEvent>,
        token: Option<(String, Option<OffsetDateTime>)>,
    ) -> Result<Flow> {
        self.cursor.phase = phase;
        let token = token.as_ref().map(|(t, d)| (t.as_str(), *d));
        let moved = self
            .inner
            .journal
            .advance(self.name(), &self.cursor, self.now(), &events, token)
            .await?;
        Ok(if moved { Flow::Continue } else { Flow::Done })
    }

    async fn transition(
        &mut self,
        output: Value,
        next: &Next,
        mut events: Vec<NewEvent>,
    ) -> Result<Flow> {
        events.push(NewEvent::at(
            &self.cursor.state,
            EventKind::StateExited {
                output: output.clone(),
            },
        ));
        let target = match next {
            Next::End => return self.succeed(output, events).await,
            Next::State(target) => target,
        };
        let now = self.now();
        events.push(NewEvent::at(
            target,
            EventKind::StateEntered {
                input: output.clone(),
            },
        ));
        let cursor = Cursor {
            state: target.clone(),
            input: output,
            entered: now,
            retries: Vec::new(),
            attempts: 0,
            phase: Phase::Ready,
        };
        if !self
            .inner
            .journal
            .advance(self.name(), &cursor, now, &events, None)
            .await?
        {
            return Ok(Flow::Done);
        }
        tracing::info!(state = %target, "state entered");
        self.cursor = cursor;
        Ok(Flow::Continue)
    }

    async fn succeed(&self, output: Value, mut events: Vec<NewEvent>) -> Result<Flow> {
        events.push(NewEvent::execution(EventKind::ExecutionSucceeded {
            output: output.clone(),
        }));
        let finish = Finish {
            status: ExecutionStatus::Succeeded,
            output: Some(output),
            error: None,
            cause: None,
        };
        self.finish(&finish, &events).await
    }

    async fn fail(&self, failure: TaskFailure, mut events: Vec<NewEvent>) -> Result<Flow> {
        events.push(NewEvent::execution(EventKind::ExecutionFailed {
            error: failure.error.clone(),
            cause: failure.cause.clone(),
        }));
        let finish = Finish {
            status: ExecutionStatus::Failed,
            output: None,
            error: Some(failure.error).filter(|e| !e.is_empty()),
            cause: Some(failure.cause).filter(|c| !c.is_empty()),
        };
        self.finish(&finish, &events).await
    }

    async fn time_out(&self) -> Result<()> {
        let finish = Finish {
            status: ExecutionStatus::TimedOut,
            output: None,
            error: Some(TIMEOUT.to_owned()),
            cause: Some("the execution ran longer than its TimeoutSeconds".to_owned()),
        };
        let events = [NewEvent::execution(EventKind::ExecutionTimedOut)];
        self.finish(&finish, &events).await.map(|_| ())
    }

    async fn finish(&self, finish: &Finish, events: &[NewEvent]) -> Result<Flow> {
        let now = self.now();
        if self
            .inner
            .journal
            .finish(self.name(), finish, now, events)
            .await?
        {
            tracing::info!(status = %finish.status, error = ?finish.error, "execution finished");
        }
        Ok(Flow::Done)
    }
}

/// Whether a `Retry` or `Catch` entry naming `names` handles `error`.
fn handles(names: &[String], error: &str) -> bool {
    names.iter().any(|name| error_matches(name, error))
}

/// The `States.Timeout` of a task.
fn task_timed_out() -> TaskFailure {
    TaskFailure::new(TIMEOUT, "the task ran longer than its TimeoutSeconds")
}

/// A fresh, unguessable task token.
fn new_token() -> String {
    let mut rng = rand::rng();
    format!("{:032x}{:032x}", rng.random::<u128>(), rng.random::<u128>())
}

fn seconds(s: u64) -> Duration {
    Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX))
}

/// The wait before retry number `retry` (from 1) of `retrier`.
fn backoff(retrier: &Retrier, retry: u64) -> Duration {
    let exponent = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
    #[expect(
        clippy::cast_precision_loss,
        reason = "intervals are at most 99999999 seconds, exact in an f64"
    )]
    let mut delay = retrier.interval_seconds as f64 * retrier.backoff_rate.powi(exponent);
    if let Some(max) = retrier.max_delay_seconds {
        #[expect(
            clippy::cast_precision_loss,
            reason = "delays are at most 99999999 seconds, exact in an f64"
        )]
        let max = max as f64;
        delay = delay.min(max);
    }
    Duration::checked_seconds_f64(delay.min(1e9)).unwrap_or(Duration::seconds(1_000_000_000))
}

/// `InputPath`: the part of the raw input the state works on (`{}` for `null`).
fn input_path(state: &State, raw: &Value) -> Result<Value, TaskFailure> {
    select_data(&state.input_path, raw, "InputPath")
}

/// `OutputPath`: the part of the state's result that is its output (`{}` for `null`).
fn output_path(state: &State, value: Value) -> Result<Value, TaskFailure> {
    match &state.output_path {
        DataPath::Path(path) if path.steps().is_empty() => Ok(value),
        other => select_data(other, &value, "OutputPath"),
    }
}

fn select_data(path: &DataPath, value: &Value, field: &str) -> Result<Value, TaskFailure> {
    match path {
        DataPath::Null => Ok(json!({})),
        DataPath::Path(path) => path.select(value).cloned().ok_or_else(|| {
            TaskFailure::runtime(format!(
                "{field} {path} selects nothing in the state's data"
            ))
        }),
    }
}

/// `ResultPath`: the raw input with the result placed at the path (unchanged for `null`).
fn result_path_apply(path: &DataPath, raw: &Value, result: Value) -> Result<Value, TaskFailure> {
    match path {
        DataPath::Null => Ok(raw.clone()),
        DataPath::Path(path) => path
            .put(raw, result)
            .map_err(|problem| TaskFailure::new(RESULT_PATH_MATCH_FAILURE, problem)),
    }
}

/// The `Error`/`Cause` of a Fail state.
fn fail_text(text: Option<&Text>, raw: &Value, context: &Value) -> Result<String, TaskFailure> {
    match text {
        None => Ok(String::new()),
        Some(Text::Literal(text)) => Ok(text.clone()),
        Some(Text::Computed(template)) => match template.eval(raw, context)? {
            Value::String(text) => Ok(text),
            other => Err(TaskFailure::new(
                RUNTIME,
                format!("ErrorPath/CausePath must select a string, not {other}"),
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retrier(interval: u64, rate: f64, max_delay: Option<u64>) -> Retrier {
        Retrier {
            errors: vec!["X".into()],
            interval_seconds: interval,
            max_attempts: 10,
            backoff_rate: rate,
            max_delay_seconds: max_delay,
        }
    }

    #[test]
    fn backoff_grows_by_the_rate_and_stops_at_the_cap() {
        let r = retrier(2, 3.0, None);
        let waits: Vec<i64> = (1..=4).map(|n| backoff(&r, n).whole_seconds()).collect();
        assert_eq!(waits, [2, 6, 18, 54]);
        let capped = retrier(2, 3.0, Some(10));
        let waits: Vec<i64> = (1..=4)
            .map(|n| backoff(&capped, n).whole_seconds())
            .collect();
        assert_eq!(waits, [2, 6, 10, 10]);
        let fractional = retrier(1, 1.5, None);
        assert_eq!(backoff(&fractional, 2), Duration::milliseconds(1500));
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
