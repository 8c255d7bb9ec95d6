//! The SQLite request store of embedded mode: the core's [`RequestStore`] port on two tables in
//! the same database file as the ASL runner's `asl_` tables.
//!
//! | table | one row per | columns |
//! |---|---|---|
//! | `store_requests` | request | `id` (ULID, primary key), `requester`, `db_username`, `cluster`, `region`, `permission`, `reason`, `window_start`, `window_end`, `state`, `version` (number of events), `deadline` (only while something is due), `card_channel`, `card_ts`, `approval_token`, `bastion_id`, `secret_ref` (references, never a secret value) |
//! | `store_events` | event | `request_id`, `seq` (0, 1, …; primary key with `request_id`), `at`, `actor`, `kind`, `detail` |
//! | `store_orphans` | thing the sweeper removed that no request owned | `key` (`<kind>:<resource>`, primary key), `kind`, `resource`, `request_id` (the one it named, if any), `found_at`, `detail` |
//!
//! Indexes: `store_requests_by_requester (requester, id)` for a person's requests newest first
//! (ULIDs sort by creation time), and the partial `store_requests_due (state, deadline, id)
//! WHERE deadline IS NOT NULL` for the sweeper, which holds only live requests as the DynamoDB
//! store's sparse index does, and the partial `store_events_submitted (at, request_id) WHERE
//! seq = 0` (each request's first event is its submission) for the period report. Times are UTC text with nine fractional digits
//! (`2026-11-23T14:00:00.000000000Z`), so text order is time order and nothing is rounded.
//!
//! Every write is one `BEGIN IMMEDIATE` transaction. An update changes the request row only
//! `WHERE id = ? AND version = ?` and appends the events after that version, so of two
//! concurrent writers on the same version exactly one wins, across connections and processes.
//! Reads are single statements (one snapshot), and every request read is replayed through the
//! lifecycle and checked against its stored state and version, so a row edited by hand is
//! refused rather than trusted.

use powerpole_asl::sqlite::{self, timestamp};
use powerpole_core::ports::{Orphan, RequestStore, ResourceKind};
use powerpole_core::{
    AccessRequest, AccessSpec, AccessWindow, Actor, BastionId, ClusterId, DbUsername, Email, Event,
    EventKind, MessageRef, Permission, Reason, Region, RequestId, RequestState, Resources,
    SecretRef, SlackUserId, TaskToken,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{Error, Result};

type PortResult<T> = powerpole_core::Result<T>;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS store_requests (
        id TEXT PRIMARY KEY NOT NULL,
        requester TEXT NOT NULL,
        requester_email TEXT,
        db_username TEXT NOT NULL,
        cluster TEXT NOT NULL,
        region TEXT NOT NULL,
        permission TEXT NOT NULL,
        reason TEXT NOT NULL,
        window_start TEXT NOT NULL,
        window_end TEXT NOT NULL,
        state TEXT NOT NULL,
        version INTEGER NOT NULL,
        deadline TEXT,
        card_channel TEXT,
        card_ts TEXT,
        approval_token TEXT,
        bastion_id TEXT,
        secret_ref TEXT,
        CHECK ((card_channel IS NULL) = (card_ts IS NULL))
    ) STRICT",
    "CREATE INDEX IF NOT EXISTS store_requests_by_requester
        ON store_requests (requester, id)",
    "CREATE INDEX IF NOT EXISTS store_requests_due
        ON store_requests (state, deadline, id) WHERE deadline IS NOT NULL",
    "CREATE TABLE IF NOT EXISTS store_events (
        request_id TEXT NOT NULL REFERENCES store_requests (id),
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL,
        PRIMARY KEY (request_id, seq)
    ) STRICT, WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS store_orphans (
        key TEXT PRIMARY KEY NOT NULL,
        kind TEXT NOT NULL,
        resource TEXT NOT NULL,
        request_id TEXT,
        found_at TEXT NOT NULL,
        detail TEXT NOT NULL
    ) STRICT",
    "CREATE INDEX IF NOT EXISTS store_orphans_newest ON store_orphans (found_at, key)",
    "CREATE INDEX IF NOT EXISTS store_events_submitted
        ON store_events (at, request_id) WHERE seq = 0",
];

