//! Ports: the small, role-named traits through which the core reaches the outside world. Each
//! has one adapter per outside system (`powerpole-aws`, `powerpole-mysql`, `powerpole-slack`,
//! `powerpole-local`). Every operation that creates something is idempotent per request id, so a
//! Slack retry, a Step Functions retry or a double click never creates a second one.

use std::future::Future;

use time::{Duration, OffsetDateTime};

use crate::account::{DbPassword, DbUsername, Email};
use crate::audit::AuditRecord;
use crate::blast::Survey;
use crate::error::Result;
use crate::grants::GrantPlan;
use crate::ids::{ClusterId, Region, RequestId, SlackUserId};
use crate::lifecycle::{AccessRequest, RequestState};
use crate::receipt::{BastionSession, Gathered, Receipt};
use crate::report::archive::{ArchivedReport, PublishedReport, ReportName};
pub use crate::resources::{BastionId, MessageRef, SecretLocation, SecretRef, TaskToken};
use crate::sweep::SweepReport;
use crate::tripwire::Trip;
use crate::window::AccessWindow;

/// Durable record of requests and their events (DynamoDB on AWS, SQLite locally).
pub trait RequestStore: Send + Sync {
    /// Records a new request.
    ///
    /// # Errors
    /// [`crate::Error::Conflict`] when a request with that id exists.
    fn insert(&self, request: &AccessRequest) -> impl Future<Output = Result<()>> + Send;

    /// Fetches a request by id.
    fn get(&self, id: RequestId) -> impl Future<Output = Result<Option<AccessRequest>>> + Send;

    /// Writes the events appended to `request` since version `expected`, only if the stored
    /// request is still at `expected` (conditional write), so two concurrent approvals or a
    /// retried step cannot both win.
    ///
    /// # Errors
    /// [`crate::Error::Conflict`] when the stored version moved on.
    fn update(
        &self,
        request: &AccessRequest,
        expected: usize,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The requests of one person, newest first.
    fn by_requester(
        &self,
        requester: &SlackUserId,
    ) -> impl Future<Output = Result<Vec<AccessRequest>>> + Send;

    /// Requests in `state` whose deadline for that state (start for pending/approved, end
    /// otherwise) is before `before`, for the sweeper. Never a table scan.
    fn due(
        &self,
        state: RequestState,
        before: OffsetDateTime,
    ) -> impl Future<Output = Result<Vec<AccessRequest>>> + Send;

    /// Records something the broker made that no request owns, once per kind and resource:
    /// `false` when that orphan is already recorded (a second sweeper, or a retry).
    fn record_orphan(&self, orphan: &Orphan) -> impl Future<Output = Result<bool>> + Send;

    /// The recorded orphans, newest first, at most `limit`.
    fn orphans(&self, limit: usize) -> impl Future<Output = Result<Vec<Orphan>>> + Send;

    /// The requests submitted from `from` (included) to `until` (excluded), oldest first, at
    /// most `limit` (the oldest ones), for the period report. Never a table scan.
    fn submitted_between(
        &self,
        from: OffsetDateTime,
        until: OffsetDateTime,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<AccessRequest>>> + Send;
}

/// Something the broker made (a DB user, a secret, a bastion) that no request owns, found and
/// removed by the sweeper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    /// What it was.
    pub kind: ResourceKind,
    /// Its name: `user@cluster`, the secret's name, the instance id.
    pub resource: String,
    /// The request its tag or registration names, when it names one the store does not hold.
    pub request: Option<RequestId>,
    /// When the sweeper found it.
    pub found_at: OffsetDateTime,
    /// What the sweeper did about it.
    pub detail: String,
}

impl Orphan {
    /// The orphan's identity: kind and resource.
    #[must_use]
    pub fn key(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.resource)
    }
}

/// The kinds of things the broker creates outside the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    /// A DB user on a cluster.
    Account,
    /// A password secret.
    Secret,
    /// A bastion instance.
    Bastion,
}

