//! The period report: each request the scope covers with its session receipt, gathered through
//! the same ports (and the same masking) as `powerpole audit ID`, and the orphans the sweeper
//! recorded; and its publication: the page archived and the approvers told where it is.

use time::Duration;

use crate::broker::{Broker, EvidencePorts};
use crate::error::Result;
use crate::lifecycle::AccessRequest;
use crate::ports::{Chat, ReportArchive, RequestStore};
use crate::report::archive::{PublishedReport, ReportName};
use crate::report::{Report, ReportScope, html};

/// The most orphan records a report reads.
pub const MAX_ORPHANS: usize = 10_000;

/// The most requests a report reads from the store.
pub const MAX_REQUESTS: usize = 10_000;

/// How long before a period a request may have been submitted and still be live in it: the
/// furthest ahead a window may start, its longest duration, and the day the sweeper allows
/// anything to outlive its window.
pub const LOOKBACK: Duration = Duration::hours(30 * 24 + 8 + 24);

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

    /// The report of `scope`, reading from the store the requests submitted in its period or
    /// up to [`LOOKBACK`] before it (at most [`MAX_REQUESTS`], the oldest first).
    ///
    /// # Errors
    /// As [`Broker::report`].
    pub async fn period_report(&self, scope: ReportScope) -> Result<Report> {
        let period = scope.period;
        let candidates = self
            .store()
            .submitted_between(period.since() - LOOKBACK, period.until(), MAX_REQUESTS)
            .await?;
        self.report(candidates, scope).await
    }

    /// Makes the report of `scope`, puts its page in `archive` under the period's name (a
    /// retry replaces the page it put) and tells the approvers' channel where it is.
    ///
    /// # Errors
    /// As [`Broker::report`]; the archive's and Slack's errors (the page may then be archived
    /// but not announced: a retry announces it).
    pub async fn publish_report<A: ReportArchive>(
        &self,
        archive: &A,
        scope: ReportScope,
    ) -> Result<PublishedReport> {
        let report = self.period_report(scope).await?;
        let name = ReportName::of(&report.scope.period);
        let archived = archive.put(&name, &html::render(&report)).await?;
        let published = PublishedReport::of(&report, archived);
        self.chat().post_report(&published).await?;
        Ok(published)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use time::macros::datetime;
    use time::{Duration, OffsetDateTime};

    use super::*;
    use crate::account::{DbUsername, Email};
    use crate::audit::AuditRecord;
    use crate::error::Error;
    use crate::ids::{ClusterId, RequestId};
    use crate::memory::MemoryStore;
    use crate::ports::{AuditSource, BastionId, SessionLog};
    use crate::receipt::{BastionSession, Gathered};
    use crate::report::Period;
    use crate::report::archive::ArchivedReport;
    use crate::usecases::SweepPolicy;
    use crate::usecases::fakes::{RecordingChat, cluster, evidence, form, user};
    use crate::window::{AccessWindow, WindowPolicy};

    struct NoRecords;

    impl AuditSource for NoRecords {
        async fn records(
            &self,
            _cluster: &ClusterId,
            _username: &DbUsername,
            _window: &AccessWindow,
        ) -> Result<Vec<AuditRecord>> {
            Ok(Vec::new())
        }
    }

    impl SessionLog for NoRecords {
        async fn sessions(
            &self,
            _bastion: Option<&BastionId>,
            _window: &AccessWindow,
        ) -> Result<Gathered<Vec<BastionSession>>> {
            Ok(Gathered::Unavailable {
                why: "no bastion".into(),
            })
        }
    }

    #[derive(Default)]
    struct Shelf {
        pages: Mutex<Vec<(String, String)>>,
        down: bool,
    }

    impl ReportArchive for Shelf {
        async fn put(&self, name: &ReportName, page: &str) -> Result<ArchivedReport> {
            if self.down {
                return Err(Error::Backend {
                    system: "s3",
                    retryable: true,
                    source: "SlowDown".into(),
                });
            }
            self.pages
                .lock()
                .unwrap()
                .push((name.to_string(), page.to_owned()));
            Ok(ArchivedReport {
                location: format!("s3://reports/{name}"),
                link: None,
            })
        }
    }

    const MONDAY: OffsetDateTime = datetime!(2026-11-23 00:05 UTC);

    /// A pending request submitted at `submitted` for a window starting at `start`.
    async fn submitted(
        store: &MemoryStore,
        submitted: OffsetDateTime,
        start: OffsetDateTime,
    ) -> RequestId {
        let mut form = form();
        form.start = Some(start);
        let spec = form.validate(&[cluster()], submitted).unwrap();
        let email = Email::parse("someone@example.com").unwrap();
        let request = crate::AccessRequest::submit(
            RequestId::generate(submitted, &mut rand::rng()),
            user("U1"),
            DbUsername::from_email(&email).unwrap(),
            spec,
            submitted,
        );
        store.insert(&request).await.unwrap();
        request.id()
    }

    /// The weekly run on [`MONDAY`]: the report of the 7 days before, put on `shelf`.
    async fn last_week(
        store: &MemoryStore,
        chat: &RecordingChat,
        shelf: &Shelf,
    ) -> Result<PublishedReport> {
        let broker = evidence(store, chat, &NoRecords, &NoRecords, &[cluster()], MONDAY);
        let week = Period::whole_days_before(MONDAY, 7)?;
        broker.publish_report(shelf, ReportScope::of(week)).await
    }

    #[test]
    fn the_lookback_covers_the_longest_a_request_can_live_before_a_period() {
        assert_eq!(
            LOOKBACK,
            WindowPolicy::MAX_LEAD + WindowPolicy::MAX_DURATION + SweepPolicy::MAX_AGE
        );
    }

    #[tokio::test]
    async fn the_weekly_report_is_archived_under_its_period_and_announced() {
        let (store, chat, shelf) = (
            MemoryStore::new(),
            RecordingChat::default(),
            Shelf::default(),
        );
        let in_week = submitted(
            &store,
            MONDAY - Duration::days(3),
            MONDAY - Duration::days(3),
        )
        .await;
        let booked_ahead = submitted(
            &store,
            MONDAY - Duration::days(20),
            MONDAY - Duration::days(2),
        )
        .await;
        let long_gone = submitted(
            &store,
            MONDAY - Duration::days(60),
            MONDAY - Duration::days(60),
        )
        .await;

        let published = last_week(&store, &chat, &shelf).await.unwrap();

        let pages = shelf.pages.lock().unwrap().clone();
        assert_eq!(pages.len(), 1);
        let (name, page) = &pages[0];
        assert_eq!(
            name,
            "powerpole-report_20261116T000000Z_20261123T000000Z.html"
        );
        assert!(page.contains(&in_week.to_string()));
        assert!(
            page.contains(&booked_ahead.to_string()),
            "a request submitted before the week for a window in it is in the week's report"
        );
        assert!(!page.contains(&long_gone.to_string()));
        assert_eq!(published.requests, 2);
        assert_eq!(published.archived.location, format!("s3://reports/{name}"));
        assert_eq!(chat.published_reports(), vec![published]);
    }

    #[tokio::test]
    async fn nothing_is_announced_when_the_page_could_not_be_archived() {
        let (store, chat) = (MemoryStore::new(), RecordingChat::default());
        let shelf = Shelf {
            down: true,
            ..Shelf::default()
        };

        let err = last_week(&store, &chat, &shelf).await.unwrap_err();

        assert!(err.is_retryable(), "{err}");
        assert!(chat.published_reports().is_empty());
    }
}
