//! Conversation details as the analytics API returns them:
//! [`AnalyticsConversation`] → [`Participant`] → [`Session`] → [`Segment`].
//!
//! Every model keeps the fields it does not know in `extra` (nothing the platform sends is
//! lost), every enum has an `Unknown(String)` variant, and a `null` where a list is expected
//! reads as an empty list. Timestamps are ISO-8601 / RFC 3339 in UTC.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::tolerant::tolerant_enum;

tolerant_enum! {
    /// Which way a conversation or session went.
    pub enum Direction {
        /// Towards the organization (customer initiated).
        Inbound => "inbound",
        /// Away from the organization.
        Outbound => "outbound",
    }
}

tolerant_enum! {
    /// The role a participant plays in a conversation.
    pub enum Purpose {
        /// The customer (external party).
        Customer => "customer",
        /// An agent (a user answering for the organization).
        Agent => "agent",
        /// An ACD queue.
        Acd => "acd",
        /// An IVR / Architect flow.
        Ivr => "ivr",
        /// A bot flow (`botflow` on the wire; there is no `bot` purpose).
        Bot => "botflow",
        /// A user that is not acting as an agent.
        User => "user",
        /// An external party that is not the customer.
        External => "external",
        /// A workflow.
        Workflow => "workflow",
        /// A voicemail box.
        Voicemail => "voicemail",
        /// An outbound dialer.
        Dialer => "dialer",
    }
}

tolerant_enum! {
    /// The media of a session.
    pub enum MediaType {
        /// A voice call.
        Voice => "voice",
        /// A (legacy) web chat.
        Chat => "chat",
        /// An email.
        Email => "email",
        /// A message (web messaging, SMS, social, open messaging…).
        Message => "message",
        /// A callback.
        Callback => "callback",
        /// A co-browse session.
        Cobrowse => "cobrowse",
        /// A video session.
        Video => "video",
        /// A screen share.
        Screenshare => "screenshare",
    }
}

tolerant_enum! {
    /// The messaging channel of a `message` session.
    pub enum MessageType {
        /// Genesys web messaging.
        WebMessaging => "webmessaging",
        /// SMS.
        Sms => "sms",
        /// Open messaging (a third-party integration).
        Open => "open",
        /// Facebook Messenger.
        Facebook => "facebook",
        /// Twitter / X direct messages.
        Twitter => "twitter",
        /// LINE.
        Line => "line",
        /// WhatsApp.
        WhatsApp => "whatsapp",
        /// Instagram.
        Instagram => "instagram",
        /// Apple Messages for Business.
        Apple => "apple",
    }
}

tolerant_enum! {
    /// What was happening during a segment.
    pub enum SegmentType {
        /// Alerting (ringing / offered).
        Alert => "alert",
        /// Dialing.
        Dialing => "dialing",
        /// Contacting.
        Contacting => "contacting",
        /// Interacting (talking, messaging).
        Interact => "interact",
        /// On hold.
        Hold => "hold",
        /// After-call work.
        Wrapup => "wrapup",
        /// In an IVR.
        Ivr => "ivr",
        /// Leaving a voicemail.
        Voicemail => "voicemail",
        /// System time.
        System => "system",
        /// Waiting (delay).
        Delay => "delay",
        /// Sharing (screen / co-browse).
        Sharing => "sharing",
        /// Parked.
        Parked => "parked",
    }
}

tolerant_enum! {
    /// How a segment ended.
    pub enum DisconnectType {
        /// The endpoint hung up / left.
        Endpoint => "endpoint",
        /// The client application disconnected.
        Client => "client",
        /// The system disconnected.
        System => "system",
        /// Transferred.
        Transfer => "transfer",
        /// Ended by an error.
        Error => "error",
        /// The other party disconnected.
        Peer => "peer",
        /// Any other reason.
        Other => "other",
        /// Marked as spam.
        Spam => "spam",
        /// Timed out.
        Timeout => "timeout",
        /// The transport failed.
        TransportFailure => "transportFailure",
        /// The conversation was marked uncallable.
        Uncallable => "uncallable",
    }
}

