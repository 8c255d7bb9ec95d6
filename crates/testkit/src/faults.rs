//! Faults for tests, injected by proxies the code under test is pointed at instead of the real
//! server.
//!
//! - [`TcpProxy`] forwards TCP to a server (the test MariaDB) and can take it away
//!   ([`TcpProxy::cut`]: new connections are refused, open ones closed) and bring it back on the
//!   same port ([`TcpProxy::restore`]).
//! - [`AwsProxy`] is an HTTP/1 reverse proxy in front of the AWS emulator (moto). It records the
//!   operation of every request and answers chosen ones with AWS's throttling error instead of
//!   forwarding them ([`AwsProxy::throttle`]), shaped so that the AWS SDK for Rust classifies it
//!   as a throttling error and retries it.

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::runtime::Handle;
use tokio::task::{JoinHandle, JoinSet};

use crate::http::{self, Answer, json_response};

/// A TCP forwarder from a loopback port to a server, which can take the server away and bring it
/// back. Dropping it closes the port and every forwarded connection.
#[derive(Debug)]
pub struct TcpProxy {
    port: u16,
    upstream: Upstream,
    forwarding: Mutex<Forwarding>,
}

#[derive(Debug, Clone)]
struct Upstream {
    host: String,
    port: u16,
}

/// One listening period, from [`TcpProxy::to`] or [`TcpProxy::restore`] to [`TcpProxy::cut`].
#[derive(Debug)]
struct Forwarding {
    /// Cleared by `cut`: a connection accepted afterwards is closed, never forwarded.
    live: Arc<AtomicBool>,
    /// The accept loop, which owns the listener and the forwarded connections.
    tasks: JoinSet<()>,
}

impl TcpProxy {
    /// Starts forwarding `127.0.0.1:PORT` (a port the OS picks) to `host:port`, e.g. a
    /// `MySqlConnectOptions`' `get_host()` and `get_port()`. Each accepted connection opens its
    /// own connection to `host:port`; one that cannot is closed.
    ///
    /// # Errors
    /// When the loopback port cannot be bound, or there is no Tokio runtime.
    pub async fn to(host: &str, port: u16) -> io::Result<Self> {
        let runtime = Handle::try_current().map_err(io::Error::other)?;
        let listener = listen(0)?;
        let local = listener.local_addr()?.port();
        let upstream = Upstream {
            host: host.to_owned(),
            port,
        };
        let forwarding = Forwarding::start(listener, &upstream, &runtime);
        Ok(Self {
            port: local,
            upstream,
            forwarding: Mutex::new(forwarding),
        })
    }

    /// The loopback port to connect to instead of the server's; it stays the same across
    /// [`cut`](Self::cut) and [`restore`](Self::restore).
    #[must_use]
    pub const fn port(&self) -> u16 {
        self.port
    }

    /// Takes the server away: the port stops accepting (a connection is refused, or closed
    /// before anything is forwarded) and every forwarded connection is closed.
    pub fn cut(&self) {
        let mut forwarding = lock(&self.forwarding);
        forwarding.live.store(false, Ordering::SeqCst);
        forwarding.tasks.abort_all();
    }

    /// Brings the server back after [`cut`](Self::cut): listens again on the same port and
    /// forwards new connections again. Does nothing when the proxy is not cut. Calls to `cut`
    /// and `restore` are not meant to overlap.
    ///
    /// # Errors
    /// When the port cannot be bound again (another process took it), or there is no Tokio
    /// runtime. The proxy stays cut and `restore` can be tried again.
    pub async fn restore(&self) -> io::Result<()> {
        let runtime = Handle::try_current().map_err(io::Error::other)?;
        let mut dying = {
            let mut forwarding = lock(&self.forwarding);
            if forwarding.live.load(Ordering::SeqCst) {
                return Ok(());
            }
            std::mem::take(&mut forwarding.tasks)
        };
        // The old listener must be closed before its port can be bound again.
        dying.shutdown().await;
        let listener = listen(self.port)?;
        *lock(&self.forwarding) = Forwarding::start(listener, &self.upstream, &runtime);
        Ok(())
    }
}

