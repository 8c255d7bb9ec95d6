//! The request table's design, in one place: keys, indexes, and how an [`AccessRequest`] becomes
//! an item and back.
//!
//! One item per request:
//!
//! | attribute | type | meaning |
//! |---|---|---|
//! | `pk` | S | `REQ#<request id>` — the table's partition key |
//! | `id`, `requester`, `db_username`, `cluster`, `region`, `permission`, `reason` | S | the request |
//! | `window_start`, `window_end` | S | RFC 3339 UTC, whole seconds |
//! | `state` | S | lifecycle state (`pending`, `approved`, …) |
//! | `version` | N | number of events; every write is conditional on it |
//! | `events` | L of M | `{at, actor, kind, detail}`, append-only (`list_append`) |
//! | `card_channel`, `card_ts`, `approval_token`, `bastion_id`, `secret_ref` | S | references, present only when set — never a secret value |
//! | `gsi1pk`, `gsi1sk` | S | requester, request id → index `by-requester` (newest first) |
//! | `gsi2pk`, `gsi2sk` | S | state, `<deadline>#<id>` → index `by-deadline`; only on live requests |
//! | `gsi3pk`, `gsi3sk` | S | `DAY#<submission day, UTC>`, `<submitted at>#<id>` → index `by-submission-day`; written once, on insert |
//!
//! Orphan records (things the sweeper removed that no request owned) share the table:
//! `pk` = `ORPHAN#<kind>:<resource>`, `kind`, `resource`, `request_id` (if it named one),
//! `found_at`, `detail`, and `gsi1pk` = `ORPHANS` (never a Slack user id), `gsi1sk` =
//! `<found_at>#<kind>:<resource>`, so `by-requester` lists them newest first.
//!
//! The `by-deadline` index is sparse: a request is in it while it is pending, approved,
//! provisioning, active or ending (deadline = window start for the first two, window end for the
//! rest), while it has failed or was cancelled with cleanup owed, and while a denial has not
//! reached its workflow. Ended, denied, expired and cancelled requests otherwise drop out, so
//! the sweeper's queries never read history. Timestamps are fixed-width UTC strings,
//! so string order is time order.
//!
//! The `by-submission-day` index serves the period report: one partition per UTC day, so a
//! period is one query per day it spans, never a scan. Requests stored before the index existed
//! (items written by a version without `gsi3pk`) are not in it and so in no report; see
//! "Upgrading a deployment" in `terraform/README.md`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use powerpole_core::ports::{Orphan, ResourceKind};
use powerpole_core::{
    AccessRequest, AccessSpec, AccessWindow, Actor, BastionId, ClusterId, DbUsername, Email, Event,
    EventKind, MessageRef, Permission, Reason, Region, RequestId, Resources, SecretRef,
    SlackUserId, TaskToken,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{Error, Result};

/// An item as the SDK sees it.
pub type Item = HashMap<String, AttributeValue>;

/// The partition key attribute.
pub const PK: &str = "pk";
/// The index of a person's requests.
pub const BY_REQUESTER: &str = "by-requester";
/// The index of live requests by state and deadline.
pub const BY_DEADLINE: &str = "by-deadline";

/// The partition key of a request.
#[must_use]
pub fn request_key(id: RequestId) -> String {
    format!("REQ#{id}")
}

/// A timestamp as stored: `2026-11-23T14:00:00Z`.
#[must_use]
pub fn timestamp(at: OffsetDateTime) -> String {
    powerpole_core::timefmt::rfc3339(at, powerpole_core::timefmt::Precision::Seconds)
}

/// The sort-key bound for "before `before`" on a key that starts with a stored timestamp
/// (`by-deadline`, `by-submission-day`): `before` rounded up to the next whole second, so a time
/// in the same second but earlier still counts. Stored times are whole seconds, so the bound is
/// exact.
#[must_use]
pub fn deadline_bound(before: OffsetDateTime) -> String {
    let rounded = if before.nanosecond() > 0 {
        before.replace_nanosecond(0).unwrap_or(before) + time::Duration::SECOND
    } else {
        before
    };
    timestamp(rounded)
}

/// The index of requests by the UTC day they were submitted.
pub const BY_SUBMISSION_DAY: &str = "by-submission-day";

/// The `by-submission-day` partition of `day`: `DAY#2026-11-23`.
#[must_use]
pub fn day_key(day: time::Date) -> String {
    format!(
        "DAY#{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

/// Where a request sits in the `by-submission-day` index.
#[must_use]
pub fn submission_keys(request: &AccessRequest) -> (String, String) {
    let at = request.submitted_at().to_offset(time::UtcOffset::UTC);
    (
        day_key(at.date()),
        format!("{}#{}", timestamp(at), request.id()),
    )
}

/// Where a request sits in the `by-deadline` index, if it is live.
#[must_use]
pub fn deadline_keys(request: &AccessRequest) -> Option<(String, String)> {
    let deadline = request.deadline()?;
    Some((
        request.state().as_str().to_owned(),
        format!("{}#{}", timestamp(deadline), request.id()),
    ))
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// One stored event.
#[must_use]
pub fn event_value(event: &Event) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        ("at".to_owned(), s(timestamp(event.at))),
        ("actor".to_owned(), s(event.actor.to_string())),
        ("kind".to_owned(), s(event.kind.as_str())),
        ("detail".to_owned(), s(event.detail.clone())),
    ]))
}