/// Reads `null` as the type's default (an absent or null list is an empty list).
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// One conversation as the analytics details API describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AnalyticsConversation {
    /// The conversation id (the id the conversation and messaging APIs use too).
    pub conversation_id: String,
    /// When the conversation started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_start: Option<DateTime<Utc>>,
    /// When it ended; `None` while it is still going on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_end: Option<DateTime<Utc>>,
    /// Who started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub originating_direction: Option<Direction>,
    /// The divisions the conversation belongs to.
    #[serde(default, deserialize_with = "null_as_default")]
    pub division_ids: Vec<String>,
    /// Everyone who took part: customer, flows, queues, agents.
    #[serde(default, deserialize_with = "null_as_default")]
    pub participants: Vec<Participant>,
    /// Fields this crate does not model, kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AnalyticsConversation {
    /// A conversation with only its id set (for fakes and tests of your own code).
    pub fn new(conversation_id: impl Into<String>) -> Self {
        Self {
            conversation_id: conversation_id.into(),
            conversation_start: None,
            conversation_end: None,
            originating_direction: None,
            division_ids: Vec::new(),
            participants: Vec::new(),
            extra: Map::new(),
        }
    }

    /// Participants with the given purpose (e.g. every [`Purpose::Agent`]).
    pub fn participants_with<'a>(
        &'a self,
        purpose: &'a Purpose,
    ) -> impl Iterator<Item = &'a Participant> + 'a {
        self.participants
            .iter()
            .filter(move |p| p.purpose.as_ref() == Some(purpose))
    }

    /// Every session of every participant.
    pub fn sessions(&self) -> impl Iterator<Item = &Session> {
        self.participants.iter().flat_map(|p| p.sessions.iter())
    }
}

/// A party in a conversation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Participant {
    /// The participant id (unique within the conversation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant_id: Option<String>,
    /// A display name (customer name, queue name, flow name…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant_name: Option<String>,
    /// The role this participant plays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Purpose>,
    /// The participant's sessions (one per media).
    #[serde(default, deserialize_with = "null_as_default")]
    pub sessions: Vec<Session>,
    /// Fields this crate does not model, kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One media session of a participant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Session {
    /// The media of this session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<MediaType>,
    /// The session id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Which way the session went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// The messaging channel, for `message` sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_type: Option<MessageType>,
    /// What happened, in order.
    #[serde(default, deserialize_with = "null_as_default")]
    pub segments: Vec<Segment>,
    /// Fields this crate does not model, kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A stretch of time within a session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Segment {
    /// When the segment started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_start: Option<DateTime<Utc>>,
    /// When it ended; `None` while it is still going on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_end: Option<DateTime<Utc>>,
    /// What was happening.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_type: Option<SegmentType>,
    /// How it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disconnect_type: Option<DisconnectType>,
    /// Fields this crate does not model, kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One page of `POST /api/v2/analytics/conversations/details/query`.
