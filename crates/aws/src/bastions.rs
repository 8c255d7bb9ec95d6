//! The [`BastionFleet`] port on EC2: one throw-away instance per request, reachable only through
//! SSM Session Manager.
//!
//! Each bastion is launched by `RunInstances` (either from a launch template or from explicit
//! parameters), with `ClientToken` = request id so a retried call returns the instance the first
//! call started. The instance and its volumes are tagged `powerpole:request-id`,
//! `powerpole:expires-at` (RFC 3339 UTC), `powerpole:managed = true` and
//! `Name = powerpole-<request id>`: the tags are how the sweeper finds every bastion
//! (`DescribeInstances` by tag, never by remembering ids) and how IAM policies can confine
//! `TerminateInstances` to broker-managed instances. Before launching, the fleet also looks the
//! request's live instance up by tag, which keeps launches idempotent where the client token is
//! not honoured (moto) or has expired.
//!
//! The requester's e-mail address goes in `powerpole:requester`: the requesters' IAM policy
//! (terraform's `requester_policy_arn`) allows `ssm:StartSession` only on instances whose tag
//! equals the caller's `email` principal tag, so nobody opens someone else's bastion.
//!
//! The instance requires IMDSv2 (`HttpTokens = required`), has no key pair, and its user data
//! patches it at boot (`dnf -y update`) and installs a MySQL client (`mariadb105` on Amazon
//! Linux 2023) and `jq`, which the ready message's command reads the password with, fetches
//! the RDS CA bundle the command verifies the cluster's TLS certificate against, and, when all of
//! that worked, tags the instance `powerpole:booted`. With explicit parameters the root volume is
//! an encrypted gp3 volume of the configured size.
//!
//! A bastion is ready only when EC2 says `running`, the boot tag is there, and SSM's
//! `DescribeInstanceInformation` reports its agent `Online`: before that a session cannot be
//! opened, or opens on a machine without the client.
//!
//! Termination is idempotent and refuses instances that do not carry `powerpole:managed = true`,
//! so a wrong id can never terminate someone else's instance.

use aws_config::SdkConfig;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{
    BlockDeviceMapping, EbsBlockDevice, Filter, HttpTokensState, IamInstanceProfileSpecification,
    Instance, InstanceMetadataEndpointState, InstanceMetadataOptionsRequest, InstanceStateName,
    InstanceType, LaunchTemplateSpecification, ResourceType, Tag, TagSpecification, VolumeType,
};
use aws_sdk_ssm::types::{InstanceInformationStringFilter, PingStatus};
use powerpole_core::encoding::base64;
use powerpole_core::ports::{Bastion, BastionFleet, BastionStatus};
use powerpole_core::{Arn, BASTION_DB_CA, BastionId, Email, RequestId};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tracing::debug;

use crate::error::{Error, Result, sdk};

const SERVICE: &str = "ec2";
const NOT_FOUND: &str = "InvalidInstanceID.NotFound";
/// Instance states in which an instance still exists and can be reused or must be swept.
const LIVE_STATES: [&str; 4] = ["pending", "running", "stopping", "stopped"];

/// Where bastions fetch the RDS CA bundle (every region's roots) from at boot.
pub const RDS_CA_BUNDLE_URL: &str =
    "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem";

/// The boot script every bastion runs: patch the OS, install the MySQL client and `jq`, put
/// the RDS CA bundle at [`BASTION_DB_CA`], where the ready message's command verifies the
/// cluster's certificate against it, and, only when every step worked (`set -e`), tag the
/// instance with `booted_tag` (the time, RFC 3339) through IMDSv2 and the instance's own role.
#[must_use]
pub fn user_data(booted_tag: &str) -> String {
    let dir = BASTION_DB_CA.rsplit_once('/').map_or("/", |(dir, _)| dir);
    let imds = "http://169.254.169.254/latest";
    format!(
        "#!/bin/bash\nset -euxo pipefail\ndnf -y update\ndnf -y install mariadb105 jq\n\
         mkdir -p {dir}\ncurl -fsS --retry 5 -o {BASTION_DB_CA} {RDS_CA_BUNDLE_URL}\n\
         token=$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' {imds}/api/token)\n\
         meta() {{ curl -fsS -H \"X-aws-ec2-metadata-token: $token\" {imds}/meta-data/$1; }}\n\
         aws ec2 create-tags --region \"$(meta placement/region)\" --resources \"$(meta instance-id)\" \
         --tags \"Key={booted_tag},Value=$(date -u +%Y-%m-%dT%H:%M:%SZ)\"\n"
    )
}

