//! Port doubles and fixtures for the use-case tests: they record what the use case asked of
//! the outside world.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::account::{DbPassword, DbUsername, Email};
use crate::blast::{Survey, TableStats};
use crate::broker::{Broker, Ports, Unwired};
use crate::clock::ManualClock;
use crate::error::{Error, Result};
use crate::grants::GrantPlan;
use crate::ids::{ClusterId, Region, RequestId, SlackUserId};
use crate::lifecycle::{AccessRequest, RequestState};
use crate::policy::{ClusterPolicy, RequestForm};
use crate::ports::{AuditSource, SessionLog};
use crate::ports::{
    Backstop, Bastion, BastionFleet, BastionId, BastionStatus, DbAccounts, ManagedAccount, Removal,
    SecretLocation, SecretRef, SecretVault, StoredSecret,
};
use crate::ports::{
    Chat, Decision, Directory, MessageRef, Notice, RequestStore, Start, TaskToken, Workflow,
};
use crate::receipt::Receipt;
use crate::report::archive::PublishedReport;
use crate::sweep::SweepReport;
use crate::tripwire::Trip;

/// The ports a test lends the broker, with the clock at a given time.
pub type Lent<
    'a,
    S,
    C,
    V = Unwired,
    F = Unwired,
    A = Unwired,
    D = Unwired,
    W = Unwired,
    U = Unwired,
    L = Unwired,
> = Broker<Ports<&'a S, &'a C, ManualClock, V, F, A, D, W, U, L>>;

/// A broker over `store` and `chat`, serving `clusters`, at `at`.
pub fn base<'a, S: RequestStore, C: Chat>(
    store: &'a S,
    chat: &'a C,
    clusters: &[ClusterPolicy],
    at: OffsetDateTime,
) -> Lent<'a, S, C> {
    Broker::new(
        Ports::new(store, chat, ManualClock::new(at)),
        clusters.to_vec(),
    )
}

/// [`base`] with the vault, the fleet and the accounts.
pub fn access<'a, S, C, V, F, A>(
    store: &'a S,
    chat: &'a C,
    vault: &'a V,
    fleet: &'a F,
    accounts: &'a A,
    clusters: &[ClusterPolicy],
    at: OffsetDateTime,
) -> Lent<'a, S, C, &'a V, &'a F, &'a A>
where
    S: RequestStore,
    C: Chat,
    V: SecretVault,
    F: BastionFleet,
    A: DbAccounts,
{
    Broker::new(
        Ports::new(store, chat, ManualClock::new(at)).with_access(vault, fleet, accounts),
        clusters.to_vec(),
    )
}

/// [`base`] with the directory and the workflow.
pub fn intake<'a, S, C, D, W>(
    store: &'a S,
    chat: &'a C,
    directory: &'a D,
    workflow: &'a W,
    clusters: &[ClusterPolicy],
    at: OffsetDateTime,
) -> Lent<'a, S, C, Unwired, Unwired, Unwired, &'a D, &'a W>
where
    S: RequestStore,
    C: Chat,
    D: Directory,
    W: Workflow,
{
    Broker::new(
        Ports::new(store, chat, ManualClock::new(at)).with_intake(directory, workflow),
        clusters.to_vec(),
    )
}

/// [`base`] with the audit log and the session log.
pub fn evidence<'a, S, C, U, L>(
    store: &'a S,
    chat: &'a C,
    audit: &'a U,
    sessions: &'a L,
    clusters: &[ClusterPolicy],
    at: OffsetDateTime,
) -> Lent<'a, S, C, Unwired, Unwired, Unwired, Unwired, Unwired, &'a U, &'a L>
where
    S: RequestStore,
    C: Chat,
    U: AuditSource,
    L: SessionLog,
{
    Broker::new(
        Ports::new(store, chat, ManualClock::new(at)).with_evidence(audit, sessions),
        clusters.to_vec(),
    )
}

pub fn now() -> OffsetDateTime {
    datetime!(2026-11-23 10:00 UTC)
}

/// `U1` → `U00000001`: short names in tests, real-looking ids in the domain.
pub fn user(short: &str) -> SlackUserId {
    SlackUserId::parse(&format!("{}{:0>8}", &short[..1], &short[1..])).unwrap()
}

