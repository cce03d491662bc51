//! One org-wide pace shared by every clone: GCRA through `governor`, a "paused until" that a
//! 429 sets for every holder, and a rate adapted from the server's rate-limit headers.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio::time::Instant;

use crate::headers::RateLimitInfo;

/// The lowest rate a pacer runs at: one request an hour.
pub const MIN_RATE_PER_SECOND: f64 = 1.0 / 3600.0;

/// The longest pause [`Pacer::observe`] takes from a reset time (a longer or absurd reset is
/// cut to this; a 429's Retry-After through [`Pacer::pause_for`] is not capped here).
pub const MAX_OBSERVED_PAUSE: Duration = Duration::from_secs(180);

/// The window `inin-ratelimit-allowed` counts over unless set with
/// [`Pacer::set_limit_window`]: Genesys Cloud's limits are per minute.
pub const DEFAULT_LIMIT_WINDOW: Duration = Duration::from_secs(60);

/// A `governor` clock over `tokio::time::Instant`, so rate limiting follows tokio's clock and
/// tests under `tokio::time::pause()` run without wall time.
///
/// Readings are nanoseconds since the clock was made (governor's [`Nanos`]); clones share the
/// origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokioClock {
    origin: Instant,
}

impl TokioClock {
    /// A clock whose zero is tokio's now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }

