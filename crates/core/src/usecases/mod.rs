//! Use cases: what the broker does, as functions generic over the ports. Driving adapters (the
//! Slack ingress, the lambdas, the local server) parse their input, call one of these and map the
//! result; none of them decides anything on its own.
//!
//! Every use case is idempotent: a Slack retry, a Step Functions retry or a double click finds
//! the work already done and answers as the first call did, without creating anything twice.

mod access;
mod approval;
mod decide;
mod ending;
mod receipt;
mod submit;
mod sweep;

pub use access::{Activation, Schedule, WARNING_LEAD, activate, cluster_of, provision, schedule};
pub use approval::{ApprovalGate, open_approval};
pub use decide::{Decided, decide};
pub use ending::{EndNow, Teardown, end_now, expire, mark_failed, teardown, tell_denied, warn};
pub use receipt::{RECEIPT_POSTED, post_receipt, receipt};
pub use submit::{DUPLICATE_WINDOW, Submission, submit};
pub use sweep::{SweepAction, SweepPolicy, SweepPorts, SweepReport, sweep};

use crate::error::{Error, Result};
use crate::ids::RequestId;
use crate::lifecycle::AccessRequest;
use crate::ports::RequestStore;

/// Loads a request that must exist.
///
/// # Errors
/// [`Error::NotFound`] when there is no such request; the store's errors.
pub async fn load<S: RequestStore>(store: &S, id: RequestId) -> Result<AccessRequest> {
    store
        .get(id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("request {id}")))
}

#[cfg(test)]
pub(crate) mod fakes;
