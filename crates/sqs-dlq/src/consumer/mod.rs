//! [`Consumer`]: a queue consumer that never loses a message.
//!
//! ```no_run
//! use std::time::Duration;
//! use sqs_dlq::consumer::{Consumer, Delivery, Handler, HandlerError, MemoryIdempotencyStore};
//! use sqs_dlq::queue::MemoryQueue;
//! use tokio_util::sync::CancellationToken;
//!
//! struct Print;
//! #[async_trait::async_trait]
//! impl Handler for Print {
//!     type Payload = serde_json::Value;
//!     fn idempotency_key(&self, event: &Self::Payload, _: Delivery<'_>) -> Option<String> {
//!         event["contactId"].as_str().map(str::to_owned)
//!     }
//!     async fn handle(&self, event: Self::Payload, _: Delivery<'_>) -> Result<(), HandlerError> {
//!         tracing::info!(%event, "handled");
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (queue, dlq) = (MemoryQueue::new("webhooks"), MemoryQueue::new("webhooks-dlq"));
//! let shutdown = CancellationToken::new();
//! let consumer = Consumer::builder(queue, Print)
//!     .dead_letter_queue(dlq)
//!     .concurrency(32)
//!     .max_receives(5)
//!     .idempotency_store(MemoryIdempotencyStore::new(100_000, Duration::from_secs(3600)))
//!     .shutdown(shutdown.clone())
//!     .build()?;
//! let summary = consumer.run().await?; // until `shutdown.cancel()`
//! println!("{} handled, {} dead-lettered", summary.counters.succeeded, summary.counters.dead_lettered);
//! # Ok(()) }
//! ```
//!
//! # What happens to a message
//! | handler result | action |
//! |---|---|
//! | `Ok` | deleted, in batches of ten (flushed at ten or after the flush interval) |
//! | `Transient`, receive count < max | visibility set to the retry backoff for this receive count: it comes back then (no copy, no sleep) |
//! | `Transient`, receive count ≥ max | copied to the DLQ with `ERROR_CODE`, `ERROR_MESSAGE`, `RETRY_ATTEMPTS`, then deleted |
//! | `Permanent` | copied to the DLQ with the reason at once, then deleted |
//! | body does not decode (poison) | copied to the DLQ (`ERROR_CODE` = `POISON_MESSAGE`), then deleted |
//! | handler panics | treated as a transient failure |
//! | idempotency key already done | deleted without running the handler |
//! | idempotency key in progress elsewhere | put back for the retry backoff of its receive count (at most one visibility timeout), not counted as a failure |
//!
//! A message is deleted only after its handler succeeded or its DLQ copy was stored; if the
//! copy fails the message stays and comes back. A crash at any point leaves every message done
//! or visible again after its visibility timeout.
//!
//! # Concurrency and cost
//! At most `concurrency` handlers run at once. A receiver asks for `min(10, concurrency)`
//! messages only when that many handler slots are free, so nothing waits in a local buffer
//! while its visibility timeout runs down. With full receives a consumed message costs
//! 0.2 SQS requests (one receive and one delete per ten).
//!
//! # Shutdown
//! When the [`shutdown`](ConsumerBuilder::shutdown) token fires: receiving stops (an ongoing
//! long poll is dropped), running handlers get [`shutdown_timeout`](ConsumerBuilder::shutdown_timeout)
//! to finish, the rest are abandoned and their messages released (visibility 0) for another
//! consumer, pending deletes are flushed, and [`run`](Consumer::run) returns a [`RunSummary`].
//! Dropping the `run` future instead stops every task at once (pending deletes of finished
//! messages are still flushed); unfinished messages come back after their visibility timeout.
//!
//! # Stopping when idle
//! With [`stop_when_idle`](ConsumerBuilder::stop_when_idle) the run also shuts down (the same
//! graceful way) once the queue has been idle for that long, for batch jobs and drills that
//! should end when the work is done. Idle means, at every check during the period: no handler
//! of this consumer running, nothing received since the last check, and the queue's
//! approximate depth zero, counting in-flight and delayed messages too. A message waiting out
//! its retry backoff is in flight, so the run waits for it (and handles it) however long the
//! backoff is. The queue is looked at every tenth of the period (100 ms to 5 s), with a depth
//! call only while the consumer itself is idle. SQS depth figures are approximate and can
//! trail by a minute or so; a message sent but not yet counted is still seen by the next
//! receive, which resets the period. [`RunSummary::stop_reason`] says why a run ended.
//!
//! # Draining
//! A [`MemoryQueue`](crate::queue::MemoryQueue) dies with the process: what it still holds at exit is
//! lost. With [`drain_on_shutdown`](ConsumerBuilder::drain_on_shutdown) the shutdown token
//! does not stop receiving at once: the run keeps receiving and handling until the queue is
//! idle (the same check as above, with no period: no handler running, nothing received since
//! the last check, nothing visible, in flight or delayed), then stops gracefully. Messages
//! waiting out their retry backoff are waited for. The drain is bounded by its limit, and the
//! [`drain_cutoff`](ConsumerBuilder::drain_cutoff) token ends it early; either way the rest stays
//! on the queue and [`RunSummary::drain`] says how it ended. Close the producers (an HTTP ingest,
//! say) before firing the shutdown token, so nothing arrives after the drain's last look.
//!
//! # Limits
//! The heartbeat extends visibility without bound; SQS itself caps one receive at 12 hours.
//! Visibility changes (backoff, release) are batched too and may leave up to one flush interval
//! later.

