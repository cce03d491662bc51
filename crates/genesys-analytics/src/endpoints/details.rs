//! `GET /api/v2/analytics/conversations/{conversationId}/details`: one conversation.

use genesys_auth::{ApiResponse, Endpoint, GenesysError, Operation, PathSegment};
use http::Method;

use crate::decode::strict_json;
use crate::model::AnalyticsConversation;

/// One conversation's details by id → [`AnalyticsConversation`] (a 404 when the platform does
/// not know it).
#[derive(Debug, Clone)]
pub struct ConversationDetails {
    conversation_id: PathSegment,
}

impl ConversationDetails {
    /// The details of `conversation_id` (refused if it cannot be one path segment).
    pub fn new(conversation_id: &str) -> Result<Self, GenesysError> {
        Ok(Self {
            conversation_id: PathSegment::new(conversation_id)?,
        })
    }
}

impl Endpoint for ConversationDetails {
    type Response = AnalyticsConversation;
    const OPERATION: Operation = Operation::new(
        "getAnalyticsConversationDetails",
        Method::GET,
        "/api/v2/analytics/conversations/{conversationId}/details",
    );

    fn path(&self) -> String {
        format!(
            "/api/v2/analytics/conversations/{}/details",
            self.conversation_id
        )
    }

    fn decode(&self, answer: &ApiResponse) -> Result<AnalyticsConversation, GenesysError> {
        strict_json(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_one_encoded_segment() {
        let e = ConversationDetails::new("a/b?c").unwrap();
        assert_eq!(
            e.path(),
            "/api/v2/analytics/conversations/a%2Fb%3Fc/details"
        );
        assert!(ConversationDetails::OPERATION.matches(&e.path()));
        assert!(ConversationDetails::new("..").is_err());
    }
}
