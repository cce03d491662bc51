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