pub fn cluster() -> ClusterPolicy {
    ClusterPolicy::new(
        ClusterId::parse("orders-prod").unwrap(),
        Region::parse("ap-northeast-1").unwrap(),
    )
}

pub fn form() -> RequestForm {
    RequestForm {
        cluster: "orders-prod".into(),
        region: "ap-northeast-1".into(),
        permission: "READ".into(),
        duration_minutes: "60".into(),
        start: None,
        reason: "INC-1234 look at stuck orders".into(),
    }
}

/// A pending request of `requester`, stored.
pub async fn pending<S: RequestStore>(store: &S, requester: &str) -> AccessRequest {
    let spec = form().validate(&[cluster()], now()).unwrap();
    let email = Email::parse("someone@example.com").unwrap();
    let request = AccessRequest::submit(
        RequestId::generate(now(), &mut rand::rng()),
        user(requester),
        DbUsername::from_email(&email).unwrap(),
        spec,
        now(),
    )
    .with_requester_email(Some(email));
    store.insert(&request).await.unwrap();
    request
}

/// A pending request whose approval gate stored `token-1` and posted the card.
pub async fn pending_with_card<S: RequestStore>(
    store: &S,
    chat: &RecordingChat,
    requester: &str,
) -> AccessRequest {
    let request = pending(store, requester).await;
    base(store, chat, &[cluster()], now())
        .open_approval(request.id(), TaskToken("token-1".into()))
        .await
        .unwrap();
    chat.forget();
    store.get(request.id()).await.unwrap().unwrap()
}

#[derive(Debug, Default)]
pub struct RecordingWorkflow {
    started: Mutex<Vec<RequestId>>,
    resumed: Mutex<Vec<(TaskToken, Decision)>>,
    ended_early: Mutex<Vec<RequestId>>,
    stopped: Mutex<Vec<RequestId>>,
    /// Every `resume` fails as a throttled Step Functions does.
    pub resume_fails: AtomicBool,
}

impl RecordingWorkflow {
    pub fn started(&self) -> Vec<RequestId> {
        self.started.lock().unwrap().clone()
    }

    pub fn resumed(&self) -> Vec<(TaskToken, Decision)> {
        self.resumed.lock().unwrap().clone()
    }

    pub fn ended_early(&self) -> Vec<RequestId> {
        self.ended_early.lock().unwrap().clone()
    }

    /// The executions stopped, in order.
    pub fn stopped(&self) -> Vec<RequestId> {
        self.stopped.lock().unwrap().clone()
    }
}

impl Workflow for RecordingWorkflow {
    async fn start(&self, start: &Start) -> Result<()> {
        self.started.lock().unwrap().push(start.request);
        Ok(())
    }

    async fn resume(&self, token: &TaskToken, decision: Decision) -> Result<()> {
        if self.resume_fails.load(Ordering::SeqCst) {
            return Err(Error::Backend {
                system: "stepfunctions",
                retryable: true,
                source: "ThrottlingException".into(),
            });
        }
        self.resumed.lock().unwrap().push((token.clone(), decision));
        Ok(())
    }

    async fn stop(&self, id: RequestId, _cause: &str) -> Result<()> {
        self.stopped.lock().unwrap().push(id);
        Ok(())
    }

    async fn end_early(&self, id: RequestId) -> Result<()> {
        self.ended_early.lock().unwrap().push(id);
        Ok(())
    }
}

#[derive(Debug, Default)]
pub struct StaticDirectory {
    emails: HashMap<SlackUserId, String>,
    lookups: AtomicUsize,
}

impl StaticDirectory {
    pub fn with(user: &SlackUserId, email: &str) -> Self {
        Self {
            emails: HashMap::from([(user.clone(), email.to_owned())]),
            lookups: AtomicUsize::new(0),
        }
    }

    /// Adds `user` with `email`.
    pub fn add(&mut self, user: &SlackUserId, email: &str) {
        self.emails.insert(user.clone(), email.to_owned());
    }

    pub fn lookups(&self) -> usize {
        self.lookups.load(Ordering::SeqCst)
    }
}

impl Directory for StaticDirectory {
    async fn email_of(&self, user: &SlackUserId) -> Result<Email> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let email = self
            .emails
            .get(user)
            .ok_or_else(|| Error::NotFound(format!("user {user}")))?;
        Email::parse(email)
    }
}

