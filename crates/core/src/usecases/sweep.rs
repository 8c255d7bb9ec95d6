//! The sweeper: reconciles the store with what exists on the database servers, in the vault and
//! in the fleet, so that nothing the broker made outlives its purpose even when a workflow died,
//! a step kept failing or someone deleted a record.
//!
//! One sweep, in order:
//! 1. settles requests the workflow left behind: expires an undecided request whose decision
//!    deadline passed, fails an approved request that never started provisioning, ends access
//!    past its end, fails a request stuck in provisioning, and cleans up after a failure nobody
//!    cleaned up after (each time only once the grace period has passed, so a live workflow
//!    finishes its own work first);
//! 2. removes every DB user, secret and bastion that no live request owns — its request is
//!    unknown, finished, or it is older than [`SweepPolicy::max_age`] whatever the store says.
//!
//! A request in a live state within its window keeps everything it owns. Every action is an
//! event on the request (actor: the sweeper) or, when no request owns the thing, an
//! [`Orphan`] record; the approvers' channel gets one message per sweep that did anything.
//! Sweeping twice, or two sweepers at once, is safe: removals of gone things succeed, and a
//! request another actor is moving (a conflicting write) is left for the next sweep.

use time::{Duration, OffsetDateTime};

use crate::broker::{AccessPorts, Broker};
use crate::error::{Error, Result};
use crate::ids::{ClusterId, RequestId};
use crate::lifecycle::{AccessRequest, Actor, Component, EventKind, RequestState};
use crate::ports::{
    BastionFleet, Chat, DbAccounts, Orphan, Removal, RequestStore, ResourceKind, SecretVault,
};
use crate::sweep::{SweepAction, SweepReport};
use crate::usecases::Teardown;
use crate::window::WindowPolicy;

const SWEEPER: Actor = Actor::System(Component::Sweeper);

/// How patient the sweeper is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepPolicy {
    /// How long past a deadline the workflow gets to act before the sweeper does.
    pub grace: Duration,
    /// How long a request may stay in provisioning (the workflow waits up to 10 minutes for a
    /// bastion).
    pub provisioning_limit: Duration,
    /// How long after its start an approved request may wait for provisioning to begin.
    pub approved_limit: Duration,
    /// The age past which any DB user, secret or bastion goes, whatever the store says.
    pub max_age: Duration,
}

impl SweepPolicy {
    /// The default grace period.
    pub const DEFAULT_GRACE: Duration = Duration::minutes(15);
    /// The longest a DB user or bastion may live.
    pub const MAX_AGE: Duration = Duration::hours(24);
}

impl Default for SweepPolicy {
    fn default() -> Self {
        Self {
            grace: Self::DEFAULT_GRACE,
            provisioning_limit: Duration::minutes(30),
            approved_limit: Duration::minutes(30),
            max_age: Self::MAX_AGE,
        }
    }
}

impl<P: AccessPorts> Broker<P> {
    /// Runs one sweep now. Problems with single items are reported, not fatal.
    ///
    /// # Errors
    /// None today beyond what is reported in [`SweepReport::problems`]; the result type leaves
    /// room for a store that cannot be read at all.
    pub async fn sweep(&self, policy: &SweepPolicy) -> Result<SweepReport> {
        let now = self.now();
        let mut report = SweepReport::new(now);
        self.settle_requests(policy, now, &mut report).await;
        self.sweep_made(policy, now, &mut report).await;
        if !report.actions.is_empty()
            && let Err(e) = self.chat().report_sweep(&report).await
        {
            report.problem("telling the approvers' channel", &e);
        }
        Ok(report)
    }

    async fn settle_requests(
        &self,
        policy: &SweepPolicy,
        now: OffsetDateTime,
        report: &mut SweepReport,
    ) {
        let queries = [
            (RequestState::Pending, now - policy.grace),
            (RequestState::Approved, now - policy.approved_limit),
            (RequestState::Provisioning, everything_due(now)),
            (RequestState::Active, now - policy.grace),
            (RequestState::Ending, now - policy.grace),
            (RequestState::Failed, everything_due(now)),
            (RequestState::Cancelled, everything_due(now)),
        ];
        let mut seen = std::collections::HashSet::new();
        for (state, before) in queries {
            let due = match self.store().due(state, before).await {
                Ok(due) => due,
                Err(e) => {
                    report.problem(format_args!("listing {state} requests"), &e);
                    continue;
                }
            };
            for request in due {
                let id = request.id();
                if !seen.insert(id) {
                    continue;
                }
                match self.settle(policy, &request, now).await {
                    Ok(Some(detail)) => {
                        self.note_on_request(id, &detail, now, report).await;
                        report.actions.push(SweepAction::Settled {
                            request: id,
                            detail,
                        });
                    }
                    Ok(None) | Err(Error::Conflict(_)) => {}
                    Err(e) => report.problem(format_args!("request {id}"), &e),
                }
            }
        }
    }

