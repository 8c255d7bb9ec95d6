//! The one error type of the core crate.

use std::fmt;

use crate::lifecycle::{RequestState, Transition};

/// The input field a validation error is about, named as the request form names it so that a
/// front end (the Slack modal) can show the message next to the right input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// A request id.
    RequestId,
    /// The database cluster identifier.
    Cluster,
    /// The AWS region.
    Region,
    /// The permission level.
    Permission,
    /// The start of the access window.
    Start,
    /// The length of the access window.
    Duration,
    /// The reason given for the access.
    Reason,
    /// A Slack user id.
    SlackUser,
    /// An e-mail address.
    Email,
    /// A database user name.
    DbUsername,
    /// A database password (its value is never part of an error).
    DbPassword,
    /// A database schema name.
    Schema,
    /// An Amazon Resource Name.
    Arn,
    /// Who may approve, and how many must.
    Approvers,
}

impl Field {
    /// The field's stable, snake-case name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::RequestId => "request_id",
            Self::Cluster => "cluster",
            Self::Region => "region",
            Self::Permission => "permission",
            Self::Start => "start",
            Self::Duration => "duration",
            Self::Reason => "reason",
            Self::SlackUser => "slack_user",
            Self::Email => "email",
            Self::DbUsername => "db_username",
            Self::DbPassword => "db_password",
            Self::Schema => "schema",
            Self::Arn => "arn",
            Self::Approvers => "approvers",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can go wrong in the domain, and the classification adapters give their
/// failures when they report through a port.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input value broke a domain rule; the message says which rule, never echoes a secret.
    #[error("invalid {field}: {problem}")]
    Invalid {
        /// Which input was wrong.
        field: Field,
        /// What is wrong with it, phrased for the person who typed it.
        problem: String,
    },
    /// The request lifecycle does not allow this step from the request's current state.
    #[error("a {from} request cannot be {}", transition.past_tense())]
    IllegalTransition {
        /// The state the request was in.
        from: RequestState,
        /// The step that was refused.
        transition: Transition,
    },
    /// The actor may not take this step (e.g. approving their own request).
    #[error("not allowed: {0}")]
    NotAllowed(&'static str),
    /// The thing looked up does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A concurrent or earlier change won; re-read and decide again.
    #[error("conflict: {0}")]
    Conflict(String),
    /// An outside system failed. `retryable` tells the workflow whether trying again can help.
    #[error("{system} failed")]
    Backend {
        /// The outside system, e.g. `dynamodb` or `mysql`.
        system: &'static str,
        /// Whether the same call may succeed later (throttling, 5xx, timeouts).
        retryable: bool,
        /// The adapter's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
}

impl Error {
    /// A validation error for `field`.
    pub fn invalid(field: Field, problem: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            problem: problem.into(),
        }
    }

    /// What an [`Error::Invalid`] says is wrong, without its `invalid <field>:` prefix (for a
    /// configuration error that names its key itself); any other error as displayed.
    #[must_use]
    pub fn problem(&self) -> String {
        match self {
            Self::Invalid { problem, .. } => problem.clone(),
            other => other.to_string(),
        }
    }

    /// Whether retrying the same operation later may succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Backend {
                retryable: true,
                ..
            }
        )
    }

    /// The error with its sources, `outer: inner: innermost`, for a log line or a report:
    /// [`Error::Backend`] alone only names the system. Adapters never put a secret in an error.
    #[must_use]
    pub fn describe(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }

    /// The field a validation error is about, if it is one.
    #[must_use]
    pub fn field(&self) -> Option<Field> {
        match self {
            Self::Invalid { field, .. } => Some(*field),
            _ => None,
        }
    }
}

/// The core crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
