//! One batch of messages on its way to a sink.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// A batch of exported messages. Serialized (for the webhook) as
/// `{conversationId, batch, messageCount, messages, exportedAt}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ArchiveBatch<M> {
    /// The conversation the messages belong to.
    pub conversation_id: String,
    /// 0-based batch number within the export.
    pub batch: u64,
    /// Number of messages in `messages`.
    pub message_count: usize,
    /// The messages, in export order.
    pub messages: Vec<M>,
    /// When the batch was formed (kept across retries, so every attempt sends the same bytes).
    pub exported_at: DateTime<Utc>,
    /// Export position (0-based, over yielded messages) of the first message.
    #[serde(skip)]
    pub first_position: u64,
}

impl<M> ArchiveBatch<M> {
    /// A batch starting at export position `first_position`.
    pub fn new(
        conversation_id: impl Into<String>,
        batch: u64,
        first_position: u64,
        messages: Vec<M>,
    ) -> Self {
        Self {
            conversation_id: conversation_id.into(),
            batch,
            message_count: messages.len(),
            messages,
            exported_at: Utc::now(),
            first_position,
        }
    }

    /// Export positions covered, inclusive: `first..=last` (`first..=first` when empty).
    pub fn range(&self) -> (u64, u64) {
        let last = self.first_position + (self.message_count as u64).saturating_sub(1);
        (self.first_position, last)
    }

    /// A key that is the same for the same conversation and range, whenever and however often
    /// the batch is sent: hex SHA-256 of `conversation_id`, first and last position.
    pub fn idempotency_key(&self) -> String {
        let (first, last) = self.range();
        let mut hash = Sha256::new();
        hash.update(self.conversation_id.as_bytes());
        hash.update(b"\n");
        hash.update(first.to_string().as_bytes());
        hash.update(b"\n");
        hash.update(last.to_string().as_bytes());
        hex::encode(hash.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_depends_on_conversation_and_range_only() {
        let a = ArchiveBatch::new("c1", 0, 0, vec![1, 2, 3]);
        let mut later = ArchiveBatch::new("c1", 0, 0, vec![1, 2, 3]);
        later.exported_at = a.exported_at + chrono::TimeDelta::hours(1);
        assert_eq!(a.idempotency_key(), later.idempotency_key());
        assert_ne!(
            a.idempotency_key(),
            ArchiveBatch::new("c2", 0, 0, vec![1, 2, 3]).idempotency_key()
        );
        assert_ne!(
            a.idempotency_key(),
            ArchiveBatch::new("c1", 1, 3, vec![1, 2, 3]).idempotency_key()
        );
        assert_eq!(a.range(), (0, 2));
        assert_eq!(a.idempotency_key().len(), 64);
    }

    #[test]
    fn serializes_the_documented_fields() {
        let b = ArchiveBatch::new("c1", 4, 400, vec!["m"]);
        let v = serde_json::to_value(&b).unwrap();
        let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "batch",
                "conversationId",
                "exportedAt",
                "messageCount",
                "messages"
            ]
        );
        assert_eq!(v["messageCount"], 1);
    }
}
