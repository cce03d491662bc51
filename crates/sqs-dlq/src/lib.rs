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

pub mod consumer;
pub mod handler;
pub mod idempotency;
pub mod metrics;

pub use consumer::{Consumer, ConsumerBuilder, ConsumerError, RunSummary};
pub use handler::{BoxError, Decode, DecodeError, Delivery, Handler, HandlerError, Json};
pub use idempotency::{Claim, IdempotencyError, IdempotencyStore, MemoryIdempotencyStore};
pub use metrics::{
    ConsumerCounters, ConsumerMetrics, CounterSnapshot, DeadLetterReason, NoMetrics,
};
#[cfg(feature = "http")]
pub mod ingest;
#[cfg(feature = "http")]
pub use ingest::{WebhookIngest, WebhookIngestBuilder};
