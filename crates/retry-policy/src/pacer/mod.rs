//! One org-wide pace shared by every clone: GCRA through `governor` for a configured rate, a
//! "paused until" that a 429 sets for every holder, and a pace learned from the server's answers
//! (`adaptive`: the window from its rate-limit headers, AIMD where they say nothing).

mod adaptive;
#[cfg(feature = "redis")]
mod fleet;
#[cfg(test)]
mod sequences;

use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::headers::RateLimitInfo;
use crate::metric_names;
use adaptive::Adaptive;
pub use adaptive::{DEFAULT_ADAPTIVE_RATE, MAX_WINDOW, RateSource};
#[cfg(feature = "redis")]
pub use fleet::{PacerScope, RedisPacerBuilder, SharedPacerError};

/// The lowest rate a pacer runs at: one request an hour.
pub const MIN_RATE_PER_SECOND: f64 = 1.0 / 3600.0;

/// The longest pause [`Pacer::observe`] takes from a reset time when
/// [`set_pause_when_exhausted`](Pacer::set_pause_when_exhausted) is on (a longer or absurd reset
/// is cut to this; a 429's wait through [`Pacer::on_rate_limited`] is not capped here).
pub const MAX_OBSERVED_PAUSE: Duration = Duration::from_secs(180);

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

/// What a pacer is doing, for logs and metrics ([`Pacer::stats`]).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PacerStats {
    /// The pace in force, requests a second (`f64::INFINITY` when unlimited).
    pub rate_per_second: f64,
    /// Where that pace comes from.
    pub source: RateSource,
    /// The window length learned from the server's resets, if any.
    pub window: Option<Duration>,
    /// Acquires that had to wait.
    pub waits: u64,
    /// The time those acquires waited, in all.
    pub waited: Duration,
    /// 429s reported through [`Pacer::on_rate_limited`].
    pub rate_limited: u64,
    /// Acquires served by the shared (Redis) pace; 0 for an in-process pacer.
    pub shared_acquires: u64,
    /// Acquires a shared pacer served locally because Redis failed or was slow.
    pub fallback_acquires: u64,
    /// Redis calls of a shared pacer that failed or timed out.
    pub shared_errors: u64,
}

