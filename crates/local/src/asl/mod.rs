//! The local Amazon States Language runner: the same `statemachine/powerpole.asl.json` that
//! Step Functions runs on AWS, interpreted in-process with its Lambda tasks dispatched to
//! [`TaskHandlers`] and every transition journaled in SQLite.
//!
//! Supported: `Task` (`arn:aws:states:::lambda:invoke` and `….waitForTaskToken`, with
//! `TimeoutSeconds`/`TimeoutSecondsPath`, `Retry`, `Catch`), `Wait` (`Seconds`, `Timestamp`,
//! `SecondsPath`, `TimestampPath`), `Choice` (every comparison operator, `And`/`Or`/`Not`,
//! `Default`), `Pass`, `Succeed`, `Fail`; `InputPath`, `Parameters`, `ResultSelector`,
//! `ResultPath`, `OutputPath`; the context object; reference paths; the intrinsic functions
//! `States.Format`, `States.StringToJson`, `States.JsonToString`, `States.Array`; top-level
//! `TimeoutSeconds`. Everything else is refused when the definition loads.

mod choice;
mod definition;
mod journal;
mod path;
mod runner;
mod task;
mod template;
mod timefmt;
mod workflow;

pub use definition::{Definition, substitute};
pub use journal::{EventKind, ExecutionStatus, HistoryEvent};
pub use runner::{AslRunner, ExecutionDescription, RunnerOptions, Started};
pub use task::{
    ALL, INTRINSIC_FAILURE, NO_CHOICE_MATCHED, RESULT_PATH_MATCH_FAILURE, RUNTIME, TASK_FAILED,
    TIMEOUT, TaskFailure, TaskHandlers,
};
pub use workflow::{STOP_ERROR, decision_output};
