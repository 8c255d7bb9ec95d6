//! Service-level objectives: the metrics the broker reports (a closed set, each with its unit),
//! the [`Observation`]s a request's history yields, and the [`SloFigures`] over many requests
//! that say whether the objectives the original tool's team set are met — ≥ 99 % of builds
//! succeed, access is ready within 10 minutes, no bastion and no DB user lives more than 24 hours.
//!
//! Pure: nothing here reads a clock or writes anywhere. The Lambdas print observations as
//! CloudWatch embedded-metric-format lines; `powerpole slo` prints the figures of the local state.
//! Both derive from the same events, so they agree by construction.
//!
//! What each event says:
//!
//! | event | observations |
//! |---|---|
//! | `Approved` / `Denied` | `TimeToApprove`: submission → decision |
//! | `Activated` | `BuildSucceeded`; `TimeToReady`: approval (or the requested start, when approved ahead of it) → access ready |
//! | `CleanedUp` | `TeardownSucceeded`: everything the request created is removed |
//! | `Failed` after provisioning started | `BuildFailed` when access never became ready; `TeardownFailed` when what was created is not removed (the removal failed, or never ran) |

use std::fmt;

use time::{Duration, OffsetDateTime};

use crate::ids::RequestId;
use crate::lifecycle::{AccessRequest, Event, EventKind};

/// The unit of a metric, as CloudWatch names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// A number of occurrences.
    Count,
    /// A duration or an age.
    Seconds,
}

impl Unit {
    /// The CloudWatch unit name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Seconds => "Seconds",
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every metric the broker reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// Access became ready (one per request).
    BuildSucceeded,
    /// Provisioning or activation failed for good (one per request).
    BuildFailed,
    /// From approval — or from the requested start, when approved ahead of it — to access ready.
    TimeToReady,
    /// From submission to an approver's decision.
    TimeToApprove,
    /// Everything a request created was removed.
    TeardownSucceeded,
    /// A request failed with what it created not (yet) removed.
    TeardownFailed,
    /// Accounts, bastions or secrets the sweeper found with no request owning them.
    OrphansFound,
    /// Age of the oldest bastion still running.
    OldestBastionAge,
    /// Age of the oldest broker-made DB user still existing.
    OldestUserAge,
    /// Live broker-made DB users the server would not lock by itself (no backstop event, or the
    /// event scheduler off).
    UsersWithoutBackstop,
}

impl Metric {
    /// Every metric.
    pub const ALL: [Self; 10] = [
        Self::BuildSucceeded,
        Self::BuildFailed,
        Self::TimeToReady,
        Self::TimeToApprove,
        Self::TeardownSucceeded,
        Self::TeardownFailed,
        Self::OrphansFound,
        Self::OldestBastionAge,
        Self::OldestUserAge,
        Self::UsersWithoutBackstop,
    ];

