//! Cold start on AWS: the adapters each Lambda builds once from its [`crate::config`], over one
//! [`SdkConfig`]. The secrets the configuration names (the Slack app's credentials, each
//! cluster's admin credentials) are read here from the region in their ARN; a warm Lambda keeps
//! what it read, except the admin credentials, which it reads again after
//! [`powerpole_mysql::ADMIN_CREDENTIALS_TTL`] and whenever the cluster refuses them (a rotation).
//! Nothing read from a secret is logged or put in an error.
//!
//! Connections to the clusters are encrypted: TLS is required, and with
//! [`crate::config::DB_CA_BUNDLE`] set the server's certificate must chain to that bundle and
//! name the host connected to.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use powerpole_aws::bastions::{LaunchSpec, LaunchTemplate, TemplateRef};
use powerpole_aws::{
    AuditLogSettings, CloudWatchAuditSource, CloudWatchSessionLog, DynamoDbStore, Ec2Fleet,
    Ec2FleetSettings, ReportBucket, S3ReportArchive, SecretsManagerSettings, SecretsManagerVault,
    StepFunctionsWorkflow,
};
use powerpole_core::{Broker, ClusterPolicy, Ports, SystemClock, Unwired};
use powerpole_mysql::{AccountSettings, AdminCredentials, MySqlAccounts};
use powerpole_slack::{
    ApproverPolicy, Approvers, RetryPolicy, SignatureVerifier, SlackChat, SlackDirectory,
    SlackIngress, SlackWebApi,
};
use secrecy::{ExposeSecret, SecretString};
use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};

use crate::config::{
    self, AccessConfig, AdminSecret, BastionTemplate, ClusterConfig, ConfigError, IngressConfig,
    NotifyConfig, SecretArn, SecretsConfig, SlackConfig, SlackSecret, SweepConfig,
};

/// The Slack endpoints on AWS.
pub type AwsIngress = SlackIngress<DynamoDbStore, StepFunctionsWorkflow, SystemClock>;

/// The `notify` Lambda's broker on AWS: the store, Slack, the clock, and the DB accounts the
/// approval card's blast radius is measured with.
pub type NotifyBroker =
    Broker<Ports<DynamoDbStore, SlackChat, SystemClock, Unwired, Unwired, MySqlAccounts>>;

/// The ports giving and removing access needs on AWS.
pub type AwsAccessPorts<Audit = Unwired, Sessions = Unwired> = Ports<
    DynamoDbStore,
    SlackChat,
    SystemClock,
    SecretsManagerVault,
    Ec2Fleet,
    MySqlAccounts,
    Unwired,
    Unwired,
    Audit,
    Sessions,
>;

/// The `provision` and `sweep` Lambdas' broker on AWS.
pub type AccessBroker = Broker<AwsAccessPorts>;

/// The `teardown` Lambda's broker on AWS: access, and the receipt's sources — each cluster's
/// audit log group (`/aws/rds/cluster/<cluster id>/audit`) and Session Manager's log group.
pub type TeardownBroker = Broker<AwsAccessPorts<CloudWatchAuditSource, CloudWatchSessionLog>>;

/// The `sweep` Lambda's broker on AWS: the teardown's, and the workflow (with the Slack
/// directory), to send approvals that did not reach it again.
pub type SweepBroker = Broker<
    Ports<
        DynamoDbStore,
        SlackChat,
        SystemClock,
        SecretsManagerVault,
        Ec2Fleet,
        MySqlAccounts,
        SlackDirectory,
        StepFunctionsWorkflow,
        CloudWatchAuditSource,
        CloudWatchSessionLog,
    >,
>;

/// Web API retries of the Slack endpoints: Slack wants its answer within 3 seconds (and a
/// modal's `trigger_id` expires in 3), so one quick retry at most.
pub const INGRESS_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 2,
    base_delay: Duration::from_millis(200),
    max_delay: Duration::from_millis(500),
    attempt_timeout: Duration::from_millis(2500),
};

