//! Approval policies: who may approve a request for each level of each cluster, how many
//! distinct approvers it needs, and whether READ on a cluster is approved by policy alone.
//!
//! The default policy is the broker's one setting (`slack.approvers` / `POWERPOLE_APPROVERS`):
//! one approval by any of those approvers. A cluster overrides it per level
//! ([`ApprovalRules::with_level`]); a level whose policy is [`Approvers::Nobody`] cannot be
//! requested. Whether someone belongs to a channel or user group is asked of Slack at each click
//! by the Slack adapter; that the requester never counts is the lifecycle's rule.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{Error, Field, Result};
use crate::grants::Permission;
use crate::ids::SlackUserId;

/// A Slack user group id (`S…`, as `usergroups.users.list` takes it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserGroupId(String);

impl UserGroupId {
    /// Validates a user group id: `S` and 2–20 upper-case letters or digits.
    ///
    /// # Errors
    /// [`Error::Invalid`] with [`Field::Approvers`].
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        let valid = s.strip_prefix('S').is_some_and(|rest| {
            (2..=20).contains(&rest.len())
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        });
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::invalid(
                Field::Approvers,
                "group: takes user group ids such as S0123ABCD, comma-separated",
            ))
        }
    }
}
crate::ids::string_newtype!(UserGroupId);

/// Named approvers: some people, the members of some user groups, or both. Someone is an
/// approver when listed or a member of any of the groups. Never empty, without repeats, in the
/// order configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApproverList {
    users: Vec<SlackUserId>,
    groups: Vec<UserGroupId>,
}

impl ApproverList {
    /// The approvers `users` and the members of `groups` (repeats dropped).
    ///
    /// # Errors
    /// [`Error::Invalid`] with [`Field::Approvers`] when both are empty.
    pub fn new(users: Vec<SlackUserId>, groups: Vec<UserGroupId>) -> Result<Self> {
        if users.is_empty() && groups.is_empty() {
            return Err(Error::invalid(
                Field::Approvers,
                "name at least one Slack user id (users:) or user group id (group:)",
            ));
        }
        Ok(Self {
            users: without_repeats(users),
            groups: without_repeats(groups),
        })
    }

    /// The people listed by id.
    #[must_use]
    pub fn users(&self) -> &[SlackUserId] {
        &self.users
    }

    /// The user groups whose members approve.
    #[must_use]
    pub fn groups(&self) -> &[UserGroupId] {
        &self.groups
    }

    /// Whether `user` is listed by id (group membership is Slack's to say).
    #[must_use]
    pub fn lists(&self, user: &SlackUserId) -> bool {
        self.users.contains(user)
    }
}

fn without_repeats<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut kept: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        if !kept.contains(&item) {
            kept.push(item);
        }
    }
    kept
}

/// Who counts as an approver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approvers {
    /// Every member of the approvers' channel (`conversations.members`).
    AnyChannelMember,
    /// These people and the members of these user groups (`usergroups.users.list`).
    Listed(ApproverList),
    /// Nobody: the level cannot be requested until approvers are configured.
    Nobody,
}

/// What the setting may be, for refusals.
const EXPECTED: &str = "expected channel, none, or users:U1,U2 and/or group:S1,S2 \
                        (separated by a space)";

/// A section of a listed setting.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Users,
    Group,
}

impl std::str::FromStr for Approvers {
    type Err = Error;

    /// Reads the setting as configured: `channel` (any member of the approvers' channel),
    /// `none`, or a list of `users:U1,U2` (these people) and/or `group:S1,S2` (members of any
    /// of these user groups), the two sections separated by a space, e.g.
    /// `users:U1,U2 group:S123`. `channel` and `none` stand alone; each section comes once.
    fn from_str(value: &str) -> Result<Self> {
        let bad = |problem: &str| Error::invalid(Field::Approvers, problem);
        let value = value.trim();
        match value {
            "channel" => return Ok(Self::AnyChannelMember),
            "none" => return Ok(Self::Nobody),
            _ => {}
        }
        let (mut users, mut groups) = (None::<Vec<SlackUserId>>, None::<Vec<UserGroupId>>);
        let mut section = None;
        let tokens = value
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty());
        for token in tokens {
            if matches!(token, "channel" | "none") {
                return Err(bad(&format!(
                    "{token} stands alone: it cannot be combined with users: or group:"
                )));
            }
            let id = match token.split_once(':') {
                Some(("users", id)) => {
                    if users.replace(Vec::new()).is_some() {
                        return Err(bad(
                            "users: is given twice; list every user id after one users:",
                        ));
                    }
                    section = Some(Section::Users);
                    id
                }
                Some(("group", id)) => {
                    if groups.replace(Vec::new()).is_some() {
                        return Err(bad(
                            "group: is given twice; list every group id after one group:",
                        ));
                    }
                    section = Some(Section::Group);
                    id
                }
                Some((other, _)) => {
                    return Err(bad(&format!("{other}: is not a section; {EXPECTED}")));
                }
                None => token,
            };
            if id.is_empty() {
                continue;
            }
            match (section, &mut users, &mut groups) {
                (Some(Section::Users), Some(users), _) => {
                    users.push(SlackUserId::parse(id).map_err(|_| {
                        bad("users: takes Slack user ids such as U0123ABCD, comma-separated")
                    })?)
                }
                (Some(Section::Group), _, Some(groups)) => groups.push(UserGroupId::parse(id)?),
                _ => return Err(bad(EXPECTED)),
            }
        }
        if users.as_ref().is_some_and(Vec::is_empty) {
            return Err(bad("users: needs at least one Slack user id"));
        }
        if groups.as_ref().is_some_and(Vec::is_empty) {
            return Err(bad("group: needs at least one user group id"));
        }
        if users.is_none() && groups.is_none() {
            return Err(bad(EXPECTED));
        }
        ApproverList::new(users.unwrap_or_default(), groups.unwrap_or_default()).map(Self::Listed)
    }
}

