//! Reading back what the broker put in S3 (on moto).

/// The text of object `key` in `bucket`.
///
/// # Panics
/// When the object cannot be read or is not UTF-8: the test fails.
pub async fn text(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> String {
    let bytes = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}
