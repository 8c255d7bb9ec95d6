//! `MySqlAccounts` against the real MariaDB that `scripts/test.sh` starts: what each level can
//! and cannot do, that teardown really ends access, that the server ends it by itself at the
//! backstop deadline, idempotence, foreign accounts, injection, and the audit log the server
//! writes about it all.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use powerpole_core::ports::{Backstop, DbAccounts, Removal};
use powerpole_core::{
    AuditOperation, BlastRadius, ClusterId, DbPassword, DbUsername, Error as CoreError, GrantPlan,
    Permission, RequestId, SchemaName, SensitiveTables,
};
use powerpole_mysql::{AccountSettings, MySqlAccounts, parse_log};
use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor, MySqlConnection, Row};

/// The backstop deadline the tests give: far beyond any test.
const WINDOW: time::Duration = time::Duration::hours(1);

struct Fixture {
    accounts: MySqlAccounts,
    cluster: ClusterId,
    admin: MySqlConnectOptions,
}

async fn fixture() -> Option<Fixture> {
    let url = powerpole_testkit::mysql_admin_url()?;
    let admin: MySqlConnectOptions = url
        .parse()
        .expect("POWERPOLE_TEST_MYSQL_URL is a mysql:// URL");
    let cluster = ClusterId::parse("test-mariadb").unwrap();
    let accounts =
        MySqlAccounts::new().with_cluster(cluster.clone(), admin.clone(), AccountSettings::new());
    Some(Fixture {
        accounts,
        cluster,
        admin,
    })
}

/// What [`Fixture::provision`] created.
struct Provisioned {
    user: DbUsername,
    schema: SchemaName,
    password: DbPassword,
    plan: GrantPlan,
    id: RequestId,
}

/// A user name and schema name no other test uses.
fn unique(prefix: &str) -> (DbUsername, SchemaName) {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let tag = format!("{prefix}{}x{n}", std::process::id());
    (
        DbUsername::parse(&format!("u.{tag}")).unwrap(),
        SchemaName::parse(&format!("s_{tag}")).unwrap(),
    )
}

fn request_id() -> RequestId {
    RequestId::generate(time::OffsetDateTime::now_utc(), &mut rand::rng())
}

impl Fixture {
    async fn admin(&self) -> MySqlConnection {
        self.admin.connect().await.expect("admin connects")
    }

    async fn admin_exec(&self, sql: String) {
        let mut conn = self.admin().await;
        if let Err(e) = conn.execute(AssertSqlSafe(sql)).await {
            panic!("admin statement failed: {e}");
        }
    }

    /// A fresh account with `permission` on a fresh schema holding one row.
    async fn provision(&self, prefix: &str, permission: Permission) -> Provisioned {
        let (user, schema) = unique(prefix);
        self.schema_with_table(&schema).await;
        let id = request_id();
        let password = DbPassword::generate();
        let plan = GrantPlan::new(permission, [schema.clone()]).unwrap();
        self.accounts
            .create(&self.cluster, id, &user, &password, &plan, WINDOW)
            .await
            .unwrap();
        Provisioned {
            user,
            schema,
            password,
            plan,
            id,
        }
    }

    async fn schema_with_table(&self, schema: &SchemaName) {
        self.admin_exec(format!("CREATE DATABASE IF NOT EXISTS `{schema}`"))
            .await;
        self.admin_exec(format!(
            "CREATE TABLE IF NOT EXISTS `{schema}`.t (id INT PRIMARY KEY)"
        ))
        .await;
        self.admin_exec(format!("INSERT IGNORE INTO `{schema}`.t VALUES (1)"))
            .await;
    }

    async fn login(
        &self,
        user: &DbUsername,
        password: &str,
    ) -> Result<MySqlConnection, sqlx::Error> {
        self.admin
            .clone()
            .username(user.as_str())
            .password(password)
            .connect()
            .await
    }