impl ResourceKind {
    /// The stored name: `account`, `secret`, `bastion`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::Secret => "secret",
            Self::Bastion => "bastion",
        }
    }

    /// The kind a stored name stands for, if it is one.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "account" => Some(Self::Account),
            "secret" => Some(Self::Secret),
            "bastion" => Some(Self::Bastion),
            _ => None,
        }
    }
}

/// Where the one-time password lives (Secrets Manager, or a 0600 file locally).
pub trait SecretVault: Send + Sync {
    /// Stores the request's credentials; storing the same request again keeps the first secret.
    fn put(
        &self,
        id: RequestId,
        username: &DbUsername,
        password: &DbPassword,
        expires_at: OffsetDateTime,
    ) -> impl Future<Output = Result<SecretRef>> + Send;

    /// Reads the request's password back.
    fn get(&self, id: RequestId) -> impl Future<Output = Result<DbPassword>> + Send;

    /// Deletes the request's secret at once (no recovery window); deleting twice is fine.
    fn delete(&self, id: RequestId) -> impl Future<Output = Result<()>> + Send;

    /// Every request secret the vault holds, for the sweeper.
    fn list(&self) -> impl Future<Output = Result<Vec<StoredSecret>>> + Send;

    /// Marks the request's secret as readable by `bastion` only (on AWS a tag the bastions'
    /// role policy compares with the calling instance); doing it again is fine.
    fn allow_reader(
        &self,
        id: RequestId,
        bastion: &BastionId,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Where a person reads the secret `put` returned `secret` for: the vault knows whether it
    /// is a Secrets Manager secret or a local file.
    fn locate(&self, secret: &SecretRef) -> SecretLocation;
}

/// A request secret the vault holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSecret {
    /// The request it was stored for.
    pub request: RequestId,
    /// Where it is.
    pub secret: SecretRef,
    /// When it was stored.
    pub created_at: OffsetDateTime,
}

/// Throw-away bastions reachable only through SSM (EC2 on AWS; the local machine locally).
pub trait BastionFleet: Send + Sync {
    /// Launches the request's bastion, marked as `requester`'s (the only person who may open a
    /// session on it); a repeated call for the same request returns the same instance.
    fn launch(
        &self,
        id: RequestId,
        expires_at: OffsetDateTime,
        requester: Option<&Email>,
    ) -> impl Future<Output = Result<Bastion>> + Send;

    /// The bastion's current status.
    fn status(&self, bastion: &BastionId) -> impl Future<Output = Result<BastionStatus>> + Send;

    /// Terminates the bastion; terminating a gone bastion is fine.
    fn terminate(&self, bastion: &BastionId) -> impl Future<Output = Result<()>> + Send;

    /// Every bastion the broker launched that still exists, for the sweeper.
    fn list(&self) -> impl Future<Output = Result<Vec<Bastion>>> + Send;

    /// Whether people reach the database through the bastion with SSM Session Manager (EC2);
    /// `false` when the "bastion" is the machine the broker runs on (local mode), so the
    /// connect instructions point at the database directly.
    fn through_ssm(&self) -> bool {
        true
    }
}

/// A bastion and the tags that tie it to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bastion {
    /// The instance.
    pub id: BastionId,
    /// The request it serves, if its tag is readable.
    pub request: Option<RequestId>,
    /// When it must be gone.
    pub expires_at: Option<OffsetDateTime>,
    /// When it was launched.
    pub launched_at: OffsetDateTime,
}

/// How far a bastion is from usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BastionStatus {
    /// Booting or not yet registered with SSM.
    Starting,
    /// Running and reachable through SSM.
    Ready,
    /// Stopping, terminated or unknown.
    Gone,
}

/// The per-request workflow (Step Functions on AWS, the local ASL runner locally).
pub trait Workflow: Send + Sync {
    /// Starts the request's execution, named after the request id, with input
    /// `{"request_id", "decide_within_seconds"}`; a duplicate start is success (the execution
    /// that exists is the request's, whatever its input).
    fn start(&self, start: &Start) -> impl Future<Output = Result<()>> + Send;