pub(crate) mod handler;
pub(crate) mod idempotency;
#[cfg(feature = "redis")]
pub(crate) mod idempotency_redis;
pub(crate) mod metrics;

pub use handler::{BoxError, Decode, DecodeError, Delivery, Handler, HandlerError, Json};
pub use idempotency::{
    Claim, ClaimToken, Completion, IdempotencyError, IdempotencyStore, MemoryIdempotencyStore,
};
#[cfg(feature = "redis")]
pub use idempotency_redis::RedisIdempotencyStore;
pub use metrics::{CounterSnapshot, DeadLetterReason};

mod acker;
mod dead_letter_copy;
mod idle;
mod shared;
mod worker;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::SmallRng;
use retry_policy::{Backoff, Jitter, RetryClass, RetryPolicy};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::consumer::metrics::{ConsumerMetrics, Meter};
use crate::queue::{
    MAX_RECEIVE_BATCH, MAX_VISIBILITY_TIMEOUT, MAX_WAIT_TIME, Queue, QueueError, ReceiveOptions,
};

use acker::Ack;
use shared::{Config, Shared};

/// Dead-letter attribute names and the `ERROR_CODE` values the consumer writes.
pub mod codes;

/// Empty receives are spaced at least this far apart (guards against short polls spinning).
const MIN_EMPTY_RECEIVE_INTERVAL: Duration = Duration::from_secs(1);
/// After the shutdown deadline, how long abandoned workers get to hand their messages back.
const ABANDON_GRACE: Duration = Duration::from_secs(5);

/// Why a consumer could not be built or stopped early.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConsumerError {
    /// No dead-letter queue was set: the consumer never deletes a failed message without a copy.
    #[error("no dead-letter queue set; call .dead_letter_queue(..)")]
    NoDeadLetterQueue,
    /// A setting is out of range.
    #[error("invalid consumer setting `{setting}`: {reason}")]
    InvalidSetting {
        /// The builder method.
        setting: &'static str,
        /// What is allowed.
        reason: &'static str,
    },
    /// Receiving failed in a way retrying cannot fix (the queue does not exist, the request is
    /// invalid). The consumer shut down gracefully first.
    #[error("receiving from {queue} failed; the consumer stopped")]
    ReceiveFailed {
        /// The queue.
        queue: String,
        /// The error.
        #[source]
        source: QueueError,
        /// What the run did before it stopped.
        summary: Box<RunSummary>,
    },
}

/// What a run of the consumer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunSummary {
    /// Message counts and handler timing.
    pub counters: CounterSnapshot,
    /// How long the run took.
    pub elapsed: Duration,
    /// Why the run ended.
    pub stop_reason: StopReason,
    /// How the drain after the shutdown token ended, when
    /// [`drain_on_shutdown`](ConsumerBuilder::drain_on_shutdown) is set and the token fired.
    pub drain: Option<DrainOutcome>,
}

