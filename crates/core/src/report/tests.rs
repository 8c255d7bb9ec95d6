use time::Duration;
use time::macros::datetime;

use super::*;
use crate::account::DbUsername;
use crate::audit::{AuditOperation, AuditRecord};
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
        }
    }
}

/// A request for an hour from `start`, approved, provisioned at its start and, when `ended`,
/// removed at its end.
fn request(made: &Made, ended: bool) -> AccessRequest {
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
    let mut request = AccessRequest::submit(
        RequestId::parse(made.id).unwrap(),
        SlackUserId::parse(made.requester).unwrap(),
        DbUsername::parse(made.user).unwrap(),
        spec,
        made.start - Duration::minutes(10),
    );
    let workflow = || Actor::System(Component::Workflow);
    let approver = Actor::User(SlackUserId::parse("U0APPROVER").unwrap());
    request
        .apply(
            Transition::Approve,
            approver,
            made.start - Duration::minutes(5),
            "",
        )
        .unwrap();
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
    if ended {
        request
            .apply(Transition::StartTeardown, workflow(), window.end(), "")
            .unwrap();
        request
            .record_cleanup(workflow(), window.end(), "DB user dropped")
            .unwrap();
        request
            .apply(Transition::Finish, workflow(), window.end(), "")
            .unwrap();
    }
    request
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
