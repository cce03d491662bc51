//! The webhook ingest router, driven with `tower::ServiceExt::oneshot` (no socket): size
//! limit, JSON check, signatures with a replay window, queue failures and the deadline.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, Request, StatusCode};
use bytes::Bytes;
use secrecy::SecretString;
use sqs_dlq::http::WebhookIngest;
use sqs_dlq::http::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use sqs_dlq::queue::{
    BatchOutcome, InjectedFailure, MemoryQueue, Operation, OutgoingMessage, Queue, QueueDepth,
    QueueError, ReceiveOptions, ReceivedMessage,
};
use tower::ServiceExt;

const SECRET: &str = "whsec-test-1";
const EVENT: &str = r#"{"campaignId":"c-1","contactId":"k-7","status":"CALL_COMPLETED"}"#;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn signed_router(queue: &MemoryQueue) -> Router {
    WebhookIngest::builder(queue.clone())
        .path("/hooks")
        .signing_secret(SecretString::from(SECRET))
        .forward_header(HeaderName::from_static("x-genesys-webhook-id"))
        .router()
        .unwrap()
}

fn post() -> axum::http::request::Builder {
    Request::post("/hooks").header("content-type", "application/json")
}

fn signed(body: &'static str, secret: &str, timestamp: i64) -> Request<Body> {
    post()
        .header(
            SIGNATURE_HEADER,
            sign(secret.as_bytes(), timestamp, body.as_bytes()),
        )
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .body(Body::from(body))
        .unwrap()
}

async fn call(router: Router, request: Request<Body>) -> (StatusCode, serde_json::Value) {
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let json = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, json)
}

