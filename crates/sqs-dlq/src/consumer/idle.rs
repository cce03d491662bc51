//! Telling when the queue is idle: for stopping a run once it has been idle for a while
//! ([`ConsumerBuilder::stop_when_idle`](super::ConsumerBuilder::stop_when_idle)) and for ending
//! a drain ([`ConsumerBuilder::drain_on_shutdown`](super::ConsumerBuilder::drain_on_shutdown)).
//!
//! "Idle" has to hold at every check for the whole period, and a check counts as idle only when
//! all of these hold:
//! - no handler of this consumer is running (its message is in flight: it may still fail and
//!   come back);
//! - this consumer received nothing since the previous check (a message can arrive, be handled
//!   and be deleted between two depth readings);
//! - the queue's approximate depth is zero: nothing visible, nothing **in flight** (a message
//!   waiting out its retry backoff, or one another consumer holds, is in flight) and nothing
//!   delayed.
//!
//! A failed depth reading is not idle either: the period starts again.

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use crate::consumer::handler::Handler;
use crate::queue::Queue;

use super::shared::Shared;

/// Shortest time between two checks (each costs a `GetQueueAttributes` call when the
/// consumer itself is idle).
const MIN_CHECK_INTERVAL: Duration = Duration::from_millis(100);
/// Longest time between two checks.
const MAX_CHECK_INTERVAL: Duration = Duration::from_secs(5);

/// How often the queue is looked at for an idle period of `idle`: a tenth of it, within
/// 100 ms to 5 s.
pub(crate) fn check_interval(idle: Duration) -> Duration {
    (idle / 10).clamp(MIN_CHECK_INTERVAL, MAX_CHECK_INTERVAL)
}

/// Returns once the queue has been idle for `idle` (zero: at the first idle check). Stopping
/// is the caller's: it drops this future when the run ends for another reason.
pub(crate) async fn until_idle<Q: Queue, H: Handler>(
    shared: &Shared<Q, H>,
    tracker: &TaskTracker,
    idle: Duration,
) {
    let interval = check_interval(idle);
    let mut idle_since: Option<Instant> = None;
    let mut last_received = shared.meter.counters.snapshot().received;
    loop {
        tokio::time::sleep(interval).await;
        let received = shared.meter.counters.snapshot().received;
        let handling = tracker.len();
        if handling > 0 || received != last_received {
            last_received = received;
            idle_since = None;
            continue;
        }
        match shared.queue.approximate_depth().await {
            Ok(depth) if depth.total() == 0 => {
                let now = Instant::now();
                let since = *idle_since.get_or_insert(now);
                if now.duration_since(since) >= idle {
                    return;
                }
            }
            Ok(depth) => {
                tracing::trace!(
                    target: "sqs_dlq::consumer",
                    visible = depth.visible,
                    in_flight = depth.in_flight,
                    delayed = depth.delayed,
                    "queue not idle"
                );
                idle_since = None;
            }
            Err(error) => {
                tracing::warn!(
                    target: "sqs_dlq::consumer",
                    queue = shared.queue.name(),
                    %error,
                    "queue depth unavailable; the idle period starts again"
                );
                idle_since = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_a_tenth_of_the_period_within_bounds() {
        assert_eq!(check_interval(Duration::ZERO), MIN_CHECK_INTERVAL);
        assert_eq!(
            check_interval(Duration::from_secs(10)),
            Duration::from_secs(1)
        );
        assert_eq!(
            check_interval(Duration::from_secs(3600)),
            MAX_CHECK_INTERVAL
        );
    }
}