/// Reads a secret's string value from Secrets Manager, in the secret's own region.
///
/// # Errors
/// [`ConfigError::SecretUnreadable`] with the AWS error code; [`ConfigError::SecretMalformed`]
/// for a binary secret.
pub async fn read_secret(
    sdk: &SdkConfig,
    var: &'static str,
    arn: &SecretArn,
) -> Result<SecretString, ConfigError> {
    let conf = aws_sdk_secretsmanager::config::Builder::from(sdk)
        .region(aws_sdk_secretsmanager::config::Region::new(
            arn.region().to_owned(),
        ))
        .build();
    let client = aws_sdk_secretsmanager::Client::from_conf(conf);
    let out = client
        .get_secret_value()
        .secret_id(arn.as_str())
        .send()
        .await
        .map_err(|err| ConfigError::SecretUnreadable {
            var,
            arn: arn.to_string(),
            code: err
                .code()
                .unwrap_or("no answer from Secrets Manager")
                .to_owned(),
            source: Box::new(err),
        })?;
    out.secret_string
        .map(SecretString::from)
        .ok_or_else(|| ConfigError::SecretMalformed {
            var,
            arn: arn.to_string(),
            problem: "it has no string value".to_owned(),
        })
}

/// Reads and parses the Slack app's secret.
///
/// # Errors
/// See [`read_secret`] and [`SlackSecret::parse`].
pub async fn slack_secret(
    sdk: &SdkConfig,
    slack: &SlackConfig,
) -> Result<SlackSecret, ConfigError> {
    let text = read_secret(sdk, config::SLACK_SECRET_ARN, &slack.secret).await?;
    SlackSecret::parse(&slack.secret, text.expose_secret())
}

/// The Web API client, authorised by the bot token.
///
/// # Errors
/// [`ConfigError::Invalid`] for the API URL, [`ConfigError::Setup`] when the system has no TLS
/// roots.
pub fn web_api(
    slack: &SlackConfig,
    bot_token: SecretString,
    policy: RetryPolicy,
) -> Result<SlackWebApi, ConfigError> {
    SlackWebApi::new(bot_token, &slack.api_url, policy).map_err(|error| match error {
        powerpole_slack::Error::InvalidApiUrl { .. } => {
            ConfigError::invalid(config::SLACK_API_URL, error.to_string())
        }
        powerpole_slack::Error::EmptyBotToken => ConfigError::SecretMalformed {
            var: config::SLACK_SECRET_ARN,
            arn: slack.secret.to_string(),
            problem: "bot_token is empty".to_owned(),
        },
        other => ConfigError::Setup {
            what: "the Slack Web API client",
            source: Box::new(other),
        },
    })
}

/// The `Chat` port: cards to the approvers' channel, notes to the requests channel if any.
#[must_use]
pub fn chat(web: &SlackWebApi, slack: &SlackConfig) -> SlackChat {
    let chat = SlackChat::new(web.clone(), slack.approvers_channel.clone());
    match &slack.requests_channel {
        Some(channel) => chat.with_requests_channel(channel.clone()),
        None => chat,
    }
}

/// Who may decide, in the approvers' channel.
#[must_use]
pub fn approver_policy(slack: &SlackConfig, approvers: Approvers) -> ApproverPolicy {
    ApproverPolicy {
        channel: slack.approvers_channel.clone(),
        who: approvers,
    }
}

/// The DynamoDB request store.
#[must_use]
pub fn store(sdk: &SdkConfig, table: &str) -> DynamoDbStore {
    DynamoDbStore::new(aws_sdk_dynamodb::Client::new(sdk), table)
}

/// The Step Functions workflow.
///
/// # Errors
/// [`ConfigError::Invalid`] naming [`config::STATE_MACHINE_ARN`].
pub fn workflow(
    sdk: &SdkConfig,
    state_machine_arn: &str,
) -> Result<StepFunctionsWorkflow, ConfigError> {
    StepFunctionsWorkflow::new(aws_sdk_sfn::Client::new(sdk), state_machine_arn)
        .map_err(|e| ConfigError::invalid(config::STATE_MACHINE_ARN, e.to_string()))
}

/// The Secrets Manager vault of per-request passwords.
///
/// # Errors
/// [`ConfigError::Invalid`] naming the prefix or the KMS key variable.
pub fn vault(sdk: &SdkConfig, secrets: &SecretsConfig) -> Result<SecretsManagerVault, ConfigError> {
    let mut settings = SecretsManagerSettings::new(&secrets.prefix)
        .map_err(|e| ConfigError::invalid(config::SECRET_PREFIX, e.to_string()))?;
    if let Some(key) = &secrets.kms_key_id {
        settings = settings
            .with_kms_key_id(key)
            .map_err(|e| ConfigError::invalid(config::SECRET_KMS_KEY_ID, e.to_string()))?;
    }
    Ok(SecretsManagerVault::new(
        aws_sdk_secretsmanager::Client::new(sdk),
        settings,
    ))
}

