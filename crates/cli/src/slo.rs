//! `powerpole slo`: the service-level figures of the local state — build success, time to
//! ready, time to approve, teardowns, the oldest live bastion and DB user — each objective marked
//! met or missed. The same derivation as the Lambdas' CloudWatch metrics
//! ([`powerpole_core::slo`]), plus the orphans `powerpole sweep` recorded.

use powerpole_core::ports::{Orphan, RequestStore as _};
use powerpole_core::slo::{Objective, Objectives, Oldest, SloFigures, Spread, Status};
use powerpole_local::SqliteStore;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::requests::at;

/// The most requests the figures cover (the store's own ceiling for one listing).
pub const MAX_REQUESTS: usize = 10_000;

/// The figures of the `limit` most recent requests at `now`, as text or JSON.
///
/// # Errors
/// The store's errors.
pub async fn show(
    store: &SqliteStore,
    limit: usize,
    now: OffsetDateTime,
    as_json: bool,
) -> anyhow::Result<String> {
    let requests = store.recent(limit.min(MAX_REQUESTS)).await?;
    let figures = SloFigures::compute(&requests, now, Objectives::STANDARD);
    let orphans = Orphans::of(&store.orphans(limit.min(MAX_REQUESTS)).await?, now);
    if as_json {
        let mut shown = to_json(&figures);
        shown["orphans"] = json!({
            "last_24h": orphans.last_day,
            "recorded": orphans.recorded,
            "last_found": orphans.last_found.map(at),
        });
        return Ok(serde_json::to_string_pretty(&shown)?);
    }
    Ok(format!("{}\n{}", to_text(&figures), orphans.text()))
}

/// What the sweeper found that no request owned.
struct Orphans {
    last_day: usize,
    recorded: usize,
    last_found: Option<OffsetDateTime>,
}

impl Orphans {
    fn of(records: &[Orphan], now: OffsetDateTime) -> Self {
        Self {
            last_day: records
                .iter()
                .filter(|o| now - o.found_at <= Duration::DAY)
                .count(),
            recorded: records.len(),
            last_found: records.iter().map(|o| o.found_at).max(),
        }
    }

    fn text(&self) -> String {
        let last = self
            .last_found
            .map_or_else(String::new, |t| format!(", last at {}", at(t)));
        format!(
            "orphans found     {} in the last 24h ({} recorded{last})",
            self.last_day, self.recorded
        )
    }
}

fn secs(d: Option<Duration>) -> Value {
    d.map_or(Value::Null, |d| json!(d.as_seconds_f64()))
}

fn spread_json(s: &Spread) -> Value {
    json!({ "count": s.count, "p50": secs(s.p50), "p95": secs(s.p95), "max": secs(s.max) })
}

fn oldest_json(o: Option<Oldest>) -> Value {
    o.map_or(
        Value::Null,
        |o| json!({ "request_id": o.request.to_string(), "age_seconds": o.age.as_seconds_f64() }),
    )
}

fn target(objective: Objective, o: &Objectives) -> Value {
    match objective {
        Objective::BuildSuccess => json!(o.build_success_rate),
        Objective::TimeToReady => json!(o.time_to_ready.as_seconds_f64()),
        Objective::BastionLifetime | Objective::UserLifetime => {
            json!(o.max_lifetime.as_seconds_f64())
        }
    }
}

