//! An access request and its lifecycle: an explicit state machine that refuses illegal steps and
//! appends an event (who, when, what) for every step it accepts — the audit trail.
//!
//! ```text
//! Pending ──approve──▶ Approved ──start_provisioning──▶ Provisioning ──activate──▶ Active
//!    │                    └─cancel─▶ Cancelled ◀──cancel───────────┘                 │
//!    ├─deny──▶ Denied          any non-terminal state ──fail──▶ Failed         start_teardown
//!    ├─expire─▶ Expired                                                             ▼
//!    └─cancel─▶ Cancelled                                        Ended ◀──finish── Ending
//! ```
//!
//! A request cancelled or failed after provisioning started owes the removal of what was made
//! ([`AccessRequest::cleanup_owed`]) until a `CleanedUp` event is recorded.

use std::fmt;
use std::str::FromStr;

use time::{Duration, OffsetDateTime};

use crate::account::{DbUsername, Email};
use crate::approvals::RequiredApprovals;
use crate::error::{Error, Field, Result};
use crate::extension::{self, Extension, ExtensionLength};
use crate::grants::Permission;
use crate::ids::{ClusterId, Region, RequestId, SlackUserId, string_newtype};
use crate::resources::{BastionId, MessageRef, Resources, SecretRef, TaskToken};
use crate::window::AccessWindow;

/// Where a request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequestState {
    /// Waiting for an approver.
    Pending,
    /// Approved; waiting for the start of the window.
    Approved,
    /// An approver refused it.
    Denied,
    /// Nobody decided before the window started.
    Expired,
    /// The requester withdrew it before a decision.
    Cancelled,
    /// The bastion, secret and DB user are being created.
    Provisioning,
    /// Access is live.
    Active,
    /// Access is being removed.
    Ending,
    /// Access was removed; nothing is left.
    Ended,
    /// A step failed; see [`AccessRequest::cleanup_owed`].
    Failed,
}

impl RequestState {
    /// Every state, in lifecycle order.
    pub const ALL: [Self; 10] = [
        Self::Pending,
        Self::Approved,
        Self::Denied,
        Self::Expired,
        Self::Cancelled,
        Self::Provisioning,
        Self::Active,
        Self::Ending,
        Self::Ended,
        Self::Failed,
    ];

    /// Whether no transition leaves this state.
    #[must_use]
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Denied | Self::Expired | Self::Cancelled | Self::Ended | Self::Failed
        )
    }

    /// The state's stable, snake-case name (as stored).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
            Self::Provisioning => "provisioning",
            Self::Active => "active",
            Self::Ending => "ending",
            Self::Ended => "ended",
            Self::Failed => "failed",
        }
    }
}

impl fmt::Display for RequestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RequestState {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| Error::NotFound(format!("request state {s:?}")))
    }
}

/// A step in a request's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transition {
    /// An approver grants the request.
    Approve,
    /// An approver refuses the request.
    Deny,
    /// The start passed with no decision.
    Expire,
    /// The requester (or an approver, by the driver's approver policy) withdraws the request
    /// before its access started (while provisioning, what was made is then removed).
    Cancel,
    /// The window started; resources are being created.
    StartProvisioning,
    /// Everything is created; the requester may connect.
    Activate,
    /// The window ended or someone ended it early; access is being removed.
    StartTeardown,
    /// Access is fully removed.
    Finish,
    /// Something went wrong that the workflow could not recover from.
    Fail,
}

impl Transition {
    /// Every transition.
    pub const ALL: [Self; 9] = [
        Self::Approve,
        Self::Deny,
        Self::Expire,
        Self::Cancel,
        Self::StartProvisioning,
        Self::Activate,
        Self::StartTeardown,
        Self::Finish,
        Self::Fail,
    ];

    /// The state this transition leads to from `from`, or `None` if the lifecycle forbids it.
    #[must_use]
    pub const fn next(self, from: RequestState) -> Option<RequestState> {
        use RequestState as S;
        match (from, self) {
            (S::Pending, Self::Approve) => Some(S::Approved),
            (S::Pending, Self::Deny) => Some(S::Denied),
            (S::Pending, Self::Expire) => Some(S::Expired),
            (S::Pending | S::Approved | S::Provisioning, Self::Cancel) => Some(S::Cancelled),
            (S::Approved, Self::StartProvisioning) => Some(S::Provisioning),
            (S::Provisioning, Self::Activate) => Some(S::Active),
            (S::Active, Self::StartTeardown) => Some(S::Ending),
            (S::Ending, Self::Finish) => Some(S::Ended),
            (from, Self::Fail) if !from.is_terminal() => Some(S::Failed),
            _ => None,
        }
    }

    /// The event kind recorded when this transition is accepted.
    #[must_use]
    pub const fn event_kind(self) -> EventKind {
        match self {
            Self::Approve => EventKind::Approved,
            Self::Deny => EventKind::Denied,
            Self::Expire => EventKind::Expired,
            Self::Cancel => EventKind::Cancelled,
            Self::StartProvisioning => EventKind::ProvisioningStarted,
            Self::Activate => EventKind::Activated,
            Self::StartTeardown => EventKind::TeardownStarted,
            Self::Finish => EventKind::Ended,
            Self::Fail => EventKind::Failed,
        }
    }

    /// "approved", "denied", … for messages.
    #[must_use]
    pub const fn past_tense(self) -> &'static str {
        match self {
            Self::Approve => "approved",
            Self::Deny => "denied",
            Self::Expire => "expired",
            Self::Cancel => "cancelled",
            Self::StartProvisioning => "provisioned",
            Self::Activate => "activated",
            Self::StartTeardown => "torn down",
            Self::Finish => "finished",
            Self::Fail => "failed",
        }
    }
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Who took a step.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A person, by Slack user id.
    User(SlackUserId),
    /// A part of the broker acting on its own.
    System(Component),
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(user) => write!(f, "user:{user}"),
            Self::System(component) => write!(f, "system:{}", component.as_str()),
        }
    }
}

impl FromStr for Actor {
    type Err = Error;

    /// Parses the `Display` form: `user:U…` or `system:workflow` / `system:sweeper`.
    fn from_str(s: &str) -> Result<Self> {
        match s.split_once(':') {
            Some(("user", id)) => Ok(Self::User(SlackUserId::parse(id)?)),
            Some(("system", name)) => Component::ALL
                .into_iter()
                .find(|c| c.as_str() == name)
                .map(Self::System)
                .ok_or_else(|| Error::NotFound(format!("component {name:?}"))),
            _ => Err(Error::NotFound(format!("actor {s:?}"))),
        }
    }
}

