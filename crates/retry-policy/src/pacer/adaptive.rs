//! What the server's answers say about its limit, as a state machine over explicit instants.
//!
//! [`Adaptive`] has no clock, never sleeps and stores no GCRA tokens: the pacer asks it whether
//! a request may go at `now` ([`Adaptive::check`]), tells it when one went
//! ([`Adaptive::commit`]), and hands it every answer ([`Adaptive::observe`],
//! [`Adaptive::on_success`], [`Adaptive::on_rate_limited`]). The storage of the configured pace
//! and of pauses lives beside it in the pacer, so another storage (shared between processes)
//! can sit behind the same `Pacer` API and keep this logic as it is.
//!
//! # The rules
//! - **A window from the headers, never assumed.** An answer with `allowed` (A), `count` (C)
//!   and `reset` (R > 0) says: A − C more requests until now + R. The window's length is the
//!   largest R seen. Integer resets are up to a second off, so the end kept is the earliest
//!   upper bound any answer gave (never earlier than the server's).
//! - **Spending the budget.** Until the window has been seen to restart (a count that starts
//!   over after the reset jumped back up), what is left is paced evenly over what is left of
//!   the window. Once seen, the budget of each fresh window may go at once: a fixed window
//!   then costs no time beyond its own.
//! - **AIMD where the headers say nothing.** Without a usable window the pace is a rate: the
//!   configured one, or [`DEFAULT_ADAPTIVE_RATE`] when none was configured. A 429 halves it
//!   (once a second at most: one burst of 429s is one signal); quiet successes raise it by a
//!   fiftieth of its target at a time, back to the configured rate, the announced rate
//!   (A over the window) or the platform default, whichever applies. A 429 while the headers
//!   said budget was left means a limit the headers do not describe: AIMD then applies on top
//!   of the window.
//! - **A 429 the headers explain** (the server counted the window as spent) means our count or
//!   the window's end was off: the window is paced evenly again and a guard is added after
//!   each predicted end.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use crate::headers::RateLimitInfo;

/// The pace of a pacer made without a rate ([`Pacer::adaptive`](crate::Pacer::adaptive))
/// before the server has said anything: 300 requests a minute, Genesys Cloud's default limit.
pub const DEFAULT_ADAPTIVE_RATE: f64 = 5.0;

/// The longest window the pacer learns from a reset; a longer reset is treated as absurd and
/// ignored.
pub const MAX_WINDOW: Duration = Duration::from_secs(3600);

/// The lowest rate, as in the pacer.
const MIN_RATE: f64 = 1.0 / 3600.0;
/// Multiplicative decrease on a 429.
const DECREASE: f64 = 0.5;
/// Quiet successes that take the AIMD rate from zero to its target.
const INCREASE_STEPS: f64 = 50.0;
/// One decrease per this long at most, and no increase within it.
const HOLDOFF: Duration = Duration::from_secs(1);
/// How far an integer reset can be off.
const ROUNDING: Duration = Duration::from_secs(1);
/// The guard added after a predicted window end by a 429 the headers explain, and its cap.
const GUARD_STEP: Duration = Duration::from_millis(50);
/// Requests kept as "in flight" at most, and for how long (a request whose answer never came
/// back, e.g. a timeout, stops counting after this).
const MAX_IN_FLIGHT: usize = 4096;
const IN_FLIGHT_FOR: Duration = Duration::from_secs(60);

/// Where the pace in force comes from.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RateSource {
    /// The rate the pacer was made with.
    Configured,
    /// The budget the server announced in its rate-limit headers.
    Headers,
    /// Additive increase / multiplicative decrease from 429s and quiet successes (also the
    /// platform default before the server said anything).
    Aimd,
    /// No pace at all ([`Pacer::unlimited`](crate::Pacer::unlimited)).
    Unlimited,
}

impl RateSource {
    /// A short lowercase name for logs and metrics labels.
    pub fn as_str(&self) -> &'static str {
        match self {
            RateSource::Configured => "configured",
            RateSource::Headers => "headers",
            RateSource::Aimd => "aimd",
            RateSource::Unlimited => "unlimited",
        }
    }
}

/// The server's current window, as far as its answers tell.
#[derive(Clone, Copy, Debug)]
struct Window {
    allowed: u64,
    /// An upper bound on when the server's window ends.
    end: Instant,
    /// The highest count the server reported for this window.
    counted: u64,
    /// Requests let through in this window.
    sent: u64,
    /// The next slot under even pacing.
    next_at: Instant,
    /// Started by a local prediction that no answer has confirmed yet.
    predicted: bool,
}

impl Window {
    fn used(&self) -> u64 {
        self.counted.max(self.sent)
    }
}

/// The adaptive state: see the module docs.
#[derive(Debug)]
pub(crate) struct Adaptive {
    ceiling: Option<f64>,
    aimd: f64,
    aimd_tat: Option<Instant>,
    last_decrease: Option<Instant>,
    window: Option<Window>,
    window_len: Option<Duration>,
    /// Requests used in the window before the current one (to see a count start over).
    prev_used: u64,
    proven: bool,
    hidden_limit: bool,
    guard: Duration,
    /// When each request not yet answered was sent (oldest first; bounded).
    in_flight: VecDeque<Instant>,
}

