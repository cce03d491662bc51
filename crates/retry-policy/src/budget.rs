//! A retry budget shared across calls, after AWS's retry quota.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// A token bucket that every retry draws from and every success refills a little, so a fleet of
/// callers cannot storm a failing service: once the service fails often enough, retries stop
/// until successes earn tokens back.
///
/// Clones share one bucket. The default is AWS's retry quota: 500 tokens, 5 per retry, 10 per
/// retry after a timeout, 1 back per success.
///
/// ```
/// use retry_policy::RetryBudget;
///
/// let budget = RetryBudget::new(10, 5, 10, 1);
/// let shared = budget.clone();
/// assert!(budget.try_spend(false)); // 5 left
/// assert!(!shared.try_spend(true)); // a timeout retry needs 10
/// shared.on_success();
/// assert_eq!(budget.available(), 6);
/// ```
#[derive(Clone)]
pub struct RetryBudget {
    inner: Arc<Bucket>,
}

struct Bucket {
    capacity: u32,
    retry_cost: u32,
    timeout_cost: u32,
    success_refund: u32,
    tokens: AtomicU32,
}

impl RetryBudget {
    /// A full bucket of `capacity` tokens; a retry costs `retry_cost` (or `timeout_cost` after a
    /// timeout) and each success refunds `success_refund`, never above `capacity`.
    pub fn new(capacity: u32, retry_cost: u32, timeout_cost: u32, success_refund: u32) -> Self {
        Self {
            inner: Arc::new(Bucket {
                capacity,
                retry_cost,
                timeout_cost,
                success_refund,
                tokens: AtomicU32::new(capacity),
            }),
        }
    }

    /// Takes the cost of one retry if the bucket holds it. `false` means: do not retry.
    pub fn try_spend(&self, timeout: bool) -> bool {
        let cost = if timeout {
            self.inner.timeout_cost
        } else {
            self.inner.retry_cost
        };
        match self
            .inner
            .tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| t.checked_sub(cost))
        {
            Ok(before) => {
                emit_tokens(before - cost);
                true
            }
            Err(_) => false,
        }
    }

    /// Refunds a success's share, up to the capacity.
    pub fn on_success(&self) {
        let refund = self.inner.success_refund;
        let capacity = self.inner.capacity;
        // The closure returns None when the bucket is full: nothing changes, nothing to report.
        if let Ok(before) =
            self.inner
                .tokens
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                    (t < capacity).then(|| t.saturating_add(refund).min(capacity))
                })
        {
            emit_tokens(before.saturating_add(refund).min(capacity));
        }
    }

    /// Tokens left now.
    pub fn available(&self) -> u32 {
        self.inner.tokens.load(Ordering::Acquire)
    }

    /// The size of the bucket.
    pub fn capacity(&self) -> u32 {
        self.inner.capacity
    }

    /// True when `other` is a clone of this budget (they share one bucket).
    pub fn shares_bucket_with(&self, other: &RetryBudget) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

fn emit_tokens(tokens: u32) {
    metrics::gauge!(crate::metric_names::RETRY_BUDGET_TOKENS).set(f64::from(tokens));
}

impl Default for RetryBudget {
    /// AWS's retry quota: 500 tokens, 5 per retry, 10 per timeout retry, 1 back per success.
    fn default() -> Self {
        Self::new(500, 5, 10, 1)
    }
}

impl fmt::Debug for RetryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryBudget")
            .field("available", &self.available())
            .field("capacity", &self.inner.capacity)
            .field("retry_cost", &self.inner.retry_cost)
            .field("timeout_cost", &self.inner.timeout_cost)
            .field("success_refund", &self.inner.success_refund)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_the_aws_quota() {
        let b = RetryBudget::default();
        assert_eq!(b.available(), 500);
        // 100 plain retries drain it exactly.
        for _ in 0..100 {
            assert!(b.try_spend(false));
        }
        assert!(!b.try_spend(false));
        assert_eq!(b.available(), 0);
        for _ in 0..10 {
            b.on_success();
        }
        assert_eq!(b.available(), 10);
        assert!(b.try_spend(true));
        assert!(!b.try_spend(false));
    }

    #[test]
    fn refunds_stop_at_capacity() {
        let b = RetryBudget::new(7, 5, 10, 3);
        b.on_success();
        assert_eq!(b.available(), 7);
        assert!(b.try_spend(false));
        b.on_success();
        b.on_success();
        assert_eq!(b.available(), 7);
    }

    #[test]
    fn clones_share_one_bucket_across_threads() {
        let b = RetryBudget::new(1000, 1, 2, 1);
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let b = b.clone();
                std::thread::spawn(move || (0..400).filter(|_| b.try_spend(false)).count())
            })
            .collect();
        let spent: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(spent, 1000, "exactly the capacity is handed out");
        assert_eq!(b.available(), 0);
        assert!(b.shares_bucket_with(&b.clone()));
        assert!(!b.shares_bucket_with(&RetryBudget::default()));
    }

    #[test]
    fn debug_shows_the_level() {
        let s = format!("{:?}", RetryBudget::new(3, 1, 1, 1));
        assert!(s.contains("available: 3"), "{s}");
    }
}