const INSERT_ORPHAN: &str =
    "INSERT INTO store_orphans (key, kind, resource, request_id, found_at, detail)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (key) DO NOTHING";

const ORPHANS: &str = "SELECT kind, resource, request_id, found_at, detail FROM store_orphans
    ORDER BY found_at DESC, key LIMIT ?1";

/// A request row joined with its events, one result row per event (`LEFT JOIN`, so a request
/// whose events are gone still comes back and is refused).
macro_rules! select_requests {
    ($rest:literal) => {
        concat!(
            "SELECT r.id, r.requester, r.requester_email, r.db_username, r.cluster, r.region, r.permission,
                r.reason, r.window_start, r.window_end, r.state, r.version, r.card_channel,
                r.card_ts, r.approval_token, r.bastion_id, r.secret_ref,
                e.seq, e.at, e.actor, e.kind, e.detail
            FROM store_requests AS r
            LEFT JOIN store_events AS e ON e.request_id = r.id ",
            $rest
        )
    };
}

const GET: &str = select_requests!("WHERE r.id = ?1 ORDER BY e.seq");
const BY_REQUESTER: &str = select_requests!("WHERE r.requester = ?1 ORDER BY r.id DESC, e.seq");
const RECENT: &str = select_requests!(
    "WHERE r.id IN (SELECT id FROM store_requests ORDER BY id DESC LIMIT ?1)
    ORDER BY r.id DESC, e.seq"
);
const SUBMITTED_BETWEEN: &str = select_requests!(
    "WHERE r.id IN (SELECT request_id FROM store_events
        WHERE seq = 0 AND at >= ?1 AND at < ?2 ORDER BY at, request_id LIMIT ?3)
    ORDER BY r.id, e.seq"
);
const DUE: &str = select_requests!(
    "WHERE r.state = ?1 AND r.deadline IS NOT NULL AND r.deadline < ?2
    ORDER BY r.deadline, r.id, e.seq"
);

const INSERT_REQUEST: &str = "INSERT INTO store_requests (
        id, requester, db_username, cluster, region, permission, reason, window_start,
        window_end, state, version, deadline, card_channel, card_ts, approval_token, bastion_id,
        secret_ref, requester_email
    ) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
    ON CONFLICT (id) DO NOTHING";

const UPDATE_REQUEST: &str = "UPDATE store_requests
    SET state = ?1, version = ?2, deadline = ?3, card_channel = ?4, card_ts = ?5,
        approval_token = ?6, bastion_id = ?7, secret_ref = ?8
    WHERE id = ?9 AND version = ?10";