/// The optional reference attributes, each `Some` when set and `None` when it must be removed.
#[must_use]
pub fn resource_values(resources: &Resources) -> [(&'static str, Option<AttributeValue>); 5] {
    let card = resources.approval_card.as_ref();
    [
        ("card_channel", card.map(|c| s(c.channel.clone()))),
        ("card_ts", card.map(|c| s(c.ts.clone()))),
        (
            "approval_token",
            resources.approval_token.as_ref().map(|t| s(t.0.clone())),
        ),
        (
            "bastion_id",
            resources.bastion.as_ref().map(|b| s(b.0.clone())),
        ),
        (
            "secret_ref",
            resources.secret.as_ref().map(|r| s(r.0.clone())),
        ),
    ]
}

/// The whole item of a new request.
#[must_use]
pub fn request_item(request: &AccessRequest) -> Item {
    let spec = request.spec();
    let mut item = Item::from([
        (PK.to_owned(), s(request_key(request.id()))),
        ("id".to_owned(), s(request.id().to_string())),
        ("requester".to_owned(), s(request.requester().as_str())),
        ("db_username".to_owned(), s(request.db_username().as_str())),
        ("cluster".to_owned(), s(spec.cluster.as_str())),
        ("region".to_owned(), s(spec.region.as_str())),
        ("permission".to_owned(), s(spec.permission.as_str())),
        ("reason".to_owned(), s(spec.reason.as_str())),
        ("window_start".to_owned(), s(timestamp(spec.window.start()))),
        ("window_end".to_owned(), s(timestamp(spec.window.end()))),
        ("state".to_owned(), s(request.state().as_str())),
        (
            "version".to_owned(),
            AttributeValue::N(request.version().to_string()),
        ),
        (
            "events".to_owned(),
            AttributeValue::L(request.events().iter().map(event_value).collect()),
        ),
        ("gsi1pk".to_owned(), s(request.requester().as_str())),
        ("gsi1sk".to_owned(), s(request.id().to_string())),
    ]);
    if let Some(email) = request.requester_email() {
        item.insert("requester_email".to_owned(), s(email.as_str()));
    }
    for (name, value) in resource_values(request.resources()) {
        if let Some(value) = value {
            item.insert(name.to_owned(), value);
        }
    }
    if let Some((pk, sk)) = deadline_keys(request) {
        item.insert("gsi2pk".to_owned(), s(pk));
        item.insert("gsi2sk".to_owned(), s(sk));
    }
    let (pk, sk) = submission_keys(request);
    item.insert("gsi3pk".to_owned(), s(pk));
    item.insert("gsi3sk".to_owned(), s(sk));
    item
}

/// The `by-requester` partition that holds the orphan records.
pub const ORPHANS: &str = "ORPHANS";

/// The item of an orphan record.
#[must_use]
pub fn orphan_item(orphan: &Orphan) -> Item {
    let key = orphan.key();
    let found_at = timestamp(orphan.found_at);
    let mut item = Item::from([
        (PK.to_owned(), s(format!("ORPHAN#{key}"))),
        ("kind".to_owned(), s(orphan.kind.as_str())),
        ("resource".to_owned(), s(orphan.resource.as_str())),
        ("found_at".to_owned(), s(found_at.as_str())),
        ("detail".to_owned(), s(orphan.detail.as_str())),
        ("gsi1pk".to_owned(), s(ORPHANS)),
        ("gsi1sk".to_owned(), s(format!("{found_at}#{key}"))),
    ]);
    if let Some(id) = orphan.request {
        item.insert("request_id".to_owned(), s(id.to_string()));
    }
    item
}

/// Reads an orphan record back.
///
/// # Errors
/// [`Error::Malformed`] when an attribute is missing or invalid.
pub fn orphan_from_item(item: &Item) -> Result<Orphan> {
    let bad = |problem: String| Error::malformed("orphan item", problem);
    let kind = text(item, "kind")?;
    Ok(Orphan {
        kind: ResourceKind::parse(kind).ok_or_else(|| bad(format!("kind {kind:?}")))?,
        resource: text(item, "resource")?.to_owned(),
        request: item
            .get("request_id")
            .and_then(|v| v.as_s().ok())
            .map(|id| RequestId::parse(id).map_err(|e| bad(e.to_string())))
            .transpose()?,
        found_at: time_of(text(item, "found_at")?).map_err(bad)?,
        detail: text(item, "detail")?.to_owned(),
    })
}

/// Reads a request back from its item, replaying its events through the lifecycle.
///
/// # Errors
/// [`Error::Malformed`] when an attribute is missing or invalid, or the history breaks the
/// lifecycle.
pub fn request_from_item(item: &Item) -> Result<AccessRequest> {
    let id_text = text(item, "id")?;
    let what = format!("request item {id_text}");
    let bad = |problem: String| Error::malformed(what.clone(), problem);
    let id = RequestId::parse(id_text).map_err(|e| bad(e.to_string()))?;
    let parsed = |name: &str| -> Result<&str> { text(item, name) };
    let spec = AccessSpec {
        cluster: ClusterId::parse(parsed("cluster")?).map_err(|e| bad(e.to_string()))?,
        region: Region::parse(parsed("region")?).map_err(|e| bad(e.to_string()))?,
        permission: parsed("permission")?
            .parse::<Permission>()
            .map_err(|e| bad(e.to_string()))?,
        window: AccessWindow::from_parts(
            time_of(parsed("window_start")?).map_err(&bad)?,
            time_of(parsed("window_end")?).map_err(&bad)?,
        )
        .map_err(|e| bad(e.to_string()))?,
        reason: Reason::parse(parsed("reason")?).map_err(|e| bad(e.to_string()))?,
    };
    let events = match item.get("events") {
        Some(AttributeValue::L(list)) => list
            .iter()
            .map(|value| event_from(value).map_err(&bad))
            .collect::<Result<Vec<_>>>()?,
        _ => return Err(bad("missing events".to_owned())),
    };
    let optional = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let resources = Resources {
        approval_card: optional("card_channel")
            .zip(optional("card_ts"))
            .map(|(channel, ts)| MessageRef { channel, ts }),
        approval_token: optional("approval_token").map(TaskToken),
        bastion: optional("bastion_id").map(BastionId),
        secret: optional("secret_ref").map(SecretRef),
    };
    let request = AccessRequest::restore(
        id,
        SlackUserId::parse(parsed("requester")?).map_err(|e| bad(e.to_string()))?,
        DbUsername::parse(parsed("db_username")?).map_err(|e| bad(e.to_string()))?,
        spec,
        events,
        resources,
    )
    .map_err(|e| bad(format!("history refused: {e}")))?
    .with_requester_email(
        optional("requester_email")
            .map(|email| Email::parse(&email).map_err(|e| bad(e.to_string())))
            .transpose()?,
    );
    let stored_state = parsed("state")?;
    if request.state().as_str() != stored_state {
        return Err(bad(format!(
            "state {stored_state} does not match its events ({})",
            request.state()
        )));
    }
    Ok(request)
}

fn text<'a>(item: &'a Item, name: &str) -> Result<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| Error::malformed("request item", format!("missing string attribute {name}")))
}