    /// The metric's name in CloudWatch (namespace `Powerpole`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::BuildSucceeded => "BuildSucceeded",
            Self::BuildFailed => "BuildFailed",
            Self::TimeToReady => "TimeToReady",
            Self::TimeToApprove => "TimeToApprove",
            Self::TeardownSucceeded => "TeardownSucceeded",
            Self::TeardownFailed => "TeardownFailed",
            Self::OrphansFound => "OrphansFound",
            Self::UsersWithoutBackstop => "UsersWithoutBackstop",
            Self::OldestBastionAge => "OldestBastionAge",
            Self::OldestUserAge => "OldestUserAge",
        }
    }

    /// The metric's unit.
    #[must_use]
    pub const fn unit(self) -> Unit {
        match self {
            Self::BuildSucceeded
            | Self::BuildFailed
            | Self::TeardownSucceeded
            | Self::TeardownFailed
            | Self::OrphansFound
            | Self::UsersWithoutBackstop => Unit::Count,
            Self::TimeToReady
            | Self::TimeToApprove
            | Self::OldestBastionAge
            | Self::OldestUserAge => Unit::Seconds,
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One value of one metric, with the request it is about when there is one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    metric: Metric,
    value: f64,
    request: Option<RequestId>,
}

impl Observation {
    fn once(metric: Metric) -> Self {
        Self {
            metric,
            value: 1.0,
            request: None,
        }
    }

    fn lasting(metric: Metric, duration: Duration) -> Self {
        Self {
            metric,
            value: seconds(duration),
            request: None,
        }
    }

    /// `OrphansFound`: how many unowned accounts, bastions or secrets one sweep found (report
    /// 0 too, so the alarm sees the sweeper alive).
    #[must_use]
    pub fn orphans_found(count: usize) -> Self {
        Self {
            metric: Metric::OrphansFound,
            value: count as f64,
            request: None,
        }
    }

    /// `UsersWithoutBackstop`: how many live broker-made DB users one sweep found that the
    /// server would not lock by itself (report 0 too).
    #[must_use]
    pub fn users_without_backstop(count: usize) -> Self {
        Self {
            metric: Metric::UsersWithoutBackstop,
            value: count as f64,
            request: None,
        }
    }

    /// `OldestBastionAge`: the age of the oldest bastion still running (zero when none is).
    #[must_use]
    pub fn oldest_bastion_age(age: Duration) -> Self {
        Self::lasting(Metric::OldestBastionAge, age)
    }

    /// `OldestUserAge`: the age of the oldest broker-made DB user still existing (zero when
    /// none does).
    #[must_use]
    pub fn oldest_user_age(age: Duration) -> Self {
        Self::lasting(Metric::OldestUserAge, age)
    }

    /// The same observation, about request `id`.
    #[must_use]
    pub const fn about(self, id: RequestId) -> Self {
        Self {
            request: Some(id),
            ..self
        }
    }

    /// The metric.
    #[must_use]
    pub const fn metric(&self) -> Metric {
        self.metric
    }

    /// The value, in the metric's unit (never negative).
    #[must_use]
    pub const fn value(&self) -> f64 {
        self.value
    }

    /// The request it is about, if any.
    #[must_use]
    pub const fn request(&self) -> Option<RequestId> {
        self.request
    }
}

/// A duration in seconds, millisecond precision, never negative.
fn seconds(duration: Duration) -> f64 {
    duration.whole_milliseconds().max(0) as f64 / 1000.0
}

/// What the event at `index` of `request`'s history says about the objectives (see the module
/// table).
fn event_observations(request: &AccessRequest, index: usize) -> Vec<Observation> {
    let events = request.events();
    let Some(event) = events.get(index) else {
        return Vec::new();
    };
    let before = &events[..index];
    let happened = |kind: EventKind| before.iter().any(|e| e.kind == kind);
    let id = request.id();
    let found = match event.kind {
        EventKind::Approved | EventKind::Denied => vec![Observation::lasting(
            Metric::TimeToApprove,
            event.at - request.submitted_at(),
        )],
        EventKind::Activated => {
            let mut found = vec![Observation::once(Metric::BuildSucceeded)];
            if let Some(from) = ready_from(request) {
                found.push(Observation::lasting(Metric::TimeToReady, event.at - from));
            }
            found
        }
        EventKind::CleanedUp => vec![Observation::once(Metric::TeardownSucceeded)],
        EventKind::Failed if happened(EventKind::ProvisioningStarted) => {
            let mut found = Vec::new();
            if !happened(EventKind::Activated) {
                found.push(Observation::once(Metric::BuildFailed));
            }
            if !happened(EventKind::CleanedUp) {
                found.push(Observation::once(Metric::TeardownFailed));
            }
            found
        }
        _ => Vec::new(),
    };
    found.into_iter().map(|o| o.about(id)).collect()
}

/// When the clock for `TimeToReady` starts: the approval, or the requested start when the
/// request was approved ahead of it (access is not due before its window).
fn ready_from(request: &AccessRequest) -> Option<OffsetDateTime> {
    let approved = approval(request)?;
    Some(approved.at.max(request.spec().window.start()))
}

fn approval(request: &AccessRequest) -> Option<&Event> {
    request
        .events()
        .iter()
        .find(|e| e.kind == EventKind::Approved)
}

/// Everything `request`'s history says about the objectives, oldest first.
#[must_use]
pub fn observations(request: &AccessRequest) -> Vec<Observation> {
    (0..request.events().len())
        .flat_map(|i| event_observations(request, i))
        .collect()
}

/// What the events stamped `at` say: the observations of the step a use case called with
/// `now = at` just recorded. A retried step that finds its work already done (its events carry
/// an earlier time) yields nothing, so a retry is not counted twice.
#[must_use]
pub fn recorded_at(request: &AccessRequest, at: OffsetDateTime) -> Vec<Observation> {
    let events = request.events();
    (0..events.len())
        .filter(|&i| events[i].at == at)
        .flat_map(|i| event_observations(request, i))
        .collect()
}

/// The targets the figures are held against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Objectives {
    /// The least share of builds that must succeed (0–1).
    pub build_success_rate: f64,
    /// The longest time to ready.
    pub time_to_ready: Duration,
    /// The longest a bastion or a DB user may live.
    pub max_lifetime: Duration,
}

