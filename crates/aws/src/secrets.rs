//! The [`SecretVault`] port on AWS Secrets Manager.
//!
//! One secret per request, named `<prefix><request id>` (`powerpole/01JDX…`), so the name alone
//! finds it and an IAM policy can scope the bastion's role to its own request's secret by name or
//! by the `powerpole:request-id` tag. The value is the JSON object
//! `{"username": …, "password": …}`, the shape RDS and `mysql` wrappers expect.
//!
//! Idempotency comes from the name: `CreateSecret` on an existing name fails with
//! `ResourceExistsException`, and the vault then keeps the first secret and returns its ARN,
//! because the password already set on the DB server is the first one. Deletion skips the
//! recovery window (`ForceDeleteWithoutRecovery`): a one-time password must not outlive its
//! access window, and a secret already gone counts as deleted.
//!
//! The password is handed to the SDK (whose `Debug` of inputs and outputs redacts it) and read
//! back into a [`DbPassword`]; it is never logged, never part of an error, and malformed secret
//! values are reported by their shape only.

use std::collections::BTreeMap;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, Tag};
use powerpole_core::ports::{SecretLocation, SecretVault, StoredSecret};
use powerpole_core::{Arn, BastionId, DbPassword, DbUsername, RequestId, SecretRef};
use time::OffsetDateTime;
use tracing::debug;

use crate::error::{Error, Result, sdk};

const SERVICE: &str = "secretsmanager";

/// Tag holding the request id the secret belongs to.
pub const TAG_REQUEST_ID: &str = "powerpole:request-id";
/// Tag holding the ARN of the one bastion allowed to read the secret: the bastions' role policy
/// allows `GetSecretValue` only where it equals the calling instance's `ec2:SourceInstanceARN`.
pub const TAG_BASTION: &str = "powerpole:bastion";
/// Tag holding when the secret must be gone, in RFC 3339 UTC.
pub const TAG_EXPIRES_AT: &str = "powerpole:expires-at";

/// How the vault names, encrypts and tags secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretsManagerSettings {
    name_prefix: String,
    kms_key_id: Option<String>,
    tags: Vec<(String, String)>,
}

impl SecretsManagerSettings {
    /// The name prefix used when none is given.
    pub const DEFAULT_PREFIX: &'static str = "powerpole/";
    /// Longest accepted prefix (a secret name may have 512 characters; a request id takes 26).
    pub const MAX_PREFIX_LEN: usize = 256;

    /// Settings with the name prefix `name_prefix`, the account's default KMS key and no extra
    /// tags.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] when the prefix is empty, longer than [`Self::MAX_PREFIX_LEN`] or has
    /// a character Secrets Manager names cannot have (allowed: ASCII letters, digits, `/_+=.@-`).
    pub fn new(name_prefix: &str) -> Result<Self> {
        let problem = if name_prefix.is_empty() || name_prefix.len() > Self::MAX_PREFIX_LEN {
            Some("must be 1 to 256 characters")
        } else if !name_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c))
        {
            Some("may contain only ASCII letters, digits and /_+=.@-")
        } else {
            None
        };
        match problem {
            Some(problem) => Err(Error::invalid_setting("secret name prefix", problem)),
            None => Ok(Self {
                name_prefix: name_prefix.to_owned(),
                kms_key_id: None,
                tags: Vec::new(),
            }),
        }
    }

    /// Encrypts new secrets with this KMS key (id, ARN, alias name or alias ARN) instead of the
    /// account's `aws/secretsmanager` key.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] when the key id is empty or contains whitespace.
    pub fn with_kms_key_id(mut self, key_id: &str) -> Result<Self> {
        if key_id.is_empty() || key_id.chars().any(char::is_whitespace) {
            return Err(Error::invalid_setting(
                "KMS key id",
                "must be non-empty without whitespace",
            ));
        }
        self.kms_key_id = Some(key_id.to_owned());
        Ok(self)
    }

    /// Adds a tag to every new secret (cost centre, environment…).
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] when the key is empty, over 128 characters, starts with `aws:` or is
    /// one of the vault's own tags, when the value is over 256 characters, or when either holds
    /// a character tags cannot have (allowed: letters, digits, spaces and `_.:/=+-@`).
    pub fn with_tag(mut self, key: &str, value: &str) -> Result<Self> {
        let allowed = |s: &str| {
            s.chars()
                .all(|c| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c))
        };
        let problem = if key.is_empty() || key.chars().count() > 128 {
            Some("key must be 1 to 128 characters")
        } else if value.chars().count() > 256 {
            Some("value must be at most 256 characters")
        } else if !allowed(key) || !allowed(value) {
            Some("may contain only letters, digits, spaces and _.:/=+-@")
        } else if key.to_ascii_lowercase().starts_with("aws:") {
            Some("keys starting with aws: are reserved by AWS")
        } else if key == TAG_REQUEST_ID || key == TAG_EXPIRES_AT {
            Some("the key is one the vault sets itself")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(Error::invalid_setting(
                format!("secret tag {key:?}"),
                problem,
            ));
        }
        self.tags.retain(|(k, _)| k != key);
        self.tags.push((key.to_owned(), value.to_owned()));
        Ok(self)
    }

    /// The name prefix.
    #[must_use]
    pub fn name_prefix(&self) -> &str {
        &self.name_prefix
    }

    /// The KMS key new secrets are encrypted with, if not the default one.
    #[must_use]
    pub fn kms_key_id(&self) -> Option<&str> {
        self.kms_key_id.as_deref()
    }

    /// The extra tags set on every new secret.
    #[must_use]
    pub fn tags(&self) -> &[(String, String)] {
        &self.tags
    }
}