async fn queued(queue: &MemoryQueue) -> Vec<ReceivedMessage> {
    queue
        .receive(&ReceiveOptions::default().wait_time(Duration::ZERO))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_signed_event_is_queued_byte_for_byte_and_answered_202() {
    let queue = MemoryQueue::new("hooks");
    let mut request = signed(EVENT, SECRET, now());
    request
        .headers_mut()
        .insert("x-genesys-webhook-id", "8a7b6c5d".parse().unwrap());
    let (status, json) = call(signed_router(&queue), request).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let got = queued(&queue).await;
    assert_eq!(got.len(), 1);
    assert_eq!(json["messageId"].as_str(), Some(got[0].message_id.as_str()));
    assert_eq!(got[0].body, EVENT);
    assert_eq!(got[0].attribute("x-genesys-webhook-id"), Some("8a7b6c5d"));
}

#[tokio::test]
async fn without_a_secret_any_json_is_accepted() {
    let queue = MemoryQueue::new("hooks");
    let router = WebhookIngest::builder(queue.clone()).router().unwrap();
    let request = Request::post("/").body(Body::from("[1, 2, 3]")).unwrap();
    let (status, _) = call(router, request).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(queued(&queue).await[0].body, "[1, 2, 3]");
}

#[tokio::test]
async fn bad_json_gets_400_and_nothing_is_queued() {
    let queue = MemoryQueue::new("hooks");
    for body in [r#"{"campaignId": "#, "", "not json", r#"{"a":1} trailing"#] {
        let (status, json) = call(signed_router(&queue), signed(body, SECRET, now())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}");
        assert_eq!(json["error"], "invalid_json");
        assert!(json["message"].as_str().unwrap().contains("not valid JSON"));
    }
    assert_eq!(queue.depth(), QueueDepth::default());
}

#[tokio::test]
async fn oversize_bodies_get_413_declared_or_streamed() {
    let queue = MemoryQueue::new("hooks");
    let router = || {
        WebhookIngest::builder(queue.clone())
            .max_body_bytes(1024)
            .router()
            .unwrap()
    };
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(2000));
    let request = Request::post("/").body(Body::from(big.clone())).unwrap();
    let (status, json) = call(router(), request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json["error"], "body_too_large");

    // No Content-Length: chunks until past the limit.
    let chunks: Vec<Result<Bytes, std::io::Error>> = big
        .as_bytes()
        .chunks(100)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let request = Request::post("/")
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .unwrap();
    let (status, _) = call(router(), request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    // Exactly at the limit is fine.
    let fits = format!(r#"{{"pad":"{}"}}"#, "x".repeat(1024 - 10));
    assert_eq!(fits.len(), 1024);
    let (status, _) = call(router(), Request::post("/").body(Body::from(fits)).unwrap()).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(queue.depth().total(), 1);
}

#[tokio::test]
async fn the_default_limit_is_256_kib() {
    let queue = MemoryQueue::new("hooks");
    let body = format!(r#"{{"pad":"{}"}}"#, "x".repeat(256 * 1024));
    let request = Request::post("/").body(Body::from(body)).unwrap();
    let (status, _) = call(
        WebhookIngest::builder(queue.clone()).router().unwrap(),
        request,
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(queue.depth().total(), 0);
}

#[tokio::test]
async fn a_body_that_breaks_off_gets_400() {
    let queue = MemoryQueue::new("hooks");
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(Bytes::from_static(b"{\"a\":")),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "peer reset",
        )),
    ];
    let request = Request::post("/")
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .unwrap();
    let (status, json) = call(
        WebhookIngest::builder(queue.clone()).router().unwrap(),
        request,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["error"], "body_unreadable");
    assert_eq!(queue.depth().total(), 0);
}

#[tokio::test]
async fn missing_bad_malformed_and_stale_signatures_get_401() {
    let queue = MemoryQueue::new("hooks");
    let ts = now();
    let cases: Vec<(Request<Body>, &str)> = vec![
        (post().body(Body::from(EVENT)).unwrap(), "signature_missing"),
        (
            post()
                .header(
                    SIGNATURE_HEADER,
                    sign(SECRET.as_bytes(), ts, EVENT.as_bytes()),
                )
                .body(Body::from(EVENT))
                .unwrap(),
            "signature_missing",
        ),
        (signed(EVENT, "another-secret", ts), "signature_invalid"),
        (
            // signed for another body
            post()
                .header(SIGNATURE_HEADER, sign(SECRET.as_bytes(), ts, b"{}"))
                .header(TIMESTAMP_HEADER, ts.to_string())
                .body(Body::from(EVENT))
                .unwrap(),
            "signature_invalid",
        ),
        (
            // the timestamp is part of what is signed
            post()
                .header(
                    SIGNATURE_HEADER,
                    sign(SECRET.as_bytes(), ts, EVENT.as_bytes()),
                )
                .header(TIMESTAMP_HEADER, (ts - 1).to_string())
                .body(Body::from(EVENT))
                .unwrap(),
            "signature_invalid",
        ),
        (
            post()
                .header(SIGNATURE_HEADER, "md5=abc")
                .header(TIMESTAMP_HEADER, ts.to_string())
                .body(Body::from(EVENT))
                .unwrap(),
            "signature_malformed",
        ),
        (
            post()
                .header(SIGNATURE_HEADER, "sha256=zz")
                .header(TIMESTAMP_HEADER, ts.to_string())
                .body(Body::from(EVENT))
                .unwrap(),
            "signature_malformed",
        ),
        (
            post()
                .header(
                    SIGNATURE_HEADER,
                    sign(SECRET.as_bytes(), ts, EVENT.as_bytes()),
                )
                .header(TIMESTAMP_HEADER, "yesterday")
                .body(Body::from(EVENT))
                .unwrap(),
            "signature_malformed",
        ),
        (signed(EVENT, SECRET, ts - 301), "signature_expired"),
        (signed(EVENT, SECRET, ts + 301), "signature_expired"),
    ];
    for (request, code) in cases {
        let (status, json) = call(signed_router(&queue), request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{code}");
        assert_eq!(json["error"], code);
    }
    // An unauthenticated body is never parsed: bad JSON without a signature is a 401.
    let request = post().body(Body::from("nope")).unwrap();
    let (status, _) = call(signed_router(&queue), request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(queue.depth().total(), 0);

    // Inside the window (either way) is fine.
    for skew in [-290, 290] {
        let (status, _) = call(signed_router(&queue), signed(EVENT, SECRET, ts + skew)).await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
}

#[tokio::test]
async fn the_window_and_rotated_secrets_are_configurable() {
    let queue = MemoryQueue::new("hooks");
    let router = || {
        WebhookIngest::builder(queue.clone())
            .path("/hooks")
            .signing_secret(SecretString::from("old-secret"))
            .signing_secret(SecretString::from(SECRET))
            .timestamp_tolerance(Duration::from_secs(30))
            .router()
            .unwrap()
    };
    let (status, _) = call(router(), signed(EVENT, "old-secret", now())).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _) = call(router(), signed(EVENT, SECRET, now())).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, json) = call(router(), signed(EVENT, SECRET, now() - 60)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json["error"], "signature_expired");
    assert_eq!(queue.depth().total(), 2);
}

#[tokio::test]
async fn queue_failure_gets_503_so_the_sender_retries() {
    let queue = MemoryQueue::new("hooks");
    queue.fail_next(Operation::Send, 1, InjectedFailure::Unavailable);
    let response = signed_router(&queue)
        .oneshot(signed(EVENT, SECRET, now()))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "1");
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(json["error"], "queue_unavailable");
    assert_eq!(queue.depth().total(), 0);

    // The sender's retry gets through.
    let (status, _) = call(signed_router(&queue), signed(EVENT, SECRET, now())).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(queue.depth().total(), 1);
}

#[tokio::test]
async fn a_message_the_queue_refuses_gets_400() {
    // U+FFFF is valid JSON but outside the XML character set SQS accepts.
    let queue = MemoryQueue::new("hooks");
    let body = "{\"a\":\"\u{FFFF}\"}";
    let request = Request::post("/").body(Body::from(body)).unwrap();
    let (status, json) = call(
        WebhookIngest::builder(queue.clone()).router().unwrap(),
        request,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["error"], "rejected_by_queue");
}

/// A queue whose sends take longer than any deadline.
struct SlowQueue(MemoryQueue);

#[async_trait]
impl Queue for SlowQueue {
    fn name(&self) -> &str {
        "slow"
    }
    async fn receive(&self, opts: &ReceiveOptions) -> Result<Vec<ReceivedMessage>, QueueError> {
        self.0.receive(opts).await
    }
    async fn send(&self, message: OutgoingMessage) -> Result<String, QueueError> {
        tokio::time::sleep(Duration::from_secs(30)).await;
        self.0.send(message).await
    }
    async fn send_batch(
        &self,
        messages: Vec<OutgoingMessage>,
    ) -> Result<BatchOutcome<String>, QueueError> {
        self.0.send_batch(messages).await
    }
    async fn delete_batch(&self, handles: Vec<String>) -> Result<BatchOutcome<()>, QueueError> {
        self.0.delete_batch(handles).await
    }
    async fn change_visibility_batch(
        &self,
        entries: Vec<(String, Duration)>,
    ) -> Result<BatchOutcome<()>, QueueError> {
        self.0.change_visibility_batch(entries).await
    }
    async fn approximate_depth(&self) -> Result<QueueDepth, QueueError> {
        self.0.approximate_depth().await
    }
}

#[tokio::test(start_paused = true)]
async fn a_queue_slower_than_the_deadline_gets_503() {
    let queue = MemoryQueue::new("hooks");
    let router = WebhookIngest::builder(SlowQueue(queue.clone()))
        .deadline(Duration::from_secs(4))
        .router()
        .unwrap();
    let started = tokio::time::Instant::now();
    let request = Request::post("/").body(Body::from(EVENT)).unwrap();
    let (status, json) = call(router, request).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json["error"], "deadline_exceeded");
    assert_eq!(started.elapsed(), Duration::from_secs(4));
}

