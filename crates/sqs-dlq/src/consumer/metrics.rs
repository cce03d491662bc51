//! What the consumer counts as messages move: the run summary's counters, and the same events
//! emitted through the [`metrics`] facade (names in [`crate::metric_names`]).
//!
//! Every event is also logged with `tracing` (target `sqs_dlq::consumer`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::metric_names::{self as names, AWS_SQS, DESTINATION, OPERATION_NAME, SYSTEM};

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

/// Called by the consumer as messages move (on the hot path: cheap, never blocking).
pub(crate) trait ConsumerMetrics: Send + Sync + 'static {
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

/// Atomic counters behind the run summary.
#[derive(Debug, Default)]
pub(crate) struct ConsumerCounters {
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

/// The counting part of a run summary ([`RunSummary::counters`](crate::consumer::RunSummary)).
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
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The current values.
    pub(crate) fn snapshot(&self) -> CounterSnapshot {
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

/// Counts for the run summary and emits through the `metrics` facade, with the OpenTelemetry
/// messaging attributes of the consumed queue.
pub(crate) struct Meter {
    pub(crate) counters: ConsumerCounters,
    /// The source queue's name (`messaging.destination.name`).
    pub(crate) destination: String,
}

impl Meter {
    pub(crate) fn new(destination: &str) -> Self {
        Self {
            counters: ConsumerCounters::new(),
            destination: destination.to_owned(),
        }
    }

    fn outcome(&self, outcome: &'static str, reason: &'static str) {
        metrics::counter!(
            names::CONSUMER_OUTCOMES,
            SYSTEM => AWS_SQS,
            DESTINATION => self.destination.clone(),
            "outcome" => outcome,
            "reason" => reason,
        )
        .increment(1);
    }

    /// A heartbeat extended a message's visibility (`ok`) or failed to.
    pub(crate) fn heartbeat(&self, ok: bool) {
        metrics::counter!(
            names::HEARTBEAT_EXTENSIONS,
            SYSTEM => AWS_SQS,
            DESTINATION => self.destination.clone(),
            "outcome" => if ok { "ok" } else { "error" },
        )
        .increment(1);
    }
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl ConsumerMetrics for Meter {
    fn received(&self, n: usize) {
        self.counters.received(n);
        metrics::counter!(
            names::MESSAGING_CLIENT_CONSUMED_MESSAGES,
            SYSTEM => AWS_SQS,
            DESTINATION => self.destination.clone(),
            OPERATION_NAME => "receive",
        )
        .increment(count(n));
    }
    fn succeeded(&self) {
        self.counters.succeeded();
        self.outcome("succeeded", "");
    }
    fn retried(&self, d: Duration) {
        self.counters.retried(d);
        self.outcome("retried", "");
        metrics::counter!(
            names::VISIBILITY_CHANGES,
            SYSTEM => AWS_SQS,
            DESTINATION => self.destination.clone(),
            "reason" => "retry",
        )
        .increment(1);
    }
    fn dead_lettered(&self, r: DeadLetterReason) {
        self.counters.dead_lettered(r);
        self.outcome("dead_lettered", r.as_str());
        metrics::counter!(
            names::DLQ_COPIES,
            SYSTEM => AWS_SQS,
            DESTINATION => self.destination.clone(),
            "reason" => r.as_str(),
            "outcome" => "ok",
        )
        .increment(1);
    }
    fn duplicate(&self) {
        self.counters.duplicate();
        self.outcome("duplicate", "");
    }
    fn deferred(&self) {
        self.counters.deferred();
        self.outcome("deferred", "");
    }
    fn handler_latency(&self, d: Duration) {
        self.counters.handler_latency(d);
        metrics::histogram!(
            names::MESSAGING_PROCESS_DURATION,
            SYSTEM => AWS_SQS,
            DESTINATION => self.destination.clone(),
            OPERATION_NAME => "process",
        )
        .record(d.as_secs_f64());
    }
    fn receive_error(&self, d: Duration) {
        self.counters.receive_error(d);
        metrics::counter!(
            names::RECEIVE_ERRORS,
            SYSTEM => AWS_SQS,
            DESTINATION => self.destination.clone(),
        )
        .increment(1);
    }
    fn dead_letter_failed(&self) {
        self.counters.dead_letter_failed();
        metrics::counter!(
            names::DLQ_COPIES,
            SYSTEM => AWS_SQS,
            DESTINATION => self.destination.clone(),
            "reason" => "",
            "outcome" => "error",
        )
        .increment(1);
    }
    fn deleted(&self, ok: usize, failed: usize) {
        self.counters.deleted(ok, failed);
        for (n, outcome) in [(ok, "ok"), (failed, "error")] {
            if n > 0 {
                metrics::counter!(
                    names::DELETES,
                    SYSTEM => AWS_SQS,
                    DESTINATION => self.destination.clone(),
                    "outcome" => outcome,
                )
                .increment(count(n));
            }
        }
    }
    fn released(&self, n: usize) {
        self.counters.released(n);
        metrics::counter!(
            names::VISIBILITY_CHANGES,
            SYSTEM => AWS_SQS,
            DESTINATION => self.destination.clone(),
            "reason" => "release",
        )
        .increment(count(n));
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