impl Forwarding {
    fn start(listener: TcpListener, upstream: &Upstream, runtime: &Handle) -> Self {
        let live = Arc::new(AtomicBool::new(true));
        let mut tasks = JoinSet::new();
        tasks.spawn_on(
            accept(listener, upstream.clone(), Arc::clone(&live)),
            runtime,
        );
        Self { live, tasks }
    }
}

/// A listener on `127.0.0.1:port` with `SO_REUSEADDR`, so that the port of a cut proxy can be
/// bound again while its closed connections linger in `TIME_WAIT`.
fn listen(port: u16) -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
    socket.listen(1024)
}

async fn accept(listener: TcpListener, upstream: Upstream, live: Arc<AtomicBool>) {
    // Owned by this task: aborting it drops the listener and aborts every connection.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((mut inbound, _)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                if !live.load(Ordering::SeqCst) {
                    continue;
                }
                let upstream = upstream.clone();
                let live = Arc::clone(&live);
                connections.spawn(async move {
                    let connected = TcpStream::connect((upstream.host.as_str(), upstream.port)).await;
                    if let Ok(mut outbound) = connected
                        && live.load(Ordering::SeqCst)
                    {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// An HTTP/1 reverse proxy in front of the AWS emulator, to point the code under test at
/// (`AWS_ENDPOINT_URL`). It forwards every request (method, path and query, headers including
/// `host` and `authorization`, body) and returns the emulator's status, headers and body
/// unchanged, except for the requests it was told to throttle. Dropping it stops the server.
///
/// The operation of a request is the part after the last `.` of its `x-amz-target` header (the
/// JSON protocols: `DynamoDB_20120810.GetItem`, `secretsmanager.CreateSecret`,
/// `AmazonSSM.DescribeInstanceInformation`, `Logs_20140328.FilterLogEvents`,
/// `AWSStepFunctions.StartExecution`), else the `Action` parameter of a form-urlencoded body or
/// of the query string (the EC2 query protocol: `Action=RunInstances&Version=2016-11-15&…`).
/// Requests without either (moto's own `/moto-api/…`, REST protocols) are forwarded and neither
/// recorded nor throttled.
///
/// A throttled request is answered, without reaching the emulator, as AWS answers it:
/// - JSON protocols: `400`, the request's `content-type` (`application/x-amz-json-1.0` for
///   DynamoDB and Step Functions, `…-1.1` for the others), body
///   `{"__type":"ThrottlingException","message":"Rate exceeded"}`;
/// - EC2: `503`, `text/xml`, body
///   `<Response><Errors><Error><Code>RequestLimitExceeded</Code>…</Error></Errors><RequestID>…</RequestID></Response>`.
///
/// The SDK reads the error code from `__type` (or `x-amzn-errortype`) and from
/// `Response/Errors/Error/Code`, and its `AwsErrorCodeClassifier` (aws-runtime
/// `retries::classifiers::THROTTLING_ERRORS`) classifies these codes as throttling errors, which
/// it retries: `Throttling`, `ThrottlingException`, `ThrottledException`,
/// `RequestThrottledException`, `TooManyRequestsException`,
/// `ProvisionedThroughputExceededException`, `TransactionInProgressException`,
/// `RequestLimitExceeded`, `BandwidthLimitExceeded`, `LimitExceededException`,
/// `RequestThrottled`, `SlowDown`, `PriorRequestNotComplete`, `EC2ThrottledException`. (The
/// `503` alone would also make it retry, as a transient error.)
#[derive(Debug)]
pub struct AwsProxy {
    addr: SocketAddr,
    ledger: Arc<Mutex<Ledger>>,
    server: JoinHandle<()>,
}

impl Drop for AwsProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// What the proxy saw and what it still has to throttle.
#[derive(Debug, Default)]
struct Ledger {
    operations: Vec<String>,
    throttle: HashMap<String, usize>,
    throttle_all: usize,
    hold: HashMap<String, Duration>,
}

impl Ledger {
    /// Records a request for `operation`; whether it is throttled.
    fn see(&mut self, operation: &str) -> bool {
        self.operations.push(operation.to_owned());
        if self.throttle_all > 0 {
            self.throttle_all -= 1;
            return true;
        }
        match self.throttle.get_mut(operation) {
            Some(left) if *left > 0 => {
                *left -= 1;
                true
            }
            _ => false,
        }
    }
}

impl AwsProxy {
    /// Starts the proxy on `127.0.0.1` at a port the OS picks, forwarding to `upstream` (the
    /// emulator's address), served by the current Tokio runtime.
    ///
    /// # Errors
    /// When the loopback port cannot be bound, or there is no Tokio runtime.
    pub async fn to(upstream: SocketAddr) -> io::Result<Self> {
        let runtime = Handle::try_current().map_err(io::Error::other)?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let shared = Arc::clone(&ledger);
        let server = runtime.spawn(http::serve(listener, move |request| {
            let ledger = Arc::clone(&shared);
            async move { handle(upstream, &ledger, request).await }
        }));
        Ok(Self {
            addr,
            ledger,
            server,
        })
    }

    /// The address the proxy listens on.
    #[must_use]
    pub const fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint URL to give the SDK instead of the emulator's: `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The operations of every request seen so far, in order, forwarded and throttled alike.
    #[must_use]
    pub fn operations(&self) -> Vec<String> {
        lock(&self.ledger).operations.clone()
    }

    /// How many requests for `operation` were seen so far, forwarded and throttled alike.
    #[must_use]
    pub fn count(&self, operation: &str) -> usize {
        lock(&self.ledger)
            .operations
            .iter()
            .filter(|seen| *seen == operation)
            .count()
    }

    /// Answers the next `times` requests for `operation` (e.g. `GetItem`, `RunInstances`) with
    /// the throttling error instead of forwarding them; replaces any count still pending for
    /// it (`0` cancels it).
    pub fn throttle(&self, operation: &str, times: usize) {
        lock(&self.ledger)
            .throttle
            .insert(operation.to_owned(), times);
    }

    /// Forwards the next request for `operation` and holds the server's answer back for `delay`:
    /// the call is done on the server while its caller still waits, which is the window in
    /// which a crash of the caller leaves work it does not know about.
    pub fn hold_response(&self, operation: &str, delay: Duration) {
        lock(&self.ledger).hold.insert(operation.to_owned(), delay);
    }

    /// Answers the next `times` requests, whatever their operation, with the throttling error;
    /// replaces the count still pending (`0` cancels it). While it lasts, it is used before any
    /// count of [`throttle`](Self::throttle).
    pub fn throttle_all(&self, times: usize) {
        lock(&self.ledger).throttle_all = times;
    }
}

async fn handle(
    upstream: SocketAddr,
    ledger: &Mutex<Ledger>,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (parts, body) = match http::body_of(request).await {
        Ok(read) => read,
        Err(error) => return text(StatusCode::BAD_REQUEST, &error.to_string()),
    };
    let target = parts.headers.get("x-amz-target").is_some();
    let operation = operation_of(&parts, &body);
    if let Some(operation) = &operation
        && lock(ledger).see(operation)
    {
        return if target {
            json_throttling(&parts.headers)
        } else {
            ec2_throttling()
        };
    }
    let hold = operation.and_then(|operation| lock(ledger).hold.remove(&operation));
    let forwarded = forward(upstream, &parts, body).await;
    if let Some(hold) = hold {
        tokio::time::sleep(hold).await;
    }
    match forwarded {
        Ok(answer) => {
            let mut response = Response::new(Full::new(answer.body));
            *response.status_mut() = answer.status;
            *response.headers_mut() = end_to_end(&answer.headers);
            response
        }
        Err(error) => text(StatusCode::BAD_GATEWAY, &error.to_string()),
    }
}

/// The operation a request calls: `x-amz-target`'s last part, else the `Action` parameter.
fn operation_of(parts: &Parts, body: &[u8]) -> Option<String> {
    if let Some(target) = parts.headers.get("x-amz-target") {
        let target = target.to_str().ok()?;
        return target.rsplit('.').next().map(str::to_owned);
    }
    let form = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    let action = |pairs: &[u8]| {
        form_urlencoded::parse(pairs)
            .find(|(name, _)| name == "Action")
            .map(|(_, value)| value.into_owned())
    };
    form.then(|| action(body))
        .flatten()
        .or_else(|| parts.uri.query().and_then(|query| action(query.as_bytes())))
}

fn json_throttling(request_headers: &HeaderMap) -> Response<Full<Bytes>> {
    let mut response = json_response(
        StatusCode::BAD_REQUEST,
        &json!({"__type": "ThrottlingException", "message": "Rate exceeded"}),
    );
    let content_type = request_headers
        .get(CONTENT_TYPE)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("application/x-amz-json-1.1"));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, content_type);
    if let Ok(id) = HeaderValue::from_str(&crate::unique_name("throttled")) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

fn ec2_throttling() -> Response<Full<Bytes>> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>\
         <Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>\
         </Error></Errors><RequestID>{}</RequestID></Response>",
        crate::unique_name("throttled")
    );
    Response::builder()
        .status(StatusCode::SERVICE_UNAVAILABLE)
        .header(CONTENT_TYPE, "text/xml;charset=UTF-8")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn text(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(format!("faults proxy: {message}"))));
    *response.status_mut() = status;
    response
}