impl fmt::Display for Approvers {
    /// The configured form, as [`std::str::FromStr`] reads it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AnyChannelMember => f.write_str("channel"),
            Self::Nobody => f.write_str("none"),
            Self::Listed(list) => {
                let mut sections = Vec::new();
                if !list.users.is_empty() {
                    let ids: Vec<&str> = list.users.iter().map(SlackUserId::as_str).collect();
                    sections.push(format!("users:{}", ids.join(",")));
                }
                if !list.groups.is_empty() {
                    let ids: Vec<&str> = list.groups.iter().map(UserGroupId::as_str).collect();
                    sections.push(format!("group:{}", ids.join(",")));
                }
                f.write_str(&sections.join(" "))
            }
        }
    }
}

/// How many distinct approvers a request needs: 1 to [`RequiredApprovals::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequiredApprovals(u8);

impl RequiredApprovals {
    /// One approval, the default.
    pub const ONE: Self = Self(1);
    /// The most approvals a policy may ask for.
    pub const MAX: u8 = 5;

    /// Validates a count.
    ///
    /// # Errors
    /// [`Error::Invalid`] with [`Field::Approvers`] outside 1 to [`RequiredApprovals::MAX`].
    pub fn new(count: i64) -> Result<Self> {
        u8::try_from(count)
            .ok()
            .filter(|n| (1..=Self::MAX).contains(n))
            .map(Self)
            .ok_or_else(|| {
                Error::invalid(
                    Field::Approvers,
                    format!(
                        "required must be 1 to {}, not {count}",
                        RequiredApprovals::MAX
                    ),
                )
            })
    }

    /// The count.
    #[must_use]
    pub const fn get(self) -> usize {
        self.0 as usize
    }
}

impl Default for RequiredApprovals {
    fn default() -> Self {
        Self::ONE
    }
}

impl fmt::Display for RequiredApprovals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Who may approve one level and how many of them must.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalPolicy {
    approvers: Approvers,
    required: RequiredApprovals,
}

impl ApprovalPolicy {
    /// A policy of `required` approvals by `approvers`.
    ///
    /// # Errors
    /// [`Error::Invalid`] with [`Field::Approvers`] when a list of people without a user group
    /// is shorter than the approvals it must give.
    pub fn new(approvers: Approvers, required: RequiredApprovals) -> Result<Self> {
        if let Approvers::Listed(list) = &approvers
            && list.groups().is_empty()
            && list.users().len() < required.get()
        {
            return Err(Error::invalid(
                Field::Approvers,
                format!(
                    "{required} approvals are required but users: lists only {}",
                    list.users().len()
                ),
            ));
        }
        Ok(Self {
            approvers,
            required,
        })
    }

    /// Reads a configured level entry: `approvers` as [`Approvers`] reads it, `required`
    /// (one when absent).
    ///
    /// # Errors
    /// [`Error::Invalid`] with [`Field::Approvers`], as [`ApprovalPolicy::new`].
    pub fn configured(approvers: &str, required: Option<i64>) -> Result<Self> {
        let required = required.map_or(Ok(RequiredApprovals::ONE), RequiredApprovals::new)?;
        Self::new(approvers.parse()?, required)
    }

    /// One approval by any of `approvers`.
    #[must_use]
    pub const fn one_of(approvers: Approvers) -> Self {
        Self {
            approvers,
            required: RequiredApprovals::ONE,
        }
    }

