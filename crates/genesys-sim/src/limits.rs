//! The limit models the org can enforce ([`LimitModel`]), and the rate-limit headers each one
//! answers with.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::error::SimError;
use crate::ratelimit::{Admission, Gcra, UNLIMITED_ALLOWED, WINDOW, WindowCounter};

/// What a token bucket says in its `inin-ratelimit-*` headers.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BucketHeaders {
    /// A per-minute count beside the bucket: `allowed` = rate × 60, `count` = requests (429s
    /// included) in fixed 60 s windows counted from the org's start, `reset` = seconds left in
    /// that window. The headers say nothing of the burst or the per-second pace (the default:
    /// what [`SimOrgBuilder::rate_limit`](crate::SimOrgBuilder::rate_limit) always served).
    #[default]
    PerMinute,
    /// The bucket itself: `allowed` = the burst, `count` = tokens in use, `reset` = whole
    /// seconds (rounded up) until the bucket is full again.
    Bucket,
}

/// The org-wide limit on API calls (`/oauth/token` only with
/// [`SimOrgBuilder::token_rate_limited`](crate::SimOrgBuilder::token_rate_limited)). Over it:
/// 429, `Retry-After` (whole seconds until a request would pass, at least 1; 0 in
/// [`retry_after_zero`](crate::SimOrgBuilder::retry_after_zero) mode) and the normalized
/// Genesys message "Retry the request in \[N\] seconds".
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum LimitModel {
    /// No limit. Headers announce 1,000,000 requests per fixed 60 s window.
    #[default]
    None,
    /// `allowed` requests per fixed `window`, windows counted from the org's start. Headers:
    /// `allowed`, `count` = requests admitted in the window so far, `reset` = whole seconds
    /// (rounded up) until the window ends.
    FixedWindow {
        /// Requests admitted per window.
        allowed: u64,
        /// The window's length.
        window: Duration,
    },
    /// GCRA: `rate` a second sustained, `burst` at once.
    TokenBucket {
        /// Requests a second.
        rate: f64,
        /// Requests at once.
        burst: u32,
        /// What the headers say.
        headers: BucketHeaders,
    },
}

impl LimitModel {
    pub(crate) fn validate(&self) -> Result<(), SimError> {
        match *self {
            LimitModel::None => Ok(()),
            LimitModel::FixedWindow { allowed, window } => {
                if allowed >= 1 && window >= Duration::from_millis(1) {
                    Ok(())
                } else {
                    Err(SimError::InvalidConfig(format!(
                        "a fixed window needs allowed >= 1 and a window of at least 1 ms (got {allowed}, {window:?})"
                    )))
                }
            }
            LimitModel::TokenBucket { rate, burst, .. } => check_rate(rate, burst),
        }
    }
}

/// Outcome of one request against the limit, with the headers to answer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Decision {
    pub admission: Admission,
    pub allowed: u64,
    pub count: u64,
    pub reset: u64,
}

#[derive(Debug)]
enum Enforcer {
    None,
    Fixed {
        allowed: u64,
        window: Duration,
        index: u64,
        count: u64,
    },
    Bucket {
        gcra: Gcra,
        burst: u32,
        headers: BucketHeaders,
    },
}

/// The limit in force and its counters.
#[derive(Debug)]
pub(crate) struct Limits {
    origin: Instant,
    enforcer: Enforcer,
    /// The per-minute count of [`BucketHeaders::PerMinute`] and of no limit.
    minute: WindowCounter,
}

