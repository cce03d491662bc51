//! [`DeadLetter`] and what it needs (its documentation is on the type).

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::attributes::{DlqAttributes, ErrorCode};
use crate::dead_letter::category::{Category, Classification, classify};
use crate::queue::{Attributes, ReceivedMessage};

/// An Amazon EventBridge event, as Genesys Cloud publishes it.
///
/// `detail-type` is the topic *template* (`v2.conversations.{id}.transcription`); the concrete
/// topic with ids is [`EventDetail::topic_name`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventBridgeEvent {
    /// Envelope version (`"0"`).
    #[serde(default)]
    pub version: String,
    /// Event id (unique per event; a target can deduplicate on it).
    pub id: String,
    /// The topic template, e.g. `v2.conversations.{id}.transcription`.
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    /// The partner event source, `aws.partner/genesys.com/cloud/<orgId>/<suffix>`.
    pub source: String,
    /// The AWS account.
    #[serde(default)]
    pub account: String,
    /// Event time as written (RFC 3339); see [`EventBridgeEvent::event_time`].
    #[serde(default)]
    pub time: String,
    /// The AWS region.
    #[serde(default)]
    pub region: String,
    /// Resource ARNs (empty for Genesys events).
    #[serde(default)]
    pub resources: Vec<String>,
    /// The Genesys part of the event.
    pub detail: EventDetail,
}

impl EventBridgeEvent {
    /// The envelope's `time`, parsed.
    pub fn event_time(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        chrono::DateTime::parse_from_rfc3339(&self.time)
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc))
    }
}

/// The `detail` object of a Genesys EventBridge event. Every field is optional so that events
/// from other sources still parse; the raw body keeps anything not modelled here.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventDetail {
    /// The concrete topic, e.g. `v2.conversations.5f1c…transcription`.
    #[serde(rename = "topicName", default, skip_serializing_if = "Option::is_none")]
    pub topic_name: Option<String>,
    /// The notification schema version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The notification itself.
    #[serde(rename = "eventBody", default, skip_serializing_if = "Option::is_none")]
    pub event_body: Option<Value>,
    /// Metadata (`CorrelationId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<EventMetadata>,
    /// When Genesys produced the notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

/// `detail.metadata` of a Genesys event.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventMetadata {
    /// `CorrelationId`: Genesys' id for this notification.
    #[serde(
        rename = "CorrelationId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub correlation_id: Option<String>,
}

/// Why a dead letter's body is not an EventBridge event. The message is kept anyway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ParseError {
    /// The body is empty.
    #[error("the body is empty")]
    Empty,
    /// The body is not JSON.
    #[error("the body is not JSON (line {line}, column {column}): {message}")]
    NotJson {
        /// Line of the syntax error (1-based).
        line: usize,
        /// Column of the syntax error (1-based).
        column: usize,
        /// The JSON parser's message.
        message: String,
    },
    /// The body is JSON but not an EventBridge event (a field is missing or has the wrong type).
    #[error("the body is JSON but not an EventBridge event: {message}")]
    NotAnEvent {
        /// What is missing or wrong.
        message: String,
    },
    /// The body is an EventBridge failure record, not an event: the dead-letter record of a
    /// delivery that failed for a batch of events (`failedMessages`), with the error in the
    /// body rather than in message attributes. The events themselves are not in it, so there
    /// is nothing to replay: find them by id at their source.
    #[error(
        "the body is an EventBridge failure record for {failed_messages} event(s), not an event (error {error_code:?})"
    )]
    FailureSummary {
        /// `errorCode` of the record.
        error_code: Option<String>,
        /// `errorMessage` of the record.
        error_message: Option<String>,
        /// `targetArn` of the record.
        target_arn: Option<String>,
        /// `retryAttempts` of the record.
        retry_attempts: Option<u32>,
        /// How many events failed (`failedMessages`).
        failed_messages: usize,
        /// The ids of the failed events (`failedMessages[].eventId`; at most
        /// [`MAX_SUMMARY_EVENT_IDS`]).
        event_ids: Vec<String>,
    },
}

/// Most event ids a [`ParseError::FailureSummary`] keeps (its `failed_messages` count is exact).
pub const MAX_SUMMARY_EVENT_IDS: usize = 100;

