//! The synchronous heart of [`MemoryQueue`](super::MemoryQueue): messages, the ready line,
//! and the timers for invisibility and delays. Everything here runs under the queue's one
//! mutex; no method awaits.
//!
//! Structures, chosen so no operation scans the queue:
//! - `messages`: every message the queue holds, by a numeric id (O(1) lookups by receipt handle);
//! - `ready`: ids of visible messages in the order they became visible (receive pops the front);
//! - `timers`: a min-heap of deadlines (visibility expiry, end of a delay). Entries are never
//!   removed eagerly: each carries a token that must match the message's current one, so a
//!   deleted or re-timed message leaves a stale entry that is skipped when popped, and the heap
//!   is compacted when stale entries outnumber live ones.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::queue::{AttributeValue, Attributes, QueueDepth, ReceivedMessage};

/// A message the queue holds.
#[derive(Debug, Clone)]
pub(crate) struct StoredMessage {
    pub(crate) message_id: String,
    pub(crate) body: String,
    pub(crate) attributes: Attributes,
    pub(crate) sent_at: SystemTime,
    pub(crate) receive_count: u32,
}

#[derive(Debug)]
enum Status {
    /// Visible; its id is in `ready`.
    Ready,
    /// Sent with a delay that is not over.
    Delayed { token: u64 },
    /// Received; invisible until `until` (its timer carries `token`).
    InFlight { token: u64 },
}

#[derive(Debug)]
struct Entry {
    msg: StoredMessage,
    status: Status,
    /// The receipt of the latest receive; only it can delete or re-time the message.
    receipt: Option<u64>,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Timer {
    at: Instant,
    token: u64,
    id: u64,
}

/// Why a receipt handle was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HandleError {
    /// Malformed, from another queue, or superseded by a later receive.
    Invalid,
    /// Valid, but the message is visible again (its visibility timeout ran out).
    NotInFlight,
    /// The message is no longer in the queue (deleted or moved to the dead-letter queue).
    Gone,
}

/// A parsed receipt handle: `<queue tag>.<id>.<receipt>` in hex.
fn parse_handle(handle: &str) -> Option<(u64, u64, u64)> {
    let mut parts = handle.split('.');
    let tag = u64::from_str_radix(parts.next()?, 16).ok()?;
    let id = u64::from_str_radix(parts.next()?, 16).ok()?;
    let receipt = u64::from_str_radix(parts.next()?, 16).ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some((tag, id, receipt))
}

/// The queue's state.
#[derive(Debug)]
pub(crate) struct State {
    tag: u64,
    messages: HashMap<u64, Entry>,
    ready: VecDeque<u64>,
    timers: BinaryHeap<Reverse<Timer>>,
    in_flight: usize,
    delayed: usize,
    /// Sum of [`message_bytes`] over the messages held.
    bytes: usize,
    next_id: u64,
    next_token: u64,
}

/// What a message weighs against a queue's byte limit: its body, attribute names and values
/// (the size SQS counts), plus a fixed allowance for the bookkeeping around it.
pub(crate) fn message_bytes(body: &str, attributes: &Attributes) -> usize {
    const PER_MESSAGE: usize = 128;
    let attributes: usize = attributes
        .iter()
        .map(|(name, value)| {
            name.len()
                + match value {
                    AttributeValue::String(s) | AttributeValue::Number(s) => s.len(),
                    AttributeValue::Binary(b) => b.len(),
                }
        })
        .sum();
    PER_MESSAGE + body.len() + attributes
}

impl State {
    /// An empty queue whose receipt handles and message ids carry `tag`.
    pub(crate) fn new(tag: u64) -> Self {
        Self {
            tag,
            messages: HashMap::new(),
            ready: VecDeque::new(),
            timers: BinaryHeap::new(),
            in_flight: 0,
            delayed: 0,
            bytes: 0,
            next_id: 0,
            next_token: 0,
        }
    }

