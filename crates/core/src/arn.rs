//! Amazon Resource Names, taken apart and checked once: the adapters and the Lambdas'
//! configuration name AWS resources by ARN, and derive one ARN from another (a bastion's ARN in
//! its secret's account, an execution's ARN under its state machine). A plain string value, no
//! SDK types, so code built without the AWS SDK can check ARNs too.

use std::fmt;

use crate::error::{Error, Field, Result};

/// An ARN, `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
///
/// The partition and the service are non-empty; the region and the account may be empty (IAM
/// and S3 ARNs have none); the resource is non-empty and may itself hold `:` and `/`. Nothing
/// in an ARN is whitespace or a control character.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arn {
    text: String,
    /// Byte offsets of the colons after the partition, the service, the region and the account.
    colons: [usize; 4],
}

impl Arn {
    /// Checks the shape of `text`.
    ///
    /// # Errors
    /// [`Error::Invalid`] (field [`Field::Arn`]) saying what is wrong.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |problem: &str| Error::invalid(Field::Arn, problem);
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("an ARN has no whitespace"));
        }
        let shape = "expected arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE";
        if !text.starts_with("arn:") {
            return Err(bad(shape));
        }
        let mut colons = [0; 4];
        let mut from = "arn:".len();
        for colon in &mut colons {
            let at = text
                .get(from..)
                .and_then(|rest| rest.find(':'))
                .ok_or_else(|| bad(shape))?;
            *colon = from + at;
            from = *colon + 1;
        }
        let arn = Self {
            text: text.to_owned(),
            colons,
        };
        let lower = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        if arn.partition().is_empty() || !lower(arn.partition()) {
            return Err(bad("the partition must be a name such as aws or aws-cn"));
        }
        if arn.service().is_empty() || !lower(arn.service()) {
            return Err(bad("the service must be a name such as states or ec2"));
        }
        if !lower(arn.region()) {
            return Err(bad("the region must be a name such as ap-northeast-1"));
        }
        if !arn.account().bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(bad(
                "the account must be an account id such as 123456789012",
            ));
        }
        if arn.resource().is_empty() {
            return Err(bad("the resource must not be empty"));
        }
        Ok(arn)
    }

    /// The ARN as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The partition: `aws`, `aws-cn`, `aws-us-gov`, ….
    #[must_use]
    pub fn partition(&self) -> &str {
        self.part(0)
    }

    /// The service: `states`, `secretsmanager`, `ec2`, ….
    #[must_use]
    pub fn service(&self) -> &str {
        self.part(1)
    }

    /// The region; empty for global services.
    #[must_use]
    pub fn region(&self) -> &str {
        self.part(2)
    }

    /// The account; empty for some services (S3).
    #[must_use]
    pub fn account(&self) -> &str {
        self.part(3)
    }

    /// Everything after the account: `table/NAME`, `stateMachine:NAME`, `secret:NAME`, ….
    #[must_use]
    pub fn resource(&self) -> &str {
        self.part(4)
    }

    /// What follows `kind` (the resource type with its separator, `table/` or `secret:`) in
    /// the resource, when this is an ARN of `service` whose resource is of that type and names
    /// something.
    #[must_use]
    pub fn resource_id(&self, service: &str, kind: &str) -> Option<&str> {
        if self.service() != service {
            return None;
        }
        self.resource()
            .strip_prefix(kind)
            .filter(|id| !id.is_empty())
    }

    /// The ARN of `resource` of `service` in this ARN's partition, region and account.
    ///
    /// # Errors
    /// [`Error::Invalid`] when `service` or `resource` cannot be part of an ARN.
    pub fn sibling(&self, service: &str, resource: &str) -> Result<Self> {
        Self::parse(&format!(
            "arn:{}:{service}:{}:{}:{resource}",
            self.partition(),
            self.region(),
            self.account()
        ))
    }

    /// Field `index` (0 = partition … 4 = resource).
    fn part(&self, index: usize) -> &str {
        let start = match index {
            0 => "arn:".len(),
            _ => self
                .colons
                .get(index - 1)
                .map_or(self.text.len(), |c| c + 1),
        };
        let end = self.colons.get(index).copied().unwrap_or(self.text.len());
        self.text.get(start..end).unwrap_or_default()
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Arn {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// A Step Functions state machine's ARN,
/// `arn:PARTITION:states:REGION:ACCOUNT:stateMachine:NAME`, optionally followed by `:VERSION` or
/// `:ALIAS` (executions of a version or an alias still live under `NAME`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StateMachineArn(Arn);

impl StateMachineArn {
    /// Step Functions' limit on a state machine name, in characters.
    pub const MAX_NAME_CHARS: usize = 80;

    /// The resource type of a state machine, with its separator.
    const KIND: &'static str = "stateMachine:";

    /// Checks that `text` is a state machine ARN.
    ///
    /// # Errors
    /// [`Error::Invalid`] (field [`Field::Arn`]) saying what is wrong.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |problem: &str| Error::invalid(Field::Arn, problem);
        let arn = Arn::parse(text)
            .map_err(|_| bad("expected arn:PARTITION:states:REGION:ACCOUNT:stateMachine:NAME"))?;
        if arn.service() != "states" {
            return Err(bad("expected an arn:…:states:… ARN"));
        }
        if arn.region().is_empty() || arn.account().is_empty() {
            return Err(bad("the region and the account must not be empty"));
        }
        let Some(rest) = arn.resource_id("states", Self::KIND) else {
            return Err(bad("expected a …:stateMachine:NAME ARN"));
        };
        let (name, qualifier) = match rest.split_once(':') {
            Some((name, qualifier)) => (name, Some(qualifier)),
            None => (rest, None),
        };
        if name.is_empty() || name.chars().count() > Self::MAX_NAME_CHARS {
            return Err(bad(
                "the state machine name must be 1 to 80 characters without whitespace",
            ));
        }
        if qualifier.is_some_and(|q| q.is_empty() || q.contains(':')) {
            return Err(bad(
                "only one version or alias may follow the state machine name",
            ));
        }
        Ok(Self(arn))
    }

    /// The state machine's name (without its version or alias).
    #[must_use]
    pub fn name(&self) -> &str {
        let rest = self.0.resource_id("states", Self::KIND).unwrap_or_default();
        rest.split_once(':').map_or(rest, |(name, _)| name)
    }

    /// The ARN.
    #[must_use]
    pub fn as_arn(&self) -> &Arn {
        &self.0
    }

    /// The ARN as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// What every execution's ARN starts with, `arn:PARTITION:states:REGION:ACCOUNT:execution:NAME:`;
    /// the execution's name follows.
    #[must_use]
    pub fn execution_prefix(&self) -> String {
        format!(
            "arn:{}:states:{}:{}:execution:{}:",
            self.0.partition(),
            self.0.region(),
            self.0.account(),
            self.name()
        )
    }
}

impl fmt::Display for StateMachineArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arn_is_taken_apart_into_its_five_fields() {
        let arn =
            Arn::parse("arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:a/b:c").unwrap();
        assert_eq!(arn.partition(), "aws-cn");
        assert_eq!(arn.service(), "secretsmanager");
        assert_eq!(arn.region(), "cn-north-1");
        assert_eq!(arn.account(), "123456789012");
        assert_eq!(arn.resource(), "secret:a/b:c");
        assert_eq!(arn.resource_id("secretsmanager", "secret:"), Some("a/b:c"));
        assert_eq!(arn.resource_id("secretsmanager", "secret/"), None);
        assert_eq!(arn.resource_id("ec2", "secret:"), None);
        assert_eq!(
            arn.to_string(),
            "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:a/b:c"
        );

        let global: Arn = "arn:aws:iam::123456789012:instance-profile/bastion"
            .parse()
            .unwrap();
        assert_eq!((global.region(), global.account()), ("", "123456789012"));
        assert_eq!(
            global.resource_id("iam", "instance-profile/"),
            Some("bastion")
        );
    }

    #[test]
    fn a_sibling_lives_in_the_same_partition_region_and_account() {
        let secret =
            Arn::parse("arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:x").unwrap();
        assert_eq!(
            secret.sibling("ec2", "instance/i-0abc").unwrap().as_str(),
            "arn:aws:ec2:ap-northeast-1:123456789012:instance/i-0abc"
        );
        assert!(secret.sibling("ec2", "instance/i 0").is_err());
        assert!(secret.sibling("ec2", "").is_err());
    }

    #[test]
    fn what_is_not_an_arn_is_refused_as_an_arn() {
        for text in [
            "",
            "powerpole",
            "arn:",
            "arn:aws:s3",
            "arn:aws:states:ap-northeast-1:123456789012",
            "arn:aws:states:ap-northeast-1:123456789012:",
            "arn::states:ap-northeast-1:123456789012:stateMachine:x",
            "arn:aws::ap-northeast-1:123456789012:stateMachine:x",
            "arn:AWS:states:ap-northeast-1:123456789012:stateMachine:x",
            "arn:aws:states:ap northeast:123456789012:stateMachine:x",
            "arn:aws:states:ap-northeast-1:1234-5678:stateMachine:x",
            "arn:aws:states:ap-northeast-1:123456789012:stateMachine:x\n",
            "ARN:aws:states:ap-northeast-1:123456789012:stateMachine:x",
        ] {
            let error = Arn::parse(text).unwrap_err();
            assert_eq!(error.field(), Some(Field::Arn), "{text:?}");
        }
    }

    #[test]
    fn a_state_machine_arn_names_its_executions() {
        let plain =
            StateMachineArn::parse("arn:aws:states:ap-northeast-1:123456789012:stateMachine:pp")
                .unwrap();
        assert_eq!(plain.name(), "pp");
        assert_eq!(
            plain.execution_prefix(),
            "arn:aws:states:ap-northeast-1:123456789012:execution:pp:"
        );
        let alias = StateMachineArn::parse(
            "arn:aws-cn:states:cn-north-1:123456789012:stateMachine:pp:live",
        )
        .unwrap();
        assert_eq!(alias.name(), "pp");
        assert_eq!(alias.as_arn().partition(), "aws-cn");
        assert_eq!(
            alias.execution_prefix(),
            "arn:aws-cn:states:cn-north-1:123456789012:execution:pp:"
        );
        let long = "x".repeat(StateMachineArn::MAX_NAME_CHARS + 1);
        for text in [
            "arn:aws:states:ap-northeast-1:123456789012:activity:pp".to_owned(),
            "arn:aws:lambda:ap-northeast-1:123456789012:stateMachine:pp".to_owned(),
            "arn:aws:states::123456789012:stateMachine:pp".to_owned(),
            "arn:aws:states:ap-northeast-1:123456789012:stateMachine:pp:".to_owned(),
            "arn:aws:states:ap-northeast-1:123456789012:stateMachine:pp:1:2".to_owned(),
            format!("arn:aws:states:ap-northeast-1:123456789012:stateMachine:{long}"),
        ] {
            assert!(StateMachineArn::parse(&text).is_err(), "{text}");
        }
    }
}
