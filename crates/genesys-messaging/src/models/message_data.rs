//! The agent-side model: `MessageData`, as the bulk endpoint and the send endpoint return it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::open_enum::open_enum;
use super::web_messaging::{Direction, MessageType};

open_enum! {
    /// `MessageData.direction` (lower case on this endpoint).
    pub enum MessageDirection {
        /// From the customer.
        Inbound => "inbound",
        /// To the customer.
        Outbound => "outbound",
    }
}

open_enum! {
    /// `MessageData.messengerType`: the channel.
    pub enum MessengerType {
        /// SMS.
        Sms => "sms",
        /// Facebook Messenger.
        Facebook => "facebook",
        /// X / Twitter.
        Twitter => "twitter",
        /// WhatsApp.
        Whatsapp => "whatsapp",
        /// Web messaging.
        Webmessaging => "webmessaging",
        /// Open messaging.
        Open => "open",
        /// Instagram.
        Instagram => "instagram",
        /// Apple Messages for Business.
        Apple => "apple",
        /// LinkedIn.
        Linkedin => "linkedin",
    }
}

open_enum! {
    /// `MessageData.status`.
    pub enum MessageStatus {
        /// Queued for sending.
        Queued => "queued",
        /// Sent.
        Sent => "sent",
        /// Failed.
        Failed => "failed",
        /// Received from the customer.
        Received => "received",
        /// Delivered.
        DeliverySuccess => "delivery-success",
        /// Delivery failed.
        DeliveryFailed => "delivery-failed",
        /// Read.
        Read => "read",
        /// Removed.
        Removed => "removed",
        /// Published.
        Published => "published",
    }
}

/// One message as the agent side sees it (`MessageData`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MessageData {
    /// Message id.
    pub id: String,
    /// The provider's own id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_message_id: Option<String>,
    /// When the message was sent or received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// Sender address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_address: Option<String>,
    /// Recipient address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_address: Option<String>,
    /// inbound / outbound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<MessageDirection>,
    /// The channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messenger_type: Option<MessengerType>,
    /// The text in the older model (`textBody`, SDK 257 and before). The current platform
    /// puts the text in `normalizedMessage.text` only: read [`MessageData::text`], which
    /// takes either.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_body: Option<String>,
    /// Delivery status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<MessageStatus>,
    /// The normalized form of the message (`ConversationNormalizedMessage`: `text`, `type`,
    /// `content[]` with attachments), kept as it came; [`MessageData::text`],
    /// [`MessageData::normalized_type`] and [`MessageData::attachments`] read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalized_message: Option<Value>,
    /// The conversation the message belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// This resource's URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
    /// Fields this version does not know (`media`, `stickers`, `createdBy`, …).
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// An attachment of a [`MessageData`], from either shape the platform has served.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MessageAttachment {
    /// Where it can be downloaded (a time-limited signed URL).
    pub url: String,
    /// Its size in bytes (`contentSizeBytes`; `contentLengthBytes` in the older `media[]`).
    pub size_bytes: Option<u64>,
    /// Its MIME type, when given.
    pub mime: Option<String>,
    /// Its file name, when given.
    pub filename: Option<String>,
}

impl MessageData {
    /// The text: `normalizedMessage.text` (the current model), else the older `textBody`.
    pub fn text(&self) -> Option<&str> {
        self.normalized_message
            .as_ref()
            .and_then(|n| n.get("text"))
            .and_then(Value::as_str)
            .or(self.text_body.as_deref())
    }

    /// The message type from `normalizedMessage.type`, else `Text` when there is a text.
    pub fn normalized_type(&self) -> Option<MessageType> {
        let from_normalized = self
            .normalized_message
            .as_ref()
            .and_then(|n| n.get("type"))
            .and_then(Value::as_str)
            .map(MessageType::from);
        from_normalized.or_else(|| self.text().map(|_| MessageType::Text))
    }

    /// The direction in the web messaging vocabulary.
    pub fn web_direction(&self) -> Option<Direction> {
        self.direction.as_ref().map(|d| match d {
            MessageDirection::Inbound => Direction::Inbound,
            MessageDirection::Outbound => Direction::Outbound,
            MessageDirection::Unknown(raw) => Direction::Unknown(raw.clone()),
        })
    }