    fn token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    fn push_timer(&mut self, at: Instant, token: u64, id: u64) {
        self.timers.push(Reverse(Timer { at, token, id }));
        // Stale entries (deleted or re-timed messages) are skipped lazily; keep them from
        // outgrowing the live ones.
        let live = self.in_flight + self.delayed;
        if self.timers.len() > 2 * live + 1024 {
            let messages = &self.messages;
            self.timers.retain(|Reverse(t)| is_live(messages, t));
        }
    }

    /// A new message id: a UUID built from the queue's tag and a counter (unique, no syscall).
    fn message_id(&self, id: u64) -> String {
        uuid::Uuid::from_u64_pair(self.tag, id)
            .hyphenated()
            .to_string()
    }

    /// Adds a new message, visible at once or after `delay`; returns its message id.
    pub(crate) fn send(
        &mut self,
        now: Instant,
        body: String,
        attributes: Attributes,
        delay: Duration,
    ) -> String {
        let id = self.next_id;
        self.next_id += 1;
        let message_id = self.message_id(id);
        let msg = StoredMessage {
            message_id: message_id.clone(),
            body,
            attributes,
            sent_at: SystemTime::now(),
            receive_count: 0,
        };
        self.insert(now, id, msg, delay);
        message_id
    }

    /// Adds a message moved here from another queue (redrive): same id, body, attributes,
    /// sent time and receive count; visible at once.
    pub(crate) fn accept_moved(&mut self, now: Instant, msg: StoredMessage) {
        let id = self.next_id;
        self.next_id += 1;
        self.insert(now, id, msg, Duration::ZERO);
    }

    fn insert(&mut self, now: Instant, id: u64, msg: StoredMessage, delay: Duration) {
        // The entry goes in before its timer: compaction keeps only timers of live entries.
        let timer = if delay.is_zero() {
            self.ready.push_back(id);
            None
        } else {
            Some(self.token())
        };
        let status = match timer {
            None => Status::Ready,
            Some(token) => Status::Delayed { token },
        };
        self.bytes += message_bytes(&msg.body, &msg.attributes);
        self.messages.insert(
            id,
            Entry {
                msg,
                status,
                receipt: None,
            },
        );
        if let Some(token) = timer {
            self.delayed += 1;
            self.push_timer(now + delay, token, id);
        }
    }

    /// Makes visible every message whose invisibility or delay ended by `now`.
    /// Returns true when some message became visible.
    pub(crate) fn advance(&mut self, now: Instant) -> bool {
        let mut woke = false;
        while let Some(Reverse(top)) = self.timers.peek() {
            if top.at > now {
                break;
            }
            let Some(Reverse(timer)) = self.timers.pop() else {
                break;
            };
            let Some(entry) = self.messages.get_mut(&timer.id) else {
                continue;
            };
            match entry.status {
                Status::InFlight { token } if token == timer.token => self.in_flight -= 1,
                Status::Delayed { token } if token == timer.token => self.delayed -= 1,
                _ => continue,
            }
            entry.status = Status::Ready;
            self.ready.push_back(timer.id);
            woke = true;
        }
        woke
    }

