//! Deciding a request: an approver's Approve or Deny click, recorded once, then the waiting
//! workflow resumed and the approval card redrawn.

use time::Duration;

use super::WORKFLOW;
use crate::broker::{Broker, IntakePorts};
use crate::error::{Error, Result};
use crate::ids::{RequestId, SlackUserId};
use crate::lifecycle::{AccessRequest, Actor, Approval, RequestState, Transition};
use crate::ports::{Decision, Notice, RequestStore, Workflow};

pub use crate::lifecycle::{NOT_RESUMED, RESUMED_LATER};

/// How many times a click is recorded again after a concurrent change to its request (another
/// approver's click) before the approver is asked to try again.
const DECIDE_ATTEMPTS: usize = 8;

/// How far ahead an approved request's start may be and still be looked at for an approval
/// that did not reach its workflow (starts are at most days ahead).
const APPROVED_HORIZON: Duration = Duration::days(400);

/// What a click on Approve or Deny did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided {
    /// This click decided the request: the decision is recorded, the workflow resumed.
    Now(AccessRequest),
    /// The request had already left `Pending` (decided by someone, expired or cancelled);
    /// nothing changed. [`AccessRequest::decision`] says by whom and when.
    Already(AccessRequest),
    /// The approval is recorded, and the request needs more from other approvers
    /// ([`AccessRequest::approvals`] of [`AccessRequest::required_approvals`]); the workflow
    /// still waits.
    Counted(AccessRequest),
    /// This approver had already approved the pending request: the same person counts once,
    /// nothing changed.
    Repeated(AccessRequest),
}