/// The broker's parts that act without a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Component {
    /// The Step Functions workflow (or the local ASL runner) and its task handlers.
    Workflow,
    /// The reconciler that removes what outlived its window.
    Sweeper,
    /// The live tripwires' look at active access (see [`crate::tripwire`]).
    Watcher,
    /// A cluster's approval rules, approving READ on their own where configured (see
    /// [`crate::approvals::ApprovalRules::auto_approves`]).
    Policy,
}

impl Component {
    /// Every component.
    pub const ALL: [Self; 4] = [Self::Workflow, Self::Sweeper, Self::Watcher, Self::Policy];

    /// The component's stable name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Workflow => "workflow",
            Self::Sweeper => "sweeper",
            Self::Watcher => "watcher",
            Self::Policy => "policy",
        }
    }
}

/// What an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The request was made.
    Submitted,
    /// See [`Transition::Approve`].
    Approved,
    /// See [`Transition::Deny`].
    Denied,
    /// See [`Transition::Expire`].
    Expired,
    /// See [`Transition::Cancel`].
    Cancelled,
    /// See [`Transition::StartProvisioning`].
    ProvisioningStarted,
    /// See [`Transition::Activate`].
    Activated,
    /// See [`Transition::StartTeardown`].
    TeardownStarted,
    /// See [`Transition::Finish`].
    Ended,
    /// See [`Transition::Fail`].
    Failed,
    /// A step of the work that changes no state (user created, warning sent, …).
    Step,
    /// Everything the request created has been removed after a failure.
    CleanedUp,
    /// What the grants would reach was measured for the approvers (the detail is
    /// [`crate::blast::BlastRadius::summary`]).
    Surveyed,
    /// A statement of the live access set a tripwire off (the detail is
    /// [`crate::tripwire::Trip::summary`]); the approvers were told.
    Tripped,
    /// The requester asked for more time (`+N min: reason`, see [`crate::extension`]).
    ExtensionRequested,
    /// An approver granted the extension asked for last: the end moved.
    Extended,
    /// An approver refused the extension asked for last.
    ExtensionDenied,
    /// Nobody decided the extension asked for last before the end it would have moved.
    ExtensionLapsed,
    /// An approver approved a request that needs more approvals than it has yet (the detail
    /// is "approval N of M"); the last one needed is [`EventKind::Approved`].
    ApprovalGiven,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [Self; 19] = [
        Self::Submitted,
        Self::Approved,
        Self::Denied,
        Self::Expired,
        Self::Cancelled,
        Self::ProvisioningStarted,
        Self::Activated,
        Self::TeardownStarted,
        Self::Ended,
        Self::Failed,
        Self::Step,
        Self::CleanedUp,
        Self::Surveyed,
        Self::Tripped,
        Self::ExtensionRequested,
        Self::Extended,
        Self::ExtensionDenied,
        Self::ExtensionLapsed,
        Self::ApprovalGiven,
    ];

    /// The kind's stable, snake-case name (as stored).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
            Self::ProvisioningStarted => "provisioning_started",
            Self::Activated => "activated",
            Self::TeardownStarted => "teardown_started",
            Self::Ended => "ended",
            Self::Failed => "failed",
            Self::Step => "step",
            Self::CleanedUp => "cleaned_up",
            Self::Surveyed => "surveyed",
            Self::Tripped => "tripped",
            Self::ExtensionRequested => "extension_requested",
            Self::Extended => "extended",
            Self::ExtensionDenied => "extension_denied",
            Self::ExtensionLapsed => "extension_lapsed",
            Self::ApprovalGiven => "approval_given",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| Error::NotFound(format!("event kind {s:?}")))
    }
}

/// The end of a submission's detail that records how many approvals the request needs, when
/// more than one (`…; needs 2 approvals`).
const NEEDS_APPROVALS: &str = " approvals";
/// What precedes the count in the submission's detail.
const NEEDS_PREFIX: &str = "; needs ";

/// What an approval did (see [`AccessRequest::approve_by`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    /// It was the last one needed: the request is approved.
    Complete,
    /// It is counted; `given` of `required` approvals are in.
    Counted {
        /// Distinct approvals so far, this one included.
        given: usize,
        /// Approvals the request needs.
        required: usize,
    },
    /// This approver had already approved; nothing changed.
    Repeated,
}

/// The least time approvers get to decide a request, whatever start it asks for.
pub const MIN_DECISION_TIME: Duration = Duration::minutes(30);

/// The start of the note a decision leaves when the workflow could not be resumed with it.
pub const NOT_RESUMED: &str = "the workflow was not resumed";
/// The note left when the workflow was resumed later with a decision that had not reached it.
pub const RESUMED_LATER: &str = "the workflow was resumed with the decision";

/// One entry of a request's audit trail. `detail` is free text for people and never holds a
/// secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// When it happened.
    pub at: OffsetDateTime,
    /// Who did it.
    pub actor: Actor,
    /// What happened.
    pub kind: EventKind,
    /// Anything worth knowing about it.
    pub detail: String,
}

/// Why someone needs access: 1–500 characters after trimming, no control characters other than
/// line breaks and tabs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    /// The longest reason accepted, in characters.
    pub const MAX_CHARS: usize = 500;

    /// Validates a reason.
    ///
    /// # Errors
    /// [`Error::Invalid`] with [`Field::Reason`].
    pub fn parse(s: &str) -> Result<Self> {
        let reason = s.trim();
        if reason.is_empty() {
            return Err(Error::invalid(Field::Reason, "must not be empty"));
        }
        if reason.chars().count() > Self::MAX_CHARS {
            return Err(Error::invalid(
                Field::Reason,
                "must be at most 500 characters",
            ));
        }
        if reason
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(Error::invalid(
                Field::Reason,
                "must not contain control characters",
            ));
        }
        Ok(Self(reason.to_owned()))
    }
}
string_newtype!(Reason);

/// What a person asks for, validated, before it becomes a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessSpec {
    /// The cluster to reach.
    pub cluster: ClusterId,
    /// The cluster's region.
    pub region: Region,
    /// The level of access.
    pub permission: Permission,
    /// When access exists.
    pub window: AccessWindow,
    /// Why it is needed.
    pub reason: Reason,
}

/// One request for temporary database access, with its state and full event history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequest {
    id: RequestId,
    requester: SlackUserId,
    requester_email: Option<Email>,
    db_username: DbUsername,
    spec: AccessSpec,
    state: RequestState,
    events: Vec<Event>,
    resources: Resources,
}

impl AccessRequest {
    /// A new pending request, with its `Submitted` event.
    #[must_use]
    pub fn submit(
        id: RequestId,
        requester: SlackUserId,
        db_username: DbUsername,
        spec: AccessSpec,
        at: OffsetDateTime,
    ) -> Self {
        let submitted = Event {
            at,
            actor: Actor::User(requester.clone()),
            kind: EventKind::Submitted,
            detail: format!(
                "{} on {} ({}) from {} to {}",
                spec.permission,
                spec.cluster,
                spec.region,
                spec.window.start(),
                spec.window.end()
            ),
        };
        Self {
            id,
            requester,
            requester_email: None,
            db_username,
            spec,
            state: RequestState::Pending,
            events: vec![submitted],
            resources: Resources::default(),
        }
    }

