//! `powerpole sweep`: one sweep of the local broker's state, its MySQL servers and its secret
//! files — what the `sweep` Lambda does on its schedule on AWS. Safe while `powerpole serve`
//! runs (the store's writes are conditional) and safe to repeat; run it from cron or a timer.

use powerpole_core::Broker;
use powerpole_core::sweep::SweepReport;
use powerpole_core::usecases::SweepPolicy;
use time::Duration;

use crate::config::Config;
use crate::requests::at;
use crate::{serve, state};

/// What a sweep printed, and whether it met problems (the command then fails).
pub struct Outcome {
    /// The report, as text or JSON.
    pub shown: String,
    /// How many problems the sweep could not settle this time.
    pub problems: usize,
}

/// Sweeps once with the default limits and `grace`, and renders the report.
///
/// # Errors
/// When the state or the ports cannot be opened.
pub async fn run(config: &Config, grace: Duration, as_json: bool) -> anyhow::Result<Outcome> {
    serve::create_private_dir(&config.state_dir)?;
    let clock = serve::clock(&config.state_dir, config.clock_speed)?;
    let pool = powerpole_local::sqlite::open(state::database(&config.state_dir)).await?;
    let broker = Broker::new(
        serve::ports(config, &pool, clock).await?,
        serve::clusters(config),
    );
    let policy = SweepPolicy {
        grace,
        ..SweepPolicy::default()
    };
    let report = broker.sweep(&policy).await?;
    let shown = if as_json {
        serde_json::to_string_pretty(&powerpole_tasks::sweep_json(&report))?
    } else {
        text(&report)
    };
    Ok(Outcome {
        shown,
        problems: report.problems.len(),
    })
}

fn age(d: Option<Duration>) -> String {
    d.map_or_else(
        || "none".to_owned(),
        |d| format!("{} min", d.whole_minutes()),
    )
}

/// The report as lines a person reads.
fn text(report: &SweepReport) -> String {
    let mut lines = vec![format!(
        "sweep at {}: {} action(s), {} problem(s)",
        at(report.at),
        report.actions.len(),
        report.problems.len()
    )];
    for action in &report.actions {
        lines.push(format!("{:<8} {action}", action.verb()));
    }
    for problem in &report.problems {
        lines.push(format!("problem  {problem}"));
    }
    lines.push(format!(
        "oldest bastion left: {}; oldest DB user left: {}",
        age(report.oldest_bastion),
        age(report.oldest_account)
    ));
    lines.join("\n")
}
