#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]
//! `Ec2Fleet` against moto: idempotent launch, tags, IMDSv2, user data, status, termination and
//! listing.

use std::time::Duration;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    Filter, HttpTokensState, Instance, InstanceMetadataEndpointState, InstanceStateName,
    InstanceType, RequestLaunchTemplateData, ResourceType, Tag, TagSpecification,
};
use powerpole_aws::bastions::{
    Ec2Fleet, Ec2FleetSettings, InstanceParams, InstanceProfile, LaunchSpec, LaunchTemplate,
    TemplateRef,
};
use powerpole_core::ports::{BastionFleet, BastionStatus};
use powerpole_core::{BastionId, Email, RequestId};
use time::OffsetDateTime;

struct Moto {
    config: aws_config::SdkConfig,
    ec2: Client,
    image_id: String,
    subnet_id: String,
}

impl Moto {
    async fn connect() -> Option<Self> {
        let endpoint = powerpole_testkit::aws_endpoint()?;
        let config = powerpole_aws::config::load(Some(&endpoint)).await;
        let ec2 = Client::new(&config);
        let image_id = amazon_linux_image(&ec2).await;
        let subnet_id = ec2
            .describe_subnets()
            .filters(
                Filter::builder()
                    .name("default-for-az")
                    .values("true")
                    .build(),
            )
            .send()
            .await
            .unwrap()
            .subnets()
            .first()
            .and_then(|s| s.subnet_id())
            .expect("moto has default subnets")
            .to_owned();
        Some(Self {
            config,
            ec2,
            image_id,
            subnet_id,
        })
    }

    fn params(&self) -> InstanceParams {
        InstanceParams {
            image_id: self.image_id.clone(),
            instance_type: "t3.micro".to_owned(),
            subnet_id: self.subnet_id.clone(),
            security_group_ids: Vec::new(),
            instance_profile: None,
            root_device_name: InstanceParams::AL2023_ROOT_DEVICE.to_owned(),
            root_volume_gib: 10,
        }
    }

    fn fleet(&self) -> Ec2Fleet {
        self.fleet_with(self.params())
    }

    fn fleet_with(&self, params: InstanceParams) -> Ec2Fleet {
        Ec2Fleet::new(
            &self.config,
            Ec2FleetSettings::new(LaunchSpec::Instance(params)).unwrap(),
        )
    }

    async fn instance(&self, id: &BastionId) -> Instance {
        self.ec2
            .describe_instances()
            .instance_ids(&id.0)
            .send()
            .await
            .unwrap()
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .next()
            .cloned()
            .unwrap_or_else(|| panic!("{} not found", id.0))
    }

    async fn by_request_tag(&self, id: RequestId) -> Vec<Instance> {
        self.ec2
            .describe_instances()
            .filters(
                Filter::builder()
                    .name("tag:powerpole:request-id")
                    .values(id.to_string())
                    .build(),
            )
            .send()
            .await
            .unwrap()
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .cloned()
            .collect()
    }

    /// An instance launched directly, with `tags` and nothing of the fleet's.
    async fn launch_foreign(&self, tags: &[(&str, &str)]) -> BastionId {
        let mut run = self
            .ec2
            .run_instances()
            .image_id(&self.image_id)
            .instance_type(InstanceType::T3Micro)
            .min_count(1)
            .max_count(1);
        if !tags.is_empty() {
            let spec = tags
                .iter()
                .fold(
                    TagSpecification::builder().resource_type(ResourceType::Instance),
                    |b, (k, v)| b.tags(Tag::builder().key(*k).value(*v).build()),
                )
                .build();
            run = run.tag_specifications(spec);
        }
        let out = run.send().await.unwrap();
        BastionId(out.instances()[0].instance_id().unwrap().to_owned())
    }

    async fn terminate_directly(&self, id: &BastionId) {
        self.ec2
            .terminate_instances()
            .instance_ids(&id.0)
            .send()
            .await
            .unwrap();
    }
}

/// One of moto's built-in Amazon Linux 2023 x86_64 images, else any built-in image.
async fn amazon_linux_image(ec2: &Client) -> String {
    let al2023 = ec2
        .describe_images()
        .owners("amazon")
        .filters(
            Filter::builder()
                .name("name")
                .values("al2023-ami-2023*")
                .build(),
        )
        .filters(
            Filter::builder()
                .name("architecture")
                .values("x86_64")
                .build(),
        )
        .send()
        .await
        .unwrap();
    if let Some(id) = al2023.images().first().and_then(|i| i.image_id()) {
        return id.to_owned();
    }
    ec2.describe_images()
        .owners("amazon")
        .send()
        .await
        .unwrap()
        .images()
        .first()
        .and_then(|i| i.image_id())
        .expect("moto ships AMIs")
        .to_owned()
}

