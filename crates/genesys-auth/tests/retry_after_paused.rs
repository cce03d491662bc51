//! `Retry-After` timing on tokio's paused clock.
//!
//! Why not wiremock here: wiremock serves from its own thread. With paused time the runtime
//! auto-advances the clock whenever it has nothing to run, which happens while it waits for
//! wiremock's thread to answer; the clock then jumps to the next timer, the client's request
//! timeout, and the attempt fails with a timeout (or, without timeouts, the measured gaps are
//! meaningless). Instead the test serves the API with axum on the test's own current-thread
//! runtime: loopback TCP delivers bytes within the writer's syscall, so whenever the client
//! waits, the server task is already runnable and the clock never moves during a request. The
//! only timer that can make the clock jump is the pipeline's own `tokio::time::sleep` before
//! the retry, so the gap the server sees between the two attempts is exactly the pipeline's
//! wait. (A jump through the 60 s request timeout would fail the test with `Timeout`, so it
//! cannot pass by accident.)
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use genesys_auth::{GenesysClient, GenesysError, Region, StaticToken};
use retry_policy::{Pacer, RetryPolicy};
use tokio::time::Instant;

/// Serves `/api/v2/x`: the first `limited` hits answer 429 with `retry_after`, then 200.
/// Returns the base URL and the (paused-clock) instants of every hit.
async fn serve(retry_after: &'static str, limited: usize) -> (url::Url, Arc<Mutex<Vec<Instant>>>) {
    let hits = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&hits);
    let app = Router::new().route(
        "/api/v2/x",
        get(move || {
            let seen = Arc::clone(&seen);
            async move {
                let mut hits = seen.lock().unwrap();
                hits.push(Instant::now());
                let mut headers = HeaderMap::new();
                if hits.len() <= limited {
                    headers.insert("retry-after", retry_after.parse().unwrap());
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        headers,
                        r#"{"code":"too.many.requests.retry.after"}"#,
                    )
                } else {
                    (StatusCode::OK, headers, r#"{"ok":true}"#)
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url::Url::parse(&format!("http://{addr}/")).unwrap(), hits)
}

fn client(base: url::Url, pacer: Pacer) -> GenesysClient {
    GenesysClient::builder()
        .region(Region::custom(base.clone(), base))
        .token_provider(Arc::new(StaticToken::new("guest".into())))
        .pacer(pacer)
        .retry_policy(RetryPolicy::builder().no_budget().build())
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn retry_after_two_seconds_waits_two_seconds() {
    let (base, hits) = serve("2", 1).await;
    let client = client(base, Pacer::unlimited());
    let wall = std::time::Instant::now();
    let v: serde_json::Value = client.get_json("/api/v2/x", &[]).await.unwrap();
    assert_eq!(v["ok"], true);
    let hits = hits.lock().unwrap().clone();
    assert_eq!(hits.len(), 2);
    let gap = hits[1] - hits[0];
    assert!(gap >= Duration::from_secs(2), "{gap:?}");
    assert!(gap < Duration::from_millis(2100), "{gap:?}");
    // The two seconds passed on tokio's clock, not the wall clock.
    assert!(wall.elapsed() < Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn retry_after_zero_waits_the_default_floor_of_one_second() {
    let (base, hits) = serve("0", 1).await;
    let client = client(base, Pacer::unlimited());
    client
        .get_json::<serde_json::Value>("/api/v2/x", &[])
        .await
        .unwrap();
    let hits = hits.lock().unwrap().clone();
    let gap = hits[1] - hits[0];
    assert!(
        gap >= Duration::from_secs(1) && gap < Duration::from_millis(1100),
        "{gap:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_429_pauses_every_holder_of_the_pacer() {
    let (base, hits) = serve("3", 1).await;
    let pacer = Pacer::unlimited();
    let client = client(base, pacer.clone());
    let err = client
        .send(genesys_auth::ApiRequest::get("/api/v2/x").retry_policy(RetryPolicy::no_retry()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, GenesysError::Api(ref e) if e.status == 429),
        "{err:?}"
    );
    let t0 = hits.lock().unwrap()[0];
    // Another worker holding a clone of the pacer waits out the server's 3 s.
    pacer.acquire().await;
    assert!(Instant::now() - t0 >= Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn retry_after_over_the_cap_does_not_wait() {
    let (base, hits) = serve("500", 5).await;
    let client = client(base, Pacer::unlimited());
    let start = Instant::now();
    let err = client
        .get_json::<serde_json::Value>("/api/v2/x", &[])
        .await
        .unwrap_err();
    assert!(
        matches!(err, GenesysError::RetryAfterTooLong { .. }),
        "{err:?}"
    );
    assert_eq!(Instant::now() - start, Duration::ZERO);
    assert_eq!(hits.lock().unwrap().len(), 1);
}

/// Serves `/api/v2/x`: the first hit answers 429 with `headers` and `body`, then 200.
async fn serve_429(
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
) -> (url::Url, Arc<Mutex<Vec<Instant>>>) {
    let hits = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&hits);
    let app = Router::new().route(
        "/api/v2/x",
        get(move || {
            let seen = Arc::clone(&seen);
            async move {
                let mut hits = seen.lock().unwrap();
                hits.push(Instant::now());
                let mut map = HeaderMap::new();
                if hits.len() == 1 {
                    for (k, v) in headers {
                        map.insert(*k, v.parse().unwrap());
                    }
                    (StatusCode::TOO_MANY_REQUESTS, map, body)
                } else {
                    (StatusCode::OK, map, r#"{"ok":true}"#)
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url::Url::parse(&format!("http://{addr}/")).unwrap(), hits)
}

async fn gap_after_429(
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
) -> Duration {
    let (base, hits) = serve_429(headers, body).await;
    let client = client(base, Pacer::adaptive());
    client
        .get_json::<serde_json::Value>("/api/v2/x", &[])
        .await
        .unwrap();
    let hits = hits.lock().unwrap().clone();
    assert_eq!(hits.len(), 2);
    hits[1] - hits[0]
}

#[tokio::test(start_paused = true)]
async fn without_retry_after_the_normalized_message_says_how_long() {
    let gap = gap_after_429(
        &[],
        r#"{"message":"Rate limit exceeded the maximum. Retry the request in [4] seconds","code":"too.many.requests.retry.after","status":429}"#,
    )
    .await;
    assert!(
        gap >= Duration::from_secs(4) && gap < Duration::from_millis(4100),
        "{gap:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn without_retry_after_or_message_the_window_reset_says_how_long() {
    let gap = gap_after_429(
        &[
            ("inin-ratelimit-allowed", "10"),
            ("inin-ratelimit-count", "10"),
            ("inin-ratelimit-reset", "6"),
        ],
        r#"{"code":"too.many.requests.retry.after","status":429}"#,
    )
    .await;
    assert!(
        gap >= Duration::from_secs(6) && gap < Duration::from_millis(6100),
        "{gap:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn without_any_hint_the_floor_applies() {
    let gap = gap_after_429(&[], r#"{"code":"too.many.requests.retry.after"}"#).await;
    assert!(
        gap >= Duration::from_secs(1) && gap < Duration::from_millis(1100),
        "{gap:?}"
    );
}
