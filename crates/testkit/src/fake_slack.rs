//! A fake Slack on loopback, both ways: the Web API the broker calls, and the signed requests
//! Slack sends the broker.
//!
//! [`FakeSlack::start`] serves `POST /api/<method>` (and `GET` with a query string, which
//! slack-morphism uses for read methods such as `users.info`) over HTTP/1.1 on `127.0.0.1` at a random port,
//! records every call (method, bot token, body as JSON) and answers like Slack does, `ok:false`
//! errors included. Tests point the adapter's API URL at [`FakeSlack::api_url`] and assert the
//! exact calls made; [`FakeSlack::fail_next`] makes the next call to a method fail the way Slack
//! fails (an error code, HTTP 429 with `Retry-After`, or HTTP 500). The server stops when the
//! handle is dropped.
//!
//! The other way, [`sign`] signs a body the way Slack does, with an HMAC-SHA256 implementation
//! independent of the one the adapter verifies with, and [`post`] delivers it.
//!
//! Behaviour worth knowing when writing assertions:
//! - `ts` values are fresh and strictly increasing across all methods of one fake.
//! - `chat.postMessage` to a user id (`U…`) posts in the bot's DM with them and answers with the
//!   DM channel id (`D…`), as Slack does; `chat.update` must then use that id.
//! - `chat.update` only finds messages this fake posted; `views.update` only views it opened.
//! - Form-encoded bodies and GET query strings are recorded as a JSON object of strings (so a
//!   form's `blocks` stays a string).
//! - `conversations.members` answers in one page unless [`FakeSlack::set_members_page_size`]
//!   says otherwise; then it pages with opaque cursors, as Slack does.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Display;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};
use sha2::Sha256;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The workspace id the fake answers with.
pub const TEAM_ID: &str = "T0FAKE0001";
/// The bot user id of the fake app.
pub const BOT_USER_ID: &str = "U0FAKEBOT1";
/// The bot id of the fake app.
pub const BOT_ID: &str = "B0FAKEBOT1";
/// The app id of the fake app.
pub const APP_ID: &str = "A0FAKEAPP1";

/// The Web API methods the fake implements; any other answers `unknown_method`.
pub const METHODS: [&str; 8] = [
    "chat.postMessage",
    "chat.update",
    "chat.postEphemeral",
    "views.open",
    "views.update",
    "users.info",
    "conversations.members",
    "usergroups.users.list",
];

/// How the fake fails an injected call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FakeFailure {
    /// HTTP 200 with `{"ok":false,"error":<code>}`, e.g. `channel_not_found`.
    SlackError(&'static str),
    /// HTTP 429 with `Retry-After: <retry_after_secs>` and `{"ok":false,"error":"ratelimited"}`.
    RateLimited {
        /// The `Retry-After` value.
        retry_after_secs: u64,
    },
    /// HTTP 500 with a plain-text body, as a load balancer in trouble answers.
    ServerError,
}

/// One recorded Web API call.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeCall {
    /// The method, e.g. `chat.postMessage`.
    pub method: String,
    /// The HTTP method: `POST`, or `GET` for a read method called with a query string.
    pub http_method: String,
    /// The bearer token from `Authorization` (or a form body's `token` field).
    pub token: Option<String>,
    /// The request body: the JSON sent, or the form fields as a JSON object of strings.
    pub body: Value,
    /// The HTTP status the fake answered with.
    pub status: u16,
    /// The JSON the fake answered with (`null` for a 500).
    pub response: Value,
}

impl FakeCall {
    /// A top-level string field of the body.
    #[must_use]
    pub fn str(&self, field: &str) -> Option<&str> {
        self.body.get(field)?.as_str()
    }

    /// Whether Slack would have accepted the call (`ok:true`).
    #[must_use]
    pub fn ok(&self) -> bool {
        self.response.get("ok").and_then(Value::as_bool) == Some(true)
    }
}

/// A running fake Slack Web API. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeSlack {
    addr: SocketAddr,
    shared: Arc<Mutex<State>>,
    server: JoinHandle<()>,
}

impl Drop for FakeSlack {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeSlack {
    /// Starts the fake on `127.0.0.1` at a port the OS picks, served by the current Tokio
    /// runtime.
    ///
    /// # Errors
    /// When the loopback port cannot be bound, or there is no Tokio runtime.
    pub async fn start() -> io::Result<Self> {
        let runtime = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Mutex::new(State::new()));
        let server = runtime.spawn(serve(listener, Arc::clone(&shared)));
        Ok(Self {
            addr,
            shared,
            server,
        })
    }

