//! Giving access: the schedule of an approved request, then provisioning (secret, DB user,
//! bastion) and activation once the bastion is ready, with the requester's "ready" message.
//!
//! Each step may run again after a crash or a retry: the secret is stored once and read back,
//! the account is created idempotently with the stored password, the bastion launched once per
//! request.

use time::{Duration, OffsetDateTime};

use crate::account::DbPassword;
use crate::broker::{AccessPorts, Broker, BrokerPorts};
use crate::error::{Error, Result};
use crate::grants::GrantPlan;
use crate::ids::RequestId;
use crate::lifecycle::{AccessRequest, EventKind, RequestState, Transition};
use crate::ports::{
    BastionFleet, BastionStatus, Chat, DbAccounts, Notice, RequestStore, SecretVault,
};
use crate::timefmt::{Precision, rfc3339};

/// How long before the end the requester is warned.
pub const WARNING_LEAD: Duration = Duration::minutes(10);

/// How long after a window's end the server locks the account by itself when the broker has
/// not removed it by then (the [`Backstop`](crate::ports::Backstop)).
pub const BACKSTOP_GRACE: Duration = Duration::minutes(10);

use super::WORKFLOW;

/// When an approved request's access starts, is warned about and ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Access begins (the requested start, or the approval when that came later).
    pub start_at: OffsetDateTime,
    /// The "ends soon" message.
    pub warn_at: OffsetDateTime,
    /// Access ends.
    pub end_at: OffsetDateTime,
}

/// What activation found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activation {
    /// Access is live and the requester was told how to connect.
    Ready(Box<AccessRequest>),
    /// The bastion is still booting; ask again shortly.
    BastionStarting,
}

impl<P: AccessPorts> Broker<P> {
    /// The schedule of request `id` from its effective window.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::IllegalTransition`] when the request was never approved.
    pub async fn schedule(&self, id: RequestId) -> Result<Schedule> {
        let request = self.load(id).await?;
        if request
            .decision()
            .is_none_or(|e| e.kind != EventKind::Approved)
        {
            return Err(Error::IllegalTransition {
                from: request.state(),
                transition: Transition::StartProvisioning,
            });
        }
        let window = request.window();
        Ok(Schedule {
            start_at: window.start(),
            warn_at: window.warning_at(WARNING_LEAD),
            end_at: window.end(),
        })
    }

    /// Creates what request `id` needs: its secret (a fresh password, stored once), its DB user
    /// with the level's grants, and its bastion (when access goes through one). Moves the
    /// request from approved to provisioning; a request already active is left alone. A request
    /// cancelled (or failed) while this runs gets what this run made removed at once, since
    /// stopping the workflow does not stop a task already running.
    ///
    /// # Errors
    /// [`Error::IllegalTransition`] when the request is neither approved nor provisioning (nor
    /// active), or stopped being provisioning meanwhile; the ports' errors (retryable ones may
    /// simply be retried).
    pub async fn provision(&self, id: RequestId) -> Result<AccessRequest> {
        let (store, vault) = (self.store(), self.vault());
        let now = self.now();
        let mut request = self.load(id).await?;
        match request.state() {
            RequestState::Approved => {
                let expected = request.version();
                request.apply(Transition::StartProvisioning, WORKFLOW, now, "")?;
                store.update(&request, expected).await?;
            }
            RequestState::Provisioning => {}
            RequestState::Active => return Ok(request),
            from => {
                return Err(Error::IllegalTransition {
                    from,
                    transition: Transition::StartProvisioning,
                });
            }
        }
        let cluster = self.cluster_of(&request)?;
        let end = request.window().end();
        if request.resources().secret.is_none() {
            let secret = vault
                .put(id, request.db_username(), &DbPassword::generate(), end)
                .await?;
            let expected = request.version();
            request.record_secret(secret, WORKFLOW, now);
            self.save_made(&request, expected).await?;
        }
        // Read back rather than reuse the generated value: a retry after a crash finds the
        // secret already stored and must create the account with that password.
        let password = vault.get(id).await?;
        let plan = GrantPlan::new(request.spec().permission, [])?;
        let lock_by = end + BACKSTOP_GRACE;
        let backstop = self
            .accounts()
            .create(
                &cluster.cluster,
                id,
                request.db_username(),
                &password,
                &plan,
                lock_by - now,
            )
            .await?;
        let backstop = backstop.problem().map_or_else(
            || {
                format!(
                    "the server locks it by itself at {}",
                    rfc3339(lock_by, Precision::Seconds)
                )
            },
            str::to_owned,
        );
        let created = format!(
            "DB user {} created on {} with {}; {backstop}",
            request.db_username(),
            cluster.cluster,
            request.spec().permission
        );
        if !request.events().iter().any(|e| e.detail == created) {
            let expected = request.version();
            request.record_step(WORKFLOW, now, created);
            self.save_made(&request, expected).await?;
        }
        let fleet = self.fleet();
        if fleet.through_ssm() && request.resources().bastion.is_none() {
            let bastion = fleet.launch(id, end, request.requester_email()).await?;
            let expected = request.version();
            request.record_bastion(bastion.id, WORKFLOW, now);
            self.save_made(&request, expected).await?;
        }
        if let Some(bastion) = &request.resources().bastion {
            vault.allow_reader(id, bastion).await?;
        }
        Ok(request)
    }

