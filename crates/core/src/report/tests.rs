use time::Duration;
use time::macros::datetime;

use super::*;
use crate::account::DbUsername;
use crate::approvals::RequiredApprovals;
use crate::audit::{AuditOperation, AuditRecord};
use crate::extension::ExtensionLength;
use crate::ids::{Region, SlackUserId};
use crate::lifecycle::{AccessSpec, Actor, Component, Reason, Transition};
use crate::window::WindowPolicy;

const T0: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);

struct Made {
    id: &'static str,
    cluster: &'static str,
    requester: &'static str,
    user: &'static str,
    start: OffsetDateTime,
    reason: &'static str,
    /// Who approves, in turn; the request needs all of them.
    approvers: &'static [&'static str],
}

impl Default for Made {
    fn default() -> Self {
        Self {
            id: "01KAXR4C1PRECE1PTC11000000",
            cluster: "orders-prod",
            requester: "U0REQUESTER",
            user: "keisuke.owato",
            start: T0,
            reason: "INC-9 fix the orders schema",
            approvers: &["U0APPROVER"],
        }
    }
}

/// A request for an hour from `start`, approved by each of `approvers` in turn (a minute apart,
/// from 5 minutes before its start), provisioned at its start and, when `ended`, removed at its
/// end.
fn request(made: &Made, ended: bool) -> AccessRequest {
    let mut request = live(made);
    if ended {
        end(&mut request);
    }
    request
}

/// [`request`], still active.
fn live(made: &Made) -> AccessRequest {
    let spec = AccessSpec {
        cluster: ClusterId::parse(made.cluster).unwrap(),
        region: Region::parse("ap-northeast-1").unwrap(),
        permission: Permission::Ddl,
        window: AccessWindow::request(
            made.start,
            Duration::hours(1),
            made.start,
            &WindowPolicy::default(),
        )
        .unwrap(),
        reason: Reason::parse(made.reason).unwrap(),
    };
    let required = i64::try_from(made.approvers.len()).unwrap();
    let mut request = AccessRequest::submit(
        RequestId::parse(made.id).unwrap(),
        SlackUserId::parse(made.requester).unwrap(),
        DbUsername::parse(made.user).unwrap(),
        spec,
        made.start - Duration::minutes(10),
    )
    .with_required_approvals(RequiredApprovals::new(required).unwrap());
    for (minute, approver) in (-5..).zip(made.approvers) {
        request
            .approve_by(
                &SlackUserId::parse(approver).unwrap(),
                made.start + Duration::minutes(minute),
            )
            .unwrap();
    }
    let window = request.window();
    request
        .apply(
            Transition::StartProvisioning,
            workflow(),
            window.start(),
            "",
        )
        .unwrap();
    request
        .apply(Transition::Activate, workflow(), window.start(), "")
        .unwrap();
    request
}

fn workflow() -> Actor {
    Actor::System(Component::Workflow)
}

/// Removes `request`'s access at the end of its window (extensions included).
fn end(request: &mut AccessRequest) {
    let end = request.window().end();
    request
        .apply(Transition::StartTeardown, workflow(), end, "")
        .unwrap();
    request
        .record_cleanup(workflow(), end, "DB user dropped")
        .unwrap();
    request
        .apply(Transition::Finish, workflow(), end, "")
        .unwrap();
}

fn record(
    at: OffsetDateTime,
    host: &str,
    operation: AuditOperation,
    object: &str,
    retcode: i32,
) -> AuditRecord {
    AuditRecord {
        at,
        resolution: Duration::SECOND,
        server_host: "db".into(),
        username: "keisuke.owato".into(),
        host: host.into(),
        connection_id: 41,
        query_id: 0,
        operation,
        database: "shop".into(),
        object: object.into(),
        retcode,
    }
}

