//! The crate's error type.

use std::time::Duration;

use genesys_auth::GenesysError;

/// What went wrong, named for what the caller can do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MessagingError {
    /// A setting is invalid (checked before any request).
    #[error("invalid setting `{setting}`: {reason}")]
    InvalidConfig {
        /// The setting.
        setting: &'static str,
        /// Why.
        reason: String,
    },
    /// The requested page size is outside `1..=max` (checked before any request).
    #[error("page size {requested} is outside 1..={max}")]
    PageSizeOutOfRange {
        /// What was asked.
        requested: u32,
        /// The configured maximum.
        max: u32,
    },
    /// An id that goes into a URL path is not acceptable (empty, `.`, `..`, control characters).
    #[error("invalid id for a URL path: {0}")]
    InvalidId(#[source] Box<GenesysError>),
    /// A page could not be fetched (after the client's own retries).
    #[error("history page {page} failed: {source}")]
    Page {
        /// 1-based page number.
        page: u32,
        /// The client's error.
        #[source]
        source: Box<GenesysError>,
    },
    /// The conversation (its list of message ids) could not be read.
    #[error("conversation {conversation_id} could not be read: {source}")]
    Conversation {
        /// The conversation.
        conversation_id: String,
        /// The client's error.
        #[source]
        source: Box<GenesysError>,
    },
    /// The message text is longer than the channel allows; nothing was sent.
    #[error("text has {chars} characters; the {channel} limit is {limit}")]
    TextTooLong {
        /// Characters in the text.
        chars: usize,
        /// The channel's limit.
        limit: usize,
        /// The channel.
        channel: String,
    },
    /// The message has nothing to send (no text, media or template).
    #[error("message has no text, media or template")]
    EmptyMessage,
    /// A send failed (after the client's own retries).
    #[error("send failed: {0}")]
    Send(#[source] Box<GenesysError>),
    /// The send may or may not have reached the customer: the request went out and then timed
    /// out, the connection was lost, or the platform answered 5xx. It was not retried, since the
    /// platform has no idempotency key for sends and a retry could deliver the message twice
    /// (see [`MessageSenderBuilder::retry_uncertain_sends`](crate::sender::MessageSenderBuilder::retry_uncertain_sends)).
    /// Check the conversation before sending it again.
    #[error("send outcome unknown (it may have been delivered; not retried): {0}")]
    OutcomeUnknown(#[source] Box<GenesysError>),
    /// The platform accepted the request but its answer lacks what the crate needs.
    #[error("unexpected answer: {detail}")]
    UnexpectedAnswer {
        /// What was missing.
        detail: String,
    },
    /// The conversation has no agent message communication to send on (none, or all ended).
    #[error(
        "conversation {conversation_id} has no agent message communication that is not disconnected"
    )]
    NoAgentCommunication {
        /// The conversation looked at.
        conversation_id: String,
    },
    /// The sender was shut down before the message went out.
    #[error("the sender is shut down")]
    SenderClosed,
    /// Not sent: an earlier message of the same conversation failed and the sender holds the
    /// conversation ([`crate::sender::OnFailure::HoldConversation`]). Resubmit after
    /// [`crate::sender::MessageSender::resume`].
    #[error("not sent: an earlier message of {order_key} failed and its conversation is on hold")]
    HeldBack {
        /// The conversation (or open-messaging `integration/user`) on hold.
        order_key: String,
    },
    /// A page task ended abnormally (panicked or was cancelled).
    #[error("history page {page} task failed: {detail}")]
    TaskFailed {
        /// 1-based page.
        page: u32,
        /// What the runtime said.
        detail: String,
    },
}

impl MessagingError {
    /// The HTTP status behind the error, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Page { source, .. }
            | Self::Conversation { source, .. }
            | Self::Send(source)
            | Self::OutcomeUnknown(source) => source.status(),
            _ => None,
        }
    }
}

/// Helper for sinks and senders that only need a duration in tracing fields.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
