//! SLO observations as CloudWatch embedded metric format (EMF) lines: one JSON object per line on
//! stdout, which CloudWatch Logs turns into metrics in namespace [`NAMESPACE`] with the one
//! dimension `Service` = `powerpole` — no `PutMetricData` call, no extra IAM.
//!
//! A line carries `_aws.Timestamp` (milliseconds since the epoch), one metric directive naming
//! every metric it holds with its unit, each metric's value as a top-level number (or an array
//! of up to [`MAX_VALUES`] numbers when one metric was observed several times), the `Service`
//! dimension, and `request_id` when every observation is about the same request (for
//! correlation; never a secret). Only the Lambda binaries print these; the local broker runs the
//! same task functions with a sink that drops them.

use std::collections::BTreeMap;
use std::io::Write as _;

use powerpole_core::slo::{Metric, Observation};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "Powerpole";
/// The one dimension of every metric.
pub const DIMENSION: &str = "Service";
/// The value of [`DIMENSION`].
pub const SERVICE: &str = "powerpole";
/// The most values one metric may hold in one line (the EMF limit); more go on further lines.
pub const MAX_VALUES: usize = 100;

/// The EMF lines for `observations` at `at`: none for no observations, more than one only when
/// a metric has more than [`MAX_VALUES`] values.
#[must_use]
pub fn render(observations: &[Observation], at: OffsetDateTime) -> Vec<String> {
    let mut by_metric: BTreeMap<Metric, Vec<f64>> = BTreeMap::new();
    for o in observations {
        by_metric.entry(o.metric()).or_default().push(o.value());
    }
    let mut requests: Vec<_> = observations.iter().map(Observation::request).collect();
    requests.sort_unstable();
    requests.dedup();
    let request_id = match requests.as_slice() {
        [Some(id)] => Some(id.to_string()),
        _ => None,
    };
    let timestamp = i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let lines = by_metric
        .values()
        .map(|values| values.len().div_ceil(MAX_VALUES))
        .max()
        .unwrap_or(0);
    (0..lines)
        .map(|line| {
            let chunk: Vec<(Metric, &[f64])> = by_metric
                .iter()
                .filter_map(|(metric, values)| {
                    values
                        .chunks(MAX_VALUES)
                        .nth(line)
                        .map(|chunk| (*metric, chunk))
                })
                .collect();
            document(&chunk, timestamp, request_id.as_deref()).to_string()
        })
        .collect()
}

fn document(metrics: &[(Metric, &[f64])], timestamp: i64, request_id: Option<&str>) -> Value {
    let definitions: Vec<Value> = metrics
        .iter()
        .map(|(metric, _)| json!({ "Name": metric.name(), "Unit": metric.unit().as_str() }))
        .collect();
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[DIMENSION]],
                "Metrics": definitions,
            }],
        }),
    );
    root.insert(DIMENSION.into(), Value::from(SERVICE));
    for (metric, values) in metrics {
        let value = match values {
            [one] => Value::from(*one),
            many => Value::from(many.to_vec()),
        };
        root.insert(metric.name().into(), value);
    }
    if let Some(id) = request_id {
        root.insert("request_id".into(), Value::from(id));
    }
    Value::Object(root)
}

/// Prints `observations` as EMF lines on stdout, timestamped now. Nothing for none; a line that
/// cannot be written is logged, never an error (a lost metric must not fail a step).
pub fn emit(observations: &[Observation]) {
    let lines = render(observations, OffsetDateTime::now_utc());
    if lines.is_empty() {
        return;
    }
    let mut out = std::io::stdout().lock();
    for line in lines {
        if let Err(error) = writeln!(out, "{line}").and_then(|()| out.flush()) {
            tracing::warn!(%error, "an SLO metric line could not be written");
        }
    }
}
