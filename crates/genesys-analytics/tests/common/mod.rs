//! Shared set-up: an `AnalyticsClient` pointed at a local server (the simulator or wiremock),
//! with fast retries and no pacing so tests stay quick.

#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use genesys_analytics::AnalyticsClient;
use genesys_auth::{ClientCredentials, GenesysClient, Region, StaticToken};
use retry_policy::{Backoff, Pacer, RetryPolicy};
use url::Url;

/// Retries quickly (ms-scale), like the real policy otherwise.
pub fn fast_policy() -> RetryPolicy {
    RetryPolicy::builder()
        .max_attempts(4)
        .backoff(Backoff::exponential(
            Duration::from_millis(2),
            Duration::from_millis(20),
        ))
        .retry_after_floor(Duration::from_millis(5))
        .max_elapsed(Duration::from_secs(5))
        .no_budget()
        .build()
}

/// A client for the simulator (client credentials against its token endpoint).
pub fn sim_client(sim: &genesys_sim::SimOrg) -> AnalyticsClient {
    let base = Url::parse(&sim.base_url()).unwrap();
    let genesys = GenesysClient::builder()
        .region(Region::custom(base.clone(), base))
        .credentials(ClientCredentials::new(
            sim.client_id(),
            sim.client_secret().to_owned(),
        ))
        .pacer(Pacer::unlimited())
        .retry_policy(fast_policy())
        .request_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    AnalyticsClient::new(genesys)
}

/// A client for a wiremock server (a static token, no token endpoint needed).
pub fn mock_client(uri: &str) -> AnalyticsClient {
    let base = Url::parse(uri).unwrap();
    let genesys = GenesysClient::builder()
        .region(Region::custom(base.clone(), base))
        .token_provider(std::sync::Arc::new(StaticToken::new(
            "test-token".to_owned().into(),
        )))
        .pacer(Pacer::unlimited())
        .retry_policy(fast_policy())
        .request_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    AnalyticsClient::new(genesys)
}

/// Answers with status `status` on `path` so far.
pub fn count(sim: &genesys_sim::SimOrg, path: &str, status: u16) -> u64 {
    sim.stats().count(path, status)
}

pub const QUERY_PATH: &str = "/api/v2/analytics/conversations/details/query";
pub const JOBS_PATH: &str = "/api/v2/analytics/conversations/details/jobs";

/// Requests the sim answered on the details endpoint (any id, any status).
pub fn detail_requests(sim: &genesys_sim::SimOrg) -> u64 {
    sim.stats()
        .requests
        .iter()
        .filter(|(path, _)| {
            path.starts_with("/api/v2/analytics/conversations/") && path.ends_with("/details")
        })
        .flat_map(|(_, by_status)| by_status.values())
        .sum()
}