/// A request pace shared by every clone: hand one `Pacer` (cloned) to every worker that calls
/// the same rate-limited API, and call [`acquire`](Pacer::acquire) before each request.
///
/// - **Configured pace:** [`per_second`](Pacer::per_second) / [`per_minute`](Pacer::per_minute):
///   GCRA (`governor`) at that rate with a burst. It is a ceiling: nothing the server says
///   raises the pace above it. With burst 1 no window of one second holds more than `rate`
///   requests; a burst `b` lets `b - 1` more through after idle time.
/// - **Adaptive pace:** [`adaptive`](Pacer::adaptive) starts at [`DEFAULT_ADAPTIVE_RATE`]
///   (300 a minute) and follows the server, up and down.
/// - **Learning:** feed it every answer: [`observe`](Pacer::observe) the rate-limit headers,
///   [`on_success`](Pacer::on_success) for an answer that was not a 429, and
///   [`on_rate_limited`](Pacer::on_rate_limited) for a 429. The rules are below.
/// - **Pause:** [`pause_for`](Pacer::pause_for) (say, from a 429's Retry-After) makes every
///   holder wait until then; pauses extend, never shorten.
/// - **Observable:** [`stats`](Pacer::stats) gives the pace, its [`RateSource`] and the wait it
///   added; every change of pace is a `tracing` event (`pacer pace changed`), every wait a
///   `trace` event.
///
/// Time is tokio's ([`TokioClock`]) and waits are `tokio::time` sleeps.
///
/// # How it learns
/// - **A window from the headers, never assumed.** An answer with `allowed` (A), `count` (C)
///   and `reset` (R > 0) says: A − C more requests until now + R. The window's length is the
///   largest R seen. Integer resets are up to a second off, so the end kept is the earliest
///   upper bound any answer gave (never earlier than the server's).
/// - **Spending the budget.** Until the window has been seen to restart (the count starting
///   over when the reset jumps back up), what is left is paced evenly over what is left of the
///   window. Once seen, each fresh window's budget may go at once, so a fixed window costs no
///   time beyond its own.
/// - **AIMD where the headers say nothing.** Without a usable window the pace is a rate: the
///   configured one, or [`DEFAULT_ADAPTIVE_RATE`] when none was configured. A 429 halves it
///   (once a second at most: one burst of 429s is one signal); each quiet success raises it by
///   a fiftieth of its target, back up to the configured rate, the announced rate (A over the
///   window) or the platform default, whichever applies. A 429 while the headers said budget
///   was left means a limit they do not describe: AIMD then applies on top of the window.
/// - **A 429 the headers explain** (the server counts the window as spent) means our count or
///   the window's end was off: the window is paced evenly again, and a guard (50 ms, doubling,
///   at most a quarter of the window) is added after each predicted end.
/// - A configured rate is a ceiling: the pace never exceeds it, whatever the server announces.
/// - What it cannot see: whole-second resets make a limit that refills within a fraction of a
///   second (say a bucket of burst 2 at 20 a second announcing `reset: 1`) look like one budget a
///   second (decimal resets are read exactly); without any headers AIMD keeps probing, so 429s
///   grow rare but do not stop.
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
    /// Wakes waiting acquirers when what the server said changes the pace.
    changed: Notify,
    /// The user's rate; `None` = adaptive or unlimited.
    configured: Option<f64>,
    burst: NonZeroU32,
    state: Mutex<State>,
    /// The Redis side of a shared pacer ([`Pacer::redis`]); the local state above is then its
    /// fallback.
    #[cfg(feature = "redis")]
    remote: Option<Arc<fleet::Remote>>,
}

struct State {
    /// The configured GCRA rate in force (lowered by [`Pacer::set_rate`]).
    rate: Option<f64>,
    limiter: Option<Arc<Limiter>>,
    paused_until: Option<Instant>,
    pause_when_exhausted: bool,
    /// `None` for an unlimited pacer.
    adaptive: Option<Adaptive>,
    /// The pace last reported, to log changes only.
    reported: (f64, RateSource),
    waits: u64,
    waited: Duration,
    rate_limited: u64,
}

impl State {
    fn pace(&self) -> (f64, RateSource) {
        match &self.adaptive {
            None => (f64::INFINITY, RateSource::Unlimited),
            Some(adaptive) => {
                let (rate, source) = adaptive.rate();
                match self.rate {
                    Some(configured) if configured < rate => (configured, RateSource::Configured),
                    _ => (rate, source),
                }
            }
        }
    }

    /// Logs the pace when it changed by more than 1% or changed source.
    fn report(&mut self) {
        let (rate, source) = self.pace();
        let (before, before_source) = self.reported;
        let moved = if before.is_finite() && rate.is_finite() {
            (rate - before).abs() > before * 0.01
        } else {
            before.is_finite() != rate.is_finite()
        };
        if moved || source != before_source {
            self.reported = (rate, source);
            emit_pace(rate, source);
            tracing::info!(
                from = before,
                to = rate,
                source = source.as_str(),
                "pacer pace changed"
            );
        }
    }
}

/// Sets the pace gauges: the rate (when finite) and which source it comes from.
fn emit_pace(rate: f64, source: RateSource) {
    if rate.is_finite() {
        metrics::gauge!(metric_names::PACER_RATE).set(rate);
    }
    for candidate in [
        RateSource::Configured,
        RateSource::Headers,
        RateSource::Aimd,
        RateSource::Unlimited,
    ] {
        let on = if candidate == source { 1.0 } else { 0.0 };
        metrics::gauge!(metric_names::PACER_RATE_SOURCE, "source" => candidate.as_str()).set(on);
    }
}