    /// The earliest pending timer (possibly a stale one: waking early is harmless).
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse(t)| t.at)
    }

    /// Receives up to `max` visible messages, making them invisible for `visibility`.
    /// With `max_receive_count`, a message already received that many times is not delivered
    /// but removed and returned in `moved` (for the dead-letter queue), as SQS redrives it.
    pub(crate) fn receive(
        &mut self,
        now: Instant,
        max: usize,
        visibility: Duration,
        max_receive_count: Option<u32>,
        out: &mut Vec<ReceivedMessage>,
        moved: &mut Vec<StoredMessage>,
    ) {
        self.advance(now);
        while out.len() < max {
            let Some(id) = self.ready.pop_front() else {
                break;
            };
            let Some(entry) = self.messages.get(&id) else {
                continue; // deleted while visible (with its last receipt handle)
            };
            if !matches!(entry.status, Status::Ready) {
                continue;
            }
            if let Some(limit) = max_receive_count
                && entry.msg.receive_count >= limit
            {
                if let Some(entry) = self.messages.remove(&id) {
                    self.bytes -= message_bytes(&entry.msg.body, &entry.msg.attributes);
                    moved.push(entry.msg);
                }
                continue;
            }
            let token = self.token();
            let Some(entry) = self.messages.get_mut(&id) else {
                continue;
            };
            // The receipt is the token of the receive's timer: unique per receive.
            entry.status = Status::InFlight { token };
            entry.receipt = Some(token);
            entry.msg.receive_count = entry.msg.receive_count.saturating_add(1);
            let handle = format!("{:016x}.{:x}.{:x}", self.tag, id, token);
            out.push(ReceivedMessage::new(
                entry.msg.message_id.clone(),
                handle,
                entry.msg.body.clone(),
                entry.msg.attributes.clone(),
                entry.msg.receive_count,
                Some(entry.msg.sent_at),
            ));
            self.in_flight += 1;
            self.push_timer(now + visibility, token, id);
        }
    }

    /// Resolves a receipt handle to a message id, checking it is this queue's latest receipt.
    fn resolve(&self, handle: &str) -> Result<u64, HandleError> {
        let (tag, id, receipt) = parse_handle(handle).ok_or(HandleError::Invalid)?;
        if tag != self.tag || id >= self.next_id {
            return Err(HandleError::Invalid);
        }
        let entry = self.messages.get(&id).ok_or(HandleError::Gone)?;
        if entry.receipt != Some(receipt) {
            return Err(HandleError::Invalid);
        }
        Ok(id)
    }

    /// Deletes the message a receipt handle names. A handle of a message already gone
    /// (deleted, or moved to the dead-letter queue) succeeds, as `DeleteMessage` does in SQS.
    pub(crate) fn delete(&mut self, handle: &str) -> Result<(), HandleError> {
        let id = match self.resolve(handle) {
            Ok(id) => id,
            Err(HandleError::Gone) => return Ok(()),
            Err(e) => return Err(e),
        };
        if let Some(entry) = self.messages.remove(&id) {
            self.bytes -= message_bytes(&entry.msg.body, &entry.msg.attributes);
            match entry.status {
                Status::InFlight { .. } => self.in_flight -= 1,
                Status::Delayed { .. } => self.delayed -= 1,
                Status::Ready => {} // its id stays in `ready` and is skipped there
            }
        }
        Ok(())
    }

    /// Sets a received message's remaining invisibility to `timeout` from `now`; zero makes it
    /// visible at once.
    pub(crate) fn change_visibility(
        &mut self,
        now: Instant,
        handle: &str,
        timeout: Duration,
    ) -> Result<(), HandleError> {
        let id = self.resolve(handle)?;
        let token = self.token();
        let Some(entry) = self.messages.get_mut(&id) else {
            return Err(HandleError::Gone);
        };
        if !matches!(entry.status, Status::InFlight { .. }) {
            return Err(HandleError::NotInFlight);
        }
        if timeout.is_zero() {
            entry.status = Status::Ready;
            self.in_flight -= 1;
            self.ready.push_back(id);
        } else {
            entry.status = Status::InFlight { token };
            self.push_timer(now + timeout, token, id);
        }
        Ok(())
    }

    /// Exact counts (the "approximate" depth of SQS, without the approximation).
    pub(crate) fn depth(&self) -> QueueDepth {
        let total = self.messages.len();
        let visible = total - self.in_flight - self.delayed;
        QueueDepth::new(visible as u64, self.in_flight as u64, self.delayed as u64)
    }

    /// Messages held and what they weigh ([`message_bytes`]).
    pub(crate) fn held(&self) -> (usize, usize) {
        (self.messages.len(), self.bytes)
    }

    /// Copies of every message the queue holds, in no particular order.
    pub(crate) fn snapshot(&self) -> Vec<StoredMessage> {
        self.messages.values().map(|e| e.msg.clone()).collect()
    }

    /// Removes every message.
    pub(crate) fn purge(&mut self) {
        self.messages.clear();
        self.ready.clear();
        self.timers.clear();
        self.in_flight = 0;
        self.delayed = 0;
        self.bytes = 0;
    }
}

