//! What the `sweep` Lambda reads: everything `teardown` reads (the session log group too, for
//! the weekly report's receipts), its grace period, the bucket weekly reports go to and the hosts
//! the report expects logins from.

use powerpole_core::report::HostPatterns;
use powerpole_core::usecases::SweepPolicy;

use super::access::{AccessConfig, session_log_group};
use super::env::{ConfigError, Problems, Vars, optional};
use super::resources::state_machine_arn;

/// The S3 bucket the weekly report is put in (optional; without it `{"task": "report"}` fails,
/// saying so).
pub const REPORT_BUCKET: &str = "POWERPOLE_REPORT_BUCKET";

/// [`REPORT_BUCKET`]: the bucket's name, `None` when unset. Whether it is a bucket name is
/// checked where the archive is built (`wiring::report_archive`).
///
/// # Errors
/// Never today; a `Result` as every variable's reader.
pub fn report_bucket(vars: &(impl Vars + ?Sized)) -> Result<Option<String>, ConfigError> {
    Ok(optional(vars, REPORT_BUCKET))
}

/// The hosts the weekly report expects logins from (optional): comma-separated MySQL host
/// patterns, CIDR networks included (`10.0.16.0/20,10.0.32.0/20`; terraform sets the bastion
/// subnet's). Unset, every host is expected and the report flags none.
pub const EXPECTED_HOSTS: &str = "POWERPOLE_EXPECTED_HOSTS";

/// [`EXPECTED_HOSTS`]: the patterns, [`HostPatterns::any`] when unset.
///
/// # Errors
/// [`ConfigError::Invalid`] when it is set but names no pattern, or a pattern holds a blank.
pub fn expected_hosts(vars: &(impl Vars + ?Sized)) -> Result<HostPatterns, ConfigError> {
    let Some(text) = optional(vars, EXPECTED_HOSTS) else {
        return Ok(HostPatterns::any());
    };
    let patterns: Vec<&str> = text.split(',').map(str::trim).collect();
    if patterns
        .iter()
        .any(|p| p.is_empty() || p.contains(char::is_whitespace))
    {
        return Err(ConfigError::invalid(
            EXPECTED_HOSTS,
            "expected comma-separated host patterns such as 10.0.16.0/20,10.0.%",
        ));
    }
    Ok(HostPatterns::new(patterns))
}

/// Minutes past a deadline the sweeper leaves to the workflow (optional, 1–240, default 15).
pub const SWEEP_GRACE_MINUTES: &str = "POWERPOLE_SWEEP_GRACE_MINUTES";

/// [`SWEEP_GRACE_MINUTES`]: the sweeper's grace period, [`SweepPolicy::DEFAULT_GRACE`] when
/// unset.
///
/// # Errors
/// [`ConfigError::Invalid`] when it is not a whole number of minutes from 1 to 240.
pub fn sweep_grace(vars: &(impl Vars + ?Sized)) -> Result<time::Duration, ConfigError> {
    let Some(text) = optional(vars, SWEEP_GRACE_MINUTES) else {
        return Ok(SweepPolicy::DEFAULT_GRACE);
    };
    match text.parse::<i64>() {
        Ok(minutes @ 1..=240) => Ok(time::Duration::minutes(minutes)),
        _ => Err(ConfigError::invalid(
            SWEEP_GRACE_MINUTES,
            "expected a whole number of minutes from 1 to 240",
        )),
    }
}

/// What the `sweep` Lambda reads: everything `teardown` reads, its grace period and the
/// reports bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepConfig {
    /// The ports' settings, as for `teardown`.
    pub access: AccessConfig,
    /// [`SWEEP_GRACE_MINUTES`].
    pub grace: time::Duration,
    /// [`STATE_MACHINE_ARN`](super::STATE_MACHINE_ARN): where approvals that did not reach
    /// their workflow are sent again.
    pub state_machine_arn: String,
    /// [`SESSION_LOG_GROUP`](super::SESSION_LOG_GROUP), for the weekly report's receipts.
    pub session_log_group: Option<String>,
    /// [`REPORT_BUCKET`].
    pub report_bucket: Option<String>,
    /// [`EXPECTED_HOSTS`].
    pub expected_hosts: HostPatterns,
}

