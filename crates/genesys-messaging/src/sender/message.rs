//! What can be sent: an agent message into a conversation, or an open-messaging inbound message.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

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
    /// An inbound message through an open messaging integration.
    OpenInbound {
        /// The integration.
        integration_id: String,
        /// The external user's id (`channel.from.id`); messages of one user keep their order.
        from_id: String,
        /// The external user's nickname.
        nickname: Option<String>,
        /// The text.
        text: String,
        /// The channel time (defaults to the time of sending).
        time: Option<DateTime<Utc>>,
    },
}

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
        }
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
            Self::OpenInbound { text, .. } => {
                if text.is_empty() {
                    return Err(MessagingError::EmptyMessage);
                }
                (
                    Some(text.as_str()),
                    TEXT_LIMIT,
                    MessengerType::Open.to_string(),
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

    /// The request path (ids percent-encoded) and JSON body.
    pub(crate) fn request(&self) -> Result<(String, Value), MessagingError> {
        let enc = |raw: &str| {
            genesys_auth::encode_path_segment(raw)
                .map_err(|e| MessagingError::InvalidId(Box::new(e)))
        };
        match self {
            Self::Agent {
                conversation_id,
                communication_id,
                body,
                ..
            } => {
                let path = format!(
                    "/api/v2/conversations/messages/{}/communications/{}/messages",
                    enc(conversation_id)?,
                    enc(communication_id)?
                );
                let body =
                    serde_json::to_value(body).map_err(|e| MessagingError::InvalidConfig {
                        setting: "message body",
                        reason: e.to_string(),
                    })?;
                Ok((path, body))
            }
            Self::OpenInbound {
                integration_id,
                from_id,
                nickname,
                text,
                time,
            } => {
                let path = format!(
                    "/api/v2/conversations/messages/{}/inbound/open/message",
                    enc(integration_id)?
                );
                let mut from = json!({"id": from_id, "idType": "Opaque"});
                if let Some(n) = nickname {
                    from["nickname"] = json!(n);
                }
                let body = json!({
                    "channel": {
                        "platform": "Open",
                        "type": "Private",
                        "to": {"id": integration_id},
                        "from": from,
                        "time": time.unwrap_or_else(Utc::now),
                    },
                    "type": "Text",
                    "text": text,
                    "direction": "Inbound",
                });
                Ok((path, body))
            }
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
        let (path, body) = OutboundMessage::agent_text("c/1", "m?2", "hi")
            .request()
            .unwrap();
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
        let (path, body) = OutboundMessage::open_inbound_text("int-1", "user-9", "hello")
            .request()
            .unwrap();
        assert_eq!(
            path,
            "/api/v2/conversations/messages/int-1/inbound/open/message"
        );
        assert_eq!(body["channel"]["from"]["id"], "user-9");
        assert_eq!(body["text"], "hello");
        assert_eq!(
            OutboundMessage::open_inbound_text("int-1", "user-9", "x").order_key(),
            "int-1/user-9"
        );
    }
}