/// The EC2 fleet of bastions, launched from the launch template.
///
/// # Errors
/// [`ConfigError::Invalid`] naming the template or version variable.
pub fn fleet(sdk: &SdkConfig, bastion: &BastionTemplate) -> Result<Ec2Fleet, ConfigError> {
    let template = if bastion.is_id() {
        TemplateRef::Id(bastion.template.clone())
    } else {
        TemplateRef::Name(bastion.template.clone())
    };
    let settings = Ec2FleetSettings::new(LaunchSpec::Template(LaunchTemplate {
        template,
        version: bastion.version.clone(),
    }))
    .map_err(|e| {
        let var = match &e {
            powerpole_aws::Error::InvalidSetting { setting, .. } if setting.contains("version") => {
                config::BASTION_LAUNCH_TEMPLATE_VERSION
            }
            _ => config::BASTION_LAUNCH_TEMPLATE,
        };
        ConfigError::invalid(var, e.to_string())
    })?;
    Ok(Ec2Fleet::new(sdk, settings))
}

/// How the admin connects to `cluster`: the secret's host and port if it names them, else the
/// cluster's endpoint and port; TLS required, and verified against `ca_bundle` when given.
#[must_use]
pub fn admin_options(
    cluster: &ClusterConfig,
    admin: &AdminSecret,
    ca_bundle: Option<&Path>,
) -> MySqlConnectOptions {
    let options = MySqlConnectOptions::new()
        .host(admin.host.as_deref().unwrap_or(&cluster.policy.endpoint))
        .port(admin.port.unwrap_or(cluster.policy.port))
        .username(&admin.username)
        .password(admin.password.expose_secret());
    match ca_bundle {
        Some(bundle) => options
            .ssl_mode(MySqlSslMode::VerifyIdentity)
            .ssl_ca(bundle),
        None => options.ssl_mode(MySqlSslMode::Required),
    }
}

/// Checks that the CA bundle is a readable PEM file with at least one certificate.
///
/// # Errors
/// [`ConfigError::Invalid`] naming [`config::DB_CA_BUNDLE`].
pub fn check_ca_bundle(bundle: &Path) -> Result<(), ConfigError> {
    let invalid = |problem: String| ConfigError::invalid(config::DB_CA_BUNDLE, problem);
    let pem = std::fs::read_to_string(bundle)
        .map_err(|e| invalid(format!("{} cannot be read: {e}", bundle.display())))?;
    if pem.contains("-----BEGIN CERTIFICATE-----") {
        Ok(())
    } else {
        Err(invalid(format!(
            "{} holds no PEM certificate",
            bundle.display()
        )))
    }
}

/// A cluster's admin secret as the source of its administrator's credentials.
struct AdminSecretSource {
    sdk: SdkConfig,
    cluster: ClusterConfig,
    ca_bundle: Option<PathBuf>,
}

impl AdminSecretSource {
    async fn options(&self) -> Result<MySqlConnectOptions, ConfigError> {
        let text = read_secret(&self.sdk, config::CLUSTERS, &self.cluster.admin_secret).await?;
        let admin = AdminSecret::parse(&self.cluster.admin_secret, text.expose_secret())?;
        Ok(admin_options(
            &self.cluster,
            &admin,
            self.ca_bundle.as_deref(),
        ))
    }
}

impl AdminCredentials for AdminSecretSource {
    fn read(
        &self,
    ) -> Pin<Box<dyn Future<Output = Result<MySqlConnectOptions, String>> + Send + '_>> {
        Box::pin(async move { self.options().await.map_err(|e| e.to_string()) })
    }
}

/// How `cluster`'s one-time users are made: TLS only unless it says otherwise, its limits.
///
/// # Errors
/// [`ConfigError::Invalid`] on [`config::CLUSTERS`] for a limit out of range.
pub fn account_settings(cluster: &ClusterConfig) -> Result<AccountSettings, ConfigError> {
    let bad = |e: powerpole_mysql::Error| {
        ConfigError::invalid(
            config::CLUSTERS,
            format!("cluster {:?}: {e}", cluster.policy.cluster.as_str()),
        )
    };
    let mut settings = AccountSettings::new().with_require_tls(cluster.require_tls);
    if let Some(n) = cluster.max_user_connections {
        settings = settings.with_max_user_connections(n).map_err(bad)?;
    }
    if let Some(seconds) = cluster.read_statement_seconds {
        settings = settings
            .with_read_statement_timeout(Duration::from_secs(seconds))
            .map_err(bad)?;
    }
    Ok(settings)
}

