//! Extending live access: the requester asks for more time (checked against the cluster's
//! maximum from the start, whatever the client sent), an approver who is not the requester
//! decides on the extension's own card in the approval card's thread, and the workflow, once it
//! reaches the end it waited for, finds whether the end moved — then it re-arms the DB backstop
//! for the new end and waits again (warning included) instead of tearing down.
//!
//! An extension needs no new workflow run, DB user, password or bastion: only the effective
//! window's end moves ([`AccessRequest::window`]). One not decided before the current end
//! lapses: a click after that changes nothing, and the teardown records the lapse.

use time::OffsetDateTime;

use super::WORKFLOW;
use super::access::{BACKSTOP_GRACE, Schedule, WARNING_LEAD};
use crate::broker::{AccessPorts, Broker, BrokerPorts};
use crate::error::{Error, Result};
use crate::extension::ExtensionLength;
use crate::ids::{RequestId, SlackUserId};
use crate::lifecycle::{AccessRequest, Actor, Reason, RequestState};
use crate::ports::{Chat, DbAccounts, Decision, Notice, RequestStore};
use crate::resources::MessageRef;
use crate::timefmt::{Precision, rfc3339};

/// The start of the note the workflow leaves when it moves the backstop to a later end.
pub const BACKSTOP_MOVED: &str = "the end moved: the server now locks the DB user by itself at ";

/// The extension modal as submitted: how many more minutes, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionForm {
    /// Minutes, as the form gives them (`"30"`).
    pub minutes: String,
    /// Why.
    pub reason: String,
}

/// What an extension ask did.
#[derive(Debug)]
pub enum Extending {
    /// The form is refused, field by field ([`Error::Invalid`]): nothing was recorded.
    Invalid(Vec<Error>),
    /// Recorded; its card is in the approval card's thread.
    Asked(Box<AccessRequest>),
}

/// What a click on an extension card did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtensionDecided {
    /// This click decided it.
    Now(AccessRequest),
    /// It was decided (or lapsed) before; nothing changed.
    Already(AccessRequest),
    /// Too late: the access ended, or ends within a minute; the extension lapsed.
    Lapsed(AccessRequest),
}

/// What the workflow finds at the end it waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndCheck {
    /// The end moved later (an extension was approved): wait again instead of tearing down.
    pub extended: bool,
    /// The effective window's times now.
    pub schedule: Schedule,
}

impl<P: BrokerPorts> Broker<P> {
    /// The requester of active request `id` asks for `form`'s minutes more: checked (the
    /// cluster's maximum counts from the start), recorded, and its card posted in the approval
    /// card's thread with Approve / Deny.
    ///
    /// # Errors
    /// [`Error::NotAllowed`] for anyone but the requester, for access that is not live, or
    /// while another extension waits; the store's errors. A card that cannot be posted is
    /// logged: the extension stays recorded.
    pub async fn request_extension(
        &self,
        id: RequestId,
        user: &SlackUserId,
        form: &ExtensionForm,
    ) -> Result<Extending> {
        let now = self.now();
        let mut request = self.load(id).await?;
        if request.requester() != user {
            return Err(Error::NotAllowed(
                "only the requester can extend their access",
            ));
        }
        let max = self.cluster_of(&request)?.window.max_duration();
        let (length, reason) = match (
            ExtensionLength::parse_minutes(&form.minutes),
            Reason::parse(&form.reason),
        ) {
            (Ok(length), Ok(reason)) => (length, reason),
            (length, reason) => {
                let errors = [length.err(), reason.err()].into_iter().flatten();
                return Ok(Extending::Invalid(errors.collect()));
            }
        };
        let expected = request.version();
        match request.request_extension(Actor::User(user.clone()), length, &reason, max, now) {
            Ok(_) => {}
            Err(invalid @ Error::Invalid { .. }) => return Ok(Extending::Invalid(vec![invalid])),
            Err(e) => return Err(e),
        }
        self.store().update(&request, expected).await?;
        self.post_extension_card(&mut request, now).await;
        Ok(Extending::Asked(Box::new(request)))
    }

