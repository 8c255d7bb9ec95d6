//! `powerpole serve`: the whole broker in one process — the Slack endpoints over HTTP, the
//! state in SQLite, secrets in 0600 files, no EC2, the real state machine run by the local ASL
//! runner, and the MySQL adapter on the configured clusters. Every minute of the broker's clock
//! it also looks at the active requests' audit logs for the live tripwires.
//!
//! Routes: `POST /slack/commands`, `POST /slack/interactions`, `GET /healthz`.

use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use powerpole_asl::{AslRunner, Definition, RunnerOptions};
use powerpole_core::{Broker, Clock as _, ClusterPolicy, Ports, Unwired, tripwire};
use powerpole_local::{
    BrokerTasks, JournalWorkflow, NoBastionSessions, OnBrokerClock, ScaledClock, SecretFiles,
    SqliteStore, ThisMachine,
};
use powerpole_mysql::{AuditFiles, MySqlAccounts};
use powerpole_slack::{
    ApproverPolicy, Reply, RetryPolicy, SignatureVerifier, SlackChat, SlackIngress, SlackWebApi,
};
use sqlx::{ConnectOptions as _, Connection as _};
use tokio::net::TcpListener;

use crate::config::{Config, ConfigError};
use crate::state;

/// The state machine definition, built into the binary so `serve` runs the file the tests ran.
pub const DEFINITION: &str = include_str!("../../../statemachine/powerpole.asl.json");

/// The largest request body read; Slack's are far smaller, the verifier enforces its own limit.
const MAX_BODY: usize = 128 * 1024;

type Store = Arc<SqliteStore>;
/// The ports the local broker's tasks and the sweeper use; receipts add the audit files.
pub type LocalPorts<Audit = Unwired, Sessions = Unwired> = Ports<
    Store,
    SlackChat,
    ScaledClock,
    SecretFiles,
    ThisMachine,
    MySqlAccounts,
    Unwired,
    Unwired,
    Audit,
    Sessions,
>;
/// The clusters' audit log files on the broker's timeline.
pub type AuditLog = OnBrokerClock<AuditFiles>;
type Tasks = BrokerTasks<LocalPorts<AuditLog, NoBastionSessions>>;
/// The runner of the broker's state machine.
pub type Runner = AslRunner<ScaledClock, Tasks>;
type Ingress = SlackIngress<Store, JournalWorkflow<ScaledClock, Tasks>, ScaledClock>;

/// The broker's parts, wired once.
pub struct Server {
    /// The Slack endpoints.
    pub ingress: Ingress,
    /// The runner the Slack endpoints' workflow runs on.
    pub runner: Runner,
    /// The broker of the tasks, which also looks for tripwires.
    watcher: Arc<Broker<LocalPorts<AuditLog, NoBastionSessions>>>,
    /// How often it looks, in real time.
    watch_every: std::time::Duration,
}

/// Checks that every cluster answers as its administrator, naming the cluster that does not.
///
/// # Errors
/// A [`ConfigError`] on `clusters[i].admin_url`.
pub async fn check_clusters(config: &Config) -> Result<(), ConfigError> {
    let accounts = accounts(config, 1.0).map_err(|e| ConfigError {
        key: "clock.speed".into(),
        problem: e.to_string(),
    })?;
    for (i, cluster) in config.clusters.iter().enumerate() {
        let answer = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            let mut conn = cluster.admin.connect().await?;
            conn.ping().await
        })
        .await;
        let problem = match answer {
            Ok(Ok(())) => {
                if let Err(e) = accounts.check_server(&cluster.policy.cluster).await {
                    return Err(ConfigError {
                        key: format!("clusters[{i}].require_tls"),
                        problem: e.to_string(),
                    });
                }
                continue;
            }
            Ok(Err(e)) => format!(
                "cannot connect to {}: {}",
                cluster.policy.cluster,
                summary(&e)
            ),
            Err(_) => format!("no answer from {} within 10 s", cluster.policy.cluster),
        };
        return Err(ConfigError {
            key: format!("clusters[{i}].admin_url"),
            problem,
        });
    }
    Ok(())
}

