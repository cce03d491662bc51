//! Shared helpers for the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use genesys_auth::{ClientCredentials, GenesysClient, Region, StaticToken};
use retry_policy::{Backoff, Pacer, RetryPolicy};
use url::Url;

/// A retry policy with millisecond-scale waits (tests run on real time against real sockets).
pub fn fast_policy() -> RetryPolicy {
    RetryPolicy::builder()
        .max_attempts(10)
        .backoff(Backoff::exponential(
            Duration::from_millis(5),
            Duration::from_millis(80),
        ))
        .retry_after_floor(Duration::from_millis(50))
        .max_elapsed(Duration::from_secs(20))
        .no_budget()
        .build()
}

fn region(base: &str) -> Region {
    let url = Url::parse(base).unwrap();
    Region::custom(url.clone(), url)
}

/// An OAuth client of the simulator.
pub fn sim_client(sim: &genesys_sim::SimOrg, pacer: Pacer) -> GenesysClient {
    sim_client_with(sim, pacer, fast_policy())
}

/// An OAuth client of the simulator with its own retry policy.
pub fn sim_client_with(
    sim: &genesys_sim::SimOrg,
    pacer: Pacer,
    policy: RetryPolicy,
) -> GenesysClient {
    GenesysClient::builder()
        .region(region(&sim.base_url()))
        .credentials(ClientCredentials::new(
            sim.client_id(),
            sim.client_secret().to_owned(),
        ))
        .pacer(pacer)
        .retry_policy(policy)
        .request_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// A client with a fixed token for a wiremock server.
pub fn mock_client(base: &str) -> GenesysClient {
    GenesysClient::builder()
        .region(region(base))
        .token_provider(Arc::new(StaticToken::new("test-token".to_owned().into())))
        .retry_policy(fast_policy())
        .request_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}
