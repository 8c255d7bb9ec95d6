//! Embedded adapters for running the whole broker on one machine: SQLite `RequestStore`, a 0600
//! secret file `SecretVault`, a no-EC2 `BastionFleet`, and the `Workflow` on the in-process ASL
//! runner ([`powerpole_asl`]) that executes `statemachine/powerpole.asl.json`.
//!
//! The journal-backed workflow ([`JournalWorkflow`]) with the broker's tasks ([`BrokerTasks`]),
//! the SQLite request store ([`SqliteStore`], sharing one database file with the runner's
//! journal), the scaled clock for demos ([`ScaledClock`]), the secret files ([`SecretFiles`]),
//! the bastion-less fleet ([`ThisMachine`]) and what receipts read without a bastion or an audit
//! log ([`NoBastionSessions`], [`NoAuditLog`]). The runner itself is re-exported as [`asl`],
//! its database helpers as [`sqlite`].

pub mod clock;
pub mod error;
pub mod fleet;
pub mod sessions;
pub mod store;
pub mod tasks;
pub mod vault;
pub mod workflow;

pub use clock::{OnBrokerClock, ScaledClock};
pub use error::{Error, Result};
pub use fleet::ThisMachine;
pub use powerpole_asl as asl;
pub use powerpole_asl::sqlite;
pub use powerpole_asl::{AslRunner, Definition, RunnerOptions, TaskFailure, TaskHandlers};
pub use sessions::{NoAuditLog, NoBastionSessions};
pub use store::SqliteStore;
pub use tasks::BrokerTasks;
pub use vault::SecretFiles;
pub use workflow::{JournalWorkflow, STOP_ERROR, decision_output};