/// Whole seconds, rounded up.
fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl Limits {
    pub fn new(model: LimitModel, origin: Instant) -> Self {
        let mut limits = Self {
            origin,
            enforcer: Enforcer::None,
            minute: WindowCounter::new(origin),
        };
        limits.set(model);
        limits
    }

    /// Replaces the model from now on (fixed windows keep counting from the org's start).
    pub fn set(&mut self, model: LimitModel) {
        self.enforcer = match model {
            LimitModel::None => Enforcer::None,
            LimitModel::FixedWindow { allowed, window } => Enforcer::Fixed {
                allowed,
                window,
                index: u64::MAX,
                count: 0,
            },
            LimitModel::TokenBucket {
                rate,
                burst,
                headers,
            } => Enforcer::Bucket {
                gcra: Gcra::new(rate, burst),
                burst,
                headers,
            },
        };
    }

    /// One API request at `now`; `enforced` is false for paths the limit does not cover
    /// (they still get headers).
    pub fn decide(&mut self, now: Instant, enforced: bool) -> Decision {
        let (minute_count, minute_reset) = self.minute.hit(now);
        match &mut self.enforcer {
            Enforcer::None => Decision {
                admission: Admission::Allowed,
                allowed: UNLIMITED_ALLOWED,
                count: minute_count,
                reset: minute_reset,
            },
            Enforcer::Fixed {
                allowed,
                window,
                index,
                count,
            } => {
                let elapsed = now.saturating_duration_since(self.origin);
                let k = u64::try_from(elapsed.as_nanos() / window.as_nanos()).unwrap_or(u64::MAX);
                if k != *index {
                    *index = k;
                    *count = 0;
                }
                let end = window
                    .checked_mul(u32::try_from(k.saturating_add(1)).unwrap_or(u32::MAX))
                    .map_or(now, |d| self.origin + d);
                let left = end.saturating_duration_since(now);
                let admission = if !enforced {
                    Admission::Allowed
                } else if *count < *allowed {
                    *count += 1;
                    Admission::Allowed
                } else {
                    Admission::Limited(left)
                };
                Decision {
                    admission,
                    allowed: *allowed,
                    count: *count,
                    reset: ceil_secs(left).max(1),
                }
            }
            Enforcer::Bucket {
                gcra,
                burst,
                headers,
            } => {
                let admission = if enforced {
                    gcra.check(now)
                } else {
                    Admission::Allowed
                };
                match headers {
                    BucketHeaders::PerMinute => Decision {
                        admission,
                        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                        allowed: (gcra.rate_per_sec() * WINDOW.as_secs_f64())
                            .round()
                            .max(1.0) as u64,
                        count: minute_count,
                        reset: minute_reset,
                    },
                    BucketHeaders::Bucket => {
                        let (in_use, until_full) = gcra.usage(now);
                        Decision {
                            admission,
                            allowed: u64::from(*burst),
                            count: u64::from(in_use.min(*burst)),
                            reset: ceil_secs(until_full),
                        }
                    }
                }
            }
        }
    }
}

pub(crate) fn check_rate(rate: f64, burst: u32) -> Result<(), SimError> {
    if rate.is_finite() && rate > 0.0 && burst >= 1 {
        Ok(())
    } else {
        Err(SimError::InvalidConfig(format!(
            "rate limit needs rate > 0 and burst >= 1 (got {rate}, {burst})"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[tokio::test(start_paused = true)]
    async fn a_fixed_window_admits_its_budget_and_reports_it() {
        let t0 = Instant::now();
        let mut limits = Limits::new(
            LimitModel::FixedWindow {
                allowed: 3,
                window: Duration::from_secs(5),
            },
            t0,
        );
        let at = |n| t0 + ms(n);
        for (i, expected) in [(0, 1), (100, 2), (1200, 3)] {
            let d = limits.decide(at(i), true);
            assert_eq!(d.admission, Admission::Allowed);
            assert_eq!((d.allowed, d.count), (3, expected));
        }
        assert_eq!(
            limits.decide(at(1200), true).reset,
            4,
            "3.8 s left, rounded up"
        );
        assert_eq!(
            limits.decide(at(4500), true).admission,
            Admission::Limited(ms(500))
        );
        let d = limits.decide(at(5000), true);
        assert_eq!((d.admission, d.count, d.reset), (Admission::Allowed, 1, 5));
        // Paths outside the limit are not counted.
        let d = limits.decide(at(5001), false);
        assert_eq!(d.count, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_bucket_can_describe_itself() {
        let t0 = Instant::now();
        let mut limits = Limits::new(
            LimitModel::TokenBucket {
                rate: 5.0,
                burst: 5,
                headers: BucketHeaders::Bucket,
            },
            t0,
        );
        let first = limits.decide(t0, true);
        assert_eq!((first.allowed, first.count, first.reset), (5, 1, 1));
        for _ in 0..4 {
            assert_eq!(limits.decide(t0, true).admission, Admission::Allowed);
        }
        let full = limits.decide(t0, true);
        assert_eq!(full.admission, Admission::Limited(ms(200)));
        assert_eq!((full.count, full.reset), (5, 1));
        // 600 ms later three tokens are back.
        let later = limits.decide(t0 + ms(600), true);
        assert_eq!(later.admission, Admission::Allowed);
        assert_eq!(later.count, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn the_per_minute_headers_of_a_bucket_are_the_old_ones() {
        let t0 = Instant::now();
        let mut limits = Limits::new(
            LimitModel::TokenBucket {
                rate: 1.0,
                burst: 3,
                headers: BucketHeaders::PerMinute,
            },
            t0,
        );
        let d = limits.decide(t0, true);
        assert_eq!((d.allowed, d.count, d.reset), (60, 1, 60));
    }

    #[test]
    fn bad_models_are_refused() {
        let bad = [
            LimitModel::FixedWindow {
                allowed: 0,
                window: Duration::from_secs(1),
            },
            LimitModel::FixedWindow {
                allowed: 1,
                window: Duration::ZERO,
            },
            LimitModel::TokenBucket {
                rate: 0.0,
                burst: 1,
                headers: BucketHeaders::Bucket,
            },
        ];
        for model in bad {
            assert!(model.validate().is_err(), "{model:?}");
        }
        assert!(LimitModel::None.validate().is_ok());
    }
}