    /// Rebuilds a request from storage, replaying `events` through the lifecycle so a stored
    /// history that breaks the rules is refused rather than trusted; `resources` are taken as
    /// stored.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the events do not start with `Submitted` or replaying them does not
    /// reach `state`; the lifecycle's own errors for an illegal step.
    pub fn restore(
        id: RequestId,
        requester: SlackUserId,
        db_username: DbUsername,
        spec: AccessSpec,
        events: Vec<Event>,
        resources: Resources,
    ) -> Result<Self> {
        let mut iter = events.into_iter();
        let Some(first) = iter.next().filter(|e| e.kind == EventKind::Submitted) else {
            return Err(Error::Conflict(format!(
                "stored history of {id} does not start with its submission"
            )));
        };
        let mut request = Self {
            id,
            requester,
            requester_email: None,
            db_username,
            spec,
            state: RequestState::Pending,
            events: vec![first],
            resources: Resources::default(),
        };
        for event in iter {
            match transition_for(event.kind) {
                Some(transition) => {
                    request.apply(transition, event.actor, event.at, event.detail)?;
                }
                None => request.record(event.kind, event.actor, event.at, event.detail)?,
            }
        }
        request.resources = resources;
        Ok(request)
    }

    /// Takes `transition` if the lifecycle allows it from the current state and `actor` may take
    /// it, and appends the event. On error nothing changes.
    ///
    /// Rules beyond the state graph: only a person other than the requester approves or denies;
    /// only the broker expires a request. Who may cancel (the requester, an approver) is the use
    /// case's and the driver's approver policy's to say.
    ///
    /// # Errors
    /// [`Error::IllegalTransition`] or [`Error::NotAllowed`].
    pub fn apply(
        &mut self,
        transition: Transition,
        actor: Actor,
        at: OffsetDateTime,
        detail: impl Into<String>,
    ) -> Result<&Event> {
        let Some(next) = transition.next(self.state) else {
            return Err(Error::IllegalTransition {
                from: self.state,
                transition,
            });
        };
        self.check_actor(transition, &actor)?;
        let keeps_token = self.state == RequestState::Pending
            && matches!(transition, Transition::Approve | Transition::Deny);
        if !keeps_token {
            self.resources.approval_token = None;
        }
        self.state = next;
        Ok(self.push(Event {
            at,
            actor,
            kind: transition.event_kind(),
            detail: detail.into(),
        }))
    }

    /// Records what the grants reach (`summary`, see [`crate::blast::BlastRadius::summary`]),
    /// while the request is pending.
    ///
    /// # Errors
    /// [`Error::NotAllowed`] once the request is decided.
    pub fn record_survey(
        &mut self,
        actor: Actor,
        at: OffsetDateTime,
        summary: impl Into<String>,
    ) -> Result<&Event> {
        if self.state != RequestState::Pending {
            return Err(Error::NotAllowed(
                "the blast radius is measured for the approvers, before the decision",
            ));
        }
        Ok(self.push(Event {
            at,
            actor,
            kind: EventKind::Surveyed,
            detail: summary.into(),
        }))
    }

    /// Records a tripwire (`summary`, see [`crate::tripwire::Trip::summary`]) while access is
    /// live or ending.
    ///
    /// # Errors
    /// [`Error::NotAllowed`] in any other state.
    pub fn record_trip(
        &mut self,
        at: OffsetDateTime,
        summary: impl Into<String>,
    ) -> Result<&Event> {
        if !matches!(self.state, RequestState::Active | RequestState::Ending) {
            return Err(Error::NotAllowed("tripwires watch live access only"));
        }
        Ok(self.push(Event {
            at,
            actor: Actor::System(Component::Watcher),
            kind: EventKind::Tripped,
            detail: summary.into(),
        }))
    }

    /// Whether a tripwire with `key` ([`crate::tripwire::Trip::key`]) is recorded.
    #[must_use]
    pub fn has_trip(&self, key: &str) -> bool {
        self.events.iter().any(|e| {
            e.kind == EventKind::Tripped
                && e.detail
                    .strip_prefix(key)
                    .is_some_and(|rest| rest.starts_with(':'))
        })
    }

    /// The lowest level the session needed, as recorded with its receipt: `Some(None)` when it
    /// ran nothing that needs a level, `None` when no receipt with an audit log was recorded.
    #[must_use]
    pub fn level_needed(&self) -> Option<Option<Permission>> {
        self.events.iter().rev().find_map(|e| {
            let level = e
                .detail
                .strip_prefix(crate::receipt::LEVEL_NEEDED)
                .filter(|_| e.kind == EventKind::Step)?;
            match level {
                "nothing" => Some(None),
                level => level.parse::<Permission>().ok().map(Some),
            }
        })
    }

    /// The latest blast radius recorded for the approvers, if any.
    #[must_use]
    pub fn survey(&self) -> Option<&str> {
        self.events
            .iter()
            .rev()
            .find(|e| e.kind == EventKind::Surveyed)
            .map(|e| e.detail.as_str())
    }

    /// Appends a [`EventKind::Step`] note, allowed in any state, including after the end (for
    /// the sweeper's and the receipt's notes).
    pub fn record_step(
        &mut self,
        actor: Actor,
        at: OffsetDateTime,
        detail: impl Into<String>,
    ) -> &Event {
        self.push(Event {
            at,
            actor,
            kind: EventKind::Step,
            detail: detail.into(),
        })
    }

    /// Records that everything the request created has been removed. Allowed once provisioning
    /// has started.
    ///
    /// # Errors
    /// [`Error::NotAllowed`] when provisioning never started.
    pub fn record_cleanup(
        &mut self,
        actor: Actor,
        at: OffsetDateTime,
        detail: impl Into<String>,
    ) -> Result<&Event> {
        self.record(EventKind::CleanedUp, actor, at, detail.into())?;
        Ok(self.last_event())
    }

    /// Keeps the token the workflow's approval gate waits on (stored before the card is posted,
    /// so a click can always resume the workflow).
    ///
    /// # Errors
    /// [`Error::NotAllowed`] when the request is no longer pending.
    pub fn set_approval_token(&mut self, token: TaskToken) -> Result<()> {
        if self.state != RequestState::Pending {
            return Err(Error::NotAllowed(
                "only a pending request waits for a decision",
            ));
        }
        self.resources.approval_token = Some(token);
        Ok(())
    }

    /// Remembers where the approval card was posted, so it can be updated in place.
    pub fn set_approval_card(&mut self, card: MessageRef) {
        self.resources.approval_card = Some(card);
    }

