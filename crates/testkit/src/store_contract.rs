//! The contract every [`RequestStore`] implementation passes: the DynamoDB store runs it against
//! moto, the embedded SQLite store against a temporary file. Each check uses fresh requesters
//! and ids, so the checks can share one table and run in parallel with each other.
//!
//! Use [`request_store_contract!`](crate::request_store_contract) in the adapter's test file
//! with an async expression that builds the store (or returns `None` to skip).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failed contract check fails the calling test"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use powerpole_core::ports::{Orphan, RequestStore, ResourceKind};
use powerpole_core::{
    AccessRequest, AccessSpec, AccessWindow, Actor, BastionId, ClusterId, Component, DbUsername,
    Email, Error, EventKind, MessageRef, Permission, Reason, Region, RequestId, RequestState,
    RequiredApprovals, SecretRef, SlackUserId, TaskToken, Transition, WindowPolicy,
};
use time::{Duration, OffsetDateTime};

/// A Slack user id no other check uses.
#[must_use]
pub fn fresh_user() -> SlackUserId {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
    SlackUserId::parse(&format!(
        "U{:X}{:X}{n:X}",
        std::process::id(),
        nanos % 0xFFFF_FFFF
    ))
    .unwrap()
}

/// A pending request of `requester` whose window starts at `start`, submitted at `submitted`.
#[must_use]
pub fn pending_request(
    requester: &SlackUserId,
    start: OffsetDateTime,
    submitted: OffsetDateTime,
) -> AccessRequest {
    let window =
        AccessWindow::request(start, Duration::hours(1), start, &WindowPolicy::default()).unwrap();
    let spec = AccessSpec {
        cluster: ClusterId::parse("prod-orders").unwrap(),
        region: Region::parse("ap-northeast-1").unwrap(),
        permission: Permission::Dml,
        window,
        reason: Reason::parse("INC-1234: fix stuck orders, <!channel> \"quoted\"").unwrap(),
    };
    let email = Email::parse("keisuke.owato@example.com").unwrap();
    AccessRequest::submit(
        RequestId::generate(submitted, &mut rand::rng()),
        requester.clone(),
        DbUsername::from_email(&email).unwrap(),
        spec,
        submitted,
    )
    .with_requester_email(Some(email))
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

fn approver() -> Actor {
    Actor::User(SlackUserId::parse("UAPPROVER1").unwrap())
}

fn workflow() -> Actor {
    Actor::System(Component::Workflow)
}

/// Applies `transition` to the stored request and writes it back conditionally.
async fn step<S: RequestStore>(
    store: &S,
    id: RequestId,
    transition: Transition,
    actor: Actor,
) -> AccessRequest {
    let mut request = store.get(id).await.unwrap().expect("stored request");
    let expected = request.version();
    request
        .apply(transition, actor, now(), format!("{transition}"))
        .unwrap();
    store.update(&request, expected).await.unwrap();
    request
}

/// A request reads back exactly as written (the requester's e-mail included); a second insert with the same id is a conflict and
/// changes nothing; an unknown id is `None`.
pub async fn insert_then_get<S: RequestStore>(store: &S) {
    let request = pending_request(&fresh_user(), now() + Duration::hours(1), now());
    store.insert(&request).await.unwrap();
    assert_eq!(
        store.get(request.id()).await.unwrap().as_ref(),
        Some(&request)
    );

    let mut twin = pending_request(&fresh_user(), now(), now());
    twin = AccessRequest::restore(
        request.id(),
        twin.requester().clone(),
        twin.db_username().clone(),
        twin.spec().clone(),
        twin.events().to_vec(),
        twin.resources().clone(),
    )
    .unwrap();
    let err = store.insert(&twin).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "duplicate insert: {err}");
    assert_eq!(
        store.get(request.id()).await.unwrap().as_ref(),
        Some(&request)
    );

    let unknown = RequestId::generate(now(), &mut rand::rng());
    assert_eq!(store.get(unknown).await.unwrap(), None);
}

