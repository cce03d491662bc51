//! `POST /api/v2/conversations/messages/{integrationId}/inbound/open/message`: an inbound open
//! messaging message, as if the customer sent it.

use genesys_auth::{ApiRequest, Endpoint, GenesysError, JsonBody, Operation, PathSegment};
use http::Method;
use serde_json::Value;

use crate::send_body::SendBody;

/// Sends an inbound open message (the normalized message answered, kept as JSON).
#[derive(Debug, Clone)]
pub struct SendInboundOpenMessage {
    integration_id: PathSegment,
    send: SendBody,
    prefetch_conversation_id: bool,
}

impl SendInboundOpenMessage {
    /// `body` (an `OpenInboundNormalizedMessage`) through `integration_id` (refused if it
    /// cannot be one path segment).
    pub fn new(integration_id: &str, body: Value) -> Result<Self, GenesysError> {
        Ok(Self {
            integration_id: PathSegment::new(integration_id)?,
            send: SendBody::new(body),
            prefetch_conversation_id: false,
        })
    }

    /// Asks the platform to answer with the conversation id (`prefetchConversationId=true`).
    #[must_use]
    pub fn prefetch_conversation_id(mut self) -> Self {
        self.prefetch_conversation_id = true;
        self
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

impl Endpoint for SendInboundOpenMessage {
    type Response = Value;
    const OPERATION: Operation = Operation::new(
        "postConversationsMessageInboundOpenMessage",
        Method::POST,
        "/api/v2/conversations/messages/{integrationId}/inbound/open/message",
    );

    fn path(&self) -> String {
        format!(
            "/api/v2/conversations/messages/{}/inbound/open/message",
            self.integration_id
        )
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        if self.prefetch_conversation_id {
            vec![("prefetchConversationId", "true".to_owned())]
        } else {
            Vec::new()
        }
    }

    fn body(&self) -> Result<Option<JsonBody>, GenesysError> {
        self.send.body()
    }

    fn configure(&self, request: ApiRequest) -> ApiRequest {
        self.send.configure(request)
    }
}