/// How a drain ([`ConsumerBuilder::drain_on_shutdown`]) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DrainOutcome {
    /// The queue was idle: nothing visible, in flight or delayed, and no handler running.
    Emptied,
    /// The drain limit passed first; what was left stays on the queue.
    LimitReached,
    /// The [`drain_cutoff`](ConsumerBuilder::drain_cutoff) token fired first; what was left
    /// stays on the queue.
    CutOff,
}

/// Why a [`Consumer`] run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// The [`shutdown`](ConsumerBuilder::shutdown) token fired.
    Shutdown,
    /// The queue was idle for the [`stop_when_idle`](ConsumerBuilder::stop_when_idle) period.
    Idle,
    /// Receiving failed in a way retrying cannot fix ([`ConsumerError::ReceiveFailed`]).
    ReceiveFailed,
}

/// A queue consumer: receives in batches, runs a [`Handler`] with bounded concurrency, and
/// deletes, retries or dead-letters each message. Build one with [`Consumer::builder`] and
/// start it with [`run`](Consumer::run). See the [module docs](self).
pub struct Consumer<Q, H> {
    queue: Q,
    handler: H,
    dead_letter_queue: Arc<dyn Queue>,
    idempotency: Option<Arc<dyn IdempotencyStore>>,
    config: Config,
    shutdown: CancellationToken,
    drain_cutoff: CancellationToken,
    seed: Option<u64>,
}

impl<Q, H> std::fmt::Debug for Consumer<Q, H>
where
    Q: Queue,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("queue", &self.queue.name())
            .field("dead_letter_queue", &self.dead_letter_queue.name())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Settings of a [`Consumer`]; from [`Consumer::builder`].
#[must_use]
pub struct ConsumerBuilder<Q, H> {
    queue: Q,
    handler: H,
    dead_letter_queue: Option<Arc<dyn Queue>>,
    idempotency: Option<Arc<dyn IdempotencyStore>>,
    config: Config,
    heartbeat_set: bool,
    shutdown: CancellationToken,
    drain_cutoff: CancellationToken,
    seed: Option<u64>,
}

impl<Q: Queue, H: Handler> Consumer<Q, H> {
    /// Starts building a consumer of `queue` running `handler`.
    ///
    /// Defaults: concurrency 16, one receiver, batches of 10 with a 20 s long poll, visibility
    /// timeout 30 s with a heartbeat every 10 s, 5 receives before a transient failure is
    /// dead-lettered, retry backoff exponential from 5 s to 15 min (equal jitter), receive-error
    /// backoff exponential from 500 ms to 30 s (equal jitter), deletes flushed after 100 ms,
    /// 30 s to finish at shutdown. A dead-letter queue is required.
    pub fn builder(queue: Q, handler: H) -> ConsumerBuilder<Q, H> {
        ConsumerBuilder {
            queue,
            handler,
            dead_letter_queue: None,
            idempotency: None,
            config: Config {
                concurrency: 16,
                receivers: 1,
                receive_batch: MAX_RECEIVE_BATCH,
                wait_time: MAX_WAIT_TIME,
                visibility_timeout: Duration::from_secs(30),
                heartbeat_interval: Duration::from_secs(10),
                max_receives: 5,
                retry_backoff: Backoff::exponential(
                    Duration::from_secs(5),
                    Duration::from_secs(15 * 60),
                )
                .jitter(Jitter::Equal),
                receive_backoff: Backoff::exponential(
                    Duration::from_millis(500),
                    Duration::from_secs(30),
                )
                .jitter(Jitter::Equal),
                flush_interval: Duration::from_millis(100),
                ack_policy: acker::default_ack_policy(),
                shutdown_timeout: Duration::from_secs(30),
                stop_when_idle: None,
                drain_on_shutdown: None,
            },
            heartbeat_set: false,
            shutdown: CancellationToken::new(),
            drain_cutoff: CancellationToken::new(),
            seed: None,
        }
    }
}

impl<Q: Queue, H: Handler> ConsumerBuilder<Q, H> {
    /// Where failed and poison messages are copied (required). Pass an `Arc` of a queue to keep
    /// using it elsewhere.
    pub fn dead_letter_queue(mut self, queue: impl Queue) -> Self {
        self.dead_letter_queue = Some(Arc::new(queue));
        self
    }