    /// Records the bastion launched for the request, with a step event.
    pub fn record_bastion(
        &mut self,
        bastion: BastionId,
        actor: Actor,
        at: OffsetDateTime,
    ) -> &Event {
        let detail = format!("bastion {} launched", bastion.0);
        self.resources.bastion = Some(bastion);
        self.record_step(actor, at, detail)
    }

    /// Records where the request's password was stored, with a step event.
    pub fn record_secret(&mut self, secret: SecretRef, actor: Actor, at: OffsetDateTime) -> &Event {
        let detail = format!("secret stored at {}", secret.0);
        self.resources.secret = Some(secret);
        self.record_step(actor, at, detail)
    }

    fn record(
        &mut self,
        kind: EventKind,
        actor: Actor,
        at: OffsetDateTime,
        detail: String,
    ) -> Result<()> {
        let by_requester = matches!(&actor, Actor::User(user) if *user == self.requester);
        match kind {
            EventKind::Step | EventKind::Surveyed | EventKind::Tripped => {}
            EventKind::ExtensionRequested if by_requester => {}
            EventKind::Extended | EventKind::ExtensionDenied
                if matches!(actor, Actor::User(_)) && !by_requester => {}
            EventKind::ExtensionLapsed if matches!(actor, Actor::System(_)) => {}
            EventKind::ExtensionRequested
            | EventKind::Extended
            | EventKind::ExtensionDenied
            | EventKind::ExtensionLapsed => {
                return Err(Error::NotAllowed(
                    "only the requester asks for an extension and only another person decides it",
                ));
            }
            EventKind::ApprovalGiven => self.check_approval_note(&actor)?,
            EventKind::CleanedUp if self.provisioning_started() => {}
            EventKind::CleanedUp => {
                return Err(Error::NotAllowed(
                    "nothing to clean up: provisioning never started",
                ));
            }
            _ => {
                return Err(Error::Conflict(format!(
                    "{kind:?} is not a note and cannot be recorded without a transition"
                )));
            }
        }
        self.push(Event {
            at,
            actor,
            kind,
            detail,
        });
        Ok(())
    }

    fn check_approval_note(&self, actor: &Actor) -> Result<()> {
        if self.state != RequestState::Pending {
            return Err(Error::IllegalTransition {
                from: self.state,
                transition: Transition::Approve,
            });
        }
        match actor {
            Actor::User(user) if *user == self.requester => Err(Error::NotAllowed(
                "the requester cannot decide their own request",
            )),
            Actor::User(_) => Ok(()),
            Actor::System(_) => Err(Error::NotAllowed(
                "only a person can approve or deny a request",
            )),
        }
    }

    fn check_actor(&self, transition: Transition, actor: &Actor) -> Result<()> {
        let is_requester = matches!(actor, Actor::User(user) if *user == self.requester);
        match transition {
            Transition::Approve | Transition::Deny if is_requester => Err(Error::NotAllowed(
                "the requester cannot decide their own request",
            )),
            Transition::Approve if *actor == Actor::System(Component::Policy) => {
                if self.spec.permission == Permission::Read {
                    Ok(())
                } else {
                    Err(Error::NotAllowed("only READ is ever approved by policy"))
                }
            }
            Transition::Approve if matches!(actor, Actor::User(user) if self.approvals_with(user) < self.required_approvals()) => {
                Err(Error::NotAllowed(
                    "the request needs more approvals from other approvers first",
                ))
            }
            Transition::Approve | Transition::Deny if matches!(actor, Actor::System(_)) => Err(
                Error::NotAllowed("only a person can approve or deny a request"),
            ),
            Transition::Expire if matches!(actor, Actor::User(_)) => {
                Err(Error::NotAllowed("only the broker expires a request"))
            }
            _ => Ok(()),
        }
    }

    fn push(&mut self, event: Event) -> &Event {
        self.events.push(event);
        self.last_event()
    }

    fn last_event(&self) -> &Event {
        let last = self.events.len() - 1;
        &self.events[last]
    }

    /// Whether provisioning ever started, i.e. something may have been created.
    #[must_use]
    pub fn provisioning_started(&self) -> bool {
        self.events
            .iter()
            .any(|e| e.kind == EventKind::ProvisioningStarted)
    }

    /// Whether the request failed or was cancelled after creating things that nobody has
    /// confirmed removed yet.
    #[must_use]
    pub fn cleanup_owed(&self) -> bool {
        matches!(self.state, RequestState::Failed | RequestState::Cancelled)
            && self.provisioning_started()
            && !self.events.iter().any(|e| e.kind == EventKind::CleanedUp)
    }

    /// The event that took the request out of `Pending` (approved, denied, expired or
    /// cancelled), once there is one.
    #[must_use]
    pub fn decision(&self) -> Option<&Event> {
        self.events.iter().find(|e| {
            matches!(
                e.kind,
                EventKind::Approved | EventKind::Denied | EventKind::Expired | EventKind::Cancelled
            )
        })
    }

    /// The request as submitted under a policy of `required` distinct approvals, recorded in
    /// its submission (so it is decided under the rule it was made under, and a stored history
    /// approved with fewer is refused on restore). One approval records nothing.
    #[must_use]
    pub fn with_required_approvals(mut self, required: RequiredApprovals) -> Self {
        if self.events.len() == 1 && required.get() > 1 && self.required_approvals() == 1 {
            let submitted = &mut self.events[0];
            submitted.detail = format!(
                "{}{NEEDS_PREFIX}{}{NEEDS_APPROVALS}",
                submitted.detail,
                required.get()
            );
        }
        self
    }

