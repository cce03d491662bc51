//! [`WebhookIngest`] and what it needs (its documentation is on the type).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use secrecy::SecretString;

use crate::http::body::{self, BodyError};
use crate::http::signature::{
    self, DEFAULT_TIMESTAMP_TOLERANCE, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use crate::queue::{
    AttributeValue, Attributes, MAX_MESSAGE_ATTRIBUTES, OutgoingMessage, Queue, QueueError,
};
use crate::trace_context::{TRACEPARENT, inject_current, is_valid_traceparent};

/// Default body limit: 256 KiB.
pub const DEFAULT_INGEST_MAX_BODY_BYTES: usize = 256 * 1024;
/// Default deadline for answering: 4 s (senders such as Genesys Cloud wait 5 s).
pub const DEFAULT_INGEST_DEADLINE: Duration = Duration::from_secs(4);
/// Default bytes that bodies being read and checked may hold together: 16 MiB (64 bodies at
/// the default size limit; thousands of ordinary webhooks).
pub const DEFAULT_INGEST_BODY_BUDGET: usize = 16 * 1024 * 1024;

/// The `X-Signature-256` value (`sha256=<hex>`) for `body` signed at `timestamp` (Unix seconds)
/// with `secret`: the HMAC-SHA256 of `"{timestamp}.{body}"`.
///
/// ```
/// let value = sqs_dlq::http::sign(b"secret", 1_700_000_000, br#"{"a":1}"#);
/// assert!(value.starts_with("sha256=") && value.len() == 7 + 64);
/// ```
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    signature::header_value(signature::mac(secret, Some(timestamp), body))
}

/// Why the ingest could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// A signing secret is empty or whitespace only: anyone could sign with it.
    #[error(transparent)]
    WeakSecret(#[from] crate::http::signature::WeakSecret),
}

/// Builds the ingest [`Router`]; start with [`WebhookIngest::builder`].
///
/// Webhook ingest (feature `http`): an axum [`Router`] that takes webhook POSTs (Genesys Cloud
/// outbound webhooks, EventBridge API destinations, anything that POSTs JSON) and puts each body
/// on a [`Queue`] before answering, so the sender's 5-second wait is never spent on processing.
///
/// ```no_run
/// use std::time::Duration;
/// use secrecy::SecretString;
/// use sqs_dlq::queue::MemoryQueue;
/// use sqs_dlq::http::WebhookIngest;
///
/// # async fn serve() -> std::io::Result<()> {
/// let queue = MemoryQueue::new("webhooks");
/// let app = axum::Router::new().nest(
///     "/webhooks/genesys",
///     WebhookIngest::builder(queue)
///         .signing_secret(SecretString::from("shared-secret"))
///         .timestamp_tolerance(Duration::from_secs(300))
///         .forward_header(http::HeaderName::from_static("x-genesys-webhook-id"))
///         .router()
///         .expect("the secret is not empty"),
/// );
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// axum::serve(listener, app).await
/// # }
/// ```
///
/// # What a request goes through
/// 1. **Size**: a `Content-Length` over the limit (default 256 KiB, the SQS message size most
///    senders assume) is refused at once with 413; a body that grows past it while streaming
///    gets 413 too. A body that breaks off while being read gets 400.
/// 2. **Signature** (when a secret is set): `X-Signature-256: sha256=<hex>` must be the
///    HMAC-SHA256, under the shared secret, of `"{timestamp}.{body}"`, where `timestamp` is the
///    `X-Signature-Timestamp` header in Unix seconds and `body` the raw bytes. The timestamp must
///    be within the tolerance (default 5 minutes, either way) of the receiver's clock, so a
///    captured request cannot be replayed later. The comparison is constant-time. Several
///    secrets may be set for rotation; any of them verifies. Missing, malformed, stale or wrong
///    signatures get 401, and all but the wrong MAC are refused on the headers, before the body
///    is read. The MAC is checked before the body is parsed, so unauthenticated input is never
///    parsed. An empty or whitespace-only secret is refused when the router is built. [`sign`] computes the header value for senders.
/// 3. **JSON**: the body must be one well-formed JSON value (it is not re-encoded: the queue
///    gets the bytes as sent); otherwise 400.
/// 4. **Queue**: `SendMessage` with the body and the forwarded headers as message attributes.
///    Success → `202 {"messageId": "..."}`. A throttled, unreachable, missing or full queue
///    (a [`crate::queue::MemoryQueue`] past its `max_messages` / `max_bytes`) → 503 with
///    `Retry-After: 1`, so the sender retries and nothing is accepted that the queue cannot
///    keep; a message the queue refuses as invalid → 400.
///
/// Bodies being read, checked and queued share a budget of bytes (default 16 MiB,
/// [`WebhookIngestBuilder::body_budget`]); past it a request gets 503 `busy` with
/// `Retry-After: 1` instead of being buffered.
///
/// The whole request has a deadline (default 4 s, under the 5 s senders wait); past it the
/// answer is 503 and the sender retries (a send that completes after the deadline may leave a
/// duplicate, which the consumer's idempotency key absorbs). Every error answer is JSON:
/// `{"error": "<code>", "message": "<text>"}`.
///
/// Serve it with [`crate::http::HttpServer`] rather than `axum::serve` for the
/// connection-level limits: a header-read timeout, a connection cap answered with 503, keep-alive
/// limits and a shutdown that cannot hang.
///
/// # What it does not do
/// TLS (put it behind your load balancer or `axum-server`), authentication other than the
/// signature, deduplication (the consumer's idempotency store does that), or processing.
#[derive(Debug)]
pub struct WebhookIngest;

