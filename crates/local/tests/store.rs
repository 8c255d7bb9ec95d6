//! The SQLite request store: the shared store contract on an in-memory database and on a file
//! with several connections, persistence across a re-open, concurrent conditional writes from
//! several pools, refusal of rows edited by hand, lock errors classified as retryable, and the
//! store living in the same file as the ASL runner.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

#[path = "../../asl/tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use common::{T0, TempDb, finished, invoke, runner_on};
use powerpole_asl::ExecutionStatus;
use powerpole_asl::sqlite;
use powerpole_core::ports::{Orphan, RequestStore};
use powerpole_core::{
    AccessRequest, Actor, BastionId, Component, Error, ManualClock, MessageRef, RequestId,
    RequestState, SecretRef, SlackUserId, TaskToken, Transition,
};
use powerpole_local::SqliteStore;
use powerpole_testkit::store_contract::{fresh_user, pending_request};
use serde_json::json;
use sqlx::SqlitePool;
use sqlx::sqlite::SqliteConnectOptions;
use time::{Duration, OffsetDateTime};

powerpole_testkit::request_store_contract!(async {
    Some(
        SqliteStore::open(sqlite::in_memory().await.unwrap())
            .await
            .unwrap(),
    )
});

/// The contract again on a WAL file behind a pool of several connections, where concurrent
/// writers really race.
mod on_file {
    use super::*;

    /// A store on its own database file, removed with the store.
    pub struct OnFile {
        store: SqliteStore,
        _db: TempDb,
    }

    impl OnFile {
        pub async fn new() -> Self {
            let db = TempDb::new("store-contract");
            let store = SqliteStore::open(sqlite::open(db.path()).await.unwrap())
                .await
                .unwrap();
            Self { store, _db: db }
        }
    }

    impl RequestStore for OnFile {
        async fn insert(&self, request: &AccessRequest) -> powerpole_core::Result<()> {
            self.store.insert(request).await
        }

        async fn get(&self, id: RequestId) -> powerpole_core::Result<Option<AccessRequest>> {
            self.store.get(id).await
        }

        async fn update(
            &self,
            request: &AccessRequest,
            expected: usize,
        ) -> powerpole_core::Result<()> {
            self.store.update(request, expected).await
        }

        async fn by_requester(
            &self,
            requester: &SlackUserId,
        ) -> powerpole_core::Result<Vec<AccessRequest>> {
            self.store.by_requester(requester).await
        }

        async fn due(
            &self,
            state: RequestState,
            before: OffsetDateTime,
        ) -> powerpole_core::Result<Vec<AccessRequest>> {
            self.store.due(state, before).await
        }

        async fn record_orphan(&self, orphan: &Orphan) -> powerpole_core::Result<bool> {
            self.store.record_orphan(orphan).await
        }

        async fn orphans(&self, limit: usize) -> powerpole_core::Result<Vec<Orphan>> {
            self.store.orphans(limit).await
        }

        async fn submitted_between(
            &self,
            from: OffsetDateTime,
            until: OffsetDateTime,
            limit: usize,
        ) -> powerpole_core::Result<Vec<AccessRequest>> {
            self.store.submitted_between(from, until, limit).await
        }
    }

