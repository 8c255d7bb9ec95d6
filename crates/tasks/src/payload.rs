//! The Step Functions task payload ([`Task`]) and the function that runs each task
//! ([`Function`]), as the state machine's `Parameters.Payload` and `FunctionName` give them.

use std::fmt;

use powerpole_core::RequestId;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::TaskError;

/// A task function: a Lambda on AWS, a `FunctionName` the local runner knows (terraform fills
/// the ARNs of `${notify_function}`, `${provision_function}` and `${teardown_function}` in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// Slack-facing steps: the approval gate, expiry, the warning, failure.
    Notify,
    /// Giving access: the schedule, provisioning, activation.
    Provision,
    /// Removing access, and the session receipt.
    Teardown,
}

impl Function {
    /// Every task function.
    pub const ALL: [Self; 3] = [Self::Notify, Self::Provision, Self::Teardown];

    /// The function's name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Notify => "notify",
            Self::Provision => "provision",
            Self::Teardown => "teardown",
        }
    }

    /// The function of `name`.
    ///
    /// # Errors
    /// [`TaskError::NonRetryable`] when no task function has that name.
    pub fn parse(name: &str) -> Result<Self, TaskError> {
        Self::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| TaskError::NonRetryable(format!("no task function {name:?}")))
    }

    /// The state machine's substitution variable naming this function (`notify_function`…).
    #[must_use]
    pub fn variable(self) -> String {
        format!("{}_function", self.name())
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One task of the state machine, as its `Payload` names it in `task`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "task", rename_all = "snake_case")]
pub enum Task {
    /// Store the approval gate's token and post the approval card (`notify`).
    OpenApproval {
        /// The request.
        #[serde(deserialize_with = "request_id")]
        request_id: RequestId,
        /// The gate's task token.
        token: String,
    },
    /// The gate timed out: expire the request, or answer with the decision recorded
    /// (`notify`).
    Expire {
        /// The request.
        #[serde(deserialize_with = "request_id")]
        request_id: RequestId,
    },
    /// Tell the requester who denied the request (`notify`).
    Denied {
        /// The request.
        #[serde(deserialize_with = "request_id")]
        request_id: RequestId,
    },
    /// Access ends soon (`notify`).
    Warn {
        /// The request.
        #[serde(deserialize_with = "request_id")]
        request_id: RequestId,
    },
    /// A step failed: mark the request failed (`notify`).
    Fail {
        /// The request.
        #[serde(deserialize_with = "request_id")]
        request_id: RequestId,
        /// What the `Catch` recorded.
        #[serde(default)]
        error: Option<CaughtError>,
    },
    /// The window's timestamps for the `Wait` states (`provision`).
    Schedule {
        /// The request.
        #[serde(deserialize_with = "request_id")]
        request_id: RequestId,
    },
    /// The end waited for is reached: whether an extension moved it, with the window's times
    /// now, and the DB backstop moved when it did (`provision`).
    CheckEnd {
        /// The request.
        #[serde(deserialize_with = "request_id")]
        request_id: RequestId,
    },
    /// The secret, the DB user, the bastion (`provision`).
    Provision {
        /// The request.
        #[serde(deserialize_with = "request_id")]
        request_id: RequestId,
    },
    /// Access is live once the bastion is ready (`provision`).
    Activate {
        /// The request.
        #[serde(deserialize_with = "request_id")]
        request_id: RequestId,
    },
    /// The normal end (`teardown`).
    Teardown {
        /// The request.
        #[serde(deserialize_with = "request_id")]
        request_id: RequestId,
    },
    /// Remove everything after a failure (`teardown`).
    Cleanup {
        /// The request.
        #[serde(deserialize_with = "request_id")]
        request_id: RequestId,
    },
    /// Post the session receipt (`teardown`).
    Receipt {
        /// The request.
        #[serde(deserialize_with = "request_id")]
        request_id: RequestId,
    },
    /// A task name no function has.
    #[serde(other)]
    Unknown,
}

impl Task {
    /// Parses a payload sent to `function`.
    ///
    /// # Errors
    /// [`TaskError::NonRetryable`] when it is not a task payload, or names a task `function`
    /// does not have.
    pub fn parse(function: Function, payload: Value) -> Result<Self, TaskError> {
        let name = payload
            .get("task")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let task: Self = serde_json::from_value(payload)
            .map_err(|e| TaskError::NonRetryable(format!("bad task payload: {e}")))?;
        if task.function() == Some(function) {
            Ok(task)
        } else {
            Err(TaskError::NonRetryable(format!(
                "{function} has no task {name:?}"
            )))
        }
    }