    /// The address the fake listens on.
    #[must_use]
    pub const fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The Web API base URL with a trailing slash: `http://127.0.0.1:PORT/api/`.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}/api/", self.addr)
    }

    /// The Web API base URL without a trailing slash, as slack-morphism's
    /// `with_slack_api_url` takes it: `http://127.0.0.1:PORT/api`.
    #[must_use]
    pub fn api_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// Every call so far, in arrival order.
    #[must_use]
    pub fn calls(&self) -> Vec<FakeCall> {
        self.state().calls.clone()
    }

    /// The calls so far to one method, in arrival order.
    #[must_use]
    pub fn calls_to(&self, method: &str) -> Vec<FakeCall> {
        self.state()
            .calls
            .iter()
            .filter(|call| call.method == method)
            .cloned()
            .collect()
    }

    /// Forgets the calls recorded so far (posted messages and opened views stay known).
    pub fn clear_calls(&self) {
        self.state().calls.clear();
    }

    /// Waits until `method` has been called at least `count` times or `timeout` has passed, and
    /// returns the calls to it, for work the code under test does in the background.
    pub async fn wait_for_calls(
        &self,
        method: &str,
        count: usize,
        timeout: Duration,
    ) -> Vec<FakeCall> {
        let deadline = Instant::now() + timeout;
        loop {
            let calls = self.calls_to(method);
            if calls.len() >= count || Instant::now() >= deadline {
                return calls;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Waits until a call matching `wanted` has been made or `timeout` has passed, and returns
    /// the matching calls (empty on timeout).
    pub async fn wait_for_calls_where(
        &self,
        timeout: Duration,
        wanted: impl Fn(&FakeCall) -> bool,
    ) -> Vec<FakeCall> {
        let deadline = Instant::now() + timeout;
        loop {
            let calls: Vec<FakeCall> = self.calls().into_iter().filter(|c| wanted(c)).collect();
            if !calls.is_empty() || Instant::now() >= deadline {
                return calls;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Makes `users.info` know `user` with this e-mail address; unknown users are `user_not_found`.
    pub fn set_user_email(&self, user: &str, email: &str) {
        self.state()
            .emails
            .insert(user.to_owned(), Some(email.to_owned()));
    }

    /// Makes `users.info` know `user` with a profile that has no `email` field, as Slack
    /// answers when the app lacks the `users:read.email` scope.
    pub fn set_user_without_email(&self, user: &str) {
        self.state().emails.insert(user.to_owned(), None);
    }

    /// Sets the members `conversations.members` lists for `channel`; unknown channels are
    /// `channel_not_found`.
    pub fn set_channel_members(&self, channel: &str, members: &[&str]) {
        self.state().channel_members.insert(
            channel.to_owned(),
            members.iter().map(|&m| m.to_owned()).collect(),
        );
    }

    /// Makes `conversations.members` answer at most `size` members per page (at least 1), with a
    /// `next_cursor` until the last page; an unknown cursor is `invalid_cursor`.
    pub fn set_members_page_size(&self, size: usize) {
        self.state().members_page_size = Some(size.max(1));
    }

    /// Sets the users `usergroups.users.list` lists for `usergroup`; unknown groups are
    /// `no_such_subteam`.
    pub fn set_usergroup_users(&self, usergroup: &str, users: &[&str]) {
        self.state().usergroup_users.insert(
            usergroup.to_owned(),
            users.iter().map(|&u| u.to_owned()).collect(),
        );
    }

    /// From now on calls are only counted ([`Self::count`]): nothing is recorded and posted
    /// messages and opened views are not kept (`chat.update` and `views.update` then answer
    /// `message_not_found` / `not_found`). For load runs, whose calls would fill the memory.
    pub fn count_only(&self) {
        self.state().counting_only = true;
    }

    /// How many calls `method` got so far (cleared calls included).
    #[must_use]
    pub fn count(&self, method: &str) -> u64 {
        self.state().counts.get(method).copied().unwrap_or(0)
    }

    /// Fails the next call to `method` with `failure` (queued after failures already set).
    pub fn fail_next(&self, method: &str, failure: FakeFailure) {
        self.fail_times(method, 1, failure);
    }

    /// Fails the next `times` calls to `method` with `failure`.
    pub fn fail_times(&self, method: &str, times: usize, failure: FakeFailure) {
        let mut state = self.state();
        let queue = state.failures.entry(method.to_owned()).or_default();
        queue.extend(std::iter::repeat_n(failure, times));
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.shared)
    }
}

/// `v0=` and the hex HMAC-SHA256 of `v0:{timestamp}:{body}` under `signing_secret`: the
/// `X-Slack-Signature` Slack sends.
#[must_use]
pub fn sign(signing_secret: &str, timestamp: impl Display, body: &[u8]) -> String {
    let mut mac = new_mac(signing_secret.as_bytes());
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// The current Unix time in seconds, as Slack puts it in `X-Slack-Request-Timestamp`.
#[must_use]
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The headers of a form request Slack sends now with `body`: content type, timestamp and
/// signature.
#[must_use]
pub fn signed_form_headers(signing_secret: &str, body: &[u8]) -> Vec<(String, String)> {
    let timestamp = unix_now();
    vec![
        (
            "content-type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        ),
        (
            "x-slack-request-timestamp".to_owned(),
            timestamp.to_string(),
        ),
        (
            "x-slack-signature".to_owned(),
            sign(signing_secret, timestamp, body),
        ),
    ]
}

#[expect(
    clippy::expect_used,
    reason = "HMAC takes keys of any length, so keying cannot fail"
)]
fn new_mac(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length")
}

/// An HTTP answer read by [`post`].
#[derive(Debug, Clone)]
pub struct HttpReply {
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

impl HttpReply {
    /// The first value of header `name` (lower case).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON.
    ///
    /// # Errors
    /// When the body is not JSON.
    pub fn json(&self) -> serde_json::Result<Value> {
        serde_json::from_slice(&self.body)
    }
}

/// Sends one HTTP/1.1 POST to an `http://` URL (loopback in tests) and reads the whole answer.
///
/// # Errors
/// When the URL is not `http://host:port/…`, the connection fails, or the exchange is not HTTP.
pub async fn post<K: AsRef<str>, V: AsRef<str>>(
    url: &str,
    headers: &[(K, V)],
    body: impl Into<Bytes>,
) -> io::Result<HttpReply> {
    send(Method::POST, url, headers, body.into()).await
}

/// Sends one HTTP/1.1 GET to an `http://` URL (loopback in tests) and reads the whole answer.
///
/// # Errors
/// As [`post`].
pub async fn get<K: AsRef<str>, V: AsRef<str>>(
    url: &str,
    headers: &[(K, V)],
) -> io::Result<HttpReply> {
    send(Method::GET, url, headers, Bytes::new()).await
}

async fn send<K: AsRef<str>, V: AsRef<str>>(
    method: Method,
    url: &str,
    headers: &[(K, V)],
    body: Bytes,
) -> io::Result<HttpReply> {
    let runtime = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
    let uri: Uri = url.parse().map_err(invalid_input)?;
    if uri.scheme_str() != Some("http") {
        return Err(invalid_input("only http:// URLs are supported"));
    }
    let authority = uri
        .authority()
        .ok_or_else(|| invalid_input("the URL has no host"))?
        .clone();
    let stream = TcpStream::connect((authority.host(), authority.port_u16().unwrap_or(80))).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(io::Error::other)?;
    let driver = runtime.spawn(connection);
    let mut request = Request::builder()
        .method(method)
        .uri(uri.path_and_query().map_or("/", |pq| pq.as_str()))
        .header(HOST, authority.as_str());
    for (name, value) in headers {
        request = request.header(name.as_ref(), value.as_ref());
    }
    let request = request.body(Full::new(body)).map_err(invalid_input)?;
    let response = sender
        .send_request(request)
        .await
        .map_err(io::Error::other)?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(io::Error::other)?
        .to_bytes();
    driver.abort();
    Ok(HttpReply {
        status,
        headers,
        body,
    })
}

fn invalid_input(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e)
}

/// What the fake remembers.
#[derive(Debug)]
struct State {
    calls: Vec<FakeCall>,
    failures: HashMap<String, VecDeque<FakeFailure>>,
    emails: HashMap<String, Option<String>>,
    channel_members: HashMap<String, Vec<String>>,
    members_page_size: Option<usize>,
    usergroup_users: HashMap<String, Vec<String>>,
    messages: HashSet<(String, String)>,
    views: HashMap<String, Value>,
    ts_seconds: u64,
    sequence: u64,
    /// Calls per method, also while only counting.
    counts: HashMap<String, u64>,
    /// Calls are counted, not recorded, and posted messages and opened views not kept.
    counting_only: bool,
}

impl State {
    fn new() -> Self {
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1_700_000_000, |d| d.as_secs());
        Self {
            calls: Vec::new(),
            failures: HashMap::new(),
            emails: HashMap::new(),
            channel_members: HashMap::new(),
            members_page_size: None,
            usergroup_users: HashMap::new(),
            messages: HashSet::new(),
            views: HashMap::new(),
            ts_seconds: seconds,
            sequence: 0,
            counts: HashMap::new(),
            counting_only: false,
        }
    }

    fn next_ts(&mut self) -> String {
        self.sequence += 1;
        format!(
            "{}.{:06}",
            self.ts_seconds + self.sequence / 1_000_000,
            self.sequence % 1_000_000
        )
    }

    fn next_view_id(&mut self) -> String {
        self.sequence += 1;
        format!("V0FAKE{:06}", self.sequence)
    }
}

fn lock(shared: &Mutex<State>) -> MutexGuard<'_, State> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn serve(listener: TcpListener, shared: Arc<Mutex<State>>) {
    crate::http::serve(listener, move |request| {
        let shared = Arc::clone(&shared);
        async move { handle(&shared, request).await }
    })
    .await;
}

/// One answer: status, extra headers, JSON body (`None`: a plain-text error page).
struct Answer {
    status: StatusCode,
    retry_after: Option<u64>,
    json: Option<Value>,
}

impl Answer {
    fn ok(json: Value) -> Self {
        Self {
            status: StatusCode::OK,
            retry_after: None,
            json: Some(json),
        }
    }

    fn error(code: &str) -> Self {
        Self::ok(json!({ "ok": false, "error": code }))
    }

    fn into_response(self) -> Response<Full<Bytes>> {
        let mut builder = Response::builder().status(self.status);
        if let Some(secs) = self.retry_after {
            builder = builder.header(RETRY_AFTER, secs.to_string());
        }
        let response = match &self.json {
            Some(json) => builder
                .header(CONTENT_TYPE, "application/json; charset=utf-8")
                .body(Full::new(Bytes::from(json.to_string()))),
            None => builder
                .header(CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(Full::new(Bytes::from_static(b"Internal Server Error"))),
        };
        response.unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
    }
}

async fn handle(shared: &Mutex<State>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    let Some(method) = path
        .strip_prefix("/api/")
        .map(|m| m.trim_start_matches('/').to_owned())
    else {
        return plain(StatusCode::NOT_FOUND, "Not Found");
    };
    let http_method = request.method().clone();
    if http_method != Method::POST && http_method != Method::GET {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    }
    let query = request.uri().query().unwrap_or_default().to_owned();
    let bearer = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let raw = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return plain(StatusCode::BAD_REQUEST, "Bad Request"),
    };
    let (body, form_token) = if http_method == Method::GET {
        decode_body("", query.as_bytes())
    } else {
        decode_body(&content_type, &raw)
    };

    let mut state = lock(shared);
    let token = bearer.or(form_token);
    let injected = state
        .failures
        .get_mut(&method)
        .and_then(VecDeque::pop_front);
    let answer = match (injected, &body) {
        (Some(failure), _) => failed(&failure),
        (None, None) => Answer::error("invalid_json"),
        (None, Some(_)) if token.is_none() => Answer::error("not_authed"),
        (None, Some(body)) => answer(&mut state, &method, body),
    };
    *state.counts.entry(method.clone()).or_default() += 1;
    if state.counting_only {
        return answer.into_response();
    }
    state.calls.push(FakeCall {
        method,
        http_method: http_method.as_str().to_owned(),
        token,
        body: body.unwrap_or(Value::Null),
        status: answer.status.as_u16(),
        response: answer.json.clone().unwrap_or(Value::Null),
    });
    drop(state);
    answer.into_response()
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from_static(text.as_bytes())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// The body as JSON (form fields become an object of strings) and a form body's `token`;
/// `None` when a JSON body does not parse.
fn decode_body(content_type: &str, raw: &[u8]) -> (Option<Value>, Option<String>) {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return (Some(Value::Object(Map::new())), None);
    }
    if content_type.starts_with("application/json") {
        return (serde_json::from_slice(raw).ok(), None);
    }
    let mut fields = Map::new();
    let mut token = None;
    for (key, value) in form_urlencoded::parse(raw) {
        if key == "token" {
            token = Some(value.into_owned());
        } else {
            fields
                .entry(key.into_owned())
                .or_insert_with(|| Value::String(value.into_owned()));
        }
    }
    (Some(Value::Object(fields)), token)
}

fn failed(failure: &FakeFailure) -> Answer {
    match failure {
        FakeFailure::SlackError(code) => Answer::error(code),
        FakeFailure::RateLimited { retry_after_secs } => Answer {
            status: StatusCode::TOO_MANY_REQUESTS,
            retry_after: Some(*retry_after_secs),
            json: Some(json!({ "ok": false, "error": "ratelimited" })),
        },
        FakeFailure::ServerError => Answer {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            retry_after: None,
            json: None,
        },
    }
}

fn text_field<'a>(body: &'a Value, field: &str) -> Option<&'a str> {
    body.get(field)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A JSON field that form bodies carry as a JSON-encoded string (`blocks`, `view`).
fn json_field(body: &Value, field: &str) -> Option<Value> {
    match body.get(field)? {
        Value::String(s) => serde_json::from_str(s).ok(),
        Value::Null => None,
        other => Some(other.clone()),
    }
}

fn answer(state: &mut State, method: &str, body: &Value) -> Answer {
    match method {
        "chat.postMessage" => post_message(state, body),
        "chat.update" => update_message(state, body),
        "chat.postEphemeral" => post_ephemeral(state, body),
        "views.open" => open_view(state, body),
        "views.update" => update_view(state, body),
        "users.info" => user_info(state, body),
        "conversations.members" => channel_members(state, body),
        "usergroups.users.list" => {
            match text_field(body, "usergroup").and_then(|group| state.usergroup_users.get(group)) {
                Some(users) => Answer::ok(json!({ "ok": true, "users": users })),
                None => Answer::error("no_such_subteam"),
            }
        }
        _ => Answer::error("unknown_method"),
    }
}

/// A page of `conversations.members`. Cursors are `members:<offset>`, meant to be as opaque to
/// the client as Slack's.
fn channel_members(state: &State, body: &Value) -> Answer {
    let Some(members) =
        text_field(body, "channel").and_then(|channel| state.channel_members.get(channel))
    else {
        return Answer::error("channel_not_found");
    };
    let start = match text_field(body, "cursor") {
        None => 0,
        Some(cursor) => match cursor
            .strip_prefix("members:")
            .and_then(|offset| offset.parse::<usize>().ok())
            .filter(|offset| *offset < members.len())
        {
            Some(offset) => offset,
            None => return Answer::error("invalid_cursor"),
        },
    };
    let size = state.members_page_size.unwrap_or(usize::MAX);
    let end = start.saturating_add(size).min(members.len());
    let next_cursor = if end < members.len() {
        format!("members:{end}")
    } else {
        String::new()
    };
    Answer::ok(json!({
        "ok": true,
        "members": members.get(start..end).unwrap_or_default(),
        "response_metadata": { "next_cursor": next_cursor },
    }))
}

fn has_content(body: &Value) -> bool {
    text_field(body, "text").is_some()
        || json_field(body, "blocks").is_some_and(|b| b.as_array().is_some_and(|a| !a.is_empty()))
        || json_field(body, "attachments").is_some()
}

fn message_echo(body: &Value, ts: &str) -> Value {
    let mut message = json!({
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "team": TEAM_ID,
        "ts": ts,
        "text": text_field(body, "text").unwrap_or_default(),
    });
    if let Some(blocks) = json_field(body, "blocks") {
        message["blocks"] = blocks;
    }
    message
}

fn post_message(state: &mut State, body: &Value) -> Answer {
    let Some(channel) = text_field(body, "channel") else {
        return Answer::error("channel_not_found");
    };
    if !has_content(body) {
        return Answer::error("no_text");
    }
    let channel = match channel.strip_prefix(['U', 'W']) {
        Some(rest) => format!("D{rest}"),
        None => channel.to_owned(),
    };
    let ts = state.next_ts();
    if !state.counting_only {
        state.messages.insert((channel.clone(), ts.clone()));
    }
    Answer::ok(json!({
        "ok": true,
        "channel": channel,
        "ts": ts,
        "message": message_echo(body, &ts),
    }))
}

fn update_message(state: &State, body: &Value) -> Answer {
    let (Some(channel), Some(ts)) = (text_field(body, "channel"), text_field(body, "ts")) else {
        return Answer::error("invalid_arguments");
    };
    if !state
        .messages
        .contains(&(channel.to_owned(), ts.to_owned()))
    {
        return Answer::error("message_not_found");
    }
    if !has_content(body) {
        return Answer::error("no_text");
    }
    Answer::ok(json!({
        "ok": true,
        "channel": channel,
        "ts": ts,
        "text": text_field(body, "text").unwrap_or_default(),
        "message": message_echo(body, ts),
    }))
}

fn post_ephemeral(state: &mut State, body: &Value) -> Answer {
    if text_field(body, "channel").is_none() {
        return Answer::error("channel_not_found");
    }
    if text_field(body, "user").is_none() {
        return Answer::error("user_not_found");
    }
    if !has_content(body) {
        return Answer::error("no_text");
    }
    Answer::ok(json!({ "ok": true, "message_ts": state.next_ts() }))
}

fn stored_view(id: &str, view: &Value) -> Value {
    let mut stored = view.clone();
    if let Some(fields) = stored.as_object_mut() {
        fields.insert("id".to_owned(), json!(id));
        fields.insert("team_id".to_owned(), json!(TEAM_ID));
        fields.insert("app_id".to_owned(), json!(APP_ID));
        fields.insert("bot_id".to_owned(), json!(BOT_ID));
        fields.insert("root_view_id".to_owned(), json!(id));
        fields.insert("previous_view_id".to_owned(), Value::Null);
        fields.insert("state".to_owned(), json!({ "values": {} }));
        fields.insert("hash".to_owned(), json!(format!("{id}.hash")));
    }
    stored
}

fn open_view(state: &mut State, body: &Value) -> Answer {
    let (Some(_), Some(view)) = (text_field(body, "trigger_id"), json_field(body, "view")) else {
        return Answer::error("invalid_arguments");
    };
    if !view.is_object() {
        return Answer::error("invalid_arguments");
    }
    let id = state.next_view_id();
    let stored = stored_view(&id, &view);
    if !state.counting_only {
        state.views.insert(id, stored.clone());
    }
    Answer::ok(json!({ "ok": true, "view": stored }))
}

fn update_view(state: &mut State, body: &Value) -> Answer {
    let Some(view) = json_field(body, "view").filter(Value::is_object) else {
        return Answer::error("invalid_arguments");
    };
    let id = match (text_field(body, "view_id"), text_field(body, "external_id")) {
        (Some(id), _) => Some(id.to_owned()),
        (None, Some(external)) => state
            .views
            .iter()
            .find(|(_, v)| v.get("external_id").and_then(Value::as_str) == Some(external))
            .map(|(id, _)| id.clone()),
        (None, None) => return Answer::error("invalid_arguments"),
    };
    let Some(id) = id.filter(|id| state.views.contains_key(id)) else {
        return Answer::error("not_found");
    };
    let stored = stored_view(&id, &view);
    state.views.insert(id, stored.clone());
    Answer::ok(json!({ "ok": true, "view": stored }))
}

fn user_info(state: &State, body: &Value) -> Answer {
    let Some(user) = text_field(body, "user") else {
        return Answer::error("user_not_found");
    };
    let Some(email) = state.emails.get(user) else {
        return Answer::error("user_not_found");
    };
    let name = email
        .as_deref()
        .and_then(|email| email.split('@').next())
        .unwrap_or(user);
    let mut answer = json!({
        "ok": true,
        "user": {
            "id": user,
            "team_id": TEAM_ID,
            "name": name,
            "deleted": false,
            "real_name": name,
            "tz": "Asia/Tokyo",
            "tz_label": "Japan Standard Time",
            "tz_offset": 32400,
            "is_admin": false,
            "is_owner": false,
            "is_bot": false,
            "is_app_user": false,
            "updated": 1_700_000_000,
            "profile": {
                "real_name": name,
                "display_name": name,
                "team": TEAM_ID,
            },
        },
    });
    if let Some(email) = email {
        answer["user"]["profile"]["email"] = json!(email);
    }
    Answer::ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_matches_slacks_documented_example() {
        let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        assert_eq!(
            sign(
                "8f742231b10e8888abcd99yyyzzz85a5",
                1_531_420_618,
                body.as_bytes()
            ),
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
        );
    }
}
