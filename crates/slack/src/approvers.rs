//! Who may click Approve or Deny: the click must come from the approvers' channel, and the
//! person must be an approver — any member of that channel, one of a list of people, or a
//! member of a Slack user group. Membership is asked of Slack at each click, so removing
//! someone from the channel or group takes effect at once.
//!
//! That nobody approves their own request is the core lifecycle's rule, not checked here.

use powerpole_core::SlackUserId;

use crate::error::Refusal;
use crate::web::SlackWebApi;

/// Who counts as an approver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approvers {
    /// Every member of the approvers' channel (`conversations.members`).
    AnyChannelMember,
    /// These people only.
    Users(Vec<SlackUserId>),
    /// Members of this user group (its id, `S…`; `usergroups.users.list`).
    UserGroup(String),
}

/// Where and by whom approval cards may be decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApproverPolicy {
    /// The approvers' channel id (`C…` or `G…`), where the cards are posted.
    pub channel: String,
    /// Who may decide.
    pub who: Approvers,
}

impl ApproverPolicy {
    /// Checks a click on an approval card by `user` in `channel_of_click` (the channel of the
    /// message clicked; `None` for a click outside a channel message).
    ///
    /// # Errors
    /// A [`Refusal`] whose message can be shown to `user` as it is: the wrong channel, not an
    /// approver, or [`Refusal::Unchecked`] when Slack could not be asked (nothing may be
    /// decided then).
    pub async fn check(
        &self,
        web: &SlackWebApi,
        channel_of_click: Option<&str>,
        user: &SlackUserId,
    ) -> Result<(), Refusal> {
        if channel_of_click != Some(self.channel.as_str()) {
            return Err(Refusal::WrongChannel {
                channel: self.channel.clone(),
            });
        }
        match &self.who {
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
            Approvers::Users(users) => {
                if users.contains(user) {
                    Ok(())
                } else {
                    Err(Refusal::NotListed)
                }
            }
            Approvers::UserGroup(group) => {
                if web
                    .usergroup_members(group)
                    .await
                    .map_err(Refusal::Unchecked)?
                    .contains(user)
                {
                    Ok(())
                } else {
                    Err(Refusal::NotInGroup)
                }
            }
        }
    }
}