fn summary(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Database(db) => format!("the server refused: {}", db.message()),
        other => other
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// The audit log files of the clusters that name one (`audit_log`), for session receipts, read
/// on `clock`'s timeline (the server logs real time; the broker's clock may be compressed). The
/// grace around a window is [`AuditFiles::DEFAULT_GRACE`] of broker time, so at 150x a request's
/// receipt does not take in the sessions of the same user's request a few real seconds before.
#[must_use]
pub fn audit_files(config: &Config, clock: ScaledClock) -> AuditLog {
    let grace = AuditFiles::DEFAULT_GRACE / clock.speed();
    let files =
        config
            .clusters
            .iter()
            .fold(AuditFiles::new().with_grace(grace), |files, c| {
                match &c.audit_log {
                    Some(path) => files.with_cluster(c.policy.cluster.clone(), path),
                    None => files,
                }
            });
    OnBrokerClock::new(files, clock)
}

/// The clock, continuing the timeline of the state directory across restarts: a compressed
/// clock keeps its time when the broker is restarted, so waits end when they should.
///
/// # Errors
/// When the anchor file cannot be read or written.
pub fn clock(state_dir: &Path, speed: f64) -> anyhow::Result<ScaledClock> {
    let clock = match state::saved_clock(state_dir) {
        Some(saved) if (saved.speed() - speed).abs() < f64::EPSILON => saved,
        _ => ScaledClock::new(speed)?,
    };
    state::save_clock(state_dir, &clock)
        .with_context(|| format!("cannot write {}", state::clock_anchor(state_dir).display()))?;
    Ok(clock)
}

/// The ports of the local broker: the SQLite store in `pool`, secret files in the state
/// directory, this machine as the bastion, the configured MySQL servers, Slack.
///
/// # Errors
/// When the store's tables, the secrets directory or the Slack client cannot be set up.
pub async fn ports(
    config: &Config,
    pool: &sqlx::SqlitePool,
    clock: ScaledClock,
) -> anyhow::Result<LocalPorts> {
    let store = Arc::new(SqliteStore::open(pool.clone()).await?);
    let vault = SecretFiles::open(config.state_dir.join("secrets"))?;
    let accounts = accounts(config, clock.speed())?;
    Ok(Ports::new(store, chat(config)?, clock).with_access(vault, ThisMachine, accounts))
}

/// The configured clusters' one-time accounts, for a broker whose clock runs at `speed`.
///
/// # Errors
/// A nonsensical speed (the configuration refuses it first).
pub fn accounts(config: &Config, speed: f64) -> anyhow::Result<MySqlAccounts> {
    Ok(config.clusters.iter().fold(
        MySqlAccounts::new().with_clock_speed(speed)?,
        |accounts, c| {
            accounts.with_cluster(
                c.policy.cluster.clone(),
                c.admin.clone(),
                c.accounts.clone(),
            )
        },
    ))
}

/// The `Chat` port: cards to the approvers' channel, notes to the requests channel if any.
///
/// # Errors
/// When the Slack client cannot be set up.
pub fn chat(config: &Config) -> anyhow::Result<SlackChat> {
    let web = SlackWebApi::new(
        config.slack.bot_token.clone().into(),
        &config.slack.api_url,
        RetryPolicy::default(),
    )?;
    let chat = SlackChat::new(web, &config.slack.approvers_channel);
    Ok(match &config.slack.requests_channel {
        Some(channel) => chat.with_requests_channel(channel),
        None => chat,
    })
}

/// The clusters served.
#[must_use]
pub fn clusters(config: &Config) -> Vec<ClusterPolicy> {
    config.clusters.iter().map(|c| c.policy.clone()).collect()
}

impl Server {
    /// Wires the broker from `config`: opens the state, resumes unfinished executions.
    ///
    /// # Errors
    /// When the state directory, the database or the Slack client cannot be set up.
    pub async fn start(config: &Config) -> anyhow::Result<Self> {
        create_private_dir(&config.state_dir)?;
        let clock = clock(&config.state_dir, config.clock_speed)?;
        let pool = powerpole_asl::sqlite::open(state::database(&config.state_dir)).await?;
        let ports = ports(config, &pool, clock).await?;
        let store = ports.store.clone();
        let chat = ports.chat.clone();
        let web = chat.web().clone();
        let clusters = clusters(config);
        let tasks = BrokerTasks::new(Broker::new(
            ports.with_evidence(audit_files(config, clock), NoBastionSessions),
            clusters.clone(),
        ));
        let watcher = tasks.shared_broker();
        let watch_every = std::time::Duration::from_secs_f64(
            (tripwire::INTERVAL.as_seconds_f64() / config.clock_speed).max(1.0),
        );
        let definition = Definition::load(DEFINITION, &Tasks::variables())?;
        let runner =
            AslRunner::new(pool, definition, tasks, clock, RunnerOptions::default()).await?;
        let ingress = SlackIngress::new(
            SignatureVerifier::new(&config.slack.signing_secret)?,
            web,
            chat,
            ApproverPolicy {
                channel: config.slack.approvers_channel.clone(),
                who: config.slack.approvers.clone(),
            },
            clusters,
            store,
            JournalWorkflow::new(runner.clone()),
            clock,
        )
        .with_identity(config.identity.clone());
        tracing::info!(
            clock = %clock.now(),
            speed = config.clock_speed,
            state = %config.state_dir.display(),
            "broker started"
        );
        Ok(Self {
            ingress,
            runner,
            watcher,
            watch_every,
        })
    }

    /// Serves the endpoints on `listener` until the process is told to stop.
    ///
    /// # Errors
    /// When accepting connections fails.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) -> anyhow::Result<()> {
        let shutdown = shutdown_signal();
        tokio::pin!(shutdown);
        let watching = tokio::spawn(Arc::clone(&self).watch());
        loop {
            let (stream, _) = tokio::select! {
                accepted = listener.accept() => accepted?,
                () = &mut shutdown => break,
            };
            let broker = self.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let broker = broker.clone();
                    async move { Ok::<_, Infallible>(broker.route(request).await) }
                });
                if let Err(error) = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!(%error, "connection ended");
                }
            });
        }
        tracing::info!("stopping");
        watching.abort();
        self.runner.shutdown().await;
        Ok(())
    }

    async fn route(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        match (&parts.method, parts.uri.path()) {
            (&Method::GET, "/healthz") => text(StatusCode::OK, "ok"),
            (&Method::POST, path @ ("/slack/commands" | "/slack/interactions")) => {
                let body = match Limited::new(body, MAX_BODY).collect().await {
                    Ok(collected) => collected.to_bytes(),
                    Err(_) => return text(StatusCode::PAYLOAD_TOO_LARGE, "body too large"),
                };
                let reply = if path == "/slack/commands" {
                    self.ingress.command(&parts.headers, &body).await
                } else {
                    self.ingress.interaction(&parts.headers, &body).await
                };
                response(&reply)
            }
            (_, "/healthz" | "/slack/commands" | "/slack/interactions") => {
                text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
            }
            _ => text(StatusCode::NOT_FOUND, "not found"),
        }
    }
}