    /// Saves `made`, the provisioning request with what this run just created. When the request
    /// was cancelled or failed meanwhile, removes what it made instead (the bastion this run
    /// launched included, which the stored request may not know), records the removal and
    /// refuses to go on.
    async fn save_made(&self, made: &AccessRequest, expected: usize) -> Result<()> {
        let conflict = match self.store().update(made, expected).await {
            Err(Error::Conflict(conflict)) => conflict,
            other => return other,
        };
        let mut current = self.load(made.id()).await?;
        let from = current.state();
        if from == RequestState::Provisioning {
            return Err(Error::Conflict(conflict));
        }
        let now = self.now();
        let expected = current.version();
        if current.resources().bastion.is_none()
            && let Some(bastion) = made.resources().bastion.clone()
        {
            current.record_bastion(bastion, WORKFLOW, now);
        }
        let removed = self.remove_made(&current).await?;
        let detail = format!("provisioning stopped, the request being {from}: {removed}");
        if current.cleanup_owed() {
            current.record_cleanup(WORKFLOW, now, detail)?;
        } else {
            current.record_step(WORKFLOW, now, detail);
        }
        if let Err(e) = self.store().update(&current, expected).await {
            tracing::warn!(request = %current.id(), reason = %e.describe(), "the removal after a cancellation was not recorded");
        }
        Err(Error::IllegalTransition {
            from,
            transition: Transition::StartProvisioning,
        })
    }

    /// Makes request `id` active once its bastion is ready, and sends the requester the connect
    /// instructions (never the password). A message that cannot be delivered is recorded on the
    /// request; access stays live. Activating observes `BuildSucceeded` and `TimeToReady`.
    ///
    /// # Errors
    /// [`Error::IllegalTransition`] when the request is not provisioning (or active); a
    /// non-retryable [`Error::Backend`] when the bastion is gone; the ports' errors.
    pub async fn activate(&self, id: RequestId) -> Result<Activation> {
        let now = self.now();
        let mut request = self.load(id).await?;
        match request.state() {
            RequestState::Provisioning => {}
            RequestState::Active => {
                self.observe(&request, now);
                return Ok(Activation::Ready(Box::new(request)));
            }
            from => {
                return Err(Error::IllegalTransition {
                    from,
                    transition: Transition::Activate,
                });
            }
        }
        let bastion = request.resources().bastion.clone();
        if let Some(bastion) = &bastion {
            match self.fleet().status(bastion).await? {
                BastionStatus::Ready => {}
                BastionStatus::Starting => return Ok(Activation::BastionStarting),
                BastionStatus::Gone => {
                    return Err(Error::Backend {
                        system: "bastion",
                        retryable: false,
                        source: format!("bastion {} is gone before access started", bastion.0)
                            .into(),
                    });
                }
            }
        }
        let Some(secret) = request.resources().secret.clone() else {
            return Err(Error::Conflict(format!(
                "request {id} has no stored secret; provisioning did not finish"
            )));
        };
        let cluster = self.cluster_of(&request)?;
        let expected = request.version();
        request.apply(Transition::Activate, WORKFLOW, now, "")?;
        self.store().update(&request, expected).await?;
        let notice = Notice::Ready {
            request: id,
            username: request.db_username().clone(),
            bastion,
            region: request.spec().region.clone(),
            endpoint: cluster.endpoint.clone(),
            port: cluster.port,
            secret: self.vault().locate(&secret),
            ends_at: request.window().end(),
        };
        self.tell(&mut request, &notice, now).await?;
        self.redraw(&request).await;
        self.observe(&request, now);
        Ok(Activation::Ready(Box::new(request)))
    }
}