const INSERT_EVENT: &str = "INSERT INTO store_events (request_id, seq, at, actor, kind, detail)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// Requests and their events in the embedded mode's SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// The store in `pool`'s database (see [`sqlite`]), creating its tables and indexes
    /// if they do not exist yet; opening a database that has them changes nothing.
    ///
    /// # Errors
    /// [`Error::Store`] when the tables cannot be created.
    pub async fn open(pool: SqlitePool) -> Result<Self> {
        sqlite::create_schema(&pool, SCHEMA)
            .await
            .map_err(Error::store("create tables"))?;
        sqlite::add_column(&pool, "store_requests", "requester_email", "TEXT")
            .await
            .map_err(Error::store("add the requester_email column"))?;
        Ok(Self { pool })
    }

    async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        sqlite::begin_write(&self.pool)
            .await
            .map_err(Error::store("begin"))
    }

    async fn insert_request(&self, request: &AccessRequest) -> PortResult<()> {
        let row = Columns::of(request);
        let spec = request.spec();
        let mut tx = self.begin().await?;
        let inserted = sqlx::query(INSERT_REQUEST)
            .bind(&row.id)
            .bind(request.requester().as_str())
            .bind(request.db_username().as_str())
            .bind(spec.cluster.as_str())
            .bind(spec.region.as_str())
            .bind(spec.permission.as_str())
            .bind(spec.reason.as_str())
            .bind(timestamp(spec.window.start()))
            .bind(timestamp(spec.window.end()))
            .bind(request.state().as_str())
            .bind(row.version)
            .bind(&row.deadline)
            .bind(row.card_channel)
            .bind(row.card_ts)
            .bind(row.approval_token)
            .bind(row.bastion_id)
            .bind(row.secret_ref)
            .bind(request.requester_email().map(Email::as_str))
            .execute(&mut *tx)
            .await
            .map_err(Error::store("insert request"))?;
        if inserted.rows_affected() == 0 {
            return Err(powerpole_core::Error::Conflict(format!(
                "request {} already exists",
                row.id
            )));
        }
        append_events(&mut tx, &row.id, 0, request.events()).await?;
        tx.commit().await.map_err(Error::store("commit insert"))?;
        tracing::debug!(request_id = %row.id, "request stored");
        Ok(())
    }

    async fn update_request(&self, request: &AccessRequest, expected: usize) -> PortResult<()> {
        let Some(new_events) = request.events().get(expected..) else {
            return Err(powerpole_core::Error::Conflict(format!(
                "request {} has {} events, fewer than the expected version {expected}",
                request.id(),
                request.version()
            )));
        };
        let row = Columns::of(request);
        let mut tx = self.begin().await?;
        let updated = sqlx::query(UPDATE_REQUEST)
            .bind(request.state().as_str())
            .bind(row.version)
            .bind(&row.deadline)
            .bind(row.card_channel)
            .bind(row.card_ts)
            .bind(row.approval_token)
            .bind(row.bastion_id)
            .bind(row.secret_ref)
            .bind(&row.id)
            .bind(sql_count(expected))
            .execute(&mut *tx)
            .await
            .map_err(Error::store("update request"))?;
        if updated.rows_affected() == 0 {
            let stored: Option<i64> =
                sqlx::query_scalar("SELECT version FROM store_requests WHERE id = ?1")
                    .bind(&row.id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(Error::store("read version"))?;
            return Err(match stored {
                None => powerpole_core::Error::NotFound(format!("request {}", row.id)),
                Some(version) => powerpole_core::Error::Conflict(format!(
                    "request {} is at version {version}, not {expected}",
                    row.id
                )),
            });
        }
        append_events(&mut tx, &row.id, expected, new_events).await?;
        tx.commit().await.map_err(Error::store("commit update"))?;
        tracing::debug!(
            request_id = %row.id,
            state = %request.state(),
            version = request.version(),
            "request updated"
        );
        Ok(())
    }

    /// The `limit` most recent requests, newest first (for `powerpole requests list`).
    ///
    /// # Errors
    /// [`Error::Store`] when SQLite fails; [`Error::StoredRequest`] for a row that breaks the
    /// lifecycle's rules.
    pub async fn recent(&self, limit: usize) -> Result<Vec<AccessRequest>> {
        let limit = limit.min(10_000).to_string();
        self.select("list recent requests", RECENT, &[limit.as_str()])
            .await
    }

    async fn select(
        &self,
        operation: &'static str,
        sql: &'static str,
        params: &[&str],
    ) -> Result<Vec<AccessRequest>> {
        let mut query = sqlx::query(sql);
        for param in params {
            query = query.bind(*param);
        }
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(Error::store(operation))?;
        assemble(&rows)
    }
}

async fn append_events(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    id: &str,
    first_seq: usize,
    events: &[Event],
) -> Result<()> {
    for (seq, event) in (first_seq..).zip(events) {
        sqlx::query(INSERT_EVENT)
            .bind(id)
            .bind(sql_count(seq))
            .bind(timestamp(event.at))
            .bind(event.actor.to_string())
            .bind(event.kind.as_str())
            .bind(event.detail.as_str())
            .execute(&mut **tx)
            .await
            .map_err(Error::store("append event"))?;
    }
    Ok(())
}

/// The values of a request row that both insert and update write.
struct Columns {
    id: String,
    version: i64,
    deadline: Option<String>,
    card_channel: Option<String>,
    card_ts: Option<String>,
    approval_token: Option<String>,
    bastion_id: Option<String>,
    secret_ref: Option<String>,
}

