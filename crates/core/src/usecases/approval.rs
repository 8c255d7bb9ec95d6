//! Opening the approval: the workflow's approval gate hands over its task token, which is stored
//! with the request before the card is posted, so every click on the card can resume it.

use super::WORKFLOW;
use crate::blast::{BlastRadius, usage_history};
use crate::broker::{AccountPorts, Broker, BrokerPorts};
use crate::error::{Error, Result};
use crate::grants::GrantPlan;
use crate::ids::RequestId;
use crate::lifecycle::{AccessRequest, Actor, Component, RequestState, Transition};
use crate::ports::{Chat, DbAccounts, MessageRef, RequestStore, TaskToken};

/// What the approval gate found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalGate {
    /// The token is stored and the card is in the approvers' channel; wait for a click.
    Opened(AccessRequest),
    /// The request is no longer pending (cancelled, or decided by a previous attempt of the
    /// gate); there is nothing to wait for.
    Closed(AccessRequest),
    /// The cluster's policy approved the request on its own (READ on a cluster with
    /// `auto_approve_read`): recorded as approved by [`Component::Policy`], the card posted
    /// all the same, marked so, for the audit; there is nothing to wait for.
    AutoApproved(AccessRequest),
}

impl<P: AccountPorts> Broker<P> {
    /// Measures what request `id`'s grants would reach (the blast radius) and records it for
    /// the approvers, once: a request that has one keeps it, a decided one is left alone. A
    /// cluster that cannot be read records that it was not measured, and why, so the card goes
    /// out all the same and says so.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown request or cluster; the store's errors.
    pub async fn survey(&self, id: RequestId) -> Result<AccessRequest> {
        let mut request = self.load(id).await?;
        if request.state() != RequestState::Pending || request.survey().is_some() {
            return Ok(request);
        }
        let cluster = self.cluster_of(&request)?;
        let plan = GrantPlan::new(request.spec().permission, [])?;
        let past = self.store().by_requester(request.requester()).await?;
        let mut summary = match self
            .accounts()
            .survey(&cluster.cluster, request.db_username(), &plan)
            .await
        {
            Ok(survey) => BlastRadius::of(&survey, &cluster.sensitive).summary(),
            Err(e) => {
                tracing::warn!(request = %id, error = %e.describe(), "blast radius not measured");
                format!(
                    "{}: not measured, the cluster could not be read{}",
                    BlastRadius::HEADING,
                    if e.is_retryable() {
                        " (it did not answer)"
                    } else {
                        ""
                    }
                )
            }
        };
        if let Some(history) = usage_history(&request, &past) {
            summary.push('\n');
            summary.push_str(&history);
        }
        let expected = request.version();
        request.record_survey(WORKFLOW, self.now(), summary)?;
        match self.store().update(&request, expected).await {
            Ok(()) => Ok(request),
            Err(Error::Conflict(_)) => self.load(id).await,
            Err(e) => Err(e),
        }
    }
}

impl<P: BrokerPorts> Broker<P> {
    /// Stores the gate's `token` with request `id` and posts the approval card (or, when a
    /// previous attempt posted it, redraws it), remembering where it is.
    ///
    /// A request its cluster approves by policy ([`crate::ApprovalRules::auto_approves`]) is
    /// approved here, with the token, in one write; its card is posted as for any other
    /// (a retried gate posts it if the first attempt did not) and says it was auto-approved.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`] for an unknown request; the store's and the chat's errors
    /// (nothing is posted when the token could not be stored).
    pub async fn open_approval(&self, id: RequestId, token: TaskToken) -> Result<ApprovalGate> {
        let mut request = self.load(id).await?;
        if request.state() != RequestState::Pending {
            if request.auto_approved() && request.resources().approval_card.is_none() {
                let card = self.chat().post_approval_card(&request).await?;
                let request = self.remember_card(request, card).await?;
                return Ok(ApprovalGate::AutoApproved(request));
            }
            return Ok(ApprovalGate::Closed(request));
        }
        let expected = request.version();
        request.set_approval_token(token)?;
        let level = request.spec().permission;
        let auto = self
            .cluster_of(&request)
            .is_ok_and(|c| c.approval.auto_approves(level));
        if auto {
            let detail = format!(
                "auto-approved: {level} on {} is approved by the cluster's policy",
                request.spec().cluster
            );
            request.apply(
                Transition::Approve,
                Actor::System(Component::Policy),
                self.now(),
                detail,
            )?;
        }
        self.store().update(&request, expected).await?;
        match request.resources().approval_card.clone() {
            Some(card) => self.chat().update_approval_card(&card, &request).await?,
            None => {
                let card = self.chat().post_approval_card(&request).await?;
                request = self.remember_card(request, card).await?;
            }
        }
        if auto {
            return Ok(ApprovalGate::AutoApproved(request));
        }
        Ok(ApprovalGate::Opened(request))
    }