    /// The attachments: `normalizedMessage.content[].attachment` (the current model, size in
    /// `contentSizeBytes`), then the older model's `media[]` (size in `contentLengthBytes`).
    /// Entries without a URL are left out.
    pub fn attachments(&self) -> Vec<MessageAttachment> {
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let mut out = Vec::new();
        let content = self
            .normalized_message
            .as_ref()
            .and_then(|n| n.get("content"))
            .and_then(Value::as_array);
        for a in content
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("attachment"))
        {
            if let Some(url) = text(a, "url") {
                out.push(MessageAttachment {
                    url,
                    size_bytes: a
                        .get("contentSizeBytes")
                        .or_else(|| a.get("fileSize"))
                        .and_then(Value::as_u64),
                    mime: text(a, "mime"),
                    filename: text(a, "filename"),
                });
            }
        }
        let media = self.extra.get("media").and_then(Value::as_array);
        for m in media.into_iter().flatten() {
            if let Some(url) = text(m, "url") {
                out.push(MessageAttachment {
                    url,
                    size_bytes: m.get("contentLengthBytes").and_then(Value::as_u64),
                    mime: text(m, "mediaType"),
                    filename: text(m, "name"),
                });
            }
        }
        out
    }

    /// The attachments' URLs (see [`MessageData::attachments`]).
    pub fn attachment_urls(&self) -> Vec<String> {
        self.attachments().into_iter().map(|a| a.url).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMS: &str = r#"{
        "id": "md-1", "providerMessageId": "SM123", "timestamp": "2026-11-01T10:00:00.500Z",
        "fromAddress": "+15550100", "toAddress": "+15550199", "direction": "inbound",
        "messengerType": "sms", "textBody": "hi there", "status": "received",
        "conversationId": "c-1", "selfUri": "/api/v2/conversations/messages/c-1/messages/md-1",
        "media": [{"url": "https://media.example/m.jpg", "mediaType": "image/jpeg", "contentLengthBytes": 10}]
    }"#;

    const WEB: &str = r#"{
        "id": "md-2", "timestamp": "2026-11-01T10:01:00Z", "direction": "outbound", "messengerType": "webmessaging",
        "status": "delivery-success", "conversationId": "c-1",
        "normalizedMessage": {"id": "md-2", "type": "Structured", "channel": {"time": "2026-11-01T10:01:00Z"},
            "content": [{"contentType": "Attachment", "attachment": {"mediaType": "File", "url": "https://media.example/f.pdf"}}]}
    }"#;

    /// The current model (SDK 269): no `textBody`, `media` or `stickers`; the text and the
    /// attachments (`contentSizeBytes`) live in `normalizedMessage`.
    const CURRENT: &str = r#"{
        "id": "md-3", "name": "m", "timestamp": "2026-11-01T10:02:00Z", "direction": "inbound", "messengerType": "linkedin",
        "status": "received", "conversationId": "c-1",
        "normalizedMessage": {"id": "md-3", "type": "Text", "text": "hello from the new shape", "channel": {"time": "2026-11-01T10:02:00Z"},
            "content": [{"contentType": "Attachment", "attachment": {"mediaType": "Image", "url": "https://media.example/p.png",
                "mime": "image/png", "filename": "p.png", "contentSizeBytes": 2048}}]}
    }"#;

    fn round_trip(raw: &str) -> MessageData {
        let original: Value = serde_json::from_str(raw).unwrap();
        let m: MessageData = serde_json::from_value(original.clone()).unwrap();
        assert_eq!(serde_json::to_value(&m).unwrap(), original);
        m
    }

    #[test]
    fn sms_message_data_round_trips() {
        let m = round_trip(SMS);
        assert_eq!(m.messenger_type, Some(MessengerType::Sms));
        assert_eq!(m.status, Some(MessageStatus::Received));
        assert_eq!(m.web_direction(), Some(Direction::Inbound));
        assert_eq!(m.normalized_type(), Some(MessageType::Text));
        assert_eq!(
            m.text(),
            Some("hi there"),
            "the older textBody is still read"
        );
        assert_eq!(
            m.attachment_urls(),
            vec!["https://media.example/m.jpg".to_owned()]
        );
        assert_eq!(m.attachments()[0].size_bytes, Some(10));
    }

    #[test]
    fn current_model_reads_text_and_attachments_from_the_normalized_message() {
        let m = round_trip(CURRENT);
        assert_eq!(m.text_body, None);
        assert_eq!(m.text(), Some("hello from the new shape"));
        assert_eq!(m.normalized_type(), Some(MessageType::Text));
        assert_eq!(m.messenger_type, Some(MessengerType::Linkedin));
        assert_eq!(
            m.attachments(),
            vec![MessageAttachment {
                url: "https://media.example/p.png".into(),
                size_bytes: Some(2048),
                mime: Some("image/png".into()),
                filename: Some("p.png".into()),
            }]
        );
        // `line` is no messenger type of the current model.
        assert!(MessengerType::from("line").is_unknown());
    }

    #[test]
    fn normalized_message_gives_type_and_attachments() {
        let m = round_trip(WEB);
        assert_eq!(m.normalized_type(), Some(MessageType::Structured));
        assert_eq!(m.status, Some(MessageStatus::DeliverySuccess));
        assert_eq!(
            m.attachment_urls(),
            vec!["https://media.example/f.pdf".to_owned()]
        );
    }

    #[test]
    fn unknown_values_survive() {
        let m = round_trip(
            r#"{"id": "x", "direction": "sideways", "messengerType": "carrier-pigeon", "status": "lost", "newThing": 1}"#,
        );
        assert_eq!(
            m.messenger_type,
            Some(MessengerType::Unknown("carrier-pigeon".into()))
        );
        assert_eq!(
            m.web_direction(),
            Some(Direction::Unknown("sideways".into()))
        );
        assert!(m.status.as_ref().unwrap().is_unknown());
        assert_eq!(m.normalized_type(), None);
    }
}
