//! The deployed shape on one machine, for the scenarios of `deployed_shape.rs`: the six Lambda
//! binaries as processes behind Lambda Runtime APIs, the real definition with terraform's
//! substitutions run by the engine behind a Step Functions endpoint, moto behind a proxy that
//! can throttle, MariaDB behind a proxy that can be cut, the fake Slack.
//!
//! Each Lambda gets exactly the variables terraform gives it (`tests/terraform/lambda_env.py`
//! reads them from `terraform/environment.tf`), with the values the harness stands in for (the
//! table, the secrets, the launch template it made on moto), plus what Lambda itself sets. The
//! processes keep the engine's clock through libfaketime, so a scenario skips an hour of
//! waiting in a moment and every process agrees on the time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::{
    Filter, HttpTokensState, Instance, InstanceStateName, LaunchTemplateHttpTokensState,
    LaunchTemplateIamInstanceProfileSpecificationRequest,
    LaunchTemplateInstanceMetadataOptionsRequest, RequestLaunchTemplateData, Tag,
};
use powerpole_asl::{Definition, EventKind as AslEvent, ExecutionStatus};
use powerpole_aws::{DynamoDbStore, SecretsManagerSettings, SecretsManagerVault};
use powerpole_core::ports::{RequestStore, SecretVault};
use powerpole_core::{AccessRequest, Clock, EventKind, RequestId, SlackUserId};
use powerpole_testkit::deployed::lambda::{ACCOUNT, Function, Functions, Outcome};
use powerpole_testkit::deployed::stepfunctions::{SkipClock, StepFunctions};
use powerpole_testkit::fake_slack::{FakeCall, FakeSlack, sign};
use powerpole_testkit::faults::{AwsProxy, TcpProxy};
use powerpole_testkit::slack_payloads::{
    RequestInput, button_click, interaction_form, request_submission,
};
use serde_json::{Value, json};
use sqlx::mysql::MySqlConnectOptions;
use sqlx::{ConnectOptions, MySqlConnection};
use tokio::sync::{Mutex, MutexGuard};

/// The region everything is deployed in (moto keeps it apart from the other tests' us-east-1).
pub const REGION: &str = "ap-northeast-1";
/// The signing secret in the Slack secret.
pub const SIGNING_SECRET: &str = "deployed-signing-secret-0123456789abcdef";
/// The approvers' private channel.
pub const APPROVERS: &str = "C0DEPLOYAPP";
/// The public channel requests are acknowledged in.
pub const REQUESTS: &str = "C0DEPLOYREQ";
/// Two members of the approvers' channel.
pub const APPROVER: &str = "U0DEPLOYAPP1";
/// The second approver.
pub const APPROVER_2: &str = "U0DEPLOYAPP2";
/// The cluster served.
pub const CLUSTER: &str = "deployed-orders";
/// The password secrets' name prefix (terraform's `secret_prefix` default).
pub const SECRET_PREFIX: &str = "powerpole/";
/// The SSM session log group.
pub const SESSION_LOG_GROUP: &str = "/powerpole/ssm-sessions";
/// How long a scenario waits for one thing to happen.
pub const PATIENCE: Duration = Duration::from_secs(60);
/// The Lambda functions, by terraform's keys (`aws_lambda_function.this[...]`).
pub const FUNCTIONS: [&str; 6] = [
    "request",
    "approve",
    "notify",
    "provision",
    "teardown",
    "sweep",
];

/// One scenario at a time: the sweeper of one would find another's DB users (one MariaDB, one
/// account registry) and bastions (one moto region) unowned.
static SERIAL: Mutex<()> = Mutex::const_new(());

/// What terraform gives the deployed system (`tests/terraform/lambda_env.py`).
#[derive(Debug, Clone)]
pub struct Terraform {
    /// The variable names of each function.
    pub lambda_env: BTreeMap<String, Vec<String>>,
    /// The definition's template variables, each with the function whose ARN it gets.
    pub state_machine: BTreeMap<String, String>,
}

