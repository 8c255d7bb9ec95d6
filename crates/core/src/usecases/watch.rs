//! The live tripwires' look at active access (see [`crate::tripwire`]): every
//! [`tripwire::INTERVAL`] the driver calls [`Broker::watch`], which reads the last
//! [`tripwire::LOOKBACK`] of each active request's audit records and tells the approvers of each
//! new tripping statement, once: the request records it before the message goes out, so a
//! second watcher or a late look finds it recorded and stays quiet.

use time::Duration;

use crate::broker::{Broker, EvidencePorts};
use crate::error::{Error, Result};
use crate::lifecycle::{AccessRequest, RequestState};
use crate::ports::{AuditSource, Chat, RequestStore};
use crate::tripwire::{self, LOOKBACK};
use crate::window::AccessWindow;

/// What one look did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchReport {
    /// Active requests looked at.
    pub watched: usize,
    /// Tripwires told to the approvers.
    pub tripped: usize,
    /// What could not be looked at or told, one line each (the next look tries again).
    pub problems: Vec<String>,
}

impl<P: EvidencePorts> Broker<P> {
    /// Looks at every active request's recent statements and tells the approvers of the ones
    /// that trip. One request's failure does not stop the others; it is in the report.
    ///
    /// # Errors
    /// The store's error when the active requests cannot be listed.
    pub async fn watch(&self) -> Result<WatchReport> {
        let now = self.now();
        let active = self
            .store()
            .due(RequestState::Active, now + Duration::days(2))
            .await?;
        let mut report = WatchReport::default();
        for request in active {
            report.watched += 1;
            let id = request.id();
            match self.watch_one(request).await {
                Ok(told) => report.tripped += told,
                Err(e) => report.problems.push(format!("{id}: {}", e.describe())),
            }
        }
        if report.tripped > 0 || !report.problems.is_empty() {
            tracing::info!(?report, "tripwires looked at");
        }
        Ok(report)
    }

    async fn watch_one(&self, mut request: AccessRequest) -> Result<usize> {
        let now = self.now();
        let cluster = self.cluster_of(&request)?;
        if cluster.tripwires.is_off() {
            return Ok(0);
        }
        let from = (now - LOOKBACK).max(request.window().start());
        if from >= now {
            return Ok(0);
        }
        let looked_at = AccessWindow::from_parts(from, now)?;
        let records = self
            .audit()
            .records(&cluster.cluster, request.db_username(), &looked_at)
            .await?;
        let mut told = 0;
        for trip in tripwire::trips(&records, &cluster.tripwires, &cluster.sensitive) {
            if request.has_trip(&trip.key()) {
                continue;
            }
            let expected = request.version();
            request.record_trip(now, trip.summary())?;
            self.store().update(&request, expected).await?;
            let Some(card) = request.resources().approval_card.clone() else {
                return Err(Error::Conflict(format!(
                    "request {} has no approval card to tell",
                    request.id()
                )));
            };
            self.chat().post_tripwire(&card, &request, &trip).await?;
            told += 1;
        }
        Ok(told)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SensitiveTables;
    use crate::audit::{AuditOperation, AuditRecord};
    use crate::broker::Unwired;
    use crate::memory::MemoryStore;
    use crate::usecases::fakes::*;
    use crate::usecases::fakes::{RecordingChat, active, evidence, pending};
    use crate::{EventKind, Gathered};
    use std::sync::Mutex;

    /// The audit log of one user, as a server would have written it.
    #[derive(Default)]
    struct Log(Mutex<Vec<AuditRecord>>);

    impl AuditSource for Log {
        async fn records(
            &self,
            _cluster: &crate::ClusterId,
            username: &crate::DbUsername,
            window: &AccessWindow,
        ) -> Result<Vec<AuditRecord>> {
            Ok(self
                .0
                .lock()
                .unwrap()
                .iter()
                .filter(|r| r.username == username.as_str() && r.logged_within(window))
                .cloned()
                .collect())
        }
    }

    struct NoSessions;

    impl crate::ports::SessionLog for NoSessions {
        async fn sessions(
            &self,
            _bastion: Option<&crate::BastionId>,
            _window: &AccessWindow,
        ) -> Result<Gathered<Vec<crate::receipt::BastionSession>>> {
            Ok(Gathered::Unavailable { why: "none".into() })
        }
    }

    fn statement(request: &AccessRequest, after: Duration, sql: &str) -> AuditRecord {
        AuditRecord {
            at: request.window().start() + after,
            resolution: Duration::SECOND,
            server_host: "db".into(),
            username: request.db_username().as_str().into(),
            host: "10.0.0.9".into(),
            connection_id: 11,
            query_id: u64::try_from(after.whole_seconds()).unwrap(),
            operation: AuditOperation::Query,
            database: "shop".into(),
            object: sql.into(),
            retcode: 0,
        }
    }

    fn watcher<'a>(
        store: &'a MemoryStore,
        chat: &'a RecordingChat,
        log: &'a Log,
        at: time::OffsetDateTime,
    ) -> Lent<
        'a,
        MemoryStore,
        RecordingChat,
        Unwired,
        Unwired,
        Unwired,
        Unwired,
        Unwired,
        &'a Log,
        &'a NoSessions,
    > {
        let cluster = cluster().with_sensitive_tables(SensitiveTables::parse(["users"]).unwrap());
        evidence(store, chat, log, &NoSessions, &[cluster], at)
    }