#[derive(Debug, Default)]
pub struct RecordingChat {
    posted: Mutex<Vec<MessageRef>>,
    sweeps: Mutex<Vec<SweepReport>>,
    updated: Mutex<Vec<RequestState>>,
    notices: Mutex<Vec<(SlackUserId, Notice)>>,
    receipts: Mutex<Vec<(MessageRef, Receipt)>>,
    trips: Mutex<Vec<(MessageRef, RequestId, Trip)>>,
    reports: Mutex<Vec<PublishedReport>>,
    extension_cards: Mutex<Vec<(MessageRef, u32, String)>>,
    fail_updates: AtomicBool,
}

impl RecordingChat {
    pub fn cards_posted(&self) -> Vec<MessageRef> {
        self.posted.lock().unwrap().clone()
    }

    /// The states each card redraw showed.
    pub fn card_states(&self) -> Vec<RequestState> {
        self.updated.lock().unwrap().clone()
    }

    /// The sweep reports told to the approvers' channel.
    pub fn sweep_reports(&self) -> Vec<SweepReport> {
        self.sweeps.lock().unwrap().clone()
    }

    /// The archived reports told to the approvers' channel.
    pub fn published_reports(&self) -> Vec<PublishedReport> {
        self.reports.lock().unwrap().clone()
    }

    /// The tripwires told, with the card whose thread they went to.
    pub fn trips(&self) -> Vec<(MessageRef, RequestId, Trip)> {
        self.trips.lock().unwrap().clone()
    }

    pub fn fail_updates(&self) {
        self.fail_updates.store(true, Ordering::SeqCst);
    }

    pub fn forget(&self) {
        self.updated.lock().unwrap().clear();
        self.notices.lock().unwrap().clear();
    }
}

impl Chat for RecordingChat {
    async fn post_approval_card(&self, request: &AccessRequest) -> Result<MessageRef> {
        let card = MessageRef {
            channel: "CAPPROVERS".into(),
            ts: format!("{}.0001", request.id().created_at().unix_timestamp()),
        };
        self.posted.lock().unwrap().push(card.clone());
        Ok(card)
    }

    async fn update_approval_card(
        &self,
        _card: &MessageRef,
        request: &AccessRequest,
    ) -> Result<()> {
        if self.fail_updates.load(Ordering::SeqCst) {
            return Err(Error::Backend {
                system: "slack",
                retryable: true,
                source: "HTTP 503".into(),
            });
        }
        self.updated.lock().unwrap().push(request.state());
        Ok(())
    }

    async fn notify(&self, user: &SlackUserId, notice: &Notice) -> Result<()> {
        self.notices
            .lock()
            .unwrap()
            .push((user.clone(), notice.clone()));
        Ok(())
    }

    async fn report_sweep(&self, report: &SweepReport) -> Result<()> {
        self.sweeps.lock().unwrap().push(report.clone());
        Ok(())
    }

    async fn post_tripwire(
        &self,
        card: &MessageRef,
        request: &AccessRequest,
        trip: &Trip,
    ) -> Result<()> {
        self.trips
            .lock()
            .unwrap()
            .push((card.clone(), request.id(), trip.clone()));
        Ok(())
    }

    async fn post_report(&self, report: &PublishedReport) -> Result<()> {
        self.reports.lock().unwrap().push(report.clone());
        Ok(())
    }

    async fn post_extension_card(
        &self,
        card: &MessageRef,
        request: &AccessRequest,
    ) -> Result<MessageRef> {
        let latest = request.extensions().pop().expect("an extension to draw");
        self.extension_cards.lock().unwrap().push((
            card.clone(),
            latest.number,
            format!("{:?}", latest.outcome),
        ));
        Ok(MessageRef {
            channel: card.channel.clone(),
            ts: format!("{}.{}", card.ts, latest.number),
        })
    }

    async fn update_extension_card(
        &self,
        message: &MessageRef,
        request: &AccessRequest,
        number: u32,
    ) -> Result<()> {
        let drawn = request
            .extensions()
            .into_iter()
            .find(|e| e.number == number)
            .expect("the extension redrawn");
        self.extension_cards.lock().unwrap().push((
            message.clone(),
            number,
            format!("{:?}", drawn.outcome),
        ));
        Ok(())
    }

