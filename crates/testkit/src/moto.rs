//! Set-up calls on the moto server for resources the project has no SDK client for.

use crate::fake_slack::post;

/// Creates the IAM instance profile `name` on the moto server at `endpoint` (`RunInstances`
/// checks that a profile it is given exists), with a plain query-API call: the SDK's IAM client
/// is not a dependency of the project. A profile that already exists is fine.
///
/// # Panics
/// When moto cannot be reached or refuses the call otherwise.
#[expect(clippy::panic, reason = "a test set-up step that fails ends the test")]
pub async fn create_instance_profile(endpoint: &str, region: &str, name: &str) {
    let body =
        format!("Action=CreateInstanceProfile&InstanceProfileName={name}&Version=2010-05-08");
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential=testing/20261204/{region}/iam/aws4_request, \
         SignedHeaders=host, Signature=0"
    );
    let reply = post(
        &format!("{endpoint}/"),
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", authorization.as_str()),
        ],
        body,
    )
    .await;
    let created = reply.as_ref().is_ok_and(|r| {
        r.status == 200 || String::from_utf8_lossy(&r.body).contains("EntityAlreadyExists")
    });
    if !created {
        panic!(
            "CreateInstanceProfile {name}: {:?}",
            reply.map(|r| (r.status, String::from_utf8_lossy(&r.body).into_owned()))
        );
    }
}