    #[tokio::test]
    async fn each_tripping_statement_is_told_once_in_the_cards_thread() {
        let (store, chat, log) = (MemoryStore::new(), RecordingChat::default(), Log::default());
        let request = active(&store, &chat).await;
        let start = request.window().start();
        log.0.lock().unwrap().extend([
            statement(&request, Duration::seconds(10), "SELECT 1"),
            statement(&request, Duration::seconds(20), "DELETE FROM orders"),
            statement(&request, Duration::seconds(30), "SELECT * FROM users"),
        ]);

        let first = watcher(&store, &chat, &log, start + Duration::minutes(1))
            .watch()
            .await
            .unwrap();
        log.0.lock().unwrap().push(statement(
            &request,
            Duration::seconds(70),
            "DROP TABLE carts",
        ));
        let second = watcher(&store, &chat, &log, start + Duration::minutes(2))
            .watch()
            .await
            .unwrap();

        assert_eq!((first.watched, first.tripped), (1, 2));
        assert_eq!((second.tripped, second.problems.len()), (1, 0));
        let told: Vec<String> = chat
            .trips()
            .iter()
            .map(|(_, _, t)| t.statement.clone())
            .collect();
        assert_eq!(
            told,
            [
                "DELETE FROM orders",
                "SELECT * FROM users",
                "DROP TABLE carts"
            ]
        );
        let card = request.resources().approval_card.clone().unwrap();
        assert!(
            chat.trips()
                .iter()
                .all(|(c, id, _)| *c == card && *id == request.id())
        );
        let stored = store.get(request.id()).await.unwrap().unwrap();
        let recorded = stored
            .events()
            .iter()
            .filter(|e| e.kind == EventKind::Tripped)
            .count();
        assert_eq!(recorded, 3);
    }

    #[tokio::test]
    async fn a_request_that_is_not_active_is_not_watched() {
        let (store, chat, log) = (MemoryStore::new(), RecordingChat::default(), Log::default());
        let request = pending(&store, "U1").await;
        log.0.lock().unwrap().push(statement(
            &request,
            Duration::seconds(5),
            "DROP TABLE carts",
        ));

        let report = watcher(
            &store,
            &chat,
            &log,
            request.window().start() + Duration::minutes(1),
        )
        .watch()
        .await
        .unwrap();

        assert_eq!(report, WatchReport::default());
        assert!(chat.trips().is_empty());
    }
}