    async fn post_receipt(&self, card: &MessageRef, receipt: &Receipt) -> Result<MessageRef> {
        self.receipts
            .lock()
            .unwrap()
            .push((card.clone(), receipt.clone()));
        Ok(MessageRef {
            channel: card.channel.clone(),
            ts: format!("{}.9", card.ts),
        })
    }
}

impl RecordingChat {
    /// Each extension card drawn (posted, then redrawn): the card whose thread it is in (or
    /// the card itself when redrawn), the extension's number and what it showed.
    pub fn extension_cards(&self) -> Vec<(MessageRef, u32, String)> {
        self.extension_cards.lock().unwrap().clone()
    }

    /// The receipts posted, with the card each was posted under.
    pub fn receipts(&self) -> Vec<(MessageRef, Receipt)> {
        self.receipts.lock().unwrap().clone()
    }
}

/// Secrets in a map; `put` keeps the first one, as the real vaults do.
#[derive(Debug, Default)]
pub struct MemoryVault {
    secrets: Mutex<HashMap<RequestId, String>>,
    pub readers: Mutex<HashMap<RequestId, BastionId>>,
    pub stored_at: Mutex<HashMap<RequestId, OffsetDateTime>>,
    puts: AtomicUsize,
}

impl MemoryVault {
    pub fn holds(&self, id: RequestId) -> bool {
        self.secrets.lock().unwrap().contains_key(&id)
    }

    pub fn puts(&self) -> usize {
        self.puts.load(Ordering::SeqCst)
    }
}

impl SecretVault for MemoryVault {
    async fn put(
        &self,
        id: RequestId,
        _username: &DbUsername,
        password: &DbPassword,
        _expires_at: OffsetDateTime,
    ) -> Result<SecretRef> {
        self.puts.fetch_add(1, Ordering::SeqCst);
        self.secrets
            .lock()
            .unwrap()
            .entry(id)
            .or_insert_with(|| password.expose().to_owned());
        Ok(SecretRef(format!("memory://{id}")))
    }

    async fn get(&self, id: RequestId) -> Result<DbPassword> {
        let secret = self.secrets.lock().unwrap().get(&id).cloned();
        DbPassword::parse(secret.ok_or_else(|| Error::NotFound(format!("secret {id}")))?)
    }

    async fn delete(&self, id: RequestId) -> Result<()> {
        self.secrets.lock().unwrap().remove(&id);
        Ok(())
    }

    async fn allow_reader(&self, id: RequestId, bastion: &BastionId) -> Result<()> {
        self.readers.lock().unwrap().insert(id, bastion.clone());
        Ok(())
    }

    fn locate(&self, secret: &SecretRef) -> SecretLocation {
        SecretLocation::SecretsManager(secret.clone())
    }

    async fn list(&self) -> Result<Vec<StoredSecret>> {
        let stored_at = self.stored_at.lock().unwrap();
        Ok(self
            .secrets
            .lock()
            .unwrap()
            .keys()
            .map(|id| StoredSecret {
                request: *id,
                secret: SecretRef(format!("memory://{id}")),
                created_at: stored_at.get(id).copied().unwrap_or_else(now),
            })
            .collect())
    }
}

/// Bastions that become ready after `boot_polls` status checks.
#[derive(Debug, Default)]
pub struct MemoryFleet {
    pub launched: Mutex<Vec<(RequestId, BastionId)>>,
    pub owners: Mutex<Vec<Option<Email>>>,
    pub terminated: Mutex<Vec<BastionId>>,
    pub polls: AtomicUsize,
    pub boot_polls: usize,
}

impl MemoryFleet {
    pub fn launched(&self) -> usize {
        self.launched.lock().unwrap().len()
    }

    pub fn terminated(&self) -> Vec<BastionId> {
        self.terminated.lock().unwrap().clone()
    }
}

impl BastionFleet for MemoryFleet {
    async fn launch(
        &self,
        id: RequestId,
        _expires_at: OffsetDateTime,
        requester: Option<&Email>,
    ) -> Result<Bastion> {
        self.owners.lock().unwrap().push(requester.cloned());
        let mut launched = self.launched.lock().unwrap();
        let bastion = BastionId(format!("i-{:017x}", launched.len() + 1));
        launched.push((id, bastion.clone()));
        Ok(Bastion {
            id: bastion,
            request: Some(id),
            expires_at: None,
            launched_at: now(),
        })
    }

