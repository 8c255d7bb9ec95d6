//! The session receipt of a request that is over: assembled from the store's events, the
//! database audit log and the SSM session log, posted in the approval card's thread once, and
//! available on demand (`powerpole audit ID`).

use crate::broker::{Broker, EvidencePorts};
use crate::error::{Error, Result};
use crate::grants::Permission;
use crate::ids::RequestId;
use crate::lifecycle::{AccessRequest, Actor, Component, EventKind};
use crate::ports::{AuditSource, Chat, RequestStore, SessionLog};
use crate::receipt::{Gathered, LEVEL_NEEDED, Receipt};

/// The detail of the step event that records the receipt was posted.
pub const RECEIPT_POSTED: &str = "session receipt posted in the approval card's thread";

impl<P: EvidencePorts> Broker<P> {
    /// The session receipt of request `id`, as of now. A source that cannot be read for good
    /// (an audit log that is not exported, no bastion) is marked unavailable in the receipt.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown request; the store's errors; a source's retryable
    /// errors.
    pub async fn receipt(&self, id: RequestId) -> Result<Receipt> {
        let request = self.load(id).await?;
        self.gather(&request).await
    }

    /// Assembles request `id`'s receipt and posts it in the approval card's thread, once: a
    /// request whose receipt was posted (a retried step) gets the receipt back without a second
    /// post. A request without a card posts nothing.
    ///
    /// # Errors
    /// As [`Broker::receipt`]; Slack's errors when the post fails.
    pub async fn post_receipt(&self, id: RequestId) -> Result<Receipt> {
        let now = self.now();
        let mut request = self.load(id).await?;
        let receipt = self.gather(&request).await?;
        let posted = request
            .events()
            .iter()
            .any(|e| e.kind == EventKind::Step && e.detail == RECEIPT_POSTED);
        if posted {
            return Ok(receipt);
        }
        let Some(card) = request.resources().approval_card.clone() else {
            return Ok(receipt);
        };
        self.chat().post_receipt(&card, &receipt).await?;
        let expected = request.version();
        request.record_step(Actor::System(Component::Workflow), now, RECEIPT_POSTED);
        if let Gathered::Found(db) = &receipt.database {
            let needed = db.level_needed().map_or("nothing", Permission::as_str);
            request.record_step(
                Actor::System(Component::Workflow),
                now,
                format!("{LEVEL_NEEDED}{needed}"),
            );
        }
        self.store().update(&request, expected).await?;
        Ok(receipt)
    }

    pub(crate) async fn gather(&self, request: &AccessRequest) -> Result<Receipt> {
        if !request.provisioning_started() {
            let why = "access was never provisioned";
            return Ok(Receipt::assemble(
                request,
                Gathered::Unavailable { why: why.into() },
                Gathered::Unavailable { why: why.into() },
            ));
        }
        let window = Receipt::search_window(request);
        let records = unless_for_good(
            self.audit()
                .records(&request.spec().cluster, request.db_username(), &window)
                .await
                .map(Gathered::Found),
            "the database audit log",
        )?;
        let bastion_sessions = unless_for_good(
            self.sessions()
                .sessions(request.resources().bastion.as_ref(), &window)
                .await,
            "the SSM session log",
        )?;
        Ok(Receipt::assemble(request, records, bastion_sessions))
    }
}

/// A source's answer, with a lasting failure turned into [`Gathered::Unavailable`]; a retryable
/// one is returned for the workflow to retry.
fn unless_for_good<T>(answer: Result<Gathered<T>>, source: &str) -> Result<Gathered<T>> {
    match answer {
        Ok(gathered) => Ok(gathered),
        Err(error) if error.is_retryable() => Err(error),
        Err(error) => {
            tracing::warn!(%error, source, "receipt source unavailable");
            Ok(Gathered::Unavailable {
                why: format!("{source} could not be read: {}", describe(&error)),
            })
        }
    }
}

