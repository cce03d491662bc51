//! Helpers shared by the integration tests: a wiremock login + API server and clients with
//! millisecond-scale settings (real time: wiremock serves from its own thread).
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use genesys_auth::{ClientCredentials, GenesysClient, Region, StaticToken};
use retry_policy::{Backoff, Jitter, Pacer, RetryPolicy};
use secrecy::SecretString;
use url::Url;
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const CLIENT_ID: &str = "test-client-id";
pub const CLIENT_SECRET: &str = "sEcReT-do-not-print-0xC0FFEE";
/// `Basic base64(CLIENT_ID:CLIENT_SECRET)`.
pub fn basic() -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    )
}

pub fn credentials() -> ClientCredentials {
    ClientCredentials::new(CLIENT_ID, CLIENT_SECRET)
}

pub fn region(server: &MockServer) -> Region {
    let base = Url::parse(&server.uri()).unwrap();
    Region::custom(base.clone(), base)
}

/// A token endpoint that checks the documented request and answers `body`.
pub fn token_mock(body: serde_json::Value) -> Mock {
    token_mock_delayed(body, Duration::ZERO)
}

/// Like [`token_mock`], answering after `delay`.
pub fn token_mock_delayed(body: serde_json::Value, delay: Duration) -> Mock {
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("authorization", basic().as_str()))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string("grant_type=client_credentials"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(body)
                .set_delay(delay),
        )
}

/// A policy for real-time tests: tiny constant backoff, a 20 ms Retry-After floor, no jitter,
/// no budget.
pub fn fast_policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy::builder()
        .max_attempts(max_attempts)
        .backoff(Backoff::constant(Duration::from_millis(5)).jitter(Jitter::None))
        .retry_after_floor(Duration::from_millis(20))
        .max_elapsed(Duration::from_secs(10))
        .no_budget()
        .build()
}

/// A client with credentials against `server`, unlimited pace.
pub fn client(server: &MockServer, policy: RetryPolicy) -> GenesysClient {
    GenesysClient::builder()
        .region(region(server))
        .credentials(credentials())
        .pacer(Pacer::unlimited())
        .retry_policy(policy)
        .connect_timeout(Duration::from_secs(2))
        .request_timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

/// A client with a static token against `server`.
pub fn static_client(server: &MockServer, token: &str, policy: RetryPolicy) -> GenesysClient {
    GenesysClient::builder()
        .region(region(server))
        .token_provider(Arc::new(StaticToken::new(SecretString::from(token))))
        .pacer(Pacer::unlimited())
        .retry_policy(policy)
        .request_timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}
