//! The broker: one service holding the ports, the clock, the configured clusters and the SLO
//! observer, with the use cases ([`crate::usecases`]) as its methods.
//!
//! Not every driver reaches every outside system: the `notify` Lambda has the store, Slack and
//! the clock; `provision` adds the vault, the bastions and the DB accounts. [`Ports`] holds what
//! a driver wired, [`Unwired`] marks a port it did not, and the four capability traits say what
//! each group of use cases needs:
//!
//! | trait | ports | use cases |
//! |---|---|---|
//! | [`BrokerPorts`] | store, chat, clock | warn, expire, denied, failed |
//! | [`AccountPorts`] | + accounts | approval gate (with the blast radius) |
//! | [`AccessPorts`] | + vault, fleet (and accounts) | schedule, provision, activate, teardown, sweep |
//! | [`IntakePorts`] | + directory, workflow | submit, decide, end now |
//! | [`EvidencePorts`] | + audit log, session log | receipts, the period report (and its publication, to the archive the driver lends) |
//!
//! A use case that needs a port the driver did not wire does not compile: there is no stand-in.

use std::fmt;
use std::sync::Arc;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::identity::IdentityRules;
use crate::ids::RequestId;
use crate::lifecycle::AccessRequest;
use crate::policy::ClusterPolicy;
use crate::ports;
use crate::slo::{self, Observation};

/// A port the driver did not wire. It implements no port trait, so the use cases that need it
/// are not available on that broker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unwired;

/// The outside systems one driver wired, built with [`Ports::new`] and the `with_*` methods.
#[derive(Debug, Clone)]
pub struct Ports<
    Store,
    Chat,
    Clock,
    Vault = Unwired,
    Fleet = Unwired,
    Accounts = Unwired,
    Directory = Unwired,
    Workflow = Unwired,
    Audit = Unwired,
    Sessions = Unwired,
> {
    /// Requests and their events.
    pub store: Store,
    /// Slack: the approval card, messages to the requester.
    pub chat: Chat,
    /// The time every step is dated with.
    pub clock: Clock,
    /// Where passwords live.
    pub vault: Vault,
    /// Bastions.
    pub fleet: Fleet,
    /// DB accounts on the clusters.
    pub accounts: Accounts,
    /// Slack user → e-mail.
    pub directory: Directory,
    /// The workflow that runs each request.
    pub workflow: Workflow,
    /// The clusters' audit logs.
    pub audit: Audit,
    /// The bastions' session log.
    pub sessions: Sessions,
}

impl<Store, Chat, Clock> Ports<Store, Chat, Clock> {
    /// The ports every driver has: the store, Slack and the clock.
    #[must_use]
    pub const fn new(store: Store, chat: Chat, clock: Clock) -> Self {
        Self {
            store,
            chat,
            clock,
            vault: Unwired,
            fleet: Unwired,
            accounts: Unwired,
            directory: Unwired,
            workflow: Unwired,
            audit: Unwired,
            sessions: Unwired,
        }
    }
}

impl<Store, Chat, Clock, Vault, Fleet, Accounts, Directory, Workflow, Audit, Sessions>
    Ports<Store, Chat, Clock, Vault, Fleet, Accounts, Directory, Workflow, Audit, Sessions>
{
    /// Adds what giving and removing access needs: the vault, the bastions, the DB accounts.
    #[must_use]
    pub fn with_access<V, F, A>(
        self,
        vault: V,
        fleet: F,
        accounts: A,
    ) -> Ports<Store, Chat, Clock, V, F, A, Directory, Workflow, Audit, Sessions> {
        Ports {
            store: self.store,
            chat: self.chat,
            clock: self.clock,
            vault,
            fleet,
            accounts,
            directory: self.directory,
            workflow: self.workflow,
            audit: self.audit,
            sessions: self.sessions,
        }
    }

    /// Adds the DB accounts alone: what the approval gate reads the blast radius with.
    #[must_use]
    pub fn with_accounts<A>(
        self,
        accounts: A,
    ) -> Ports<Store, Chat, Clock, Vault, Fleet, A, Directory, Workflow, Audit, Sessions> {
        Ports {
            store: self.store,
            chat: self.chat,
            clock: self.clock,
            vault: self.vault,
            fleet: self.fleet,
            accounts,
            directory: self.directory,
            workflow: self.workflow,
            audit: self.audit,
            sessions: self.sessions,
        }
    }

    /// Adds what taking requests and decisions needs: the directory and the workflow.
    #[must_use]
    pub fn with_intake<D, W>(
        self,
        directory: D,
        workflow: W,
    ) -> Ports<Store, Chat, Clock, Vault, Fleet, Accounts, D, W, Audit, Sessions> {
        Ports {
            store: self.store,
            chat: self.chat,
            clock: self.clock,
            vault: self.vault,
            fleet: self.fleet,
            accounts: self.accounts,
            directory,
            workflow,
            audit: self.audit,
            sessions: self.sessions,
        }
    }

    /// Adds what receipts read: the audit log and the session log.
    #[must_use]
    pub fn with_evidence<U, L>(
        self,
        audit: U,
        sessions: L,
    ) -> Ports<Store, Chat, Clock, Vault, Fleet, Accounts, Directory, Workflow, U, L> {
        Ports {
            store: self.store,
            chat: self.chat,
            clock: self.clock,
            vault: self.vault,
            fleet: self.fleet,
            accounts: self.accounts,
            directory: self.directory,
            workflow: self.workflow,
            audit,
            sessions,
        }
    }
}