fn describe(error: &Error) -> String {
    match error {
        Error::Backend { system, source, .. } => format!("{system} failed: {source}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::DbUsername;
    use crate::audit::{AuditOperation, AuditRecord};
    use crate::ids::ClusterId;
    use crate::memory::MemoryStore;
    use crate::ports::BastionId;
    use crate::receipt::BastionSession;
    use crate::usecases::fakes::*;
    use crate::usecases::fakes::{
        MemoryAccounts, MemoryFleet, MemoryVault, RecordingChat, approved, cluster, now, pending,
    };
    use crate::window::AccessWindow;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Audit {
        records: Vec<AuditRecord>,
        fail: Option<bool>,
        asked: Mutex<Vec<AccessWindow>>,
    }

    impl AuditSource for Audit {
        async fn records(
            &self,
            _cluster: &ClusterId,
            _username: &DbUsername,
            window: &AccessWindow,
        ) -> Result<Vec<AuditRecord>> {
            self.asked.lock().unwrap().push(*window);
            match self.fail {
                Some(true) => Err(Error::Backend {
                    system: "logs",
                    retryable: true,
                    source: "throttled".into(),
                }),
                Some(false) => Err(Error::NotFound("audit log group /aws/rds/x".into())),
                None => Ok(self.records.clone()),
            }
        }
    }

    struct Sessions;

    impl SessionLog for Sessions {
        async fn sessions(
            &self,
            bastion: Option<&BastionId>,
            window: &AccessWindow,
        ) -> Result<Gathered<Vec<BastionSession>>> {
            Ok(match bastion {
                Some(b) => Gathered::Found(vec![BastionSession {
                    id: "alice-0abc".into(),
                    principal: "arn:aws:iam::1:user/alice".into(),
                    bastion: b.clone(),
                    first_seen: window.start(),
                    last_seen: window.start(),
                    commands: Vec::new(),
                }]),
                None => Gathered::Unavailable {
                    why: "no bastion".into(),
                },
            })
        }
    }

    async fn ended(store: &MemoryStore, chat: &RecordingChat) -> RequestId {
        let request = approved(store, chat).await;
        let (vault, fleet, accounts) = (
            MemoryVault::default(),
            MemoryFleet::default(),
            MemoryAccounts::default(),
        );
        let clusters = [cluster()];
        access(
            store,
            &RecordingChat::default(),
            &vault,
            &fleet,
            &accounts,
            &clusters,
            now(),
        )
        .provision(request.id())
        .await
        .unwrap();
        access(
            store,
            chat,
            &MemoryVault::default(),
            &fleet,
            &MemoryAccounts::default(),
            &clusters,
            now(),
        )
        .activate(request.id())
        .await
        .unwrap();
        let end = request.window().end();
        access(store, chat, &vault, &fleet, &accounts, &clusters, end)
            .teardown(request.id(), crate::usecases::Teardown::End)
            .await
            .unwrap();
        request.id()
    }

    fn query(request: &AccessRequest, object: &str) -> AuditRecord {
        AuditRecord {
            at: request.window().start() + time::Duration::minutes(1),
            resolution: time::Duration::SECOND,
            server_host: "db".into(),
            username: request.db_username().as_str().into(),
            host: "h".into(),
            connection_id: 1,
            query_id: 1,
            operation: AuditOperation::Query,
            database: "shop".into(),
            object: object.into(),
            retcode: 0,
        }
    }

    #[tokio::test]
    async fn the_receipt_is_posted_once_in_the_card_thread_and_says_who_approved() {
        let (store, chat) = (MemoryStore::new(), RecordingChat::default());
        let id = ended(&store, &chat).await;
        let request = store.get(id).await.unwrap().unwrap();
        let audit = Audit {
            records: vec![query(&request, "DROP TABLE orders")],
            ..Audit::default()
        };

        let first = evidence(&store, &chat, &audit, &Sessions, &[cluster()], now())
            .post_receipt(id)
            .await
            .unwrap();
        let again = evidence(&store, &chat, &audit, &Sessions, &[cluster()], now())
            .post_receipt(id)
            .await
            .unwrap();

        assert_eq!(first, again);
        let posted = chat.receipts();
        assert_eq!(posted.len(), 1, "a retried step posts no second receipt");
        assert_eq!(
            Some(&posted[0].0),
            request.resources().approval_card.as_ref()
        );
        let receipt = &posted[0].1;
        assert_eq!(
            receipt.decision.as_ref().map(|d| d.by.to_string()),
            Some("user:U00000002".to_owned())
        );
        let db = receipt.database.found().unwrap();
        assert_eq!(db.counts.ddl, 1);
        assert_eq!(db.ddl_dcl[0].text, "DROP TABLE orders");
        assert_eq!(receipt.bastion_sessions.found().map(Vec::len), Some(1));
        assert_eq!(
            store.get(id).await.unwrap().unwrap().level_needed(),
            Some(Some(crate::Permission::Ddl)),
            "the level the session needed is kept for the requester's next card"
        );
        let asked = audit.asked.lock().unwrap()[0];
        assert!(asked.end() >= request.window().end());
    }

    #[tokio::test]
    async fn a_missing_audit_log_is_said_and_a_throttled_one_is_retried() {
        let (store, chat) = (MemoryStore::new(), RecordingChat::default());
        let id = ended(&store, &chat).await;

        let missing = Audit {
            fail: Some(false),
            ..Audit::default()
        };
        let receipt = evidence(
            &store,
            &RecordingChat::default(),
            &missing,
            &Sessions,
            &[cluster()],
            now(),
        )
        .receipt(id)
        .await
        .unwrap();
        let Gathered::Unavailable { why } = &receipt.database else {
            panic!("{receipt:?}")
        };
        assert!(
            why.contains("audit log group /aws/rds/x not found"),
            "{why}"
        );

        let throttled = Audit {
            fail: Some(true),
            ..Audit::default()
        };
        let error = evidence(&store, &chat, &throttled, &Sessions, &[cluster()], now())
            .post_receipt(id)
            .await
            .unwrap_err();
        assert!(error.is_retryable());
        assert!(chat.receipts().is_empty());
    }

    #[tokio::test]
    async fn a_request_never_provisioned_reads_no_log() {
        let store = MemoryStore::new();
        let request = pending(&store, "U1").await;
        let audit = Audit::default();

        let receipt = evidence(
            &store,
            &RecordingChat::default(),
            &audit,
            &Sessions,
            &[cluster()],
            now(),
        )
        .receipt(request.id())
        .await
        .unwrap();

        assert!(audit.asked.lock().unwrap().is_empty());
        assert!(matches!(receipt.database, Gathered::Unavailable { .. }));
        assert_eq!(receipt.decision, None);
    }
}
