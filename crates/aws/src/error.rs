//! The one error type of the AWS adapters, and the rule that sorts AWS failures into retryable
//! and not.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::error::SdkError;

/// What can go wrong talking to AWS.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An AWS call failed. The SDK's error is kept as the source.
    #[error("{service} {operation} failed: {code}")]
    Sdk {
        /// The service, e.g. `dynamodb`.
        service: &'static str,
        /// The API operation, e.g. `UpdateItem`.
        operation: &'static str,
        /// The AWS error code (`ThrottlingException`, …), or the kind of transport failure.
        code: String,
        /// Whether trying again may help: throttling, 5xx, timeouts and dispatch failures.
        retryable: bool,
        /// The SDK's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// The thing looked up does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A conditional write lost: the stored item changed since it was read.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A setting given to an adapter is invalid.
    #[error("invalid setting {setting}: {problem}")]
    InvalidSetting {
        /// Which setting.
        setting: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A stored item or an AWS answer does not have the expected shape.
    #[error("malformed {what}: {problem}")]
    Malformed {
        /// What was being read.
        what: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl Error {
    /// Whether trying again later may succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Sdk {
                retryable: true,
                ..
            }
        )
    }

    /// The AWS error code, when this is an AWS failure.
    #[must_use]
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Sdk { code, .. } => Some(code),
            _ => None,
        }
    }

    /// An invalid-setting error.
    pub(crate) fn invalid_setting(setting: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::InvalidSetting {
            setting: setting.into(),
            problem: problem.into(),
        }
    }

    /// A malformed-item error.
    pub(crate) fn malformed(what: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Malformed {
            what: what.into(),
            problem: problem.into(),
        }
    }
}

/// Error codes AWS uses for throttling and transient server trouble.
const RETRYABLE_CODES: [&str; 10] = [
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestThrottled",
    "ServiceUnavailable",
    "InternalServerError",
    "InternalFailure",
];

/// Wraps an SDK error, classifying it: throttling codes, HTTP 5xx, timeouts and dispatch
/// failures are retryable; validation, not-found and other 4xx answers are not.
pub(crate) fn sdk<E>(
    service: &'static str,
    operation: &'static str,
    err: SdkError<E, HttpResponse>,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (code, retryable) = match &err {
        SdkError::TimeoutError(_) => ("Timeout".to_owned(), true),
        SdkError::DispatchFailure(_) => ("DispatchFailure".to_owned(), true),
        SdkError::ResponseError(_) => ("ResponseError".to_owned(), true),
        SdkError::ConstructionFailure(_) => ("ConstructionFailure".to_owned(), false),
        SdkError::ServiceError(service_err) => {
            let code = err.code().unwrap_or("Unknown").to_owned();
            let status = service_err.raw().status().as_u16();
            let retryable =
                status >= 500 || status == 429 || RETRYABLE_CODES.contains(&code.as_str());
            (code, retryable)
        }
        _ => ("Unknown".to_owned(), false),
    };
    Error::Sdk {
        service,
        operation,
        code,
        retryable,
        source: Box::new(err),
    }
}

impl From<Error> for powerpole_core::Error {
    fn from(err: Error) -> Self {
        match err {
            Error::NotFound(what) => Self::NotFound(what),
            Error::Conflict(what) => Self::Conflict(what),
            Error::Sdk {
                service, retryable, ..
            } => Self::Backend {
                system: service,
                retryable,
                source: Box::new(err),
            },
            Error::Malformed { .. } | Error::InvalidSetting { .. } => Self::Backend {
                system: "aws",
                retryable: false,
                source: Box::new(err),
            },
        }
    }
}

/// The adapters' result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