    /// Resumes the approval gate with the decision.
    fn resume(
        &self,
        token: &TaskToken,
        decision: Decision,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Stops the request's execution (after an early end the workflow has nothing left to do).
    fn stop(&self, id: RequestId, cause: &str) -> impl Future<Output = Result<()>> + Send;

    /// Ends access now: stops the request's execution (wherever it waits) and starts the same
    /// workflow in its "end" mode, named [`end_execution_name`], which only tears down. Asking
    /// twice is fine.
    fn end_early(&self, id: RequestId) -> impl Future<Output = Result<()>> + Send;
}

/// The name of the execution that ends a request early: the request id and `-end`.
#[must_use]
pub fn end_execution_name(id: RequestId) -> String {
    format!("{id}-end")
}

/// What a request's execution starts with: an id and a duration, never a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    /// The request; also the execution's name.
    pub request: RequestId,
    /// How long the approval gate waits for a decision before the request expires.
    pub decide_within: time::Duration,
}

impl Start {
    /// The shortest gate the workflow gets, so a request submitted just before its deadline
    /// still reaches the approvers.
    pub const MIN_DECIDE_WITHIN: time::Duration = time::Duration::minutes(1);

    /// The start of `request`'s execution at `now`: the gate waits until the request's
    /// decision deadline.
    #[must_use]
    pub fn of(request: &AccessRequest, now: OffsetDateTime) -> Self {
        Self {
            request: request.id(),
            decide_within: (request.decide_by() - now).max(Self::MIN_DECIDE_WITHIN),
        }
    }
}

/// An approver's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Approve,
    /// Refused.
    Deny,
}

/// Where a workflow execution is, by the names Step Functions gives the statuses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ExecutionStatus {
    /// Still going (possibly waiting at the approval gate or a `Wait` state).
    Running,
    /// Reached a `Succeed` state or an end.
    Succeeded,
    /// Reached a `Fail` state or an error nothing caught.
    Failed,
    /// Ran past the state machine's `TimeoutSeconds`.
    TimedOut,
    /// Stopped.
    Aborted,
    /// Failed and may still be redriven (Step Functions only).
    PendingRedrive,
    /// A status not known here, as the workflow spelled it.
    Other(String),
}

impl ExecutionStatus {
    /// Every status but [`ExecutionStatus::Other`], with its name.
    const NAMED: [(Self, &'static str); 6] = [
        (Self::Running, "RUNNING"),
        (Self::Succeeded, "SUCCEEDED"),
        (Self::Failed, "FAILED"),
        (Self::TimedOut, "TIMED_OUT"),
        (Self::Aborted, "ABORTED"),
        (Self::PendingRedrive, "PENDING_REDRIVE"),
    ];

    /// Whether the execution may still act.
    #[must_use]
    pub fn is_running(&self) -> bool {
        matches!(self, Self::Running)
    }

    /// The status's name (`RUNNING`, `SUCCEEDED`, …).
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Other(name) => name,
            known => Self::NAMED
                .iter()
                .find(|(status, _)| status == known)
                .map_or("", |(_, name)| name),
        }
    }

    /// The status named `name`; [`ExecutionStatus::Other`] for a name not known here.
    #[must_use]
    pub fn from_name(name: &str) -> Self {
        Self::NAMED
            .into_iter()
            .find(|(_, known)| *known == name)
            .map_or_else(|| Self::Other(name.to_owned()), |(status, _)| status)
    }
}

impl std::fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Messages to people (Slack).
pub trait Chat: Send + Sync {
    /// Posts the approval card to the approvers' channel.
    fn post_approval_card(
        &self,
        request: &AccessRequest,
    ) -> impl Future<Output = Result<MessageRef>> + Send;

