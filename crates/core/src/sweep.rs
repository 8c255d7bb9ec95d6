//! What a sweep found and did ([`SweepReport`]), as the sweeper's use case returns it and the
//! chat port and the drivers render it.

use std::fmt;

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

impl SweepAction {
    /// `settled` or `removed`.
    #[must_use]
    pub const fn verb(&self) -> &'static str {
        match self {
            Self::Settled { .. } => "settled",
            Self::Removed { .. } => "removed",
        }
    }
}

/// The action in words, the one rendering the sweeper's outputs share: `request ID: detail`,
/// or `kind resource` with its owner (`of request ID`, `(orphan: unknown request ID)`,
/// `(orphan)`) and what was done.
impl fmt::Display for SweepAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Settled { request, detail } => write!(f, "request {request}: {detail}"),
            Self::Removed {
                kind,
                resource,
                request,
                orphan,
                detail,
            } => {
                write!(f, "{} {resource}", kind.as_str())?;
                match (request, orphan) {
                    (Some(id), false) => write!(f, " of request {id}")?,
                    (Some(id), true) => write!(f, " (orphan: unknown request {id})")?,
                    (None, _) => f.write_str(" (orphan)")?,
                }
                write!(f, ": {detail}")
            }
        }
    }
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
    /// How many live broker-made DB users the server would not lock by itself (each is also a
    /// problem).
    pub users_without_backstop: usize,
}

impl SweepReport {
    pub(crate) fn new(at: OffsetDateTime) -> Self {
        Self {
            at,
            actions: Vec::new(),
            problems: Vec::new(),
            oldest_bastion: None,
            oldest_account: None,
            users_without_backstop: 0,
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
        self.problems.push(format!("{what}: {}", error.describe()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> RequestId {
        RequestId::parse("01KAW3J5ZQ8X7V2M4N6P8R0T2W").unwrap()
    }

    #[test]
    fn each_action_says_what_went_whose_it_was_and_why() {
        let settled = SweepAction::Settled {
            request: id(),
            detail: "expired".into(),
        };
        let removed = |request, orphan| SweepAction::Removed {
            kind: ResourceKind::Bastion,
            resource: "i-0abc".into(),
            request,
            orphan,
            detail: "terminated".into(),
        };

        assert_eq!(
            settled.to_string(),
            "request 01KAW3J5ZQ8X7V2M4N6P8R0T2W: expired"
        );
        assert_eq!(
            removed(Some(id()), false).to_string(),
            "bastion i-0abc of request 01KAW3J5ZQ8X7V2M4N6P8R0T2W: terminated"
        );
        assert_eq!(
            removed(Some(id()), true).to_string(),
            "bastion i-0abc (orphan: unknown request 01KAW3J5ZQ8X7V2M4N6P8R0T2W): terminated"
        );
        assert_eq!(
            removed(None, true).to_string(),
            "bastion i-0abc (orphan): terminated"
        );
        assert_eq!(
            (settled.verb(), removed(None, true).verb()),
            ("settled", "removed")
        );
    }
}
