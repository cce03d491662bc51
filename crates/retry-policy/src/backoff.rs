//! Exponential backoff with the jitter strategies of the AWS Architecture Blog post
//! "Exponential Backoff and Jitter".

use std::time::Duration;

use rand::Rng;

/// How randomness is mixed into a backoff delay.
///
/// With `temp = min(max, initial * multiplier^(retry - 1))` (the capped exponential):
///
/// | variant        | delay                                                     |
/// |----------------|-----------------------------------------------------------|
/// | `None`         | `temp`                                                    |
/// | `Full`         | uniform in `[0, temp]`                                    |
/// | `Equal`        | `temp / 2 + uniform in [0, temp / 2]`                     |
/// | `Decorrelated` | `min(max, uniform in [initial, max(initial, prev * 3)])` |
///
/// `Decorrelated` ignores the multiplier and grows from the previous delay instead, exactly as
/// in the AWS post (`sleep = min(cap, random_between(base, sleep * 3))`).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Jitter {
    /// No randomness: the plain capped exponential.
    None,
    /// Uniform between zero and the capped exponential (the AWS recommendation and our default).
    Full,
    /// Half the capped exponential plus a uniform share of the other half.
    Equal,
    /// Uniform between the initial delay and three times the previous delay, capped.
    Decorrelated,
}

/// A backoff schedule: initial delay, multiplier, maximum delay and jitter.
///
/// Delays never exceed the maximum. Draws come from the RNG the caller passes in, so a seeded
/// RNG gives an exact, repeatable sequence.
///
/// ```
/// use std::time::Duration;
/// use rand::SeedableRng;
/// use retry_policy::{Backoff, Jitter};
///
/// let backoff = Backoff::exponential(Duration::from_millis(100), Duration::from_secs(10))
///     .multiplier(3.0)
///     .jitter(Jitter::None);
/// let mut rng = rand::rngs::StdRng::seed_from_u64(7);
/// assert_eq!(backoff.delay(1, None, &mut rng), Duration::from_millis(100));
/// assert_eq!(backoff.delay(3, None, &mut rng), Duration::from_millis(900));
/// assert_eq!(backoff.delay(30, None, &mut rng), Duration::from_secs(10));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    multiplier: f64,
    jitter: Jitter,
}

impl Backoff {
    /// Exponential backoff from `initial`, doubling each retry, capped at `max`, with full jitter.
    pub fn exponential(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            multiplier: 2.0,
            jitter: Jitter::Full,
        }
    }

    /// The same delay before every retry, without jitter.
    pub fn constant(delay: Duration) -> Self {
        Self {
            initial: delay,
            max: delay,
            multiplier: 1.0,
            jitter: Jitter::None,
        }
    }

    /// Sets the growth factor per retry. Values below 1.0 and non-finite values are treated as
    /// 1.0 (a backoff never shrinks).
    pub fn multiplier(mut self, m: f64) -> Self {
        self.multiplier = if m.is_finite() && m >= 1.0 { m } else { 1.0 };
        self
    }

    /// Sets the jitter strategy.
    pub fn jitter(mut self, j: Jitter) -> Self {
        self.jitter = j;
        self
    }

    /// The delay before the first retry (before jitter).
    pub fn initial_delay(&self) -> Duration {
        self.initial
    }

    /// The largest delay this backoff ever returns.
    pub fn max_delay(&self) -> Duration {
        self.max
    }

    /// The growth factor per retry.
    pub fn growth(&self) -> f64 {
        self.multiplier
    }

    /// The jitter strategy.
    pub fn jitter_kind(&self) -> Jitter {
        self.jitter
    }

    /// The capped exponential for retry number `retry` (1 = first retry), before jitter.
    pub fn base_delay(&self, retry: u32) -> Duration {
        let exponent = i32::try_from(retry.max(1) - 1).unwrap_or(i32::MAX);
        let secs = self.initial.as_secs_f64() * self.multiplier.powi(exponent);
        if !secs.is_finite() || secs >= self.max.as_secs_f64() {
            return self.max;
        }
        Duration::try_from_secs_f64(secs)
            .unwrap_or(self.max)
            .min(self.max)
    }

    /// The delay before retry number `retry` (1 = first retry); `prev` is the previous delay
    /// (used by [`Jitter::Decorrelated`]; `None` before the first retry). Never exceeds the
    /// maximum delay.
    pub fn delay<R: Rng + ?Sized>(
        &self,
        retry: u32,
        prev: Option<Duration>,
        rng: &mut R,
    ) -> Duration {
        match self.jitter {
            Jitter::None => self.base_delay(retry),
            Jitter::Full => {
                let temp = nanos(self.base_delay(retry));
                Duration::from_nanos(uniform_inclusive(rng, temp))
            }
            Jitter::Equal => {
                let temp = nanos(self.base_delay(retry));
                let half = temp / 2;
                // `temp - half` keeps the odd nanosecond, so the top of the range is `temp`.
                Duration::from_nanos(half + uniform_inclusive(rng, temp - half))
            }
            Jitter::Decorrelated => {
                let low = nanos(self.initial);
                let prev = prev.map_or(low, nanos);
                let high = prev.saturating_mul(3).max(low);
                let drawn = low + uniform_inclusive(rng, high - low);
                Duration::from_nanos(drawn).min(self.max)
            }
        }
    }
}

