//! The sink trait and its error.

use std::time::Duration;

use async_trait::async_trait;
use retry_policy::{GiveUp, RetryClass, RetryableError};
use serde::Serialize;

use super::batch::ArchiveBatch;

/// Where exported batches go. Implement it for your own store.
///
/// `write_batch` is called in export order, one batch at a time; an error stops the export,
/// which returns the failed batch to the caller. `finish` is called once after the last batch
/// (flush, fsync, close).
#[async_trait]
pub trait ArchiveSink<M: Serialize + Send + Sync>: Send + Sync {
    /// Stores one batch durably enough for the sink's promise (the webhook: acknowledged 2xx).
    async fn write_batch(&self, batch: &ArchiveBatch<M>) -> Result<(), SinkError>;
    /// Completes the archive after the last batch.
    async fn finish(&self) -> Result<(), SinkError>;
}

/// Why a sink could not store a batch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// The endpoint answered with a non-2xx status.
    #[error("archive endpoint answered {status}: {body_snippet}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The first bytes of the answer.
        body_snippet: String,
        /// The endpoint's Retry-After, if any.
        retry_after: Option<Duration>,
    },
    /// The request did not complete (connect error, timeout, reset).
    #[error("archive endpoint unreachable: {source}")]
    Transport {
        /// Whether it timed out.
        timeout: bool,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The webhook request failed in a way not named above (see `signed-webhook`'s
    /// `AttemptError`).
    #[error("archive request failed: {0}")]
    Webhook(#[source] signed_webhook::AttemptError),
    /// The batch could not be serialized.
    #[error("batch could not be serialized: {0}")]
    Encode(#[source] serde_json::Error),
    /// A file operation failed.
    #[error("archive file error: {0}")]
    Io(#[from] std::io::Error),
    /// The sink was used after `finish`.
    #[error("the sink is already finished")]
    Finished,
    /// The retry policy gave up.
    #[error("archive gave up after {attempts} attempts ({reason}): {last}")]
    RetriesExhausted {
        /// Attempts made.
        attempts: u32,
        /// Time spent.
        elapsed: Duration,
        /// Why the policy stopped.
        reason: GiveUp,
        /// The last attempt's error.
        #[source]
        last: Box<SinkError>,
    },
}

impl RetryableError for SinkError {
    fn retry_class(&self) -> RetryClass {
        match self {
            Self::Rejected {
                status,
                retry_after,
                ..
            } => RetryClass::from_status(*status, *retry_after),
            Self::Transport { timeout: true, .. } => RetryClass::timeout(),
            Self::Transport { .. } => RetryClass::retry(),
            _ => RetryClass::Fail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let rejected = |status| SinkError::Rejected {
            status,
            body_snippet: String::new(),
            retry_after: None,
        };
        assert!(rejected(503).retry_class().is_retry());
        assert!(rejected(429).retry_class().is_retry());
        assert!(!rejected(400).retry_class().is_retry());
        assert!(!rejected(401).retry_class().is_retry());
        assert!(!SinkError::Finished.retry_class().is_retry());
    }
}
