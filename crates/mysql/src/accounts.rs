//! One-time DB accounts on Aurora MySQL / MariaDB: the [`DbAccounts`] port over sqlx.
//!
//! **Which accounts are the broker's.** Both servers must answer it, and MariaDB 10.11 has no
//! account comments or attributes (MySQL 8.0.21+ only), so the broker keeps a registry table,
//! `powerpole.managed_accounts`, on each cluster: one row per account, with the request that owns
//! it. The row is written before `CREATE USER` and deleted after `DROP USER`, so a crash between
//! the two leaves a row the sweeper can act on, and an account of the same name that has no row is
//! someone else's and is never touched. The `powerpole` schema is excluded from every grant.
//!
//! **The backstop.** Each account gets a one-off `EVENT`, `powerpole.backstop_<user>`, that
//! locks it and kills its sessions at the deadline the broker gives (window end plus a grace):
//! access ends even if every Lambda, the workflow and the sweeper are gone. It needs the
//! server's `event_scheduler=ON` (on Aurora: the DB cluster parameter group); when it is off
//! the account is still made, and provisioning and the sweeper say so. Removal drops the event;
//! a fired event drops itself (`ON COMPLETION NOT PRESERVE`).
//!
//! **Rotated admin credentials.** A cluster added with [`MySqlAccounts::with_rotating_cluster`]
//! reads its administrator's credentials from an [`AdminCredentials`] source again once they are
//! older than the settings' TTL, and at once when the server refuses them (MySQL error 1045),
//! retrying the operation once: a rotation of the admin secret never breaks a teardown.
//!
//! Only SQL that both MySQL 8.0 (Aurora MySQL 3) and MariaDB 10.11 accept is used. Statement
//! logging is off on every connection, and errors of statements that carry the password are
//! replaced by fixed text, so the password reaches the server and nothing else.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use powerpole_core::ports::{Backstop, DbAccounts, ManagedAccount, Removal};
use powerpole_core::{
    ClusterId, DbPassword, DbUsername, GrantPlan, Permission, RequestId, SchemaName, Survey,
    TableStats,
};
use sqlx::mysql::{MySqlConnectOptions, MySqlDatabaseError, MySqlPool, MySqlPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, MySql, Row};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::sql;

/// The schema holding the broker's registry on each cluster.
pub const REGISTRY_SCHEMA: &str = "powerpole";

/// The most tables one survey reads, so a cluster with a vast catalogue cannot stall the card.
pub const MAX_SURVEYED_TABLES: usize = 20_000;

/// How the broker's accounts look on one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSettings {
    host: String,
    max_user_connections: u32,
    schemas: Option<Vec<SchemaName>>,
    connect_timeout: Duration,
    require_tls: bool,
    read_statement_timeout: Option<Duration>,
}

impl AccountSettings {
    /// Accounts that may connect from any host (`%`, the bastion's address is not known in
    /// advance), only over TLS (`REQUIRE SSL`), with at most 4 sessions, granted on every user
    /// schema; the broker waits up to 10 s for a connection to the server before reporting it
    /// unreachable (retryable).
    #[must_use]
    pub fn new() -> Self {
        Self {
            host: "%".to_owned(),
            max_user_connections: 4,
            schemas: None,
            connect_timeout: Duration::from_secs(10),
            require_tls: true,
            read_statement_timeout: None,
        }
    }

    /// The longest a READ account's statement may run before the server aborts it
    /// (`MAX_STATEMENT_TIME`, MariaDB only: MySQL and Aurora have no per-account limit, only the
    /// global `max_execution_time`, and the setting is ignored there with a note in the log).
    ///
    /// # Errors
    /// [`Error::Config`] for less than a second or more than a day.
    pub fn with_read_statement_timeout(mut self, timeout: Duration) -> Result<Self> {
        if !(Duration::from_secs(1)..=Duration::from_secs(86_400)).contains(&timeout) {
            return Err(Error::Config(format!(
                "read statement timeout must be 1 s to 1 day, not {timeout:?}"
            )));
        }
        self.read_statement_timeout = Some(timeout);
        Ok(self)
    }

    /// Whether the accounts may log in only over TLS (`REQUIRE SSL`, the default) or also in
    /// clear text (`REQUIRE NONE`, for a server without TLS).
    #[must_use]
    pub fn with_require_tls(mut self, require: bool) -> Self {
        self.require_tls = require;
        self
    }

