//! The retry policy: how many attempts, for how long, how long to wait, and when to give up.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::backoff::Backoff;
use crate::budget::RetryBudget;
use crate::classify::RetryClass;
use crate::metric_names;

/// Why the retry driver stopped retrying.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum GiveUp {
    /// The error is permanent ([`RetryClass::Fail`]).
    #[error("the error is not retryable")]
    Permanent,
    /// The policy's maximum number of attempts was reached.
    #[error("the maximum number of attempts was reached")]
    MaxAttempts,
    /// The next wait would end past the policy's maximum elapsed time.
    #[error("the maximum elapsed time would be exceeded")]
    MaxElapsed,
    /// The server asked for a wait longer than the policy's cap; the driver gives up at once
    /// instead of waiting.
    #[error("the server asked to retry after {retry_after:?}, more than the cap of {cap:?}")]
    RetryAfterTooLong {
        /// What the server asked for.
        retry_after: Duration,
        /// The policy's cap.
        cap: Duration,
    },
    /// The shared retry budget is empty: the service has been failing too often.
    #[error("the retry budget is exhausted")]
    BudgetExhausted,
}

impl GiveUp {
    /// A short name for logs and metrics labels (`permanent`, `max_attempts`, `max_elapsed`,
    /// `retry_after_too_long`, `budget_exhausted`).
    pub fn as_str(&self) -> &'static str {
        match self {
            GiveUp::Permanent => "permanent",
            GiveUp::MaxAttempts => "max_attempts",
            GiveUp::MaxElapsed => "max_elapsed",
            GiveUp::RetryAfterTooLong { .. } => "retry_after_too_long",
            GiveUp::BudgetExhausted => "budget_exhausted",
        }
    }
}

/// Where jitter draws come from: the thread RNG, or one seeded RNG shared by every clone.
#[derive(Clone)]
enum RngSource {
    Thread,
    Seeded { seed: u64, rng: Arc<Mutex<StdRng>> },
}

impl fmt::Debug for RngSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RngSource::Thread => f.write_str("Thread"),
            RngSource::Seeded { seed, .. } => f.debug_struct("Seeded").field("seed", seed).finish(),
        }
    }
}

/// How a failed operation is retried: attempts, elapsed time, backoff, the server's Retry-After
/// (capped and floored) and a shared [`RetryBudget`].
///
/// Clones share the budget and (when seeded) the RNG. The default: 4 attempts, exponential
/// backoff from 500 ms to 30 s with full jitter, at most 5 minutes in all, Retry-After capped at
/// 180 s (longer → [`GiveUp::RetryAfterTooLong`] at once) and floored at 1 s, and the default
/// budget.
///
/// ```
/// use std::time::Duration;
/// use retry_policy::{Backoff, GiveUp, Jitter, RetryClass, RetryPolicy};
///
/// let policy = RetryPolicy::builder()
///     .max_attempts(3)
///     .backoff(Backoff::exponential(Duration::from_millis(100), Duration::from_secs(2)).jitter(Jitter::None))
///     .build();
/// let retry = RetryClass::retry();
/// assert_eq!(policy.next_delay(1, Duration::ZERO, &retry, None), Ok(Duration::from_millis(100)));
/// assert_eq!(policy.next_delay(2, Duration::ZERO, &retry, None), Ok(Duration::from_millis(200)));
/// assert_eq!(policy.next_delay(3, Duration::ZERO, &retry, None), Err(GiveUp::MaxAttempts));
/// let slow_down = RetryClass::retry_after(Some(Duration::from_secs(600)));
/// assert!(matches!(policy.next_delay(1, Duration::ZERO, &slow_down, None), Err(GiveUp::RetryAfterTooLong { .. })));
/// ```
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    max_attempts: u32,
    max_elapsed: Duration,
    backoff: Backoff,
    retry_after_cap: Duration,
    retry_after_floor: Duration,
    budget: Option<RetryBudget>,
    rng: RngSource,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicyBuilder::default().build()
    }
}

impl RetryPolicy {
    /// A builder starting from the defaults.
    pub fn builder() -> RetryPolicyBuilder {
        RetryPolicyBuilder::default()
    }

    /// One attempt, no retries, no budget.
    pub fn no_retry() -> Self {
        RetryPolicy::builder().max_attempts(1).no_budget().build()
    }

    /// Attempts in all, the first included (at least 1).
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The longest time from the first attempt to the start of the last.
    pub fn max_elapsed(&self) -> Duration {
        self.max_elapsed
    }

