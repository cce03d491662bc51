//! The paced message sender.

mod message;
mod workers;

pub use message::{AgentMessageBody, OutboundMessage, SMS_TEXT_LIMIT, TEXT_LIMIT, text_limit};
pub use workers::{
    MessageSender, MessageSenderBuilder, OnFailure, PendingSend, SenderStats, SentMessage,
};
