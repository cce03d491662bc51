//! [`MemoryQueue`] and what it needs (its documentation is on the type).

mod state;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::queue::stats::{Op, RequestCounter, RequestStats};
use crate::queue::{
    AttributeValue, BatchEntryFailure, BatchOutcome, MAX_BATCH_ENTRIES, MAX_DELAY,
    MAX_MESSAGE_ATTRIBUTES, MAX_RECEIVE_BATCH, MAX_VISIBILITY_TIMEOUT, MAX_WAIT_TIME,
    OutgoingMessage, Queue, QueueDepth, QueueError, ReceiveOptions, ReceivedMessage,
};
use state::{HandleError, State, StoredMessage};

/// The visibility timeout of a new queue unless set otherwise (as in SQS).
pub const DEFAULT_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest message SQS accepts: body plus attribute names, types and values (1 MiB).
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// Most messages a queue holds unless set otherwise: 1,000,000.
pub const DEFAULT_MAX_MESSAGES: usize = 1_000_000;
/// Most bytes a queue holds unless set otherwise: 1 GiB.
pub const DEFAULT_MAX_BYTES: usize = 1024 * 1024 * 1024;

/// An operation of [`MemoryQueue`] that can be made to fail with [`MemoryQueue::fail_next`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// `receive`.
    Receive,
    /// `send` and `send_batch`.
    Send,
    /// `delete_batch` (and `delete`).
    Delete,
    /// `change_visibility_batch` (and `change_visibility`).
    ChangeVisibility,
    /// `approximate_depth`.
    Depth,
}

impl Operation {
    const ALL: usize = 5;
    fn index(self) -> usize {
        match self {
            Operation::Receive => 0,
            Operation::Send => 1,
            Operation::Delete => 2,
            Operation::ChangeVisibility => 3,
            Operation::Depth => 4,
        }
    }
}

/// How an injected failure fails (see [`MemoryQueue::fail_next`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InjectedFailure {
    /// [`QueueError::Throttled`].
    Throttled,
    /// [`QueueError::Unavailable`].
    Unavailable,
}

#[derive(Debug)]
struct Redrive {
    dlq: MemoryQueue,
    max_receive_count: u32,
}

#[derive(Debug)]
struct Shared {
    name: String,
    visibility_timeout: Duration,
    delay: Duration,
    max_messages: usize,
    max_bytes: usize,
    redrive: Option<Redrive>,
    state: Mutex<State>,
    /// Woken whenever a message may have become visible.
    arrivals: Notify,
    stats: RequestCounter,
    faults: Mutex<[Option<(u32, InjectedFailure)>; Operation::ALL]>,
    faults_armed: std::sync::atomic::AtomicBool,
}

/// An in-process queue with SQS standard-queue semantics. Cheap to clone: clones share the
/// queue. What it models follows.
///
/// [`MemoryQueue`]: an in-process queue with the semantics of an SQS standard queue, for tests,
/// benchmarks and local runs.
///
/// What it keeps from SQS:
/// - **Visibility timeout**: a received message is invisible for the queue's timeout (default
///   30 s) or the receive's override, then visible again with a new receive count. A zero
///   [`change_visibility`](Queue::change_visibility) releases it at once.
/// - **`ApproximateReceiveCount`**: 1 on the first receive, +1 on each later one (exact here).
/// - **Receipt handles**: each receive gives a new handle; only the latest one deletes or re-times
///   the message. An older handle, a malformed one or one from another queue is refused per entry
///   (`ReceiptHandleIsInvalid`). Deleting a message that is already gone succeeds, as in SQS.
///   Changing the visibility of a message that is visible again fails with `MessageNotInflight`.
/// - **Delay** per message (or a queue default), up to 15 minutes.
/// - **Redrive policy**: with a dead-letter queue and `maxReceiveCount`, a receive that would
///   deliver a message for the `maxReceiveCount + 1`-th time moves it to the dead-letter queue
///   instead (same message id, body, attributes, sent time and receive count).
/// - **Long polling**: a receive waits up to its wait time and returns as soon as a message is
///   visible, woken by sends, releases and visibility expiry (not by polling).
/// - **Limits**: at most 10 messages a receive, 20 s wait, 12 h visibility, 15 min delay,
///   10 attributes, 1 MiB per message (body + attributes), and the XML character set SQS accepts.
///   Invalid calls fail with [`QueueError::InvalidRequest`]; invalid batch entries fail alone.
/// - **Request counting**: [`MemoryQueue::stats`] counts the requests SQS would have billed,
///   by operation (batches of more than ten count one request per chunk of ten).
///
/// What differs: counts are exact, a short poll sees every visible message (SQS samples a subset
/// of its servers), receive order is first-visible-first-out (SQS gives no order), and the
/// 12-hour cap on the total visibility of one receive is not enforced. A delete with a
/// superseded receipt handle is reported as a failed entry: SQS documents that such a
/// `DeleteMessage` "succeeds" without deleting, which hides the mistake (moto, for its part,
/// accepts any handle the message ever had and deletes it).
///
/// Time is tokio time, so tests can run under `tokio::time::pause()` and advance through
/// visibility timeouts and delays instantly.
///
/// ```
/// use std::time::Duration;
/// use sqs_dlq::queue::{MemoryQueue, OutgoingMessage, Queue, ReceiveOptions};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), sqs_dlq::queue::QueueError> {
/// let dlq = MemoryQueue::new("orders-dlq");
/// let queue = MemoryQueue::builder("orders")
///     .visibility_timeout(Duration::from_secs(30))
///     .redrive(&dlq, 3)
///     .build();
/// queue.send(OutgoingMessage::new("hello").with_attribute("kind", "greeting")).await?;
/// let got = queue.receive(&ReceiveOptions::default().wait_time(Duration::ZERO)).await?;
/// assert_eq!(got[0].receive_count, 1);
/// queue.delete(&got[0].receipt_handle).await?;
/// assert_eq!(queue.depth().total(), 0);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct MemoryQueue {
    shared: Arc<Shared>,
}

