//! The dead-letter HTTP receiver: authentication (bearer; HMAC over `"{timestamp}.{body}"` within
//! a 5 minute window by default; HMAC over the body only when opted out), size limit, bad bodies,
//! the three accepted shapes, replay outcomes (200 / 422 / 502), and the counters.
#![cfg(feature = "http")]
#![allow(clippy::unwrap_used)]

mod dlq_support;

use retry_policy::test_util::MetricsCapture;
use sqs_dlq::metric_names::{RECEIVER_RECEIVED, RECEIVER_REQUESTS, REPLAY_OUTCOMES};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use dlq_support::fixture;
use retry_policy::{Backoff, Jitter, RetryPolicy};
use secrecy::SecretString;
use serde_json::{Value, json};
use sqs_dlq::dead_letter::{HttpTarget, Replay};
use sqs_dlq::http::{DeadLetterReceiver, ReceiverError};
use sqs_dlq::http::{signature, timestamped_signature};
use tower::ServiceExt;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const HMAC: &str = "hmac-secret";
const BEARER: &str = "bearer-secret";

fn replay_to(server: &MockServer, force: bool) -> Replay {
    let target = HttpTarget::builder(format!("{}/in", server.uri()))
        .retry_policy(
            RetryPolicy::builder()
                .max_attempts(2)
                .backoff(Backoff::constant(Duration::from_millis(2)).jitter(Jitter::None))
                .no_budget()
                .build(),
        )
        .build()
        .unwrap();
    Replay::builder(target).force(force).build()
}

async fn app(status: u16) -> (MockServer, Router) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(status))
        .mount(&server)
        .await;
    let router = DeadLetterReceiver::builder(replay_to(&server, false))
        .path("/dead-letter")
        .max_body_bytes(64 * 1024)
        .hmac_secret(SecretString::from(HMAC))
        .bearer_secret(SecretString::from(BEARER))
        .router()
        .unwrap();
    (server, router)
}

fn post() -> axum::http::request::Builder {
    Request::post("/dead-letter").header("content-type", "application/json")
}

async fn call(router: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn throttled_event() -> String {
    fixture("throttling").body
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A throttled event signed at `ts` in the timestamped scheme (the default).
fn timestamped_request(body: &str, ts: i64) -> Request<Body> {
    post()
        .header(
            "x-signature-256",
            timestamped_signature(HMAC.as_bytes(), ts, body.as_bytes()),
        )
        .header("x-signature-timestamp", ts.to_string())
        .header("x-dlq-error-code", "THROTTLING")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

/// A throttled event with the HMAC of the body alone (no timestamp).
fn body_only_request(body: &str) -> Request<Body> {
    post()
        .header(
            "x-signature-256",
            signature(HMAC.as_bytes(), body.as_bytes()),
        )
        .header("x-dlq-error-code", "THROTTLING")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

async fn accepting_target() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    server
}

fn bearer_request(body: String) -> Request<Body> {
    post()
        .header("authorization", format!("Bearer {BEARER}"))
        .header("x-dlq-error-code", "THROTTLING")
        .header("x-dlq-retry-attempts", "185")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn raw_event_with_bearer_is_replayed_byte_for_byte() {
    let (server, router) = app(200).await;
    let body = throttled_event();
    let (status, json) = call(&router, bearer_request(body.clone())).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["status"], "processed");
    assert_eq!(json["attempt"], 186);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].body, body.as_bytes());
    assert_eq!(requests[0].headers.get("x-attempt-count").unwrap(), "186");
    assert_eq!(
        requests[0].headers.get("x-replay-source").unwrap(),
        "sqs-dlq"
    );
}

#[tokio::test]
async fn hmac_signatures_are_checked() {
    let (server, router) = app(200).await;
    let body = throttled_event();
    let ts = now();
    let signed = |sig: String| {
        post()
            .header("x-signature-256", sig)
            .header("x-signature-timestamp", ts.to_string())
            .header("x-dlq-error-code", "THROTTLING")
            .body(Body::from(body.clone()))
            .unwrap()
    };
    let (status, _) = call(
        &router,
        signed(timestamped_signature(HMAC.as_bytes(), ts, body.as_bytes())),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let wrong_key = timestamped_signature(b"other", ts, body.as_bytes());
    let (status, json) = call(&router, signed(wrong_key)).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("auth_invalid"))
    );

    let other_body = timestamped_signature(HMAC.as_bytes(), ts, b"{}");
    assert_eq!(
        call(&router, signed(other_body)).await.0,
        StatusCode::UNAUTHORIZED
    );
    for malformed in ["sha256=zz", "md5=abcd", "", "sha256=abcd"] {
        assert_eq!(
            call(&router, signed(malformed.to_owned())).await.0,
            StatusCode::UNAUTHORIZED,
            "{malformed}"
        );
    }
    // Missing credentials.
    let (status, json) = call(&router, post().body(Body::from(body.clone())).unwrap()).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("auth_missing"))
    );
    // Wrong bearer, and a bearer that is a prefix of the secret.
    for token in ["nope", "bearer-secre", ""] {
        let request = post()
            .header("authorization", format!("Bearer {token}"))
            .body(Body::from(body.clone()))
            .unwrap();
        assert_eq!(
            call(&router, request).await.0,
            StatusCode::UNAUTHORIZED,
            "{token}"
        );
    }
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "only the signed one went through"
    );
}

