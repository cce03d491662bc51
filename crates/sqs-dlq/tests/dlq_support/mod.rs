//! Shared helpers of the dead-letter tests: fixture loading and queue seeding.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;

use serde::Deserialize;
use sqs_dlq::queue::{AttributeValue, Attributes, OutgoingMessage, Queue, ReceivedMessage};

/// What a fixture expects.
#[derive(Debug, Clone, Deserialize)]
pub struct Expected {
    pub category: String,
    pub error_code: Option<String>,
    pub conversation_id: Option<String>,
    pub parse_error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawAttribute {
    #[serde(rename = "DataType")]
    data_type: String,
    #[serde(rename = "StringValue")]
    string_value: String,
}

#[derive(Debug, Deserialize)]
struct RawFixture {
    description: String,
    message_id: String,
    attributes: std::collections::BTreeMap<String, RawAttribute>,
    body: String,
    expected: Expected,
}

/// One real-shaped EventBridge DLQ message.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub name: String,
    pub description: String,
    pub message_id: String,
    pub attributes: Attributes,
    pub body: String,
    pub expected: Expected,
}

impl Fixture {
    pub fn received(&self) -> ReceivedMessage {
        ReceivedMessage::new(
            self.message_id.clone(),
            format!("handle-{}", self.message_id),
            self.body.clone(),
            self.attributes.clone(),
            1,
            None,
        )
    }

    pub fn outgoing(&self) -> OutgoingMessage {
        OutgoingMessage::new(self.body.clone()).with_attributes(self.attributes.clone())
    }
}

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eventbridge")
}

/// Every fixture, sorted by name.
pub fn fixtures() -> Vec<Fixture> {
    let mut out: Vec<Fixture> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let raw: RawFixture = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            let attributes = raw
                .attributes
                .into_iter()
                .map(|(k, v)| {
                    let value = if v.data_type.starts_with("Number") {
                        AttributeValue::Number(v.string_value)
                    } else {
                        AttributeValue::String(v.string_value)
                    };
                    (k, value)
                })
                .collect();
            Fixture {
                name: path.file_stem().unwrap().to_string_lossy().into_owned(),
                description: raw.description,
                message_id: raw.message_id,
                attributes,
                body: raw.body,
                expected: raw.expected,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

pub fn fixture(name: &str) -> Fixture {
    fixtures().into_iter().find(|f| f.name == name).unwrap()
}

/// Sends every fixture to the queue; returns the bodies sent.
pub async fn seed<Q: Queue>(queue: &Q, fixtures: &[Fixture]) {
    let outcome = queue
        .send_batch(fixtures.iter().map(Fixture::outgoing).collect())
        .await
        .unwrap();
    assert!(outcome.all_ok(), "{:?}", outcome.failed);
}

/// A dead letter of a given error code for a conversation, as EventBridge would send it.
pub fn letter_message(
    conversation: &str,
    error_code: &str,
    retry_attempts: u32,
) -> OutgoingMessage {
    let body = serde_json::json!({
        "version": "0", "id": uuid_like(conversation), "detail-type": "v2.conversations.{id}.transcription",
        "source": "aws.partner/genesys.com/cloud/org/suffix", "account": "123456789012",
        "time": "2026-11-21T09:49:26Z", "region": "us-east-1", "resources": [],
        "detail": {"topicName": format!("v2.conversations.{conversation}.transcription"), "version": "2",
                   "eventBody": {"conversationId": conversation}, "metadata": {"CorrelationId": "c"},
                   "timestamp": "2026-11-21T09:49:26.031Z"}
    });
    OutgoingMessage::new(body.to_string())
        .with_attribute("ERROR_CODE", error_code)
        .with_attribute(
            "TARGET_ARN",
            "arn:aws:events:us-east-1:123456789012:api-destination/x/1",
        )
        .with_number_attribute("RETRY_ATTEMPTS", retry_attempts)
}

fn uuid_like(seed: &str) -> String {
    format!("evt-{seed}")
}

/// The n-th synthetic conversation id (a valid UUID).
pub fn conversation(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}