fn request_id() -> RequestId {
    RequestId::generate(OffsetDateTime::now_utc(), &mut rand::rng())
}

fn expiry() -> OffsetDateTime {
    (OffsetDateTime::now_utc() + time::Duration::hours(2))
        .replace_nanosecond(0)
        .unwrap()
}

fn tag<'a>(instance: &'a Instance, key: &str) -> Option<&'a str> {
    instance
        .tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

fn base64_decode(encoded: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sextets: Vec<u32> = encoded
        .bytes()
        .filter(|&b| b != b'=')
        .map(|b| ALPHABET.iter().position(|&a| a == b).unwrap() as u32)
        .collect();
    let mut out = Vec::new();
    for chunk in sextets.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, s)| n | (s << (18 - 6 * i)));
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

#[tokio::test]
async fn launching_twice_for_one_request_starts_one_instance() {
    let Some(moto) = Moto::connect().await else {
        return;
    };
    let fleet = moto.fleet();
    let id = request_id();

    let first = fleet.launch(id, expiry(), None).await.unwrap();
    let second = fleet.launch(id, expiry(), None).await.unwrap();

    assert_eq!(first.id, second.id);
    assert_eq!(first.request, Some(id));
    let instances = moto.by_request_tag(id).await;
    assert_eq!(instances.len(), 1, "{instances:?}");
    assert_eq!(instances[0].client_token(), Some(id.to_string().as_str()));
    fleet.terminate(&first.id).await.unwrap();
}

#[tokio::test]
async fn the_instance_is_tagged_locked_down_and_patched_at_boot() {
    let Some(moto) = Moto::connect().await else {
        return;
    };
    let fleet = moto.fleet();
    let id = request_id();
    let expires_at = expiry();

    let requester = Email::parse("Keisuke.Owato@Example.com").unwrap();
    let bastion = fleet
        .launch(id, expires_at, Some(&requester))
        .await
        .unwrap();

    let instance = moto.instance(&bastion.id).await;
    assert_eq!(
        tag(&instance, "powerpole:requester"),
        Some("keisuke.owato@example.com"),
        "the requesters' StartSession policy compares this tag with the caller's e-mail"
    );
    let expected_expiry = expires_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    assert_eq!(
        tag(&instance, "powerpole:request-id"),
        Some(id.to_string().as_str())
    );
    assert_eq!(
        tag(&instance, "powerpole:expires-at"),
        Some(expected_expiry.as_str())
    );
    assert_eq!(tag(&instance, "powerpole:managed"), Some("true"));
    assert_eq!(
        tag(&instance, "Name"),
        Some(format!("powerpole-{id}").as_str())
    );
    let metadata = instance.metadata_options().unwrap();
    assert_eq!(metadata.http_tokens(), Some(&HttpTokensState::Required));
    assert_eq!(
        metadata.http_endpoint(),
        Some(&InstanceMetadataEndpointState::Enabled)
    );
    assert_eq!(instance.key_name(), None);
    assert_eq!(instance.image_id(), Some(moto.image_id.as_str()));
    assert_eq!(instance.subnet_id(), Some(moto.subnet_id.as_str()));
    assert_eq!(bastion.expires_at, Some(expires_at));
    assert!(
        (OffsetDateTime::now_utc() - bastion.launched_at).abs() < time::Duration::minutes(5),
        "{bastion:?}"
    );

    let volumes = moto
        .ec2
        .describe_volumes()
        .filters(
            Filter::builder()
                .name("attachment.instance-id")
                .values(&bastion.id.0)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(!volumes.volumes().is_empty());
    for volume in volumes.volumes() {
        assert_eq!(volume.encrypted(), Some(true), "{volume:?}");
        assert_eq!(volume.size(), Some(10), "{volume:?}");
        let tags = volume.tags();
        let value = |key: &str| {
            tags.iter()
                .find(|t| t.key() == Some(key))
                .and_then(|t| t.value())
        };
        assert_eq!(value("powerpole:request-id"), Some(id.to_string().as_str()));
        assert_eq!(value("powerpole:managed"), Some("true"));
    }

    let user_data = moto
        .ec2
        .describe_instance_attribute()
        .instance_id(&bastion.id.0)
        .attribute(aws_sdk_ec2::types::InstanceAttributeName::UserData)
        .send()
        .await
        .unwrap();
    let script = String::from_utf8(base64_decode(
        user_data.user_data().and_then(|v| v.value()).unwrap(),
    ))
    .unwrap();
    assert!(script.starts_with("#!/bin/bash\n"), "{script}");
    assert!(script.contains("\ndnf -y update\n"), "{script}");
    assert!(
        script.contains("\ndnf -y install mariadb105 jq\n"),
        "{script}"
    );
    assert!(
        script.contains(&format!(
            "curl -fsS --retry 5 -o {} {}",
            powerpole_core::BASTION_DB_CA,
            powerpole_aws::bastions::RDS_CA_BUNDLE_URL
        )),
        "the RDS CA bundle the connect command verifies against: {script}"
    );
    fleet.terminate(&bastion.id).await.unwrap();
}

/// Creates the instance profile `name` in moto's IAM (RunInstances checks that it exists).
async fn create_instance_profile(name: &str) {
    let endpoint = powerpole_testkit::aws_endpoint().unwrap();
    powerpole_testkit::moto::create_instance_profile(&endpoint, "us-east-1", name).await;
}

/// The status after the instance has had time to leave `pending`.
async fn settled_status(fleet: &Ec2Fleet, bastion: &BastionId) -> BastionStatus {
    let mut status = fleet.status(bastion).await.unwrap();
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        status = fleet.status(bastion).await.unwrap();
        assert_ne!(status, BastionStatus::Gone);
    }
    status
}