    /// The function that runs this task; `None` for an unknown one.
    #[must_use]
    pub const fn function(&self) -> Option<Function> {
        match self {
            Self::OpenApproval { .. }
            | Self::Expire { .. }
            | Self::Denied { .. }
            | Self::Warn { .. }
            | Self::Fail { .. } => Some(Function::Notify),
            Self::Schedule { .. }
            | Self::CheckEnd { .. }
            | Self::Provision { .. }
            | Self::Activate { .. } => Some(Function::Provision),
            Self::Teardown { .. } | Self::Cleanup { .. } | Self::Receipt { .. } => {
                Some(Function::Teardown)
            }
            Self::Unknown => None,
        }
    }

    /// The answer of `function` to a task that [`Task::parse`] would not have given it.
    pub(crate) fn refused_by(&self, function: Function) -> TaskError {
        TaskError::NonRetryable(format!(
            "{function} has no task of the {} function",
            self.function().map_or("unknown", Function::name)
        ))
    }
}

fn request_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<RequestId, D::Error> {
    let text = String::deserialize(deserializer)?;
    RequestId::parse(&text).map_err(serde::de::Error::custom)
}

/// An error as a `Catch` with `ResultPath` records it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CaughtError {
    /// The error name (`Retryable`, `States.Timeout`, …).
    #[serde(rename = "Error", default)]
    pub error: String,
    /// What went wrong.
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

impl CaughtError {
    /// What went wrong: a Lambda error's `errorMessage` (Step Functions puts the Lambda's error
    /// JSON in `Cause`), or the cause as it is.
    #[must_use]
    pub fn message(&self) -> String {
        serde_json::from_str::<Value>(&self.cause)
            .ok()
            .and_then(|v| v.get("errorMessage")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| self.cause.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "01KAW3J5ZQ8X7V2M4N6P8R0T2W";

    #[test]
    fn a_task_reaches_only_its_own_function() {
        let payload = json!({"task": "schedule", "request_id": ID});

        let task = Task::parse(Function::Provision, payload.clone()).unwrap();
        let refused = Task::parse(Function::Notify, payload).unwrap_err();

        assert!(matches!(task, Task::Schedule { request_id } if request_id.to_string() == ID));
        assert_eq!(refused.error_type(), "NonRetryable");
        assert_eq!(refused.to_string(), "notify has no task \"schedule\"");
    }

    #[test]
    fn an_unknown_task_or_a_bad_id_is_refused_without_retry() {
        let unknown = Task::parse(
            Function::Teardown,
            json!({"task": "reboot", "request_id": ID}),
        )
        .unwrap_err();
        let bad_id = Task::parse(
            Function::Teardown,
            json!({"task": "teardown", "request_id": "nope"}),
        )
        .unwrap_err();
        let no_token = Task::parse(
            Function::Notify,
            json!({"task": "open_approval", "request_id": ID}),
        )
        .unwrap_err();

        assert_eq!(unknown.to_string(), "teardown has no task \"reboot\"");
        assert!(
            bad_id.to_string().starts_with("bad task payload"),
            "{bad_id}"
        );
        assert!(no_token.to_string().contains("token"), "{no_token}");
        for e in [unknown, bad_id, no_token] {
            assert_eq!(e.error_type(), "NonRetryable");
        }
    }

    #[test]
    fn a_caught_lambda_error_is_read_for_its_message() {
        let caught = CaughtError {
            error: "Retryable".into(),
            cause: r#"{"errorMessage":"mysql failed","errorType":"Retryable"}"#.into(),
        };
        let plain = CaughtError {
            error: "States.Timeout".into(),
            cause: "the task timed out".into(),
        };

        assert_eq!(caught.message(), "mysql failed");
        assert_eq!(plain.message(), "the task timed out");
    }

    #[test]
    fn function_names_round_trip() {
        for function in Function::ALL {
            assert_eq!(Function::parse(function.name()).unwrap(), function);
        }
        assert!(Function::parse("reboot").is_err());
    }
}