impl WebhookIngest {
    /// Ingest into `queue`. Defaults: path `/`, 256 KiB limit, no signature check, 5 minute
    /// timestamp tolerance, 4 s deadline, no forwarded headers.
    pub fn builder(queue: impl Queue) -> WebhookIngestBuilder {
        WebhookIngestBuilder {
            queue: Arc::new(queue),
            path: "/".to_owned(),
            max_body_bytes: DEFAULT_INGEST_MAX_BODY_BYTES,
            secrets: Vec::new(),
            tolerance: DEFAULT_TIMESTAMP_TOLERANCE,
            deadline: DEFAULT_INGEST_DEADLINE,
            body_budget: DEFAULT_INGEST_BODY_BUDGET,
            forward_headers: Vec::new(),
        }
    }
}

/// Settings of the ingest router.
#[must_use]
pub struct WebhookIngestBuilder {
    queue: Arc<dyn Queue>,
    path: String,
    max_body_bytes: usize,
    secrets: Vec<SecretString>,
    tolerance: Duration,
    deadline: Duration,
    body_budget: usize,
    forward_headers: Vec<HeaderName>,
}

impl std::fmt::Debug for WebhookIngestBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookIngestBuilder")
            .field("queue", &self.queue.name())
            .field("path", &self.path)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("secrets", &self.secrets.len())
            .field("tolerance", &self.tolerance)
            .field("deadline", &self.deadline)
            .field("body_budget", &self.body_budget)
            .field("forward_headers", &self.forward_headers)
            .finish()
    }
}

impl WebhookIngestBuilder {
    /// The route the POSTs arrive on (default `/`; or nest the router under a prefix).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Largest body accepted; larger gets 413.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// Requires a valid `X-Signature-256` under this secret. Call again to accept several
    /// (secret rotation). An empty or whitespace-only secret makes [`router`](Self::router)
    /// fail; one under 32 bytes is accepted with a warning.
    pub fn signing_secret(mut self, secret: SecretString) -> Self {
        self.secrets.push(secret);
        self
    }

