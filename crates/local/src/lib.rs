//! Embedded adapters for running the whole broker on one machine: SQLite `RequestStore`, a 0600
//! secret file `SecretVault`, a no-EC2 `BastionFleet`, and the ASL runner that executes
//! `statemachine/powerpole.asl.json` in-process.
//!
//! The ASL runner ([`asl`]) with the broker's tasks ([`BrokerTasks`]), the SQLite request store
//! ([`SqliteStore`], sharing one database file with the runner's journal), the scaled clock for
//! demos ([`ScaledClock`]), opening the SQLite database ([`sqlite`]), the secret files
//! ([`SecretFiles`]), the bastion-less fleet ([`ThisMachine`]) and what receipts read without a
//! bastion or an audit log ([`NoBastionSessions`], [`NoAuditLog`]).

pub mod asl;
pub mod clock;
pub mod error;
pub mod fleet;
pub mod sessions;
pub mod sqlite;
pub mod store;
pub mod tasks;
pub mod vault;

pub use asl::{AslRunner, Definition, RunnerOptions, TaskFailure, TaskHandlers};
pub use clock::ScaledClock;
pub use error::{Error, Result};
pub use fleet::ThisMachine;
pub use sessions::{NoAuditLog, NoBastionSessions};
pub use store::SqliteStore;
pub use tasks::BrokerTasks;
pub use vault::SecretFiles;
