//! The receiver's counts, emitted through the [`metrics`] facade:
//! [`RECEIVER_RECEIVED`](crate::metric_names::RECEIVER_RECEIVED) for every request that reached
//! the route, [`RECEIVER_REQUESTS`](crate::metric_names::RECEIVER_REQUESTS) by how it ended
//! (`outcome`), and [`REPLAY_OUTCOMES`](crate::metric_names::REPLAY_OUTCOMES) for the dead
//! letters it tried to replay. Once every request has been answered, `received` equals the sum
//! of the outcomes (an expired signature counts as `unauthenticated` and, once more, as
//! `expired_signature`, which is not in that sum).

use crate::metric_names::{RECEIVER_RECEIVED, RECEIVER_REQUESTS, REPLAY_OUTCOMES};

/// Emits the receiver's counts (no state: the recorder keeps the values).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ReceiverMetrics;

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

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Replayed => "replayed",
            Outcome::TooLarge => "too_large",
            Outcome::Unreadable => "unreadable",
            Outcome::Unauthenticated { .. } => "unauthenticated",
            Outcome::InvalidJson => "invalid_json",
            Outcome::NotADeadLetter => "not_a_dead_letter",
            Outcome::Skipped => "skipped",
            Outcome::ReplayFailed => "replay_failed",
            Outcome::TimedOut => "timed_out",
            Outcome::Busy => "busy",
        }
    }
}

impl ReceiverMetrics {
    pub(crate) fn received(&self) {
        metrics::counter!(RECEIVER_RECEIVED).increment(1);
    }

    pub(crate) fn record(&self, outcome: Outcome) {
        metrics::counter!(RECEIVER_REQUESTS, "outcome" => outcome.as_str()).increment(1);
        if let Outcome::Unauthenticated { expired: true } = outcome {
            metrics::counter!(RECEIVER_REQUESTS, "outcome" => "expired_signature").increment(1);
        }
        let replay = match outcome {
            Outcome::Replayed => "replayed",
            Outcome::Skipped => "skipped",
            Outcome::ReplayFailed => "failed",
            _ => return,
        };
        metrics::counter!(REPLAY_OUTCOMES, "outcome" => replay, "source" => "receiver")
            .increment(1);
    }
}
