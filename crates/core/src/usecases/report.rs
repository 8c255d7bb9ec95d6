//! The period report: each request the scope covers with its session receipt, gathered through
//! the same ports (and the same masking) as `powerpole audit ID`, and the orphans the sweeper
//! recorded.

use crate::broker::{Broker, EvidencePorts};
use crate::error::Result;
use crate::lifecycle::AccessRequest;
use crate::ports::RequestStore;
use crate::report::{Report, ReportScope};

/// The most orphan records a report reads.
pub const MAX_ORPHANS: usize = 10_000;

impl<P: EvidencePorts> Broker<P> {
    /// The report of `scope` over `candidates` (the requests the caller's store listed; those
    /// the scope does not cover are left out), as of now. A source that cannot be read for good
    /// is marked unavailable in that request's receipt and listed among the anomalies.
    ///
    /// # Errors
    /// The store's errors; a source's retryable errors.
    pub async fn report(
        &self,
        candidates: Vec<AccessRequest>,
        scope: ReportScope,
    ) -> Result<Report> {
        let now = self.now();
        let mut gathered = Vec::new();
        for request in candidates.into_iter().filter(|r| scope.covers(r)) {
            let receipt = self.gather(&request).await?;
            gathered.push((request, receipt));
        }
        let orphans = self.store().orphans(MAX_ORPHANS).await?;
        Ok(Report::assemble(scope, gathered, orphans, now))
    }
}
