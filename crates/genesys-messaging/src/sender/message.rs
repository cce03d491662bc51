//! What can be sent: an agent message into a conversation, an open-messaging inbound message,
//! or an agentless message the integration starts itself.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

#[cfg(test)]
use genesys_auth::Endpoint as _;
use genesys_auth::{GenesysClient, GenesysError};

use crate::endpoints::{SendAgentMessage, SendAgentlessMessage, SendInboundOpenMessage};
use crate::error::MessagingError;
use crate::models::MessengerType;

/// Most characters of an SMS text (the platform's limit).
pub const SMS_TEXT_LIMIT: usize = 765;
/// Most characters of a text on every other channel.
pub const TEXT_LIMIT: usize = 2_000;

/// The text limit of a channel: 765 characters for SMS, 2,000 for the others.
pub fn text_limit(channel: &MessengerType) -> usize {
    match channel {
        MessengerType::Sms => SMS_TEXT_LIMIT,
        _ => TEXT_LIMIT,
    }
}

/// The body of `POST /api/v2/conversations/messages/{conversationId}/communications/{communicationId}/messages`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AgentMessageBody {
    /// Text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_body: Option<String>,
    /// Uploaded media ids.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub media_ids: Vec<String>,
    /// A messaging template, as the platform defines it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messaging_template: Option<Value>,
}

/// One message to send.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum OutboundMessage {
    /// An agent/integration message into a conversation.
    Agent {
        /// The conversation.
        conversation_id: String,
        /// The agent's communication in it.
        communication_id: String,
        /// The channel (decides the text limit).
        channel: MessengerType,
        /// The body.
        body: AgentMessageBody,
    },
    /// An inbound message through an open messaging integration
    /// (`OpenInboundNormalizedMessage`).
    OpenInbound {
        /// The integration.
        integration_id: String,
        /// The external user's id (`channel.from.id`, `idType: Opaque`); messages of one user
        /// keep their order.
        from_id: String,
        /// The external user's nickname.
        nickname: Option<String>,
        /// The text.
        text: String,
        /// The channel time (defaults to the time of sending).
        time: Option<DateTime<Utc>>,
        /// The message's id on the external platform (`channel.messageId`): made once when the
        /// message is built, so every attempt to send it carries the same id.
        message_id: String,
        /// Ask the platform to answer the conversation id (`prefetchConversationId=true`).
        prefetch_conversation_id: bool,
    },
    /// A message the integration starts itself, with no agent
    /// (`POST /api/v2/conversations/messages/agentless`,
    /// `SendAgentlessOutboundMessageRequest`).
    Agentless {
        /// The sending address (an SMS number, or the integration id of other channels).
        from_address: String,
        /// The recipient's address.
        to_address: String,
        /// The recipient's channel (`toAddressMessengerType`; see [`AGENTLESS_CHANNELS`]).
        channel: MessengerType,
        /// The text.
        text: String,
        /// Send into the recipient's active conversation when there is one, instead of
        /// starting a new one.
        use_existing_active_conversation: bool,
    },
}

/// The channels an agentless message can go to (`toAddressMessengerType`).
pub const AGENTLESS_CHANNELS: &[MessengerType] = &[
    MessengerType::Sms,
    MessengerType::Whatsapp,
    MessengerType::Open,
    MessengerType::Webmessaging,
    MessengerType::Apple,
];

impl OutboundMessage {
    /// A text message from an agent/integration (web messaging limits; see [`Self::channel`]).
    pub fn agent_text(
        conversation_id: impl Into<String>,
        communication_id: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        Self::Agent {
            conversation_id: conversation_id.into(),
            communication_id: communication_id.into(),
            channel: MessengerType::Webmessaging,
            body: AgentMessageBody {
                text_body: Some(text.into()),
                ..AgentMessageBody::default()
            },
        }
    }

    /// An agent message with any body.
    pub fn agent(
        conversation_id: impl Into<String>,
        communication_id: impl Into<String>,
        body: AgentMessageBody,
    ) -> Self {
        Self::Agent {
            conversation_id: conversation_id.into(),
            communication_id: communication_id.into(),
            channel: MessengerType::Webmessaging,
            body,
        }
    }