    /// Most handlers running at once (at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.config.concurrency = n;
        self
    }

    /// Receive loops polling in parallel (at least 1; more helps when receive latency, not the
    /// handler, limits throughput).
    pub fn receivers(mut self, n: usize) -> Self {
        self.config.receivers = n;
        self
    }

    /// Messages asked for per receive, 1 to 10 (default 10; fewer costs more requests).
    pub fn receive_batch(mut self, n: usize) -> Self {
        self.config.receive_batch = n;
        self
    }

    /// Long-poll wait of each receive, up to 20 s.
    pub fn wait_time(mut self, wait: Duration) -> Self {
        self.config.wait_time = wait;
        self
    }

    /// Visibility timeout of received messages (and what each heartbeat extends it to). Unless
    /// set, the heartbeat interval becomes a third of it.
    pub fn visibility_timeout(mut self, timeout: Duration) -> Self {
        self.config.visibility_timeout = timeout;
        self
    }

    /// How often a running handler's message gets its visibility extended; must be shorter
    /// than the visibility timeout.
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.config.heartbeat_interval = interval;
        self.heartbeat_set = true;
        self
    }

    /// Receives (attempts) before a transiently failing message goes to the dead-letter queue
    /// (at least 1). Keep it below the queue's own redrive `maxReceiveCount`, if it has one, so
    /// the reason gets attached.
    pub fn max_receives(mut self, n: u32) -> Self {
        self.config.max_receives = n;
        self
    }

    /// Backoff for transient failures: the delay for retry `n` is used as the visibility
    /// timeout after the `n`-th receive failed.
    pub fn retry_backoff(mut self, backoff: Backoff) -> Self {
        self.config.retry_backoff = backoff;
        self
    }

    /// Backoff of the receive loop after failed receives (throttling, outages).
    pub fn receive_error_backoff(mut self, backoff: Backoff) -> Self {
        self.config.receive_backoff = backoff;
        self
    }

    /// Retries of a batch delete or visibility change that fails as a whole with a transient
    /// error (default: 3 attempts, exponential from 100 ms with full jitter, a retry budget).
    /// A batch that still fails is not lost: its messages are delivered again.
    pub fn ack_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.config.ack_policy = policy;
        self
    }

    /// Longest wait before a partial batch of deletes or visibility changes goes out.
    pub fn delete_flush_interval(mut self, interval: Duration) -> Self {
        self.config.flush_interval = interval;
        self
    }

    /// Skips work already done, by the handler's idempotency key.
    pub fn idempotency_store(mut self, store: impl IdempotencyStore) -> Self {
        self.idempotency = Some(Arc::new(store));
        self
    }

    /// The token that starts a graceful shutdown.
    pub fn shutdown(mut self, token: CancellationToken) -> Self {
        self.shutdown = token;
        self
    }

    /// How long running handlers get to finish once shutdown starts.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.config.shutdown_timeout = timeout;
        self
    }

    /// Also shut down (gracefully, as for the [`shutdown`](Self::shutdown) token) once the
    /// queue has been idle for `idle`: no handler running, nothing received, and no message
    /// visible, in flight or delayed by the queue's approximate depth. A message waiting out a
    /// retry backoff keeps the run going. Zero stops at the first idle check. Off by default
    /// (run until shutdown). See [Stopping when idle](self#stopping-when-idle).
    pub fn stop_when_idle(mut self, idle: Duration) -> Self {
        self.config.stop_when_idle = Some(idle);
        self
    }

    /// When the [`shutdown`](Self::shutdown) token fires, keep receiving and handling until the
    /// queue is idle (no handler running, nothing received since the last check, and nothing
    /// visible, in flight or delayed), for at most `limit`; then stop gracefully as usual.
    /// A message waiting out its retry backoff is waited for. For queues whose messages die
    /// with the process ([`MemoryQueue`](crate::queue::MemoryQueue)); an SQS queue keeps its messages,
    /// so there a plain shutdown loses nothing. Stop the producers first: a message sent
    /// after the drain ended stays on the queue. Off by default.
    /// [`RunSummary::drain`] says how it ended. See [Draining](self#draining).
    pub fn drain_on_shutdown(mut self, limit: Duration) -> Self {
        self.config.drain_on_shutdown = Some(limit);
        self
    }

    /// A token that ends a [drain](Self::drain_on_shutdown) at once (a second Ctrl-C, say):
    /// receiving stops and the run shuts down gracefully with what is left still queued.
    pub fn drain_cutoff(mut self, token: CancellationToken) -> Self {
        self.drain_cutoff = token;
        self
    }

    /// Seeds the jitter of the backoffs (for repeatable tests).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Checks the settings and builds the consumer.
    pub fn build(mut self) -> Result<Consumer<Q, H>, ConsumerError> {
        let Some(dead_letter_queue) = self.dead_letter_queue else {
            return Err(ConsumerError::NoDeadLetterQueue);
        };
        let c = &mut self.config;
        let invalid = |setting, reason| Err(ConsumerError::InvalidSetting { setting, reason });
        if c.concurrency == 0 {
            return invalid("concurrency", "must be at least 1");
        }
        if c.receivers == 0 {
            return invalid("receivers", "must be at least 1");
        }
        if !(1..=MAX_RECEIVE_BATCH).contains(&c.receive_batch) {
            return invalid("receive_batch", "must be 1 to 10");
        }
        if c.wait_time > MAX_WAIT_TIME {
            return invalid("wait_time", "must be at most 20 s");
        }
        if c.visibility_timeout.is_zero() || c.visibility_timeout > MAX_VISIBILITY_TIMEOUT {
            return invalid("visibility_timeout", "must be above 0 and at most 12 h");
        }
        if !self.heartbeat_set {
            c.heartbeat_interval = c.visibility_timeout / 3;
        }
        if c.heartbeat_interval.is_zero() || c.heartbeat_interval >= c.visibility_timeout {
            return invalid(
                "heartbeat_interval",
                "must be above 0 and shorter than the visibility timeout",
            );
        }
        if c.max_receives == 0 {
            return invalid("max_receives", "must be at least 1");
        }
        if c.flush_interval.is_zero() {
            return invalid("delete_flush_interval", "must be above 0");
        }
        Ok(Consumer {
            queue: self.queue,
            handler: self.handler,
            dead_letter_queue,
            idempotency: self.idempotency,
            config: self.config,
            shutdown: self.shutdown,
            drain_cutoff: self.drain_cutoff,
            seed: self.seed,
        })
    }
}