/// The failure record shape: `failedMessages` is what tells it from an event.
fn failure_summary(value: &Value) -> Option<ParseError> {
    let obj = value.as_object()?;
    let failed = obj.get("failedMessages")?.as_array()?;
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
    Some(ParseError::FailureSummary {
        error_code: text("errorCode"),
        error_message: text("errorMessage"),
        target_arn: text("targetArn"),
        retry_attempts: obj
            .get("retryAttempts")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok()),
        failed_messages: failed.len(),
        event_ids: failed
            .iter()
            .filter_map(|m| m.get("eventId").and_then(Value::as_str))
            .take(MAX_SUMMARY_EVENT_IDS)
            .map(str::to_owned)
            .collect(),
    })
}

impl ParseError {
    fn from_json(error: &serde_json::Error) -> Self {
        use serde_json::error::Category as C;
        match error.classify() {
            C::Syntax | C::Eof | C::Io => ParseError::NotJson {
                line: error.line(),
                column: error.column(),
                message: error.to_string(),
            },
            C::Data => ParseError::NotAnEvent {
                message: error.to_string(),
            },
        }
    }
}

/// Parses a body as an EventBridge event.
pub fn parse_event(body: &str) -> Result<EventBridgeEvent, ParseError> {
    if body.trim().is_empty() {
        return Err(ParseError::Empty);
    }
    // Two steps so that "not JSON" and "JSON, but not an event" are told apart.
    let value: Value = serde_json::from_str(body).map_err(|e| ParseError::from_json(&e))?;
    if !value.is_object() {
        return Err(ParseError::NotAnEvent {
            message: "the body is not a JSON object".to_owned(),
        });
    }
    if let Some(summary) = failure_summary(&value) {
        return Err(summary);
    }
    serde_json::from_value(value).map_err(|e| ParseError::NotAnEvent {
        message: e.to_string(),
    })
}

/// One dead letter: the SQS message it came in, the EventBridge attributes, and the event (or
/// why the body is not one). Built from every message, whatever its body: nothing is dropped.
///
/// EventBridge dead letters: the event envelope, the DLQ attributes EventBridge attaches, and a
/// parser that never drops a message.
///
/// When a rule target cannot be reached, EventBridge puts the event, unchanged, into the
/// target's SQS dead-letter queue and adds the message attributes `ERROR_CODE`,
/// `ERROR_MESSAGE`, `RULE_ARN`, `TARGET_ARN`, `RETRY_ATTEMPTS` and
/// `EXHAUSTED_RETRY_CONDITION`. [`DeadLetter`] keeps all of it: the raw body byte for byte,
/// the raw attributes, the typed attributes, and the parsed event or the reason it could not be
/// parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    message_id: String,
    receipt_handle: Option<String>,
    receive_count: u32,
    sent_at: Option<SystemTime>,
    raw_body: String,
    attributes: Attributes,
    dlq: DlqAttributes,
    event: Result<EventBridgeEvent, ParseError>,
}

impl DeadLetter {
    /// Builds a dead letter from a received SQS message.
    pub fn from_message(message: &ReceivedMessage) -> Self {
        Self::from_received(message.clone())
    }

    /// Builds a dead letter from a received SQS message, taking it by value.
    pub fn from_received(message: ReceivedMessage) -> Self {
        let mut letter = Self::parse(message.message_id, message.body, message.attributes);
        letter.receipt_handle = Some(message.receipt_handle);
        letter.receive_count = message.receive_count;
        letter.sent_at = message.sent_at;
        letter
    }

    /// Builds a dead letter from a body and attributes that did not come through a queue
    /// receive (for example the HTTP receiver). It has no receipt handle and a receive count
    /// of 0.
    pub fn parse(
        message_id: impl Into<String>,
        body: impl Into<String>,
        attributes: Attributes,
    ) -> Self {
        let raw_body = body.into();
        let event = parse_event(&raw_body);
        let dlq = DlqAttributes::from_attributes(&attributes);
        Self {
            message_id: message_id.into(),
            receipt_handle: None,
            receive_count: 0,
            sent_at: None,
            raw_body,
            attributes,
            dlq,
            event,
        }
    }

    /// The SQS message id (or the id the caller gave).
    pub fn message_id(&self) -> &str {
        &self.message_id
    }