impl Columns {
    fn of(request: &AccessRequest) -> Self {
        let resources = request.resources();
        let card = resources.approval_card.as_ref();
        Self {
            id: request.id().to_string(),
            version: sql_count(request.version()),
            deadline: request.deadline().map(timestamp),
            card_channel: card.map(|c| c.channel.clone()),
            card_ts: card.map(|c| c.ts.clone()),
            approval_token: resources.approval_token.as_ref().map(|t| t.0.clone()),
            bastion_id: resources.bastion.as_ref().map(|b| b.0.clone()),
            secret_ref: resources.secret.as_ref().map(|s| s.0.clone()),
        }
    }
}

fn sql_count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Groups the joined rows (each request's rows next to each other, events in order) into
/// requests, replaying each one's history.
fn assemble(rows: &[SqliteRow]) -> Result<Vec<AccessRequest>> {
    let mut requests = Vec::new();
    let mut current: Option<(Head, Vec<Event>)> = None;
    for row in rows {
        let id: String = column(row, "id")?;
        if current.as_ref().is_none_or(|(head, _)| head.id != id) {
            if let Some((head, events)) = current.take() {
                requests.push(head.restore(events)?);
            }
            current = Some((Head::read(row, id)?, Vec::new()));
        }
        if let Some((head, events)) = &mut current
            && let Some(event) = head.event(row, events.len())?
        {
            events.push(event);
        }
    }
    if let Some((head, events)) = current {
        requests.push(head.restore(events)?);
    }
    Ok(requests)
}

fn column<'r, T>(row: &'r SqliteRow, name: &str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(name).map_err(Error::store("read row"))
}

/// A request row as stored, before validation.
struct Head {
    id: String,
    requester: String,
    requester_email: Option<String>,
    db_username: String,
    cluster: String,
    region: String,
    permission: String,
    reason: String,
    window_start: String,
    window_end: String,
    state: String,
    version: i64,
    card_channel: Option<String>,
    card_ts: Option<String>,
    approval_token: Option<String>,
    bastion_id: Option<String>,
    secret_ref: Option<String>,
}

impl Head {
    fn read(row: &SqliteRow, id: String) -> Result<Self> {
        Ok(Self {
            id,
            requester: column(row, "requester")?,
            requester_email: column(row, "requester_email")?,
            db_username: column(row, "db_username")?,
            cluster: column(row, "cluster")?,
            region: column(row, "region")?,
            permission: column(row, "permission")?,
            reason: column(row, "reason")?,
            window_start: column(row, "window_start")?,
            window_end: column(row, "window_end")?,
            state: column(row, "state")?,
            version: column(row, "version")?,
            card_channel: column(row, "card_channel")?,
            card_ts: column(row, "card_ts")?,
            approval_token: column(row, "approval_token")?,
            bastion_id: column(row, "bastion_id")?,
            secret_ref: column(row, "secret_ref")?,
        })
    }

    fn refused(&self, problem: impl Into<String>) -> Error {
        Error::StoredRequest {
            id: self.id.clone(),
            problem: problem.into(),
        }
    }

    fn valid<T>(&self, what: &str, value: PortResult<T>) -> Result<T> {
        value.map_err(|e| self.refused(format!("{what}: {e}")))
    }

    fn time(&self, what: &str, text: &str) -> Result<OffsetDateTime> {
        OffsetDateTime::parse(text, &Rfc3339)
            .map_err(|e| self.refused(format!("{what} {text:?}: {e}")))
    }

    /// The event on `row`, which must be the `expected`-th (`None`: the request has no events).
    fn event(&self, row: &SqliteRow, expected: usize) -> Result<Option<Event>> {
        let Some(seq) = column::<Option<i64>>(row, "seq")? else {
            return Ok(None);
        };
        if seq != sql_count(expected) {
            return Err(self.refused(format!("event {expected} is stored as {seq}")));
        }
        let at: String = column(row, "at")?;
        let actor: String = column(row, "actor")?;
        let kind: String = column(row, "kind")?;
        Ok(Some(Event {
            at: self.time("event time", &at)?,
            actor: self.valid("event actor", actor.parse::<Actor>())?,
            kind: self.valid("event kind", kind.parse::<EventKind>())?,
            detail: column(row, "detail")?,
        }))
    }