    /// How many distinct approvers the request needs (as recorded at submission).
    #[must_use]
    pub fn required_approvals(&self) -> usize {
        self.events
            .first()
            .and_then(|e| e.detail.rsplit_once(NEEDS_PREFIX))
            .and_then(|(_, tail)| tail.strip_suffix(NEEDS_APPROVALS))
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n >= 1)
            .unwrap_or(1)
    }

    /// The people who approved, each once, in the order they did (the last is the one whose
    /// approval completed it, once approved).
    #[must_use]
    pub fn approvals(&self) -> Vec<&SlackUserId> {
        let mut people: Vec<&SlackUserId> = Vec::new();
        for event in &self.events {
            if let (EventKind::ApprovalGiven | EventKind::Approved, Actor::User(user)) =
                (event.kind, &event.actor)
                && !people.contains(&user)
            {
                people.push(user);
            }
        }
        people
    }

    /// The distinct approvals there would be with `user`'s.
    fn approvals_with(&self, user: &SlackUserId) -> usize {
        let approvals = self.approvals();
        approvals.len() + usize::from(!approvals.contains(&user))
    }

    /// Records `approver`'s approval: the request is approved when it is the last one needed
    /// ([`Approval::Complete`]), else it is counted with an [`EventKind::ApprovalGiven`]
    /// event. The same approver twice counts once ([`Approval::Repeated`], nothing changes).
    ///
    /// # Errors
    /// [`Error::IllegalTransition`] once the request is no longer pending;
    /// [`Error::NotAllowed`] for the requester.
    pub fn approve_by(&mut self, approver: &SlackUserId, at: OffsetDateTime) -> Result<Approval> {
        let actor = Actor::User(approver.clone());
        self.check_approval_note(&actor)?;
        if self.approvals().contains(&approver) {
            return Ok(Approval::Repeated);
        }
        let (given, required) = (self.approvals_with(approver), self.required_approvals());
        let detail = format!("approval {given} of {required}");
        if given >= required {
            self.apply(Transition::Approve, actor, at, detail)?;
            return Ok(Approval::Complete);
        }
        self.push(Event {
            at,
            actor,
            kind: EventKind::ApprovalGiven,
            detail,
        });
        Ok(Approval::Counted { given, required })
    }

    /// Whether the request was approved by its cluster's policy rather than by a person.
    #[must_use]
    pub fn auto_approved(&self) -> bool {
        self.decision().is_some_and(|e| {
            e.kind == EventKind::Approved && e.actor == Actor::System(Component::Policy)
        })
    }

    /// When the request was submitted.
    #[must_use]
    pub fn submitted_at(&self) -> OffsetDateTime {
        self.events
            .first()
            .map_or_else(|| self.id.created_at(), |e| e.at)
    }

    /// When an undecided request expires: its requested start, but never sooner than
    /// [`MIN_DECISION_TIME`] after submission, so a request to start "now" leaves approvers
    /// time to answer.
    #[must_use]
    pub fn decide_by(&self) -> OffsetDateTime {
        self.spec
            .window
            .start()
            .max(self.submitted_at() + MIN_DECISION_TIME)
    }

    /// The window access really has: as requested, or — when the approval came after the
    /// requested start — starting at the approval and lasting as long as asked; its end moved
    /// by every approved extension.
    #[must_use]
    pub fn window(&self) -> AccessWindow {
        let granted = self.granted_window();
        let extra: Duration = self
            .extensions()
            .iter()
            .filter(|e| e.is_approved())
            .map(|e| e.length.duration())
            .sum();
        AccessWindow::from_parts(granted.start(), granted.end() + extra).unwrap_or(granted)
    }

    /// The extensions the requester asked for, oldest first, with what became of each.
    #[must_use]
    pub fn extensions(&self) -> Vec<Extension> {
        extension::read(&self.events)
    }

    /// The extension waiting for an approver, if any (there is at most one).
    #[must_use]
    pub fn pending_extension(&self) -> Option<Extension> {
        self.extensions()
            .into_iter()
            .rev()
            .find(Extension::is_pending)
    }

    /// The requester asks for `length` more, for `reason`: recorded while access is live, no
    /// other extension is waiting, and the window stays within `max` from its start.
    ///
    /// # Errors
    /// [`Error::NotAllowed`] when `actor` is not the requester, access is not live (or ends
    /// within [`extension::DECISION_CUTOFF`]), or an extension is already waiting;
    /// [`Error::Invalid`] on [`Field::Duration`] beyond `max`.
    pub fn request_extension(
        &mut self,
        actor: Actor,
        length: ExtensionLength,
        reason: &Reason,
        max: Duration,
        at: OffsetDateTime,
    ) -> Result<&Event> {
        if !matches!(&actor, Actor::User(user) if *user == self.requester) {
            return Err(Error::NotAllowed(
                "only the requester can extend their access",
            ));
        }
        let window = self.window();
        if self.state != RequestState::Active || at >= window.end() - extension::DECISION_CUTOFF {
            return Err(Error::NotAllowed("only live access can be extended"));
        }
        if self.pending_extension().is_some() {
            return Err(Error::NotAllowed(
                "an extension is already waiting for the approvers",
            ));
        }
        extension::check_within(&window, length, max)?;
        Ok(self.push(Event {
            at,
            actor,
            kind: EventKind::ExtensionRequested,
            detail: extension::requested_detail(length, reason.as_str()),
        }))
    }

    /// `approver` approves or denies extension `number`, the one waiting, before the current
    /// end (less [`extension::DECISION_CUTOFF`]); an approval moves the end and is checked
    /// against `max` again.
    ///
    /// # Errors
    /// [`Error::NotAllowed`] when the approver is the requester, `number` is not the extension
    /// waiting, or the access is no longer live or too close to its end (the extension lapses
    /// then: [`AccessRequest::lapse_extension`]); [`Error::Invalid`] beyond `max`.
    pub fn decide_extension(
        &mut self,
        number: u32,
        approve: bool,
        approver: &SlackUserId,
        max: Duration,
        at: OffsetDateTime,
    ) -> Result<&Event> {
        if *approver == self.requester {
            return Err(Error::NotAllowed(
                "the requester cannot decide their own extension",
            ));
        }
        let Some(pending) = self.pending_extension().filter(|e| e.number == number) else {
            return Err(Error::NotAllowed("this extension is no longer waiting"));
        };
        let window = self.window();
        if self.state != RequestState::Active || at >= window.end() - extension::DECISION_CUTOFF {
            return Err(Error::NotAllowed(
                "the access ended before the extension was decided",
            ));
        }
        let (kind, detail) = if approve {
            extension::check_within(&window, pending.length, max)?;
            (
                EventKind::Extended,
                format!(
                    "+{} min, now until {}",
                    pending.length.minutes(),
                    crate::timefmt::rfc3339(
                        window.end() + pending.length.duration(),
                        crate::timefmt::Precision::Seconds
                    )
                ),
            )
        } else {
            (EventKind::ExtensionDenied, String::new())
        };
        Ok(self.push(Event {
            at,
            actor: Actor::User(approver.clone()),
            kind,
            detail,
        }))
    }

    /// The extension waiting, if any, lapses: nobody decided it before the end. `None` when
    /// none was waiting.
    pub fn lapse_extension(&mut self, actor: Actor, at: OffsetDateTime) -> Option<&Event> {
        self.pending_extension()?;
        Some(self.push(Event {
            at,
            actor,
            kind: EventKind::ExtensionLapsed,
            detail: "not decided before the end".to_owned(),
        }))
    }

    /// Remembers where extension cards go: a note with the card's Slack `ts`
    /// ([`extension::EXTENSION_CARD`]).
    pub fn record_extension_card(&mut self, actor: Actor, at: OffsetDateTime, ts: &str) -> &Event {
        self.record_step(actor, at, format!("{}{ts}", extension::EXTENSION_CARD))
    }

    /// The window as granted, before extensions.
    fn granted_window(&self) -> AccessWindow {
        let asked = self.spec.window;
        let approved_at = self
            .events
            .iter()
            .find(|e| e.kind == EventKind::Approved)
            .map(|e| e.at);
        match approved_at {
            Some(at) if at > asked.start() => {
                AccessWindow::from_parts(at, at + asked.duration()).unwrap_or(asked)
            }
            _ => asked,
        }
    }

    /// The time by which the request must have moved on, while it is live: the decision
    /// deadline while pending, the (effective) start once approved, its end while access exists
    /// or is being removed, its end while a failure still owes cleanup, and the decision
    /// deadline while a denial has not reached its workflow. `None` once nothing more is due.
    #[must_use]
    pub fn deadline(&self) -> Option<OffsetDateTime> {
        let window = self.window();
        match self.state {
            RequestState::Pending => Some(self.decide_by()),
            RequestState::Approved => Some(window.start()),
            RequestState::Provisioning | RequestState::Active | RequestState::Ending => {
                Some(window.end())
            }
            RequestState::Failed | RequestState::Cancelled if self.cleanup_owed() => {
                Some(window.end())
            }
            RequestState::Denied if self.decision_undelivered() => Some(self.decide_by()),
            _ => None,
        }
    }

    /// Whether the decision recorded on the request has not reached its workflow yet: the
    /// last note about it says [`NOT_RESUMED`], none says [`RESUMED_LATER`] since. Such a
    /// request keeps its task token, and a denied one stays due, so that the decision is sent
    /// again (`Broker::resume_undelivered`).
    #[must_use]
    pub fn decision_undelivered(&self) -> bool {
        self.events
            .iter()
            .rev()
            .filter(|e| e.kind == EventKind::Step)
            .find(|e| e.detail.starts_with(NOT_RESUMED) || e.detail.starts_with(RESUMED_LATER))
            .is_some_and(|e| e.detail.starts_with(NOT_RESUMED))
    }

    /// The request's id.
    #[must_use]
    pub fn id(&self) -> RequestId {
        self.id
    }

    /// Who asked.
    #[must_use]
    pub fn requester(&self) -> &SlackUserId {
        &self.requester
    }

    /// The requester's e-mail address as the directory gave it at submission (`None` for
    /// requests stored before it was kept): the identity their bastion is tagged with, which
    /// their AWS principal must carry to open a session on it.
    #[must_use]
    pub fn requester_email(&self) -> Option<&Email> {
        self.requester_email.as_ref()
    }

    /// The request with the requester's e-mail address (at submission, and when restored).
    #[must_use]
    pub fn with_requester_email(mut self, email: Option<Email>) -> Self {
        self.requester_email = email;
        self
    }

    /// The DB user the request creates.
    #[must_use]
    pub fn db_username(&self) -> &DbUsername {
        &self.db_username
    }

    /// What was asked for.
    #[must_use]
    pub fn spec(&self) -> &AccessSpec {
        &self.spec
    }

    /// The current state.
    #[must_use]
    pub fn state(&self) -> RequestState {
        self.state
    }

    /// The references the request holds.
    #[must_use]
    pub fn resources(&self) -> &Resources {
        &self.resources
    }

    /// The audit trail, oldest first.
    #[must_use]
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Optimistic-concurrency version: the number of events. A store writes a change only if the
    /// stored version is still the one the change was made on.
    #[must_use]
    pub fn version(&self) -> usize {
        self.events.len()
    }
}