/// The ports every use case has: the store, Slack and the clock.
pub trait BrokerPorts: Send + Sync {
    /// The request store.
    type Store: ports::RequestStore;
    /// Slack.
    type Chat: ports::Chat;
    /// The clock.
    type Clock: Clock;
    /// The request store.
    fn store(&self) -> &Self::Store;
    /// Slack.
    fn chat(&self) -> &Self::Chat;
    /// The clock.
    fn clock(&self) -> &Self::Clock;
}

/// What reading and changing the clusters' accounts needs besides [`BrokerPorts`].
pub trait AccountPorts: BrokerPorts {
    /// DB accounts.
    type Accounts: ports::DbAccounts;
    /// DB accounts.
    fn accounts(&self) -> &Self::Accounts;
}

/// What giving and removing access needs besides [`AccountPorts`].
pub trait AccessPorts: AccountPorts {
    /// Where passwords live.
    type Vault: ports::SecretVault;
    /// Bastions.
    type Fleet: ports::BastionFleet;
    /// Where passwords live.
    fn vault(&self) -> &Self::Vault;
    /// Bastions.
    fn fleet(&self) -> &Self::Fleet;
}

/// What taking requests and decisions needs besides [`BrokerPorts`].
pub trait IntakePorts: BrokerPorts {
    /// Slack user → e-mail.
    type Directory: ports::Directory;
    /// The workflow.
    type Workflow: ports::Workflow;
    /// Slack user → e-mail.
    fn directory(&self) -> &Self::Directory;
    /// The workflow.
    fn workflow(&self) -> &Self::Workflow;
}

/// What receipts read besides [`BrokerPorts`].
pub trait EvidencePorts: BrokerPorts {
    /// The clusters' audit logs.
    type Audit: ports::AuditSource;
    /// The bastions' session log.
    type Sessions: ports::SessionLog;
    /// The clusters' audit logs.
    fn audit(&self) -> &Self::Audit;
    /// The bastions' session log.
    fn sessions(&self) -> &Self::Sessions;
}

impl<Store, Chat, Clk, Vault, Fleet, Accounts, Directory, Workflow, Audit, Sessions> BrokerPorts
    for Ports<Store, Chat, Clk, Vault, Fleet, Accounts, Directory, Workflow, Audit, Sessions>
where
    Store: ports::RequestStore,
    Chat: ports::Chat,
    Clk: Clock,
    Vault: Send + Sync,
    Fleet: Send + Sync,
    Accounts: Send + Sync,
    Directory: Send + Sync,
    Workflow: Send + Sync,
    Audit: Send + Sync,
    Sessions: Send + Sync,
{
    type Store = Store;
    type Chat = Chat;
    type Clock = Clk;

    fn store(&self) -> &Store {
        &self.store
    }

    fn chat(&self) -> &Chat {
        &self.chat
    }

    fn clock(&self) -> &Clk {
        &self.clock
    }
}

impl<Store, Chat, Clk, Vault, Fleet, Accounts, Directory, Workflow, Audit, Sessions> AccountPorts
    for Ports<Store, Chat, Clk, Vault, Fleet, Accounts, Directory, Workflow, Audit, Sessions>
where
    Self: BrokerPorts,
    Accounts: ports::DbAccounts,
{
    type Accounts = Accounts;

    fn accounts(&self) -> &Accounts {
        &self.accounts
    }
}

impl<Store, Chat, Clk, Vault, Fleet, Accounts, Directory, Workflow, Audit, Sessions> AccessPorts
    for Ports<Store, Chat, Clk, Vault, Fleet, Accounts, Directory, Workflow, Audit, Sessions>
where
    Self: AccountPorts,
    Vault: ports::SecretVault,
    Fleet: ports::BastionFleet,
{
    type Vault = Vault;
    type Fleet = Fleet;

    fn vault(&self) -> &Vault {
        &self.vault
    }

    fn fleet(&self) -> &Fleet {
        &self.fleet
    }
}

impl<Store, Chat, Clk, Vault, Fleet, Accounts, Directory, Workflow, Audit, Sessions> IntakePorts
    for Ports<Store, Chat, Clk, Vault, Fleet, Accounts, Directory, Workflow, Audit, Sessions>
where
    Self: BrokerPorts,
    Directory: ports::Directory,
    Workflow: ports::Workflow,
{
    type Directory = Directory;
    type Workflow = Workflow;

    fn directory(&self) -> &Directory {
        &self.directory
    }

    fn workflow(&self) -> &Workflow {
        &self.workflow
    }
}