    /// Redraws the card from the request's current state (decided, expired, ended…).
    fn update_approval_card(
        &self,
        card: &MessageRef,
        request: &AccessRequest,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Sends a direct message to a person.
    fn notify(
        &self,
        user: &SlackUserId,
        notice: &Notice,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Tells the approvers' channel what a sweep removed or settled.
    fn report_sweep(&self, report: &SweepReport) -> impl Future<Output = Result<()>> + Send;

    /// Posts the request's session receipt as a reply in the approval card's thread.
    fn post_receipt(
        &self,
        card: &MessageRef,
        receipt: &Receipt,
    ) -> impl Future<Output = Result<MessageRef>> + Send;

    /// Tells the approvers, in the card's thread, that the live access of `request` set off a
    /// tripwire, with a way to revoke it.
    fn post_tripwire(
        &self,
        card: &MessageRef,
        request: &AccessRequest,
        trip: &Trip,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Tells the approvers' channel that a period report was archived and where to open it.
    fn post_report(&self, report: &PublishedReport) -> impl Future<Output = Result<()>> + Send;

    /// Posts the card of `request`'s latest extension (with Approve / Deny while it waits) as a
    /// reply in the thread of the approval card `card`; returns where it is.
    fn post_extension_card(
        &self,
        card: &MessageRef,
        request: &AccessRequest,
    ) -> impl Future<Output = Result<MessageRef>> + Send;

    /// Redraws the card of extension `number` of `request` (approved, denied, lapsed).
    fn update_extension_card(
        &self,
        message: &MessageRef,
        request: &AccessRequest,
        number: u32,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Where finished period reports are kept for the security team (S3 on AWS).
pub trait ReportArchive: Send + Sync {
    /// Stores `page` (one self-contained HTML report) under `name`; storing the same name again
    /// replaces the page (a versioned archive keeps both).
    ///
    /// # Errors
    /// The archive's errors.
    fn put(
        &self,
        name: &ReportName,
        page: &str,
    ) -> impl Future<Output = Result<ArchivedReport>> + Send;
}

/// What the broker tells a requester. Adapters render it; none of them carries a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// Access is live: connect to the bastion and start `mysql` from the secret.
    Ready {
        /// The request.
        request: RequestId,
        /// The DB user to log in as.
        username: DbUsername,
        /// The bastion to connect through, if there is one.
        bastion: Option<BastionId>,
        /// The cluster's region (for the SSM and Secrets Manager commands).
        region: Region,
        /// The database endpoint to connect to (host name).
        endpoint: String,
        /// The database endpoint's port.
        port: u16,
        /// Where the password is (never the password).
        secret: SecretLocation,
        /// When access ends.
        ends_at: OffsetDateTime,
    },
    /// Access ends soon.
    EndingSoon {
        /// The request.
        request: RequestId,
        /// When access ends.
        ends_at: OffsetDateTime,
        /// How long is left when the message is sent.
        left: Duration,
    },
    /// Access was removed.
    Ended {
        /// The request.
        request: RequestId,
        /// The bastion that was terminated, when access went through one.
        bastion: Option<BastionId>,
    },
    /// The request was denied.
    Denied {
        /// The request.
        request: RequestId,
        /// Who denied it.
        by: SlackUserId,
    },
    /// An approver cancelled the request before its access started; nothing was or will be
    /// created.
    Cancelled {
        /// The request.
        request: RequestId,
        /// The approver who cancelled it.
        by: SlackUserId,
    },
    /// An approver revoked the access while it was live; it is being removed now.
    Revoked {
        /// The request.
        request: RequestId,
        /// The approver who revoked it.
        by: SlackUserId,
    },
    /// An approver granted the requester's extension: access lasts longer, with the same DB
    /// user, password and bastion.
    Extended {
        /// The request.
        request: RequestId,
        /// The approver.
        by: SlackUserId,
        /// When access ends now.
        ends_at: OffsetDateTime,
    },
    /// An approver refused the requester's extension: access ends as planned.
    ExtensionDenied {
        /// The request.
        request: RequestId,
        /// The approver.
        by: SlackUserId,
        /// When access ends.
        ends_at: OffsetDateTime,
    },
    /// Nobody decided the requester's extension before the end: access ended as planned.
    ExtensionLapsed {
        /// The request.
        request: RequestId,
    },
    /// The request expired undecided.
    Expired {
        /// The request.
        request: RequestId,
    },
    /// Something failed; access was (or will be) removed.
    Failed {
        /// The request.
        request: RequestId,
        /// What failed, for the person.
        what: String,
    },
}

/// Who people are (Slack's `users.info`).
pub trait Directory: Send + Sync {
    /// The person's e-mail address.
    fn email_of(&self, user: &SlackUserId) -> impl Future<Output = Result<Email>> + Send;
}

/// One-time accounts on a database cluster (MySQL protocol).
pub trait DbAccounts: Send + Sync {
    /// Creates the request's account with `password` and applies `plan`; creating it again for
    /// the same request leaves one account, with that password and exactly the plan's grants.
    /// The server itself locks the account and kills its sessions `lock_within` from now (the
    /// [`Backstop`]), whatever becomes of the broker; a new create moves that deadline.
    ///
    /// # Errors
    /// [`crate::Error::Conflict`] when an account with that name exists that the broker does not
    /// manage, or that another request owns; nothing is changed then.
    fn create(
        &self,
        cluster: &ClusterId,
        request: RequestId,
        username: &DbUsername,
        password: &DbPassword,
        plan: &GrantPlan,
        lock_within: Duration,
    ) -> impl Future<Output = Result<Backstop>> + Send;

    /// Ends access: locks the account, kills its sessions and drops it. Removing an account that
    /// is already gone is [`Removal::AlreadyGone`].
    ///
    /// # Errors
    /// [`crate::Error::Conflict`] when the account exists but the broker does not manage it.
    fn remove(
        &self,
        cluster: &ClusterId,
        username: &DbUsername,
    ) -> impl Future<Output = Result<Removal>> + Send;

    /// The accounts the broker manages on the cluster, for the sweeper.
    fn list(&self, cluster: &ClusterId)
    -> impl Future<Output = Result<Vec<ManagedAccount>>> + Send;

    /// Moves the [`Backstop`] of request `request`'s account to `lock_within` from now (an
    /// extension moved the end), changing nothing else: the account, its password, its grants
    /// and its live sessions stay.
    ///
    /// # Errors
    /// [`crate::Error::Conflict`] when the account is not the request's (or not the broker's);
    /// the server's errors.
    fn rearm(
        &self,
        cluster: &ClusterId,
        request: RequestId,
        username: &DbUsername,
        lock_within: Duration,
    ) -> impl Future<Output = Result<Backstop>> + Send;

    /// What `plan` would give `username` on the cluster, changing nothing: the grant statements
    /// [`DbAccounts::create`] would run and the base tables they reach.
    ///
    /// # Errors
    /// The adapter's error when the server cannot be read.
    fn survey(
        &self,
        cluster: &ClusterId,
        username: &DbUsername,
        plan: &GrantPlan,
    ) -> impl Future<Output = Result<Survey>> + Send;
}

/// An account the broker created and has not finished removing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedAccount {
    /// The DB user.
    pub username: DbUsername,
    /// The request it was created for.
    pub request: RequestId,
    /// When the broker registered it.
    pub created_at: OffsetDateTime,
    /// Whether the account still exists on the server (false: only the registration is left).
    pub exists: bool,
    /// Whether the account is locked (a removal that could not drop it leaves it locked).
    pub locked: bool,
    /// Whether the server will lock it by itself.
    pub backstop: Backstop,
}

/// The database's own guarantee that an account ends: a scheduled event on the server that
/// locks the account and kills its sessions at a deadline, even when every part of the broker
/// is gone by then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backstop {
    /// The event is scheduled and the server's event scheduler runs.
    Armed,
    /// The event is scheduled but the server's event scheduler is off: it will not fire.
    SchedulerOff,
    /// There is no event for the account.
    Missing,
}

impl Backstop {
    /// What is wrong, if anything, in words for a report.
    #[must_use]
    pub const fn problem(self) -> Option<&'static str> {
        match self {
            Self::Armed => None,
            Self::SchedulerOff => {
                Some("the server's event_scheduler is OFF: its backstop event will not lock it")
            }
            Self::Missing => Some("no backstop event: only the broker will remove it"),
        }
    }
}

/// How an account removal ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// Locked, sessions killed, dropped.
    Dropped {
        /// How many live sessions were killed.
        sessions_killed: u32,
    },
    /// The account could not be dropped (e.g. it is DEFINER of stored objects); it is locked
    /// with every privilege revoked.
    LockedNotDropped {
        /// Why the drop failed.
        reason: String,
    },
    /// There was no such account.
    AlreadyGone,
}

