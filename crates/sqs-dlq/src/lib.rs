//! Amazon SQS (and an in-memory twin) queues, EventBridge dead letters parsed and categorized, diagnosis reports, replay, and a consumer that never loses a message.

pub mod queue;

pub use queue::{
    AttributeValue, Attributes, BatchEntryFailure, BatchOutcome, OutgoingMessage, Queue,
    QueueDepth, QueueError, ReceiveOptions, ReceivedMessage,
};
