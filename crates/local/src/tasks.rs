//! The runner's [`TaskHandlers`] for the broker's state machine: each `FunctionName` (`notify`,
//! `provision`, `teardown`) goes to the same task function the Lambda of that name wraps; the
//! `teardown` function's `receipt` task reads the audit log and the session log the tasks were
//! given ([`BrokerTasks::with_receipt_sources`]; by default none: receipts say so).

use powerpole_asl::{TaskFailure, TaskHandlers};
use powerpole_core::Clock;
use powerpole_core::ports::{
    AuditSource, BastionFleet, Chat, DbAccounts, RequestStore, SecretVault, SessionLog,
};
use powerpole_lambda::TaskError;
use powerpole_lambda::tasks::{self, AccessPorts};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::sessions::{NoAuditLog, NoBastionSessions};

/// The broker's tasks in-process, over one set of ports, with the receipt's audit log `U` and
/// session log `L`.
#[derive(Debug)]
pub struct BrokerTasks<S, V, F, A, C, K, U = NoAuditLog, L = NoBastionSessions> {
    ports: AccessPorts<S, V, F, A, C, K>,
    audit: U,
    sessions: L,
}

impl<S, V, F, A, C, K> BrokerTasks<S, V, F, A, C, K> {
    /// Tasks over `ports`, whose receipts have no audit log and no bastion.
    #[must_use]
    pub const fn new(ports: AccessPorts<S, V, F, A, C, K>) -> Self {
        Self {
            ports,
            audit: NoAuditLog,
            sessions: NoBastionSessions,
        }
    }
}

impl<S, V, F, A, C, K, U, L> BrokerTasks<S, V, F, A, C, K, U, L> {
    /// The same tasks, whose receipts read `audit` and `sessions`.
    #[must_use]
    pub fn with_receipt_sources<U2, L2>(
        self,
        audit: U2,
        sessions: L2,
    ) -> BrokerTasks<S, V, F, A, C, K, U2, L2> {
        BrokerTasks {
            ports: self.ports,
            audit,
            sessions,
        }
    }

    /// The ports the tasks use.
    #[must_use]
    pub const fn ports(&self) -> &AccessPorts<S, V, F, A, C, K> {
        &self.ports
    }

    /// The substitution variables of `statemachine/powerpole.asl.json` for running it with these
    /// tasks: each function variable names the task function.
    #[must_use]
    pub fn variables() -> BTreeMap<String, String> {
        [
            ("notify_function", tasks::NOTIFY),
            ("provision_function", tasks::PROVISION),
            ("teardown_function", tasks::TEARDOWN),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }
}

impl<S, V, F, A, C, K, U, L> TaskHandlers for BrokerTasks<S, V, F, A, C, K, U, L>
where
    S: RequestStore + 'static,
    V: SecretVault + 'static,
    F: BastionFleet + 'static,
    A: DbAccounts + 'static,
    C: Chat + 'static,
    K: Clock + 'static,
    U: AuditSource + 'static,
    L: SessionLog + 'static,
{
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, TaskFailure> {
        let p = &self.ports;
        let result = match function {
            tasks::NOTIFY => tasks::notify(&p.store, &p.chat, &p.clock, payload).await,
            tasks::PROVISION => tasks::provision(p, payload).await,
            tasks::TEARDOWN if tasks::is_receipt(&payload) => {
                tasks::receipt(
                    &p.store,
                    &p.chat,
                    &p.clock,
                    &self.audit,
                    &self.sessions,
                    payload,
                )
                .await
            }
            tasks::TEARDOWN => tasks::teardown(p, payload).await,
            other => Err(TaskError::NonRetryable(format!(
                "no task function {other:?}"
            ))),
        };
        result.map_err(|e| TaskFailure::new(e.error_type(), e.to_string()))
    }
}
