//! The AWS resources every Lambda names: the request table, the state machine, and the shape of
//! a secret's ARN (the Slack secret, the clusters' admin secrets).

use std::fmt;

use powerpole_core::Region;

use super::env::{ConfigError, Vars, required};

/// The DynamoDB table of requests (name or ARN).
pub const TABLE: &str = "POWERPOLE_TABLE";
/// The ARN of the state machine executions are started from.
pub const STATE_MACHINE_ARN: &str = "POWERPOLE_STATE_MACHINE_ARN";

/// The ARN of a Secrets Manager secret, and the region it lives in (where it must be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretArn {
    arn: String,
    region: String,
}

impl SecretArn {
    /// Checks the shape `arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME`.
    ///
    /// # Errors
    /// The problem, phrased for the person who set it.
    pub fn parse(arn: &str) -> Result<Self, String> {
        let parts: Vec<&str> = arn.splitn(7, ':').collect();
        match parts.as_slice() {
            [
                "arn",
                partition,
                "secretsmanager",
                region,
                account,
                "secret",
                name,
            ] if !partition.is_empty()
                && Region::parse(region).is_ok()
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && !name.is_empty()
                && !arn.chars().any(char::is_whitespace) =>
            {
                Ok(Self {
                    arn: arn.to_owned(),
                    region: (*region).to_owned(),
                })
            }
            _ => Err(
                "expected a secret ARN, arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME"
                    .to_owned(),
            ),
        }
    }

    /// The ARN.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.arn
    }

    /// The region the secret is in.
    #[must_use]
    pub fn region(&self) -> &str {
        &self.region
    }
}

impl fmt::Display for SecretArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn)
    }
}

/// [`TABLE`]: a DynamoDB table name (3–255 of `A-Z a-z 0-9 _ . -`) or table ARN.
///
/// # Errors
/// [`ConfigError::Missing`] or [`ConfigError::Invalid`].
pub fn table(vars: &(impl Vars + ?Sized)) -> Result<String, ConfigError> {
    let value = required(vars, TABLE)?;
    let name = if value.starts_with("arn:") {
        let parts: Vec<&str> = value.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", _, "dynamodb", _, _, resource] => resource.strip_prefix("table/"),
            _ => None,
        }
        .ok_or_else(|| {
            ConfigError::invalid(
                TABLE,
                "expected a table name or arn:…:dynamodb:…:table/NAME",
            )
        })?
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
    let parts: Vec<&str> = value.split(':').collect();
    let valid = match parts.as_slice() {
        [
            "arn",
            partition,
            "states",
            region,
            account,
            "stateMachine",
            name,
            ..,
        ] => {
            [partition, region, account, name]
                .iter()
                .all(|p| !p.is_empty())
                && parts.len() <= 8
                && !value.chars().any(char::is_whitespace)
        }
        _ => false,
    };
    if !valid {
        return Err(ConfigError::invalid(
            STATE_MACHINE_ARN,
            "expected arn:aws:states:REGION:ACCOUNT:stateMachine:NAME",
        ));
    }
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