/// A duration in nanoseconds, saturating at `u64::MAX` (about 584 years).
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A draw uniform in `[0, upper]` from one `u64` of the RNG: `(x * (upper + 1)) >> 64`.
///
/// One draw per call and a closed form make seeded sequences easy to predict in tests; the bias
/// of the widening multiply is below `upper / 2^64`, far under a nanosecond for any delay.
pub(crate) fn uniform_inclusive<R: Rng + ?Sized>(rng: &mut R, upper: u64) -> u64 {
    let x = u128::from(rng.next_u64());
    let span = u128::from(upper) + 1;
    // x < 2^64 and span <= 2^64, so the product fits in u128 and the result is <= upper.
    u64::try_from((x * span) >> 64).unwrap_or(upper)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::{RngCore, SeedableRng};

    /// An RNG that returns scripted `u64`s, so expected delays can be worked out by hand.
    struct Scripted(Vec<u64>, usize);

    impl RngCore for Scripted {
        fn next_u32(&mut self) -> u32 {
            (self.next_u64() >> 32) as u32
        }
        fn next_u64(&mut self) -> u64 {
            let v = self.0[self.1 % self.0.len()];
            self.1 += 1;
            v
        }
        fn fill_bytes(&mut self, dst: &mut [u8]) {
            for chunk in dst.chunks_mut(8) {
                let v = self.next_u64().to_le_bytes();
                chunk.copy_from_slice(&v[..chunk.len()]);
            }
        }
    }

    const HALF: u64 = 1 << 63;
    const QUARTER: u64 = 1 << 62;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn backoff(j: Jitter) -> Backoff {
        Backoff::exponential(ms(100), ms(1000)).jitter(j)
    }

    #[test]
    fn none_is_the_capped_exponential() {
        let b = backoff(Jitter::None);
        let mut rng = Scripted(vec![0], 0);
        let got: Vec<_> = (1..=6).map(|r| b.delay(r, None, &mut rng)).collect();
        assert_eq!(
            got,
            vec![ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
        );
        assert_eq!(rng.1, 0, "no jitter draws nothing");
        assert_eq!(b.delay(u32::MAX, None, &mut rng), ms(1000));
        assert_eq!(
            b.delay(0, None, &mut rng),
            ms(100),
            "retry 0 is treated as 1"
        );
    }

    #[test]
    fn full_jitter_exact_sequence_from_scripted_draws() {
        let b = backoff(Jitter::Full);
        let mut rng = Scripted(vec![0, HALF, u64::MAX, QUARTER, HALF], 0);
        let got: Vec<_> = (1..=5).map(|r| b.delay(r, None, &mut rng)).collect();
        // temps 100, 200, 400, 800, 1000 ms; draws 0, 1/2, ~1, 1/4, 1/2 of (temp + 1ns)
        assert_eq!(
            got,
            vec![
                Duration::ZERO,
                Duration::from_nanos(100_000_000), // (2^63 * (200ms + 1)) >> 64 = 100ms (floor)
                ms(400),
                Duration::from_nanos(200_000_000),
                Duration::from_nanos(500_000_000),
            ]
        );
    }

    #[test]
    fn equal_jitter_exact_sequence_from_scripted_draws() {
        let b = backoff(Jitter::Equal);
        let mut rng = Scripted(vec![0, u64::MAX, HALF], 0);
        let got: Vec<_> = (1..=3).map(|r| b.delay(r, None, &mut rng)).collect();
        // temp 100 → 50 + 0; temp 200 → 100 + 100; temp 400 → 200 + 100
        assert_eq!(got, vec![ms(50), ms(200), ms(300)]);
    }

    #[test]
    fn decorrelated_jitter_exact_sequence_from_scripted_draws() {
        let b = backoff(Jitter::Decorrelated);
        let mut rng = Scripted(vec![u64::MAX, u64::MAX, 0, HALF, u64::MAX], 0);
        // prev None → [100, 300] top = 300; prev 300 → [100, 900] top = 900;
        // prev 900 → [100, 2700] bottom = 100; prev 100 → [100, 300] half = 200;
        // prev 2000 (caller's) → [100, 6000] top, capped at 1000.
        assert_eq!(b.delay(1, None, &mut rng), ms(300));
        assert_eq!(b.delay(2, Some(ms(300)), &mut rng), ms(900));
        assert_eq!(b.delay(3, Some(ms(900)), &mut rng), ms(100));
        assert_eq!(b.delay(4, Some(ms(100)), &mut rng), ms(200));
        assert_eq!(b.delay(5, Some(ms(2000)), &mut rng), ms(1000));
    }

    /// Replays the documented formulas with an identically seeded RNG: a seed fixes the sequence.
    #[test]
    fn seeded_sequences_are_exact_for_every_jitter() {
        for jitter in [
            Jitter::None,
            Jitter::Full,
            Jitter::Equal,
            Jitter::Decorrelated,
        ] {
            let b = backoff(jitter);
            let mut rng = StdRng::seed_from_u64(42);
            let mut mirror = StdRng::seed_from_u64(42);
            let mut prev: Option<Duration> = None;
            let mut seen = Vec::new();
            for retry in 1..=12 {
                let got = b.delay(retry, prev, &mut rng);
                let temp = [100u64, 200, 400, 800, 1000]
                    [usize::try_from(retry.min(5) - 1).unwrap()]
                    * 1_000_000;
                let expected = match jitter {
                    Jitter::None => temp,
                    Jitter::Full => {
                        ((u128::from(mirror.next_u64()) * u128::from(temp + 1)) >> 64) as u64
                    }
                    Jitter::Equal => {
                        let half = temp / 2;
                        half + ((u128::from(mirror.next_u64()) * u128::from(temp - half + 1)) >> 64)
                            as u64
                    }
                    Jitter::Decorrelated => {
                        let low = 100_000_000u64;
                        let high = (prev.map_or(low, |p| p.as_nanos() as u64) * 3).max(low);
                        let d = low
                            + ((u128::from(mirror.next_u64()) * u128::from(high - low + 1)) >> 64)
                                as u64;
                        d.min(1_000_000_000)
                    }
                };
                assert_eq!(
                    got,
                    Duration::from_nanos(expected),
                    "{jitter:?} retry {retry}"
                );
                seen.push(got);
                prev = Some(got);
            }
            // The same seed gives the same sequence again.
            let mut again = StdRng::seed_from_u64(42);
            let mut prev = None;
            let replay: Vec<_> = (1..=12)
                .map(|r| {
                    let d = b.delay(r, prev, &mut again);
                    prev = Some(d);
                    d
                })
                .collect();
            assert_eq!(seen, replay);
        }
    }

    #[test]
    fn constant_and_multiplier_edges() {
        let mut rng = StdRng::seed_from_u64(1);
        let c = Backoff::constant(ms(250));
        for r in 1..10 {
            assert_eq!(c.delay(r, Some(ms(250)), &mut rng), ms(250));
        }
        for m in [f64::NAN, f64::INFINITY, -2.0, 0.5] {
            let b = Backoff::exponential(ms(100), ms(1000))
                .multiplier(m)
                .jitter(Jitter::None);
            assert_eq!(b.growth(), 1.0);
            assert_eq!(b.delay(9, None, &mut rng), ms(100));
        }
        let huge = Backoff::exponential(Duration::MAX, Duration::MAX).jitter(Jitter::Full);
        assert!(huge.delay(3, None, &mut rng) <= Duration::MAX);
        let inverted = Backoff::exponential(ms(500), ms(100)).jitter(Jitter::None);
        assert_eq!(
            inverted.delay(1, None, &mut rng),
            ms(100),
            "initial above max is capped"
        );
    }

    fn any_jitter() -> impl Strategy<Value = Jitter> {
        prop_oneof![
            Just(Jitter::None),
            Just(Jitter::Full),
            Just(Jitter::Equal),
            Just(Jitter::Decorrelated)
        ]
    }

    proptest! {
        #[test]
        fn delay_never_exceeds_max(
            initial_ms in 0u64..100_000,
            max_ms in 0u64..1_000_000,
            multiplier in 0.0f64..10.0,
            retry in 0u32..200,
            prev_ms in proptest::option::of(0u64..10_000_000),
            jitter in any_jitter(),
            seed in any::<u64>(),
        ) {
            let b = Backoff::exponential(ms(initial_ms), ms(max_ms)).multiplier(multiplier).jitter(jitter);
            let mut rng = StdRng::seed_from_u64(seed);
            let d = b.delay(retry, prev_ms.map(ms), &mut rng);
            prop_assert!(d <= ms(max_ms), "{d:?} > {max_ms}ms");
        }

        #[test]
        fn full_jitter_stays_within_zero_and_cap(
            initial_ms in 1u64..10_000,
            max_ms in 1u64..100_000,
            retry in 1u32..64,
            seed in any::<u64>(),
        ) {
            let b = Backoff::exponential(ms(initial_ms), ms(max_ms)).jitter(Jitter::Full);
            let cap = b.base_delay(retry);
            let mut rng = StdRng::seed_from_u64(seed);
            let d = b.delay(retry, None, &mut rng);
            prop_assert!(d <= cap);
            prop_assert!(cap <= ms(max_ms));
        }

        #[test]
        fn equal_jitter_stays_within_half_and_cap(retry in 1u32..64, seed in any::<u64>()) {
            let b = backoff(Jitter::Equal);
            let cap = b.base_delay(retry);
            let mut rng = StdRng::seed_from_u64(seed);
            let d = b.delay(retry, None, &mut rng);
            prop_assert!(d <= cap && d >= cap / 2);
        }

        #[test]
        fn decorrelated_stays_within_initial_and_max(prev_ms in 0u64..100_000, seed in any::<u64>()) {
            let b = backoff(Jitter::Decorrelated);
            let mut rng = StdRng::seed_from_u64(seed);
            let d = b.delay(2, Some(ms(prev_ms)), &mut rng);
            prop_assert!(d >= ms(100) && d <= ms(1000));
        }
    }
}
