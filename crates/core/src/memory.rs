//! An in-memory [`RequestStore`]: the reference implementation of the store contract, used by
//! the core's use-case tests and by anything that needs a store without a server. It behaves as
//! the durable stores do (conditional writes, newest-first listing, deadline and period queries) but keeps
//! nothing across processes.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::ids::{RequestId, SlackUserId};
use crate::lifecycle::{AccessRequest, RequestState};
use crate::ports::{Orphan, RequestStore};

/// Requests kept in a map behind a mutex.
#[derive(Debug, Default)]
pub struct MemoryStore {
    requests: Mutex<BTreeMap<RequestId, AccessRequest>>,
    orphans: Mutex<Vec<Orphan>>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<RequestId, AccessRequest>> {
        self.requests.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl RequestStore for MemoryStore {
    async fn insert(&self, request: &AccessRequest) -> Result<()> {
        let mut requests = self.lock();
        if requests.contains_key(&request.id()) {
            return Err(Error::Conflict(format!("request {} exists", request.id())));
        }
        requests.insert(request.id(), request.clone());
        Ok(())
    }

    async fn get(&self, id: RequestId) -> Result<Option<AccessRequest>> {
        Ok(self.lock().get(&id).cloned())
    }

    async fn update(&self, request: &AccessRequest, expected: usize) -> Result<()> {
        let mut requests = self.lock();
        let Some(stored) = requests.get_mut(&request.id()) else {
            return Err(Error::NotFound(format!("request {}", request.id())));
        };
        if stored.version() != expected || request.version() < expected {
            return Err(Error::Conflict(format!(
                "request {} is at version {}, not {expected}",
                request.id(),
                stored.version()
            )));
        }
        *stored = request.clone();
        Ok(())
    }

    async fn by_requester(&self, requester: &SlackUserId) -> Result<Vec<AccessRequest>> {
        Ok(self
            .lock()
            .values()
            .rev()
            .filter(|r| r.requester() == requester)
            .cloned()
            .collect())
    }

    async fn due(&self, state: RequestState, before: OffsetDateTime) -> Result<Vec<AccessRequest>> {
        let mut due: Vec<AccessRequest> = self
            .lock()
            .values()
            .filter(|r| r.state() == state && r.deadline().is_some_and(|d| d < before))
            .cloned()
            .collect();
        due.sort_by_key(|r| (r.deadline(), r.id()));
        Ok(due)
    }

    async fn record_orphan(&self, orphan: &Orphan) -> Result<bool> {
        let mut orphans = self.orphans.lock().unwrap_or_else(PoisonError::into_inner);
        if orphans.iter().any(|o| o.key() == orphan.key()) {
            return Ok(false);
        }
        orphans.push(orphan.clone());
        Ok(true)
    }

    async fn orphans(&self, limit: usize) -> Result<Vec<Orphan>> {
        let mut orphans = self
            .orphans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        orphans.sort_by(|a, b| {
            b.found_at
                .cmp(&a.found_at)
                .then_with(|| a.key().cmp(&b.key()))
        });
        orphans.truncate(limit);
        Ok(orphans)
    }

    async fn submitted_between(
        &self,
        from: OffsetDateTime,
        until: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<AccessRequest>> {
        let mut found: Vec<AccessRequest> = self
            .lock()
            .values()
            .filter(|r| (from..until).contains(&r.submitted_at()))
            .cloned()
            .collect();
        found.sort_by_key(|r| (r.submitted_at(), r.id()));
        found.truncate(limit);
        Ok(found)
    }
}
