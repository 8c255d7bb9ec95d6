//! The Slack adapter: request signature verification, slash-command and interaction payloads,
//! Block Kit views, and the Web API client behind `Chat` and `Directory`.
//!
//! Everything Slack sends arrives as an HTTP POST whose raw body is checked first
//! ([`SignatureVerifier::verify`]) and parsed second ([`SlashCommand::from_form`],
//! [`Interaction::from_form`]). Slack's wire types (slack-morphism's) stay inside this crate: the
//! public API speaks the core's values ([`powerpole_core::SlackUserId`],
//! [`powerpole_core::MessageRef`]) and small structs of its own.
//!
//! What the broker shows is rendered by [`views`] as Block Kit JSON.
//!
//! Still to come from the Slack issue: the Web API client with retries, the `Chat` and
//! `Directory` adapters and the app manifest.

pub mod error;
pub mod payload;
pub mod verify;
pub mod views;

pub use error::{Error, Rejection, Result};
pub use payload::{BlockAction, Interaction, SlashCommand, StateValue, ViewSubmission};
pub use verify::{HeaderLookup, SignatureVerifier, retry_num};
