//! `POST /api/v2/conversations/messages/{conversationId}/messages/bulk`: the details of many
//! messages of a conversation (a read sent as POST).

use genesys_auth::{ApiRequest, Endpoint, GenesysError, JsonBody, Operation, PathSegment};
use http::Method;
use serde_json::Value;

use crate::models::EntityList;

/// The `MessageData` of up to 1,000 message ids → an [`EntityList`] of raw messages. Safe to
/// repeat: a cut-short answer is fetched again by the client.
#[derive(Debug, Clone)]
pub struct MessageDetailsBulk<'a> {
    conversation_id: PathSegment,
    message_ids: &'a [String],
}

impl<'a> MessageDetailsBulk<'a> {
    /// The details of `message_ids` in `conversation_id` (refused if the id cannot be one path
    /// segment).
    pub fn new(conversation_id: &str, message_ids: &'a [String]) -> Result<Self, GenesysError> {
        Ok(Self {
            conversation_id: PathSegment::new(conversation_id)?,
            message_ids,
        })
    }

    /// With an id encoded before.
    pub fn for_segment(conversation_id: PathSegment, message_ids: &'a [String]) -> Self {
        Self {
            conversation_id,
            message_ids,
        }
    }
}

impl Endpoint for MessageDetailsBulk<'_> {
    type Response = EntityList<Value>;
    const OPERATION: Operation = Operation::new(
        "postConversationsMessageMessagesBulk",
        Method::POST,
        "/api/v2/conversations/messages/{conversationId}/messages/bulk",
    );

    fn path(&self) -> String {
        format!(
            "/api/v2/conversations/messages/{}/messages/bulk",
            self.conversation_id
        )
    }

    fn body(&self) -> Result<Option<JsonBody>, GenesysError> {
        JsonBody::new(self.message_ids).map(Some)
    }

    fn configure(&self, request: ApiRequest) -> ApiRequest {
        request.refetch_unparsable()
    }
}
