//! `GET /api/v2/conversations/{conversationId}`: the generic conversation, read for its
//! participants' message communications.

use genesys_auth::{Endpoint, GenesysError, Operation, PathSegment};
use http::Method;
use serde::Deserialize;

/// A conversation's participants and their message communications → [`Conversation`].
#[derive(Debug, Clone)]
pub struct GetConversation {
    conversation_id: PathSegment,
}

impl GetConversation {
    /// The conversation `conversation_id` (refused if it cannot be one path segment).
    pub fn new(conversation_id: &str) -> Result<Self, GenesysError> {
        Ok(Self {
            conversation_id: PathSegment::new(conversation_id)?,
        })
    }
}

/// The part of a `Conversation` this crate reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct Conversation {
    /// The participants.
    #[serde(default)]
    pub participants: Vec<ConversationParticipant>,
}

/// One participant of a [`Conversation`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ConversationParticipant {
    /// `agent`, `customer`, …
    #[serde(default)]
    pub purpose: Option<String>,
    /// The user, for an agent.
    #[serde(default)]
    pub user_id: Option<String>,
    /// The participant's message communications.
    #[serde(default)]
    pub messages: Vec<ConversationCommunication>,
}

/// A message communication of a [`ConversationParticipant`]: its id is the `communicationId`
/// an agent send takes.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct ConversationCommunication {
    /// The communication id.
    #[serde(default)]
    pub id: Option<String>,
    /// `connected`, `disconnected`, …
    #[serde(default)]
    pub state: Option<String>,
}

impl Endpoint for GetConversation {
    type Response = Conversation;
    const OPERATION: Operation = Operation::new(
        "getConversation",
        Method::GET,
        "/api/v2/conversations/{conversationId}",
    );

    fn path(&self) -> String {
        format!("/api/v2/conversations/{}", self.conversation_id)
    }
}