fn session() -> Vec<AuditRecord> {
    let q = AuditOperation::Query;
    vec![
        record(
            T0 + Duration::minutes(1),
            "10.9.9.9",
            AuditOperation::FailedConnect,
            "",
            1045,
        ),
        record(
            T0 + Duration::minutes(2),
            "127.0.0.1",
            AuditOperation::Connect,
            "",
            0,
        ),
        record(
            T0 + Duration::minutes(3),
            "127.0.0.1",
            q.clone(),
            "SELECT * FROM orders",
            0,
        ),
        record(
            T0 + Duration::minutes(4),
            "127.0.0.1",
            q.clone(),
            "SELECT * FROM nope",
            1146,
        ),
        record(
            T0 + Duration::minutes(5),
            "127.0.0.1",
            q.clone(),
            "CREATE TABLE notes (id INT)",
            0,
        ),
        record(
            T0 + Duration::minutes(6),
            "127.0.0.1",
            q.clone(),
            "ALTER USER CURRENT_USER() IDENTIFIED BY 'hunter2'",
            0,
        ),
        record(
            T0 + Duration::minutes(61),
            "127.0.0.1",
            q,
            "SELECT * FROM orders",
            0,
        ),
    ]
}

fn day(from: OffsetDateTime, days: i64) -> Period {
    Period::new(from, from + Duration::days(days)).unwrap()
}

fn scope() -> ReportScope {
    ReportScope {
        expected_hosts: HostPatterns::loopback(),
        ..ReportScope::of(day(datetime!(2026-11-23 00:00 UTC), 1))
    }
}

fn assembled(request: &AccessRequest, records: Vec<AuditRecord>) -> (AccessRequest, Receipt) {
    let receipt = Receipt::assemble(
        request,
        Gathered::Found(records),
        Gathered::Unavailable {
            why: "no bastion in local mode".into(),
        },
    );
    (request.clone(), receipt)
}

#[test]
fn anomalies_come_first_by_seriousness_then_time_with_the_statements_masked() {
    let request = request(&Made::default(), true);

    let report = Report::assemble(
        scope(),
        vec![assembled(&request, session())],
        Vec::new(),
        T0 + Duration::hours(3),
    );

    let listed: Vec<(AnomalyKind, &str)> = report
        .anomalies
        .iter()
        .map(|a| (a.kind, a.subject.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            (AnomalyKind::OutsideWindow, "SELECT * FROM orders"),
            (AnomalyKind::UnexpectedHost, "10.9.9.9"),
            (AnomalyKind::RefusedLogin, "10.9.9.9"),
            (AnomalyKind::FailedStatement, "SELECT * FROM nope"),
            (AnomalyKind::Ddl, "CREATE TABLE notes (id INT)"),
            (
                AnomalyKind::Dcl,
                "ALTER USER CURRENT_USER() IDENTIFIED BY '*****'"
            ),
        ]
    );
    assert_eq!(
        report.anomalies[0].note,
        "after the window closed at 2026-11-23T11:00:00Z"
    );
    assert_eq!(report.anomalies[3].note, "error 1146, session #41");
    assert!(
        report
            .anomalies
            .iter()
            .all(|a| a.request == Some(request.id()))
    );
    assert!(!format!("{report:?}").contains("hunter2"));
}

#[test]
fn every_host_is_expected_when_no_pattern_is_given_and_patterns_match_like_mysql_with_networks() {
    assert!(HostPatterns::any().expects("203.0.113.9"));
    let patterns = HostPatterns::new(["10.0.%", "bastion-_.internal", "LOCALHOST"]);
    for (host, expected) in [
        ("10.0.3.4", true),
        ("10.1.3.4", false),
        ("bastion-a.internal", true),
        ("bastion-ab.internal", false),
        ("localhost", true),
        ("127.0.0.1", false),
    ] {
        assert_eq!(patterns.expects(host), expected, "{host}");
    }
    let networks = HostPatterns::new([
        "10.0.16.0/20",
        "192.168.7.0/255.255.255.0",
        "fd00:1::/64",
        "0.0.0.0/0x",
    ]);
    for (host, expected) in [
        ("10.0.16.1", true),
        ("10.0.31.254", true),
        ("10.0.32.1", false),
        ("192.168.7.200", true),
        ("192.168.8.1", false),
        ("fd00:1::5", true),
        ("fd00:2::5", false),
        ("bastion.internal", false),
        ("0.0.0.0/0x", true),
    ] {
        assert_eq!(networks.expects(host), expected, "{host}");
    }
    assert!(HostPatterns::new(["0.0.0.0/0"]).expects("203.0.113.9"));
    assert!(!HostPatterns::new(["0.0.0.0/0"]).expects("::1"));
    assert!(HostPatterns::new(["::/0"]).expects("::1"));
    assert!(HostPatterns::new(["%"]).expects("anything"));
    assert!(HostPatterns::new(["a%b%c"]).expects("aXXbYYc"));
    assert!(!HostPatterns::new(["a%b%c"]).expects("aXXbYY"));
}