    /// Who may approve.
    #[must_use]
    pub const fn approvers(&self) -> &Approvers {
        &self.approvers
    }

    /// How many distinct approvers must.
    #[must_use]
    pub const fn required(&self) -> RequiredApprovals {
        self.required
    }
}

/// A cluster's approval rules: per-level overrides of the broker's default policy, and
/// auto-approval of READ (off unless set).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApprovalRules {
    levels: BTreeMap<Permission, ApprovalPolicy>,
    auto_approve_read: bool,
}

impl ApprovalRules {
    /// The rules with `policy` for `level`.
    #[must_use]
    pub fn with_level(mut self, level: Permission, policy: ApprovalPolicy) -> Self {
        self.levels.insert(level, policy);
        self
    }

    /// The rules with READ approved by policy alone (`on`), or not.
    #[must_use]
    pub const fn with_auto_approve_read(mut self, on: bool) -> Self {
        self.auto_approve_read = on;
        self
    }

    /// The policy configured for `level`, when it overrides the default.
    #[must_use]
    pub fn for_level(&self, level: Permission) -> Option<&ApprovalPolicy> {
        self.levels.get(&level)
    }

    /// The approvals a request for `level` needs (one, unless the level overrides it).
    #[must_use]
    pub fn required(&self, level: Permission) -> RequiredApprovals {
        self.for_level(level)
            .map_or(RequiredApprovals::ONE, ApprovalPolicy::required)
    }

    /// Who approves `level`: its own policy's approvers, else `default`.
    #[must_use]
    pub fn approvers<'a>(&'a self, level: Permission, default: &'a Approvers) -> &'a Approvers {
        self.for_level(level)
            .map_or(default, ApprovalPolicy::approvers)
    }

    /// Why these rules do not fit a cluster allowing `levels`: a level configured that the
    /// cluster does not allow, or auto-approved READ on a cluster without READ.
    #[must_use]
    pub fn problem_with(&self, levels: &[Permission]) -> Option<String> {
        if let Some(level) = self.levels.keys().find(|l| !levels.contains(l)) {
            return Some(format!(
                "approval.{level} configures a level the cluster does not allow (levels)"
            ));
        }
        (self.auto_approve_read && !levels.contains(&Permission::Read))
            .then(|| "auto_approve_read is set but the cluster does not allow READ".to_owned())
    }

