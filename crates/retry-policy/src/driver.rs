//! The async retry driver.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::classify::{RetryClass, RetryableError};
use crate::error::RetryError;
use crate::policy::{GiveUp, RetryPolicy};

/// Runs `op` until it succeeds or `policy` gives up. `op` gets the 1-based attempt number.
///
/// Waits with `tokio::time::sleep`, so tests under `tokio::time::pause()` take no wall time.
/// Emits one tracing event per failed attempt (fields `attempt`, `delay_ms`, `reason`) and
/// refunds the policy's budget on success.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// use retry_policy::{retry, RetryClass, RetryPolicy, RetryableError};
///
/// #[derive(Debug)]
/// struct Flaky;
/// impl RetryableError for Flaky {
///     fn retry_class(&self) -> RetryClass { RetryClass::retry() }
/// }
///
/// let value = retry(&RetryPolicy::default(), |attempt| async move {
///     if attempt < 3 { Err(Flaky) } else { Ok(attempt) }
/// })
/// .await
/// .unwrap();
/// assert_eq!(value, 3);
/// # });
/// ```
pub async fn retry<T, E, F, Fut>(policy: &RetryPolicy, op: F) -> Result<T, RetryError<E>>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: RetryableError,
{
    retry_with(policy, op, |e: &E| e.retry_class(), |_: &E, _, _| {}).await
}

/// [`retry`], calling `notify(&error, attempt, next_delay)` before each wait.
pub async fn retry_notify<T, E, F, Fut, N>(
    policy: &RetryPolicy,
    op: F,
    notify: N,
) -> Result<T, RetryError<E>>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: RetryableError,
    N: FnMut(&E, u32, Duration),
{
    retry_with(policy, op, |e: &E| e.retry_class(), notify).await
}

/// The general driver: `classify` decides per error (overriding, for this call, what the error
/// type would say), `notify(&error, attempt, next_delay)` runs before each wait.
pub async fn retry_with<T, E, F, Fut, C, N>(
    policy: &RetryPolicy,
    mut op: F,
    mut classify: C,
    mut notify: N,
) -> Result<T, RetryError<E>>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    C: FnMut(&E) -> RetryClass,
    N: FnMut(&E, u32, Duration),
{
    let start = Instant::now();
    let mut attempt: u32 = 0;
    let mut prev_delay = None;
    loop {
        attempt = attempt.saturating_add(1);
        let error = match op(attempt).await {
            Ok(value) => {
                policy.on_success();
                if attempt > 1 {
                    tracing::debug!(attempt, "succeeded after retrying");
                }
                return Ok(value);
            }
            Err(error) => error,
        };
        let class = classify(&error);
        let elapsed = start.elapsed();
        match policy.next_delay(attempt, elapsed, &class, prev_delay) {
            Ok(delay) => {
                let reason = match class {
                    RetryClass::Retry {
                        retry_after: Some(_),
                        ..
                    } => "retry_after",
                    RetryClass::Retry { timeout: true, .. } => "timeout",
                    _ => "backoff",
                };
                tracing::info!(
                    attempt,
                    delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    reason,
                    "attempt failed; retrying"
                );
                notify(&error, attempt, delay);
                tokio::time::sleep(delay).await;
                prev_delay = Some(delay);
            }
            Err(reason) => {
                let elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
                if reason == GiveUp::Permanent {
                    // An ordinary answer such as a 404: the caller decides how loud to be.
                    tracing::debug!(attempt, delay_ms = 0u64, reason = %reason, elapsed_ms, "attempt failed; not retryable");
                } else {
                    tracing::warn!(attempt, delay_ms = 0u64, reason = %reason, elapsed_ms, "attempt failed; giving up");
                }
                return Err(RetryError {
                    attempts: attempt,
                    elapsed,
                    last: error,
                    reason,
                });
            }
        }
    }
}