    /// How long the broker waits for a connection to the server before the operation fails as
    /// unreachable (and is retried by the workflow).
    ///
    /// # Errors
    /// [`Error::Config`] for less than 100 ms or more than 5 minutes.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Result<Self> {
        if !(Duration::from_millis(100)..=Duration::from_secs(300)).contains(&timeout) {
            return Err(Error::Config(format!(
                "connect timeout must be 100 ms to 5 minutes, not {timeout:?}"
            )));
        }
        self.connect_timeout = timeout;
        Ok(self)
    }

    /// The host part of the accounts: a host name, an IP address, or a pattern with `%` / `_`
    /// such as `10.0.%`.
    ///
    /// # Errors
    /// [`Error::Config`] when the pattern has characters outside letters, digits and `.%_:-`.
    pub fn with_host(mut self, host: &str) -> Result<Self> {
        let valid = (1..=255).contains(&host.len())
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".%_:-".contains(c));
        if !valid {
            return Err(Error::Config(format!(
                "host pattern {host:?} may contain only letters, digits and .%_:-"
            )));
        }
        self.host = host.to_owned();
        Ok(self)
    }

    /// The most sessions one account may hold at once.
    ///
    /// # Errors
    /// [`Error::Config`] when `n` is 0 or above 100.
    pub fn with_max_user_connections(mut self, n: u32) -> Result<Self> {
        if !(1..=100).contains(&n) {
            return Err(Error::Config(format!(
                "max_user_connections must be 1 to 100, not {n}"
            )));
        }
        self.max_user_connections = n;
        Ok(self)
    }

    /// Grants only on these schemas instead of every user schema on the server.
    #[must_use]
    pub fn with_schemas(mut self, schemas: Vec<SchemaName>) -> Self {
        self.schemas = Some(schemas);
        self
    }
}

impl Default for AccountSettings {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a cluster's administrator credentials come from (on AWS, the cluster's admin secret),
/// read again after a rotation.
pub trait AdminCredentials: Send + Sync {
    /// The administrator's connection options as the source holds them now.
    ///
    /// # Errors
    /// The source's reason, in words that never hold the password.
    fn read(
        &self,
    ) -> Pin<Box<dyn Future<Output = std::result::Result<MySqlConnectOptions, String>> + Send + '_>>;
}

/// How long credentials read from an [`AdminCredentials`] source are used before they are read
/// again, when the server has not refused them before.
pub const ADMIN_CREDENTIALS_TTL: Duration = Duration::from_secs(300);

struct Rotating {
    source: Arc<dyn AdminCredentials>,
    read_at: Mutex<Instant>,
}

struct Cluster {
    pool: MySqlPool,
    settings: AccountSettings,
    rotating: Option<Rotating>,
}

impl Cluster {
    /// Reads the credentials again and gives them to the pool's new connections.
    async fn reread(&self, id: &ClusterId, rotating: &Rotating) -> Result<()> {
        let options = rotating.source.read().await.map_err(|problem| {
            Error::Config(format!(
                "cluster {id}: the administrator credentials could not be read again: {problem}"
            ))
        })?;
        self.pool
            .set_connect_options(options.disable_statement_logging());
        *rotating
            .read_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
        Ok(())
    }

    /// Runs `op`, with credentials no older than the TTL, and once more with freshly read ones
    /// when the server refuses the ones in use.
    async fn with_admin<T, F>(&self, id: &ClusterId, op: impl Fn() -> F) -> Result<T>
    where
        F: Future<Output = Result<T>>,
    {
        let Some(rotating) = &self.rotating else {
            return op().await;
        };
        let stale = rotating
            .read_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .elapsed()
            >= ADMIN_CREDENTIALS_TTL;
        if stale {
            self.reread(id, rotating).await?;
        }
        match op().await {
            Err(Error::Statement {
                code: Some(ER_ACCESS_DENIED),
                ..
            }) => {
                tracing::info!(cluster = %id, "the administrator's credentials were refused; reading them again");
                self.reread(id, rotating).await?;
                op().await
            }
            other => other,
        }
    }
}

/// The broker's accounts on the configured clusters, one small connection pool per cluster.
pub struct MySqlAccounts {
    clusters: HashMap<ClusterId, Cluster>,
    clock_speed: f64,
}

impl Default for MySqlAccounts {
    fn default() -> Self {
        Self {
            clusters: HashMap::new(),
            clock_speed: 1.0,
        }
    }
}

/// A registry row.
struct Registration {
    host: String,
    request: String,
}

impl MySqlAccounts {
    /// No clusters yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a cluster reached with `admin` (an account with `CREATE USER`, `GRANT OPTION` and the
    /// privileges it grants, like Aurora's master user). Connections open lazily.
    #[must_use]
    pub fn with_cluster(
        mut self,
        cluster: ClusterId,
        admin: MySqlConnectOptions,
        settings: AccountSettings,
    ) -> Self {
        let pool = MySqlPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(settings.connect_timeout)
            .connect_lazy_with(admin.disable_statement_logging());
        self.clusters.insert(
            cluster,
            Cluster {
                pool,
                settings,
                rotating: None,
            },
        );
        self
    }

    /// Adds a cluster reached with `admin`, read from `source`, which is read again when the
    /// credentials are older than [`ADMIN_CREDENTIALS_TTL`] or the server refuses them.
    #[must_use]
    pub fn with_rotating_cluster(
        self,
        cluster: ClusterId,
        admin: MySqlConnectOptions,
        source: Arc<dyn AdminCredentials>,
        settings: AccountSettings,
    ) -> Self {
        let mut accounts = self.with_cluster(cluster.clone(), admin, settings);
        if let Some(added) = accounts.clusters.get_mut(&cluster) {
            added.rotating = Some(Rotating {
                source,
                read_at: Mutex::new(Instant::now()),
            });
        }
        accounts
    }