/// What the boot script's last line does on the instance.
async fn mark_booted(moto: &Moto, bastion: &BastionId) {
    moto.ec2
        .create_tags()
        .resources(&bastion.0)
        .tags(
            Tag::builder()
                .key("powerpole:booted")
                .value("2026-12-04T01:00:00Z")
                .build(),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn ready_needs_the_boot_script_finished_and_the_ssm_agent_online() {
    let Some(moto) = Moto::connect().await else {
        return;
    };
    create_instance_profile("powerpole-bastion").await;
    let with_role = moto.fleet_with(InstanceParams {
        instance_profile: Some(InstanceProfile::Name("powerpole-bastion".to_owned())),
        ..moto.params()
    });
    let bastion = with_role
        .launch(request_id(), expiry(), None)
        .await
        .unwrap();
    assert_eq!(
        settled_status(&with_role, &bastion.id).await,
        BastionStatus::Starting,
        "running, agent online, but the boot script has not finished"
    );
    mark_booted(&moto, &bastion.id).await;
    assert_eq!(
        with_role.status(&bastion.id).await.unwrap(),
        BastionStatus::Ready
    );

    let without_role = moto.fleet();
    let orphaned_agent = without_role
        .launch(request_id(), expiry(), None)
        .await
        .unwrap();
    mark_booted(&moto, &orphaned_agent.id).await;
    assert_eq!(
        settled_status(&without_role, &orphaned_agent.id).await,
        BastionStatus::Starting,
        "booted, but an instance without a role never registers with SSM"
    );
    without_role.terminate(&orphaned_agent.id).await.unwrap();
    with_role.terminate(&bastion.id).await.unwrap();
}

#[tokio::test]
async fn status_follows_the_instance_state() {
    let Some(moto) = Moto::connect().await else {
        return;
    };
    create_instance_profile("powerpole-bastion").await;
    let fleet = moto.fleet_with(InstanceParams {
        instance_profile: Some(InstanceProfile::Name("powerpole-bastion".to_owned())),
        ..moto.params()
    });
    let bastion = fleet.launch(request_id(), expiry(), None).await.unwrap();
    mark_booted(&moto, &bastion.id).await;

    let mut status = fleet.status(&bastion.id).await.unwrap();
    for _ in 0..50 {
        assert_ne!(status, BastionStatus::Gone);
        if status == BastionStatus::Ready {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        status = fleet.status(&bastion.id).await.unwrap();
    }
    assert_eq!(status, BastionStatus::Ready);

    moto.ec2
        .stop_instances()
        .instance_ids(&bastion.id.0)
        .send()
        .await
        .unwrap();
    assert_eq!(
        fleet.status(&bastion.id).await.unwrap(),
        BastionStatus::Gone
    );

    fleet.terminate(&bastion.id).await.unwrap();
    assert_eq!(
        fleet.status(&bastion.id).await.unwrap(),
        BastionStatus::Gone
    );
    let unknown = BastionId("i-0123456789abcdef0".to_owned());
    assert_eq!(fleet.status(&unknown).await.unwrap(), BastionStatus::Gone);
}

#[tokio::test]
async fn terminating_twice_or_an_unknown_instance_is_fine() {
    let Some(moto) = Moto::connect().await else {
        return;
    };
    let fleet = moto.fleet();
    let bastion = fleet.launch(request_id(), expiry(), None).await.unwrap();

    fleet.terminate(&bastion.id).await.unwrap();
    fleet.terminate(&bastion.id).await.unwrap();
    fleet
        .terminate(&BastionId("i-0123456789abcdef0".to_owned()))
        .await
        .unwrap();

    let state = moto
        .instance(&bastion.id)
        .await
        .state()
        .unwrap()
        .name()
        .cloned();
    assert!(
        matches!(
            state,
            Some(InstanceStateName::ShuttingDown | InstanceStateName::Terminated)
        ),
        "{state:?}"
    );
}

#[tokio::test]
async fn an_instance_the_broker_does_not_manage_is_never_terminated() {
    let Some(moto) = Moto::connect().await else {
        return;
    };
    let fleet = moto.fleet();
    let foreign = moto.launch_foreign(&[("team", "payments")]).await;

    let err = fleet.terminate(&foreign).await.unwrap_err();

    assert!(matches!(err, powerpole_core::Error::Conflict(_)), "{err:?}");
    let state = moto
        .instance(&foreign)
        .await
        .state()
        .unwrap()
        .name()
        .cloned();
    assert_eq!(state, Some(InstanceStateName::Running));
    moto.terminate_directly(&foreign).await;
}

#[tokio::test]
async fn list_finds_managed_bastions_and_no_foreign_instance() {
    let Some(moto) = Moto::connect().await else {
        return;
    };
    let fleet = moto.fleet();
    let id = request_id();
    let expires_at = expiry();
    let bastion = fleet.launch(id, expires_at, None).await.unwrap();
    let untagged = moto.launch_foreign(&[]).await;
    let unmanaged = moto
        .launch_foreign(&[
            ("powerpole:managed", "false"),
            ("powerpole:request-id", "x"),
        ])
        .await;
    let garbled = moto
        .launch_foreign(&[
            ("powerpole:managed", "true"),
            ("powerpole:request-id", "not-a-request-id"),
            ("powerpole:expires-at", "tomorrow"),
        ])
        .await;

    let listed = fleet.list().await.unwrap();

    let ours = listed.iter().find(|b| b.id == bastion.id).unwrap();
    assert_eq!(ours.request, Some(id));
    assert_eq!(ours.expires_at, Some(expires_at));
    assert_eq!(ours.launched_at, bastion.launched_at);
    let odd = listed.iter().find(|b| b.id == garbled).unwrap();
    assert_eq!((odd.request, odd.expires_at), (None, None));
    assert!(!listed.iter().any(|b| b.id == untagged || b.id == unmanaged));

    fleet.terminate(&bastion.id).await.unwrap();
    fleet.terminate(&garbled).await.unwrap();
    let after = fleet.list().await.unwrap();
    assert!(!after.iter().any(|b| b.id == bastion.id || b.id == garbled));
    moto.terminate_directly(&untagged).await;
    moto.terminate_directly(&unmanaged).await;
}

#[tokio::test]
async fn a_launch_template_is_used_with_the_fleets_tags_and_imdsv2() {
    let Some(moto) = Moto::connect().await else {
        return;
    };
    let name = powerpole_testkit::unique_name("powerpole-bastion");
    moto.ec2
        .create_launch_template()
        .launch_template_name(&name)
        .launch_template_data(
            RequestLaunchTemplateData::builder()
                .image_id(&moto.image_id)
                .instance_type(InstanceType::T3Micro)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let settings = Ec2FleetSettings::new(LaunchSpec::Template(LaunchTemplate {
        template: TemplateRef::Name(name),
        version: Some("$Latest".to_owned()),
    }))
    .unwrap();
    let fleet = Ec2Fleet::new(&moto.config, settings);
    let id = request_id();

    let bastion = fleet.launch(id, expiry(), None).await.unwrap();

    let instance = moto.instance(&bastion.id).await;
    assert_eq!(instance.image_id(), Some(moto.image_id.as_str()));
    assert_eq!(
        tag(&instance, "powerpole:request-id"),
        Some(id.to_string().as_str())
    );
    assert_eq!(tag(&instance, "powerpole:managed"), Some("true"));
    assert_eq!(
        instance.metadata_options().unwrap().http_tokens(),
        Some(&HttpTokensState::Required)
    );
    fleet.terminate(&bastion.id).await.unwrap();
}

#[tokio::test]
async fn the_instance_profile_is_passed_to_ec2() {
    let Some(moto) = Moto::connect().await else {
        return;
    };
    let params = InstanceParams {
        instance_profile: Some(InstanceProfile::Name(powerpole_testkit::unique_name(
            "no-such-profile",
        ))),
        ..moto.params()
    };
    let fleet = Ec2Fleet::new(
        &moto.config,
        Ec2FleetSettings::new(LaunchSpec::Instance(params)).unwrap(),
    );
    let id = request_id();

    let err = fleet.start(id, expiry(), None).await.unwrap_err();

    assert_eq!(err.code(), Some("NoSuchEntity"), "{err:?}");
    assert!(!err.is_retryable());
    assert!(moto.by_request_tag(id).await.is_empty());
}