    /// Settles one due request, if its state calls for it; `None` when it is not overdue yet.
    async fn settle(
        &self,
        policy: &SweepPolicy,
        request: &AccessRequest,
        now: OffsetDateTime,
    ) -> Result<Option<String>> {
        let id = request.id();
        let end = request.window().end();
        let tear = |why| self.teardown(id, why);
        match request.state() {
            RequestState::Pending => {
                self.expire(id).await?;
                Ok(Some(format!(
                    "expired: nobody decided by {}",
                    minute(request.decide_by())
                )))
            }
            RequestState::Approved => {
                self.mark_failed(
                    id,
                    "approved, but provisioning never started (the workflow stopped)",
                )
                .await?;
                Ok(Some(format!(
                    "failed: approved, still not provisioning {} after its start",
                    minutes(now - request.window().start())
                )))
            }
            RequestState::Provisioning => {
                let since = event_time(request, EventKind::ProvisioningStarted);
                if now < since + policy.provisioning_limit && now < end + policy.grace {
                    return Ok(None);
                }
                let what = format!("stuck in provisioning for {}", minutes(now - since));
                self.mark_failed(id, &what).await?;
                let cleaned = tear(Teardown::AfterFailure).await?;
                Ok(Some(format!("failed: {what}; {}", cleanup_of(&cleaned))))
            }
            RequestState::Active | RequestState::Ending => {
                let ended = tear(Teardown::End).await?;
                Ok(Some(format!(
                    "ended {} after the window's end: {}",
                    minutes(now - end),
                    cleanup_of(&ended)
                )))
            }
            state @ (RequestState::Failed | RequestState::Cancelled) if request.cleanup_owed() => {
                let kind = if state == RequestState::Failed {
                    EventKind::Failed
                } else {
                    EventKind::Cancelled
                };
                if now < event_time(request, kind) + policy.grace {
                    return Ok(None);
                }
                let cleaned = tear(Teardown::AfterFailure).await?;
                let after = if state == RequestState::Failed {
                    "a failure"
                } else {
                    "its cancellation while provisioning"
                };
                Ok(Some(format!(
                    "cleaned up after {after}: {}",
                    cleanup_of(&cleaned)
                )))
            }
            _ => Ok(None),
        }
    }

    /// Appends the sweeper's note to request `id`; a lost race only loses the note.
    async fn note_on_request(
        &self,
        id: RequestId,
        detail: &str,
        now: OffsetDateTime,
        report: &mut SweepReport,
    ) {
        let result = async {
            let Some(mut request) = self.store().get(id).await? else {
                return Ok(());
            };
            let expected = request.version();
            request.record_step(SWEEPER, now, format!("sweeper: {detail}"));
            self.store().update(&request, expected).await
        }
        .await;
        if let Err(e) = result {
            report.problem(format_args!("noting the sweep on request {id}"), &e);
        }
    }

