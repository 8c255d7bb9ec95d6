//! Where the variables come from ([`Vars`]: the process environment, or a list in tests) and
//! how their problems are reported ([`ConfigError`], every problem of one start-up at once).

use std::fmt;

/// A boxed error kept as the source of a [`ConfigError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a Lambda cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required variable is unset or blank.
    #[error("{var} is not set")]
    Missing {
        /// The variable.
        var: &'static str,
    },
    /// A variable's value is not acceptable.
    #[error("{var} is invalid: {problem}")]
    Invalid {
        /// The variable.
        var: &'static str,
        /// What is wrong, without echoing anything secret.
        problem: String,
    },
    /// A secret named by a variable could not be read.
    #[error("the secret {arn} (from {var}) could not be read: {code}")]
    SecretUnreadable {
        /// The variable naming the secret.
        var: &'static str,
        /// The secret.
        arn: String,
        /// The AWS error code, or the kind of failure.
        code: String,
        /// The SDK's error.
        #[source]
        source: BoxError,
    },
    /// A secret's value does not have the expected shape.
    #[error("the secret {arn} (from {var}) is malformed: {problem}")]
    SecretMalformed {
        /// The variable naming the secret.
        var: &'static str,
        /// The secret.
        arn: String,
        /// What is wrong with its shape; never its content.
        problem: String,
    },
    /// A client could not be built from valid settings.
    #[error("{what} could not be set up: {source}")]
    Setup {
        /// Which client.
        what: &'static str,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// More than one of the above.
    #[error("{} configuration problems: {}", .0.len(), Joined(.0))]
    Several(Vec<ConfigError>),
}

impl ConfigError {
    /// An invalid-value error.
    pub fn invalid(var: &'static str, problem: impl Into<String>) -> Self {
        Self::Invalid {
            var,
            problem: problem.into(),
        }
    }

    /// The variables at fault, in the order found.
    #[must_use]
    pub fn vars(&self) -> Vec<&'static str> {
        match self {
            Self::Missing { var }
            | Self::Invalid { var, .. }
            | Self::SecretUnreadable { var, .. }
            | Self::SecretMalformed { var, .. } => vec![var],
            Self::Setup { .. } => Vec::new(),
            Self::Several(all) => all.iter().flat_map(Self::vars).collect(),
        }
    }
}

struct Joined<'a>(&'a [ConfigError]);

impl fmt::Display for Joined<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

/// Collects the problems of several pieces so that one start-up reports them all.
#[derive(Default)]
pub(super) struct Problems(pub(super) Vec<ConfigError>);

impl Problems {
    pub(super) fn take<T>(&mut self, result: Result<T, ConfigError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(ConfigError::Several(all)) => {
                self.0.extend(all);
                None
            }
            Err(error) => {
                self.0.push(error);
                None
            }
        }
    }

    pub(super) fn into_error(mut self) -> ConfigError {
        match self.0.len() {
            1 => self.0.remove(0),
            _ => ConfigError::Several(self.0),
        }
    }
}

/// Where variables are read from: the process environment in a Lambda, a list in tests.
pub trait Vars {
    /// The value of `name`, or `None` when it is unset.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Vars for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Vars for [(K, V)] {
    fn var(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| k.as_ref() == name)
            .map(|(_, v)| v.as_ref().to_owned())
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> Vars for [(K, V); N] {
    fn var(&self, name: &str) -> Option<String> {
        self.as_slice().var(name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Vars for Vec<(K, V)> {
    fn var(&self, name: &str) -> Option<String> {
        self.as_slice().var(name)
    }
}

/// The trimmed value of `var`; blank counts as unset.
pub(super) fn optional(vars: &(impl Vars + ?Sized), var: &str) -> Option<String> {
    vars.var(var)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

pub(super) fn required(
    vars: &(impl Vars + ?Sized),
    var: &'static str,
) -> Result<String, ConfigError> {
    optional(vars, var).ok_or(ConfigError::Missing { var })
}
