//! The session receipt from the real audit log: a DB user made by the MySQL adapter on the test
//! MariaDB runs a known set of statements, and the receipt read from the server's `server_audit`
//! file lists them: counts by kind, the DDL verbatim, the failure, the tables, the window used —
//! and never the password. The period report of such a session puts a statement run after the
//! window and a failed one in its anomalies section.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use std::time::Duration;

use powerpole_core::ports::{DbAccounts, RequestStore};
use powerpole_core::receipt::DbActivity;
use powerpole_core::report::{AnomalyKind, HostPatterns, html};
use powerpole_core::{
    AccessRequest, AccessSpec, AccessWindow, Actor, Broker, ClusterId, Component, DbPassword,
    DbUsername, Email, Gathered, GrantPlan, MemoryStore, Period, Permission, Ports, Reason,
    Receipt, Region, ReportScope, RequestId, SchemaName, SlackUserId, SystemClock, Transition,
    WindowPolicy,
};
use powerpole_local::NoBastionSessions;
use powerpole_mysql::{AccountSettings, AuditFiles, MySqlAccounts};
use powerpole_testkit::chat::NoChat;
use sqlx::mysql::MySqlConnectOptions;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor};
use time::OffsetDateTime;

const CLUSTER: &str = "receipt-db";
const PASSWORD_TYPED: &str = "hunter2-typed-by-the-user";

fn request(username: DbUsername, now: OffsetDateTime) -> AccessRequest {
    request_from(
        "01KAXR4C1PRECE1PTTESTS0000",
        username,
        now - time::Duration::minutes(1),
        now,
    )
}

/// An active request `id` of `username` for 15 minutes from `start`, approved and provisioned
/// at `now`.
fn request_from(
    id: &str,
    username: DbUsername,
    start: OffsetDateTime,
    now: OffsetDateTime,
) -> AccessRequest {
    let spec = AccessSpec {
        cluster: ClusterId::parse(CLUSTER).unwrap(),
        region: Region::parse("ap-northeast-1").unwrap(),
        permission: Permission::Ddl,
        window: AccessWindow::request(
            start,
            time::Duration::minutes(15),
            start,
            &WindowPolicy::default(),
        )
        .unwrap(),
        reason: Reason::parse("INC-9 receipt acceptance").unwrap(),
    };
    let mut request = AccessRequest::submit(
        RequestId::parse(id).unwrap(),
        SlackUserId::parse("U0REQUESTER").unwrap(),
        username,
        spec,
        now - time::Duration::minutes(2),
    );
    let approver = Actor::User(SlackUserId::parse("U0APPROVER").unwrap());
    let workflow = Actor::System(Component::Workflow);
    request
        .apply(
            Transition::Approve,
            approver,
            now - time::Duration::minutes(2),
            "",
        )
        .unwrap();
    request
        .apply(Transition::StartProvisioning, workflow.clone(), now, "")
        .unwrap();
    request
        .apply(Transition::Activate, workflow, now, "")
        .unwrap();
    request
}

/// A DDL user `username` made by the MySQL adapter for request `id` on `schema`, and a session
/// logged in as it.
async fn logged_in(
    admin: &MySqlConnectOptions,
    cluster: &ClusterId,
    id: RequestId,
    username: &DbUsername,
    schema: &str,
) -> (MySqlAccounts, DbPassword, sqlx::MySqlConnection) {
    let password = DbPassword::generate();
    let accounts =
        MySqlAccounts::new().with_cluster(cluster.clone(), admin.clone(), AccountSettings::new());
    let plan = GrantPlan::new(Permission::Ddl, [SchemaName::parse(schema).unwrap()]).unwrap();
    accounts
        .create(
            cluster,
            id,
            username,
            &password,
            &plan,
            time::Duration::hours(1),
        )
        .await
        .unwrap();
    let session = admin
        .clone()
        .username(username.as_str())
        .password(password.expose())
        .database(schema)
        .connect()
        .await
        .unwrap();
    (accounts, password, session)
}

