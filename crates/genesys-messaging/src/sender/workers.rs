//! [`MessageSender`]: many producers, one bounded queue per org, paced workers, per-conversation order.

use std::collections::hash_map::DefaultHasher;
use std::fmt;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use genesys_auth::{ApiRequest, GenesysClient};
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
}

#[derive(Debug, Default)]
struct Counters {
    submitted: AtomicU64,
    sent: AtomicU64,
    failed: AtomicU64,
}

struct Job {
    message: OutboundMessage,
    reply: oneshot::Sender<Result<SentMessage, MessagingError>>,
}

/// Builder for [`MessageSender`].
#[derive(Debug)]
pub struct MessageSenderBuilder {
    client: GenesysClient,
    workers: usize,
    queue_capacity: usize,
}

impl MessageSenderBuilder {
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
        let mut lanes = Vec::with_capacity(self.workers);
        let mut handles = Vec::with_capacity(self.workers);
        for lane in 0..self.workers {
            let (tx, rx) = mpsc::channel::<Job>(per_lane);
            lanes.push(tx);
            handles.push(tokio::spawn(worker(
                lane,
                self.client.clone(),
                rx,
                Arc::clone(&counters),
            )));
        }
        Ok(MessageSender {
            lanes,
            handles,
            counters,
        })
    }
}

/// Sends messages one per request (the API has no batch send) under the client's org pacer.
///
/// - `submit` waits while the queue is full (back-pressure, bounded memory).
/// - Each order key (conversation, or open-messaging integration + user) always goes to the
///   same worker, which sends its messages one after another: a retried send (the client's
///   pipeline retries 429s and 5xx, honouring and flooring Retry-After) holds back the later
///   messages of its conversation, so the platform receives them in submission order.
/// - All workers share the client's [`Pacer`](retry_policy::Pacer): together they never exceed
///   the org pace, which the pipeline adapts from `inin-ratelimit-*` headers.
/// - Every message's outcome reaches its [`PendingSend`].
///
/// A message that finally fails is reported to its caller; later messages of the same
/// conversation are still sent (resubmitting the failed one would put it after them).
pub struct MessageSender {
    lanes: Vec<mpsc::Sender<Job>>,
    handles: Vec<JoinHandle<()>>,
    counters: Arc<Counters>,
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
        }
    }

    /// Validates the message (text limit), then queues it, waiting while its lane is full.
    pub async fn submit(&self, message: OutboundMessage) -> Result<PendingSend, MessagingError> {
        message.validate()?;
        let lane = self.lane_for(&message.order_key());
        let (reply, rx) = oneshot::channel();
        self.lanes[lane]
            .send(Job { message, reply })
            .await
            .map_err(|_| MessagingError::SenderClosed)?;
        self.counters.submitted.fetch_add(1, Ordering::Relaxed);
        Ok(PendingSend { rx })
    }

    /// Like [`submit`](Self::submit) but never waits: `Ok(Err(message))` hands the message back
    /// when its lane is full.
    pub fn try_submit(
        &self,
        message: OutboundMessage,
    ) -> Result<Result<PendingSend, OutboundMessage>, MessagingError> {
        message.validate()?;
        let lane = self.lane_for(&message.order_key());
        let (reply, rx) = oneshot::channel();
        match self.lanes[lane].try_send(Job { message, reply }) {
            Ok(()) => {
                self.counters.submitted.fetch_add(1, Ordering::Relaxed);
                Ok(Ok(PendingSend { rx }))
            }
            Err(mpsc::error::TrySendError::Full(job)) => Ok(Err(job.message)),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(MessagingError::SenderClosed),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> SenderStats {
        SenderStats {
            submitted: self.counters.submitted.load(Ordering::Relaxed),
            sent: self.counters.sent.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
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
        SenderStats {
            submitted: counters.submitted.load(Ordering::Relaxed),
            sent: counters.sent.load(Ordering::Relaxed),
            failed: counters.failed.load(Ordering::Relaxed),
        }
    }

    fn lane_for(&self, key: &str) -> usize {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        (h.finish() % self.lanes.len() as u64) as usize
    }
}

async fn worker(
    lane: usize,
    client: GenesysClient,
    mut rx: mpsc::Receiver<Job>,
    counters: Arc<Counters>,
) {
    while let Some(job) = rx.recv().await {
        let order_key = job.message.order_key();
        let result = send_one(&client, &job.message, order_key.clone()).await;
        match &result {
            Ok(sent) => {
                counters.sent.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(lane, order_key = %order_key, id = %sent.id, "message sent");
            }
            Err(e) => {
                counters.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(lane, order_key = %order_key, status = e.status(), error = %e, "message send failed");
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
) -> Result<SentMessage, MessagingError> {
    let (path, body) = message.request()?;
    let request = ApiRequest::post(path)
        .json(&body)
        .map_err(|e| MessagingError::Send(Box::new(e)))?;
    let response = client
        .send(request)
        .await
        .map_err(|e| MessagingError::Send(Box::new(e)))?;
    let answer: Value = response
        .json()
        .map_err(|e| MessagingError::Send(Box::new(e)))?;
    let id = answer
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| MessagingError::UnexpectedAnswer {
            detail: "the send answer has no string `id`".into(),
        })?;
    Ok(SentMessage {
        id,
        order_key,
        answer,
    })
}