    /// `approver` approves or denies extension `number` of request `id`: recorded once, the
    /// extension card and the approval card redrawn, the requester told. Whether `approver`
    /// may decide is the driver's approver policy, asked before; the requester never may.
    ///
    /// # Errors
    /// [`Error::NotAllowed`] when the approver is the requester; [`Error::Invalid`] when the
    /// cluster's maximum was lowered below it since; the store's errors.
    pub async fn decide_extension(
        &self,
        id: RequestId,
        number: u32,
        approver: &SlackUserId,
        decision: Decision,
    ) -> Result<ExtensionDecided> {
        let now = self.now();
        let mut request = self.load(id).await?;
        if request.requester() == approver {
            return Err(Error::NotAllowed(
                "the requester cannot decide their own extension",
            ));
        }
        if request
            .pending_extension()
            .is_none_or(|pending| pending.number != number)
        {
            return Ok(ExtensionDecided::Already(request));
        }
        let max = self.cluster_of(&request)?.window.max_duration();
        let expected = request.version();
        let live = request.state() == RequestState::Active
            && now < request.window().end() - crate::extension::DECISION_CUTOFF;
        if !live {
            request.lapse_extension(WORKFLOW, now);
        } else {
            request.decide_extension(number, decision == Decision::Approve, approver, max, now)?;
        }
        match self.store().update(&request, expected).await {
            Ok(()) => {}
            Err(Error::Conflict(_)) => {
                let current = self.load(id).await?;
                if current
                    .pending_extension()
                    .is_none_or(|pending| pending.number != number)
                {
                    return Ok(ExtensionDecided::Already(current));
                }
                return Err(Error::Conflict(format!(
                    "request {id} changed while its extension was being decided; try again"
                )));
            }
            Err(e) => return Err(e),
        }
        self.redraw_extension(&request, number).await;
        if !live {
            return Ok(ExtensionDecided::Lapsed(request));
        }
        self.redraw(&request).await;
        let ends_at = request.window().end();
        let notice = match decision {
            Decision::Approve => Notice::Extended {
                request: id,
                by: approver.clone(),
                ends_at,
            },
            Decision::Deny => Notice::ExtensionDenied {
                request: id,
                by: approver.clone(),
                ends_at,
            },
        };
        self.tell(&mut request, &notice, now).await?;
        Ok(ExtensionDecided::Now(request))
    }

    /// The extension of `request` still waiting lapses (the access is ending): recorded, its
    /// card redrawn, the requester told.
    ///
    /// # Errors
    /// The store's errors.
    pub(crate) async fn lapse_pending_extension(
        &self,
        request: &mut AccessRequest,
        now: OffsetDateTime,
    ) -> Result<()> {
        let Some(pending) = request.pending_extension() else {
            return Ok(());
        };
        let expected = request.version();
        request.lapse_extension(WORKFLOW, now);
        self.store().update(request, expected).await?;
        self.redraw_extension(request, pending.number).await;
        let notice = Notice::ExtensionLapsed {
            request: request.id(),
        };
        self.tell(request, &notice, now).await
    }

    async fn post_extension_card(&self, request: &mut AccessRequest, now: OffsetDateTime) {
        let Some(card) = request.resources().approval_card.clone() else {
            tracing::warn!(request = %request.id(), "no approval card to thread the extension card under");
            return;
        };
        match self.chat().post_extension_card(&card, request).await {
            Ok(posted) => {
                let expected = request.version();
                request.record_extension_card(WORKFLOW, now, &posted.ts);
                if let Err(error) = self.store().update(request, expected).await {
                    tracing::warn!(request = %request.id(), reason = %error.describe(), "where the extension card is was not stored");
                }
            }
            Err(error) => {
                tracing::warn!(request = %request.id(), reason = %error.describe(), "the extension card could not be posted");
            }
        }
    }