    async fn grants_of(&self, user: &DbUsername) -> Vec<String> {
        let mut conn = self.admin().await;
        let mut grants: Vec<String> =
            sqlx::query(AssertSqlSafe(format!("SHOW GRANTS FOR '{user}'@'%'")))
                .fetch_all(&mut conn)
                .await
                .unwrap()
                .iter()
                .map(|row| row.get::<String, _>(0))
                .collect();
        grants.sort();
        grants
    }
}

impl Fixture {
    /// When (Unix seconds) the server runs `user`'s backstop event, if it has one.
    async fn backstop_at(&self, user: &DbUsername) -> Option<i64> {
        sqlx::query_scalar(
            "SELECT CAST(UNIX_TIMESTAMP(EXECUTE_AT) AS SIGNED) FROM information_schema.EVENTS \
             WHERE EVENT_SCHEMA = 'powerpole' AND EVENT_NAME = ?",
        )
        .bind(format!("backstop_{user}"))
        .fetch_optional(&mut self.admin().await)
        .await
        .unwrap()
    }

    async fn backstop_of(&self, user: &DbUsername) -> Backstop {
        let listed = self.accounts.list(&self.cluster).await.unwrap();
        listed
            .iter()
            .find(|a| a.username == *user)
            .map(|a| a.backstop)
            .expect("the account is listed")
    }
}

async fn run(conn: &mut MySqlConnection, sql: String) -> Result<(), sqlx::Error> {
    conn.execute(AssertSqlSafe(sql)).await.map(drop)
}

#[tokio::test]
async fn each_level_can_do_exactly_what_it_grants() {
    let Some(f) = fixture().await else { return };
    for permission in Permission::ALL {
        let Provisioned {
            user,
            schema,
            password,
            ..
        } = f
            .provision(&permission.as_str().to_lowercase(), permission)
            .await;

        let mut conn = f
            .login(&user, password.expose())
            .await
            .expect("generated password logs in");
        let n: i64 =
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM `{schema}`.t")))
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert_eq!(n, 1);
        let insert = run(&mut conn, format!("INSERT INTO `{schema}`.t VALUES (2)")).await;
        assert_eq!(
            insert.is_ok(),
            permission >= Permission::Dml,
            "{permission} INSERT: {insert:?}"
        );
        let create = run(&mut conn, format!("CREATE TABLE `{schema}`.t2 (id INT)")).await;
        assert_eq!(
            create.is_ok(),
            permission == Permission::Ddl,
            "{permission} CREATE: {create:?}"
        );
        assert!(
            run(&mut conn, "SELECT * FROM mysql.user".into())
                .await
                .is_err(),
            "{permission} read mysql.user"
        );
        let grant = run(
            &mut conn,
            format!("GRANT SELECT ON `{schema}`.* TO '{user}'@'%'"),
        )
        .await;
        assert!(grant.is_err(), "{permission} could grant");
        let other = run(&mut conn, "CREATE DATABASE someone_elses".into()).await;
        assert!(other.is_err(), "{permission} created a database");
        conn.close().await.ok();

        f.accounts.remove(&f.cluster, &user).await.unwrap();
        f.admin_exec(format!("DROP DATABASE `{schema}`")).await;
    }
}

#[tokio::test]
async fn teardown_kills_open_sessions_and_refuses_new_logins() {
    let Some(f) = fixture().await else { return };
    let Provisioned {
        user,
        schema,
        password,
        ..
    } = f.provision("end", Permission::Read).await;
    let mut open = f.login(&user, password.expose()).await.unwrap();
    let mut second = f.login(&user, password.expose()).await.unwrap();
    run(&mut open, "SELECT 1".into()).await.unwrap();

    let removal = f.accounts.remove(&f.cluster, &user).await.unwrap();
    assert_eq!(removal, Removal::Dropped { sessions_killed: 2 });

    let after = run(&mut open, format!("SELECT COUNT(*) FROM `{schema}`.t")).await;
    assert!(after.is_err(), "open session survived teardown");
    assert!(run(&mut second, "SELECT 1".into()).await.is_err());
    assert!(
        f.login(&user, password.expose()).await.is_err(),
        "new login after teardown"
    );
    assert_eq!(
        f.accounts.remove(&f.cluster, &user).await.unwrap(),
        Removal::AlreadyGone
    );
    assert!(
        !f.accounts
            .list(&f.cluster)
            .await
            .unwrap()
            .iter()
            .any(|a| a.username == user)
    );
    f.admin_exec(format!("DROP DATABASE `{schema}`")).await;
}

