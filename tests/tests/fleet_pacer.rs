//! The fleet pacer through the one seam: two `GenesysClient`s, each with its own
//! `Pacer::redis` on one namespace (two processes, as far as the pace can tell), share one org
//! limit of a simulated org: together they stay under it (no 429 but for a stall), where two local pacers at
//! the same rate each overrun it. Both clients go through the ordinary pipeline; nothing in
//! genesys-auth knows which backend paces it.
//!
//! Needs Redis (`GENESYS_TEST_REDIS_URL`, started by `scripts/test`); skipped with a notice
//! without it, unless `GENESYS_TEST_REDIS=1`, which makes a missing URL a failure.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::time::{Duration, Instant};

use genesys_auth::{ClientCredentials, GenesysClient, Region};
use genesys_sim::SimOrg;
use retry_policy::{Pacer, PacerScope, RetryPolicy};
use secrecy::SecretString;

fn redis_url() -> Option<String> {
    match std::env::var("GENESYS_TEST_REDIS_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("GENESYS_TEST_REDIS").as_deref() != Ok("1"),
                "GENESYS_TEST_REDIS=1 but GENESYS_TEST_REDIS_URL is not set: redis-server is missing"
            );
            eprintln!("fleet_pacer: GENESYS_TEST_REDIS_URL unset (no Redis); skipped");
            None
        }
    }
}

const LIMIT: f64 = 20.0;
const EACH: usize = 30;

/// Two clients (with `pacers`) each make `EACH` requests, 3 at a time; returns the org's 429s
/// and the wall time.
async fn two_clients(org: &SimOrg, pacers: [Pacer; 2]) -> (u64, Duration) {
    let base = reqwest::Url::parse(&org.base_url()).unwrap();
    let conversation = org.conversations()[0].id.clone();
    let before = org.stats().rate_limited;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for pacer in pacers {
        let client = GenesysClient::builder()
            .region(Region::custom(base.clone(), base.clone()))
            .credentials(ClientCredentials::new(
                org.client_id().to_owned(),
                org.client_secret().to_owned(),
            ))
            .pacer(pacer)
            .retry_policy(RetryPolicy::builder().max_attempts(10).build())
            .build()
            .unwrap();
        for _ in 0..3 {
            let (client, path) = (
                client.clone(),
                format!("/api/v2/conversations/messages/{conversation}"),
            );
            tasks.push(tokio::spawn(async move {
                for _ in 0..EACH / 3 {
                    client
                        .get_json::<serde_json::Value>(&path, &[])
                        .await
                        .unwrap();
                }
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    (org.stats().rate_limited - before, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_on_one_redis_pace_share_one_org_limit_through_the_ordinary_pipeline() {
    let Some(url) = redis_url() else { return };
    let org = SimOrg::builder()
        .conversations(1)
        .messages_per_conversation(1)
        .rate_limit(LIMIT, 2)
        .retry_after_zero(true)
        .start()
        .await
        .unwrap();
    let namespace = format!(
        "fleet-test-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    );
    let shared = || {
        Pacer::redis(SecretString::from(url.clone()))
            .namespace(&namespace)
            .scope(PacerScope::per_second("oauth-client:sim", LIMIT, 1))
            .fleet_size(2)
            .build()
            .unwrap()
    };
    let pacers = [shared(), shared()];
    let (shared_429, elapsed) = two_clients(&org, pacers.clone()).await;
    let served: u64 = pacers.iter().map(|p| p.stats().shared_acquires).sum();
    // The org's burst of 2 absorbs ordinary jitter; a stall of this loaded machine that bunches
    // three reserved slots together could cost one 429, never a storm.
    assert!(shared_429 <= 2, "one shared pace: {shared_429} × 429");
    assert!(
        served >= 2 * EACH as u64,
        "{served} acquires served by Redis"
    );
    // 60 requests at 20 a second, after the org's burst: about 3 s.
    assert!(elapsed >= Duration::from_millis(2_800), "{elapsed:?}");

    // The baseline on the same org: two local pacers at the same rate each think they own it.
    let (local_429, _) = two_clients(
        &org,
        [Pacer::per_second(LIMIT, 1), Pacer::per_second(LIMIT, 1)],
    )
    .await;
    eprintln!(
        "fleet_pacer: 2 clients × {EACH} requests at an org limit of {LIMIT}/s: one Redis pace \
         {shared_429} × 429 in {elapsed:?}; two local pacers {local_429} × 429"
    );
    assert!(
        local_429 >= 1,
        "two local pacers at the org's rate overrun it: {local_429} × 429 (shared: {shared_429})"
    );
}