/// Which launch template to start bastions from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateRef {
    /// By id (`lt-…`).
    Id(String),
    /// By name.
    Name(String),
}

/// A launch template and the version to use (`None`: the template's default version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchTemplate {
    /// The template.
    pub template: TemplateRef,
    /// A version number, `$Latest` or `$Default`.
    pub version: Option<String>,
}

/// The instance profile that gives the bastion its role (SSM agent, its own secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceProfile {
    /// By name.
    Name(String),
    /// By ARN.
    Arn(String),
}

/// Explicit launch parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceParams {
    /// The AMI (`ami-…`), e.g. the latest Amazon Linux 2023 from its public SSM parameter.
    pub image_id: String,
    /// The instance type, e.g. `t4g.nano`.
    pub instance_type: String,
    /// The (private) subnet to launch in (`subnet-…`).
    pub subnet_id: String,
    /// Security groups (`sg-…`); none means the VPC's default group. SSM needs no ingress rule.
    pub security_group_ids: Vec<String>,
    /// The instance profile. `None` only where SSM's Default Host Management Configuration
    /// registers instances without one.
    pub instance_profile: Option<InstanceProfile>,
    /// The AMI's root device, whose volume is launched encrypted
    /// ([`InstanceParams::AL2023_ROOT_DEVICE`] on Amazon Linux 2023).
    pub root_device_name: String,
    /// Size of the (gp3) root volume in GiB, at least the AMI's snapshot size
    /// ([`InstanceParams::AL2023_ROOT_GIB`] on Amazon Linux 2023).
    pub root_volume_gib: i32,
}

impl InstanceParams {
    /// The root device name of Amazon Linux 2023 AMIs.
    pub const AL2023_ROOT_DEVICE: &'static str = "/dev/xvda";
    /// The root snapshot size of Amazon Linux 2023 AMIs, in GiB.
    pub const AL2023_ROOT_GIB: i32 = 8;
}

/// How bastions are launched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchSpec {
    /// From a launch template. The fleet still sets its tags, IMDSv2 and the user data, which
    /// override the template's; a key pair or unencrypted volume in the template is the
    /// template's responsibility.
    Template(LaunchTemplate),
    /// From explicit parameters.
    Instance(InstanceParams),
}

/// How the fleet launches and tags bastions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ec2FleetSettings {
    launch: LaunchSpec,
    tag_prefix: String,
}

impl Ec2FleetSettings {
    /// The tag prefix used when none is given.
    pub const DEFAULT_TAG_PREFIX: &'static str = "powerpole:";
    /// Longest accepted tag prefix.
    pub const MAX_TAG_PREFIX_LEN: usize = 64;

