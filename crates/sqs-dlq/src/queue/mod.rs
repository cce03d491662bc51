//! The [`Queue`] trait: the SQS operations this crate needs, batched, with per-entry results.
//!
//! Two backends implement it: `SqsQueue` (Amazon SQS through `aws-sdk-sqs`) and `MemoryQueue`
//! (in-process, with SQS semantics). Everything else in the crate (diagnosis, replay, the
//! consumer, HTTP ingest) is written against this trait only.

#[cfg(feature = "test-util")]
pub mod contract;
pub(crate) mod memory;
#[cfg(feature = "sqs")]
pub(crate) mod sqs;
pub(crate) mod stats;

pub use memory::{
    DEFAULT_MAX_BYTES, DEFAULT_MAX_MESSAGES, DEFAULT_VISIBILITY_TIMEOUT, InjectedFailure,
    MAX_MESSAGE_BYTES, MemoryQueue, MemoryQueueBuilder, Operation,
};
#[cfg(feature = "sqs")]
pub use sqs::{QueueSettings, SqsQueue};
pub use stats::RequestStats;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;

/// Most messages one `ReceiveMessage` call returns (an SQS limit).
pub const MAX_RECEIVE_BATCH: usize = 10;
/// Most entries one SQS batch call (`SendMessageBatch`, `DeleteMessageBatch`,
/// `ChangeMessageVisibilityBatch`) takes. Backends split longer inputs into such chunks.
pub const MAX_BATCH_ENTRIES: usize = 10;
/// Longest long-poll wait SQS allows.
pub const MAX_WAIT_TIME: Duration = Duration::from_secs(20);
/// Longest visibility timeout SQS allows (12 hours).
pub const MAX_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(12 * 60 * 60);
/// Longest per-message delay SQS allows (15 minutes).
pub const MAX_DELAY: Duration = Duration::from_secs(900);
/// Most message attributes SQS accepts on one message.
pub const MAX_MESSAGE_ATTRIBUTES: usize = 10;

/// A message attribute value, as SQS types them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttributeValue {
    /// `String` data type.
    String(String),
    /// `Number` data type (SQS carries numbers as strings).
    Number(String),
    /// `Binary` data type.
    Binary(Bytes),
}

impl AttributeValue {
    /// The value as text when it is a `String` or `Number` attribute.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttributeValue::String(s) | AttributeValue::Number(s) => Some(s),
            AttributeValue::Binary(_) => None,
        }
    }
}

/// Message attributes by name.
pub type Attributes = BTreeMap<String, AttributeValue>;

/// A message as received: body byte for byte, its attributes and SQS bookkeeping.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReceivedMessage {
    /// The id SQS gave the message when it was sent.
    pub message_id: String,
    /// The handle for this receive; needed to delete it or change its visibility.
    pub receipt_handle: String,
    /// The body exactly as sent.
    pub body: String,
    /// User message attributes.
    pub attributes: Attributes,
    /// `ApproximateReceiveCount`: 1 on the first receive.
    pub receive_count: u32,
    /// `SentTimestamp`, when the backend reports it.
    pub sent_at: Option<SystemTime>,
}

impl ReceivedMessage {
    /// Builds a received message (backends and tests).
    pub fn new(
        message_id: impl Into<String>,
        receipt_handle: impl Into<String>,
        body: impl Into<String>,
        attributes: Attributes,
        receive_count: u32,
        sent_at: Option<SystemTime>,
    ) -> Self {
        Self {
            message_id: message_id.into(),
            receipt_handle: receipt_handle.into(),
            body: body.into(),
            attributes,
            receive_count,
            sent_at,
        }
    }

    /// A string or number attribute's text.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).and_then(AttributeValue::as_str)
    }
}

/// A message to send.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct OutgoingMessage {
    /// The body.
    pub body: String,
    /// User message attributes (at most [`MAX_MESSAGE_ATTRIBUTES`]).
    pub attributes: Attributes,
    /// Delivery delay (at most [`MAX_DELAY`]).
    pub delay: Option<Duration>,
}

impl OutgoingMessage {
    /// A message with this body, no attributes and no delay.
    pub fn new(body: impl Into<String>) -> Self {
        Self {
            body: body.into(),
            attributes: Attributes::new(),
            delay: None,
        }
    }

    /// Adds a `String` attribute.
    pub fn with_attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes
            .insert(name.into(), AttributeValue::String(value.into()));
        self
    }

    /// Adds a `Number` attribute.
    pub fn with_number_attribute(mut self, name: impl Into<String>, value: impl ToString) -> Self {
        self.attributes
            .insert(name.into(), AttributeValue::Number(value.to_string()));
        self
    }

    /// Sets all attributes at once (for example to carry a received message's attributes over).
    pub fn with_attributes(mut self, attributes: Attributes) -> Self {
        self.attributes = attributes;
        self
    }

    /// Delays delivery.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
}