///
/// The platform leaves `conversations` out of an empty page: it reads as an empty list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ConversationPage {
    /// The conversations on this page.
    #[serde(default, deserialize_with = "null_as_default")]
    pub conversations: Vec<AnalyticsConversation>,
    /// How many conversations the whole query matches (all pages), when the answer says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_hits: Option<u64>,
    /// Fields this crate does not model, kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ConversationPage {
    /// Whether the page holds no conversation.
    pub fn is_empty(&self) -> bool {
        self.conversations.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
      "conversations": [{
        "conversationId": "c0ffee00-0000-4000-8000-000000000001",
        "conversationStart": "2026-11-01T10:00:00.123Z",
        "conversationEnd": "2026-11-01T10:15:30.000Z",
        "originatingDirection": "inbound",
        "divisionIds": ["d1"],
        "mediaStatsMinConversationMos": 4.2,
        "participants": [{
          "participantId": "p1",
          "participantName": "Ada",
          "purpose": "customer",
          "sessions": [{
            "mediaType": "message",
            "sessionId": "s1",
            "direction": "inbound",
            "messageType": "webmessaging",
            "metrics": [{"name": "nConnected", "value": 1}],
            "segments": [
              {"segmentStart": "2026-11-01T10:00:00.123Z", "segmentEnd": "2026-11-01T10:15:30.000Z",
               "segmentType": "interact", "disconnectType": "endpoint"}
            ]
          }]
        }, {
          "participantId": "p2",
          "purpose": "agent",
          "userId": "u1",
          "sessions": [{"mediaType": "hologram", "segments": null,
                        "direction": "sideways", "messageType": "pigeon"}]
        }]
      }],
      "totalHits": 1,
      "interval": "whatever"
    }"#;

    #[test]
    fn a_full_answer_parses_with_every_listed_field() {
        let page: ConversationPage = serde_json::from_str(SAMPLE).unwrap();
        assert_eq!(page.total_hits, Some(1));
        assert_eq!(page.extra["interval"], "whatever");
        let c = &page.conversations[0];
        assert_eq!(c.conversation_id, "c0ffee00-0000-4000-8000-000000000001");
        assert_eq!(
            c.conversation_start.unwrap().to_rfc3339(),
            "2026-11-01T10:00:00.123+00:00"
        );
        assert!(c.conversation_end.is_some());
        assert_eq!(c.originating_direction, Some(Direction::Inbound));
        assert_eq!(c.division_ids, vec!["d1"]);
        assert_eq!(c.extra["mediaStatsMinConversationMos"], 4.2);
        let p = &c.participants[0];
        assert_eq!(p.participant_id.as_deref(), Some("p1"));
        assert_eq!(p.participant_name.as_deref(), Some("Ada"));
        assert_eq!(p.purpose, Some(Purpose::Customer));
        let s = &p.sessions[0];
        assert_eq!(s.media_type, Some(MediaType::Message));
        assert_eq!(s.session_id.as_deref(), Some("s1"));
        assert_eq!(s.direction, Some(Direction::Inbound));
        assert_eq!(s.message_type, Some(MessageType::WebMessaging));
        assert!(s.extra.contains_key("metrics"));
        let seg = &s.segments[0];
        assert_eq!(seg.segment_type, Some(SegmentType::Interact));
        assert_eq!(seg.disconnect_type, Some(DisconnectType::Endpoint));
        assert!(seg.segment_start.unwrap() < seg.segment_end.unwrap());
    }

    #[test]
    fn unknown_enum_values_and_fields_are_kept_not_fatal() {
        let page: ConversationPage = serde_json::from_str(SAMPLE).unwrap();
        let agent = &page.conversations[0].participants[1];
        assert_eq!(agent.purpose, Some(Purpose::Agent));
        assert_eq!(agent.extra["userId"], "u1");
        let s = &agent.sessions[0];
        assert_eq!(s.media_type, Some(MediaType::Unknown("hologram".into())));
        assert_eq!(s.direction, Some(Direction::Unknown("sideways".into())));
        assert_eq!(s.message_type, Some(MessageType::Unknown("pigeon".into())));
        assert!(s.segments.is_empty(), "null segments read as none");
    }

    #[test]
    fn round_trip_keeps_unknown_fields() {
        let page: ConversationPage = serde_json::from_str(SAMPLE).unwrap();
        let again: ConversationPage =
            serde_json::from_str(&serde_json::to_string(&page).unwrap()).unwrap();
        assert_eq!(page, again);
    }

    #[test]
    fn absent_or_null_conversations_is_an_empty_page() {
        let page: ConversationPage = serde_json::from_str(r#"{"totalHits": 0}"#).unwrap();
        assert!(page.is_empty());
        assert_eq!(page.total_hits, Some(0));
        let page: ConversationPage = serde_json::from_str(r#"{"conversations": null}"#).unwrap();
        assert!(page.is_empty());
        assert_eq!(page.total_hits, None);
    }

    #[test]
    fn wrong_types_are_errors() {
        for bad in [
            r#"{"conversations": {}}"#,
            r#"{"conversations": [{"conversationId": 5}]}"#,
            r#"{"conversations": [{}]}"#,
            r#"{"totalHits": "many"}"#,
            r#"{"totalHits": -1}"#,
            r#"{"conversations": [{"conversationId": "a", "conversationStart": "yesterday"}]}"#,
            r#"[]"#,
        ] {
            assert!(
                serde_json::from_str::<ConversationPage>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn helpers_walk_the_tree() {
        let page: ConversationPage = serde_json::from_str(SAMPLE).unwrap();
        let c = &page.conversations[0];
        assert_eq!(c.participants_with(&Purpose::Agent).count(), 1);
        assert_eq!(c.sessions().count(), 2);
        let fresh = AnalyticsConversation::new("x");
        assert_eq!(fresh.conversation_id, "x");
        assert!(fresh.participants.is_empty());
    }
}
