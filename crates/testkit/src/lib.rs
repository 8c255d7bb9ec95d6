//! Test-only helpers: where the real servers that adapter tests use are.
//!
//! `scripts/test.sh` starts a throw-away MariaDB (with the `server_audit` plugin, the event
//! scheduler and TLS from a throw-away CA) and a moto server on
//! loopback, finds (or installs) Chromium, and exports their addresses in the `POWERPOLE_TEST_*` variables read here. A test that
//! needs one of them asks for it first:
//!
//! ```no_run
//! let Some(url) = powerpole_testkit::mysql_admin_url() else { return };
//! # let _ = url;
//! ```
//!
//! When the variable is missing, the test is skipped with a line on stderr on a developer machine,
//! and fails when `CI` is set: CI must never pass by testing nothing.

pub mod chat;
pub mod deployed;
pub mod fake_slack;
pub mod faults;
pub mod http;
pub mod moto;
pub mod mysql;
pub mod serve_config;
pub mod slack_payloads;
pub mod store_contract;
pub mod workflow;

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Variable holding the MySQL URL of an account with every privilege and `GRANT OPTION`, like an
/// Aurora master user: `mysql://powerpole_admin:PASSWORD@127.0.0.1:PORT`.
pub const MYSQL_URL_VAR: &str = "POWERPOLE_TEST_MYSQL_URL";

/// Variable holding the path of the `server_audit` log file of the test MariaDB.
pub const MYSQL_AUDIT_LOG_VAR: &str = "POWERPOLE_TEST_MYSQL_AUDIT_LOG";

/// Variable holding the path of the CA certificate that signed the test MariaDB's TLS certificate.
pub const MYSQL_CA_VAR: &str = "POWERPOLE_TEST_MYSQL_CA";

/// Variable holding the endpoint URL of the moto server: `http://127.0.0.1:PORT`.
pub const AWS_ENDPOINT_VAR: &str = "POWERPOLE_TEST_AWS_ENDPOINT";

/// Variable holding the path of a Chromium binary for the headless-browser tests
/// (`scripts/test.sh` installs Debian's `chromium` when it is missing).
pub const CHROMIUM_VAR: &str = "POWERPOLE_TEST_CHROMIUM";

/// Variable holding the path of the JSON file `tests/terraform/lambda_env.py` prints: the
/// environment variable names terraform gives each Lambda and the functions it fills into the
/// state machine's definition.
pub const TERRAFORM_ENV_VAR: &str = "POWERPOLE_TEST_TERRAFORM_ENV";

/// Variable holding the path of libfaketime (`libfaketime.so.1`, Debian's `libfaketime`), which
/// the deployed-shape harness preloads into the Lambda processes to move their clock.
pub const FAKETIME_VAR: &str = "POWERPOLE_TEST_FAKETIME";

/// The admin URL of the test MariaDB (`mysql://powerpole_admin:…@127.0.0.1:PORT`), or `None` when
/// [`MYSQL_URL_VAR`] is not set outside CI.
///
/// # Panics
///
/// When [`MYSQL_URL_VAR`] is not set and `CI` is.
#[must_use]
pub fn mysql_admin_url() -> Option<String> {
    server_var(MYSQL_URL_VAR)
}

/// The path of the test MariaDB's audit log, or `None` when [`MYSQL_AUDIT_LOG_VAR`] is not set
/// outside CI.
///
/// # Panics
///
/// When [`MYSQL_AUDIT_LOG_VAR`] is not set and `CI` is.
#[must_use]
pub fn mysql_audit_log() -> Option<PathBuf> {
    server_var(MYSQL_AUDIT_LOG_VAR).map(PathBuf::from)
}

/// The CA certificate of the test MariaDB's TLS, or `None` when [`MYSQL_CA_VAR`] is not set
/// outside CI.
///
/// # Panics
///
/// When [`MYSQL_CA_VAR`] is not set and `CI` is.
#[must_use]
pub fn mysql_ca() -> Option<PathBuf> {
    server_var(MYSQL_CA_VAR).map(PathBuf::from)
}

/// The endpoint URL of the moto server (`http://127.0.0.1:PORT`), or `None` when
/// [`AWS_ENDPOINT_VAR`] is not set outside CI.
///
/// # Panics
///
/// When [`AWS_ENDPOINT_VAR`] is not set and `CI` is.
#[must_use]
pub fn aws_endpoint() -> Option<String> {
    server_var(AWS_ENDPOINT_VAR)
}