    /// The receipt handle of the receive that produced this letter, when it came from a queue.
    pub fn receipt_handle(&self) -> Option<&str> {
        self.receipt_handle.as_deref()
    }

    /// Replaces the receipt handle (the message was received again).
    pub fn set_receipt_handle(&mut self, handle: impl Into<String>) {
        self.receipt_handle = Some(handle.into());
    }

    /// `ApproximateReceiveCount` of the receive (0 when not from a queue).
    pub fn receive_count(&self) -> u32 {
        self.receive_count
    }

    /// When SQS accepted the message, if the backend said.
    pub fn sent_at(&self) -> Option<SystemTime> {
        self.sent_at
    }

    /// The body exactly as received.
    pub fn raw_body(&self) -> &str {
        &self.raw_body
    }

    /// The message attributes exactly as received.
    pub fn attributes(&self) -> &Attributes {
        &self.attributes
    }

    /// The EventBridge attributes, typed.
    pub fn dlq_attributes(&self) -> &DlqAttributes {
        &self.dlq
    }

    /// The parsed event, when the body is one.
    pub fn event(&self) -> Option<&EventBridgeEvent> {
        self.event.as_ref().ok()
    }

    /// Why the body is not an EventBridge event, when it is not.
    pub fn parse_error(&self) -> Option<&ParseError> {
        self.event.as_ref().err()
    }

    /// `ERROR_CODE`, typed.
    pub fn error_code(&self) -> Option<&ErrorCode> {
        self.dlq.error_code.as_ref()
    }

    /// `RETRY_ATTEMPTS`, or 0 when absent.
    pub fn retry_attempts(&self) -> u32 {
        self.dlq.retry_attempts.unwrap_or(0)
    }

    /// The value to send as `X-Attempt-Count` on the first replay attempt:
    /// `RETRY_ATTEMPTS + 1`.
    pub fn next_attempt(&self) -> u32 {
        self.retry_attempts().saturating_add(1)
    }

    /// The concrete topic (`detail.topicName`), when present.
    pub fn topic(&self) -> Option<&str> {
        self.event().and_then(|e| e.detail.topic_name.as_deref())
    }

    /// The failure category and how it was decided (see [`Category`]). A failure record
    /// ([`ParseError::FailureSummary`]) carries its error in the body: it is used when the
    /// message attributes have none.
    pub fn classification(&self) -> Classification {
        if self.dlq.error_code.is_none()
            && self.dlq.error_message.is_none()
            && let Err(ParseError::FailureSummary {
                error_code,
                error_message,
                ..
            }) = &self.event
        {
            let mut from_body = self.dlq.clone();
            from_body.error_code = error_code.as_deref().map(ErrorCode::parse);
            from_body.error_message.clone_from(error_message);
            return classify(&from_body);
        }
        classify(&self.dlq)
    }

    /// The failure category.
    pub fn category(&self) -> Category {
        self.classification().category
    }

    /// The Genesys conversation id this event is about, when one can be found (see
    /// [`conversation_id`]).
    pub fn conversation_id(&self) -> Option<String> {
        self.event().and_then(conversation_id)
    }
}

impl From<ReceivedMessage> for DeadLetter {
    fn from(message: ReceivedMessage) -> Self {
        Self::from_received(message)
    }
}

/// The conversation id an event is about.
///
/// Looked up in this order, each candidate accepted only if it is a UUID in canonical
/// hyphenated form (returned lowercase):
/// 1. the topic name: `v2.conversations.{id}.…` or `v2.detail.events.conversation.{id}.…`;
/// 2. `eventBody.conversationId`;
/// 3. `eventBody.id`, but only for conversation topics (on other topics, such as
///    `v2.users.{id}.presence`, the body's `id` is not a conversation).
pub fn conversation_id(event: &EventBridgeEvent) -> Option<String> {
    let topic = event.detail.topic_name.as_deref().unwrap_or("");
    if let Some(id) = conversation_id_from_topic(topic) {
        return Some(id);
    }
    let body = event.detail.event_body.as_ref()?;
    if let Some(id) = body
        .get("conversationId")
        .and_then(Value::as_str)
        .and_then(canonical_uuid)
    {
        return Some(id);
    }
    let conversation_topic =
        is_conversation_topic(topic) || is_conversation_topic(&event.detail_type);
    if conversation_topic {
        return body
            .get("id")
            .and_then(Value::as_str)
            .and_then(canonical_uuid);
    }
    None
}

