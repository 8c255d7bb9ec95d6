//! Submitting a request: validate the form, name the DB user by the identity rules (see
//! [`crate::identity`]), record the request and start its workflow.

use time::{Duration, OffsetDateTime};

use crate::account::DbUsername;
use crate::approvals::{ApprovalRules, Approvers, RequiredApprovals};
use crate::broker::{Broker, IntakePorts};
use crate::error::{Error, Field, Result};
use crate::ids::{RequestId, SlackUserId};
use crate::lifecycle::{AccessRequest, AccessSpec, RequestState};
use crate::policy::RequestForm;
use crate::ports::{Directory, RequestStore, Start, Workflow};

/// How long after a submission the same form from the same person counts as a repeated delivery
/// of it rather than a new request.
pub const DUPLICATE_WINDOW: Duration = Duration::minutes(5);

/// What became of a submitted form.
#[derive(Debug)]
pub enum Submission {
    /// The form has mistakes (one per field at most); nothing was recorded.
    Invalid(Vec<Error>),
    /// A new request was recorded and its workflow started.
    Recorded(AccessRequest),
    /// The same form was recorded moments ago (a retried delivery or a double submit); nothing
    /// new was recorded and the existing request's workflow is running.
    Duplicate(AccessRequest),
}

impl<P: IntakePorts> Broker<P> {
    /// Records `form` as a new request of `requester`, checked against the clusters served,
    /// and starts its workflow.
    ///
    /// A request whose DB user name another person's live request on the cluster already
    /// holds (namesakes of two e-mail domains) is refused with an error on the e-mail field,
    /// saying why and whom to ask: an account is never shared.
    ///
    /// A person has at most one open request per cluster: a second one is refused with an
    /// error on the cluster field, unless it is the same form again within
    /// [`DUPLICATE_WINDOW`], which is answered with the request already recorded (its workflow
    /// is started again, which is a no-op when it runs, and recovers a submission whose first
    /// start failed).
    ///
    /// # Errors
    /// The directory's, the store's and the workflow's errors; [`Error::Invalid`] with
    /// [`Field::Email`] when the requester's e-mail cannot name a DB user.
    pub async fn submit(&self, requester: &SlackUserId, form: &RequestForm) -> Result<Submission> {
        let now = self.now();
        let spec = match form.validate(self.clusters(), now) {
            Ok(spec) => spec,
            Err(errors) => return Ok(Submission::Invalid(errors)),
        };
        let rules = self.cluster_rules(&spec);
        if let Some(refusal) = rules.and_then(|r| unreachable_approval(r, &spec, requester)) {
            return Ok(Submission::Invalid(vec![refusal]));
        }
        let required =
            rules.map_or_else(RequiredApprovals::default, |r| r.required(spec.permission));
        let open = self
            .store()
            .by_requester(requester)
            .await?
            .into_iter()
            .find(|r| !r.state().is_terminal() && r.spec().cluster == spec.cluster);
        if let Some(existing) = open {
            if is_repeat(&existing, &spec, now) {
                self.workflow().start(&Start::of(&existing, now)).await?;
                return Ok(Submission::Duplicate(existing));
            }
            return Ok(Submission::Invalid(vec![Error::invalid(
                Field::Cluster,
                format!(
                    "you already have request {} ({}) on {}; wait for it to end or end it first",
                    existing.id(),
                    existing.state(),
                    spec.cluster
                ),
            )]));
        }
        let email = self.directory().email_of(requester).await?;
        let username = self.identity().db_username(requester, &email)?;
        if let Some(holder) = self.namesake(requester, &username, &spec).await? {
            return Ok(Submission::Invalid(vec![Error::invalid(
                Field::Email,
                format!(
                    "your DB user name `{username}` (from {email}) is held on {} by another \
                     person's request {} ({}): powerpole never shares an account. Ask a powerpole \
                     admin to give you a name of your own (`[identity] db_users`, or \
                     `primary_domains` when your namesake's e-mail domain is another one)",
                    spec.cluster,
                    holder.id(),
                    holder.state()
                ),
            )]));
        }
        let id = RequestId::generate(now, &mut rand::rng());
        let request = AccessRequest::submit(id, requester.clone(), username, spec, now)
            .with_required_approvals(required)
            .with_requester_email(Some(email));
        self.store().insert(&request).await?;
        self.workflow().start(&Start::of(&request, now)).await?;
        Ok(Submission::Recorded(request))
    }
}

