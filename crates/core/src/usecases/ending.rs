//! Ending access: the 10-minute warning, the teardown at the end (or after a failure), the
//! requester's "End now", and marking a request failed — plus the two ends a request can have
//! before access: denied and expired.
//!
//! Messages to the requester never block a step: a lost one is recorded on the request.

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::ids::{RequestId, SlackUserId};
use crate::lifecycle::{AccessRequest, Actor, Component, EventKind, RequestState, Transition};
use crate::policy::ClusterPolicy;
use crate::ports::{
    BastionFleet, Chat, DbAccounts, Notice, Removal, RequestStore, SecretVault, Workflow,
};
use crate::usecases::access::{cluster_of, redraw, tell};
use crate::usecases::load;

const WORKFLOW: Actor = Actor::System(Component::Workflow);

/// Tells the requester of active request `id` that access ends soon (with an "End now"
/// button). Anything but an active request is left alone.
///
/// # Errors
/// The store's errors.
pub async fn warn<S: RequestStore, C: Chat>(
    store: &S,
    chat: &C,
    id: RequestId,
    now: OffsetDateTime,
) -> Result<()> {
    let mut request = load(store, id).await?;
    if request.state() != RequestState::Active {
        return Ok(());
    }
    let notice = Notice::EndingSoon {
        request: id,
        ends_at: request.window().end(),
    };
    tell(store, chat, &mut request, &notice, now).await
}

/// Why the teardown runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Teardown {
    /// The window ended (or the requester ended it): the request ends normally.
    End,
    /// A step failed: remove whatever exists, and leave the request for
    /// [`mark_failed`].
    AfterFailure,
}

/// Removes everything request `id` created — locks the DB user, kills its sessions, drops it,
/// deletes the secret, terminates the bastion — and records it. For [`Teardown::End`] the
/// request moves through ending to ended and the requester is told. Running it again finds
/// everything gone and succeeds.
///
/// # Errors
/// The ports' errors (a server that is down is retryable); nothing is recorded as cleaned up
/// unless every removal succeeded.
#[allow(
    clippy::too_many_arguments,
    reason = "one argument per port the step uses"
)]
pub async fn teardown<S, V, F, A, C>(
    store: &S,
    vault: &V,
    fleet: &F,
    accounts: &A,
    chat: &C,
    clusters: &[ClusterPolicy],
    id: RequestId,
    why: Teardown,
    now: OffsetDateTime,
) -> Result<AccessRequest>
where
    S: RequestStore,
    V: SecretVault,
    F: BastionFleet,
    A: DbAccounts,
    C: Chat,
{
    let mut request = load(store, id).await?;
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
        let cluster = cluster_of(clusters, &request)?;
        let removal = accounts
            .remove(&cluster.cluster, request.db_username())
            .await?;
        vault.delete(id).await?;
        if let Some(bastion) = &request.resources().bastion {
            fleet.terminate(bastion).await?;
        }
        let detail = cleanup_detail(&request, &removal);
        let expected = request.version();
        request.record_cleanup(WORKFLOW, now, detail)?;
        store.update(&request, expected).await?;
    }
    if why == Teardown::End && request.state() == RequestState::Ending {
        let expected = request.version();
        request.apply(Transition::Finish, WORKFLOW, now, "")?;
        store.update(&request, expected).await?;
        tell(
            store,
            chat,
            &mut request,
            &Notice::Ended { request: id },
            now,
        )
        .await?;
        redraw(chat, &request).await;
    }
    Ok(request)
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