/// The DB accounts adapter over every configured cluster, with the admin credentials read from
/// each cluster's secret (and read again after a rotation). Connections open lazily, at the
/// first statement.
///
/// # Errors
/// [`ConfigError`] for an unreadable or malformed admin secret or CA bundle.
pub async fn accounts(
    sdk: &SdkConfig,
    clusters: &[ClusterConfig],
    ca_bundle: Option<&Path>,
) -> Result<MySqlAccounts, ConfigError> {
    if let Some(bundle) = ca_bundle {
        check_ca_bundle(bundle)?;
    }
    let mut accounts = MySqlAccounts::new();
    for cluster in clusters {
        let source = Arc::new(AdminSecretSource {
            sdk: sdk.clone(),
            cluster: cluster.clone(),
            ca_bundle: ca_bundle.map(Path::to_path_buf),
        });
        let admin = source.options().await?;
        accounts = accounts.with_rotating_cluster(
            cluster.policy.cluster.clone(),
            admin,
            source,
            account_settings(cluster)?,
        );
    }
    Ok(accounts)
}

/// The Slack endpoints of the `request` and `approve` Lambdas.
///
/// # Errors
/// [`ConfigError`] when the Slack secret cannot be read or lacks the signing secret, or a
/// client cannot be built.
pub async fn ingress(sdk: &SdkConfig, config: IngressConfig) -> Result<AwsIngress, ConfigError> {
    let workflow = workflow(sdk, &config.state_machine_arn)?;
    let SlackSecret {
        signing_secret,
        bot_token,
    } = slack_secret(sdk, &config.slack).await?;
    let missing_signing_secret = |problem: &str| ConfigError::SecretMalformed {
        var: config::SLACK_SECRET_ARN,
        arn: config.slack.secret.to_string(),
        problem: problem.to_owned(),
    };
    let signing_secret =
        signing_secret.ok_or_else(|| missing_signing_secret("signing_secret is missing"))?;
    let verifier = SignatureVerifier::new(signing_secret.expose_secret())
        .map_err(|_| missing_signing_secret("signing_secret is empty"))?;
    let web = web_api(&config.slack, bot_token, INGRESS_RETRY)?;
    Ok(SlackIngress::new(
        verifier,
        web.clone(),
        chat(&web, &config.slack),
        approver_policy(&config.slack, config.approvers),
        config.clusters.into_iter().map(|c| c.policy).collect(),
        store(sdk, &config.table),
        workflow,
        SystemClock,
    )
    .with_identity(config.identity))
}

/// The `notify` Lambda's broker.
///
/// # Errors
/// [`ConfigError`] when the Slack secret cannot be read or a client cannot be built.
pub async fn notify_broker(
    sdk: &SdkConfig,
    config: NotifyConfig,
) -> Result<NotifyBroker, ConfigError> {
    let secret = slack_secret(sdk, &config.slack).await?;
    let web = web_api(&config.slack, secret.bot_token, RetryPolicy::default())?;
    let accounts = accounts(sdk, &config.clusters, config.db_ca_bundle.as_deref()).await?;
    let ports = Ports::new(
        store(sdk, &config.table),
        chat(&web, &config.slack),
        SystemClock,
    )
    .with_accounts(accounts);
    let clusters = config.clusters.into_iter().map(|c| c.policy).collect();
    Ok(Broker::new(ports, clusters))
}

/// The `provision` and `sweep` Lambdas' broker.
///
/// # Errors
/// [`ConfigError`] when a secret cannot be read or is malformed, or an adapter refuses its
/// settings.
pub async fn access_broker(
    sdk: &SdkConfig,
    config: AccessConfig,
) -> Result<AccessBroker, ConfigError> {
    let (ports, clusters) = access_ports(sdk, config).await?;
    Ok(Broker::new(ports, clusters))
}

/// The `teardown` Lambda's broker; `session_log_group` is [`config::SESSION_LOG_GROUP`].
///
/// # Errors
/// As [`access_broker`].
pub async fn teardown_broker(
    sdk: &SdkConfig,
    config: AccessConfig,
    session_log_group: Option<String>,
) -> Result<TeardownBroker, ConfigError> {
    let (ports, clusters) = access_ports(sdk, config).await?;
    let logs = aws_sdk_cloudwatchlogs::Client::new(sdk);
    let ports = ports.with_evidence(
        CloudWatchAuditSource::new(logs.clone(), AuditLogSettings::new()),
        CloudWatchSessionLog::new(logs, session_log_group),
    );
    Ok(Broker::new(ports, clusters))
}

