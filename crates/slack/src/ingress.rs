//! The two Slack endpoints as functions from a raw HTTP request to a reply: slash commands
//! (`POST /slack/commands`) and interactions (`POST /slack/interactions`). Whatever serves HTTP
//! (the `request` and `approve` lambdas, `powerpole serve`) hands over the headers and the raw
//! body and writes back the [`Reply`].
//!
//! Each request is verified before anything in it is read; a rejected one is answered with
//! 401/413 and nothing else happens. Then the payload is parsed, one core use case is called, and
//! its result becomes Slack's answer: a modal opened, inline modal errors, an ephemeral message.

use powerpole_core::ports::{Decision, RequestStore, Workflow};
use powerpole_core::slo::Observation;
use powerpole_core::usecases::{
    Cancelled, Decided, EndNow, Extending, ExtensionDecided, Submission,
};
use powerpole_core::{
    AccessRequest, Broker, Clock, ClusterPolicy, IdentityRules, Ports, RequestId, RequestState,
    SlackUserId, Unwired,
};
use serde_json::Value;

use crate::approvers::{ApproverPolicy, Approvers};
use crate::chat::{SlackChat, SlackDirectory};
use crate::error::Refusal;
use crate::payload::{BlockAction, Interaction, SlashCommand, ViewSubmission};
use crate::verify::{HeaderLookup, SignatureVerifier, retry_num};
use crate::views;
use crate::web::SlackWebApi;

/// How many requests `/powerpole list` shows.
pub const LIST_LIMIT: usize = 10;

/// What to answer Slack with.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// A JSON body, or `None` for an empty 200 (Slack's plain acknowledgement).
    pub body: Option<Value>,
}

impl Reply {
    /// An empty 200.
    #[must_use]
    pub const fn ack() -> Self {
        Self {
            status: 200,
            body: None,
        }
    }

    /// A 200 with a JSON body.
    #[must_use]
    pub const fn json(body: Value) -> Self {
        Self {
            status: 200,
            body: Some(body),
        }
    }

    fn refused(status: u16, message: &str) -> Self {
        Self {
            status,
            body: Some(serde_json::json!({ "error": message })),
        }
    }

    /// The `Content-Type` of the body, when there is one.
    #[must_use]
    pub fn content_type(&self) -> Option<&'static str> {
        self.body.as_ref().map(|_| "application/json")
    }

    /// The body as bytes (empty for an acknowledgement).
    #[must_use]
    pub fn body_bytes(&self) -> Vec<u8> {
        self.body
            .as_ref()
            .map(|body| body.to_string().into_bytes())
            .unwrap_or_default()
    }
}

/// The broker the endpoints drive: the store `S`, Slack, the clock `C`, the Slack directory and
/// the workflow `W`.
pub type IngressBroker<S, W, C> =
    Broker<Ports<S, SlackChat, C, Unwired, Unwired, Unwired, SlackDirectory, W>>;

/// Everything the endpoints need, built once at start-up.
pub struct SlackIngress<S, W, C> {
    verifier: SignatureVerifier,
    web: SlackWebApi,
    chat: SlackChat,
    approvers: ApproverPolicy,
    broker: IngressBroker<S, W, C>,
}