/// The database audit log (CloudWatch Logs on AWS, the server_audit file locally).
pub trait AuditSource: Send + Sync {
    /// The audit records of `username` on `cluster` within `window`.
    fn records(
        &self,
        cluster: &ClusterId,
        username: &DbUsername,
        window: &AccessWindow,
    ) -> impl Future<Output = Result<Vec<AuditRecord>>> + Send;
}

/// The SSM Session Manager log of the bastions (CloudWatch Logs on AWS; locally there is no
/// bastion).
pub trait SessionLog: Send + Sync {
    /// The sessions opened on `bastion` within `window` (plus the adapter's grace period), oldest
    /// first; [`Gathered::Unavailable`] when there is no bastion or no session log to read.
    fn sessions(
        &self,
        bastion: Option<&BastionId>,
        window: &AccessWindow,
    ) -> impl Future<Output = Result<Gathered<Vec<BastionSession>>>> + Send;
}

/// A shared store is a store: the local broker hands one to the Slack endpoints and to the
/// workflow's tasks.
impl<T: RequestStore> RequestStore for std::sync::Arc<T> {
    fn insert(&self, request: &AccessRequest) -> impl Future<Output = Result<()>> + Send {
        T::insert(self, request)
    }

    fn get(&self, id: RequestId) -> impl Future<Output = Result<Option<AccessRequest>>> + Send {
        T::get(self, id)
    }

