//! Wire models: the guest-side [`WebMessagingMessage`], the agent-side [`MessageData`], and
//! the [`EntityList`] page around them.

mod message_data;
pub(crate) mod open_enum;
mod web_messaging;

pub use message_data::{
    MessageAttachment, MessageData, MessageDirection, MessageStatus, MessengerType,
};
pub use web_messaging::{
    ContentType, Direction, EntityList, EventType, MediaType, MessageType, OriginatingEntity,
    ReceiptStatus, WebMessagingAttachment, WebMessagingButtonResponse, WebMessagingCard,
    WebMessagingCarousel, WebMessagingChannel, WebMessagingContent, WebMessagingEvent,
    WebMessagingMessage, WebMessagingQuickReply, WebMessagingReason, WebMessagingRecipient,
};