impl Pacer {
    /// `rate` requests a second with bursts of up to `burst` (0 counts as 1); the server's
    /// answers can slow it down, never speed it up.
    ///
    /// An infinite rate is [`unlimited`](Pacer::unlimited); a rate that is not a positive number
    /// (0, negative, NaN) is raised to [`MIN_RATE_PER_SECOND`].
    pub fn per_second(rate: f64, burst: u32) -> Self {
        let configured = if rate == f64::INFINITY {
            return Self::unlimited();
        } else if rate.is_nan() || rate < MIN_RATE_PER_SECOND {
            tracing::warn!(
                rate,
                min = MIN_RATE_PER_SECOND,
                "pacer rate raised to the minimum"
            );
            MIN_RATE_PER_SECOND
        } else {
            rate
        };
        Self::build(Some(configured), burst, true)
    }

    /// `requests` a minute with bursts of up to `burst`.
    pub fn per_minute(requests: u32, burst: u32) -> Self {
        Self::per_second(f64::from(requests) / 60.0, burst)
    }

    /// No configured rate: starts at [`DEFAULT_ADAPTIVE_RATE`] (300 a minute, Genesys Cloud's
    /// default limit) and follows what the server says, up to the limit it announces (an org
    /// with a raised limit is paced at its limit) and down on 429s.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
    /// use std::time::Duration;
    /// use retry_policy::{Pacer, RateLimitInfo, RateSource};
    ///
    /// let pacer = Pacer::adaptive();
    /// assert_eq!(pacer.stats().source, RateSource::Aimd);
    /// // The server allows 600 more requests in the 60 s left of its window.
    /// pacer.observe(&RateLimitInfo::new(Some(600), Some(0), None, Some(Duration::from_secs(60))));
    /// let stats = pacer.stats();
    /// assert_eq!((stats.rate_per_second, stats.source), (10.0, RateSource::Headers));
    /// # });
    /// ```
    pub fn adaptive() -> Self {
        Self::build(None, 1, true)
    }

    /// No pace: [`acquire`](Pacer::acquire) only waits out pauses, and nothing the server says
    /// turns it into a limited pacer.
    pub fn unlimited() -> Self {
        Self::build(None, 1, false)
    }

    fn build(configured: Option<f64>, burst: u32, learns: bool) -> Self {
        let clock = TokioClock::new();
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let limiter = configured.and_then(|r| limiter(r, burst, clock, false));
        let adaptive = learns.then(|| Adaptive::new(configured));
        let mut state = State {
            rate: configured,
            limiter,
            paused_until: None,
            pause_when_exhausted: false,
            adaptive,
            reported: (0.0, RateSource::Unlimited),
            waits: 0,
            waited: Duration::ZERO,
            rate_limited: 0,
        };
        state.reported = state.pace();
        emit_pace(state.reported.0, state.reported.1);
        Self {
            shared: Arc::new(Shared {
                clock,
                changed: Notify::new(),
                configured,
                burst,
                state: Mutex::new(state),
                #[cfg(feature = "redis")]
                remote: None,
            }),
        }
    }

    /// A pacer shared by every process that builds one on the same Redis (or Valkey) with the
    /// same namespace and scopes: GCRA in one Lua script on the server's clock, 429 pauses and
    /// learned rates shared, a local share of the limit while Redis is down. Everything else
    /// (the API, [`acquire`](Pacer::acquire), the learning calls) is the same as for an
    /// in-process pacer, so a `GenesysClient` takes either.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), retry_policy::SharedPacerError> {
    /// use retry_policy::{Pacer, PacerScope};
    ///
    /// let pacer = Pacer::redis("redis://127.0.0.1:6379".into())
    ///     .namespace("acme-prod")
    ///     .scope(PacerScope::per_minute("oauth-client-1234", 300, 5))
    ///     .fleet_size(4) // Redis down: each process paces at 75 a minute
    ///     .build()?;
    /// pacer.acquire().await;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "redis")]
    pub fn redis(url: secrecy::SecretString) -> RedisPacerBuilder {
        RedisPacerBuilder::new(url)
    }