impl<Q: Queue, H: Handler> Consumer<Q, H> {
    /// Runs until the shutdown token fires (then shuts down gracefully) or receiving fails in
    /// a way retrying cannot fix. Transient receive errors and throttling pause the loop with
    /// backoff and never end the run.
    pub async fn run(self) -> Result<RunSummary, ConsumerError> {
        let started = Instant::now();
        let abort = CancellationToken::new();
        let _abort_on_drop = abort.clone().drop_guard();
        let meter = Arc::new(Meter::new(self.queue.name()));
        let queue = Arc::new(self.queue);
        let (acks, acker) = acker::spawn(
            queue.clone(),
            meter.clone(),
            self.config.flush_interval,
            self.config.ack_policy.clone(),
            abort.clone(),
        );
        let rng = match self.seed {
            Some(seed) => SmallRng::seed_from_u64(seed),
            None => SmallRng::seed_from_u64(rand::random()),
        };
        // Receiving is retried for as long as the run lasts: only a fatal error (the queue is
        // gone, the request is invalid) or the shutdown ends it.
        let receive_policy = RetryPolicy::builder()
            .max_attempts(u32::MAX)
            .max_elapsed(Duration::MAX)
            .backoff(self.config.receive_backoff.clone())
            .no_budget();
        let receive_policy = match self.seed {
            Some(seed) => receive_policy.seed(seed.rotate_left(32)),
            None => receive_policy,
        }
        .build();
        let shared = Arc::new(Shared {
            queue,
            handler: self.handler,
            dead_letter_queue: self.dead_letter_queue,
            idempotency: self.idempotency,
            meter: meter.clone(),
            acks,
            config: self.config,
            rng: Mutex::new(rng),
            receive_policy,
            abandon: CancellationToken::new(),
            abort: abort.clone(),
        });
        let config = &shared.config;
        tracing::info!(
            target: "sqs_dlq::consumer",
            queue = shared.queue.name(),
            dead_letter_queue = shared.dead_letter_queue.name(),
            concurrency = config.concurrency,
            "consumer started"
        );

        // What the receivers stop on: the shutdown token (after the drain, if one is set), the
        // idle period, or a fatal receive error.
        let stop = CancellationToken::new();
        let slots = Arc::new(Semaphore::new(config.concurrency));
        let tracker = TaskTracker::new();
        let mut receivers = JoinSet::new();
        for _ in 0..config.receivers {
            receivers.spawn(receive_loop(
                shared.clone(),
                slots.clone(),
                stop.clone(),
                tracker.clone(),
            ));
        }
        // Decides when receiving stops; runs alongside the receivers (no task of its own:
        // dropping `run` drops it too).
        let control = control(
            &shared,
            &tracker,
            self.shutdown.clone(),
            self.drain_cutoff.clone(),
            stop.clone(),
        );
        tokio::pin!(control);
        let mut controlling = true;
        let mut stopped_idle = false;
        let mut drain = None;
        let mut fatal = None;
        loop {
            let ended = tokio::select! {
                ended = receivers.join_next() => ended,
                (idle, drained) = &mut control, if controlling => {
                    controlling = false;
                    stopped_idle = idle;
                    drain = drained;
                    continue;
                }
            };
            match ended {
                None => break,
                Some(Ok(Ok(()))) => {}
                Some(Ok(Err(error))) => {
                    stop.cancel();
                    fatal.get_or_insert(error);
                }
                Some(Err(join_error)) => {
                    stop.cancel();
                    tracing::error!(target: "sqs_dlq::consumer", error = %join_error, "receiver task failed");
                }
            }
        }

        tracker.close();
        tracing::info!(
            target: "sqs_dlq::consumer",
            in_flight = tracker.len(),
            "receiving stopped; finishing in-flight messages"
        );
        if tokio::time::timeout(config.shutdown_timeout, tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                target: "sqs_dlq::consumer",
                in_flight = tracker.len(),
                "shutdown deadline passed; releasing unfinished messages"
            );
            shared.abandon.cancel();
            if tokio::time::timeout(ABANDON_GRACE, tracker.wait())
                .await
                .is_err()
            {
                abort.cancel();
                tracker.wait().await;
            }
        }
        shared.acks.send(Ack::Finish);
        if let Err(join_error) = acker.await {
            tracing::error!(target: "sqs_dlq::consumer", error = %join_error, "acknowledgement task failed");
        }
        let stop_reason = if fatal.is_some() {
            StopReason::ReceiveFailed
        } else if stopped_idle {
            StopReason::Idle
        } else {
            StopReason::Shutdown
        };
        let summary = RunSummary {
            counters: meter.counters.snapshot(),
            elapsed: started.elapsed(),
            stop_reason,
            drain,
        };
        let c = &summary.counters;
        tracing::info!(
            target: "sqs_dlq::consumer",
            queue = shared.queue.name(),
            received = c.received,
            succeeded = c.succeeded,
            retried = c.retried,
            dead_lettered = c.dead_lettered,
            duplicates = c.duplicates,
            released = c.released,
            stop_reason = ?summary.stop_reason,
            "consumer stopped"
        );
        match fatal {
            Some(source) => Err(ConsumerError::ReceiveFailed {
                queue: shared.queue.name().to_owned(),
                source,
                summary: Box::new(summary),
            }),
            None => Ok(summary),
        }
    }
}

