//! Backoff with jitter, Retry-After and rate-limit headers, a retry budget and a shared GCRA
//! pacer for async Rust clients. It knows nothing of any particular API.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
//! use std::time::Duration;
//! use retry_policy::{retry_notify, Backoff, Pacer, RetryClass, RetryPolicy, RetryableError};
//!
//! #[derive(Debug)]
//! struct HttpError { status: u16, retry_after: Option<Duration> }
//! impl RetryableError for HttpError {
//!     fn retry_class(&self) -> RetryClass { RetryClass::from_status(self.status, self.retry_after) }
//! }
//!
//! let pacer = Pacer::per_minute(300, 1); // one pace for every clone
//! let policy = RetryPolicy::builder()
//!     .max_attempts(5)
//!     .backoff(Backoff::exponential(Duration::from_millis(200), Duration::from_secs(10)))
//!     .build();
//! let answer = retry_notify(
//!     &policy,
//!     |attempt| {
//!         let pacer = pacer.clone();
//!         async move {
//!             pacer.acquire().await;
//!             if attempt == 1 { Err(HttpError { status: 429, retry_after: Some(Duration::from_secs(2)) }) }
//!             else { Ok("done") }
//!         }
//!     },
//!     |err, attempt, delay| {
//!         if let Some(ra) = err.retry_after { pacer.pause_for(ra) } // slow every holder down
//!         assert_eq!((attempt, delay), (1, Duration::from_secs(2)));
//!     },
//! )
//! .await;
//! assert_eq!(answer.unwrap(), "done");
//! # });
//! ```
//!
//! # What it does
//! - [`Backoff`]: exponential delays with [`Jitter`] `None`, `Full`, `Equal` or `Decorrelated`
//!   (AWS Architecture Blog, "Exponential Backoff and Jitter"), drawn from any `rand::Rng`.
//! - [`RetryPolicy`]: attempts, elapsed time, Retry-After capped (past the cap: give up at
//!   once, [`GiveUp::RetryAfterTooLong`]) and floored (`Retry-After: 0` still waits), a shared
//!   [`RetryBudget`] (AWS's retry quota), and a seedable RNG for exact tests.
//! - [`RetryableError`] / [`RetryClass`] / [`is_retryable_status`]: which failures retry.
//! - [`retry`], [`retry_notify`], [`retry_with`], [`retry_classified`]: the one async driver,
//!   giving a [`RetryError`]. Every retry loop in the workspace runs on it.
//! - [`redact::url`]: a URL with its user info (a password) replaced by `***`, for logs.
//! - [`headers`]: `Retry-After`, `inin-ratelimit-*` and `X-RateLimit-*` parsing that never panics.
//! - [`Pacer`]: one pace shared by every clone, paused for everyone by a 429: a configured GCRA
//!   rate (via `governor`, on tokio's clock) as a ceiling, or [`Pacer::adaptive`]; either learns
//!   the server's window from its rate-limit headers (never assuming its length) and falls back
//!   to AIMD where they say nothing ([`PacerStats`] / [`RateSource`] say which).
//!
//! # What it does not do
//! - No HTTP: it never sends a request; callers classify their own responses.
//! - No idempotency judgement: retry only operations that are safe to repeat.
//! - No cross-process coordination by default: a `Pacer` and a `RetryBudget` are shared within one
//!   process. With the `redis` feature, `Pacer::redis` shares one pace between the processes of
//!   a fleet (GCRA in a Lua script on Redis' clock, 429 pauses and learned rates shared, a local
//!   share of the limit while Redis is down); the `RetryBudget` stays per process.
//! - No runtime other than tokio: waits are `tokio::time` sleeps.

mod backoff;
mod budget;
mod classify;
mod driver;
mod error;
pub mod headers;
pub mod metric_names;
mod pacer;
mod policy;
pub mod redact;
#[cfg(feature = "test-util")]
pub mod test_util;

pub use backoff::{Backoff, Jitter};
pub use budget::RetryBudget;
pub use classify::{RetryClass, RetryableError, is_retryable_status};
pub use driver::{Classified, retry, retry_classified, retry_notify, retry_with};
pub use error::RetryError;
pub use headers::{RateLimitInfo, parse_retry_after, retry_after};
pub use pacer::{
    DEFAULT_ADAPTIVE_RATE, MAX_OBSERVED_PAUSE, MAX_WINDOW, MIN_RATE_PER_SECOND, Pacer, PacerStats,
    RateSource, TokioClock, rate_limited_wait,
};
#[cfg(feature = "redis")]
pub use pacer::{PacerScope, RedisPacerBuilder, SharedPacerError};
pub use policy::{GiveUp, RetryPolicy, RetryPolicyBuilder};

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    fn assert_send<T: Send>(_: &T) {}

    /// Clients spawn these onto multi-threaded runtimes: the types and futures must be Send.
    #[test]
    fn shared_types_and_futures_are_send() {
        let pacer = Pacer::per_second(10.0, 1);
        let policy = RetryPolicy::builder().seed(1).build();
        assert_send_sync(&pacer);
        assert_send_sync(&policy);
        assert_send_sync(&RetryBudget::default());
        assert_send(&pacer.acquire());
        let unseeded = RetryPolicy::default();
        let fut = retry_notify(
            &unseeded,
            |_| async { Err::<(), std::io::Error>(std::io::Error::other("x")) },
            |_, _, _| {},
        );
        assert_send(&fut);
        assert_send(&retry(&policy, |_| async { Ok::<_, std::io::Error>(1) }));
    }
}
