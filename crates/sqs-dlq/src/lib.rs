//! Amazon SQS queues for services that must not lose a message, in four rooms:
//!
//! | module | what | needs |
//! |---|---|---|
//! | [`queue`] | the [`Queue`](queue::Queue) trait, [`MemoryQueue`](queue::MemoryQueue) with SQS semantics, `SqsQueue` on `aws-sdk-sqs`, request counters, and (`test-util`) the backend contract suite | `sqs` for `SqsQueue` |
//! | [`dead_letter`] | EventBridge dead letters parsed ([`DeadLetter`](dead_letter::DeadLetter)) and categorized, non-destructive [`Diagnosis`](dead_letter::Diagnosis) reports, [`Replay`](dead_letter::Replay) to a queue or (`replay-http`) an HTTP endpoint | `replay-http` for `HttpTarget` |
//! | [`consumer`] | a [`Consumer`](consumer::Consumer) runtime with retries, DLQ routing and idempotency | `redis` for the shared idempotency store |
//! | `http` | signed webhook ingest, a dead-letter receiver, a hardened HTTP/1.1 server | `http` |
//!
//! Each public item has one path, under its room (`sqs_dlq::queue::MemoryQueue`,
//! `sqs_dlq::dead_letter::Replay`); [`metric_names`], [`trace_context`] and [`redact`] are
//! shared by every room. With `--no-default-features` the crate builds with no AWS SDK, no
//! HTTP client and no HTTP server: the in-memory queue, the dead-letter parser, diagnosis,
//! replay to a queue and the consumer.
//!
//! ```
//! use sqs_dlq::dead_letter::{Category, DeadLetter};
//! use sqs_dlq::queue::{MemoryQueue, OutgoingMessage, Queue, ReceiveOptions};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dlq = MemoryQueue::new("events-dlq");
//! let event = r#"{"version":"0","id":"e1","detail-type":"v2.conversations.{id}.transcription",
//!   "source":"aws.partner/genesys.com/cloud/org/suffix","account":"1","time":"2026-11-01T00:00:00Z",
//!   "region":"us-east-1","resources":[],"detail":{"topicName":"v2.conversations.5f1c8a52-2c4e-4d5b-9b6a-0c1d2e3f4a5b.transcription",
//!   "eventBody":{},"metadata":{"CorrelationId":"c1"},"timestamp":"2026-11-01T00:00:00.000Z"}}"#;
//! dlq.send(OutgoingMessage::new(event).with_attribute("ERROR_CODE", "THROTTLING")).await?;
//!
//! let received = dlq.receive(&ReceiveOptions::default().wait_time(std::time::Duration::ZERO)).await?;
//! let letter = DeadLetter::from(received[0].clone());
//! assert_eq!(letter.category(), Category::RateLimited);
//! assert!(letter.category().replay_safe());
//! assert_eq!(letter.conversation_id().as_deref(), Some("5f1c8a52-2c4e-4d5b-9b6a-0c1d2e3f4a5b"));
//! # Ok(()) }
//! ```
//!
//! No message ever leaves a queue unless it was handled, copied to a dead-letter queue with its
//! reason attached, or accepted by a replay target. See the crate README for the full tour and
//! the feature flags.
//!
//! It knows nothing of Genesys Cloud: conversation lookups come in through
//! [`Correlator`](dead_letter::Correlator), replays go out through
//! [`ReplayTarget`](dead_letter::ReplayTarget).

pub mod consumer;
pub mod dead_letter;
#[cfg(feature = "http")]
pub mod http;
pub mod metric_names;
pub mod queue;
pub mod redact;
pub mod trace_context;