/// Transitions, steps and resources are written and read back in order; the full happy path
/// and its events survive.
pub async fn transitions_and_events_round_trip<S: RequestStore>(store: &S) {
    let request = pending_request(&fresh_user(), now(), now());
    let id = request.id();
    store.insert(&request).await.unwrap();

    let mut r = store.get(id).await.unwrap().unwrap();
    let v = r.version();
    r.set_approval_token(TaskToken("AQB8AAAAKgAAAAMAAAAAAAAAAf/token==".into()))
        .unwrap();
    r.set_approval_card(MessageRef {
        channel: "CAPPROVERS".into(),
        ts: "1732370000.000100".into(),
    });
    r.record_step(workflow(), now(), "approval card posted");
    store.update(&r, v).await.unwrap();
    let stored = store.get(id).await.unwrap().unwrap();
    assert_eq!(stored, r);
    assert!(stored.resources().approval_token.is_some());

    step(store, id, Transition::Approve, approver()).await;
    let approved = store.get(id).await.unwrap().unwrap();
    assert_eq!(
        approved.resources().approval_token,
        Some(TaskToken("AQB8AAAAKgAAAAMAAAAAAAAAAf/token==".into())),
        "an approval keeps the token until the workflow takes it"
    );
    step(store, id, Transition::StartProvisioning, workflow()).await;
    let mut r = store.get(id).await.unwrap().unwrap();
    assert_eq!(
        r.resources().approval_token,
        None,
        "token kept after the workflow took the approval"
    );
    let v = r.version();
    r.record_bastion(BastionId("i-0123456789abcdef0".into()), workflow(), now());
    r.record_secret(
        SecretRef(format!(
            "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:powerpole/{id}"
        )),
        workflow(),
        now(),
    );
    store.update(&r, v).await.unwrap();
    for t in [
        Transition::Activate,
        Transition::StartTeardown,
        Transition::Finish,
    ] {
        step(store, id, t, workflow()).await;
    }
    let ended = store.get(id).await.unwrap().unwrap();
    assert_eq!(ended.state(), RequestState::Ended);
    let kinds: Vec<EventKind> = ended.events().iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Submitted,
            EventKind::Step,
            EventKind::Approved,
            EventKind::ProvisioningStarted,
            EventKind::Step,
            EventKind::Step,
            EventKind::Activated,
            EventKind::TeardownStarted,
            EventKind::Ended,
        ]
    );
    assert_eq!(ended.events()[2].actor, approver());
    assert_eq!(
        ended.resources().bastion,
        Some(BastionId("i-0123456789abcdef0".into()))
    );
    assert!(ended.resources().secret.is_some());
}

/// A write made on a stale version is refused and leaves the stored request as it was.
pub async fn stale_update_is_a_conflict<S: RequestStore>(store: &S) {
    let request = pending_request(&fresh_user(), now(), now());
    store.insert(&request).await.unwrap();
    let mut first = request.clone();
    let mut second = request.clone();
    first
        .apply(Transition::Approve, approver(), now(), "")
        .unwrap();
    store.update(&first, request.version()).await.unwrap();
    second
        .apply(Transition::Deny, approver(), now(), "")
        .unwrap();
    let err = store.update(&second, request.version()).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "stale write: {err}");
    assert_eq!(
        store.get(request.id()).await.unwrap().unwrap().state(),
        RequestState::Approved
    );

    let unknown = pending_request(&fresh_user(), now(), now());
    let err = store.update(&unknown, 1).await.unwrap_err();
    assert!(
        matches!(err, Error::Conflict(_) | Error::NotFound(_)),
        "update of a missing request: {err}"
    );
}