impl<P: BrokerPorts> Broker<P> {
    /// Sends `notice` to the requester; a failure is recorded on the request instead of failing
    /// the step (a lost message must never block access or its removal).
    ///
    /// # Errors
    /// The store's errors when recording the failure.
    pub(crate) async fn tell(
        &self,
        request: &mut AccessRequest,
        notice: &Notice,
        now: OffsetDateTime,
    ) -> Result<()> {
        if let Err(error) = self.chat().notify(request.requester(), notice).await {
            tracing::warn!(request = %request.id(), %error, "message to the requester not delivered");
            let expected = request.version();
            request.record_step(WORKFLOW, now, format!("message not delivered: {error}"));
            self.store().update(request, expected).await?;
        }
        Ok(())
    }

    /// Redraws the approval card, if there is one; a failure is only logged.
    pub(crate) async fn redraw(&self, request: &AccessRequest) {
        if let Some(card) = &request.resources().approval_card
            && let Err(error) = self.chat().update_approval_card(card, request).await
        {
            tracing::warn!(request = %request.id(), %error, "the approval card could not be redrawn");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;
    use crate::resources::SecretLocation;
    use crate::usecases::fakes::*;
    use crate::usecases::fakes::{
        MemoryAccounts, MemoryFleet, MemoryVault, RecordingChat, approved, cluster, now,
        pending_with_card,
    };

    #[tokio::test]
    async fn provisioning_twice_creates_one_secret_one_user_one_bastion() {
        let (store, chat) = (MemoryStore::new(), RecordingChat::default());
        let (vault, fleet, accounts) = (
            MemoryVault::default(),
            MemoryFleet::default(),
            MemoryAccounts::default(),
        );
        let request = approved(&store, &chat).await;

        for _ in 0..2 {
            access(
                &store,
                &RecordingChat::default(),
                &vault,
                &fleet,
                &accounts,
                &[cluster()],
                now(),
            )
            .provision(request.id())
            .await
            .unwrap();
        }

        let stored = store.get(request.id()).await.unwrap().unwrap();
        assert_eq!(stored.state(), RequestState::Provisioning);
        assert_eq!(fleet.launched(), 1);
        assert_eq!(
            *fleet.owners.lock().unwrap(),
            [request.requester_email().cloned()],
            "the bastion is marked as the requester's, so only they can open a session on it"
        );
        assert!(request.requester_email().is_some());
        assert!(vault.holds(request.id()));
        assert_eq!(
            vault.readers.lock().unwrap().get(&request.id()),
            stored.resources().bastion.as_ref(),
            "only the request's own bastion may read its secret"
        );
        let password = vault.get(request.id()).await.unwrap();
        assert_eq!(
            accounts.password_of(request.db_username()).as_deref(),
            Some(password.expose()),
            "the account has the stored password"
        );
        let steps: Vec<&str> = stored
            .events()
            .iter()
            .filter(|e| e.kind == EventKind::Step)
            .map(|e| e.detail.as_str())
            .collect();
        assert_eq!(steps.len(), 3, "secret, user, bastion once each: {steps:?}");
        assert!(
            stored
                .events()
                .iter()
                .all(|e| !e.detail.contains(password.expose())),
            "no event holds the password"
        );
    }

    /// A fleet whose launch takes long enough for the requester to cancel meanwhile.
    struct CancelledDuringLaunch<'a> {
        fleet: &'a MemoryFleet,
        store: &'a MemoryStore,
    }

    impl BastionFleet for CancelledDuringLaunch<'_> {
        async fn launch(
            &self,
            id: RequestId,
            expires_at: OffsetDateTime,
            requester: Option<&crate::account::Email>,
        ) -> Result<crate::ports::Bastion> {
            let mut request = self.store.get(id).await?.unwrap();
            let expected = request.version();
            let by = crate::lifecycle::Actor::User(request.requester().clone());
            request.apply(Transition::Cancel, by, now(), "cancelled by the requester")?;
            self.store.update(&request, expected).await?;
            self.fleet.launch(id, expires_at, requester).await
        }

        async fn status(&self, bastion: &crate::resources::BastionId) -> Result<BastionStatus> {
            self.fleet.status(bastion).await
        }

        async fn terminate(&self, bastion: &crate::resources::BastionId) -> Result<()> {
            self.fleet.terminate(bastion).await
        }

        async fn list(&self) -> Result<Vec<crate::ports::Bastion>> {
            self.fleet.list().await
        }
    }

