//! Overhead of `Pacer::acquire` (unlimited, and at a rate it never reaches) next to a bare
//! `governor` check on the same clock, and the cost of `Backoff::delay` per jitter.
//!
//! Run with `cargo bench -p retry-policy --bench pacer`. Each figure is the median of 7 batches.
//! Under `cargo test --all-targets` it makes a small smoke run instead.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::hint::black_box;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use governor::clock::Clock;
use governor::{Quota, RateLimiter};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use retry_policy::{Backoff, Jitter, Pacer, TokioClock};

const BATCHES: usize = 7;

/// Median nanoseconds per operation over `BATCHES` batches of `n` operations.
fn per_op(n: u32, mut batch: impl FnMut(u32)) -> f64 {
    let mut figures: Vec<f64> = (0..BATCHES)
        .map(|_| {
            let start = Instant::now();
            batch(n);
            start.elapsed().as_nanos() as f64 / f64::from(n)
        })
        .collect();
    figures.sort_by(f64::total_cmp);
    figures[BATCHES / 2]
}

fn row(name: &str, ns: f64, baseline: Option<(&str, f64)>) {
    match baseline {
        Some((label, b)) => println!(
            "{name:<52} {ns:>9.1} ns/op   ({:+.1} ns vs {label})",
            ns - b
        ),
        None => println!("{name:<52} {ns:>9.1} ns/op"),
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this as a quick smoke run.
    let full = std::env::args().any(|a| a == "--bench");
    let n_ops: u32 = if full { 200_000 } else { 1_000 };
    let mode = if full {
        ""
    } else {
        " [smoke run: use cargo bench for figures]"
    };

    println!("retry-policy bench (median of {BATCHES} batches of {n_ops}){mode}");
    println!("\n-- Pacer::acquire");
    let clock_now = per_op(n_ops, |n| {
        let clock = TokioClock::new();
        rt.block_on(async {
            for _ in 0..n {
                black_box(clock.now());
            }
        })
    });
    row(
        "baseline: TokioClock::now (tokio Instant::now)",
        clock_now,
        None,
    );

    let quota = Quota::with_period(Duration::from_nanos(1))
        .unwrap()
        .allow_burst(NonZeroU32::new(1000).unwrap());
    let bare = per_op(n_ops, |n| {
        let limiter = RateLimiter::direct_with_clock(quota, TokioClock::new());
        rt.block_on(async {
            for _ in 0..n {
                black_box(limiter.check()).unwrap();
            }
        })
    });
    row(
        "baseline: bare governor check, 1e9/s, TokioClock",
        bare,
        None,
    );

    let unlimited = per_op(n_ops, |n| {
        let pacer = Pacer::unlimited();
        rt.block_on(async {
            for _ in 0..n {
                pacer.acquire().await;
            }
        })
    });
    row("Pacer::unlimited().acquire()", unlimited, None);

    let high = per_op(n_ops, |n| {
        let pacer = Pacer::per_second(1e9, 1000);
        rt.block_on(async {
            for _ in 0..n {
                pacer.acquire().await;
            }
        })
    });
    row(
        "Pacer::per_second(1e9, 1000).acquire()",
        high,
        Some(("bare governor", bare)),
    );

    let observed = per_op(n_ops, |n| {
        let pacer = Pacer::per_second(1e9, 1000);
        let info = retry_policy::RateLimitInfo::new(Some(u64::MAX / 2), Some(1), None, None);
        rt.block_on(async {
            for _ in 0..n {
                pacer.observe(black_box(&info));
                pacer.acquire().await;
            }
        })
    });
    row(
        "observe(unchanged limit) + acquire(), 1e9/s",
        observed,
        Some(("acquire alone", high)),
    );

    let mt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let shared = per_op(n_ops, |n| {
        let pacer = Pacer::per_second(1e9, 1000);
        mt.block_on(async {
            let tasks: Vec<_> = (0..2)
                .map(|_| {
                    let pacer = pacer.clone();
                    tokio::spawn(async move {
                        for _ in 0..n / 2 {
                            pacer.acquire().await;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        })
    });
    row(
        "2 tasks sharing one Pacer (1e9/s, 2 threads)",
        shared,
        Some(("one task", high)),
    );

    println!("\n-- Backoff::delay (SmallRng)");
    let backoff = Backoff::exponential(Duration::from_millis(100), Duration::from_secs(30));
    for jitter in [
        Jitter::None,
        Jitter::Full,
        Jitter::Equal,
        Jitter::Decorrelated,
    ] {
        let b = backoff.clone().jitter(jitter);
        let mut rng = SmallRng::seed_from_u64(1);
        let ns = per_op(n_ops * 5, |n| {
            let mut prev = None;
            for i in 0..n {
                let d = b.delay(black_box(i % 12 + 1), prev, &mut rng);
                prev = Some(black_box(d));
            }
        });
        row(&format!("Backoff::delay, {jitter:?}"), ns, None);
    }
}