impl SweepConfig {
    /// Reads the `sweep` Lambda's variables.
    ///
    /// # Errors
    /// Every problem found.
    pub fn from_env(vars: &(impl Vars + ?Sized)) -> Result<Self, ConfigError> {
        let mut p = Problems::default();
        let access = p.take(AccessConfig::from_env(vars));
        let grace = p.take(sweep_grace(vars));
        let state_machine_arn = p.take(state_machine_arn(vars));
        let session_log_group = p.take(session_log_group(vars));
        let report_bucket = p.take(report_bucket(vars));
        let expected_hosts = p.take(expected_hosts(vars));
        let (
            Some(access),
            Some(grace),
            Some(state_machine_arn),
            Some(session_log_group),
            Some(report_bucket),
            Some(expected_hosts),
        ) = (
            access,
            grace,
            state_machine_arn,
            session_log_group,
            report_bucket,
            expected_hosts,
        )
        else {
            return Err(p.into_error());
        };
        Ok(Self {
            access,
            grace,
            state_machine_arn,
            session_log_group,
            report_bucket,
            expected_hosts,
        })
    }

    /// The sweeper's policy: the default limits with this grace period.
    #[must_use]
    pub fn policy(&self) -> SweepPolicy {
        SweepPolicy {
            grace: self.grace,
            ..SweepPolicy::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TABLE;
    use crate::config::fixtures::*;

    #[test]
    fn the_sweeper_reads_the_teardown_variables_and_its_grace_period() {
        let default = SweepConfig::from_env(&good()).unwrap();
        assert_eq!(default.grace, SweepPolicy::DEFAULT_GRACE);
        assert_eq!(default.access, AccessConfig::from_env(&good()).unwrap());

        let set = SweepConfig::from_env(&with(&[(SWEEP_GRACE_MINUTES, Some(" 30 "))])).unwrap();
        assert_eq!(set.policy().grace, time::Duration::minutes(30));
        assert_eq!(set.policy().max_age, SweepPolicy::MAX_AGE);

        for bad in ["0", "241", "15m", "-5"] {
            let error =
                SweepConfig::from_env(&with(&[(SWEEP_GRACE_MINUTES, Some(bad))])).unwrap_err();
            assert_eq!(error.vars(), vec![SWEEP_GRACE_MINUTES], "{bad}");
        }
        assert_eq!(default.report_bucket, None);
        let reporting = SweepConfig::from_env(&with(&[
            (REPORT_BUCKET, Some("powerpole-reports-123456789012")),
            (
                crate::config::SESSION_LOG_GROUP,
                Some("/powerpole/ssm-sessions"),
            ),
        ]))
        .unwrap();
        assert_eq!(
            reporting.report_bucket.as_deref(),
            Some("powerpole-reports-123456789012")
        );
        assert_eq!(
            reporting.session_log_group.as_deref(),
            Some("/powerpole/ssm-sessions")
        );

        assert_eq!(default.expected_hosts, HostPatterns::any());
        let bastions =
            SweepConfig::from_env(&with(&[(EXPECTED_HOSTS, Some(" 10.0.16.0/20, 10.0.% "))]))
                .unwrap();
        assert_eq!(
            bastions.expected_hosts.patterns(),
            ["10.0.16.0/20", "10.0.%"]
        );
        assert!(!bastions.expected_hosts.expects("203.0.113.9"));
        for bad in ["10.0.16.0/20,", "a b", ","] {
            let error = SweepConfig::from_env(&with(&[(EXPECTED_HOSTS, Some(bad))])).unwrap_err();
            assert_eq!(error.vars(), vec![EXPECTED_HOSTS], "{bad}");
        }

        let both = SweepConfig::from_env(&with(&[(SWEEP_GRACE_MINUTES, Some("0")), (TABLE, None)]))
            .unwrap_err();
        assert_eq!(both.vars(), vec![TABLE, SWEEP_GRACE_MINUTES]);
    }
}