    powerpole_testkit::request_store_contract!(async { Some(OnFile::new().await) });
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn approver() -> Actor {
    Actor::User(SlackUserId::parse("UAPPROVER1").unwrap())
}

fn workflow() -> Actor {
    Actor::System(Component::Workflow)
}

/// A request that went through approval and provisioning, holding every kind of reference,
/// with times that have sub-second parts.
fn provisioned(requester: &SlackUserId) -> AccessRequest {
    let start = now().replace_nanosecond(0).unwrap();
    let mut r = pending_request(requester, start, start);
    r.set_approval_token(TaskToken("AQB8AAAAKgAAAAMAAAAAAAAAAf/token==".into()))
        .unwrap();
    r.set_approval_card(MessageRef {
        channel: "CAPPROVERS".into(),
        ts: "1732370000.000100".into(),
    });
    r.record_step(workflow(), now(), "approval card posted");
    r.apply(Transition::Approve, approver(), now(), "looks fine")
        .unwrap();
    r.apply(Transition::StartProvisioning, workflow(), now(), "")
        .unwrap();
    r.record_bastion(BastionId("i-0123456789abcdef0".into()), workflow(), now());
    r.record_secret(
        SecretRef(format!("/var/lib/powerpole/secrets/{}", r.id())),
        workflow(),
        now(),
    );
    r
}

/// Writes `request` through the store: inserts its submission, then updates with the rest.
async fn store_through(store: &SqliteStore, request: &AccessRequest) {
    let events = request.events();
    let submitted = AccessRequest::restore(
        request.id(),
        request.requester().clone(),
        request.db_username().clone(),
        request.spec().clone(),
        events[..1].to_vec(),
        Default::default(),
    )
    .unwrap()
    .with_requester_email(request.requester_email().cloned());
    store.insert(&submitted).await.unwrap();
    store.update(request, 1).await.unwrap();
}

#[tokio::test]
async fn a_file_database_keeps_every_request_across_a_reopen() {
    let db = TempDb::new("store-reopen");
    let me = fresh_user();
    let live = provisioned(&me);
    let pending = pending_request(&me, now() + Duration::hours(3), now());
    {
        let pool = sqlite::open(db.path()).await.unwrap();
        let store = SqliteStore::open(pool.clone()).await.unwrap();
        store_through(&store, &live).await;
        store.insert(&pending).await.unwrap();
        pool.close().await;
    }

    let pool = sqlite::open(db.path()).await.unwrap();
    let store = SqliteStore::open(pool.clone()).await.unwrap();
    let back = store.get(live.id()).await.unwrap().unwrap();
    assert_eq!(back, live);
    assert_eq!(back.events(), live.events(), "sub-second event times kept");
    assert_eq!(back.resources(), live.resources());
    assert_eq!(
        store.get(pending.id()).await.unwrap().as_ref(),
        Some(&pending)
    );
    let mine: Vec<RequestId> = store
        .by_requester(&me)
        .await
        .unwrap()
        .iter()
        .map(AccessRequest::id)
        .collect();
    let mut expected = vec![live.id(), pending.id()];
    expected.sort();
    expected.reverse();
    assert_eq!(mine, expected);
    let end = live.deadline().unwrap();
    let due = |before| {
        let store = store.clone();
        async move { store.due(RequestState::Provisioning, before).await.unwrap() }
    };
    assert!(due(end).await.iter().all(|r| r.id() != live.id()));
    assert_eq!(
        due(end + Duration::nanoseconds(1)).await,
        vec![live.clone()],
        "deadlines compare to the nanosecond"
    );
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_writers_on_several_connections_exactly_one_wins() {
    const WRITERS: usize = 16;
    let db = TempDb::new("store-race");
    let mut stores = Vec::new();
    for _ in 0..3 {
        let pool = sqlite::open(db.path()).await.unwrap();
        stores.push(Arc::new(SqliteStore::open(pool).await.unwrap()));
    }
    for round in 0..3 {
        let request = pending_request(&fresh_user(), now(), now());
        stores[0].insert(&request).await.unwrap();
        let barrier = Arc::new(tokio::sync::Barrier::new(WRITERS));
        let mut tasks = Vec::new();
        for i in 0..WRITERS {
            let store = Arc::clone(&stores[i % stores.len()]);
            let barrier = Arc::clone(&barrier);
            let mut mine = request.clone();
            tasks.push(tokio::spawn(async move {
                let who = Actor::User(SlackUserId::parse(&format!("UCLICK{i}")).unwrap());
                let transition = if i % 2 == 0 {
                    Transition::Approve
                } else {
                    Transition::Deny
                };
                mine.apply(transition, who, now(), format!("click {i}"))
                    .unwrap();
                barrier.wait().await;
                store.update(&mine, 1).await.map(|()| mine)
            }));
        }
        let mut winners = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Ok(mine) => winners.push(mine),
                Err(Error::Conflict(_)) => {}
                Err(other) => panic!("round {round}: a losing writer got {other:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one writer wins");
        for store in &stores {
            assert_eq!(
                store.get(request.id()).await.unwrap().as_ref(),
                Some(&winners[0]),
                "round {round}: every connection reads the winner"
            );
        }
    }
}

#[tokio::test]
async fn resource_only_updates_are_written_and_still_conditional() {
    let store = SqliteStore::open(sqlite::in_memory().await.unwrap())
        .await
        .unwrap();
    let request = pending_request(&fresh_user(), now() + Duration::hours(1), now());
    store.insert(&request).await.unwrap();

    let mut tokened = request.clone();
    tokened
        .set_approval_token(TaskToken("token-1".into()))
        .unwrap();
    store.update(&tokened, 1).await.unwrap();
    assert_eq!(store.get(request.id()).await.unwrap().unwrap(), tokened);
    let mut carded = tokened.clone();
    carded.set_approval_card(MessageRef {
        channel: "C1".into(),
        ts: "1.2".into(),
    });
    store.update(&carded, 1).await.unwrap();
    assert_eq!(store.get(request.id()).await.unwrap().unwrap(), carded);

    let mut decided = carded.clone();
    decided
        .apply(Transition::Deny, approver(), now(), "no ticket")
        .unwrap();
    store.update(&decided, 1).await.unwrap();
    let mut late = carded.clone();
    late.set_approval_token(TaskToken("token-2".into()))
        .unwrap();
    let err = store.update(&late, 1).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(store.get(request.id()).await.unwrap().unwrap(), decided);

    let err = store.update(&decided, 3).await.unwrap_err();
    assert!(
        matches!(err, Error::Conflict(_)),
        "version from the future: {err:?}"
    );
    let never_stored = pending_request(&fresh_user(), now(), now());
    let err = store.update(&never_stored, 1).await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

async fn edit(pool: &SqlitePool, sql: &'static str, id: RequestId) {
    let done = sqlx::query(sql)
        .bind(id.to_string())
        .execute(pool)
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 1, "{sql}");
}

fn assert_refused<T: std::fmt::Debug>(
    result: powerpole_core::Result<T>,
    what: &str,
    because: &str,
) {
    let Err(Error::Backend {
        system: "sqlite",
        retryable: false,
        source,
    }) = result
    else {
        panic!("{what}: expected a refusal, got {result:?}");
    };
    match source.downcast_ref::<powerpole_local::Error>() {
        Some(powerpole_local::Error::StoredRequest { problem, .. }) => {
            assert!(
                problem.contains(because),
                "{what}: refused because {problem}"
            );
        }
        _ => panic!("{what}: refused for another reason: {source}"),
    }
}

#[tokio::test]
async fn rows_edited_by_hand_are_refused_on_load() {
    let cases: [(&str, &'static str, &str); 6] = [
        (
            "state edited",
            "UPDATE store_requests SET state = 'active' WHERE id = ?1",
            "state active does not match its events (provisioning)",
        ),
        (
            "state unknown",
            "UPDATE store_requests SET state = 'root' WHERE id = ?1",
            "state root does not match",
        ),
        (
            "version edited",
            "UPDATE store_requests SET version = 1 WHERE id = ?1",
            "version 1 does not match its 6 events",
        ),
        (
            "approval forged as the requester",
            "UPDATE store_events SET actor = 'user:' || (SELECT requester FROM store_requests \
             WHERE id = ?1) WHERE request_id = ?1 AND kind = 'approved'",
            "history refused: not allowed",
        ),
        (
            "an event removed",
            "DELETE FROM store_events WHERE request_id = ?1 AND kind = 'approved'",
            "event 2 is stored as 3",
        ),
        (
            "a step forged into an activation",
            "UPDATE store_events SET kind = 'activated' WHERE request_id = ?1 AND seq = 1",
            "history refused: a pending request cannot be activated",
        ),
    ];
    for (what, sql, because) in cases {
        let pool = sqlite::in_memory().await.unwrap();
        let store = SqliteStore::open(pool.clone()).await.unwrap();
        let me = fresh_user();
        let request = provisioned(&me);
        store_through(&store, &request).await;
        assert_eq!(
            store.get(request.id()).await.unwrap().as_ref(),
            Some(&request)
        );

        edit(&pool, sql, request.id()).await;
        assert_refused(store.get(request.id()).await, what, because);
        assert_refused(store.by_requester(&me).await, what, because);
    }

    let pool = sqlite::in_memory().await.unwrap();
    let store = SqliteStore::open(pool.clone()).await.unwrap();
    let request = pending_request(&fresh_user(), now(), now());
    store.insert(&request).await.unwrap();
    edit(
        &pool,
        "DELETE FROM store_events WHERE request_id = ?1",
        request.id(),
    )
    .await;
    assert_refused(
        store.get(request.id()).await,
        "every event removed",
        "does not start with its submission",
    );
}

#[tokio::test]
async fn a_locked_database_is_a_retryable_backend_error() {
    let db = TempDb::new("store-busy");
    let holder = sqlite::open(db.path()).await.unwrap();
    SqliteStore::open(holder.clone()).await.unwrap();
    let impatient = SqlitePool::connect_with(
        SqliteConnectOptions::new()
            .filename(db.path())
            .busy_timeout(StdDuration::ZERO),
    )
    .await
    .unwrap();
    let store = SqliteStore::open(impatient).await.unwrap();
    let request = pending_request(&fresh_user(), now(), now());

    let lock = holder.begin_with("BEGIN IMMEDIATE").await.unwrap();
    let err = store.insert(&request).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Backend {
                system: "sqlite",
                retryable: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    lock.rollback().await.unwrap();

    store.insert(&request).await.unwrap();
    assert_eq!(store.get(request.id()).await.unwrap(), Some(request));
}

#[tokio::test]
async fn the_store_and_the_asl_runner_share_one_file() {
    let db = TempDb::new("store-with-runner");
    let definition = json!({
        "StartAt": "Provision",
        "States": { "Provision": invoke("provision", json!({"End": true})) }
    });
    let request = pending_request(&fresh_user(), T0, T0);
    let name = request.id().to_string();
    {
        let pool = sqlite::open(db.path()).await.unwrap();
        let store = SqliteStore::open(pool.clone()).await.unwrap();
        let (runner, _clock, handlers) =
            runner_on(pool.clone(), definition.clone(), ManualClock::new(T0)).await;
        store.insert(&request).await.unwrap();
        runner
            .start_execution(&name, json!({ "request_id": name }))
            .await
            .unwrap();
        assert_eq!(
            finished(&runner, &name).await.status,
            ExecutionStatus::Succeeded
        );
        assert_eq!(handlers.calls_of("provision").len(), 1);
        runner.shutdown().await;

        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'index') \
             AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert!(tables.iter().any(|t| t.starts_with("asl_")), "{tables:?}");
        assert!(tables.iter().any(|t| t.starts_with("store_")), "{tables:?}");
        assert!(
            tables
                .iter()
                .all(|t| t.starts_with("asl_") || t.starts_with("store_")),
            "{tables:?}"
        );
        pool.close().await;
    }

    let pool = sqlite::open(db.path()).await.unwrap();
    let store = SqliteStore::open(pool.clone()).await.unwrap();
    let (runner, _clock, _handlers) =
        runner_on(pool.clone(), definition, ManualClock::new(T0)).await;
    assert_eq!(store.get(request.id()).await.unwrap(), Some(request));
    assert_eq!(
        runner.describe(&name).await.unwrap().status,
        ExecutionStatus::Succeeded
    );
    runner.shutdown().await;
    pool.close().await;
}
