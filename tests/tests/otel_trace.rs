//! Traces across the queue, read back from an in-memory OpenTelemetry exporter: the trace of an
//! ingested webhook continues in the consumer's handler, its dead-letter copy keeps it, and
//! replay carries it to the target. A webhook with no `traceparent` carries the context of the
//! span it was ingested in.
//!
//! The libraries know nothing of OpenTelemetry: the bridge is the application's
//! [`Propagator`], written here as a user would, with `opentelemetry`'s W3C propagator and
//! `tracing-opentelemetry`.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Once;
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanId, TraceId, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use sqs_dlq::consumer::{Consumer, Delivery, Handler, HandlerError};
use sqs_dlq::dead_letter::{HttpTarget, Replay};
use sqs_dlq::http::WebhookIngest;
use sqs_dlq::queue::MemoryQueue;
use sqs_dlq::trace_context::{Propagator, TRACEPARENT, set_propagator};
use tower::ServiceExt;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

/// The application's bridge: W3C text-map propagation through `tracing-opentelemetry`.
struct W3c;

impl Propagator for W3c {
    fn traceparent(&self, span: &tracing::Span) -> Option<String> {
        let mut carrier = HashMap::new();
        TraceContextPropagator::new().inject_context(&span.context(), &mut carrier);
        carrier.remove(TRACEPARENT)
    }

    fn continue_trace(&self, span: &tracing::Span, traceparent: &str) {
        let carrier = HashMap::from([(TRACEPARENT.to_owned(), traceparent.to_owned())]);
        let parent = TraceContextPropagator::new().extract(&carrier);
        let _ = span.set_parent(parent);
    }
}

fn install_propagator() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| set_propagator(W3c).unwrap());
}

/// A subscriber exporting to memory, set for the current thread (the tests run on a
/// current-thread runtime, so every task of theirs sees it).
fn exporter() -> (
    InMemorySpanExporter,
    SdkTracerProvider,
    tracing::subscriber::DefaultGuard,
) {
    install_propagator();
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("otel_trace")));
    let guard = tracing::subscriber::set_default(subscriber);
    (exporter, provider, guard)
}

fn event_body() -> String {
    serde_json::json!({
        "version": "0", "id": "e1", "detail-type": "v2.conversations.{id}.transcription",
        "source": "aws.partner/genesys.com/cloud/org/suffix", "account": "123456789012",
        "time": "2026-11-21T09:49:26Z", "region": "us-east-1", "resources": [],
        "detail": {"topicName": "v2.conversations.5f1c8a52-2c4e-4d5b-9b6a-0c1d2e3f4a5b.transcription",
                   "eventBody": {}, "metadata": {"CorrelationId": "c"},
                   "timestamp": "2026-11-21T09:49:26.031Z"}
    })
    .to_string()
}

async fn ingest(queue: &MemoryQueue, traceparent: Option<&str>) -> StatusCode {
    let router = WebhookIngest::builder(queue.clone()).router().unwrap();
    let mut request = Request::post("/").header("content-type", "application/json");
    if let Some(traceparent) = traceparent {
        request = request.header(TRACEPARENT, traceparent);
    }
    let request = request.body(Body::from(event_body())).unwrap();
    router.oneshot(request).await.unwrap().status()
}

/// Works inside a span of its own, then refuses for good.
struct Refuse;

#[async_trait]
impl Handler for Refuse {
    type Payload = String;
    async fn handle(&self, _body: String, _delivery: Delivery<'_>) -> Result<(), HandlerError> {
        tracing::info_span!("handler.work").in_scope(|| tracing::info!("working"));
        Err(HandlerError::permanent("no"))
    }
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|s| s.name == name).collect()
}

#[tokio::test(flavor = "current_thread")]
async fn a_webhook_trace_continues_in_the_handler_and_on_to_replay() {
    let (exporter, provider, _guard) = exporter();
    let queue = MemoryQueue::new("hooks");
    let dlq = MemoryQueue::new("hooks-dlq");
    let traceparent = format!("00-{TRACE}-{PARENT}-01");
    assert_eq!(
        ingest(&queue, Some(&traceparent)).await,
        StatusCode::ACCEPTED
    );

    let summary = Consumer::builder(queue.clone(), Refuse)
        .dead_letter_queue(dlq.clone())
        .wait_time(Duration::ZERO)
        .stop_when_idle(Duration::from_millis(100))
        .build()
        .unwrap()
        .run()
        .await
        .unwrap();
    assert_eq!(summary.counters.dead_lettered, 1);
    provider.force_flush().unwrap();

    let spans = exporter.get_finished_spans().unwrap();
    let process = named(&spans, "sqs_dlq.process");
    assert_eq!(process.len(), 1, "{spans:#?}");
    let process = process[0];
    assert_eq!(
        process.span_context.trace_id(),
        TraceId::from_hex(TRACE).unwrap(),
        "the handler's span is in the webhook's trace"
    );
    assert_eq!(process.parent_span_id, SpanId::from_hex(PARENT).unwrap());
    let work = named(&spans, "handler.work");
    assert_eq!(work.len(), 1, "{spans:#?}");
    assert_eq!(
        work[0].span_context.trace_id(),
        process.span_context.trace_id()
    );
    assert_eq!(work[0].parent_span_id, process.span_context.span_id());

    // The dead-letter copy keeps the context, and replay sends it to the target.
    let dead = dlq.peek_all();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attribute(TRACEPARENT), Some(traceparent.as_str()));
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let target = HttpTarget::builder(format!("{}/events", server.uri()))
        .build()
        .unwrap();
    let report = Replay::builder(target)
        .force(true)
        .wait_time(Duration::ZERO)
        .build()
        .run(&dlq)
        .await
        .unwrap();
    assert_eq!(report.replayed.len(), 1, "{report:?}");
    let received = server.received_requests().await.unwrap();
    let sent = received[0]
        .headers
        .get(TRACEPARENT)
        .and_then(|v| v.to_str().ok());
    assert_eq!(sent, Some(traceparent.as_str()));
}

#[tokio::test(flavor = "current_thread")]
async fn a_webhook_without_context_carries_the_span_it_was_ingested_in() {
    let (exporter, provider, _guard) = exporter();
    let queue = MemoryQueue::new("hooks");
    let request = tracing::info_span!("webhook.request");
    let status = ingest(&queue, None).instrument(request).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    provider.force_flush().unwrap();

    let spans = exporter.get_finished_spans().unwrap();
    let request = named(&spans, "webhook.request");
    assert_eq!(request.len(), 1, "{spans:#?}");
    let held = queue.peek_all();
    assert_eq!(held.len(), 1);
    let carried = held[0].attribute(TRACEPARENT).expect("a traceparent");
    let expected = format!(
        "00-{}-{}-01",
        request[0].span_context.trace_id(),
        request[0].span_context.span_id()
    );
    assert_eq!(carried, expected);

    // Outside any span nothing is invented.
    let queue = MemoryQueue::new("plain");
    assert_eq!(ingest(&queue, None).await, StatusCode::ACCEPTED);
    assert_eq!(queue.peek_all()[0].attribute(TRACEPARENT), None);
}