/// A failed attempt that already knows what the driver should do about it: the error and its
/// [`RetryClass`] (with the server's Retry-After, when the operation read one).
///
/// Operations that classify from the whole answer (status, headers, body), rather than from the
/// error type alone, return this to [`retry_classified`].
#[derive(Debug)]
pub struct Classified<E> {
    /// The attempt's error.
    pub error: E,
    /// What the driver should do about it.
    pub class: RetryClass,
}

impl<E> Classified<E> {
    /// An error with its class.
    pub fn new(error: E, class: RetryClass) -> Self {
        Classified { error, class }
    }

    /// A permanent failure: the driver stops at once.
    pub fn fail(error: E) -> Self {
        Classified::new(error, RetryClass::Fail)
    }
}

/// The driver for operations that classify their own failures: `op` returns
/// [`Classified`] errors (a class per attempt, e.g. a 503 with the server's Retry-After), and
/// `notify(&error, attempt, next_delay)` runs before each wait (count retries, pause a pacer).
/// The [`RetryError`] carries the plain error.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// use std::time::Duration;
/// use retry_policy::{retry_classified, Classified, RetryClass, RetryPolicy};
///
/// let policy = RetryPolicy::builder().max_attempts(3).no_budget().build();
/// let err = retry_classified(
///     &policy,
///     |attempt| async move {
///         // a 503 that says "Retry-After: 2"
///         Err::<(), _>(Classified::new(attempt, RetryClass::retry_after(Some(Duration::from_secs(2)))))
///     },
///     |_, _, delay| assert_eq!(delay, Duration::from_secs(2)),
/// )
/// .await
/// .unwrap_err();
/// assert_eq!((err.attempts, err.last), (3, 3));
/// # });
/// ```
pub async fn retry_classified<T, E, F, Fut, N>(
    policy: &RetryPolicy,
    op: F,
    mut notify: N,
) -> Result<T, RetryError<E>>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, Classified<E>>>,
    N: FnMut(&E, u32, Duration),
{
    retry_with(
        policy,
        op,
        |failure: &Classified<E>| failure.class,
        |failure: &Classified<E>, attempt, delay| notify(&failure.error, attempt, delay),
    )
    .await
    .map_err(|e| e.map_last(|failure| failure.error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backoff::{Backoff, Jitter};
    use crate::budget::RetryBudget;
    use std::cell::RefCell;

    #[derive(Debug, PartialEq)]
    enum Failure {
        Unavailable(u32),
        Limited(Duration),
        NotFound,
    }

    impl RetryableError for Failure {
        fn retry_class(&self) -> RetryClass {
            match self {
                Failure::Unavailable(_) => RetryClass::from_status(503, None),
                Failure::Limited(d) => RetryClass::from_status(429, Some(*d)),
                Failure::NotFound => RetryClass::from_status(404, None),
            }
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn constant(max_attempts: u32, delay: Duration) -> RetryPolicy {
        RetryPolicy::builder()
            .max_attempts(max_attempts)
            .backoff(Backoff::constant(delay))
            .no_budget()
            .build()
    }

    #[tokio::test(start_paused = true)]
    async fn counts_attempts_and_returns_the_last_error() {
        let policy = constant(4, ms(100));
        let calls = RefCell::new(Vec::new());
        let err = retry(&policy, |attempt| {
            calls.borrow_mut().push(attempt);
            async move { Err::<(), _>(Failure::Unavailable(attempt)) }
        })
        .await
        .unwrap_err();
        assert_eq!(err.attempts, 4);
        assert_eq!(err.last, Failure::Unavailable(4));
        assert_eq!(err.reason, GiveUp::MaxAttempts);
        assert_eq!(err.elapsed, ms(300));
        assert_eq!(*calls.borrow(), vec![1, 2, 3, 4]);
    }

    #[tokio::test(start_paused = true)]
    async fn succeeds_after_failures_and_refunds_the_budget() {
        let budget = RetryBudget::new(100, 5, 10, 1);
        let policy = RetryPolicy::builder()
            .backoff(Backoff::constant(ms(50)))
            .budget(budget.clone())
            .build();
        let start = Instant::now();
        let value = retry(&policy, |attempt| async move {
            if attempt < 3 {
                Err(Failure::Unavailable(attempt))
            } else {
                Ok(attempt * 10)
            }
        })
        .await
        .unwrap();
        assert_eq!(value, 30);
        assert_eq!(start.elapsed(), ms(100));
        assert_eq!(budget.available(), 100 - 10 + 1);
    }

    #[tokio::test(start_paused = true)]
    async fn notify_is_called_once_per_retry() {
        let policy = RetryPolicy::builder()
            .max_attempts(4)
            .backoff(Backoff::exponential(ms(100), ms(1000)).jitter(Jitter::None))
            .no_budget()
            .build();
        let mut seen = Vec::new();
        let err = retry_notify(
            &policy,
            |attempt| async move { Err::<(), _>(Failure::Unavailable(attempt)) },
            |e, attempt, delay| seen.push((format!("{e:?}"), attempt, delay)),
        )
        .await
        .unwrap_err();
        assert_eq!(err.attempts, 4);
        assert_eq!(
            seen,
            vec![
                ("Unavailable(1)".to_string(), 1, ms(100)),
                ("Unavailable(2)".to_string(), 2, ms(200)),
                ("Unavailable(3)".to_string(), 3, ms(400)),
            ]
        );
    }

    /// Every wait is exactly the delay the policy computed (decorrelated jitter from a seed), measured
    /// on tokio's clock between attempt starts.
    #[tokio::test(start_paused = true)]
    async fn waits_exactly_the_computed_delays() {
        let build = || {
            RetryPolicy::builder()
                .max_attempts(6)
                .backoff(Backoff::exponential(ms(200), ms(3000)).jitter(Jitter::Decorrelated))
                .no_budget()
                .seed(2024)
                .build()
        };
        let mirror = build();
        let mut expected = Vec::new();
        let mut prev = None;
        for attempt in 1..6 {
            let d = mirror
                .next_delay(attempt, Duration::ZERO, &RetryClass::retry(), prev)
                .unwrap();
            expected.push(d);
            prev = Some(d);
        }
        let starts = RefCell::new(Vec::new());
        let mut notified = Vec::new();
        let err = retry_notify(
            &build(),
            |attempt| {
                starts.borrow_mut().push(Instant::now());
                async move { Err::<(), _>(Failure::Unavailable(attempt)) }
            },
            |_, _, d| notified.push(d),
        )
        .await
        .unwrap_err();
        let starts = starts.into_inner();
        let gaps: Vec<_> = starts.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(gaps, expected);
        assert_eq!(notified, expected);
        assert_eq!(err.elapsed, expected.iter().sum::<Duration>());
    }

    #[tokio::test(start_paused = true)]
    async fn honours_retry_after_and_its_floor() {
        let policy = constant(5, ms(10));
        let starts = RefCell::new(Vec::new());
        let script = [ms(2000), Duration::ZERO, ms(1500)];
        let value = retry(&policy, |attempt| {
            starts.borrow_mut().push(Instant::now());
            let step = script.get(attempt as usize - 1).copied();
            async move {
                match step {
                    Some(d) => Err(Failure::Limited(d)),
                    None => Ok("ok"),
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(value, "ok");
        let starts = starts.into_inner();
        let gaps: Vec<_> = starts.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(
            gaps,
            vec![ms(2000), ms(1000), ms(1500)],
            "Retry-After 0 waits the 1 s floor"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_past_the_cap_gives_up_without_waiting() {
        let policy = RetryPolicy::default();
        let start = Instant::now();
        let err = retry(&policy, |_| async {
            Err::<(), _>(Failure::Limited(Duration::from_secs(500)))
        })
        .await
        .unwrap_err();
        assert_eq!(err.attempts, 1);
        assert_eq!(err.elapsed, Duration::ZERO);
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert_eq!(
            err.reason,
            GiveUp::RetryAfterTooLong {
                retry_after: Duration::from_secs(500),
                cap: Duration::from_secs(180)
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_errors_are_not_retried() {
        let start = Instant::now();
        let err = retry(&RetryPolicy::default(), |_| async {
            Err::<(), _>(Failure::NotFound)
        })
        .await
        .unwrap_err();
        assert_eq!(
            (err.attempts, err.reason, err.last),
            (1, GiveUp::Permanent, Failure::NotFound)
        );
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_classifier_overrides_the_error_per_call() {
        let policy = constant(3, ms(10));
        // 404 is permanent by default; this call knows the resource is still being created.
        let err = retry_with(
            &policy,
            |_| async { Err::<(), _>(Failure::NotFound) },
            |_| RetryClass::retry(),
            |_, _, _| {},
        )
        .await
        .unwrap_err();
        assert_eq!((err.attempts, err.reason), (3, GiveUp::MaxAttempts));
        // And the reverse: never retry a 503 on this call.
        let err = retry_with(
            &policy,
            |n| async move { Err::<(), _>(Failure::Unavailable(n)) },
            |_| RetryClass::Fail,
            |_, _, _| {},
        )
        .await
        .unwrap_err();
        assert_eq!((err.attempts, err.reason), (1, GiveUp::Permanent));
    }

    #[tokio::test(start_paused = true)]
    async fn a_drained_budget_stops_retries_across_calls() {
        let policy = RetryPolicy::builder()
            .max_attempts(10)
            .backoff(Backoff::constant(ms(10)))
            .budget(RetryBudget::new(15, 5, 10, 1))
            .build();
        let err = retry(
            &policy,
            |n| async move { Err::<(), _>(Failure::Unavailable(n)) },
        )
        .await
        .unwrap_err();
        assert_eq!((err.attempts, err.reason), (4, GiveUp::BudgetExhausted));
        // A clone (another caller) finds the bucket empty too: one attempt, no retry.
        let clone = policy.clone();
        let err = retry(
            &clone,
            |n| async move { Err::<(), _>(Failure::Unavailable(n)) },
        )
        .await
        .unwrap_err();
        assert_eq!((err.attempts, err.reason), (1, GiveUp::BudgetExhausted));
    }

    #[tokio::test(start_paused = true)]
    async fn max_elapsed_stops_before_a_wait_that_would_pass_it() {
        let policy = RetryPolicy::builder()
            .max_attempts(100)
            .max_elapsed(Duration::from_secs(1))
            .backoff(Backoff::constant(ms(300)))
            .no_budget()
            .build();
        let err = retry(&policy, |n| async move {
            tokio::time::sleep(ms(50)).await; // each attempt takes time too
            Err::<(), _>(Failure::Unavailable(n))
        })
        .await
        .unwrap_err();
        // attempts start at 0, 350, 700; after the third (750 ms) a 300 ms wait would pass 1 s.
        assert_eq!((err.attempts, err.reason), (3, GiveUp::MaxElapsed));
        assert_eq!(err.elapsed, ms(750));
    }

    #[tokio::test(start_paused = true)]
    async fn classified_outcomes_carry_their_own_delay_and_class() {
        let policy = constant(5, ms(10));
        let starts = RefCell::new(Vec::new());
        let mut notified = Vec::new();
        let err = retry_classified(
            &policy,
            |attempt| {
                starts.borrow_mut().push(Instant::now());
                async move {
                    Err::<(), _>(match attempt {
                        1 => Classified::new("limited", RetryClass::retry_after(Some(ms(1500)))),
                        2 => Classified::new("unavailable", RetryClass::retry()),
                        _ => Classified::fail("refused"),
                    })
                }
            },
            |e, attempt, delay| notified.push((*e, attempt, delay)),
        )
        .await
        .unwrap_err();
        assert_eq!(
            (err.attempts, err.reason, err.last),
            (3, GiveUp::Permanent, "refused")
        );
        assert_eq!(
            notified,
            vec![("limited", 1, ms(1500)), ("unavailable", 2, ms(10))]
        );
        let starts = starts.into_inner();
        let gaps: Vec<_> = starts.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(gaps, vec![ms(1500), ms(10)]);
    }
}
