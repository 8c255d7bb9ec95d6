//! What the local broker's session receipts read when nothing better is configured: there is no
//! bastion locally ([`NoBastionSessions`]), and without a `server_audit` file there is no audit log
//! ([`NoAuditLog`]; `powerpole serve` uses the MySQL adapter's `AuditFiles` for the clusters that
//! name one).

use powerpole_core::ports::{AuditSource, SessionLog};
use powerpole_core::receipt::{BastionSession, Gathered};
use powerpole_core::{AccessWindow, AuditRecord, BastionId, ClusterId, DbUsername};

/// The [`SessionLog`] of the local broker: people connect from this machine, not through an SSM
/// session, so every receipt says there was no bastion.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoBastionSessions;

impl SessionLog for NoBastionSessions {
    async fn sessions(
        &self,
        _bastion: Option<&BastionId>,
        _window: &AccessWindow,
    ) -> powerpole_core::Result<Gathered<Vec<BastionSession>>> {
        Ok(Gathered::Unavailable {
            why: "no bastion in local mode: people connect from the broker's machine".to_owned(),
        })
    }
}

/// An [`AuditSource`] with no audit log behind it: every receipt says the log is unavailable
/// rather than that nothing happened.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAuditLog;

impl AuditSource for NoAuditLog {
    async fn records(
        &self,
        cluster: &ClusterId,
        _username: &DbUsername,
        _window: &AccessWindow,
    ) -> powerpole_core::Result<Vec<AuditRecord>> {
        Err(powerpole_core::Error::NotFound(format!(
            "an audit log for cluster {cluster}"
        )))
    }
}