    /// Settings launching with `launch`, tagging with [`Self::DEFAULT_TAG_PREFIX`].
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] naming the first id or name that does not have the shape EC2 gives
    /// it (`ami-…`, `subnet-…`, `sg-…`, `lt-…`, an instance profile name or ARN, a template
    /// version that is a number, `$Latest` or `$Default`, a root device under `/dev/`).
    pub fn new(launch: LaunchSpec) -> Result<Self> {
        match &launch {
            LaunchSpec::Template(template) => check_template(template)?,
            LaunchSpec::Instance(params) => check_params(params)?,
        }
        Ok(Self {
            launch,
            tag_prefix: Self::DEFAULT_TAG_PREFIX.to_owned(),
        })
    }

    /// Uses `prefix` for the fleet's tag keys instead of `powerpole:`.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] when the prefix is empty, longer than [`Self::MAX_TAG_PREFIX_LEN`],
    /// starts with `aws:` or has a character other than ASCII letters, digits and `_.:=+@-`.
    pub fn with_tag_prefix(mut self, prefix: &str) -> Result<Self> {
        let problem = if prefix.is_empty() || prefix.len() > Self::MAX_TAG_PREFIX_LEN {
            Some("must be 1 to 64 characters")
        } else if !prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.:=+@-".contains(c))
        {
            Some("may contain only ASCII letters, digits and _.:=+@-")
        } else if prefix.to_ascii_lowercase().starts_with("aws:") {
            Some("must not start with aws:, which AWS reserves")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(Error::invalid_setting("bastion tag prefix", problem));
        }
        self.tag_prefix = prefix.to_owned();
        Ok(self)
    }

    /// How bastions are launched.
    #[must_use]
    pub fn launch(&self) -> &LaunchSpec {
        &self.launch
    }

    /// The tag key prefix.
    #[must_use]
    pub fn tag_prefix(&self) -> &str {
        &self.tag_prefix
    }

    /// The tag holding the request id.
    #[must_use]
    pub fn request_tag(&self) -> String {
        format!("{}request-id", self.tag_prefix)
    }

    /// The tag holding when the bastion must be gone (RFC 3339 UTC).
    #[must_use]
    pub fn expires_tag(&self) -> String {
        format!("{}expires-at", self.tag_prefix)
    }

    /// The tag marking instances the broker manages (value `true`).
    #[must_use]
    pub fn managed_tag(&self) -> String {
        format!("{}managed", self.tag_prefix)
    }

    /// The tag holding the requester's e-mail address, lower-cased: the identity the
    /// requesters' `ssm:StartSession` policy compares with the caller's.
    #[must_use]
    pub fn requester_tag(&self) -> String {
        format!("{}requester", self.tag_prefix)
    }

    /// The tag the bastion puts on itself when its boot script has finished.
    #[must_use]
    pub fn booted_tag(&self) -> String {
        format!("{}booted", self.tag_prefix)
    }
}

fn check(ok: bool, what: &str, problem: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_setting(format!("bastion {what}"), problem))
    }
}

fn is_resource_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix)
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn check_template(template: &LaunchTemplate) -> Result<()> {
    match &template.template {
        TemplateRef::Id(id) => check(
            is_resource_id(id, "lt-"),
            "launch template id",
            "must look like lt-0123abcd",
        )?,
        TemplateRef::Name(name) => check(
            (3..=128).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "()./_-".contains(c)),
            "launch template name",
            "must be 3 to 128 ASCII letters, digits and ()./_-",
        )?,
    }
    if let Some(version) = &template.version {
        check(
            version == "$Latest"
                || version == "$Default"
                || (!version.is_empty() && version.chars().all(|c| c.is_ascii_digit())),
            "launch template version",
            "must be a version number, $Latest or $Default",
        )?;
    }
    Ok(())
}

fn check_params(params: &InstanceParams) -> Result<()> {
    check(
        is_resource_id(&params.image_id, "ami-"),
        "image id",
        "must look like ami-0123abcd",
    )?;
    check(
        !params.instance_type.is_empty()
            && params.instance_type.contains('.')
            && params
                .instance_type
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-'),
        "instance type",
        "must look like t4g.nano",
    )?;
    check(
        is_resource_id(&params.subnet_id, "subnet-"),
        "subnet id",
        "must look like subnet-0123abcd",
    )?;
    for group in &params.security_group_ids {
        check(
            is_resource_id(group, "sg-"),
            "security group id",
            "must look like sg-0123abcd",
        )?;
    }
    match &params.instance_profile {
        Some(InstanceProfile::Name(name)) => check(
            (1..=128).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)),
            "instance profile name",
            "must be 1 to 128 ASCII letters, digits and +=,.@_-",
        )?,
        Some(InstanceProfile::Arn(arn)) => check(
            Arn::parse(arn).is_ok_and(|arn| arn.resource_id("iam", "instance-profile/").is_some()),
            "instance profile ARN",
            "must look like arn:aws:iam::123456789012:instance-profile/name",
        )?,
        None => {}
    }
    check(
        params.root_device_name.len() > "/dev/".len()
            && params.root_device_name.starts_with("/dev/")
            && params
                .root_device_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '/'),
        "root device name",
        "must look like /dev/xvda",
    )?;
    check(
        (1..=16_384).contains(&params.root_volume_gib),
        "root volume size",
        "must be 1 to 16384 GiB",
    )
}