/// Settings of one receive call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceiveOptions {
    /// 1 to [`MAX_RECEIVE_BATCH`].
    pub max_messages: usize,
    /// Long-poll wait, at most [`MAX_WAIT_TIME`]; zero is a short poll.
    pub wait_time: Duration,
    /// Visibility timeout for what this call receives; `None` uses the queue's default.
    pub visibility_timeout: Option<Duration>,
}

impl Default for ReceiveOptions {
    fn default() -> Self {
        Self {
            max_messages: MAX_RECEIVE_BATCH,
            wait_time: MAX_WAIT_TIME,
            visibility_timeout: None,
        }
    }
}

impl ReceiveOptions {
    /// Sets the number of messages (clamped to 1..=10 by backends).
    pub fn max_messages(mut self, n: usize) -> Self {
        self.max_messages = n;
        self
    }
    /// Sets the long-poll wait.
    pub fn wait_time(mut self, wait: Duration) -> Self {
        self.wait_time = wait;
        self
    }
    /// Sets the visibility timeout of the received messages.
    pub fn visibility_timeout(mut self, timeout: Duration) -> Self {
        self.visibility_timeout = Some(timeout);
        self
    }
}

/// One entry of a batch call that the backend refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchEntryFailure {
    /// Index of the entry in the input.
    pub index: usize,
    /// The backend's error code (for SQS, e.g. `ReceiptHandleIsInvalid`).
    pub code: String,
    /// The backend's message.
    pub message: String,
    /// Whether SQS blamed the caller (retrying the same entry will not help).
    pub sender_fault: bool,
}

/// What a batch call did, entry by entry. Every input index appears exactly once, in `ok` or
/// in `failed`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchOutcome<T> {
    /// Succeeded entries: input index and result (the new message id for sends).
    pub ok: Vec<(usize, T)>,
    /// Refused entries.
    pub failed: Vec<BatchEntryFailure>,
}

impl<T> BatchOutcome<T> {
    /// An outcome with nothing in it.
    pub fn empty() -> Self {
        Self {
            ok: Vec::new(),
            failed: Vec::new(),
        }
    }
    /// True when no entry failed.
    pub fn all_ok(&self) -> bool {
        self.failed.is_empty()
    }
}

impl<T> Default for BatchOutcome<T> {
    fn default() -> Self {
        Self::empty()
    }
}

/// Approximate message counts of a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct QueueDepth {
    /// Messages available to receive (`ApproximateNumberOfMessages`).
    pub visible: u64,
    /// Received and not yet deleted or released (`ApproximateNumberOfMessagesNotVisible`).
    pub in_flight: u64,
    /// Sent with a delay not yet over (`ApproximateNumberOfMessagesDelayed`).
    pub delayed: u64,
}

impl QueueDepth {
    /// Builds a depth reading.
    pub fn new(visible: u64, in_flight: u64, delayed: u64) -> Self {
        Self {
            visible,
            in_flight,
            delayed,
        }
    }
    /// All messages the queue holds.
    pub fn total(&self) -> u64 {
        self.visible + self.in_flight + self.delayed
    }
}

/// A count carried as text (a `Number` attribute such as `RETRY_ATTEMPTS`): decimal digits,
/// saturating at `u32::MAX` when larger; `None` for anything else (signs other than `+`,
/// fractions, exponents, words).
pub(crate) fn saturating_count(text: &str) -> Option<u32> {
    let digits = text.strip_prefix('+').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse().unwrap_or(u32::MAX))
}

/// Why a queue call failed as a whole.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// The backend throttled the call; retry later.
    #[error("queue {queue}: throttled by the backend")]
    Throttled {
        /// Queue name or URL.
        queue: String,
    },
    /// The queue does not exist.
    #[error("queue {queue} does not exist")]
    NotFound {
        /// Queue name or URL.
        queue: String,
    },
    /// The request was invalid (too many attributes, delay too long, empty batch, ...).
    #[error("invalid queue request: {0}")]
    InvalidRequest(String),
    /// The backend could not be reached or answered with a server error; retry later.
    #[error("queue {queue} unavailable: {message}")]
    Unavailable {
        /// Queue name or URL.
        queue: String,
        /// What happened.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The queue holds as many messages, or bytes, as it may ([`crate::queue::MemoryQueueBuilder`]'s
    /// `max_messages` / `max_bytes`); nothing was added. Retry once consumers have caught up.
    #[error("queue {queue} is full: {limit}")]
    Full {
        /// Queue name or URL.
        queue: String,
        /// Which limit was reached, e.g. "10000 messages".
        limit: String,
    },
    /// Any other backend error, with its code.
    #[error("queue {queue}: {code}: {message}")]
    Backend {
        /// Queue name or URL.
        queue: String,
        /// The backend's error code.
        code: String,
        /// The backend's message.
        message: String,
    },
}

impl QueueError {
    /// Whether retrying the same call later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            QueueError::Throttled { .. } | QueueError::Unavailable { .. } | QueueError::Full { .. }
        )
    }
}