fn is_live(messages: &HashMap<u64, Entry>, t: &Timer) -> bool {
    match messages.get(&t.id).map(|e| &e.status) {
        Some(Status::InFlight { token } | Status::Delayed { token }) => *token == t.token,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIS: Duration = Duration::from_secs(30);

    fn recv(s: &mut State, now: Instant, max: usize, limit: Option<u32>) -> Vec<ReceivedMessage> {
        let mut out = Vec::new();
        let mut moved = Vec::new();
        s.receive(now, max, VIS, limit, &mut out, &mut moved);
        assert!(moved.is_empty());
        out
    }

    #[test]
    fn handles_parse_and_reject_garbage() {
        assert_eq!(parse_handle("00000000000000ff.1.2"), Some((255, 1, 2)));
        assert_eq!(parse_handle("ff.1"), None);
        assert_eq!(parse_handle("ff.1.2.3"), None);
        assert_eq!(parse_handle("zz.1.2"), None);
        assert_eq!(parse_handle(""), None);
    }

    #[test]
    fn stale_timers_are_compacted() {
        let now = Instant::now();
        let mut s = State::new(1);
        for round in 0..300 {
            for i in 0..10 {
                s.send(
                    now,
                    format!("{round}-{i}"),
                    Attributes::new(),
                    Duration::ZERO,
                );
            }
            let got = recv(&mut s, now, 10, None);
            for m in got {
                s.delete(&m.receipt_handle).unwrap();
            }
        }
        assert_eq!(s.depth(), QueueDepth::new(0, 0, 0));
        assert!(
            s.timers.len() <= 1024 + 1,
            "heap kept {} stale timers",
            s.timers.len()
        );
    }

    #[test]
    fn deleting_a_visible_message_with_its_last_handle_skips_it_in_ready() {
        let now = Instant::now();
        let mut s = State::new(7);
        s.send(now, "a".into(), Attributes::new(), Duration::ZERO);
        s.send(now, "b".into(), Attributes::new(), Duration::ZERO);
        let a = recv(&mut s, now, 1, None).remove(0);
        s.advance(now + VIS);
        assert_eq!(s.depth().visible, 2);
        s.delete(&a.receipt_handle).unwrap();
        let rest = recv(&mut s, now + VIS, 10, None);
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].body, "b");
        assert_eq!(s.depth(), QueueDepth::new(0, 1, 0));
    }

    #[test]
    fn handle_from_another_queue_or_unknown_id_is_invalid() {
        let now = Instant::now();
        let mut a = State::new(1);
        let mut b = State::new(2);
        a.send(now, "x".into(), Attributes::new(), Duration::ZERO);
        b.send(now, "y".into(), Attributes::new(), Duration::ZERO);
        let m = recv(&mut a, now, 1, None).remove(0);
        assert_eq!(b.delete(&m.receipt_handle), Err(HandleError::Invalid));
        assert_eq!(
            a.delete(&format!("{:016x}.{:x}.{:x}", 1, 99, 1)),
            Err(HandleError::Invalid)
        );
        a.delete(&m.receipt_handle).unwrap();
        // deleting again: the message is gone, which SQS treats as success
        assert_eq!(a.delete(&m.receipt_handle), Ok(()));
        assert_eq!(
            a.change_visibility(now, &m.receipt_handle, VIS),
            Err(HandleError::Gone)
        );
    }

    #[test]
    fn message_ids_are_unique_uuids() {
        let now = Instant::now();
        let mut s = State::new(0xabc);
        let a = s.send(now, "a".into(), Attributes::new(), Duration::ZERO);
        let b = s.send(now, "b".into(), Attributes::new(), Duration::ZERO);
        assert_ne!(a, b);
        assert!(uuid::Uuid::parse_str(&a).is_ok());
    }
}