fn to_json(f: &SloFigures) -> Value {
    let objectives: Vec<Value> = Objective::ALL
        .iter()
        .map(|&o| {
            json!({
                "objective": o.as_str(),
                "target": target(o, &f.objectives),
                "status": f.status(o).as_str(),
            })
        })
        .collect();
    json!({
        "at": at(f.at),
        "requests": f.requests,
        "objectives": objectives,
        "builds": {
            "succeeded": f.builds_succeeded,
            "failed": f.builds_failed,
            "success_rate": f.build_success_rate(),
        },
        "time_to_ready_seconds": spread_json(&f.time_to_ready),
        "ready_late": f.ready_late,
        "time_to_approve_seconds": spread_json(&f.time_to_approve),
        "teardowns": {
            "succeeded": f.teardowns_succeeded,
            "failed": f.teardowns_failed,
            "success_rate": f.teardown_success_rate(),
        },
        "oldest_live_bastion": oldest_json(f.oldest_bastion),
        "oldest_live_user": oldest_json(f.oldest_user),
        "bastions_over_lifetime": f.bastions_over_lifetime,
        "users_over_lifetime": f.users_over_lifetime,
    })
}

/// `1h02m`, `4m05s`, `35s`, `0.4s`.
fn human(d: Duration) -> String {
    let total = d.whole_seconds();
    let (h, m, s) = (total / 3600, total % 3600 / 60, total % 60);
    if h > 0 {
        format!("{h}h{m:02}m")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else if total > 0 {
        format!("{s}s")
    } else {
        format!("{:.1}s", d.as_seconds_f64().max(0.0))
    }
}

fn spread_text(s: &Spread) -> String {
    match (s.p50, s.p95, s.max) {
        (Some(p50), Some(p95), Some(max)) => format!(
            "p50 {}, p95 {}, max {} (n={})",
            human(p50),
            human(p95),
            human(max),
            s.count
        ),
        _ => "none yet".to_owned(),
    }
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "n/a".to_owned(), |r| format!("{:.2} %", r * 100.0))
}

fn oldest_text(o: Option<Oldest>) -> String {
    o.map_or_else(
        || "none live".to_owned(),
        |o| format!("oldest live {} ({})", human(o.age), o.request),
    )
}

fn to_text(f: &SloFigures) -> String {
    let o = &f.objectives;
    let rows = [
        (
            Objective::BuildSuccess,
            format!("builds succeed >= {:.0} %", o.build_success_rate * 100.0),
            format!(
                "{} ({} of {})",
                percent(f.build_success_rate()),
                f.builds_succeeded,
                f.builds_succeeded + f.builds_failed
            ),
        ),
        (
            Objective::TimeToReady,
            format!("ready within {}", human(o.time_to_ready)),
            format!("{}; {} late", spread_text(&f.time_to_ready), f.ready_late),
        ),
        (
            Objective::BastionLifetime,
            format!("no bastion lives > {}", human(o.max_lifetime)),
            format!(
                "{}; {} over",
                oldest_text(f.oldest_bastion),
                f.bastions_over_lifetime
            ),
        ),
        (
            Objective::UserLifetime,
            format!("no DB user lives > {}", human(o.max_lifetime)),
            format!(
                "{}; {} over",
                oldest_text(f.oldest_user),
                f.users_over_lifetime
            ),
        ),
    ];
    let mut out = format!(
        "SLO figures at {} over {} request(s)\n\n{:<28}  {:<8}  {}",
        at(f.at),
        f.requests,
        "OBJECTIVE",
        "STATUS",
        "FIGURE"
    );
    for (objective, name, figure) in rows {
        let status = match f.status(objective) {
            Status::Missed => "MISSED",
            other => other.as_str(),
        };
        out.push_str(&format!("\n{name:<28}  {status:<8}  {figure}"));
    }
    out.push_str(&format!(
        "\n\ntime to approve   {}\nteardowns         {} ({} succeeded, {} failed)",
        spread_text(&f.time_to_approve),
        percent(f.teardown_success_rate()),
        f.teardowns_succeeded,
        f.teardowns_failed
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(human(Duration::hours(24)), "24h00m");
        assert_eq!(human(Duration::seconds(3725)), "1h02m");
        assert_eq!(human(Duration::seconds(245)), "4m05s");
        assert_eq!(human(Duration::seconds(35)), "35s");
        assert_eq!(human(Duration::milliseconds(400)), "0.4s");
    }
}
