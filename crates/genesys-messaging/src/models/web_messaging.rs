//! The guest-side web messaging model: `WebMessagingMessage` and the page that carries it.
//!
//! Field names and enum values follow the platform's `WebMessagingMessage` schema. The message's
//! time lives in `channel.time` (there is no top-level timestamp). Every struct keeps the fields
//! this version does not know in `extra`, and every enum has an `Unknown` variant, so a message
//! from a newer platform decodes, and serializes back, without losing anything.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::open_enum::open_enum;

open_enum! {
    /// What kind of message it is (`type`).
    pub enum MessageType {
        /// Plain text.
        Text => "Text",
        /// Rich content: attachments, quick replies, cards, …
        Structured => "Structured",
        /// A delivery/read receipt.
        Receipt => "Receipt",
        /// An event: typing, presence, co-browse.
        Event => "Event",
    }
}

open_enum! {
    /// Who the message goes to (`direction`).
    pub enum Direction {
        /// From the guest to Genesys Cloud.
        Inbound => "Inbound",
        /// From Genesys Cloud (agent or bot) to the guest.
        Outbound => "Outbound",
    }
}

open_enum! {
    /// Who wrote an outbound message (`originatingEntity`).
    pub enum OriginatingEntity {
        /// A person.
        Human => "Human",
        /// A bot.
        Bot => "Bot",
    }
}

open_enum! {
    /// Receipt status (`status`).
    pub enum ReceiptStatus {
        /// Sent.
        Sent => "Sent",
        /// Delivered to the device.
        Delivered => "Delivered",
        /// Read.
        Read => "Read",
        /// Failed.
        Failed => "Failed",
        /// Published.
        Published => "Published",
        /// Removed.
        Removed => "Removed",
    }
}

open_enum! {
    /// The kind of one content item (`content[].contentType`): the guest model's
    /// (`WebMessagingContent`) and the agent side's normalized message's
    /// (`ConversationMessageContent`) values.
    pub enum ContentType {
        /// A file, image, video, audio clip or link (`attachment`).
        Attachment => "Attachment",
        /// A location.
        Location => "Location",
        /// A quick-reply button (`quickReply`).
        QuickReply => "QuickReply",
        /// The guest's answer to a button (`buttonResponse`).
        ButtonResponse => "ButtonResponse",
        /// A notification template.
        Notification => "Notification",
        /// A generic template.
        GenericTemplate => "GenericTemplate",
        /// Reactions.
        Reactions => "Reactions",
        /// A mention.
        Mention => "Mention",
        /// A card (`card`).
        Card => "Card",
        /// A carousel of cards (`carousel`).
        Carousel => "Carousel",
        /// A text item (`text`).
        Text => "Text",
        /// A date picker.
        DatePicker => "DatePicker",
        /// A list picker.
        ListPicker => "ListPicker",
        /// Version 2 quick replies.
        QuickReplyV2 => "QuickReplyV2",
    }
}

open_enum! {
    /// The kind of an attachment (`attachment.mediaType`).
    pub enum MediaType {
        /// An image.
        Image => "Image",
        /// A video.
        Video => "Video",
        /// An audio clip.
        Audio => "Audio",
        /// Any other file.
        File => "File",
        /// A link.
        Link => "Link",
    }
}

open_enum! {
    /// The kind of an event (`events[].eventType`).
    pub enum EventType {
        /// Co-browse.
        CoBrowse => "CoBrowse",
        /// Typing indicator.
        Typing => "Typing",
        /// Presence (join, disconnect, clear, sign-in).
        Presence => "Presence",
        /// Video.
        Video => "Video",
    }
}

