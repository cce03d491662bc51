//! The W3C trace context across the queue: an ingested webhook's `traceparent` becomes a
//! message attribute, the dead-letter copy keeps it, and replay sends it on to the target.
#![allow(clippy::unwrap_used)]

mod dlq_support;

use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use dlq_support::{conversation, letter_message};
use sqs_dlq::consumer::{Consumer, Delivery, Handler, HandlerError};
use sqs_dlq::dead_letter::{HttpTarget, Replay};
use sqs_dlq::http::WebhookIngest;
use sqs_dlq::queue::{MemoryQueue, Queue};
use sqs_dlq::trace_context::TRACEPARENT;
use tower::ServiceExt;
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Refuses everything for good, counting the deliveries that carried the context.
struct Refuse(std::sync::Arc<std::sync::atomic::AtomicU32>);

#[async_trait]
impl Handler for Refuse {
    type Payload = String;
    async fn handle(&self, _body: String, delivery: Delivery<'_>) -> Result<(), HandlerError> {
        tracing::info!("handling");
        if delivery.message().attribute(TRACEPARENT) == Some(TP) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Err(HandlerError::permanent("no"))
    }
}

async fn ingest(queue: &MemoryQueue, traceparent: &str) -> StatusCode {
    let router = WebhookIngest::builder(queue.clone()).router().unwrap();
    let request = Request::post("/")
        .header("content-type", "application/json")
        .header(TRACEPARENT, traceparent)
        .body(Body::from(r#"{"id":1}"#))
        .unwrap();
    router.oneshot(request).await.unwrap().status()
}

/// Log lines written by a `tracing-subscriber` fmt layer (span fields included).
#[derive(Clone, Default)]
struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn an_ingested_traceparent_travels_with_the_message_and_its_dead_letter() {
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _log = tracing::subscriber::set_default(subscriber);
    let queue = MemoryQueue::new("hooks");
    let dlq = MemoryQueue::new("hooks-dlq");
    assert_eq!(ingest(&queue, TP).await, StatusCode::ACCEPTED);
    // A malformed context is not passed on.
    assert_eq!(ingest(&queue, "00-nope").await, StatusCode::ACCEPTED);
    let held = queue.peek_all();
    let with: Vec<_> = held
        .iter()
        .filter_map(|m| m.attribute(TRACEPARENT))
        .collect();
    assert_eq!(with, vec![TP]);

    let seen = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let summary = Consumer::builder(queue.clone(), Refuse(seen.clone()))
        .dead_letter_queue(dlq.clone())
        .wait_time(Duration::ZERO)
        .stop_when_idle(Duration::from_millis(200))
        .build()
        .unwrap()
        .run()
        .await
        .unwrap();
    assert_eq!(summary.counters.dead_lettered, 2);
    assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 1);
    let dead = dlq.peek_all();
    let with: Vec<_> = dead
        .iter()
        .filter_map(|m| m.attribute(TRACEPARENT))
        .collect();
    assert_eq!(with, vec![TP], "the dead letter keeps the context");
    // The handler ran inside a span carrying the context.
    let log = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    let handled: Vec<&str> = log.lines().filter(|l| l.contains("handling")).collect();
    assert_eq!(handled.len(), 2, "{log}");
    let in_trace = handled
        .iter()
        .filter(|l| l.contains("sqs_dlq.process") && l.contains(&format!("traceparent=\"{TP}\"")))
        .count();
    assert_eq!(in_trace, 1, "{log}");
}

#[tokio::test]
async fn replay_sends_the_traceparent_to_an_http_target() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header(TRACEPARENT, TP))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let dlq = MemoryQueue::new("dlq");
    dlq.send(letter_message(&conversation(1), "THROTTLING", 2).with_attribute(TRACEPARENT, TP))
        .await
        .unwrap();
    let target = HttpTarget::builder(format!("{}/events", server.uri()))
        .build()
        .unwrap();
    let report = Replay::builder(target)
        .wait_time(Duration::ZERO)
        .build()
        .run(&dlq)
        .await
        .unwrap();
    assert_eq!(report.replayed.len(), 1, "{report:?}");
    server.verify().await;
}