    async fn status(&self, _bastion: &BastionId) -> Result<BastionStatus> {
        let polls = self.polls.fetch_add(1, Ordering::SeqCst);
        Ok(if polls < self.boot_polls {
            BastionStatus::Starting
        } else {
            BastionStatus::Ready
        })
    }

    async fn terminate(&self, bastion: &BastionId) -> Result<()> {
        self.terminated.lock().unwrap().push(bastion.clone());
        Ok(())
    }

    async fn list(&self) -> Result<Vec<Bastion>> {
        let terminated = self.terminated();
        Ok(self
            .launched
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, b)| !terminated.contains(b))
            .map(|(id, b)| Bastion {
                id: b.clone(),
                request: Some(*id),
                expires_at: None,
                launched_at: now(),
            })
            .collect())
    }
}

/// Accounts in a map; `down` makes every call fail as an unreachable server does.
#[derive(Debug, Default)]
pub struct MemoryAccounts {
    accounts: Mutex<HashMap<DbUsername, (RequestId, String)>>,
    pub down: AtomicBool,
    /// The deadlines `create` (and `rearm`) were given, in order.
    pub lock_within: Mutex<Vec<Duration>>,
    /// What `create` reports: armed unless the test turns the scheduler off.
    pub scheduler_off: AtomicBool,
    /// The tables `survey` finds, all in schema `shop`.
    pub tables: Mutex<Vec<TableStats>>,
}

impl MemoryAccounts {
    pub fn password_of(&self, user: &DbUsername) -> Option<String> {
        self.accounts
            .lock()
            .unwrap()
            .get(user)
            .map(|(_, p)| p.clone())
    }

    fn check_up(&self) -> Result<()> {
        if self.down.load(Ordering::SeqCst) {
            return Err(Error::Backend {
                system: "mysql",
                retryable: true,
                source: "connection refused".into(),
            });
        }
        Ok(())
    }
}

impl DbAccounts for MemoryAccounts {
    async fn create(
        &self,
        _cluster: &ClusterId,
        request: RequestId,
        username: &DbUsername,
        password: &DbPassword,
        _plan: &GrantPlan,
        lock_within: Duration,
    ) -> Result<Backstop> {
        self.check_up()?;
        self.accounts
            .lock()
            .unwrap()
            .insert(username.clone(), (request, password.expose().to_owned()));
        self.lock_within.lock().unwrap().push(lock_within);
        Ok(if self.scheduler_off.load(Ordering::SeqCst) {
            Backstop::SchedulerOff
        } else {
            Backstop::Armed
        })
    }

    async fn rearm(
        &self,
        _cluster: &ClusterId,
        request: RequestId,
        username: &DbUsername,
        lock_within: Duration,
    ) -> Result<Backstop> {
        self.check_up()?;
        match self.accounts.lock().unwrap().get(username) {
            Some((owner, _)) if *owner == request => {}
            _ => {
                return Err(Error::Conflict(format!(
                    "no account {username} of {request}"
                )));
            }
        }
        self.lock_within.lock().unwrap().push(lock_within);
        Ok(Backstop::Armed)
    }

    async fn remove(&self, _cluster: &ClusterId, username: &DbUsername) -> Result<Removal> {
        self.check_up()?;
        Ok(match self.accounts.lock().unwrap().remove(username) {
            Some(_) => Removal::Dropped { sessions_killed: 1 },
            None => Removal::AlreadyGone,
        })
    }

    async fn list(&self, _cluster: &ClusterId) -> Result<Vec<ManagedAccount>> {
        self.check_up()?;
        Ok(self
            .accounts
            .lock()
            .unwrap()
            .iter()
            .map(|(username, (request, _))| ManagedAccount {
                username: username.clone(),
                request: *request,
                created_at: now(),
                exists: true,
                locked: false,
                backstop: if self.scheduler_off.load(Ordering::SeqCst) {
                    Backstop::SchedulerOff
                } else {
                    Backstop::Armed
                },
            })
            .collect())
    }