#[test]
fn the_scope_keeps_requests_of_its_period_cluster_and_person() {
    let ours = request(&Made::default(), true);
    let other_cluster = request(
        &Made {
            id: "01KAXR4C1PRECE1PTC11000001",
            cluster: "billing-prod",
            ..Made::default()
        },
        true,
    );
    let other_person = request(
        &Made {
            id: "01KAXR4C1PRECE1PTC11000002",
            requester: "U0SOMEONE",
            user: "someone.else",
            ..Made::default()
        },
        true,
    );
    let next_week = request(
        &Made {
            id: "01KAXR4C1PRECE1PTC11000003",
            start: T0 + Duration::days(7),
            ..Made::default()
        },
        true,
    );
    let mut scope = scope();
    assert!(scope.covers(&ours) && scope.covers(&other_cluster) && scope.covers(&other_person));
    assert!(!scope.covers(&next_week));

    scope.cluster = Some(ClusterId::parse("orders-prod").unwrap());
    scope.user = Some("keisuke.owato".into());
    assert!(scope.covers(&ours));
    assert!(!scope.covers(&other_cluster));
    assert!(!scope.covers(&other_person));
    scope.user = Some("U0REQUESTER".into());
    assert!(scope.covers(&ours), "the Slack id names the person too");

    let still_live = request(
        &Made {
            start: T0 - Duration::days(2),
            ..Made::default()
        },
        false,
    );
    assert!(
        !ReportScope::of(day(T0 - Duration::days(3), 1)).covers(&request(
            &Made {
                start: T0 - Duration::days(1),
                ..Made::default()
            },
            true
        ))
    );
    assert!(ReportScope::of(day(T0 - Duration::days(2), 1)).covers(&still_live));
}

#[test]
fn the_timeline_splits_access_at_midnight_and_keeps_to_the_period() {
    let late = request(
        &Made {
            start: datetime!(2026-11-23 23:30 UTC),
            ..Made::default()
        },
        true,
    );
    let period = day(datetime!(2026-11-23 00:00 UTC), 2);

    let report = Report::assemble(
        ReportScope::of(period),
        vec![assembled(&late, Vec::new())],
        Vec::new(),
        datetime!(2026-11-25 00:00 UTC),
    );

    let days: Vec<(Date, OffsetDateTime, OffsetDateTime)> = report
        .timeline
        .iter()
        .flat_map(|d| d.bars.iter().map(move |b| (d.date, b.from, b.to)))
        .collect();
    assert_eq!(
        days,
        [
            (
                time::macros::date!(2026 - 11 - 23),
                datetime!(2026-11-23 23:30 UTC),
                datetime!(2026-11-24 00:00 UTC)
            ),
            (
                time::macros::date!(2026 - 11 - 24),
                datetime!(2026-11-24 00:00 UTC),
                datetime!(2026-11-24 00:30 UTC)
            ),
        ]
    );

    let first_day_only = Report::assemble(
        ReportScope::of(day(datetime!(2026-11-23 00:00 UTC), 1)),
        vec![assembled(&late, Vec::new())],
        Vec::new(),
        datetime!(2026-11-25 00:00 UTC),
    );
    assert_eq!(first_day_only.timeline.len(), 1);
    assert_eq!(
        first_day_only.timeline[0].bars[0].to,
        datetime!(2026-11-24 00:00 UTC)
    );
}

#[test]
fn access_still_held_runs_to_the_reports_time() {
    let live = request(&Made::default(), false);
    let now = T0 + Duration::minutes(20);

    let held = HeldAccess::of(&live, now).unwrap();

    assert_eq!(
        held,
        HeldAccess {
            from: T0,
            to: now,
            still_held: true
        }
    );
}