/// The [`BastionFleet`] on EC2, with SSM telling when a bastion's agent is online.
#[derive(Debug, Clone)]
pub struct Ec2Fleet {
    client: Client,
    ssm: aws_sdk_ssm::Client,
    settings: Ec2FleetSettings,
}

impl Ec2Fleet {
    /// A fleet with EC2 and SSM clients from `sdk` (loaded once per process) and `settings`.
    #[must_use]
    pub fn new(sdk: &SdkConfig, settings: Ec2FleetSettings) -> Self {
        Self {
            client: Client::new(sdk),
            ssm: aws_sdk_ssm::Client::new(sdk),
            settings,
        }
    }

    /// The `Name` tag of the request's bastion: `powerpole-<request id>`.
    #[must_use]
    pub fn instance_name(id: RequestId) -> String {
        format!("powerpole-{id}")
    }

    /// Launches the request's bastion, or returns the live one it already has.
    ///
    /// # Errors
    /// [`Error::Sdk`] when EC2 refuses or fails (e.g. `InsufficientInstanceCapacity`, an
    /// unknown AMI); [`Error::Malformed`] when its answer has no instance.
    pub async fn start(
        &self,
        id: RequestId,
        expires_at: OffsetDateTime,
        requester: Option<&Email>,
    ) -> Result<Bastion> {
        if let Some(existing) = self.find(id).await? {
            debug!(request = %id, instance = %existing.id.0, "bastion exists, reusing it");
            return Ok(existing);
        }
        let expires = powerpole_core::timefmt::rfc3339(
            expires_at,
            powerpole_core::timefmt::Precision::Seconds,
        );
        let tagged_expiry = OffsetDateTime::parse(&expires, &Rfc3339).ok();
        let mut tags = vec![
            (self.settings.request_tag(), id.to_string()),
            (self.settings.expires_tag(), expires),
            (self.settings.managed_tag(), "true".to_owned()),
            ("Name".to_owned(), Self::instance_name(id)),
        ];
        if let Some(email) = requester {
            tags.push((self.settings.requester_tag(), email.as_str().to_lowercase()));
        }
        let tagged = |resource: ResourceType| {
            tags.iter()
                .fold(
                    TagSpecification::builder().resource_type(resource),
                    |b, (k, v)| b.tags(Tag::builder().key(k).value(v).build()),
                )
                .build()
        };
        let mut run = self
            .client
            .run_instances()
            .min_count(1)
            .max_count(1)
            .client_token(id.to_string())
            .metadata_options(
                InstanceMetadataOptionsRequest::builder()
                    .http_tokens(HttpTokensState::Required)
                    .http_endpoint(InstanceMetadataEndpointState::Enabled)
                    .build(),
            )
            .user_data(base64(user_data(&self.settings.booted_tag()).as_bytes()))
            .tag_specifications(tagged(ResourceType::Instance))
            .tag_specifications(tagged(ResourceType::Volume));
        run = match &self.settings.launch {
            LaunchSpec::Template(template) => {
                let spec = match &template.template {
                    TemplateRef::Id(lt) => {
                        LaunchTemplateSpecification::builder().launch_template_id(lt)
                    }
                    TemplateRef::Name(lt) => {
                        LaunchTemplateSpecification::builder().launch_template_name(lt)
                    }
                };
                run.launch_template(spec.set_version(template.version.clone()).build())
            }
            LaunchSpec::Instance(params) => run
                .image_id(&params.image_id)
                .instance_type(InstanceType::from(params.instance_type.as_str()))
                .subnet_id(&params.subnet_id)
                .set_security_group_ids(
                    (!params.security_group_ids.is_empty())
                        .then(|| params.security_group_ids.clone()),
                )
                .set_iam_instance_profile(params.instance_profile.as_ref().map(|profile| {
                    match profile {
                        InstanceProfile::Name(name) => {
                            IamInstanceProfileSpecification::builder().name(name)
                        }
                        InstanceProfile::Arn(arn) => {
                            IamInstanceProfileSpecification::builder().arn(arn)
                        }
                    }
                    .build()
                }))
                .block_device_mappings(
                    BlockDeviceMapping::builder()
                        .device_name(&params.root_device_name)
                        .ebs(
                            EbsBlockDevice::builder()
                                .volume_size(params.root_volume_gib)
                                .volume_type(VolumeType::Gp3)
                                .encrypted(true)
                                .delete_on_termination(true)
                                .build(),
                        )
                        .build(),
                ),
        };
        debug!(request = %id, "launching bastion");
        let out = run
            .send()
            .await
            .map_err(|err| sdk(SERVICE, "RunInstances", err))?;
        let instance = out
            .instances
            .unwrap_or_default()
            .into_iter()
            .next()
            .ok_or_else(|| Error::malformed("RunInstances answer", "no instance"))?;
        let bastion = self.bastion_from(&instance)?;
        debug!(request = %id, instance = %bastion.id.0, "bastion launched");
        Ok(Bastion {
            request: Some(id),
            expires_at: tagged_expiry,
            ..bastion
        })
    }