    /// Whether a request for `level` is approved by policy, without a person.
    #[must_use]
    pub fn auto_approves(&self, level: Permission) -> bool {
        self.auto_approve_read && level == Permission::Read
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> SlackUserId {
        SlackUserId::parse(s).unwrap()
    }

    fn g(s: &str) -> UserGroupId {
        UserGroupId::parse(s).unwrap()
    }

    fn listed(users: &[&str], groups: &[&str]) -> Approvers {
        Approvers::Listed(
            ApproverList::new(
                users.iter().map(|id| u(id)).collect(),
                groups.iter().map(|id| g(id)).collect(),
            )
            .unwrap(),
        )
    }

    #[test]
    fn the_settings_parse_print_back_and_anything_else_is_refused() {
        assert_eq!(
            "channel".parse::<Approvers>().unwrap(),
            Approvers::AnyChannelMember
        );
        assert_eq!("none".parse::<Approvers>().unwrap(), Approvers::Nobody);
        let users = "users: U0AAAAAA1, U0BBBBBB2,U0AAAAAA1"
            .parse::<Approvers>()
            .unwrap();
        assert_eq!(users, listed(&["U0AAAAAA1", "U0BBBBBB2"], &[]));
        assert_eq!(users.to_string(), "users:U0AAAAAA1,U0BBBBBB2");
        let group = "group:S0DBRE123".parse::<Approvers>().unwrap();
        assert_eq!(group, listed(&[], &["S0DBRE123"]));
        assert_eq!(group.to_string(), "group:S0DBRE123");
        for bad in [
            "",
            "everyone",
            "users:",
            "users:alice",
            "group:dbre",
            "group:S",
        ] {
            let err = bad.parse::<Approvers>().unwrap_err();
            assert_eq!(err.field(), Some(Field::Approvers), "{bad:?}");
        }
    }

    #[test]
    fn people_and_groups_combine_and_every_form_prints_back_as_written() {
        for setting in [
            "channel",
            "none",
            "users:U0AAAAAA1",
            "users:U0AAAAAA1,U0BBBBBB2",
            "group:S0DBRE123",
            "group:S0DBRE123,S0SRE4567",
            "users:U0AAAAAA1,U0BBBBBB2 group:S0DBRE123",
            "users:U0AAAAAA1 group:S0DBRE123,S0SRE4567",
        ] {
            let parsed = setting.parse::<Approvers>().unwrap();
            assert_eq!(parsed.to_string(), setting);
            assert_eq!(parsed.to_string().parse::<Approvers>().unwrap(), parsed);
        }

        let both = "  group:S0DBRE123 , S0DBRE123  users: U0AAAAAA1, U0BBBBBB2 "
            .parse::<Approvers>()
            .unwrap();
        assert_eq!(
            both,
            listed(&["U0AAAAAA1", "U0BBBBBB2"], &["S0DBRE123"]),
            "either order, spaces after commas, repeats dropped"
        );
        assert_eq!(
            both.to_string(),
            "users:U0AAAAAA1,U0BBBBBB2 group:S0DBRE123"
        );
        let Approvers::Listed(list) = &both else {
            panic!("{both:?}")
        };
        assert!(list.lists(&u("U0BBBBBB2")));
        assert!(!list.lists(&u("U0CCCCCC3")));
        assert_eq!(list.groups(), [g("S0DBRE123")]);
    }

    #[test]
    fn nonsense_combinations_are_refused_saying_what_is_expected() {
        let problem = |setting: &str| {
            let err = setting.parse::<Approvers>().unwrap_err();
            assert_eq!(err.field(), Some(Field::Approvers), "{setting:?}");
            err.problem()
        };

        assert_eq!(
            problem("channel users:U0AAAAAA1"),
            "channel stands alone: it cannot be combined with users: or group:"
        );
        assert_eq!(
            problem("group:S0DBRE123 none"),
            "none stands alone: it cannot be combined with users: or group:"
        );
        assert_eq!(
            problem("users:U0AAAAAA1 group:"),
            "group: needs at least one user group id"
        );
        assert_eq!(
            problem("users: group:S0DBRE123"),
            "users: needs at least one Slack user id"
        );
        assert_eq!(
            problem("users:U0AAAAAA1 users:U0BBBBBB2"),
            "users: is given twice; list every user id after one users:"
        );
        assert_eq!(
            problem("group:S0DBRE123 group:S0SRE4567"),
            "group: is given twice; list every group id after one group:"
        );
        assert_eq!(
            problem("users:U0AAAAAA1 groups:S0DBRE123"),
            "groups: is not a section; expected channel, none, or users:U1,U2 and/or group:S1,S2 \
             (separated by a space)"
        );
        assert_eq!(
            problem("U0AAAAAA1 group:S0DBRE123"),
            "expected channel, none, or users:U1,U2 and/or group:S1,S2 (separated by a space)"
        );
        assert_eq!(
            problem("users:U0AAAAAA1 group:S0DBRE123,dbre"),
            "group: takes user group ids such as S0123ABCD, comma-separated"
        );
        assert_eq!(
            problem("group:S0DBRE123 users:U0AAAAAA1,alice"),
            "users: takes Slack user ids such as U0123ABCD, comma-separated"
        );
        assert!(ApproverList::new(Vec::new(), Vec::new()).is_err());
    }

    #[test]
    fn a_policy_needs_a_sane_count_and_enough_listed_people() {
        assert!(RequiredApprovals::new(0).is_err());
        assert!(RequiredApprovals::new(6).is_err());
        let two = RequiredApprovals::new(2).unwrap();
        let one_person = "users:U0AAAAAA1".parse::<Approvers>().unwrap();
        let err = ApprovalPolicy::new(one_person, two).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid approvers: 2 approvals are required but users: lists only 1"
        );
        assert!(ApprovalPolicy::new(Approvers::AnyChannelMember, two).is_ok());
        let one_person_and_a_group = "users:U0AAAAAA1 group:S0DBRE123".parse().unwrap();
        assert!(
            ApprovalPolicy::new(one_person_and_a_group, two).is_ok(),
            "the group's members may give the second approval"
        );
    }

    #[test]
    fn levels_without_an_override_take_the_default_and_only_read_is_auto_approved() {
        let ddl = ApprovalPolicy::new(
            "group:S0DBRE123".parse().unwrap(),
            RequiredApprovals::new(2).unwrap(),
        )
        .unwrap();
        let rules = ApprovalRules::default()
            .with_level(Permission::Ddl, ddl)
            .with_auto_approve_read(true);
        let default = Approvers::AnyChannelMember;
        assert_eq!(rules.required(Permission::Ddl).get(), 2);
        assert_eq!(rules.required(Permission::Dml).get(), 1);
        assert_eq!(rules.approvers(Permission::Dml, &default), &default);
        assert_eq!(
            rules.approvers(Permission::Ddl, &default).to_string(),
            "group:S0DBRE123"
        );
        assert!(rules.auto_approves(Permission::Read));
        assert!(!rules.auto_approves(Permission::Dml));
        assert!(!ApprovalRules::default().auto_approves(Permission::Read));
    }
}
