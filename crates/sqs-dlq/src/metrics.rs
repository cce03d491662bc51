//! The consumer's metrics hook: [`ConsumerMetrics`] is called as messages move, and
//! [`ConsumerCounters`] is a ready implementation with atomic counters.
//!
//! Every event is also logged with `tracing` (target `sqs_dlq::consumer`), so a hook is only
//! needed to feed a metrics system (Prometheus, StatsD, OpenTelemetry).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Why a message went to the dead-letter queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeadLetterReason {
    /// The body could not be decoded.
    Poison,
    /// The handler reported a permanent failure.
    Permanent,
    /// Transient failures until the maximum number of receives.
    RetriesExhausted,
}

impl DeadLetterReason {
    /// A short name for labels (`poison`, `permanent`, `retries_exhausted`).
    pub fn as_str(&self) -> &'static str {
        match self {
            DeadLetterReason::Poison => "poison",
            DeadLetterReason::Permanent => "permanent",
            DeadLetterReason::RetriesExhausted => "retries_exhausted",
        }
    }
}

/// Called by the consumer as messages move. Every method has an empty default; implement what
/// you export. Methods are called on the hot path: keep them cheap (an atomic add, a channel
/// send), never blocking.
pub trait ConsumerMetrics: Send + Sync + 'static {
    /// A receive call returned `count` messages.
    fn received(&self, count: usize) {
        let _ = count;
    }
    /// A handler succeeded (the message is queued for a batched delete).
    fn succeeded(&self) {}
    /// A transient failure: the message will come back after `delay`.
    fn retried(&self, delay: Duration) {
        let _ = delay;
    }
    /// A message was copied to the dead-letter queue (and queued for deletion).
    fn dead_lettered(&self, reason: DeadLetterReason) {
        let _ = reason;
    }
    /// A repeat of finished work was acknowledged without running the handler.
    fn duplicate(&self) {}
    /// A duplicate of work still in progress was put back for later.
    fn deferred(&self) {}
    /// How long one handler run took (whatever its result).
    fn handler_latency(&self, latency: Duration) {
        let _ = latency;
    }
    /// A receive call failed; the loop pauses for `backoff`.
    fn receive_error(&self, backoff: Duration) {
        let _ = backoff;
    }
    /// Copying a message to the dead-letter queue failed; it stays in the source queue.
    fn dead_letter_failed(&self) {}
    /// A batch delete finished: `deleted` entries gone, `failed` refused.
    fn deleted(&self, deleted: usize, failed: usize) {
        let _ = (deleted, failed);
    }
    /// Messages released at shutdown (made visible again at once).
    fn released(&self, count: usize) {
        let _ = count;
    }
}

/// The hook that records nothing (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMetrics;

impl ConsumerMetrics for NoMetrics {}

impl<M: ConsumerMetrics + ?Sized> ConsumerMetrics for std::sync::Arc<M> {
    fn received(&self, count: usize) {
        (**self).received(count)
    }
    fn succeeded(&self) {
        (**self).succeeded()
    }
    fn retried(&self, delay: Duration) {
        (**self).retried(delay)
    }
    fn dead_lettered(&self, reason: DeadLetterReason) {
        (**self).dead_lettered(reason)
    }
    fn duplicate(&self) {
        (**self).duplicate()
    }
    fn deferred(&self) {
        (**self).deferred()
    }
    fn handler_latency(&self, latency: Duration) {
        (**self).handler_latency(latency)
    }
    fn receive_error(&self, backoff: Duration) {
        (**self).receive_error(backoff)
    }
    fn dead_letter_failed(&self) {
        (**self).dead_letter_failed()
    }
    fn deleted(&self, deleted: usize, failed: usize) {
        (**self).deleted(deleted, failed)
    }
    fn released(&self, count: usize) {
        (**self).released(count)
    }
}

/// A [`ConsumerMetrics`] with atomic counters; share it with `Arc` and read
/// [`snapshot`](Self::snapshot) while the consumer runs.
#[derive(Debug, Default)]
pub struct ConsumerCounters {
    received: AtomicU64,
    succeeded: AtomicU64,
    retried: AtomicU64,
    dead_lettered: AtomicU64,
    duplicates: AtomicU64,
    deferred: AtomicU64,
    receive_errors: AtomicU64,
    dead_letter_failures: AtomicU64,
    deleted: AtomicU64,
    delete_failures: AtomicU64,
    released: AtomicU64,
    handler_runs: AtomicU64,
    handler_nanos: AtomicU64,
    handler_max_nanos: AtomicU64,
}

/// A reading of [`ConsumerCounters`] (also the counting part of a run summary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CounterSnapshot {
    /// Messages received.
    pub received: u64,
    /// Handler successes.
    pub succeeded: u64,
    /// Transient failures put back with a backoff.
    pub retried: u64,
    /// Messages copied to the dead-letter queue.
    pub dead_lettered: u64,
    /// Repeats of finished work acknowledged without running the handler.
    pub duplicates: u64,
    /// Duplicates of work in progress put back for later.
    pub deferred: u64,
    /// Failed receive calls.
    pub receive_errors: u64,
    /// Failed copies to the dead-letter queue (the message stayed).
    pub dead_letter_failures: u64,
    /// Messages deleted from the source queue.
    pub deleted: u64,
    /// Deletes the queue refused or that failed.
    pub delete_failures: u64,
    /// Messages released at shutdown.
    pub released: u64,
    /// Handler runs timed.
    pub handler_runs: u64,
    /// Sum of handler run times.
    pub handler_total: Duration,
    /// Longest handler run.
    pub handler_max: Duration,
}