    /// The backoff used when the server gives no Retry-After.
    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    /// A Retry-After above this gives up at once.
    pub fn retry_after_cap(&self) -> Duration {
        self.retry_after_cap
    }

    /// A Retry-After below this (including 0) waits this long.
    pub fn retry_after_floor(&self) -> Duration {
        self.retry_after_floor
    }

    /// The shared retry budget, unless the policy has none.
    pub fn budget(&self) -> Option<&RetryBudget> {
        self.budget.as_ref()
    }

    /// After failed attempt number `attempt` (1-based) at `elapsed` since the first attempt
    /// started: how long to wait before the next attempt, or why to give up.
    ///
    /// In order: a permanent class gives up; so does reaching `max_attempts`. A Retry-After above
    /// the cap gives up at once with [`GiveUp::RetryAfterTooLong`]; one below the floor (0
    /// included) waits the floor; otherwise the Retry-After is the delay. Without one, the
    /// backoff gives the delay for retry number `attempt` (jitter drawn from the policy's RNG,
    /// `prev_delay` feeding [`Jitter::Decorrelated`](crate::Jitter::Decorrelated)). If
    /// `elapsed + delay` passes `max_elapsed` it gives up with [`GiveUp::MaxElapsed`] rather than
    /// sleep for nothing. Last, the retry is paid for from the budget (a timeout costs more);
    /// an empty budget gives [`GiveUp::BudgetExhausted`]. Nothing is spent when giving up.
    ///
    /// Delays are rounded up to whole milliseconds, the resolution of tokio's timer, so the
    /// delay returned is the delay the driver actually waits.
    ///
    /// Emits `genesys.retries` for a retry granted and `genesys.give_ups` (by `reason`) for a
    /// retryable failure refused (see [`metric_names`](crate::metric_names)).
    pub fn next_delay(
        &self,
        attempt: u32,
        elapsed: Duration,
        class: &RetryClass,
        prev_delay: Option<Duration>,
    ) -> Result<Duration, GiveUp> {
        let decision = self.decide(attempt, elapsed, class, prev_delay);
        match &decision {
            Ok(_) => metrics::counter!(metric_names::RETRIES).increment(1),
            Err(GiveUp::Permanent) => {}
            Err(give_up) => {
                metrics::counter!(metric_names::GIVE_UPS, "reason" => give_up.as_str())
                    .increment(1);
            }
        }
        decision
    }

    fn decide(
        &self,
        attempt: u32,
        elapsed: Duration,
        class: &RetryClass,
        prev_delay: Option<Duration>,
    ) -> Result<Duration, GiveUp> {
        let (retry_after, timeout) = match *class {
            RetryClass::Retry {
                retry_after,
                timeout,
            } => (retry_after, timeout),
            RetryClass::Fail => return Err(GiveUp::Permanent),
        };
        if attempt >= self.max_attempts {
            return Err(GiveUp::MaxAttempts);
        }
        let delay = match retry_after {
            Some(ra) if ra > self.retry_after_cap => {
                return Err(GiveUp::RetryAfterTooLong {
                    retry_after: ra,
                    cap: self.retry_after_cap,
                });
            }
            Some(ra) => ra.max(self.retry_after_floor),
            None => self.backoff_delay(attempt, prev_delay),
        };
        let delay = ceil_to_millis(delay);
        if elapsed.saturating_add(delay) > self.max_elapsed {
            return Err(GiveUp::MaxElapsed);
        }
        if let Some(budget) = &self.budget
            && !budget.try_spend(timeout)
        {
            return Err(GiveUp::BudgetExhausted);
        }
        Ok(delay)
    }

    /// Records a success: refunds the budget.
    pub fn on_success(&self) {
        if let Some(budget) = &self.budget {
            budget.on_success();
        }
    }

    fn backoff_delay(&self, retry: u32, prev: Option<Duration>) -> Duration {
        match &self.rng {
            RngSource::Thread => self.backoff.delay(retry, prev, &mut rand::rng()),
            RngSource::Seeded { rng, .. } => {
                // A panic while holding the lock cannot leave the RNG invalid: keep using it.
                let mut rng = rng.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                self.backoff.delay(retry, prev, &mut *rng)
            }
        }
    }
}

/// `d` rounded up to a whole millisecond (saturating).
fn ceil_to_millis(d: Duration) -> Duration {
    let rem = d.subsec_nanos() % 1_000_000;
    if rem == 0 {
        d
    } else {
        d.saturating_add(Duration::from_nanos(u64::from(1_000_000 - rem)))
    }
}

