//! Lambda functions as Lambda runs them, on loopback: each function's binary is its own process,
//! polling its own [Runtime API] (`/2018-06-01/runtime/invocation/next`, `…/response`,
//! `…/error`, `/init/error`) with `AWS_LAMBDA_RUNTIME_API` and the `AWS_LAMBDA_*` variables set
//! as Lambda sets them; [`Functions`] serves the [Invoke API]
//! (`POST /2015-03-31/functions/{name}/invocations`, a handled error answered with
//! `X-Amz-Function-Error: Handled`, a process that exits mid-invocation with `Unhandled` and
//! `Runtime.ExitError`, as Lambda answers) for the state machine's engine.
//!
//! A function whose process has exited gets a new one at its next invocation (Lambda's new
//! execution environment). [`Function::crash_next`] (or [`Function::crash_next_matching`]) kills
//! the process right after it took its
//! next event: the fault "a Lambda process killed mid-invocation".
//!
//! [Runtime API]: https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
//! [Invoke API]: https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

use crate::http::{self, json_response};

/// The account the functions' ARNs name.
pub const ACCOUNT: &str = "123456789012";

/// How long a function may take, as the functions' `timeout` in terraform.
const TIMEOUT: Duration = Duration::from_secs(60);

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The function answered.
    Response(Value),
    /// The function reported an error (`/error`): Lambda's `X-Amz-Function-Error: Handled`.
    Handled {
        /// Its `errorType`.
        error_type: String,
        /// Its `errorMessage`.
        message: String,
    },
    /// The process exited (or timed out) before answering: `Unhandled`, which Step Functions
    /// reports as `Lambda.Unknown`.
    Unhandled {
        /// `Runtime.ExitError` or `Sandbox.Timedout`.
        error_type: String,
        /// What happened.
        message: String,
    },
}

impl Outcome {
    /// The invocation's answer body and `X-Amz-Function-Error` value, as the Invoke API gives them.
    fn to_invoke_answer(&self) -> (Value, Option<&'static str>) {
        match self {
            Self::Response(value) => (value.clone(), None),
            Self::Handled {
                error_type,
                message,
            } => (
                json!({"errorType": error_type, "errorMessage": message}),
                Some("Handled"),
            ),
            Self::Unhandled {
                error_type,
                message,
            } => (
                json!({"errorType": error_type, "errorMessage": message}),
                Some("Unhandled"),
            ),
        }
    }
}

/// One queued event.
struct Queued {
    id: String,
    payload: Bytes,
    answer: oneshot::Sender<Outcome>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Queued>,
    in_flight: HashMap<String, oneshot::Sender<Outcome>>,
    child: Option<JoinHandle<()>>,
    child_pid: Option<u32>,
    alive: bool,
    invocations: u64,
    init_errors: Vec<String>,
}

struct Shared {
    name: String,
    region: String,
    binary: PathBuf,
    env: BTreeMap<String, String>,
    api: SocketAddr,
    state: Mutex<State>,
    ready: Notify,
    crash_next: Mutex<Option<String>>,
    sequence: AtomicU64,
    log_dir: PathBuf,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One Lambda function: its binary, its environment, its Runtime API, its process.
#[derive(Clone)]
pub struct Function {
    shared: Arc<Shared>,
    _server: Arc<JoinHandle<()>>,
}

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Function")
            .field("name", &self.shared.name)
            .field("api", &self.shared.api)
            .finish_non_exhaustive()
    }
}

