//! Cost of one shared (Redis) acquire: p50/p99 latency of sequential acquires against the
//! Redis of `GENESYS_TEST_REDIS_URL` (or `REDIS_URL`), and the acquire rate one Redis sustains
//! with 1, 16 and 64 concurrent acquirers (the pace set far above it, so every acquire is one
//! script call and nothing waits).
//!
//! `eval "$(scripts/redis start)"; cargo bench -p retry-policy --features redis --bench shared_pacer`
//! Under `cargo test --all-targets` it makes a small smoke run instead.
#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use retry_policy::{Pacer, PacerScope};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    let Some(url) = std::env::var("GENESYS_TEST_REDIS_URL")
        .or_else(|_| std::env::var("REDIS_URL"))
        .ok()
    else {
        println!("shared_pacer: set GENESYS_TEST_REDIS_URL (eval \"$(scripts/redis start)\")");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this as a quick smoke run.
    let full = std::env::args().any(|a| a == "--bench");
    let (samples_n, run_for) = if full {
        (5000, Duration::from_secs(3))
    } else {
        (200, Duration::from_millis(200))
    };
    rt.block_on(async move {
        let make = |ns: &str| {
            Pacer::redis(url.clone().into())
                .namespace(format!("bench-{ns}-{}", std::process::id()))
                .scope(PacerScope::per_second("client", 1e9, 1))
                .build()
                .unwrap()
        };
        let pacer = make("latency");
        for _ in 0..200 {
            pacer.acquire().await; // warm up: connection, script load
        }
        let mut samples = Vec::with_capacity(samples_n);
        for _ in 0..samples_n {
            let t = Instant::now();
            pacer.acquire().await;
            samples.push(t.elapsed());
        }
        samples.sort();
        println!(
            "shared acquire latency (sequential, {samples_n}): p50 {:?}  p99 {:?}  max {:?}",
            percentile(&samples, 0.50),
            percentile(&samples, 0.99),
            samples[samples.len() - 1]
        );
        assert_eq!(pacer.stats().fallback_acquires, 0, "Redis was not reached");
        for tasks in [1usize, 16, 64] {
            let pacer = make(&format!("rate{tasks}"));
            let started = Instant::now();
            let handles: Vec<_> = (0..tasks)
                .map(|_| {
                    let pacer = pacer.clone();
                    tokio::spawn(async move {
                        let mut n = 0u64;
                        while started.elapsed() < run_for {
                            pacer.acquire().await;
                            n += 1;
                        }
                        n
                    })
                })
                .collect();
            let mut total = 0;
            for h in handles {
                total += h.await.unwrap();
            }
            let secs = started.elapsed().as_secs_f64();
            println!(
                "shared acquires sustained with {tasks:>2} concurrent acquirers: {:.0}/s ({total} in {secs:.1} s; fallbacks {})",
                total as f64 / secs,
                pacer.stats().fallback_acquires
            );
        }
    });
}
