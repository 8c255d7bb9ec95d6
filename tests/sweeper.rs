//! The sweeper against the real things: requests in DynamoDB, secrets in Secrets Manager and
//! bastions in EC2 (moto), DB users on MariaDB, its report in a fake Slack. Each kind of
//! leftover is made — a DB user no request owns, a finished request whose user, secret and
//! bastion remain, a secret and a bastion of an unknown request, a request stuck in
//! provisioning, access past its end — next to a normal active request and things the broker
//! did not make; one sweep removes exactly the leftovers, a second finds nothing.
//!
//! Other test binaries share the servers, so assertions look only at what this test made.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use std::collections::BTreeSet;

use aws_sdk_ec2::types::Filter;
use powerpole_aws::bastions::{Ec2Fleet, Ec2FleetSettings, InstanceParams, LaunchSpec};
use powerpole_aws::{DynamoDbStore, SecretsManagerSettings, SecretsManagerVault};
use powerpole_core::ports::{BastionFleet, BastionStatus, DbAccounts, RequestStore, SecretVault};
use powerpole_core::sweep::{SweepAction, SweepReport};
use powerpole_core::usecases::SweepPolicy;
use powerpole_core::{
    AccessRequest, AccessSpec, AccessWindow, Actor, Broker, ClusterId, ClusterPolicy, Component,
    DbPassword, DbUsername, GrantPlan, ManualClock, Permission, Ports, Reason, Region, RequestId,
    RequestState, SlackUserId, Transition, WindowPolicy,
};
use powerpole_mysql::{AccountSettings, MySqlAccounts};
use powerpole_slack::{RetryPolicy, SlackChat, SlackWebApi};
use powerpole_testkit::fake_slack::FakeSlack;
use powerpole_testkit::mysql::user_exists;
use sqlx::mysql::MySqlConnectOptions;
use sqlx::{ConnectOptions, Executor};
use time::{Duration, OffsetDateTime};

const APPROVERS: &str = "C0SWEEPERS";
const CLUSTER: &str = "sweep-orders";
const WORKFLOW: Actor = Actor::System(Component::Workflow);

struct World {
    tag: String,
    store: DynamoDbStore,
    vault: SecretsManagerVault,
    fleet: Ec2Fleet,
    accounts: MySqlAccounts,
    chat: SlackChat,
    slack: FakeSlack,
    clusters: Vec<ClusterPolicy>,
    admin: MySqlConnectOptions,
    secrets: aws_sdk_secretsmanager::Client,
}

impl World {
    async fn new() -> Option<Self> {
        let endpoint = powerpole_testkit::aws_endpoint()?;
        let url = powerpole_testkit::mysql_admin_url()?;
        let admin: MySqlConnectOptions = url.parse().unwrap();
        let config = powerpole_aws::config::load(Some(&endpoint)).await;
        let tag = format!("{:x}", std::process::id());
        let table = powerpole_testkit::unique_name("powerpole-sweep");
        let store = DynamoDbStore::new(aws_sdk_dynamodb::Client::new(&config), &table);
        store.create_table().await.unwrap();
        let secrets = aws_sdk_secretsmanager::Client::new(&config);
        let prefix = format!("{}/", powerpole_testkit::unique_name("powerpole-sweep"));
        let vault = SecretsManagerVault::new(
            secrets.clone(),
            SecretsManagerSettings::new(&prefix).unwrap(),
        );
        let ec2 = aws_sdk_ec2::Client::new(&config);
        let fleet = Ec2Fleet::new(
            &config,
            Ec2FleetSettings::new(LaunchSpec::Instance(instance_params(&ec2).await)).unwrap(),
        );
        let cluster = ClusterPolicy::new(
            ClusterId::parse(CLUSTER).unwrap(),
            Region::parse("ap-northeast-1").unwrap(),
        )
        .with_endpoint("127.0.0.1");
        let accounts = MySqlAccounts::new().with_cluster(
            cluster.cluster.clone(),
            admin.clone(),
            AccountSettings::new(),
        );
        let slack = FakeSlack::start().await.unwrap();
        let web = SlackWebApi::new(
            "xoxb-sweep".to_owned().into(),
            &slack.api_url(),
            RetryPolicy::default(),
        )
        .unwrap();
        Some(Self {
            tag,
            store,
            vault,
            fleet,
            accounts,
            chat: SlackChat::new(web, APPROVERS),
            slack,
            clusters: vec![cluster],
            admin,
            secrets,
        })
    }