impl<Store, Chat, Clk, Vault, Fleet, Accounts, Directory, Workflow, Audit, Sessions> EvidencePorts
    for Ports<Store, Chat, Clk, Vault, Fleet, Accounts, Directory, Workflow, Audit, Sessions>
where
    Self: BrokerPorts,
    Audit: ports::AuditSource,
    Sessions: ports::SessionLog,
{
    type Audit = Audit;
    type Sessions = Sessions;

    fn audit(&self) -> &Audit {
        &self.audit
    }

    fn sessions(&self) -> &Sessions {
        &self.sessions
    }
}

/// The broker service: the ports a driver wired, the clusters it serves, and who hears of the
/// SLO observations each recorded step makes (the Lambdas print them as EMF; by default they
/// are dropped).
#[derive(Clone)]
pub struct Broker<P> {
    ports: P,
    clusters: Vec<ClusterPolicy>,
    identity: IdentityRules,
    observer: Observer,
}

/// Who hears of the SLO observations a broker's steps record.
pub type Observer = Arc<dyn Fn(&[Observation]) + Send + Sync>;

impl<P: fmt::Debug> fmt::Debug for Broker<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Broker")
            .field("ports", &self.ports)
            .field("clusters", &self.clusters)
            .finish_non_exhaustive()
    }
}

impl<P> Broker<P> {
    /// A broker over `ports` serving `clusters`.
    #[must_use]
    pub fn new(ports: P, clusters: Vec<ClusterPolicy>) -> Self {
        Self {
            ports,
            clusters,
            identity: IdentityRules::default(),
            observer: Arc::new(|_| {}),
        }
    }

    /// The same broker naming requesters' DB users by `identity` (by default every domain is
    /// primary and nobody is mapped).
    #[must_use]
    pub fn with_identity(self, identity: IdentityRules) -> Self {
        Self { identity, ..self }
    }

    /// How requesters' DB users are named.
    #[must_use]
    pub const fn identity(&self) -> &IdentityRules {
        &self.identity
    }

    /// The same broker, handing the SLO observations of every step it records to `observer`.
    #[must_use]
    pub fn observed_by(self, observer: impl Fn(&[Observation]) + Send + Sync + 'static) -> Self {
        Self {
            observer: Arc::new(observer),
            ..self
        }
    }

    /// The ports.
    pub const fn ports(&self) -> &P {
        &self.ports
    }

    /// The clusters served.
    #[must_use]
    pub fn clusters(&self) -> &[ClusterPolicy] {
        &self.clusters
    }

    /// The cluster a request is for, from the configuration.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the cluster is no longer configured.
    pub fn cluster_of(&self, request: &AccessRequest) -> Result<&ClusterPolicy> {
        self.clusters
            .iter()
            .find(|c| c.cluster == request.spec().cluster)
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "cluster {} in the configuration",
                    request.spec().cluster
                ))
            })
    }
}

impl<P: BrokerPorts> Broker<P> {
    /// The request store.
    pub fn store(&self) -> &P::Store {
        self.ports.store()
    }

    /// Slack.
    pub fn chat(&self) -> &P::Chat {
        self.ports.chat()
    }

    /// The clock.
    pub fn clock(&self) -> &P::Clock {
        self.ports.clock()
    }

    /// The time now, by the broker's clock.
    pub fn now(&self) -> time::OffsetDateTime {
        self.clock().now()
    }

    /// Loads a request that must exist.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such request; the store's errors.
    pub async fn load(&self, id: RequestId) -> Result<AccessRequest> {
        use ports::RequestStore as _;
        self.store()
            .get(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("request {id}")))
    }

    /// Hands the observer what `request` recorded at `at` (`slo::recorded_at`).
    pub(crate) fn observe(&self, request: &AccessRequest, at: time::OffsetDateTime) {
        (self.observer)(&slo::recorded_at(request, at));
    }
}

impl<P: AccountPorts> Broker<P> {
    /// DB accounts.
    pub fn accounts(&self) -> &P::Accounts {
        self.ports.accounts()
    }
}

impl<P: AccessPorts> Broker<P> {
    /// Where passwords live.
    pub fn vault(&self) -> &P::Vault {
        self.ports.vault()
    }

    /// Bastions.
    pub fn fleet(&self) -> &P::Fleet {
        self.ports.fleet()
    }
}

impl<P: IntakePorts> Broker<P> {
    /// Slack user → e-mail.
    pub fn directory(&self) -> &P::Directory {
        self.ports.directory()
    }

    /// The workflow.
    pub fn workflow(&self) -> &P::Workflow {
        self.ports.workflow()
    }
}

impl<P: EvidencePorts> Broker<P> {
    /// The clusters' audit logs.
    pub fn audit(&self) -> &P::Audit {
        self.ports.audit()
    }

    /// The bastions' session log.
    pub fn sessions(&self) -> &P::Sessions {
        self.ports.sessions()
    }
}