/// The states in which a request may hold its DB user on its cluster (a failed or cancelled
/// one while its cleanup is owed).
const HOLDING: [RequestState; 7] = [
    RequestState::Pending,
    RequestState::Approved,
    RequestState::Provisioning,
    RequestState::Active,
    RequestState::Ending,
    RequestState::Failed,
    RequestState::Cancelled,
];

impl<P: IntakePorts> Broker<P> {
    /// Another person's request that holds (or will hold) the DB user `username` on the
    /// cluster of `spec`: two people whose e-mail addresses name the same user (`alice@a.com`
    /// and `alice@b.com` without `primary_domains`) must not share one account.
    async fn namesake(
        &self,
        requester: &SlackUserId,
        username: &DbUsername,
        spec: &AccessSpec,
    ) -> Result<Option<AccessRequest>> {
        let horizon = self.now() + Duration::days(400);
        for state in HOLDING {
            let holder = self
                .store()
                .due(state, horizon)
                .await?
                .into_iter()
                .find(|r| {
                    r.requester() != requester
                        && r.spec().cluster == spec.cluster
                        && r.db_username() == username
                        && (!state.is_terminal() || r.cleanup_owed())
                });
            if holder.is_some() {
                return Ok(holder);
            }
        }
        Ok(None)
    }

    fn cluster_rules(&self, spec: &AccessSpec) -> Option<&ApprovalRules> {
        self.clusters()
            .iter()
            .find(|c| c.cluster == spec.cluster)
            .map(|c| &c.approval)
    }
}