impl Objectives {
    /// The original tool's team's objectives: 99 %, 10 minutes, 24 hours.
    pub const STANDARD: Self = Self {
        build_success_rate: 0.99,
        time_to_ready: Duration::minutes(10),
        max_lifetime: Duration::hours(24),
    };
}

impl Default for Objectives {
    fn default() -> Self {
        Self::STANDARD
    }
}

/// The spread of a set of durations: how many, the median, the 95th percentile, the longest
/// (nearest-rank percentiles; `None` when there are no samples).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Spread {
    /// How many samples.
    pub count: usize,
    /// The 50th percentile.
    pub p50: Option<Duration>,
    /// The 95th percentile.
    pub p95: Option<Duration>,
    /// The longest.
    pub max: Option<Duration>,
}

impl Spread {
    /// The spread of `samples`.
    #[must_use]
    pub fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        Self {
            count: samples.len(),
            p50: percentile(&samples, 50),
            p95: percentile(&samples, 95),
            max: samples.last().copied(),
        }
    }
}

/// The nearest-rank `p`th percentile (1–100) of `sorted` (ascending): the smallest sample that
/// at least `p` % of the samples do not exceed.
#[must_use]
pub fn percentile(sorted: &[Duration], p: usize) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p.clamp(1, 100) * sorted.len()).div_ceil(100);
    sorted.get(rank.max(1) - 1).copied()
}

/// A request that still holds something, and for how long it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Oldest {
    /// The request.
    pub request: RequestId,
    /// How long since its provisioning started.
    pub age: Duration,
}

/// Whether an objective holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// It holds.
    Met,
    /// It does not.
    Missed,
    /// Nothing to judge it on yet.
    NoData,
}

impl Status {
    /// `met`, `missed` or `no data`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Met => "met",
            Self::Missed => "missed",
            Self::NoData => "no data",
        }
    }
}

/// The objectives, one by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    /// At least [`Objectives::build_success_rate`] of builds succeed.
    BuildSuccess,
    /// Every build is ready within [`Objectives::time_to_ready`].
    TimeToReady,
    /// No bastion lives longer than [`Objectives::max_lifetime`].
    BastionLifetime,
    /// No DB user lives longer than [`Objectives::max_lifetime`].
    UserLifetime,
}

impl Objective {
    /// Every objective.
    pub const ALL: [Self; 4] = [
        Self::BuildSuccess,
        Self::TimeToReady,
        Self::BastionLifetime,
        Self::UserLifetime,
    ];

    /// A stable snake-case name (for JSON).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BuildSuccess => "build_success",
            Self::TimeToReady => "time_to_ready",
            Self::BastionLifetime => "bastion_lifetime",
            Self::UserLifetime => "user_lifetime",
        }
    }
}

