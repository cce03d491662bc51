//! `POST /api/v2/conversations/messages/agentless`: an outbound message without an agent.

use genesys_auth::{ApiRequest, Endpoint, GenesysError, JsonBody, Operation};
use http::Method;
use serde_json::Value;

use crate::send_body::SendBody;

/// Sends an agentless outbound message (the answer kept as JSON).
#[derive(Debug, Clone)]
pub struct SendAgentlessMessage {
    send: SendBody,
}

impl SendAgentlessMessage {
    /// `body` (a `SendAgentlessOutboundMessageRequest`).
    pub fn new(body: Value) -> Self {
        Self {
            send: SendBody::new(body),
        }
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
        self.send.body()
    }

    fn configure(&self, request: ApiRequest) -> ApiRequest {
        self.send.configure(request)
    }
}