/// The Chromium binary for headless-browser tests, or `None` when [`CHROMIUM_VAR`] is not set
/// outside CI.
///
/// # Panics
///
/// When [`CHROMIUM_VAR`] is not set and `CI` is.
#[must_use]
pub fn chromium() -> Option<PathBuf> {
    server_var(CHROMIUM_VAR).map(PathBuf::from)
}

/// What terraform gives the deployed system, as [`TERRAFORM_ENV_VAR`] names it, or `None` when
/// it is not set outside CI.
///
/// # Panics
///
/// When [`TERRAFORM_ENV_VAR`] is not set and `CI` is.
#[must_use]
pub fn terraform_env() -> Option<PathBuf> {
    server_var(TERRAFORM_ENV_VAR).map(PathBuf::from)
}

/// libfaketime, as [`FAKETIME_VAR`] names it, or `None` when it is not set outside CI.
///
/// # Panics
///
/// When [`FAKETIME_VAR`] is not set and `CI` is.
#[must_use]
pub fn faketime() -> Option<PathBuf> {
    server_var(FAKETIME_VAR).map(PathBuf::from)
}

/// Prints a measured figure straight to the process's stderr, where a passing test's output
/// still shows (libtest captures `eprintln!` only).
pub fn figure(line: &str) {
    let _ = writeln!(std::io::stderr(), "figure: {line}");
}

/// A name no other call in any test process on this machine returns: `prefix-<time>-<pid>-<n>`,
/// lower-case ASCII letters, digits and `-` only (valid as a DynamoDB table name or an SQL string).
#[must_use]
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{nanos:x}-{:x}-{n}", std::process::id())
}

fn server_var(name: &str) -> Option<String> {
    match decide(name, std::env::var(name).ok(), std::env::var("CI").ok()) {
        Decision::Use(value) => Some(value),
        Decision::Skip(message) => {
            // Straight to the process's stderr: libtest captures `eprintln!` of passing tests, and
            // a skip must stay visible.
            let _ = writeln!(std::io::stderr(), "{message}");
            None
        }
        Decision::Fail(message) => fail(&message),
    }
}

#[expect(
    clippy::panic,
    reason = "a test that needs a server must fail in CI when it is missing"
)]
fn fail(message: &str) -> ! {
    panic!("{message}")
}

/// What a test does about one server variable.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    Use(String),
    Skip(String),
    Fail(String),
}

fn decide(name: &str, value: Option<String>, ci: Option<String>) -> Decision {
    if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
        return Decision::Use(value);
    }
    if is_ci(ci.as_deref()) {
        Decision::Fail(format!(
            "{name} is not set but CI is: this test needs its server; run it through scripts/test.sh"
        ))
    } else {
        Decision::Skip(format!(
            "skipping: {name} not set, run scripts/test.sh to start the test servers"
        ))
    }
}

fn is_ci(ci: Option<&str>) -> bool {
    ci.is_some_and(|v| {
        let v = v.trim();
        !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    #[test]
    fn a_set_variable_is_used_in_and_out_of_ci() {
        for ci in [None, s("true")] {
            assert_eq!(
                decide("X", s("mysql://a@127.0.0.1:1"), ci),
                Decision::Use("mysql://a@127.0.0.1:1".to_owned())
            );
        }
    }

    #[test]
    fn a_missing_variable_skips_outside_ci() {
        for ci in [None, s(""), s("0"), s("false"), s("FALSE")] {
            let Decision::Skip(message) = decide("POWERPOLE_TEST_X", None, ci.clone()) else {
                panic!("expected a skip for CI={ci:?}");
            };
            assert!(message.starts_with("skipping: POWERPOLE_TEST_X not set"));
            assert!(message.contains("scripts/test.sh"));
        }
    }

    #[test]
    fn a_missing_variable_fails_in_ci() {
        for ci in [s("true"), s("1"), s("yes")] {
            let Decision::Fail(message) = decide("POWERPOLE_TEST_X", None, ci) else {
                panic!("expected a failure");
            };
            assert!(message.contains("POWERPOLE_TEST_X"));
            assert!(message.contains("scripts/test.sh"));
        }
    }

    #[test]
    fn an_empty_variable_counts_as_missing() {
        assert!(matches!(decide("X", s("  "), s("true")), Decision::Fail(_)));
        assert!(matches!(decide("X", s(""), None), Decision::Skip(_)));
    }

    #[test]
    fn unique_names_differ_and_are_table_name_safe() {
        let a = unique_name("smoke");
        let b = unique_name("smoke");
        assert_ne!(a, b);
        assert!(a.starts_with("smoke-"));
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
    }
}