#[tokio::test]
async fn provisioning_twice_leaves_one_account_with_the_same_grants() {
    let Some(f) = fixture().await else { return };
    let Provisioned {
        user,
        schema,
        password,
        plan,
        id,
    } = f.provision("idem", Permission::Dml).await;
    let first = f.grants_of(&user).await;
    f.accounts
        .create(&f.cluster, id, &user, &password, &plan, WINDOW)
        .await
        .unwrap();
    assert_eq!(f.grants_of(&user).await, first);
    assert!(
        first
            .iter()
            .any(|g| g.contains("INSERT") && g.contains(&schema.as_str().replace('_', "\\_"))),
        "{first:?}"
    );

    let listed: Vec<_> = f
        .accounts
        .list(&f.cluster)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.username == user)
        .collect();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].request, id);
    assert!(listed[0].exists && !listed[0].locked);
    f.login(&user, password.expose())
        .await
        .expect("still logs in");

    let other = f
        .accounts
        .create(
            &f.cluster,
            request_id(),
            &user,
            &DbPassword::generate(),
            &plan,
            WINDOW,
        )
        .await;
    assert!(matches!(other, Err(CoreError::Conflict(_))), "{other:?}");
    f.login(&user, password.expose())
        .await
        .expect("other request changed nothing");

    f.admin_exec(format!("ALTER USER '{user}'@'%' ACCOUNT LOCK"))
        .await;
    let listed = f.accounts.list(&f.cluster).await.unwrap();
    assert!(
        listed.iter().any(|a| a.username == user && a.locked),
        "lock not seen"
    );

    f.accounts.remove(&f.cluster, &user).await.unwrap();
    f.admin_exec(format!("DROP DATABASE `{schema}`")).await;
}

#[tokio::test]
async fn the_blast_radius_names_the_grants_create_runs_and_the_tables_they_reach_changing_nothing()
{
    let Some(f) = fixture().await else { return };
    let (user, schema) = unique("blast");
    f.schema_with_table(&schema).await;
    for table in ["users", "pii_people"] {
        f.admin_exec(format!(
            "CREATE TABLE `{schema}`.{table} (id INT PRIMARY KEY, note VARCHAR(200))"
        ))
        .await;
    }
    f.admin_exec(format!(
        "INSERT INTO `{schema}`.users (id, note) WITH RECURSIVE n(i) AS \
         (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) SELECT i, REPEAT('x', 150) FROM n"
    ))
    .await;
    f.admin_exec(format!(
        "CREATE VIEW `{schema}`.v AS SELECT id FROM `{schema}`.t"
    ))
    .await;
    f.admin_exec(format!("ANALYZE TABLE `{schema}`.users, `{schema}`.t"))
        .await;
    let plan = GrantPlan::new(Permission::Dml, [schema.clone()]).unwrap();

    let survey = f.accounts.survey(&f.cluster, &user, &plan).await.unwrap();

    let privileges: Vec<&str> = Permission::Dml
        .privileges()
        .iter()
        .map(|p| p.name())
        .collect();
    assert_eq!(
        survey.grants,
        [format!(
            "GRANT {} ON `{}`.* TO '{user}'@'%'",
            privileges.join(", "),
            schema.as_str().replace('_', "\\_")
        )]
    );
    let mut tables: Vec<&str> = survey.tables.iter().map(|t| t.table.as_str()).collect();
    tables.sort_unstable();
    assert_eq!(
        tables,
        ["pii_people", "t", "users"],
        "base tables only, no view"
    );
    let users = survey.tables.iter().find(|t| t.table == "users").unwrap();
    assert!(
        users.rows.is_some_and(|rows| rows >= 100) && users.bytes.is_some_and(|b| b > 0),
        "{users:?}"
    );
    let radius = BlastRadius::of(
        &survey,
        &SensitiveTables::parse(["users", "pii_*"]).unwrap(),
    );
    assert_eq!(
        radius.sensitive,
        [format!("{schema}.pii_people"), format!("{schema}.users")]
    );
    assert!(
        !powerpole_testkit::mysql::user_exists(&f.admin, user.as_str())
            .await
            .unwrap(),
        "a survey creates no account"
    );

    f.accounts
        .create(
            &f.cluster,
            request_id(),
            &user,
            &DbPassword::generate(),
            &plan,
            WINDOW,
        )
        .await
        .unwrap();
    let granted = f.grants_of(&user).await;
    f.accounts.remove(&f.cluster, &user).await.unwrap();
    let on_schema = format!(" ON `{}`.* TO ", schema.as_str().replace('_', "\\_"));
    let shown: Vec<BTreeSet<&str>> = granted
        .iter()
        .filter_map(|g| g.strip_prefix("GRANT ")?.split_once(on_schema.as_str()))
        .map(|(privileges, _)| privileges.split(", ").collect())
        .collect();
    assert_eq!(
        shown,
        [privileges.iter().copied().collect::<BTreeSet<_>>()],
        "create granted what the card showed: {granted:?}"
    );
    f.admin_exec(format!("DROP DATABASE `{schema}`")).await;
}

