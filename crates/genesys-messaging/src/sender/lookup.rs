//! Finding the `{communicationId}` an agent send needs.
//!
//! `GET /api/v2/conversations/{conversationId}` answers the generic `Conversation`; each
//! participant's `messages[]` are its message communications, and `Message.id` is the
//! communication id the send endpoint takes.

use genesys_auth::GenesysClient;

use crate::endpoints::{Conversation, GetConversation};
use crate::error::MessagingError;

/// The communication id of the agent side of a message conversation: the last message
/// communication, not disconnected, of a participant with purpose `agent` (and, with `user_id`,
/// that user). One `GET /api/v2/conversations/{conversationId}` through the client's pipeline.
///
/// ```no_run
/// # async fn run(client: genesys_auth::GenesysClient) -> Result<(), genesys_messaging::MessagingError> {
/// use genesys_messaging::sender::{OutboundMessage, agent_communication_id};
/// let communication = agent_communication_id(&client, "5f1c…", None).await?;
/// let message = OutboundMessage::agent_text("5f1c…", communication, "Thanks, we are on it.");
/// # Ok(()) }
/// ```
pub async fn agent_communication_id(
    client: &GenesysClient,
    conversation_id: &str,
    user_id: Option<&str>,
) -> Result<String, MessagingError> {
    let endpoint = GetConversation::new(conversation_id)
        .map_err(|e| MessagingError::InvalidId(Box::new(e)))?;
    let answer = client
        .call(&endpoint)
        .await
        .map_err(|source| MessagingError::Conversation {
            conversation_id: conversation_id.to_owned(),
            source: Box::new(source),
        })?;
    pick(answer, user_id).ok_or_else(|| MessagingError::NoAgentCommunication {
        conversation_id: conversation_id.to_owned(),
    })
}

fn pick(answer: Conversation, user_id: Option<&str>) -> Option<String> {
    answer
        .participants
        .into_iter()
        .filter(|p| p.purpose.as_deref() == Some("agent"))
        .filter(|p| user_id.is_none_or(|u| p.user_id.as_deref() == Some(u)))
        .flat_map(|p| p.messages)
        .filter(|c| c.state.as_deref() != Some("disconnected"))
        .filter_map(|c| c.id)
        .next_back()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(json: &str) -> Conversation {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn picks_the_agents_live_communication() {
        let a = r#"{"participants": [
            {"purpose": "customer", "messages": [{"id": "cust", "state": "connected"}]},
            {"purpose": "agent", "userId": "u1", "messages": [{"id": "old", "state": "disconnected"}]},
            {"purpose": "agent", "userId": "u2", "messages": [{"id": "live", "state": "connected"}]}
        ]}"#;
        assert_eq!(pick(answer(a), None).as_deref(), Some("live"));
        assert_eq!(pick(answer(a), Some("u2")).as_deref(), Some("live"));
        assert_eq!(
            pick(answer(a), Some("u1")),
            None,
            "u1's communication ended"
        );
        assert_eq!(pick(answer(r#"{"participants": []}"#), None), None);
    }
}
