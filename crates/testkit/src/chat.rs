//! A [`Chat`] for tests whose subject must not talk to Slack (a receipt read on demand, say):
//! every call is counted and refused, so a stray post shows as an error instead of passing
//! unseen. Tests of what reaches Slack use the fake Slack Web API ([`crate::fake_slack`]).

use std::sync::atomic::{AtomicUsize, Ordering};

use powerpole_core::ports::{Chat, MessageRef, Notice};
use powerpole_core::report::archive::PublishedReport;
use powerpole_core::sweep::SweepReport;
use powerpole_core::tripwire::Trip;
use powerpole_core::{AccessRequest, Error, Receipt, Result, SlackUserId};

/// Refuses every call, counting them.
#[derive(Debug, Default)]
pub struct NoChat {
    calls: AtomicUsize,
}

impl NoChat {
    /// How many calls were refused.
    #[must_use]
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn refuse<T>(&self, what: &str) -> Result<T> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Err(Error::Conflict(format!(
            "this test talks to no Slack: {what}"
        )))
    }
}

impl Chat for NoChat {
    async fn post_approval_card(&self, _request: &AccessRequest) -> Result<MessageRef> {
        self.refuse("post_approval_card")
    }

    async fn update_approval_card(
        &self,
        _card: &MessageRef,
        _request: &AccessRequest,
    ) -> Result<()> {
        self.refuse("update_approval_card")
    }

    async fn notify(&self, _user: &SlackUserId, _notice: &Notice) -> Result<()> {
        self.refuse("notify")
    }

    async fn report_sweep(&self, _report: &SweepReport) -> Result<()> {
        self.refuse("report_sweep")
    }

    async fn post_receipt(&self, _card: &MessageRef, _receipt: &Receipt) -> Result<MessageRef> {
        self.refuse("post_receipt")
    }

    async fn post_tripwire(
        &self,
        _card: &MessageRef,
        _request: &AccessRequest,
        _trip: &Trip,
    ) -> Result<()> {
        self.refuse("post_tripwire")
    }

    async fn post_report(&self, _report: &PublishedReport) -> Result<()> {
        self.refuse("post_report")
    }

    async fn post_extension_card(
        &self,
        _card: &MessageRef,
        _request: &AccessRequest,
    ) -> Result<MessageRef> {
        self.refuse("post_extension_card")
    }

    async fn update_extension_card(
        &self,
        _message: &MessageRef,
        _request: &AccessRequest,
        _number: u32,
    ) -> Result<()> {
        self.refuse("update_extension_card")
    }
}