    /// For a broker whose clock runs `speed` times faster than the servers' (embedded mode's
    /// compressed clock): the backstop deadlines it gives are divided by `speed`, so the
    /// server's event fires on the broker's timeline.
    ///
    /// # Errors
    /// [`Error::Config`] when `speed` is not a positive finite number.
    pub fn with_clock_speed(mut self, speed: f64) -> Result<Self> {
        if !speed.is_finite() || speed <= 0.0 {
            return Err(Error::Config(format!(
                "clock speed must be a positive number, not {speed}"
            )));
        }
        self.clock_speed = speed;
        Ok(self)
    }

    fn cluster(&self, id: &ClusterId) -> Result<&Cluster> {
        self.clusters
            .get(id)
            .ok_or_else(|| Error::UnknownCluster(id.clone()))
    }

    /// Creates the account and its backstop (see [`DbAccounts::create`]).
    ///
    /// # Errors
    /// [`Error::Foreign`], [`Error::OwnedByOtherRequest`], [`Error::Statement`].
    pub async fn create_account(
        &self,
        cluster_id: &ClusterId,
        request: RequestId,
        username: &DbUsername,
        password: &DbPassword,
        plan: &GrantPlan,
        lock_within: time::Duration,
    ) -> Result<Backstop> {
        self.cluster(cluster_id)?
            .with_admin(cluster_id, move || {
                self.create_once(cluster_id, request, username, password, plan, lock_within)
            })
            .await
    }

