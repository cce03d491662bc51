//! `GET /api/v2/conversations/messages/{conversationId}`: a message conversation, read for the
//! ids (and times) of its messages.

use chrono::{DateTime, Utc};
use genesys_auth::{ApiRequest, Endpoint, GenesysError, Operation, PathSegment};
use http::Method;
use serde::Deserialize;

/// A message conversation's participants and their message references →
/// [`MessageConversation`]. A cut-short answer is fetched again by the client.
#[derive(Debug, Clone)]
pub struct ConversationMessages {
    conversation_id: PathSegment,
}

impl ConversationMessages {
    /// The conversation `conversation_id` (refused if it cannot be one path segment).
    pub fn new(conversation_id: &str) -> Result<Self, GenesysError> {
        Ok(Self {
            conversation_id: PathSegment::new(conversation_id)?,
        })
    }

    /// With an id encoded before.
    pub fn for_segment(conversation_id: PathSegment) -> Self {
        Self { conversation_id }
    }
}

/// The part of a `MessageConversation` this crate reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct MessageConversation {
    /// The participants.
    #[serde(default)]
    pub participants: Vec<MessageParticipant>,
}

/// One participant of a [`MessageConversation`].
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct MessageParticipant {
    /// The participant's messages.
    #[serde(default)]
    pub messages: Vec<MessageRef>,
}

/// A message of a [`MessageParticipant`]: its id and time.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MessageRef {
    /// The message id (what the bulk details endpoint takes).
    #[serde(default)]
    pub message_id: Option<String>,
    /// When the message was sent.
    #[serde(default)]
    pub message_time: Option<DateTime<Utc>>,
}

impl Endpoint for ConversationMessages {
    type Response = MessageConversation;
    const OPERATION: Operation = Operation::new(
        "getConversationsMessage",
        Method::GET,
        "/api/v2/conversations/messages/{conversationId}",
    );

    fn path(&self) -> String {
        format!("/api/v2/conversations/messages/{}", self.conversation_id)
    }

    fn configure(&self, request: ApiRequest) -> ApiRequest {
        request.refetch_unparsable()
    }
}