#[tokio::test]
async fn a_foreign_account_with_the_same_name_is_never_touched() {
    let Some(f) = fixture().await else { return };
    let (user, schema) = unique("foreign");
    f.admin_exec(format!(
        "CREATE USER '{user}'@'%' IDENTIFIED BY 'Their-own-password-1234567890abc'"
    ))
    .await;
    let plan = GrantPlan::new(Permission::Ddl, [schema]).unwrap();
    let created = f
        .accounts
        .create(
            &f.cluster,
            request_id(),
            &user,
            &DbPassword::generate(),
            &plan,
            WINDOW,
        )
        .await;
    let err = created.unwrap_err();
    assert!(matches!(err, CoreError::Conflict(_)), "{err}");
    assert!(
        err.to_string().contains("not managed by powerpole"),
        "{err}"
    );
    f.login(&user, "Their-own-password-1234567890abc")
        .await
        .expect("password unchanged");
    assert_eq!(f.grants_of(&user).await.len(), 1, "no grant added");
    let removed = f.accounts.remove(&f.cluster, &user).await;
    assert!(
        matches!(removed, Err(CoreError::Conflict(_))),
        "{removed:?}"
    );
    f.login(&user, "Their-own-password-1234567890abc")
        .await
        .expect("not dropped");
    f.admin_exec(format!("DROP USER '{user}'@'%'")).await;
}

#[tokio::test]
async fn enumerated_schemas_skip_system_registry_and_hostile_names() {
    let Some(f) = fixture().await else { return };
    let (user, schema) = unique("enum");
    f.schema_with_table(&schema).await;
    let look_alike = schema.as_str().replace('_', "X");
    let hostile = format!("ev`il'; DROP DATABASE {schema}; --{}", std::process::id());
    f.admin_exec(format!("CREATE DATABASE `{look_alike}`"))
        .await;
    f.admin_exec(format!("CREATE DATABASE `{}`", hostile.replace('`', "``")))
        .await;
    let password = DbPassword::generate();
    let plan = GrantPlan::new(Permission::Read, []).unwrap();
    f.accounts
        .create(&f.cluster, request_id(), &user, &password, &plan, WINDOW)
        .await
        .unwrap();

    let grants = f.grants_of(&user).await.join("\n");
    assert!(
        grants.contains(&format!("`{}`", schema.as_str().replace('_', "\\_"))),
        "{grants}"
    );
    for never in [
        "`mysql`",
        "`sys`",
        "`performance_schema`",
        "`information_schema`",
        "`powerpole`",
        "ev``il",
    ] {
        assert!(!grants.contains(never), "granted on {never}: {grants}");
    }
    assert!(
        !grants.contains("ON *.*") || grants.contains("GRANT USAGE ON *.*"),
        "{grants}"
    );
    let mut conn = f.login(&user, password.expose()).await.unwrap();
    let look = run(&mut conn, format!("CREATE TABLE `{look_alike}`.t (id INT)")).await;
    assert!(look.is_err());
    let seen: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM `{look_alike}`.t"
    )))
    .fetch_one(&mut conn)
    .await
    .map_or(-1, |n| n);
    assert_eq!(seen, -1, "underscore acted as a wildcard");
    conn.close().await.ok();

    f.accounts.remove(&f.cluster, &user).await.unwrap();
    f.admin_exec(format!("DROP DATABASE `{look_alike}`")).await;
    f.admin_exec(format!("DROP DATABASE `{}`", hostile.replace('`', "``")))
        .await;
    f.admin_exec(format!("DROP DATABASE `{schema}`")).await;
}