/// N approvers click at once: exactly one decision is stored, every other writer gets a conflict.
pub async fn concurrent_decisions_one_wins<S: RequestStore + 'static>(store: Arc<S>) {
    const CLICKS: usize = 8;
    let request = pending_request(&fresh_user(), now(), now());
    store.insert(&request).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..CLICKS {
        let store = Arc::clone(&store);
        let mut mine = request.clone();
        tasks.push(tokio::spawn(async move {
            let who = Actor::User(SlackUserId::parse(&format!("UCLICK{i}")).unwrap());
            let transition = if i % 2 == 0 {
                Transition::Approve
            } else {
                Transition::Deny
            };
            mine.apply(transition, who, now(), "").unwrap();
            store.update(&mine, 1).await
        }));
    }
    let mut wins = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => wins += 1,
            Err(Error::Conflict(_)) => {}
            Err(other) => panic!("a losing click must be a conflict, got {other}"),
        }
    }
    assert_eq!(wins, 1, "exactly one decision must win");
    let stored = store.get(request.id()).await.unwrap().unwrap();
    assert_eq!(
        stored.events().len(),
        2,
        "one decision event, not {}",
        stored.events().len()
    );
    assert!(matches!(
        stored.state(),
        RequestState::Approved | RequestState::Denied
    ));
}

/// A person's requests come back newest first, and only theirs.
pub async fn by_requester_newest_first<S: RequestStore>(store: &S) {
    let me = fresh_user();
    let t0 = now();
    let mut ids = Vec::new();
    for minutes in [0, 1, 2] {
        let request = pending_request(&me, t0, t0 + Duration::minutes(minutes));
        ids.push(request.id());
        store.insert(&request).await.unwrap();
    }
    store
        .insert(&pending_request(&fresh_user(), t0, t0))
        .await
        .unwrap();
    let mine: Vec<RequestId> = store
        .by_requester(&me)
        .await
        .unwrap()
        .iter()
        .map(AccessRequest::id)
        .collect();
    ids.reverse();
    assert_eq!(mine, ids);
    assert!(store.by_requester(&fresh_user()).await.unwrap().is_empty());
}

/// The sweeper's queries: requests in a state whose deadline (the decision deadline while
/// pending, the start once approved, the end otherwise) is before a time; ended requests never
/// show up.
pub async fn due_queries_find_overdue_requests<S: RequestStore>(store: &S) {
    let t0 = now();
    let overdue = pending_request(
        &fresh_user(),
        t0 - Duration::minutes(35),
        t0 - Duration::minutes(40),
    );
    let later = pending_request(&fresh_user(), t0 + Duration::hours(2), t0);
    store.insert(&overdue).await.unwrap();
    store.insert(&later).await.unwrap();
    let due: Vec<RequestId> = store
        .due(RequestState::Pending, t0)
        .await
        .unwrap()
        .iter()
        .map(AccessRequest::id)
        .collect();
    assert!(
        due.contains(&overdue.id()),
        "overdue pending request not found"
    );
    assert!(!due.contains(&later.id()), "future request reported due");

    let active = pending_request(
        &fresh_user(),
        t0 - Duration::minutes(2),
        t0 - Duration::minutes(2),
    );
    store.insert(&active).await.unwrap();
    step(store, active.id(), Transition::Approve, approver()).await;
    step(
        store,
        active.id(),
        Transition::StartProvisioning,
        workflow(),
    )
    .await;
    step(store, active.id(), Transition::Activate, workflow()).await;
    let end = store
        .get(active.id())
        .await
        .unwrap()
        .unwrap()
        .window()
        .end();
    let active_due = |before| async move {
        store
            .due(RequestState::Active, before)
            .await
            .unwrap()
            .iter()
            .map(AccessRequest::id)
            .collect::<Vec<_>>()
    };
    assert!(
        !active_due(end - Duration::minutes(1))
            .await
            .contains(&active.id())
    );
    assert!(
        active_due(end + Duration::minutes(1))
            .await
            .contains(&active.id())
    );
    assert!(
        !store
            .due(RequestState::Pending, t0)
            .await
            .unwrap()
            .iter()
            .any(|r| r.id() == active.id())
    );

    step(store, active.id(), Transition::StartTeardown, workflow()).await;
    step(store, active.id(), Transition::Finish, workflow()).await;
    for state in RequestState::ALL
        .into_iter()
        .filter(|s| *s != RequestState::Ended)
    {
        let found = store.due(state, end + Duration::days(1)).await.unwrap();
        assert!(
            !found.iter().any(|r| r.id() == active.id()),
            "ended request due as {state}"
        );
    }
}

