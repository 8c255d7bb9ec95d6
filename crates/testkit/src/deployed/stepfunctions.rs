//! A Step Functions endpoint on loopback: the AWS JSON 1.0 protocol the SDK speaks
//! (`X-Amz-Target: AWSStepFunctions.<Operation>`) for the calls the Lambdas make —
//! `StartExecution`, `SendTaskSuccess`, `SendTaskFailure`, `SendTaskHeartbeat`,
//! `StopExecution`, `DescribeExecution` — in front of the crate's ASL runner, whose Task states
//! invoke the functions through the Lambda Invoke API ([`super::lambda::Functions`]).
//!
//! Errors are answered as AWS answers them (`400` with `__type`): `ExecutionAlreadyExists` for a
//! closed execution's name or another input, `ExecutionDoesNotExist`, `TaskDoesNotExist`,
//! `TaskTimedOut` for a token whose task no longer waits. A function's handled error becomes the
//! task's error name (its `errorType`); a process that exits or times out becomes
//! `Lambda.Unknown`, and an Invoke API that cannot be reached `Lambda.ServiceException`, as
//! Step Functions reports them.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use powerpole_asl::{AslRunner, Definition, RunnerOptions};
use powerpole_core::Clock;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::http::{self, json_response};

/// Real time moved ahead by what a test skipped, in whole seconds: Wait states and deadlines
/// pass when the test says so. A clock [`SkipClock::shared_through`] a file also moves the clock
/// of every process started with [`SkipClock::faketime_env`] (libfaketime reads the offset from
/// the file at each clock call), so the Lambdas see the time the engine sees.
#[derive(Debug, Clone, Default)]
pub struct SkipClock {
    skipped_s: Arc<AtomicI64>,
    file: Option<Arc<PathBuf>>,
}

impl SkipClock {
    /// A clock whose offset is also written to `file` (`+<seconds>`, libfaketime's format).
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn shared_through(file: &Path) -> io::Result<Self> {
        let clock = Self {
            skipped_s: Arc::default(),
            file: Some(Arc::new(file.to_owned())),
        };
        clock.write_offset(0)?;
        Ok(clock)
    }

    /// The variables that make a process started with them keep this clock: libfaketime
    /// (`library`) preloaded, reading the offset file at every call, the monotonic clock left
    /// alone so that timeouts and sleeps stay real. Empty for a clock not shared through a file.
    #[must_use]
    pub fn faketime_env(&self, library: &Path) -> Vec<(String, String)> {
        let Some(file) = &self.file else {
            return Vec::new();
        };
        [
            ("LD_PRELOAD", library.display().to_string()),
            ("FAKETIME_TIMESTAMP_FILE", file.display().to_string()),
            ("FAKETIME_NO_CACHE", "1".to_owned()),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Moves the clock ahead by `by`, rounded up to whole seconds.
    ///
    /// # Panics
    /// When the shared offset file cannot be written (the processes would keep another time).
    #[expect(
        clippy::panic,
        reason = "processes left on another time than the engine make every later check wrong"
    )]
    pub fn skip(&self, by: time::Duration) {
        let ms = by.whole_milliseconds();
        let seconds = i64::try_from((ms + 999).div_euclid(1000)).unwrap_or(i64::MAX);
        let total = self.skipped_s.fetch_add(seconds, Ordering::SeqCst) + seconds;
        if let Err(err) = self.write_offset(total) {
            panic!("the shared clock's offset file cannot be written: {err}");
        }
    }

    /// Writes `seconds` to the offset file, through a rename so that no reader sees it half
    /// written.
    fn write_offset(&self, seconds: i64) -> io::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let partial = file.with_extension("partial");
        std::fs::write(&partial, format!("+{seconds}\n"))?;
        std::fs::rename(partial, file.as_path())
    }

    /// Moves the clock to `at` unless it is already later.
    pub fn skip_to(&self, at: OffsetDateTime) {
        let ahead = at - self.now();
        if ahead.is_positive() {
            self.skip(ahead);
        }
    }
}

impl Clock for SkipClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::seconds(self.skipped_s.load(Ordering::SeqCst))
    }
}

/// The Task states' Lambda calls, over the Invoke API at `addr`.
#[derive(Debug, Clone, Copy)]
pub struct InvokeOverHttp {
    addr: SocketAddr,
}

