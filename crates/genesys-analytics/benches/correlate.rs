//! Correlating 1,000 conversation ids against the simulator with 20 ms latency: this crate's
//! `correlate` (chunks of 100 ids per query over a 30-day window, then one-by-one lookups for
//! the ids the window missed) beside the tutorial's way (one details query per id), measured in
//! the same run. Prints requests made and elapsed time side by side.
//!
//! Two scenarios: conversations spread over 45 days (a third of them older than the window, so
//! they cost a lookup each) and over 28 days (everything inside the window).
//!
//! `cargo bench -p genesys-analytics --bench correlate`. Under `cargo test --all-targets` (no
//! `--bench` argument) it runs a small smoke version instead, so the test suite stays fast.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use genesys_analytics::{Analytics, AnalyticsClient, ConversationQuery, CorrelationWindow};
use genesys_auth::{ClientCredentials, GenesysClient, Region};
use genesys_sim::SimOrg;
use retry_policy::{Pacer, RetryPolicy};
use url::Url;

/// Ids and latency for the real run and for the smoke run under `cargo test`.
const FULL: (usize, Duration) = (1_000, Duration::from_millis(20));
const SMOKE: (usize, Duration) = (60, Duration::from_millis(1));

fn client(sim: &SimOrg) -> AnalyticsClient {
    let base = Url::parse(&sim.base_url()).unwrap();
    let genesys = GenesysClient::builder()
        .region(Region::custom(base.clone(), base))
        .credentials(ClientCredentials::new(
            sim.client_id(),
            sim.client_secret().to_owned(),
        ))
        // no pacing: the figures are about requests and latency, not an org's rate limit
        .pacer(Pacer::unlimited())
        .retry_policy(RetryPolicy::default())
        .build()
        .unwrap();
    AnalyticsClient::new(genesys)
}

struct Run {
    found: usize,
    requests: u64,
    queries: u32,
    lookups: u32,
    elapsed: Duration,
}

/// The tutorial's way: one details query per id, one after the other.
async fn one_query_per_id(analytics: &AnalyticsClient, sim: &SimOrg, ids: &[String]) -> Run {
    let window = CorrelationWindow::last_days(30).resolve().unwrap();
    let before = api_requests(sim);
    let started = Instant::now();
    let mut found = 0;
    for id in ids {
        let q = ConversationQuery::builder()
            .with_interval(window)
            .page_size(25)
            .conversation_ids([id])
            .build()
            .unwrap();
        let page = analytics.query(&q).await.unwrap();
        found += page.conversations.len();
    }
    let requests = api_requests(sim) - before;
    Run {
        found,
        requests,
        queries: u32::try_from(requests).unwrap_or(u32::MAX),
        lookups: 0,
        elapsed: started.elapsed(),
    }
}

async fn batched(analytics: &AnalyticsClient, sim: &SimOrg, ids: &[String]) -> Run {
    let before = api_requests(sim);
    let started = Instant::now();
    let r = analytics.correlate(ids).await.unwrap();
    assert!(r.failed.is_empty());
    Run {
        found: r.found.len(),
        requests: api_requests(sim) - before,
        queries: r.queries,
        lookups: r.detail_lookups,
        elapsed: started.elapsed(),
    }
}

/// API requests the simulator answered so far (token requests aside).
fn api_requests(sim: &SimOrg) -> u64 {
    let stats = sim.stats();
    stats.total_requests - stats.token_requests
}

async fn scenario(ids_wanted: usize, latency: Duration, span_days: u64) {
    let sim = SimOrg::builder()
        .seed(2026)
        .conversations(ids_wanted as u32)
        .messages_per_conversation(1)
        .history_span(Duration::from_secs(span_days * 86_400))
        .latency(latency, Duration::ZERO)
        .start()
        .await
        .unwrap();
    let ids: Vec<String> = sim.conversations().into_iter().map(|c| c.id).collect();
    let analytics = client(&sim);
    // warm up: token and connection pool, so neither run pays for them
    analytics.details(&ids[0]).await.unwrap();

    let ours = batched(&analytics, &sim, &ids).await;
    let seed = one_query_per_id(&analytics, &sim, &ids).await;
    assert_eq!(ours.found, ids.len(), "correlate finds every id");

    println!();
    println!(
        "correlating {} ids, sim latency {latency:?}, conversations spread over {span_days} days, 30-day window",
        ids.len()
    );
    println!(
        "{:<34} {:>9} {:>9} {:>9} {:>11} {:>7}",
        "", "requests", "queries", "lookups", "elapsed", "found"
    );
    for (name, run) in [
        ("genesys-analytics correlate", &ours),
        ("one query per id (the tutorial)", &seed),
    ] {
        println!(
            "{:<34} {:>9} {:>9} {:>9} {:>9.2} s {:>7}",
            name,
            run.requests,
            run.queries,
            run.lookups,
            run.elapsed.as_secs_f64(),
            run.found
        );
    }
    println!(
        "-> {:.1}x fewer requests, {:.1}x faster; at the default pace of 300 requests/minute the \
         tutorial's way needs at least {:.0} s, ours {:.0} s",
        seed.requests as f64 / ours.requests.max(1) as f64,
        seed.elapsed.as_secs_f64() / ours.elapsed.as_secs_f64().max(1e-9),
        seed.requests as f64 / 5.0,
        ours.requests as f64 / 5.0,
    );
    if seed.found < ids.len() {
        println!(
            "   the tutorial's way found {} of {}: ids older than its window are lost; ours looked them up",
            seed.found,
            ids.len()
        );
    }
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let (n, latency) = if bench { FULL } else { SMOKE };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        scenario(n, latency, 45).await;
        scenario(n, latency, 28).await;
    });
}
