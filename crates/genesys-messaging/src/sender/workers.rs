//! [`MessageSender`]: many producers, one bounded queue per org, paced workers, per-conversation order.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::fmt;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use genesys_auth::{GenesysClient, GenesysError};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::message::OutboundMessage;
use crate::error::MessagingError;

/// A message the platform accepted.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SentMessage {
    /// The id the platform gave the message.
    pub id: String,
    /// The order key (conversation, or integration/user) it was sent under.
    pub order_key: String,
    /// The conversation it landed in, when the answer says (agent and agentless sends; open
    /// messaging only with [`OutboundMessage::prefetch_conversation_id`]).
    pub conversation_id: Option<String>,
    /// The platform's answer (`MessageData` for agent sends, the normalized message for open
    /// messaging).
    pub answer: Value,
}

/// The outcome of one submitted message; await it.
#[derive(Debug)]
pub struct PendingSend {
    rx: oneshot::Receiver<Result<SentMessage, MessagingError>>,
}

impl Future for PendingSend {
    type Output = Result<SentMessage, MessagingError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(MessagingError::SenderClosed)))
    }
}

/// Counters of a sender.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SenderStats {
    /// Messages accepted into the queue.
    pub submitted: u64,
    /// Messages the platform accepted.
    pub sent: u64,
    /// Messages that finally failed.
    pub failed: u64,
    /// Messages not sent because an earlier message of their conversation failed (only with
    /// [`OnFailure::HoldConversation`]).
    pub held_back: u64,
}

/// What happens to the later messages of a conversation once one of its messages finally fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnFailure {
    /// Keep sending them (the default). The conversation then has a gap: the failed message,
    /// resubmitted, would arrive after them.
    #[default]
    Continue,
    /// Send nothing more of that conversation: each later message fails at once with
    /// [`MessagingError::HeldBack`] until [`MessageSender::resume`] is called for its order key.
    /// Resubmit the failed message and the held-back ones in their order after resuming, and the
    /// conversation reads as written.
    HoldConversation,
}

#[derive(Debug, Default)]
struct Counters {
    submitted: AtomicU64,
    sent: AtomicU64,
    failed: AtomicU64,
    held_back: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> SenderStats {
        SenderStats {
            submitted: self.submitted.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            held_back: self.held_back.load(Ordering::Relaxed),
        }
    }
}

/// Order keys on hold after a failure ([`OnFailure::HoldConversation`]): `None` while held,
/// `Some(seq)` once resumed, where messages submitted before `seq` are still held back (they
/// were meant to follow the failed one) and the first one from `seq` on lifts the hold.
#[derive(Debug, Default)]
struct Held(Mutex<HashMap<String, Option<u64>>>);

impl Held {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<u64>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the message of `key` submitted as `seq` must be held back; lifts a resumed hold
    /// at the first message submitted after the resume.
    fn holds(&self, key: &str, seq: u64) -> bool {
        let mut held = self.lock();
        match held.get(key) {
            None => false,
            Some(None) => true,
            Some(Some(resumed_at)) if seq < *resumed_at => true,
            Some(Some(_)) => {
                held.remove(key);
                false
            }
        }
    }
}

struct Job {
    /// Submission number, for holds (see [`Held`]).
    seq: u64,
    message: OutboundMessage,
    reply: oneshot::Sender<Result<SentMessage, MessagingError>>,
}

/// Builder for [`MessageSender`].
#[derive(Debug)]
pub struct MessageSenderBuilder {
    client: GenesysClient,
    workers: usize,
    queue_capacity: usize,
    on_failure: OnFailure,
    retry_uncertain: bool,
}

impl MessageSenderBuilder {
    /// Whether a send whose outcome is unknown (it timed out, lost its connection after the
    /// request went out, or got a 5xx) is retried like any other call (default `false`).
    ///
    /// The platform has no idempotency key for sends, so such a retry can deliver a message
    /// twice. By default a send is retried only when it provably did not happen (a 429, or a
    /// connection that could not be opened), and an uncertain one ends with
    /// [`MessagingError::OutcomeUnknown`]. Turn this on when a duplicate is better than a gap.
    pub fn retry_uncertain_sends(mut self, on: bool) -> Self {
        self.retry_uncertain = on;
        self
    }

