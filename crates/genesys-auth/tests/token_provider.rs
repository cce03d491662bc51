//! The client-credentials provider against a wiremock login service (real time; lifetimes in
//! fractions of a second where expiry matters).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use genesys_auth::{AuthError, ClientCredentialsProvider, TokenProvider};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn provider(server: &MockServer) -> ClientCredentialsProvider {
    ClientCredentialsProvider::builder(credentials(), region(server))
        .retry_policy(fast_policy(3))
        .build()
        .unwrap()
}

async fn hammer(p: &ClientCredentialsProvider, n: usize) -> Vec<String> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let p = p.clone();
        tasks.spawn(async move { p.access_token().await.map(|t| t.expose().to_owned()) });
    }
    let mut tokens = Vec::new();
    while let Some(done) = tasks.join_next().await {
        tokens.push(done.unwrap().unwrap());
    }
    // A thousand joins use up this task's tokio coop budget. `MockServer`'s `Drop` runs
    // `futures::executor::block_on` over a tokio lock; with the budget at exactly zero that
    // lock answers Pending and wakes at once, forever (seen: the test spun at 100 % CPU).
    // Yielding starts a fresh budget for the few operations left in the test.
    tokio::task::yield_now().await;
    tokens
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_callers_on_a_cold_cache_make_one_token_request() {
    let server = MockServer::start().await;
    token_mock_delayed(
        json!({"access_token": "tok-1", "token_type": "bearer", "expires_in": 86399}),
        Duration::from_millis(50),
    )
    .expect(1)
    .mount(&server)
    .await;
    let p = provider(&server);
    let tokens = hammer(&p, 1000).await;
    assert_eq!(tokens.len(), 1000);
    assert!(tokens.iter().all(|t| t == "tok-1"));
    assert_eq!(p.token_requests(), 1);
    server.verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_expiry_a_thousand_concurrent_callers_make_one_more_request() {
    let server = MockServer::start().await;
    // 1 s lifetime: the refresh point is at half of it (the margin never exceeds half), which
    // leaves the first thousand callers 0.5 s even on a loaded machine.
    token_mock_delayed(
        json!({"access_token": "tok-short", "expires_in": 1.0}),
        Duration::from_millis(30),
    )
    .expect(2)
    .mount(&server)
    .await;
    let p = provider(&server);
    assert_eq!(hammer(&p, 1000).await.len(), 1000);
    assert_eq!(p.token_requests(), 1);
    tokio::time::sleep(Duration::from_millis(550)).await; // real time: a socket is involved
    assert_eq!(hammer(&p, 1000).await.len(), 1000);
    assert_eq!(p.token_requests(), 2);
    server.verify().await;
}

#[tokio::test]
async fn a_token_near_expiry_is_refreshed_before_use() {
    let server = MockServer::start().await;
    token_mock(json!({"access_token": "first", "expires_in": 0.3}))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    token_mock(json!({"access_token": "second", "expires_in": 3600}))
        .mount(&server)
        .await;
    let p = provider(&server);
    assert_eq!(p.access_token().await.unwrap().expose(), "first");
    // Before the refresh point (0.15 s) the cached token is reused.
    assert_eq!(p.access_token().await.unwrap().expose(), "first");
    assert_eq!(p.token_requests(), 1);
    // Past the refresh point but before expiry (0.3 s): a new token is fetched before use.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(p.access_token().await.unwrap().expose(), "second");
    assert_eq!(p.token_requests(), 2);
}

#[tokio::test]
async fn an_invalidated_token_is_not_reused() {
    let server = MockServer::start().await;
    token_mock(json!({"access_token": "old", "expires_in": 3600}))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    token_mock(json!({"access_token": "new", "expires_in": 3600}))
        .mount(&server)
        .await;
    let p = provider(&server);
    let old = p.access_token().await.unwrap();
    p.invalidate(&old);
    let new = p.access_token().await.unwrap();
    assert_eq!(new.expose(), "new");
    // Invalidating a token that is no longer cached changes nothing.
    p.invalidate(&old);
    assert_eq!(p.access_token().await.unwrap(), new);
    assert_eq!(p.token_requests(), 2);
}

#[tokio::test]
async fn refused_credentials_are_typed_and_never_retried() {
    for status in [400u16, 401] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .respond_with(ResponseTemplate::new(status).set_body_json(
                json!({"error": "invalid_client", "description": "client not found"}),
            ))
            .expect(1)
            .mount(&server)
            .await;
        let p = provider(&server);
        match p.access_token().await {
            Err(AuthError::InvalidCredentials {
                status: s,
                error,
                description,
            }) => {
                assert_eq!(s, status);
                assert_eq!(error.as_deref(), Some("invalid_client"));
                assert_eq!(description.as_deref(), Some("client not found"));
            }
            other => panic!("expected InvalidCredentials, got {other:?}"),
        }
        server.verify().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_waiters_share_one_failure() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(401).set_delay(Duration::from_millis(50)))
        .expect(1)
        .mount(&server)
        .await;
    let p = provider(&server);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let p = p.clone();
        tasks.spawn(async move { p.access_token().await });
    }
    while let Some(done) = tasks.join_next().await {
        assert!(matches!(
            done.unwrap(),
            Err(AuthError::InvalidCredentials { status: 401, .. })
        ));
    }
    server.verify().await;
}