    async fn redraw_extension(&self, request: &AccessRequest, number: u32) {
        let Some(card) = &request.resources().approval_card else {
            return;
        };
        let Some(ts) = request
            .extensions()
            .into_iter()
            .find(|e| e.number == number)
            .and_then(|e| e.card_ts)
        else {
            return;
        };
        let message = MessageRef {
            channel: card.channel.clone(),
            ts,
        };
        if let Err(error) = self
            .chat()
            .update_extension_card(&message, request, number)
            .await
        {
            tracing::warn!(request = %request.id(), %error, "the extension card could not be redrawn");
        }
    }
}

impl<P: AccessPorts> Broker<P> {
    /// The workflow reached the end it waited for: whether the end moved later (an approved
    /// extension), with the window's times now. When it moved, the DB user's backstop is moved
    /// to the new end (plus the grace) and noted once.
    ///
    /// # Errors
    /// The store's and the DB accounts' errors (the workflow then tears down at the old end).
    pub async fn check_end(&self, id: RequestId) -> Result<EndCheck> {
        let now = self.now();
        let mut request = self.load(id).await?;
        let window = request.window();
        let schedule = Schedule {
            start_at: window.start(),
            warn_at: window.warning_at(WARNING_LEAD),
            end_at: window.end(),
        };
        let extended = request.state() == RequestState::Active && window.end() > now;
        if extended {
            let cluster = self.cluster_of(&request)?;
            let lock_by = window.end() + BACKSTOP_GRACE;
            let backstop = self
                .accounts()
                .rearm(&cluster.cluster, id, request.db_username(), lock_by - now)
                .await?;
            let note = backstop.problem().map_or_else(
                || format!("{BACKSTOP_MOVED}{}", rfc3339(lock_by, Precision::Seconds)),
                |problem| format!("the end moved; {problem}"),
            );
            if !request.events().iter().any(|e| e.detail == note) {
                let expected = request.version();
                request.record_step(WORKFLOW, now, note);
                self.store().update(&request, expected).await?;
            }
        }
        Ok(EndCheck { extended, schedule })
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;
    use crate::error::Field;
    use crate::extension::ExtensionOutcome;
    use crate::lifecycle::EventKind;
    use crate::usecases::Teardown;
    use crate::usecases::fakes::*;
    use crate::usecases::fakes::{Live, cluster, live, now, user};

    fn ask(minutes: &str) -> ExtensionForm {
        ExtensionForm {
            minutes: minutes.to_owned(),
            reason: "INC-1234: the backfill needs longer".to_owned(),
        }
    }

    fn at(w: &Live, when: OffsetDateTime) -> Lent<'_, crate::memory::MemoryStore, RecordingChat> {
        base(&w.store, &w.chat, &[cluster()], when)
    }

    fn with_accounts(
        w: &Live,
        when: OffsetDateTime,
    ) -> Lent<
        '_,
        crate::memory::MemoryStore,
        RecordingChat,
        &MemoryVault,
        &MemoryFleet,
        &MemoryAccounts,
    > {
        access(
            &w.store,
            &w.chat,
            &w.vault,
            &w.fleet,
            &w.accounts,
            &[cluster()],
            when,
        )
    }

    async fn asked(w: &Live, id: RequestId, minutes: &str, when: OffsetDateTime) -> AccessRequest {
        match at(w, when)
            .request_extension(id, &user("U1"), &ask(minutes))
            .await
            .unwrap()
        {
            Extending::Asked(request) => *request,
            Extending::Invalid(errors) => panic!("refused: {errors:?}"),
        }
    }