/// The SLO figures over a set of requests at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct SloFigures {
    /// When they were computed.
    pub at: OffsetDateTime,
    /// What they are held against.
    pub objectives: Objectives,
    /// How many requests they cover.
    pub requests: usize,
    /// Builds that became ready.
    pub builds_succeeded: usize,
    /// Builds that failed for good.
    pub builds_failed: usize,
    /// Time to ready of the successful builds.
    pub time_to_ready: Spread,
    /// Builds slower than [`Objectives::time_to_ready`].
    pub ready_late: usize,
    /// Time to an approver's decision.
    pub time_to_approve: Spread,
    /// Removals that finished.
    pub teardowns_succeeded: usize,
    /// Requests that failed with what they created not removed.
    pub teardowns_failed: usize,
    /// The request with the oldest bastion still held, if any.
    pub oldest_bastion: Option<Oldest>,
    /// The request with the oldest DB user still held, if any.
    pub oldest_user: Option<Oldest>,
    /// Bastions that lived (or live) longer than [`Objectives::max_lifetime`].
    pub bastions_over_lifetime: usize,
    /// DB users that lived (or live) longer than [`Objectives::max_lifetime`].
    pub users_over_lifetime: usize,
}

impl SloFigures {
    /// The figures of `requests` at `now`.
    ///
    /// A request holds a DB user from the start of its provisioning until its `CleanedUp`
    /// event, and a bastion over the same span when one was launched for it.
    #[must_use]
    pub fn compute(
        requests: &[AccessRequest],
        now: OffsetDateTime,
        objectives: Objectives,
    ) -> Self {
        let mut figures = Self {
            at: now,
            objectives,
            requests: requests.len(),
            builds_succeeded: 0,
            builds_failed: 0,
            time_to_ready: Spread::default(),
            ready_late: 0,
            time_to_approve: Spread::default(),
            teardowns_succeeded: 0,
            teardowns_failed: 0,
            oldest_bastion: None,
            oldest_user: None,
            bastions_over_lifetime: 0,
            users_over_lifetime: 0,
        };
        let mut ready = Vec::new();
        let mut approve = Vec::new();
        for request in requests {
            for o in observations(request) {
                let duration = Duration::milliseconds(millis(o.value()));
                match o.metric() {
                    Metric::BuildSucceeded => figures.builds_succeeded += 1,
                    Metric::BuildFailed => figures.builds_failed += 1,
                    Metric::TimeToReady => ready.push(duration),
                    Metric::TimeToApprove => approve.push(duration),
                    Metric::TeardownSucceeded => figures.teardowns_succeeded += 1,
                    Metric::TeardownFailed => figures.teardowns_failed += 1,
                    Metric::OrphansFound
                    | Metric::OldestBastionAge
                    | Metric::OldestUserAge
                    | Metric::UsersWithoutBackstop => {}
                }
            }
            figures.count_lifetime(request, now);
        }
        figures.ready_late = ready
            .iter()
            .filter(|d| **d > objectives.time_to_ready)
            .count();
        figures.time_to_ready = Spread::of(ready);
        figures.time_to_approve = Spread::of(approve);
        figures
    }

    fn count_lifetime(&mut self, request: &AccessRequest, now: OffsetDateTime) {
        let events = request.events();
        let Some(born) = events
            .iter()
            .find(|e| e.kind == EventKind::ProvisioningStarted)
            .map(|e| e.at)
        else {
            return;
        };
        let removed = events
            .iter()
            .find(|e| e.kind == EventKind::CleanedUp)
            .map(|e| e.at);
        let life = removed.unwrap_or(now) - born;
        let has_bastion = request.resources().bastion.is_some();
        let over = life > self.objectives.max_lifetime;
        self.users_over_lifetime += usize::from(over);
        self.bastions_over_lifetime += usize::from(over && has_bastion);
        if removed.is_some() {
            return;
        }
        let held = Oldest {
            request: request.id(),
            age: life,
        };
        let older = |current: Option<Oldest>| current.is_none_or(|c| c.age < held.age);
        if older(self.oldest_user) {
            self.oldest_user = Some(held);
        }
        if has_bastion && older(self.oldest_bastion) {
            self.oldest_bastion = Some(held);
        }
    }