#[tokio::test]
async fn token_request_retries_429_and_5xx_per_policy() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    token_mock(json!({"access_token": "finally", "expires_in": 3600}))
        .mount(&server)
        .await;
    let p = provider(&server);
    assert_eq!(p.access_token().await.unwrap().expose(), "finally");
    assert_eq!(p.token_requests(), 3);

    let down = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(502))
        .expect(3)
        .mount(&down)
        .await;
    match provider(&down).access_token().await {
        Err(AuthError::RetriesExhausted {
            attempts: 3, last, ..
        }) => {
            assert!(matches!(
                *last,
                AuthError::TokenEndpoint { status: 502, .. }
            ));
        }
        other => panic!("{other:?}"),
    }
    down.verify().await;
}

#[tokio::test]
async fn bad_token_answers_are_typed_errors() {
    let cases: Vec<(ResponseTemplate, &str)> = vec![
        (
            ResponseTemplate::new(200).set_body_string("<html>login</html>"),
            "not JSON",
        ),
        (
            ResponseTemplate::new(200).set_body_string(r#"{"access_token":"tok-trunc","expi"#),
            "not JSON",
        ),
        (
            ResponseTemplate::new(200).set_body_json(json!({"expires_in": 300})),
            "no access_token",
        ),
        (
            ResponseTemplate::new(200).set_body_json(json!({"access_token": "t", "expires_in": 0})),
            "zero",
        ),
        (
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "t", "expires_in": -1})),
            "zero",
        ),
    ];
    for (answer, expected) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .respond_with(answer)
            .expect(1)
            .mount(&server)
            .await;
        match provider(&server).access_token().await {
            Err(AuthError::MalformedTokenResponse { reason }) => {
                assert!(reason.contains(expected), "{reason}");
                assert!(!reason.contains("tok-trunc"));
            }
            other => panic!("{other:?}"),
        }
        server.verify().await;
    }
    // Absurd lifetimes are cut to the documented maximum; a missing one gets the default.
    let server = MockServer::start().await;
    token_mock(json!({"access_token": "t", "expires_in": 1e12}))
        .mount(&server)
        .await;
    assert_eq!(
        provider(&server).access_token().await.unwrap().expose(),
        "t"
    );
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_still_valid_token() {
    let server = MockServer::start().await;
    token_mock(json!({"access_token": "valid", "expires_in": 0.6}))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let p = ClientCredentialsProvider::builder(credentials(), region(&server))
        .retry_policy(fast_policy(1))
        .build()
        .unwrap();
    assert_eq!(p.access_token().await.unwrap().expose(), "valid");
    tokio::time::sleep(Duration::from_millis(350)).await; // past the refresh point (0.3 s)
    assert_eq!(p.access_token().await.unwrap().expose(), "valid");
    assert_eq!(p.token_requests(), 2);
    // The next refresh waits a while instead of hammering the endpoint.
    assert_eq!(p.access_token().await.unwrap().expose(), "valid");
    assert_eq!(p.token_requests(), 2);
    tokio::time::sleep(Duration::from_millis(350)).await; // now expired
    assert!(p.access_token().await.is_err());
}

#[tokio::test]
async fn shared_provider_serves_many_clients() {
    let server = MockServer::start().await;
    token_mock(json!({"access_token": "shared", "expires_in": 3600}))
        .expect(1)
        .mount(&server)
        .await;
    let p: Arc<dyn TokenProvider> = Arc::new(provider(&server));
    let a = p.access_token().await.unwrap();
    let b = p.access_token().await.unwrap();
    assert_eq!(a, b);
    assert_eq!(format!("{a:?}"), "AccessToken(***)");
    server.verify().await;
}
