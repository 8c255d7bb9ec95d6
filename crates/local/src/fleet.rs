//! The local [`BastionFleet`]: there is no bastion — people reach the database from the machine
//! the broker runs on, so the connect instructions point at the database directly.

use powerpole_core::ports::{Bastion, BastionFleet, BastionId, BastionStatus};
use powerpole_core::{Email, RequestId};
use time::OffsetDateTime;

/// The machine the broker runs on, standing in for a bastion.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThisMachine;

/// The id the local "bastion" has.
pub const LOCAL_BASTION: &str = "localhost";

impl BastionFleet for ThisMachine {
    async fn launch(
        &self,
        id: RequestId,
        expires_at: OffsetDateTime,
        _requester: Option<&Email>,
    ) -> powerpole_core::Result<Bastion> {
        Ok(Bastion {
            id: BastionId(LOCAL_BASTION.to_owned()),
            request: Some(id),
            expires_at: Some(expires_at),
            launched_at: OffsetDateTime::now_utc(),
        })
    }

    async fn status(&self, _bastion: &BastionId) -> powerpole_core::Result<BastionStatus> {
        Ok(BastionStatus::Ready)
    }

    async fn terminate(&self, _bastion: &BastionId) -> powerpole_core::Result<()> {
        Ok(())
    }

    async fn list(&self) -> powerpole_core::Result<Vec<Bastion>> {
        Ok(Vec::new())
    }

    fn through_ssm(&self) -> bool {
        false
    }
}
