//! The org-wide rate limit: GCRA (rate + burst) plus the `inin-ratelimit-*` window counter.

use std::time::Duration;

use tokio::time::Instant;

/// Length of the window the `inin-ratelimit-*` headers describe.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);

/// `allowed` reported when no limit is configured.
pub(crate) const UNLIMITED_ALLOWED: u64 = 1_000_000;

/// Outcome of one admission check.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Admission {
    Allowed,
    /// Limited; a conforming request is possible after this long.
    Limited(Duration),
}

/// Generic cell rate algorithm over tokio time.
#[derive(Debug)]
pub(crate) struct Gcra {
    emission: Duration,
    tolerance: Duration,
    tat: Option<Instant>,
}

impl Gcra {
    pub fn new(rate_per_sec: f64, burst: u32) -> Self {
        let emission = Duration::from_secs_f64(1.0 / rate_per_sec);
        Self {
            emission,
            tolerance: emission * burst.saturating_sub(1),
            tat: None,
        }
    }

    pub fn rate_per_sec(&self) -> f64 {
        1.0 / self.emission.as_secs_f64()
    }

    /// (Requests in use, time until the bucket is full again) at `now`.
    pub fn usage(&self, now: Instant) -> (u32, Duration) {
        let ahead = self
            .tat
            .map_or(Duration::ZERO, |t| t.saturating_duration_since(now));
        let in_use = (ahead.as_secs_f64() / self.emission.as_secs_f64()).ceil();
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        (in_use.min(f64::from(u32::MAX)) as u32, ahead)
    }

    pub fn check(&mut self, now: Instant) -> Admission {
        let tat = self.tat.map_or(now, |t| t.max(now));
        let ahead = tat - now;
        if ahead > self.tolerance {
            Admission::Limited(ahead - self.tolerance)
        } else {
            self.tat = Some(tat + self.emission);
            Admission::Allowed
        }
    }
}

/// Fixed 60 s windows counted from the sim's start, for the informational headers.
#[derive(Debug)]
pub(crate) struct WindowCounter {
    origin: Instant,
    window: u64,
    count: u64,
}

impl WindowCounter {
    pub fn new(origin: Instant) -> Self {
        Self {
            origin,
            window: 0,
            count: 0,
        }
    }

    /// Counts one request; returns (count in window, seconds until the window resets).
    pub fn hit(&mut self, now: Instant) -> (u64, u64) {
        let elapsed = now.saturating_duration_since(self.origin);
        let window = elapsed.as_secs() / WINDOW.as_secs();
        if window != self.window {
            self.window = window;
            self.count = 0;
        }
        self.count += 1;
        let reset = (window + 1) * WINDOW.as_secs() - elapsed.as_secs();
        (self.count, reset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn gcra_allows_burst_then_paces() {
        let mut g = Gcra::new(2.0, 3);
        let now = Instant::now();
        for _ in 0..3 {
            assert_eq!(g.check(now), Admission::Allowed);
        }
        match g.check(now) {
            Admission::Limited(d) => assert_eq!(d, Duration::from_millis(500)),
            other => panic!("expected limited, got {other:?}"),
        }
        assert_eq!(
            g.check(now + Duration::from_millis(500)),
            Admission::Allowed
        );
        assert!(matches!(
            g.check(now + Duration::from_millis(500)),
            Admission::Limited(_)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn window_counter_resets_each_minute() {
        let t0 = Instant::now();
        let mut w = WindowCounter::new(t0);
        assert_eq!(w.hit(t0), (1, 60));
        assert_eq!(w.hit(t0 + Duration::from_secs(59)), (2, 1));
        assert_eq!(w.hit(t0 + Duration::from_secs(61)), (1, 59));
    }
}
