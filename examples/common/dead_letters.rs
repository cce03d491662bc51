//! EventBridge dead letters of every failure family, for the embedded DLQ of the recipes.
//!
//! Each letter is what EventBridge really puts on a rule target's SQS dead-letter queue
//! (GENESYS_API.md): the Genesys event unchanged as the body (`detail-type` is the topic
//! template, `detail.topicName` the concrete topic with the conversation id) and the message
//! attributes `ERROR_CODE`, `ERROR_MESSAGE`, `RULE_ARN`, `TARGET_ARN`, `RETRY_ATTEMPTS`,
//! `EXHAUSTED_RETRY_CONDITION`. The families cover every documented `ERROR_CODE`, the
//! `ERROR_FROM_TARGET` statuses that point to each category, and a body that is not an event.

use chrono::{TimeDelta, Utc};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use sqs_dlq::queue::OutgoingMessage;

/// One kind of delivery failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    /// `ERROR_CODE` (`None`: no attributes at all, as from a hand-made forward).
    pub error_code: Option<&'static str>,
    /// `ERROR_MESSAGE`.
    pub error_message: &'static str,
    /// Whether the body is a well-formed EventBridge event.
    pub event_body: bool,
}

const fn family(code: &'static str, message: &'static str) -> Family {
    Family {
        error_code: Some(code),
        error_message: message,
        event_body: true,
    }
}

/// Every failure family, in generation order.
pub const FAMILIES: &[Family] = &[
    family(
        "THROTTLING",
        "Request rate exceeded for the API destination",
    ),
    family(
        "NO_PERMISSIONS",
        "EventBridge is not authorized to invoke the target",
    ),
    family(
        "FAILED_TO_ASSUME_ROLE",
        "Unable to assume the rule's IAM role",
    ),
    family("CONNECTION_FAILURE", "Connection to the endpoint failed"),
    family("TIMEOUT", "The target did not answer within the timeout"),
    family("NO_RESOURCE", "The target resource does not exist"),
    family("INVALID_JSON", "The input is not valid JSON for the target"),
    family("INVALID_PARAMETER", "Invalid parameter for the target"),
    family(
        "ERROR_FROM_TARGET",
        "Target returned status code 429 Too Many Requests",
    ),
    family(
        "ERROR_FROM_TARGET",
        "Target returned status code 401 Unauthorized",
    ),
    family(
        "ERROR_FROM_TARGET",
        "Target returned status code 404 Not Found",
    ),
    family(
        "ERROR_FROM_TARGET",
        "Target returned status code 400 Bad Request",
    ),
    family(
        "ERROR_FROM_TARGET",
        "Target returned status code 503 Service Unavailable",
    ),
    family(
        "SDK_CLIENT_ERROR",
        "Unable to execute HTTP request: connection reset",
    ),
    family(
        "INTERNAL_ERROR",
        "Internal error while delivering the event",
    ),
    family(
        "CROSS_ACCOUNT_INGESTION_FAILED",
        "Cross-account ingestion failed",
    ),
    family(
        "CROSS_REGION_INGESTION_FAILED",
        "Cross-region ingestion failed",
    ),
    family(
        "EVENTS_IN_BATCH_REQUEST_REJECTED",
        "Events in the batch were rejected",
    ),
    family("RESOURCE_ALREADY_EXISTS", "The resource already exists"),
    family("RESOURCE_LIMIT_EXCEEDED", "A resource limit was exceeded"),
    family(
        "RESOURCE_MODIFICATION_COLLISION",
        "Concurrent modification of the resource",
    ),
    family("THIRD_ACCOUNT_HOP_DETECTED", "Third account hop detected"),
    family("THIRD_REGION_HOP_DETECTED", "Third region hop detected"),
    family(
        "TRANSIENT_ASSUME_ROLE",
        "Transient failure assuming the role",
    ),
    family("UNKNOWN", "Unknown failure"),
    Family {
        error_code: Some("INVALID_JSON"),
        error_message: "Body is not an EventBridge event",
        event_body: false,
    },
];

/// Topic templates used in turn (`{id}` is the conversation id).
pub const TOPICS: &[&str] = &[
    "v2.conversations.{id}.transcription",
    "v2.detail.events.conversation.{id}.customer.end",
    "v2.detail.events.conversation.{id}.acw",
];