#[test]
fn a_provisioned_request_without_its_audit_log_is_an_anomaly_and_orphans_are_listed() {
    let request = request(&Made::default(), true);
    let unread = Receipt::assemble(
        &request,
        Gathered::Unavailable {
            why: "audit log file /var/log/x not found".into(),
        },
        Gathered::Unavailable { why: "none".into() },
    );
    let orphan = |resource: &str, found_at| Orphan {
        kind: ResourceKind::Account,
        resource: resource.into(),
        request: None,
        found_at,
        detail: "locked and dropped".into(),
    };

    let report = Report::assemble(
        scope(),
        vec![(request.clone(), unread)],
        vec![
            orphan("ghost@orders-prod", T0 + Duration::hours(2)),
            orphan("old@orders-prod", T0 - Duration::days(3)),
        ],
        T0 + Duration::hours(3),
    );

    let kinds: Vec<(AnomalyKind, &str)> = report
        .anomalies
        .iter()
        .map(|a| (a.kind, a.subject.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (AnomalyKind::Orphan, "account ghost@orders-prod"),
            (
                AnomalyKind::EvidenceMissing,
                "audit log file /var/log/x not found"
            ),
        ]
    );
    assert_eq!(report.orphans.len(), 1, "only the period's orphans");
    assert_eq!(report.anomalies[0].db_user.as_deref(), Some("ghost"));
}

#[test]
fn the_page_shows_hostile_text_as_text_and_loads_nothing() {
    let hostile = "</html><script>alert(1)</script>{{7*7}}";
    let request = request(
        &Made {
            reason: "INC-1 </html><script>alert(1)</script>{{7*7}}",
            ..Made::default()
        },
        true,
    );
    let mut records = session();
    records.push(record(
        T0 + Duration::minutes(7),
        "127.0.0.1",
        AuditOperation::Query,
        "SELECT '</html><script>alert(2)</script>{{x}}'",
        1064,
    ));

    let page = html::render(&Report::assemble(
        scope(),
        vec![assembled(&request, records)],
        Vec::new(),
        T0 + Duration::hours(3),
    ));

    assert_eq!(page.matches("<script").count(), 1, "only the page's own");
    assert_eq!(page.matches("</html>").count(), 1);
    assert!(!page.contains("{{"));
    assert!(!page.contains(hostile));
    assert!(page.contains(
        "INC-1 &lt;/html&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#123;&#123;7*7&#125;&#125;"
    ));
    assert!(page.contains("SELECT &#39;&lt;/html&gt;&lt;script&gt;alert(2)"));
    assert!(page.contains("IDENTIFIED BY &#39;*****&#39;"));
    assert!(!page.contains("hunter2"));
    for fetch in ["src=", "href=\"http", "@import", "url("] {
        assert!(!page.contains(fetch), "{fetch}");
    }
    let anomalies = page.find("id=\"anomalies\"").unwrap();
    let requests = page.find("id=\"requests\"").unwrap();
    let outside = page.find("data-kind=\"outside_window\"").unwrap();
    let failed = page.find("data-kind=\"failed_statement\"").unwrap();
    assert!(anomalies < outside && outside < failed && failed < requests);
    assert!(page.contains("<svg"), "the day's timeline");
}

#[test]
fn commands_typed_on_the_bastion_are_listed_and_one_after_the_window_is_an_anomaly() {
    let request = request(&Made::default(), true);
    let typed_at = |minutes: i64| T0 + Duration::minutes(minutes);
    let commands = crate::receipt::shell::commands([
        (
            typed_at(2),
            "sh-5.2$ mysql -h db -u keisuke.owato -phunter2 shop",
        ),
        (typed_at(3), "MariaDB [shop]> SELECT '<script>x</script>';"),
        (typed_at(63), "sh-5.2$ mysqldump shop > /tmp/shop.sql"),
    ]);
    let receipt = Receipt::assemble(
        &request,
        Gathered::Found(Vec::new()),
        Gathered::Found(vec![crate::receipt::BastionSession {
            id: "keisuke-0a1b".into(),
            principal: "arn:aws:sts::1:assumed-role/dev/keisuke".into(),
            bastion: crate::resources::BastionId("i-0a1b2c3d4e5f60718".into()),
            first_seen: typed_at(2),
            last_seen: typed_at(63),
            commands,
        }]),
    );

    let report = Report::assemble(
        scope(),
        vec![(request.clone(), receipt)],
        Vec::new(),
        T0 + Duration::hours(3),
    );
    let page = html::render(&report);

    let outside: Vec<(&str, &str)> = report
        .anomalies
        .iter()
        .filter(|a| a.kind == AnomalyKind::OutsideWindow)
        .map(|a| (a.subject.as_str(), a.note.as_str()))
        .collect();
    assert_eq!(
        outside,
        [(
            "mysqldump shop > /tmp/shop.sql",
            "typed in SSM session keisuke-0a1b after the window closed at 2026-11-23T11:00:00Z"
        )]
    );
    assert!(page.contains("Commands typed in <code>keisuke-0a1b</code> (3)"));
    assert!(page.contains("<pre>mysql -h db -u keisuke.owato -p***** shop</pre>"));
    assert!(page.contains("SELECT &#39;&lt;script&gt;x&lt;/script&gt;&#39;;"));
    assert!(!page.contains("hunter2"));
}

