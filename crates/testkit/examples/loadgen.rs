//! `powerpole serve` under load, on loopback: starts the fake Slack Web API and the broker
//! (`--serve BIN`, a configuration in `--work DIR`, no database needed: nothing gets approved),
//! then sends signed slash commands and modal submissions open-loop at increasing rates over a
//! pool of keep-alive connections, each request signed when it is sent. Latency is measured from
//! the moment a request was due, so a broker that falls behind is charged for the queue.
//!
//! Prints one line per rate (achieved requests/s, ack latency p50/p99/max for each kind, errors),
//! the broker's peak RSS, and writes the reason of every acknowledged submission (each one is
//! unique) to `DIR/accepted.txt` for `bench/bench.py store-check` to find in the store. With
//! `--submit-every 0` it sends only slash commands (default: every 5th request is a submission);
//! with `--max-errors N` it fails when more requests than that failed (the smoke run: 0).
//!
//! ```text
//! cargo run --release -p powerpole-testkit --example loadgen -- \
//!     --serve target/release/powerpole --work /tmp/load --rates 250,500,1000,2000 --step-secs 15
//! ```

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a bench tool: it reports on stdout and stops loudly"
)]

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use powerpole_testkit::fake_slack::{FakeSlack, get, sign, unix_now};
use powerpole_testkit::serve_config::ServeConfig;
use powerpole_testkit::slack_payloads::{RequestInput, interaction_form, request_submission};
use tokio::net::TcpStream;

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

const APPROVERS: &str = "C0APPROVE1";
const CLUSTER: &str = "load-orders";

struct Args {
    serve: PathBuf,
    work: PathBuf,
    rates: Vec<u32>,
    step: Duration,
    submit_every: u64,
    max_in_flight: usize,
    max_errors: Option<usize>,
}

fn args() -> Args {
    let mut args = Args {
        serve: PathBuf::from("target/release/powerpole"),
        work: std::env::temp_dir().join("powerpole-load"),
        rates: vec![250, 500, 1000, 2000],
        step: Duration::from_secs(15),
        submit_every: 5,
        max_in_flight: 512,
        max_errors: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--serve" => args.serve = value.into(),
            "--work" => args.work = value.into(),
            "--rates" => args.rates = value.split(',').map(|r| r.parse().unwrap()).collect(),
            "--step-secs" => args.step = Duration::from_secs_f64(value.parse().unwrap()),
            "--submit-every" => args.submit_every = value.parse().unwrap(),
            "--max-in-flight" => args.max_in_flight = value.parse().unwrap(),
            "--max-errors" => args.max_errors = Some(value.parse().unwrap()),
            other => panic!("unknown option {other}"),
        }
    }
    args
}

/// The broker process, stopped when dropped.
struct Serve {
    child: Child,
    port: u16,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    fn start(args: &Args, slack: &FakeSlack, secret: &str) -> Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let config = args.work.join("powerpole.toml");
        let state_dir = args.work.join("state");
        let text = ServeConfig {
            port,
            state_dir: &state_dir,
            speed: 1,
            slack_api: &slack.api_url(),
            bot_token: "xoxb-load-test",
            approvers_channel: APPROVERS,
            cluster: CLUSTER,
        }
        .to_toml();
        std::fs::write(&config, text)?;
        let log = std::fs::File::create(args.work.join("serve.log"))?;
        let child = Command::new(&args.serve)
            .args(["serve", "--config"])
            .arg(&config)
            .env("POWERPOLE__SLACK__SIGNING_SECRET", secret)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        Ok(Self { child, port })
    }

    async fn wait_healthy(&mut self) -> Result<()> {
        let health = format!("http://127.0.0.1:{}/healthz", self.port);
        for _ in 0..1200 {
            if let Some(status) = self.child.try_wait()? {
                return Err(format!("serve exited with {status}").into());
            }
            if get::<&str, &str>(&health, &[])
                .await
                .is_ok_and(|r| r.status == 200)
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err("serve did not become healthy within 60 s".into())
    }

    fn cpu_secs(&self) -> Option<f64> {
        cpu_secs(&format!("/proc/{}/stat", self.child.id()))
    }

    fn peak_rss_mb(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kb / 1024.0)
    }
}