/// Builds a [`RetryPolicy`]; unset settings keep the defaults of [`RetryPolicy::default`].
#[derive(Clone, Debug)]
#[must_use]
pub struct RetryPolicyBuilder {
    max_attempts: u32,
    max_elapsed: Duration,
    backoff: Backoff,
    retry_after_cap: Duration,
    retry_after_floor: Duration,
    budget: Option<RetryBudget>,
    seed: Option<u64>,
}

impl Default for RetryPolicyBuilder {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            max_elapsed: Duration::from_secs(300),
            backoff: Backoff::exponential(Duration::from_millis(500), Duration::from_secs(30)),
            retry_after_cap: Duration::from_secs(180),
            retry_after_floor: Duration::from_secs(1),
            budget: Some(RetryBudget::default()),
            seed: None,
        }
    }
}

impl RetryPolicyBuilder {
    /// Attempts in all, the first included. 0 is treated as 1.
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// The longest time from the first attempt to the start of the last.
    pub fn max_elapsed(mut self, d: Duration) -> Self {
        self.max_elapsed = d;
        self
    }

    /// The backoff used when the server gives no Retry-After.
    pub fn backoff(mut self, b: Backoff) -> Self {
        self.backoff = b;
        self
    }

    /// A Retry-After above this gives up at once (default 180 s, as the official Genesys SDKs).
    pub fn retry_after_cap(mut self, d: Duration) -> Self {
        self.retry_after_cap = d;
        self
    }

    /// A Retry-After below this, including 0, waits this long (default 1 s).
    pub fn retry_after_floor(mut self, d: Duration) -> Self {
        self.retry_after_floor = d;
        self
    }

    /// Draws retries from this budget (pass a clone to share it between policies).
    pub fn budget(mut self, b: RetryBudget) -> Self {
        self.budget = Some(b);
        self
    }

    /// No retry budget: only attempts and elapsed time limit retries.
    pub fn no_budget(mut self) -> Self {
        self.budget = None;
        self
    }

    /// Draws jitter from an RNG seeded with `seed` (shared by the policy's clones), so delays
    /// are exactly repeatable. Without it each thread's RNG is used.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The policy.
    pub fn build(self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts,
            max_elapsed: self.max_elapsed,
            backoff: self.backoff,
            retry_after_cap: self.retry_after_cap,
            retry_after_floor: self.retry_after_floor,
            budget: self.budget,
            rng: match self.seed {
                Some(seed) => RngSource::Seeded {
                    seed,
                    rng: Arc::new(Mutex::new(StdRng::seed_from_u64(seed))),
                },
                None => RngSource::Thread,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backoff::Jitter;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn after(d: Duration) -> RetryClass {
        RetryClass::retry_after(Some(d))
    }

    fn plain(max_attempts: u32) -> RetryPolicy {
        RetryPolicy::builder()
            .max_attempts(max_attempts)
            .backoff(Backoff::exponential(ms(100), secs(1)).jitter(Jitter::None))
            .no_budget()
            .build()
    }

    #[test]
    fn defaults() {
        let p = RetryPolicy::default();
        assert_eq!(p.max_attempts(), 4);
        assert_eq!(p.max_elapsed(), secs(300));
        assert_eq!(p.retry_after_cap(), secs(180));
        assert_eq!(p.retry_after_floor(), secs(1));
        assert_eq!(p.backoff(), &Backoff::exponential(ms(500), secs(30)));
        assert_eq!(p.backoff().jitter_kind(), Jitter::Full);
        assert_eq!(p.budget().map(RetryBudget::available), Some(500));
        let none = RetryPolicy::no_retry();
        assert_eq!(none.max_attempts(), 1);
        assert!(none.budget().is_none());
        assert_eq!(
            none.next_delay(1, Duration::ZERO, &RetryClass::retry(), None),
            Err(GiveUp::MaxAttempts)
        );
        assert_eq!(
            RetryPolicy::builder()
                .max_attempts(0)
                .build()
                .max_attempts(),
            1
        );
    }

    #[test]
    fn retry_after_over_the_cap_gives_up_at_once() {
        let p = RetryPolicy::default();
        let budget = p.budget().unwrap().clone();
        assert_eq!(
            p.next_delay(1, Duration::ZERO, &after(secs(500)), None),
            Err(GiveUp::RetryAfterTooLong {
                retry_after: secs(500),
                cap: secs(180)
            })
        );
        assert_eq!(
            p.next_delay(1, Duration::ZERO, &after(Duration::MAX), None),
            Err(GiveUp::RetryAfterTooLong {
                retry_after: Duration::MAX,
                cap: secs(180)
            })
        );
        assert_eq!(budget.available(), 500, "giving up spends nothing");
        // Exactly the cap is still honoured.
        assert_eq!(
            p.next_delay(1, Duration::ZERO, &after(secs(180)), None),
            Ok(secs(180))
        );
        let strict = RetryPolicy::builder().retry_after_cap(secs(5)).build();
        assert!(matches!(
            strict.next_delay(1, Duration::ZERO, &after(secs(6)), None),
            Err(GiveUp::RetryAfterTooLong { .. })
        ));
    }

    #[test]
    fn retry_after_is_floored() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.next_delay(1, Duration::ZERO, &after(Duration::ZERO), None),
            Ok(secs(1))
        );
        assert_eq!(
            p.next_delay(1, Duration::ZERO, &after(ms(300)), None),
            Ok(secs(1))
        );
        assert_eq!(
            p.next_delay(1, Duration::ZERO, &after(secs(2)), None),
            Ok(secs(2))
        );
        let p = RetryPolicy::builder().retry_after_floor(ms(250)).build();
        assert_eq!(
            p.next_delay(1, Duration::ZERO, &after(Duration::ZERO), None),
            Ok(ms(250))
        );
        let p = RetryPolicy::builder()
            .retry_after_floor(Duration::ZERO)
            .build();
        assert_eq!(
            p.next_delay(1, Duration::ZERO, &after(Duration::ZERO), None),
            Ok(Duration::ZERO)
        );
    }