impl Server {
    /// Every minute of the broker's clock until the process stops: approvals that did not
    /// reach the workflow are sent again, and the live tripwires look at every active
    /// request's audit log. A look that fails is logged; the next one reads the same minutes.
    async fn watch(self: Arc<Self>) {
        loop {
            tokio::time::sleep(self.watch_every).await;
            if let Err(error) = self.ingress.broker().resume_undelivered().await {
                tracing::warn!(error = %error.describe(), "undelivered approvals not looked at");
            }
            match self.watcher.watch().await {
                Ok(report) if !report.problems.is_empty() => {
                    tracing::warn!(problems = ?report.problems, "tripwires: some requests were not looked at");
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(error = %error.describe(), "tripwires: no look this time");
                }
            }
        }
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}

fn response(reply: &Reply) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(reply.body_bytes())));
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    if let Some(content_type) = reply.content_type() {
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static(content_type),
        );
    }
    response
}

/// Creates `dir` (and its parents) readable by this user only.
///
/// # Errors
/// When it cannot be created.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create the state directory {}", dir.display()))
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use powerpole_core::ports::AuditSource as _;
    use powerpole_core::{AccessWindow, ClusterId, DbUsername};
    use time::{Duration, OffsetDateTime};

    use super::*;

    #[tokio::test]
    async fn on_a_fast_clock_a_receipt_leaves_out_the_user_s_session_a_real_minute_before() {
        let dir = std::env::temp_dir().join(format!(
            "powerpole-serve-audit-{}-{}",
            std::process::id(),
            OffsetDateTime::now_utc().unix_timestamp_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("audit.log");
        let real = OffsetDateTime::now_utc() - Duration::minutes(1);
        let line = |at: OffsetDateTime, op: &str| {
            format!(
                "{:04}{:02}{:02} {:02}:{:02}:{:02},vm,dana.dbre,localhost,7,0,{op},,,0\n",
                at.year(),
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute(),
                at.second()
            )
        };
        std::fs::write(&log, line(real, "CONNECT")).unwrap();
        let text = format!(
            "[state]\ndir = {:?}\n[slack]\nsigning_secret = \"s\"\nbot_token = \"xoxb-1\"\n\
             approvers_channel = \"C0APPROVE1\"\n[[clusters]]\nid = \"demo-orders\"\n\
             region = \"ap-northeast-1\"\nadmin_url = \"mysql://admin:pw@127.0.0.1:3306\"\n\
             audit_log = {:?}\n",
            dir.display().to_string(),
            log.display().to_string()
        );
        let config = Config::from_toml(&text, Vec::new()).unwrap();
        let clock = ScaledClock::new(150.0).unwrap();
        let now = clock.now();
        let window = AccessWindow::from_parts(now, now + Duration::hours(1)).unwrap();
        let cluster = ClusterId::parse("demo-orders").unwrap();
        let user = DbUsername::parse("dana.dbre").unwrap();

        let earlier = audit_files(&config, clock)
            .records(&cluster, &user, &window)
            .await
            .unwrap();
        std::fs::write(&log, line(OffsetDateTime::now_utc(), "CONNECT")).unwrap();
        let own = audit_files(&config, clock)
            .records(&cluster, &user, &window)
            .await
            .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();

        assert!(earlier.is_empty(), "{earlier:?}");
        assert_eq!(own.len(), 1, "{own:?}");
    }
}