    fn username(&self, what: &str) -> DbUsername {
        DbUsername::parse(&format!("sw-{}-{what}", self.tag)).unwrap()
    }

    /// A broker over the world's ports, its clock at `at`.
    fn broker(
        &self,
        at: OffsetDateTime,
    ) -> Broker<
        Ports<
            &DynamoDbStore,
            &SlackChat,
            ManualClock,
            &SecretsManagerVault,
            &Ec2Fleet,
            &MySqlAccounts,
        >,
    > {
        let ports = Ports::new(&self.store, &self.chat, ManualClock::new(at)).with_access(
            &self.vault,
            &self.fleet,
            &self.accounts,
        );
        Broker::new(ports, self.clusters.clone())
    }

    async fn sweep_at(&self, now: OffsetDateTime) -> SweepReport {
        self.broker(now)
            .sweep(&SweepPolicy::default())
            .await
            .unwrap()
    }

    /// An approved request of user `what` for the hour from `start`, stored.
    async fn approved(&self, what: &str, start: OffsetDateTime) -> AccessRequest {
        let window =
            AccessWindow::request(start, Duration::hours(1), start, &WindowPolicy::default())
                .unwrap();
        let spec = AccessSpec {
            cluster: ClusterId::parse(CLUSTER).unwrap(),
            region: Region::parse("ap-northeast-1").unwrap(),
            permission: Permission::Read,
            window,
            reason: Reason::parse("INC-77 sweeper test").unwrap(),
        };
        let mut request = AccessRequest::submit(
            RequestId::generate(start, &mut rand::rng()),
            SlackUserId::parse("U0SWEEPREQ").unwrap(),
            self.username(what),
            spec,
            start,
        );
        request
            .apply(
                Transition::Approve,
                Actor::User(SlackUserId::parse("U0SWEEPAPP").unwrap()),
                start,
                "",
            )
            .unwrap();
        self.store.insert(&request).await.unwrap();
        request
    }

    /// Creates the request's secret, DB user and bastion, as the workflow's provision step.
    async fn provisioned(&self, request: &AccessRequest, at: OffsetDateTime) -> AccessRequest {
        self.broker(at).provision(request.id()).await.unwrap();
        self.get(request.id()).await
    }

    async fn step(&self, request: &AccessRequest, steps: &[Transition], at: OffsetDateTime) {
        let mut request = self.get(request.id()).await;
        let expected = request.version();
        for step in steps {
            request.apply(*step, WORKFLOW, at, "").unwrap();
        }
        self.store.update(&request, expected).await.unwrap();
    }

    async fn get(&self, id: RequestId) -> AccessRequest {
        self.store.get(id).await.unwrap().unwrap()
    }

    async fn user_exists(&self, username: &DbUsername) -> bool {
        user_exists(&self.admin, username.as_str()).await.unwrap()
    }

    async fn secret_exists(&self, id: RequestId) -> bool {
        match self.vault.get(id).await {
            Ok(_) => true,
            Err(powerpole_core::Error::NotFound(_)) => false,
            Err(e) => panic!("reading the secret of {id}: {e}"),
        }
    }

    async fn bastion_gone(&self, request: &AccessRequest) -> bool {
        let bastion = request.resources().bastion.clone().unwrap();
        self.fleet.status(&bastion).await.unwrap() == BastionStatus::Gone
    }
}

async fn instance_params(ec2: &aws_sdk_ec2::Client) -> InstanceParams {
    let image_id = ec2
        .describe_images()
        .owners("amazon")
        .send()
        .await
        .unwrap()
        .images()
        .first()
        .and_then(|i| i.image_id())
        .expect("moto has Amazon images")
        .to_owned();
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
    InstanceParams {
        image_id,
        instance_type: "t3.micro".to_owned(),
        subnet_id,
        security_group_ids: Vec::new(),
        instance_profile: None,
        root_device_name: InstanceParams::AL2023_ROOT_DEVICE.to_owned(),
        root_volume_gib: 10,
    }
}