    /// Succeeded builds over all finished builds, `None` before the first.
    #[must_use]
    pub fn build_success_rate(&self) -> Option<f64> {
        rate(self.builds_succeeded, self.builds_failed)
    }

    /// Finished removals over all removals that finished or failed, `None` before the first.
    #[must_use]
    pub fn teardown_success_rate(&self) -> Option<f64> {
        rate(self.teardowns_succeeded, self.teardowns_failed)
    }

    /// Whether `objective` holds.
    #[must_use]
    pub fn status(&self, objective: Objective) -> Status {
        let met = |ok: bool| if ok { Status::Met } else { Status::Missed };
        match objective {
            Objective::BuildSuccess => self.build_success_rate().map_or(Status::NoData, |r| {
                met(r >= self.objectives.build_success_rate)
            }),
            Objective::TimeToReady if self.time_to_ready.count == 0 => Status::NoData,
            Objective::TimeToReady => met(self.ready_late == 0),
            Objective::BastionLifetime => met(self.bastions_over_lifetime == 0),
            Objective::UserLifetime => met(self.users_over_lifetime == 0),
        }
    }

    /// `OldestBastionAge` and `OldestUserAge` now (zero when nothing is held), as the sweeper
    /// reports them.
    #[must_use]
    pub fn ages(&self) -> [Observation; 2] {
        let age = |oldest: Option<Oldest>| oldest.map_or(Duration::ZERO, |o| o.age);
        [
            Observation::oldest_bastion_age(age(self.oldest_bastion)),
            Observation::oldest_user_age(age(self.oldest_user)),
        ]
    }
}