/// Waits for what ends receiving: the shutdown token (then the drain, if one is set) or the idle
/// period; cancels `stop` then. Returns whether the idle period ended the run, and how the
/// drain ended.
async fn control<Q: Queue, H: Handler>(
    shared: &Shared<Q, H>,
    tracker: &TaskTracker,
    shutdown: CancellationToken,
    cutoff: CancellationToken,
    stop: CancellationToken,
) -> (bool, Option<DrainOutcome>) {
    let config = &shared.config;
    let idle_period = async {
        match config.stop_when_idle {
            Some(idle) => idle::until_idle(shared, tracker, idle).await,
            None => std::future::pending().await,
        }
    };
    let by_idle = tokio::select! {
        biased;
        _ = shutdown.cancelled() => false,
        () = idle_period => true,
    };
    let mut drain = None;
    if by_idle {
        tracing::info!(
            target: "sqs_dlq::consumer",
            queue = shared.queue.name(),
            idle_ms = config.stop_when_idle.unwrap_or_default().as_millis() as u64,
            "queue idle; stopping"
        );
    } else if let Some(limit) = config.drain_on_shutdown {
        tracing::info!(
            target: "sqs_dlq::consumer",
            queue = shared.queue.name(),
            limit_ms = limit.as_millis() as u64,
            "shutdown requested; draining the queue first"
        );
        let outcome = tokio::select! {
            biased;
            _ = cutoff.cancelled() => DrainOutcome::CutOff,
            () = idle::until_idle(shared, tracker, Duration::ZERO) => DrainOutcome::Emptied,
            () = tokio::time::sleep(limit) => DrainOutcome::LimitReached,
        };
        if outcome == DrainOutcome::Emptied {
            tracing::info!(target: "sqs_dlq::consumer", queue = shared.queue.name(), "queue drained");
        } else {
            let left = shared.queue.approximate_depth().await.map(|d| d.total());
            tracing::warn!(
                target: "sqs_dlq::consumer",
                queue = shared.queue.name(),
                ?outcome,
                left = left.ok(),
                "drain ended before the queue was empty; the rest stays queued"
            );
        }
        drain = Some(outcome);
    }
    stop.cancel();
    (by_idle, drain)
}

