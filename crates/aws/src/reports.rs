//! The [`ReportArchive`] port on S3: each period report is one object, `<prefix><name>`
//! (`reports/powerpole-report_20261116T000000Z_20261123T000000Z.html`), `text/html`, in a bucket
//! terraform makes versioned, encrypted with the module's KMS key by default (the adapter sends
//! no encryption header, so the bucket's default key applies) and closed to the public.
//!
//! A retried run puts the same key again; the bucket's versioning keeps every page that was put,
//! and with object lock none can be deleted before its retention ends. The object's address
//! (`s3://bucket/key`) and an S3 console page are what people are given: the console asks for
//! their own AWS access, so nothing handed out grants access by itself (no presigned URL).

use aws_config::SdkConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use powerpole_core::ports::ReportArchive;
use powerpole_core::report::archive::{ArchivedReport, ReportName};

use crate::error::{Error, Result, sdk};

const SERVICE: &str = "s3";

/// The S3 client over `sdk`; with an endpoint override (an emulator such as moto) buckets are
/// addressed by path, not by host name.
#[must_use]
pub fn s3_client(sdk: &SdkConfig) -> Client {
    Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(sdk.endpoint_url().is_some())
            .build(),
    )
}

/// Where reports go: the bucket and the key prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportBucket {
    bucket: String,
    prefix: String,
}

impl ReportBucket {
    /// The key prefix used when none is given.
    pub const DEFAULT_PREFIX: &'static str = "reports/";

    /// Reports in `bucket`, under [`Self::DEFAULT_PREFIX`].
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] when `bucket` is not an S3 bucket name (3 to 63 lowercase
    /// letters, digits, `.` and `-`, starting and ending with a letter or digit).
    pub fn new(bucket: &str) -> Result<Self> {
        let edge_ok =
            |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let valid = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
            && edge_ok(bucket.chars().next())
            && edge_ok(bucket.chars().last());
        if !valid {
            return Err(Error::invalid_setting(
                "report bucket",
                "expected an S3 bucket name: 3 to 63 of a-z 0-9 . -, starting and ending with a letter or digit",
            ));
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix: Self::DEFAULT_PREFIX.to_owned(),
        })
    }

    /// Reports under `prefix` instead (empty for the bucket's root).
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] for a prefix longer than 512 characters, starting with `/` or
    /// holding characters other than ASCII letters, digits and `/!-_.*'()`.
    pub fn with_prefix(self, prefix: &str) -> Result<Self> {
        let valid = prefix.len() <= 512
            && !prefix.starts_with('/')
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/!-_.*'()".contains(c));
        if !valid {
            return Err(Error::invalid_setting(
                "report key prefix",
                "up to 512 ASCII letters, digits and /!-_.*'(), not starting with /",
            ));
        }
        Ok(Self {
            prefix: prefix.to_owned(),
            ..self
        })
    }

    /// The bucket's name.
    #[must_use]
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key of the report named `name`.
    #[must_use]
    pub fn key(&self, name: &ReportName) -> String {
        format!("{}{name}", self.prefix)
    }
}

/// Period reports as objects of one S3 bucket.
#[derive(Debug, Clone)]
pub struct S3ReportArchive {
    client: Client,
    place: ReportBucket,
    region: Option<String>,
}

impl S3ReportArchive {
    /// The archive in `place`, reached with [`s3_client`] over `sdk` (built once per process).
    #[must_use]
    pub fn new(sdk: &SdkConfig, place: ReportBucket) -> Self {
        Self {
            client: s3_client(sdk),
            place,
            region: sdk.region().map(ToString::to_string),
        }
    }

    /// The S3 console page of the object `key`.
    fn console_link(&self, key: &str) -> String {
        let mut link = format!(
            "https://console.aws.amazon.com/s3/object/{}?prefix={key}",
            self.place.bucket
        );
        if let Some(region) = &self.region {
            link.push_str(&format!("&region={region}"));
        }
        link
    }

    /// Puts `page` at the key of `name`.
    ///
    /// # Errors
    /// [`Error::Sdk`] when S3 refuses (`NoSuchBucket`, `AccessDenied`, …).
    pub async fn put_page(&self, name: &ReportName, page: &str) -> Result<ArchivedReport> {
        let key = self.place.key(name);
        self.client
            .put_object()
            .bucket(&self.place.bucket)
            .key(&key)
            .content_type("text/html; charset=utf-8")
            .body(ByteStream::from(page.as_bytes().to_vec()))
            .send()
            .await
            .map_err(|e| sdk(SERVICE, "PutObject", e))?;
        tracing::info!(bucket = %self.place.bucket, key = %key, "report archived");
        Ok(ArchivedReport {
            location: format!("s3://{}/{key}", self.place.bucket),
            link: Some(self.console_link(&key)),
        })
    }
}

impl ReportArchive for S3ReportArchive {
    async fn put(&self, name: &ReportName, page: &str) -> powerpole_core::Result<ArchivedReport> {
        Ok(self.put_page(name, page).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_and_prefixes_are_checked() {
        assert!(ReportBucket::new("powerpole-reports-123456789012").is_ok());
        for bad in [
            "ab",
            "Powerpole",
            "-reports",
            "reports-",
            "re_ports",
            &"a".repeat(64),
        ] {
            assert!(ReportBucket::new(bad).is_err(), "{bad}");
        }
        let bucket = ReportBucket::new("powerpole-reports").unwrap();
        assert!(bucket.clone().with_prefix("/reports/").is_err());
        assert!(bucket.clone().with_prefix("weekly reports/").is_err());
        let weekly = bucket.with_prefix("weekly/").unwrap();
        let period = powerpole_core::Period::new(
            time::macros::datetime!(2026-11-16 00:00 UTC),
            time::macros::datetime!(2026-11-23 00:00 UTC),
        )
        .unwrap();
        assert_eq!(
            weekly.key(&ReportName::of(&period)),
            "weekly/powerpole-report_20261116T000000Z_20261123T000000Z.html"
        );
    }
}
