//! The paced message sender.

mod lookup;
mod message;
mod workers;

pub use lookup::agent_communication_id;
pub use message::{
    AGENTLESS_CHANNELS, AgentMessageBody, OutboundMessage, SMS_TEXT_LIMIT, TEXT_LIMIT, text_limit,
};
pub use workers::{
    MessageSender, MessageSenderBuilder, OnFailure, PendingSend, SenderStats, SentMessage,
};