    fn update(
        &self,
        request: &AccessRequest,
        expected: usize,
    ) -> impl Future<Output = Result<()>> + Send {
        T::update(self, request, expected)
    }

    fn by_requester(
        &self,
        requester: &SlackUserId,
    ) -> impl Future<Output = Result<Vec<AccessRequest>>> + Send {
        T::by_requester(self, requester)
    }

    fn due(
        &self,
        state: RequestState,
        before: OffsetDateTime,
    ) -> impl Future<Output = Result<Vec<AccessRequest>>> + Send {
        T::due(self, state, before)
    }

    fn record_orphan(&self, orphan: &Orphan) -> impl Future<Output = Result<bool>> + Send {
        T::record_orphan(self, orphan)
    }

    fn orphans(&self, limit: usize) -> impl Future<Output = Result<Vec<Orphan>>> + Send {
        T::orphans(self, limit)
    }

    fn submitted_between(
        &self,
        from: OffsetDateTime,
        until: OffsetDateTime,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<AccessRequest>>> + Send {
        T::submitted_between(self, from, until, limit)
    }
}

/// A borrowed port is a port: a driver (or a test) can lend the broker ports it keeps using.
mod borrowed {
    use super::*;

    impl<T: RequestStore + ?Sized> RequestStore for &T {
        fn insert(&self, request: &AccessRequest) -> impl Future<Output = Result<()>> + Send {
            T::insert(self, request)
        }

        fn get(&self, id: RequestId) -> impl Future<Output = Result<Option<AccessRequest>>> + Send {
            T::get(self, id)
        }

        fn update(
            &self,
            request: &AccessRequest,
            expected: usize,
        ) -> impl Future<Output = Result<()>> + Send {
            T::update(self, request, expected)
        }

        fn by_requester(
            &self,
            requester: &SlackUserId,
        ) -> impl Future<Output = Result<Vec<AccessRequest>>> + Send {
            T::by_requester(self, requester)
        }

        fn due(
            &self,
            state: RequestState,
            before: OffsetDateTime,
        ) -> impl Future<Output = Result<Vec<AccessRequest>>> + Send {
            T::due(self, state, before)
        }