#[tokio::test]
async fn by_default_signatures_need_a_fresh_timestamp() {
    let server = accepting_target().await;
    // Nothing but a secret: the timestamped scheme and the 5 minute window are the default.
    let router = DeadLetterReceiver::builder(replay_to(&server, false))
        .path("/dead-letter")
        .hmac_secret(SecretString::from(HMAC))
        .router()
        .unwrap();
    let body = throttled_event();
    let t = now();
    assert_eq!(
        call(&router, timestamped_request(&body, t)).await.0,
        StatusCode::OK
    );
    // Inside the window either way.
    for ts in [t - 240, t + 240] {
        assert_eq!(
            call(&router, timestamped_request(&body, ts)).await.0,
            StatusCode::OK,
            "{ts}"
        );
    }
    // A capture played later, or from the future, past the window.
    for ts in [t - 360, t - 3600, t + 360] {
        let (status, json) = call(&router, timestamped_request(&body, ts)).await;
        assert_eq!(
            (status, json["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("signature_expired")),
            "{ts}"
        );
    }
    // A captured signature with a fresh timestamp header.
    let shifted = post()
        .header(
            "x-signature-256",
            timestamped_signature(HMAC.as_bytes(), t - 3600, body.as_bytes()),
        )
        .header("x-signature-timestamp", t.to_string())
        .body(Body::from(body.clone()))
        .unwrap();
    let (status, json) = call(&router, shifted).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("auth_invalid"))
    );
    // The old default, the HMAC of the body alone, is refused and told what is missing.
    let (status, json) = call(&router, body_only_request(&body)).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (
            StatusCode::UNAUTHORIZED,
            Some("signature_timestamp_missing")
        )
    );
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("x-signature-timestamp")
    );
    // A timestamp that is not Unix seconds.
    let mut request = timestamped_request(&body, t);
    request
        .headers_mut()
        .insert("x-signature-timestamp", "yesterday".parse().unwrap());
    assert_eq!(call(&router, request).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        3,
        "only the fresh ones were replayed"
    );
}