/// User + system CPU seconds of the process whose `/proc/<pid>/stat` this is (at 100 ticks/s).
fn cpu_secs(stat: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(stat).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Keep-alive HTTP/1.1 connections to the broker, opened on demand.
struct Pool {
    port: u16,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

impl Pool {
    async fn take(&self) -> Result<SendRequest<Full<Bytes>>> {
        loop {
            let idle = self.idle.lock().unwrap().pop();
            match idle {
                Some(mut sender) if !sender.is_closed() => {
                    if sender.ready().await.is_ok() {
                        return Ok(sender);
                    }
                }
                Some(_) => {}
                None => break,
            }
        }
        let stream = TcpStream::connect(("127.0.0.1", self.port)).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(sender)
    }

    async fn post(&self, path: &str, secret: &str, body: Vec<u8>) -> Result<(u16, Bytes)> {
        let mut sender = self.take().await?;
        let now = unix_now();
        let request = hyper::Request::post(path)
            .header("host", format!("127.0.0.1:{}", self.port))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", now.to_string())
            .header("x-slack-signature", sign(secret, now, &body))
            .body(Full::new(Bytes::from(body)))?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        self.idle.lock().unwrap().push(sender);
        Ok((status, body))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Command,
    Submission,
}

struct Outcome {
    kind: Kind,
    latency: Duration,
    accepted: Option<String>,
    error: Option<String>,
}

fn slash_command(n: u64) -> Vec<u8> {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("token", "deprecated-verification-token"),
            ("team_id", "T0FAKE0001"),
            ("team_domain", "example"),
            ("channel_id", "C0GENERAL1"),
            ("channel_name", "general"),
            ("user_id", &user(n)),
            ("user_name", "load.user"),
            ("command", "/powerpole"),
            ("text", ""),
            ("api_app_id", "A0FAKEAPP1"),
            (
                "response_url",
                "https://hooks.slack.com/commands/T0FAKE0001/1/abc",
            ),
            ("trigger_id", &format!("13345224609.738474920.load{n}")),
        ])
        .finish()
        .into_bytes()
}

fn user(n: u64) -> String {
    format!("U0LOAD{n:07}")
}

fn reason(n: u64) -> String {
    format!("LOAD-{n:07} bench submission")
}

async fn one(pool: Arc<Pool>, secret: Arc<str>, kind: Kind, n: u64, due: Instant) -> Outcome {
    let (path, body) = match kind {
        Kind::Command => ("/slack/commands", slash_command(n)),
        Kind::Submission => (
            "/slack/interactions",
            interaction_form(&request_submission(
                &user(n),
                &RequestInput {
                    cluster: CLUSTER,
                    region: "ap-northeast-1",
                    permission: "READ",
                    duration_minutes: "60",
                    reason: &reason(n),
                },
            )),
        ),
    };
    let answer = pool.post(path, &secret, body).await;
    let latency = due.elapsed();
    let (accepted, error) = match answer {
        Ok((200, body)) if body.is_empty() => ((kind == Kind::Submission).then(|| reason(n)), None),
        Ok((status, body)) => (
            None,
            Some(format!(
                "{status} {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            )),
        ),
        Err(error) => (None, Some(error.to_string())),
    };
    Outcome {
        kind,
        latency,
        accepted,
        error,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1000.0
}

fn latencies(outcomes: &[Outcome], kind: Kind) -> String {
    let mut ms: Vec<Duration> = outcomes
        .iter()
        .filter(|o| o.kind == kind && o.error.is_none())
        .map(|o| o.latency)
        .collect();
    ms.sort();
    format!(
        "{:>6} {:7.1} {:7.1} {:7.1}",
        ms.len(),
        percentile(&ms, 0.50),
        percentile(&ms, 0.99),
        ms.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    )
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = args();
    std::fs::create_dir_all(&args.work)?;
    let secret: Arc<str> = Arc::from(format!("load-{}", rand::random::<u128>()).as_str());
    let slack = FakeSlack::start().await?;
    slack.set_channel_members(APPROVERS, &["U0APPROVE1"]);
    slack.count_only();
    let total: u64 = args
        .rates
        .iter()
        .map(|r| (f64::from(*r) * args.step.as_secs_f64()).ceil() as u64)
        .sum();
    let submits = |n: u64| args.submit_every > 0 && n.is_multiple_of(args.submit_every);
    for n in (0..total).filter(|n| submits(*n)) {
        slack.set_user_email(&user(n), &format!("load.user{n}@example.com"));
    }
    let mut serve = Serve::start(&args, &slack, &secret)?;
    serve.wait_healthy().await?;
    let pool = Arc::new(Pool {
        port: serve.port,
        idle: Mutex::new(Vec::new()),
    });

    let mix = if args.submit_every == 0 {
        "slash commands only".to_owned()
    } else {
        format!("1 modal submission in {} requests", args.submit_every)
    };
    println!(
        "powerpole serve under load: {} steps of {:.0} s, {mix}, open loop, at most {} in flight",
        args.rates.len(),
        args.step.as_secs_f64(),
        args.max_in_flight
    );
    println!(
        "{:>8} {:>9} | {:>6} {:>7} {:>7} {:>7} | {:>6} {:>7} {:>7} {:>7} | {:>6} {:>9}",
        "target/s",
        "achieved",
        "cmds",
        "p50 ms",
        "p99 ms",
        "max ms",
        "subm",
        "p50 ms",
        "p99 ms",
        "max ms",
        "errors",
        "views.open"
    );
    let (serve_cpu, own_cpu, wall) = (
        serve.cpu_secs(),
        cpu_secs("/proc/self/stat"),
        Instant::now(),
    );
    let mut accepted = String::new();
    let mut errors_total = 0usize;
    let mut first_errors = Vec::new();
    let mut n = 0u64;
    let in_flight = Arc::new(tokio::sync::Semaphore::new(args.max_in_flight));
    for rate in &args.rates {
        let opened = slack.count("views.open");
        let count = (f64::from(*rate) * args.step.as_secs_f64()).ceil() as u64;
        let interval = Duration::from_secs_f64(1.0 / f64::from(*rate));
        let start = Instant::now() + Duration::from_millis(20);
        let mut tasks = Vec::with_capacity(usize::try_from(count)?);
        for i in 0..count {
            let due = start + interval.mul_f64(i as f64);
            tokio::time::sleep_until(due.into()).await;
            let kind = if submits(n) {
                Kind::Submission
            } else {
                Kind::Command
            };
            let permit = Arc::clone(&in_flight).acquire_owned().await?;
            let (pool, secret) = (Arc::clone(&pool), Arc::clone(&secret));
            tasks.push(tokio::spawn(async move {
                let outcome = one(pool, secret, kind, n, due).await;
                drop(permit);
                outcome
            }));
            n += 1;
        }
        let mut outcomes = Vec::with_capacity(tasks.len());
        for task in tasks {
            outcomes.push(task.await?);
        }
        let elapsed = start.elapsed().as_secs_f64();
        let errors: Vec<&Outcome> = outcomes.iter().filter(|o| o.error.is_some()).collect();
        errors_total += errors.len();
        first_errors.extend(errors.iter().take(3).filter_map(|o| o.error.clone()));
        for reason in outcomes.iter().filter_map(|o| o.accepted.as_deref()) {
            writeln!(accepted, "{reason}")?;
        }
        let ok = outcomes.len() - errors.len();
        println!(
            "{:>8} {:>9.0} | {} | {} | {:>6} {:>9}",
            rate,
            ok as f64 / elapsed,
            latencies(&outcomes, Kind::Command),
            latencies(&outcomes, Kind::Submission),
            errors.len(),
            slack.count("views.open") - opened
        );
    }
    std::fs::write(args.work.join("accepted.txt"), accepted)?;
    if let (Some(s0), Some(s1), Some(o0), Some(o1)) = (
        serve_cpu,
        serve.cpu_secs(),
        own_cpu,
        cpu_secs("/proc/self/stat"),
    ) {
        let wall = wall.elapsed().as_secs_f64();
        println!(
            "CPU over the {wall:.0} s of load: serve {:.0}% of a core, this load generator and the fake Slack {:.0}%",
            (s1 - s0) / wall * 100.0,
            (o1 - o0) / wall * 100.0
        );
    }
    match serve.peak_rss_mb() {
        Some(mb) => println!("serve peak RSS (VmHWM): {mb:.1} MB"),
        None => println!("serve peak RSS: unknown (no /proc)"),
    }
    if errors_total > 0 {
        println!("{errors_total} errors, the first: {first_errors:?}");
    }
    drop(serve);
    stop_note(&args.work);
    if args.max_errors.is_some_and(|max| errors_total > max) {
        return Err(format!("{errors_total} errors, more than --max-errors").into());
    }
    Ok(())
}

fn stop_note(work: &Path) {
    println!(
        "acknowledged submissions: {}/accepted.txt; store: {}/state/powerpole.sqlite",
        work.display(),
        work.display()
    );
}
