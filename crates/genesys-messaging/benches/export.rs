//! History export benchmarks against the simulator, each beside its baseline in the same run:
//!
//! 1. **Latency-bound**: 20 ms latency, no limit, 10,000 messages, page size 100 — the export
//!    (concurrency 16) vs a sequential page-by-page loop on the same client (how the official
//!    SDKs are used). Target ≥ 6×.
//! 2. **Rate-bound**: 5 requests/s, burst 5, 3,000 messages (30 pages) — elapsed ÷ theoretical
//!    minimum ((pages − burst) ÷ rate) ≤ 1.05 with zero 429s; baseline: the same export with an
//!    unpaced client (it learns the limit from 429s).
//! 3. **Retry-After: 0 quirk**: as 2 with the sim answering `Retry-After: 0` while still
//!    limited — at most 1 429 per 100 requests. Measured with the pacer configured for the
//!    limit and with a pacer that starts 4× too fast and must learn the limit from the
//!    `inin-ratelimit-*` headers; baseline: an unpaced client that takes `Retry-After: 0`
//!    literally (no floor).
//!
//! `cargo bench -p genesys-messaging --bench export`. Under `cargo test --all-targets` (no
//! `--bench` argument) a small smoke version runs instead.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use genesys_auth::{GenesysClient, Region, StaticToken};
use genesys_messaging::history::{GuestSession, HistoryExport, HistoryReport};
use genesys_messaging::{EntityList, WebMessagingMessage};
use genesys_sim::SimOrg;
use retry_policy::{Backoff, Pacer, RetryPolicy};
use url::Url;

struct Scale {
    latency_messages: u32,
    latency: Duration,
    rate_messages: u32,
    rate: f64,
}

const FULL: Scale = Scale {
    latency_messages: 10_000,
    latency: Duration::from_millis(20),
    rate_messages: 3_000,
    rate: 5.0,
};
const SMOKE: Scale = Scale {
    latency_messages: 500,
    latency: Duration::from_millis(2),
    rate_messages: 1_000,
    rate: 50.0,
};
const BURST: u32 = 5;
const PAGE: u32 = 100;

fn client(sim: &SimOrg, pacer: Pacer, policy: RetryPolicy) -> GenesysClient {
    let base = Url::parse(&sim.base_url()).unwrap();
    GenesysClient::builder()
        .region(Region::custom(base.clone(), base))
        .credentials(genesys_auth::ClientCredentials::new(
            sim.client_id(),
            sim.client_secret().to_owned(),
        ))
        .pacer(pacer)
        .retry_policy(policy)
        .build()
        .unwrap()
}

fn guest(client: &GenesysClient, sim: &SimOrg) -> GuestSession {
    let conv = &sim.conversations()[0];
    GuestSession::new(client, conv.guest_jwt.clone().into(), conv.id.clone())
}

async fn run_export(client: &GenesysClient, sim: &SimOrg, concurrency: usize) -> HistoryReport {
    let export = HistoryExport::builder(guest(client, sim))
        .page_size(PAGE)
        .concurrency(concurrency)
        .build()
        .unwrap();
    let mut stream = export.stream();
    // A baseline may give up on pages: that is a figure too (pages_failed), not a crash.
    while stream.next().await.is_some() {}
    stream.finished_report().await
}

/// What the official SDKs make you write: one page, then the next.
async fn sequential_loop(client: &GenesysClient, sim: &SimOrg) -> (usize, Duration) {
    let conv = &sim.conversations()[0];
    let guest_client = client.with_token_provider(std::sync::Arc::new(StaticToken::new(
        conv.guest_jwt.clone().into(),
    )));
    let started = Instant::now();
    let mut count = 0;
    let mut page = 1u32;
    loop {
        let list: EntityList<WebMessagingMessage> = guest_client
            .get_json(
                "/api/v2/webmessaging/messages",
                &[
                    ("pageSize", PAGE.to_string()),
                    ("pageNumber", page.to_string()),
                ],
            )
            .await
            .unwrap();
        count += list.entities.len();
        if page >= list.page_count.unwrap_or(0) {
            break;
        }
        page += 1;
    }
    (count, started.elapsed())
}

async fn latency_bound(scale: &Scale) {
    let sim = SimOrg::builder()
        .seed(1)
        .conversations(1)
        .messages_per_conversation(scale.latency_messages)
        .latency(scale.latency, Duration::ZERO)
        .start()
        .await
        .unwrap();
    let c = client(&sim, Pacer::unlimited(), RetryPolicy::default());
    let (baseline_count, baseline) = sequential_loop(&c, &sim).await;
    let ours = run_export(&c, &sim, 16).await;
    assert_eq!(ours.yielded as usize, baseline_count);
    let speedup = baseline.as_secs_f64() / ours.elapsed.as_secs_f64();
    println!(
        "1. latency-bound export ({} messages, {} ms latency, page {PAGE}, concurrency 16)",
        scale.latency_messages,
        scale.latency.as_millis()
    );
    println!(
        "   ours      {:>8.3} s  ({:.0} msg/s)",
        ours.elapsed.as_secs_f64(),
        ours.messages_per_second
    );
    println!(
        "   baseline  {:>8.3} s  (sequential page loop)",
        baseline.as_secs_f64()
    );
    println!(
        "   speedup   {speedup:>8.2}x  (target >= 6x) {}",
        verdict(speedup >= 6.0)
    );
}

