//! The AWS resources every Lambda names: the request table, the state machine, and the shape of
//! a secret's ARN (the Slack secret, the clusters' admin secrets), checked with the core's
//! [`Arn`] parser.

use std::fmt;

use powerpole_core::{Arn, Region, StateMachineArn};

use super::env::{ConfigError, Vars, required};

/// The DynamoDB table of requests (name or ARN).
pub const TABLE: &str = "POWERPOLE_TABLE";
/// The ARN of the state machine executions are started from.
pub const STATE_MACHINE_ARN: &str = "POWERPOLE_STATE_MACHINE_ARN";

/// The ARN of a Secrets Manager secret, and the region it lives in (where it must be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretArn(Arn);

impl SecretArn {
    /// Checks the shape `arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME`.
    ///
    /// # Errors
    /// The problem, phrased for the person who set it.
    pub fn parse(arn: &str) -> Result<Self, String> {
        Arn::parse(arn)
            .ok()
            .filter(|parsed| {
                parsed.resource_id("secretsmanager", "secret:").is_some()
                    && Region::parse(parsed.region()).is_ok()
                    && parsed.account().len() == 12
                    && parsed.account().bytes().all(|b| b.is_ascii_digit())
            })
            .map(Self)
            .ok_or_else(|| {
                "expected a secret ARN, arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME"
                    .to_owned()
            })
    }

    /// The ARN.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The region the secret is in.
    #[must_use]
    pub fn region(&self) -> &str {
        self.0.region()
    }
}

impl fmt::Display for SecretArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// [`TABLE`]: a DynamoDB table name (3–255 of `A-Z a-z 0-9 _ . -`) or table ARN.
///
/// # Errors
/// [`ConfigError::Missing`] or [`ConfigError::Invalid`].
pub fn table(vars: &(impl Vars + ?Sized)) -> Result<String, ConfigError> {
    let value = required(vars, TABLE)?;
    let not_a_table = || {
        ConfigError::invalid(
            TABLE,
            "expected a table name or arn:…:dynamodb:…:table/NAME",
        )
    };
    let arn;
    let name = if value.starts_with("arn:") {
        arn = Arn::parse(&value).map_err(|_| not_a_table())?;
        arn.resource_id("dynamodb", "table/")
            .ok_or_else(not_a_table)?
    } else {
        value.as_str()
    };
    let valid = (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if !valid {
        return Err(ConfigError::invalid(
            TABLE,
            "a table name has 3 to 255 ASCII letters, digits and _.-",
        ));
    }
    Ok(value)
}

/// [`STATE_MACHINE_ARN`]: `arn:PARTITION:states:REGION:ACCOUNT:stateMachine:NAME[:VERSION]`.
///
/// # Errors
/// [`ConfigError::Missing`] or [`ConfigError::Invalid`].
pub fn state_machine_arn(vars: &(impl Vars + ?Sized)) -> Result<String, ConfigError> {
    let value = required(vars, STATE_MACHINE_ARN)?;
    StateMachineArn::parse(&value).map_err(|_| {
        ConfigError::invalid(
            STATE_MACHINE_ARN,
            "expected arn:aws:states:REGION:ACCOUNT:stateMachine:NAME",
        )
    })?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_arns_give_their_region() {
        let arn = SecretArn::parse("arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:a:b")
            .unwrap();
        assert_eq!(arn.region(), "cn-north-1");
        assert_eq!(
            arn.as_str(),
            "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:a:b"
        );
        assert!(SecretArn::parse("arn:aws:secretsmanager:us-east-1:1234:secret:x").is_err());
    }
}