    /// How far `X-Signature-Timestamp` may be from now, either way.
    pub fn timestamp_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Time to answer a request, reading the body and sending to the queue included; past it
    /// the answer is 503.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Bytes that bodies being read, checked and queued may hold together (default 16 MiB,
    /// [`DEFAULT_INGEST_BODY_BUDGET`]). Past it a request is answered 503 `busy` with
    /// `Retry-After: 1` instead of being buffered, so a flood of large bodies (signed with a
    /// plausible header, or sent to an ingest without a secret) cannot grow the process
    /// beyond it, whatever the number of connections.
    pub fn body_budget(mut self, bytes: usize) -> Self {
        self.body_budget = bytes;
        self
    }

    /// Copies this request header, when present, into a message attribute (for example
    /// `x-genesys-webhook-id`). The attribute is named after the header, with characters SQS
    /// does not allow in attribute names replaced by `_`. At most ten are kept (an SQS limit).
    pub fn forward_header(mut self, name: HeaderName) -> Self {
        if self.forward_headers.len() < MAX_MESSAGE_ATTRIBUTES {
            self.forward_headers.push(name);
        }
        self
    }

    /// The router, with a single `POST` route. Fails when a signing secret is empty or
    /// whitespace only (a secret under 32 bytes is accepted with a warning).
    pub fn router(self) -> Result<Router, IngestError> {
        for secret in &self.secrets {
            signature::check_secret("the ingest's signing secret", secret)?;
        }
        let path = self.path.clone();
        let state = Arc::new(IngestState {
            queue: self.queue,
            max_body_bytes: self.max_body_bytes,
            secrets: self.secrets,
            tolerance: self.tolerance,
            deadline: self.deadline,
            budget: body::BodyBudget::new(self.body_budget),
            forward_headers: self.forward_headers,
        });
        Ok(Router::new().route(&path, post(ingest)).with_state(state))
    }
}

struct IngestState {
    queue: Arc<dyn Queue>,
    max_body_bytes: usize,
    secrets: Vec<SecretString>,
    tolerance: Duration,
    deadline: Duration,
    budget: body::BodyBudget,
    forward_headers: Vec<HeaderName>,
}

/// Why a request was refused.
#[derive(Debug)]
enum Rejection {
    TooLarge { limit: usize },
    BodyUnreadable,
    SignatureMissing,
    SignatureMalformed,
    SignatureExpired,
    SignatureInvalid,
    InvalidJson(String),
    QueueRejected,
    QueueUnavailable,
    QueueFull,
    Busy,
    DeadlineExceeded,
}

impl Rejection {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            Rejection::TooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("body exceeds {limit} bytes"),
            ),
            Rejection::BodyUnreadable => (
                StatusCode::BAD_REQUEST,
                "body_unreadable",
                "the body could not be read to its end".to_owned(),
            ),
            Rejection::SignatureMissing => (
                StatusCode::UNAUTHORIZED,
                "signature_missing",
                format!("{SIGNATURE_HEADER} and {TIMESTAMP_HEADER} are required"),
            ),
            Rejection::SignatureMalformed => (
                StatusCode::UNAUTHORIZED,
                "signature_malformed",
                format!(
                    "{SIGNATURE_HEADER} must be sha256=<64 hex digits> and {TIMESTAMP_HEADER} Unix seconds"
                ),
            ),
            Rejection::SignatureExpired => (
                StatusCode::UNAUTHORIZED,
                "signature_expired",
                format!("{TIMESTAMP_HEADER} is outside the accepted window"),
            ),
            Rejection::SignatureInvalid => (
                StatusCode::UNAUTHORIZED,
                "signature_invalid",
                "the signature does not match the body".to_owned(),
            ),
            Rejection::InvalidJson(detail) => (
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("the body is not valid JSON: {detail}"),
            ),
            Rejection::QueueRejected => (
                StatusCode::BAD_REQUEST,
                "rejected_by_queue",
                "the queue refused the message as invalid".to_owned(),
            ),
            Rejection::QueueUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "queue_unavailable",
                "the queue is unavailable; retry later".to_owned(),
            ),
            Rejection::QueueFull => (
                StatusCode::SERVICE_UNAVAILABLE,
                "queue_full",
                "the queue is full; retry later".to_owned(),
            ),
            Rejection::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "too many bodies are being read; retry later".to_owned(),
            ),
            Rejection::DeadlineExceeded => (
                StatusCode::SERVICE_UNAVAILABLE,
                "deadline_exceeded",
                "the request could not be queued in time; retry later".to_owned(),
            ),
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        let body = serde_json::json!({ "error": code, "message": message });
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// One `genesys.ingest.answers` count: the status and the answer's code (`queued` for a 202).
fn answered(status: StatusCode, code: &'static str) {
    metrics::counter!(
        crate::metric_names::INGEST_ANSWERS,
        "http.response.status_code" => status.as_str().to_owned(),
        "outcome" => code,
    )
    .increment(1);
}