impl Terraform {
    /// Reads what `scripts/test.sh` wrote, or `None` outside CI when it did not.
    pub fn load() -> Option<Self> {
        let path = powerpole_testkit::terraform_env()?;
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let json: Value = serde_json::from_str(&text).unwrap();
        let map = |v: &Value| -> BTreeMap<String, Value> {
            serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        };
        Some(Self {
            lambda_env: map(&json["lambda_env"])
                .into_iter()
                .map(|(k, v)| (k, serde_json::from_value(v).unwrap()))
                .collect(),
            state_machine: map(&json["state_machine"])
                .into_iter()
                .map(|(k, v)| (k, v.as_str().unwrap().to_owned()))
                .collect(),
        })
    }
}

/// How a scenario's system differs from the deployed one (to prove the harness can fail).
#[derive(Debug, Clone, Default)]
pub struct Tweaks {
    /// Variables taken away from a function's environment: `(function, variable)`.
    pub remove_env: Vec<(String, String)>,
    /// Replacements made in the definition's text before it is loaded: `(from, to)`.
    pub definition_edits: Vec<(String, String)>,
}

/// The deployed system of one scenario.
pub struct Deployed {
    _serial: MutexGuard<'static, ()>,
    /// The fake Slack Web API.
    pub slack: FakeSlack,
    /// The clock every process keeps.
    pub clock: SkipClock,
    /// The Step Functions endpoint and its engine.
    pub sfn: StepFunctions,
    /// The functions, by terraform's keys.
    pub functions: BTreeMap<String, Function>,
    /// moto, as the Lambdas reach it.
    pub aws: AwsProxy,
    /// The Step Functions endpoint, as the Lambdas reach it.
    pub sfn_api: AwsProxy,
    /// MariaDB, as the Lambdas reach it.
    pub db: TcpProxy,
    /// The admin connection to MariaDB (direct).
    pub admin: MySqlConnectOptions,
    /// The table, read directly.
    pub store: DynamoDbStore,
    /// DynamoDB on moto and the table's name, for raw items.
    dynamodb: (aws_sdk_dynamodb::Client, String),
    /// The password secrets, read directly.
    pub vault: SecretsManagerVault,
    /// EC2 on moto, read directly.
    pub ec2: aws_sdk_ec2::Client,
    /// S3 on moto, read directly.
    s3: aws_sdk_s3::Client,
    /// The requester's Slack user id.
    pub requester: String,
    /// Where the functions' logs are.
    pub work: PathBuf,
    /// The scenario's name, for figures.
    pub name: String,
}

impl Drop for Deployed {
    /// Removes the scenario's logs once it passed; a failed one keeps them (its message names
    /// the directory).
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.work);
        }
    }
}