/// Sends the request to `upstream` on a new connection with its headers as they came (unlike
/// [`http::call`], which sets its own `host`) and reads the whole answer.
async fn forward(upstream: SocketAddr, parts: &Parts, body: Bytes) -> io::Result<Answer> {
    let stream = TcpStream::connect(upstream).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(io::Error::other)?;
    tokio::spawn(connection);
    let path = parts.uri.path_and_query().map_or("/", |path| path.as_str());
    let mut request = Request::builder()
        .method(parts.method.clone())
        .uri(path)
        .body(Full::new(body))
        .map_err(io::Error::other)?;
    *request.headers_mut() = end_to_end(&parts.headers);
    let response = sender
        .send_request(request)
        .await
        .map_err(io::Error::other)?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(io::Error::other)?.to_bytes();
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

/// `headers` without the hop-by-hop ones: the proxy frames each message itself.
fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    const HOP_BY_HOP: [&str; 7] = [
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ];
    let mut kept = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            kept.append(HeaderName::clone(name), value.clone());
        }
    }
    kept
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use hyper::Method;
    use serde_json::Value;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    /// An HTTP server that answers `202` with the request's body, and its path, `host`,
    /// `authorization` and `x-amz-target` in `x-echo-*` headers; counts what reached it.
    async fn echo_http() -> (SocketAddr, Arc<AtomicUsize>) {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&hits);
        tokio::spawn(http::serve(listener, move |request| {
            let hits = Arc::clone(&counted);
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                let (parts, body) = http::body_of(request).await.unwrap();
                let mut response = Response::builder()
                    .status(StatusCode::ACCEPTED)
                    .header("x-echo-path", parts.uri.to_string());
                for name in ["host", "authorization", "x-amz-target"] {
                    if let Some(value) = parts.headers.get(name) {
                        response = response.header(format!("x-echo-{name}"), value);
                    }
                }
                response.body(Full::new(body)).unwrap()
            }
        }));
        (addr, hits)
    }

    fn header<'a>(answer: &'a Answer, name: &str) -> &'a str {
        answer.headers.get(name).unwrap().to_str().unwrap()
    }

    async fn dynamodb(proxy: &AwsProxy, operation: &str, body: &'static str) -> Answer {
        let target = format!("DynamoDB_20120810.{operation}");
        http::call(
            proxy.addr(),
            Method::POST,
            "/",
            &[
                ("x-amz-target", &target),
                ("content-type", "application/x-amz-json-1.0"),
            ],
            Bytes::from_static(body.as_bytes()),
        )
        .await
        .unwrap()
    }

    async fn ec2(proxy: &AwsProxy, body: &'static str) -> Answer {
        http::call(
            proxy.addr(),
            Method::POST,
            "/",
            &[(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )],
            Bytes::from_static(body.as_bytes()),
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn the_aws_proxy_forwards_requests_and_answers_unchanged() {
        let (upstream, hits) = echo_http().await;
        let proxy = AwsProxy::to(upstream).await.unwrap();
        assert_eq!(proxy.url(), format!("http://{}", proxy.addr()));

        let answer = http::call(
            proxy.addr(),
            Method::POST,
            "/some/path?x=1",
            &[
                ("x-amz-target", "secretsmanager.CreateSecret"),
                ("content-type", "application/x-amz-json-1.1"),
                ("authorization", "AWS4-HMAC-SHA256 Credential=test/x"),
            ],
            Bytes::from_static(br#"{"Name":"s1"}"#),
        )
        .await
        .unwrap();

        assert_eq!(answer.status, StatusCode::ACCEPTED);
        assert_eq!(&answer.body[..], br#"{"Name":"s1"}"#);
        assert_eq!(header(&answer, "x-echo-path"), "/some/path?x=1");
        assert_eq!(header(&answer, "x-echo-host"), proxy.addr().to_string());
        assert_eq!(
            header(&answer, "x-echo-authorization"),
            "AWS4-HMAC-SHA256 Credential=test/x"
        );
        assert_eq!(
            header(&answer, "x-echo-x-amz-target"),
            "secretsmanager.CreateSecret"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        assert_eq!(proxy.operations(), ["CreateSecret"]);
    }

    #[tokio::test]
    async fn a_throttled_json_operation_is_refused_then_forwarded() {
        let (upstream, hits) = echo_http().await;
        let proxy = AwsProxy::to(upstream).await.unwrap();
        proxy.throttle("PutItem", 2);

        for _ in 0..2 {
            let refused = dynamodb(&proxy, "PutItem", r#"{"TableName":"t"}"#).await;
            assert_eq!(refused.status, StatusCode::BAD_REQUEST);
            assert_eq!(
                header(&refused, "content-type"),
                "application/x-amz-json-1.0"
            );
            let error: Value = serde_json::from_slice(&refused.body).unwrap();
            assert_eq!(
                error,
                json!({"__type": "ThrottlingException", "message": "Rate exceeded"})
            );
            let other = dynamodb(&proxy, "GetItem", "{}").await;
            assert_eq!(other.status, StatusCode::ACCEPTED, "other operations pass");
        }
        assert_eq!(hits.load(Ordering::SeqCst), 2, "only the two GetItems");

        let forwarded = dynamodb(&proxy, "PutItem", r#"{"TableName":"t"}"#).await;
        assert_eq!(forwarded.status, StatusCode::ACCEPTED);
        assert_eq!(&forwarded.body[..], br#"{"TableName":"t"}"#);
        assert_eq!(hits.load(Ordering::SeqCst), 3);
        assert_eq!(
            proxy.operations(),
            ["PutItem", "GetItem", "PutItem", "GetItem", "PutItem"]
        );
        assert_eq!(proxy.count("PutItem"), 3);
        assert_eq!(proxy.count("GetItem"), 2);
    }

    #[tokio::test]
    async fn an_ec2_action_is_recognised_and_refused_with_request_limit_exceeded() {
        let (upstream, hits) = echo_http().await;
        let proxy = AwsProxy::to(upstream).await.unwrap();
        proxy.throttle("RunInstances", 1);
        let run = "Action=RunInstances&Version=2016-11-15&ImageId=ami-12345678";

        let refused = ec2(&proxy, run).await;
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        let xml = std::str::from_utf8(&refused.body).unwrap();
        assert!(xml.starts_with("<?xml"), "{xml}");
        assert!(
            xml.contains(
                "<Response><Errors><Error><Code>RequestLimitExceeded</Code>\
                 <Message>Request limit exceeded.</Message></Error></Errors><RequestID>"
            ),
            "{xml}"
        );
        assert!(xml.ends_with("</RequestID></Response>"), "{xml}");
        assert_eq!(hits.load(Ordering::SeqCst), 0);

        let forwarded = ec2(&proxy, run).await;
        assert_eq!(forwarded.status, StatusCode::ACCEPTED);
        assert_eq!(&forwarded.body[..], run.as_bytes());
        let described = http::call(
            proxy.addr(),
            Method::GET,
            "/?Action=DescribeInstances&Version=2016-11-15",
            &[],
            Bytes::new(),
        )
        .await
        .unwrap();
        assert_eq!(described.status, StatusCode::ACCEPTED);
        assert_eq!(
            proxy.operations(),
            ["RunInstances", "RunInstances", "DescribeInstances"]
        );
        assert_eq!(proxy.count("RunInstances"), 2);
    }

    #[tokio::test]
    async fn throttle_all_refuses_the_next_requests_whatever_their_operation() {
        let (upstream, hits) = echo_http().await;
        let proxy = AwsProxy::to(upstream).await.unwrap();
        proxy.throttle_all(2);

        let first = dynamodb(&proxy, "Query", "{}").await;
        let second = ec2(&proxy, "Action=DescribeInstances&Version=2016-11-15").await;
        let third = dynamodb(&proxy, "Query", "{}").await;

        assert_eq!(first.status, StatusCode::BAD_REQUEST);
        assert_eq!(second.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(third.status, StatusCode::ACCEPTED);
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn requests_without_an_operation_are_forwarded_and_not_recorded() {
        let (upstream, hits) = echo_http().await;
        let proxy = AwsProxy::to(upstream).await.unwrap();
        proxy.throttle_all(1);

        let reset = http::call(
            proxy.addr(),
            Method::POST,
            "/moto-api/reset",
            &[],
            Bytes::new(),
        )
        .await
        .unwrap();

        assert_eq!(reset.status, StatusCode::ACCEPTED);
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        assert!(proxy.operations().is_empty());
    }

    /// A TCP server that writes back every byte it reads.
    async fn echo_tcp() -> u16 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut read, mut write) = stream.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                });
            }
        });
        port
    }

    async fn round_trip(port: u16, message: &[u8]) -> Vec<u8> {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
            .await
            .unwrap();
        stream.write_all(message).await.unwrap();
        let mut echoed = vec![0; message.len()];
        tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut echoed))
            .await
            .unwrap()
            .unwrap();
        echoed
    }

    /// Whether `stream` is closed: a read ends (EOF or reset) without data, promptly.
    async fn closed(stream: &mut TcpStream) -> bool {
        let _ = stream.write_all(b"anyone?").await;
        let mut buffer = [0; 16];
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => true,
            Ok(Ok(_)) | Err(_) => false,
        }
    }

    #[tokio::test]
    async fn the_tcp_proxy_forwards_until_cut_and_again_once_restored() {
        let echo = echo_tcp().await;
        let proxy = TcpProxy::to("127.0.0.1", echo).await.unwrap();
        let port = proxy.port();
        assert_ne!(port, echo);
        assert_eq!(round_trip(port, b"ping").await, b"ping");
        let mut open = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
            .await
            .unwrap();
        open.write_all(b"open").await.unwrap();
        let mut echoed = [0; 4];
        open.read_exact(&mut echoed).await.unwrap();
        assert_eq!(&echoed, b"open");

        proxy.cut();

        assert!(closed(&mut open).await, "the open connection is closed");
        if let Ok(mut refused) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await {
            assert!(
                closed(&mut refused).await,
                "a new connection is not forwarded"
            );
        }
        // Once the listener is gone, connections are refused outright.
        let mut refused = false;
        for _ in 0..100 {
            if TcpStream::connect((Ipv4Addr::LOCALHOST, port))
                .await
                .is_err()
            {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(refused, "the port stops listening");

        proxy.restore().await.unwrap();

        assert_eq!(proxy.port(), port);
        assert_eq!(round_trip(port, b"again").await, b"again");
        proxy.restore().await.unwrap();
        assert_eq!(
            round_trip(port, b"still").await,
            b"still",
            "restore is idempotent"
        );
    }
}
