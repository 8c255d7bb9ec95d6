//! Embedded adapters for running the whole broker on one machine: SQLite `RequestStore`, a 0600
//! secret file `SecretVault`, a no-EC2 `BastionFleet`, and the ASL runner that executes
//! `statemachine/powerpole.asl.json` in-process.
//!
//! So far: the ASL runner ([`asl`]), the scaled clock for demos ([`ScaledClock`]) and opening
//! the SQLite database ([`sqlite`]).

pub mod asl;
pub mod clock;
pub mod error;
pub mod sqlite;

pub use asl::{AslRunner, Definition, RunnerOptions, TaskFailure, TaskHandlers};
pub use clock::ScaledClock;
pub use error::{Error, Result};
