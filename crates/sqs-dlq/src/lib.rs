//! Amazon SQS (and an in-memory twin) queues, EventBridge dead letters parsed and categorized, diagnosis reports, replay, and a consumer that never loses a message.

pub mod memory;
pub mod queue;
pub mod queue_stats;

pub use queue::{
    AttributeValue, Attributes, BatchEntryFailure, BatchOutcome, OutgoingMessage, Queue,
    QueueDepth, QueueError, ReceiveOptions, ReceivedMessage,
};
pub use memory::{InjectedFailure, MemoryQueue, MemoryQueueBuilder, Operation};
pub use queue_stats::RequestStats;
