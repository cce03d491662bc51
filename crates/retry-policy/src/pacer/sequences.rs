//! The pacer against simulated servers, one header sequence at a time, under paused time: each
//! test runs workers that acquire, "send" to a model of a server (fixed windows, a token
//! bucket), and feed every answer back the way a client does.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::{Pacer, RateSource, rate_limited_wait};
use crate::headers::RateLimitInfo;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Whole seconds, rounded up (how a server reports a reset).
fn ceil_secs(d: Duration) -> Duration {
    let whole = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs(whole)
}

#[derive(Debug)]
enum Model {
    /// `allowed` requests per `window`, windows counted from `origin`.
    Fixed {
        allowed: u64,
        window: Duration,
        origin: Instant,
        index: u64,
        count: u64,
    },
    /// `allowed` per `window`, a window opening at the first request after the last closed.
    Rolling {
        allowed: u64,
        window: Duration,
        opened: Option<Instant>,
        count: u64,
    },
    /// `rate` a second, `burst` at once; the headers describe the bucket (allowed = burst,
    /// count = tokens used, reset = until full).
    Bucket {
        rate: f64,
        burst: u64,
        tokens: f64,
        last: Instant,
        zero_retry_after: bool,
    },
}

#[derive(Debug)]
struct Server {
    model: Model,
    /// Headers on every n-th answer only (1: all).
    headers_every: u64,
    served: u64,
    limited: u64,
    /// When each 429 was answered.
    limited_at: Vec<Instant>,
    admitted: Vec<Instant>,
}

struct Answer {
    limited: bool,
    info: Option<RateLimitInfo>,
    retry_after: Option<Duration>,
}

impl Server {
    fn new(model: Model) -> Arc<Mutex<Self>> {
        Arc::new(Mutex::new(Self {
            model,
            headers_every: 1,
            served: 0,
            limited: 0,
            limited_at: Vec::new(),
            admitted: Vec::new(),
        }))
    }

    fn fixed(allowed: u64, window: Duration, origin: Instant) -> Arc<Mutex<Self>> {
        Self::new(Model::Fixed {
            allowed,
            window,
            origin,
            index: 0,
            count: 0,
        })
    }

    fn bucket(rate: f64, burst: u64, zero_retry_after: bool) -> Arc<Mutex<Self>> {
        Self::new(Model::Bucket {
            rate,
            burst,
            #[allow(clippy::cast_precision_loss)]
            tokens: burst as f64,
            last: Instant::now(),
            zero_retry_after,
        })
    }

    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    fn handle(&mut self, now: Instant) -> Answer {
        self.served += 1;
        let (admit, info, wait) = match &mut self.model {
            Model::Fixed {
                allowed,
                window,
                origin,
                index,
                count,
            } => {
                let elapsed = now.saturating_duration_since(*origin);
                let k = (elapsed.as_nanos() / window.as_nanos()) as u64;
                if k != *index {
                    *index = k;
                    *count = 0;
                }
                let end = *origin + *window * u32::try_from(k + 1).unwrap();
                let reset = ceil_secs(end - now);
                let admit = *count < *allowed;
                if admit {
                    *count += 1;
                }
                (
                    admit,
                    RateLimitInfo::new(Some(*allowed), Some(*count), None, Some(reset)),
                    reset,
                )
            }
            Model::Rolling {
                allowed,
                window,
                opened,
                count,
            } => {
                if opened.is_none_or(|o| now >= o + *window) {
                    *opened = Some(now);
                    *count = 0;
                }
                let end = opened.unwrap() + *window;
                let reset = ceil_secs(end - now);
                let admit = *count < *allowed;
                if admit {
                    *count += 1;
                }
                (
                    admit,
                    RateLimitInfo::new(Some(*allowed), Some(*count), None, Some(reset)),
                    reset,
                )
            }
            Model::Bucket {
                rate,
                burst,
                tokens,
                last,
                zero_retry_after,
            } => {
                let cap = *burst as f64;
                *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * *rate).min(cap);
                *last = now;
                let admit = *tokens >= 1.0;
                if admit {
                    *tokens -= 1.0;
                }
                let used = (cap - tokens.floor()) as u64;
                let reset = ceil_secs(Duration::from_secs_f64((cap - *tokens) / *rate));
                let wait = if *zero_retry_after {
                    Duration::ZERO
                } else {
                    ceil_secs(Duration::from_secs_f64(((1.0 - *tokens) / *rate).max(0.0)))
                };
                (
                    admit,
                    RateLimitInfo::new(Some(*burst), Some(used), None, Some(reset)),
                    wait,
                )
            }
        };
        if admit {
            self.admitted.push(now);
        } else {
            self.limited += 1;
            self.limited_at.push(now);
        }
        let with_headers = self.served.is_multiple_of(self.headers_every);
        Answer {
            limited: !admit,
            info: with_headers.then_some(info.derive_missing()),
            retry_after: (!admit).then_some(wait),
        }
    }
}

