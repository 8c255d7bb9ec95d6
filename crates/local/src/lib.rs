//! Embedded adapters for running the whole broker on one machine: SQLite `RequestStore`, a 0600
//! secret file `SecretVault`, a no-EC2 `BastionFleet`, and the ASL runner that executes
//! `statemachine/powerpole.asl.json` in-process.
//!
//! Built by the workflow and local-mode issues.
