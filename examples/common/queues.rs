//! Queues: `--queue-url` (and friends) → Amazon SQS through the AWS config chain
//! (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_PROFILE`, credentials, instance roles), else an
//! in-memory queue with SQS semantics.

use std::sync::Arc;

use anyhow::Context as _;
use sqs_dlq::queue::{MemoryQueue, Queue, SqsQueue};

/// A queue for a recipe: SQS or in memory.
#[derive(Debug, Clone)]
pub enum RecipeQueue {
    /// Amazon SQS (or an SQS-compatible endpoint such as moto).
    Sqs(SqsQueue),
    /// In memory, in this process.
    Memory(MemoryQueue),
}

impl RecipeQueue {
    /// Opens `url` (a queue URL, or a queue name resolved with `GetQueueUrl`) when given,
    /// else a new in-memory queue named `memory_name`.
    pub async fn open(url: Option<&str>, memory_name: &str) -> anyhow::Result<Self> {
        match url {
            Some(url) => {
                let queue = SqsQueue::connect(url)
                    .await
                    .with_context(|| format!("opening SQS queue {}", sqs_dlq::redact::url(url)))?;
                Ok(Self::Sqs(queue))
            }
            None => Ok(Self::Memory(MemoryQueue::new(memory_name))),
        }
    }

    /// As [`open`](Self::open), with an in-memory queue bounded to `max_messages` and
    /// `max_bytes` (past them a send fails with `QueueError::Full`, which the ingest answers
    /// with 503 and `Retry-After`). SQS queues have their own limits; the bounds do not apply.
    pub async fn open_bounded(
        url: Option<&str>,
        memory_name: &str,
        max_messages: usize,
        max_bytes: usize,
    ) -> anyhow::Result<Self> {
        match url {
            Some(_) => Self::open(url, memory_name).await,
            None => Ok(Self::Memory(
                MemoryQueue::builder(memory_name)
                    .max_messages(max_messages)
                    .max_bytes(max_bytes)
                    .build(),
            )),
        }
    }

    /// The queue as a shareable trait object.
    pub fn shared(&self) -> Arc<dyn Queue> {
        match self {
            Self::Sqs(q) => Arc::new(q.clone()),
            Self::Memory(q) => Arc::new(q.clone()),
        }
    }

    /// Messages on the queue: visible, in flight and delayed (approximate for SQS); 0, with a
    /// warning, when the depth cannot be read.
    pub async fn depth_total(&self) -> u64 {
        match self.shared().approximate_depth().await {
            Ok(depth) => depth.total(),
            Err(error) => {
                tracing::warn!(queue = %self.name(), %error, "queue depth unavailable");
                0
            }
        }
    }

    /// Whether this is an SQS queue.
    pub fn is_sqs(&self) -> bool {
        matches!(self, Self::Sqs(_))
    }

    /// The queue's name.
    pub fn name(&self) -> String {
        match self {
            Self::Sqs(q) => q.name().to_owned(),
            Self::Memory(q) => q.name().to_owned(),
        }
    }
}