    /// The tokio instant a reading of this clock stands for.
    pub fn instant_of(&self, reading: Nanos) -> Instant {
        let since = Duration::from(reading);
        self.origin.checked_add(since).unwrap_or(self.origin)
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        let since = Instant::now().saturating_duration_since(self.origin);
        Nanos::from(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Nanos>>;

/// A request pace shared by every clone: hand one `Pacer` (cloned) to every worker that calls
/// the same rate-limited API, and call [`acquire`](Pacer::acquire) before each request.
///
/// - **Pace:** GCRA (`governor`) at the configured rate with a burst. With burst 1 no window of
///   one second holds more than `rate` requests; a burst `b` lets `b - 1` more through after idle
///   time.
/// - **Pause:** [`pause_for`](Pacer::pause_for) (say, from a 429's Retry-After) makes every
///   holder wait until then; pauses extend, never shorten.
/// - **Adaptation:** [`observe`](Pacer::observe) lowers the rate to what the server announces:
///   see its rule. The rate never rises above the configured one.
///
/// Time is tokio's ([`TokioClock`]) and waits are `tokio::time` sleeps.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// use std::time::Duration;
/// use retry_policy::Pacer;
///
/// let pacer = Pacer::per_minute(300, 1); // Genesys Cloud's default: 300 requests a minute
/// let worker = pacer.clone();            // same pace
/// let start = tokio::time::Instant::now();
/// pacer.acquire().await;
/// worker.acquire().await;                // 200 ms later
/// assert_eq!(start.elapsed(), Duration::from_millis(200));
/// worker.pause_for(Duration::from_secs(2)); // a 429 said Retry-After: 2
/// pacer.acquire().await;                 // waits out the pause
/// assert!(start.elapsed() >= Duration::from_millis(2200));
/// # });
/// ```
#[derive(Clone)]
pub struct Pacer {
    shared: Arc<Shared>,
}

struct Shared {
    clock: TokioClock,
    /// The user's rate; `None` = unlimited.
    configured: Option<f64>,
    burst: NonZeroU32,
    state: Mutex<State>,
}

struct State {
    /// The rate in force; `None` = unlimited.
    rate: Option<f64>,
    limiter: Option<Arc<Limiter>>,
    paused_until: Option<Instant>,
    limit_window: Duration,
    pause_when_exhausted: bool,
}

impl Pacer {
    /// `rate` requests a second with bursts of up to `burst` (0 counts as 1).
    ///
    /// An infinite rate is [`unlimited`](Pacer::unlimited); a rate that is not a positive number
    /// (0, negative, NaN) is raised to [`MIN_RATE_PER_SECOND`].
    pub fn per_second(rate: f64, burst: u32) -> Self {
        let configured = if rate == f64::INFINITY {
            None
        } else if rate.is_nan() || rate < MIN_RATE_PER_SECOND {
            tracing::warn!(
                rate,
                min = MIN_RATE_PER_SECOND,
                "pacer rate raised to the minimum"
            );
            Some(MIN_RATE_PER_SECOND)
        } else {
            Some(rate)
        };
        Self::with_rate(configured, burst)
    }

    /// `requests` a minute with bursts of up to `burst`.
    pub fn per_minute(requests: u32, burst: u32) -> Self {
        Self::per_second(f64::from(requests) / 60.0, burst)
    }

    /// No pace: [`acquire`](Pacer::acquire) only waits out pauses. [`observe`](Pacer::observe)
    /// never turns it into a limited pacer.
    pub fn unlimited() -> Self {
        Self::with_rate(None, 1)
    }

    fn with_rate(configured: Option<f64>, burst: u32) -> Self {
        let clock = TokioClock::new();
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let limiter = configured.and_then(|r| limiter(r, burst, clock, false));
        Self {
            shared: Arc::new(Shared {
                clock,
                configured,
                burst,
                state: Mutex::new(State {
                    rate: configured,
                    limiter,
                    paused_until: None,
                    limit_window: DEFAULT_LIMIT_WINDOW,
                    pause_when_exhausted: false,
                }),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays consistent under a panic (single assignments): keep using it.
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits out any pause, then for a GCRA slot. Cancel-safe: dropping the future takes no
    /// slot.
    pub async fn acquire(&self) {
        loop {
            let (paused_until, limiter) = {
                let state = self.state();
                (state.paused_until, state.limiter.clone())
            };
            if let Some(until) = paused_until
                && until > Instant::now()
            {
                tokio::time::sleep_until(until).await;
                continue;
            }
            let Some(limiter) = limiter else { return };
            match limiter.check() {
                Ok(()) => return,
                Err(not_until) => {
                    let wait = not_until.wait_time_from(self.shared.clock.now());
                    // Loop afterwards: a pause or a new rate may have arrived meanwhile.
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Every holder waits until now + `d` before its next request. Extends a pause in force,
    /// never shortens it.
    pub fn pause_for(&self, d: Duration) {
        let now = Instant::now();
        // Far beyond any sensible pause, yet safely representable.
        let until = now
            .checked_add(d)
            .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
            .unwrap_or(now);
        let mut state = self.state();
        if state.paused_until.is_none_or(|current| current < until) {
            state.paused_until = Some(until);
            drop(state);
            tracing::debug!(
                pause_ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
                "pacer paused"
            );
        }
    }

    /// When the pause in force ends; `None` when there is none.
    pub fn paused_until(&self) -> Option<Instant> {
        self.state()
            .paused_until
            .filter(|until| *until > Instant::now())
    }

    /// Adapts to what the server said about its limit.
    ///
    /// The rule, when `info.limit` (`inin-ratelimit-allowed`, or `X-RateLimit-Limit`) is present
    /// and above zero: the server allows `limit` requests per limit window (one minute, as
    /// Genesys Cloud counts; see [`set_limit_window`](Pacer::set_limit_window)), so the pace
    /// becomes `min(configured, limit / window)`. It never rises above the configured rate, and
    /// follows the server back up to it when the server's limit grows. Changes under 1% are
    /// ignored so every response does not rebuild the limiter; a new limiter starts with its
    /// burst spent, so a change never lets a burst through.
    ///
    /// Opt-in (see [`set_pause_when_exhausted`](Pacer::set_pause_when_exhausted)): when
    /// `info.remaining` is 0 and `info.reset` is known, every holder pauses until the reset (at
    /// most [`MAX_OBSERVED_PAUSE`]). Off by default because the count headers are informational
    /// (a 429's Retry-After through [`pause_for`](Pacer::pause_for) is the authoritative
    /// signal) and servers count windows differently.
    ///
    /// An [`unlimited`](Pacer::unlimited) pacer keeps no rate, so only the opt-in pause applies.
    pub fn observe(&self, info: &RateLimitInfo) {
        let pause_when_exhausted = self.state().pause_when_exhausted;
        if pause_when_exhausted
            && info.remaining == Some(0)
            && let Some(reset) = info.reset
            && !reset.is_zero()
        {
            self.pause_for(reset.min(MAX_OBSERVED_PAUSE));
        }
        let (Some(configured), Some(limit)) = (self.shared.configured, info.limit) else {
            return;
        };
        if limit == 0 {
            return;
        }
        let window = self.state().limit_window;
        #[allow(clippy::cast_precision_loss)] // limits are far below 2^52
        let server_rate = limit as f64 / window.as_secs_f64();
        self.set_rate(server_rate.min(configured));
    }

    /// Sets the pace, clamped to `[MIN_RATE_PER_SECOND, configured]`. No effect on an
    /// unlimited pacer or when the change is under 1%.
    pub fn set_rate(&self, rate_per_second: f64) {
        let Some(configured) = self.shared.configured else {
            return;
        };
        let target = if rate_per_second.is_nan() {
            configured
        } else {
            rate_per_second.clamp(MIN_RATE_PER_SECOND, configured)
        };
        let mut state = self.state();
        let current = state.rate.unwrap_or(configured);
        if (target - current).abs() <= current * 0.01 {
            return;
        }
        state.limiter = limiter(target, self.shared.burst, self.shared.clock, true);
        state.rate = Some(target);
        drop(state);
        tracing::info!(
            from = current,
            to = target,
            configured,
            "pacer rate changed"
        );
    }

    /// Sets the window that [`observe`](Pacer::observe) counts a server's limit over (default
    /// one minute). Zero is ignored.
    pub fn set_limit_window(&self, window: Duration) {
        if !window.is_zero() {
            self.state().limit_window = window;
        }
    }

    /// Whether [`observe`](Pacer::observe) pauses every holder until the window resets when the
    /// server says nothing remains in it (default off).
    pub fn set_pause_when_exhausted(&self, on: bool) {
        self.state().pause_when_exhausted = on;
    }

    /// The pace in force, in requests a second (`f64::INFINITY` when unlimited).
    pub fn rate_per_second(&self) -> f64 {
        self.state().rate.unwrap_or(f64::INFINITY)
    }

    /// The pace the pacer was made with (`f64::INFINITY` when unlimited).
    pub fn configured_rate_per_second(&self) -> f64 {
        self.shared.configured.unwrap_or(f64::INFINITY)
    }

    /// The burst size.
    pub fn burst(&self) -> u32 {
        self.shared.burst.get()
    }

    /// True when `other` is a clone of this pacer (they share one pace).
    pub fn shares_pace_with(&self, other: &Pacer) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl fmt::Debug for Pacer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("Pacer")
            .field("rate_per_second", &state.rate.unwrap_or(f64::INFINITY))
            .field(
                "configured_rate_per_second",
                &self.shared.configured.unwrap_or(f64::INFINITY),
            )
            .field("burst", &self.shared.burst)
            .field("paused_until", &state.paused_until)
            .finish()
    }
}

/// A GCRA limiter for `rate` a second; `None` when the rate is too high to pace (an interval
/// under a nanosecond). `drained` starts it with the burst spent.
fn limiter(rate: f64, burst: NonZeroU32, clock: TokioClock, drained: bool) -> Option<Arc<Limiter>> {
    let period = Duration::try_from_secs_f64(1.0 / rate.max(MIN_RATE_PER_SECOND)).ok()?;
    let quota = Quota::with_period(period)?.allow_burst(burst);
    let limiter = RateLimiter::direct_with_clock(quota, clock);
    if drained {
        // The burst always fits its own quota, so this only spends it.
        let _ = limiter.check_n(burst);
    }
    Some(Arc::new(limiter))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// The most instants in any half-open window `[t, t + width)` starting at a recorded instant
    /// (the busiest window always starts at one).
    fn busiest_window(times: &[Instant], width: Duration) -> usize {
        let mut sorted = times.to_vec();
        sorted.sort();
        sorted
            .iter()
            .map(|start| {
                sorted
                    .iter()
                    .filter(|t| **t >= *start && **t < *start + width)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    async fn two_tasks(pacer: &Pacer, each: usize) -> Vec<Instant> {
        let times = Arc::new(Mutex::new(Vec::new()));
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let pacer = pacer.clone();
                let times = times.clone();
                tokio::spawn(async move {
                    for _ in 0..each {
                        pacer.acquire().await;
                        times.lock().unwrap().push(Instant::now());
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        times.lock().unwrap().clone()
    }

    #[tokio::test(start_paused = true)]
    async fn two_tasks_never_exceed_ten_in_any_second() {
        let pacer = Pacer::per_second(10.0, 1);
        let start = Instant::now();
        let times = two_tasks(&pacer, 25).await;
        assert_eq!(times.len(), 50);
        assert!(busiest_window(&times, Duration::from_secs(1)) <= 10);
        // Not slower than the pace either: 50 requests, 49 intervals of 100 ms.
        assert_eq!(times.iter().max().unwrap().duration_since(start), ms(4900));
        // Every window starting anywhere, not just at a request, holds at most 10.
        let mut t = start;
        while t < start + Duration::from_secs(5) {
            let n = times
                .iter()
                .filter(|x| **x >= t && **x < t + Duration::from_secs(1))
                .count();
            assert!(n <= 10, "{n} requests in the second from {:?}", t - start);
            t += ms(10);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_stays_within_the_gcra_bound() {
        let pacer = Pacer::per_second(10.0, 5);
        let times = two_tasks(&pacer, 30).await;
        // GCRA: burst + rate * window - 1 in any one-second window.
        assert_eq!(busiest_window(&times, Duration::from_secs(1)), 14);
        // The first five go at once.
        let first = *times.iter().min().unwrap();
        assert_eq!(times.iter().filter(|t| **t == first).count(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_set_through_one_clone_delays_the_other() {
        let a = Pacer::per_second(100.0, 1);
        let b = a.clone();
        assert!(a.shares_pace_with(&b));
        let start = Instant::now();
        a.pause_for(Duration::from_secs(2));
        assert_eq!(b.paused_until(), Some(start + Duration::from_secs(2)));
        b.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        assert_eq!(a.paused_until(), None, "the pause is over");
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_reaches_a_holder_already_waiting_for_a_slot() {
        let a = Pacer::per_second(1.0, 1);
        let b = a.clone();
        let start = Instant::now();
        a.acquire().await; // the next slot is at 1 s
        let waiter = tokio::spawn(async move {
            b.acquire().await;
            Instant::now()
        });
        tokio::time::sleep(ms(100)).await;
        a.pause_for(Duration::from_secs(3)); // until 3.1 s
        let done = waiter.await.unwrap();
        assert_eq!(done - start, ms(3100));
    }

    #[tokio::test(start_paused = true)]
    async fn pauses_extend_and_never_shorten() {
        let p = Pacer::unlimited();
        let start = Instant::now();
        p.pause_for(Duration::from_secs(5));
        p.pause_for(Duration::from_secs(1));
        assert_eq!(p.paused_until(), Some(start + Duration::from_secs(5)));
        p.pause_for(Duration::from_secs(8));
        assert_eq!(p.paused_until(), Some(start + Duration::from_secs(8)));
        p.pause_for(Duration::MAX); // absurd, but no panic
        assert!(p.paused_until().unwrap() > start + Duration::from_secs(86_400 * 365));
    }

    #[tokio::test(start_paused = true)]
    async fn observe_lowers_the_rate_and_never_raises_it_past_the_configured() {
        let p = Pacer::per_second(10.0, 1);
        let other = p.clone();
        // 120 allowed a minute = 2 a second.
        p.observe(&RateLimitInfo::new(
            Some(120),
            Some(3),
            None,
            Some(Duration::from_secs(50)),
        ));
        assert_eq!(other.rate_per_second(), 2.0);
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..4 {
            other.acquire().await;
            times.push(Instant::now() - start);
        }
        // The new limiter starts with its burst spent: the first slot is one interval away.
        assert_eq!(times, vec![ms(500), ms(1000), ms(1500), ms(2000)]);
        // The server allows 100 a second: we stay at the configured 10.
        p.observe(&RateLimitInfo::new(Some(6000), None, None, None));
        assert_eq!(p.rate_per_second(), 10.0);
        assert_eq!(p.configured_rate_per_second(), 10.0);
        // A change under 1% is ignored; no limit, or a zero limit, changes nothing.
        p.observe(&RateLimitInfo::new(Some(597), None, None, None));
        assert_eq!(p.rate_per_second(), 10.0);
        p.observe(&RateLimitInfo::new(None, Some(5), Some(5), None));
        p.observe(&RateLimitInfo::new(Some(0), None, None, None));
        assert_eq!(p.rate_per_second(), 10.0);
    }

    #[tokio::test(start_paused = true)]
    async fn observe_uses_the_limit_window() {
        let p = Pacer::per_second(10.0, 1);
        p.set_limit_window(Duration::from_secs(10));
        p.observe(&RateLimitInfo::new(Some(30), None, None, None));
        assert_eq!(p.rate_per_second(), 3.0);
    }

    #[tokio::test(start_paused = true)]
    async fn observe_pauses_when_nothing_remains_if_asked() {
        let p = Pacer::per_second(10.0, 1);
        let start = Instant::now();
        let exhausted =
            RateLimitInfo::new(Some(600), Some(600), Some(0), Some(Duration::from_secs(7)));
        p.observe(&exhausted);
        assert_eq!(p.paused_until(), None, "off by default");
        p.set_pause_when_exhausted(true);
        p.observe(&RateLimitInfo::new(
            Some(600),
            Some(600),
            Some(0),
            Some(Duration::from_secs(7)),
        ));
        assert_eq!(p.paused_until(), Some(start + Duration::from_secs(7)));
        p.observe(&RateLimitInfo::new(
            Some(600),
            Some(600),
            Some(0),
            Some(Duration::MAX),
        ));
        assert_eq!(p.paused_until(), Some(start + MAX_OBSERVED_PAUSE));
        p.acquire().await;
        assert_eq!(start.elapsed(), MAX_OBSERVED_PAUSE);
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_never_waits_but_honours_pauses() {
        let p = Pacer::unlimited();
        let start = Instant::now();
        for _ in 0..1000 {
            p.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        p.observe(&RateLimitInfo::new(Some(60), Some(1), Some(59), None));
        assert_eq!(p.rate_per_second(), f64::INFINITY);
        p.pause_for(ms(250));
        p.acquire().await;
        assert_eq!(start.elapsed(), ms(250));
    }

    #[tokio::test(start_paused = true)]
    async fn constructors_clamp_bad_settings() {
        assert_eq!(Pacer::per_minute(300, 1).rate_per_second(), 5.0);
        assert_eq!(
            Pacer::per_second(f64::INFINITY, 1).rate_per_second(),
            f64::INFINITY
        );
        for bad in [0.0, -3.0, f64::NAN, f64::NEG_INFINITY, 1e-9] {
            assert_eq!(
                Pacer::per_second(bad, 1).rate_per_second(),
                MIN_RATE_PER_SECOND,
                "{bad}"
            );
        }
        assert_eq!(Pacer::per_second(5.0, 0).burst(), 1);
        // A rate too high to pace (interval under 1 ns) does not wait.
        let fast = Pacer::per_second(1e12, 1);
        let start = Instant::now();
        for _ in 0..100 {
            fast.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        let p = Pacer::per_second(10.0, 1);
        p.set_rate(f64::NAN);
        assert_eq!(p.rate_per_second(), 10.0);
        p.set_rate(0.0);
        assert_eq!(p.rate_per_second(), MIN_RATE_PER_SECOND);
        p.set_rate(1e6);
        assert_eq!(p.rate_per_second(), 10.0);
        assert!(format!("{p:?}").contains("rate_per_second: 10.0"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_acquire_takes_no_slot() {
        let p = Pacer::per_second(1.0, 1);
        let start = Instant::now();
        p.acquire().await;
        assert!(tokio::time::timeout(ms(10), p.acquire()).await.is_err());
        p.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn tokio_clock_follows_paused_time() {
        let clock = TokioClock::new();
        let before = clock.now();
        tokio::time::advance(ms(1234)).await;
        let after = clock.now();
        assert_eq!(Duration::from(after) - Duration::from(before), ms(1234));
        assert_eq!(
            clock.instant_of(after),
            clock.origin + Duration::from(after)
        );
    }
}