    #[cfg(feature = "redis")]
    fn with_remote(local_rate: f64, burst: u32, remote: fleet::Remote) -> Self {
        let mut pacer = Self::per_second(local_rate, burst);
        if let Some(shared) = Arc::get_mut(&mut pacer.shared) {
            shared.remote = Some(Arc::new(remote));
        }
        pacer
    }

    /// Takes a slot of the shared pace; `false` when Redis cannot serve it (the caller then
    /// takes a local one).
    #[cfg(feature = "redis")]
    async fn acquire_shared(&self, remote: &fleet::Remote) -> bool {
        let started = Instant::now();
        loop {
            // This process's own 429s hold it back without asking Redis.
            if let Some(until) = self.paused_until() {
                let changed = self.shared.changed.notified();
                tokio::select! {
                    () = tokio::time::sleep_until(until) => {}
                    () = changed => {}
                }
                continue;
            }
            if !remote.should_try() {
                return false;
            }
            match remote.call_acquire(None).await {
                Ok(fleet::Slot::Go(wait)) => {
                    remote.succeeded();
                    if !wait.is_zero() {
                        tokio::time::sleep(wait).await;
                    }
                    remote
                        .shared_acquires
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let waited = started.elapsed();
                    if !waited.is_zero() {
                        let mut state = self.state();
                        state.waits += 1;
                        state.waited += waited;
                    }
                    return true;
                }
                Ok(fleet::Slot::Retry(wait)) => {
                    remote.succeeded();
                    tokio::time::sleep(wait).await;
                }
                Err(error) => {
                    remote.failed(&error);
                    return false;
                }
            }
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays consistent under a panic (no invariant spans an unwind): keep using it.
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits out any pause, then for a slot of the pace. Cancel-safe: dropping the future takes
    /// no slot.
    pub async fn acquire(&self) {
        #[cfg(feature = "redis")]
        if let Some(remote) = &self.shared.remote {
            if self.acquire_shared(remote).await {
                return;
            }
            remote
                .fallback_acquires
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let mut started = None;
        loop {
            let wait_until = {
                let mut state = self.state();
                if state.paused_until.is_none()
                    && state.adaptive.is_none()
                    && state.limiter.is_none()
                {
                    None // unlimited and not paused: no clock reading needed
                } else {
                    self.try_take(&mut state)
                }
            };
            let Some(until) = wait_until else { break };
            started.get_or_insert_with(Instant::now);
            // Loop afterwards: a pause or a new pace may have arrived meanwhile; news from the
            // server wakes us early.
            let changed = self.shared.changed.notified();
            tokio::select! {
                () = tokio::time::sleep_until(until) => {}
                () = changed => {}
            }
        }
        if let Some(started) = started {
            let waited = started.elapsed();
            let mut state = self.state();
            state.waits += 1;
            state.waited += waited;
            let (rate, source) = state.pace();
            drop(state);
            metrics::histogram!(metric_names::PACER_WAIT_DURATION).record(waited.as_secs_f64());
            tracing::trace!(
                wait_ms = u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                rate,
                source = source.as_str(),
                "pacer wait"
            );
        }
    }

    /// Takes a slot now (`None`) or says when to look again.
    fn try_take(&self, state: &mut State) -> Option<Instant> {
        let now = Instant::now();
        if let Some(until) = state.paused_until
            && until > now
        {
            return Some(until);
        }
        if let Some(adaptive) = &mut state.adaptive
            && let Err(at) = adaptive.check(now)
        {
            return Some(at);
        }
        if let Some(limiter) = &state.limiter
            && let Err(not_until) = limiter.check()
        {
            return Some(now + not_until.wait_time_from(self.shared.clock.now()));
        }
        if let Some(adaptive) = &mut state.adaptive {
            adaptive.commit(now);
        }
        None
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

    /// Learns from an answer's rate-limit headers (any status). See [`Pacer`] for the rules: `allowed − count` more requests until the `reset`, the window length learned
    /// from the largest reset seen. Values that make no sense (zero allowed, a reset beyond
    /// [`MAX_WINDOW`]) are ignored; an answer without `allowed` and `reset` teaches nothing.
    ///
    /// Opt-in (see [`set_pause_when_exhausted`](Pacer::set_pause_when_exhausted)): when
    /// `info.remaining` is 0 and `info.reset` is known, every holder also pauses until the reset
    /// (at most [`MAX_OBSERVED_PAUSE`]).
    ///
    /// An [`unlimited`](Pacer::unlimited) pacer keeps no pace, so only the opt-in pause applies.
    pub fn observe(&self, info: &RateLimitInfo) {
        let mut state = self.state();
        if state.pause_when_exhausted
            && info.remaining == Some(0)
            && let Some(reset) = info.reset
            && !reset.is_zero()
        {
            drop(state);
            self.pause_for(reset.min(MAX_OBSERVED_PAUSE));
            state = self.state();
        }
        if let Some(adaptive) = &mut state.adaptive {
            adaptive.observe(Instant::now(), info);
            state.report();
            #[cfg(feature = "redis")]
            let announced = info
                .limit
                .zip(adaptive_window(&state))
                .map(|(limit, window)| limit as f64 / window.as_secs_f64());
            drop(state);
            self.shared.changed.notify_waiters();
            #[cfg(feature = "redis")]
            if let (Some(remote), Some(rate)) = (&self.shared.remote, announced) {
                remote.share_rate(rate);
            }
        }
    }

    /// An answer that was not a 429, whatever its status (AIMD's quiet success: the adaptive
    /// pace creeps back up; and the request is no longer in flight).
    pub fn on_success(&self) {
        let mut state = self.state();
        if let Some(adaptive) = &mut state.adaptive {
            adaptive.on_success(Instant::now());
            state.report();
            drop(state);
            self.shared.changed.notify_waiters();
        }
    }

    /// A 429: every holder pauses for `wait` (work it out with [`rate_limited_wait`]) and the
    /// pace learns from it: with the answer's headers `info` when it had any.
    ///
    /// A 429 whose headers say the window is spent corrects the window; any other lowers the
    /// pace multiplicatively (once a second at most).
    pub fn on_rate_limited(&self, info: Option<&RateLimitInfo>, wait: Duration) {
        self.pause_for(wait);
        metrics::counter!(metric_names::PACER_RATE_LIMITED).increment(1);
        #[cfg(feature = "redis")]
        if let Some(remote) = &self.shared.remote {
            remote.share_pause(wait);
        }
        let mut state = self.state();
        state.rate_limited += 1;
        if let Some(adaptive) = &mut state.adaptive {
            adaptive.on_rate_limited(Instant::now(), info);
            state.report();
        }
    }

    /// Sets the pace, clamped to `[MIN_RATE_PER_SECOND, configured]` for a configured pacer (its
    /// GCRA changes; changes under 1% are ignored), or the AIMD rate of an adaptive one. No
    /// effect on an unlimited pacer; NaN is ignored.
    pub fn set_rate(&self, rate_per_second: f64) {
        if rate_per_second.is_nan() {
            return;
        }
        let mut state = self.state();
        let Some(configured) = self.shared.configured else {
            if let Some(adaptive) = &mut state.adaptive {
                adaptive.set_aimd(rate_per_second.max(MIN_RATE_PER_SECOND));
                state.report();
            }
            return;
        };
        let target = rate_per_second.clamp(MIN_RATE_PER_SECOND, configured);
        let current = state.rate.unwrap_or(configured);
        if (target - current).abs() <= current * 0.01 {
            return;
        }
        state.limiter = limiter(target, self.shared.burst, self.shared.clock, true);
        state.rate = Some(target);
        state.report();
    }

    /// Whether [`observe`](Pacer::observe) pauses every holder until the window resets when the
    /// server says nothing remains in it (default off: the window logic already waits for the
    /// reset, and pauses cut across windows).
    pub fn set_pause_when_exhausted(&self, on: bool) {
        self.state().pause_when_exhausted = on;
    }

    /// The pace in force, in requests a second (`f64::INFINITY` when unlimited).
    pub fn rate_per_second(&self) -> f64 {
        self.state().pace().0
    }

    /// The pace the pacer was made with (`f64::INFINITY` when adaptive or unlimited).
    pub fn configured_rate_per_second(&self) -> f64 {
        self.shared.configured.unwrap_or(f64::INFINITY)
    }

    /// The pace, its source and the waits so far.
    pub fn stats(&self) -> PacerStats {
        let state = self.state();
        let (rate_per_second, source) = state.pace();
        #[allow(unused_mut)]
        let mut stats = PacerStats {
            rate_per_second,
            source,
            window: state.adaptive.as_ref().and_then(Adaptive::window_len),
            waits: state.waits,
            waited: state.waited,
            rate_limited: state.rate_limited,
            shared_acquires: 0,
            fallback_acquires: 0,
            shared_errors: 0,
        };
        drop(state);
        #[cfg(feature = "redis")]
        if let Some(remote) = &self.shared.remote {
            use std::sync::atomic::Ordering::Relaxed;
            stats.shared_acquires = remote.shared_acquires.load(Relaxed);
            stats.fallback_acquires = remote.fallback_acquires.load(Relaxed);
            stats.shared_errors = remote.errors.load(Relaxed);
        }
        stats
    }

    /// The burst size of the configured pace.
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
        let (rate, source) = state.pace();
        f.debug_struct("Pacer")
            .field("rate_per_second", &rate)
            .field("source", &source)
            .field(
                "configured_rate_per_second",
                &self.shared.configured.unwrap_or(f64::INFINITY),
            )
            .field("burst", &self.shared.burst)
            .field("paused_until", &state.paused_until)
            .finish()
    }
}

/// The window length the adaptive state learned, if any.
#[cfg(feature = "redis")]
fn adaptive_window(state: &State) -> Option<Duration> {
    state
        .adaptive
        .as_ref()
        .and_then(Adaptive::window_len)
        .filter(|w| !w.is_zero())
}

/// How long a 429 should hold every request back, from the best hint it carries:
/// `retry_after` (the header) when present, raised to `floor` (`Retry-After: 0` sent while the
/// limit is still in force is never taken literally); else `body_hint` (e.g. Genesys' "Retry
/// the request in \[N\] seconds"); else `reset` (what is left of the server's window); else
/// `floor`. Hints other than the header are also raised to `floor`. The result is capped at
/// `cap`.
///
/// ```
/// use std::time::Duration;
/// use retry_policy::rate_limited_wait;
///
/// let s = Duration::from_secs;
/// assert_eq!(rate_limited_wait(Some(s(0)), Some(s(3)), None, s(1), s(180)), s(1));
/// assert_eq!(rate_limited_wait(None, Some(s(3)), Some(s(9)), s(1), s(180)), s(3));
/// assert_eq!(rate_limited_wait(None, None, Some(s(9)), s(1), s(180)), s(9));
/// assert_eq!(rate_limited_wait(None, None, None, s(1), s(180)), s(1));
/// ```
pub fn rate_limited_wait(
    retry_after: Option<Duration>,
    body_hint: Option<Duration>,
    reset: Option<Duration>,
    floor: Duration,
    cap: Duration,
) -> Duration {
    retry_after
        .or(body_hint)
        .or(reset)
        .unwrap_or(floor)
        .max(floor)
        .min(cap.max(floor))
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

#[cfg(feature = "redis")]
impl RedisPacerBuilder {
    /// The pacer. Connects lazily: Redis need not be up yet (until it is, the local share
    /// applies). Must run inside a tokio runtime.
    pub fn build(self) -> Result<Pacer, SharedPacerError> {
        let (local_rate, burst, remote) = self.into_remote()?;
        Ok(Pacer::with_remote(local_rate, burst, remote))
    }
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