/// One web messaging message as `GET /api/v2/webmessaging/messages` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebMessagingMessage {
    /// The message id (unique within the session).
    pub id: String,
    /// Channel data, including the message's time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<WebMessagingChannel>,
    /// Message type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub message_type: Option<MessageType>,
    /// The text, for text messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Rich content items.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub content: Vec<WebMessagingContent>,
    /// Events (typing, presence, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<WebMessagingEvent>,
    /// Receipt status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ReceiptStatus>,
    /// Reasons attached to a failed receipt.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<WebMessagingReason>,
    /// Human or bot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub originating_entity: Option<OriginatingEntity>,
    /// Whether this receipt is the last one for its message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_final_receipt: Option<bool>,
    /// Inbound or outbound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Free-form metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, Value>>,
    /// Fields this version does not know, kept as they came.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl WebMessagingMessage {
    /// A text message with the given id, time and direction (for tests and fixtures).
    pub fn text(
        id: impl Into<String>,
        time: DateTime<Utc>,
        direction: Direction,
        text: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            channel: Some(WebMessagingChannel {
                time: Some(time),
                ..WebMessagingChannel::default()
            }),
            message_type: Some(MessageType::Text),
            text: Some(text.into()),
            content: Vec::new(),
            events: Vec::new(),
            status: None,
            reasons: Vec::new(),
            originating_entity: None,
            is_final_receipt: None,
            direction: Some(direction),
            metadata: None,
            extra: BTreeMap::new(),
        }
    }

    /// The message's time (`channel.time`), when present.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        self.channel.as_ref().and_then(|c| c.time)
    }

    /// Every attachment in `content[]`.
    pub fn attachments(&self) -> impl Iterator<Item = &WebMessagingAttachment> {
        self.content.iter().filter_map(|c| c.attachment.as_ref())
    }
}