async fn ingest(State(state): State<Arc<IngestState>>, headers: HeaderMap, body: Body) -> Response {
    let result = tokio::time::timeout(state.deadline, accept(&state, &headers, body)).await;
    match result {
        Ok(Ok(message_id)) => {
            answered(StatusCode::ACCEPTED, "queued");
            tracing::debug!(target: "sqs_dlq::ingest", %message_id, "webhook queued");
            (
                StatusCode::ACCEPTED,
                axum::Json(serde_json::json!({ "messageId": message_id })),
            )
                .into_response()
        }
        Ok(Err(rejection)) => {
            let (status, code, _) = rejection.parts();
            answered(status, code);
            tracing::info!(target: "sqs_dlq::ingest", status = status.as_u16(), code, "webhook refused");
            rejection.into_response()
        }
        Err(_elapsed) => {
            answered(StatusCode::SERVICE_UNAVAILABLE, "deadline_exceeded");
            tracing::warn!(
                target: "sqs_dlq::ingest",
                deadline_ms = state.deadline.as_millis() as u64,
                "webhook not queued within the deadline"
            );
            Rejection::DeadlineExceeded.into_response()
        }
    }
}

async fn accept(state: &IngestState, headers: &HeaderMap, body: Body) -> Result<String, Rejection> {
    let limit = state.max_body_bytes;
    // Missing, malformed and stale signatures are refused on the headers, before the body.
    let signed = if state.secrets.is_empty() {
        None
    } else {
        Some(signature::check_headers(headers, policy(state)).map_err(rejection)?)
    };
    // The budget is held until the message is queued (the request's end): what the ingest
    // buffers at once is bounded whatever the number of connections. The request deadline
    // around this read is what bounds its time.
    let limits = body::ReadLimits {
        budget: Some(&state.budget),
        ..body::ReadLimits::size(limit)
    };
    let read = body::read_body(headers, body, limits)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => Rejection::TooLarge { limit },
            BodyError::OverBudget => Rejection::Busy,
            BodyError::Unreadable | BodyError::TimedOut => Rejection::BodyUnreadable,
        })?;
    let body = &read.bytes;

    if let Some((timestamp, provided)) = &signed
        && !signature::matches_any(&state.secrets, *timestamp, body, provided)
    {
        return Err(Rejection::SignatureInvalid);
    }

    // Parsed to a `Value`, not skipped with `IgnoredAny`: skipping neither checks `\u` escapes
    // (a lone surrogate such as `"\ud800"` passed) nor limits depth, so bodies no serde_json
    // decoder downstream can read were answered 202 and became poison messages.
    if let Err(e) = serde_json::from_slice::<serde_json::Value>(body) {
        return Err(Rejection::InvalidJson(e.to_string()));
    }
    // JSON strings hold UTF-8, but bytes inside them are not checked by every parser path;
    // keep the conversion fallible.
    let text =
        String::from_utf8(body.to_vec()).map_err(|e| Rejection::InvalidJson(e.to_string()))?;

    let mut attributes = Attributes::new();
    for name in &state.forward_headers {
        if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) {
            attributes.insert(
                attribute_name(name),
                AttributeValue::String(value.to_owned()),
            );
        }
    }
    // The W3C trace context goes along when it is well formed and the ten-attribute limit
    // allows (forwarded headers come first: the operator asked for them). A webhook that
    // brings none carries the current span's context, when a propagator is installed.
    if let Some(traceparent) = headers
        .get(TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_valid_traceparent(v))
        && attributes.len() < MAX_MESSAGE_ATTRIBUTES
    {
        attributes
            .entry(TRACEPARENT.to_owned())
            .or_insert_with(|| AttributeValue::String(traceparent.to_owned()));
    }
    let message = inject_current(OutgoingMessage::new(text).with_attributes(attributes));
    match state.queue.send(message).await {
        Ok(message_id) => Ok(message_id),
        Err(QueueError::Full { limit, .. }) => {
            tracing::warn!(target: "sqs_dlq::ingest", queue = state.queue.name(), %limit, "queue full: webhook refused with 503");
            Err(Rejection::QueueFull)
        }
        Err(QueueError::InvalidRequest(detail)) => {
            tracing::warn!(target: "sqs_dlq::ingest", queue = state.queue.name(), %detail, "queue refused the webhook");
            Err(Rejection::QueueRejected)
        }
        Err(error) => {
            tracing::warn!(target: "sqs_dlq::ingest", queue = state.queue.name(), %error, "queue send failed");
            Err(Rejection::QueueUnavailable)
        }
    }
}

