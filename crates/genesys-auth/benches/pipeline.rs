//! Overhead of the `GenesysClient` pipeline over a bare reqwest call, and the cost of a warm
//! `access_token()`.
//!
//! `cargo bench -p genesys-auth --bench pipeline` prints, side by side and from the same run:
//! - GET of a small JSON from an axum server on 127.0.0.1, three series: bare reqwest with a
//!   default client (the baseline), bare reqwest configured as the pipeline configures its
//!   client (connect + request timeouts, User-Agent, no redirects) and sending the same
//!   `Accept` header (this separates the cost of reqwest's timeout timer and of the headers
//!   every request must carry from the pipeline's own work), and `GenesysClient::get_json`
//!   (static token, unlimited pacer, default policy). Every bare call sends the bearer header
//!   and decodes the JSON, timed from the same point as ours.
//!   The series are interleaved request by request (rotating which goes first) in several
//!   rounds; the report is robust to a machine shared with other work: per series the median
//!   of the round p50s, and per comparison the median over rounds of the paired differences
//!   (same iteration, so drift and load bursts cancel). Both comparisons are printed: against
//!   the default client (target ≤ 5% at p50) and against reqwest with the same timeouts and
//!   headers.
//! - `access_token()` on a warm `ClientCredentialsProvider` vs `StaticToken` (the floor of a
//!   trait call), timed in batches of 1,000 calls; per-call p50 (target ≤ 1 µs).
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it runs a few iterations only, as a
//! smoke test. Settings: `PIPELINE_BENCH_ROUNDS` (default 9) and `PIPELINE_BENCH_REQUESTS`
//! (per series and round, default 2,000). `PIPELINE_BENCH_PROFILE=ours|configured|bare` runs
//! one series alone (`PIPELINE_BENCH_REQUESTS` calls, default 20,000), for a profiler.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{get, post};
use genesys_auth::{
    ClientCredentials, ClientCredentialsProvider, GenesysClient, Region, StaticToken, TokenProvider,
};
use http::header::ACCEPT;
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

/// The series, in the order of [`Round`]'s arrays.
const SERIES: [&str; 3] = [
    "bare reqwest, default client (baseline)",
    "bare reqwest, timeouts + UA + Accept",
    "GenesysClient::get_json",
];
const BARE: usize = 0;
const CONFIGURED: usize = 1;
const OURS: usize = 2;

fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    percentile_sorted(&v, 0.5)
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// One round's figures (µs).
struct Round {
    p50: [f64; 3],
    /// Median of the paired differences ours − bare and ours − configured.
    paired: [f64; 2],
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let profile = std::env::var("PIPELINE_BENCH_PROFILE").ok();
    let (rounds, requests, warmup, batches) = if full {
        (
            env_usize("PIPELINE_BENCH_ROUNDS").unwrap_or(9).max(1),
            env_usize("PIPELINE_BENCH_REQUESTS").unwrap_or(2_000).max(1),
            500,
            2_000,
        )
    } else if profile.is_some() {
        (
            1,
            env_usize("PIPELINE_BENCH_REQUESTS").unwrap_or(20_000),
            50,
            0,
        )
    } else {
        (2, 20, 5, 10)
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
        // header built. `same_headers` adds what the pipeline sends besides the bearer header
        // (`Accept: application/json`; the User-Agent comes with the configured client).
        let reqwest_call = |client: &reqwest::Client, same_headers: bool| {
            let client = client.clone();
            let url = &url;
            async move {
                let t = Instant::now();
                let mut request = client.get(url).bearer_auth("bench-token");
                if same_headers {
                    request = request.header(ACCEPT, "application/json");
                }
                let small: Small = request.send().await.unwrap().json().await.unwrap();
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
        let call = |series: usize| {
            let bare = &bare;
            let configured = &configured;
            let reqwest_call = &reqwest_call;
            let ours_call = &ours_call;
            async move {
                match series {
                    BARE => reqwest_call(bare, false).await,
                    CONFIGURED => reqwest_call(configured, true).await,
                    _ => ours_call().await,
                }
            }
        };

        if let Some(which) = profile {
            let series = match which.as_str() {
                "ours" => OURS,
                "configured" => CONFIGURED,
                _ => BARE,
            };
            for _ in 0..warmup {
                call(series).await;
            }
            for _ in 0..requests {
                call(series).await;
            }
            return;
        }

        for _ in 0..warmup {
            for series in 0..3 {
                call(series).await;
            }
        }
        let mut all: [Vec<f64>; 3] = Default::default();
        let mut results = Vec::with_capacity(rounds);
        for round in 0..rounds {
            let mut samples: [Vec<f64>; 3] = Default::default();
            for i in 0..requests {
                // Rotate the order so that no series always runs first.
                for k in 0..3 {
                    let series = (i + round + k) % 3;
                    samples[series].push(us(call(series).await));
                }
            }
            let paired = |other: usize| {
                let diffs: Vec<f64> = samples[OURS]
                    .iter()
                    .zip(&samples[other])
                    .map(|(o, b)| o - b)
                    .collect();
                median(&diffs)
            };
            let paired = [paired(BARE), paired(CONFIGURED)];
            let p50 = [
                median(&samples[BARE]),
                median(&samples[CONFIGURED]),
                median(&samples[OURS]),
            ];
            for (series, s) in samples.into_iter().enumerate() {
                all[series].extend(s);
            }
            results.push(Round { p50, paired });
        }

        let p50: Vec<f64> = (0..3)
            .map(|s| median(&results.iter().map(|r| r.p50[s]).collect::<Vec<_>>()))
            .collect();
        let paired: Vec<f64> = (0..2)
            .map(|c| median(&results.iter().map(|r| r.paired[c]).collect::<Vec<_>>()))
            .collect();
        let pooled: Vec<(f64, f64)> = all
            .iter_mut()
            .map(|s| {
                s.sort_by(f64::total_cmp);
                (
                    percentile_sorted(s, 0.99),
                    s.iter().sum::<f64>() / s.len() as f64,
                )
            })
            .collect();

        println!(
            "GET small JSON: {rounds} rounds x {requests} requests per series, interleaved (µs)"
        );
        if !full {
            println!("(smoke run under cargo test: figures not meaningful; use cargo bench)");
        }
        println!("{:<42}{:>16}{:>10}{:>10}", "", "p50 (median", "p99", "mean");
        println!(
            "{:<42}{:>16}{:>10}{:>10}",
            "", "of rounds)", "(all)", "(all)"
        );
        for s in 0..3 {
            println!(
                "{:<42}{:>16.1}{:>10.1}{:>10.1}",
                SERIES[s], p50[s], pooled[s].0, pooled[s].1
            );
        }
        let pct = |o: f64, b: f64| (o / b - 1.0) * 100.0;
        println!();
        println!(
            "{:<42}{:>12}{:>22}",
            "GenesysClient overhead", "at p50", "paired diff (median)"
        );
        for (label, other, c) in [
            ("vs default client (target ≤ 5%)", BARE, 0),
            ("vs reqwest, same timeouts + headers", CONFIGURED, 1),
        ] {
            println!(
                "{:<42}{:>11.1}%{:>11.2} µs ={:>6.1}%",
                label,
                pct(p50[OURS], p50[other]),
                paired[c],
                paired[c] / p50[other] * 100.0
            );
        }
        let rounds_p50: Vec<String> = results
            .iter()
            .map(|r| format!("{:.1}", pct(r.p50[OURS], r.p50[BARE])))
            .collect();
        println!(
            "{:<42}{}",
            "per round, % vs default client at p50:",
            rounds_p50.join(" ")
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
            warm.push(us(t.elapsed() / BATCH) * 1e3);
            let t = Instant::now();
            for _ in 0..BATCH {
                std::hint::black_box(fixed.access_token().await.unwrap());
            }
            floor.push(us(t.elapsed() / BATCH) * 1e3);
        }
        assert_eq!(provider.token_requests(), 1);
        println!();
        println!("access_token(), {batches} batches of {BATCH} calls, per call (ns)");
        println!("{:<36}{:>10}{:>10}{:>10}", "", "p50", "p99", "mean");
        for (label, mut samples, target) in [
            ("StaticToken (baseline: trait call)", floor, ""),
            (
                "ClientCredentialsProvider, warm",
                warm,
                "   (target p50 ≤ 1000 ns)",
            ),
        ] {
            samples.sort_by(f64::total_cmp);
            let mean = samples.iter().sum::<f64>() / samples.len() as f64;
            println!(
                "{:<36}{:>10.0}{:>10.0}{:>10.0}{target}",
                label,
                percentile_sorted(&samples, 0.5),
                percentile_sorted(&samples, 0.99),
                mean
            );
        }
    });
}
