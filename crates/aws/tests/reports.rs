#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]
//! `S3ReportArchive` against moto: the page lands under the prefix as HTML, a retried run
//! replaces it while the versioned bucket keeps both, and what people are given is an address,
//! never a presigned link.

use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use powerpole_aws::{ReportBucket, S3ReportArchive};
use powerpole_core::Period;
use powerpole_core::ports::ReportArchive;
use powerpole_core::report::archive::ReportName;
use time::macros::datetime;

struct Bucket {
    client: aws_sdk_s3::Client,
    name: String,
    archive: S3ReportArchive,
}

async fn bucket() -> Option<Bucket> {
    let endpoint = powerpole_testkit::aws_endpoint()?;
    let sdk = powerpole_aws::config::load(Some(&endpoint)).await;
    let client = powerpole_aws::reports::s3_client(&sdk);
    let name = powerpole_testkit::unique_name("reports");
    client.create_bucket().bucket(&name).send().await.unwrap();
    client
        .put_bucket_versioning()
        .bucket(&name)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let archive = S3ReportArchive::new(&sdk, ReportBucket::new(&name).unwrap());
    Some(Bucket {
        client,
        name,
        archive,
    })
}

fn week() -> ReportName {
    ReportName::of(
        &Period::new(
            datetime!(2026-11-16 00:00 UTC),
            datetime!(2026-11-23 00:00 UTC),
        )
        .unwrap(),
    )
}

const KEY: &str = "reports/powerpole-report_20261116T000000Z_20261123T000000Z.html";

#[tokio::test]
async fn the_page_is_archived_as_html_under_the_period_and_a_retry_keeps_both_versions() {
    let Some(b) = bucket().await else { return };

    let first = b
        .archive
        .put(&week(), "<!doctype html><p>first</p>")
        .await
        .unwrap();
    let again = b
        .archive
        .put(&week(), "<!doctype html><p>again</p>")
        .await
        .unwrap();

    assert_eq!(first.location, format!("s3://{}/{KEY}", b.name));
    assert_eq!(again, first, "the same period is the same object");
    let link = first.link.unwrap();
    assert!(
        link.starts_with(&format!(
            "https://console.aws.amazon.com/s3/object/{}?prefix={KEY}",
            b.name
        )),
        "{link}"
    );
    assert!(!link.contains("X-Amz-"), "no presigned link: {link}");
    let object = b
        .client
        .get_object()
        .bucket(&b.name)
        .key(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(object.content_type(), Some("text/html; charset=utf-8"));
    let body = object.body.collect().await.unwrap().into_bytes();
    assert_eq!(&body[..], b"<!doctype html><p>again</p>");
    let versions = b
        .client
        .list_object_versions()
        .bucket(&b.name)
        .prefix(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(versions.versions().len(), 2, "both pages are kept");
}

#[tokio::test]
async fn a_missing_bucket_is_an_error_that_a_retry_does_not_fix() {
    let Some(b) = bucket().await else { return };
    let sdk = powerpole_aws::config::load(powerpole_testkit::aws_endpoint().as_deref()).await;
    let gone = S3ReportArchive::new(
        &sdk,
        ReportBucket::new(&format!("{}-gone", b.name)).unwrap(),
    );

    let err = gone.put_page(&week(), "<p>page</p>").await.unwrap_err();

    assert_eq!(err.code(), Some("NoSuchBucket"), "{err}");
    assert!(!err.is_retryable());
}
