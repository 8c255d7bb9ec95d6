//! Port doubles and fixtures for the use-case tests: they record what the use case asked of
//! the outside world.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use time::OffsetDateTime;
use time::macros::datetime;

use crate::account::{DbUsername, Email};
use crate::error::{Error, Result};
use crate::ids::{ClusterId, Region, RequestId, SlackUserId};
use crate::lifecycle::{AccessRequest, RequestState};
use crate::policy::{ClusterPolicy, RequestForm};
use crate::ports::{
    Chat, Decision, Directory, MessageRef, Notice, RequestStore, TaskToken, Workflow,
};

pub fn now() -> OffsetDateTime {
    datetime!(2026-11-23 10:00 UTC)
}

/// `U1` → `U00000001`: short names in tests, real-looking ids in the domain.
pub fn user(short: &str) -> SlackUserId {
    SlackUserId::parse(&format!("{}{:0>8}", &short[..1], &short[1..])).unwrap()
}

pub fn cluster() -> ClusterPolicy {
    ClusterPolicy::new(
        ClusterId::parse("orders-prod").unwrap(),
        Region::parse("ap-northeast-1").unwrap(),
    )
}

pub fn form() -> RequestForm {
    RequestForm {
        cluster: "orders-prod".into(),
        region: "ap-northeast-1".into(),
        permission: "READ".into(),
        duration_minutes: "60".into(),
        start: None,
        reason: "INC-1234 look at stuck orders".into(),
    }
}

/// A pending request of `requester`, stored.
pub async fn pending<S: RequestStore>(store: &S, requester: &str) -> AccessRequest {
    let spec = form().validate(&[cluster()], now()).unwrap();
    let email = Email::parse("someone@example.com").unwrap();
    let request = AccessRequest::submit(
        RequestId::generate(now(), &mut rand::rng()),
        user(requester),
        DbUsername::from_email(&email).unwrap(),
        spec,
        now(),
    );
    store.insert(&request).await.unwrap();
    request
}

/// A pending request whose approval gate stored `token-1` and posted the card.
pub async fn pending_with_card<S: RequestStore>(
    store: &S,
    chat: &RecordingChat,
    requester: &str,
) -> AccessRequest {
    let request = pending(store, requester).await;
    crate::usecases::open_approval(store, chat, request.id(), TaskToken("token-1".into()))
        .await
        .unwrap();
    chat.forget();
    store.get(request.id()).await.unwrap().unwrap()
}

#[derive(Debug, Default)]
pub struct RecordingWorkflow {
    started: Mutex<Vec<RequestId>>,
    resumed: Mutex<Vec<(TaskToken, Decision)>>,
}

impl RecordingWorkflow {
    pub fn started(&self) -> Vec<RequestId> {
        self.started.lock().unwrap().clone()
    }

    pub fn resumed(&self) -> Vec<(TaskToken, Decision)> {
        self.resumed.lock().unwrap().clone()
    }
}

impl Workflow for RecordingWorkflow {
    async fn start(&self, id: RequestId) -> Result<()> {
        self.started.lock().unwrap().push(id);
        Ok(())
    }

    async fn resume(&self, token: &TaskToken, decision: Decision) -> Result<()> {
        self.resumed.lock().unwrap().push((token.clone(), decision));
        Ok(())
    }

    async fn stop(&self, _id: RequestId, _cause: &str) -> Result<()> {
        Ok(())
    }
}

#[derive(Debug, Default)]
pub struct StaticDirectory {
    emails: HashMap<SlackUserId, String>,
    lookups: AtomicUsize,
}

impl StaticDirectory {
    pub fn with(user: &SlackUserId, email: &str) -> Self {
        Self {
            emails: HashMap::from([(user.clone(), email.to_owned())]),
            lookups: AtomicUsize::new(0),
        }
    }

    pub fn lookups(&self) -> usize {
        self.lookups.load(Ordering::SeqCst)
    }
}

impl Directory for StaticDirectory {
    async fn email_of(&self, user: &SlackUserId) -> Result<Email> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let email = self
            .emails
            .get(user)
            .ok_or_else(|| Error::NotFound(format!("user {user}")))?;
        Email::parse(email)
    }
}

#[derive(Debug, Default)]
pub struct RecordingChat {
    posted: Mutex<Vec<MessageRef>>,
    updated: Mutex<Vec<RequestState>>,
    notices: Mutex<Vec<(SlackUserId, Notice)>>,
    fail_updates: AtomicBool,
}

impl RecordingChat {
    pub fn cards_posted(&self) -> Vec<MessageRef> {
        self.posted.lock().unwrap().clone()
    }

    /// The states each card redraw showed.
    pub fn card_states(&self) -> Vec<RequestState> {
        self.updated.lock().unwrap().clone()
    }

    pub fn fail_updates(&self) {
        self.fail_updates.store(true, Ordering::SeqCst);
    }

    pub fn forget(&self) {
        self.updated.lock().unwrap().clear();
        self.notices.lock().unwrap().clear();
    }
}

impl Chat for RecordingChat {
    async fn post_approval_card(&self, request: &AccessRequest) -> Result<MessageRef> {
        let card = MessageRef {
            channel: "CAPPROVERS".into(),
            ts: format!("{}.0001", request.id().created_at().unix_timestamp()),
        };
        self.posted.lock().unwrap().push(card.clone());
        Ok(card)
    }

    async fn update_approval_card(
        &self,
        _card: &MessageRef,
        request: &AccessRequest,
    ) -> Result<()> {
        if self.fail_updates.load(Ordering::SeqCst) {
            return Err(Error::Backend {
                system: "slack",
                retryable: true,
                source: "HTTP 503".into(),
            });
        }
        self.updated.lock().unwrap().push(request.state());
        Ok(())
    }

    async fn notify(&self, user: &SlackUserId, notice: &Notice) -> Result<()> {
        self.notices
            .lock()
            .unwrap()
            .push((user.clone(), notice.clone()));
        Ok(())
    }
}