async fn receipt_once_logged(
    store: &MemoryStore,
    audit: &AuditFiles,
    id: RequestId,
    done: impl Fn(&DbActivity) -> bool,
) -> Receipt {
    for _ in 0..50 {
        let receipt = Broker::new(
            Ports::new(store, NoChat::default(), SystemClock)
                .with_evidence(audit, NoBastionSessions),
            Vec::new(),
        )
        .receipt(id)
        .await
        .unwrap();
        if receipt.database.found().is_some_and(&done) {
            return receipt;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the audit log never showed the session")
}

#[tokio::test]
async fn the_receipt_lists_what_the_user_ran_from_the_real_audit_log() {
    let Some(url) = powerpole_testkit::mysql_admin_url() else {
        return;
    };
    let Some(audit_log) = powerpole_testkit::mysql_audit_log() else {
        return;
    };
    let admin: MySqlConnectOptions = url.parse().unwrap();
    let schema = format!("rcpt_{}", std::process::id());
    let mut conn = admin.connect().await.unwrap();
    for sql in [
        format!("CREATE DATABASE IF NOT EXISTS `{schema}`"),
        format!("DROP TABLE IF EXISTS `{schema}`.receipt_notes"),
        format!(
            "CREATE TABLE IF NOT EXISTS `{schema}`.orders (id INT PRIMARY KEY, state VARCHAR(20))"
        ),
        format!("REPLACE INTO `{schema}`.orders VALUES (1, 'new')"),
    ] {
        conn.execute(AssertSqlSafe(sql)).await.unwrap();
    }
    let cluster = ClusterId::parse(CLUSTER).unwrap();
    let username = DbUsername::from_email(
        &Email::parse(&format!("receipt.e2e{}@example.com", std::process::id())).unwrap(),
    )
    .unwrap();
    let now = OffsetDateTime::now_utc();
    let request = request(username.clone(), now);
    let store = MemoryStore::new();
    store.insert(&request).await.unwrap();
    let (accounts, password, mut session) =
        logged_in(&admin, &cluster, request.id(), &username, &schema).await;
    session
        .execute(sqlx::raw_sql("SELECT * FROM orders WHERE id = 1"))
        .await
        .unwrap();
    session
        .execute(sqlx::raw_sql(
            "UPDATE orders SET state = 'done' WHERE id = 1",
        ))
        .await
        .unwrap();
    session
        .execute(sqlx::raw_sql(
            "CREATE TABLE receipt_notes (id INT, note TEXT)",
        ))
        .await
        .unwrap();
    session
        .execute(sqlx::raw_sql("SELECT * FROM no_such_table"))
        .await
        .unwrap_err();
    let _ = session
        .execute(sqlx::raw_sql(AssertSqlSafe(format!(
            "SET PASSWORD = PASSWORD('{PASSWORD_TYPED}')"
        ))))
        .await;
    session.close().await.unwrap();
    accounts.remove(&cluster, &username).await.unwrap();

    let audit = AuditFiles::new().with_cluster(cluster, &audit_log);
    let receipt = receipt_once_logged(&store, &audit, request.id(), |db| {
        db.counts.ddl == 1 && db.counts.dcl == 1 && db.used.is_some()
    })
    .await;

    let db = receipt.database.found().unwrap();
    assert_eq!(db.counts.dml, 1, "{db:#?}");
    assert_eq!(db.counts.ddl, 1);
    assert_eq!(db.counts.dcl, 1, "SET PASSWORD is DCL");
    assert!(
        db.counts.read >= 2,
        "the SELECT and the failed SELECT: {db:#?}"
    );
    assert_eq!(db.sessions, 1);
    let ddl_dcl: Vec<&str> = db.ddl_dcl.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(ddl_dcl[0], "CREATE TABLE receipt_notes (id INT, note TEXT)");
    assert!(ddl_dcl[1].starts_with("SET PASSWORD"), "{ddl_dcl:?}");
    let failed: Vec<(&str, i32)> = db
        .failed
        .iter()
        .map(|s| (s.text.as_str(), s.retcode))
        .collect();
    assert_eq!(failed, [("SELECT * FROM no_such_table", 1146)]);
    assert!(db.outside_window.is_empty(), "{:?}", db.outside_window);
    for table in ["orders", "receipt_notes", "no_such_table"] {
        assert!(
            db.tables.contains(&format!("{schema}.{table}")),
            "{table} in {:?}",
            db.tables
        );
    }
    let used = db.used.unwrap();
    assert!(receipt.granted.contains(used.first_connect));
    assert!(used.first_connect <= used.last_disconnect);
    assert!(used.last_disconnect <= OffsetDateTime::now_utc());
    assert_eq!(
        receipt.decision.as_ref().map(|d| d.by.to_string()),
        Some("user:U0APPROVER".to_owned())
    );
    assert!(matches!(
        receipt.bastion_sessions,
        Gathered::Unavailable { .. }
    ));
    let everything = format!("{receipt:?}");
    assert!(
        !everything.contains(PASSWORD_TYPED),
        "never a typed password"
    );
    assert!(
        !everything.contains(password.expose()),
        "never the account's password"
    );
}

#[tokio::test]
async fn the_report_lists_a_statement_after_the_window_and_a_failed_one_as_anomalies() {
    let Some(url) = powerpole_testkit::mysql_admin_url() else {
        return;
    };
    let Some(audit_log) = powerpole_testkit::mysql_audit_log() else {
        return;
    };
    let admin: MySqlConnectOptions = url.parse().unwrap();
    let schema = format!("rprt_{}", std::process::id());
    let mut conn = admin.connect().await.unwrap();
    conn.execute(AssertSqlSafe(format!(
        "CREATE DATABASE IF NOT EXISTS `{schema}`"
    )))
    .await
    .unwrap();
    let cluster = ClusterId::parse(CLUSTER).unwrap();
    let username = DbUsername::from_email(
        &Email::parse(&format!("report.e2e{}@example.com", std::process::id())).unwrap(),
    )
    .unwrap();
    let id = RequestId::parse("01KAXR4C1PRECE1PTTESTS0001").unwrap();
    let (accounts, password, mut session) =
        logged_in(&admin, &cluster, id, &username, &schema).await;
    // A window that closes 3 seconds from now: the first statements run inside it, the last
    // one after it.
    let now = OffsetDateTime::now_utc();
    let start = now - time::Duration::minutes(15) + time::Duration::seconds(3);
    let request = request_from(&id.to_string(), username.clone(), start, start);
    let store = MemoryStore::new();
    store.insert(&request).await.unwrap();
    session
        .execute(sqlx::raw_sql("SELECT 'inside the window'"))
        .await
        .unwrap();
    session
        .execute(sqlx::raw_sql("SELECT * FROM no_such_report_table"))
        .await
        .unwrap_err();
    let end = request.window().end();
    let wait = end - OffsetDateTime::now_utc() + time::Duration::milliseconds(1500);
    tokio::time::sleep(Duration::from_secs_f64(wait.as_seconds_f64().max(0.0))).await;
    session
        .execute(sqlx::raw_sql("SELECT 'after the window'"))
        .await
        .unwrap();
    session.close().await.unwrap();
    accounts.remove(&cluster, &username).await.unwrap();

    let audit = AuditFiles::new().with_cluster(cluster, &audit_log);
    receipt_once_logged(&store, &audit, id, |db| {
        db.outside_window
            .iter()
            .any(|s| s.text.contains("after the window"))
    })
    .await;
    let period = Period::new(
        now - time::Duration::hours(1),
        now + time::Duration::hours(1),
    )
    .unwrap();
    let report = |expected_hosts: HostPatterns| {
        let scope = ReportScope {
            expected_hosts,
            ..ReportScope::of(period)
        };
        let (store, audit, request) = (&store, &audit, request.clone());
        async move {
            Broker::new(
                Ports::new(store, NoChat::default(), SystemClock)
                    .with_evidence(audit, NoBastionSessions),
                Vec::new(),
            )
            .report(vec![request], scope)
            .await
            .unwrap()
        }
    };

    let from_here = report(HostPatterns::loopback()).await;

    let kinds: Vec<(AnomalyKind, &str)> = from_here
        .anomalies
        .iter()
        .map(|a| (a.kind, a.subject.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (AnomalyKind::OutsideWindow, "SELECT 'after the window'"),
            (
                AnomalyKind::FailedStatement,
                "SELECT * FROM no_such_report_table"
            ),
        ],
        "the statement inside the window is no anomaly; the login came from this machine"
    );
    let page = html::render(&from_here);
    let anomalies =
        &page[page.find("id=\"anomalies\"").unwrap()..page.find("id=\"timeline\"").unwrap()];
    assert!(
        anomalies.contains("SELECT &#39;after the window&#39;"),
        "{anomalies}"
    );
    assert!(
        anomalies.contains("after the window closed at"),
        "{anomalies}"
    );
    assert!(
        anomalies.contains("SELECT * FROM no_such_report_table"),
        "{anomalies}"
    );
    assert!(anomalies.contains("error 1146"), "{anomalies}");
    assert!(!anomalies.contains("inside the window"));
    assert!(!page.contains(password.expose()));

    let from_bastions_only = report(HostPatterns::new(["10.%"])).await;
    assert!(
        from_bastions_only
            .anomalies
            .iter()
            .any(|a| a.kind == AnomalyKind::UnexpectedHost && a.subject == "127.0.0.1"),
        "the server logged the client's address: {:?}",
        from_bastions_only.anomalies
    );
}