/// The actions of `report` about this test's requests and resources.
fn ours(report: &SweepReport, ids: &BTreeSet<RequestId>, tag: &str) -> Vec<String> {
    let mut mine: Vec<String> = report
        .actions
        .iter()
        .filter_map(|action| match action {
            SweepAction::Settled { request, .. } if ids.contains(request) => {
                Some(format!("settled {request}"))
            }
            SweepAction::Removed {
                kind,
                resource,
                request,
                orphan,
                ..
            } if request.is_some_and(|r| ids.contains(&r)) || resource.contains(tag) => {
                let owner = request.map(|r| r.to_string()).unwrap_or_default();
                Some(format!("removed {} {owner} orphan={orphan}", kind.as_str()))
            }
            _ => None,
        })
        .collect();
    mine.sort();
    mine
}

#[tokio::test]
async fn the_sweeper_removes_exactly_the_leftovers_and_keeps_an_active_request() {
    let Some(w) = World::new().await else {
        return;
    };
    let t = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let earlier = t - Duration::hours(2);

    // A normal request, active now.
    let active = w.approved("active", t).await;
    w.provisioned(&active, t).await;
    w.step(&active, &[Transition::Activate], t).await;
    // A request whose provisioning never finished.
    let stuck = w.approved("stuck", t).await;
    let stuck = w.provisioned(&stuck, t).await;
    // Access whose window ended an hour ago, never torn down.
    let overdue = w.approved("overdue", earlier).await;
    let overdue = w.provisioned(&overdue, earlier).await;
    w.step(&overdue, &[Transition::Activate], earlier).await;
    // A request the workflow finished without removing anything.
    let finished = w.approved("finished", earlier).await;
    let finished = w.provisioned(&finished, earlier).await;
    let done = [
        Transition::Activate,
        Transition::StartTeardown,
        Transition::Finish,
    ];
    w.step(&finished, &done, earlier).await;
    // A DB user, a secret and a bastion that name requests the store never held.
    let unknown = RequestId::generate(t, &mut rand::rng());
    let orphan_user = w.username("orphan");
    w.accounts
        .create(
            &w.clusters[0].cluster,
            unknown,
            &orphan_user,
            &DbPassword::generate(),
            &GrantPlan::new(Permission::Read, []).unwrap(),
            time::Duration::hours(1),
        )
        .await
        .unwrap();
    let unknown_too = RequestId::generate(t, &mut rand::rng());
    w.vault
        .put(unknown_too, &orphan_user, &DbPassword::generate(), earlier)
        .await
        .unwrap();
    let stray_bastion = w.fleet.launch(unknown_too, earlier, None).await.unwrap();
    // What the broker did not make: a DB user and a secret outside its prefix.
    let foreign_user = format!("app-{}", w.tag);
    let mut admin = w.admin.connect().await.unwrap();
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "CREATE USER IF NOT EXISTS '{foreign_user}'@'%' IDENTIFIED BY 'not-the-brokers'"
        )))
        .await
        .unwrap();
    let foreign_secret = powerpole_testkit::unique_name("someone-else");
    w.secrets
        .create_secret()
        .name(&foreign_secret)
        .secret_string("{}")
        .send()
        .await
        .unwrap();

    let report = w.sweep_at(t + Duration::minutes(31)).await;

    let ids: BTreeSet<RequestId> = [
        active.id(),
        stuck.id(),
        overdue.id(),
        finished.id(),
        unknown,
        unknown_too,
    ]
    .into();
    let f = finished.id();
    let mut expected = vec![
        format!("settled {}", stuck.id()),
        format!("settled {}", overdue.id()),
        format!("removed account {f} orphan=false"),
        format!("removed secret {f} orphan=false"),
        format!("removed bastion {f} orphan=false"),
        format!("removed account {unknown} orphan=true"),
        format!("removed secret {unknown_too} orphan=true"),
        format!("removed bastion {unknown_too} orphan=true"),
    ];
    expected.sort();
    assert_eq!(ours(&report, &ids, &w.tag), expected);
    let mentions_ours = |p: &String| {
        p.starts_with("listing")
            || p.contains(&w.tag)
            || ids.iter().any(|id| p.contains(&id.to_string()))
    };
    assert!(
        !report.problems.iter().any(mentions_ours),
        "{:?}",
        report.problems
    );

    // The active request keeps everything.
    assert_eq!(w.get(active.id()).await.state(), RequestState::Active);
    assert!(w.user_exists(active.db_username()).await);
    assert!(w.secret_exists(active.id()).await);
    assert!(!w.bastion_gone(&w.get(active.id()).await).await);
    // The stuck request failed, and what it made is gone.
    let stuck = w.get(stuck.id()).await;
    assert_eq!(stuck.state(), RequestState::Failed);
    assert!(!stuck.cleanup_owed());
    assert!(!w.user_exists(stuck.db_username()).await);
    assert!(!w.secret_exists(stuck.id()).await);
    assert!(w.bastion_gone(&stuck).await);
    // The overdue access ended.
    let overdue = w.get(overdue.id()).await;
    assert_eq!(overdue.state(), RequestState::Ended);
    assert!(!w.user_exists(overdue.db_username()).await);
    assert!(!w.secret_exists(overdue.id()).await);
    assert!(w.bastion_gone(&overdue).await);
    // The finished request's leftovers are gone, each noted on it.
    let finished = w.get(finished.id()).await;
    assert!(!w.user_exists(finished.db_username()).await);
    assert!(!w.secret_exists(finished.id()).await);
    assert!(w.bastion_gone(&finished).await);
    let notes = finished
        .events()
        .iter()
        .filter(|e| e.actor == Actor::System(Component::Sweeper))
        .count();
    assert_eq!(notes, 3, "{:?}", finished.events());
    // The orphans are gone and recorded.
    assert!(!w.user_exists(&orphan_user).await);
    assert!(!w.secret_exists(unknown_too).await);
    assert_eq!(
        w.fleet.status(&stray_bastion.id).await.unwrap(),
        BastionStatus::Gone
    );
    let recorded: BTreeSet<Option<RequestId>> = w
        .store
        .orphans(100)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.request)
        .collect();
    assert_eq!(recorded, [Some(unknown), Some(unknown_too)].into());
    // Nothing the broker did not make was touched.
    assert!(user_exists(&w.admin, &foreign_user).await.unwrap());
    w.secrets
        .describe_secret()
        .secret_id(&foreign_secret)
        .send()
        .await
        .expect("a secret outside the prefix is left alone");
    // The requesters of the stuck and the overdue request were told; the approvers were told
    // once, with the orphans named.
    let told = w
        .slack
        .calls_to("chat.postMessage")
        .iter()
        .filter(|c| c.str("channel") == Some("U0SWEEPREQ"))
        .count();
    assert_eq!(
        told, 2,
        "the stuck request's failure and the overdue request's end"
    );
    let posts: Vec<_> = w
        .slack
        .calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.str("channel") == Some(APPROVERS))
        .collect();
    assert_eq!(posts.len(), 1);
    let text = posts[0].str("text").unwrap();
    assert!(text.contains(orphan_user.as_str()), "{text}");
    assert!(text.contains(&stray_bastion.id.0), "{text}");

    // Two more sweeps at once find nothing of ours to do.
    let (again, concurrent) = tokio::join!(
        w.sweep_at(t + Duration::minutes(36)),
        w.sweep_at(t + Duration::minutes(36))
    );
    assert_eq!(ours(&again, &ids, &w.tag), Vec::<String>::new());
    assert_eq!(ours(&concurrent, &ids, &w.tag), Vec::<String>::new());
    assert!(w.user_exists(active.db_username()).await);

    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP USER IF EXISTS '{foreign_user}'@'%'"
        )))
        .await
        .unwrap();
    let _ = w
        .accounts
        .remove(&w.clusters[0].cluster, active.db_username())
        .await;
}