    fn restore(self, events: Vec<Event>) -> Result<AccessRequest> {
        let id = self.valid("id", RequestId::parse(&self.id))?;
        let spec = AccessSpec {
            cluster: self.valid("cluster", ClusterId::parse(&self.cluster))?,
            region: self.valid("region", Region::parse(&self.region))?,
            permission: self.valid("permission", self.permission.parse::<Permission>())?,
            window: self.valid(
                "window",
                AccessWindow::from_parts(
                    self.time("window start", &self.window_start)?,
                    self.time("window end", &self.window_end)?,
                ),
            )?,
            reason: self.valid("reason", Reason::parse(&self.reason))?,
        };
        let resources = Resources {
            approval_card: self
                .card_channel
                .clone()
                .zip(self.card_ts.clone())
                .map(|(channel, ts)| MessageRef { channel, ts }),
            approval_token: self.approval_token.clone().map(TaskToken),
            bastion: self.bastion_id.clone().map(BastionId),
            secret: self.secret_ref.clone().map(SecretRef),
        };
        let request = AccessRequest::restore(
            id,
            self.valid("requester", SlackUserId::parse(&self.requester))?,
            self.valid("db_username", DbUsername::parse(&self.db_username))?,
            spec,
            events,
            resources,
        )
        .map_err(|e| self.refused(format!("history refused: {e}")))?
        .with_requester_email(
            self.requester_email
                .as_deref()
                .map(|email| self.valid("requester_email", Email::parse(email)))
                .transpose()?,
        );
        if request.state().as_str() != self.state {
            return Err(self.refused(format!(
                "state {} does not match its events ({})",
                self.state,
                request.state()
            )));
        }
        if sql_count(request.version()) != self.version {
            return Err(self.refused(format!(
                "version {} does not match its {} events",
                self.version,
                request.version()
            )));
        }
        Ok(request)
    }
}

impl RequestStore for SqliteStore {
    async fn insert(&self, request: &AccessRequest) -> PortResult<()> {
        self.insert_request(request).await
    }

    async fn get(&self, id: RequestId) -> PortResult<Option<AccessRequest>> {
        let found = self.select("get request", GET, &[&id.to_string()]).await?;
        Ok(found.into_iter().next())
    }

    async fn update(&self, request: &AccessRequest, expected: usize) -> PortResult<()> {
        self.update_request(request, expected).await
    }

    async fn by_requester(&self, requester: &SlackUserId) -> PortResult<Vec<AccessRequest>> {
        Ok(self
            .select(
                "list requests of requester",
                BY_REQUESTER,
                &[requester.as_str()],
            )
            .await?)
    }

    async fn due(
        &self,
        state: RequestState,
        before: OffsetDateTime,
    ) -> PortResult<Vec<AccessRequest>> {
        Ok(self
            .select(
                "list due requests",
                DUE,
                &[state.as_str(), &timestamp(before)],
            )
            .await?)
    }