impl Default for SecretsManagerSettings {
    fn default() -> Self {
        Self {
            name_prefix: Self::DEFAULT_PREFIX.to_owned(),
            kms_key_id: None,
            tags: Vec::new(),
        }
    }
}

/// The [`SecretVault`] on Secrets Manager.
#[derive(Debug, Clone)]
pub struct SecretsManagerVault {
    client: Client,
    settings: SecretsManagerSettings,
}

impl SecretsManagerVault {
    /// A vault using `client` (built once per process) and `settings`.
    #[must_use]
    pub fn new(client: Client, settings: SecretsManagerSettings) -> Self {
        Self { client, settings }
    }

    /// The name of the request's secret: `<prefix><request id>`.
    #[must_use]
    pub fn secret_name(&self, id: RequestId) -> String {
        format!("{}{id}", self.settings.name_prefix)
    }

    /// Creates the request's secret, or returns the ARN of the one that exists.
    ///
    /// # Errors
    /// [`Error::Conflict`] when a secret of that name exists but is scheduled for deletion;
    /// [`Error::Sdk`] when Secrets Manager fails.
    pub async fn create(
        &self,
        id: RequestId,
        username: &DbUsername,
        password: &DbPassword,
        expires_at: OffsetDateTime,
    ) -> Result<SecretRef> {
        let name = self.secret_name(id);
        let expires = powerpole_core::timefmt::rfc3339(
            expires_at,
            powerpole_core::timefmt::Precision::Seconds,
        );
        let request = id.to_string();
        let tags = self
            .settings
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain([
                (TAG_REQUEST_ID, request.as_str()),
                (TAG_EXPIRES_AT, expires.as_str()),
            ])
            .map(|(key, value)| Tag::builder().key(key).value(value).build())
            .collect::<Vec<_>>();
        debug!(request = %id, secret = %name, "creating secret");
        let created = self
            .client
            .create_secret()
            .name(&name)
            .description(format!(
                "powerpole one-time database credentials of request {id}"
            ))
            .set_kms_key_id(self.settings.kms_key_id.clone())
            .secret_string(secret_value(username, password)?)
            .set_tags(Some(tags))
            .send()
            .await;
        match created {
            Ok(out) => {
                let arn = out
                    .arn
                    .ok_or_else(|| Error::malformed("CreateSecret answer", "no ARN"))?;
                debug!(request = %id, secret = %arn, "secret created");
                Ok(SecretRef(arn))
            }
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_exists_exception()) =>
            {
                self.existing(id, &name).await
            }
            Err(err) => Err(sdk(SERVICE, "CreateSecret", err)),
        }
    }

    async fn existing(&self, id: RequestId, name: &str) -> Result<SecretRef> {
        let out = self
            .client
            .describe_secret()
            .secret_id(name)
            .send()
            .await
            .map_err(|err| sdk(SERVICE, "DescribeSecret", err))?;
        if out.deleted_date.is_some() {
            return Err(Error::Conflict(format!(
                "secret {name} exists but is scheduled for deletion"
            )));
        }
        let arn = out
            .arn
            .ok_or_else(|| Error::malformed("DescribeSecret answer", "no ARN"))?;
        debug!(request = %id, secret = %arn, "secret exists, keeping the first one");
        Ok(SecretRef(arn))
    }

    /// Tags the request's secret with the ARN of `bastion` ([`TAG_BASTION`]), the instance in
    /// the secret's own account and region, so that only that bastion's credentials can read it.
    ///
    /// # Errors
    /// [`Error::Malformed`] when the secret's ARN is not one; [`Error::Sdk`] when
    /// DescribeSecret or TagResource fails.
    pub async fn bind_to(&self, id: RequestId, bastion: &BastionId) -> Result<()> {
        let name = self.secret_name(id);
        let SecretRef(arn) = self.existing(id, &name).await?;
        let instance = instance_arn(&arn, &bastion.0)?;
        self.client
            .tag_resource()
            .secret_id(&name)
            .tags(Tag::builder().key(TAG_BASTION).value(&instance).build())
            .send()
            .await
            .map_err(|err| sdk(SERVICE, "TagResource", err))?;
        debug!(request = %id, secret = %name, bastion = %instance, "secret bound to its bastion");
        Ok(())
    }

    /// Reads the request's password.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such secret or it is scheduled for deletion;
    /// [`Error::Malformed`] when its value is not `{"username": …, "password": …}` with a valid
    /// password (the value itself is never part of the error); [`Error::Sdk`] when Secrets
    /// Manager fails.
    pub async fn read(&self, id: RequestId) -> Result<DbPassword> {
        let name = self.secret_name(id);
        debug!(request = %id, secret = %name, "reading secret");
        let out = match self.client.get_secret_value().secret_id(&name).send().await {
            Ok(out) => out,
            Err(err) => {
                let service = err.as_service_error();
                if service.is_some_and(|e| e.is_resource_not_found_exception()) {
                    return Err(Error::NotFound(format!("secret {name}")));
                }
                if service.is_some_and(|e| e.is_invalid_request_exception())
                    && self.is_deleted(&name).await?
                {
                    return Err(Error::NotFound(format!("secret {name}")));
                }
                return Err(sdk(SERVICE, "GetSecretValue", err));
            }
        };
        let value = out
            .secret_string
            .ok_or_else(|| Error::malformed(format!("secret {name}"), "has no string value"))?;
        password_from(&name, &value)
    }

    /// Whether the secret is gone or scheduled for deletion.
    /// Every request secret under the prefix that is not scheduled for deletion (names under
    /// the prefix that are not a request id are not the broker's and are left out).
    ///
    /// # Errors
    /// [`Error::Sdk`] when ListSecrets fails.
    pub async fn stored(&self) -> Result<Vec<StoredSecret>> {
        let prefix = self.settings.name_prefix();
        let filter = Filter::builder()
            .key(FilterNameStringType::Name)
            .values(prefix)
            .build();
        let mut found = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_secrets()
                .filters(filter.clone())
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| sdk(SERVICE, "ListSecrets", e))?;
            for entry in page.secret_list() {
                let Some(name) = entry.name() else { continue };
                let Some(id) = name
                    .strip_prefix(prefix)
                    .and_then(|rest| RequestId::parse(rest).ok())
                else {
                    continue;
                };
                let created_at = entry
                    .created_date()
                    .and_then(|d| OffsetDateTime::from_unix_timestamp(d.secs()).ok())
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH);
                found.push(StoredSecret {
                    request: id,
                    secret: SecretRef(entry.arn().unwrap_or(name).to_owned()),
                    created_at,
                });
            }
            match page.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(found),
            }
        }
    }

    async fn is_deleted(&self, name: &str) -> Result<bool> {
        match self.client.describe_secret().secret_id(name).send().await {
            Ok(out) => Ok(out.deleted_date.is_some()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(true)
            }
            Err(err) => Err(sdk(SERVICE, "DescribeSecret", err)),
        }
    }

    /// Deletes the request's secret without a recovery window. A secret that does not exist, or
    /// is already scheduled for deletion, counts as deleted.
    ///
    /// # Errors
    /// [`Error::Sdk`] when Secrets Manager fails.
    pub async fn remove(&self, id: RequestId) -> Result<()> {
        let name = self.secret_name(id);
        debug!(request = %id, secret = %name, "deleting secret");
        let deleted = self
            .client
            .delete_secret()
            .secret_id(&name)
            .force_delete_without_recovery(true)
            .send()
            .await;
        match deleted {
            Ok(_) => {
                debug!(request = %id, secret = %name, "secret deleted");
                Ok(())
            }
            Err(err) => {
                let service = err.as_service_error();
                if service.is_some_and(|e| e.is_resource_not_found_exception()) {
                    debug!(request = %id, secret = %name, "secret already gone");
                    return Ok(());
                }
                if service.is_some_and(|e| e.is_invalid_request_exception())
                    && self.is_deleted(&name).await?
                {
                    debug!(request = %id, secret = %name, "secret already being deleted");
                    return Ok(());
                }
                Err(sdk(SERVICE, "DeleteSecret", err))
            }
        }
    }
}