async fn rate_bound(scale: &Scale, quirk: bool) {
    let pages = scale.rate_messages / PAGE;
    let minimum = f64::from(pages - BURST) / scale.rate;
    // Requests the API answered, as the simulator counted them (each run has its own sim).
    let api_requests = |sim: &SimOrg| {
        let stats = sim.stats();
        stats.total_requests - stats.token_requests
    };
    let start_sim = || {
        SimOrg::builder()
            .seed(2)
            .conversations(1)
            .messages_per_conversation(scale.rate_messages)
            .rate_limit(scale.rate, BURST)
            .retry_after_zero(quirk)
            .start()
    };

    let mut rows = Vec::new();
    let sim = start_sim().await.unwrap();
    let c = client(
        &sim,
        Pacer::per_second(scale.rate, BURST),
        RetryPolicy::default(),
    );
    let ours = run_export(&c, &sim, 8).await;
    assert_eq!(ours.pages_failed, 0, "{ours:?}");
    rows.push((
        "ours (pacer set to the limit)",
        ours.elapsed,
        sim.stats().rate_limited,
        api_requests(&sim),
    ));

    let mut learning = None;
    if quirk {
        let sim = start_sim().await.unwrap();
        let c = client(
            &sim,
            Pacer::per_second(scale.rate * 4.0, BURST),
            RetryPolicy::default(),
        );
        let r = run_export(&c, &sim, 8).await;
        learning = Some((r.elapsed, sim.stats().rate_limited, api_requests(&sim)));
        rows.push((
            "ours (pacer starts 4x fast, learns)",
            r.elapsed,
            sim.stats().rate_limited,
            api_requests(&sim),
        ));
    }

    let sim = start_sim().await.unwrap();
    let naive_policy = if quirk {
        // Takes Retry-After: 0 literally.
        RetryPolicy::builder()
            .max_attempts(100)
            .max_elapsed(Duration::from_secs(300))
            .retry_after_floor(Duration::ZERO)
            .backoff(Backoff::exponential(
                Duration::from_millis(100),
                Duration::from_secs(10),
            ))
            .no_budget()
            .build()
    } else {
        RetryPolicy::builder()
            .max_attempts(50)
            .max_elapsed(Duration::from_secs(300))
            .no_budget()
            .build()
    };
    let c = client(&sim, Pacer::unlimited(), naive_policy);
    let base = run_export(&c, &sim, 8).await;
    let base_name = if base.pages_failed > 0 {
        println!(
            "   (baseline gave up on {} of {pages} pages)",
            base.pages_failed
        );
        "baseline (no pacer) INCOMPLETE"
    } else {
        "baseline (no pacer)"
    };
    rows.push((
        base_name,
        base.elapsed,
        sim.stats().rate_limited,
        api_requests(&sim),
    ));

    if quirk {
        println!(
            "3. Retry-After: 0 quirk ({} messages, {pages} pages, {} req/s, burst {BURST})",
            scale.rate_messages, scale.rate
        );
    } else {
        println!(
            "2. rate-bound export ({} messages, {pages} pages, {} req/s, burst {BURST}); theoretical minimum {minimum:.2} s",
            scale.rate_messages, scale.rate
        );
    }
    for (name, elapsed, limited, requests) in &rows {
        let per100 = 100.0 * *limited as f64 / (*requests).max(1) as f64;
        println!(
            "   {name:<36} {:>7.3} s  ratio {:>5.3}  429s {limited:>4} / {requests:>4} requests ({per100:.2} per 100)",
            elapsed.as_secs_f64(),
            elapsed.as_secs_f64() / minimum
        );
    }
    let (_, elapsed, limited, requests) = rows[0];
    if quirk {
        let per100 = 100.0 * limited as f64 / requests.max(1) as f64;
        println!(
            "   ours: {per100:.2} 429s per 100 requests (target <= 1) {}",
            verdict(per100 <= 1.0)
        );
        if let Some((_, l, r)) = learning {
            let per100 = 100.0 * l as f64 / r.max(1) as f64;
            println!(
                "   learning pacer: {per100:.2} 429s per 100 requests {}",
                verdict(per100 <= 1.0)
            );
        }
    } else {
        let ratio = elapsed.as_secs_f64() / minimum;
        println!(
            "   ours: ratio {ratio:.3} (target <= 1.05) {}, 429s {limited} (target 0) {}",
            verdict(ratio <= 1.05),
            verdict(limited == 0)
        );
    }
}

static FULL_RUN: AtomicBool = AtomicBool::new(false);

/// Targets apply to the full run only; the smoke run's scale is too small to judge them.
fn verdict(ok: bool) -> &'static str {
    match (FULL_RUN.load(Ordering::Relaxed), ok) {
        (false, _) => "(smoke run: not judged)",
        (true, true) => "OK",
        (true, false) => "MISSED",
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    FULL_RUN.store(full, Ordering::Relaxed);
    let scale = if full { &FULL } else { &SMOKE };
    if !full {
        println!("(smoke run: pass --bench, i.e. `cargo bench`, for the real figures)");
    }
    latency_bound(scale).await;
    rate_bound(scale, false).await;
    rate_bound(scale, true).await;
}