#[tokio::test]
async fn the_tolerance_changes_the_window() {
    let server = accepting_target().await;
    let router = DeadLetterReceiver::builder(replay_to(&server, false))
        .path("/dead-letter")
        .hmac_secret(SecretString::from(HMAC))
        .signature_timestamp_tolerance(Duration::from_secs(30))
        .router()
        .unwrap();
    let body = throttled_event();
    let t = now();
    assert_eq!(
        call(&router, timestamped_request(&body, t - 5)).await.0,
        StatusCode::OK
    );
    // Inside the default 5 minutes, outside these 30 seconds.
    assert_eq!(
        call(&router, timestamped_request(&body, t - 120)).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn body_only_signatures_is_an_explicit_opt_out() {
    let server = accepting_target().await;
    let router = DeadLetterReceiver::builder(replay_to(&server, false))
        .path("/dead-letter")
        .hmac_secret(SecretString::from(HMAC))
        .body_only_signatures()
        .router()
        .unwrap();
    let body = throttled_event();
    // The HMAC of the body alone is accepted, and so is the same request again (a replay:
    // what the opt-out gives up).
    for _ in 0..2 {
        assert_eq!(
            call(&router, body_only_request(&body)).await.0,
            StatusCode::OK
        );
    }
    // Wrong key or other body: still refused.
    let forged = post()
        .header("x-signature-256", signature(b"other", body.as_bytes()))
        .body(Body::from(body.clone()))
        .unwrap();
    assert_eq!(call(&router, forged).await.0, StatusCode::UNAUTHORIZED);
    // A sender that does send a timestamp is still held to the timestamped scheme and window.
    let t = now();
    assert_eq!(
        call(&router, timestamped_request(&body, t)).await.0,
        StatusCode::OK
    );
    let (status, json) = call(&router, timestamped_request(&body, t - 3600)).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("signature_expired"))
    );
    // A stale timestamped capture with its timestamp header removed: the MAC covers the
    // timestamp, so it does not pass as a body-only signature.
    let mut stripped = timestamped_request(&body, t - 3600);
    stripped.headers_mut().remove("x-signature-timestamp");
    assert_eq!(call(&router, stripped).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn counters_count_every_request_by_how_it_ended() {
    let server = MockServer::start().await;
    // The target accepts the first replay and refuses the next ones for good (400).
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400))
        .mount(&server)
        .await;
    let builder = DeadLetterReceiver::builder(replay_to(&server, false))
        .path("/dead-letter")
        .max_body_bytes(64 * 1024)
        .hmac_secret(SecretString::from(HMAC))
        .bearer_secret(SecretString::from(BEARER));
    let m = MetricsCapture::install_local();
    let router = builder.router().unwrap();
    assert_eq!(m.counter(RECEIVER_RECEIVED, &[]), 0);

    let event = throttled_event();
    let t = now();
    let requests = vec![
        // replayed
        timestamped_request(&event, t),
        // replay_failed (the target's 400)
        bearer_request(event.clone()),
        // skipped: unknown category (no attributes)
        post()
            .header("authorization", format!("Bearer {BEARER}"))
            .body(Body::from(event.clone()))
            .unwrap(),
        // unauthenticated: none, body-only, wrong bearer, and a stale timestamp
        post().body(Body::from(event.clone())).unwrap(),
        body_only_request(&event),
        post()
            .header("authorization", "Bearer nope")
            .body(Body::from(event.clone()))
            .unwrap(),
        timestamped_request(&event, t - 3600),
        // too_large
        bearer_request("x".repeat(70 * 1024)),
        // invalid_json
        bearer_request("{not json".to_owned()),
        // not_a_dead_letter
        bearer_request("[1]".to_owned()),
        // unreadable: the stream breaks off
        post()
            .header("authorization", format!("Bearer {BEARER}"))
            .body(Body::from_stream(futures::stream::iter(vec![
                Ok::<_, std::io::Error>(b"{".to_vec()),
                Err(std::io::Error::other("connection reset")),
            ])))
            .unwrap(),
    ];
    let sent = requests.len() as u64;
    for request in requests {
        call(&router, request).await;
    }
    let outcome = |o: &str| m.counter(RECEIVER_REQUESTS, &[("outcome", o)]);
    assert_eq!(m.counter(RECEIVER_RECEIVED, &[]), sent);
    assert_eq!(
        (
            outcome("replayed"),
            outcome("replay_failed"),
            outcome("skipped")
        ),
        (1, 1, 1)
    );
    assert_eq!(
        (outcome("unauthenticated"), outcome("expired_signature")),
        (4, 1)
    );
    assert_eq!(
        (
            outcome("too_large"),
            outcome("invalid_json"),
            outcome("not_a_dead_letter"),
            outcome("unreadable")
        ),
        (1, 1, 1, 1)
    );
    let replay = |o: &str| m.counter(REPLAY_OUTCOMES, &[("outcome", o), ("source", "receiver")]);
    assert_eq!(
        (replay("replayed"), replay("skipped"), replay("failed")),
        (1, 1, 1)
    );
    // Every request ended one way (the expired signature is also in `unauthenticated`).
    assert_eq!(
        m.counter(RECEIVER_REQUESTS, &[]) - outcome("expired_signature"),
        sent
    );
}