    async fn create_once(
        &self,
        cluster_id: &ClusterId,
        request: RequestId,
        username: &DbUsername,
        password: &DbPassword,
        plan: &GrantPlan,
        lock_within: time::Duration,
    ) -> Result<Backstop> {
        let cluster = self.cluster(cluster_id)?;
        let run = Runner {
            cluster_id,
            pool: &cluster.pool,
        };
        let host = cluster.settings.host.as_str();
        let user = username.as_str();
        run.ensure_registry().await?;
        let exists = run.account_exists(user, host).await?;
        let owner = match run.registration(user).await? {
            Some(reg) => reg.request,
            None if exists => {
                return Err(Error::Foreign {
                    cluster: cluster_id.clone(),
                    username: username.clone(),
                });
            }
            None => {
                run.bind_exec(
                    "register account",
                    "INSERT IGNORE INTO `powerpole`.`managed_accounts` (user, host, request_id) VALUES (?, ?, ?)",
                    &[user, host, &request.to_string()],
                )
                .await?;
                run.registration(user)
                    .await?
                    .map(|reg| reg.request)
                    .unwrap_or_default()
            }
        };
        if owner != request.to_string() {
            return Err(Error::OwnedByOtherRequest {
                cluster: cluster_id.clone(),
                username: username.clone(),
                owner,
            });
        }
        let account = sql::account(user, host);
        let statement_time = match cluster.settings.read_statement_timeout {
            Some(limit) if plan.permission() == Permission::Read => {
                if run.is_mariadb().await? {
                    format!(" MAX_STATEMENT_TIME {}", limit.as_secs())
                } else {
                    tracing::info!(
                        cluster = %cluster_id,
                        "MAX_STATEMENT_TIME is MariaDB's: this server has no per-account \
                         statement limit (set max_execution_time in its parameter group)"
                    );
                    String::new()
                }
            }
            _ => String::new(),
        };
        let identified = format!(
            "IDENTIFIED BY {} REQUIRE {} WITH MAX_USER_CONNECTIONS {}{statement_time}",
            sql::literal(password.expose()),
            if cluster.settings.require_tls {
                "SSL"
            } else {
                "NONE"
            },
            cluster.settings.max_user_connections
        );
        if exists {
            run.secret_exec(
                "reset account password",
                format!("ALTER USER {account} {identified}"),
            )
            .await?;
            run.exec(
                "revoke previous grants",
                format!("REVOKE ALL PRIVILEGES, GRANT OPTION FROM {account}"),
            )
            .await?;
        } else {
            run.secret_exec(
                "create account",
                format!("CREATE USER IF NOT EXISTS {account} {identified}"),
            )
            .await?;
        }
        for schema in self.grant_schemas(cluster_id, plan).await? {
            run.exec("grant privileges", grant_statement(plan, &schema, &account))
                .await?;
        }
        let seconds = (lock_within.as_seconds_f64() / self.clock_speed)
            .ceil()
            .max(1.0);
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a positive whole number of seconds, at least 1"
        )]
        run.arm_backstop(user, host, request, seconds as u64).await
    }

    /// Moves the backstop of request `request`'s account to `lock_within` from now (see
    /// [`DbAccounts::rearm`]): only the event is replaced; the account, its password, grants
    /// and sessions are not touched.
    ///
    /// # Errors
    /// [`Error::Foreign`] when the broker does not manage an account of that name,
    /// [`Error::OwnedByOtherRequest`] when another request owns it; [`Error::Statement`].
    pub async fn rearm_backstop(
        &self,
        cluster_id: &ClusterId,
        request: RequestId,
        username: &DbUsername,
        lock_within: time::Duration,
    ) -> Result<Backstop> {
        self.cluster(cluster_id)?
            .with_admin(cluster_id, move || {
                self.rearm_once(cluster_id, request, username, lock_within)
            })
            .await
    }

    async fn rearm_once(
        &self,
        cluster_id: &ClusterId,
        request: RequestId,
        username: &DbUsername,
        lock_within: time::Duration,
    ) -> Result<Backstop> {
        let cluster = self.cluster(cluster_id)?;
        let run = Runner {
            cluster_id,
            pool: &cluster.pool,
        };
        let user = username.as_str();
        run.ensure_registry().await?;
        let owner = match run.registration(user).await? {
            Some(reg) => reg.request,
            None => {
                return Err(Error::Foreign {
                    cluster: cluster_id.clone(),
                    username: username.clone(),
                });
            }
        };
        if owner != request.to_string() {
            return Err(Error::OwnedByOtherRequest {
                cluster: cluster_id.clone(),
                username: username.clone(),
                owner,
            });
        }
        let seconds = (lock_within.as_seconds_f64() / self.clock_speed)
            .ceil()
            .max(1.0);
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a positive whole number of seconds, at least 1"
        )]
        run.arm_backstop(
            user,
            cluster.settings.host.as_str(),
            request,
            seconds as u64,
        )
        .await
    }

    /// What `plan` would give `username` (see [`DbAccounts::survey`]): the grant statements and
    /// the base tables of the schemas they cover, with the server's row and size estimates.
    ///
    /// # Errors
    /// [`Error::Statement`] when the server cannot be read.
    pub async fn survey_plan(
        &self,
        cluster_id: &ClusterId,
        username: &DbUsername,
        plan: &GrantPlan,
    ) -> Result<Survey> {
        self.cluster(cluster_id)?
            .with_admin(cluster_id, move || {
                self.survey_once(cluster_id, username, plan)
            })
            .await
    }

    async fn survey_once(
        &self,
        cluster_id: &ClusterId,
        username: &DbUsername,
        plan: &GrantPlan,
    ) -> Result<Survey> {
        let cluster = self.cluster(cluster_id)?;
        let account = sql::account(username.as_str(), cluster.settings.host.as_str());
        let schemas = self.grant_schemas(cluster_id, plan).await?;
        let grants = schemas
            .iter()
            .map(|schema| grant_statement(plan, schema, &account))
            .collect();
        let mut tables = Vec::new();
        if !schemas.is_empty() {
            let marks = vec!["?"; schemas.len()].join(", ");
            let query = format!(
                "SELECT TABLE_SCHEMA, TABLE_NAME, CAST(TABLE_ROWS AS UNSIGNED), \
                 CAST(DATA_LENGTH + INDEX_LENGTH AS UNSIGNED) FROM information_schema.TABLES \
                 WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA IN ({marks}) \
                 ORDER BY TABLE_SCHEMA, TABLE_NAME LIMIT {MAX_SURVEYED_TABLES}"
            );
            let mut select = sqlx::query(AssertSqlSafe(query));
            for schema in &schemas {
                select = select.bind(schema.as_str());
            }
            let rows = select
                .fetch_all(&cluster.pool)
                .await
                .map_err(|e| statement_error("survey tables", cluster_id, e))?;
            for row in rows {
                let read = |e| statement_error("read table statistics", cluster_id, e);
                let schema: String = row.try_get(0).map_err(read)?;
                let Ok(schema) = SchemaName::parse(&schema) else {
                    continue;
                };
                tables.push(TableStats {
                    schema,
                    table: row.try_get(1).map_err(read)?,
                    rows: row.try_get(2).map_err(read)?,
                    bytes: row.try_get(3).map_err(read)?,
                });
            }
        }
        Ok(Survey {
            grants,
            schemas,
            tables,
        })
    }

    /// The schemas a plan's grants go to: the plan's own if it lists any, else the cluster's
    /// configured ones, else every user schema on the server. System schemas and the registry
    /// are never included; server schemas whose names the core refuses are skipped.
    async fn grant_schemas(
        &self,
        cluster_id: &ClusterId,
        plan: &GrantPlan,
    ) -> Result<Vec<SchemaName>> {
        let cluster = self.cluster(cluster_id)?;
        if !plan.schemas().is_empty() {
            return Ok(plan.schemas().to_vec());
        }
        if let Some(configured) = &cluster.settings.schemas {
            return Ok(configured.clone());
        }
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME",
        )
        .fetch_all(&cluster.pool)
        .await
        .map_err(|e| statement_error("list schemas", cluster_id, e))?;
        Ok(names
            .iter()
            .filter(|name| !name.eq_ignore_ascii_case(REGISTRY_SCHEMA))
            .filter_map(|name| SchemaName::parse(name).ok())
            .filter(|schema| !schema.is_system())
            .collect())
    }

    /// Checks that the cluster can give its accounts what the settings promise: TLS when they
    /// require it.
    ///
    /// # Errors
    /// [`Error::Config`] naming the cluster when accounts must use TLS and the server has none;
    /// [`Error::Statement`] when the server cannot be asked.
    pub async fn check_server(&self, cluster_id: &ClusterId) -> Result<()> {
        self.cluster(cluster_id)?
            .with_admin(cluster_id, move || self.check_once(cluster_id))
            .await
    }

    async fn check_once(&self, cluster_id: &ClusterId) -> Result<()> {
        let cluster = self.cluster(cluster_id)?;
        if !cluster.settings.require_tls {
            return Ok(());
        }
        let have_ssl: Option<String> = sqlx::query("SHOW GLOBAL VARIABLES LIKE 'have_ssl'")
            .fetch_optional(&cluster.pool)
            .await
            .and_then(|row| row.map(|row| row.try_get(1)).transpose())
            .map_err(|e| statement_error("read have_ssl", cluster_id, e))?;
        match have_ssl.as_deref() {
            Some("YES") | None => Ok(()),
            Some(other) => Err(Error::Config(format!(
                "cluster {cluster_id}: its accounts must use TLS (REQUIRE SSL) but the server \
                 has none (have_ssl = {other}): give it ssl_cert and ssl_key, or turn \
                 require_tls off for this cluster"
            ))),
        }
    }

    /// Ends the account (see [`DbAccounts::remove`]).
    ///
    /// # Errors
    /// [`Error::Foreign`] when the account is not the broker's; [`Error::Statement`].
    pub async fn remove_account(
        &self,
        cluster_id: &ClusterId,
        username: &DbUsername,
    ) -> Result<Removal> {
        self.cluster(cluster_id)?
            .with_admin(cluster_id, async || {
                self.remove_once(cluster_id, username).await
            })
            .await
    }

    async fn remove_once(&self, cluster_id: &ClusterId, username: &DbUsername) -> Result<Removal> {
        let cluster = self.cluster(cluster_id)?;
        let run = Runner {
            cluster_id,
            pool: &cluster.pool,
        };
        let user = username.as_str();
        run.ensure_registry().await?;
        let Some(reg) = run.registration(user).await? else {
            if run.any_account_named(user).await? {
                return Err(Error::Foreign {
                    cluster: cluster_id.clone(),
                    username: username.clone(),
                });
            }
            run.disarm_backstop(user).await?;
            return Ok(Removal::AlreadyGone);
        };
        let account = sql::account(user, &reg.host);
        if !run.account_exists(user, &reg.host).await? {
            run.disarm_backstop(user).await?;
            run.unregister(user).await?;
            return Ok(Removal::AlreadyGone);
        }
        run.exec("lock account", format!("ALTER USER {account} ACCOUNT LOCK"))
            .await?;
        let sessions_killed = run.kill_sessions(user).await?;
        run.disarm_backstop(user).await?;
        match run
            .exec("drop account", format!("DROP USER IF EXISTS {account}"))
            .await
        {
            Ok(()) => {
                run.unregister(user).await?;
                Ok(Removal::Dropped { sessions_killed })
            }
            Err(Error::Statement {
                message,
                retryable: false,
                ..
            }) => {
                run.exec(
                    "revoke privileges",
                    format!("REVOKE ALL PRIVILEGES, GRANT OPTION FROM {account}"),
                )
                .await?;
                Ok(Removal::LockedNotDropped { reason: message })
            }
            Err(err) => Err(err),
        }
    }

    /// The broker's accounts on the cluster (see [`DbAccounts::list`]).
    ///
    /// # Errors
    /// [`Error::Statement`].
    pub async fn list_accounts(&self, cluster_id: &ClusterId) -> Result<Vec<ManagedAccount>> {
        self.cluster(cluster_id)?
            .with_admin(cluster_id, move || self.list_once(cluster_id))
            .await
    }

    async fn list_once(&self, cluster_id: &ClusterId) -> Result<Vec<ManagedAccount>> {
        let cluster = self.cluster(cluster_id)?;
        let run = Runner {
            cluster_id,
            pool: &cluster.pool,
        };
        run.ensure_registry().await?;
        let rows = sqlx::query(
            "SELECT r.user, r.host, r.request_id, CAST(UNIX_TIMESTAMP(r.created_at) AS SIGNED), \
             u.User IS NOT NULL \
             FROM `powerpole`.`managed_accounts` r \
             LEFT JOIN mysql.user u ON u.User = r.user AND u.Host = r.host ORDER BY r.created_at",
        )
        .fetch_all(&cluster.pool)
        .await
        .map_err(|e| statement_error("list accounts", cluster_id, e))?;
        let events = run.backstop_events().await?;
        let scheduler_on = run.scheduler_on().await?;
        let mut accounts = Vec::with_capacity(rows.len());
        for row in rows {
            let read = |e| statement_error("read registry", cluster_id, e);
            let user: String = row.try_get(0).map_err(read)?;
            let host: String = row.try_get(1).map_err(read)?;
            let request: String = row.try_get(2).map_err(read)?;
            let created: i64 = row.try_get(3).map_err(read)?;
            let listed: bool = row.try_get(4).map_err(read)?;
            let lock = if listed {
                run.lock_state(&user, &host).await?
            } else {
                None
            };
            let (exists, locked) = (lock.is_some(), lock.unwrap_or(false));
            let bad_row = |what: &str| {
                Error::Config(format!("registry row for {user:?} has an invalid {what}"))
            };
            accounts.push(ManagedAccount {
                username: DbUsername::parse(&user).map_err(|_| bad_row("user name"))?,
                request: RequestId::parse(&request).map_err(|_| bad_row("request id"))?,
                created_at: OffsetDateTime::from_unix_timestamp(created)
                    .map_err(|_| bad_row("time"))?,
                exists,
                locked,
                backstop: match (events.contains(&backstop_name(&user)), scheduler_on) {
                    (false, _) => Backstop::Missing,
                    (true, true) => Backstop::Armed,
                    (true, false) => Backstop::SchedulerOff,
                },
            });
        }
        Ok(accounts)
    }
}