    /// What a final failure does to the later messages of its conversation (default
    /// [`OnFailure::Continue`]).
    pub fn on_failure(mut self, policy: OnFailure) -> Self {
        self.on_failure = policy;
        self
    }

    /// Number of workers (lanes), default 8. Each conversation is served by one of them.
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }

    /// Messages waiting in all lanes together before `submit` waits (default 1,024).
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.queue_capacity = n;
        self
    }

    /// Starts the workers (needs a tokio runtime).
    pub fn build(self) -> Result<MessageSender, MessagingError> {
        if self.workers == 0 {
            return Err(MessagingError::InvalidConfig {
                setting: "workers",
                reason: "must be at least 1".into(),
            });
        }
        if self.queue_capacity < self.workers {
            return Err(MessagingError::InvalidConfig {
                setting: "queue_capacity",
                reason: format!(
                    "{} is less than one slot per worker ({})",
                    self.queue_capacity, self.workers
                ),
            });
        }
        let per_lane = self.queue_capacity / self.workers;
        let counters = Arc::new(Counters::default());
        let held = Arc::new(Held::default());
        let mut lanes = Vec::with_capacity(self.workers);
        let mut handles = Vec::with_capacity(self.workers);
        for lane in 0..self.workers {
            let (tx, rx) = mpsc::channel::<Job>(per_lane);
            lanes.push(tx);
            handles.push(tokio::spawn(worker(
                Lane {
                    lane,
                    client: self.client.clone(),
                    counters: Arc::clone(&counters),
                    held: Arc::clone(&held),
                    on_failure: self.on_failure,
                    retry_uncertain: self.retry_uncertain,
                },
                rx,
            )));
        }
        Ok(MessageSender {
            lanes,
            handles,
            counters,
            held,
            next_seq: AtomicU64::new(0),
        })
    }
}

/// Sends messages one per request (the API has no batch send) under the client's org pacer.
///
/// - `submit` waits while the queue is full (back-pressure, bounded memory).
/// - Each order key (conversation, or open-messaging integration + user) always goes to the
///   same worker, which sends its messages one after another: a retried send (the client's
///   pipeline retries 429s, honouring and flooring Retry-After) holds back the later
///   messages of its conversation, so the platform receives them in submission order.
/// - A send is retried only when it provably did not happen (a 429, a connection that could
///   not be opened): a send that timed out or got a 5xx may have been delivered, and the
///   platform has no idempotency key, so it ends with [`MessagingError::OutcomeUnknown`]
///   unless [`MessageSenderBuilder::retry_uncertain_sends`] is on.
/// - All workers share the client's [`Pacer`](retry_policy::Pacer): together they never exceed
///   the org pace, which the pipeline adapts from `inin-ratelimit-*` headers.
/// - Every message's outcome reaches its [`PendingSend`].
///
/// A message that finally fails is reported to its caller. By default the later messages of
/// its conversation are still sent (resubmitting the failed one would put it after them); with
/// [`OnFailure::HoldConversation`] they are held back until [`resume`](Self::resume).
pub struct MessageSender {
    lanes: Vec<mpsc::Sender<Job>>,
    handles: Vec<JoinHandle<()>>,
    counters: Arc<Counters>,
    held: Arc<Held>,
    next_seq: AtomicU64,
}

impl fmt::Debug for MessageSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageSender")
            .field("workers", &self.lanes.len())
            .field("stats", &self.stats())
            .finish()
    }
}

