//! What a sweep found and did ([`SweepReport`]), as the sweeper's use case returns it and the
//! chat port and the drivers render it.

use std::fmt::Write as _;

use time::{Duration, OffsetDateTime};

use crate::error::Error;
use crate::ids::RequestId;
use crate::ports::ResourceKind;

/// One thing a sweep did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SweepAction {
    /// Moved a request on that its workflow left behind.
    Settled {
        /// The request.
        request: RequestId,
        /// What the sweeper did and why.
        detail: String,
    },
    /// Removed something no live request owns.
    Removed {
        /// What it was.
        kind: ResourceKind,
        /// Its name: `user@cluster`, the secret, the instance id.
        resource: String,
        /// The request it names, if any.
        request: Option<RequestId>,
        /// Whether no stored request owns it at all (else its request is finished).
        orphan: bool,
        /// Why it went and how.
        detail: String,
    },
}

/// What one sweep found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// When the sweep ran.
    pub at: OffsetDateTime,
    /// What it did, in order.
    pub actions: Vec<SweepAction>,
    /// What it could not do this time (it tries again next sweep); never a secret.
    pub problems: Vec<String>,
    /// The age of the oldest bastion left running.
    pub oldest_bastion: Option<Duration>,
    /// The age of the oldest broker-made DB user left on a server.
    pub oldest_account: Option<Duration>,
}

impl SweepReport {
    pub(crate) fn new(at: OffsetDateTime) -> Self {
        Self {
            at,
            actions: Vec::new(),
            problems: Vec::new(),
            oldest_bastion: None,
            oldest_account: None,
        }
    }

    /// How many leftover things (DB users, secrets, bastions) it removed.
    #[must_use]
    pub fn orphans_found(&self) -> usize {
        self.actions
            .iter()
            .filter(|a| matches!(a, SweepAction::Removed { .. }))
            .count()
    }

    pub(crate) fn problem(&mut self, what: impl std::fmt::Display, error: &Error) {
        self.problems.push(format!("{what}: {}", describe(error)));
    }
}

/// An error with its sources, for the report (adapters never put a secret in an error).
fn describe(error: &Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}