/// An ended request approved by two people, extended once by 30 minutes (approved by a third)
/// and asked again for 15 minutes with `second_reason`, which lapsed.
fn approved_by_two_and_extended(second_reason: &str) -> AccessRequest {
    let mut request = live(&Made {
        approvers: &["U0APPROVER", "U0SECOND"],
        ..Made::default()
    });
    let requester = Actor::User(SlackUserId::parse("U0REQUESTER").unwrap());
    let max = Duration::hours(8);
    let minutes = |n| ExtensionLength::new(Duration::minutes(n)).unwrap();
    request
        .request_extension(
            requester.clone(),
            minutes(30),
            &Reason::parse("INC-9 the backfill is still running").unwrap(),
            max,
            T0 + Duration::minutes(40),
        )
        .unwrap();
    request
        .decide_extension(
            1,
            true,
            &SlackUserId::parse("U0THIRD").unwrap(),
            max,
            T0 + Duration::minutes(45),
        )
        .unwrap();
    request
        .request_extension(
            requester,
            minutes(15),
            &Reason::parse(second_reason).unwrap(),
            max,
            T0 + Duration::minutes(80),
        )
        .unwrap();
    request
        .lapse_extension(workflow(), T0 + Duration::minutes(89))
        .unwrap();
    end(&mut request);
    request
}

#[test]
fn every_approver_and_each_extension_with_its_reason_and_outcome_are_in_the_report() {
    let request = approved_by_two_and_extended("INC-9 one more check");

    let report = Report::assemble(
        scope(),
        vec![assembled(&request, Vec::new())],
        Vec::new(),
        T0 + Duration::hours(3),
    );
    let page = html::render(&report);

    let receipt = &report.entries[0].receipt;
    let approvals: Vec<(&str, OffsetDateTime)> = receipt
        .approvals
        .iter()
        .map(|a| (a.by.as_str(), a.at))
        .collect();
    assert_eq!(
        approvals,
        [
            ("U0APPROVER", T0 - Duration::minutes(5)),
            ("U0SECOND", T0 - Duration::minutes(4)),
        ]
    );
    assert_eq!(receipt.approvals_required, 2);
    assert!(!receipt.auto_approved);
    let extensions: Vec<_> = receipt
        .extensions
        .iter()
        .map(|e| {
            (
                e.number,
                e.length.minutes(),
                e.reason.as_str(),
                e.outcome_name(),
                e.decided_by().map(SlackUserId::as_str),
                e.decided_at(),
            )
        })
        .collect();
    assert_eq!(
        extensions,
        [
            (
                1,
                30,
                "INC-9 the backfill is still running",
                "approved",
                Some("U0THIRD"),
                Some(T0 + Duration::minutes(45))
            ),
            (
                2,
                15,
                "INC-9 one more check",
                "lapsed",
                None,
                Some(T0 + Duration::minutes(89))
            ),
        ]
    );
    assert!(
        receipt
            .extensions
            .iter()
            .all(|e| e.asked_by.as_str() == "U0REQUESTER")
    );

    assert!(page.contains(
        "<td class=\"k\">Approvals</td><td>U0APPROVER at 2026-11-23T09:55:00Z<br>\
         U0SECOND at 2026-11-23T09:56:00Z<br>(2 of 2 required)</td>"
    ));
    assert!(
        page.contains("<td class=\"k\">Extensions</td><td>2 asked for, 1 approved (+30 min)</td>")
    );
    assert!(page.contains(
        "<tr data-extension=\"approved\"><td>1</td><td>2026-11-23T10:40:00Z</td><td>U0REQUESTER</td>\
         <td>+30 min</td><td><pre>INC-9 the backfill is still running</pre></td><td>approved</td>\
         <td>U0THIRD</td><td>2026-11-23T10:45:00Z</td></tr>"
    ));
    assert!(page.contains(
        "<tr data-extension=\"lapsed\"><td>2</td><td>2026-11-23T11:20:00Z</td><td>U0REQUESTER</td>\
         <td>+15 min</td><td><pre>INC-9 one more check</pre></td>\
         <td>lapsed: not decided before the end</td><td>—</td><td>2026-11-23T11:29:00Z</td></tr>"
    ));
}