#[tokio::test]
async fn hostile_names_are_refused_before_any_sql() {
    for bad in ["x'@'%'; DROP USER root; --", "a`b", "a;b", "root", "bob'"] {
        assert!(DbUsername::parse(bad).is_err(), "{bad:?}");
    }
    for bad in ["a`; DROP DATABASE mysql; --", "x'y", "a;b", "a.b"] {
        assert!(SchemaName::parse(bad).is_err(), "{bad:?}");
    }
    assert!(
        AccountSettings::new()
            .with_host("%'; DROP USER root; --")
            .is_err()
    );
    assert!(AccountSettings::new().with_host("10.0.%").is_ok());
}

#[tokio::test]
async fn unknown_cluster_is_a_clear_error_and_password_never_leaks_into_errors() {
    let Some(f) = fixture().await else { return };
    let password = DbPassword::generate();
    let (user, schema) = unique("leak");
    let plan = GrantPlan::new(Permission::Read, [schema]).unwrap();
    let other = ClusterId::parse("nowhere").unwrap();
    let err = f
        .accounts
        .create(&other, request_id(), &user, &password, &plan, WINDOW)
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::NotFound(_)), "{err}");

    let unreachable = MySqlAccounts::new().with_cluster(
        f.cluster.clone(),
        f.admin.clone().port(1),
        AccountSettings::new(),
    );
    let err = unreachable
        .create(&f.cluster, request_id(), &user, &password, &plan, WINDOW)
        .await
        .unwrap_err();
    assert!(
        err.is_retryable(),
        "connection refused should be retryable: {err}"
    );
    let mut chain = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        chain.push_str(&format!(" {s} {s:?}"));
        source = s.source();
    }
    assert!(
        !chain.contains(password.expose()),
        "password in error chain"
    );
}

#[tokio::test]
async fn the_audit_log_of_these_operations_parses_and_names_the_user() {
    let Some(f) = fixture().await else { return };
    let Some(log) = powerpole_testkit::mysql_audit_log() else {
        return;
    };
    let Provisioned {
        user,
        schema,
        password,
        ..
    } = f.provision("audit", Permission::Dml).await;
    let mut conn = f.login(&user, password.expose()).await.unwrap();
    run(
        &mut conn,
        format!("UPDATE `{schema}`.t SET id = 7 WHERE id = 1"),
    )
    .await
    .unwrap();
    conn.close().await.unwrap();
    f.accounts.remove(&f.cluster, &user).await.unwrap();

    let mut records = Vec::new();
    for _ in 0..50 {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let (good, _bad) = parse_log(&text);
        records = good
            .into_iter()
            .filter(|r| r.username == user.as_str())
            .collect();
        if records
            .iter()
            .any(|r| r.operation == AuditOperation::Disconnect)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        records
            .iter()
            .any(|r| r.operation == AuditOperation::Connect),
        "{records:?}"
    );
    let update = records
        .iter()
        .find(|r| r.operation == AuditOperation::Query && r.object.starts_with("UPDATE"))
        .expect("UPDATE audited");
    assert_eq!(
        update.object,
        format!("UPDATE `{schema}`.t SET id = 7 WHERE id = 1")
    );
    assert_eq!(update.retcode, 0);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains(password.expose()),
        "password in the audit log"
    );
    f.admin_exec(format!("DROP DATABASE `{schema}`")).await;
}