impl powerpole_asl::TaskHandlers for InvokeOverHttp {
    async fn invoke(
        &self,
        function: &str,
        payload: Value,
    ) -> Result<Value, powerpole_asl::TaskFailure> {
        use powerpole_asl::TaskFailure;
        let path = format!(
            "/2015-03-31/functions/{}/invocations",
            form_urlencoded::byte_serialize(function.as_bytes()).collect::<String>()
        );
        let answer = http::call(
            self.addr,
            Method::POST,
            &path,
            &[("content-type", "application/json")],
            Bytes::from(payload.to_string()),
        )
        .await
        .map_err(|e| TaskFailure::new("Lambda.ServiceException", e.to_string()))?;
        if answer.status != StatusCode::OK {
            return Err(TaskFailure::new(
                "Lambda.ServiceException",
                String::from_utf8_lossy(&answer.body).into_owned(),
            ));
        }
        let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        match answer
            .headers
            .get("x-amz-function-error")
            .and_then(|v| v.to_str().ok())
        {
            None => Ok(body),
            Some("Handled") => Err(TaskFailure::new(
                body["errorType"].as_str().unwrap_or("Unknown"),
                body["errorMessage"].as_str().unwrap_or_default(),
            )),
            Some(_) => Err(TaskFailure::new("Lambda.Unknown", body.to_string())),
        }
    }
}

/// The engine behind the endpoint.
pub type Runner = AslRunner<SkipClock, InvokeOverHttp>;

/// The endpoint: where it listens, the state machine it runs, its runner and clock.
#[derive(Debug, Clone)]
pub struct StepFunctions {
    addr: SocketAddr,
    state_machine_arn: String,
    runner: Runner,
    clock: SkipClock,
    _server: Arc<JoinHandle<()>>,
}

struct Shared {
    runner: Runner,
    state_machine_arn: String,
}

impl StepFunctions {
    /// Runs `definition` as the state machine `state_machine_arn` on `clock`, its tasks invoking
    /// the functions behind the Invoke API at `lambda`.
    ///
    /// # Errors
    /// When it cannot listen or the runner cannot start.
    pub async fn start(
        definition: Definition,
        state_machine_arn: &str,
        lambda: SocketAddr,
        clock: SkipClock,
    ) -> io::Result<Self> {
        let pool = powerpole_asl::sqlite::in_memory()
            .await
            .map_err(io::Error::other)?;
        let name = state_machine_arn
            .rsplit(':')
            .next()
            .unwrap_or("powerpole")
            .to_owned();
        let runner = AslRunner::new(
            pool,
            definition,
            InvokeOverHttp { addr: lambda },
            clock.clone(),
            RunnerOptions {
                state_machine_name: name,
                poll_interval: std::time::Duration::from_millis(50),
            },
        )
        .await
        .map_err(io::Error::other)?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            runner: runner.clone(),
            state_machine_arn: state_machine_arn.to_owned(),
        });
        let server = tokio::spawn(http::serve(listener, move |request| {
            let shared = Arc::clone(&shared);
            async move { handle(&shared, request).await }
        }));
        Ok(Self {
            addr,
            state_machine_arn: state_machine_arn.to_owned(),
            runner,
            clock,
            _server: Arc::new(server),
        })
    }

    /// The endpoint's URL (`AWS_ENDPOINT_URL_SFN`).
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The state machine's ARN.
    #[must_use]
    pub fn state_machine_arn(&self) -> &str {
        &self.state_machine_arn
    }

    /// The runner, to read executions and their histories.
    #[must_use]
    pub fn runner(&self) -> &Runner {
        &self.runner
    }

    /// The engine's clock.
    #[must_use]
    pub fn clock(&self) -> &SkipClock {
        &self.clock
    }
}

fn epoch(at: OffsetDateTime) -> f64 {
    #[allow(
        clippy::cast_precision_loss,
        reason = "milliseconds fit an f64 exactly"
    )]
    let ms = (at.unix_timestamp_nanos() / 1_000_000) as f64;
    ms / 1000.0
}

fn aws_error(kind: &str, message: &str) -> Response<Full<Bytes>> {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({"__type": kind, "message": message}),
    )
}