    /// An open-messaging inbound text from external user `from_id`.
    pub fn open_inbound_text(
        integration_id: impl Into<String>,
        from_id: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        Self::OpenInbound {
            integration_id: integration_id.into(),
            from_id: from_id.into(),
            nickname: None,
            text: text.into(),
            time: None,
            message_id: uuid::Uuid::new_v4().to_string(),
            prefetch_conversation_id: false,
        }
    }

    /// An agentless text to `to_address` on `channel`, sent from `from_address`.
    pub fn agentless_text(
        from_address: impl Into<String>,
        to_address: impl Into<String>,
        channel: MessengerType,
        text: impl Into<String>,
    ) -> Self {
        Self::Agentless {
            from_address: from_address.into(),
            to_address: to_address.into(),
            channel,
            text: text.into(),
            use_existing_active_conversation: false,
        }
    }

    /// Asks the platform to answer the conversation id of an open-messaging inbound message
    /// (`prefetchConversationId=true`; it looks the conversation up before answering).
    /// Other messages are unchanged.
    pub fn prefetch_conversation_id(mut self) -> Self {
        if let Self::OpenInbound {
            prefetch_conversation_id,
            ..
        } = &mut self
        {
            *prefetch_conversation_id = true;
        }
        self
    }

    /// Sets the external message id (`channel.messageId`) of an open-messaging inbound message,
    /// e.g. the id the external platform gave it. Other messages are unchanged.
    pub fn external_message_id(mut self, id: impl Into<String>) -> Self {
        if let Self::OpenInbound { message_id, .. } = &mut self {
            *message_id = id.into();
        }
        self
    }

    /// Sets the channel of an agent message (SMS has a 765-character limit).
    pub fn channel(mut self, messenger: MessengerType) -> Self {
        if let Self::Agent { channel, .. } = &mut self {
            *channel = messenger;
        }
        self
    }

    /// The key whose messages keep their order: the conversation, or integration + user.
    pub fn order_key(&self) -> String {
        match self {
            Self::Agent {
                conversation_id, ..
            } => conversation_id.clone(),
            Self::OpenInbound {
                integration_id,
                from_id,
                ..
            } => format!("{integration_id}/{from_id}"),
            Self::Agentless {
                from_address,
                to_address,
                ..
            } => format!("agentless/{from_address}/{to_address}"),
        }
    }

    /// Checks what can be checked without sending: something to send, text within the limit.
    pub fn validate(&self) -> Result<(), MessagingError> {
        let (text, limit, channel) = match self {
            Self::Agent { channel, body, .. } => {
                if body.text_body.is_none()
                    && body.media_ids.is_empty()
                    && body.messaging_template.is_none()
                {
                    return Err(MessagingError::EmptyMessage);
                }
                (
                    body.text_body.as_deref(),
                    text_limit(channel),
                    channel.to_string(),
                )
            }
            Self::OpenInbound {
                text, message_id, ..
            } => {
                if text.is_empty() {
                    return Err(MessagingError::EmptyMessage);
                }
                if message_id.trim().is_empty() {
                    return Err(MessagingError::InvalidConfig {
                        setting: "external_message_id",
                        reason: "must not be empty".into(),
                    });
                }
                (
                    Some(text.as_str()),
                    TEXT_LIMIT,
                    MessengerType::Open.to_string(),
                )
            }
            Self::Agentless {
                from_address,
                to_address,
                channel,
                text,
                ..
            } => {
                if text.is_empty() {
                    return Err(MessagingError::EmptyMessage);
                }
                if from_address.trim().is_empty() || to_address.trim().is_empty() {
                    return Err(MessagingError::InvalidConfig {
                        setting: "agentless address",
                        reason: "from and to addresses must not be empty".into(),
                    });
                }
                if !AGENTLESS_CHANNELS.contains(channel) {
                    return Err(MessagingError::InvalidConfig {
                        setting: "agentless channel",
                        reason: format!(
                            "{channel} is not a channel agentless messages go to (sms, whatsapp, open, webmessaging, apple)"
                        ),
                    });
                }
                (
                    Some(text.as_str()),
                    text_limit(channel),
                    channel.to_string(),
                )
            }
        };
        if let Some(text) = text {
            let chars = text.chars().count();
            if chars > limit {
                return Err(MessagingError::TextTooLong {
                    chars,
                    limit,
                    channel,
                });
            }
        }
        Ok(())
    }