    /// Judges a thing made for `request` at `created_at`.
    async fn judge(
        &self,
        policy: &SweepPolicy,
        request: Option<RequestId>,
        created_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Verdict> {
        let age = now - created_at;
        let Some(id) = request else {
            return Ok(Verdict::Remove {
                orphan: true,
                why: "it names no request".into(),
            });
        };
        let Some(owner) = self.store().get(id).await? else {
            return Ok(Verdict::Remove {
                orphan: true,
                why: format!("request {id} does not exist"),
            });
        };
        if age > policy.max_age {
            return Ok(Verdict::Remove {
                orphan: false,
                why: format!(
                    "it is {} old, past the {} h limit",
                    minutes(age),
                    policy.max_age.whole_hours()
                ),
            });
        }
        let state = owner.state();
        if state.is_terminal() && !owner.cleanup_owed() {
            return Ok(Verdict::Remove {
                orphan: false,
                why: format!("request {id} is {state}"),
            });
        }
        Ok(Verdict::Keep)
    }

    /// Records what was removed: on the owning request, or as an orphan.
    #[allow(
        clippy::too_many_arguments,
        reason = "one argument per fact of the removal"
    )]
    async fn removed(
        &self,
        kind: ResourceKind,
        resource: String,
        request: Option<RequestId>,
        orphan: bool,
        detail: String,
        now: OffsetDateTime,
        report: &mut SweepReport,
    ) {
        if orphan {
            let record = Orphan {
                kind,
                resource: resource.clone(),
                request,
                found_at: now,
                detail: detail.clone(),
            };
            if let Err(e) = self.store().record_orphan(&record).await {
                report.problem(format_args!("recording orphan {}", record.key()), &e);
            }
        } else if let Some(id) = request {
            let note = format!("{} {resource}: {detail}", kind.as_str());
            self.note_on_request(id, &note, now, report).await;
        }
        report.actions.push(SweepAction::Removed {
            kind,
            resource,
            request,
            orphan,
            detail,
        });
    }

    /// Everything the ports list: each cluster's broker-made DB users, the secrets, the bastions.
    async fn list_made(&self, report: &mut SweepReport) -> Vec<Found> {
        let mut found = Vec::new();
        for cluster in self.clusters() {
            let cluster = &cluster.cluster;
            match self.accounts().list(cluster).await {
                Ok(accounts) => found.extend(accounts.into_iter().map(|a| {
                    if let Some(problem) = a.backstop.problem().filter(|_| a.exists && !a.locked) {
                        report
                            .problems
                            .push(format!("DB user {}@{cluster}: {problem}", a.username));
                        report.users_without_backstop += 1;
                    }
                    Found {
                        kind: ResourceKind::Account,
                        resource: format!("{}@{cluster}", a.username),
                        request: Some(a.request),
                        made_at: a.created_at,
                        made: Made::Account {
                            cluster: cluster.clone(),
                            username: a.username,
                            exists: a.exists,
                        },
                    }
                })),
                Err(e) => report.problem(format_args!("listing DB users on {cluster}"), &e),
            }
        }
        match self.vault().list().await {
            Ok(secrets) => found.extend(secrets.into_iter().map(|s| Found {
                kind: ResourceKind::Secret,
                resource: s.secret.0,
                request: Some(s.request),
                made_at: s.created_at,
                made: Made::Secret(s.request),
            })),
            Err(e) => report.problem("listing secrets", &e),
        }
        match self.fleet().list().await {
            Ok(bastions) => found.extend(bastions.into_iter().map(|b| Found {
                kind: ResourceKind::Bastion,
                resource: b.id.0.clone(),
                request: b.request,
                made_at: b.launched_at,
                made: Made::Bastion(b.id),
            })),
            Err(e) => report.problem("listing bastions", &e),
        }
        found
    }

    /// Removes `made`, saying how.
    async fn remove(&self, made: &Made) -> Result<String> {
        Ok(match made {
            Made::Account {
                cluster, username, ..
            } => match self.accounts().remove(cluster, username).await? {
                Removal::Dropped { sessions_killed } => {
                    format!("dropped ({sessions_killed} session(s) killed)")
                }
                Removal::LockedNotDropped { reason } => {
                    format!("locked, privileges revoked, not dropped: {reason}")
                }
                Removal::AlreadyGone => "registration cleared".to_owned(),
            },
            Made::Secret(id) => {
                self.vault().delete(*id).await?;
                "deleted".to_owned()
            }
            Made::Bastion(id) => {
                self.fleet().terminate(id).await?;
                "terminated".to_owned()
            }
        })
    }

    /// Removes every listed thing no live request owns, and measures the oldest left.
    async fn sweep_made(
        &self,
        policy: &SweepPolicy,
        now: OffsetDateTime,
        report: &mut SweepReport,
    ) {
        for found in self.list_made(report).await {
            let what = format!("{} {}", found.kind.as_str(), found.resource);
            match self.judge(policy, found.request, found.made_at, now).await {
                Ok(Verdict::Keep) => {
                    let age = Some(now - found.made_at);
                    match found.made {
                        Made::Account { exists: true, .. } => {
                            report.oldest_account = report.oldest_account.max(age);
                        }
                        Made::Bastion(_) => report.oldest_bastion = report.oldest_bastion.max(age),
                        Made::Account { .. } | Made::Secret(_) => {}
                    }
                }
                Ok(Verdict::Remove { orphan, why }) => match self.remove(&found.made).await {
                    Ok(how) => {
                        self.removed(
                            found.kind,
                            found.resource,
                            found.request,
                            orphan,
                            format!("{how}: {why}"),
                            now,
                            report,
                        )
                        .await;
                    }
                    Err(e) => report.problem(format_args!("removing {what}"), &e),
                },
                Err(e) => report.problem(format_args!("judging {what}"), &e),
            }
        }
    }
}

