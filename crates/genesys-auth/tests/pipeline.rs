//! The request pipeline against a wiremock API (real time with millisecond-scale settings:
//! wiremock serves from its own thread, so paused time would fire the client's timeouts while
//! a socket is idle).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use genesys_auth::metric_names::*;
use genesys_auth::{ApiRequest, GenesysError, USER_AGENT};
use retry_policy::metric_names::{GIVE_UPS, RETRIES};
use retry_policy::test_util::MetricsCapture;
use retry_policy::{Backoff, Jitter, Pacer, RetryBudget, RetryPolicy};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

async fn with_token(server: &MockServer) {
    token_mock(json!({"access_token": "api-token-1", "expires_in": 3600}))
        .mount(server)
        .await;
}

fn api_requests(requests: &[Request]) -> Vec<&Request> {
    requests
        .iter()
        .filter(|r| r.url.path().starts_with("/api/"))
        .collect()
}

#[tokio::test]
async fn get_json_sends_bearer_user_agent_and_query() {
    let m = MetricsCapture::install_local();
    let server = MockServer::start().await;
    with_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/conversations/abc%2Fdef"))
        .and(query_param("pageSize", "100"))
        .and(query_param("q", "a b&c"))
        .and(header("authorization", "Bearer api-token-1"))
        .and(header("user-agent", USER_AGENT))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("inin-correlation-id", "corr-ok")
                .insert_header("inin-ratelimit-allowed", "180")
                .insert_header("inin-ratelimit-count", "1")
                .insert_header("inin-ratelimit-reset", "61")
                .set_body_json(json!({"id": "abc/def"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, fast_policy(3));
    let id = genesys_auth::encode_path_segment("abc/def").unwrap();
    let v: Value = client
        .get_json(
            &format!("/api/v2/conversations/{id}"),
            &[("pageSize", "100".into()), ("q", "a b&c".into())],
        )
        .await
        .unwrap();
    assert_eq!(v["id"], "abc/def");
    let sent = m.histogram(
        HTTP_CLIENT_REQUEST_DURATION,
        &[
            ("http.request.method", "GET"),
            ("http.response.status_code", "200"),
            ("server.address", "127.0.0.1"),
            (OPERATION, "/api/v2/conversations/abc%2Fdef"),
        ],
    );
    assert_eq!(sent.len(), 1, "{:?}", m.keys());
    assert_eq!(m.counter(RETRIES, &[]), 0);
    assert_eq!(m.counter(TOKEN_FETCHES, &[("outcome", "ok")]), 1);
    assert!(USER_AGENT.starts_with("genesys-auth/"));
}

#[tokio::test]
async fn post_json_sends_the_body() {
    let server = MockServer::start().await;
    with_token(&server).await;
    Mock::given(method("POST"))
        .and(path("/api/v2/analytics/conversations/details/query"))
        .and(header("content-type", "application/json"))
        .and(wiremock::matchers::body_json(json!({"interval": "x"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"totalHits": 0})))
        .expect(1)
        .mount(&server)
        .await;
    let v: Value = client(&server, fast_policy(3))
        .post_json(
            "/api/v2/analytics/conversations/details/query",
            &json!({"interval": "x"}),
        )
        .await
        .unwrap();
    assert_eq!(v["totalHits"], 0);
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_retries() {
    let m = MetricsCapture::install_local();
    let server = MockServer::start().await;
    token_mock(json!({"access_token": "stale", "expires_in": 3600}))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    token_mock(json!({"access_token": "fresh", "expires_in": 3600}))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/x"))
        .and(header("authorization", "Bearer stale"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"code": "bad.credentials", "status": 401})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/x"))
        .and(header("authorization", "Bearer fresh"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, fast_policy(1));
    let v: Value = client.get_json("/api/v2/x", &[]).await.unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(m.histogram(HTTP_CLIENT_REQUEST_DURATION, &[]).len(), 2);
    let unauthorized = &[("http.response.status_code", "401")];
    assert_eq!(
        m.histogram(HTTP_CLIENT_REQUEST_DURATION, unauthorized)
            .len(),
        1
    );
    assert_eq!(m.counter(TOKEN_FETCHES, &[]), 2);
    assert_eq!(m.counter(TOKEN_REFRESHES, &[]), 2);
    assert_eq!(m.counter(RETRIES, &[]), 0);
    server.verify().await;
}

#[tokio::test]
async fn a_persistent_401_gives_the_typed_error_after_one_refresh() {
    let server = MockServer::start().await;
    // The login service hands out a different token each time.
    token_mock(json!({"access_token": "t1", "expires_in": 3600}))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    token_mock(json!({"access_token": "t2", "expires_in": 3600}))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/x"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("inin-correlation-id", "corr-401")
                .set_body_json(json!({"message": "Invalid login credentials.", "code": "bad.credentials", "status": 401})),
        )
        .expect(2)
        .mount(&server)
        .await;
    let err = client(&server, fast_policy(4))
        .get_json::<Value>("/api/v2/x", &[])
        .await
        .unwrap_err();
    match &err {
        GenesysError::Api(e) => {
            assert_eq!(e.status, 401);
            assert_eq!(e.code.as_deref(), Some("bad.credentials"));
            assert_eq!(e.correlation_id.as_deref(), Some("corr-401"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.correlation_id(), Some("corr-401"));
    server.verify().await;
}

#[tokio::test]
async fn a_static_token_rejected_with_401_is_not_resent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/webmessaging/messages"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    let err = static_client(&server, "guest-jwt", fast_policy(4))
        .get_json::<Value>("/api/v2/webmessaging/messages", &[])
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
    server.verify().await;
}

#[tokio::test]
async fn retry_after_zero_waits_the_floor() {
    let m = MetricsCapture::install_local();
    let server = MockServer::start().await;
    with_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/x"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/x"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    // Real time (a socket is involved) with a 150 ms floor instead of the default 1 s.
    let floor = Duration::from_millis(150);
    let client = client(
        &server,
        RetryPolicy::builder()
            .retry_after_floor(floor)
            .no_budget()
            .build(),
    );
    let start = Instant::now();
    client.get_json::<Value>("/api/v2/x", &[]).await.unwrap();
    assert!(start.elapsed() >= floor, "{:?}", start.elapsed());
    let requests = server.received_requests().await.unwrap();
    assert_eq!(api_requests(&requests).len(), 2);
    assert_eq!(m.counter(RATE_LIMITED, &[("retry_after", "header")]), 1);
    assert_eq!(m.histogram(RATE_LIMITED_RETRY_AFTER, &[]).len(), 1);
    assert_eq!(m.counter(RETRIES, &[]), 1);
}

#[tokio::test]
async fn retry_after_over_the_cap_gives_up_at_once() {
    let server = MockServer::start().await;
    with_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/x"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "500")
                .set_body_json(json!({"message": "Rate limit exceeded", "code": "too.many.requests.retry.after", "status": 429})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, RetryPolicy::builder().no_budget().build());
    let start = Instant::now();
    let err = client
        .get_json::<Value>("/api/v2/x", &[])
        .await
        .unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(1));
    match &err {
        GenesysError::RetryAfterTooLong {
            retry_after,
            cap,
            error,
        } => {
            assert_eq!(*retry_after, Duration::from_secs(500));
            assert_eq!(*cap, Duration::from_secs(180));
            assert_eq!(error.code.as_deref(), Some("too.many.requests.retry.after"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.status(), Some(429));
    // Every holder of the pacer now waits (up to the cap).
    assert!(client.pacer().paused_until().is_some());
    server.verify().await;
}

#[tokio::test]
async fn a_503_is_retried_up_to_the_policy() {
    let m = MetricsCapture::install_local();
    let server = MockServer::start().await;
    with_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/x"))
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream unavailable"))
        .expect(3)
        .mount(&server)
        .await;
    let client = client(&server, fast_policy(3));
    let err = client
        .get_json::<Value>("/api/v2/x", &[])
        .await
        .unwrap_err();
    match &err {
        GenesysError::RetriesExhausted {
            attempts: 3, last, ..
        } => match last.as_ref() {
            GenesysError::Api(e) => {
                assert_eq!(e.status, 503);
                assert_eq!(e.body_snippet, "upstream unavailable");
                assert_eq!(e.code, None);
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert_eq!(err.status(), Some(503));
    let failed = &[("http.response.status_code", "503")];
    assert_eq!(m.histogram(HTTP_CLIENT_REQUEST_DURATION, failed).len(), 3);
    assert_eq!(m.counter(RETRIES, &[]), 2);
    assert_eq!(m.counter(GIVE_UPS, &[("reason", "max_attempts")]), 1);
    server.verify().await;
}

#[tokio::test]
async fn a_503_then_success_returns_the_answer() {
    let server = MockServer::start().await;
    with_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/x"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/x"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"n": 1})))
        .mount(&server)
        .await;
    let v: Value = client(&server, fast_policy(3))
        .get_json("/api/v2/x", &[])
        .await
        .unwrap();
    assert_eq!(v["n"], 1);
}

#[tokio::test]
async fn a_400_is_not_retried() {
    let server = MockServer::start().await;
    with_token(&server).await;
    Mock::given(method("POST"))
        .and(path("/api/v2/x"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"message": "pageSize too large", "code": "bad.request", "status": 400, "contextId": "ctx-400", "details": [], "errors": []}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server, fast_policy(4))
        .post_json::<_, Value>("/api/v2/x", &json!({}))
        .await
        .unwrap_err();
    match err {
        GenesysError::Api(e) => {
            assert_eq!(e.status, 400);
            assert_eq!(e.message.as_deref(), Some("pageSize too large"));
            assert_eq!(e.correlation_id.as_deref(), Some("ctx-400"));
        }
        other => panic!("{other:?}"),
    }
    server.verify().await;
}

#[tokio::test]
async fn a_404_is_not_found() {
    let server = MockServer::start().await;
    with_token(&server).await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"code": "not.found", "status": 404})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server, fast_policy(4))
        .get_json::<Value>("/api/v2/missing", &[])
        .await
        .unwrap_err();
    assert!(err.is_not_found());
}

#[tokio::test]
async fn a_drained_budget_stops_retries() {
    let server = MockServer::start().await;
    with_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/x"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    // Room for exactly two retries (5 tokens each), shared by every call.
    let budget = RetryBudget::new(10, 5, 10, 1);
    let policy = RetryPolicy::builder()
        .max_attempts(10)
        .backoff(Backoff::constant(Duration::from_millis(1)).jitter(Jitter::None))
        .budget(budget.clone())
        .build();
    let client = client(&server, policy);
    let err = client
        .get_json::<Value>("/api/v2/x", &[])
        .await
        .unwrap_err();
    match &err {
        GenesysError::RetryBudgetExhausted { attempts: 3, last } => {
            assert_eq!(last.status(), Some(500))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(budget.available(), 0);
    // A second call gets no retry at all.
    let err = client
        .get_json::<Value>("/api/v2/x", &[])
        .await
        .unwrap_err();
    assert!(
        matches!(err, GenesysError::RetryBudgetExhausted { attempts: 1, .. }),
        "{err:?}"
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(api_requests(&requests).len(), 4);
}

#[tokio::test]
async fn a_per_call_policy_overrides_the_clients() {
    let server = MockServer::start().await;
    with_token(&server).await;
    Mock::given(method("POST"))
        .and(path("/api/v2/send"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, fast_policy(5));
    let req = ApiRequest::post("/api/v2/send")
        .json(&json!({"textBody": "hi"}))
        .unwrap()
        .retry_policy(RetryPolicy::no_retry());
    let err = client.send(req).await.unwrap_err();
    assert!(
        matches!(err, GenesysError::Api(ref e) if e.status == 503),
        "{err:?}"
    );
    server.verify().await;
}

#[tokio::test]
async fn an_oversize_body_is_refused() {
    let server = MockServer::start().await;
    with_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/big"))
        .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(10_000)))
        .mount(&server)
        .await;
    let client = genesys_auth::GenesysClient::builder()
        .region(region(&server))
        .credentials(credentials())
        .pacer(Pacer::unlimited())
        .retry_policy(fast_policy(3))
        .max_body_bytes(4_096)
        .build()
        .unwrap();
    let err = client
        .get_json::<Value>("/api/v2/big", &[])
        .await
        .unwrap_err();
    assert!(
        matches!(err, GenesysError::BodyTooLarge { limit: 4_096 }),
        "{err:?}"
    );
    // Within the limit it is read.
    let small = genesys_auth::GenesysClient::builder()
        .region(region(&server))
        .credentials(credentials())
        .pacer(Pacer::unlimited())
        .max_body_bytes(10_000)
        .build()
        .unwrap();
    let resp = small.send(ApiRequest::get("/api/v2/big")).await.unwrap();
    assert_eq!(resp.body.len(), 10_000);
}

#[tokio::test]
async fn non_json_error_bodies_still_give_typed_errors() {
    let server = MockServer::start().await;
    with_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/x"))
        .respond_with(
            ResponseTemplate::new(502)
                .insert_header("content-type", "text/html")
                .set_body_string("<html><body>502 Bad Gateway</body></html>"),
        )
        .mount(&server)
        .await;
    let err = client(&server, RetryPolicy::no_retry())
        .get_json::<Value>("/api/v2/x", &[])
        .await
        .unwrap_err();
    match err {
        GenesysError::Api(e) => {
            assert_eq!(e.status, 502);
            assert_eq!((e.code, e.message), (None, None));
            assert!(e.body_snippet.contains("502 Bad Gateway"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_truncated_success_body_is_a_decode_error_with_a_snippet() {
    let server = MockServer::start().await;
    with_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/x"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(r#"{"entities":[{"id":"m1"},{"id":"#, "application/json"),
        )
        .mount(&server)
        .await;
    let err = client(&server, fast_policy(3))
        .get_json::<Value>("/api/v2/x", &[])
        .await
        .unwrap_err();
    match err {
        GenesysError::Decode {
            status,
            body_snippet,
            source,
        } => {
            assert_eq!(status, 200);
            assert_eq!(body_snippet, r#"{"entities":[{"id":"m1"},{"id":"#);
            assert!(source.is_eof());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn hostile_paths_are_refused_before_sending() {
    let server = MockServer::start().await;
    with_token(&server).await;
    let client = client(&server, fast_policy(3));
    for bad in ["api/v2/x", "/api/../admin", "/api/v2/x?y=1", "/api/v2/a b"] {
        let err = client.get_json::<Value>(bad, &[]).await.unwrap_err();
        assert!(
            matches!(err, GenesysError::InvalidInput(_)),
            "{bad}: {err:?}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn connection_refused_is_a_transport_error_after_retries() {
    let m = MetricsCapture::install_local();
    // A port with nothing listening: bind, take the address, close.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let base = url::Url::parse(&format!("http://{addr}/")).unwrap();
    let client = genesys_auth::GenesysClient::builder()
        .region(genesys_auth::Region::custom(base.clone(), base))
        .token_provider(std::sync::Arc::new(genesys_auth::StaticToken::new(
            "t".into(),
        )))
        .pacer(Pacer::unlimited())
        .retry_policy(fast_policy(2))
        .build()
        .unwrap();
    let err = client
        .get_json::<Value>("/api/v2/x", &[])
        .await
        .unwrap_err();
    match err {
        GenesysError::RetriesExhausted {
            attempts: 2, last, ..
        } => {
            assert!(matches!(*last, GenesysError::Transport { .. }), "{last:?}")
        }
        other => panic!("{other:?}"),
    }
    let refused = &[("error.type", "transport")];
    assert_eq!(m.histogram(HTTP_CLIENT_REQUEST_DURATION, refused).len(), 2);
}

#[tokio::test]
async fn clones_and_other_identities_share_pool_and_metric_series() {
    let m = MetricsCapture::install_local();
    let server = MockServer::start().await;
    with_token(&server).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    let a = client(&server, fast_policy(1));
    let b = a.clone();
    let guest = a.with_token_provider(std::sync::Arc::new(genesys_auth::StaticToken::new(
        "guest".into(),
    )));
    a.get_json::<Value>("/api/v2/a", &[]).await.unwrap();
    b.get_json::<Value>("/api/v2/b", &[]).await.unwrap();
    guest
        .get_json::<Value>("/api/v2/webmessaging/messages", &[])
        .await
        .unwrap();
    assert_eq!(m.histogram(HTTP_CLIENT_REQUEST_DURATION, &[]).len(), 3);
    assert_eq!(m.counter(TOKEN_FETCHES, &[]), 1);
    assert!(a.pacer().shares_pace_with(guest.pacer()));
    let requests = server.received_requests().await.unwrap();
    let last = requests.last().unwrap();
    assert_eq!(last.headers.get("authorization").unwrap(), "Bearer guest");
}

#[tokio::test]
async fn builder_refuses_incomplete_or_hostile_configuration() {
    let no_region = genesys_auth::GenesysClient::builder()
        .credentials(credentials())
        .build();
    assert!(matches!(no_region, Err(GenesysError::InvalidInput(_))));
    let no_identity = genesys_auth::GenesysClient::builder()
        .region(genesys_auth::Region::UsEast1)
        .build();
    assert!(matches!(no_identity, Err(GenesysError::InvalidInput(_))));
    let ftp = url::Url::parse("ftp://files.example/").unwrap();
    let hostile = genesys_auth::GenesysClient::builder()
        .region(genesys_auth::Region::custom(ftp.clone(), ftp))
        .credentials(credentials())
        .build();
    assert!(matches!(hostile, Err(GenesysError::InvalidInput(_))));
    let ok = genesys_auth::GenesysClient::builder()
        .region(genesys_auth::Region::EuWest1)
        .credentials(credentials())
        .build()
        .unwrap();
    assert_eq!(ok.api_base().as_str(), "https://api.mypurecloud.ie/");
}