impl MessageSender {
    /// A builder over `client` (its pacer, retry policy and identity are used for every send).
    pub fn builder(client: &GenesysClient) -> MessageSenderBuilder {
        MessageSenderBuilder {
            client: client.clone(),
            workers: 8,
            queue_capacity: 1024,
            on_failure: OnFailure::Continue,
            retry_uncertain: false,
        }
    }

    /// Validates the message (text limit), then queues it, waiting while its lane is full.
    pub async fn submit(&self, message: OutboundMessage) -> Result<PendingSend, MessagingError> {
        let (lane, job, pending) = self.prepare(message)?;
        self.lanes[lane]
            .send(job)
            .await
            .map_err(|_| MessagingError::SenderClosed)?;
        self.counters.submitted.fetch_add(1, Ordering::Relaxed);
        Ok(pending)
    }

    /// Like [`submit`](Self::submit) but never waits: `Ok(Err(message))` hands the message back
    /// when its lane is full.
    pub fn try_submit(
        &self,
        message: OutboundMessage,
    ) -> Result<Result<PendingSend, OutboundMessage>, MessagingError> {
        let (lane, job, pending) = self.prepare(message)?;
        match self.lanes[lane].try_send(job) {
            Ok(()) => {
                self.counters.submitted.fetch_add(1, Ordering::Relaxed);
                Ok(Ok(pending))
            }
            Err(mpsc::error::TrySendError::Full(job)) => Ok(Err(job.message)),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(MessagingError::SenderClosed),
        }
    }

    /// Validates `message` and makes its job: the lane of its order key, the next submission
    /// number, and the reply channel.
    fn prepare(
        &self,
        message: OutboundMessage,
    ) -> Result<(usize, Job, PendingSend), MessagingError> {
        message.validate()?;
        let lane = self.lane_for(&message.order_key());
        let (reply, rx) = oneshot::channel();
        let job = Job {
            seq: self.next_seq.fetch_add(1, Ordering::Relaxed),
            message,
            reply,
        };
        Ok((lane, job, PendingSend { rx }))
    }

    /// Counters so far.
    pub fn stats(&self) -> SenderStats {
        self.counters.snapshot()
    }

    /// The order keys on hold after a failure ([`OnFailure::HoldConversation`]) and not yet
    /// resumed, sorted.
    pub fn held_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .held
            .lock()
            .iter()
            .filter(|(_, resumed)| resumed.is_none())
            .map(|(key, _)| key.clone())
            .collect();
        keys.sort();
        keys
    }

    /// Lets `order_key` (a conversation id, or `integration/user` for open messaging; see
    /// [`OutboundMessage::order_key`]) send again after a hold: messages submitted from now on
    /// are sent. Messages submitted before this call and still queued are held back too, since
    /// they were meant to follow the failed one; resubmit the failed message and those in their
    /// order. Returns whether the key was on hold.
    pub fn resume(&self, order_key: &str) -> bool {
        let resumed_at = self.next_seq.load(Ordering::Relaxed);
        let mut held = self.held.lock();
        match held.get_mut(order_key) {
            Some(state @ None) => {
                *state = Some(resumed_at);
                tracing::info!(order_key, "conversation resumed after a hold");
                true
            }
            _ => false,
        }
    }

    /// Stops taking messages, sends everything queued, and waits for the workers.
    pub async fn shutdown(self) -> SenderStats {
        let counters = Arc::clone(&self.counters);
        drop(self.lanes);
        for handle in self.handles {
            if let Err(e) = handle.await {
                tracing::error!(error = %e, "sender worker ended abnormally");
            }
        }
        counters.snapshot()
    }

    fn lane_for(&self, key: &str) -> usize {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        (h.finish() % self.lanes.len() as u64) as usize
    }
}

/// One worker's share of the sender.
struct Lane {
    lane: usize,
    client: GenesysClient,
    counters: Arc<Counters>,
    held: Arc<Held>,
    on_failure: OnFailure,
    retry_uncertain: bool,
}