fn time_of(value: &str) -> std::result::Result<OffsetDateTime, String> {
    OffsetDateTime::parse(value, &Rfc3339).map_err(|e| format!("bad timestamp {value:?}: {e}"))
}

fn event_from(value: &AttributeValue) -> std::result::Result<Event, String> {
    let map = value.as_m().map_err(|_| "event is not a map".to_owned())?;
    let field = |name: &str| {
        map.get(name)
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| format!("event without {name}"))
    };
    Ok(Event {
        at: time_of(field("at")?)?,
        actor: field("actor")?
            .parse::<Actor>()
            .map_err(|e| e.to_string())?,
        kind: field("kind")?
            .parse::<EventKind>()
            .map_err(|e| e.to_string())?,
        detail: field("detail")?.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use powerpole_core::{Component, Email, Transition, WindowPolicy};
    use time::Duration;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-23 14:00 UTC);

    fn request() -> AccessRequest {
        let spec = AccessSpec {
            cluster: ClusterId::parse("prod-orders").unwrap(),
            region: Region::parse("ap-northeast-1").unwrap(),
            permission: Permission::Ddl,
            window: AccessWindow::request(T0, Duration::hours(2), T0, &WindowPolicy::default())
                .unwrap(),
            reason: Reason::parse("schema change CHG-7").unwrap(),
        };
        AccessRequest::submit(
            RequestId::generate(T0, &mut rand::rng()),
            SlackUserId::parse("UREQ1").unwrap(),
            DbUsername::from_email(&Email::parse("a.b@example.com").unwrap()).unwrap(),
            spec,
            T0,
        )
    }

    #[test]
    fn an_item_reads_back_as_the_same_request() {
        let mut r = request();
        r.set_approval_token(TaskToken("tok".into())).unwrap();
        r.set_approval_card(MessageRef {
            channel: "C1".into(),
            ts: "1.1".into(),
        });
        let item = request_item(&r);
        assert_eq!(request_from_item(&item).unwrap(), r);
        assert_eq!(item["gsi2pk"].as_s().unwrap(), "pending");
        assert_eq!(
            item["gsi2sk"].as_s().unwrap(),
            &format!("2026-11-23T14:30:00Z#{}", r.id()),
            "a pending request is due at its decision deadline: 30 minutes after submission"
        );
    }

    #[test]
    fn a_request_is_filed_under_its_submission_day_in_utc() {
        let r = request();
        let item = request_item(&r);
        assert_eq!(item["gsi3pk"].as_s().unwrap(), "DAY#2026-11-23");
        assert_eq!(
            item["gsi3sk"].as_s().unwrap(),
            &format!("2026-11-23T14:00:00Z#{}", r.id())
        );
        let tokyo = datetime!(2026-11-24 01:30 +09:00);
        assert_eq!(
            day_key(tokyo.to_offset(time::UtcOffset::UTC).date()),
            "DAY#2026-11-23"
        );
    }

    #[test]
    fn a_forged_state_or_history_is_refused() {
        let r = request();
        let mut item = request_item(&r);
        item.insert("state".into(), s("active"));
        assert!(request_from_item(&item).is_err());
        let mut item = request_item(&r);
        item.insert("events".into(), AttributeValue::L(vec![]));
        assert!(request_from_item(&item).is_err());
    }

    #[test]
    fn deadlines_follow_the_state_and_leave_with_the_end() {
        let mut r = request();
        let approver = Actor::User(SlackUserId::parse("UAPP1").unwrap());
        let wf = Actor::System(Component::Workflow);
        r.apply(Transition::Approve, approver, T0, "").unwrap();
        assert!(
            deadline_keys(&r)
                .unwrap()
                .1
                .starts_with("2026-11-23T14:00:00Z#")
        );
        r.apply(Transition::StartProvisioning, wf.clone(), T0, "")
            .unwrap();
        assert!(
            deadline_keys(&r)
                .unwrap()
                .1
                .starts_with("2026-11-23T16:00:00Z#")
        );
        r.apply(Transition::Fail, wf.clone(), T0, "").unwrap();
        assert_eq!(
            deadline_keys(&r).unwrap().0,
            "failed",
            "cleanup owed keeps it visible"
        );
        r.record_cleanup(wf, T0, "").unwrap();
        assert_eq!(deadline_keys(&r), None);
    }

    #[test]
    fn bounds_round_up_to_the_second() {
        assert_eq!(deadline_bound(T0), "2026-11-23T14:00:00Z");
        assert_eq!(
            deadline_bound(T0 + Duration::milliseconds(1)),
            "2026-11-23T14:00:01Z"
        );
        assert!(timestamp(T0) < timestamp(T0 + Duration::seconds(1)));
    }
}