/// The path of a Lambda binary `cargo test --workspace` built beside this test binary.
fn binary(function: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let path = dir.join(format!("powerpole-{function}"));
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace --bins` (scripts/test.sh's cargo test --workspace builds it)",
        path.display()
    );
    path
}

impl Deployed {
    /// Deploys the system for scenario `name`, as terraform would.
    pub async fn start(name: &str) -> Option<Self> {
        Self::start_with(name, Tweaks::default()).await
    }

    /// As [`Deployed::start`], with `tweaks`.
    #[allow(
        clippy::too_many_lines,
        reason = "one deployment, in terraform's order"
    )]
    pub async fn start_with(name: &str, tweaks: Tweaks) -> Option<Self> {
        let mysql_url = powerpole_testkit::mysql_admin_url()?;
        let ca = powerpole_testkit::mysql_ca()?;
        let moto = powerpole_testkit::aws_endpoint()?;
        let mut terraform = Terraform::load()?;
        let faketime = powerpole_testkit::faketime()?;
        let serial = SERIAL.lock().await;

        for (function, variable) in &tweaks.remove_env {
            terraform
                .lambda_env
                .get_mut(function)
                .unwrap()
                .retain(|v| v != variable);
        }
        let work = std::env::temp_dir().join(powerpole_testkit::unique_name(&format!(
            "powerpole-deployed-{name}"
        )));
        std::fs::create_dir_all(&work).unwrap();
        let clock = SkipClock::shared_through(&work.join("clock")).unwrap();

        let admin: MySqlConnectOptions = mysql_url.parse().unwrap();
        let db = TcpProxy::to(admin.get_host(), admin.get_port())
            .await
            .unwrap();
        let moto_addr = moto.trim_start_matches("http://").parse().unwrap();
        let aws = AwsProxy::to(moto_addr).await.unwrap();

        let sdk = powerpole_aws::config::load(Some(&moto))
            .await
            .into_builder()
            .region(aws_config::Region::new(REGION))
            .build();
        let ec2 = aws_sdk_ec2::Client::new(&sdk);
        let s3 = powerpole_aws::reports::s3_client(&sdk);
        let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
        let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
        let slack = FakeSlack::start().await.unwrap();
        let requester = format!("U0DEP{}", name.to_ascii_uppercase().replace(['-', '_'], ""));
        let requester: String = requester.chars().take(11).collect();
        slack.set_user_email(
            &requester,
            &format!("deployed.{}@example.com", name.replace('_', "-")),
        );
        slack.set_channel_members(APPROVERS, &[APPROVER, APPROVER_2]);

        // terraform: the table, the Slack secret, the clusters' admin secrets, the log groups,
        // the launch template with its instance profile.
        let table = powerpole_testkit::unique_name("powerpole-deployed");
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        let store = DynamoDbStore::new(dynamodb.clone(), &table);
        store.create_table().await.unwrap();
        let slack_secret = create_secret(
            &secrets,
            &powerpole_testkit::unique_name("powerpole-slack"),
            &json!({"signing_secret": SIGNING_SECRET, "bot_token": "xoxb-deployed"}),
        )
        .await;
        let admin_secret = create_secret(
            &secrets,
            &powerpole_testkit::unique_name("rds-cluster-admin"),
            &json!({"username": admin.get_username(), "password": password_of(&mysql_url)}),
        )
        .await;
        for group in [
            SESSION_LOG_GROUP.to_owned(),
            format!("/aws/rds/cluster/{CLUSTER}/audit"),
        ] {
            let _ = logs.create_log_group().log_group_name(group).send().await;
        }
        let (template, template_version) = launch_template(&ec2, &moto).await;

        let state_machine_arn =
            format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:powerpole-deployed");
        let arn = |function: &str| format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}");
        let mut text = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../statemachine/powerpole.asl.json"),
        )
        .unwrap();
        for (from, to) in &tweaks.definition_edits {
            assert!(
                text.contains(from.as_str()),
                "the definition has no {from:?}"
            );
            text = text.replace(from.as_str(), to);
        }
        let variables: BTreeMap<String, String> = terraform
            .state_machine
            .iter()
            .map(|(variable, function)| (variable.clone(), arn(function)))
            .collect();
        let definition = Definition::load(&text, &variables).unwrap_or_else(|e| {
            panic!("the definition with terraform's substitutions {variables:?} does not load: {e}")
        });

        let invoke = Functions::listen().await.unwrap();
        let sfn =
            StepFunctions::start(definition, &state_machine_arn, invoke.addr(), clock.clone())
                .await
                .unwrap();

        let sfn_api = AwsProxy::to(sfn.url().trim_start_matches("http://").parse().unwrap())
            .await
            .unwrap();
        let clusters = json!([{
            "id": CLUSTER,
            "region": REGION,
            "endpoint": "127.0.0.1",
            "port": db.port(),
            "max_duration_minutes": 480,
            "admin_secret_arn": admin_secret,
        }]);
        let values: BTreeMap<&str, String> = BTreeMap::from([
            ("POWERPOLE_TABLE", table.clone()),
            ("POWERPOLE_SLACK_SECRET_ARN", slack_secret),
            ("POWERPOLE_SLACK_API_URL", slack.api_url()),
            ("POWERPOLE_APPROVERS_CHANNEL", APPROVERS.to_owned()),
            ("POWERPOLE_REQUESTS_CHANNEL", REQUESTS.to_owned()),
            ("RUST_LOG", "info".to_owned()),
            ("POWERPOLE_STATE_MACHINE_ARN", state_machine_arn.clone()),
            ("POWERPOLE_APPROVERS", String::new()),
            ("POWERPOLE_CLUSTERS", clusters.to_string()),
            ("POWERPOLE_PRIMARY_DOMAINS", String::new()),
            ("POWERPOLE_DB_USERS", "{}".to_owned()),
            ("POWERPOLE_DB_CA_BUNDLE", ca.display().to_string()),
            ("POWERPOLE_SECRET_PREFIX", SECRET_PREFIX.to_owned()),
            ("POWERPOLE_SECRET_KMS_KEY_ID", String::new()),
            ("POWERPOLE_BASTION_LAUNCH_TEMPLATE", template),
            (
                "POWERPOLE_BASTION_LAUNCH_TEMPLATE_VERSION",
                template_version,
            ),
            ("POWERPOLE_SESSION_LOG_GROUP", SESSION_LOG_GROUP.to_owned()),
            ("POWERPOLE_SWEEP_GRACE_MINUTES", "15".to_owned()),
            (
                "POWERPOLE_REPORT_BUCKET",
                "powerpole-deployed-reports".to_owned(),
            ),
            ("POWERPOLE_EXPECTED_HOSTS", "127.0.0.1".to_owned()),
        ]);
        let mut functions = BTreeMap::new();
        for function in FUNCTIONS {
            let names = terraform.lambda_env.get(function).unwrap_or_else(|| {
                panic!(
                    "terraform's lambda_env has no {function}: {:?}",
                    terraform.lambda_env
                )
            });
            let mut env: BTreeMap<String, String> = names
                .iter()
                .map(|name| {
                    let value = values.get(name.as_str()).unwrap_or_else(|| {
                        panic!(
                            "terraform gives {function} {name}, which the harness has no value for: \
                             add it to tests/deployed/harness.rs"
                        )
                    });
                    (name.clone(), value.clone())
                })
                .collect();
            env.extend(
                [
                    ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
                    ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
                    ("AWS_SESSION_TOKEN", "testing".to_owned()),
                    ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
                    ("AWS_ENDPOINT_URL", aws.url()),
                    ("AWS_ENDPOINT_URL_SFN", sfn_api.url()),
                    ("LAMBDA_TASK_ROOT", work.display().to_string()),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v)),
            );
            env.extend(clock.faketime_env(&faketime));
            let f = Function::start(function, REGION, &binary(function), env, &work)
                .await
                .unwrap();
            invoke.add(f.clone());
            functions.insert(function.to_owned(), f);
        }
        let vault =
            SecretsManagerVault::new(secrets, SecretsManagerSettings::new(SECRET_PREFIX).unwrap());
        let deployed = Self {
            _serial: serial,
            slack,
            clock,
            sfn,
            functions,
            aws,
            sfn_api,
            db,
            admin,
            store,
            dynamodb: (dynamodb, table.clone()),
            vault,
            ec2,
            s3,
            requester,
            work,
            name: name.to_owned(),
        };
        let baseline = deployed.sweep().await;
        assert!(
            baseline["problems"].as_array().is_some_and(Vec::is_empty),
            "the sweep before the scenario: {baseline}"
        );
        deployed.slack.clear_calls();
        Some(deployed)
    }

    /// S3 on moto (path-style, as the sweep Lambda addresses it).
    pub fn s3(&self) -> &aws_sdk_s3::Client {
        &self.s3
    }

    /// The function `name`.
    pub fn function(&self, name: &str) -> &Function {
        &self.functions[name]
    }

    /// Posts `body` to the Slack endpoint `path` as API Gateway (HTTP API, payload 2.0) hands
    /// it to the function behind it, and returns the function's response: `{statusCode,
    /// headers, body}`.
    pub async fn slack_post(&self, path: &str, body: &[u8], retry: Option<u32>) -> Value {
        let function = match path {
            "/slack/commands" => "request",
            "/slack/interactions" => "approve",
            other => panic!("no route {other}"),
        };
        let event = self.slack_event(path, body, retry);
        match self.function(function).invoke(&event).await.unwrap() {
            Outcome::Response(response) => response,
            other => panic!(
                "{function} failed the API Gateway invocation: {other:?} (init errors: {:?}; log {})",
                self.function(function).init_errors(),
                self.work.join(format!("{function}.log")).display()
            ),
        }
    }

    /// The API Gateway HTTP API (payload 2.0) event of Slack posting `body` to `path` now (by
    /// the shared clock), signed as Slack signs it, the body base64-encoded; `retry` is
    /// Slack's `X-Slack-Retry-Num` of a delivery sent again.
    pub fn slack_event(&self, path: &str, body: &[u8], retry: Option<u32>) -> Value {
        let timestamp = self.clock.now().unix_timestamp();
        let mut headers = json!({
            "accept": "application/json,*/*",
            "content-type": "application/x-www-form-urlencoded",
            "content-length": body.len().to_string(),
            "host": "abc123.execute-api.ap-northeast-1.amazonaws.com",
            "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "x-forwarded-for": "54.250.1.2",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
            "x-slack-request-timestamp": timestamp.to_string(),
            "x-slack-signature": sign(SIGNING_SECRET, timestamp, body),
        });
        if let Some(n) = retry {
            headers["x-slack-retry-num"] = json!(n.to_string());
            headers["x-slack-retry-reason"] = json!("http_timeout");
        }
        json!({
            "version": "2.0",
            "routeKey": format!("POST {path}"),
            "rawPath": path,
            "rawQueryString": "",
            "headers": headers,
            "requestContext": {
                "accountId": ACCOUNT,
                "apiId": "abc123",
                "domainName": "abc123.execute-api.ap-northeast-1.amazonaws.com",
                "domainPrefix": "abc123",
                "http": {
                    "method": "POST",
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "54.250.1.2",
                    "userAgent": "Slackbot 1.0 (+https://api.slack.com/robots)"
                },
                "requestId": powerpole_testkit::unique_name("apigw"),
                "routeKey": format!("POST {path}"),
                "stage": "$default",
                "time": "07/Dec/2026:10:00:00 +0000",
                "timeEpoch": timestamp * 1000
            },
            "body": powerpole_core::encoding::base64(body),
            "isBase64Encoded": true
        })
    }

    /// Posts an interaction `payload`, expecting Slack's 200 without a refusal.
    pub async fn interact(&self, payload: &Value, retry: Option<u32>) -> Value {
        let response = self
            .slack_post("/slack/interactions", &interaction_form(payload), retry)
            .await;
        assert_eq!(response["statusCode"], 200, "{response}");
        assert!(
            !response["body"]
                .as_str()
                .unwrap_or_default()
                .contains("response_action"),
            "refused: {response}"
        );
        response
    }

    /// The requester's modal submission: READ on the cluster, now, for 15 minutes.
    pub fn submission(&self) -> Value {
        request_submission(
            &self.requester,
            &RequestInput {
                cluster: CLUSTER,
                region: REGION,
                permission: "READ",
                duration_minutes: "15",
                reason: "INC-15 check the orders in the deployed shape",
            },
        )
    }

    /// The requester submits the modal; returns the request recorded.
    pub async fn submit(&self) -> AccessRequest {
        self.interact(&self.submission(), None).await;
        self.the_request().await
    }

    /// The requester's one request, from the table.
    pub async fn the_request(&self) -> AccessRequest {
        let mine = self
            .store
            .by_requester(&SlackUserId::parse(&self.requester).unwrap())
            .await
            .unwrap();
        assert_eq!(mine.len(), 1, "one request: {mine:?}");
        mine.into_iter().next().unwrap()
    }

    /// The request `id` as the table holds it now.
    pub async fn request(&self, id: RequestId) -> AccessRequest {
        self.store.get(id).await.unwrap().unwrap()
    }

    /// Waits for the approval card, and for the request to remember it (a click or a cancel in
    /// between is answered, but the card is then redrawn only once the notify task saved it);
    /// returns its `ts`.
    pub async fn card(&self) -> String {
        let posts = self.slack.wait_for_calls_where(PATIENCE, is_card).await;
        let started = Instant::now();
        while self.the_request().await.resources().approval_card.is_none() {
            assert!(
                started.elapsed() < PATIENCE,
                "the card is never saved on the request"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        posts[0].response["ts"].as_str().unwrap().to_owned()
    }

    /// The approval cards posted (accepted by Slack).
    pub fn cards(&self) -> usize {
        self.slack
            .calls()
            .iter()
            .filter(|c| is_card(c) && c.ok())
            .count()
    }

    /// `user` clicks `action` on the message `ts` of `channel` for request `id`.
    pub async fn click(&self, user: &str, channel: &str, ts: &str, action: &str, id: RequestId) {
        self.interact(
            &button_click(user, channel, ts, action, &id.to_string()),
            None,
        )
        .await;
    }

    /// The DMs to the requester Slack accepted, as their fallback texts.
    pub fn dms(&self) -> Vec<String> {
        self.slack
            .calls_to("chat.postMessage")
            .into_iter()
            .filter(|c| c.str("channel") == Some(self.requester.as_str()) && c.ok())
            .map(|c| c.str("text").unwrap_or_default().to_owned())
            .collect()
    }

    /// How many DMs to the requester contain `text`.
    pub fn dms_containing(&self, text: &str) -> usize {
        self.dms().iter().filter(|t| t.contains(text)).count()
    }

    /// Runs the world forward until `done` holds: each round every bastion that is running is
    /// marked booted, as its boot script does, and, while no function is at work, the shared
    /// clock moves `step` ahead (Wait states, retry delays and deadlines pass; work in
    /// progress keeps real time). Panics after [`PATIENCE`].
    pub async fn run_until<F, Fut>(&self, what: &str, step: time::Duration, mut done: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let started = Instant::now();
        loop {
            if done().await {
                return;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "[{}] not reached within {PATIENCE:?}: {what}; DMs {:?}; execution history in {}: {:?}",
                self.name,
                self.dms(),
                self.work.display(),
                self.states_entered_all().await
            );
            self.boot_bastions().await;
            if !self.functions.values().any(Function::busy) {
                self.clock.skip(step);
            }
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
    }

    /// Runs forward until a DM to the requester contains `text`.
    pub async fn run_until_dm(&self, text: &str, step: time::Duration) {
        self.run_until(&format!("a DM containing {text:?}"), step, || async {
            self.dms_containing(text) > 0
        })
        .await;
    }

    /// Runs forward until the execution of `id` has ended; returns how.
    pub async fn run_to_completion(&self, id: RequestId, step: time::Duration) -> ExecutionStatus {
        self.run_execution(&id.to_string(), step).await
    }

    /// Runs forward until the execution `name` has ended; returns how.
    pub async fn run_execution(&self, name: &str, step: time::Duration) -> ExecutionStatus {
        self.run_until(&format!("execution {name} ends"), step, || async {
            self.sfn
                .runner()
                .describe(name)
                .await
                .is_ok_and(|d| d.status != ExecutionStatus::Running)
        })
        .await;
        self.sfn.runner().describe(name).await.unwrap().status
    }

    /// Tags every running, not yet booted bastion `powerpole:booted`, as its user data does
    /// once the instance is patched and has its client.
    pub async fn boot_bastions(&self) {
        for instance in self.bastions().await {
            if instance.state().and_then(|s| s.name()) == Some(&InstanceStateName::Running)
                && tag(&instance, "powerpole:booted").is_none()
            {
                self.ec2
                    .create_tags()
                    .resources(instance.instance_id().unwrap())
                    .tags(
                        Tag::builder()
                            .key("powerpole:booted")
                            .value("2026-12-07T00:00:00Z")
                            .build(),
                    )
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    /// Every broker-managed instance in the region, terminated ones included.
    pub async fn bastions(&self) -> Vec<Instance> {
        self.ec2
            .describe_instances()
            .filters(
                Filter::builder()
                    .name("tag:powerpole:managed")
                    .values("true")
                    .build(),
            )
            .send()
            .await
            .unwrap()
            .reservations()
            .iter()
            .flat_map(|r| r.instances().iter().cloned())
            .collect()
    }

    /// The bastions launched for request `id`.
    pub async fn bastions_of(&self, id: RequestId) -> Vec<Instance> {
        let id = id.to_string();
        self.bastions()
            .await
            .into_iter()
            .filter(|i| tag(i, "powerpole:request-id") == Some(id.as_str()))
            .collect()
    }

    /// The requester logs in as the request's DB user with the password from its secret.
    pub async fn login(&self, request: &AccessRequest) -> Result<MySqlConnection, sqlx::Error> {
        let password = self.vault.get(request.id()).await.unwrap();
        self.admin
            .clone()
            .username(request.db_username().as_str())
            .password(password.expose())
            .connect()
            .await
    }

    /// Whether the request's DB user exists on MariaDB.
    pub async fn user_exists(&self, request: &AccessRequest) -> bool {
        powerpole_testkit::mysql::user_exists(&self.admin, request.db_username().as_str())
            .await
            .unwrap()
    }

    /// The request's password, from its secret.
    pub async fn password(&self, id: RequestId) -> String {
        self.vault.get(id).await.unwrap().expose().to_owned()
    }

    /// Checks that `password` is in none of the places it must never be: a Slack call, a
    /// Lambda's log, a DynamoDB item, a Step Functions execution's history.
    pub async fn assert_password_nowhere(&self, password: &str) {
        for call in self.slack.calls() {
            assert!(
                !call.body.to_string().contains(password),
                "in Slack: {call:?}"
            );
        }
        for entry in std::fs::read_dir(&self.work).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "log") {
                let log = std::fs::read_to_string(&path).unwrap();
                assert!(!log.contains(password), "in {}", path.display());
            }
        }
        let (client, table) = &self.dynamodb;
        let items = client.scan().table_name(table).send().await.unwrap();
        assert!(items.count() > 0, "the table holds the request");
        assert!(
            !format!("{:?}", items.items()).contains(password),
            "in a DynamoDB item"
        );
        for execution in self.sfn.runner().list(None).await.unwrap() {
            let history = self.sfn.runner().history(&execution.name).await.unwrap();
            assert!(
                !format!("{execution:?} {history:?}").contains(password),
                "in the execution {}",
                execution.name
            );
        }
    }

    /// Whether the request's password secret exists (and is not scheduled for deletion).
    pub async fn secret_exists(&self, id: RequestId) -> bool {
        self.vault.get(id).await.is_ok()
    }

    /// Invokes the sweep Lambda as its EventBridge schedule does; returns its answer.
    pub async fn sweep(&self) -> Value {
        self.scheduled(json!({})).await
    }

    /// Invokes the sweep Lambda as one of its EventBridge rules does: the scheduled event for
    /// the sweep (`input` `{}`), or the target's constant input instead of it (`sweep.tf`:
    /// `{"task": "watch"}`, `{"task": "report"}`); returns its answer.
    pub async fn scheduled(&self, input: Value) -> Value {
        let scheduled = json!({
            "version": "0",
            "id": powerpole_testkit::unique_name("sweep"),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT,
            "time": "2026-12-07T00:00:00Z",
            "region": REGION,
            "resources": [format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/powerpole-sweep")],
            "detail": {}
        });
        let event = if input == json!({}) { scheduled } else { input };
        match self.function("sweep").invoke(&event).await.unwrap() {
            Outcome::Response(answer) => answer,
            other => panic!(
                "the sweep failed: {other:?} (log {})",
                self.work.join("sweep.log").display()
            ),
        }
    }

    /// The end of every scenario: the sweeper runs and has nothing to remove, and nothing the
    /// request made is left (no DB user, no secret, no running bastion); at most one bastion
    /// was ever launched for it.
    pub async fn assert_no_orphans(&self, request: &AccessRequest) {
        let sweep = self.sweep().await;
        assert_eq!(
            sweep["orphans_found"], 0,
            "[{}] the sweeper found orphans: {sweep}",
            self.name
        );
        assert!(
            sweep["actions"].as_array().is_some_and(Vec::is_empty)
                && sweep["problems"].as_array().is_some_and(Vec::is_empty),
            "[{}] the sweeper had work left: {sweep}",
            self.name
        );
        assert!(
            !self.user_exists(request).await,
            "[{}] the DB user is left",
            self.name
        );
        assert!(
            !self.secret_exists(request.id()).await,
            "[{}] the secret is left",
            self.name
        );
        let bastions = self.bastions_of(request.id()).await;
        assert!(
            bastions.len() <= 1,
            "[{}] more than one bastion: {bastions:?}",
            self.name
        );
        assert!(
            bastions.iter().all(terminated),
            "[{}] a bastion is still running: {bastions:?}",
            self.name
        );
    }

    /// The states execution `id` entered, in order.
    pub async fn states_entered(&self, id: RequestId) -> Vec<String> {
        self.sfn
            .runner()
            .history(&id.to_string())
            .await
            .unwrap()
            .into_iter()
            .filter(|e| matches!(e.kind, AslEvent::StateEntered { .. }))
            .filter_map(|e| e.state)
            .collect()
    }

    /// The states every execution entered, for a failure message.
    async fn states_entered_all(&self) -> Vec<(String, Vec<String>)> {
        let mut all = Vec::new();
        for execution in self.sfn.runner().list(None).await.unwrap_or_default() {
            let entered = self
                .sfn
                .runner()
                .history(&execution.name)
                .await
                .unwrap_or_default()
                .into_iter()
                .filter(|e| matches!(e.kind, AslEvent::StateEntered { .. }))
                .filter_map(|e| e.state)
                .collect();
            all.push((
                format!("{} {:?}", execution.name, execution.status),
                entered,
            ));
        }
        all
    }

    /// Prints the scenario's figures: its state transitions and anything else measured.
    pub async fn figures(&self, id: RequestId, extra: &str) {
        let transitions = self.states_entered(id).await.len();
        powerpole_testkit::figure(&format!(
            "deployed-shape {}: {transitions} state transitions{extra}",
            self.name
        ));
    }
}

/// Whether `call` posts a new approval card (not a message in a card's thread, nor the
/// sweeper's report).
fn is_card(call: &FakeCall) -> bool {
    call.method == "chat.postMessage"
        && call.str("channel") == Some(APPROVERS)
        && call.str("thread_ts").is_none()
        && call.body["blocks"]
            .to_string()
            .contains(r#""action_id":"approve""#)
}

/// The events of `request` other than steps, in order.
pub fn kinds(request: &AccessRequest) -> Vec<EventKind> {
    request
        .events()
        .iter()
        .map(|e| e.kind)
        .filter(|k| *k != EventKind::Step)
        .collect()
}

/// The value of `instance`'s tag `key`.
pub fn tag<'a>(instance: &'a Instance, key: &str) -> Option<&'a str> {
    instance
        .tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

/// Creates the secret `name` holding `value` on moto; returns its ARN.
async fn create_secret(
    client: &aws_sdk_secretsmanager::Client,
    name: &str,
    value: &Value,
) -> String {
    client
        .create_secret()
        .name(name)
        .secret_string(value.to_string())
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_owned()
}

/// The password in a `mysql://user:password@host:port` URL.
fn password_of(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    let credentials = rest.rsplit_once('@').unwrap().0;
    let password = credentials.split_once(':').map_or("", |(_, p)| p);
    form_urlencoded::parse(format!("p={password}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The bastions' launch template as terraform makes it (an Amazon Linux image, IMDSv2
/// required, the bastion instance profile, no key pair); returns its id and latest version.
async fn launch_template(ec2: &aws_sdk_ec2::Client, moto: &str) -> (String, String) {
    let image = ec2
        .describe_images()
        .owners("amazon")
        .send()
        .await
        .unwrap()
        .images()
        .iter()
        .find_map(|i| i.image_id().map(str::to_owned))
        .expect("moto has Amazon images");
    let profile = powerpole_testkit::unique_name("powerpole-bastion");
    powerpole_testkit::moto::create_instance_profile(moto, REGION, &profile).await;
    let created = ec2
        .create_launch_template()
        .launch_template_name(powerpole_testkit::unique_name("powerpole-bastion"))
        .launch_template_data(
            RequestLaunchTemplateData::builder()
                .image_id(image)
                .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
                .iam_instance_profile(
                    LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
                        .name(&profile)
                        .build(),
                )
                .metadata_options(
                    LaunchTemplateInstanceMetadataOptionsRequest::builder()
                        .http_tokens(LaunchTemplateHttpTokensState::Required)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let template = created.launch_template().unwrap();
    (
        template.launch_template_id().unwrap().to_owned(),
        template.latest_version_number().unwrap_or(1).to_string(),
    )
}

/// IMDSv2 as EC2 reports it on an instance.
pub fn requires_imdsv2(instance: &Instance) -> bool {
    instance.metadata_options().and_then(|m| m.http_tokens()) == Some(&HttpTokensState::Required)
}

/// Whether EC2 says `instance` is terminated.
pub fn terminated(instance: &Instance) -> bool {
    instance.state().and_then(|s| s.name()) == Some(&InstanceStateName::Terminated)
}