        fn record_orphan(&self, orphan: &Orphan) -> impl Future<Output = Result<bool>> + Send {
            T::record_orphan(self, orphan)
        }

        fn orphans(&self, limit: usize) -> impl Future<Output = Result<Vec<Orphan>>> + Send {
            T::orphans(self, limit)
        }

        fn submitted_between(
            &self,
            from: OffsetDateTime,
            until: OffsetDateTime,
            limit: usize,
        ) -> impl Future<Output = Result<Vec<AccessRequest>>> + Send {
            T::submitted_between(self, from, until, limit)
        }
    }

    impl<T: SecretVault + ?Sized> SecretVault for &T {
        fn put(
            &self,
            id: RequestId,
            username: &DbUsername,
            password: &DbPassword,
            expires_at: OffsetDateTime,
        ) -> impl Future<Output = Result<SecretRef>> + Send {
            T::put(self, id, username, password, expires_at)
        }

        fn get(&self, id: RequestId) -> impl Future<Output = Result<DbPassword>> + Send {
            T::get(self, id)
        }

        fn delete(&self, id: RequestId) -> impl Future<Output = Result<()>> + Send {
            T::delete(self, id)
        }

        fn list(&self) -> impl Future<Output = Result<Vec<StoredSecret>>> + Send {
            T::list(self)
        }

        fn allow_reader(
            &self,
            id: RequestId,
            bastion: &BastionId,
        ) -> impl Future<Output = Result<()>> + Send {
            T::allow_reader(self, id, bastion)
        }

        fn locate(&self, secret: &SecretRef) -> SecretLocation {
            T::locate(self, secret)
        }
    }

    impl<T: BastionFleet + ?Sized> BastionFleet for &T {
        fn launch(
            &self,
            id: RequestId,
            expires_at: OffsetDateTime,
            requester: Option<&Email>,
        ) -> impl Future<Output = Result<Bastion>> + Send {
            T::launch(self, id, expires_at, requester)
        }

        fn status(
            &self,
            bastion: &BastionId,
        ) -> impl Future<Output = Result<BastionStatus>> + Send {
            T::status(self, bastion)
        }

        fn terminate(&self, bastion: &BastionId) -> impl Future<Output = Result<()>> + Send {
            T::terminate(self, bastion)
        }

        fn list(&self) -> impl Future<Output = Result<Vec<Bastion>>> + Send {
            T::list(self)
        }

        fn through_ssm(&self) -> bool {
            T::through_ssm(self)
        }
    }

    impl<T: Workflow + ?Sized> Workflow for &T {
        fn start(&self, start: &Start) -> impl Future<Output = Result<()>> + Send {
            T::start(self, start)
        }

        fn resume(
            &self,
            token: &TaskToken,
            decision: Decision,
        ) -> impl Future<Output = Result<()>> + Send {
            T::resume(self, token, decision)
        }

        fn stop(&self, id: RequestId, cause: &str) -> impl Future<Output = Result<()>> + Send {
            T::stop(self, id, cause)
        }

        fn end_early(&self, id: RequestId) -> impl Future<Output = Result<()>> + Send {
            T::end_early(self, id)
        }
    }

    impl<T: Chat + ?Sized> Chat for &T {
        fn post_approval_card(
            &self,
            request: &AccessRequest,
        ) -> impl Future<Output = Result<MessageRef>> + Send {
            T::post_approval_card(self, request)
        }

        fn update_approval_card(
            &self,
            card: &MessageRef,
            request: &AccessRequest,
        ) -> impl Future<Output = Result<()>> + Send {
            T::update_approval_card(self, card, request)
        }

        fn notify(
            &self,
            user: &SlackUserId,
            notice: &Notice,
        ) -> impl Future<Output = Result<()>> + Send {
            T::notify(self, user, notice)
        }

        fn report_sweep(&self, report: &SweepReport) -> impl Future<Output = Result<()>> + Send {
            T::report_sweep(self, report)
        }