impl Function {
    /// Serves a Runtime API for `name`, whose process is `binary` started with exactly `env`
    /// (plus the variables Lambda sets) at its first invocation; its stderr goes to
    /// `log_dir/<name>.log`.
    ///
    /// # Errors
    /// When the Runtime API cannot listen.
    pub async fn start(
        name: &str,
        region: &str,
        binary: &Path,
        env: BTreeMap<String, String>,
        log_dir: &Path,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let shared = Arc::new(Shared {
            name: name.to_owned(),
            region: region.to_owned(),
            binary: binary.to_owned(),
            env,
            api: listener.local_addr()?,
            state: Mutex::new(State::default()),
            ready: Notify::new(),
            crash_next: Mutex::new(None),
            sequence: AtomicU64::new(0),
            log_dir: log_dir.to_owned(),
        });
        let serving = Arc::clone(&shared);
        let server = tokio::spawn(http::serve(listener, move |request| {
            let shared = Arc::clone(&serving);
            async move { runtime_api(&shared, request).await }
        }));
        Ok(Self {
            shared,
            _server: Arc::new(server),
        })
    }

    /// The function's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The function's ARN, as terraform's `aws_lambda_function.arn`.
    #[must_use]
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:{ACCOUNT}:function:{}",
            self.shared.region, self.shared.name
        )
    }

    /// How many invocations it was given.
    #[must_use]
    pub fn invocations(&self) -> u64 {
        lock(&self.shared.state).invocations
    }

    /// Whether an invocation is queued or in progress.
    #[must_use]
    pub fn busy(&self) -> bool {
        let state = lock(&self.shared.state);
        !state.queue.is_empty() || !state.in_flight.is_empty()
    }

    /// What the process reported on `/init/error` (a failed cold start), oldest first.
    #[must_use]
    pub fn init_errors(&self) -> Vec<String> {
        lock(&self.shared.state).init_errors.clone()
    }

    /// Kills the process right after it takes its next event.
    pub fn crash_next(&self) {
        self.crash_next_matching("");
    }

    /// Kills the process right after it takes the next event whose JSON contains `needle`
    /// (e.g. `"task":"provision"`), in the middle of that invocation's work.
    pub fn crash_next_matching(&self, needle: &str) {
        *self
            .shared
            .crash_next
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(needle.to_owned());
    }

    /// Invokes the function with `payload` and waits for the outcome (at most the function's
    /// timeout, then `Sandbox.Timedout` and the process is killed).
    ///
    /// # Errors
    /// When its process cannot be started.
    pub async fn invoke(&self, payload: &Value) -> io::Result<Outcome> {
        let id = format!(
            "{:08x}-{}",
            self.shared.sequence.fetch_add(1, Ordering::SeqCst),
            crate::unique_name("inv")
        );
        let (answer, outcome) = oneshot::channel();
        {
            let mut state = lock(&self.shared.state);
            if !state.alive {
                self.spawn(&mut state)?;
            }
            state.invocations += 1;
            state.queue.push_back(Queued {
                id,
                payload: Bytes::from(payload.to_string()),
                answer,
            });
        }
        self.shared.ready.notify_waiters();
        self.shared.ready.notify_one();
        match tokio::time::timeout(TIMEOUT, outcome).await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(_)) => Ok(Outcome::Unhandled {
                error_type: "Runtime.ExitError".to_owned(),
                message: "the runtime exited without answering".to_owned(),
            }),
            Err(_) => {
                self.kill();
                Ok(Outcome::Unhandled {
                    error_type: "Sandbox.Timedout".to_owned(),
                    message: format!("Task timed out after {} seconds", TIMEOUT.as_secs()),
                })
            }
        }
    }

    /// Kills the function's process (its in-flight invocation ends `Unhandled`).
    pub fn kill(&self) {
        kill(&self.shared);
    }

    /// Starts a new process (a new execution environment); `state` is the locked state, whose
    /// `alive` the process's watcher clears, failing every event it leaves, when it exits.
    fn spawn(&self, state: &mut State) -> io::Result<()> {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(
            self.shared
                .log_dir
                .join(format!("{}.log", self.shared.name)),
        )?;
        let mut command = Command::new(&self.shared.binary);
        command
            .env_clear()
            .envs(&self.shared.env)
            .env("AWS_LAMBDA_RUNTIME_API", self.shared.api.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &self.shared.name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", self.shared.name),
            )
            .env("AWS_REGION", &self.shared.region)
            .env("AWS_DEFAULT_REGION", &self.shared.region)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        let mut child: Child = command.spawn()?;
        state.child_pid = child.id();
        state.alive = true;
        let shared = Arc::clone(&self.shared);
        state.child = Some(tokio::spawn(async move {
            let status = child.wait().await;
            let mut state = lock(&shared.state);
            state.alive = false;
            state.child_pid = None;
            let message = format!(
                "the runtime exited ({}): see {}",
                status.map_or_else(|e| e.to_string(), |s| s.to_string()),
                shared
                    .log_dir
                    .join(format!("{}.log", shared.name))
                    .display()
            );
            let queued = std::mem::take(&mut state.queue)
                .into_iter()
                .map(|q| q.answer);
            let in_flight: Vec<_> = state.in_flight.drain().map(|(_, a)| a).collect();
            for answer in queued.chain(in_flight) {
                let _ = answer.send(Outcome::Unhandled {
                    error_type: "Runtime.ExitError".to_owned(),
                    message: message.clone(),
                });
            }
        }));
        Ok(())
    }
}