async fn worker(me: Lane, mut rx: mpsc::Receiver<Job>) {
    let lane = me.lane;
    while let Some(job) = rx.recv().await {
        let order_key = job.message.order_key();
        // A key goes on hold only in this lane's own loop (every message of a key is served by
        // one lane), so a check here cannot race with a failure of the same conversation.
        if me.on_failure == OnFailure::HoldConversation && me.held.holds(&order_key, job.seq) {
            me.counters.held_back.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(lane, order_key = %order_key, "message held back after an earlier failure");
            let _ = job.reply.send(Err(MessagingError::HeldBack { order_key }));
            continue;
        }
        let result = send_one(
            &me.client,
            &job.message,
            order_key.clone(),
            me.retry_uncertain,
        )
        .await;
        match &result {
            Ok(sent) => {
                me.counters.sent.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(lane, order_key = %order_key, id = %sent.id, "message sent");
            }
            Err(e) => {
                me.counters.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(lane, order_key = %order_key, status = e.status(), error = %e, "message send failed");
                if me.on_failure == OnFailure::HoldConversation {
                    me.held.lock().insert(order_key.clone(), None);
                    tracing::warn!(lane, order_key = %order_key, "conversation on hold: later messages are held back until resumed");
                }
            }
        }
        // The caller may have stopped waiting; the outcome is then only in the counters and log.
        let _ = job.reply.send(result);
    }
}

async fn send_one(
    client: &GenesysClient,
    message: &OutboundMessage,
    order_key: String,
    retry_uncertain: bool,
) -> Result<SentMessage, MessagingError> {
    let mut request = message.request()?;
    if !retry_uncertain {
        request = request.at_most_once();
    }
    let answer: Value = match request.send(client).await {
        Ok(answer) => answer,
        // A 2xx whose body cannot be read was still delivered: report the answer as unexpected.
        // (Sends never ask the pipeline to re-fetch, so a `Decode` here is the answer's own.)
        Err(e @ GenesysError::Decode { .. }) => {
            return Err(MessagingError::UnexpectedAnswer {
                detail: format!("the message was accepted but the answer is unreadable: {e}"),
            });
        }
        Err(e) => return Err(send_error(e, retry_uncertain)),
    };
    let id = answer
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| MessagingError::UnexpectedAnswer {
            detail: "the send answer has no string `id`".into(),
        })?;
    let conversation_id = answer
        .get("conversationId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(SentMessage {
        id,
        order_key,
        conversation_id,
        answer,
    })
}

/// Whether a failed send may still have been delivered: the request went out and no answer
/// said it was refused (5xx, a timeout, a connection lost after connecting).
pub(crate) fn outcome_unknown(error: &GenesysError) -> bool {
    match error {
        GenesysError::RetriesExhausted { last, .. }
        | GenesysError::RetryBudgetExhausted { last, .. } => outcome_unknown(last),
        GenesysError::Timeout { .. } => true,
        GenesysError::Transport { source } => !source.is_connect(),
        GenesysError::Api(api) => api.status >= 500,
        _ => false,
    }
}

fn send_error(error: GenesysError, retried_uncertain: bool) -> MessagingError {
    if !retried_uncertain && outcome_unknown(&error) {
        MessagingError::OutcomeUnknown(Box::new(error))
    } else {
        MessagingError::Send(Box::new(error))
    }
}

#[cfg(test)]
mod tests {
    use super::Held;

    #[test]
    fn a_resumed_hold_still_holds_what_was_submitted_before_the_resume() {
        let held = Held::default();
        assert!(!held.holds("c", 0), "no hold");
        held.lock().insert("c".into(), None);
        assert!(held.holds("c", 1));
        assert!(!held.holds("other", 1), "holds are per key");
        // Resumed when the next submission number was 5.
        held.lock().insert("c".into(), Some(5));
        assert!(held.holds("c", 3), "submitted before the resume");
        assert!(!held.holds("c", 5), "the first one after it lifts the hold");
        assert!(held.lock().is_empty());
        assert!(!held.holds("c", 4), "lifted for good");
    }
}
