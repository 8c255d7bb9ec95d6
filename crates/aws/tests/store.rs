//! The DynamoDB request store on moto: the request-store contract every store passes, plus what
//! is specific to DynamoDB (item shape, no secret in the item).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use powerpole_aws::DynamoDbStore;
use powerpole_core::ports::RequestStore;
use powerpole_testkit::store_contract::{fresh_user, pending_request};
use time::OffsetDateTime;

/// A store on a fresh table of its own, with the raw client to read its items.
struct Table {
    config: aws_config::SdkConfig,
    client: aws_sdk_dynamodb::Client,
    name: String,
    store: DynamoDbStore,
}

impl Table {
    async fn new() -> Option<Self> {
        let endpoint = powerpole_testkit::aws_endpoint()?;
        let config = powerpole_aws::config::load(Some(&endpoint)).await;
        let client = aws_sdk_dynamodb::Client::new(&config);
        let name = powerpole_testkit::unique_name("requests");
        let store = DynamoDbStore::new(client.clone(), &name);
        store.create_table().await.unwrap();
        Some(Self {
            config,
            client,
            name,
            store,
        })
    }

    /// The stored item of a request, as DynamoDB holds it.
    async fn item(&self, id: powerpole_core::RequestId) -> HashMap<String, AttributeValue> {
        self.client
            .get_item()
            .table_name(&self.name)
            .key("pk", AttributeValue::S(format!("REQ#{id}")))
            .send()
            .await
            .unwrap()
            .item
            .unwrap()
    }
}

async fn store() -> Option<DynamoDbStore> {
    Some(Table::new().await?.store)
}

powerpole_testkit::request_store_contract!(store());

#[tokio::test]
async fn the_item_holds_ids_and_text_only_and_drops_out_of_the_deadline_index_when_decided() {
    let Some(table) = Table::new().await else {
        return;
    };
    let store = &table.store;
    let now = OffsetDateTime::now_utc();
    let mut request = pending_request(&fresh_user(), now, now);
    store.insert(&request).await.unwrap();

    let item = table.item(request.id()).await;
    assert_eq!(item["state"].as_s().unwrap(), "pending");
    assert_eq!(item["gsi2pk"].as_s().unwrap(), "pending");
    assert!(!item.keys().any(|k| k.contains("password")), "{item:?}");

    let approver =
        powerpole_core::Actor::User(powerpole_core::SlackUserId::parse("UAPPROVER9").unwrap());
    request
        .apply(powerpole_core::Transition::Deny, approver, now, "no ticket")
        .unwrap();
    store.update(&request, 1).await.unwrap();
    let item = table.item(request.id()).await;
    assert_eq!(item["state"].as_s().unwrap(), "denied");
    assert!(
        !item.contains_key("gsi2pk"),
        "decided request still in the deadline index"
    );
    assert_eq!(item["events"].as_l().unwrap().len(), 2);
}

#[tokio::test]
async fn a_missing_table_is_a_clear_non_retryable_error() {
    let Some(endpoint) = powerpole_testkit::aws_endpoint() else {
        return;
    };
    let config = powerpole_aws::config::load(Some(&endpoint)).await;
    let store = DynamoDbStore::new(aws_sdk_dynamodb::Client::new(&config), "no-such-table");
    let now = OffsetDateTime::now_utc();
    let err = store
        .get_request(pending_request(&fresh_user(), now, now).id())
        .await
        .unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert_eq!(err.code(), Some("ResourceNotFoundException"), "{err}");
}

#[tokio::test]
async fn after_a_secret_is_stored_the_request_item_holds_its_arn_but_never_the_password() {
    use powerpole_core::ports::SecretVault;
    let Some(table) = Table::new().await else {
        return;
    };
    let store = &table.store;
    let prefix = format!("{}/", powerpole_testkit::unique_name("pp"));
    let vault = powerpole_aws::SecretsManagerVault::new(
        aws_sdk_secretsmanager::Client::new(&table.config),
        powerpole_aws::SecretsManagerSettings::new(&prefix).unwrap(),
    );
    let now = OffsetDateTime::now_utc();
    let mut request = pending_request(&fresh_user(), now, now);
    store.insert(&request).await.unwrap();
    let approver =
        powerpole_core::Actor::User(powerpole_core::SlackUserId::parse("UAPPROVER9").unwrap());
    let workflow = powerpole_core::Actor::System(powerpole_core::Component::Workflow);
    request
        .apply(powerpole_core::Transition::Approve, approver, now, "")
        .unwrap();
    request
        .apply(
            powerpole_core::Transition::StartProvisioning,
            workflow.clone(),
            now,
            "",
        )
        .unwrap();
    let password = powerpole_core::DbPassword::generate();
    let secret = vault
        .put(
            request.id(),
            request.db_username(),
            &password,
            request.spec().window.end(),
        )
        .await
        .unwrap();
    request.record_secret(secret.clone(), workflow, now);
    store.update(&request, 1).await.unwrap();

    let item = table.item(request.id()).await;
    assert_eq!(item["secret_ref"].as_s().unwrap(), &secret.0);
    let dump = format!("{item:?}");
    assert!(
        !dump.contains(password.expose()),
        "password in the request item"
    );
    assert_eq!(
        vault.get(request.id()).await.unwrap().expose(),
        password.expose()
    );
    vault.delete(request.id()).await.unwrap();
}