    async fn record_orphan(&self, orphan: &Orphan) -> PortResult<bool> {
        let done = sqlx::query(INSERT_ORPHAN)
            .bind(orphan.key())
            .bind(orphan.kind.as_str())
            .bind(&orphan.resource)
            .bind(orphan.request.map(|id| id.to_string()))
            .bind(timestamp(orphan.found_at))
            .bind(&orphan.detail)
            .execute(&self.pool)
            .await
            .map_err(Error::store("record orphan"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn submitted_between(
        &self,
        from: OffsetDateTime,
        until: OffsetDateTime,
        limit: usize,
    ) -> PortResult<Vec<AccessRequest>> {
        let limit = sql_count(limit).to_string();
        let mut found = self
            .select(
                "list requests submitted in a period",
                SUBMITTED_BETWEEN,
                &[&timestamp(from), &timestamp(until), &limit],
            )
            .await?;
        found.sort_by_key(|r| (r.submitted_at(), r.id()));
        Ok(found)
    }

    async fn orphans(&self, limit: usize) -> PortResult<Vec<Orphan>> {
        let rows = sqlx::query(ORPHANS)
            .bind(sql_count(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(Error::store("list orphans"))?;
        Ok(rows.iter().map(orphan).collect::<Result<Vec<_>>>()?)
    }
}

fn orphan(row: &SqliteRow) -> Result<Orphan> {
    let kind: String = column(row, "kind")?;
    let request: Option<String> = column(row, "request_id")?;
    let found_at: String = column(row, "found_at")?;
    Ok(Orphan {
        kind: ResourceKind::parse(&kind)
            .ok_or_else(|| Error::corrupt("orphan record", format!("kind {kind:?}")))?,
        resource: column(row, "resource")?,
        request: request
            .map(|id| RequestId::parse(&id))
            .transpose()
            .map_err(|e| Error::corrupt("orphan record", e))?,
        found_at: OffsetDateTime::parse(&found_at, &Rfc3339)
            .map_err(|e| Error::corrupt("orphan record", e))?,
        detail: column(row, "detail")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    async fn plan(sql: &'static str, params: &[&str]) -> Vec<String> {
        let store = SqliteStore::open(crate::sqlite::in_memory().await.unwrap())
            .await
            .unwrap();
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(explain));
        for param in params {
            query = query.bind(*param);
        }
        query
            .fetch_all(&store.pool)
            .await
            .unwrap()
            .iter()
            .map(|row| row.get::<String, _>("detail"))
            .collect()
    }

    fn assert_searches(plan: &[String], index: &str) {
        assert!(
            plan.iter().all(|step| !step.starts_with("SCAN")),
            "a table scan: {plan:?}"
        );
        assert!(
            plan.iter()
                .any(|step| step.starts_with("SEARCH r USING") && step.contains(index)),
            "requests not searched through {index}: {plan:?}"
        );
        assert!(
            plan.iter()
                .any(|step| step.starts_with("SEARCH e USING PRIMARY KEY")),
            "events not searched by key: {plan:?}"
        );
    }

    #[tokio::test]
    async fn a_database_from_before_requester_emails_gets_the_column_and_keeps_its_rows() {
        let pool = crate::sqlite::in_memory().await.unwrap();
        let old_table = SCHEMA[0].replace("requester_email TEXT,", "");
        sqlx::query(sqlx::AssertSqlSafe(old_table))
            .execute(&pool)
            .await
            .unwrap();
        let store = SqliteStore::open(pool).await.unwrap();
        let requester = SlackUserId::parse("UOLD1").unwrap();
        let at = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let request = powerpole_testkit::store_contract::pending_request(&requester, at, at);
        store.insert(&request).await.unwrap();

        let reopened = SqliteStore::open(store.pool.clone()).await.unwrap();
        let stored = reopened.get(request.id()).await.unwrap().unwrap();
        assert_eq!(stored, request);
        assert!(stored.requester_email().is_some());
    }

    #[tokio::test]
    async fn every_read_searches_an_index() {
        assert_searches(&plan(GET, &["01JDX0000000000000000000000"]).await, "(id=?)");
        assert_searches(
            &plan(BY_REQUESTER, &["UREQ1"]).await,
            "store_requests_by_requester",
        );
        assert_searches(
            &plan(DUE, &["active", "2026-11-23T14:00:00.000000000Z"]).await,
            "store_requests_due (state=? AND deadline>? AND deadline<?)",
        );
    }

    #[test]
    fn stored_times_are_fixed_width_utc_and_sort_as_text() {
        let tokyo = datetime!(2026-11-23 23:00 +09:00);
        assert_eq!(timestamp(tokyo), "2026-11-23T14:00:00.000000000Z");
        let times = [
            datetime!(2026-11-23 14:00:00.000000001 UTC),
            datetime!(2026-11-23 14:00:00.5 UTC),
            datetime!(2026-11-23 14:00:01 UTC),
            datetime!(2027-01-01 00:00 UTC),
        ];
        for pair in times.windows(2) {
            assert!(timestamp(pair[0]) < timestamp(pair[1]), "{pair:?}");
            assert_eq!(timestamp(pair[0]).len(), timestamp(pair[1]).len());
        }
        for at in times {
            assert_eq!(OffsetDateTime::parse(&timestamp(at), &Rfc3339).unwrap(), at);
        }
    }
}
