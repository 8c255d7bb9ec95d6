//! Proves the adapter tests talk to the real moto server started by `scripts/test.sh`: a DynamoDB
//! table is created, written, read back and deleted through the AWS SDK.

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};

async fn dynamodb(endpoint: &str) -> Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region("us-east-1")
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await;
    Client::new(&config)
}

#[tokio::test]
async fn a_dynamodb_item_round_trips_through_moto() {
    let Some(endpoint) = powerpole_testkit::aws_endpoint() else {
        return;
    };
    let client = dynamodb(&endpoint).await;
    let table = powerpole_testkit::unique_name("smoke");

    client
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    client
        .put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S("request#1".to_owned()))
        .item("state", AttributeValue::S("approved".to_owned()))
        .send()
        .await
        .unwrap();

    let item = client
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("request#1".to_owned()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap_or_else(|| panic!("item not found in {table}"));
    assert_eq!(
        item.get("state"),
        Some(&AttributeValue::S("approved".to_owned()))
    );

    client
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let tables = client.list_tables().send().await.unwrap();
    assert!(!tables.table_names().contains(&table));
}
