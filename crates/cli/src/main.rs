//! The `powerpole` command: the embedded broker (`serve`), what its state holds (`requests`),
//! its sweeper (`sweep`), its service-level figures (`slo`), a request's session receipt
//! (`audit`), the security team's period report (`report`), and a preview of what a request would create (`preview`).
#![allow(
    clippy::print_stdout,
    reason = "a command-line tool prints its answers"
)]

mod audit;
mod config;
#[cfg(feature = "demo")]
mod demo;
mod report;
mod requests;
mod serve;
mod slo;
mod state;
mod sweep;

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use powerpole_core::{DbUsername, Email, Permission};

use crate::config::{Config, ConfigError};

/// Temporary, approved access to Aurora MySQL through throw-away bastions, driven from Slack.
#[derive(Debug, Parser)]
#[command(name = "powerpole", version, about)]
struct Cli {
    /// The configuration file (see powerpole.example.toml), before or after the subcommand.
    #[arg(long, short, global = true, env = "POWERPOLE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

impl Cli {
    /// The configuration file, which every subcommand but `demo` and `preview` reads.
    fn config_path(&self) -> Result<&std::path::Path, ConfigError> {
        self.config.as_deref().ok_or_else(|| ConfigError {
            key: "--config".into(),
            problem: "this command reads a configuration file: pass --config FILE \
                      (anywhere on the command line) or set POWERPOLE_CONFIG"
                .into(),
        })
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the whole broker on this machine: Slack endpoints, SQLite state, the workflow, the
    /// MySQL adapter (see powerpole.example.toml).
    Serve,
    /// Shows the broker at work on this machine: one request from /powerpole to the end, with a
    /// simulated Slack and a compressed clock, against a MySQL/MariaDB server; leaves nothing
    /// behind. `scripts/demo.sh` starts a throw-away MariaDB for it.
    #[cfg(feature = "demo")]
    Demo {
        /// An administrator URL of the server to use (mysql://USER:PASSWORD@HOST:PORT).
        #[arg(long, env = "POWERPOLE_DEMO_ADMIN_URL", hide_env_values = true)]
        admin_url: String,
        /// How many times faster than real time the clock runs.
        #[arg(long, default_value_t = 120.0)]
        speed: f64,
        /// The server's `server_audit` log file, for the session receipt and the report
        /// (`scripts/demo.sh` sets it).
        #[arg(long, env = "POWERPOLE_DEMO_AUDIT_LOG")]
        audit_log: Option<PathBuf>,
        /// Where the demo writes the security team's report of its run.
        #[arg(long, default_value_os_t = std::env::temp_dir().join("powerpole-demo-report.html"))]
        report: PathBuf,
        /// The requester also asks for 15 more minutes from the ready message and an approver
        /// approves it on the extension card: the same session outlives the old end.
        #[arg(long)]
        extend: bool,
    },
    /// Shows the requests the broker's state holds.
    Requests {
        #[command(subcommand)]
        what: RequestsCommand,
    },
    /// Sweeps once: settles requests the workflow left behind and removes DB users and secrets
    /// no live request owns (what the sweep Lambda does every 5 minutes on AWS). Safe while
    /// `serve` runs; exits 1 when something could not be done (the next sweep retries).
    Sweep {
        /// Minutes past a deadline left to the workflow before the sweeper acts.
        #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u16).range(1..=240))]
        grace_minutes: u16,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Shows the service-level figures of the broker's state, each objective met or missed:
    /// build success, time to ready and to approve, teardowns, oldest live bastion and DB user.
    Slo {
        /// Over at most this many of the most recent requests.
        #[arg(long, default_value_t = slo::MAX_REQUESTS)]
        limit: usize,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Shows a request's session receipt: who asked and approved, the window granted and used,
    /// statements by kind, every DDL/DCL statement, failures, tables touched (read from the
    /// clusters' `audit_log` files).
    Audit {
        /// The request id.
        id: String,
        /// JSON instead of markdown.
        #[arg(long)]
        json: bool,
    },
    /// Writes the security team's report of a period: every request with its receipt (who
    /// asked, why, who decided, the window requested, granted and used, statements by kind,
    /// DDL/DCL verbatim, failures, logins), anomalies first, and who held access to which
    /// cluster each day — one self-contained HTML file, or JSON Lines with --json.
    Report {
        /// The period's start: RFC 3339 or YYYY-MM-DD (midnight UTC); 7 days before --until
        /// by default.
        #[arg(long)]
        since: Option<String>,
        /// The period's end (excluded): RFC 3339 or YYYY-MM-DD; the broker's now by default.
        #[arg(long)]
        until: Option<String>,
        /// Only this cluster's requests.
        #[arg(long)]
        cluster: Option<String>,
        /// Only this person's requests: a Slack user id or a DB user name.
        #[arg(long)]
        user: Option<String>,
        /// A host logins are expected from (MySQL pattern, `%` any run of characters, or a
        /// network such as 10.0.16.0/20; repeat for more); other hosts are anomalies. Default: this machine (localhost, 127.0.0.1,
        /// ::1); `%` expects every host.
        #[arg(long = "expected-host", value_name = "PATTERN")]
        expected_hosts: Vec<String>,
        /// The file to write (default report.html; with --json, stdout).
        #[arg(long)]
        out: Option<PathBuf>,
        /// JSON Lines (one object per request, then per orphan) instead of HTML.
        #[arg(long)]
        json: bool,
    },
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

#[derive(Debug, Subcommand)]
enum RequestsCommand {
    /// The most recent requests, newest first.
    List {
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One request with every event.
    Show {
        /// The request id.
        id: String,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = run(&cli);
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if let Some(config) = error.downcast_ref::<ConfigError>() {
                eprintln!("powerpole: {config}");
                return ExitCode::from(2);
            }
            eprintln!("powerpole: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<()> {
    let config = || cli.config_path();
    match &cli.command {
        Command::Preview { email, permission } => preview(email, permission),
        #[cfg(feature = "demo")]
        Command::Demo {
            admin_url,
            speed,
            audit_log,
            report,
            extend,
        } => {
            powerpole_slack::install_crypto_provider();
            let options = demo::Options {
                speed: *speed,
                audit_log: audit_log.clone(),
                report: report.clone(),
                extend: *extend,
            };
            runtime()?.block_on(demo::run(admin_url, &options))
        }
        Command::Serve => runtime()?.block_on(serve(config()?)),
        Command::Requests { what } => runtime()?.block_on(requests(config()?, what)),
        Command::Sweep {
            grace_minutes,
            json,
        } => {
            powerpole_slack::install_crypto_provider();
            runtime()?.block_on(sweep(config()?, *grace_minutes, *json))
        }
        Command::Slo { limit, json } => runtime()?.block_on(slo(config()?, *limit, *json)),
        Command::Audit { id, json } => runtime()?.block_on(audit(config()?, id, *json)),
        Command::Report {
            since,
            until,
            cluster,
            user,
            expected_hosts,
            out,
            json,
        } => {
            let options = report::Options {
                since: since.clone(),
                until: until.clone(),
                cluster: cluster.clone(),
                user: user.clone(),
                expected_hosts: expected_hosts.clone(),
                out: out.clone(),
                json: *json,
            };
            runtime()?.block_on(report(config()?, &options))
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Logs as JSON lines when not on a terminal (a service), readable text otherwise; `RUST_LOG`
/// filters (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::io::stderr().is_terminal() {
        builder.init();
    } else {
        builder.json().with_current_span(false).init();
    }
}

async fn serve(path: &std::path::Path) -> anyhow::Result<()> {
    init_logging();
    powerpole_slack::install_crypto_provider();
    let config = Config::load(path)?;
    serve::check_clusters(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| ConfigError {
            key: "server.listen".into(),
            problem: format!("cannot listen on {}: {e}", config.listen),
        })?;
    tracing::info!(listen = %listener.local_addr()?, "serving the Slack endpoints");
    let broker = Arc::new(serve::Server::start(&config).await?);
    broker.serve(listener).await
}

async fn requests(path: &std::path::Path, what: &RequestsCommand) -> anyhow::Result<()> {
    let config = Config::load(path)?;
    let store = requests::open(&config.state_dir).await?;
    let shown = match what {
        RequestsCommand::List { limit, json } => requests::list(&store, *limit, *json).await?,
        RequestsCommand::Show { id, json } => requests::show(&store, id, *json).await?,
    };
    print_answer(&shown)?;
    Ok(())
}

async fn sweep(path: &std::path::Path, grace_minutes: u16, json: bool) -> anyhow::Result<()> {
    let config = Config::load(path)?;
    let grace = time::Duration::minutes(i64::from(grace_minutes));
    let outcome = sweep::run(&config, grace, json).await?;
    print_answer(&outcome.shown)?;
    if outcome.problems > 0 {
        anyhow::bail!("{} problem(s) left for the next sweep", outcome.problems);
    }
    Ok(())
}

async fn slo(path: &std::path::Path, limit: usize, as_json: bool) -> anyhow::Result<()> {
    let config = Config::load(path)?;
    let store = requests::open(&config.state_dir).await?;
    let now = state::broker_now(&config.state_dir);
    print_answer(&slo::show(&store, limit, now, as_json).await?)?;
    Ok(())
}

async fn audit(path: &std::path::Path, id: &str, as_json: bool) -> anyhow::Result<()> {
    let config = Config::load(path)?;
    print_answer(&audit::show(&config, id, as_json).await?)?;
    Ok(())
}

async fn report(path: &std::path::Path, options: &report::Options) -> anyhow::Result<()> {
    let config = Config::load(path)?;
    print_answer(&report::run(&config, options).await?.shown)?;
    Ok(())
}

/// Prints a command's answer; a reader that went away (`| head`) is not an error.
fn print_answer(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
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