fn kill(shared: &Shared) {
    if let Some(pid) = lock(&shared.state).child_pid {
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
    }
}

async fn runtime_api(shared: &Arc<Shared>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return json_response(StatusCode::NOT_FOUND, &json!({"errorType": "NotFound"}));
    };
    if method == Method::GET && rest == "invocation/next" {
        return next_event(shared).await;
    }
    let Ok((_, body)) = http::body_of(request).await else {
        return json_response(StatusCode::BAD_REQUEST, &json!({"errorType": "BadBody"}));
    };
    if rest == "init/error" {
        lock(&shared.state)
            .init_errors
            .push(String::from_utf8_lossy(&body).into_owned());
        return json_response(StatusCode::ACCEPTED, &json!({"status": "OK"}));
    }
    let outcome = match rest
        .strip_prefix("invocation/")
        .and_then(|r| r.rsplit_once('/'))
    {
        Some((id, "response")) => Some((
            id.to_owned(),
            Outcome::Response(serde_json::from_slice(&body).unwrap_or(Value::Null)),
        )),
        Some((id, "error")) => {
            let error: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            Some((
                id.to_owned(),
                Outcome::Handled {
                    error_type: error["errorType"].as_str().unwrap_or("Unknown").to_owned(),
                    message: error["errorMessage"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                },
            ))
        }
        _ => None,
    };
    let Some((id, outcome)) = outcome else {
        return json_response(StatusCode::NOT_FOUND, &json!({"errorType": "NotFound"}));
    };
    match lock(&shared.state).in_flight.remove(&id) {
        Some(answer) => {
            let _ = answer.send(outcome);
            json_response(StatusCode::ACCEPTED, &json!({"status": "OK"}))
        }
        None => json_response(
            StatusCode::BAD_REQUEST,
            &json!({"errorType": "InvalidRequestID", "errorMessage": id}),
        ),
    }
}

async fn next_event(shared: &Arc<Shared>) -> Response<Full<Bytes>> {
    loop {
        let notified = shared.ready.notified();
        let queued = lock(&shared.state).queue.pop_front();
        if let Some(queued) = queued {
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                + TIMEOUT;
            lock(&shared.state)
                .in_flight
                .insert(queued.id.clone(), queued.answer);
            let crash = {
                let mut armed = shared
                    .crash_next
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                let hit = armed.as_deref().is_some_and(|needle| {
                    String::from_utf8_lossy(&queued.payload).contains(needle)
                });
                if hit {
                    *armed = None;
                }
                hit
            };
            if crash {
                let shared = Arc::clone(shared);
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    kill(&shared);
                });
            }
            return Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/json")
                .header("lambda-runtime-aws-request-id", &queued.id)
                .header(
                    "lambda-runtime-deadline-ms",
                    deadline.as_millis().to_string(),
                )
                .header(
                    "lambda-runtime-invoked-function-arn",
                    format!(
                        "arn:aws:lambda:{}:{ACCOUNT}:function:{}",
                        shared.region, shared.name
                    ),
                )
                .header(
                    "lambda-runtime-trace-id",
                    "Root=1-00000000-000000000000000000000000;Sampled=0",
                )
                .body(Full::new(queued.payload))
                .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())));
        }
        notified.await;
    }
}