    #[tokio::test]
    async fn an_approved_extension_moves_the_end_and_the_backstop_but_keeps_the_account() {
        let (w, request) = live().await;
        let password = w.accounts.password_of(request.db_username());
        let asked_at = now() + Duration::minutes(40);

        let asked = asked(&w, request.id(), "30", asked_at).await;
        let decided = at(&w, asked_at + Duration::minutes(5))
            .decide_extension(request.id(), 1, &user("U2"), Decision::Approve)
            .await
            .unwrap();
        let end = with_accounts(&w, now() + Duration::hours(1))
            .check_end(request.id())
            .await
            .unwrap();

        let card = request.resources().approval_card.clone().unwrap();
        assert_eq!(
            asked.extensions()[0].card_ts,
            Some(format!("{}.1", card.ts))
        );
        let ExtensionDecided::Now(decided) = decided else {
            panic!("{decided:?}")
        };
        let new_end = now() + Duration::minutes(90);
        assert_eq!(decided.window().end(), new_end);
        assert!(matches!(
            decided.extensions()[0].outcome,
            ExtensionOutcome::Approved { ref by, .. } if *by == user("U2")
        ));
        assert_eq!(
            w.chat
                .extension_cards()
                .iter()
                .map(|(m, n, _)| (m.clone(), *n))
                .collect::<Vec<_>>(),
            vec![
                (card.clone(), 1),
                (
                    MessageRef {
                        channel: card.channel.clone(),
                        ts: format!("{}.1", card.ts)
                    },
                    1
                )
            ],
            "posted in the card's thread, then redrawn in place"
        );
        assert_eq!(
            w.chat.notices(),
            vec![Notice::Extended {
                request: request.id(),
                by: user("U2"),
                ends_at: new_end
            }]
        );
        assert!(end.extended);
        assert_eq!(end.schedule.end_at, new_end);
        assert_eq!(end.schedule.warn_at, new_end - WARNING_LEAD);
        assert_eq!(
            w.accounts.lock_within.lock().unwrap().last().copied(),
            Some(Duration::minutes(30) + BACKSTOP_GRACE),
            "the server locks the account by itself only after the new end"
        );
        assert_eq!(
            w.accounts.password_of(request.db_username()),
            password,
            "the same account, the same password"
        );
        assert_eq!(w.vault.puts(), 1, "no new secret");
        assert_eq!(w.fleet.terminated().len(), 0);
    }

    #[tokio::test]
    async fn the_end_that_did_not_move_is_torn_down() {
        let (w, request) = live().await;

        let end = with_accounts(&w, now() + Duration::hours(1))
            .check_end(request.id())
            .await
            .unwrap();

        assert!(!end.extended);
        assert_eq!(end.schedule.end_at, now() + Duration::hours(1));
    }

    #[tokio::test]
    async fn only_the_requester_asks_and_never_decides_their_own_extension() {
        let (w, request) = live().await;
        let when = now() + Duration::minutes(10);

        let stranger = at(&w, when)
            .request_extension(request.id(), &user("U9"), &ask("30"))
            .await;
        asked(&w, request.id(), "30", when).await;
        let own = at(&w, when)
            .decide_extension(request.id(), 1, &user("U1"), Decision::Approve)
            .await;

        assert!(
            matches!(stranger, Err(Error::NotAllowed(_))),
            "{stranger:?}"
        );
        assert!(matches!(own, Err(Error::NotAllowed(_))), "{own:?}");
        let stored = w.store.get(request.id()).await.unwrap().unwrap();
        assert!(stored.pending_extension().is_some());
        assert_eq!(stored.window().end(), now() + Duration::hours(1));
    }

    #[tokio::test]
    async fn no_more_than_the_cluster_maximum_from_the_original_start() {
        let (w, request) = live().await;
        let when = now() + Duration::minutes(10);

        let too_long = at(&w, when)
            .request_extension(request.id(), &user("U1"), &ask("421"))
            .await
            .unwrap();
        asked(&w, request.id(), "420", when).await;
        let second = at(&w, when)
            .request_extension(request.id(), &user("U1"), &ask("15"))
            .await;
        at(&w, when)
            .decide_extension(request.id(), 1, &user("U2"), Decision::Approve)
            .await
            .unwrap();
        let past_max = at(&w, when)
            .request_extension(request.id(), &user("U1"), &ask("15"))
            .await
            .unwrap();

        let Extending::Invalid(errors) = too_long else {
            panic!("{too_long:?}")
        };
        assert_eq!(errors[0].field(), Some(Field::Duration));
        assert_eq!(
            errors[0].to_string(),
            "invalid duration: must be at most 7h more: the cluster allows 8h from the start"
        );
        assert!(matches!(second, Err(Error::NotAllowed(_))), "one at a time");
        let Extending::Invalid(errors) = past_max else {
            panic!("{past_max:?}")
        };
        assert!(errors[0].to_string().contains("already lasts as long"));
        let stored = w.store.get(request.id()).await.unwrap().unwrap();
        assert_eq!(stored.window().duration(), Duration::hours(8));
    }