/// The refusal of a request whose level lists its approvers by name only (no user group, whose
/// members Slack alone knows) and, without the requester (who never counts), too few of them
/// to ever approve it: it names whom to ask.
fn unreachable_approval(
    rules: &ApprovalRules,
    spec: &AccessSpec,
    requester: &SlackUserId,
) -> Option<Error> {
    let policy = rules.for_level(spec.permission)?;
    let Approvers::Listed(list) = policy.approvers() else {
        return None;
    };
    if !list.groups().is_empty() {
        return None;
    }
    let users = list.users();
    let others: Vec<&str> = users
        .iter()
        .filter(|u| *u != requester)
        .map(SlackUserId::as_str)
        .collect();
    (others.len() < policy.required().get()).then(|| {
        Error::invalid(
            Field::Permission,
            format!(
                "{} on {} needs {} approvals from {}, and you cannot approve your own request: \
                 ask a powerpole admin to add approvers for it, or choose another level",
                spec.permission,
                spec.cluster,
                policy.required(),
                users
                    .iter()
                    .map(SlackUserId::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })
}

/// Whether `existing` was recorded from the same form moments ago. A start of "now" moves with
/// each delivery, so starts within the duplicate window count as the same.
fn is_repeat(existing: &AccessRequest, spec: &AccessSpec, now: OffsetDateTime) -> bool {
    let old = existing.spec();
    existing.state() == RequestState::Pending
        && now - existing.id().created_at() <= DUPLICATE_WINDOW
        && old.permission == spec.permission
        && old.reason == spec.reason
        && old.window.duration() == spec.window.duration()
        && (old.window.start() - spec.window.start()).abs() <= DUPLICATE_WINDOW
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;
    use crate::usecases::fakes::*;
    use crate::usecases::fakes::{RecordingWorkflow, StaticDirectory, cluster, form, now, user};
    use crate::{DbUsername, Email};

    #[tokio::test]
    async fn a_valid_form_is_recorded_pending_and_its_workflow_started() {
        let (store, workflow) = (MemoryStore::new(), RecordingWorkflow::default());
        let directory = StaticDirectory::with(&user("U1"), "keisuke.owato@example.com");

        let outcome = intake(
            &store,
            &RecordingChat::default(),
            &directory,
            &workflow,
            &[cluster()],
            now(),
        )
        .submit(&user("U1"), &form())
        .await
        .unwrap();

        let Submission::Recorded(request) = outcome else {
            panic!("expected a recorded request, got {outcome:?}")
        };
        assert_eq!(request.state(), RequestState::Pending);
        assert_eq!(request.db_username().as_str(), "keisuke.owato");
        assert_eq!(
            store.get(request.id()).await.unwrap(),
            Some(request.clone())
        );
        assert_eq!(workflow.started(), vec![request.id()]);
    }

    #[tokio::test]
    async fn a_request_is_recorded_with_the_approvals_its_level_needs_or_refused_if_unreachable() {
        use crate::{ApprovalPolicy, Approvers, Permission};
        let (store, workflow) = (MemoryStore::new(), RecordingWorkflow::default());
        let directory = StaticDirectory::with(&user("U1"), "a@example.com");
        let listed = |ids: &str| {
            cluster().with_approval(
                ApprovalRules::default().with_level(
                    Permission::Read,
                    ApprovalPolicy::new(
                        ids.parse::<Approvers>().unwrap(),
                        RequiredApprovals::new(2).unwrap(),
                    )
                    .unwrap(),
                ),
            )
        };
        let submit = |clusters: Vec<crate::ClusterPolicy>| {
            let (store, workflow, directory) = (&store, &workflow, &directory);
            async move {
                intake(
                    store,
                    &RecordingChat::default(),
                    directory,
                    workflow,
                    &clusters,
                    now(),
                )
                .submit(&user("U1"), &form())
                .await
                .unwrap()
            }
        };

        let outcome = submit(vec![listed("users:U00000001,U00000002")]).await;
        let Submission::Invalid(errors) = outcome else {
            panic!("the requester is one of the two listed: {outcome:?}")
        };
        assert_eq!(errors[0].field(), Some(Field::Permission));
        assert!(
            errors[0].to_string().contains(
                "READ on orders-prod needs 2 approvals from U00000001, U00000002, and you cannot \
                 approve your own request: ask a powerpole admin"
            ),
            "{}",
            errors[0]
        );
        assert!(workflow.started().is_empty());

        let Submission::Recorded(request) = submit(vec![listed("users:U00000002,U00000003")]).await
        else {
            panic!("two others can approve it")
        };
        assert_eq!(request.required_approvals(), 2);
    }

    #[tokio::test]
    async fn a_level_naming_a_group_besides_too_few_people_is_not_refused_at_submission() {
        use crate::{ApprovalPolicy, Permission};
        let (store, workflow) = (MemoryStore::new(), RecordingWorkflow::default());
        let directory = StaticDirectory::with(&user("U1"), "a@example.com");
        let rules = ApprovalRules::default().with_level(
            Permission::Read,
            ApprovalPolicy::configured("users:U00000001 group:S0DBRE123", Some(2)).unwrap(),
        );

        let outcome = intake(
            &store,
            &RecordingChat::default(),
            &directory,
            &workflow,
            &[cluster().with_approval(rules)],
            now(),
        )
        .submit(&user("U1"), &form())
        .await
        .unwrap();

        let Submission::Recorded(request) = outcome else {
            panic!("members of the group may give both approvals: {outcome:?}")
        };
        assert_eq!(request.required_approvals(), 2);
        assert_eq!(workflow.started(), vec![request.id()]);
    }

    #[tokio::test]
    async fn namesakes_in_two_domains_get_two_names_and_a_mapped_person_their_own() {
        let (store, workflow) = (MemoryStore::new(), RecordingWorkflow::default());
        let mut directory = StaticDirectory::with(&user("U1"), "alice@a.com");
        directory.add(&user("U2"), "alice@b.com");
        directory.add(&user("U3"), "大輔@a.com");
        let identity = crate::IdentityRules::new(
            ["a.com"],
            [(user("U3"), DbUsername::parse("daisuke").unwrap())],
        )
        .unwrap();
        let name_of = |who: &'static str| {
            let (store, workflow, directory, identity) = (&store, &workflow, &directory, &identity);
            async move {
                let outcome = intake(
                    store,
                    &RecordingChat::default(),
                    directory,
                    workflow,
                    &[cluster()],
                    now(),
                )
                .with_identity(identity.clone())
                .submit(&user(who), &form())
                .await
                .unwrap();
                let Submission::Recorded(request) = outcome else {
                    panic!("not recorded: {outcome:?}")
                };
                request.db_username().as_str().to_owned()
            }
        };

        let first = name_of("U1").await;
        let second = name_of("U2").await;
        let mapped = name_of("U3").await;

        assert_eq!(first, "alice");
        assert!(second.starts_with("alice_b_"), "{second}");
        assert_eq!(mapped, "daisuke");
    }

    #[tokio::test]
    async fn a_namesake_of_another_domain_is_refused_while_the_first_holds_the_name_then_served() {
        let (store, workflow) = (MemoryStore::new(), RecordingWorkflow::default());
        let mut directory = StaticDirectory::with(&user("U1"), "alice@a.com");
        directory.add(&user("U2"), "alice@b.com");
        let submit = |who: &'static str| {
            let (store, workflow, directory) = (&store, &workflow, &directory);
            async move {
                intake(
                    store,
                    &RecordingChat::default(),
                    directory,
                    workflow,
                    &[cluster()],
                    now(),
                )
                .submit(&user(who), &form())
                .await
                .unwrap()
            }
        };
        let Submission::Recorded(first) = submit("U1").await else {
            panic!("the first alice is served")
        };

        let refused = submit("U2").await;

        let Submission::Invalid(errors) = refused else {
            panic!("the second alice must not get the first one's account: {refused:?}")
        };
        let message = errors[0].to_string();
        assert!(
            message.contains("`alice`")
                && message.contains(&first.id().to_string())
                && message.contains("db_users"),
            "says why and whom to ask: {message}"
        );
        assert_eq!(workflow.started(), vec![first.id()], "nothing started");

        let mut ended = store.get(first.id()).await.unwrap().unwrap();
        let expected = ended.version();
        ended
            .apply(
                crate::Transition::Cancel,
                crate::Actor::User(user("U1")),
                now(),
                "",
            )
            .unwrap();
        store.update(&ended, expected).await.unwrap();
        let Submission::Recorded(second) = submit("U2").await else {
            panic!("once the name is free, the second alice is served")
        };
        assert_eq!(second.db_username().as_str(), "alice");
    }

    #[tokio::test]
    async fn an_invalid_form_records_nothing_and_names_every_bad_field() {
        let (store, workflow) = (MemoryStore::new(), RecordingWorkflow::default());
        let directory = StaticDirectory::with(&user("U1"), "a@example.com");
        let bad = RequestForm {
            permission: "ADMIN".into(),
            reason: "  ".into(),
            ..form()
        };

        let outcome = intake(
            &store,
            &RecordingChat::default(),
            &directory,
            &workflow,
            &[cluster()],
            now(),
        )
        .submit(&user("U1"), &bad)
        .await
        .unwrap();

        let Submission::Invalid(errors) = outcome else {
            panic!("expected errors, got {outcome:?}")
        };
        let fields: Vec<_> = errors.iter().filter_map(Error::field).collect();
        assert_eq!(fields, vec![Field::Permission, Field::Reason]);
        assert!(store.by_requester(&user("U1")).await.unwrap().is_empty());
        assert!(workflow.started().is_empty());
        assert_eq!(directory.lookups(), 0, "no directory call for a bad form");
    }

    #[tokio::test]
    async fn the_same_form_again_moments_later_is_the_same_request() {
        let (store, workflow) = (MemoryStore::new(), RecordingWorkflow::default());
        let directory = StaticDirectory::with(&user("U1"), "a@example.com");
        let (clusters, requester, form) = ([cluster()], user("U1"), form());
        let chat = RecordingChat::default();
        let (store, chat, directory, workflow) = (&store, &chat, &directory, &workflow);
        let (clusters, requester, form) = (&clusters, &requester, &form);
        let run = |at| async move {
            intake(store, chat, directory, workflow, clusters, at)
                .submit(requester, form)
                .await
        };

        let Submission::Recorded(first) = run(now()).await.unwrap() else {
            panic!("first submission not recorded")
        };
        assert_eq!(
            first.requester_email().map(Email::as_str),
            Some("a@example.com"),
            "the request keeps the address its bastion is marked with"
        );
        let again = run(now() + Duration::seconds(40)).await.unwrap();

        assert!(
            matches!(&again, Submission::Duplicate(r) if *r == first),
            "{again:?}"
        );
        assert_eq!(store.by_requester(&user("U1")).await.unwrap().len(), 1);
        assert_eq!(workflow.started(), vec![first.id(), first.id()]);
    }

    #[tokio::test]
    async fn a_different_second_request_on_the_same_cluster_is_refused_on_the_cluster_field() {
        let (store, workflow) = (MemoryStore::new(), RecordingWorkflow::default());
        let directory = StaticDirectory::with(&user("U1"), "a@example.com");
        let other = RequestForm {
            permission: "DML".into(),
            ..form()
        };
        intake(
            &store,
            &RecordingChat::default(),
            &directory,
            &workflow,
            &[cluster()],
            now(),
        )
        .submit(&user("U1"), &form())
        .await
        .unwrap();

        let outcome = intake(
            &store,
            &RecordingChat::default(),
            &directory,
            &workflow,
            &[cluster()],
            now() + Duration::minutes(1),
        )
        .submit(&user("U1"), &other)
        .await
        .unwrap();

        let Submission::Invalid(errors) = outcome else {
            panic!("expected a refusal, got {outcome:?}")
        };
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field(), Some(Field::Cluster));
        assert!(errors[0].to_string().contains("already have request"));
        assert_eq!(workflow.started().len(), 1);
    }

    #[tokio::test]
    async fn the_same_form_after_the_duplicate_window_is_refused_not_merged() {
        let (store, workflow) = (MemoryStore::new(), RecordingWorkflow::default());
        let directory = StaticDirectory::with(&user("U1"), "a@example.com");
        intake(
            &store,
            &RecordingChat::default(),
            &directory,
            &workflow,
            &[cluster()],
            now(),
        )
        .submit(&user("U1"), &form())
        .await
        .unwrap();
        let later = RequestForm {
            start: Some(now() + Duration::hours(1)),
            ..form()
        };

        let outcome = intake(
            &store,
            &RecordingChat::default(),
            &directory,
            &workflow,
            &[cluster()],
            now() + Duration::minutes(10),
        )
        .submit(&user("U1"), &later)
        .await
        .unwrap();

        assert!(matches!(outcome, Submission::Invalid(_)), "{outcome:?}");
    }

    #[tokio::test]
    async fn an_email_that_cannot_name_a_db_user_is_an_error_and_records_nothing() {
        let (store, workflow) = (MemoryStore::new(), RecordingWorkflow::default());
        let directory = StaticDirectory::with(&user("U1"), "大輔@example.com");

        let err = intake(
            &store,
            &RecordingChat::default(),
            &directory,
            &workflow,
            &[cluster()],
            now(),
        )
        .submit(&user("U1"), &form())
        .await
        .unwrap_err();

        assert_eq!(err.field(), Some(Field::Email));
        assert!(store.by_requester(&user("U1")).await.unwrap().is_empty());
    }
}