/// `channel`: where and when the message travelled.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebMessagingChannel {
    /// The message's time (ISO-8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<DateTime<Utc>>,
    /// The channel's own message id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<WebMessagingRecipient>,
    /// Recipient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<WebMessagingRecipient>,
    /// Fields this version does not know (`id`, `platform`, `type`, …).
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A sender or recipient (`channel.from` / `channel.to`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebMessagingRecipient {
    /// Display nickname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Avatar image URL (untrusted: check it with the media verifier before fetching).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Fields this version does not know (`id`, `idType`, …).
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One item of `content[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebMessagingContent {
    /// What this item is; tells which of the fields below is set.
    pub content_type: ContentType,
    /// An attachment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<WebMessagingAttachment>,
    /// A quick reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quick_reply: Option<WebMessagingQuickReply>,
    /// A button response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button_response: Option<WebMessagingButtonResponse>,
    /// A card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<WebMessagingCard>,
    /// A carousel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carousel: Option<WebMessagingCarousel>,
    /// Other content kinds (`generic`, `location`, `text`, …), kept as they came.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `content[].attachment`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebMessagingAttachment {
    /// Attachment id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Image, video, audio, file or link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<MediaType>,
    /// Where the media is: usually a time-limited signed URL. Untrusted input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// MIME type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime: Option<String>,
    /// Caption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// SHA-256 of the content, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// File name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `content[].quickReply`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebMessagingQuickReply {
    /// Button text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Payload sent back when chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// Action (`Message`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `content[].buttonResponse`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebMessagingButtonResponse {
    /// Button kind (`Button`, `QuickReply`, `DatePicker`, …), kept as a string.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub button_type: Option<String>,
    /// Text shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `content[].card`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebMessagingCard {
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Image URL (untrusted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Actions, kept as they came.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Value>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `content[].carousel`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebMessagingCarousel {
    /// The cards.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cards: Vec<WebMessagingCard>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One item of `events[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebMessagingEvent {
    /// The event kind.
    pub event_type: EventType,
    /// The kind-specific data (`typing`, `presence`, `coBrowse`, …), kept as it came.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One item of `reasons[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebMessagingReason {
    /// Reason code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Reason text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A page of any entity list: `{"entities": [...], "pageSize", "pageNumber", "total", "pageCount"}`.
///
/// The paging fields are optional because not every list answer carries them (the bulk
/// endpoint returns only `entities`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EntityList<T> {
    /// The page's items.
    #[serde(default = "Vec::new")]
    pub entities: Vec<T>,
    /// Page size as the server applied it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    /// 1-based page number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_number: Option<u32>,
    /// Total items across all pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// Number of pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_count: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"{
        "id": "f3a9c1d2",
        "channel": {
            "time": "2026-11-01T09:15:30.123Z",
            "messageId": "ch-1",
            "from": {"nickname": "Guest", "firstName": "Ada", "lastName": "L", "image": "https://x.example/a.png"},
            "to": {"nickname": "Support"},
            "id": "deployment-1",
            "platform": "Webmessaging",
            "type": "Private"
        },
        "type": "Text",
        "text": "hello",
        "direction": "Inbound",
        "originatingEntity": "Human",
        "metadata": {"customAttribute": "x"}
    }"#;

    const STRUCTURED: &str = r#"{
        "id": "m2",
        "channel": {"time": "2026-11-01T09:16:00Z"},
        "type": "Structured",
        "direction": "Outbound",
        "originatingEntity": "Bot",
        "content": [
            {"contentType": "Attachment", "attachment": {
                "id": "a1", "mediaType": "Image", "url": "https://media.example/a.png?X-Amz-Date=20261101T091600Z&X-Amz-Expires=600",
                "mime": "image/png", "text": "a cat", "sha256": "ab12", "filename": "a.png", "fileSize": 1024}},
            {"contentType": "QuickReply", "quickReply": {"text": "Yes", "payload": "yes", "action": "Message"}},
            {"contentType": "ButtonResponse", "buttonResponse": {"type": "QuickReply", "text": "Yes", "payload": "yes"}},
            {"contentType": "Card", "card": {"title": "T", "description": "D", "image": "https://x.example/i.png",
                "actions": [{"type": "Link", "text": "open", "url": "https://x.example"}]}},
            {"contentType": "Carousel", "carousel": {"cards": [{"title": "c1"}, {"title": "c2"}]}},
            {"contentType": "Location", "location": {"latitude": 1.5, "longitude": 2.5}}
        ]
    }"#;

    const RECEIPT_AND_EVENT: &str = r#"[
        {"id": "r1", "channel": {"time": "2026-11-01T09:17:00Z"}, "type": "Receipt", "status": "Failed",
         "isFinalReceipt": true, "reasons": [{"code": "MessageExpired", "message": "too old"}], "direction": "Outbound"},
        {"id": "e1", "channel": {"time": "2026-11-01T09:18:00Z"}, "type": "Event", "direction": "Inbound",
         "events": [{"eventType": "Typing", "typing": {"type": "On", "duration": 5000}},
                    {"eventType": "Presence", "presence": {"type": "Join"}}]}
    ]"#;

    fn round_trip(raw: &str) -> WebMessagingMessage {
        let original: Value = serde_json::from_str(raw).unwrap();
        let message: WebMessagingMessage = serde_json::from_value(original.clone()).unwrap();
        let back = serde_json::to_value(&message).unwrap();
        assert_eq!(back, original, "serialize(deserialize(x)) must equal x");
        message
    }

    #[test]
    fn text_message_round_trips_and_reads_channel_time() {
        let m = round_trip(TEXT);
        assert_eq!(m.message_type, Some(MessageType::Text));
        assert_eq!(m.direction, Some(Direction::Inbound));
        assert_eq!(m.originating_entity, Some(OriginatingEntity::Human));
        assert_eq!(
            m.time().unwrap().to_rfc3339(),
            "2026-11-01T09:15:30.123+00:00"
        );
        let channel = m.channel.clone().unwrap();
        assert_eq!(
            channel.extra.get("platform"),
            Some(&Value::from("Webmessaging"))
        );
        assert_eq!(channel.from.unwrap().first_name.as_deref(), Some("Ada"));
    }

    #[test]
    fn structured_message_round_trips_with_every_content_kind() {
        let m = round_trip(STRUCTURED);
        assert_eq!(m.content.len(), 6);
        let attachments: Vec<_> = m.attachments().collect();
        assert_eq!(attachments.len(), 1);
        assert_eq!(attachments[0].media_type, Some(MediaType::Image));
        assert_eq!(attachments[0].file_size, Some(1024));
        assert_eq!(
            m.content[1]
                .quick_reply
                .as_ref()
                .unwrap()
                .payload
                .as_deref(),
            Some("yes")
        );
        assert_eq!(
            m.content[2]
                .button_response
                .as_ref()
                .unwrap()
                .button_type
                .as_deref(),
            Some("QuickReply")
        );
        assert_eq!(m.content[3].card.as_ref().unwrap().actions.len(), 1);
        assert_eq!(m.content[4].carousel.as_ref().unwrap().cards.len(), 2);
        assert_eq!(m.content[5].content_type, ContentType::Location);
        assert!(m.content[5].extra.contains_key("location"));
    }

    #[test]
    fn receipts_and_events_round_trip() {
        let all: Vec<Value> = serde_json::from_str(RECEIPT_AND_EVENT).unwrap();
        let receipt = round_trip(&all[0].to_string());
        assert_eq!(receipt.status, Some(ReceiptStatus::Failed));
        assert_eq!(receipt.is_final_receipt, Some(true));
        assert_eq!(receipt.reasons[0].code.as_deref(), Some("MessageExpired"));
        let event = round_trip(&all[1].to_string());
        assert_eq!(event.events[0].event_type, EventType::Typing);
        assert_eq!(event.events[1].event_type, EventType::Presence);
    }

    #[test]
    fn unknown_enum_values_and_fields_decode_and_survive() {
        let raw = r#"{"id": "u1", "type": "Hologram", "direction": "Sideways", "originatingEntity": "Alien",
            "status": "Teleported", "channel": {"time": "2026-11-01T00:00:00Z"},
            "content": [{"contentType": "Hologram3D", "hologram": {"depth": 3}},
                        {"contentType": "Attachment", "attachment": {"mediaType": "Smell", "url": "https://x.example/s"}}],
            "events": [{"eventType": "Telepathy"}],
            "brandNewField": {"nested": [1, 2, 3]}}"#;
        let m = round_trip(raw);
        assert_eq!(
            m.message_type,
            Some(MessageType::Unknown("Hologram".into()))
        );
        assert!(m.direction.as_ref().unwrap().is_unknown());
        assert_eq!(m.originating_entity.as_ref().unwrap().as_str(), "Alien");
        assert_eq!(m.status.as_ref().unwrap().to_string(), "Teleported");
        assert_eq!(
            m.content[0].content_type,
            ContentType::Unknown("Hologram3D".into())
        );
        assert_eq!(
            m.content[1].attachment.as_ref().unwrap().media_type,
            Some(MediaType::Unknown("Smell".into()))
        );
        assert_eq!(
            m.events[0].event_type,
            EventType::Unknown("Telepathy".into())
        );
        assert!(m.extra.contains_key("brandNewField"));
    }

    #[test]
    fn minimal_message_needs_only_an_id() {
        let m = round_trip(r#"{"id": "only"}"#);
        assert_eq!(m.time(), None);
        assert!(serde_json::from_str::<WebMessagingMessage>(r#"{"type": "Text"}"#).is_err());
    }

    #[test]
    fn entity_list_round_trips() {
        let raw = format!(
            r#"{{"entities": [{TEXT}], "pageSize": 25, "pageNumber": 1, "total": 1, "pageCount": 1}}"#
        );
        let original: Value = serde_json::from_str(&raw).unwrap();
        let page: EntityList<WebMessagingMessage> =
            serde_json::from_value(original.clone()).unwrap();
        assert_eq!(page.page_count, Some(1));
        assert_eq!(serde_json::to_value(&page).unwrap(), original);
        let bare: EntityList<Value> = serde_json::from_str(r#"{"entities": []}"#).unwrap();
        assert_eq!(bare.total, None);
    }

    #[test]
    fn text_constructor_builds_a_decodable_message() {
        let t = "2026-11-01T00:00:00Z".parse().unwrap();
        let m = WebMessagingMessage::text("id1", t, Direction::Outbound, "hi");
        let back: WebMessagingMessage =
            serde_json::from_value(serde_json::to_value(&m).unwrap()).unwrap();
        assert_eq!(back, m);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any string decodes into an enum and serializes back unchanged.
        #[test]
        fn open_enums_round_trip_any_string(raw in ".{0,24}") {
            let v = Value::String(raw.clone());
            let t: MessageType = serde_json::from_value(v.clone()).unwrap();
            prop_assert_eq!(serde_json::to_value(&t).unwrap(), v.clone());
            prop_assert_eq!(t.as_str(), raw.as_str());
            let c: ContentType = serde_json::from_value(v.clone()).unwrap();
            prop_assert_eq!(serde_json::to_value(&c).unwrap(), v);
        }
    }
}