/// An approved extension survives the store (who asked, who approved, for how long) and moves
/// when live access is due: the sweeper does not take an extended request for overdue at its
/// old end.
pub async fn an_extension_moves_the_due_time<S: RequestStore>(store: &S) {
    let t0 = now();
    let request = pending_request(&fresh_user(), t0, t0);
    let id = request.id();
    store.insert(&request).await.unwrap();
    step(store, id, Transition::Approve, approver()).await;
    step(store, id, Transition::StartProvisioning, workflow()).await;
    let mut live = step(store, id, Transition::Activate, workflow()).await;
    let old_end = live.window().end();
    let v = live.version();
    let length = powerpole_core::ExtensionLength::new(Duration::minutes(45)).unwrap();
    let reason = Reason::parse("INC-9 the backfill: still running").unwrap();
    live.request_extension(
        Actor::User(live.requester().clone()),
        length,
        &reason,
        Duration::hours(8),
        t0,
    )
    .unwrap();
    live.record_extension_card(workflow(), t0, "1732370000.000200");
    live.decide_extension(
        1,
        true,
        &SlackUserId::parse("UAPPROVER1").unwrap(),
        Duration::hours(8),
        t0,
    )
    .unwrap();
    store.update(&live, v).await.unwrap();

    let stored = store.get(id).await.unwrap().unwrap();
    assert_eq!(stored, live);
    assert_eq!(stored.window().end(), old_end + Duration::minutes(45));
    let extension = &stored.extensions()[0];
    assert!(extension.is_approved());
    assert_eq!(extension.reason, "INC-9 the backfill: still running");
    assert_eq!(extension.card_ts.as_deref(), Some("1732370000.000200"));
    let due_at = |before| async move {
        store
            .due(RequestState::Active, before)
            .await
            .unwrap()
            .iter()
            .any(|r| r.id() == id)
    };
    assert!(
        !due_at(old_end + Duration::minutes(1)).await,
        "due at the old end"
    );
    assert!(due_at(old_end + Duration::minutes(46)).await);
}

/// An orphan is recorded once per kind and resource, and listed newest first with what it
/// named.
pub async fn orphans_are_recorded_once_newest_first<S: RequestStore>(store: &S) {
    let tag = fresh_user();
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let named = RequestId::generate(now, &mut rand::rng());
    let older = Orphan {
        kind: ResourceKind::Account,
        resource: format!("stray_{}@prod-orders", tag.as_str().to_lowercase()),
        request: Some(named),
        found_at: now - Duration::minutes(5),
        detail: "dropped (0 session(s) killed): request does not exist".into(),
    };
    let newer = Orphan {
        kind: ResourceKind::Bastion,
        resource: format!("i-{}", tag.as_str().to_lowercase()),
        request: None,
        found_at: now,
        detail: "terminated: it names no request".into(),
    };

    assert!(store.record_orphan(&older).await.unwrap());
    assert!(store.record_orphan(&newer).await.unwrap());
    let again = Orphan {
        found_at: now + Duration::minutes(5),
        ..older.clone()
    };
    assert!(
        !store.record_orphan(&again).await.unwrap(),
        "the same orphan found again is not a second record"
    );

    let listed: Vec<Orphan> = store
        .orphans(10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.resource.contains(&tag.as_str().to_lowercase()))
        .collect();
    assert_eq!(listed, vec![newer, older]);
    assert!(store.orphans(1).await.unwrap().len() <= 1);
}

