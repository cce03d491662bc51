//! [`HistoryRecord`]: what the export needs to know about a message, whichever source it came from.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::models::{Direction, MessageData, MessageType, WebMessagingMessage};

/// A message the export can filter, order, deduplicate and check.
pub trait HistoryRecord: DeserializeOwned + Serialize + Send + Sync + 'static {
    /// The message id (duplicates are detected on it).
    fn id(&self) -> &str;
    /// The message time used for ordering and the time window.
    fn time(&self) -> Option<DateTime<Utc>>;
    /// The message type, for the type filter.
    fn message_type(&self) -> Option<MessageType>;
    /// The direction, for the direction filter.
    fn direction(&self) -> Option<Direction>;
    /// Attachment URLs to check (untrusted).
    fn attachment_urls(&self) -> Vec<String>;
}

impl HistoryRecord for WebMessagingMessage {
    fn id(&self) -> &str {
        &self.id
    }
    fn time(&self) -> Option<DateTime<Utc>> {
        WebMessagingMessage::time(self)
    }
    fn message_type(&self) -> Option<MessageType> {
        self.message_type.clone()
    }
    fn direction(&self) -> Option<Direction> {
        self.direction.clone()
    }
    fn attachment_urls(&self) -> Vec<String> {
        self.attachments().filter_map(|a| a.url.clone()).collect()
    }
}

impl HistoryRecord for MessageData {
    fn id(&self) -> &str {
        &self.id
    }
    fn time(&self) -> Option<DateTime<Utc>> {
        self.timestamp
    }
    fn message_type(&self) -> Option<MessageType> {
        self.normalized_type()
    }
    fn direction(&self) -> Option<Direction> {
        self.web_direction()
    }
    fn attachment_urls(&self) -> Vec<String> {
        MessageData::attachment_urls(self)
    }
}
