//! A finished report kept for the security team: the name it is archived under, where it ended
//! up, and what the approvers' channel is told about it. None of them carries a secret: the
//! name holds only the period, the location is an address people open with their own access.

use time::UtcOffset;
use time::macros::format_description;

use super::{Period, Report};

/// The name a report is archived under, from its period alone:
/// `powerpole-report_20261116T000000Z_20261123T000000Z.html`. The same period always gets the
/// same name, so a retried weekly run replaces its own page rather than adding another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportName(String);

impl ReportName {
    /// The name of the report of `period`.
    #[must_use]
    pub fn of(period: &Period) -> Self {
        let compact = |at: time::OffsetDateTime| {
            at.to_offset(UtcOffset::UTC)
                .format(format_description!(
                    "[year][month][day]T[hour][minute][second]Z"
                ))
                .unwrap_or_else(|_| at.unix_timestamp().to_string())
        };
        Self(format!(
            "powerpole-report_{}_{}.html",
            compact(period.since()),
            compact(period.until())
        ))
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ReportName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an archived report is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedReport {
    /// The archive's own address of the page (`s3://bucket/reports/…`).
    pub location: String,
    /// A page where people with access to the archive open it (the S3 console), if the
    /// archive has one. Never a presigned URL: whoever holds the link still needs their own
    /// access.
    pub link: Option<String>,
}

/// What the approvers' channel is told of a report that was archived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedReport {
    /// The period covered.
    pub period: Period,
    /// How many requests.
    pub requests: usize,
    /// How many anomalies.
    pub anomalies: usize,
    /// How many orphans the sweeper recorded in the period.
    pub orphans: usize,
    /// Where the page is.
    pub archived: ArchivedReport,
}

impl PublishedReport {
    /// The notice of `report`, archived at `archived`.
    #[must_use]
    pub fn of(report: &Report, archived: ArchivedReport) -> Self {
        Self {
            period: report.scope.period,
            requests: report.entries.len(),
            anomalies: report.anomalies.len(),
            orphans: report.orphans.len(),
            archived,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_name_is_the_period_in_utc_and_nothing_else() {
        let period = Period::new(
            datetime!(2026-11-16 09:00 +09:00),
            datetime!(2026-11-23 00:00 UTC),
        )
        .unwrap();
        assert_eq!(
            ReportName::of(&period).as_str(),
            "powerpole-report_20261116T000000Z_20261123T000000Z.html"
        );
    }
}
