//! The DynamoDB request store: the core's `RequestStore` port on one table (design in
//! [`items`]). Every state change is an `UpdateItem` conditional on the version the change was
//! made on, so of two concurrent approvals or a retried step exactly one write wins; events are
//! appended with `list_append`, never rewritten.

pub mod items;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType,
};
use powerpole_core::ports::{Orphan, RequestStore};
use powerpole_core::{AccessRequest, RequestId, RequestState, SlackUserId};
use time::OffsetDateTime;

use crate::error::{Error, Result, sdk};
use items::{BY_DEADLINE, BY_REQUESTER, BY_SUBMISSION_DAY, Item, PK};

const SERVICE: &str = "dynamodb";

/// Requests and their events in one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
}

impl DynamoDbStore {
    /// A store on `table`, reached through `client` (built once per process).
    #[must_use]
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Creates the table with its three indexes, on-demand billing (terraform creates it in a
    /// deployment; this is for local runs and tests).
    ///
    /// # Errors
    /// [`Error::Sdk`] when DynamoDB refuses.
    pub async fn create_table(&self) -> Result<()> {
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(|e| Error::malformed("key schema", e.to_string()))
        };
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| Error::malformed("attribute definition", e.to_string()))
        };
        let index = |name: &str, pk: &str, sk: &str| -> Result<GlobalSecondaryIndex> {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(pk, KeyType::Hash)?)
                .key_schema(key(sk, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(|e| Error::malformed("index", e.to_string()))
        };
        let mut create = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(PK, KeyType::Hash)?)
            .global_secondary_indexes(index(BY_REQUESTER, "gsi1pk", "gsi1sk")?)
            .global_secondary_indexes(index(BY_DEADLINE, "gsi2pk", "gsi2sk")?)
            .global_secondary_indexes(index(BY_SUBMISSION_DAY, "gsi3pk", "gsi3sk")?);
        for name in [
            PK, "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk",
        ] {
            create = create.attribute_definitions(attribute(name)?);
        }
        create
            .send()
            .await
            .map_err(|e| sdk(SERVICE, "CreateTable", e))?;
        Ok(())
    }

    /// Records a new request; a request with the same id already stored is a conflict.
    ///
    /// # Errors
    /// [`Error::Conflict`], [`Error::Sdk`].
    pub async fn insert_request(&self, request: &AccessRequest) -> Result<()> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(items::request_item(request)))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        match put {
            Ok(_) => {
                tracing::debug!(request_id = %request.id(), "request stored");
                Ok(())
            }
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Err(Error::Conflict(format!(
                    "request {} already exists",
                    request.id()
                )))
            }
            Err(e) => Err(sdk(SERVICE, "PutItem", e)),
        }
    }

    /// Reads a request (strongly consistent).
    ///
    /// # Errors
    /// [`Error::Malformed`] for an item that is not a valid request, [`Error::Sdk`].
    pub async fn get_request(&self, id: RequestId) -> Result<Option<AccessRequest>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, AttributeValue::S(items::request_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk(SERVICE, "GetItem", e))?;
        out.item().map(items::request_from_item).transpose()
    }

    /// Writes the events appended since `expected`, the state and the references, only if the
    /// stored version is still `expected`.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the stored version moved on (or the request is not stored);
    /// [`Error::Sdk`].
    pub async fn update_request(&self, request: &AccessRequest, expected: usize) -> Result<()> {
        let Some(new_events) = request.events().get(expected..) else {
            return Err(Error::Conflict(format!(
                "request {} has {} events, fewer than the expected version {expected}",
                request.id(),
                request.version()
            )));
        };
        let mut set = vec![
            "#state = :state".to_owned(),
            "#version = :version".to_owned(),
            "#events = list_append(#events, :new)".to_owned(),
        ];
        let mut remove = Vec::new();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, AttributeValue::S(items::request_key(request.id())))
            .condition_expression("#version = :expected")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#events", "events")
            .expression_attribute_values(
                ":state",
                AttributeValue::S(request.state().as_str().to_owned()),
            )
            .expression_attribute_values(
                ":version",
                AttributeValue::N(request.version().to_string()),
            )
            .expression_attribute_values(":expected", AttributeValue::N(expected.to_string()))
            .expression_attribute_values(
                ":new",
                AttributeValue::L(new_events.iter().map(items::event_value).collect()),
            );
        let deadline = items::deadline_keys(request);
        let optional = items::resource_values(request.resources())
            .into_iter()
            .chain([
                (
                    "gsi2pk",
                    deadline
                        .as_ref()
                        .map(|(pk, _)| AttributeValue::S(pk.clone())),
                ),
                (
                    "gsi2sk",
                    deadline
                        .as_ref()
                        .map(|(_, sk)| AttributeValue::S(sk.clone())),
                ),
            ]);
        for (name, value) in optional {
            let placeholder = format!("#{name}");
            update = update.expression_attribute_names(&placeholder, name);
            match value {
                Some(value) => {
                    set.push(format!("{placeholder} = :{name}"));
                    update = update.expression_attribute_values(format!(":{name}"), value);
                }
                None => remove.push(placeholder),
            }
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        match update.update_expression(expression).send().await {
            Ok(_) => {
                tracing::debug!(request_id = %request.id(), state = %request.state(), version = request.version(), "request updated");
                Ok(())
            }
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Err(Error::Conflict(format!(
                    "request {} changed since version {expected} (or is not stored)",
                    request.id()
                )))
            }
            Err(e) => Err(sdk(SERVICE, "UpdateItem", e)),
        }
    }

    /// A person's requests, newest first (from an index: eventually consistent on AWS).
    ///
    /// # Errors
    /// [`Error::Malformed`], [`Error::Sdk`].
    pub async fn requests_of(&self, requester: &SlackUserId) -> Result<Vec<AccessRequest>> {
        self.query(
            BY_REQUESTER,
            "gsi1pk = :pk",
            [(":pk", requester.as_str().to_owned())],
            false,
            usize::MAX,
        )
        .await
    }

    /// Live requests in `state` whose deadline is before `before`, oldest deadline first.
    ///
    /// # Errors
    /// [`Error::Malformed`], [`Error::Sdk`].
    pub async fn due_requests(
        &self,
        state: RequestState,
        before: OffsetDateTime,
    ) -> Result<Vec<AccessRequest>> {
        self.query(
            BY_DEADLINE,
            "gsi2pk = :pk AND gsi2sk < :before",
            [
                (":pk", state.as_str().to_owned()),
                (":before", items::deadline_bound(before)),
            ],
            true,
            usize::MAX,
        )
        .await
    }

    /// The requests submitted from `from` to `until` (excluded), oldest first, at most `limit`:
    /// one `by-submission-day` query per UTC day of the period (from an index: eventually
    /// consistent on AWS).
    ///
    /// # Errors
    /// [`Error::Malformed`], [`Error::Sdk`].
    pub async fn submitted_in(
        &self,
        from: OffsetDateTime,
        until: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<AccessRequest>> {
        let mut found = Vec::new();
        if until <= from {
            return Ok(found);
        }
        let utc = |at: OffsetDateTime| at.to_offset(time::UtcOffset::UTC);
        let (first, last) = (
            utc(from).date(),
            utc(until - time::Duration::NANOSECOND).date(),
        );
        let mut day = Some(first);
        while let Some(today) = day.filter(|d| *d <= last && found.len() < limit) {
            let mut page = self
                .query(
                    BY_SUBMISSION_DAY,
                    "gsi3pk = :pk AND gsi3sk BETWEEN :from AND :until",
                    [
                        (":pk", items::day_key(today)),
                        (":from", items::deadline_bound(from)),
                        (":until", items::deadline_bound(until)),
                    ],
                    true,
                    limit - found.len(),
                )
                .await?;
            found.append(&mut page);
            day = today.next_day();
        }
        found.truncate(limit);
        Ok(found)
    }

    /// Records an orphan unless one with the same kind and resource is recorded.
    ///
    /// # Errors
    /// [`Error::Sdk`].
    pub async fn insert_orphan(&self, orphan: &Orphan) -> Result<bool> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(items::orphan_item(orphan)))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk(SERVICE, "PutItem", e)),
        }
    }

    /// The orphan records, newest first, at most `limit`.
    ///
    /// # Errors
    /// [`Error::Malformed`], [`Error::Sdk`].
    pub async fn recent_orphans(&self, limit: usize) -> Result<Vec<Orphan>> {
        let mut orphans = Vec::new();
        let mut start: Option<Item> = None;
        while orphans.len() < limit {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(BY_REQUESTER)
                .key_condition_expression("gsi1pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(items::ORPHANS.to_owned()))
                .scan_index_forward(false)
                .limit(i32::try_from(limit - orphans.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk(SERVICE, "Query", e))?;
            for item in page.items() {
                orphans.push(items::orphan_from_item(item)?);
            }
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => break,
            }
        }
        orphans.truncate(limit);
        Ok(orphans)
    }

    async fn query<const N: usize>(
        &self,
        index: &str,
        condition: &str,
        values: [(&str, String); N],
        forward: bool,
        limit: usize,
    ) -> Result<Vec<AccessRequest>> {
        let mut requests = Vec::new();
        let mut start: Option<Item> = None;
        while requests.len() < limit {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression(condition)
                .scan_index_forward(forward)
                .set_exclusive_start_key(start.take());
            for (name, value) in &values {
                query = query.expression_attribute_values(*name, AttributeValue::S(value.clone()));
            }
            let page = query.send().await.map_err(|e| sdk(SERVICE, "Query", e))?;
            for item in page.items() {
                requests.push(items::request_from_item(item)?);
            }
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => break,
            }
        }
        Ok(requests)
    }
}