    #[test]
    fn retry_after_replaces_the_backoff() {
        let p = plain(10);
        assert_eq!(
            p.next_delay(5, Duration::ZERO, &after(secs(3)), None),
            Ok(secs(3))
        );
        assert_eq!(
            p.next_delay(5, Duration::ZERO, &RetryClass::retry(), None),
            Ok(secs(1))
        );
    }

    #[test]
    fn max_attempts() {
        let p = plain(3);
        let r = RetryClass::retry();
        assert_eq!(p.next_delay(1, Duration::ZERO, &r, None), Ok(ms(100)));
        assert_eq!(p.next_delay(2, Duration::ZERO, &r, None), Ok(ms(200)));
        assert_eq!(
            p.next_delay(3, Duration::ZERO, &r, None),
            Err(GiveUp::MaxAttempts)
        );
        assert_eq!(
            p.next_delay(99, Duration::ZERO, &r, None),
            Err(GiveUp::MaxAttempts)
        );
    }

    #[test]
    fn permanent_errors_give_up_first() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.next_delay(1, Duration::ZERO, &RetryClass::Fail, None),
            Err(GiveUp::Permanent)
        );
        assert_eq!(p.budget().unwrap().available(), 500);
    }

    #[test]
    fn max_elapsed() {
        let p = RetryPolicy::builder()
            .max_attempts(100)
            .max_elapsed(secs(10))
            .backoff(Backoff::constant(secs(3)))
            .no_budget()
            .build();
        let r = RetryClass::retry();
        assert_eq!(
            p.next_delay(1, secs(7), &r, None),
            Ok(secs(3)),
            "ends exactly at the limit"
        );
        assert_eq!(
            p.next_delay(1, secs(7) + ms(1), &r, None),
            Err(GiveUp::MaxElapsed)
        );
        assert_eq!(p.next_delay(1, secs(60), &r, None), Err(GiveUp::MaxElapsed));
        assert_eq!(
            p.next_delay(1, Duration::MAX, &r, None),
            Err(GiveUp::MaxElapsed)
        );
        assert_eq!(
            p.next_delay(1, secs(8), &after(secs(1)), None),
            Ok(secs(1)),
            "a short Retry-After still fits"
        );
        assert_eq!(
            p.next_delay(1, secs(8), &after(secs(5)), None),
            Err(GiveUp::MaxElapsed)
        );
    }

    #[test]
    fn budget_drains_and_refunds() {
        let p = RetryPolicy::builder()
            .max_attempts(100)
            .backoff(Backoff::constant(ms(10)))
            .budget(RetryBudget::new(20, 5, 10, 1))
            .build();
        let r = RetryClass::retry();
        for attempt in 1..=4 {
            assert_eq!(p.next_delay(attempt, Duration::ZERO, &r, None), Ok(ms(10)));
        }
        assert_eq!(
            p.next_delay(5, Duration::ZERO, &r, None),
            Err(GiveUp::BudgetExhausted)
        );
        for _ in 0..9 {
            p.on_success();
        }
        assert_eq!(p.budget().unwrap().available(), 9);
        assert_eq!(
            p.next_delay(1, Duration::ZERO, &RetryClass::timeout(), None),
            Err(GiveUp::BudgetExhausted),
            "a timeout retry costs 10"
        );
        assert_eq!(p.next_delay(1, Duration::ZERO, &r, None), Ok(ms(10)));
        assert_eq!(p.budget().unwrap().available(), 4);
    }

    #[test]
    fn budget_is_shared_across_clones_and_policies() {
        let p = RetryPolicy::builder()
            .backoff(Backoff::constant(ms(10)))
            .budget(RetryBudget::new(10, 5, 10, 1))
            .build();
        let clone = p.clone();
        let other = RetryPolicy::builder()
            .budget(p.budget().unwrap().clone())
            .build();
        let r = RetryClass::retry();
        assert!(p.next_delay(1, Duration::ZERO, &r, None).is_ok());
        assert!(clone.next_delay(1, Duration::ZERO, &r, None).is_ok());
        assert_eq!(
            other.next_delay(1, Duration::ZERO, &r, None),
            Err(GiveUp::BudgetExhausted)
        );
        other.on_success();
        assert_eq!(p.budget().unwrap().available(), 1);
        assert!(
            p.budget()
                .unwrap()
                .shares_bucket_with(clone.budget().unwrap())
        );
    }

    #[test]
    fn seeded_policies_repeat_and_clones_share_the_rng() {
        let build = || {
            RetryPolicy::builder()
                .max_attempts(50)
                .backoff(Backoff::exponential(ms(100), secs(5)))
                .no_budget()
                .seed(7)
                .build()
        };
        let r = RetryClass::retry();
        let a = build();
        let seq: Vec<_> = (1..=20)
            .map(|n| a.next_delay(n, Duration::ZERO, &r, None).unwrap())
            .collect();
        let b = build();
        let b2 = b.clone();
        // Alternating between clones draws the same single sequence.
        let interleaved: Vec<_> = (1..=20)
            .map(|n| {
                let p = if n % 2 == 0 { &b } else { &b2 };
                p.next_delay(n, Duration::ZERO, &r, None).unwrap()
            })
            .collect();
        assert_eq!(seq, interleaved);
        assert!(seq.iter().any(|d| *d != seq[0]), "jitter varies: {seq:?}");
        let c = RetryPolicy::builder()
            .max_attempts(50)
            .backoff(Backoff::exponential(ms(100), secs(5)))
            .no_budget()
            .seed(8)
            .build();
        let other: Vec<_> = (1..=20)
            .map(|n| c.next_delay(n, Duration::ZERO, &r, None).unwrap())
            .collect();
        assert_ne!(seq, other);
    }

    #[test]
    fn delays_are_whole_milliseconds() {
        assert_eq!(ceil_to_millis(Duration::from_nanos(1)), ms(1));
        assert_eq!(ceil_to_millis(Duration::from_nanos(1_999_999)), ms(2));
        assert_eq!(ceil_to_millis(ms(7)), ms(7));
        assert_eq!(ceil_to_millis(Duration::MAX), Duration::MAX);
        let p = RetryPolicy::builder()
            .max_attempts(1000)
            .backoff(Backoff::exponential(ms(3), secs(2)))
            .no_budget()
            .seed(1)
            .build();
        for n in 1..500 {
            let d = p
                .next_delay(n, Duration::ZERO, &RetryClass::retry(), None)
                .unwrap();
            assert_eq!(d.subsec_nanos() % 1_000_000, 0, "{d:?}");
            assert!(d <= secs(2));
        }
        let d = p
            .next_delay(
                1,
                Duration::ZERO,
                &after(Duration::from_nanos(1_500_000_001)),
                None,
            )
            .unwrap();
        assert_eq!(d, ms(1501));
    }

    #[test]
    fn debug_names_the_settings() {
        let s = format!("{:?}", RetryPolicy::builder().seed(3).build());
        assert!(
            s.contains("max_attempts: 4") && s.contains("seed: 3"),
            "{s}"
        );
    }
}
