//! `POST /api/v2/conversations/messages/agentless`: an outbound message without an agent.

use genesys_auth::{ApiRequest, Endpoint, GenesysError, JsonBody, Operation};
use http::Method;
use serde_json::Value;

/// Sends an agentless outbound message (the answer kept as JSON).
#[derive(Debug, Clone)]
pub struct SendAgentlessMessage {
    body: Value,
    at_most_once: bool,
}

impl SendAgentlessMessage {
    /// `body` (a `SendAgentlessOutboundMessageRequest`).
    pub fn new(body: Value) -> Self {
        Self {
            body,
            at_most_once: false,
        }
    }

    /// Retried only when the platform provably did not get it ([`ApiRequest::at_most_once`]).
    #[must_use]
    pub fn at_most_once(mut self) -> Self {
        self.at_most_once = true;
        self
    }

    /// The body sent.
    pub fn body_json(&self) -> &Value {
        &self.body
    }
}

impl Endpoint for SendAgentlessMessage {
    type Response = Value;
    const OPERATION: Operation = Operation::new(
        "postConversationsMessagesAgentless",
        Method::POST,
        "/api/v2/conversations/messages/agentless",
    );

    fn path(&self) -> String {
        Self::OPERATION.path.to_owned()
    }

    fn body(&self) -> Result<Option<JsonBody>, GenesysError> {
        JsonBody::new(&self.body).map(Some)
    }

    fn configure(&self, request: ApiRequest) -> ApiRequest {
        if self.at_most_once {
            request.at_most_once()
        } else {
            request
        }
    }
}