/// The `sweep` Lambda's broker: the access ports, the workflow (approvals that did not reach
/// it are sent again), the audit log (tripwires) and the session log (the weekly report).
///
/// # Errors
/// As [`access_broker`]; [`ConfigError::Invalid`] for the state machine's ARN.
pub async fn sweep_broker(
    sdk: &SdkConfig,
    config: SweepConfig,
) -> Result<SweepBroker, ConfigError> {
    let workflow = workflow(sdk, &config.state_machine_arn)?;
    let (ports, clusters) = access_ports(sdk, config.access).await?;
    let directory = SlackDirectory::new(ports.chat.web().clone());
    let logs = aws_sdk_cloudwatchlogs::Client::new(sdk);
    let ports = ports.with_intake(directory, workflow).with_evidence(
        CloudWatchAuditSource::new(logs.clone(), AuditLogSettings::new()),
        CloudWatchSessionLog::new(logs, config.session_log_group),
    );
    Ok(Broker::new(ports, clusters))
}

/// The weekly reports' archive: `bucket` ([`config::REPORT_BUCKET`]), under
/// [`ReportBucket::DEFAULT_PREFIX`].
///
/// # Errors
/// [`ConfigError::Invalid`] naming [`config::REPORT_BUCKET`] when it is not a bucket name.
pub fn report_archive(sdk: &SdkConfig, bucket: &str) -> Result<S3ReportArchive, ConfigError> {
    let place = ReportBucket::new(bucket)
        .map_err(|e| ConfigError::invalid(config::REPORT_BUCKET, e.to_string()))?;
    Ok(S3ReportArchive::new(sdk, place))
}

async fn access_ports(
    sdk: &SdkConfig,
    config: AccessConfig,
) -> Result<(AwsAccessPorts, Vec<ClusterPolicy>), ConfigError> {
    let vault = vault(sdk, &config.secrets)?;
    let fleet = fleet(sdk, &config.bastion)?;
    let secret = slack_secret(sdk, &config.slack).await?;
    let web = web_api(&config.slack, secret.bot_token, RetryPolicy::default())?;
    let accounts = accounts(sdk, &config.clusters, config.db_ca_bundle.as_deref()).await?;
    let ports = Ports::new(
        store(sdk, &config.table),
        chat(&web, &config.slack),
        SystemClock,
    )
    .with_access(vault, fleet, accounts);
    Ok((
        ports,
        config.clusters.into_iter().map(|c| c.policy).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_bucket_that_is_no_bucket_name_names_its_variable() {
        let sdk = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        assert!(report_archive(&sdk, "powerpole-reports-123456789012").is_ok());
        let err = report_archive(&sdk, "s3://reports").unwrap_err();
        assert_eq!(err.vars(), vec![config::REPORT_BUCKET]);
    }

    #[test]
    fn account_limits_out_of_range_name_the_clusters_variable_and_the_cluster() {
        let clusters = crate::config::clusters(&vec![(
            crate::config::CLUSTERS,
            serde_json::json!([{
                "id": "orders",
                "region": "ap-northeast-1",
                "endpoint": "orders.example.internal",
                "admin_secret_arn": "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:rds!cluster-1234-AbCdEf",
                "read_statement_seconds": 0,
            }])
            .to_string(),
        )])
        .unwrap();

        let err = account_settings(&clusters[0]).unwrap_err().to_string();

        assert!(
            err.contains("POWERPOLE_CLUSTERS") && err.contains("orders") && err.contains("1 s"),
            "{err}"
        );
    }

    #[test]
    fn the_admin_connects_on_the_clusters_port_unless_its_secret_names_one() {
        let cluster = ClusterConfig {
            policy: ClusterPolicy::new(
                powerpole_core::ClusterId::parse("orders").unwrap(),
                powerpole_core::Region::parse("ap-northeast-1").unwrap(),
            )
            .with_endpoint("orders.example.internal")
            .with_port(13306),
            admin_secret: SecretArn::parse(
                "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:rds!cluster-1234-AbCdEf",
            )
            .unwrap(),
            require_tls: true,
            max_user_connections: None,
            read_statement_seconds: None,
        };
        let mut admin = AdminSecret {
            username: "admin".into(),
            password: SecretString::from("x".repeat(32)),
            host: None,
            port: None,
        };

        let managed = admin_options(&cluster, &admin, None);
        admin.port = Some(3307);
        let rotated = admin_options(&cluster, &admin, None);

        assert_eq!(
            (managed.get_host(), managed.get_port()),
            ("orders.example.internal", 13306)
        );
        assert_eq!(rotated.get_port(), 3307);
    }
}