    /// The request path (ids percent-encoded), query and JSON body.
    pub(crate) fn request(&self) -> Result<SendRequest, MessagingError> {
        let invalid_id = |e| MessagingError::InvalidId(Box::new(e));
        match self {
            Self::Agent {
                conversation_id,
                communication_id,
                body,
                ..
            } => {
                let body =
                    serde_json::to_value(body).map_err(|e| MessagingError::InvalidConfig {
                        setting: "message body",
                        reason: e.to_string(),
                    })?;
                SendAgentMessage::new(conversation_id, communication_id, body)
                    .map(SendRequest::Agent)
                    .map_err(invalid_id)
            }
            Self::OpenInbound {
                integration_id,
                from_id,
                nickname,
                text,
                time,
                message_id,
                prefetch_conversation_id,
            } => {
                let mut from = json!({"id": from_id, "idType": "Opaque"});
                if let Some(n) = nickname {
                    from["nickname"] = json!(n);
                }
                let body = json!({
                    "channel": {
                        "from": from,
                        "time": time.unwrap_or_else(Utc::now),
                        "messageId": message_id,
                    },
                    "text": text,
                });
                let mut endpoint =
                    SendInboundOpenMessage::new(integration_id, body).map_err(invalid_id)?;
                if *prefetch_conversation_id {
                    endpoint = endpoint.prefetch_conversation_id();
                }
                Ok(SendRequest::OpenInbound(endpoint))
            }
            Self::Agentless {
                from_address,
                to_address,
                channel,
                text,
                use_existing_active_conversation,
            } => {
                let body = json!({
                    "fromAddress": from_address,
                    "toAddress": to_address,
                    "toAddressMessengerType": channel,
                    "textBody": text,
                    "useExistingActiveConversation": use_existing_active_conversation,
                });
                Ok(SendRequest::Agentless(SendAgentlessMessage::new(body)))
            }
        }
    }
}

/// What goes on the wire for one message: one of the send endpoints.
#[derive(Debug, Clone)]
pub(crate) enum SendRequest {
    /// `postConversationsMessageCommunicationMessages`.
    Agent(SendAgentMessage),
    /// `postConversationsMessageInboundOpenMessage`.
    OpenInbound(SendInboundOpenMessage),
    /// `postConversationsMessagesAgentless`.
    Agentless(SendAgentlessMessage),
}

impl SendRequest {
    /// Retried only when the platform provably did not get it.
    pub(crate) fn at_most_once(self) -> Self {
        match self {
            Self::Agent(e) => Self::Agent(e.at_most_once()),
            Self::OpenInbound(e) => Self::OpenInbound(e.at_most_once()),
            Self::Agentless(e) => Self::Agentless(e.at_most_once()),
        }
    }

    /// Sends it through the client's pipeline; the answer as JSON.
    pub(crate) async fn send(&self, client: &GenesysClient) -> Result<Value, GenesysError> {
        match self {
            Self::Agent(e) => client.call(e).await,
            Self::OpenInbound(e) => client.call(e).await,
            Self::Agentless(e) => client.call(e).await,
        }
    }

    #[cfg(test)]
    fn path(&self) -> String {
        match self {
            Self::Agent(e) => e.path(),
            Self::OpenInbound(e) => e.path(),
            Self::Agentless(e) => e.path(),
        }
    }

