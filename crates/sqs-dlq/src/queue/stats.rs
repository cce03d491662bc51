//! [`RequestStats`] and what it needs (its documentation is on the type).

use std::sync::atomic::{AtomicU64, Ordering};

/// Requests a queue backend made, by SQS operation. A snapshot: later calls do not change it.
///
/// Batch methods that split their input into chunks of ten count one request per chunk, as SQS
/// would bill them.
///
/// Request counters shared by the queue backends.
///
/// SQS bills per request, and the crate's cost target (about 0.2 requests per consumed message
/// with batches of ten) is checked by counting requests on the backend. Both [`MemoryQueue`]
/// and `SqsQueue` count every call they make (or, for the in-memory queue, every call SQS
/// would have received) by operation; [`RequestStats`] is a snapshot of those counters.
///
/// [`MemoryQueue`]: crate::queue::MemoryQueue
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RequestStats {
    /// `ReceiveMessage` calls (including those that returned nothing).
    pub receive_message: u64,
    /// `ReceiveMessage` calls that returned no message.
    pub empty_receives: u64,
    /// Messages returned by all `ReceiveMessage` calls.
    pub messages_received: u64,
    /// `SendMessage` calls.
    pub send_message: u64,
    /// `SendMessageBatch` calls.
    pub send_message_batch: u64,
    /// `DeleteMessageBatch` calls.
    pub delete_message_batch: u64,
    /// `ChangeMessageVisibilityBatch` calls.
    pub change_message_visibility_batch: u64,
    /// `GetQueueAttributes` calls.
    pub get_queue_attributes: u64,
    /// `GetQueueUrl` calls (resolving a queue by name).
    pub get_queue_url: u64,
}

impl RequestStats {
    /// All requests, of every operation (`empty_receives` and `messages_received` are not
    /// requests and are not added).
    pub fn total(&self) -> u64 {
        self.receive_message
            + self.send_message
            + self.send_message_batch
            + self.delete_message_batch
            + self.change_message_visibility_batch
            + self.get_queue_attributes
            + self.get_queue_url
    }

    /// Requests per message: `total()` divided by `messages`, or 0 when `messages` is 0.
    pub fn per_message(&self, messages: u64) -> f64 {
        if messages == 0 {
            0.0
        } else {
            self.total() as f64 / messages as f64
        }
    }
}

/// The SQS operations the counters know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Receive,
    Send,
    SendBatch,
    DeleteBatch,
    ChangeVisibilityBatch,
    GetAttributes,
    /// Only the SQS backend resolves queues by name.
    #[cfg_attr(not(feature = "sqs"), allow(dead_code))]
    GetQueueUrl,
}

impl Op {
    /// The `messaging.operation.name` of the call (the SQS backend's metrics label).
    #[cfg(feature = "sqs")]
    pub(crate) fn operation_name(self) -> &'static str {
        match self {
            Op::Receive => "receive",
            Op::Send | Op::SendBatch => "send",
            Op::DeleteBatch => "delete",
            Op::ChangeVisibilityBatch => "change_visibility",
            Op::GetAttributes => "get_attributes",
            Op::GetQueueUrl => "get_queue_url",
        }
    }
}

/// Lock-free counters behind [`RequestStats`].
#[derive(Debug, Default)]
pub(crate) struct RequestCounter {
    receive_message: AtomicU64,
    empty_receives: AtomicU64,
    messages_received: AtomicU64,
    send_message: AtomicU64,
    send_message_batch: AtomicU64,
    delete_message_batch: AtomicU64,
    change_message_visibility_batch: AtomicU64,
    get_queue_attributes: AtomicU64,
    get_queue_url: AtomicU64,
}

impl RequestCounter {
    fn cell(&self, op: Op) -> &AtomicU64 {
        match op {
            Op::Receive => &self.receive_message,
            Op::Send => &self.send_message,
            Op::SendBatch => &self.send_message_batch,
            Op::DeleteBatch => &self.delete_message_batch,
            Op::ChangeVisibilityBatch => &self.change_message_visibility_batch,
            Op::GetAttributes => &self.get_queue_attributes,
            Op::GetQueueUrl => &self.get_queue_url,
        }
    }

    /// Counts `n` requests of `op`.
    pub(crate) fn add(&self, op: Op, n: u64) {
        self.cell(op).fetch_add(n, Ordering::Relaxed);
    }

    /// Records what one receive returned.
    pub(crate) fn received(&self, messages: usize) {
        if messages == 0 {
            self.empty_receives.fetch_add(1, Ordering::Relaxed);
        } else {
            self.messages_received
                .fetch_add(messages as u64, Ordering::Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> RequestStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        RequestStats {
            receive_message: get(&self.receive_message),
            empty_receives: get(&self.empty_receives),
            messages_received: get(&self.messages_received),
            send_message: get(&self.send_message),
            send_message_batch: get(&self.send_message_batch),
            delete_message_batch: get(&self.delete_message_batch),
            change_message_visibility_batch: get(&self.change_message_visibility_batch),
            get_queue_attributes: get(&self.get_queue_attributes),
            get_queue_url: get(&self.get_queue_url),
        }
    }

    pub(crate) fn reset(&self) {
        for c in [
            &self.receive_message,
            &self.empty_receives,
            &self.messages_received,
            &self.send_message,
            &self.send_message_batch,
            &self.delete_message_batch,
            &self.change_message_visibility_batch,
            &self.get_queue_attributes,
            &self.get_queue_url,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_operation_and_per_message() {
        let c = RequestCounter::default();
        c.add(Op::Receive, 2);
        c.add(Op::DeleteBatch, 2);
        c.received(10);
        c.received(0);
        let s = c.snapshot();
        assert_eq!(s.receive_message, 2);
        assert_eq!(s.delete_message_batch, 2);
        assert_eq!(s.messages_received, 10);
        assert_eq!(s.empty_receives, 1);
        assert_eq!(s.total(), 4);
        assert!((s.per_message(20) - 0.2).abs() < 1e-9);
        assert_eq!(s.per_message(0), 0.0);
        c.reset();
        assert_eq!(c.snapshot(), RequestStats::default());
    }
}