/// Builds a [`MemoryQueue`]; from [`MemoryQueue::builder`].
#[derive(Debug)]
#[must_use]
pub struct MemoryQueueBuilder {
    name: String,
    visibility_timeout: Duration,
    delay: Duration,
    max_messages: usize,
    max_bytes: usize,
    redrive: Option<Redrive>,
}

impl MemoryQueueBuilder {
    /// The queue's default visibility timeout (default 30 s; capped at 12 h).
    pub fn visibility_timeout(mut self, timeout: Duration) -> Self {
        self.visibility_timeout = timeout.min(MAX_VISIBILITY_TIMEOUT);
        self
    }

    /// The queue's default delivery delay (`DelaySeconds`; default none; capped at 15 min).
    /// A message's own delay overrides it.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay.min(MAX_DELAY);
        self
    }

    /// A redrive policy: a receive that would deliver a message more than `max_receive_count`
    /// times moves it to `dlq` instead. `max_receive_count` is clamped to 1..=1000 as in SQS.
    pub fn redrive(mut self, dlq: &MemoryQueue, max_receive_count: u32) -> Self {
        self.redrive = Some(Redrive {
            dlq: dlq.clone(),
            max_receive_count: max_receive_count.clamp(1, 1000),
        });
        self
    }

    /// Most messages the queue holds (visible, in flight and delayed; default
    /// [`DEFAULT_MAX_MESSAGES`]). A send past it fails with [`QueueError::Full`] and adds
    /// nothing; messages a redrive moves in from a source queue are always taken (they were
    /// accepted once already), so a dead-letter queue can pass its limit that way.
    pub fn max_messages(mut self, max: usize) -> Self {
        self.max_messages = max;
        self
    }

    /// Most bytes the queue holds: bodies and attributes plus 128 bytes of bookkeeping a
    /// message (default [`DEFAULT_MAX_BYTES`]). A send past it fails with [`QueueError::Full`]
    /// and adds nothing (redriven messages are always taken, as for
    /// [`max_messages`](Self::max_messages)).
    pub fn max_bytes(mut self, max: usize) -> Self {
        self.max_bytes = max;
        self
    }

    /// Builds the queue.
    pub fn build(self) -> MemoryQueue {
        let tag: u64 = rand::random();
        MemoryQueue {
            shared: Arc::new(Shared {
                name: self.name,
                visibility_timeout: self.visibility_timeout,
                delay: self.delay,
                max_messages: self.max_messages,
                max_bytes: self.max_bytes,
                redrive: self.redrive,
                state: Mutex::new(State::new(tag)),
                arrivals: Notify::new(),
                stats: RequestCounter::default(),
                faults: Mutex::new([None; Operation::ALL]),
                faults_armed: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // No code path panics while holding the lock; if one ever did, the state is still
    // consistent between operations, so carry on rather than poison every later call.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn failure(index: usize, code: &str, message: impl Into<String>) -> BatchEntryFailure {
    BatchEntryFailure {
        index,
        code: code.to_owned(),
        message: message.into(),
        sender_fault: true,
    }
}

fn handle_failure(index: usize, err: HandleError) -> BatchEntryFailure {
    match err {
        HandleError::Invalid => failure(
            index,
            "ReceiptHandleIsInvalid",
            "the receipt handle is not valid for this queue (malformed, or superseded by a later receive)",
        ),
        HandleError::NotInFlight => failure(
            index,
            "MessageNotInflight",
            "the message is not in flight (its visibility timeout has run out)",
        ),
        HandleError::Gone => failure(
            index,
            "ReceiptHandleIsInvalid",
            "the message is no longer in the queue",
        ),
    }
}

/// Whether SQS accepts this character in a body or attribute (the XML 1.0 character set).
fn sqs_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Checks one outgoing message against the limits SQS enforces; the error text says which.
pub(crate) fn validate_outgoing(message: &OutgoingMessage) -> Result<(), String> {
    if message.body.is_empty() {
        return Err("the message body must not be empty".into());
    }
    if !message.body.chars().all(sqs_char) {
        return Err("the message body contains characters SQS does not accept".into());
    }
    if message.attributes.len() > MAX_MESSAGE_ATTRIBUTES {
        return Err(format!(
            "{} message attributes; SQS accepts at most {MAX_MESSAGE_ATTRIBUTES}",
            message.attributes.len()
        ));
    }
    if let Some(delay) = message.delay
        && delay > MAX_DELAY
    {
        return Err(format!(
            "delay of {} s; SQS accepts at most {} s",
            delay.as_secs(),
            MAX_DELAY.as_secs()
        ));
    }
    let mut size = message.body.len();
    for (name, value) in &message.attributes {
        if name.is_empty() || name.len() > 256 {
            return Err(format!(
                "attribute name {name:?} must be 1 to 256 characters"
            ));
        }
        let (kind, len) = match value {
            AttributeValue::String(s) => {
                if s.is_empty() || !s.chars().all(sqs_char) {
                    return Err(format!(
                        "attribute {name:?}: String values must be non-empty SQS characters"
                    ));
                }
                ("String", s.len())
            }
            AttributeValue::Number(s) => {
                if s.parse::<f64>().is_err() {
                    return Err(format!("attribute {name:?}: {s:?} is not a number"));
                }
                ("Number", s.len())
            }
            AttributeValue::Binary(b) => {
                if b.is_empty() {
                    return Err(format!(
                        "attribute {name:?}: Binary values must not be empty"
                    ));
                }
                ("Binary", b.len())
            }
        };
        size += name.len() + kind.len() + len;
    }
    if size > MAX_MESSAGE_BYTES {
        return Err(format!(
            "message of {size} bytes; SQS accepts at most {MAX_MESSAGE_BYTES}"
        ));
    }
    Ok(())
}

/// Checks receive options against SQS limits; returns (max messages clamped to 1..=10,
/// visibility override).
pub(crate) fn validate_receive(opts: &ReceiveOptions) -> Result<usize, QueueError> {
    if opts.wait_time > MAX_WAIT_TIME {
        return Err(QueueError::InvalidRequest(format!(
            "wait time of {} s; SQS allows at most {} s",
            opts.wait_time.as_secs_f64(),
            MAX_WAIT_TIME.as_secs()
        )));
    }
    if let Some(v) = opts.visibility_timeout
        && v > MAX_VISIBILITY_TIMEOUT
    {
        return Err(QueueError::InvalidRequest(format!(
            "visibility timeout of {} s; SQS allows at most {} s",
            v.as_secs(),
            MAX_VISIBILITY_TIMEOUT.as_secs()
        )));
    }
    Ok(opts.max_messages.clamp(1, MAX_RECEIVE_BATCH))
}

/// Number of SQS batch requests needed for `n` entries.
pub(crate) fn chunks(n: usize) -> u64 {
    n.div_ceil(MAX_BATCH_ENTRIES) as u64
}

impl MemoryQueue {
    /// A queue with default settings (visibility 30 s, no delay, no redrive).
    pub fn new(name: impl Into<String>) -> Self {
        Self::builder(name).build()
    }

    /// A builder for a queue with settings.
    pub fn builder(name: impl Into<String>) -> MemoryQueueBuilder {
        MemoryQueueBuilder {
            name: name.into(),
            visibility_timeout: DEFAULT_VISIBILITY_TIMEOUT,
            delay: Duration::ZERO,
            max_messages: DEFAULT_MAX_MESSAGES,
            max_bytes: DEFAULT_MAX_BYTES,
            redrive: None,
        }
    }

    /// A source queue named `name` and its dead-letter queue `<name>-dlq`, redriving after
    /// `max_receive_count` receives. Returns `(source, dlq)`.
    pub fn with_dlq(name: impl Into<String>, max_receive_count: u32) -> (Self, Self) {
        let name = name.into();
        let dlq = Self::new(format!("{name}-dlq"));
        let source = Self::builder(name).redrive(&dlq, max_receive_count).build();
        (source, dlq)
    }

    /// The dead-letter queue of the redrive policy, if any.
    pub fn dead_letter_queue(&self) -> Option<&MemoryQueue> {
        self.shared.redrive.as_ref().map(|r| &r.dlq)
    }

    /// The redrive policy's `maxReceiveCount`, if any.
    pub fn max_receive_count(&self) -> Option<u32> {
        self.shared.redrive.as_ref().map(|r| r.max_receive_count)
    }

    /// The queue's default visibility timeout.
    pub fn visibility_timeout(&self) -> Duration {
        self.shared.visibility_timeout
    }

    /// Exact message counts right now (what `approximate_depth` returns, without counting a
    /// request). Applies visibility expiries and delays that are due.
    pub fn depth(&self) -> QueueDepth {
        let mut st = lock(&self.shared.state);
        if st.advance(Instant::now()) {
            self.shared.arrivals.notify_waiters();
        }
        st.depth()
    }

    /// Bodies of every message the queue holds (visible, in flight or delayed), in no
    /// particular order, without receiving them. For tests that check nothing was lost.
    pub fn bodies(&self) -> Vec<String> {
        lock(&self.shared.state)
            .snapshot()
            .into_iter()
            .map(|m| m.body)
            .collect()
    }

    /// Copies of every message the queue holds, as [`ReceivedMessage`]s with an empty receipt
    /// handle (they cannot be deleted through it), without receiving them.
    pub fn peek_all(&self) -> Vec<ReceivedMessage> {
        lock(&self.shared.state)
            .snapshot()
            .into_iter()
            .map(|m| {
                ReceivedMessage::new(
                    m.message_id,
                    "",
                    m.body,
                    m.attributes,
                    m.receive_count,
                    Some(m.sent_at),
                )
            })
            .collect()
    }

    /// Removes every message (`PurgeQueue`).
    pub fn purge(&self) {
        lock(&self.shared.state).purge();
    }

    /// Requests made so far, by operation.
    pub fn stats(&self) -> RequestStats {
        self.shared.stats.snapshot()
    }

    /// Sets every request counter back to zero.
    pub fn reset_stats(&self) {
        self.shared.stats.reset();
    }

    /// Makes the next `times` calls of `operation` fail as a whole with `failure` (without
    /// touching the queue), to test how callers handle throttling and outages. Replaces any
    /// earlier injection for that operation; `times = 0` clears it.
    pub fn fail_next(&self, operation: Operation, times: u32, failure: InjectedFailure) {
        let mut faults = lock(&self.shared.faults);
        faults[operation.index()] = (times > 0).then_some((times, failure));
        let armed = faults.iter().any(Option::is_some);
        self.shared
            .faults_armed
            .store(armed, std::sync::atomic::Ordering::Relaxed);
    }

    fn injected(&self, operation: Operation) -> Result<(), QueueError> {
        if !self
            .shared
            .faults_armed
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return Ok(());
        }
        let mut faults = lock(&self.shared.faults);
        let slot = &mut faults[operation.index()];
        let Some((left, kind)) = *slot else {
            return Ok(());
        };
        *slot = (left > 1).then_some((left - 1, kind));
        let queue = self.shared.name.clone();
        Err(match kind {
            InjectedFailure::Throttled => QueueError::Throttled { queue },
            InjectedFailure::Unavailable => QueueError::Unavailable {
                queue,
                message: "injected failure".into(),
                source: None,
            },
        })
    }

    /// Takes in messages redriven from a source queue.
    fn accept_moved(&self, moved: Vec<StoredMessage>) {
        if moved.is_empty() {
            return;
        }
        let now = Instant::now();
        {
            let mut st = lock(&self.shared.state);
            for msg in moved {
                tracing::debug!(
                    queue = %self.shared.name,
                    message_id = %msg.message_id,
                    receive_count = msg.receive_count,
                    "message moved to the dead-letter queue by the redrive policy"
                );
                st.accept_moved(now, msg);
            }
        }
        self.shared.arrivals.notify_waiters();
    }

    fn send_one(
        &self,
        st: &mut State,
        now: Instant,
        message: OutgoingMessage,
    ) -> Result<String, QueueError> {
        let (count, bytes) = st.held();
        let weight = state::message_bytes(&message.body, &message.attributes);
        let limit = if count >= self.shared.max_messages {
            Some(format!("{} messages", self.shared.max_messages))
        } else if bytes.saturating_add(weight) > self.shared.max_bytes {
            Some(format!("{} bytes", self.shared.max_bytes))
        } else {
            None
        };
        if let Some(limit) = limit {
            tracing::warn!(queue = %self.shared.name, %limit, messages = count, bytes, "queue full: send refused");
            return Err(QueueError::Full {
                queue: self.shared.name.clone(),
                limit,
            });
        }
        let delay = message.delay.unwrap_or(self.shared.delay);
        Ok(st.send(now, message.body, message.attributes, delay))
    }

    /// Messages held and their weight against [`MemoryQueueBuilder::max_bytes`].
    pub fn held(&self) -> (usize, usize) {
        lock(&self.shared.state).held()
    }
}

#[async_trait]
impl Queue for MemoryQueue {
    fn name(&self) -> &str {
        &self.shared.name
    }

    async fn receive(&self, opts: &ReceiveOptions) -> Result<Vec<ReceivedMessage>, QueueError> {
        self.shared.stats.add(Op::Receive, 1);
        self.injected(Operation::Receive)?;
        let max = validate_receive(opts)?;
        let visibility = opts
            .visibility_timeout
            .unwrap_or(self.shared.visibility_timeout);
        let limit = self.max_receive_count();
        let deadline = Instant::now() + opts.wait_time;
        let mut out = Vec::with_capacity(max);
        let mut moved = Vec::new();
        loop {
            // Register for wake-ups before looking, so an arrival between the look and the
            // wait is not missed.
            let arrival = self.shared.arrivals.notified();
            tokio::pin!(arrival);
            arrival.as_mut().enable();
            let now = Instant::now();
            let next_timer = {
                let mut st = lock(&self.shared.state);
                st.receive(now, max, visibility, limit, &mut out, &mut moved);
                st.next_deadline()
            };
            if let Some(r) = &self.shared.redrive {
                r.dlq.accept_moved(std::mem::take(&mut moved));
            }
            if !out.is_empty() || now >= deadline {
                self.shared.stats.received(out.len());
                return Ok(out);
            }
            let wake = next_timer.map_or(deadline, |t| t.min(deadline));
            tokio::select! {
                () = &mut arrival => {}
                () = tokio::time::sleep_until(wake) => {}
            }
        }
    }

    async fn send(&self, message: OutgoingMessage) -> Result<String, QueueError> {
        self.shared.stats.add(Op::Send, 1);
        self.injected(Operation::Send)?;
        validate_outgoing(&message).map_err(QueueError::InvalidRequest)?;
        let id = {
            let mut st = lock(&self.shared.state);
            self.send_one(&mut st, Instant::now(), message)?
        };
        self.shared.arrivals.notify_waiters();
        Ok(id)
    }

    async fn send_batch(
        &self,
        messages: Vec<OutgoingMessage>,
    ) -> Result<BatchOutcome<String>, QueueError> {
        if messages.is_empty() {
            return Ok(BatchOutcome::empty());
        }
        self.shared.stats.add(Op::SendBatch, chunks(messages.len()));
        self.injected(Operation::Send)?;
        let mut outcome = BatchOutcome::empty();
        {
            let now = Instant::now();
            let mut st = lock(&self.shared.state);
            for (index, message) in messages.into_iter().enumerate() {
                match validate_outgoing(&message) {
                    Ok(()) => match self.send_one(&mut st, now, message) {
                        Ok(id) => outcome.ok.push((index, id)),
                        Err(full) => {
                            outcome
                                .failed
                                .push(failure(index, "QueueFull", full.to_string()))
                        }
                    },
                    Err(why) => outcome
                        .failed
                        .push(failure(index, "InvalidParameterValue", why)),
                }
            }
        }
        if !outcome.ok.is_empty() {
            self.shared.arrivals.notify_waiters();
        }
        Ok(outcome)
    }

    async fn delete_batch(
        &self,
        receipt_handles: Vec<String>,
    ) -> Result<BatchOutcome<()>, QueueError> {
        if receipt_handles.is_empty() {
            return Ok(BatchOutcome::empty());
        }
        self.shared
            .stats
            .add(Op::DeleteBatch, chunks(receipt_handles.len()));
        self.injected(Operation::Delete)?;
        let mut outcome = BatchOutcome::empty();
        outcome.ok.reserve(receipt_handles.len());
        let mut st = lock(&self.shared.state);
        for (index, handle) in receipt_handles.iter().enumerate() {
            match st.delete(handle) {
                Ok(()) => outcome.ok.push((index, ())),
                Err(e) => outcome.failed.push(handle_failure(index, e)),
            }
        }
        Ok(outcome)
    }

    async fn change_visibility_batch(
        &self,
        entries: Vec<(String, Duration)>,
    ) -> Result<BatchOutcome<()>, QueueError> {
        if entries.is_empty() {
            return Ok(BatchOutcome::empty());
        }
        self.shared
            .stats
            .add(Op::ChangeVisibilityBatch, chunks(entries.len()));
        self.injected(Operation::ChangeVisibility)?;
        let mut outcome = BatchOutcome::empty();
        {
            let now = Instant::now();
            let mut st = lock(&self.shared.state);
            st.advance(now);
            for (index, (handle, timeout)) in entries.iter().enumerate() {
                if *timeout > MAX_VISIBILITY_TIMEOUT {
                    outcome.failed.push(failure(
                        index,
                        "InvalidParameterValue",
                        format!(
                            "visibility timeout of {} s; SQS allows at most {} s",
                            timeout.as_secs(),
                            MAX_VISIBILITY_TIMEOUT.as_secs()
                        ),
                    ));
                    continue;
                }
                match st.change_visibility(now, handle, *timeout) {
                    Ok(()) => outcome.ok.push((index, ())),
                    Err(e) => outcome.failed.push(handle_failure(index, e)),
                }
            }
        }
        // A zero timeout released messages, and a shorter one may now be the earliest
        // deadline: wake waiters so they look again and re-arm their timers.
        self.shared.arrivals.notify_waiters();
        Ok(outcome)
    }

    async fn approximate_depth(&self) -> Result<QueueDepth, QueueError> {
        self.shared.stats.add(Op::GetAttributes, 1);
        self.injected(Operation::Depth)?;
        let depth = self.depth();
        crate::queue::record_depth(self.name(), &depth);
        Ok(depth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sends_past_the_caps_fail_whole_and_room_comes_back() {
        let dlq = MemoryQueue::builder("caps-dlq").max_messages(1).build();
        let queue = MemoryQueue::builder("caps")
            .max_messages(2)
            .max_bytes(2 * (128 + 10))
            .redrive(&dlq, 1)
            .build();
        queue
            .send(OutgoingMessage::new("0123456789"))
            .await
            .unwrap();
        // by bytes: an 11-byte body would pass the byte cap
        assert!(matches!(
            queue.send(OutgoingMessage::new("0123456789+")).await,
            Err(QueueError::Full { .. })
        ));
        queue
            .send(OutgoingMessage::new("abcdefghij"))
            .await
            .unwrap();
        // by count
        let full = queue.send(OutgoingMessage::new("x")).await.unwrap_err();
        assert!(matches!(&full, QueueError::Full { limit, .. } if limit == "2 messages"));
        assert!(full.is_transient());
        assert_eq!(queue.held(), (2, 2 * (128 + 10)));
        // a batch: each entry that does not fit fails alone
        let outcome = queue
            .send_batch(vec![OutgoingMessage::new("y")])
            .await
            .unwrap();
        assert_eq!(outcome.failed.len(), 1);
        assert_eq!(outcome.failed[0].code, "QueueFull");
        // deleting makes room
        let got = queue
            .receive(&ReceiveOptions::default().wait_time(Duration::ZERO))
            .await
            .unwrap();
        queue.delete(&got[0].receipt_handle).await.unwrap();
        queue.send(OutgoingMessage::new("z")).await.unwrap();
        // a redrive into a full dead-letter queue is never refused
        dlq.send(OutgoingMessage::new("already there"))
            .await
            .unwrap();
        queue
            .change_visibility(&got[1].receipt_handle, Duration::ZERO)
            .await
            .unwrap();
        let _ = queue
            .receive(&ReceiveOptions::default().wait_time(Duration::ZERO))
            .await
            .unwrap();
        assert_eq!(
            dlq.depth().total(),
            2,
            "redriven past its cap: kept, not dropped"
        );
    }
}