impl DbAccounts for MySqlAccounts {
    async fn create(
        &self,
        cluster: &ClusterId,
        request: RequestId,
        username: &DbUsername,
        password: &DbPassword,
        plan: &GrantPlan,
        lock_within: time::Duration,
    ) -> powerpole_core::Result<Backstop> {
        Ok(self
            .create_account(cluster, request, username, password, plan, lock_within)
            .await?)
    }

    async fn remove(
        &self,
        cluster: &ClusterId,
        username: &DbUsername,
    ) -> powerpole_core::Result<Removal> {
        Ok(self.remove_account(cluster, username).await?)
    }

    async fn rearm(
        &self,
        cluster: &ClusterId,
        request: RequestId,
        username: &DbUsername,
        lock_within: time::Duration,
    ) -> powerpole_core::Result<Backstop> {
        Ok(self
            .rearm_backstop(cluster, request, username, lock_within)
            .await?)
    }

    async fn list(&self, cluster: &ClusterId) -> powerpole_core::Result<Vec<ManagedAccount>> {
        Ok(self.list_accounts(cluster).await?)
    }

    async fn survey(
        &self,
        cluster: &ClusterId,
        username: &DbUsername,
        plan: &GrantPlan,
    ) -> powerpole_core::Result<Survey> {
        Ok(self.survey_plan(cluster, username, plan).await?)
    }
}

