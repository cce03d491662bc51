//! Overhead of the `GenesysClient` pipeline over a bare reqwest call, and the cost of a warm
//! `access_token()`.
//!
//! `cargo bench -p genesys-auth --bench pipeline` prints, side by side and from the same run:
//! - GET of a small JSON from an axum server on 127.0.0.1: bare reqwest (bearer header + JSON
//!   decode) vs `GenesysClient::get_json` (static token, unlimited pacer, default policy),
//!   5,000 requests each, interleaved (alternating which goes first) to cancel drift; p50, p99,
//!   mean and the overhead at p50 (target ≤ 5%).
//! - `access_token()` on a warm `ClientCredentialsProvider` vs `StaticToken` (the floor of a
//!   trait call), timed in batches of 1,000 calls; per-call p50 (target ≤ 1 µs).
//!
//! Under `cargo test` (no `--bench` argument) it runs a few iterations only, as a smoke test.
//! `PIPELINE_BENCH_PROFILE=ours` (or `bare`) runs one series alone, for a profiler.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{get, post};
use genesys_auth::{
    ClientCredentials, ClientCredentialsProvider, GenesysClient, Region, StaticToken, TokenProvider,
};
use retry_policy::{Pacer, RetryPolicy};
use serde::Deserialize;

#[derive(Deserialize)]
#[allow(dead_code)]
struct Small {
    id: String,
    name: String,
    entities: Vec<u32>,
}