/// Marks request `id` failed with `what` went wrong, tells the requester (saying whether
/// everything was already removed) and redraws the card. A request already finished is left
/// alone.
///
/// # Errors
/// The store's errors.
pub async fn mark_failed<S: RequestStore, C: Chat>(
    store: &S,
    chat: &C,
    id: RequestId,
    what: &str,
    now: OffsetDateTime,
) -> Result<AccessRequest> {
    let mut request = load(store, id).await?;
    if request.state().is_terminal() {
        return Ok(request);
    }
    let expected = request.version();
    request.apply(Transition::Fail, WORKFLOW, now, what)?;
    store.update(&request, expected).await?;
    let what = if request.cleanup_owed() {
        format!(
            "{what} — some of what was created may still exist; the broker keeps trying to remove it"
        )
    } else {
        what.to_owned()
    };
    tell(
        store,
        chat,
        &mut request,
        &Notice::Failed { request: id, what },
        now,
    )
    .await?;
    redraw(chat, &request).await;
    Ok(request)
}

/// What an "End now" click did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndNow {
    /// Access is being removed now.
    Ending(AccessRequest),
    /// It was already ending or over; nothing changed.
    Already(AccessRequest),
}

/// The requester ends their access before its end: the request moves to ending and the
/// workflow is switched to its teardown-only run.
///
/// # Errors
/// [`Error::NotAllowed`] for anyone but the requester; [`Error::IllegalTransition`] when access
/// has not started; the store's and the workflow's errors.
pub async fn end_now<S: RequestStore, W: Workflow>(
    store: &S,
    workflow: &W,
    id: RequestId,
    user: &SlackUserId,
    now: OffsetDateTime,
) -> Result<EndNow> {
    let mut request = load(store, id).await?;
    if request.requester() != user {
        return Err(Error::NotAllowed(
            "only the requester can end their access early",
        ));
    }
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
        now,
        "ended early by the requester",
    )?;
    store.update(&request, expected).await?;
    workflow.end_early(id).await?;
    Ok(EndNow::Ending(request))
}

/// Tells the requester of denied request `id` who denied it.
///
/// # Errors
/// The store's errors.
pub async fn tell_denied<S: RequestStore, C: Chat>(
    store: &S,
    chat: &C,
    id: RequestId,
    now: OffsetDateTime,
) -> Result<()> {
    let mut request = load(store, id).await?;
    let Some(Actor::User(by)) = request
        .decision()
        .filter(|e| e.kind == EventKind::Denied)
        .map(|e| e.actor.clone())
    else {
        return Ok(());
    };
    tell(
        store,
        chat,
        &mut request,
        &Notice::Denied { request: id, by },
        now,
    )
    .await
}

