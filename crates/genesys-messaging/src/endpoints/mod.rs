//! The Genesys operations this crate calls, one type per operation and one file per type
//! (method, path, query, body, answer type), each sent by
//! [`GenesysClient::call`](genesys_auth::GenesysClient::call). The history sources, the
//! agent lookup and the message sender are built on them; call them directly for what those do
//! not wrap.
//!
//! ```no_run
//! # async fn run(client: genesys_auth::GenesysClient) -> Result<(), genesys_auth::GenesysError> {
//! use genesys_messaging::endpoints::ConversationMessages;
//! let conversation = client.call(&ConversationMessages::new("5f1c…")?).await?;
//! println!("{} participants", conversation.participants.len());
//! # Ok(()) }
//! ```
//!
//! [`operations`] lists them: what the contract check of recorded traffic must cover.

mod conversation;
mod conversation_messages;
mod guest_messages;
mod message_details_bulk;
mod send_agent_message;
mod send_agentless_message;
mod send_inbound_open_message;

use genesys_auth::{Endpoint, Operation};

pub use conversation::{
    Conversation, ConversationCommunication, ConversationParticipant, GetConversation,
};
pub use conversation_messages::{
    ConversationMessages, MessageConversation, MessageParticipant, MessageRef,
};
pub use guest_messages::GuestMessages;
pub use message_details_bulk::MessageDetailsBulk;
pub use send_agent_message::SendAgentMessage;
pub use send_agentless_message::SendAgentlessMessage;
pub use send_inbound_open_message::SendInboundOpenMessage;

static OPERATIONS: [Operation; 7] = [
    GuestMessages::OPERATION,
    GetConversation::OPERATION,
    ConversationMessages::OPERATION,
    MessageDetailsBulk::OPERATION,
    SendAgentMessage::OPERATION,
    SendInboundOpenMessage::OPERATION,
    SendAgentlessMessage::OPERATION,
];

/// Every operation this crate calls, one per endpoint type of this module.
pub fn operations() -> &'static [Operation] {
    &OPERATIONS
}
