//! powerpole's domain core: validated values, the grant policy, the request lifecycle, the ports
//! adapters implement, and time as a port. No IO and no SDK or wire types: everything here
//! compiles in seconds and is testable without AWS, Slack or a database.

pub mod account;
pub mod approvals;
pub mod arn;
pub mod audit;
pub mod blast;
pub mod broker;
pub mod clock;
pub mod encoding;
pub mod error;
pub mod extension;
pub mod grants;
pub mod identity;
pub mod ids;
pub mod lifecycle;
pub mod memory;
pub mod policy;
pub mod ports;
pub mod receipt;
pub mod report;
pub mod resources;
pub mod slo;
pub mod sweep;
pub mod timefmt;
pub mod tripwire;
pub mod usecases;
pub mod window;

pub use account::{DbPassword, DbUsername, Email};
pub use approvals::{
    ApprovalPolicy, ApprovalRules, ApproverList, Approvers, RequiredApprovals, UserGroupId,
};
pub use arn::{Arn, StateMachineArn};
pub use audit::{AuditLineError, AuditOperation, AuditRecord};
pub use blast::{BlastRadius, SensitiveTables, Survey, TableStats};
pub use broker::{
    AccessPorts, AccountPorts, Broker, BrokerPorts, EvidencePorts, IntakePorts, Ports, Unwired,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, Field, Result};
pub use extension::{Extension, ExtensionLength, ExtensionOutcome};
pub use grants::{GrantPlan, Permission, Privilege, SchemaName};
pub use identity::IdentityRules;
pub use ids::{ClusterId, Region, RequestId, SlackUserId};
pub use lifecycle::{
    AccessRequest, AccessSpec, Actor, Component, Event, EventKind, Reason, RequestState, Transition,
};
pub use memory::MemoryStore;
pub use policy::{ClusterPolicy, RequestForm};
pub use receipt::{Gathered, Receipt, StatementKind};
pub use report::{Period, Report, ReportScope};
pub use resources::{
    BASTION_DB_CA, BastionId, MessageRef, Resources, SecretLocation, SecretRef, TaskToken,
};
pub use window::{AccessWindow, WindowPolicy};
