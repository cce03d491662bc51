//! Replayed deliveries. The webhook ingest and the dead-letter receiver sign
//! `"{timestamp}.{body}"` and refuse timestamps outside the tolerance window, so a captured
//! request cannot be played again later, nor with its timestamp header changed. The webhook
//! archive (outbound) signs the body, which carries `exportedAt`, and sends the same
//! `Idempotency-Key` on every retry, so the receiving end can both refuse stale copies and drop
//! repeats.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use axum::routing::post;
use genesys_messaging::archive::{ArchiveBatch, ArchiveSink, WebhookArchive};
use genesys_messaging::{Direction, WebMessagingMessage};
use retry_policy::{Backoff, RetryPolicy};
use secrecy::SecretString;
use sqs_dlq::dead_letter::{QueueTarget, Replay};
use sqs_dlq::http::{DeadLetterReceiver, WebhookIngest};
use sqs_dlq::queue::MemoryQueue;
use tower::ServiceExt;

const SECRET: &str = "replay-test-secret";
const TOLERANCE: Duration = Duration::from_secs(300);

use genesys_integration_tests::unix_now as now;

async fn send(router: &Router, ts: i64, sig: &str, body: &[u8]) -> StatusCode {
    let req = Request::post("/")
        .header("x-signature-timestamp", ts.to_string())
        .header("x-signature-256", sig)
        .body(Body::from(body.to_vec()))
        .unwrap();
    router.clone().oneshot(req).await.unwrap().status()
}

#[tokio::test]
async fn ingest_refuses_replays_outside_the_window_and_altered_timestamps() {
    let queue = MemoryQueue::new("replay-ingest");
    let router = WebhookIngest::builder(queue.clone())
        .signing_secret(SecretString::from(SECRET))
        .timestamp_tolerance(TOLERANCE)
        .router()
        .unwrap();
    let body = br#"{"eventId":"e-1"}"#;
    let sign = |ts| sqs_dlq::http::sign(SECRET.as_bytes(), ts, body);
    let t = now();
    assert_eq!(send(&router, t, &sign(t), body).await, StatusCode::ACCEPTED);
    // captured 6 minutes ago and played now
    let old = t - 360;
    assert_eq!(
        send(&router, old, &sign(old), body).await,
        StatusCode::UNAUTHORIZED
    );
    // the captured signature with a fresh timestamp header
    assert_eq!(
        send(&router, t, &sign(old), body).await,
        StatusCode::UNAUTHORIZED
    );
    // from the future, past the window
    let future = t + 360;
    assert_eq!(
        send(&router, future, &sign(future), body).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        queue.depth().visible,
        1,
        "only the genuine delivery was queued"
    );
}

#[tokio::test]
async fn receiver_refuses_replays_outside_the_window_and_altered_timestamps() {
    let target = MemoryQueue::new("replay-target");
    let replay = Replay::builder(QueueTarget::new(target.clone()))
        .force(true)
        .build();
    // No tolerance set: replay protection is the default (5 minutes, as the ingest's).
    let router = DeadLetterReceiver::builder(replay)
        .hmac_secret(SecretString::from(SECRET))
        .router()
        .unwrap();
    let fixture: serde_json::Value = serde_json::from_str(include_str!(
        "../../crates/sqs-dlq/tests/fixtures/eventbridge/timeout.json"
    ))
    .unwrap();
    let body = fixture["body"].as_str().unwrap();
    let sign = |ts| sqs_dlq::http::timestamped_signature(SECRET.as_bytes(), ts, body.as_bytes());
    let t = now();
    let old = t - 360;
    assert_eq!(
        send(&router, old, &sign(old), body.as_bytes()).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&router, t, &sign(old), body.as_bytes()).await,
        StatusCode::UNAUTHORIZED
    );
    // from the future, past the window
    let future = t + 360;
    assert_eq!(
        send(&router, future, &sign(future), body.as_bytes()).await,
        StatusCode::UNAUTHORIZED
    );
    // a body-only signature (no timestamp to hold it to) is not accepted by default
    let body_only = Request::post("/")
        .header(
            "x-signature-256",
            sqs_dlq::http::signature(SECRET.as_bytes(), body.as_bytes()),
        )
        .body(Body::from(body.to_owned()))
        .unwrap();
    assert_eq!(
        router.clone().oneshot(body_only).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(target.depth().visible, 0, "nothing replayed");
    let fresh = send(&router, t, &sign(t), body.as_bytes()).await;
    assert_ne!(
        fresh,
        StatusCode::UNAUTHORIZED,
        "a genuine delivery passes authentication"
    );
    assert_eq!(TOLERANCE, sqs_dlq::http::DEFAULT_TIMESTAMP_TOLERANCE);
}

#[tokio::test]
async fn archive_retries_carry_one_idempotency_key_and_a_signed_export_time() {
    #[derive(Clone, Default)]
    struct Seen(Arc<Mutex<Vec<(HeaderMap, Bytes)>>>);
    let seen = Seen::default();
    let app = Router::new()
        .route(
            "/archive",
            post(
                |axum::extract::State(s): axum::extract::State<Seen>,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    let mut all = s.0.lock().unwrap();
                    all.push((headers, body));
                    // the first delivery "fails" after the receiver stored it: the retry is a repeat
                    if all.len() == 1 {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::OK
                    }
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let secret = SecretString::from(SECRET);
    let archive = WebhookArchive::builder(format!("http://{addr}/archive"))
        .secret(secret.clone())
        .retry_policy(
            RetryPolicy::builder()
                .max_attempts(3)
                .backoff(Backoff::constant(Duration::from_millis(5)))
                .no_budget()
                .build(),
        )
        .build()
        .unwrap();
    let message = WebMessagingMessage::text("m-1", chrono::Utc::now(), Direction::Inbound, "hi");
    let batch = ArchiveBatch::new("conv-1", 1, 0, vec![message]);
    archive.write_batch(&batch).await.unwrap();

    let all = seen.0.lock().unwrap().clone();
    assert_eq!(all.len(), 2, "one failure, one retry");
    let key = |h: &HeaderMap| {
        h.get("idempotency-key")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(key(&all[0].0), key(&all[1].0), "a repeat is recognisable");
    for (headers, body) in &all {
        let sig = headers.get("x-signature-256").unwrap().to_str().unwrap();
        let ts: i64 = headers
            .get("x-signature-timestamp")
            .unwrap()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            sig,
            WebhookArchive::signature(&secret, ts, body),
            "signature verifies"
        );
        let json: serde_json::Value = serde_json::from_slice(body).unwrap();
        let exported =
            chrono::DateTime::parse_from_rfc3339(json["exportedAt"].as_str().unwrap()).unwrap();
        assert!(
            (chrono::Utc::now() - exported.to_utc()).num_seconds().abs() < 60,
            "signed export time"
        );
    }
    // a forged body under the same key does not verify
    let ts: i64 = all[0].0["x-signature-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(
        WebhookArchive::signature(&secret, ts, br#"{"conversationId":"conv-1","messages":[]}"#),
        all[0].0.get("x-signature-256").unwrap().to_str().unwrap()
    );
}