/// The Invoke API in front of a set of [`Function`]s.
#[derive(Debug, Clone)]
pub struct Functions {
    addr: SocketAddr,
    functions: Arc<Mutex<BTreeMap<String, Function>>>,
    _server: Arc<JoinHandle<()>>,
}

impl Functions {
    /// Serves the Invoke API, with no function yet: the state machine's engine needs its
    /// address before the functions, whose environment names the engine, exist.
    ///
    /// # Errors
    /// When it cannot listen.
    pub async fn listen() -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let functions: Arc<Mutex<BTreeMap<String, Function>>> = Arc::default();
        let serving = Arc::clone(&functions);
        let server = tokio::spawn(http::serve(listener, move |request| {
            let function = function_named(&serving, request.uri().path());
            async move { invoke_api(function, request).await }
        }));
        Ok(Self {
            addr,
            functions,
            _server: Arc::new(server),
        })
    }

    /// Adds `function`, invoked by its name or ARN from now on.
    pub fn add(&self, function: Function) {
        self.functions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(function.name().to_owned(), function);
    }

    /// Where the Invoke API listens.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// The function an Invoke API `path` names (`/2015-03-31/functions/{name or ARN}/invocations`),
/// or the name it gives when there is no such function.
fn function_named(
    functions: &Mutex<BTreeMap<String, Function>>,
    path: &str,
) -> Result<Function, String> {
    let name = path
        .strip_prefix("/2015-03-31/functions/")
        .and_then(|p| p.strip_suffix("/invocations"))
        .map(percent_decode)
        .unwrap_or_default();
    let name = name
        .split(":function:")
        .nth(1)
        .map_or(name.as_str(), |n| n.split(':').next().unwrap_or(n))
        .to_owned();
    functions
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&name)
        .cloned()
        .ok_or(name)
}

async fn invoke_api(
    function: Result<Function, String>,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let function = match function {
        Ok(function) => function,
        Err(name) => {
            return json_response(
                StatusCode::NOT_FOUND,
                &json!({"Type": "User", "message": format!("Function not found: {name}")}),
            );
        }
    };
    let Ok((_, body)) = http::body_of(request).await else {
        return json_response(StatusCode::BAD_REQUEST, &json!({"Type": "User"}));
    };
    let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match function.invoke(&payload).await {
        Ok(outcome) => {
            let (body, error) = outcome.to_invoke_answer();
            let mut response = json_response(StatusCode::OK, &body);
            let headers = response.headers_mut();
            headers.insert(
                "x-amz-executed-version",
                hyper::header::HeaderValue::from_static("$LATEST"),
            );
            if let Some(error) = error {
                headers.insert(
                    "x-amz-function-error",
                    hyper::header::HeaderValue::from_static(error),
                );
            }
            response
        }
        Err(err) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"Type": "Service", "message": err.to_string()}),
        ),
    }
}

fn percent_decode(text: &str) -> String {
    form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map_or_else(|| text.to_owned(), |(_, v)| v.into_owned())
}

/// Starts `binary` as Lambda would with none of its configuration and returns whether it
/// exited with success and what it printed (stdout and stderr); a Lambda must refuse to start,
/// naming every variable it misses, before it polls for an event.
///
/// # Errors
/// When the binary cannot be run.
pub fn start_unconfigured(binary: &Path) -> io::Result<(bool, String)> {
    let output = std::process::Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .env("AWS_LAMBDA_FUNCTION_NAME", "unconfigured")
        .env("AWS_REGION", "ap-northeast-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .output()?;
    Ok((
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    ))
}
