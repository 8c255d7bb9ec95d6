//! Use cases: what the broker does, as methods of [`Broker`](crate::Broker) grouped by the ports
//! they need. Driving adapters (the Slack ingress, the lambdas, the local server) parse their
//! input, call one of these and map the result; none of them decides anything on its own.
//!
//! Every use case is idempotent: a Slack retry, a Step Functions retry or a double click finds
//! the work already done and answers as the first call did, without creating anything twice.

mod access;
mod approval;
mod decide;
mod ending;
mod extend;
mod receipt;
mod report;
mod submit;
mod sweep;
mod watch;

pub use access::{Activation, BACKSTOP_GRACE, Schedule, WARNING_LEAD};
pub use approval::ApprovalGate;
pub use decide::{Cancelled, Decided, NOT_RESUMED, RESUMED_LATER};
pub use ending::{EndNow, Teardown};
pub use extend::{BACKSTOP_MOVED, EndCheck, Extending, ExtensionDecided, ExtensionForm};
pub use receipt::RECEIPT_POSTED;
pub use report::{LOOKBACK, MAX_ORPHANS, MAX_REQUESTS};
pub use submit::{DUPLICATE_WINDOW, Submission};
pub use sweep::SweepPolicy;
pub use watch::WatchReport;

#[cfg(test)]
pub(crate) mod fakes;

/// The actor of the steps the workflow's tasks take.
const WORKFLOW: crate::Actor = crate::Actor::System(crate::Component::Workflow);