/// The approval gate timed out: an undecided request expires (card redrawn, requester told).
/// Returns the decision as the gate would have, for the workflow to follow: `Some(Approve)` /
/// `Some(Deny)` when a decision was recorded but never reached the workflow, `None` when the
/// request expired or was cancelled.
///
/// # Errors
/// The store's errors.
pub async fn expire<S: RequestStore, C: Chat>(
    store: &S,
    chat: &C,
    id: RequestId,
    now: OffsetDateTime,
) -> Result<Option<crate::ports::Decision>> {
    let mut request = load(store, id).await?;
    if request.state() == RequestState::Pending {
        let expected = request.version();
        request.apply(Transition::Expire, WORKFLOW, now, "nobody decided in time")?;
        store.update(&request, expected).await?;
        redraw(chat, &request).await;
        tell(
            store,
            chat,
            &mut request,
            &Notice::Expired { request: id },
            now,
        )
        .await?;
        return Ok(None);
    }
    Ok(match request.decision().map(|e| e.kind) {
        Some(EventKind::Approved) => Some(crate::ports::Decision::Approve),
        Some(EventKind::Denied) => Some(crate::ports::Decision::Deny),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::memory::MemoryStore;
    use crate::usecases::fakes::{
        MemoryAccounts, MemoryFleet, MemoryVault, RecordingChat, RecordingWorkflow, approved,
        cluster, now, pending_with_card, user,
    };
    use crate::usecases::{activate, provision};

    struct World {
        store: MemoryStore,
        chat: RecordingChat,
        vault: MemoryVault,
        fleet: MemoryFleet,
        accounts: MemoryAccounts,
    }

    async fn active() -> (World, AccessRequest) {
        let w = World {
            store: MemoryStore::new(),
            chat: RecordingChat::default(),
            vault: MemoryVault::default(),
            fleet: MemoryFleet::default(),
            accounts: MemoryAccounts::default(),
        };
        let request = approved(&w.store, &w.chat).await;
        provision(
            &w.store,
            &w.vault,
            &w.fleet,
            &w.accounts,
            &[cluster()],
            request.id(),
            now(),
        )
        .await
        .unwrap();
        activate(
            &w.store,
            &w.fleet,
            &w.chat,
            &[cluster()],
            request.id(),
            now(),
        )
        .await
        .unwrap();
        w.chat.forget();
        let request = w.store.get(request.id()).await.unwrap().unwrap();
        (w, request)
    }

    async fn tear(w: &World, id: RequestId, why: Teardown) -> Result<AccessRequest> {
        teardown(
            &w.store,
            &w.vault,
            &w.fleet,
            &w.accounts,
            &w.chat,
            &[cluster()],
            id,
            why,
            now(),
        )
        .await
    }

    #[tokio::test]
    async fn teardown_removes_everything_ends_the_request_and_tells_the_requester() {
        let (w, request) = active().await;

        let ended = tear(&w, request.id(), Teardown::End).await.unwrap();
        let again = tear(&w, request.id(), Teardown::End).await.unwrap();

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
                request: request.id()
            }]
        );
    }

    #[tokio::test]
    async fn a_server_down_at_teardown_fails_the_step_and_records_no_cleanup() {
        let (w, request) = active().await;
        w.accounts.down.store(true, Ordering::SeqCst);

        let err = tear(&w, request.id(), Teardown::End).await.unwrap_err();
        let failed = mark_failed(
            &w.store,
            &w.chat,
            request.id(),
            "teardown failed: mysql",
            now(),
        )
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
        let (w, request) = active().await;

        tear(&w, request.id(), Teardown::AfterFailure)
            .await
            .unwrap();
        let failed = mark_failed(&w.store, &w.chat, request.id(), "warning failed", now())
            .await
            .unwrap();

        assert_eq!(failed.state(), RequestState::Failed);
        assert!(!failed.cleanup_owed());
        assert!(!w.vault.holds(request.id()));
    }

    #[tokio::test]
    async fn only_the_requester_ends_early_and_the_workflow_switches_to_teardown() {
        let (w, request) = active().await;
        let workflow = RecordingWorkflow::default();

        let stranger = end_now(&w.store, &workflow, request.id(), &user("U9"), now()).await;
        let ending = end_now(&w.store, &workflow, request.id(), &user("U1"), now())
            .await
            .unwrap();
        let twice = end_now(&w.store, &workflow, request.id(), &user("U1"), now())
            .await
            .unwrap();

        assert!(matches!(stranger, Err(Error::NotAllowed(_))));
        assert!(matches!(&ending, EndNow::Ending(r) if r.state() == RequestState::Ending));
        assert!(matches!(twice, EndNow::Already(_)));
        assert_eq!(workflow.ended_early(), vec![request.id()]);
        let ended = tear(&w, request.id(), Teardown::End).await.unwrap();
        assert_eq!(ended.state(), RequestState::Ended);
    }

    #[tokio::test]
    async fn the_warning_goes_only_to_active_requests() {
        let (w, request) = active().await;

        warn(&w.store, &w.chat, request.id(), now()).await.unwrap();
        tear(&w, request.id(), Teardown::End).await.unwrap();
        w.chat.forget();
        warn(&w.store, &w.chat, request.id(), now()).await.unwrap();

        assert!(w.chat.notices().is_empty(), "no warning after the end");
    }

    #[tokio::test]
    async fn an_undecided_request_expires_but_a_recorded_decision_wins() {
        let store = MemoryStore::new();
        let chat = RecordingChat::default();
        let undecided = pending_with_card(&store, &chat, "U1").await;
        let decided = approved(&store, &chat).await;

        let none = expire(&store, &chat, undecided.id(), now()).await.unwrap();
        let approve = expire(&store, &chat, decided.id(), now()).await.unwrap();

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
