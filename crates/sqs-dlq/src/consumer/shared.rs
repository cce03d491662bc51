//! The state one run of the consumer shares between its receivers, workers and idle check.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::SmallRng;
use retry_policy::{Backoff, RetryPolicy};
use tokio_util::sync::CancellationToken;

use super::acker::AckSender;
use crate::consumer::idempotency::IdempotencyStore;
use crate::consumer::metrics::Meter;
use crate::queue::{MAX_VISIBILITY_TIMEOUT, Queue};

/// The settings of one run, as the builder left them.
#[derive(Debug, Clone)]
pub(super) struct Config {
    pub(super) concurrency: usize,
    pub(super) receivers: usize,
    pub(super) receive_batch: usize,
    pub(super) wait_time: Duration,
    pub(super) visibility_timeout: Duration,
    pub(super) heartbeat_interval: Duration,
    pub(super) max_receives: u32,
    pub(super) retry_backoff: Backoff,
    pub(super) receive_backoff: Backoff,
    pub(super) flush_interval: Duration,
    pub(super) ack_policy: RetryPolicy,
    pub(super) shutdown_timeout: Duration,
    pub(super) stop_when_idle: Option<Duration>,
    pub(super) drain_on_shutdown: Option<Duration>,
}

/// State shared by the receivers and workers of one run.
pub(crate) struct Shared<Q, H> {
    pub(super) queue: Arc<Q>,
    pub(super) handler: H,
    pub(super) dead_letter_queue: Arc<dyn Queue>,
    pub(super) idempotency: Option<Arc<dyn IdempotencyStore>>,
    pub(super) meter: Arc<Meter>,
    pub(super) acks: AckSender,
    pub(super) config: Config,
    pub(super) rng: Mutex<SmallRng>,
    /// Receive errors are retried on this policy (the receive backoff, never giving up on a
    /// transient error): the retry driver waits, not the receive loop.
    pub(super) receive_policy: RetryPolicy,
    /// Fires at the shutdown deadline: running handlers are abandoned and released.
    pub(super) abandon: CancellationToken,
    /// Fires when the run is dropped: every task stops where it is.
    pub(super) abort: CancellationToken,
}

impl<Q, H> Shared<Q, H> {
    /// The visibility delay before retry number `receive_count`.
    pub(super) fn retry_delay(&self, receive_count: u32) -> Duration {
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        self.config
            .retry_backoff
            .delay(receive_count.max(1), None, &mut *rng)
            .min(MAX_VISIBILITY_TIMEOUT)
    }
}