const SMALL: &str =
    r#"{"id":"5f1c8b1e-0d1a-4c55-9f3e-2b7a1c9d0e11","name":"small","entities":[1,2,3,4,5]}"#;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(mut samples: Vec<Duration>) -> (Duration, Duration, Duration) {
    samples.sort_unstable();
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    (percentile(&samples, 0.5), percentile(&samples, 0.99), mean)
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (requests, warmup, batches) = if full {
        (5_000, 500, 2_000)
    } else {
        (50, 10, 20)
    };

    // The server runs on its own runtime thread, the clients on a current-thread runtime:
    // the measured side is never descheduled by server work on the same worker.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let addr = server_rt.block_on(async {
        let app = Router::new()
            .route("/api/v2/small", get(|| async { ([("content-type", "application/json")], SMALL) }))
            .route(
                "/oauth/token",
                post(|| async {
                    (
                        [("content-type", "application/json")],
                        r#"{"access_token":"bench-token","token_type":"bearer","expires_in":86399}"#,
                    )
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    });
    let base = url::Url::parse(&format!("http://{addr}/")).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    rt.block_on(async {
        // Baseline: a default reqwest client. Also measured: reqwest configured as the pipeline
        // configures it (connect + request timeouts, User-Agent, no redirects), to separate the
        // cost of reqwest's timeout timer from the pipeline's own work.
        let bare = reqwest::Client::builder().build().unwrap();
        let configured = reqwest::Client::builder()
            .user_agent(genesys_auth::USER_AGENT)
            .connect_timeout(genesys_auth::DEFAULT_CONNECT_TIMEOUT)
            .timeout(genesys_auth::DEFAULT_REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let url = format!("http://{addr}/api/v2/small");
        let ours = GenesysClient::builder()
            .region(Region::custom(base.clone(), base.clone()))
            .token_provider(Arc::new(StaticToken::new("bench-token".into())))
            .pacer(Pacer::unlimited())
            .retry_policy(RetryPolicy::default())
            .build()
            .unwrap();

        // Both sides are timed from the same point: before the URL is parsed and the bearer
        // header built.
        let reqwest_call = |client: &reqwest::Client| {
            let client = client.clone();
            let url = &url;
            async move {
                let t = Instant::now();
                let small: Small = client
                    .get(url)
                    .bearer_auth("bench-token")
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                std::hint::black_box(small);
                t.elapsed()
            }
        };
        let ours_call = || async {
            let t = Instant::now();
            let small: Small = ours.get_json("/api/v2/small", &[]).await.unwrap();
            std::hint::black_box(small);
            t.elapsed()
        };
        // PIPELINE_BENCH_PROFILE=bare|ours runs one series alone (for a profiler) and stops.
        if let Ok(which) = std::env::var("PIPELINE_BENCH_PROFILE") {
            for _ in 0..requests * 4 {
                if which == "ours" {
                    ours_call().await;
                } else {
                    reqwest_call(&configured).await;
                }
            }
            return;
        }
        for _ in 0..warmup {
            reqwest_call(&bare).await;
            reqwest_call(&configured).await;
            ours_call().await;
        }
        let mut samples: [Vec<Duration>; 3] = Default::default();
        for i in 0..requests {
            // Rotate the order so that no series always runs first.
            for k in 0..3 {
                match (i + k) % 3 {
                    0 => samples[0].push(reqwest_call(&bare).await),
                    1 => samples[1].push(reqwest_call(&configured).await),
                    _ => samples[2].push(ours_call().await),
                }
            }
        }
        // The median of paired differences (same iteration) is robust to drift and load.
        let mut paired: Vec<f64> = samples[2]
            .iter()
            .zip(&samples[0])
            .map(|(o, b)| us(*o) - us(*b))
            .collect();
        paired.sort_by(|a, b| a.total_cmp(b));
        let paired_median = paired[paired.len() / 2];
        let [bare_samples, configured_samples, ours_samples] = samples;
        let (b50, b99, bmean) = summary(bare_samples);
        let (c50, c99, cmean) = summary(configured_samples);
        let (o50, o99, omean) = summary(ours_samples);
        let pct = |o: Duration, b: Duration| (us(o) / us(b) - 1.0) * 100.0;
        println!("GET small JSON, {requests} requests each, interleaved (µs)");
        println!("{:<40}{:>10}{:>10}{:>10}", "", "p50", "p99", "mean");
        println!(
            "{:<40}{:>10.1}{:>10.1}{:>10.1}",
            "bare reqwest, default client (baseline)",
            us(b50),
            us(b99),
            us(bmean)
        );
        println!(
            "{:<40}{:>10.1}{:>10.1}{:>10.1}",
            "bare reqwest, timeouts + UA",
            us(c50),
            us(c99),
            us(cmean)
        );
        println!(
            "{:<40}{:>10.1}{:>10.1}{:>10.1}",
            "GenesysClient::get_json",
            us(o50),
            us(o99),
            us(omean)
        );
        println!(
            "{:<40}{:>9.1}%{:>9.1}%{:>9.1}%   (target p50 ≤ 5%)",
            "overhead vs baseline",
            pct(o50, b50),
            pct(o99, b99),
            pct(omean, bmean)
        );
        println!(
            "{:<40}{:>9.1}%{:>9.1}%{:>9.1}%",
            "overhead vs reqwest with timeouts + UA",
            pct(o50, c50),
            pct(o99, c99),
            pct(omean, cmean)
        );
        println!(
            "{:<40}{:>9.1}µs ({:.1}% of the baseline p50)",
            "median paired difference vs baseline",
            paired_median,
            paired_median / us(b50) * 100.0
        );

        // Warm access_token().
        let provider = ClientCredentialsProvider::builder(
            ClientCredentials::new("bench-client", "bench-secret"),
            Region::custom(base.clone(), base.clone()),
        )
        .build()
        .unwrap();
        provider.access_token().await.unwrap();
        let fixed = StaticToken::new("bench-token".into());
        const BATCH: u32 = 1_000;
        let mut warm = Vec::with_capacity(batches);
        let mut floor = Vec::with_capacity(batches);
        for _ in 0..batches {
            let t = Instant::now();
            for _ in 0..BATCH {
                std::hint::black_box(provider.access_token().await.unwrap());
            }
            warm.push(t.elapsed() / BATCH);
            let t = Instant::now();
            for _ in 0..BATCH {
                std::hint::black_box(fixed.access_token().await.unwrap());
            }
            floor.push(t.elapsed() / BATCH);
        }
        assert_eq!(provider.token_requests(), 1);
        let (w50, w99, wmean) = summary(warm);
        let (f50, f99, fmean) = summary(floor);
        println!();
        println!("access_token(), {batches} batches of {BATCH} calls, per call (ns)");
        println!("{:<36}{:>10}{:>10}{:>10}", "", "p50", "p99", "mean");
        println!(
            "{:<36}{:>10.0}{:>10.0}{:>10.0}",
            "StaticToken (baseline: trait call)",
            us(f50) * 1e3,
            us(f99) * 1e3,
            us(fmean) * 1e3
        );
        println!(
            "{:<36}{:>10.0}{:>10.0}{:>10.0}   (target p50 ≤ 1000 ns)",
            "ClientCredentialsProvider, warm",
            us(w50) * 1e3,
            us(w99) * 1e3,
            us(wmean) * 1e3
        );
    });
}
