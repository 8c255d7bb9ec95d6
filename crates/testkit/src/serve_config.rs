//! The configuration file of a `powerpole serve` that a test or the load bench starts.

use std::path::Path;

/// What varies between the brokers tests start. The rest is fixed: region `ap-northeast-1`, the
/// cluster reached at `127.0.0.1`, and the secrets from the environment, as the example
/// configuration recommends: `POWERPOLE__SLACK__SIGNING_SECRET` and
/// `POWERPOLE__CLUSTERS__0__ADMIN_URL` (the file's values are placeholders).
#[derive(Debug, Clone, Copy)]
pub struct ServeConfig<'a> {
    /// The loopback port of the Slack endpoints.
    pub port: u16,
    /// The state directory.
    pub state_dir: &'a Path,
    /// How much faster than real time the clock runs.
    pub speed: u32,
    /// The Slack Web API base URL (the fake's `api_url()`).
    pub slack_api: &'a str,
    /// The bot token the fake sees.
    pub bot_token: &'a str,
    /// The approvers' channel id.
    pub approvers_channel: &'a str,
    /// The one cluster's id.
    pub cluster: &'a str,
}

impl ServeConfig<'_> {
    /// The TOML text.
    #[must_use]
    pub fn to_toml(&self) -> String {
        format!(
            r#"
[server]
listen = "127.0.0.1:{port}"

[state]
dir = "{state}"

[clock]
speed = {speed}

[slack]
signing_secret = "from-the-environment"
bot_token = "{token}"
api_url = "{api}"
approvers_channel = "{approvers}"

[[clusters]]
id = "{cluster}"
region = "ap-northeast-1"
admin_url = "mysql://nobody:nothing@127.0.0.1:1"
endpoint = "127.0.0.1"
"#,
            port = self.port,
            state = self.state_dir.display(),
            speed = self.speed,
            token = self.bot_token,
            api = self.slack_api,
            approvers = self.approvers_channel,
            cluster = self.cluster,
        )
    }
}