impl SecretVault for SecretsManagerVault {
    async fn put(
        &self,
        id: RequestId,
        username: &DbUsername,
        password: &DbPassword,
        expires_at: OffsetDateTime,
    ) -> powerpole_core::Result<SecretRef> {
        Ok(self.create(id, username, password, expires_at).await?)
    }

    async fn get(&self, id: RequestId) -> powerpole_core::Result<DbPassword> {
        Ok(self.read(id).await?)
    }

    async fn delete(&self, id: RequestId) -> powerpole_core::Result<()> {
        Ok(self.remove(id).await?)
    }

    async fn list(&self) -> powerpole_core::Result<Vec<StoredSecret>> {
        Ok(self.stored().await?)
    }

    async fn allow_reader(&self, id: RequestId, bastion: &BastionId) -> powerpole_core::Result<()> {
        Ok(self.bind_to(id, bastion).await?)
    }

    fn locate(&self, secret: &SecretRef) -> SecretLocation {
        SecretLocation::SecretsManager(secret.clone())
    }
}

/// The ARN of instance `instance_id` in the partition, region and account of `secret_arn`
/// (`arn:aws:secretsmanager:<region>:<account>:secret:<name>`).
fn instance_arn(secret_arn: &str, instance_id: &str) -> Result<String> {
    let not_a_secret = || {
        Error::malformed(
            "secret ARN",
            format!("{secret_arn:?} is not a Secrets Manager secret ARN"),
        )
    };
    let secret = Arn::parse(secret_arn).map_err(|_| not_a_secret())?;
    secret
        .resource_id("secretsmanager", "secret:")
        .ok_or_else(not_a_secret)?;
    secret
        .sibling("ec2", &format!("instance/{instance_id}"))
        .map(|arn| arn.to_string())
        .map_err(|e| Error::malformed("instance ARN", e.to_string()))
}

