//! Ending access: the 10-minute warning, the teardown at the end (or after a failure), the
//! requester's "End now" and an approver's "Revoke now", and marking a request failed — plus the
//! two ends a request can have before access: denied and expired.
//!
//! Messages to the requester never block a step: a lost one is recorded on the request.

use crate::broker::{AccessPorts, Broker, BrokerPorts, IntakePorts};
use crate::error::{Error, Result};
use crate::extension::Extension;
use crate::ids::{RequestId, SlackUserId};
use crate::lifecycle::{AccessRequest, Actor, EventKind, RequestState, Transition};
use crate::ports::{
    BastionFleet, DbAccounts, Decision, Notice, Removal, RequestStore, SecretVault, Workflow,
};

use super::WORKFLOW;

/// Why the teardown runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Teardown {
    /// The window ended (or the requester ended it): the request ends normally.
    End,
    /// A step failed: remove whatever exists, and leave the request for
    /// [`Broker::mark_failed`].
    AfterFailure,
}

/// What an "End now" or "Revoke now" click did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndNow {
    /// Access is being removed now.
    Ending(AccessRequest),
    /// It was already ending or over; nothing changed.
    Already(AccessRequest),
}

impl<P: BrokerPorts> Broker<P> {
    /// Tells the requester of active request `id` that access ends soon and how long is left
    /// (with "Extend" and "End now" buttons). Anything but an active request is left alone, and
    /// so is a warning due later because an extension moved the end since the workflow
    /// scheduled it (the workflow warns again before the new end).
    ///
    /// # Errors
    /// The store's errors.
    pub async fn warn(&self, id: RequestId) -> Result<()> {
        let now = self.now();
        let mut request = self.load(id).await?;
        if request.state() != RequestState::Active {
            return Ok(());
        }
        let window = request.window();
        let moved = request.extensions().iter().any(Extension::is_approved);
        if moved && now < window.warning_at(super::WARNING_LEAD) - crate::extension::DECISION_CUTOFF
        {
            return Ok(());
        }
        let ends_at = window.end();
        let notice = Notice::EndingSoon {
            request: id,
            ends_at,
            left: (ends_at - now).max(time::Duration::ZERO),
        };
        self.tell(&mut request, &notice, now).await
    }

    /// Marks request `id` failed with `what` went wrong, tells the requester (saying whether
    /// everything was already removed) and redraws the card; observes `BuildFailed` or
    /// `TeardownFailed`. A request already finished is left alone.
    ///
    /// # Errors
    /// The store's errors.
    pub async fn mark_failed(&self, id: RequestId, what: &str) -> Result<AccessRequest> {
        let now = self.now();
        let mut request = self.load(id).await?;
        if request.state().is_terminal() {
            self.observe(&request, now);
            return Ok(request);
        }
        let expected = request.version();
        request.apply(Transition::Fail, WORKFLOW, now, what)?;
        self.store().update(&request, expected).await?;
        let what = if request.cleanup_owed() {
            format!(
                "{what} — some of what was created may still exist; the broker keeps trying to remove it"
            )
        } else {
            what.to_owned()
        };
        self.tell(&mut request, &Notice::Failed { request: id, what }, now)
            .await?;
        self.redraw(&request).await;
        self.observe(&request, now);
        Ok(request)
    }

    /// Tells the requester of denied request `id` who denied it.
    ///
    /// # Errors
    /// The store's errors.
    pub async fn tell_denied(&self, id: RequestId) -> Result<()> {
        let now = self.now();
        let mut request = self.load(id).await?;
        let Some(Actor::User(by)) = request
            .decision()
            .filter(|e| e.kind == EventKind::Denied)
            .map(|e| e.actor.clone())
        else {
            return Ok(());
        };
        self.tell(&mut request, &Notice::Denied { request: id, by }, now)
            .await
    }

    /// The approval gate timed out: an undecided request expires (card redrawn, requester
    /// told). Returns the decision as the gate would have, for the workflow to follow:
    /// `Some(Approve)` / `Some(Deny)` when a decision was recorded but never reached the
    /// workflow, `None` when the request expired or was cancelled.
    ///
    /// # Errors
    /// The store's errors.
    pub async fn expire(&self, id: RequestId) -> Result<Option<Decision>> {
        let now = self.now();
        let mut request = self.load(id).await?;
        if request.state() == RequestState::Pending {
            let expected = request.version();
            request.apply(Transition::Expire, WORKFLOW, now, "nobody decided in time")?;
            self.store().update(&request, expected).await?;
            self.redraw(&request).await;
            self.tell(&mut request, &Notice::Expired { request: id }, now)
                .await?;
            return Ok(None);
        }
        Ok(match request.decision().map(|e| e.kind) {
            Some(EventKind::Approved) => Some(Decision::Approve),
            Some(EventKind::Denied) => Some(Decision::Deny),
            _ => None,
        })
    }
}

