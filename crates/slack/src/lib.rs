//! The Slack adapter: request signature verification, slash-command and interaction payloads,
//! Block Kit views, and the Web API client behind `Chat` and `Directory`.
//!
//! Built by the Slack issue.