#[test]
fn a_request_approved_by_policy_says_so_and_one_never_approved_has_no_approver() {
    let mut auto = AccessRequest::submit(
        RequestId::parse("01KAXR4C1PRECE1PTC11000005").unwrap(),
        SlackUserId::parse("U0REQUESTER").unwrap(),
        DbUsername::parse("keisuke.owato").unwrap(),
        AccessSpec {
            permission: Permission::Read,
            ..live(&Made::default()).spec().clone()
        },
        T0 - Duration::minutes(10),
    );
    auto.apply(
        Transition::Approve,
        Actor::System(Component::Policy),
        T0 - Duration::minutes(10),
        "",
    )
    .unwrap();
    let mut denied = AccessRequest::submit(
        RequestId::parse("01KAXR4C1PRECE1PTC11000006").unwrap(),
        SlackUserId::parse("U0REQUESTER").unwrap(),
        DbUsername::parse("keisuke.owato").unwrap(),
        live(&Made::default()).spec().clone(),
        T0 - Duration::minutes(10),
    )
    .with_required_approvals(RequiredApprovals::new(2).unwrap());
    denied
        .approve_by(
            &SlackUserId::parse("U0APPROVER").unwrap(),
            T0 - Duration::minutes(8),
        )
        .unwrap();
    denied
        .apply(
            Transition::Deny,
            Actor::User(SlackUserId::parse("U0SECOND").unwrap()),
            T0 - Duration::minutes(7),
            "",
        )
        .unwrap();

    let report = Report::assemble(
        scope(),
        vec![assembled(&auto, Vec::new()), assembled(&denied, Vec::new())],
        Vec::new(),
        T0 + Duration::hours(3),
    );
    let page = html::render(&report);

    let [auto, denied] = [&report.entries[0].receipt, &report.entries[1].receipt];
    assert!(auto.auto_approved && auto.approvals.is_empty());
    assert!(!denied.auto_approved);
    assert_eq!(denied.approvals.len(), 1);
    assert_eq!(denied.approvals[0].by.as_str(), "U0APPROVER");
    assert!(
        page.contains("Approvals</td><td>none needed: approved by the cluster&#39;s policy</td>")
    );
    assert!(page.contains("Decision</td><td>approved by the policy at 2026-11-23T09:50:00Z</td>"));
    assert!(page.contains(
        "Approvals</td><td>U0APPROVER at 2026-11-23T09:52:00Z<br>(1 of 2 required)</td>"
    ));
    assert!(page.contains("Decision</td><td>denied by U0SECOND at 2026-11-23T09:53:00Z</td>"));
    assert!(page.contains("Extensions</td><td>none asked for</td>"));
}

#[test]
fn a_hostile_extension_reason_shows_as_text() {
    let request =
        approved_by_two_and_extended("INC-9 </html><script>alert(3)</script>{{7*7}} & more");

    let page = html::render(&Report::assemble(
        scope(),
        vec![assembled(&request, Vec::new())],
        Vec::new(),
        T0 + Duration::hours(3),
    ));

    assert_eq!(page.matches("<script").count(), 1, "only the page's own");
    assert_eq!(page.matches("</html>").count(), 1);
    assert!(!page.contains("{{"));
    assert!(page.contains(
        "<pre>INC-9 &lt;/html&gt;&lt;script&gt;alert(3)&lt;/script&gt;&#123;&#123;7*7&#125;&#125; \
         &amp; more</pre>"
    ));
}
