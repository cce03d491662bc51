//! Fault soak: a web messaging history export of 20,000 messages (multiplied by `SOAK_SCALE`)
//! against genesys-sim injecting 15% 5xx, 2% connection resets, 1% truncated bodies, 3%
//! latency spikes and an org rate limit the client's pacer slightly overshoots. The export must
//! be complete, in order and without duplicates, and the report's counters must add up against
//! what the simulator saw.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::StreamExt;
use genesys_auth::metric_names::{
    HTTP_CLIENT_REQUEST_DURATION, OPERATION, RATE_LIMITED, TOKEN_FETCHES,
};
use genesys_auth::{ClientCredentials, GenesysClient, Region};
use genesys_messaging::history::{GuestSession, HistoryExport, WEB_MESSAGING_MESSAGES_PATH};
use genesys_sim::{Faults, SimOrg};
use retry_policy::metric_names::RETRIES;
use retry_policy::test_util::MetricsCapture;
use retry_policy::{Backoff, Pacer, RetryPolicy};

/// `SOAK_SCALE` (a positive integer) multiplies the message count for longer runs.
fn scale() -> usize {
    std::env::var("SOAK_SCALE")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_export_of_20k_messages_under_faults_is_complete_ordered_and_accounted() {
    // The only test of this binary: the process-wide recorder sees the client's metrics.
    let m = MetricsCapture::install_global().expect("the first recorder of this binary");
    let total = 20_000 * scale();
    // 25 a page: 800 pages and ~1,000 requests, so even the 1% faults happen several times.
    let page_size = 25usize;
    let sim = SimOrg::builder()
        .seed(2026)
        .conversations(1)
        .messages_per_conversation(u32::try_from(total).unwrap())
        .out_of_order_share(0.0)
        .rate_limit(300.0, 1)
        // The quirk of the real platform: `Retry-After: 0` while still limited (the client floors it).
        .retry_after_zero(true)
        .latency(Duration::from_millis(1), Duration::from_millis(3))
        .faults(Faults {
            server_errors: 0.15,
            resets: 0.02,
            truncated: 0.01,
            slow: 0.03,
            slow_by: Duration::from_millis(120),
            ..Faults::default()
        })
        .start()
        .await
        .unwrap();
    let base = url::Url::parse(&sim.base_url()).unwrap();
    // Enough attempts that 21% faults plus 429s cannot exhaust a page (0.3^25 per page).
    let policy = RetryPolicy::builder()
        .max_attempts(25)
        .backoff(Backoff::exponential(
            Duration::from_millis(2),
            Duration::from_millis(50),
        ))
        .retry_after_floor(Duration::from_millis(20))
        .max_elapsed(Duration::from_secs(60))
        .no_budget()
        .build();
    let client = GenesysClient::builder()
        .region(Region::custom(base.clone(), base))
        .credentials(ClientCredentials::new(
            sim.client_id(),
            sim.client_secret().to_owned(),
        ))
        // A little over the org limit, with a burst as large as the export's concurrency. The
        // pacer learns the sim's rate from its headers, and against a bucket of 2 a run once
        // saw no 429 at all; against a bucket of 1, requests released together meet the limiter
        // in every run (8 to 9 × 429 in each of three runs).
        .pacer(Pacer::per_second(360.0, 8))
        .retry_policy(policy)
        .request_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let conv = &sim.conversations()[0];
    let source = GuestSession::new(&client, conv.guest_jwt.clone().into(), conv.id.clone());
    let export = HistoryExport::builder(source)
        .page_size(u32::try_from(page_size).unwrap())
        .concurrency(8)
        .build()
        .unwrap();

    let started = Instant::now();
    let mut stream = export.stream();
    let mut messages = Vec::with_capacity(total);
    while let Some(item) = stream.next().await {
        messages.push(item.unwrap());
    }
    let report = stream.finished_report().await;
    let elapsed = started.elapsed();
    let stats = sim.stats();

    // Complete, exactly the conversation's messages, no duplicates.
    assert_eq!(messages.len(), total);
    let ids: HashSet<&str> = messages.iter().map(|m| m.message.id.as_str()).collect();
    assert_eq!(ids.len(), total, "no duplicates");
    let expected: HashSet<String> = sim.message_ids(&conv.id).unwrap().into_iter().collect();
    assert!(
        ids.iter().all(|id| expected.contains(*id)) && expected.len() == total,
        "exactly the conversation's messages"
    );
    // Ordered: page/position strictly increasing, times newest first.
    for pair in messages.windows(2) {
        assert!((pair[0].page, pair[0].position) < (pair[1].page, pair[1].position));
        assert!(pair[0].message.time().unwrap() >= pair[1].message.time().unwrap());
    }
    let pages = total.div_ceil(page_size);
    assert!(report.complete, "{report:?}");
    assert_eq!(report.pages_fetched as usize, pages);
    assert_eq!(report.yielded as usize, total);
    assert_eq!(
        (
            report.duplicates,
            report.ordering_violations,
            report.pages_failed,
            report.decode_failures
        ),
        (0, 0, 0, 0)
    );

    // The faults really happened.
    let faults = &stats.faults;
    assert!(
        faults.server_errors > 0 && faults.resets > 0 && faults.truncated > 0 && faults.slow > 0,
        "{faults:?}"
    );
    assert!(stats.rate_limited > 0, "the rate limit was hit");

    // The report's counters against the sim's own.
    let path = WEB_MESSAGING_MESSAGES_PATH;
    let on_path: u64 = stats
        .requests
        .get(path)
        .map(|m| m.values().sum())
        .unwrap_or(0);
    let ok = stats.count(path, 200);
    let failed_attempts = stats.count(path, 429)
        + stats.count(path, 500)
        + stats.count(path, 502)
        + stats.count(path, 503)
        + stats.count(path, 0);
    // The client's metrics against the sim's own counts.
    let rate_limited = m.counter(RATE_LIMITED, &[]);
    assert_eq!(rate_limited, stats.rate_limited, "429s seen = 429s sent");
    assert_eq!(rate_limited, stats.count(path, 429));
    let requests = m
        .histogram(HTTP_CLIENT_REQUEST_DURATION, &[(OPERATION, path)])
        .len() as u64;
    assert_eq!(requests, on_path, "every attempt reached the sim once");
    assert_eq!(
        stats.count(path, 500) + stats.count(path, 502) + stats.count(path, 503),
        faults.server_errors
    );
    assert_eq!(stats.count(path, 0), faults.resets, "resets are status 0");
    // Every 200 either gave a page or was a truncated body fetched again.
    assert_eq!(ok, pages as u64 + faults.truncated, "{stats:?}");
    assert_eq!(on_path, ok + failed_attempts, "no other statuses");
    // Each failed attempt was followed by a retry inside the client; truncated bodies were
    // retried either by the client (the body broke off) or by the export (it did not parse).
    // (Retries of token fetches count too: at most one per failed fetch.)
    let retries = m.counter(RETRIES, &[]);
    let token_failures = m.counter(TOKEN_FETCHES, &[("outcome", "error")]);
    assert!(retries >= failed_attempts, "{retries} {report:?}");
    assert!(
        retries <= failed_attempts + faults.truncated + token_failures,
        "{retries} {report:?}"
    );

    println!(
        "soak history: {total} messages, {pages} pages in {elapsed:?}; {} requests, {} retries, \
         {} x 429, {} x 5xx, {} resets, {} truncated, {} slow; max in flight {}",
        requests,
        retries,
        rate_limited,
        faults.server_errors,
        faults.resets,
        faults.truncated,
        faults.slow,
        stats.max_in_flight
    );
}