/// The transition an event kind records, if it records one.
fn transition_for(kind: EventKind) -> Option<Transition> {
    Transition::ALL.into_iter().find(|t| t.event_kind() == kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::Email;
    use crate::window::WindowPolicy;
    use proptest::prelude::*;
    use time::Duration;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-23 14:00 UTC);

    fn user(id: &str) -> SlackUserId {
        SlackUserId::parse(id).unwrap()
    }

    fn requester() -> Actor {
        Actor::User(user("UREQUESTER"))
    }

    fn approver() -> Actor {
        Actor::User(user("UAPPROVER"))
    }

    fn workflow() -> Actor {
        Actor::System(Component::Workflow)
    }

    fn new_request() -> AccessRequest {
        let spec = AccessSpec {
            cluster: ClusterId::parse("prod-orders").unwrap(),
            region: Region::parse("ap-northeast-1").unwrap(),
            permission: Permission::Read,
            window: AccessWindow::request(T0, Duration::hours(1), T0, &WindowPolicy::default())
                .unwrap(),
            reason: Reason::parse("INC-42: check stuck orders").unwrap(),
        };
        let email = Email::parse("keisuke.owato@example.com").unwrap();
        AccessRequest::submit(
            RequestId::generate(T0, &mut rand::rng()),
            user("UREQUESTER"),
            DbUsername::from_email(&email).unwrap(),
            spec,
            T0,
        )
    }

    #[test]
    fn a_normal_request_walks_the_happy_path_with_one_event_per_step() {
        let mut r = new_request();
        r.apply(Transition::Approve, approver(), T0, "ok").unwrap();
        for t in [
            Transition::StartProvisioning,
            Transition::Activate,
            Transition::StartTeardown,
            Transition::Finish,
        ] {
            r.apply(t, workflow(), T0, "").unwrap();
        }
        assert_eq!(r.state(), RequestState::Ended);
        let kinds: Vec<EventKind> = r.events().iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                EventKind::Submitted,
                EventKind::Approved,
                EventKind::ProvisioningStarted,
                EventKind::Activated,
                EventKind::TeardownStarted,
                EventKind::Ended
            ]
        );
        assert_eq!(r.events()[1].actor, approver());
        assert!(!r.cleanup_owed());
    }

    #[test]
    fn illegal_steps_are_refused_and_change_nothing() {
        let mut r = new_request();
        let before = r.clone();
        let err = r
            .apply(Transition::Activate, workflow(), T0, "")
            .unwrap_err();
        assert_eq!(err.to_string(), "a pending request cannot be activated");
        assert_eq!(r, before);
        r.apply(Transition::Deny, approver(), T0, "no ticket")
            .unwrap();
        for t in Transition::ALL {
            assert!(r.apply(t, approver(), T0, "").is_err(), "{t} after deny");
        }
        assert_eq!(r.state(), RequestState::Denied);
    }

    #[test]
    fn the_requester_cannot_approve_or_deny_their_own_request() {
        let mut r = new_request();
        for t in [Transition::Approve, Transition::Deny] {
            let err = r.apply(t, requester(), T0, "").unwrap_err();
            assert!(matches!(err, Error::NotAllowed(_)), "{err}");
            assert!(r.apply(t, workflow(), T0, "").is_err());
        }
        assert_eq!(r.state(), RequestState::Pending);
        assert_eq!(r.version(), 1);
    }

    #[test]
    fn a_request_is_cancelled_before_its_access_starts_owing_what_provisioning_made_and_only_the_broker_expires()
     {
        let mut r = new_request();
        assert!(r.apply(Transition::Expire, approver(), T0, "").is_err());
        r.apply(Transition::Cancel, requester(), T0, "not needed")
            .unwrap();
        assert_eq!(r.state(), RequestState::Cancelled);
        let mut r = new_request();
        r.apply(Transition::Approve, approver(), T0, "").unwrap();
        r.apply(Transition::Cancel, approver(), T0, "the ticket was closed")
            .unwrap();
        assert_eq!(r.state(), RequestState::Cancelled);
        assert_eq!(r.resources().approval_token, None);
        let mut r = new_request();
        r.apply(Transition::Approve, approver(), T0, "").unwrap();
        r.apply(Transition::StartProvisioning, workflow(), T0, "")
            .unwrap();
        assert!(!r.cleanup_owed());
        r.apply(Transition::Cancel, requester(), T0, "while provisioning")
            .unwrap();
        assert!(r.cleanup_owed(), "what provisioning made is still owed");
        assert_eq!(r.deadline(), Some(r.window().end()));
        r.record_cleanup(workflow(), T0, "removed").unwrap();
        assert!(!r.cleanup_owed());
        assert_eq!(r.deadline(), None);
        r.apply(Transition::Activate, workflow(), T0, "")
            .unwrap_err();
        let mut r = new_request();
        r.apply(
            Transition::Expire,
            Actor::System(Component::Sweeper),
            T0,
            "",
        )
        .unwrap();
        assert_eq!(r.state(), RequestState::Expired);
    }

    #[test]
    fn a_second_approval_is_refused() {
        let mut r = new_request();
        r.apply(Transition::Approve, approver(), T0, "").unwrap();
        let err = r
            .apply(Transition::Approve, Actor::User(user("UOTHER1")), T0, "")
            .unwrap_err();
        assert!(matches!(
            err,
            Error::IllegalTransition {
                from: RequestState::Approved,
                ..
            }
        ));
    }

    #[test]
    fn two_distinct_approvers_are_needed_when_the_submission_says_so() {
        let mut r = new_request().with_required_approvals(RequiredApprovals::new(2).unwrap());
        assert_eq!(r.required_approvals(), 2);
        assert!(r.events()[0].detail.ends_with("; needs 2 approvals"));
        let err = r
            .apply(Transition::Approve, approver(), T0, "")
            .unwrap_err();
        assert!(matches!(err, Error::NotAllowed(_)), "{err}");

        let first = r.approve_by(&user("UAPPROVER"), T0).unwrap();
        assert_eq!(
            first,
            Approval::Counted {
                given: 1,
                required: 2
            }
        );
        assert_eq!(r.state(), RequestState::Pending);
        assert_eq!(
            r.approve_by(&user("UAPPROVER"), T0).unwrap(),
            Approval::Repeated
        );
        let version = r.version();
        assert!(matches!(
            r.approve_by(&user("UREQUESTER"), T0),
            Err(Error::NotAllowed(_))
        ));
        assert_eq!(
            r.version(),
            version,
            "neither a repeat nor the requester counts"
        );

        assert_eq!(
            r.approve_by(&user("USECOND"), T0).unwrap(),
            Approval::Complete
        );
        assert_eq!(r.state(), RequestState::Approved);
        assert_eq!(r.approvals(), [&user("UAPPROVER"), &user("USECOND")]);
        assert_eq!(r.decision().unwrap().detail, "approval 2 of 2");
        assert_eq!(restore_with(&r, r.events().to_vec()).unwrap(), r);

        let mut skipped = r.events().to_vec();
        skipped.remove(1);
        assert!(
            restore_with(&r, skipped).is_err(),
            "a history approved by one person where two were needed is refused"
        );
    }

    #[test]
    fn a_denial_ends_a_partly_approved_request() {
        let mut r = new_request().with_required_approvals(RequiredApprovals::new(3).unwrap());
        r.approve_by(&user("UAPPROVER"), T0).unwrap();
        r.apply(Transition::Deny, Actor::User(user("UOTHER1")), T0, "")
            .unwrap();
        assert_eq!(r.state(), RequestState::Denied);
        assert!(r.approve_by(&user("UOTHER2"), T0).is_err());
    }

    #[test]
    fn only_read_is_approved_by_policy_and_the_policy_never_denies() {
        let policy = Actor::System(Component::Policy);
        let mut r = new_request();
        assert!(r.apply(Transition::Deny, policy.clone(), T0, "").is_err());
        r.apply(Transition::Approve, policy.clone(), T0, "auto")
            .unwrap();
        assert!(r.auto_approved());
        assert_eq!(restore_with(&r, r.events().to_vec()).unwrap(), r);

        let mut dml = new_request();
        dml.spec.permission = Permission::Dml;
        let err = dml.apply(Transition::Approve, policy, T0, "").unwrap_err();
        assert!(matches!(err, Error::NotAllowed(_)), "{err}");
        assert!(!new_request().auto_approved());
    }

    #[test]
    fn failure_after_provisioning_owes_cleanup_until_recorded() {
        let mut r = new_request();
        assert!(r.record_cleanup(workflow(), T0, "").is_err());
        r.apply(Transition::Approve, approver(), T0, "").unwrap();
        r.apply(Transition::StartProvisioning, workflow(), T0, "")
            .unwrap();
        r.apply(Transition::Fail, workflow(), T0, "EC2 capacity")
            .unwrap();
        assert!(r.cleanup_owed());
        r.record_cleanup(Actor::System(Component::Sweeper), T0, "user dropped")
            .unwrap();
        assert!(!r.cleanup_owed());
        assert_eq!(r.state(), RequestState::Failed);
    }

    #[test]
    fn the_approval_token_lives_until_the_workflow_takes_the_approval_and_resources_survive_restore()
     {
        let mut r = new_request();
        r.set_approval_token(TaskToken("tok".into())).unwrap();
        r.set_approval_card(MessageRef {
            channel: "C1".into(),
            ts: "1.2".into(),
        });
        assert_eq!(r.resources().approval_token, Some(TaskToken("tok".into())));
        r.apply(Transition::Approve, approver(), T0, "").unwrap();
        assert_eq!(
            r.resources().approval_token,
            Some(TaskToken("tok".into())),
            "kept, so an approval that did not reach the workflow can be sent again"
        );
        assert!(r.set_approval_token(TaskToken("late".into())).is_err());
        r.apply(Transition::StartProvisioning, workflow(), T0, "")
            .unwrap();
        assert_eq!(
            r.resources().approval_token,
            None,
            "token outlived the workflow's taking the approval"
        );
        let event = r
            .record_bastion(BastionId("i-0abc".into()), workflow(), T0)
            .clone();
        assert_eq!(
            (event.kind, event.detail.as_str()),
            (EventKind::Step, "bastion i-0abc launched")
        );
        r.record_secret(SecretRef("arn:aws:secretsmanager:x".into()), workflow(), T0);
        let restored = restore_with(&r, r.events().to_vec()).unwrap();
        assert_eq!(restored.resources(), r.resources());
        assert_eq!(
            restored.resources().bastion,
            Some(BastionId("i-0abc".into()))
        );
    }

    #[test]
    fn an_extension_survives_restore_and_a_self_approved_one_is_refused() {
        let mut r = new_request();
        r.apply(Transition::Approve, approver(), T0, "").unwrap();
        r.apply(Transition::StartProvisioning, workflow(), T0, "")
            .unwrap();
        r.apply(Transition::Activate, workflow(), T0, "").unwrap();
        let thirty = ExtensionLength::new(Duration::minutes(30)).unwrap();
        let reason = Reason::parse("INC-42: still checking").unwrap();
        r.request_extension(requester(), thirty, &reason, Duration::hours(8), T0)
            .unwrap();
        r.decide_extension(1, true, &user("UAPPROVER"), Duration::hours(8), T0)
            .unwrap();

        let restored = restore_with(&r, r.events().to_vec()).unwrap();
        assert_eq!(restored.window().end(), T0 + Duration::minutes(90));
        assert_eq!(restored, r);
        let mut forged = r.events().to_vec();
        forged.last_mut().unwrap().actor = requester();
        assert!(matches!(
            restore_with(&r, forged),
            Err(Error::NotAllowed(_))
        ));
    }

    #[test]
    fn failure_before_provisioning_owes_nothing() {
        let mut r = new_request();
        r.apply(Transition::Fail, workflow(), T0, "card could not be posted")
            .unwrap();
        assert!(!r.cleanup_owed());
    }

    fn restore_with(r: &AccessRequest, events: Vec<Event>) -> Result<AccessRequest> {
        AccessRequest::restore(
            r.id(),
            r.requester().clone(),
            r.db_username().clone(),
            r.spec().clone(),
            events,
            r.resources().clone(),
        )
    }

    #[test]
    fn restore_replays_a_valid_history_and_refuses_a_forged_one() {
        let mut r = new_request();
        r.apply(Transition::Approve, approver(), T0, "").unwrap();
        r.record_step(workflow(), T0, "card updated");
        assert_eq!(restore_with(&r, r.events().to_vec()).unwrap(), r);

        let mut forged = r.events().to_vec();
        forged[1].actor = requester();
        assert!(restore_with(&r, forged).is_err());
        let skipped = vec![
            r.events()[0].clone(),
            Event {
                kind: EventKind::Activated,
                ..r.events()[1].clone()
            },
        ];
        assert!(restore_with(&r, skipped).is_err());
    }

    /// The allowed edges, written out independently of `Transition::next`.
    const EDGES: [(RequestState, RequestState); 10] = [
        (RequestState::Pending, RequestState::Approved),
        (RequestState::Pending, RequestState::Denied),
        (RequestState::Pending, RequestState::Expired),
        (RequestState::Pending, RequestState::Cancelled),
        (RequestState::Approved, RequestState::Cancelled),
        (RequestState::Approved, RequestState::Provisioning),
        (RequestState::Provisioning, RequestState::Active),
        (RequestState::Provisioning, RequestState::Cancelled),
        (RequestState::Active, RequestState::Ending),
        (RequestState::Ending, RequestState::Ended),
    ];

    fn edge_allowed(from: RequestState, to: RequestState) -> bool {
        EDGES.contains(&(from, to)) || (to == RequestState::Failed && !from.is_terminal())
    }

    fn any_actor() -> impl Strategy<Value = Actor> {
        prop_oneof![
            Just(requester()),
            Just(approver()),
            Just(Actor::System(Component::Workflow)),
            Just(Actor::System(Component::Sweeper)),
        ]
    }

    proptest! {
        #[test]
        fn no_sequence_of_steps_reaches_an_illegal_state(
            steps in proptest::collection::vec((proptest::sample::select(Transition::ALL.to_vec()), any_actor()), 0..40)
        ) {
            let mut r = new_request();
            let mut accepted = 0;
            for (transition, actor) in steps {
                let before = r.clone();
                match r.apply(transition, actor.clone(), T0, "") {
                    Ok(_) => {
                        accepted += 1;
                        prop_assert!(edge_allowed(before.state(), r.state()), "{} -> {}", before.state(), r.state());
                        prop_assert!(!before.state().is_terminal());
                        if matches!(transition, Transition::Approve | Transition::Deny) {
                            prop_assert!(matches!(actor, Actor::User(_)) && actor != requester());
                        }
                    }
                    Err(_) => prop_assert_eq!(&r, &before),
                }
            }
            prop_assert_eq!(r.events().len(), accepted + 1);
            let states: Vec<RequestState> = std::iter::once(RequestState::Pending)
                .chain(r.events()[1..].iter().filter_map(|e| transition_for(e.kind)).scan(RequestState::Pending, |s, t| {
                    *s = t.next(*s)?;
                    Some(*s)
                }))
                .collect();
            prop_assert_eq!(states.len(), r.events().len());
            prop_assert_eq!(*states.last().unwrap(), r.state());
            if r.state() == RequestState::Active || r.state() == RequestState::Ended {
                prop_assert!(states.contains(&RequestState::Approved));
                prop_assert!(states.contains(&RequestState::Provisioning));
            }
            prop_assert_eq!(restore_with(&r, r.events().to_vec()).ok(), Some(r));
        }
    }

    #[test]
    fn stored_names_round_trip() {
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>().unwrap(), kind);
        }
        for state in RequestState::ALL {
            assert_eq!(state.as_str().parse::<RequestState>().unwrap(), state);
        }
        for actor in [requester(), workflow(), Actor::System(Component::Sweeper)] {
            assert_eq!(actor.to_string().parse::<Actor>().unwrap(), actor);
        }
        for bad in ["", "user:", "user:C123", "system:cron", "robot:x"] {
            assert!(bad.parse::<Actor>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reasons_are_trimmed_bounded_and_printable() {
        assert_eq!(
            Reason::parse("  INC-1\nfix  ").unwrap().as_str(),
            "INC-1\nfix"
        );
        assert!(Reason::parse(&"x".repeat(500)).is_ok());
        assert!(
            Reason::parse(&"é".repeat(500)).is_ok(),
            "counted in characters"
        );
        for bad in ["", "   ", &"x".repeat(501), "a\u{7}b", "a\rb"] {
            assert_eq!(
                Reason::parse(bad).unwrap_err().field(),
                Some(Field::Reason),
                "{bad:?}"
            );
        }
    }
}