    #[tokio::test]
    async fn a_denied_extension_leaves_the_end_and_a_late_click_lapses_it() {
        let (w, request) = live().await;
        asked(&w, request.id(), "30", now() + Duration::minutes(10)).await;
        let denied = at(&w, now() + Duration::minutes(20))
            .decide_extension(request.id(), 1, &user("U2"), Decision::Deny)
            .await
            .unwrap();
        let again = at(&w, now() + Duration::minutes(21))
            .decide_extension(request.id(), 1, &user("U3"), Decision::Approve)
            .await
            .unwrap();
        asked(&w, request.id(), "30", now() + Duration::minutes(30)).await;
        let late = at(&w, now() + Duration::minutes(59) + Duration::seconds(30))
            .decide_extension(request.id(), 2, &user("U2"), Decision::Approve)
            .await
            .unwrap();

        assert!(matches!(denied, ExtensionDecided::Now(_)));
        assert!(matches!(again, ExtensionDecided::Already(_)));
        let ExtensionDecided::Lapsed(late) = late else {
            panic!("{late:?}")
        };
        assert_eq!(late.window().end(), now() + Duration::hours(1));
        let outcomes: Vec<_> = late.extensions().into_iter().map(|e| e.outcome).collect();
        assert!(matches!(outcomes[0], ExtensionOutcome::Denied { .. }));
        assert!(matches!(outcomes[1], ExtensionOutcome::Lapsed { .. }));
    }

    #[tokio::test]
    async fn an_extension_still_waiting_at_the_end_lapses_with_the_teardown() {
        let (w, request) = live().await;
        asked(&w, request.id(), "60", now() + Duration::minutes(50)).await;

        let ended = with_accounts(&w, now() + Duration::hours(1))
            .teardown(request.id(), Teardown::End)
            .await
            .unwrap();

        assert_eq!(ended.state(), RequestState::Ended);
        assert!(
            ended
                .events()
                .iter()
                .any(|e| e.kind == EventKind::ExtensionLapsed)
        );
        assert_eq!(ended.window().end(), now() + Duration::hours(1));
        assert_eq!(
            w.chat.notices()[0],
            Notice::ExtensionLapsed {
                request: request.id()
            }
        );
        assert_eq!(
            w.chat
                .extension_cards()
                .last()
                .map(|(_, n, shown)| (*n, shown.starts_with("Lapsed"))),
            Some((1, true))
        );
    }

    #[tokio::test]
    async fn the_warning_is_sent_before_the_new_end_not_the_old_one() {
        let (w, request) = live().await;
        asked(&w, request.id(), "30", now() + Duration::minutes(10)).await;
        at(&w, now() + Duration::minutes(15))
            .decide_extension(request.id(), 1, &user("U2"), Decision::Approve)
            .await
            .unwrap();
        w.chat.forget();

        at(&w, now() + Duration::minutes(50))
            .warn(request.id())
            .await
            .unwrap();
        let early = w.chat.notices();
        at(&w, now() + Duration::minutes(80))
            .warn(request.id())
            .await
            .unwrap();

        assert!(early.is_empty(), "{early:?}");
        assert_eq!(
            w.chat.notices(),
            vec![Notice::EndingSoon {
                request: request.id(),
                ends_at: now() + Duration::minutes(90),
                left: Duration::minutes(10),
            }]
        );
    }
}