impl<P: AccessPorts> Broker<P> {
    /// Removes everything request `id` created — locks the DB user, kills its sessions, drops
    /// it, deletes the secret, terminates the bastion — and records it. For [`Teardown::End`]
    /// the request moves through ending to ended and the requester is told. Running it again
    /// finds everything gone and succeeds. Observes `TeardownSucceeded` once everything is
    /// removed.
    ///
    /// # Errors
    /// The ports' errors (a server that is down is retryable); nothing is recorded as cleaned
    /// up unless every removal succeeded.
    pub async fn teardown(&self, id: RequestId, why: Teardown) -> Result<AccessRequest> {
        let store = self.store();
        let now = self.now();
        let mut request = self.load(id).await?;
        self.lapse_pending_extension(&mut request, now).await?;
        if why == Teardown::End && request.state() == RequestState::Active {
            let expected = request.version();
            request.apply(Transition::StartTeardown, WORKFLOW, now, "the window ended")?;
            store.update(&request, expected).await?;
        }
        let cleaned = request
            .events()
            .iter()
            .any(|e| e.kind == EventKind::CleanedUp);
        if request.provisioning_started() && !cleaned {
            let detail = self.remove_made(&request).await?;
            let expected = request.version();
            request.record_cleanup(WORKFLOW, now, detail)?;
            store.update(&request, expected).await?;
        }
        if why == Teardown::End && request.state() == RequestState::Ending {
            let expected = request.version();
            request.apply(Transition::Finish, WORKFLOW, now, "")?;
            store.update(&request, expected).await?;
            let ended = Notice::Ended {
                request: id,
                bastion: request.resources().bastion.clone(),
            };
            self.tell(&mut request, &ended, now).await?;
            self.redraw(&request).await;
        }
        self.observe(&request, now);
        Ok(request)
    }
}

impl<P: AccessPorts> Broker<P> {
    /// Removes what `request` records having made — drops its DB user (killing its sessions),
    /// deletes its secret, terminates its bastion — and says what was removed. Each removal
    /// finds a thing already gone and succeeds.
    ///
    /// # Errors
    /// The ports' errors.
    pub(crate) async fn remove_made(&self, request: &AccessRequest) -> Result<String> {
        let cluster = self.cluster_of(request)?;
        let removal = self
            .accounts()
            .remove(&cluster.cluster, request.db_username())
            .await?;
        self.vault().delete(request.id()).await?;
        if let Some(bastion) = &request.resources().bastion {
            self.fleet().terminate(bastion).await?;
        }
        Ok(cleanup_detail(request, &removal))
    }
}

impl<P: IntakePorts> Broker<P> {
    /// The requester ends their access before its end: the request moves to ending and the
    /// workflow is switched to its teardown-only run.
    ///
    /// # Errors
    /// [`Error::NotAllowed`] for anyone but the requester; [`Error::IllegalTransition`] when
    /// access has not started; the store's and the workflow's errors.
    pub async fn end_now(&self, id: RequestId, user: &SlackUserId) -> Result<EndNow> {
        let request = self.load(id).await?;
        if request.requester() != user {
            return Err(Error::NotAllowed(
                "only the requester can end their access early",
            ));
        }
        self.end_early(request, user, "ended early by the requester")
            .await
    }

    /// An approver ends live access at once (the same teardown as at the end), recorded with
    /// who; the requester is told. Whether `approver` may is the driver's approver policy, asked
    /// before this is called.
    ///
    /// # Errors
    /// [`Error::IllegalTransition`] when access has not started; the store's and the workflow's
    /// errors.
    pub async fn revoke(&self, id: RequestId, approver: &SlackUserId) -> Result<EndNow> {
        let request = self.load(id).await?;
        let ended = self
            .end_early(request, approver, &format!("revoked by {approver}"))
            .await?;
        if let EndNow::Ending(request) = &ended {
            let mut request = request.clone();
            let notice = Notice::Revoked {
                request: id,
                by: approver.clone(),
            };
            self.tell(&mut request, &notice, self.now()).await?;
            self.redraw(&request).await;
            return Ok(EndNow::Ending(request));
        }
        Ok(ended)
    }