    #[cfg(test)]
    fn query(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::Agent(e) => e.query(),
            Self::OpenInbound(e) => e.query(),
            Self::Agentless(e) => e.query(),
        }
    }

    #[cfg(test)]
    fn body(&self) -> &Value {
        match self {
            Self::Agent(e) => e.body_json(),
            Self::OpenInbound(e) => e.body_json(),
            Self::Agentless(e) => e.body_json(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_channel() {
        let sms =
            OutboundMessage::agent_text("c", "m", "x".repeat(766)).channel(MessengerType::Sms);
        assert!(matches!(
            sms.validate(),
            Err(MessagingError::TextTooLong {
                chars: 766,
                limit: 765,
                ..
            })
        ));
        assert!(
            OutboundMessage::agent_text("c", "m", "x".repeat(765))
                .channel(MessengerType::Sms)
                .validate()
                .is_ok()
        );
        assert!(
            OutboundMessage::agent_text("c", "m", "x".repeat(2000))
                .validate()
                .is_ok()
        );
        assert!(
            OutboundMessage::agent_text("c", "m", "x".repeat(2001))
                .validate()
                .is_err()
        );
        // Characters, not bytes.
        assert!(
            OutboundMessage::agent_text("c", "m", "é".repeat(2000))
                .validate()
                .is_ok()
        );
        assert!(
            OutboundMessage::open_inbound_text("i", "u", "y".repeat(2001))
                .validate()
                .is_err()
        );
        assert!(matches!(
            OutboundMessage::agent("c", "m", AgentMessageBody::default()).validate(),
            Err(MessagingError::EmptyMessage)
        ));
    }

    #[test]
    fn paths_encode_ids_and_bodies_follow_the_api() {
        let r = OutboundMessage::agent_text("c/1", "m?2", "hi")
            .request()
            .unwrap();
        let (path, body) = (r.path(), r.body().clone());
        assert_eq!(
            path,
            "/api/v2/conversations/messages/c%2F1/communications/m%3F2/messages"
        );
        assert_eq!(body, json!({"textBody": "hi"}));
        assert!(
            OutboundMessage::agent_text("..", "m", "hi")
                .request()
                .is_err()
        );
        let r = OutboundMessage::open_inbound_text("int-1", "user-9", "hello")
            .external_message_id("ext-1")
            .request()
            .unwrap();
        let (path, query, body) = (r.path(), r.query(), r.body().clone());
        assert_eq!(
            path,
            "/api/v2/conversations/messages/int-1/inbound/open/message"
        );
        assert!(query.is_empty());
        // OpenInboundNormalizedMessage: channel {from, time, messageId}, text; nothing of the
        // deprecated endpoint's OpenNormalizedMessage (channel.platform/type/to, type, direction).
        let time = body["channel"]["time"].clone();
        assert_eq!(
            body,
            json!({
                "channel": {
                    "from": {"id": "user-9", "idType": "Opaque"},
                    "time": time,
                    "messageId": "ext-1",
                },
                "text": "hello",
            })
        );
        let prefetch = OutboundMessage::open_inbound_text("int-1", "user-9", "hello")
            .prefetch_conversation_id()
            .request()
            .unwrap();
        assert_eq!(
            prefetch.query(),
            vec![("prefetchConversationId", "true".to_owned())]
        );
        // One id per message, kept for every attempt.
        let m = OutboundMessage::open_inbound_text("i", "u", "x");
        let id = |m: &OutboundMessage| m.request().unwrap().body()["channel"]["messageId"].clone();
        assert_eq!(id(&m), id(&m));
        assert_ne!(
            id(&m),
            id(&OutboundMessage::open_inbound_text("i", "u", "x"))
        );
        assert_eq!(
            OutboundMessage::open_inbound_text("int-1", "user-9", "x").order_key(),
            "int-1/user-9"
        );
    }

    #[test]
    fn agentless_messages_follow_the_api() {
        let m = OutboundMessage::agentless_text("int-1", "+15550100", MessengerType::Sms, "hi");
        let r = m.request().unwrap();
        let (path, body) = (r.path(), r.body().clone());
        assert_eq!(path, "/api/v2/conversations/messages/agentless");
        assert_eq!(
            body,
            json!({
                "fromAddress": "int-1",
                "toAddress": "+15550100",
                "toAddressMessengerType": "sms",
                "textBody": "hi",
                "useExistingActiveConversation": false,
            })
        );
        assert_eq!(m.order_key(), "agentless/int-1/+15550100");
        assert!(m.validate().is_ok());
        let long = OutboundMessage::agentless_text("a", "b", MessengerType::Sms, "x".repeat(766));
        assert!(matches!(
            long.validate(),
            Err(MessagingError::TextTooLong { limit: 765, .. })
        ));
        let facebook = OutboundMessage::agentless_text("a", "b", MessengerType::Facebook, "x");
        assert!(matches!(
            facebook.validate(),
            Err(MessagingError::InvalidConfig { .. })
        ));
        let empty = OutboundMessage::agentless_text("", "b", MessengerType::Sms, "x");
        assert!(empty.validate().is_err());
    }
}