    /// The request's bastion that is not terminated or terminating, if any.
    async fn find(&self, id: RequestId) -> Result<Option<Bastion>> {
        let out = self
            .client
            .describe_instances()
            .filters(
                Filter::builder()
                    .name(format!("tag:{}", self.settings.request_tag()))
                    .values(id.to_string())
                    .build(),
            )
            .filters(live_states())
            .send()
            .await
            .map_err(|err| sdk(SERVICE, "DescribeInstances", err))?;
        let mut instances = out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .collect::<Vec<_>>();
        instances.sort_by_key(|i| {
            i.launch_time()
                .map(aws_sdk_ec2::primitives::DateTime::as_nanos)
        });
        instances
            .first()
            .map(|instance| self.bastion_from(instance))
            .transpose()
    }

    /// The instance, or `None` when EC2 does not know it.
    async fn describe(&self, bastion: &BastionId) -> Result<Option<Instance>> {
        match self
            .client
            .describe_instances()
            .instance_ids(&bastion.0)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .reservations
                .unwrap_or_default()
                .into_iter()
                .flat_map(|r| r.instances.unwrap_or_default())
                .find(|i| i.instance_id() == Some(bastion.0.as_str()))),
            Err(err) if err.code() == Some(NOT_FOUND) => Ok(None),
            Err(err) => Err(sdk(SERVICE, "DescribeInstances", err)),
        }
    }

    /// The bastion's status: ready when `running`, tagged as booted and its SSM agent
    /// `Online`; starting while `pending` or `running` without both; anything else (and an
    /// unknown instance) is gone.
    ///
    /// # Errors
    /// [`Error::Sdk`] when EC2 or SSM fails.
    pub async fn current_status(&self, bastion: &BastionId) -> Result<BastionStatus> {
        let Some(instance) = self.describe(bastion).await? else {
            debug!(instance = %bastion.0, "bastion unknown");
            return Ok(BastionStatus::Gone);
        };
        let status = match instance.state().and_then(|s| s.name()) {
            Some(InstanceStateName::Pending) => BastionStatus::Starting,
            Some(InstanceStateName::Running) => {
                let booted = tag_value(&instance, &self.settings.booted_tag()).is_some();
                let online = self.agent_online(bastion).await?;
                debug!(instance = %bastion.0, booted, agent_online = online, "bastion running");
                if booted && online {
                    BastionStatus::Ready
                } else {
                    BastionStatus::Starting
                }
            }
            _ => BastionStatus::Gone,
        };
        debug!(instance = %bastion.0, ?status, "bastion status");
        Ok(status)
    }

    /// Whether SSM lists the instance as a managed node whose agent pings `Online`.
    async fn agent_online(&self, bastion: &BastionId) -> Result<bool> {
        let filter = InstanceInformationStringFilter::builder()
            .key("InstanceIds")
            .values(&bastion.0)
            .build()
            .map_err(|e| Error::malformed("SSM instance filter", e.to_string()))?;
        let out = match self
            .ssm
            .describe_instance_information()
            .filters(filter)
            .send()
            .await
        {
            Ok(out) => out,
            Err(err) if err.code() == Some("InvalidInstanceId") => return Ok(false),
            Err(err) => return Err(sdk("ssm", "DescribeInstanceInformation", err)),
        };
        Ok(out.instance_information_list().iter().any(|node| {
            node.instance_id() == Some(bastion.0.as_str())
                && node.ping_status() == Some(&PingStatus::Online)
        }))
    }

    /// Terminates the bastion. An unknown or already terminated instance counts as terminated.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the instance exists but is not tagged as managed by the broker
    /// (nothing is terminated then); [`Error::Sdk`] when EC2 fails.
    pub async fn stop(&self, bastion: &BastionId) -> Result<()> {
        let Some(instance) = self.describe(bastion).await? else {
            debug!(instance = %bastion.0, "bastion unknown, nothing to terminate");
            return Ok(());
        };
        if instance.state().and_then(|s| s.name()) == Some(&InstanceStateName::Terminated) {
            debug!(instance = %bastion.0, "bastion already terminated");
            return Ok(());
        }
        if tag_value(&instance, &self.settings.managed_tag()) != Some("true") {
            return Err(Error::Conflict(format!(
                "instance {} is not managed by powerpole",
                bastion.0
            )));
        }
        debug!(instance = %bastion.0, request = ?tag_value(&instance, &self.settings.request_tag()), "terminating bastion");
        match self
            .client
            .terminate_instances()
            .instance_ids(&bastion.0)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) if err.code() == Some(NOT_FOUND) => Ok(()),
            Err(err) => Err(sdk(SERVICE, "TerminateInstances", err)),
        }
    }

    /// Every managed bastion that is pending, running, stopping or stopped.
    ///
    /// # Errors
    /// [`Error::Sdk`] when EC2 fails; [`Error::Malformed`] when an instance has no id or launch
    /// time.
    pub async fn managed(&self) -> Result<Vec<Bastion>> {
        let mut pages = self
            .client
            .describe_instances()
            .filters(
                Filter::builder()
                    .name(format!("tag:{}", self.settings.managed_tag()))
                    .values("true")
                    .build(),
            )
            .filters(live_states())
            .into_paginator()
            .page_size(500)
            .send();
        let mut bastions = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| sdk(SERVICE, "DescribeInstances", err))?;
            for instance in page.reservations().iter().flat_map(|r| r.instances()) {
                bastions.push(self.bastion_from(instance)?);
            }
        }
        debug!(count = bastions.len(), "listed managed bastions");
        Ok(bastions)
    }

    fn bastion_from(&self, instance: &Instance) -> Result<Bastion> {
        let id = instance
            .instance_id()
            .ok_or_else(|| Error::malformed("EC2 instance", "no instance id"))?;
        let launched_at = instance
            .launch_time()
            .and_then(|t| OffsetDateTime::from_unix_timestamp_nanos(t.as_nanos()).ok())
            .ok_or_else(|| Error::malformed(format!("EC2 instance {id}"), "no launch time"))?;
        Ok(Bastion {
            id: BastionId(id.to_owned()),
            request: tag_value(instance, &self.settings.request_tag())
                .and_then(|v| RequestId::parse(v).ok()),
            expires_at: tag_value(instance, &self.settings.expires_tag())
                .and_then(|v| OffsetDateTime::parse(v, &Rfc3339).ok()),
            launched_at,
        })
    }
}