impl RequestStore for DynamoDbStore {
    async fn insert(&self, request: &AccessRequest) -> powerpole_core::Result<()> {
        Ok(self.insert_request(request).await?)
    }

    async fn get(&self, id: RequestId) -> powerpole_core::Result<Option<AccessRequest>> {
        Ok(self.get_request(id).await?)
    }

    async fn update(&self, request: &AccessRequest, expected: usize) -> powerpole_core::Result<()> {
        Ok(self.update_request(request, expected).await?)
    }

    async fn by_requester(
        &self,
        requester: &SlackUserId,
    ) -> powerpole_core::Result<Vec<AccessRequest>> {
        Ok(self.requests_of(requester).await?)
    }

    async fn due(
        &self,
        state: RequestState,
        before: OffsetDateTime,
    ) -> powerpole_core::Result<Vec<AccessRequest>> {
        Ok(self.due_requests(state, before).await?)
    }

    async fn record_orphan(&self, orphan: &Orphan) -> powerpole_core::Result<bool> {
        Ok(self.insert_orphan(orphan).await?)
    }

    async fn orphans(&self, limit: usize) -> powerpole_core::Result<Vec<Orphan>> {
        Ok(self.recent_orphans(limit).await?)
    }

    async fn submitted_between(
        &self,
        from: OffsetDateTime,
        until: OffsetDateTime,
        limit: usize,
    ) -> powerpole_core::Result<Vec<AccessRequest>> {
        Ok(self.submitted_in(from, until, limit).await?)
    }
}