/// `GRANT <the plan's privileges> ON <schema>.* TO <account>`, as provisioning runs it and the
/// approval card shows it.
fn grant_statement(plan: &GrantPlan, schema: &SchemaName, account: &str) -> String {
    let privileges: Vec<&str> = plan.privileges().iter().map(|p| p.name()).collect();
    format!(
        "GRANT {} ON {}.* TO {account}",
        privileges.join(", "),
        sql::grant_db(schema.as_str())
    )
}

/// Statements against one cluster, with errors classified and passwords kept out of them.
struct Runner<'a> {
    cluster_id: &'a ClusterId,
    pool: &'a MySqlPool,
}

impl Runner<'_> {
    async fn exec(&self, action: &'static str, statement: String) -> Result<()> {
        sqlx::raw_sql(AssertSqlSafe(statement))
            .execute(self.pool)
            .await
            .map(drop)
            .map_err(|e| statement_error(action, self.cluster_id, e))
    }

    /// Runs a statement that contains the password: on failure only the error number survives.
    async fn secret_exec(&self, action: &'static str, statement: String) -> Result<()> {
        let result = sqlx::raw_sql(AssertSqlSafe(statement))
            .execute(self.pool)
            .await;
        result.map(drop).map_err(|e| {
            let code = mysql_number(&e);
            Error::Statement {
                action,
                cluster: self.cluster_id.clone(),
                message: format!(
                    "server refused the statement (MySQL error {}); its text is withheld because it carries the password",
                    code.map_or_else(|| "unknown".to_owned(), |c| c.to_string())
                ),
                code,
                retryable: is_retryable(&e),
                source: None,
            }
        })
    }

    async fn bind_exec(
        &self,
        action: &'static str,
        statement: &'static str,
        values: &[&str],
    ) -> Result<()> {
        let mut query = sqlx::query::<MySql>(statement);
        for value in values {
            query = query.bind(*value);
        }
        query
            .execute(self.pool)
            .await
            .map(drop)
            .map_err(|e| statement_error(action, self.cluster_id, e))
    }

    async fn ensure_registry(&self) -> Result<()> {
        self.exec(
            "create registry schema",
            format!(
                "CREATE DATABASE IF NOT EXISTS {}",
                sql::ident(REGISTRY_SCHEMA)
            ),
        )
        .await?;
        self.exec(
            "create registry table",
            "CREATE TABLE IF NOT EXISTS `powerpole`.`managed_accounts` (\
             user VARCHAR(32) NOT NULL PRIMARY KEY, \
             host VARCHAR(255) NOT NULL, \
             request_id CHAR(26) NOT NULL, \
             created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
                .to_owned(),
        )
        .await
    }

    async fn registration(&self, user: &str) -> Result<Option<Registration>> {
        let row = sqlx::query(
            "SELECT host, request_id FROM `powerpole`.`managed_accounts` WHERE user = ?",
        )
        .bind(user)
        .fetch_optional(self.pool)
        .await
        .map_err(|e| statement_error("read registry", self.cluster_id, e))?;
        row.map(|row| {
            Ok(Registration {
                host: row.try_get(0)?,
                request: row.try_get(1)?,
            })
        })
        .transpose()
        .map_err(|e: sqlx::Error| statement_error("read registry", self.cluster_id, e))
    }

    async fn unregister(&self, user: &str) -> Result<()> {
        self.bind_exec(
            "unregister account",
            "DELETE FROM `powerpole`.`managed_accounts` WHERE user = ?",
            &[user],
        )
        .await
    }

    async fn account_exists(&self, user: &str, host: &str) -> Result<bool> {
        sqlx::query_scalar::<MySql, i64>(
            "SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = ?",
        )
        .bind(user)
        .bind(host)
        .fetch_one(self.pool)
        .await
        .map(|n| n > 0)
        .map_err(|e| statement_error("look up account", self.cluster_id, e))
    }

    /// Whether the account is locked, from `SHOW CREATE USER` (MariaDB keeps the flag in
    /// `mysql.global_priv`, MySQL in `mysql.user`; both print `ACCOUNT LOCK`); `None` when the
    /// account was dropped meanwhile (a teardown running while the sweeper lists).
    async fn lock_state(&self, user: &str, host: &str) -> Result<Option<bool>> {
        let shown = sqlx::query_scalar::<MySql, String>(AssertSqlSafe(format!(
            "SHOW CREATE USER {}",
            sql::account(user, host)
        )))
        .fetch_one(self.pool)
        .await;
        match shown {
            Ok(definition) => Ok(Some(definition.contains("ACCOUNT LOCK"))),
            Err(e)
                if matches!(
                    mysql_number(&e),
                    Some(ER_NO_SUCH_USER_MARIADB | ER_NO_SUCH_USER_MYSQL)
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(statement_error("show account", self.cluster_id, e)),
        }
    }

    async fn any_account_named(&self, user: &str) -> Result<bool> {
        sqlx::query_scalar::<MySql, i64>("SELECT COUNT(*) FROM mysql.user WHERE User = ?")
            .bind(user)
            .fetch_one(self.pool)
            .await
            .map(|n| n > 0)
            .map_err(|e| statement_error("look up account", self.cluster_id, e))
    }

    /// Schedules the account's backstop `seconds` from now on the server's clock, replacing an
    /// earlier one; [`Backstop::SchedulerOff`] (and a warning in the log) when the server's
    /// event scheduler will not run it.
    async fn arm_backstop(
        &self,
        user: &str,
        host: &str,
        request: RequestId,
        seconds: u64,
    ) -> Result<Backstop> {
        self.disarm_backstop(user).await?;
        self.exec(
            "create backstop event",
            format!(
                "CREATE EVENT {event} ON SCHEDULE AT CURRENT_TIMESTAMP + INTERVAL {seconds} SECOND \
                 ON COMPLETION NOT PRESERVE COMMENT {comment} DO BEGIN \
                 DECLARE done INT DEFAULT 0; \
                 DECLARE victim BIGINT UNSIGNED; \
                 DECLARE sessions CURSOR FOR \
                 SELECT ID FROM information_schema.PROCESSLIST WHERE USER = {name}; \
                 DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = 1; \
                 DECLARE CONTINUE HANDLER FOR {ER_NO_SUCH_THREAD} BEGIN END; \
                 DECLARE CONTINUE HANDLER FOR {ER_KILL_DENIED} CALL mysql.rds_kill(victim); \
                 ALTER USER {account} ACCOUNT LOCK; \
                 OPEN sessions; \
                 kill_each: LOOP \
                 FETCH sessions INTO victim; \
                 IF done THEN LEAVE kill_each; END IF; \
                 KILL CONNECTION victim; \
                 END LOOP; \
                 CLOSE sessions; \
                 END",
                event = backstop_event(user),
                comment = sql::literal(&format!("powerpole backstop of request {request}")),
                name = sql::literal(user),
                account = sql::account(user, host),
            ),
        )
        .await?;
        if self.scheduler_on().await? {
            return Ok(Backstop::Armed);
        }
        tracing::warn!(
            cluster = %self.cluster_id,
            user,
            "the server's event_scheduler is OFF: the backstop event that locks the account after \
             its window will not fire (set event_scheduler=ON; on Aurora in the DB cluster \
             parameter group)"
        );
        Ok(Backstop::SchedulerOff)
    }

    async fn disarm_backstop(&self, user: &str) -> Result<()> {
        self.exec(
            "drop backstop event",
            format!("DROP EVENT IF EXISTS {}", backstop_event(user)),
        )
        .await
    }

    /// The names of the backstop events on the server.
    async fn backstop_events(&self) -> Result<std::collections::HashSet<String>> {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?",
        )
        .bind(REGISTRY_SCHEMA)
        .fetch_all(self.pool)
        .await
        .map_err(|e| statement_error("list backstop events", self.cluster_id, e))?;
        Ok(names.into_iter().collect())
    }

    async fn is_mariadb(&self) -> Result<bool> {
        sqlx::query_scalar::<MySql, String>("SELECT VERSION()")
            .fetch_one(self.pool)
            .await
            .map(|version| version.contains("MariaDB"))
            .map_err(|e| statement_error("read version", self.cluster_id, e))
    }

    async fn scheduler_on(&self) -> Result<bool> {
        sqlx::query_scalar::<MySql, String>("SELECT CAST(@@GLOBAL.event_scheduler AS CHAR)")
            .fetch_one(self.pool)
            .await
            .map(|state| state.eq_ignore_ascii_case("ON"))
            .map_err(|e| statement_error("read event_scheduler", self.cluster_id, e))
    }

    /// Kills every session of `user`. A session that ended meanwhile is not an error; where plain
    /// `KILL` is refused (RDS / Aurora master users), `mysql.rds_kill` is used.
    async fn kill_sessions(&self, user: &str) -> Result<u32> {
        let ids: Vec<u64> = sqlx::query_scalar(
            "SELECT CAST(ID AS UNSIGNED) FROM information_schema.PROCESSLIST WHERE USER = ?",
        )
        .bind(user)
        .fetch_all(self.pool)
        .await
        .map_err(|e| statement_error("list sessions", self.cluster_id, e))?;
        let mut killed = 0;
        for id in ids {
            let outcome = sqlx::raw_sql(AssertSqlSafe(format!("KILL CONNECTION {id}")))
                .execute(self.pool)
                .await;
            match outcome {
                Ok(_) => killed += 1,
                Err(e) if mysql_number(&e) == Some(ER_NO_SUCH_THREAD) => {}
                Err(e) if mysql_number(&e) == Some(ER_KILL_DENIED) => {
                    sqlx::query("CALL mysql.rds_kill(?)")
                        .bind(id)
                        .execute(self.pool)
                        .await
                        .map_err(|e| statement_error("kill session", self.cluster_id, e))?;
                    killed += 1;
                }
                Err(e) => return Err(statement_error("kill session", self.cluster_id, e)),
            }
        }
        Ok(killed)
    }
}

