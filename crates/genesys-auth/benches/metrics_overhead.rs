//! What the metrics cost the request pipeline: `GenesysClient::get_json` of a small JSON from an
//! axum server on 127.0.0.1, with no recorder installed and with a recorder installed,
//! interleaved call by call in the same run (rotating which goes first), in several rounds.
//! The recorder keeps every metric in `metrics-util`'s `Registry` with atomic storage: the
//! storage `metrics-exporter-prometheus` records into (rendering happens at scrape time, off
//! the request path). The library itself depends on no exporter, not even for benches.
//!
//! Reported: per series the median of the round p50s, and the median over rounds of the paired
//! differences (with − without, same iteration, so drift and load bursts cancel). Goal: ≤ 2% at
//! p50.
//!
//! `cargo bench -p genesys-auth --bench metrics_overhead`. Under
//! `cargo test --all-targets` (no `--bench`) it runs a few iterations only, as a smoke test.
//! Settings: `METRICS_BENCH_ROUNDS` (default 9), `METRICS_BENCH_REQUESTS` (per series and round,
//! default 2,000).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use genesys_auth::{GenesysClient, Region, StaticToken};
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_util::registry::{AtomicStorage, Registry};
use retry_policy::{Pacer, RetryPolicy};

const SMALL: &str =
    r#"{"id":"5f1c8b1e-0d1a-4c55-9f3e-2b7a1c9d0e11","name":"small","entities":[1,2,3,4,5]}"#;
const SERIES: [&str; 2] = ["no recorder", "registry recorder installed"];

/// A recorder over `metrics-util`'s atomic registry (the exporter's storage).
struct Stored {
    registry: Registry<Key, AtomicStorage>,
}

impl Recorder for Stored {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        self.registry
            .get_or_create_counter(key, |c| Counter::from_arc(Arc::clone(c)))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        self.registry
            .get_or_create_gauge(key, |g| Gauge::from_arc(Arc::clone(g)))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        self.registry
            .get_or_create_histogram(key, |h| Histogram::from_arc(Arc::clone(h)))
    }
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[(v.len() - 1) / 2]
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (rounds, requests, warmup) = if full {
        (
            env_usize("METRICS_BENCH_ROUNDS").unwrap_or(9).max(1),
            env_usize("METRICS_BENCH_REQUESTS").unwrap_or(2_000).max(1),
            500,
        )
    } else {
        (2, 20, 5)
    };

    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let addr = server_rt.block_on(async {
        let app = Router::new().route(
            "/api/v2/conversations/{id}",
            get(|| async { ([("content-type", "application/json")], SMALL) }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    });
    let base = url::Url::parse(&format!("http://{addr}/")).unwrap();
    // The client runs on a current-thread runtime: a thread-local recorder covers every poll.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let recorder = Stored {
        registry: Registry::atomic(),
    };

    rt.block_on(async {
        let client = GenesysClient::builder()
            .region(Region::custom(base.clone(), base.clone()))
            .token_provider(Arc::new(StaticToken::new("bench-token".into())))
            .pacer(Pacer::unlimited())
            .retry_policy(RetryPolicy::default())
            .build()
            .unwrap();
        let path = "/api/v2/conversations/5f1c8b1e-0d1a-4c55-9f3e-2b7a1c9d0e11";
        let call = |with: bool| {
            let client = &client;
            let recorder = &recorder;
            async move {
                let _guard = with.then(|| metrics::set_default_local_recorder(recorder));
                let t = Instant::now();
                let v: serde_json::Value = client.get_json(path, &[]).await.unwrap();
                std::hint::black_box(v);
                t.elapsed()
            }
        };
        for _ in 0..warmup {
            call(false).await;
            call(true).await;
        }
        let mut p50 = [Vec::new(), Vec::new()];
        let mut paired = Vec::new();
        for round in 0..rounds {
            let mut samples = [Vec::with_capacity(requests), Vec::with_capacity(requests)];
            for i in 0..requests {
                for k in 0..2 {
                    let series = (i + round + k) % 2;
                    samples[series].push(us(call(series == 1).await));
                }
            }
            let diffs: Vec<f64> = samples[1]
                .iter()
                .zip(&samples[0])
                .map(|(w, n)| w - n)
                .collect();
            paired.push(median(&diffs));
            p50[0].push(median(&samples[0]));
            p50[1].push(median(&samples[1]));
        }
        let without = median(&p50[0]);
        let with = median(&p50[1]);
        let diff = median(&paired);
        println!("GenesysClient::get_json, {rounds} rounds x {requests} requests per series, interleaved (µs)");
        if !full {
            println!("(smoke run under cargo test: figures not meaningful; use cargo bench)");
        }
        println!("{:<34}{:>14}", "", "p50 (median of rounds)");
        println!("{:<34}{:>14.1}", SERIES[0], without);
        println!("{:<34}{:>14.1}", SERIES[1], with);
        println!(
            "overhead at p50: {:.2}% ; paired diff (median) {:.2} µs = {:.2}%  (goal ≤ 2%)",
            (with / without - 1.0) * 100.0,
            diff,
            diff / without * 100.0
        );
        let mut recorded = 0;
        recorder.registry.visit_histograms(|key, h| {
            if key.name() == "http.client.request.duration" {
                recorded += h.data().len();
            }
        });
        println!("recorded http.client.request.duration samples: {recorded}");
        assert!(recorded > 0);
    });
}