/// The period query: the requests submitted from a time (included) to another (excluded),
/// across days, oldest first, whatever their state, and no more than the limit (the oldest).
pub async fn submitted_between_lists_a_period_oldest_first<S: RequestStore>(store: &S) {
    let base =
        OffsetDateTime::from_unix_timestamp(978_307_200 + rand::random_range(0..600_000_000_i64))
            .unwrap();
    let day = Duration::days(1);
    let me = fresh_user();
    let at = [
        base - Duration::seconds(1),
        base,
        base + Duration::hours(23),
        base + day + Duration::hours(2),
        base + day * 2,
    ];
    let mut ids = Vec::new();
    for submitted in at {
        let request = pending_request(&me, submitted + Duration::hours(1), submitted);
        ids.push(request.id());
        store.insert(&request).await.unwrap();
    }
    step(store, ids[2], Transition::Deny, approver()).await;

    let listed: Vec<RequestId> = store
        .submitted_between(base, base + day * 2, 100)
        .await
        .unwrap()
        .iter()
        .map(AccessRequest::id)
        .collect();
    assert_eq!(
        listed,
        ids[1..4].to_vec(),
        "the period's requests, oldest first, the one a second before and the one at its end left out"
    );

    let first_two: Vec<RequestId> = store
        .submitted_between(base - Duration::seconds(1), base + day * 3, 2)
        .await
        .unwrap()
        .iter()
        .map(AccessRequest::id)
        .collect();
    assert_eq!(first_two, ids[..2].to_vec());
    assert!(
        store
            .submitted_between(base + day * 3, base + day * 4, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A request needing two approvals reads back with the count, each approval (who, when) and
/// the last one's decision; an auto-approved READ reads back approved by the policy.
pub async fn approvals_and_policy_decisions_round_trip<S: RequestStore>(store: &S) {
    let needing_two = pending_request(&fresh_user(), now(), now())
        .with_required_approvals(RequiredApprovals::new(2).unwrap());
    let id = needing_two.id();
    store.insert(&needing_two).await.unwrap();
    for approver in [fresh_user(), fresh_user()] {
        let mut request = store.get(id).await.unwrap().unwrap();
        let expected = request.version();
        request.approve_by(&approver, now()).unwrap();
        store.update(&request, expected).await.unwrap();
    }
    let approved = store.get(id).await.unwrap().unwrap();
    assert_eq!(approved.state(), RequestState::Approved);
    assert_eq!(approved.required_approvals(), 2);
    assert_eq!(approved.approvals().len(), 2);
    assert_eq!(approved.events()[1].kind, EventKind::ApprovalGiven);

    let mut read = pending_request(&fresh_user(), now(), now());
    read = AccessRequest::restore(
        read.id(),
        read.requester().clone(),
        read.db_username().clone(),
        AccessSpec {
            permission: Permission::Read,
            ..read.spec().clone()
        },
        read.events().to_vec(),
        read.resources().clone(),
    )
    .unwrap();
    store.insert(&read).await.unwrap();
    step(
        store,
        read.id(),
        Transition::Approve,
        Actor::System(Component::Policy),
    )
    .await;
    let stored = store.get(read.id()).await.unwrap().unwrap();
    assert!(stored.auto_approved(), "{:?}", stored.events());
}

/// A denial whose workflow could not be resumed keeps its task token and stays due (as
/// denied) so that it is sent again; once its redelivery is noted it is due no more.
pub async fn an_undelivered_denial_is_due_until_it_is_sent<S: RequestStore>(store: &S) {
    let request = pending_request(&fresh_user(), now() + Duration::hours(1), now());
    let id = request.id();
    store.insert(&request).await.unwrap();
    let mut pending = store.get(id).await.unwrap().unwrap();
    let expected = pending.version();
    pending
        .set_approval_token(powerpole_core::TaskToken("token-denied".into()))
        .unwrap();
    store.update(&pending, expected).await.unwrap();
    let mut denied = step(store, id, Transition::Deny, approver()).await;
    let due = || async {
        store
            .due(RequestState::Denied, now() + Duration::days(2))
            .await
            .unwrap()
            .iter()
            .any(|r| r.id() == id)
    };
    assert!(
        !due().await,
        "a denial that reached its workflow is not due"
    );

    let expected = denied.version();
    denied.record_step(
        workflow(),
        now(),
        format!(
            "{} (ThrottlingException)",
            powerpole_core::lifecycle::NOT_RESUMED
        ),
    );
    store.update(&denied, expected).await.unwrap();
    assert!(due().await, "an undelivered denial is due");
    let stored = store.get(id).await.unwrap().unwrap();
    assert_eq!(
        stored.resources().approval_token,
        Some(powerpole_core::TaskToken("token-denied".into())),
        "it keeps the token to send it with"
    );

    let mut sent = stored;
    let expected = sent.version();
    sent.record_step(workflow(), now(), powerpole_core::lifecycle::RESUMED_LATER);
    store.update(&sent, expected).await.unwrap();
    assert!(!due().await, "a denial sent again is due no more");
}

/// A request cancelled while provisioning stays due (as cancelled) until what was made is
/// recorded removed, so the sweeper finishes a teardown the workflow did not.
pub async fn a_cancellation_while_provisioning_is_due_until_cleaned_up<S: RequestStore>(store: &S) {
    let request = pending_request(&fresh_user(), now() + Duration::hours(1), now());
    let id = request.id();
    store.insert(&request).await.unwrap();
    step(store, id, Transition::Approve, approver()).await;
    step(store, id, Transition::StartProvisioning, workflow()).await;
    let requester = Actor::User(request.requester().clone());
    let mut cancelled = step(store, id, Transition::Cancel, requester).await;
    let due = || async {
        store
            .due(RequestState::Cancelled, now() + Duration::days(2))
            .await
            .unwrap()
            .iter()
            .any(|r| r.id() == id)
    };
    assert!(due().await, "what provisioning made is owed");

    let expected = cancelled.version();
    cancelled
        .record_cleanup(workflow(), now(), "everything removed")
        .unwrap();
    store.update(&cancelled, expected).await.unwrap();
    assert!(!due().await, "cleaned up, it drops out");
}

/// Generates one `#[tokio::test]` per contract check for a store built by `$make`, an async
/// expression returning `Option<Store>` (`None` skips, as the testkit's server look-ups do).
#[macro_export]
macro_rules! request_store_contract {
    ($make:expr) => {
        mod request_store_contract {
            use super::*;

            #[tokio::test]
            async fn insert_then_get() {
                let Some(store) = $make.await else { return };
                $crate::store_contract::insert_then_get(&store).await;
            }

            #[tokio::test]
            async fn transitions_and_events_round_trip() {
                let Some(store) = $make.await else { return };
                $crate::store_contract::transitions_and_events_round_trip(&store).await;
            }

            #[tokio::test]
            async fn approvals_and_policy_decisions_round_trip() {
                let Some(store) = $make.await else { return };
                $crate::store_contract::approvals_and_policy_decisions_round_trip(&store).await;
            }

            #[tokio::test]
            async fn stale_update_is_a_conflict() {
                let Some(store) = $make.await else { return };
                $crate::store_contract::stale_update_is_a_conflict(&store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_decisions_one_wins() {
                let Some(store) = $make.await else { return };
                $crate::store_contract::concurrent_decisions_one_wins(::std::sync::Arc::new(store))
                    .await;
            }

            #[tokio::test]
            async fn by_requester_newest_first() {
                let Some(store) = $make.await else { return };
                $crate::store_contract::by_requester_newest_first(&store).await;
            }

            #[tokio::test]
            async fn due_queries_find_overdue_requests() {
                let Some(store) = $make.await else { return };
                $crate::store_contract::due_queries_find_overdue_requests(&store).await;
            }

            #[tokio::test]
            async fn an_extension_moves_the_due_time() {
                let Some(store) = $make.await else { return };
                $crate::store_contract::an_extension_moves_the_due_time(&store).await;
            }

            #[tokio::test]
            async fn orphans_are_recorded_once_newest_first() {
                let Some(store) = $make.await else { return };
                $crate::store_contract::orphans_are_recorded_once_newest_first(&store).await;
            }

            #[tokio::test]
            async fn an_undelivered_denial_is_due_until_it_is_sent() {
                let Some(store) = $make.await else { return };
                $crate::store_contract::an_undelivered_denial_is_due_until_it_is_sent(&store).await;
            }

            #[tokio::test]
            async fn a_cancellation_while_provisioning_is_due_until_cleaned_up() {
                let Some(store) = $make.await else { return };
                $crate::store_contract::a_cancellation_while_provisioning_is_due_until_cleaned_up(
                    &store,
                )
                .await;
            }

            #[tokio::test]
            async fn submitted_between_lists_a_period_oldest_first() {
                let Some(store) = $make.await else { return };
                $crate::store_contract::submitted_between_lists_a_period_oldest_first(&store).await;
            }
        }
    };
}
