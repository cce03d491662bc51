//! The receiver's counters: a [`ReceiverMetrics`] handle, taken from
//! [`DeadLetterReceiverBuilder::metrics`](super::DeadLetterReceiverBuilder::metrics) before the
//! router is built, and read as a [`ReceiverCounts`] while (or after) it serves.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters of one [`DeadLetterReceiver`](super::DeadLetterReceiver). Cheap to clone;
/// every clone reads the same counters.
///
/// ```
/// # use sqs_dlq::{DeadLetterReceiver, MemoryQueue, QueueTarget, Replay};
/// # use secrecy::SecretString;
/// let builder = DeadLetterReceiver::builder(Replay::builder(QueueTarget::new(MemoryQueue::new("t"))).build())
///     .hmac_secret(SecretString::from("shared-secret"));
/// let metrics = builder.metrics();
/// let router = builder.router()?;
/// // ... serve `router`; later, or from a metrics exporter:
/// let counts = metrics.snapshot();
/// assert_eq!(counts.received, 0);
/// # Ok::<(), sqs_dlq::ReceiverError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ReceiverMetrics {
    counters: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    received: AtomicU64,
    replayed: AtomicU64,
    too_large: AtomicU64,
    unreadable: AtomicU64,
    unauthenticated: AtomicU64,
    expired_signatures: AtomicU64,
    invalid_json: AtomicU64,
    not_a_dead_letter: AtomicU64,
    skipped: AtomicU64,
    replay_failed: AtomicU64,
    timed_out: AtomicU64,
    busy: AtomicU64,
}

/// A reading of [`ReceiverMetrics`]. Once every request has been answered,
/// `received == replayed + skipped + replay_failed + refused()`; a request still being read or
/// replayed (or one whose client went away mid-way) is in `received` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ReceiverCounts {
    /// Requests that reached the route.
    pub received: u64,
    /// Dead letters the target accepted (answered 200).
    pub replayed: u64,
    /// Bodies over the limit, declared or streamed (413).
    pub too_large: u64,
    /// Bodies that broke off while being read (400 `body_unreadable`).
    pub unreadable: u64,
    /// Missing, wrong, malformed or stale credentials (401).
    pub unauthenticated: u64,
    /// Of `unauthenticated`: signatures whose `X-Signature-Timestamp` was outside the tolerance
    /// (a replayed capture, or a sender whose clock is off).
    pub expired_signatures: u64,
    /// Bodies that are not JSON (400 `invalid_json`).
    pub invalid_json: u64,
    /// JSON that is not one of the accepted dead-letter shapes (400 `not_a_dead_letter`).
    pub not_a_dead_letter: u64,
    /// Dead letters the replay policy did not send: unsafe or unknown category, outside `only`
    /// (422).
    pub skipped: u64,
    /// Dead letters the target refused, or could not be reached for, after retries (502).
    pub replay_failed: u64,
    /// Bodies that did not arrive whole within the body deadline (408 `body_timeout`).
    pub timed_out: u64,
    /// Signed requests turned away because bodies not yet authenticated already held the
    /// whole budget (503 `busy`).
    pub busy: u64,
}

impl ReceiverCounts {
    /// Requests refused before any replay was tried: too large, unreadable, unauthenticated,
    /// invalid JSON, not a dead letter, too slow, or over the unauthenticated-body budget.
    pub fn refused(&self) -> u64 {
        self.too_large
            + self.unreadable
            + self.unauthenticated
            + self.invalid_json
            + self.not_a_dead_letter
            + self.timed_out
            + self.busy
    }
}

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Replayed,
    TooLarge,
    Unreadable,
    Unauthenticated { expired: bool },
    InvalidJson,
    NotADeadLetter,
    Skipped,
    ReplayFailed,
    TimedOut,
    Busy,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl ReceiverMetrics {
    /// The current values.
    pub fn snapshot(&self) -> ReceiverCounts {
        let c = &*self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ReceiverCounts {
            received: get(&c.received),
            replayed: get(&c.replayed),
            too_large: get(&c.too_large),
            unreadable: get(&c.unreadable),
            unauthenticated: get(&c.unauthenticated),
            expired_signatures: get(&c.expired_signatures),
            invalid_json: get(&c.invalid_json),
            not_a_dead_letter: get(&c.not_a_dead_letter),
            skipped: get(&c.skipped),
            replay_failed: get(&c.replay_failed),
            timed_out: get(&c.timed_out),
            busy: get(&c.busy),
        }
    }

    pub(crate) fn received(&self) {
        bump(&self.counters.received);
    }

    pub(crate) fn record(&self, outcome: Outcome) {
        let c = &*self.counters;
        match outcome {
            Outcome::Replayed => bump(&c.replayed),
            Outcome::TooLarge => bump(&c.too_large),
            Outcome::Unreadable => bump(&c.unreadable),
            Outcome::Unauthenticated { expired } => {
                bump(&c.unauthenticated);
                if expired {
                    bump(&c.expired_signatures);
                }
            }
            Outcome::InvalidJson => bump(&c.invalid_json),
            Outcome::NotADeadLetter => bump(&c.not_a_dead_letter),
            Outcome::Skipped => bump(&c.skipped),
            Outcome::ReplayFailed => bump(&c.replay_failed),
            Outcome::TimedOut => bump(&c.timed_out),
            Outcome::Busy => bump(&c.busy),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_counters_and_outcomes_add_up() {
        let metrics = ReceiverMetrics::default();
        let reader = metrics.clone();
        let outcomes = [
            Outcome::Replayed,
            Outcome::Replayed,
            Outcome::TooLarge,
            Outcome::Unreadable,
            Outcome::Unauthenticated { expired: false },
            Outcome::Unauthenticated { expired: true },
            Outcome::InvalidJson,
            Outcome::NotADeadLetter,
            Outcome::Skipped,
            Outcome::ReplayFailed,
            Outcome::TimedOut,
            Outcome::Busy,
        ];
        for outcome in outcomes {
            metrics.received();
            metrics.record(outcome);
        }
        let c = reader.snapshot();
        assert_eq!(c.received, 12);
        assert_eq!((c.replayed, c.skipped, c.replay_failed), (2, 1, 1));
        assert_eq!((c.unauthenticated, c.expired_signatures), (2, 1));
        assert_eq!((c.timed_out, c.busy), (1, 1));
        assert_eq!(c.refused(), 8);
        assert_eq!(
            c.received,
            c.replayed + c.skipped + c.replay_failed + c.refused()
        );
    }
}