/// The backstop event of `user`'s account.
fn backstop_name(user: &str) -> String {
    format!("backstop_{user}")
}

/// [`backstop_name`] qualified and quoted.
fn backstop_event(user: &str) -> String {
    format!(
        "{}.{}",
        sql::ident(REGISTRY_SCHEMA),
        sql::ident(&backstop_name(user))
    )
}

const ER_NO_SUCH_THREAD: u16 = 1094;
/// The server refused the user name or password.
const ER_ACCESS_DENIED: u16 = 1045;
/// MariaDB's answer to `SHOW CREATE USER` for a missing account.
const ER_NO_SUCH_USER_MARIADB: u16 = 1133;
/// MySQL's (`Operation SHOW CREATE USER failed`).
const ER_NO_SUCH_USER_MYSQL: u16 = 1396;
const ER_KILL_DENIED: u16 = 1095;

fn mysql_number(err: &sqlx::Error) -> Option<u16> {
    err.as_database_error()
        .and_then(|db| db.try_downcast_ref::<MySqlDatabaseError>())
        .map(MySqlDatabaseError::number)
}

/// Connection trouble, pool exhaustion, deadlocks, lock waits, too many connections and
/// read-only failover windows are worth retrying; anything else is not.
fn is_retryable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(_) => matches!(
            mysql_number(err),
            Some(1040 | 1205 | 1213 | 1290 | 1836 | 2006 | 2013)
        ),
        _ => false,
    }
}

fn statement_error(action: &'static str, cluster: &ClusterId, err: sqlx::Error) -> Error {
    Error::Statement {
        action,
        cluster: cluster.clone(),
        message: err
            .as_database_error()
            .map_or_else(|| err.to_string(), |db| db.message().to_owned()),
        code: mysql_number(&err),
        retryable: is_retryable(&err),
        source: Some(err),
    }
}