/// The EventBridge event (the SQS body) for `conversation_id` on topic template `template`.
pub fn event(rng: &mut SmallRng, template: &str, conversation_id: &str) -> String {
    let topic = template.replace("{id}", conversation_id);
    let at = Utc::now() - TimeDelta::minutes(rng.random_range(5..600));
    let time = at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let millis = at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    json!({
        "version": "0",
        "id": uuid::Uuid::from_u128(rng.random()).to_string(),
        "detail-type": template,
        "source": "aws.partner/genesys.com/cloud/7c1b3e2a-0d4f-4b8e-9a61-2f5c8d7e9b10/recipes",
        "account": "123456789012",
        "time": time,
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "topicName": topic,
            "version": "2",
            "eventBody": {
                "conversationId": conversation_id,
                "eventTime": millis,
            },
            "metadata": {"CorrelationId": uuid::Uuid::from_u128(rng.random()).to_string()},
            "timestamp": millis,
        }
    })
    .to_string()
}

/// `count` dead letters cycling through [`FAMILIES`] (all of them once `count` ≥ their
/// number), about the given conversations in turn, deterministic for a `seed`.
/// With `unknown_conversation`, the last letter names a conversation nobody knows (it
/// correlates as not found).
pub fn generate(
    conversation_ids: &[String],
    count: usize,
    seed: u64,
    unknown_conversation: bool,
) -> Vec<OutgoingMessage> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let family = FAMILIES[i % FAMILIES.len()];
        let nobody_knows = unknown_conversation && i + 1 == count;
        let conversation = if nobody_knows || conversation_ids.is_empty() {
            uuid::Uuid::from_u128(rng.random()).to_string()
        } else {
            conversation_ids[i % conversation_ids.len()].clone()
        };
        let body = if family.event_body {
            event(&mut rng, TOPICS[i % TOPICS.len()], &conversation)
        } else {
            format!("{{\"conversationId\": \"{conversation}\", \"truncated\": ")
        };
        let mut message = OutgoingMessage::new(body);
        if let Some(code) = family.error_code {
            let attempts: u32 = rng.random_range(1..185);
            message = message
                .with_attribute("ERROR_CODE", code)
                .with_attribute("ERROR_MESSAGE", family.error_message)
                .with_attribute(
                    "RULE_ARN",
                    "arn:aws:events:us-east-1:123456789012:rule/genesys-conversations",
                )
                .with_attribute(
                    "TARGET_ARN",
                    "arn:aws:events:us-east-1:123456789012:api-destination/conversation-sink/5b1c",
                )
                .with_number_attribute("RETRY_ATTEMPTS", attempts)
                .with_attribute(
                    "EXHAUSTED_RETRY_CONDITION",
                    if attempts >= 180 {
                        "MaximumRetryAttempts"
                    } else {
                        "MaximumEventAgeInSeconds"
                    },
                );
        }
        out.push(message);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqs_dlq::dead_letter::{Category, DeadLetter};
    use sqs_dlq::queue::ReceivedMessage;

    fn letters(count: usize) -> Vec<DeadLetter> {
        let ids = vec!["5f1c7a3e-9b2d-4c1a-8e3f-0a1b2c3d4e5f".to_owned()];
        generate(&ids, count, 7, false)
            .into_iter()
            .enumerate()
            .map(|(i, m)| {
                DeadLetter::from_received(ReceivedMessage::new(
                    format!("m{i}"),
                    format!("r{i}"),
                    m.body,
                    m.attributes,
                    1,
                    None,
                ))
            })
            .collect()
    }

    #[test]
    fn every_category_appears_and_events_carry_the_conversation() {
        let letters = letters(FAMILIES.len());
        for category in Category::ALL {
            assert!(
                letters.iter().any(|l| l.category() == category),
                "{category} missing"
            );
        }
        let events = letters.iter().filter(|l| l.event().is_some()).count();
        assert_eq!(events, FAMILIES.len() - 1);
        assert!(letters.iter().filter(|l| l.event().is_some()).all(|l| {
            l.conversation_id().as_deref() == Some("5f1c7a3e-9b2d-4c1a-8e3f-0a1b2c3d4e5f")
        }));
    }

    #[test]
    fn deterministic_per_seed() {
        let attributes =
            |m: Vec<OutgoingMessage>| -> Vec<_> { m.into_iter().map(|m| m.attributes).collect() };
        assert_eq!(
            attributes(generate(&[], 5, 1, false)),
            attributes(generate(&[], 5, 1, false))
        );
    }
}