fn millis(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

fn rate(good: usize, bad: usize) -> Option<f64> {
    let all = good + bad;
    (all > 0).then(|| good as f64 / all as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::{DbUsername, Email};
    use crate::grants::Permission;
    use crate::ids::{ClusterId, Region, SlackUserId};
    use crate::lifecycle::{AccessSpec, Actor, Component, Reason, Transition};
    use crate::resources::BastionId;
    use crate::window::{AccessWindow, WindowPolicy};
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-23 14:00 UTC);
    const WORKFLOW: Actor = Actor::System(Component::Workflow);

    fn approver() -> Actor {
        Actor::User(SlackUserId::parse("UAPPROVER").unwrap())
    }

    /// A request submitted at `T0` for one hour from `start`.
    fn submitted(start: OffsetDateTime) -> AccessRequest {
        let spec = AccessSpec {
            cluster: ClusterId::parse("prod-orders").unwrap(),
            region: Region::parse("ap-northeast-1").unwrap(),
            permission: Permission::Read,
            window: AccessWindow::request(start, Duration::hours(1), T0, &WindowPolicy::default())
                .unwrap(),
            reason: Reason::parse("INC-42: check stuck orders").unwrap(),
        };
        let email = Email::parse("keisuke.owato@example.com").unwrap();
        AccessRequest::submit(
            RequestId::generate(T0, &mut rand::rng()),
            SlackUserId::parse("UREQUESTER").unwrap(),
            DbUsername::from_email(&email).unwrap(),
            spec,
            T0,
        )
    }

    fn secs(s: i64) -> OffsetDateTime {
        T0 + Duration::seconds(s)
    }

    /// Approved after `approve` s, provisioning at `provision` s with a bastion.
    fn provisioning(approve: i64, provision: i64) -> AccessRequest {
        let mut r = submitted(T0);
        r.apply(Transition::Approve, approver(), secs(approve), "")
            .unwrap();
        r.apply(Transition::StartProvisioning, WORKFLOW, secs(provision), "")
            .unwrap();
        r.record_bastion(BastionId("i-0abc".into()), WORKFLOW, secs(provision));
        r
    }

    fn named(found: &[Observation]) -> Vec<(&'static str, f64)> {
        found
            .iter()
            .map(|o| (o.metric().name(), o.value()))
            .collect()
    }

    #[test]
    fn metric_names_and_units_are_the_contract_the_alarms_use() {
        let named: Vec<(&str, &str)> = Metric::ALL
            .iter()
            .map(|m| (m.name(), m.unit().as_str()))
            .collect();
        assert_eq!(
            named,
            [
                ("BuildSucceeded", "Count"),
                ("BuildFailed", "Count"),
                ("TimeToReady", "Seconds"),
                ("TimeToApprove", "Seconds"),
                ("TeardownSucceeded", "Count"),
                ("TeardownFailed", "Count"),
                ("OrphansFound", "Count"),
                ("OldestBastionAge", "Seconds"),
                ("OldestUserAge", "Seconds"),
                ("UsersWithoutBackstop", "Count"),
            ]
        );
    }

    #[test]
    fn a_normal_request_reports_its_decision_its_build_and_its_teardown_once_each() {
        let mut r = provisioning(90, 91);
        assert_eq!(
            named(&recorded_at(&r, secs(90))),
            [("TimeToApprove", 90.0)],
            "the approval step"
        );
        assert!(
            recorded_at(&r, secs(91)).is_empty(),
            "provisioning started is no figure"
        );
        r.apply(Transition::Activate, WORKFLOW, secs(125), "")
            .unwrap();
        r.record_step(WORKFLOW, secs(125), "connect instructions sent");
        let activated = recorded_at(&r, secs(125));
        assert_eq!(
            named(&activated),
            [("BuildSucceeded", 1.0), ("TimeToReady", 35.0)]
        );
        assert!(activated.iter().all(|o| o.request() == Some(r.id())));
        assert!(
            recorded_at(&r, secs(126)).is_empty(),
            "a retried activation finds it done"
        );

        let end = secs(3700);
        r.apply(Transition::StartTeardown, WORKFLOW, end, "")
            .unwrap();
        r.record_cleanup(WORKFLOW, end, "dropped").unwrap();
        r.apply(Transition::Finish, WORKFLOW, end, "").unwrap();
        assert_eq!(named(&recorded_at(&r, end)), [("TeardownSucceeded", 1.0)]);
        assert_eq!(
            named(&observations(&r)),
            [
                ("TimeToApprove", 90.0),
                ("BuildSucceeded", 1.0),
                ("TimeToReady", 35.0),
                ("TeardownSucceeded", 1.0)
            ]
        );
    }

    #[test]
    fn time_to_ready_starts_at_the_requested_start_when_approved_ahead_of_it() {
        let start = T0 + Duration::hours(2);
        let mut r = submitted(start);
        r.apply(Transition::Approve, approver(), secs(600), "")
            .unwrap();
        r.apply(Transition::StartProvisioning, WORKFLOW, start, "")
            .unwrap();
        let ready = start + Duration::seconds(42);
        r.apply(Transition::Activate, WORKFLOW, ready, "").unwrap();
        assert_eq!(
            named(&recorded_at(&r, ready)),
            [("BuildSucceeded", 1.0), ("TimeToReady", 42.0)]
        );
    }

    #[test]
    fn a_denial_is_timed_and_an_expiry_or_cancellation_is_not() {
        let mut denied = submitted(T0);
        denied
            .apply(Transition::Deny, approver(), secs(300), "no ticket")
            .unwrap();
        assert_eq!(named(&observations(&denied)), [("TimeToApprove", 300.0)]);
        let mut expired = submitted(T0);
        expired
            .apply(
                Transition::Expire,
                Actor::System(Component::Sweeper),
                secs(1800),
                "",
            )
            .unwrap();
        assert!(observations(&expired).is_empty());
    }

    #[test]
    fn a_failed_build_that_was_cleaned_up_is_a_build_failure_only() {
        let mut r = provisioning(10, 11);
        r.record_cleanup(WORKFLOW, secs(60), "user dropped, bastion terminated")
            .unwrap();
        r.apply(
            Transition::Fail,
            WORKFLOW,
            secs(61),
            "EC2 capacity (Retryable)",
        )
        .unwrap();
        assert_eq!(
            named(&recorded_at(&r, secs(60))),
            [("TeardownSucceeded", 1.0)]
        );
        assert_eq!(named(&recorded_at(&r, secs(61))), [("BuildFailed", 1.0)]);
    }

    #[test]
    fn a_failed_build_whose_cleanup_failed_is_also_a_teardown_failure() {
        let mut r = provisioning(10, 11);
        r.apply(Transition::Fail, WORKFLOW, secs(61), "cluster down")
            .unwrap();
        assert_eq!(
            named(&recorded_at(&r, secs(61))),
            [("BuildFailed", 1.0), ("TeardownFailed", 1.0)]
        );
        r.record_cleanup(Actor::System(Component::Sweeper), secs(900), "swept")
            .unwrap();
        assert_eq!(
            named(&recorded_at(&r, secs(900))),
            [("TeardownSucceeded", 1.0)]
        );
    }

    #[test]
    fn a_failed_teardown_after_access_is_not_a_build_failure() {
        let mut r = provisioning(10, 11);
        r.apply(Transition::Activate, WORKFLOW, secs(40), "")
            .unwrap();
        r.apply(Transition::StartTeardown, WORKFLOW, secs(3600), "")
            .unwrap();
        r.apply(Transition::Fail, WORKFLOW, secs(3700), "DROP USER refused")
            .unwrap();
        assert_eq!(
            named(&recorded_at(&r, secs(3700))),
            [("TeardownFailed", 1.0)]
        );
    }

    #[test]
    fn a_failure_before_provisioning_is_no_build() {
        let mut r = submitted(T0);
        r.apply(Transition::Approve, approver(), secs(10), "")
            .unwrap();
        r.apply(Transition::Fail, WORKFLOW, secs(20), "schedule failed")
            .unwrap();
        assert_eq!(named(&observations(&r)), [("TimeToApprove", 10.0)]);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let ds = |v: &[i64]| v.iter().map(|s| Duration::seconds(*s)).collect::<Vec<_>>();
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&ds(&[7]), 95), Some(Duration::seconds(7)));
        assert_eq!(
            percentile(&ds(&[1, 2, 3, 4]), 50),
            Some(Duration::seconds(2))
        );
        assert_eq!(
            percentile(&ds(&[1, 2, 3, 4, 5]), 50),
            Some(Duration::seconds(3))
        );
        let twenty: Vec<i64> = (1..=20).collect();
        assert_eq!(percentile(&ds(&twenty), 95), Some(Duration::seconds(19)));
        assert_eq!(percentile(&ds(&twenty), 100), Some(Duration::seconds(20)));
        let hundred_and_one: Vec<i64> = (1..=101).collect();
        assert_eq!(
            percentile(&ds(&hundred_and_one), 95),
            Some(Duration::seconds(96))
        );
        let spread = Spread::of(ds(&[30, 10, 20, 600, 40]));
        assert_eq!(
            (spread.count, spread.p50, spread.p95, spread.max),
            (
                5,
                Some(Duration::seconds(30)),
                Some(Duration::seconds(600)),
                Some(Duration::seconds(600))
            )
        );
    }

    /// `n` requests made ready after `ready` s each, cleaned up at the end.
    fn finished(ready: &[i64]) -> Vec<AccessRequest> {
        ready
            .iter()
            .map(|&s| {
                let mut r = provisioning(5, 5);
                r.apply(Transition::Activate, WORKFLOW, secs(5 + s), "")
                    .unwrap();
                r.apply(Transition::StartTeardown, WORKFLOW, secs(3600), "")
                    .unwrap();
                r.record_cleanup(WORKFLOW, secs(3600), "").unwrap();
                r.apply(Transition::Finish, WORKFLOW, secs(3600), "")
                    .unwrap();
                r
            })
            .collect()
    }

    #[test]
    fn figures_over_requests_judge_each_objective() {
        let mut all = finished(&[20, 30, 40, 700]);
        let mut failed = provisioning(5, 6);
        failed
            .apply(Transition::Fail, WORKFLOW, secs(100), "EC2 capacity")
            .unwrap();
        all.push(failed.clone());
        let mut held = provisioning(5, 6);
        held.apply(Transition::Activate, WORKFLOW, secs(35), "")
            .unwrap();
        all.push(held.clone());
        all.push(submitted(T0));

        let now = T0 + Duration::hours(25);
        let f = SloFigures::compute(&all, now, Objectives::STANDARD);
        assert_eq!(f.requests, 7);
        assert_eq!((f.builds_succeeded, f.builds_failed), (5, 1));
        assert_eq!(f.build_success_rate(), Some(5.0 / 6.0));
        assert_eq!(f.status(Objective::BuildSuccess), Status::Missed);
        assert_eq!(f.time_to_ready.count, 5);
        assert_eq!(f.time_to_ready.p50, Some(Duration::seconds(30)));
        assert_eq!(f.time_to_ready.max, Some(Duration::seconds(700)));
        assert_eq!(f.ready_late, 1, "700 s is over 10 minutes");
        assert_eq!(f.status(Objective::TimeToReady), Status::Missed);
        assert_eq!(f.time_to_approve.count, 6);
        assert_eq!(f.time_to_approve.max, Some(Duration::seconds(5)));
        assert_eq!((f.teardowns_succeeded, f.teardowns_failed), (4, 1));
        assert_eq!(f.teardown_success_rate(), Some(0.8));

        let oldest = f.oldest_user.unwrap();
        assert!(
            [failed.id(), held.id()].contains(&oldest.request),
            "only requests not cleaned up hold a user"
        );
        assert_eq!(oldest.age, now - secs(6));
        assert_eq!(f.oldest_bastion.unwrap().age, now - secs(6));
        assert_eq!((f.bastions_over_lifetime, f.users_over_lifetime), (2, 2));
        assert_eq!(f.status(Objective::UserLifetime), Status::Missed);
        assert_eq!(
            f.ages().map(|o| (o.metric(), o.value())),
            [
                (Metric::OldestBastionAge, seconds(now - secs(6))),
                (Metric::OldestUserAge, seconds(now - secs(6)))
            ]
        );
    }

    #[test]
    fn figures_with_everything_on_time_meet_every_objective_and_none_judge_nothing() {
        let all = finished(&[20, 30, 40]);
        let f = SloFigures::compute(&all, secs(7200), Objectives::STANDARD);
        for objective in Objective::ALL {
            assert_eq!(f.status(objective), Status::Met, "{}", objective.as_str());
        }
        assert_eq!((f.oldest_user, f.oldest_bastion), (None, None));
        assert_eq!(f.ages().map(|o| o.value()), [0.0, 0.0]);

        let none = SloFigures::compute(&[], T0, Objectives::STANDARD);
        assert_eq!(none.status(Objective::BuildSuccess), Status::NoData);
        assert_eq!(none.status(Objective::TimeToReady), Status::NoData);
        assert_eq!(none.build_success_rate(), None);
    }

    #[test]
    fn the_sweepers_observations_are_one_call_each() {
        assert_eq!(
            named(&[
                Observation::orphans_found(3),
                Observation::oldest_bastion_age(Duration::minutes(90)),
                Observation::oldest_user_age(Duration::seconds(-5)),
                Observation::users_without_backstop(2),
            ]),
            [
                ("OrphansFound", 3.0),
                ("OldestBastionAge", 5400.0),
                ("OldestUserAge", 0.0),
                ("UsersWithoutBackstop", 2.0)
            ]
        );
    }
}