    async fn end_early(
        &self,
        mut request: AccessRequest,
        user: &SlackUserId,
        detail: &str,
    ) -> Result<EndNow> {
        match request.state() {
            RequestState::Active => {}
            RequestState::Ending | RequestState::Ended | RequestState::Failed => {
                return Ok(EndNow::Already(request));
            }
            from => {
                return Err(Error::IllegalTransition {
                    from,
                    transition: Transition::StartTeardown,
                });
            }
        }
        let expected = request.version();
        request.apply(
            Transition::StartTeardown,
            Actor::User(user.clone()),
            self.now(),
            detail,
        )?;
        self.store().update(&request, expected).await?;
        self.workflow().end_early(request.id()).await?;
        Ok(EndNow::Ending(request))
    }
}

fn cleanup_detail(request: &AccessRequest, removal: &Removal) -> String {
    let user = match removal {
        Removal::Dropped { sessions_killed } => format!(
            "DB user {} dropped ({sessions_killed} session(s) killed)",
            request.db_username()
        ),
        Removal::LockedNotDropped { reason } => format!(
            "DB user {} locked with every privilege revoked, not dropped: {reason}",
            request.db_username()
        ),
        Removal::AlreadyGone => format!("DB user {} was already gone", request.db_username()),
    };
    let bastion = request
        .resources()
        .bastion
        .as_ref()
        .map(|b| format!(", bastion {} terminated", b.0))
        .unwrap_or_default();
    format!("{user}, secret deleted{bastion}")
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::memory::MemoryStore;
    use crate::usecases::fakes::*;
    use crate::usecases::fakes::{
        RecordingChat, RecordingWorkflow, approved, cluster, live, now, pending_with_card, user,
    };

    #[tokio::test]
    async fn teardown_removes_everything_ends_the_request_and_tells_the_requester() {
        let (w, request) = live().await;

        let ended = w.tear(request.id(), Teardown::End).await.unwrap();
        let again = w.tear(request.id(), Teardown::End).await.unwrap();

        assert_eq!(ended.state(), RequestState::Ended);
        assert_eq!(again, ended, "a second teardown changes nothing");
        assert!(w.accounts.password_of(request.db_username()).is_none());
        assert!(!w.vault.holds(request.id()));
        assert_eq!(w.fleet.terminated().len(), 1);
        let cleanup = ended
            .events()
            .iter()
            .find(|e| e.kind == EventKind::CleanedUp)
            .unwrap();
        assert!(
            cleanup.detail.contains("dropped (1 session(s) killed)"),
            "{}",
            cleanup.detail
        );
        assert_eq!(
            w.chat.notices(),
            vec![Notice::Ended {
                request: request.id(),
                bastion: request.resources().bastion.clone(),
            }]
        );
    }

    #[tokio::test]
    async fn a_server_down_at_teardown_fails_the_step_and_records_no_cleanup() {
        let (w, request) = live().await;
        w.accounts.down.store(true, Ordering::SeqCst);

        let err = w.tear(request.id(), Teardown::End).await.unwrap_err();
        let failed = base(&w.store, &w.chat, &[cluster()], now())
            .mark_failed(request.id(), "teardown failed: mysql")
            .await
            .unwrap();

        assert!(err.is_retryable());
        assert_eq!(failed.state(), RequestState::Failed);
        assert!(
            failed.cleanup_owed(),
            "the sweeper must still remove the account"
        );
        assert!(w.vault.holds(request.id()), "nothing removed out of order");
        let Notice::Failed { what, .. } = &w.chat.notices()[0] else {
            panic!()
        };
        assert!(what.contains("may still exist"), "{what}");
    }

    #[tokio::test]
    async fn after_a_failure_everything_is_removed_and_the_request_fails_without_cleanup_owed() {
        let (w, request) = live().await;

        w.tear(request.id(), Teardown::AfterFailure).await.unwrap();
        let failed = base(&w.store, &w.chat, &[cluster()], now())
            .mark_failed(request.id(), "warning failed")
            .await
            .unwrap();

        assert_eq!(failed.state(), RequestState::Failed);
        assert!(!failed.cleanup_owed());
        assert!(!w.vault.holds(request.id()));
    }

    #[tokio::test]
    async fn only_the_requester_ends_early_and_the_workflow_switches_to_teardown() {
        let (w, request) = live().await;
        let workflow = RecordingWorkflow::default();

        let stranger = intake(
            &w.store,
            &RecordingChat::default(),
            &StaticDirectory::default(),
            &workflow,
            &[cluster()],
            now(),
        )
        .end_now(request.id(), &user("U9"))
        .await;
        let ending = intake(
            &w.store,
            &RecordingChat::default(),
            &StaticDirectory::default(),
            &workflow,
            &[cluster()],
            now(),
        )
        .end_now(request.id(), &user("U1"))
        .await
        .unwrap();
        let twice = intake(
            &w.store,
            &RecordingChat::default(),
            &StaticDirectory::default(),
            &workflow,
            &[cluster()],
            now(),
        )
        .end_now(request.id(), &user("U1"))
        .await
        .unwrap();

        assert!(matches!(stranger, Err(Error::NotAllowed(_))));
        assert!(matches!(&ending, EndNow::Ending(r) if r.state() == RequestState::Ending));
        assert!(matches!(twice, EndNow::Already(_)));
        assert_eq!(workflow.ended_early(), vec![request.id()]);
        let ended = w.tear(request.id(), Teardown::End).await.unwrap();
        assert_eq!(ended.state(), RequestState::Ended);
    }

    #[tokio::test]
    async fn an_approver_revokes_live_access_once_and_the_requester_is_told_who() {
        let (w, request) = live().await;
        let (workflow, chat) = (RecordingWorkflow::default(), RecordingChat::default());
        let directory = StaticDirectory::default();
        let broker = intake(&w.store, &chat, &directory, &workflow, &[cluster()], now());

        let revoked = broker.revoke(request.id(), &user("U7")).await.unwrap();
        let again = broker.revoke(request.id(), &user("U8")).await.unwrap();

        let EndNow::Ending(revoked) = revoked else {
            panic!("live access is revoked")
        };
        assert_eq!(revoked.state(), RequestState::Ending);
        let started = revoked
            .events()
            .iter()
            .find(|e| e.kind == EventKind::TeardownStarted)
            .unwrap();
        assert_eq!(started.actor, Actor::User(user("U7")));
        assert_eq!(started.detail, format!("revoked by {}", user("U7")));
        assert!(matches!(again, EndNow::Already(_)));
        assert_eq!(workflow.ended_early(), vec![request.id()]);
        assert_eq!(
            chat.notices(),
            vec![Notice::Revoked {
                request: request.id(),
                by: user("U7")
            }]
        );
    }

    #[tokio::test]
    async fn access_that_has_not_started_cannot_be_revoked() {
        let (store, chat) = (MemoryStore::new(), RecordingChat::default());
        let request = approved(&store, &chat).await;

        let refused = intake(
            &store,
            &chat,
            &StaticDirectory::default(),
            &RecordingWorkflow::default(),
            &[cluster()],
            now(),
        )
        .revoke(request.id(), &user("U7"))
        .await;

        assert!(
            matches!(refused, Err(Error::IllegalTransition { .. })),
            "{refused:?}"
        );
    }

    #[tokio::test]
    async fn the_warning_goes_only_to_active_requests() {
        let (w, request) = live().await;

        base(&w.store, &w.chat, &[cluster()], now())
            .warn(request.id())
            .await
            .unwrap();
        w.tear(request.id(), Teardown::End).await.unwrap();
        w.chat.forget();
        base(&w.store, &w.chat, &[cluster()], now())
            .warn(request.id())
            .await
            .unwrap();

        assert!(w.chat.notices().is_empty(), "no warning after the end");
    }

    #[tokio::test]
    async fn the_warning_says_how_long_is_left_when_it_is_sent() {
        let (w, request) = live().await;
        let ends_at = request.window().end();

        base(
            &w.store,
            &w.chat,
            &[cluster()],
            ends_at - time::Duration::minutes(7),
        )
        .warn(request.id())
        .await
        .unwrap();

        assert_eq!(
            w.chat.notices(),
            vec![Notice::EndingSoon {
                request: request.id(),
                ends_at,
                left: time::Duration::minutes(7),
            }]
        );
    }

    #[tokio::test]
    async fn an_undecided_request_expires_but_a_recorded_decision_wins() {
        let store = MemoryStore::new();
        let chat = RecordingChat::default();
        let undecided = pending_with_card(&store, &chat, "U1").await;
        let decided = approved(&store, &chat).await;

        let none = base(&store, &chat, &[cluster()], now())
            .expire(undecided.id())
            .await
            .unwrap();
        let approve = base(&store, &chat, &[cluster()], now())
            .expire(decided.id())
            .await
            .unwrap();

        assert_eq!(none, None);
        assert_eq!(
            store.get(undecided.id()).await.unwrap().unwrap().state(),
            RequestState::Expired
        );
        assert_eq!(approve, Some(crate::ports::Decision::Approve));
        assert_eq!(
            store.get(decided.id()).await.unwrap().unwrap().state(),
            RequestState::Approved
        );
        assert_eq!(
            chat.notices(),
            vec![Notice::Expired {
                request: undecided.id()
            }]
        );
        assert_eq!(chat.card_states(), vec![RequestState::Expired]);
    }
}