#[tokio::test]
async fn oversize_bodies_get_413() {
    let (server, router) = app(200).await;
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(70 * 1024));
    let (status, json) = call(&router, bearer_request(big.clone())).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("body_too_large"))
    );
    // Without Content-Length, streamed in chunks.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = big
        .as_bytes()
        .chunks(8 * 1024)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let request = post()
        .header("authorization", format!("Bearer {BEARER}"))
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .unwrap();
    assert_eq!(
        call(&router, request).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // A lying Content-Length over the limit is refused before reading.
    let request = post()
        .header("authorization", format!("Bearer {BEARER}"))
        .header("content-length", "999999999")
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(
        call(&router, request).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_bodies_get_400() {
    let (server, router) = app(200).await;
    let cases = [
        ("{not json", "invalid_json"),
        ("", "invalid_json"),
        ("[1,2,3]", "not_a_dead_letter"),
        (
            r#"{"eventType":"dead-letter","originalEvent":{}}"#,
            "not_a_dead_letter",
        ),
        (r#"{"detail-type":"x"}"#, "not_a_dead_letter"),
        (r#"{"event": 42}"#, "not_a_dead_letter"),
        (r#"{"event": "not an event"}"#, "not_a_dead_letter"),
        (
            r#"{"body": "{}", "messageAttributes": []}"#,
            "not_a_dead_letter",
        ),
    ];
    for (body, code) in cases {
        let (status, json) = call(&router, bearer_request(body.to_owned())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(json["error"], code, "{body}");
        assert!(json["message"].is_string());
    }
    let invalid_utf8 = post()
        .header("authorization", format!("Bearer {BEARER}"))
        .body(Body::from(vec![0xff, 0xfe, b'{']))
        .unwrap();
    assert_eq!(call(&router, invalid_utf8).await.0, StatusCode::BAD_REQUEST);
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn wrapper_and_sqs_record_shapes() {
    let (server, router) = app(200).await;
    let event = throttled_event();
    // Wrapper with the event as a string: replayed byte for byte.
    let wrapper = json!({
        "messageId": "m-123",
        "event": event,
        "attributes": {"ERROR_CODE": "SDK_CLIENT_ERROR", "ERROR_MESSAGE": "response status code 503", "RETRY_ATTEMPTS": 4}
    });
    let request = post()
        .header("authorization", format!("Bearer {BEARER}"))
        .body(Body::from(wrapper.to_string()))
        .unwrap();
    let (status, json) = call(&router, request).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(
        (json["attempt"].as_u64(), json["messageId"].as_str()),
        (Some(5), Some("m-123"))
    );

    // An SQS record as Lambda passes it.
    let record = json!({
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
        "body": event,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {
            "ERROR_CODE": {"stringValue": "TIMEOUT", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
            "RETRY_ATTEMPTS": {"stringValue": "9", "dataType": "Number"}
        },
        "eventSource": "aws:sqs"
    });
    let request = post()
        .header("authorization", format!("Bearer {BEARER}"))
        .body(Body::from(record.to_string()))
        .unwrap();
    let (status, json) = call(&router, request).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["attempt"], 10);

    // Wrapper with the event as an object: accepted (re-serialized).
    let object = json!({"event": serde_json::from_str::<Value>(&event).unwrap(), "attributes": {"ERROR_CODE": "THROTTLING"}});
    let request = post()
        .header("authorization", format!("Bearer {BEARER}"))
        .body(Body::from(object.to_string()))
        .unwrap();
    assert_eq!(call(&router, request).await.0, StatusCode::OK);

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].body, event.as_bytes());
    assert_eq!(requests[1].body, event.as_bytes());
}

#[tokio::test]
async fn unsafe_or_unknown_categories_are_not_replayed_unless_forced() {
    let (server, router) = app(200).await;
    let event = throttled_event();
    let request = post()
        .header("authorization", format!("Bearer {BEARER}"))
        .header("x-dlq-error-code", "NO_RESOURCE")
        .body(Body::from(event.clone()))
        .unwrap();
    let (status, json) = call(&router, request).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json["status"], "skipped");
    assert_eq!(json["reason"]["category"], "target_missing");
    // No attributes at all: unknown.
    let request = post()
        .header("authorization", format!("Bearer {BEARER}"))
        .body(Body::from(event.clone()))
        .unwrap();
    assert_eq!(
        call(&router, request).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert!(server.received_requests().await.unwrap().is_empty());

    let forced = DeadLetterReceiver::builder(replay_to(&server, true))
        .path("/dead-letter")
        .bearer_secret(SecretString::from(BEARER))
        .router()
        .unwrap();
    let request = post()
        .header("authorization", format!("Bearer {BEARER}"))
        .body(Body::from(event))
        .unwrap();
    let (status, json) = call(&forced, request).await;
    assert_eq!(
        (status, json["attempt"].as_u64()),
        (StatusCode::OK, Some(1))
    );
}

#[tokio::test]
async fn a_failing_target_gives_502() {
    let (server, router) = app(503).await;
    let (status, json) = call(&router, bearer_request(throttled_event())).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(json["status"], "failed");
    assert_eq!(json["error"], "replay_failed");
    assert_eq!(json["upstreamStatus"], 503);
    assert_eq!(json["attempts"], 2);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);

    let (server, router) = app(400).await;
    let (status, json) = call(&router, bearer_request(throttled_event())).await;
    assert_eq!(
        (status, json["retryable"].as_bool()),
        (StatusCode::BAD_GATEWAY, Some(false))
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "4xx is final"
    );
}

#[tokio::test]
async fn an_endpoint_without_authentication_cannot_be_built() {
    let server = MockServer::start().await;
    let err = DeadLetterReceiver::builder(replay_to(&server, false))
        .router()
        .unwrap_err();
    assert!(matches!(err, ReceiverError::NoAuthentication));
}
