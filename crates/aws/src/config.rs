//! One shared AWS configuration, loaded once per process.

use aws_config::{BehaviorVersion, SdkConfig};

/// Loads the standard AWS configuration (environment, profile, container or instance role;
/// `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` for emulators). `endpoint` overrides the
/// endpoint of every service, which is how tests point the adapters at moto.
pub async fn load(endpoint: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}