impl CounterSnapshot {
    /// Mean handler run time, if any handler ran.
    pub fn handler_mean(&self) -> Option<Duration> {
        let runs = u32::try_from(self.handler_runs).ok().filter(|r| *r > 0)?;
        Some(self.handler_total / runs)
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl ConsumerCounters {
    /// New counters at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current values.
    pub fn snapshot(&self) -> CounterSnapshot {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CounterSnapshot {
            received: get(&self.received),
            succeeded: get(&self.succeeded),
            retried: get(&self.retried),
            dead_lettered: get(&self.dead_lettered),
            duplicates: get(&self.duplicates),
            deferred: get(&self.deferred),
            receive_errors: get(&self.receive_errors),
            dead_letter_failures: get(&self.dead_letter_failures),
            deleted: get(&self.deleted),
            delete_failures: get(&self.delete_failures),
            released: get(&self.released),
            handler_runs: get(&self.handler_runs),
            handler_total: Duration::from_nanos(get(&self.handler_nanos)),
            handler_max: Duration::from_nanos(get(&self.handler_max_nanos)),
        }
    }
}

fn add(counter: &AtomicU64, n: usize) {
    counter.fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
}

impl ConsumerMetrics for ConsumerCounters {
    fn received(&self, count: usize) {
        add(&self.received, count);
    }
    fn succeeded(&self) {
        add(&self.succeeded, 1);
    }
    fn retried(&self, _delay: Duration) {
        add(&self.retried, 1);
    }
    fn dead_lettered(&self, _reason: DeadLetterReason) {
        add(&self.dead_lettered, 1);
    }
    fn duplicate(&self) {
        add(&self.duplicates, 1);
    }
    fn deferred(&self) {
        add(&self.deferred, 1);
    }
    fn handler_latency(&self, latency: Duration) {
        add(&self.handler_runs, 1);
        let n = nanos(latency);
        self.handler_nanos.fetch_add(n, Ordering::Relaxed);
        self.handler_max_nanos.fetch_max(n, Ordering::Relaxed);
    }
    fn receive_error(&self, _backoff: Duration) {
        add(&self.receive_errors, 1);
    }
    fn dead_letter_failed(&self) {
        add(&self.dead_letter_failures, 1);
    }
    fn deleted(&self, deleted: usize, failed: usize) {
        add(&self.deleted, deleted);
        add(&self.delete_failures, failed);
    }
    fn released(&self, count: usize) {
        add(&self.released, count);
    }
}

/// Calls two hooks: the consumer's own counters (for the run summary) and the user's.
pub(crate) struct Meter {
    pub(crate) counters: ConsumerCounters,
    pub(crate) hook: std::sync::Arc<dyn ConsumerMetrics>,
}

impl ConsumerMetrics for Meter {
    fn received(&self, n: usize) {
        self.counters.received(n);
        self.hook.received(n);
    }
    fn succeeded(&self) {
        self.counters.succeeded();
        self.hook.succeeded();
    }
    fn retried(&self, d: Duration) {
        self.counters.retried(d);
        self.hook.retried(d);
    }
    fn dead_lettered(&self, r: DeadLetterReason) {
        self.counters.dead_lettered(r);
        self.hook.dead_lettered(r);
    }
    fn duplicate(&self) {
        self.counters.duplicate();
        self.hook.duplicate();
    }
    fn deferred(&self) {
        self.counters.deferred();
        self.hook.deferred();
    }
    fn handler_latency(&self, d: Duration) {
        self.counters.handler_latency(d);
        self.hook.handler_latency(d);
    }
    fn receive_error(&self, d: Duration) {
        self.counters.receive_error(d);
        self.hook.receive_error(d);
    }
    fn dead_letter_failed(&self) {
        self.counters.dead_letter_failed();
        self.hook.dead_letter_failed();
    }
    fn deleted(&self, ok: usize, failed: usize) {
        self.counters.deleted(ok, failed);
        self.hook.deleted(ok, failed);
    }
    fn released(&self, n: usize) {
        self.counters.released(n);
        self.hook.released(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_count() {
        let c = ConsumerCounters::new();
        c.received(10);
        c.succeeded();
        c.retried(Duration::from_secs(1));
        c.dead_lettered(DeadLetterReason::Poison);
        c.duplicate();
        c.handler_latency(Duration::from_millis(10));
        c.handler_latency(Duration::from_millis(30));
        c.deleted(9, 1);
        let s = c.snapshot();
        assert_eq!((s.received, s.succeeded, s.retried), (10, 1, 1));
        assert_eq!((s.dead_lettered, s.duplicates), (1, 1));
        assert_eq!((s.deleted, s.delete_failures), (9, 1));
        assert_eq!(s.handler_max, Duration::from_millis(30));
        assert_eq!(s.handler_mean(), Some(Duration::from_millis(20)));
        assert_eq!(CounterSnapshot::default().handler_mean(), None);
        assert_eq!(
            DeadLetterReason::RetriesExhausted.as_str(),
            "retries_exhausted"
        );
    }
}