#[tokio::test]
async fn the_server_locks_the_account_and_ends_its_sessions_by_itself_at_the_deadline() {
    let Some(f) = fixture().await else { return };
    let (user, schema) = unique("backstop");
    f.schema_with_table(&schema).await;
    let password = DbPassword::generate();
    let plan = GrantPlan::new(Permission::Read, [schema.clone()]).unwrap();
    let armed = f
        .accounts
        .create(
            &f.cluster,
            request_id(),
            &user,
            &password,
            &plan,
            time::Duration::seconds(2),
        )
        .await
        .unwrap();
    assert_eq!(
        armed,
        Backstop::Armed,
        "test.sh starts MariaDB with event_scheduler=ON"
    );
    assert_eq!(f.backstop_of(&user).await, Backstop::Armed);
    let mut open = f.login(&user, password.expose()).await.unwrap();
    run(&mut open, "SELECT 1".into()).await.unwrap();

    // Nobody calls remove: only the server acts.
    let mut refused = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Err(e) = f.login(&user, password.expose()).await {
            refused = Some(e.to_string());
            break;
        }
    }
    let refused = refused.expect("the account is locked within 10 s of its deadline");
    assert!(refused.contains("locked"), "{refused}");
    let mut killed = false;
    for _ in 0..50 {
        if run(&mut open, "SELECT 1".into()).await.is_err() {
            killed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(killed, "the open session is killed with the lock");
    assert_eq!(
        f.backstop_at(&user).await,
        None,
        "a fired event drops itself"
    );

    assert!(matches!(
        f.accounts.remove(&f.cluster, &user).await.unwrap(),
        Removal::Dropped { .. }
    ));
    f.admin_exec(format!("DROP DATABASE `{schema}`")).await;
}

#[tokio::test]
async fn creating_again_moves_the_backstop_and_removal_leaves_no_event_behind() {
    let Some(f) = fixture().await else { return };
    let Provisioned {
        user,
        schema,
        password,
        plan,
        id,
    } = f.provision("moved", Permission::Read).await;
    let first = f.backstop_at(&user).await.expect("an event is scheduled");

    f.accounts
        .create(&f.cluster, id, &user, &password, &plan, WINDOW * 2)
        .await
        .unwrap();

    let moved = f.backstop_at(&user).await.expect("still one event");
    let by = time::Duration::seconds(moved - first);
    assert!(
        (by - WINDOW).abs() < time::Duration::seconds(30),
        "moved by {by}, not by one more hour"
    );
    f.accounts.remove(&f.cluster, &user).await.unwrap();
    assert_eq!(f.backstop_at(&user).await, None);
    f.admin_exec(format!("DROP DATABASE `{schema}`")).await;
}

#[tokio::test]
async fn the_sweeper_sees_an_account_whose_backstop_is_missing() {
    let Some(f) = fixture().await else { return };
    let Provisioned { user, schema, .. } = f.provision("nobackstop", Permission::Read).await;
    f.admin_exec(format!("DROP EVENT `powerpole`.`backstop_{user}`"))
        .await;

    assert_eq!(f.backstop_of(&user).await, Backstop::Missing);

    f.accounts.remove(&f.cluster, &user).await.unwrap();
    f.admin_exec(format!("DROP DATABASE `{schema}`")).await;
}

#[tokio::test]
async fn the_one_time_user_logs_in_only_over_tls_unless_the_cluster_allows_clear_text() {
    let Some(f) = fixture().await else { return };
    let Some(ca) = powerpole_testkit::mysql_ca() else {
        return;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    f.accounts.check_server(&f.cluster).await.unwrap();
    let Provisioned {
        user,
        schema,
        password,
        ..
    } = f.provision("tls", Permission::Read).await;
    let as_user = f
        .admin
        .clone()
        .username(user.as_str())
        .password(password.expose());

    let clear = as_user
        .clone()
        .ssl_mode(MySqlSslMode::Disabled)
        .connect()
        .await;
    let refused = clear.expect_err("REQUIRE SSL refuses a clear-text login");
    assert!(refused.to_string().contains("Access denied"), "{refused}");
    let mut verified = as_user
        .clone()
        .ssl_mode(MySqlSslMode::VerifyCa)
        .ssl_ca(&ca)
        .connect()
        .await
        .expect("logs in over TLS, the server's certificate verified against the CA");
    let cipher: Option<(String, String)> = sqlx::query_as("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        .fetch_optional(&mut verified)
        .await
        .unwrap();
    assert!(
        cipher.is_some_and(|(_, c)| !c.is_empty()),
        "the session is encrypted"
    );
    f.accounts.remove(&f.cluster, &user).await.unwrap();

    let (plain_user, _) = unique("plain");
    let plain = MySqlAccounts::new().with_cluster(
        f.cluster.clone(),
        f.admin.clone(),
        AccountSettings::new().with_require_tls(false),
    );
    let plain_password = DbPassword::generate();
    plain
        .create(
            &f.cluster,
            request_id(),
            &plain_user,
            &plain_password,
            &GrantPlan::new(Permission::Read, [schema.clone()]).unwrap(),
            WINDOW,
        )
        .await
        .unwrap();
    f.admin
        .clone()
        .username(plain_user.as_str())
        .password(plain_password.expose())
        .ssl_mode(MySqlSslMode::Disabled)
        .connect()
        .await
        .expect("require_tls = false allows clear text");
    plain.remove(&f.cluster, &plain_user).await.unwrap();
    f.admin_exec(format!("DROP DATABASE `{schema}`")).await;
}

#[tokio::test]
async fn a_read_users_statements_stop_at_the_configured_limit_and_other_levels_have_none() {
    let Some(f) = fixture().await else { return };
    let limited = MySqlAccounts::new().with_cluster(
        f.cluster.clone(),
        f.admin.clone(),
        AccountSettings::new()
            .with_max_user_connections(1)
            .unwrap()
            .with_read_statement_timeout(Duration::from_secs(1))
            .unwrap(),
    );
    let (reader, schema) = unique("limited");
    f.schema_with_table(&schema).await;
    let password = DbPassword::generate();
    let read = GrantPlan::new(Permission::Read, [schema.clone()]).unwrap();
    limited
        .create(&f.cluster, request_id(), &reader, &password, &read, WINDOW)
        .await
        .unwrap();

    let mut conn = f.login(&reader, password.expose()).await.unwrap();
    let started = std::time::Instant::now();
    let slept: Result<i64, _> = sqlx::query_scalar("SELECT SLEEP(5)")
        .fetch_one(&mut conn)
        .await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "MAX_STATEMENT_TIME 1 stops the statement, not after {took:?}"
    );
    assert!(
        !matches!(slept, Ok(0)),
        "the sleep did not complete: {slept:?}"
    );
    let second = f.login(&reader, password.expose()).await;
    assert!(
        second.is_err(),
        "MAX_USER_CONNECTIONS 1 refuses a second session"
    );
    drop(conn);
    limited.remove(&f.cluster, &reader).await.unwrap();

    let (writer, _) = unique("unlimited");
    let dml = GrantPlan::new(Permission::Dml, [schema.clone()]).unwrap();
    limited
        .create(&f.cluster, request_id(), &writer, &password, &dml, WINDOW)
        .await
        .unwrap();
    let mut conn = f.login(&writer, password.expose()).await.unwrap();
    let slept: i64 = sqlx::query_scalar("SELECT SLEEP(1.5)")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(slept, 0, "the statement limit is for READ users only");
    drop(conn);
    limited.remove(&f.cluster, &writer).await.unwrap();
    f.admin_exec(format!("DROP DATABASE `{schema}`")).await;
}
