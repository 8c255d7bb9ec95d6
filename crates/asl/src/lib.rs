//! An Amazon States Language runner: the same state machine file that Step Functions runs on
//! AWS (`statemachine/powerpole.asl.json`), interpreted in-process with its Lambda tasks
//! dispatched to [`TaskHandlers`] and every transition journaled in SQLite, so a new runner on
//! the same database resumes what the last one left running.
//!
//! Supported: `Task` (`arn:aws:states:::lambda:invoke` and `….waitForTaskToken`, with
//! `TimeoutSeconds`/`TimeoutSecondsPath`, `Retry`, `Catch`), `Wait` (`Seconds`, `Timestamp`,
//! `SecondsPath`, `TimestampPath`), `Choice` (every comparison operator, `And`/`Or`/`Not`,
//! `Default`), `Pass`, `Succeed`, `Fail`; `InputPath`, `Parameters`, `ResultSelector`,
//! `ResultPath`, `OutputPath`; the context object; reference paths; the intrinsic functions
//! `States.Format`, `States.StringToJson`, `States.JsonToString`, `States.Array`; top-level
//! `TimeoutSeconds`. Everything else is refused when the definition loads.
//!
//! The engine knows nothing of the broker: it takes a [`Definition`], a set of
//! [`TaskHandlers`], a clock ([`powerpole_core::Clock`]) and an SQLite pool ([`sqlite`]).

mod choice;
mod definition;
pub mod error;
mod journal;
mod path;
mod runner;
pub mod sqlite;
mod task;
mod template;
mod timefmt;

pub use definition::{Definition, substitute};
pub use error::{Error, Result};
pub use journal::{EventKind, HistoryEvent};
pub use powerpole_core::ports::ExecutionStatus;
pub use runner::{AslRunner, ExecutionDescription, RunnerOptions, Started};
pub use task::{
    ALL, INTRINSIC_FAILURE, NO_CHOICE_MATCHED, RESULT_PATH_MATCH_FAILURE, RUNTIME, TASK_FAILED,
    TIMEOUT, TaskFailure, TaskHandlers,
};