#[tokio::test]
async fn only_post_is_routed() {
    let queue = MemoryQueue::new("hooks");
    let request = Request::get("/hooks").body(Body::empty()).unwrap();
    let response = signed_router(&queue).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_full_queue_gets_503_with_retry_after_and_keeps_what_it_holds() {
    // Room for two small messages by count, and a byte cap a big body cannot fit under.
    let queue = MemoryQueue::builder("hooks")
        .max_messages(2)
        .max_bytes(4096)
        .build();
    let router = WebhookIngest::builder(queue.clone()).router().unwrap();
    let post = |body: String| {
        let router = router.clone();
        async move {
            let response = router
                .oneshot(Request::post("/").body(Body::from(body)).unwrap())
                .await
                .unwrap();
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            (response.status(), retry_after)
        }
    };
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(5000));
    assert_eq!(
        post(big).await,
        (StatusCode::SERVICE_UNAVAILABLE, Some("1".to_owned()))
    );
    assert_eq!(post("[1]".into()).await.0, StatusCode::ACCEPTED);
    assert_eq!(post("[2]".into()).await.0, StatusCode::ACCEPTED);
    assert_eq!(
        post("[3]".into()).await,
        (StatusCode::SERVICE_UNAVAILABLE, Some("1".to_owned()))
    );
    let held = queued(&queue).await;
    let bodies: Vec<&str> = held.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["[1]", "[2]"]);
}

#[tokio::test]
async fn bodies_past_the_shared_budget_get_503_busy() {
    let queue = MemoryQueue::new("hooks");
    let router = WebhookIngest::builder(queue.clone())
        .body_budget(16)
        .router()
        .unwrap();
    let request = Request::post("/")
        .body(Body::from(format!("[{}]", "1,".repeat(20) + "1")))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "1");
    // the budget was given back: a body that fits goes through
    let request = Request::post("/").body(Body::from("[1, 2]")).unwrap();
    let (status, _) = call(router, request).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(queued(&queue).await.len(), 1);
}
