//! The dead-letter HTTP receiver: authentication (bearer, HMAC, timestamped HMAC), size limit,
//! bad bodies, the three accepted shapes, and replay outcomes (200 / 422 / 502).
#![cfg(feature = "http")]
#![allow(clippy::unwrap_used)]

mod dlq_support;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use dlq_support::fixture;
use retry_policy::{Backoff, Jitter, RetryPolicy};
use secrecy::SecretString;
use serde_json::{Value, json};
use sqs_dlq::receiver::{signature, timestamped_signature};
use sqs_dlq::{DeadLetterReceiver, HttpTarget, ReceiverError, Replay};
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
    let signed = |sig: String| {
        post()
            .header("x-signature-256", sig)
            .header("x-dlq-error-code", "THROTTLING")
            .body(Body::from(body.clone()))
            .unwrap()
    };
    let (status, _) = call(&router, signed(signature(HMAC.as_bytes(), body.as_bytes()))).await;
    assert_eq!(status, StatusCode::OK);

    let wrong_key = signature(b"other", body.as_bytes());
    let (status, json) = call(&router, signed(wrong_key)).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("auth_invalid"))
    );

    let other_body = signature(HMAC.as_bytes(), b"{}");
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
async fn timestamped_signatures_refuse_stale_requests() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let router = DeadLetterReceiver::builder(replay_to(&server, false))
        .path("/dead-letter")
        .hmac_secret(SecretString::from(HMAC))
        .signature_timestamp_tolerance(Duration::from_secs(300))
        .router()
        .unwrap();
    let body = throttled_event();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let request = |ts: i64| {
        post()
            .header(
                "x-signature-256",
                timestamped_signature(HMAC.as_bytes(), ts, body.as_bytes()),
            )
            .header("x-signature-timestamp", ts.to_string())
            .header("x-dlq-error-code", "THROTTLING")
            .body(Body::from(body.clone()))
            .unwrap()
    };
    assert_eq!(call(&router, request(now)).await.0, StatusCode::OK);
    assert_eq!(
        call(&router, request(now - 3600)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // The plain body signature is not enough in this mode.
    let plain = post()
        .header(
            "x-signature-256",
            signature(HMAC.as_bytes(), body.as_bytes()),
        )
        .body(Body::from(body.clone()))
        .unwrap();
    assert_eq!(call(&router, plain).await.0, StatusCode::UNAUTHORIZED);
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