const CONVERSATION_TOPIC_PREFIXES: &[&str] =
    &["v2.conversations.", "v2.detail.events.conversation."];

fn is_conversation_topic(topic: &str) -> bool {
    CONVERSATION_TOPIC_PREFIXES
        .iter()
        .any(|p| topic.starts_with(p))
}

/// The conversation id in a topic name `v2.conversations.{id}.…` or
/// `v2.detail.events.conversation.{id}.…`, when it is a UUID.
pub fn conversation_id_from_topic(topic: &str) -> Option<String> {
    CONVERSATION_TOPIC_PREFIXES.iter().find_map(|prefix| {
        let rest = topic.strip_prefix(prefix)?;
        let candidate = rest.split('.').next()?;
        canonical_uuid(candidate)
    })
}

/// `Some(lowercase id)` when `raw` is a UUID in the canonical 8-4-4-4-12 hyphenated form.
pub fn canonical_uuid(raw: &str) -> Option<String> {
    if raw.len() != 36 {
        return None;
    }
    uuid::Uuid::try_parse(raw)
        .ok()
        .map(|id| id.hyphenated().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dead_letter::attributes::{
        ATTR_ERROR_CODE, ATTR_EXHAUSTED_RETRY_CONDITION, ATTR_RETRY_ATTEMPTS,
        ExhaustedRetryCondition,
    };
    use crate::queue::AttributeValue;

    const CONV: &str = "5f1c7a3e-9b2d-4c1a-8e3f-0a1b2c3d4e5f";

    fn event_json(topic: &str, body: &str) -> String {
        format!(
            r#"{{"version":"0","id":"e1","detail-type":"v2.conversations.{{id}}.transcription","source":"aws.partner/genesys.com/cloud/org/suffix","account":"123456789012","time":"2021-05-31T09:49:26Z","region":"us-east-1","resources":[],"detail":{{"topicName":"{topic}","version":"2","eventBody":{body},"metadata":{{"CorrelationId":"c-1"}},"timestamp":"2021-05-31T09:49:26.031Z"}}}}"#
        )
    }

    #[test]
    fn error_codes_round_trip() {
        for code in ErrorCode::documented() {
            assert_eq!(ErrorCode::parse(code.as_str()), code);
        }
        assert_eq!(
            ErrorCode::parse("NEW_CODE"),
            ErrorCode::Unknown("NEW_CODE".into())
        );
        assert_eq!(ErrorCode::parse("UNKNOWN"), ErrorCode::Unspecified);
        assert_eq!(ErrorCode::documented().count(), 21);
    }

    #[test]
    fn a_failure_record_is_its_own_kind_and_is_classified_from_its_body() {
        let body = r#"{"version": "1.0", "busArn": "arn:aws:events:us-east-1:111122223333:event-busv2/orders/x",
            "targetArn": "arn:aws:sqs:us-east-1:111122223333:large-orders",
            "errorCode": "THROTTLING", "errorMessage": "Rate exceeded",
            "exhaustedRetryCondition": "MaximumEventAgeInSeconds", "retryAttempts": 4,
            "failedMessages": [{"eventId": "a1"}, {"eventId": "b2"}, {"timestamp": "t"}]}"#;
        let letter = DeadLetter::parse("m1", body, Attributes::new());
        match letter.parse_error() {
            Some(ParseError::FailureSummary {
                error_code,
                failed_messages,
                event_ids,
                retry_attempts,
                target_arn,
                ..
            }) => {
                assert_eq!(error_code.as_deref(), Some("THROTTLING"));
                assert_eq!(*failed_messages, 3);
                assert_eq!(event_ids, &["a1", "b2"]);
                assert_eq!(*retry_attempts, Some(4));
                assert!(target_arn.is_some());
            }
            other => panic!("expected a failure summary, got {other:?}"),
        }
        assert!(letter.event().is_none());
        // No ERROR_CODE attribute: the body's errorCode decides.
        assert_eq!(letter.category(), Category::RateLimited);
        let json = serde_json::to_value(letter.parse_error().unwrap()).unwrap();
        assert_eq!(json["kind"], "failure_summary");
        // Any other JSON object is still "not an event".
        let other = DeadLetter::parse("m2", r#"{"hello": 1}"#, Attributes::new());
        assert!(matches!(
            other.parse_error(),
            Some(ParseError::NotAnEvent { .. })
        ));
    }

    #[test]
    fn parses_a_genesys_event() {
        let body = event_json(&format!("v2.conversations.{CONV}.transcription"), "{}");
        let event = parse_event(&body).unwrap();
        assert_eq!(event.detail_type, "v2.conversations.{id}.transcription");
        assert_eq!(
            event
                .detail
                .metadata
                .as_ref()
                .unwrap()
                .correlation_id
                .as_deref(),
            Some("c-1")
        );
        assert!(event.event_time().is_some());
    }

    #[test]
    fn tells_not_json_from_not_an_event() {
        assert!(matches!(
            parse_event("{oops"),
            Err(ParseError::NotJson { .. })
        ));
        assert!(matches!(
            parse_event("[1,2]"),
            Err(ParseError::NotAnEvent { .. })
        ));
        assert!(matches!(
            parse_event(r#"{"hello":"world"}"#),
            Err(ParseError::NotAnEvent { .. })
        ));
        assert_eq!(parse_event("  "), Err(ParseError::Empty));
    }

    #[test]
    fn conversation_id_from_topics_and_bodies() {
        let upper = CONV.to_uppercase();
        let ev = parse_event(&event_json(
            &format!("v2.conversations.{upper}.transcription"),
            "{}",
        ))
        .unwrap();
        assert_eq!(conversation_id(&ev).as_deref(), Some(CONV));

        let ev = parse_event(&event_json(
            &format!("v2.detail.events.conversation.{CONV}.customer.start"),
            "{}",
        ))
        .unwrap();
        assert_eq!(conversation_id(&ev).as_deref(), Some(CONV));

        let ev = parse_event(&event_json(
            "v2.routing.queues.q1.conversations",
            &format!(r#"{{"conversationId":"{CONV}"}}"#),
        ))
        .unwrap();
        assert_eq!(conversation_id(&ev).as_deref(), Some(CONV));

        // Not a UUID in the topic: falls back to the body id on a conversation topic.
        let ev = parse_event(&event_json(
            "v2.conversations.not-a-uuid.transcription",
            &format!(r#"{{"id":"{CONV}"}}"#),
        ))
        .unwrap();
        assert_eq!(conversation_id(&ev).as_deref(), Some(CONV));
    }

    #[test]
    fn body_id_on_other_topics_is_not_a_conversation() {
        let mut ev = parse_event(&event_json(
            "v2.users.u1.presence",
            &format!(r#"{{"id":"{CONV}"}}"#),
        ))
        .unwrap();
        ev.detail_type = "v2.users.{id}.presence".into();
        assert_eq!(conversation_id(&ev), None);
    }

    #[test]
    fn uuid_validation_is_strict() {
        assert!(canonical_uuid(CONV).is_some());
        assert!(canonical_uuid(&CONV.replace('-', "")).is_none());
        assert!(canonical_uuid(&format!("{{{CONV}}}")).is_none());
        assert!(canonical_uuid("../../etc/passwd-0000-0000-0000-00000").is_none());
    }

    #[test]
    fn attributes_are_typed_and_kept_raw() {
        let mut attrs = Attributes::new();
        attrs.insert(
            ATTR_ERROR_CODE.into(),
            AttributeValue::String("THROTTLING".into()),
        );
        attrs.insert(
            ATTR_RETRY_ATTEMPTS.into(),
            AttributeValue::Number("not a number".into()),
        );
        attrs.insert(
            ATTR_EXHAUSTED_RETRY_CONDITION.into(),
            AttributeValue::String("MaximumEventAgeInSeconds".into()),
        );
        let letter = DeadLetter::parse("m1", "garbage", attrs.clone());
        assert_eq!(letter.error_code(), Some(&ErrorCode::Throttling));
        assert_eq!(letter.dlq_attributes().retry_attempts, None);
        assert_eq!(letter.next_attempt(), 1);
        assert_eq!(letter.attributes(), &attrs);
        assert_eq!(letter.raw_body(), "garbage");
        assert!(letter.parse_error().is_some());
        assert_eq!(
            letter.dlq_attributes().exhausted_retry_condition,
            Some(ExhaustedRetryCondition::MaximumEventAgeInSeconds)
        );
    }
}