        fn post_receipt(
            &self,
            card: &MessageRef,
            receipt: &Receipt,
        ) -> impl Future<Output = Result<MessageRef>> + Send {
            T::post_receipt(self, card, receipt)
        }

        fn post_tripwire(
            &self,
            card: &MessageRef,
            request: &AccessRequest,
            trip: &Trip,
        ) -> impl Future<Output = Result<()>> + Send {
            T::post_tripwire(self, card, request, trip)
        }

        fn post_report(&self, report: &PublishedReport) -> impl Future<Output = Result<()>> + Send {
            T::post_report(self, report)
        }

        fn post_extension_card(
            &self,
            card: &MessageRef,
            request: &AccessRequest,
        ) -> impl Future<Output = Result<MessageRef>> + Send {
            T::post_extension_card(self, card, request)
        }

        fn update_extension_card(
            &self,
            message: &MessageRef,
            request: &AccessRequest,
            number: u32,
        ) -> impl Future<Output = Result<()>> + Send {
            T::update_extension_card(self, message, request, number)
        }
    }

    impl<T: ReportArchive + ?Sized> ReportArchive for &T {
        fn put(
            &self,
            name: &ReportName,
            page: &str,
        ) -> impl Future<Output = Result<ArchivedReport>> + Send {
            T::put(self, name, page)
        }
    }

    impl<T: Directory + ?Sized> Directory for &T {
        fn email_of(&self, user: &SlackUserId) -> impl Future<Output = Result<Email>> + Send {
            T::email_of(self, user)
        }
    }

    impl<T: DbAccounts + ?Sized> DbAccounts for &T {
        fn create(
            &self,
            cluster: &ClusterId,
            request: RequestId,
            username: &DbUsername,
            password: &DbPassword,
            plan: &GrantPlan,
            lock_within: Duration,
        ) -> impl Future<Output = Result<Backstop>> + Send {
            T::create(
                self,
                cluster,
                request,
                username,
                password,
                plan,
                lock_within,
            )
        }

        fn remove(
            &self,
            cluster: &ClusterId,
            username: &DbUsername,
        ) -> impl Future<Output = Result<Removal>> + Send {
            T::remove(self, cluster, username)
        }

        fn list(
            &self,
            cluster: &ClusterId,
        ) -> impl Future<Output = Result<Vec<ManagedAccount>>> + Send {
            T::list(self, cluster)
        }

        fn survey(
            &self,
            cluster: &ClusterId,
            username: &DbUsername,
            plan: &GrantPlan,
        ) -> impl Future<Output = Result<Survey>> + Send {
            T::survey(self, cluster, username, plan)
        }

        fn rearm(
            &self,
            cluster: &ClusterId,
            request: RequestId,
            username: &DbUsername,
            lock_within: Duration,
        ) -> impl Future<Output = Result<Backstop>> + Send {
            T::rearm(self, cluster, request, username, lock_within)
        }
    }

    impl<T: AuditSource + ?Sized> AuditSource for &T {
        fn records(
            &self,
            cluster: &ClusterId,
            username: &DbUsername,
            window: &AccessWindow,
        ) -> impl Future<Output = Result<Vec<AuditRecord>>> + Send {
            T::records(self, cluster, username, window)
        }
    }

    impl<T: SessionLog + ?Sized> SessionLog for &T {
        fn sessions(
            &self,
            bastion: Option<&BastionId>,
            window: &AccessWindow,
        ) -> impl Future<Output = Result<Gathered<Vec<BastionSession>>>> + Send {
            T::sessions(self, bastion, window)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_statuses_read_back_from_their_names() {
        for (status, name) in ExecutionStatus::NAMED {
            assert_eq!(status.as_str(), name);
            assert_eq!(ExecutionStatus::from_name(name), status);
        }
        let paused = ExecutionStatus::from_name("PAUSED");
        assert_eq!(paused, ExecutionStatus::Other("PAUSED".to_owned()));
        assert_eq!(paused.to_string(), "PAUSED");
        assert!(ExecutionStatus::Running.is_running());
        assert!(!paused.is_running());
    }
}
