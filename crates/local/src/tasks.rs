//! The runner's [`TaskHandlers`] for the broker's state machine: each `FunctionName` (`notify`,
//! `provision`, `teardown`) goes to the same task function the Lambda of that name wraps
//! ([`powerpole_tasks::invoke`]), over one [`Broker`]. Its evidence ports are what the `receipt`
//! task reads; a broker without an audit log or a bastion wires [`crate::NoAuditLog`] and
//! [`crate::NoBastionSessions`], and its receipts say so.

use std::collections::BTreeMap;
use std::sync::Arc;

use powerpole_asl::{TaskFailure, TaskHandlers};
use powerpole_core::{AccessPorts, Broker, EvidencePorts};
use serde_json::Value;

/// The broker's tasks in-process.
#[derive(Debug)]
pub struct BrokerTasks<P> {
    broker: Arc<Broker<P>>,
}

impl<P> BrokerTasks<P> {
    /// The tasks of `broker`.
    #[must_use]
    pub fn new(broker: Broker<P>) -> Self {
        Self {
            broker: Arc::new(broker),
        }
    }

    /// The broker the tasks run on.
    #[must_use]
    pub fn broker(&self) -> &Broker<P> {
        &self.broker
    }

    /// The broker the tasks run on, for a driver that also uses it outside the workflow (the
    /// live tripwires' look).
    #[must_use]
    pub fn shared_broker(&self) -> Arc<Broker<P>> {
        Arc::clone(&self.broker)
    }

    /// The substitution variables of `statemachine/powerpole.asl.json` for running it with these
    /// tasks: each function variable names the task function.
    #[must_use]
    pub fn variables() -> BTreeMap<String, String> {
        powerpole_tasks::function_variables()
    }
}

impl<P> TaskHandlers for BrokerTasks<P>
where
    P: AccessPorts + EvidencePorts + 'static,
{
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, TaskFailure> {
        powerpole_tasks::invoke(&self.broker, function, payload)
            .await
            .map_err(|e| TaskFailure::new(e.error_type(), e.to_string()))
    }
}