fn runner_error(err: &powerpole_asl::Error) -> Response<Full<Bytes>> {
    use powerpole_asl::Error as E;
    let kind = match err {
        E::InvalidExecutionName(_) => "InvalidName",
        E::ExecutionDoesNotExist(_) => "ExecutionDoesNotExist",
        E::ExecutionAlreadyExists(_) => "ExecutionAlreadyExists",
        E::TaskDoesNotExist => "TaskDoesNotExist",
        E::TaskNotWaiting(_) => "TaskTimedOut",
        _ => {
            return json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"__type": "InternalFailure", "message": err.to_string()}),
            );
        }
    };
    aws_error(kind, &err.to_string())
}

/// The execution name an execution ARN ends with.
fn execution_name(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

async fn handle(shared: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let Ok((_, body)) = http::body_of(request).await else {
        return aws_error("SerializationException", "unreadable body");
    };
    let Ok(input) = serde_json::from_slice::<Value>(&body) else {
        return aws_error("SerializationException", "the body is not JSON");
    };
    let text = |field: &str| input[field].as_str().unwrap_or_default().to_owned();
    let runner = &shared.runner;
    match target.strip_prefix("AWSStepFunctions.").unwrap_or_default() {
        "StartExecution" => {
            if text("stateMachineArn") != shared.state_machine_arn {
                return aws_error("StateMachineDoesNotExist", &text("stateMachineArn"));
            }
            let name = text("name");
            let execution_input: Value =
                serde_json::from_str(&text("input")).unwrap_or_else(|_| json!({}));
            match runner.start_execution(&name, execution_input).await {
                Ok(started) => {
                    if !started.created
                        && runner
                            .describe(&name)
                            .await
                            .is_ok_and(|d| d.status != powerpole_asl::ExecutionStatus::Running)
                    {
                        return aws_error(
                            "ExecutionAlreadyExists",
                            &format!("Execution Already Exists: '{name}'"),
                        );
                    }
                    json_response(
                        StatusCode::OK,
                        &json!({
                            "executionArn": execution_arn(&shared.state_machine_arn, &name),
                            "startDate": epoch(started.start_time),
                        }),
                    )
                }
                Err(err) => runner_error(&err),
            }
        }
        "SendTaskSuccess" => {
            let output: Value = serde_json::from_str(&text("output")).unwrap_or(Value::Null);
            match runner.send_task_success(&text("taskToken"), output).await {
                Ok(()) => json_response(StatusCode::OK, &json!({})),
                Err(err) => runner_error(&err),
            }
        }
        "SendTaskFailure" => match runner
            .send_task_failure(&text("taskToken"), &text("error"), &text("cause"))
            .await
        {
            Ok(()) => json_response(StatusCode::OK, &json!({})),
            Err(err) => runner_error(&err),
        },
        "SendTaskHeartbeat" => json_response(StatusCode::OK, &json!({})),
        "StopExecution" => {
            let name =
                execution_name(input["executionArn"].as_str().unwrap_or_default()).to_owned();
            match runner
                .stop_execution(&name, &text("error"), &text("cause"))
                .await
            {
                Ok(()) | Err(powerpole_asl::Error::ExecutionNotRunning(_)) => json_response(
                    StatusCode::OK,
                    &json!({"stopDate": epoch(OffsetDateTime::now_utc())}),
                ),
                Err(err) => runner_error(&err),
            }
        }
        "DescribeExecution" => {
            let name =
                execution_name(input["executionArn"].as_str().unwrap_or_default()).to_owned();
            match runner.describe(&name).await {
                Ok(d) => {
                    let mut out = json!({
                        "executionArn": execution_arn(&shared.state_machine_arn, &d.name),
                        "stateMachineArn": shared.state_machine_arn,
                        "name": d.name,
                        "status": d.status.as_str(),
                        "startDate": epoch(d.start_time),
                        "input": d.input.to_string(),
                    });
                    if let Some(stop) = d.stop_time {
                        out["stopDate"] = json!(epoch(stop));
                    }
                    if let Some(output) = d.output {
                        out["output"] = json!(output.to_string());
                    }
                    json_response(StatusCode::OK, &out)
                }
                Err(err) => runner_error(&err),
            }
        }
        other => aws_error("UnknownOperationException", other),
    }
}

/// The ARN of execution `name` of `state_machine_arn`, as Step Functions makes it.
#[must_use]
pub fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        state_machine_arn.replacen(":stateMachine:", ":execution:", 1)
    )
}