impl<P: IntakePorts> Broker<P> {
    /// Records `approver`'s `decision` on request `id`, resumes the workflow waiting on it and
    /// redraws the approval card; a decision made now observes `TimeToApprove`.
    ///
    /// A request that needs several approvals ([`AccessRequest::required_approvals`]) counts
    /// each distinct approver ([`Decided::Counted`], the card redrawn "1 of 2"); the workflow
    /// is resumed only by the last approval needed, or at once by the first Deny.
    ///
    /// Writes are conditional: a click that crosses another one (two approvers at once) is
    /// recorded again on the request as the other left it, so neither is lost; of two
    /// concurrent decisive clicks exactly one wins and the other, and any later click, gets
    /// [`Decided::Already`]. A card that cannot be redrawn is logged, not an error: the
    /// decision stands.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown request; [`Error::NotAllowed`] when the approver is
    /// the requester; [`Error::Conflict`] when the workflow has not opened the approval yet; the
    /// store's errors. A workflow that cannot be resumed is not an error: the decision is
    /// recorded with a note, keeps its task token, and [`Broker::resume_undelivered`] (every
    /// minute) sends it again — an approval or a denial alike.
    pub async fn decide(
        &self,
        id: RequestId,
        approver: &SlackUserId,
        decision: Decision,
    ) -> Result<Decided> {
        let now = self.now();
        let (mut request, token) = 'record: {
            for _ in 0..DECIDE_ATTEMPTS {
                let mut request = self.load(id).await?;
                if request.state() != RequestState::Pending {
                    return Ok(Decided::Already(request));
                }
                let Some(token) = request.resources().approval_token.clone() else {
                    return Err(Error::Conflict(format!(
                        "request {id} is not waiting for a decision yet"
                    )));
                };
                let expected = request.version();
                let counted = match decision {
                    Decision::Approve => match request.approve_by(approver, now)? {
                        Approval::Repeated => return Ok(Decided::Repeated(request)),
                        Approval::Counted { .. } => true,
                        Approval::Complete => false,
                    },
                    Decision::Deny => {
                        request.apply(Transition::Deny, Actor::User(approver.clone()), now, "")?;
                        false
                    }
                };
                match self.store().update(&request, expected).await {
                    Ok(()) if counted => {
                        self.redraw(&request).await;
                        return Ok(Decided::Counted(request));
                    }
                    Ok(()) => break 'record (request, token),
                    Err(Error::Conflict(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            return Err(Error::Conflict(format!(
                "request {id} changed while it was being decided; try again"
            )));
        };
        if let Err(error) = self.workflow().resume(&token, decision).await {
            let reason = error.describe();
            tracing::warn!(request = %id, %reason, "the decision is recorded but the workflow was not resumed");
            let expected = request.version();
            request.record_step(
                Actor::User(approver.clone()),
                now,
                format!(
                    "{NOT_RESUMED} ({reason}); it is sent again within a minute, or taken at \
                     the approval deadline"
                ),
            );
            if let Err(error) = self.store().update(&request, expected).await {
                tracing::warn!(request = %id, %error, "the note about the workflow was not stored");
                request = self.load(id).await?;
            }
        }
        self.redraw(&request).await;
        self.observe(&request, now);
        Ok(Decided::Now(request))
    }

    /// Sends every decision (approval or denial) that did not reach its workflow (see
    /// [`Broker::decide`]) again, with the task token the request kept; a token the workflow
    /// no longer knows (it took the decision after all, or its gate timed out and took the
    /// recorded decision) settles it too. Returns how many were sent.
    ///
    /// # Errors
    /// The store's error when the decided requests cannot be listed; a workflow that still
    /// does not answer is left for the next call.
    pub async fn resume_undelivered(&self) -> Result<usize> {
        let now = self.now();
        let mut sent = 0;
        for (state, decision) in [
            (RequestState::Approved, Decision::Approve),
            (RequestState::Denied, Decision::Deny),
        ] {
            let decided = self.store().due(state, now + APPROVED_HORIZON).await?;
            for request in decided
                .into_iter()
                .filter(AccessRequest::decision_undelivered)
            {
                sent += usize::from(self.resume_again(request, decision, now).await);
            }
        }
        Ok(sent)
    }

    /// Sends `request`'s recorded `decision` to its workflow again and notes it; whether it
    /// reached the workflow (or the workflow had already taken it).
    async fn resume_again(
        &self,
        mut request: AccessRequest,
        decision: Decision,
        now: time::OffsetDateTime,
    ) -> bool {
        let Some(token) = request.resources().approval_token.clone() else {
            return false;
        };
        let note = match self.workflow().resume(&token, decision).await {
            Ok(()) => RESUMED_LATER.to_owned(),
            Err(Error::NotFound(_)) => format!("{RESUMED_LATER}: its task had already taken it"),
            Err(e) => {
                tracing::warn!(request = %request.id(), reason = %e.describe(), "the decision still did not reach the workflow");
                return false;
            }
        };
        let expected = request.version();
        request.record_step(WORKFLOW, now, note);
        if let Err(e) = self.store().update(&request, expected).await {
            tracing::warn!(request = %request.id(), reason = %e.describe(), "the note about the resumed workflow was not stored");
        }
        true
    }
}

/// What a cancellation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancelled {
    /// Cancelled now: the workflow is stopped and nothing more will be created (what
    /// provisioning already made is being removed by the workflow's teardown-only run).
    Now(AccessRequest),
    /// Already cancelled, or over (denied, expired, ended, failed): nothing changed.
    Already(AccessRequest),
}

impl<P: IntakePorts> Broker<P> {
    /// The requester withdraws request `id` before its access starts (pending, approved and
    /// waiting for its start, or provisioning): recorded, the workflow stopped — or, once
    /// provisioning began, switched to its teardown-only run, which removes what was made — and
    /// the card redrawn "cancelled by".
    ///
    /// # Errors
    /// [`Error::NotAllowed`] when `user` is not the requester; [`Error::IllegalTransition`] once
    /// access is live (it is ended then, not cancelled); the store's and the workflow's errors.
    pub async fn cancel(&self, id: RequestId, user: &SlackUserId) -> Result<Cancelled> {
        let request = self.load(id).await?;
        if request.requester() != user {
            return Err(Error::NotAllowed(
                "only the requester or an approver can cancel a request",
            ));
        }
        self.withdraw(request, user, "cancelled by the requester")
            .await
    }

    /// An approver cancels request `id` before its access starts, as [`Broker::cancel`]; the
    /// requester is told who. Whether `approver` may is the driver's approver policy, asked
    /// before this is called.
    ///
    /// # Errors
    /// As [`Broker::cancel`], without the requester check.
    pub async fn cancel_as_approver(
        &self,
        id: RequestId,
        approver: &SlackUserId,
    ) -> Result<Cancelled> {
        let request = self.load(id).await?;
        let outcome = self
            .withdraw(
                request,
                approver,
                &format!("cancelled by approver {approver}"),
            )
            .await?;
        if let Cancelled::Now(request) = &outcome {
            let mut told = request.clone();
            let notice = Notice::Cancelled {
                request: id,
                by: approver.clone(),
            };
            self.tell(&mut told, &notice, self.now()).await?;
            return Ok(Cancelled::Now(told));
        }
        Ok(outcome)
    }

    async fn withdraw(
        &self,
        mut request: AccessRequest,
        user: &SlackUserId,
        detail: &str,
    ) -> Result<Cancelled> {
        let id = request.id();
        let mut attempts = 0;
        loop {
            match request.state() {
                RequestState::Pending | RequestState::Approved | RequestState::Provisioning => {}
                from @ (RequestState::Active | RequestState::Ending) => {
                    return Err(Error::IllegalTransition {
                        from,
                        transition: Transition::Cancel,
                    });
                }
                _ => return Ok(Cancelled::Already(request)),
            }
            let expected = request.version();
            let mut cancelled = request.clone();
            cancelled.apply(
                Transition::Cancel,
                Actor::User(user.clone()),
                self.now(),
                detail,
            )?;
            match self.store().update(&cancelled, expected).await {
                Ok(()) => {
                    request = cancelled;
                    break;
                }
                Err(Error::Conflict(_)) if attempts < CANCEL_ATTEMPTS => {
                    attempts += 1;
                    request = self.load(id).await?;
                }
                Err(Error::Conflict(_)) => {
                    return Err(Error::Conflict(format!(
                        "request {id} changed while it was being cancelled; try again"
                    )));
                }
                Err(e) => return Err(e),
            }
        }
        if request.provisioning_started() {
            self.workflow().end_early(id).await?;
        } else {
            self.workflow().stop(id, detail).await?;
        }
        self.redraw(&request).await;
        Ok(Cancelled::Now(request))
    }
}

/// How many times a cancellation that lost a race with the workflow (the request moved on
/// while it was being cancelled) is tried again on the request as it now is.
const CANCEL_ATTEMPTS: u32 = 3;

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::EventKind;
    use crate::memory::MemoryStore;
    use crate::ports::TaskToken;
    use crate::usecases::Teardown;
    use crate::usecases::fakes::*;
    use crate::usecases::fakes::{RecordingChat, RecordingWorkflow, now, pending_with_card, user};

    /// A store, a workflow and Slack, all recording.
    fn parts() -> (MemoryStore, RecordingWorkflow, RecordingChat) {
        (
            MemoryStore::new(),
            RecordingWorkflow::default(),
            RecordingChat::default(),
        )
    }

    #[tokio::test]
    async fn approving_records_who_resumes_the_workflow_and_redraws_the_card() {
        let (store, workflow, chat) = parts();
        let request = pending_with_card(&store, &chat, "U1").await;

        let outcome = intake(
            &store,
            &chat,
            &StaticDirectory::default(),
            &workflow,
            &[cluster()],
            now(),
        )
        .decide(request.id(), &user("U2"), Decision::Approve)
        .await
        .unwrap();

        let Decided::Now(decided) = outcome else {
            panic!("expected a decision, got {outcome:?}")
        };
        assert_eq!(decided.state(), RequestState::Approved);
        let event = decided.decision().unwrap();
        assert_eq!(
            (event.kind, &event.actor),
            (EventKind::Approved, &Actor::User(user("U2")))
        );
        assert_eq!(
            store.get(request.id()).await.unwrap(),
            Some(decided.clone())
        );
        assert_eq!(
            workflow.resumed(),
            vec![(TaskToken("token-1".into()), Decision::Approve)]
        );
        assert_eq!(chat.card_states(), vec![RequestState::Approved]);
    }

    /// The test cluster, READ needing two approvals.
    fn needing_two() -> crate::ClusterPolicy {
        use crate::{ApprovalPolicy, ApprovalRules, Approvers, Permission, RequiredApprovals};
        cluster().with_approval(
            ApprovalRules::default().with_level(
                Permission::Read,
                ApprovalPolicy::new(
                    Approvers::AnyChannelMember,
                    RequiredApprovals::new(2).unwrap(),
                )
                .unwrap(),
            ),
        )
    }

    /// A READ request of `U1` submitted under [`needing_two`], its gate open with `token-1`.
    async fn pending_needing_two(
        store: &MemoryStore,
        chat: &RecordingChat,
        workflow: &RecordingWorkflow,
    ) -> AccessRequest {
        let directory = StaticDirectory::with(&user("U1"), "a@example.com");
        let clusters = [needing_two()];
        let crate::usecases::Submission::Recorded(request) =
            intake(store, chat, &directory, workflow, &clusters, now())
                .submit(&user("U1"), &form())
                .await
                .unwrap()
        else {
            panic!("not recorded")
        };
        base(store, chat, &clusters, now())
            .open_approval(request.id(), TaskToken("token-1".into()))
            .await
            .unwrap();
        chat.forget();
        store.get(request.id()).await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn two_distinct_approvers_are_needed_and_only_the_second_releases_the_workflow() {
        let (store, workflow, chat) = parts();
        let request = pending_needing_two(&store, &chat, &workflow).await;
        let directory = StaticDirectory::default();
        let broker = intake(
            &store,
            &chat,
            &directory,
            &workflow,
            &[needing_two()],
            now(),
        );

        let first = broker
            .decide(request.id(), &user("U2"), Decision::Approve)
            .await
            .unwrap();
        let again = broker
            .decide(request.id(), &user("U2"), Decision::Approve)
            .await
            .unwrap();
        let own = broker
            .decide(request.id(), &user("U1"), Decision::Approve)
            .await
            .unwrap_err();

        assert!(matches!(&first, Decided::Counted(r) if r.state() == RequestState::Pending));
        assert!(matches!(again, Decided::Repeated(_)), "{again:?}");
        assert!(matches!(own, Error::NotAllowed(_)), "{own}");
        assert!(workflow.resumed().is_empty(), "one of two approvals");
        assert_eq!(chat.card_states(), vec![RequestState::Pending]);
        let stored = store.get(request.id()).await.unwrap().unwrap();
        assert_eq!(stored.approvals(), [&user("U2")]);
        assert_eq!(
            stored.events().last().map(|e| (e.kind, e.detail.as_str())),
            Some((EventKind::ApprovalGiven, "approval 1 of 2"))
        );

        let second = broker
            .decide(request.id(), &user("U3"), Decision::Approve)
            .await
            .unwrap();

        let Decided::Now(approved) = second else {
            panic!("the second approval decides: {second:?}")
        };
        assert_eq!(approved.state(), RequestState::Approved);
        assert_eq!(approved.approvals(), [&user("U2"), &user("U3")]);
        assert_eq!(
            workflow.resumed(),
            vec![(TaskToken("token-1".into()), Decision::Approve)]
        );
    }

    #[tokio::test]
    async fn one_deny_ends_a_request_that_has_one_of_two_approvals() {
        let (store, workflow, chat) = parts();
        let request = pending_needing_two(&store, &chat, &workflow).await;
        let directory = StaticDirectory::default();
        let broker = intake(
            &store,
            &chat,
            &directory,
            &workflow,
            &[needing_two()],
            now(),
        );
        broker
            .decide(request.id(), &user("U2"), Decision::Approve)
            .await
            .unwrap();

        let denied = broker
            .decide(request.id(), &user("U3"), Decision::Deny)
            .await
            .unwrap();

        assert!(matches!(&denied, Decided::Now(r) if r.state() == RequestState::Denied));
        assert_eq!(
            workflow.resumed(),
            vec![(TaskToken("token-1".into()), Decision::Deny)]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_approvers_clicking_at_once_are_both_counted() {
        for _ in 0..20 {
            let store = Arc::new(MemoryStore::new());
            let workflow = Arc::new(RecordingWorkflow::default());
            let chat = Arc::new(RecordingChat::default());
            let id = pending_needing_two(&store, &chat, &workflow).await.id();

            let clicks: Vec<_> = ["U2", "U3"]
                .into_iter()
                .map(|who| {
                    let (store, workflow, chat) = (store.clone(), workflow.clone(), chat.clone());
                    tokio::spawn(async move {
                        intake(
                            store.as_ref(),
                            chat.as_ref(),
                            &StaticDirectory::default(),
                            workflow.as_ref(),
                            &[needing_two()],
                            now(),
                        )
                        .decide(id, &user(who), Decision::Approve)
                        .await
                    })
                })
                .collect();
            for click in clicks {
                click.await.unwrap().unwrap();
            }

            let stored = store.get(id).await.unwrap().unwrap();
            assert_eq!(
                stored.state(),
                RequestState::Approved,
                "{:?}",
                stored.events()
            );
            assert_eq!(stored.approvals().len(), 2);
            assert_eq!(workflow.resumed().len(), 1);
        }
    }

    #[tokio::test]
    async fn an_approval_the_workflow_missed_is_recorded_and_sent_again_once_it_answers() {
        let (store, workflow, chat) = parts();
        workflow
            .resume_fails
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let request = pending_with_card(&store, &chat, "U1").await;

        let outcome = intake(
            &store,
            &chat,
            &StaticDirectory::default(),
            &workflow,
            &[cluster()],
            now(),
        )
        .decide(request.id(), &user("U2"), Decision::Approve)
        .await
        .unwrap();

        let Decided::Now(decided) = outcome else {
            panic!("the click decided: {outcome:?}")
        };
        let stored = store.get(request.id()).await.unwrap().unwrap();
        assert_eq!(stored, decided);
        assert_eq!(stored.state(), RequestState::Approved);
        assert!(
            stored.events().iter().any(|e| e.kind == EventKind::Step
                && e.detail.contains("ThrottlingException")
                && e.detail.contains("sent again within a minute")),
            "{:?}",
            stored.events()
        );
        assert_eq!(chat.card_states(), vec![RequestState::Approved]);

        let directory = StaticDirectory::default();
        let broker = intake(&store, &chat, &directory, &workflow, &[cluster()], now());
        assert_eq!(
            broker.resume_undelivered().await.unwrap(),
            0,
            "still throttled"
        );
        workflow
            .resume_fails
            .store(false, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(broker.resume_undelivered().await.unwrap(), 1);
        assert_eq!(broker.resume_undelivered().await.unwrap(), 0, "sent once");
        assert_eq!(
            workflow.resumed(),
            vec![(TaskToken("token-1".into()), Decision::Approve)],
            "with the token the gate is waiting on"
        );
        let resumed = store.get(request.id()).await.unwrap().unwrap();
        assert_eq!(
            resumed.events().last().map(|e| e.detail.as_str()),
            Some(RESUMED_LATER)
        );
    }

    #[tokio::test]
    async fn a_denial_the_workflow_missed_stays_due_and_is_sent_again_once_it_answers() {
        let (store, workflow, chat) = parts();
        workflow
            .resume_fails
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let request = pending_with_card(&store, &chat, "U1").await;
        let directory = StaticDirectory::default();
        let broker = intake(&store, &chat, &directory, &workflow, &[cluster()], now());

        broker
            .decide(request.id(), &user("U2"), Decision::Deny)
            .await
            .unwrap();

        let denied = store.get(request.id()).await.unwrap().unwrap();
        assert_eq!(denied.state(), RequestState::Denied);
        assert!(denied.decision_undelivered(), "{:?}", denied.events());
        assert_eq!(
            store
                .due(RequestState::Denied, now() + Duration::days(1))
                .await
                .unwrap()
                .len(),
            1,
            "the undelivered denial is due"
        );
        assert_eq!(
            broker.resume_undelivered().await.unwrap(),
            0,
            "still failing"
        );
        workflow
            .resume_fails
            .store(false, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(broker.resume_undelivered().await.unwrap(), 1);
        assert_eq!(broker.resume_undelivered().await.unwrap(), 0, "sent once");
        assert_eq!(
            workflow.resumed(),
            vec![(TaskToken("token-1".into()), Decision::Deny)],
            "the denial, with the token the gate is waiting on"
        );
        let delivered = store.get(request.id()).await.unwrap().unwrap();
        assert!(!delivered.decision_undelivered());
        assert_eq!(delivered.deadline(), None, "nothing is due any more");
    }

    #[tokio::test]
    async fn approvals_that_reached_their_workflow_are_not_sent_again() {
        let (store, workflow, chat) = parts();
        let request = pending_with_card(&store, &chat, "U1").await;
        let directory = StaticDirectory::default();
        let broker = intake(&store, &chat, &directory, &workflow, &[cluster()], now());
        broker
            .decide(request.id(), &user("U2"), Decision::Approve)
            .await
            .unwrap();

        assert_eq!(broker.resume_undelivered().await.unwrap(), 0);
        assert_eq!(workflow.resumed().len(), 1);
    }

    #[tokio::test]
    async fn the_requester_cancels_a_pending_request_and_nobody_else_can_but_approvers() {
        let (store, workflow, chat) = parts();
        let request = pending_with_card(&store, &chat, "U1").await;
        let directory = StaticDirectory::default();
        let broker = intake(&store, &chat, &directory, &workflow, &[cluster()], now());

        let stranger = broker.cancel(request.id(), &user("U9")).await.unwrap_err();
        let Cancelled::Now(cancelled) = broker.cancel(request.id(), &user("U1")).await.unwrap()
        else {
            panic!("not cancelled")
        };
        let again = broker.cancel(request.id(), &user("U1")).await.unwrap();

        assert!(matches!(stranger, Error::NotAllowed(_)), "{stranger}");
        assert_eq!(cancelled.state(), RequestState::Cancelled);
        assert!(matches!(again, Cancelled::Already(_)));
        assert_eq!(
            store.get(request.id()).await.unwrap().unwrap().state(),
            RequestState::Cancelled
        );
        assert_eq!(
            workflow.stopped(),
            vec![request.id()],
            "the workflow is stopped once"
        );
        assert_eq!(chat.card_states(), vec![RequestState::Cancelled]);
        assert!(
            chat.notices().is_empty(),
            "the requester knows: they did it"
        );
    }

    #[tokio::test]
    async fn an_approver_cancels_an_approved_request_before_its_start_and_the_requester_is_told() {
        let (store, workflow, chat) = parts();
        let request = approved(&store, &chat).await;
        let directory = StaticDirectory::default();
        let broker = intake(&store, &chat, &directory, &workflow, &[cluster()], now());

        let outcome = broker
            .cancel_as_approver(request.id(), &user("U2"))
            .await
            .unwrap();

        assert!(matches!(&outcome, Cancelled::Now(r) if r.state() == RequestState::Cancelled));
        assert_eq!(
            chat.notices(),
            vec![Notice::Cancelled {
                request: request.id(),
                by: user("U2")
            }]
        );
        assert_eq!(workflow.stopped(), vec![request.id()]);
    }

    #[tokio::test]
    async fn live_access_is_not_cancelled_but_ended() {
        let (store, workflow, chat) = parts();
        let live = active(&store, &chat).await;
        let directory = StaticDirectory::default();
        let broker = intake(&store, &chat, &directory, &workflow, &[cluster()], now());

        let refused = broker
            .cancel(live.id(), live.requester())
            .await
            .unwrap_err();

        assert!(
            matches!(refused, Error::IllegalTransition { .. }),
            "{refused}"
        );
        assert!(workflow.stopped().is_empty());
    }

    #[tokio::test]
    async fn a_request_cancelled_while_provisioning_has_what_was_made_removed_by_the_teardown_run()
    {
        let (w, workflow) = (Live::default(), RecordingWorkflow::default());
        let request = w.provisioning().await;
        let directory = StaticDirectory::default();
        let broker = intake(
            &w.store,
            &w.chat,
            &directory,
            &workflow,
            &[cluster()],
            now(),
        );

        let outcome = broker.cancel(request.id(), &user("U1")).await.unwrap();
        let Cancelled::Now(cancelled) = outcome else {
            panic!("not cancelled: {outcome:?}")
        };
        assert!(cancelled.cleanup_owed());
        assert_eq!(workflow.ended_early(), vec![request.id()]);
        assert!(
            workflow.stopped().is_empty(),
            "the teardown run replaces it"
        );
        assert_eq!(
            w.chat.card_states().last(),
            Some(&RequestState::Cancelled),
            "the card says cancelled"
        );
        let cleaned = w.tear(request.id(), Teardown::End).await.unwrap();

        assert_eq!(cleaned.state(), RequestState::Cancelled);
        assert!(!cleaned.cleanup_owed());
        assert!(w.accounts.password_of(request.db_username()).is_none());
        assert!(!w.vault.holds(request.id()));
        assert_eq!(w.fleet.terminated().len(), 1);
    }

    #[tokio::test]
    async fn denying_resumes_the_workflow_with_deny() {
        let (store, workflow, chat) = parts();
        let request = pending_with_card(&store, &chat, "U1").await;

        intake(
            &store,
            &chat,
            &StaticDirectory::default(),
            &workflow,
            &[cluster()],
            now(),
        )
        .decide(request.id(), &user("U2"), Decision::Deny)
        .await
        .unwrap();

        assert_eq!(workflow.resumed()[0].1, Decision::Deny);
        assert_eq!(
            store.get(request.id()).await.unwrap().unwrap().state(),
            RequestState::Denied
        );
    }

    #[tokio::test]
    async fn the_requester_cannot_decide_and_nothing_changes() {
        let (store, workflow, chat) = parts();
        let request = pending_with_card(&store, &chat, "U1").await;

        let err = intake(
            &store,
            &chat,
            &StaticDirectory::default(),
            &workflow,
            &[cluster()],
            now(),
        )
        .decide(request.id(), &user("U1"), Decision::Approve)
        .await
        .unwrap_err();

        assert!(matches!(err, Error::NotAllowed(_)), "{err}");
        assert_eq!(store.get(request.id()).await.unwrap(), Some(request));
        assert!(workflow.resumed().is_empty());
        assert!(chat.card_states().is_empty());
    }

    #[tokio::test]
    async fn a_second_click_is_answered_with_the_first_decision_and_changes_nothing() {
        let (store, workflow, chat) = parts();
        let request = pending_with_card(&store, &chat, "U1").await;
        intake(
            &store,
            &chat,
            &StaticDirectory::default(),
            &workflow,
            &[cluster()],
            now(),
        )
        .decide(request.id(), &user("U2"), Decision::Approve)
        .await
        .unwrap();

        let outcome = intake(
            &store,
            &chat,
            &StaticDirectory::default(),
            &workflow,
            &[cluster()],
            now(),
        )
        .decide(request.id(), &user("U3"), Decision::Deny)
        .await
        .unwrap();

        let Decided::Already(current) = outcome else {
            panic!("expected already decided, got {outcome:?}")
        };
        assert_eq!(current.decision().unwrap().actor, Actor::User(user("U2")));
        assert_eq!(current.state(), RequestState::Approved);
        assert_eq!(workflow.resumed().len(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn of_concurrent_clicks_exactly_one_decides() {
        let store = Arc::new(MemoryStore::new());
        let workflow = Arc::new(RecordingWorkflow::default());
        let chat = Arc::new(RecordingChat::default());
        let id = pending_with_card(store.as_ref(), chat.as_ref(), "U1")
            .await
            .id();

        let clicks: Vec<_> = (0..8)
            .map(|i| {
                let (store, workflow, chat) = (store.clone(), workflow.clone(), chat.clone());
                let decision = if i % 2 == 0 {
                    Decision::Approve
                } else {
                    Decision::Deny
                };
                tokio::spawn(async move {
                    intake(
                        store.as_ref(),
                        chat.as_ref(),
                        &StaticDirectory::default(),
                        workflow.as_ref(),
                        &[cluster()],
                        now(),
                    )
                    .decide(id, &user(&format!("U{}", i + 10)), decision)
                    .await
                })
            })
            .collect();
        let mut now_count = 0;
        for click in clicks {
            if matches!(click.await.unwrap().unwrap(), Decided::Now(_)) {
                now_count += 1;
            }
        }

        assert_eq!(now_count, 1);
        assert_eq!(workflow.resumed().len(), 1);
    }

    #[tokio::test]
    async fn a_click_before_the_workflow_opened_the_approval_is_a_conflict() {
        let (store, workflow, chat) = parts();
        let request = crate::usecases::fakes::pending(&store, "U1").await;

        let err = intake(
            &store,
            &chat,
            &StaticDirectory::default(),
            &workflow,
            &[cluster()],
            now(),
        )
        .decide(request.id(), &user("U2"), Decision::Approve)
        .await
        .unwrap_err();

        assert!(matches!(err, Error::Conflict(_)), "{err}");
        assert_eq!(
            store.get(request.id()).await.unwrap().unwrap().state(),
            RequestState::Pending
        );
    }

    #[tokio::test]
    async fn a_card_that_cannot_be_redrawn_does_not_undo_the_decision() {
        let (store, workflow, chat) = parts();
        let request = pending_with_card(&store, &chat, "U1").await;
        chat.fail_updates();

        let outcome = intake(
            &store,
            &chat,
            &StaticDirectory::default(),
            &workflow,
            &[cluster()],
            now(),
        )
        .decide(request.id(), &user("U2"), Decision::Approve)
        .await
        .unwrap();

        assert!(matches!(outcome, Decided::Now(_)));
        assert_eq!(workflow.resumed().len(), 1);
    }
}
