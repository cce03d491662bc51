//! `POST /api/v2/conversations/messages/{conversationId}/communications/{communicationId}/messages`:
//! an agent's message into a conversation.

use genesys_auth::{ApiRequest, Endpoint, GenesysError, JsonBody, Operation, PathSegment};
use http::Method;
use serde_json::Value;

use crate::send_body::SendBody;

/// Sends an agent message (a `MessageData` answer, kept as JSON).
#[derive(Debug, Clone)]
pub struct SendAgentMessage {
    conversation_id: PathSegment,
    communication_id: PathSegment,
    send: SendBody,
}

impl SendAgentMessage {
    /// `body` (an `AdditionalMessage`) into `conversation_id` through `communication_id` (each
    /// refused if it cannot be one path segment).
    pub fn new(
        conversation_id: &str,
        communication_id: &str,
        body: Value,
    ) -> Result<Self, GenesysError> {
        Ok(Self {
            conversation_id: PathSegment::new(conversation_id)?,
            communication_id: PathSegment::new(communication_id)?,
            send: SendBody::new(body),
        })
    }

    /// Retried only when the platform provably did not get it ([`ApiRequest::at_most_once`]).
    #[must_use]
    pub fn at_most_once(mut self) -> Self {
        self.send = self.send.at_most_once();
        self
    }

    /// The body sent.
    pub fn body_json(&self) -> &Value {
        self.send.json()
    }
}

impl Endpoint for SendAgentMessage {
    type Response = Value;
    const OPERATION: Operation = Operation::new(
        "postConversationsMessageCommunicationMessages",
        Method::POST,
        "/api/v2/conversations/messages/{conversationId}/communications/{communicationId}/messages",
    );

    fn path(&self) -> String {
        format!(
            "/api/v2/conversations/messages/{}/communications/{}/messages",
            self.conversation_id, self.communication_id
        )
    }

    fn body(&self) -> Result<Option<JsonBody>, GenesysError> {
        self.send.body()
    }

    fn configure(&self, request: ApiRequest) -> ApiRequest {
        self.send.configure(request)
    }
}