/// Whether a receive error can only be fixed by changing the configuration.
fn is_fatal(error: &QueueError) -> bool {
    matches!(
        error,
        QueueError::NotFound { .. } | QueueError::InvalidRequest(_)
    )
}

async fn receive_loop<Q: Queue, H: Handler>(
    shared: Arc<Shared<Q, H>>,
    slots: Arc<Semaphore>,
    stop: CancellationToken,
    tracker: TaskTracker,
) -> Result<(), QueueError> {
    let config = &shared.config;
    let batch = config.receive_batch.min(config.concurrency);
    let permits_per_batch = u32::try_from(batch).unwrap_or(1);
    let opts = ReceiveOptions::default()
        .max_messages(batch)
        .wait_time(config.wait_time)
        .visibility_timeout(config.visibility_timeout);
    loop {
        let mut permits = tokio::select! {
            biased;
            _ = stop.cancelled() => return Ok(()),
            permits = slots.clone().acquire_many_owned(permits_per_batch) => match permits {
                Ok(permits) => permits,
                Err(_closed) => return Ok(()),
            },
        };
        let started = Instant::now();
        // Messages already received win over a shutdown arriving at the same moment: they are
        // handled (within the shutdown deadline) rather than left invisible until their timeout.
        // Transient receive errors wait out the receive backoff inside the retry driver; the
        // shutdown interrupts that wait like any other.
        let receive = retry_policy::retry_with(
            &shared.receive_policy,
            |_| shared.queue.receive(&opts),
            |error: &QueueError| {
                if is_fatal(error) {
                    RetryClass::Fail
                } else {
                    RetryClass::retry()
                }
            },
            |error: &QueueError, failures, delay| {
                shared.meter.receive_error(delay);
                tracing::warn!(
                    target: "sqs_dlq::consumer",
                    queue = shared.queue.name(),
                    %error,
                    failures,
                    delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    "receive failed; pausing"
                );
            },
        );
        let received = tokio::select! {
            biased;
            received = receive => received,
            _ = stop.cancelled() => return Ok(()),
        };
        match received {
            Ok(messages) => {
                if messages.is_empty() {
                    drop(permits);
                    let next = started + MIN_EMPTY_RECEIVE_INTERVAL;
                    tokio::select! {
                        biased;
                        _ = stop.cancelled() => return Ok(()),
                        _ = tokio::time::sleep_until(next) => {}
                    }
                    continue;
                }
                shared.meter.received(messages.len());
                tracing::trace!(target: "sqs_dlq::consumer", messages = messages.len(), "received");
                for message in messages {
                    let permit = match permits.split(1) {
                        Some(permit) => permit,
                        // A backend returned more than asked for: wait for a slot.
                        None => match slots.clone().acquire_owned().await {
                            Ok(permit) => permit,
                            Err(_closed) => return Ok(()),
                        },
                    };
                    tracker.spawn(worker::process(shared.clone(), message, permit));
                }
            }
            Err(failed) => {
                // Only a fatal error ends the retries (the policy never gives up on the others).
                let error = failed.last;
                tracing::error!(
                    target: "sqs_dlq::consumer",
                    queue = shared.queue.name(),
                    %error,
                    attempts = failed.attempts,
                    "receive failed and retrying cannot help; stopping"
                );
                return Err(error);
            }
        }
    }
}