/// The SQS operations the crate needs. Batch methods take any number of entries and split them
/// into calls of [`MAX_BATCH_ENTRIES`]; their outcome reports every entry.
#[async_trait]
pub trait Queue: Send + Sync + 'static {
    /// A name for logs and reports (queue name or URL).
    fn name(&self) -> &str;

    /// Receives up to `opts.max_messages`, long-polling up to `opts.wait_time`.
    async fn receive(&self, opts: &ReceiveOptions) -> Result<Vec<ReceivedMessage>, QueueError>;

    /// Sends one message; returns its message id.
    async fn send(&self, message: OutgoingMessage) -> Result<String, QueueError>;

    /// Sends many messages in batches of 10; `ok` carries the new message ids.
    async fn send_batch(
        &self,
        messages: Vec<OutgoingMessage>,
    ) -> Result<BatchOutcome<String>, QueueError>;

    /// Deletes received messages by receipt handle, in batches of 10.
    async fn delete_batch(
        &self,
        receipt_handles: Vec<String>,
    ) -> Result<BatchOutcome<()>, QueueError>;

    /// Changes the visibility timeout of received messages, in batches of 10.
    /// A zero timeout makes a message visible again at once.
    async fn change_visibility_batch(
        &self,
        entries: Vec<(String, Duration)>,
    ) -> Result<BatchOutcome<()>, QueueError>;

    /// Approximate counts of the queue's messages.
    async fn approximate_depth(&self) -> Result<QueueDepth, QueueError>;

    /// Deletes one message (a batch of one).
    async fn delete(&self, receipt_handle: &str) -> Result<(), QueueError> {
        let outcome = self.delete_batch(vec![receipt_handle.to_owned()]).await?;
        match outcome.failed.into_iter().next() {
            None => Ok(()),
            Some(f) => Err(QueueError::Backend {
                queue: self.name().to_owned(),
                code: f.code,
                message: f.message,
            }),
        }
    }

    /// Changes one message's visibility (a batch of one).
    async fn change_visibility(
        &self,
        receipt_handle: &str,
        timeout: Duration,
    ) -> Result<(), QueueError> {
        let outcome = self
            .change_visibility_batch(vec![(receipt_handle.to_owned(), timeout)])
            .await?;
        match outcome.failed.into_iter().next() {
            None => Ok(()),
            Some(f) => Err(QueueError::Backend {
                queue: self.name().to_owned(),
                code: f.code,
                message: f.message,
            }),
        }
    }
}

#[async_trait]
impl<Q: Queue + ?Sized> Queue for std::sync::Arc<Q> {
    fn name(&self) -> &str {
        (**self).name()
    }
    async fn receive(&self, opts: &ReceiveOptions) -> Result<Vec<ReceivedMessage>, QueueError> {
        (**self).receive(opts).await
    }
    async fn send(&self, message: OutgoingMessage) -> Result<String, QueueError> {
        (**self).send(message).await
    }
    async fn send_batch(
        &self,
        messages: Vec<OutgoingMessage>,
    ) -> Result<BatchOutcome<String>, QueueError> {
        (**self).send_batch(messages).await
    }
    async fn delete_batch(
        &self,
        receipt_handles: Vec<String>,
    ) -> Result<BatchOutcome<()>, QueueError> {
        (**self).delete_batch(receipt_handles).await
    }
    async fn change_visibility_batch(
        &self,
        entries: Vec<(String, Duration)>,
    ) -> Result<BatchOutcome<()>, QueueError> {
        (**self).change_visibility_batch(entries).await
    }
    async fn approximate_depth(&self) -> Result<QueueDepth, QueueError> {
        (**self).approximate_depth().await
    }
}

/// Sets the `genesys.queue.depth` gauges of `queue` from a depth just read.
pub(crate) fn record_depth(queue: &str, depth: &QueueDepth) {
    use crate::metric_names::{AWS_SQS, DESTINATION, QUEUE_DEPTH, SYSTEM};
    for (state, n) in [
        ("visible", depth.visible),
        ("in_flight", depth.in_flight),
        ("delayed", depth.delayed),
    ] {
        metrics::gauge!(
            QUEUE_DEPTH,
            SYSTEM => AWS_SQS,
            DESTINATION => queue.to_owned(),
            "state" => state,
        )
        .set(n as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_saturate_instead_of_vanishing() {
        assert_eq!(saturating_count("3"), Some(3));
        assert_eq!(saturating_count("+3"), Some(3));
        assert_eq!(saturating_count("4294967295"), Some(u32::MAX));
        assert_eq!(saturating_count("4294967296"), Some(u32::MAX));
        assert_eq!(saturating_count("99999999999999999999"), Some(u32::MAX));
        for junk in ["", "+", "-1", "3.0", "1e3", "three", " 3"] {
            assert_eq!(saturating_count(junk), None, "{junk:?}");
        }
    }
}