#[derive(Debug)]
struct Outcome {
    elapsed: Duration,
    limited: u64,
}

/// `requests` requests by `concurrency` workers sharing `pacer`, each answer `latency` after
/// its send (the server decides half-way). A 429 is retried after the pause.
async fn run(
    pacer: &Pacer,
    server: &Arc<Mutex<Server>>,
    requests: usize,
    concurrency: usize,
    latency: Duration,
) -> Outcome {
    let start = Instant::now();
    let next = Arc::new(Mutex::new(0usize));
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (pacer, server, next) = (pacer.clone(), server.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    {
                        let mut n = next.lock().unwrap();
                        if *n >= requests {
                            return;
                        }
                        *n += 1;
                    }
                    loop {
                        pacer.acquire().await;
                        tokio::time::sleep(latency / 2).await;
                        let answer = server.lock().unwrap().handle(Instant::now());
                        tokio::time::sleep(latency / 2).await;
                        if answer.limited {
                            let wait = rate_limited_wait(
                                answer.retry_after,
                                None,
                                answer.info.and_then(|i| i.reset),
                                secs(1),
                                secs(180),
                            );
                            pacer.on_rate_limited(answer.info.as_ref(), wait);
                            continue;
                        }
                        if let Some(info) = &answer.info {
                            pacer.observe(info);
                        }
                        pacer.on_success();
                        break;
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let limited = server.lock().unwrap().limited;
    Outcome {
        elapsed: start.elapsed(),
        limited,
    }
}

/// The least time `requests` can take against `allowed` per `window` when the current window
/// has `left_in_first` of its length to go: every window's budget at its very start.
fn fixed_minimum(
    requests: u64,
    allowed: u64,
    window: Duration,
    left_in_first: Duration,
    latency: Duration,
) -> Duration {
    let k = (requests - 1) / allowed; // windows after the first
    if k == 0 {
        latency
    } else {
        left_in_first + window * u32::try_from(k - 1).unwrap() + latency
    }
}

/// A fixed window of `allowed` per `window`, the server started `phase` before us; the run may
/// take `max_ratio` times the least possible.
async fn fixed_window_case(
    allowed: u64,
    window: Duration,
    requests: u64,
    phase: Duration,
    max_ratio: f64,
) {
    let latency = ms(20);
    let pacer = Pacer::adaptive();
    let origin = Instant::now() - phase;
    let server = Server::fixed(allowed, window, origin);
    let out = run(
        &pacer,
        &server,
        usize::try_from(requests).unwrap(),
        8,
        latency,
    )
    .await;
    let minimum = fixed_minimum(requests, allowed, window, window - phase, latency);
    let ratio = out.elapsed.as_secs_f64() / minimum.as_secs_f64();
    assert!(
        ratio <= max_ratio,
        "{allowed} per {window:?}: {:?} vs minimum {minimum:?} ({ratio:.3}x), {} 429s",
        out.elapsed,
        out.limited
    );
    assert!(out.limited <= 2, "{} 429s", out.limited);
    let stats = pacer.stats();
    assert_eq!(stats.source, RateSource::Headers);
    assert_eq!(stats.window, Some(window), "learned from the largest reset");
}

#[tokio::test(start_paused = true)]
async fn fixed_window_of_one_second() {
    // Integer resets of a one-second window say little (always 1): each window is learned
    // from its first answers, a round trip late.
    fixed_window_case(10, secs(1), 40, ms(300), 1.15).await;
}

#[tokio::test(start_paused = true)]
async fn fixed_window_of_five_seconds() {
    fixed_window_case(10, secs(5), 30, ms(0), 1.10).await;
    fixed_window_case(10, secs(5), 30, ms(1700), 1.10).await;
}

#[tokio::test(start_paused = true)]
async fn fixed_window_of_sixty_seconds() {
    fixed_window_case(300, secs(60), 1000, secs(12), 1.10).await;
}

#[tokio::test(start_paused = true)]
async fn fixed_window_of_three_hundred_seconds() {
    fixed_window_case(100, secs(300), 350, secs(100), 1.10).await;
}

#[tokio::test(start_paused = true)]
async fn a_window_that_opens_at_its_first_request() {
    let latency = ms(20);
    let pacer = Pacer::adaptive();
    let server = Server::new(Model::Rolling {
        allowed: 10,
        window: secs(5),
        opened: None,
        count: 0,
    });
    let out = run(&pacer, &server, 30, 8, latency).await;
    // Each window opens a little after the last closed: at least two windows and a latency.
    let minimum = secs(10) + latency;
    let ratio = out.elapsed.as_secs_f64() / minimum.as_secs_f64();
    assert!(ratio <= 1.10, "{out:?}: {ratio:.3}x");
    assert!(out.limited <= 2, "{out:?}");
}

#[tokio::test(start_paused = true)]
async fn a_steady_limit_converges_to_no_429s() {
    // Several windows in: every 429 (at most 2) falls in the first window.
    let pacer = Pacer::adaptive();
    let server = Server::fixed(20, secs(2), Instant::now() - ms(500));
    let start = Instant::now();
    let out = run(&pacer, &server, 400, 8, ms(20)).await;
    assert!(out.limited <= 2, "{out:?}");
    let late = server
        .lock()
        .unwrap()
        .limited_at
        .iter()
        .filter(|t| **t > start + ms(1500))
        .count();
    assert_eq!(late, 0, "429s after the first window: {out:?}");
}

async fn bucket_case(zero_retry_after: bool) {
    let latency = ms(20);
    let pacer = Pacer::adaptive();
    let server = Server::bucket(5.0, 5, zero_retry_after);
    let out = run(&pacer, &server, 30, 8, latency).await;
    // The burst at once, the other 25 at 5 a second.
    let minimum = secs(5) + latency;
    let ratio = out.elapsed.as_secs_f64() / minimum.as_secs_f64();
    assert!(ratio <= 1.10, "{out:?}: {ratio:.3}x");
    assert!(out.limited <= 2, "{out:?}");
}

#[tokio::test(start_paused = true)]
async fn token_bucket() {
    bucket_case(false).await;
}

#[tokio::test(start_paused = true)]
async fn token_bucket_answering_retry_after_zero() {
    bucket_case(true).await;
}

#[tokio::test(start_paused = true)]
async fn a_limit_that_drops_mid_run() {
    let pacer = Pacer::adaptive();
    let start = Instant::now();
    let server = Server::fixed(40, secs(5), start);
    let first = run(&pacer, &server, 120, 8, ms(20)).await;
    assert_eq!(first.limited, 0);
    assert_eq!(pacer.rate_per_second(), 8.0);
    // The org's limit is cut to a quarter from the next window on.
    let now = Instant::now();
    let phase = now.saturating_duration_since(start).as_nanos() % secs(5).as_nanos();
    let next_window = now + (secs(5) - Duration::from_nanos(u64::try_from(phase).unwrap()));
    if let Model::Fixed { allowed, .. } = &mut server.lock().unwrap().model {
        *allowed = 10;
    }
    tokio::time::sleep_until(next_window).await;
    let second = run(&pacer, &server, 60, 8, ms(20)).await;
    assert!(
        second.limited <= 2,
        "{second:?}: the pacer follows the limit down"
    );
    assert_eq!(pacer.rate_per_second(), 2.0);
    // 60 at 10 a window: 6 windows, the last one's budget at its start.
    assert!(second.elapsed <= secs(26) + ms(100), "{second:?}");
}

#[tokio::test(start_paused = true)]
async fn a_limit_raised_mid_run() {
    let pacer = Pacer::adaptive();
    let start = Instant::now();
    let server = Server::fixed(10, secs(5), start);
    let slow = run(&pacer, &server, 30, 8, ms(20)).await;
    assert!(slow.limited <= 2);
    assert_eq!(pacer.rate_per_second(), 2.0);
    if let Model::Fixed { allowed, .. } = &mut server.lock().unwrap().model {
        *allowed = 1000; // an org with a raised limit: 200 a second
    }
    let fast = run(&pacer, &server, 600, 8, ms(20)).await;
    assert!(fast.limited <= 2, "{fast:?}");
    assert_eq!(pacer.rate_per_second(), 200.0);
    assert_eq!(pacer.stats().source, RateSource::Headers);
    // Latency-bound now (8 in flight, 20 ms each: 400 a second), not held at the default 5/s.
    assert!(fast.elapsed < secs(10), "{fast:?}");
}

#[tokio::test(start_paused = true)]
async fn headers_on_some_answers_only() {
    let pacer = Pacer::adaptive();
    let server = Server::fixed(10, secs(5), Instant::now());
    server.lock().unwrap().headers_every = 3;
    let out = run(&pacer, &server, 30, 8, ms(20)).await;
    assert!(out.limited <= 2, "{out:?}");
    let minimum = fixed_minimum(30, 10, secs(5), secs(5), ms(20));
    let ratio = out.elapsed.as_secs_f64() / minimum.as_secs_f64();
    assert!(ratio <= 1.10, "{out:?}: {ratio:.3}x");
}

#[tokio::test(start_paused = true)]
async fn no_headers_at_all_paces_at_the_platform_default() {
    let pacer = Pacer::adaptive();
    let server = Server::fixed(1_000_000, secs(60), Instant::now());
    server.lock().unwrap().headers_every = u64::MAX;
    let out = run(&pacer, &server, 11, 4, ms(20)).await;
    assert_eq!(out.limited, 0);
    // 300 a minute: 10 intervals of 200 ms, plus the last answer's latency.
    assert_eq!(out.elapsed, secs(2) + ms(20));
    assert_eq!(pacer.stats().source, RateSource::Aimd);
}

#[tokio::test(start_paused = true)]
async fn a_huge_announced_limit_is_no_limit() {
    let latency = ms(20);
    let pacer = Pacer::adaptive();
    let server = Server::fixed(1_000_000, secs(60), Instant::now());
    let out = run(&pacer, &server, 30, 8, latency).await;
    // The floor: the same requests unpaced. The first answer's headers come one round trip in.
    let unpaced = Server::fixed(1_000_000, secs(60), Instant::now());
    let floor = run(&Pacer::unlimited(), &unpaced, 30, 8, latency)
        .await
        .elapsed;
    assert!(
        out.elapsed <= latency + floor.mul_f64(1.2),
        "{out:?} vs {floor:?}"
    );
    assert!(pacer.rate_per_second() > 10_000.0);
}

#[tokio::test(start_paused = true)]
async fn without_headers_429s_lower_the_pace_and_quiet_raises_it() {
    let pacer = Pacer::adaptive();
    let start = Instant::now();
    pacer.on_rate_limited(None, secs(1));
    assert_eq!(pacer.rate_per_second(), 2.5);
    assert_eq!(pacer.stats().source, RateSource::Aimd);
    assert_eq!(pacer.paused_until(), Some(start + secs(1)));
    // A second 429 within the second is the same signal.
    pacer.on_rate_limited(None, secs(1));
    assert_eq!(pacer.rate_per_second(), 2.5);
    assert_eq!(pacer.stats().rate_limited, 2);
    tokio::time::advance(secs(2)).await;
    for _ in 0..25 {
        pacer.on_success();
    }
    assert!(
        (pacer.rate_per_second() - 5.0).abs() < 1e-9,
        "back to the default"
    );
    for _ in 0..100 {
        pacer.on_success();
    }
    assert!(
        (pacer.rate_per_second() - 5.0).abs() < 1e-9,
        "never above it unannounced"
    );
}

#[tokio::test(start_paused = true)]
async fn a_configured_rate_stays_a_ceiling() {
    let pacer = Pacer::per_second(2.0, 1);
    // The server announces 100 per 5 s (20 a second).
    let server = Server::fixed(100, secs(5), Instant::now());
    let start = Instant::now();
    let out = run(&pacer, &server, 21, 4, ms(20)).await;
    assert_eq!(out.limited, 0);
    assert_eq!(pacer.rate_per_second(), 2.0);
    assert_eq!(pacer.stats().source, RateSource::Configured);
    // 21 requests at 2 a second: 20 intervals of 500 ms.
    let admitted = server.lock().unwrap().admitted.clone();
    assert_eq!(*admitted.last().unwrap() - start, secs(10) + ms(10));
}

#[tokio::test(start_paused = true)]
async fn absurd_header_values_teach_nothing() {
    use http::{HeaderMap, HeaderValue};
    let pacer = Pacer::adaptive();
    for (allowed, count, reset) in [
        ("-5", "3", "10"),
        ("lots", "1", "10"),
        ("100", "-1", "-10"),
        ("100", "1", "99999999999999999999999"),
        ("0", "0", "10"),
        ("10", "5", "0"),
        ("1e9", "1", "soon"),
        ("", "", ""),
    ] {
        let mut h = HeaderMap::new();
        h.insert("inin-ratelimit-allowed", HeaderValue::from_static(allowed));
        h.insert("inin-ratelimit-count", HeaderValue::from_static(count));
        h.insert("inin-ratelimit-reset", HeaderValue::from_static(reset));
        if let Some(info) = RateLimitInfo::from_headers(&h) {
            pacer.observe(&info);
        }
    }
    assert_eq!(pacer.stats().source, RateSource::Aimd);
    assert_eq!(pacer.rate_per_second(), 5.0);
    // A count far above what is allowed only means "nothing left until the reset".
    pacer.observe(&RateLimitInfo::new(
        Some(10),
        Some(u64::MAX),
        None,
        Some(secs(3)),
    ));
    let start = Instant::now();
    pacer.acquire().await;
    assert_eq!(start.elapsed(), secs(3));
    // An absurdly high limit: no pace to speak of.
    let open = Pacer::adaptive();
    open.observe(&RateLimitInfo::new(
        Some(u64::MAX),
        Some(1),
        None,
        Some(secs(60)),
    ));
    let start = Instant::now();
    for _ in 0..1000 {
        open.acquire().await;
    }
    assert!(start.elapsed() < ms(10), "{:?}", start.elapsed());
}

#[tokio::test(start_paused = true)]
async fn a_hidden_limit_behind_informational_headers_brings_aimd_in() {
    // The headers announce 600 a minute, yet each 429 says budget was left: the pace halves.
    let pacer = Pacer::adaptive();
    let info = RateLimitInfo::new(Some(600), Some(5), None, Some(secs(60)));
    pacer.observe(&info);
    assert_eq!(pacer.rate_per_second(), 10.0);
    pacer.on_rate_limited(Some(&info), secs(1));
    assert_eq!(pacer.rate_per_second(), 5.0);
    assert_eq!(pacer.stats().source, RateSource::Aimd);
    // A 429 the headers explain (the window is spent) corrects the window, not the rate.
    let other = Pacer::adaptive();
    other.observe(&info);
    other.on_rate_limited(
        Some(&RateLimitInfo::new(
            Some(600),
            Some(600),
            None,
            Some(secs(30)),
        )),
        secs(1),
    );
    assert_eq!(other.rate_per_second(), 10.0);
    assert_eq!(other.stats().source, RateSource::Headers);
}
