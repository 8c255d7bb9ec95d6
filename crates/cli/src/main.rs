//! The `powerpole` command.
//!
//! Today it previews what a request would create (`powerpole preview`); the embedded broker
//! (`serve`, `demo`) and the inspection commands arrive with the local-mode issue.
#![allow(
    clippy::print_stdout,
    reason = "a command-line tool prints its answers"
)]

use anyhow::Context;
use clap::{Parser, Subcommand};
use powerpole_core::{DbUsername, Email, Permission};

/// Temporary, approved access to Aurora MySQL through throw-away bastions, driven from Slack.
#[derive(Debug, Parser)]
#[command(name = "powerpole", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Shows the DB user name and the grants a request would create, without creating anything.
    Preview {
        /// The requester's e-mail address as Slack reports it.
        #[arg(long)]
        email: String,
        /// The access level: READ, DML or DDL.
        #[arg(long, default_value = "READ")]
        permission: String,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Preview { email, permission } => preview(&email, &permission),
    }
}

fn preview(email: &str, permission: &str) -> anyhow::Result<()> {
    let email = Email::parse(email).context("the e-mail address was refused")?;
    let username = DbUsername::from_email(&email).context("no DB user name can be made")?;
    let permission: Permission = permission.parse()?;
    println!("db user:     {username}");
    println!("level:       {permission} — {}", permission.description());
    let privileges: Vec<&str> = permission.privileges().iter().map(|p| p.name()).collect();
    println!("privileges:  {}", privileges.join(", "));
    println!(
        "on:          every user schema (never mysql, sys, performance_schema, information_schema)"
    );
    println!(
        "password:    {} random characters, kept only in the secret store",
        powerpole_core::DbPassword::LEN
    );
    Ok(())
}