impl Adaptive {
    /// `ceiling`: the configured rate (never exceeded), or `None` for the adaptive default.
    pub fn new(ceiling: Option<f64>) -> Self {
        Self {
            ceiling,
            aimd: ceiling.unwrap_or(DEFAULT_ADAPTIVE_RATE),
            aimd_tat: None,
            last_decrease: None,
            window: None,
            window_len: None,
            prev_used: 0,
            proven: false,
            hidden_limit: false,
            guard: Duration::ZERO,
            in_flight: VecDeque::new(),
        }
    }

    /// Requests sent and not answered yet (the server may not have counted them).
    fn in_flight(&mut self, now: Instant) -> u64 {
        while self
            .in_flight
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > IN_FLIGHT_FOR)
        {
            self.in_flight.pop_front();
        }
        self.in_flight.len() as u64
    }

    fn answered(&mut self) {
        self.in_flight.pop_front();
    }

    /// The rate the server announced: `allowed` over the learned window.
    fn announced(&self) -> Option<f64> {
        let w = self.window.as_ref()?;
        let len = self.window_len?.as_secs_f64();
        #[allow(clippy::cast_precision_loss)] // a rate, not a count
        (len > 0.0).then(|| w.allowed as f64 / len)
    }

    /// What AIMD climbs back to.
    fn target(&self) -> f64 {
        let announced = self.announced();
        match (self.ceiling, announced) {
            (Some(c), Some(a)) => c.min(a),
            (Some(c), None) => c,
            (None, Some(a)) => a,
            (None, None) => DEFAULT_ADAPTIVE_RATE,
        }
        .max(MIN_RATE)
    }

    fn aimd_applies(&self) -> bool {
        if self.window.is_some() {
            self.hidden_limit
        } else {
            // A configured pacer's own GCRA paces at the ceiling; AIMD only below it.
            self.ceiling.is_none_or(|c| self.aimd < c)
        }
    }

    fn spread(&self) -> bool {
        !self.proven || self.hidden_limit
    }

    /// Starts the next window once the current one is over.
    fn roll(&mut self, now: Instant) {
        let Some(w) = self.window else { return };
        if now < w.end + self.guard {
            return;
        }
        let Some(len) = self.window_len else {
            self.window = None;
            return;
        };
        // After a long idle the phase is unknown: now + len is still an upper bound.
        let mut end = w.end + len;
        if end <= now {
            end = now + len;
        }
        self.prev_used = w.used();
        self.window = Some(Window {
            allowed: w.allowed,
            end,
            counted: 0,
            sent: 0,
            next_at: now,
            predicted: true,
        });
    }

    /// `Ok` when a request may go at `now`, else the instant to look again. Changes nothing
    /// but the window's rollover.
    pub fn check(&mut self, now: Instant) -> Result<(), Instant> {
        self.roll(now);
        let mut at = now;
        if let Some(w) = &self.window {
            if w.used() >= w.allowed {
                return Err(w.end + self.guard);
            }
            if self.spread() {
                at = at.max(w.next_at);
            }
        }
        if self.aimd_applies()
            && let Some(tat) = self.aimd_tat
        {
            at = at.max(tat);
        }
        if at > now { Err(at) } else { Ok(()) }
    }

    /// A request went at `now` (after [`check`](Self::check) said so).
    pub fn commit(&mut self, now: Instant) {
        if self.in_flight.len() >= MAX_IN_FLIGHT {
            self.in_flight.pop_front();
        }
        self.in_flight.push_back(now);
        let spread = self.spread();
        if let Some(w) = &mut self.window {
            let left = w.allowed.saturating_sub(w.used()).max(1);
            w.sent += 1;
            if spread {
                // Over the least the window may have left: its end is known to a second.
                let remaining = w
                    .end
                    .saturating_duration_since(now)
                    .saturating_sub(ROUNDING);
                let gap = u32::try_from(left).map_or(Duration::ZERO, |left| remaining / left);
                w.next_at = now + gap;
            }
        }
        if self.aimd_applies() {
            let interval = Duration::try_from_secs_f64(1.0 / self.aimd.max(MIN_RATE))
                .unwrap_or(Duration::ZERO);
            let tat = self.aimd_tat.map_or(now, |t| t.max(now));
            self.aimd_tat = Some(tat + interval);
        }
    }

    /// An answer's rate-limit headers.
    pub fn observe(&mut self, now: Instant, info: &RateLimitInfo) {
        let (Some(allowed), Some(reset)) = (info.limit, info.reset) else {
            return;
        };
        if allowed == 0 || reset > MAX_WINDOW {
            return; // absurd: a server that allows nothing would say so with 429s
        }
        if reset.is_zero() {
            // The window ends now; its successor starts with the next check.
            if let Some(w) = &mut self.window {
                w.end = w.end.min(now);
            }
            return;
        }
        let count = info.used;
        // Not counting the request this answer is for (fed to on_success after this).
        let in_flight = self.in_flight(now).saturating_sub(1);
        let len = self.window_len.map_or(reset, |l| l.max(reset));
        self.window_len = Some(len);
        let tolerance = (len / 2).min(ROUNDING);
        let upper = now + reset;
        let Some(w) = &mut self.window else {
            self.window = Some(Window {
                allowed,
                end: upper,
                counted: count.unwrap_or(0),
                // Requests still in flight may not be counted yet.
                sent: count.unwrap_or(0) + in_flight,
                next_at: now,
                predicted: false,
            });
            return;
        };
        w.allowed = allowed;
        if upper > w.end + tolerance {
            // The reset jumped back up: the server is in a newer window than ours.
            let before = w.used();
            if count.is_some_and(|c| c < before) {
                self.proven = true;
            }
            self.prev_used = before;
            *w = Window {
                allowed,
                end: upper,
                counted: count.unwrap_or(0),
                sent: count.unwrap_or(0) + in_flight,
                next_at: now,
                predicted: false,
            };
        } else if upper + tolerance < w.end {
            // The server's window ends before ours.
            let exhausted = count.is_some_and(|c| c >= allowed);
            if w.predicted && !exhausted {
                return; // a late answer from the window before our rollover
            }
            if w.predicted {
                // We started a window the server had not: it is still counting the old one.
                self.proven = false;
            }
            w.end = upper;
            w.counted = w.counted.max(count.unwrap_or(0));
            w.predicted = false;
        } else {
            if w.predicted && count.is_some_and(|c| c < self.prev_used) {
                self.proven = true; // the count started over where we predicted
            }
            // A predicted end is a guess (a window may open only at its first request, after
            // ours); an answer's bound is not.
            w.end = if w.predicted { upper } else { w.end.min(upper) };
            w.counted = w.counted.max(count.unwrap_or(0));
            w.predicted = false;
        }
    }

    /// A request was answered without being rate limited.
    pub fn on_success(&mut self, now: Instant) {
        self.answered();
        if self
            .last_decrease
            .is_some_and(|t| now.saturating_duration_since(t) < HOLDOFF)
        {
            return;
        }
        let target = self.target();
        if self.aimd < target {
            self.aimd = (self.aimd + target / INCREASE_STEPS).min(target);
        } else if self.window.is_none() && self.ceiling.is_none() {
            // Back to the default (e.g. after an announced higher limit went away).
            self.aimd = target;
        }
    }

    /// A 429, with the headers it carried.
    pub fn on_rate_limited(&mut self, now: Instant, info: Option<&RateLimitInfo>) {
        self.answered();
        let pace = self.rate().0;
        if let Some(info) = info {
            self.observe(now, info);
        }
        let server_exhausted = info.is_some_and(|i| match (i.limit, i.used, i.remaining) {
            (_, _, Some(0)) => true,
            (Some(limit), Some(used), _) => used >= limit,
            _ => false,
        });
        if self.window.is_some() && server_exhausted {
            // The server counted the window as spent: our count or its end was off.
            self.proven = false;
            let cap = self.window_len.map_or(GUARD_STEP, |l| l / 4);
            self.guard = (self.guard * 2 + GUARD_STEP).min(cap);
            return;
        }
        if self.window.is_some() {
            self.hidden_limit = true;
        }
        self.decrease(now, pace);
    }

    /// Halves `pace` (the pace in force when the 429 came) into the AIMD rate.
    fn decrease(&mut self, now: Instant, pace: f64) {
        if self
            .last_decrease
            .is_some_and(|t| now.saturating_duration_since(t) < HOLDOFF)
        {
            return;
        }
        self.last_decrease = Some(now);
        self.aimd = (pace.min(self.target()) * DECREASE).max(MIN_RATE);
        self.aimd_tat = None;
    }

    /// The pace in force and where it comes from.
    pub fn rate(&self) -> (f64, RateSource) {
        if let Some(announced) = self.announced() {
            let (rate, source) = if self.hidden_limit {
                (announced.min(self.aimd), RateSource::Aimd)
            } else {
                (announced, RateSource::Headers)
            };
            return match self.ceiling {
                Some(c) if c <= rate => (c, RateSource::Configured),
                _ => (rate, source),
            };
        }
        match self.ceiling {
            Some(c) if self.aimd >= c => (c, RateSource::Configured),
            _ => (self.aimd, RateSource::Aimd),
        }
    }

    /// Sets the AIMD rate (clamped to the ceiling, when there is one).
    pub fn set_aimd(&mut self, rate: f64) {
        self.aimd = self.ceiling.map_or(rate, |c| rate.min(c)).max(MIN_RATE);
        self.aimd_tat = None;
    }

    /// The learned window length, if any.
    pub fn window_len(&self) -> Option<Duration> {
        self.window_len
    }
}