/// Far enough ahead that every request in a post-approval state is due: windows are at most
/// 8 hours and start no later than provisioning.
fn everything_due(now: OffsetDateTime) -> OffsetDateTime {
    now + WindowPolicy::MAX_DURATION + Duration::days(1)
}

fn event_time(request: &AccessRequest, kind: EventKind) -> OffsetDateTime {
    request
        .events()
        .iter()
        .rev()
        .find(|e| e.kind == kind)
        .map_or_else(|| request.submitted_at(), |e| e.at)
}

fn cleanup_of(request: &AccessRequest) -> String {
    request
        .events()
        .iter()
        .rev()
        .find(|e| e.kind == EventKind::CleanedUp)
        .map_or_else(
            || "nothing had been created".to_owned(),
            |e| e.detail.clone(),
        )
}

fn minute(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

fn minutes(d: Duration) -> String {
    let m = d.whole_minutes().max(0);
    if m >= 120 {
        format!("{} h {} min", m / 60, m % 60)
    } else {
        format!("{m} min")
    }
}

/// Why a thing must go, if it must.
enum Verdict {
    Keep,
    Remove { orphan: bool, why: String },
}

/// A thing the broker made, as listed by its port.
enum Made {
    Account {
        cluster: ClusterId,
        username: crate::account::DbUsername,
        exists: bool,
    },
    Secret(RequestId),
    Bastion(crate::ports::BastionId),
}

/// One listed thing with what ties it to a request.
struct Found {
    made: Made,
    kind: ResourceKind,
    resource: String,
    request: Option<RequestId>,
    made_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::{DbPassword, DbUsername};
    use crate::grants::{GrantPlan, Permission};
    use crate::usecases::fakes::*;
    use crate::usecases::fakes::{Live, cluster, now, pending};

    type World = Live;

    impl World {
        async fn sweep_at(&self, at: OffsetDateTime) -> SweepReport {
            self.broker(at)
                .sweep(&SweepPolicy::default())
                .await
                .unwrap()
        }

        async fn get(&self, id: RequestId) -> AccessRequest {
            self.store.get(id).await.unwrap().unwrap()
        }

        async fn stray_account(&self, name: &str, request: RequestId) -> DbUsername {
            let username = DbUsername::parse(name).unwrap();
            self.accounts
                .create(
                    &cluster().cluster,
                    request,
                    &username,
                    &DbPassword::generate(),
                    &GrantPlan::new(Permission::Read, []).unwrap(),
                    Duration::hours(1),
                )
                .await
                .unwrap();
            username
        }
    }

    fn removed_kinds(report: &SweepReport) -> Vec<(ResourceKind, bool)> {
        report
            .actions
            .iter()
            .filter_map(|a| match a {
                SweepAction::Removed { kind, orphan, .. } => Some((*kind, *orphan)),
                SweepAction::Settled { .. } => None,
            })
            .collect()
    }

    fn sweeper_notes(request: &AccessRequest) -> Vec<String> {
        request
            .events()
            .iter()
            .filter(|e| e.actor == SWEEPER && e.kind == EventKind::Step)
            .map(|e| e.detail.clone())
            .collect()
    }

    #[tokio::test]
    async fn an_active_request_within_its_window_keeps_everything() {
        let w = World::default();
        let request = w.active().await;

        let report = w.sweep_at(now() + Duration::minutes(20)).await;

        assert_eq!(report.actions, vec![]);
        assert_eq!(report.problems, Vec::<String>::new());
        assert_eq!(w.get(request.id()).await.state(), RequestState::Active);
        assert!(w.accounts.password_of(request.db_username()).is_some());
        assert!(w.vault.holds(request.id()));
        assert_eq!(w.fleet.terminated(), vec![]);
        assert_eq!(report.oldest_account, Some(Duration::minutes(20)));
        assert_eq!(report.oldest_bastion, Some(Duration::minutes(20)));
        assert!(
            w.chat.sweep_reports().is_empty(),
            "nothing done, nothing said"
        );
    }

    #[tokio::test]
    async fn an_active_user_without_a_working_backstop_is_reported_and_kept() {
        let w = World::default();
        let request = w.active().await;
        w.accounts
            .scheduler_off
            .store(true, std::sync::atomic::Ordering::SeqCst);

        let report = w.sweep_at(now() + Duration::minutes(20)).await;

        assert_eq!(report.actions, vec![]);
        assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
        assert_eq!(report.users_without_backstop, 1);
        assert!(
            report.problems[0].contains(request.db_username().as_str())
                && report.problems[0].contains("event_scheduler is OFF"),
            "{:?}",
            report.problems
        );
        assert!(w.accounts.password_of(request.db_username()).is_some());
    }

    #[tokio::test]
    async fn access_past_its_end_and_the_grace_period_is_ended_by_the_sweeper() {
        let w = World::default();
        let request = w.active().await;
        let end = request.window().end();

        let early = w.sweep_at(end + Duration::minutes(5)).await;
        let late = w.sweep_at(end + Duration::minutes(16)).await;
        let again = w.sweep_at(end + Duration::minutes(30)).await;

        assert_eq!(early.actions, vec![], "the workflow gets the grace period");
        let ended = w.get(request.id()).await;
        assert_eq!(ended.state(), RequestState::Ended);
        assert!(w.accounts.password_of(request.db_username()).is_none());
        assert!(!w.vault.holds(request.id()));
        assert_eq!(w.fleet.terminated().len(), 1);
        assert!(
            matches!(&late.actions[..], [SweepAction::Settled { request: r, detail }]
            if *r == request.id() && detail.starts_with("ended 16 min after the window's end"))
        );
        assert_eq!(sweeper_notes(&ended).len(), 1, "{:?}", ended.events());
        assert_eq!(again.actions, vec![], "a second sweep finds nothing to do");
        assert_eq!(w.chat.sweep_reports(), vec![late]);
    }

    #[tokio::test]
    async fn an_undecided_request_past_its_decision_deadline_expires() {
        let w = World::default();
        let request = pending(&w.store, "U1").await;
        let deadline = request.decide_by();

        w.sweep_at(deadline + Duration::minutes(10)).await;
        assert_eq!(w.get(request.id()).await.state(), RequestState::Pending);
        let report = w.sweep_at(deadline + Duration::minutes(16)).await;

        let expired = w.get(request.id()).await;
        assert_eq!(expired.state(), RequestState::Expired);
        assert_eq!(report.actions.len(), 1);
        assert_eq!(expired.decision().map(|e| e.kind), Some(EventKind::Expired));
    }

    #[tokio::test]
    async fn a_request_stuck_in_provisioning_fails_and_everything_it_made_goes() {
        let w = World::default();
        let request = w.provisioning().await;

        let kept = w.sweep_at(now() + Duration::minutes(29)).await;
        let report = w.sweep_at(now() + Duration::minutes(31)).await;

        assert_eq!(kept.actions, vec![]);
        let failed = w.get(request.id()).await;
        assert_eq!(failed.state(), RequestState::Failed);
        assert!(!failed.cleanup_owed());
        assert!(w.accounts.password_of(request.db_username()).is_none());
        assert!(!w.vault.holds(request.id()));
        assert_eq!(w.fleet.terminated().len(), 1);
        assert!(
            matches!(&report.actions[..], [SweepAction::Settled { detail, .. }]
            if detail.starts_with("failed: stuck in provisioning for 31 min"))
        );
    }

    #[tokio::test]
    async fn a_request_cancelled_while_provisioning_whose_teardown_never_ran_is_cleaned_by_the_sweeper()
     {
        let w = World::default();
        let request = w.provisioning().await;
        intake(
            &w.store,
            &w.chat,
            &StaticDirectory::default(),
            &RecordingWorkflow::default(),
            &[cluster()],
            now(),
        )
        .cancel(request.id(), request.requester())
        .await
        .unwrap();

        let kept = w.sweep_at(now() + Duration::minutes(10)).await;
        let report = w.sweep_at(now() + Duration::minutes(16)).await;
        let again = w.sweep_at(now() + Duration::minutes(17)).await;

        assert_eq!(
            kept.actions,
            vec![],
            "the workflow's teardown gets its grace"
        );
        let cleaned = w.get(request.id()).await;
        assert_eq!(cleaned.state(), RequestState::Cancelled);
        assert!(!cleaned.cleanup_owed());
        assert!(w.accounts.password_of(request.db_username()).is_none());
        assert!(!w.vault.holds(request.id()));
        assert_eq!(w.fleet.terminated().len(), 1);
        assert!(
            matches!(&report.actions[..], [SweepAction::Settled { detail, .. }]
            if detail.starts_with("cleaned up after its cancellation while provisioning")),
            "{report:?}"
        );
        assert_eq!(again.actions, vec![]);
    }

    #[tokio::test]
    async fn orphans_go_and_an_active_request_keeps_its_own() {
        let w = World::default();
        let active = w.active().await;
        let nobody = RequestId::generate(now(), &mut rand::rng());
        let stray = w.stray_account("stray_user", nobody).await;
        // A request that expired, yet a DB user, a secret and a bastion name it.
        let expired = pending(&w.store, "U3").await;
        base(&w.store, &w.chat, &[cluster()], now())
            .expire(expired.id())
            .await
            .unwrap();
        w.stray_account("leftover", expired.id()).await;
        w.vault
            .put(
                expired.id(),
                &DbUsername::parse("leftover").unwrap(),
                &DbPassword::generate(),
                now(),
            )
            .await
            .unwrap();
        w.fleet.launch(expired.id(), now(), None).await.unwrap();

        let report = w.sweep_at(now() + Duration::minutes(10)).await;

        let mut kinds = removed_kinds(&report);
        kinds.sort();
        assert_eq!(
            kinds,
            vec![
                (ResourceKind::Account, false),
                (ResourceKind::Account, true),
                (ResourceKind::Secret, false),
                (ResourceKind::Bastion, false),
            ]
        );
        assert!(w.accounts.password_of(&stray).is_none());
        assert!(w.accounts.password_of(active.db_username()).is_some());
        assert!(w.vault.holds(active.id()));
        assert!(!w.vault.holds(expired.id()));
        assert_eq!(report.orphans_found(), 4);
        let orphans = w.store.orphans(10).await.unwrap();
        assert_eq!(orphans.len(), 1);
        assert_eq!(orphans[0].resource, "stray_user@orders-prod");
        assert_eq!(orphans[0].request, Some(nobody));
        assert_eq!(sweeper_notes(&w.get(expired.id()).await).len(), 3);
        assert_eq!(
            sweeper_notes(&w.get(active.id()).await),
            Vec::<String>::new()
        );
        assert_eq!(
            w.sweep_at(now() + Duration::minutes(11)).await.actions,
            vec![]
        );
    }

    #[tokio::test]
    async fn anything_older_than_a_day_goes_whatever_the_store_says() {
        let w = World::default();
        let request = w.active().await;

        let report = w.sweep_at(now() + Duration::hours(25)).await;

        // The request itself was settled first (its window ended long ago); nothing is left.
        assert_eq!(w.get(request.id()).await.state(), RequestState::Ended);
        assert!(w.accounts.password_of(request.db_username()).is_none());
        assert_eq!(report.oldest_account, None);
        assert_eq!(report.oldest_bastion, None);
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_problem_for_the_report_not_a_failed_sweep() {
        let w = World::default();
        let request = w.active().await;
        w.accounts
            .down
            .store(true, std::sync::atomic::Ordering::SeqCst);

        let report = w
            .sweep_at(request.window().end() + Duration::minutes(20))
            .await;

        assert_eq!(w.get(request.id()).await.state(), RequestState::Ending);
        assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
        assert!(
            report.problems[0].contains("connection refused"),
            "{:?}",
            report.problems
        );
        w.accounts
            .down
            .store(false, std::sync::atomic::Ordering::SeqCst);
        let retried = w
            .sweep_at(request.window().end() + Duration::minutes(25))
            .await;
        assert_eq!(w.get(request.id()).await.state(), RequestState::Ended);
        assert_eq!(retried.problems, Vec::<String>::new());
    }
}