impl<S, W, C> SlackIngress<S, W, C>
where
    S: RequestStore,
    W: Workflow,
    C: Clock,
{
    /// Wires the endpoints to the Slack Web API, the approver policy, the configured clusters
    /// and the ports.
    #[allow(clippy::too_many_arguments, reason = "wired once at start-up")]
    #[must_use]
    pub fn new(
        verifier: SignatureVerifier,
        web: SlackWebApi,
        chat: SlackChat,
        approvers: ApproverPolicy,
        clusters: Vec<ClusterPolicy>,
        store: S,
        workflow: W,
        clock: C,
    ) -> Self {
        let ports = Ports::new(store, chat.clone(), clock)
            .with_intake(SlackDirectory::new(web.clone()), workflow);
        Self {
            verifier,
            web,
            chat,
            approvers,
            broker: Broker::new(ports, clusters),
        }
    }

    /// Names requesters' DB users by `identity` (see [`powerpole_core::identity`]); by default
    /// every domain is primary and nobody is mapped.
    #[must_use]
    pub fn with_identity(self, identity: IdentityRules) -> Self {
        Self {
            broker: self.broker.with_identity(identity),
            ..self
        }
    }

    /// Hands the SLO observations of every decision recorded (`TimeToApprove`) to `observe`
    /// (the approve Lambda prints them as EMF lines); by default they are dropped.
    #[must_use]
    pub fn observed_by(self, observe: impl Fn(&[Observation]) + Send + Sync + 'static) -> Self {
        Self {
            broker: self.broker.observed_by(observe),
            ..self
        }
    }

    /// The broker the endpoints drive (for a driver's periodic work on the same ports, such as
    /// [`Broker::resume_undelivered`]).
    #[must_use]
    pub fn broker(&self) -> &IngressBroker<S, W, C> {
        &self.broker
    }

    /// The store the endpoints record requests in.
    pub fn store(&self) -> &S {
        self.broker.store()
    }

    /// The workflow submissions start and decisions resume.
    pub fn workflow(&self) -> &W {
        self.broker.workflow()
    }

    /// The clock that dates submissions and decisions.
    pub fn clock(&self) -> &C {
        self.broker.clock()
    }

    /// `POST /slack/commands`: `/powerpole` opens the request modal, `/powerpole list` lists the
    /// caller's requests, `/powerpole help` explains; both answer only the caller.
    pub async fn command(&self, headers: &(impl HeaderLookup + ?Sized), body: &[u8]) -> Reply {
        if let Err(rejection) = self.verifier.verify(headers, body) {
            tracing::warn!(%rejection, "slash command rejected");
            return Reply::refused(rejection.http_status(), &rejection.to_string());
        }
        let command = match SlashCommand::from_form(body) {
            Ok(command) => command,
            Err(error) => {
                tracing::warn!(%error, "malformed slash command");
                return Reply::refused(400, &error.to_string());
            }
        };
        if retry_num(headers).is_some() {
            tracing::info!(user = %command.user, "retried slash command delivery ignored");
            return Reply::ack();
        }
        let word = command
            .text
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match word.as_str() {
            "" | "request" => self.open_modal(&command).await,
            "help" => Reply::json(views::help(self.broker.clusters())),
            "cancel" => Reply::json(views::ephemeral(&self.cancel_command(&command).await)),
            "list" => match self.store().by_requester(&command.user).await {
                Ok(requests) => Reply::json(views::request_list(&requests, LIST_LIMIT)),
                Err(error) => {
                    tracing::error!(%error, "listing requests failed");
                    Reply::json(views::ephemeral(
                        ":warning: Your requests could not be read just now; try again.",
                    ))
                }
            },
            other => Reply::json(views::ephemeral(&format!(
                "`{}` is not a powerpole command. Try `/powerpole help`.",
                views::escape(other)
            ))),
        }
    }

    async fn open_modal(&self, command: &SlashCommand) -> Reply {
        match self
            .web
            .views_open(
                &command.trigger_id,
                &views::request_modal(self.broker.clusters()),
            )
            .await
        {
            Ok(_) => Reply::ack(),
            Err(error) => {
                tracing::error!(%error, "views.open failed");
                Reply::json(views::ephemeral(
                    ":warning: The request form could not be opened; run `/powerpole` again.",
                ))
            }
        }
    }

    /// `POST /slack/interactions`: request-modal submissions, clicks on Approve / Deny and
    /// Revoke now (from approvers) and End now (from the requester).
    pub async fn interaction(&self, headers: &(impl HeaderLookup + ?Sized), body: &[u8]) -> Reply {
        if let Err(rejection) = self.verifier.verify(headers, body) {
            tracing::warn!(%rejection, "interaction rejected");
            return Reply::refused(rejection.http_status(), &rejection.to_string());
        }
        match Interaction::from_form(body) {
            Ok(Interaction::ViewSubmission(view))
                if view.callback_id.as_deref() == Some(views::REQUEST_CALLBACK) =>
            {
                self.submitted(&view).await
            }
            Ok(Interaction::ViewSubmission(view))
                if view.callback_id.as_deref() == Some(views::EXTEND_CALLBACK) =>
            {
                self.extension_submitted(&view).await
            }
            Ok(Interaction::BlockAction(action)) => {
                self.clicked(&action, retry_num(headers).is_some()).await
            }
            Ok(_) => Reply::ack(),
            Err(error) => {
                tracing::warn!(%error, "malformed interaction");
                Reply::refused(400, &error.to_string())
            }
        }
    }

    async fn submitted(&self, view: &ViewSubmission) -> Reply {
        let outcome = self.broker.submit(&view.user, &view.request_form()).await;
        match outcome {
            Ok(Submission::Invalid(errors)) => Reply::json(views::modal_errors(&errors)),
            Ok(Submission::Recorded(request)) => {
                tracing::info!(request = %request.id(), requester = %request.requester(), "request recorded");
                self.acknowledge(&request).await;
                Reply::ack()
            }
            Ok(Submission::Duplicate(request)) => {
                tracing::info!(request = %request.id(), "repeated submission answered with the recorded request");
                Reply::ack()
            }
            Err(error) => {
                let reason = error.describe();
                if matches!(error, powerpole_core::Error::Invalid { .. }) {
                    tracing::warn!(%reason, user = %view.user, "submission refused");
                } else {
                    tracing::error!(%reason, user = %view.user, "submission failed");
                }
                Reply::json(views::submission_failed(&error, &self.approvers.channel))
            }
        }
    }

    async fn acknowledge(&self, request: &AccessRequest) {
        let receipt = views::submitted_message(request);
        let text = receipt["text"].as_str().unwrap_or_default();
        if let Err(error) = self
            .web
            .post_message(request.requester().as_str(), text, receipt.get("blocks"))
            .await
        {
            tracing::warn!(request = %request.id(), %error, "the requester's receipt was not sent");
        }
        if let Err(error) = self.chat.announce(&views::requested_note(request)).await {
            tracing::warn!(request = %request.id(), %error, "the requests channel note was not posted");
        }
    }

    /// A button click. A `retried` delivery (`X-Slack-Retry-Num`: Slack did not see the first
    /// answer in time) is decided again, which changes nothing when the first delivery got
    /// through, and then stays silent: the person clicked once.
    async fn clicked(&self, action: &BlockAction, retried: bool) -> Reply {
        let decision = match action.action_id.as_str() {
            views::APPROVE_ACTION => Decision::Approve,
            views::DENY_ACTION => Decision::Deny,
            views::END_NOW_ACTION => return self.end_now(action).await,
            views::CANCEL_ACTION => return self.cancel_clicked(action).await,
            views::REVOKE_ACTION => return self.revoke(action).await,
            views::EXTEND_ACTION => return self.open_extension(action).await,
            views::EXTENSION_APPROVE_ACTION => {
                return self
                    .extension_clicked(action, Decision::Approve, retried)
                    .await;
            }
            views::EXTENSION_DENY_ACTION => {
                return self
                    .extension_clicked(action, Decision::Deny, retried)
                    .await;
            }
            _ => return Reply::ack(),
        };
        let id = match self.approvers_click(action).await {
            Ok(id) => id,
            Err(reply) => return reply,
        };
        let outcome = self.broker.decide(id, &action.user, decision).await;
        match outcome {
            Ok(Decided::Now(request)) => {
                tracing::info!(request = %id, by = %action.user, state = %request.state(), "request decided");
            }
            Ok(Decided::Already(request)) if retried => {
                tracing::info!(request = %id, by = %action.user, state = %request.state(), "retried click delivery, already decided");
            }
            Ok(Decided::Already(request)) => {
                self.tell(action, &already_decided(&request)).await;
            }
            Ok(Decided::Counted(request)) => {
                tracing::info!(request = %id, by = %action.user, given = request.approvals().len(), required = request.required_approvals(), "approval counted");
                self.tell(action, &views::approval_counted(&request)).await;
            }
            Ok(Decided::Repeated(_)) if retried => {}
            Ok(Decided::Repeated(request)) => {
                self.tell(action, &views::approval_repeated(&request)).await;
            }
            Err(error) => {
                self.failed(action, id, error, "Your decision could not be recorded")
                    .await;
            }
        }
        Reply::ack()
    }

    /// Who may decide request `id`: its level's approvers on its cluster, or the default for
    /// a request that is not (or no longer) known, which the use case then refuses. A store
    /// that cannot be read refuses the check: a level's stricter approvers never fall back to
    /// the default.
    async fn approvers_for(&self, id: RequestId) -> Result<Approvers, Refusal> {
        match self.store().get(id).await {
            Ok(Some(request)) => Ok(self
                .approvers
                .approvers_of(self.broker.clusters(), &request)
                .clone()),
            Ok(None) => Ok(self.approvers.who.clone()),
            Err(error) => {
                tracing::error!(request = %id, reason = %error.describe(), "the request could not be read to check its approvers");
                Err(Refusal::RequestUnread)
            }
        }
    }

    /// Checks `user`'s click (or command) in `channel` on request `id` against its approvers.
    async fn check_approver(
        &self,
        id: RequestId,
        channel: Option<&str>,
        user: &SlackUserId,
    ) -> Result<(), Refusal> {
        let who = self.approvers_for(id).await?;
        self.approvers
            .check_as(&self.web, channel, user, &who)
            .await
    }

    /// The request an approvers' button names, once the approver policy allows the click; else
    /// the answer (the person who clicked is told why).
    async fn approvers_click(&self, action: &BlockAction) -> Result<RequestId, Reply> {
        let id = request_of(action)?;
        if let Err(refusal) = self
            .check_approver(id, action.channel.as_deref(), &action.user)
            .await
        {
            tracing::warn!(request = %id, user = %action.user, action = %action.action_id, %refusal, "click refused");
            self.tell(action, &refusal.to_string()).await;
            return Err(Reply::ack());
        }
        Ok(id)
    }

    /// An approver's "Revoke now" on the card of live access: removed at once, the requester
    /// told who revoked it. Only approvers (the same policy as Approve / Deny).
    async fn revoke(&self, action: &BlockAction) -> Reply {
        let id = match self.approvers_click(action).await {
            Ok(id) => id,
            Err(reply) => return reply,
        };
        let outcome = self.broker.revoke(id, &action.user).await;
        self.answer_ending(action, id, outcome, "Access could not be revoked")
            .await
    }

    /// The requester's "End now" in the ready and ending-soon messages: access is removed at
    /// once.
    async fn end_now(&self, action: &BlockAction) -> Reply {
        let id = match request_of(action) {
            Ok(id) => id,
            Err(reply) => return reply,
        };
        let outcome = self.broker.end_now(id, &action.user).await;
        self.answer_ending(action, id, outcome, "Access could not be ended")
            .await
    }

    /// The requester's "Extend" in the ready and ending-soon messages: the extension modal, or
    /// why there is none (not theirs, not live, already as long as the cluster allows).
    async fn open_extension(&self, action: &BlockAction) -> Reply {
        let id = match request_of(action) {
            Ok(id) => id,
            Err(reply) => return reply,
        };
        let request = match self.broker.load(id).await {
            Ok(request) => request,
            Err(error) => {
                self.failed(action, id, error, "The extension form could not be opened")
                    .await;
                return Reply::ack();
            }
        };
        let refusal = if request.requester() != &action.user {
            Some("Only the requester can extend their access.".to_owned())
        } else if request.state() != RequestState::Active {
            Some(format!(
                "Nothing to extend: this access is {}.",
                request.state()
            ))
        } else if request.pending_extension().is_some() {
            Some("Your extension is already waiting for the approvers.".to_owned())
        } else {
            None
        };
        let max = match self.broker.cluster_of(&request) {
            Ok(cluster) => cluster.window.max_duration(),
            Err(error) => {
                self.failed(action, id, error, "The extension form could not be opened")
                    .await;
                return Reply::ack();
            }
        };
        let left = powerpole_core::extension::allowance(&request.window(), max);
        let refusal = refusal.or_else(|| {
            (left < powerpole_core::ExtensionLength::MIN).then(|| {
                "This access already lasts as long as the cluster allows from its start.".to_owned()
            })
        });
        if let Some(text) = refusal {
            self.tell(action, &text).await;
            return Reply::ack();
        }
        if let Err(error) = self
            .web
            .views_open(&action.trigger_id, &views::extension_modal(&request, max))
            .await
        {
            tracing::error!(request = %id, %error, "views.open failed");
            self.tell(
                action,
                ":warning: The extension form could not be opened; click Extend again.",
            )
            .await;
        }
        Reply::ack()
    }

    /// The extension modal submitted: recorded and carded, or refused inline next to the input
    /// (more than the cluster allows from the start, no reason, not live, one already waiting).
    async fn extension_submitted(&self, view: &ViewSubmission) -> Reply {
        let (id, form) = match view.extension_form() {
            Ok(parsed) => parsed,
            Err(error) => {
                tracing::warn!(%error, "extension modal without a request");
                return Reply::refused(400, &error.to_string());
            }
        };
        let inline = |text: &str| {
            Reply::json(serde_json::json!({
                "response_action": "errors",
                "errors": { "duration": text },
            }))
        };
        match self.broker.request_extension(id, &view.user, &form).await {
            Ok(Extending::Invalid(errors)) => Reply::json(views::modal_errors(&errors)),
            Ok(Extending::Asked(request)) => {
                tracing::info!(request = %id, requester = %view.user, extensions = request.extensions().len(), "extension asked for");
                Reply::ack()
            }
            Err(powerpole_core::Error::NotAllowed(why)) => {
                tracing::warn!(request = %id, user = %view.user, why, "extension refused");
                inline(&format!("Not possible: {why}."))
            }
            Err(error) => {
                tracing::error!(request = %id, reason = %error.describe(), "extension not recorded");
                inline("The extension could not be recorded just now; try again in a minute.")
            }
        }
    }

    /// Approve / Deny on an extension card: approvers only (the same policy as the approval
    /// card), never the requester; the card is redrawn and the requester told.
    async fn extension_clicked(
        &self,
        action: &BlockAction,
        decision: Decision,
        retried: bool,
    ) -> Reply {
        let id = match self.approvers_click(action).await {
            Ok(id) => id,
            Err(reply) => return reply,
        };
        let Some(number) = action.block_id.as_deref().and_then(views::extension_number) else {
            tracing::warn!(request = %id, "extension click without its number");
            return Reply::refused(400, "the click names no extension");
        };
        match self
            .broker
            .decide_extension(id, number, &action.user, decision)
            .await
        {
            Ok(ExtensionDecided::Now(request)) => {
                tracing::info!(request = %id, extension = number, by = %action.user, ends_at = %request.window().end(), "extension decided");
            }
            Ok(ExtensionDecided::Already(_)) if retried => {}
            Ok(ExtensionDecided::Already(_)) => {
                self.tell(
                    action,
                    "Nothing changed: this extension is already decided.",
                )
                .await;
            }
            Ok(ExtensionDecided::Lapsed(_)) => {
                self.tell(
                    action,
                    "Too late: this access ended (or ends within a minute) before the extension \
                     was decided; it lapsed.",
                )
                .await;
            }
            Err(error) => {
                self.failed(action, id, error, "The extension could not be decided")
                    .await;
            }
        }
        Reply::ack()
    }

    /// `/powerpole cancel [ID]`: the caller's request `ID`, or their only request waiting to
    /// start; an approver may cancel someone else's `ID` from the approvers' channel.
    async fn cancel_command(&self, command: &SlashCommand) -> String {
        let named = command.text.split_whitespace().nth(1);
        let id = match named.map(RequestId::parse) {
            Some(Ok(id)) => id,
            Some(Err(_)) => {
                return format!(
                    "`{}` is not a request id: `/powerpole list` shows yours.",
                    views::escape(named.unwrap_or_default())
                );
            }
            None => match self.store().by_requester(&command.user).await {
                Ok(requests) => {
                    let open: Vec<&AccessRequest> = requests
                        .iter()
                        .filter(|r| {
                            matches!(
                                r.state(),
                                RequestState::Pending
                                    | RequestState::Approved
                                    | RequestState::Provisioning
                            )
                        })
                        .collect();
                    match open.as_slice() {
                        [] => return "You have no request waiting to start.".to_owned(),
                        [only] => only.id(),
                        several => {
                            let ids: Vec<String> =
                                several.iter().map(|r| format!("`{}`", r.id())).collect();
                            return format!(
                                "You have {} requests waiting to start; name one: \
                                 `/powerpole cancel ID` ({}).",
                                several.len(),
                                ids.join(", ")
                            );
                        }
                    }
                }
                Err(error) => {
                    tracing::error!(reason = %error.describe(), "listing requests to cancel failed");
                    return ":warning: Your requests could not be read; try again in a minute."
                        .to_owned();
                }
            },
        };
        let outcome = match self.broker.cancel(id, &command.user).await {
            Err(powerpole_core::Error::NotAllowed(why)) => {
                match self
                    .check_approver(id, Some(&command.channel_id), &command.user)
                    .await
                {
                    Ok(()) => self.broker.cancel_as_approver(id, &command.user).await,
                    Err(_) => return format!("Request `{id}` is not yours: {why}."),
                }
            }
            outcome => outcome,
        };
        let begun = matches!(&outcome, Ok(Cancelled::Now(r)) if r.provisioning_started());
        self.cancel_answer(id, &command.user, outcome)
            .unwrap_or_else(|| {
                if begun {
                    format!(
                        "Request `{id}` is cancelled: provisioning had begun, so what it made (DB \
                         user, secret, bastion) is being removed; you never get access."
                    )
                } else {
                    format!("Request `{id}` is cancelled: nothing will be created.")
                }
            })
    }

    /// A Cancel click: the requester's own, or an approver's (by the approver policy); anyone
    /// else is told who may.
    async fn cancel_clicked(&self, action: &BlockAction) -> Reply {
        let id = match request_of(action) {
            Ok(id) => id,
            Err(reply) => return reply,
        };
        let outcome = match self.broker.cancel(id, &action.user).await {
            Err(powerpole_core::Error::NotAllowed(_)) => match self.approvers_click(action).await {
                Ok(id) => self.broker.cancel_as_approver(id, &action.user).await,
                Err(reply) => return reply,
            },
            outcome => outcome,
        };
        if let Some(text) = self.cancel_answer(id, &action.user, outcome) {
            self.tell(action, &text).await;
        }
        Reply::ack()
    }

    /// What a cancellation is answered with: nothing when it was cancelled now (the card and
    /// the DM say so), else the state or why it could not be done.
    fn cancel_answer(
        &self,
        id: RequestId,
        user: &SlackUserId,
        outcome: powerpole_core::Result<Cancelled>,
    ) -> Option<String> {
        match outcome {
            Ok(Cancelled::Now(_)) => {
                tracing::info!(request = %id, by = %user, "request cancelled");
                None
            }
            Ok(Cancelled::Already(request)) => Some(format!(
                "Nothing to cancel: request `{id}` is {}.",
                request.state()
            )),
            Err(powerpole_core::Error::IllegalTransition { from, .. }) => Some(format!(
                "Request `{id}` is {from}: its access has started, so it is ended, not \
                 cancelled (End now in your ready message, or Revoke now on the card)."
            )),
            Err(error) => {
                tracing::error!(request = %id, reason = %error.describe(), "cancel failed");
                Some(if error.is_retryable() {
                    ":warning: The request could not be cancelled: a service powerpole relies on \
                     did not answer; try again in a minute."
                        .to_owned()
                } else {
                    format!(":warning: Request `{id}` could not be cancelled: {error}")
                })
            }
        }
    }

    /// What an End now or Revoke now click is answered with: nothing when access is ending, the
    /// state when it already was, why when it could not be done.
    async fn answer_ending(
        &self,
        action: &BlockAction,
        id: RequestId,
        outcome: powerpole_core::Result<EndNow>,
        what_failed: &str,
    ) -> Reply {
        match outcome {
            Ok(EndNow::Ending(_)) => {
                tracing::info!(request = %id, by = %action.user, "access ended early");
            }
            Ok(EndNow::Already(request)) => {
                self.tell(
                    action,
                    &format!("Nothing to do: this access is already {}.", request.state()),
                )
                .await;
            }
            Err(error) => self.failed(action, id, error, what_failed).await,
        }
        Reply::ack()
    }

    /// Tells the person who clicked why their click changed nothing: a refusal by the rules, or
    /// a failure (logged).
    async fn failed(
        &self,
        action: &BlockAction,
        id: RequestId,
        error: powerpole_core::Error,
        what_failed: &str,
    ) {
        let text = match &error {
            powerpole_core::Error::NotAllowed(why) => {
                format!(":no_entry_sign: You cannot do that: {why}.")
            }
            powerpole_core::Error::IllegalTransition { from, .. } => {
                format!("Nothing to do: this request is {from}.")
            }
            _ => {
                tracing::error!(request = %id, reason = %error.describe(), "{what_failed}");
                if error.is_retryable() {
                    format!(
                        ":warning: {what_failed}: a service powerpole relies on did not answer; \
                         try again in a minute."
                    )
                } else {
                    format!(
                        ":warning: {what_failed} (request `{id}`); the powerpole admins can see \
                         why in its log."
                    )
                }
            }
        };
        self.tell(action, &text).await;
    }

    /// An ephemeral answer to the person who clicked, in the channel they clicked in.
    async fn tell(&self, action: &BlockAction, text: &str) {
        let Some(channel) = action.channel.as_deref() else {
            return;
        };
        if let Err(error) = self
            .web
            .post_ephemeral(channel, &action.user, text, None)
            .await
        {
            tracing::warn!(%error, "ephemeral answer not sent");
        }
    }
}

/// The request a button carries, or the 400 answer to a click that carries none.
fn request_of(action: &BlockAction) -> Result<RequestId, Reply> {
    action.request_id().map_err(|error| {
        tracing::warn!(%error, action = %action.action_id, "click without a request id");
        Reply::refused(400, &error.to_string())
    })
}

fn already_decided(request: &AccessRequest) -> String {
    match request.state() {
        RequestState::Pending => "This request is still waiting for a decision.".to_owned(),
        _ => format!(
            "Nothing changed: this request is already decided. {}",
            views::outcome(request)
        ),
    }
}
