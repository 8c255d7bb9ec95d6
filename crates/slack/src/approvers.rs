//! Who may click Approve or Deny: the click must come from the approvers' channel, and the
//! person must be an approver — any member of that channel, or one of a list of people or a
//! member of any of a list of Slack user groups. Membership is asked of Slack at each click
//! (the listed people first, then one group after the other until the person is found), so
//! removing someone from the channel or a group takes effect at once.
//!
//! A cluster may name other approvers per level ([`powerpole_core::ApprovalRules`]); the
//! policy here is the default for every level that does not. That nobody approves their own
//! request (also not as a member of a group) is the core lifecycle's rule, not checked here.

pub use powerpole_core::Approvers;
use powerpole_core::{AccessRequest, ClusterPolicy, SlackUserId};

use crate::error::Refusal;
use crate::web::SlackWebApi;

/// Where and by whom approval cards may be decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApproverPolicy {
    /// The approvers' channel id (`C…` or `G…`), where the cards are posted.
    pub channel: String,
    /// Who may decide, unless the request's cluster names others for its level.
    pub who: Approvers,
}

impl ApproverPolicy {
    /// Who may decide `request`: its level's approvers on its cluster (one of `clusters`), or
    /// the default [`ApproverPolicy::who`].
    #[must_use]
    pub fn approvers_of<'a>(
        &'a self,
        clusters: &'a [ClusterPolicy],
        request: &AccessRequest,
    ) -> &'a Approvers {
        let level = request.spec().permission;
        clusters
            .iter()
            .find(|c| c.cluster == request.spec().cluster)
            .map_or(&self.who, |c| c.approval.approvers(level, &self.who))
    }

    /// Checks a click on an approval card by `user` in `channel_of_click` (the channel of the
    /// message clicked; `None` for a click outside a channel message) against the default
    /// approvers.
    ///
    /// # Errors
    /// As [`ApproverPolicy::check_as`].
    pub async fn check(
        &self,
        web: &SlackWebApi,
        channel_of_click: Option<&str>,
        user: &SlackUserId,
    ) -> Result<(), Refusal> {
        self.check_as(web, channel_of_click, user, &self.who).await
    }

    /// Checks a click by `user` in `channel_of_click` against `who` (see
    /// [`ApproverPolicy::approvers_of`]).
    ///
    /// # Errors
    /// A [`Refusal`] whose message can be shown to `user` as it is: the wrong channel, not an
    /// approver, or [`Refusal::Unchecked`] when Slack could not be asked (nothing may be
    /// decided then).
    pub async fn check_as(
        &self,
        web: &SlackWebApi,
        channel_of_click: Option<&str>,
        user: &SlackUserId,
        who: &Approvers,
    ) -> Result<(), Refusal> {
        if channel_of_click != Some(self.channel.as_str()) {
            return Err(Refusal::WrongChannel {
                channel: self.channel.clone(),
            });
        }
        match who {
            Approvers::Nobody => Err(Refusal::NobodyApproves),
            Approvers::AnyChannelMember => {
                if web
                    .channel_has_member(&self.channel, user)
                    .await
                    .map_err(Refusal::Unchecked)?
                {
                    Ok(())
                } else {
                    Err(Refusal::NotChannelMember {
                        channel: self.channel.clone(),
                    })
                }
            }
            Approvers::Listed(list) => {
                if list.lists(user) {
                    return Ok(());
                }
                let mut unread = None;
                for group in list.groups() {
                    match web.usergroup_members(group.as_str()).await {
                        Ok(members) if members.contains(user) => return Ok(()),
                        Ok(_) => {}
                        Err(error) => {
                            unread.get_or_insert(error);
                        }
                    }
                }
                match unread {
                    Some(error) => Err(Refusal::Unchecked(error)),
                    None => Err(Refusal::NotApprover {
                        who: crate::views::approver_names(list),
                    }),
                }
            }
        }
    }
}