    /// Saves where the card is. An approver may click faster than the save (the card is
    /// visible as soon as it is posted); the decision (or a counted approval) then wins the
    /// write, so the card is saved on the request as the click left it and redrawn to show what
    /// the click could not draw.
    async fn remember_card(
        &self,
        mut request: AccessRequest,
        card: MessageRef,
    ) -> Result<AccessRequest> {
        for _ in 0..3 {
            let expected = request.version();
            request.set_approval_card(card.clone());
            match self.store().update(&request, expected).await {
                Ok(()) => {
                    if request.state() != RequestState::Pending || !request.approvals().is_empty() {
                        self.redraw(&request).await;
                    }
                    return Ok(request);
                }
                Err(Error::Conflict(_)) => request = self.load(request.id()).await?,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict(format!(
            "request {} kept changing while its card was saved",
            request.id()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blast::{SensitiveTables, TableStats};
    use crate::broker::{Ports, Unwired};
    use crate::clock::ManualClock;
    use crate::memory::MemoryStore;
    use crate::usecases::fakes::*;
    use crate::usecases::fakes::{RecordingChat, now, pending, user};
    use crate::{ClusterPolicy, EventKind, SchemaName};

    #[tokio::test]
    async fn the_token_is_stored_and_the_card_posted_once_per_request() {
        let (store, chat) = (MemoryStore::new(), RecordingChat::default());
        let request = pending(&store, "U1").await;

        base(&store, &chat, &[cluster()], now())
            .open_approval(request.id(), TaskToken("t1".into()))
            .await
            .unwrap();
        let again = base(&store, &chat, &[cluster()], now())
            .open_approval(request.id(), TaskToken("t2".into()))
            .await
            .unwrap();

        let ApprovalGate::Opened(opened) = again else {
            panic!("gate closed: {again:?}")
        };
        let stored = store.get(request.id()).await.unwrap().unwrap();
        assert_eq!(stored, opened);
        assert_eq!(
            stored.resources().approval_token,
            Some(TaskToken("t2".into()))
        );
        assert_eq!(
            stored.resources().approval_card,
            Some(chat.cards_posted()[0].clone())
        );
        assert_eq!(
            chat.cards_posted().len(),
            1,
            "a retried gate must not post a second card"
        );
        assert_eq!(chat.card_states(), vec![RequestState::Pending]);
    }

    #[tokio::test]
    async fn read_on_a_cluster_marked_so_is_approved_by_policy_and_its_card_still_posted() {
        let (store, chat) = (MemoryStore::new(), RecordingChat::default());
        let auto =
            cluster().with_approval(crate::ApprovalRules::default().with_auto_approve_read(true));
        let request = pending(&store, "U1").await;

        let gate = base(&store, &chat, std::slice::from_ref(&auto), now())
            .open_approval(request.id(), TaskToken("t1".into()))
            .await
            .unwrap();
        let again = base(&store, &chat, &[auto], now())
            .open_approval(request.id(), TaskToken("t2".into()))
            .await
            .unwrap();

        let ApprovalGate::AutoApproved(approved) = gate else {
            panic!("not auto-approved: {gate:?}")
        };
        assert!(matches!(again, ApprovalGate::Closed(_)), "{again:?}");
        assert_eq!(approved.state(), RequestState::Approved);
        assert!(approved.auto_approved());
        let decision = approved.decision().unwrap();
        assert_eq!(decision.actor, Actor::System(Component::Policy));
        assert_eq!(
            decision.detail,
            "auto-approved: READ on orders-prod is approved by the cluster's policy"
        );
        assert_eq!(chat.cards_posted().len(), 1, "audited on a card, once");
        assert!(chat.card_states().contains(&RequestState::Approved));
        assert_eq!(store.get(request.id()).await.unwrap().unwrap(), approved);
    }

    #[tokio::test]
    async fn without_the_mark_read_waits_for_a_person() {
        let (store, chat) = (MemoryStore::new(), RecordingChat::default());
        let request = pending(&store, "U1").await;

        let gate = base(&store, &chat, &[cluster()], now())
            .open_approval(request.id(), TaskToken("t1".into()))
            .await
            .unwrap();

        assert!(matches!(gate, ApprovalGate::Opened(r) if r.state() == RequestState::Pending));
    }

    /// Chat whose card is clicked Approve the moment it is posted.
    struct ClickedAtOnce<'a>(&'a MemoryStore, RecordingChat);

    impl Chat for ClickedAtOnce<'_> {
        async fn post_approval_card(&self, request: &AccessRequest) -> Result<MessageRef> {
            let mut stored = self.0.get(request.id()).await?.unwrap();
            let expected = stored.version();
            stored.apply(Transition::Approve, Actor::User(user("U2")), now(), "")?;
            self.0.update(&stored, expected).await?;
            self.1.post_approval_card(request).await
        }

        async fn update_approval_card(
            &self,
            card: &MessageRef,
            request: &AccessRequest,
        ) -> Result<()> {
            self.1.update_approval_card(card, request).await
        }

        async fn notify(
            &self,
            user: &crate::SlackUserId,
            notice: &crate::ports::Notice,
        ) -> Result<()> {
            self.1.notify(user, notice).await
        }

        async fn report_sweep(&self, report: &crate::sweep::SweepReport) -> Result<()> {
            self.1.report_sweep(report).await
        }

        async fn post_receipt(
            &self,
            card: &MessageRef,
            receipt: &crate::Receipt,
        ) -> Result<MessageRef> {
            self.1.post_receipt(card, receipt).await
        }

        async fn post_report(
            &self,
            report: &crate::report::archive::PublishedReport,
        ) -> Result<()> {
            self.1.post_report(report).await
        }

        async fn post_extension_card(
            &self,
            card: &MessageRef,
            request: &AccessRequest,
        ) -> Result<MessageRef> {
            self.1.post_extension_card(card, request).await
        }

        async fn update_extension_card(
            &self,
            message: &MessageRef,
            request: &AccessRequest,
            number: u32,
        ) -> Result<()> {
            self.1.update_extension_card(message, request, number).await
        }

        async fn post_tripwire(
            &self,
            card: &MessageRef,
            request: &AccessRequest,
            trip: &crate::tripwire::Trip,
        ) -> Result<()> {
            self.1.post_tripwire(card, request, trip).await
        }
    }

    #[tokio::test]
    async fn a_click_faster_than_the_card_save_still_gets_its_decision_drawn() {
        let store = MemoryStore::new();
        let chat = ClickedAtOnce(&store, RecordingChat::default());
        let request = pending(&store, "U1").await;

        base(&store, &chat, &[cluster()], now())
            .open_approval(request.id(), TaskToken("t".into()))
            .await
            .unwrap();

        let stored = store.get(request.id()).await.unwrap().unwrap();
        assert_eq!(stored.state(), RequestState::Approved);
        assert_eq!(
            stored.resources().approval_card,
            Some(chat.1.cards_posted()[0].clone())
        );
        assert_eq!(chat.1.card_states(), vec![RequestState::Approved]);
    }

    /// A request its requester cancelled while it was pending.
    async fn cancelled(store: &MemoryStore) -> AccessRequest {
        let mut request = pending(store, "U1").await;
        let expected = request.version();
        request
            .apply(Transition::Cancel, Actor::User(user("U1")), now(), "")
            .unwrap();
        store.update(&request, expected).await.unwrap();
        request
    }

    #[tokio::test]
    async fn a_request_no_longer_pending_closes_the_gate_without_a_card() {
        let (store, chat) = (MemoryStore::new(), RecordingChat::default());
        let request = cancelled(&store).await;

        let gate = base(&store, &chat, &[cluster()], now())
            .open_approval(request.id(), TaskToken("t".into()))
            .await
            .unwrap();

        assert!(matches!(gate, ApprovalGate::Closed(r) if r.state() == RequestState::Cancelled));
        assert!(chat.cards_posted().is_empty());
    }

    fn surveying<'a>(
        store: &'a MemoryStore,
        chat: &'a RecordingChat,
        accounts: &'a MemoryAccounts,
        clusters: &[ClusterPolicy],
    ) -> Lent<'a, MemoryStore, RecordingChat, Unwired, Unwired, &'a MemoryAccounts> {
        Broker::new(
            Ports::new(store, chat, ManualClock::new(now())).with_accounts(accounts),
            clusters.to_vec(),
        )
    }

    fn stats(table: &str, rows: u64) -> TableStats {
        TableStats {
            schema: SchemaName::parse("shop").unwrap(),
            table: table.to_owned(),
            rows: Some(rows),
            bytes: Some(rows * 100),
        }
    }

    #[tokio::test]
    async fn the_blast_radius_is_recorded_once_with_the_grants_and_the_sensitive_tables() {
        let (store, chat, accounts) = (
            MemoryStore::new(),
            RecordingChat::default(),
            MemoryAccounts::default(),
        );
        *accounts.tables.lock().unwrap() = vec![stats("orders", 2_000), stats("users", 10)];
        let sensitive = cluster().with_sensitive_tables(SensitiveTables::parse(["users"]).unwrap());
        let request = pending(&store, "U1").await;
        let broker = surveying(&store, &chat, &accounts, &[sensitive]);

        broker.survey(request.id()).await.unwrap();
        let again = broker.survey(request.id()).await.unwrap();

        let surveyed: Vec<_> = again
            .events()
            .iter()
            .filter(|e| e.kind == EventKind::Surveyed)
            .collect();
        assert_eq!(surveyed.len(), 1, "{:?}", again.events());
        let summary = again.survey().unwrap();
        assert!(
            summary.contains(&format!(
                "GRANT SELECT, SHOW VIEW ON `shop`.* TO '{}'@'%'",
                request.db_username()
            )),
            "{summary}"
        );
        assert!(summary.contains("shop: 2 tables, ~2.0k rows"), "{summary}");
        assert!(summary.ends_with("sensitive: shop.users"), "{summary}");
        assert_eq!(store.get(request.id()).await.unwrap().unwrap(), again);
    }

    #[tokio::test]
    async fn an_unreadable_cluster_records_that_the_blast_radius_was_not_measured() {
        let (store, chat, accounts) = (
            MemoryStore::new(),
            RecordingChat::default(),
            MemoryAccounts::default(),
        );
        accounts
            .down
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let request = pending(&store, "U1").await;

        let surveyed = surveying(&store, &chat, &accounts, &[cluster()])
            .survey(request.id())
            .await
            .unwrap();

        assert_eq!(
            surveyed.survey(),
            Some("Blast radius: not measured, the cluster could not be read (it did not answer)")
        );
    }

    #[tokio::test]
    async fn a_decided_request_is_not_surveyed() {
        let (store, chat, accounts) = (
            MemoryStore::new(),
            RecordingChat::default(),
            MemoryAccounts::default(),
        );
        let request = cancelled(&store).await;

        let after = surveying(&store, &chat, &accounts, &[cluster()])
            .survey(request.id())
            .await
            .unwrap();

        assert_eq!(after.survey(), None);
        assert_eq!(after, request);
    }
}