/// A header name as an SQS attribute name (letters, digits, `-`, `_`, `.`).
fn attribute_name(header: &HeaderName) -> String {
    header
        .as_str()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn policy(state: &IngestState) -> signature::Policy {
    signature::Policy {
        tolerance: state.tolerance,
        body_only: false,
    }
}

fn rejection(failure: signature::Failure) -> Rejection {
    match failure {
        signature::Failure::Missing | signature::Failure::TimestampMissing => {
            Rejection::SignatureMissing
        }
        signature::Failure::Malformed => Rejection::SignatureMalformed,
        signature::Failure::Expired => Rejection::SignatureExpired,
        #[cfg(test)]
        signature::Failure::Invalid => Rejection::SignatureInvalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_matches_a_known_vector() {
        // python3: hmac.new(b"secret", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
        let value = sign(b"secret", 1_700_000_000, br#"{"a":1}"#);
        assert_eq!(
            value,
            "sha256=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
    }

    #[test]
    fn header_names_become_valid_attribute_names() {
        let name = HeaderName::from_static("x-trace!id#1");
        assert_eq!(attribute_name(&name), "x-trace_id_1");
    }

    #[test]
    fn an_empty_or_blank_secret_is_refused_and_a_short_one_accepted() {
        for blank in ["", " ", "\t\n"] {
            let built = WebhookIngest::builder(crate::queue::MemoryQueue::new("q"))
                .signing_secret(SecretString::from(blank))
                .router();
            assert!(
                matches!(built, Err(IngestError::WeakSecret(_))),
                "{blank:?}"
            );
        }
        // rotation: one blank secret among good ones is still refused
        let built = WebhookIngest::builder(crate::queue::MemoryQueue::new("q"))
            .signing_secret(SecretString::from("a-perfectly-good-secret-of-32-bytes!"))
            .signing_secret(SecretString::from(""))
            .router();
        assert!(built.is_err());
        assert!(
            WebhookIngest::builder(crate::queue::MemoryQueue::new("q"))
                .signing_secret(SecretString::from("short"))
                .router()
                .is_ok()
        );
    }

    #[test]
    fn rejections_map_to_statuses() {
        let cases = [
            (Rejection::TooLarge { limit: 1 }, 413),
            (Rejection::BodyUnreadable, 400),
            (Rejection::SignatureMissing, 401),
            (Rejection::SignatureExpired, 401),
            (Rejection::InvalidJson("x".into()), 400),
            (Rejection::QueueUnavailable, 503),
            (Rejection::QueueFull, 503),
            (Rejection::Busy, 503),
            (Rejection::DeadlineExceeded, 503),
        ];
        for (rejection, status) in cases {
            let response = rejection.into_response();
            assert_eq!(response.status().as_u16(), status);
        }
    }
}
