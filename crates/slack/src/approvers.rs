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

impl std::str::FromStr for Approvers {
    type Err = crate::error::Error;

    /// Reads the setting as configured: `channel` (any member of the approvers' channel),
    /// `users:U1,U2` (these people) or `group:S123` (members of the user group).
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        use crate::error::Error::InvalidApprovers as Bad;
        let value = value.trim();
        if value == "channel" {
            return Ok(Self::AnyChannelMember);
        }
        if let Some(list) = value.strip_prefix("users:") {
            let mut users = Vec::new();
            for user in list.split(',').map(str::trim).filter(|u| !u.is_empty()) {
                let user = SlackUserId::parse(user).map_err(|_| {
                    Bad("users: takes Slack user ids such as U0123ABCD, comma-separated")
                })?;
                if !users.contains(&user) {
                    users.push(user);
                }
            }
            if users.is_empty() {
                return Err(Bad("users: needs at least one Slack user id"));
            }
            return Ok(Self::Users(users));
        }
        if let Some(group) = value.strip_prefix("group:") {
            let group = group.trim();
            let valid = group.strip_prefix('S').is_some_and(|rest| {
                (2..=20).contains(&rest.len())
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            });
            if !valid {
                return Err(Bad("group: takes a user group id such as S0123ABCD"));
            }
            return Ok(Self::UserGroup(group.to_owned()));
        }
        Err(Bad("expected channel, users:U1,U2 or group:S123"))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_settings_parse_and_anything_else_is_refused() {
        let u = |s: &str| SlackUserId::parse(s).unwrap();

        assert_eq!(
            "channel".parse::<Approvers>().unwrap(),
            Approvers::AnyChannelMember
        );
        assert_eq!(
            "users: U0AAAAAA1, U0BBBBBB2,U0AAAAAA1"
                .parse::<Approvers>()
                .unwrap(),
            Approvers::Users(vec![u("U0AAAAAA1"), u("U0BBBBBB2")])
        );
        assert_eq!(
            "group:S0DBRE123".parse::<Approvers>().unwrap(),
            Approvers::UserGroup("S0DBRE123".into())
        );
        for bad in [
            "",
            "everyone",
            "users:",
            "users:alice",
            "group:dbre",
            "group:S",
        ] {
            assert!(bad.parse::<Approvers>().is_err(), "{bad:?} accepted");
        }
    }
}