    async fn survey(
        &self,
        _cluster: &ClusterId,
        username: &DbUsername,
        plan: &GrantPlan,
    ) -> Result<Survey> {
        self.check_up()?;
        let privileges: Vec<&str> = plan.privileges().iter().map(|p| p.name()).collect();
        Ok(Survey {
            grants: vec![format!(
                "GRANT {} ON `shop`.* TO '{username}'@'%'",
                privileges.join(", ")
            )],
            schemas: vec![crate::SchemaName::parse("shop").unwrap()],
            tables: self.tables.lock().unwrap().clone(),
        })
    }
}

impl RecordingChat {
    pub fn notices(&self) -> Vec<Notice> {
        self.notices
            .lock()
            .unwrap()
            .iter()
            .map(|(_, n)| n.clone())
            .collect()
    }
}

/// An active request (approved, provisioned with a bastion, activated) whose card is posted.
pub async fn active<S: RequestStore>(store: &S, chat: &RecordingChat) -> AccessRequest {
    let request = approved(store, chat).await;
    let (vault, fleet, accounts) = (
        MemoryVault::default(),
        MemoryFleet::default(),
        MemoryAccounts::default(),
    );
    let broker = access(store, chat, &vault, &fleet, &accounts, &[cluster()], now());
    broker.provision(request.id()).await.unwrap();
    broker.activate(request.id()).await.unwrap();
    chat.forget();
    let active = store.get(request.id()).await.unwrap().unwrap();
    assert_eq!(active.state(), RequestState::Active);
    active
}

/// An approved request whose card is posted, approved by `U2` at [`now`].
pub async fn approved<S: RequestStore>(store: &S, chat: &RecordingChat) -> AccessRequest {
    let request = pending_with_card(store, chat, "U1").await;
    let workflow = RecordingWorkflow::default();
    intake(
        store,
        chat,
        &StaticDirectory::default(),
        &workflow,
        &[cluster()],
        now(),
    )
    .decide(request.id(), &user("U2"), Decision::Approve)
    .await
    .unwrap();
    chat.forget();
    store.get(request.id()).await.unwrap().unwrap()
}

/// The ports of a request whose access is live, all recording.
#[derive(Default)]
pub struct Live {
    pub store: crate::memory::MemoryStore,
    pub chat: RecordingChat,
    pub vault: MemoryVault,
    pub fleet: MemoryFleet,
    pub accounts: MemoryAccounts,
}

impl Live {
    /// `U1`'s request (10:00–11:00), approved by `U2` and provisioned at [`now`] on these ports
    /// (its bastion not yet checked).
    pub async fn provisioning(&self) -> AccessRequest {
        let request = approved(&self.store, &self.chat).await;
        access(
            &self.store,
            &RecordingChat::default(),
            &self.vault,
            &self.fleet,
            &self.accounts,
            &[cluster()],
            now(),
        )
        .provision(request.id())
        .await
        .unwrap()
    }

    /// A broker on these ports, serving [`cluster`], whose clock shows `at`.
    pub fn broker(
        &self,
        at: OffsetDateTime,
    ) -> Lent<
        '_,
        crate::memory::MemoryStore,
        RecordingChat,
        &MemoryVault,
        &MemoryFleet,
        &MemoryAccounts,
    > {
        access(
            &self.store,
            &self.chat,
            &self.vault,
            &self.fleet,
            &self.accounts,
            &[cluster()],
            at,
        )
    }

    /// Runs the teardown of request `id` at [`now`] on these ports.
    pub async fn tear(
        &self,
        id: RequestId,
        why: crate::usecases::Teardown,
    ) -> Result<AccessRequest> {
        self.broker(now()).teardown(id, why).await
    }

    /// [`Live::provisioning`], then activated at [`now`]; what its steps told Slack is
    /// forgotten.
    pub async fn active(&self) -> AccessRequest {
        let request = self.provisioning().await;
        access(
            &self.store,
            &self.chat,
            &MemoryVault::default(),
            &self.fleet,
            &MemoryAccounts::default(),
            &[cluster()],
            now(),
        )
        .activate(request.id())
        .await
        .unwrap();
        self.chat.forget();
        self.store.get(request.id()).await.unwrap().unwrap()
    }
}

/// [`Live::active`] on fresh ports.
pub async fn live() -> (Live, AccessRequest) {
    let w = Live::default();
    let request = w.active().await;
    (w, request)
}