    #[tokio::test]
    async fn a_request_cancelled_while_its_bastion_launches_gets_everything_this_run_made_removed()
    {
        let w = Live::default();
        let (store, vault, fleet, accounts) = (&w.store, &w.vault, &w.fleet, &w.accounts);
        let request = approved(store, &w.chat).await;
        let cancelling = CancelledDuringLaunch { fleet, store };

        let err = access(
            store,
            &w.chat,
            vault,
            &cancelling,
            accounts,
            &[cluster()],
            now(),
        )
        .provision(request.id())
        .await
        .unwrap_err();

        assert!(
            matches!(
                err,
                Error::IllegalTransition {
                    from: RequestState::Cancelled,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(fleet.launched(), 1);
        assert_eq!(
            fleet.terminated(),
            vec![fleet.launched.lock().unwrap()[0].1.clone()],
            "the bastion launched after the cancellation is terminated, not left to the sweeper"
        );
        assert!(accounts.password_of(request.db_username()).is_none());
        assert!(!vault.holds(request.id()));
        let stored = store.get(request.id()).await.unwrap().unwrap();
        assert_eq!(stored.state(), RequestState::Cancelled);
        assert!(!stored.cleanup_owed(), "{:?}", stored.events());
        assert_eq!(
            stored.resources().bastion,
            Some(fleet.launched.lock().unwrap()[0].1.clone()),
            "the request records the bastion that existed"
        );
    }

    #[tokio::test]
    async fn the_server_is_told_to_lock_the_user_ten_minutes_after_the_window_and_a_dead_backstop_is_recorded()
     {
        let (store, chat) = (MemoryStore::new(), RecordingChat::default());
        let (vault, fleet, accounts) = (
            MemoryVault::default(),
            MemoryFleet::default(),
            MemoryAccounts::default(),
        );
        accounts
            .scheduler_off
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let request = approved(&store, &chat).await;

        let provisioned = access(
            &store,
            &chat,
            &vault,
            &fleet,
            &accounts,
            &[cluster()],
            now(),
        )
        .provision(request.id())
        .await
        .unwrap();

        assert_eq!(
            *accounts.lock_within.lock().unwrap(),
            [provisioned.window().end() + BACKSTOP_GRACE - now()]
        );
        let created = provisioned
            .events()
            .iter()
            .find(|e| e.detail.starts_with("DB user"))
            .unwrap();
        assert!(
            created.detail.contains("event_scheduler is OFF"),
            "{}",
            created.detail
        );
    }

    #[tokio::test]
    async fn a_pending_request_is_never_provisioned() {
        let (store, chat) = (MemoryStore::new(), RecordingChat::default());
        let (vault, fleet, accounts) = (
            MemoryVault::default(),
            MemoryFleet::default(),
            MemoryAccounts::default(),
        );
        let request = pending_with_card(&store, &chat, "U1").await;

        let err = access(
            &store,
            &RecordingChat::default(),
            &vault,
            &fleet,
            &accounts,
            &[cluster()],
            now(),
        )
        .provision(request.id())
        .await
        .unwrap_err();

        assert!(matches!(err, Error::IllegalTransition { .. }), "{err}");
        assert_eq!(fleet.launched(), 0);
        assert_eq!(vault.puts(), 0);
    }

    #[tokio::test]
    async fn activation_waits_for_the_bastion_then_sends_the_connect_instructions_once() {
        let (store, chat) = (MemoryStore::new(), RecordingChat::default());
        let (vault, accounts) = (MemoryVault::default(), MemoryAccounts::default());
        let fleet = MemoryFleet {
            boot_polls: 2,
            ..MemoryFleet::default()
        };
        let request = approved(&store, &chat).await;
        access(
            &store,
            &RecordingChat::default(),
            &vault,
            &fleet,
            &accounts,
            &[cluster()],
            now(),
        )
        .provision(request.id())
        .await
        .unwrap();

        let first = access(
            &store,
            &chat,
            &MemoryVault::default(),
            &fleet,
            &MemoryAccounts::default(),
            &[cluster()],
            now(),
        )
        .activate(request.id())
        .await
        .unwrap();
        let second = access(
            &store,
            &chat,
            &MemoryVault::default(),
            &fleet,
            &MemoryAccounts::default(),
            &[cluster()],
            now(),
        )
        .activate(request.id())
        .await
        .unwrap();
        let third = access(
            &store,
            &chat,
            &MemoryVault::default(),
            &fleet,
            &MemoryAccounts::default(),
            &[cluster()],
            now(),
        )
        .activate(request.id())
        .await
        .unwrap();
        let again = access(
            &store,
            &chat,
            &MemoryVault::default(),
            &fleet,
            &MemoryAccounts::default(),
            &[cluster()],
            now(),
        )
        .activate(request.id())
        .await
        .unwrap();

        assert_eq!(
            (first, second),
            (Activation::BastionStarting, Activation::BastionStarting)
        );
        assert!(matches!(third, Activation::Ready(r) if r.state() == RequestState::Active));
        assert!(matches!(again, Activation::Ready(_)));
        let notices = chat.notices();
        assert_eq!(notices.len(), 1, "one ready message: {notices:?}");
        let Notice::Ready {
            username,
            bastion,
            endpoint,
            port,
            secret,
            ends_at,
            ..
        } = &notices[0]
        else {
            panic!("expected a ready notice, got {notices:?}")
        };
        assert_eq!(username, request.db_username());
        assert!(bastion.is_some());
        assert_eq!((endpoint.as_str(), *port), ("orders-prod", 3306));
        assert!(
            matches!(secret, SecretLocation::SecretsManager(_)),
            "the vault says where its secret is: {secret:?}"
        );
        assert_eq!(*ends_at, request.window().end());
    }

    #[tokio::test]
    async fn an_approval_after_the_start_shifts_the_window_and_keeps_its_length() {
        let (store, chat) = (MemoryStore::new(), RecordingChat::default());
        let request = pending_with_card(&store, &chat, "U1").await;
        let late = request.spec().window.start() + Duration::minutes(20);
        intake(
            &store,
            &chat,
            &StaticDirectory::default(),
            &crate::usecases::fakes::RecordingWorkflow::default(),
            &[cluster()],
            late,
        )
        .decide(
            request.id(),
            &crate::usecases::fakes::user("U2"),
            crate::ports::Decision::Approve,
        )
        .await
        .unwrap();

        let times = access(
            &store,
            &RecordingChat::default(),
            &MemoryVault::default(),
            &MemoryFleet::default(),
            &MemoryAccounts::default(),
            &[cluster()],
            now(),
        )
        .schedule(request.id())
        .await
        .unwrap();

        assert_eq!(times.start_at, late);
        assert_eq!(times.end_at, late + request.spec().window.duration());
        assert_eq!(times.warn_at, times.end_at - WARNING_LEAD);
    }
}