impl BastionFleet for Ec2Fleet {
    async fn launch(
        &self,
        id: RequestId,
        expires_at: OffsetDateTime,
        requester: Option<&Email>,
    ) -> powerpole_core::Result<Bastion> {
        Ok(self.start(id, expires_at, requester).await?)
    }

    async fn status(&self, bastion: &BastionId) -> powerpole_core::Result<BastionStatus> {
        Ok(self.current_status(bastion).await?)
    }

    async fn terminate(&self, bastion: &BastionId) -> powerpole_core::Result<()> {
        Ok(self.stop(bastion).await?)
    }

    async fn list(&self) -> powerpole_core::Result<Vec<Bastion>> {
        Ok(self.managed().await?)
    }
}

fn live_states() -> Filter {
    Filter::builder()
        .name("instance-state-name")
        .set_values(Some(LIVE_STATES.map(str::to_owned).to_vec()))
        .build()
}

fn tag_value<'a>(instance: &'a Instance, key: &str) -> Option<&'a str> {
    instance
        .tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(Tag::value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> InstanceParams {
        InstanceParams {
            image_id: "ami-0abc123".to_owned(),
            instance_type: "t4g.nano".to_owned(),
            subnet_id: "subnet-0abc".to_owned(),
            security_group_ids: vec!["sg-0abc".to_owned()],
            instance_profile: Some(InstanceProfile::Name("powerpole-bastion".to_owned())),
            root_device_name: InstanceParams::AL2023_ROOT_DEVICE.to_owned(),
            root_volume_gib: InstanceParams::AL2023_ROOT_GIB,
        }
    }

    #[test]
    fn user_data_patches_installs_the_client_fetches_the_rds_ca_then_marks_the_boot() {
        let script = user_data("powerpole:booted");
        assert!(script.starts_with("#!/bin/bash\nset -euxo pipefail\n"));
        assert!(script.contains("\ndnf -y update\n"));
        assert!(script.contains("\ndnf -y install mariadb105 jq\n"));
        assert!(script.contains(
            "\nmkdir -p /etc/pki/powerpole\ncurl -fsS --retry 5 -o /etc/pki/powerpole/rds-ca.pem \
             https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem\n"
        ));
        let (before, last) = script.trim_end().rsplit_once('\n').unwrap();
        assert!(
            before.contains("rds-ca.pem"),
            "the marker comes after every step"
        );
        assert!(
            last.starts_with("aws ec2 create-tags ")
                && last.contains("--tags \"Key=powerpole:booted,Value=$(date -u"),
            "{last}"
        );
        assert!(
            script.contains("X-aws-ec2-metadata-token-ttl-seconds"),
            "IMDSv2 only"
        );
    }

    #[test]
    fn explicit_parameters_are_checked() {
        assert!(Ec2FleetSettings::new(LaunchSpec::Instance(params())).is_ok());
        let broken: [fn(&mut InstanceParams); 8] = [
            |p| p.image_id = "ubuntu".to_owned(),
            |p| p.instance_type = "t4g nano".to_owned(),
            |p| p.subnet_id = "sg-1".to_owned(),
            |p| p.security_group_ids.push("sg-".to_owned()),
            |p| p.instance_profile = Some(InstanceProfile::Arn("role/x".to_owned())),
            |p| p.instance_profile = Some(InstanceProfile::Name("a b".to_owned())),
            |p| p.root_device_name = "xvda".to_owned(),
            |p| p.root_volume_gib = 0,
        ];
        for breaking in broken {
            let mut p = params();
            breaking(&mut p);
            assert!(
                Ec2FleetSettings::new(LaunchSpec::Instance(p.clone())).is_err(),
                "{p:?}"
            );
        }
    }

    #[test]
    fn templates_and_tag_prefixes_are_checked() {
        let template = |template, version: Option<&str>| {
            Ec2FleetSettings::new(LaunchSpec::Template(LaunchTemplate {
                template,
                version: version.map(str::to_owned),
            }))
        };
        assert!(template(TemplateRef::Id("lt-0abc".to_owned()), None).is_ok());
        assert!(
            template(
                TemplateRef::Name("powerpole-bastion".to_owned()),
                Some("$Latest")
            )
            .is_ok()
        );
        assert!(template(TemplateRef::Name("bastion".to_owned()), Some("12")).is_ok());
        assert!(template(TemplateRef::Id("0abc".to_owned()), None).is_err());
        assert!(template(TemplateRef::Name("x".to_owned()), None).is_err());
        assert!(template(TemplateRef::Name("bastion".to_owned()), Some("latest")).is_err());

        let settings = Ec2FleetSettings::new(LaunchSpec::Instance(params())).unwrap();
        assert_eq!(settings.request_tag(), "powerpole:request-id");
        assert_eq!(settings.managed_tag(), "powerpole:managed");
        assert_eq!(settings.requester_tag(), "powerpole:requester");
        assert_eq!(settings.booted_tag(), "powerpole:booted");
        let custom = settings.clone().with_tag_prefix("pp-stg:").unwrap();
        assert_eq!(custom.expires_tag(), "pp-stg:expires-at");
        for bad in ["", "aws:x", "AWS:", "has space", "a/b"] {
            assert!(settings.clone().with_tag_prefix(bad).is_err(), "{bad:?}");
        }
    }
}
