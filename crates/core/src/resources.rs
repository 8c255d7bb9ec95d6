//! What a request has created or holds outside the store: the approval card and the workflow's
//! task token while it waits for a decision, then the bastion and the secret. References only —
//! never a secret value.

use std::path::PathBuf;

/// Where a bastion keeps the CA bundle the database's TLS certificate is checked against (the
/// RDS global bundle its boot script downloads); the ready message's command points there.
pub const BASTION_DB_CA: &str = "/etc/pki/powerpole/rds-ca.pem";

/// Where a stored secret is (an ARN on AWS, a path locally). Not the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretRef(pub String);

/// Where a person reads a stored password from, as the vault that stored it says: what the
/// connect instructions fetch it with. Both hold the JSON object `{"username", "password"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SecretLocation {
    /// An AWS Secrets Manager secret (its ARN), read with `aws secretsmanager get-secret-value`.
    SecretsManager(SecretRef),
    /// A file only the broker's own user can read (0600), on the machine the broker runs on.
    File(PathBuf),
}

/// A bastion's id (an EC2 instance id).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BastionId(pub String);

/// The token a waiting workflow task is resumed with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TaskToken(pub String);

/// A posted message (channel id and timestamp in Slack).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageRef {
    /// The channel.
    pub channel: String,
    /// The message's timestamp id.
    pub ts: String,
}

/// The references a request holds, as far as the broker knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    /// The approval card in the approvers' channel.
    pub approval_card: Option<MessageRef>,
    /// The token the approval gate waits on; cleared once the request leaves `Pending`.
    pub approval_token: Option<TaskToken>,
    /// The bastion launched for the request.
    pub bastion: Option<BastionId>,
    /// Where the request's password is stored.
    pub secret: Option<SecretRef>,
}
