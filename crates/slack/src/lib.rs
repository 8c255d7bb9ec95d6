//! The Slack adapter: request signature verification, slash-command and interaction payloads,
//! Block Kit views, and the Web API client behind `Chat` and `Directory`.
//!
//! Everything Slack sends arrives as an HTTP POST whose raw body is checked first
//! ([`SignatureVerifier::verify`]) and parsed second ([`SlashCommand::from_form`],
//! [`Interaction::from_form`]). Slack's wire types (slack-morphism's) stay inside this crate: the
//! public API speaks the core's values ([`powerpole_core::SlackUserId`],
//! [`powerpole_core::MessageRef`]) and small structs of its own.
//!
//! What the broker shows is rendered by [`views`] as Block Kit JSON and sent by the Web API
//! client [`SlackWebApi`] (built once, retries rate limits and transient failures), which the
//! core's ports are implemented on (the session receipt by [`receipt_view`]): [`SlackChat`] (`Chat`) and [`SlackDirectory`] (`Directory`).
//! [`ApproverPolicy`] decides who may click Approve or Deny. The Slack app itself is described
//! by `slack/manifest.yml` at the repository root.

pub mod approvers;
pub mod chat;
pub mod error;
pub mod ingress;
pub mod payload;
pub mod receipt_view;
pub mod verify;
pub mod views;
pub mod web;

pub use approvers::{ApproverPolicy, Approvers};
pub use chat::{SlackChat, SlackDirectory};
pub use error::{Error, Refusal, Rejection, Result, WebApiFailure};
pub use ingress::{Reply, SlackIngress};
pub use payload::{BlockAction, Interaction, SlashCommand, StateValue, ViewSubmission};
pub use verify::{HeaderLookup, SignatureVerifier, retry_num};
pub use web::{RetryPolicy, SLACK_API_URL, SlackWebApi, install_crypto_provider};