/// The secret's JSON value, serialised straight from borrowed strings into the one `String` the
/// SDK takes (and redacts in its `Debug`).
fn secret_value(username: &DbUsername, password: &DbPassword) -> Result<String> {
    let fields = BTreeMap::from([
        ("username", username.as_str()),
        ("password", password.expose()),
    ]);
    serde_json::to_string(&fields)
        .map_err(|_| Error::malformed("secret value", "could not be serialised"))
}

/// Takes the password out of a secret value. Errors describe the shape only: serde's messages
/// may quote the input, so they are not kept.
fn password_from(name: &str, value: &str) -> Result<DbPassword> {
    let malformed = |problem: &str| Error::malformed(format!("secret {name}"), problem);
    let mut json: serde_json::Value =
        serde_json::from_str(value).map_err(|_| malformed("value is not JSON"))?;
    let serde_json::Value::String(password) = json
        .get_mut("password")
        .map(serde_json::Value::take)
        .unwrap_or_default()
    else {
        return Err(malformed("value has no string field \"password\""));
    };
    DbPassword::parse(password).map_err(|err| malformed(&err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password() -> DbPassword {
        DbPassword::generate()
    }

    #[test]
    fn the_secret_value_is_the_username_and_password_object() {
        let user = DbUsername::parse("keisuke.owato").unwrap();
        let pass = password();
        let value = secret_value(&user, &pass).unwrap();
        let json: serde_json::Value = serde_json::from_str(&value).unwrap();
        assert_eq!(json["username"], "keisuke.owato");
        assert_eq!(json["password"], pass.expose());
        assert_eq!(json.as_object().unwrap().len(), 2);
        assert_eq!(password_from("s", &value).unwrap().expose(), pass.expose());
    }

    #[test]
    fn malformed_values_are_described_without_their_content() {
        let secret = "Zq9-very-secret-but-short";
        for value in [
            secret.to_owned(),
            format!("\"{secret}\""),
            format!("{{\"password\": [\"{secret}\"]}}"),
            format!("{{\"pass\": \"{secret}\"}}"),
            format!("{{\"password\": \"{secret}\"}}"),
            format!("{{\"password\": \"{secret}'{secret}\"}}"),
        ] {
            let err = password_from("powerpole/x", &value).unwrap_err();
            assert!(matches!(err, Error::Malformed { .. }), "{err}");
            assert!(!err.to_string().contains(secret), "{err}");
            assert!(!format!("{err:?}").contains(secret), "{err:?}");
        }
    }

    #[test]
    fn the_bastion_arn_is_in_the_secrets_partition_region_and_account() {
        assert_eq!(
            instance_arn(
                "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:powerpole/01J-AbCdEf",
                "i-0abc"
            )
            .unwrap(),
            "arn:aws-cn:ec2:cn-north-1:123456789012:instance/i-0abc"
        );
        assert!(instance_arn("powerpole/01J", "i-0abc").is_err());
    }

    #[test]
    fn expiry_is_utc_to_the_second() {
        let at = time::macros::datetime!(2026-11-23 23:30:15.75 +09:00);
        assert_eq!(
            powerpole_core::timefmt::rfc3339(at, powerpole_core::timefmt::Precision::Seconds),
            "2026-11-23T14:30:15Z"
        );
    }

    #[test]
    fn settings_check_the_prefix_and_tags() {
        assert_eq!(
            SecretsManagerSettings::default().name_prefix(),
            "powerpole/"
        );
        assert!(SecretsManagerSettings::new("prod/powerpole-").is_ok());
        for bad in ["", "has space/", "quote'/", "star*", &"a".repeat(257)] {
            assert!(SecretsManagerSettings::new(bad).is_err(), "{bad:?}");
        }
        let settings = SecretsManagerSettings::default()
            .with_tag("env", "prod")
            .unwrap()
            .with_tag("env", "stg")
            .unwrap();
        assert_eq!(settings.tags(), [("env".to_owned(), "stg".to_owned())]);
        for (key, value) in [
            ("", "x"),
            ("aws:x", "y"),
            ("AWS:x", "y"),
            (TAG_REQUEST_ID, "y"),
            ("k", "semi;colon"),
        ] {
            assert!(
                SecretsManagerSettings::default()
                    .with_tag(key, value)
                    .is_err(),
                "{key:?}={value:?}"
            );
        }
        assert!(
            SecretsManagerSettings::default()
                .with_kms_key_id("")
                .is_err()
        );
        assert_eq!(
            SecretsManagerSettings::default()
                .with_kms_key_id("alias/powerpole")
                .unwrap()
                .kms_key_id(),
            Some("alias/powerpole")
        );
    }
}
