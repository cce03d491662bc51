//! [`DeadLetterReceiver`] and what it needs (its documentation is on the type).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

mod metrics;

use crate::dead_letter::replay::{Replay, ReplayLetterError, SkipReason};
use crate::dead_letter::{
    ATTR_ERROR_CODE, ATTR_ERROR_MESSAGE, ATTR_EXHAUSTED_RETRY_CONDITION, ATTR_RETRY_ATTEMPTS,
    ATTR_RULE_ARN, ATTR_TARGET_ARN, DeadLetter,
};
use crate::http::body::{self, BodyError};
use crate::http::signature::{
    self, DEFAULT_TIMESTAMP_TOLERANCE, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use crate::queue::{AttributeValue, Attributes};
use metrics::{Outcome, ReceiverMetrics};

/// Header carrying the DLQ message id.
pub const MESSAGE_ID_HEADER: &str = "x-dlq-message-id";
/// Default body limit: 256 KiB.
pub const DEFAULT_RECEIVER_MAX_BODY_BYTES: usize = 256 * 1024;
/// Default time for a body to arrive whole: 5 s.
pub const DEFAULT_RECEIVER_BODY_DEADLINE: Duration = Duration::from_secs(5);
/// Default bytes that bodies not yet authenticated may hold together: 16 MiB (64 bodies at the
/// default size limit).
pub const DEFAULT_UNAUTHENTICATED_BODY_BUDGET: usize = 16 * 1024 * 1024;

/// Attribute headers and the EventBridge attribute each carries.
pub const ATTRIBUTE_HEADERS: [(&str, &str); 6] = [
    ("x-dlq-error-code", ATTR_ERROR_CODE),
    ("x-dlq-error-message", ATTR_ERROR_MESSAGE),
    ("x-dlq-rule-arn", ATTR_RULE_ARN),
    ("x-dlq-target-arn", ATTR_TARGET_ARN),
    ("x-dlq-retry-attempts", ATTR_RETRY_ATTEMPTS),
    (
        "x-dlq-exhausted-retry-condition",
        ATTR_EXHAUSTED_RETRY_CONDITION,
    ),
];

/// Why the receiver could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiverError {
    /// Neither an HMAC secret nor a bearer secret was set: the endpoint would be open.
    #[error("the dead-letter receiver needs an HMAC secret or a bearer secret")]
    NoAuthentication,
    /// A secret is empty or whitespace only: anyone could authenticate with it.
    #[error(transparent)]
    WeakSecret(#[from] crate::http::signature::WeakSecret),
}

/// The `X-Signature-256` value for `body` under `secret` (HMAC-SHA256 of the raw body), for
/// receivers built with [`DeadLetterReceiverBuilder::body_only_signatures`]. A request signed
/// this way can be replayed; prefer [`timestamped_signature`].
///
/// ```
/// let v = sqs_dlq::http::signature(b"secret", b"{}");
/// assert!(v.starts_with("sha256=") && v.len() == 71);
/// ```
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    signature::header_value(signature::mac(secret, None, body))
}

/// The `X-Signature-256` value in the timestamped scheme (the default): HMAC-SHA256 of
/// `"{timestamp}.{body}"`, sent with `X-Signature-Timestamp: {timestamp}` (Unix seconds).
///
/// ```
/// let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
/// let ts = now.as_secs() as i64;
/// let headers = [
///     (sqs_dlq::http::TIMESTAMP_HEADER, ts.to_string()),
///     (
///         sqs_dlq::http::SIGNATURE_HEADER,
///         sqs_dlq::http::timestamped_signature(b"secret", ts, b"{}"),
///     ),
/// ];
/// assert!(headers[1].1.starts_with("sha256="));
/// ```
pub fn timestamped_signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    signature::header_value(signature::mac(secret, Some(timestamp), body))
}

/// Builds the receiver's [`Router`]; start with [`DeadLetterReceiver::builder`].
///
/// Dead-letter receiver (feature `http`): an axum [`Router`] that takes one dead letter per
/// POST, checks it, and replays it through a [`Replay`] to the configured target.
///
/// ```no_run
/// use secrecy::SecretString;
/// use sqs_dlq::http::DeadLetterReceiver;
/// use sqs_dlq::dead_letter::{HttpTarget, Replay};
///
/// # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
/// let target = HttpTarget::builder("https://events.example.com/genesys").build()?;
/// let receiver = DeadLetterReceiver::builder(Replay::builder(target).build())
///     .path("/dead-letter")
///     .hmac_secret(SecretString::from("shared-secret"));
/// let app = receiver.router()?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// axum::serve(listener, app).await?;
/// # Ok(()) }
/// ```
///
/// # A request's path
/// 1. **Size**: a `Content-Length` over the limit (default 256 KiB) → 413 at once; a body
///    growing past it while streaming → 413.
/// 2. **Authentication** (required: the builder refuses to build without a secret), either:
///    - `X-Signature-256: sha256=<hex>` with `X-Signature-Timestamp: <Unix seconds>`: the
///      HMAC-SHA256, under the shared secret, of `"{timestamp}.{body}"` (the raw bytes),
///      compared in constant time against every configured secret. The timestamp must be within
///      5 minutes of the receiver's clock, either way
///      ([`DeadLetterReceiverBuilder::signature_timestamp_tolerance`] changes the window), so a
///      captured request cannot be played again later, nor with its timestamp header changed.
///      This is the scheme [`WebhookIngest`](crate::http::WebhookIngest) uses; [`timestamped_signature`] computes the
///      header for senders. A copy replayed *inside* the window is replayed to the target
///      again: targets deduplicate on the event id (`X-Event-Id`).
///    - `Authorization: Bearer <secret>`, compared in constant time. **A bearer request can be
///      replayed**: the header does not change from one request to the next, so whoever
///      captures a request can send it again, at any time, and it is accepted. TLS in front of
///      the receiver (so nothing can be captured) and the secrecy of the bearer are the only
///      defense; prefer signatures where the sender can compute them.
///
///    Senders that cannot send a timestamp can be let in with
///    [`DeadLetterReceiverBuilder::body_only_signatures`]: the HMAC of the body alone
///    ([`signature`]). Such requests can be replayed like bearer requests; it is an opt-out,
///    not a default.
///
///    No credentials → 401 `auth_missing`; a signature without its timestamp → 401
///    `signature_timestamp_missing`; a timestamp outside the window → 401 `signature_expired`;
///    anything else that does not verify → 401 `auth_invalid`. Nothing is parsed before this
///    step.
///
///    **What is settled before the body is read**: a bearer is checked on the headers (a
///    valid one authenticates the request; a wrong one without a signature is refused), and
///    so are a signature's presence, form and timestamp. Only a well-formed, fresh signature
///    makes the receiver read a body it cannot yet trust, and then under two bounds: the body
///    must arrive within [`DeadLetterReceiverBuilder::body_deadline`] (default 5 s; 408
///    `body_timeout`), and all such bodies together hold at most
///    [`DeadLetterReceiverBuilder::unauthenticated_body_budget`] bytes (default 16 MiB; past
///    it 503 `busy` with `Retry-After: 1`). Serve the router with
///    [`crate::http::HttpServer`] for the connection-level limits (header timeout,
///    connection cap, bounded shutdown).
/// 3. **Shape** (JSON, else 400). Accepted:
///    - *the EventBridge event itself* (an object with `detail-type`): the body is replayed
///      byte for byte. DLQ attributes may come in headers: `X-Dlq-Error-Code`,
///      `X-Dlq-Error-Message`, `X-Dlq-Rule-Arn`, `X-Dlq-Target-Arn`, `X-Dlq-Retry-Attempts`,
///      `X-Dlq-Exhausted-Retry-Condition`, and `X-Dlq-Message-Id`;
///    - *a wrapper* `{"event": <event object, or the event as a JSON string>,
///      "attributes": {"ERROR_CODE": "THROTTLING", "RETRY_ATTEMPTS": "3", ...},
///      "messageId": "..."}`; attribute values may also be SQS-typed objects
///      (`{"StringValue": "...", "DataType": "String"}` or `stringValue`/`dataType`). Pass the
///      event as a string to have it replayed byte for byte; an object is re-serialized;
///    - *an SQS message record* as AWS Lambda and forwarders pass it:
///      `{"messageId", "body": "<the event as a string>", "messageAttributes": {...}}`.
///
///    The event must be an EventBridge event → else 400.
/// 4. **Replay** through [`Replay::replay_letter`] (its category policy applies: unsafe
///    categories are refused with 422 unless the `Replay` is forced; a raw event without
///    attributes is category `unknown`). Accepted → `200 {"status":"processed","attempt":n}`
///    with `n` the `X-Attempt-Count` the target accepted; refused or unreachable after retries →
///    `502 {"status":"failed","error":"replay_failed",...}`.
///
/// Every error answer is JSON: `{"error": "<code>", "message": "<text>"}`. Every request is
/// counted through the `metrics` facade by how it ended (`genesys.receiver.requests`, see
/// [`crate::metric_names`]).
///
/// # What it does not do
/// TLS, queueing (a 502 tells the sender to keep its copy), deduplication (targets should
/// deduplicate on the event id, sent as `X-Event-Id`).
#[derive(Debug)]
pub struct DeadLetterReceiver;

impl DeadLetterReceiver {
    /// A receiver replaying through `replay`.
    pub fn builder(replay: Replay) -> DeadLetterReceiverBuilder {
        DeadLetterReceiverBuilder {
            replay: Arc::new(replay),
            path: "/".to_owned(),
            max_body_bytes: DEFAULT_RECEIVER_MAX_BODY_BYTES,
            hmac_secrets: Vec::new(),
            bearer_secrets: Vec::new(),
            timestamp_tolerance: DEFAULT_TIMESTAMP_TOLERANCE,
            body_only_signatures: false,
            body_deadline: DEFAULT_RECEIVER_BODY_DEADLINE,
            unauthenticated_body_budget: DEFAULT_UNAUTHENTICATED_BODY_BUDGET,
            metrics: ReceiverMetrics,
        }
    }
}

/// Settings of the receiver. Defaults: path `/`, 256 KiB limit, signatures over
/// `"{X-Signature-Timestamp}.{body}"` within 5 minutes, no secrets (set at least one).
#[must_use]
pub struct DeadLetterReceiverBuilder {
    replay: Arc<Replay>,
    path: String,
    max_body_bytes: usize,
    hmac_secrets: Vec<SecretString>,
    bearer_secrets: Vec<SecretString>,
    timestamp_tolerance: Duration,
    body_only_signatures: bool,
    body_deadline: Duration,
    unauthenticated_body_budget: usize,
    metrics: ReceiverMetrics,
}

impl std::fmt::Debug for DeadLetterReceiverBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadLetterReceiverBuilder")
            .field("path", &self.path)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("hmac_secrets", &self.hmac_secrets.len())
            .field("bearer_secrets", &self.bearer_secrets.len())
            .field("timestamp_tolerance", &self.timestamp_tolerance)
            .field("body_only_signatures", &self.body_only_signatures)
            .field("body_deadline", &self.body_deadline)
            .field(
                "unauthenticated_body_budget",
                &self.unauthenticated_body_budget,
            )
            .finish_non_exhaustive()
    }
}

impl DeadLetterReceiverBuilder {
    /// The route (default `/`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }
    /// Largest accepted body (default 256 KiB).
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }
    /// Accepts `X-Signature-256` (with `X-Signature-Timestamp`) under this secret (call again
    /// to add one, for rotation).
    pub fn hmac_secret(mut self, secret: SecretString) -> Self {
        self.hmac_secrets.push(secret);
        self
    }
    /// Accepts `Authorization: Bearer <secret>` (call again to add one, for rotation). A bearer
    /// request can be replayed by whoever captures it: serve over TLS, and prefer
    /// [`hmac_secret`](Self::hmac_secret) where the sender can sign.
    pub fn bearer_secret(mut self, secret: SecretString) -> Self {
        self.bearer_secrets.push(secret);
        self
    }
    /// How far `X-Signature-Timestamp` may be from the receiver's clock, either way (default
    /// 5 minutes, [`DEFAULT_TIMESTAMP_TOLERANCE`]). Older or later signatures get 401
    /// `signature_expired`. Whole seconds count: under one second means the same second.
    pub fn signature_timestamp_tolerance(mut self, tolerance: Duration) -> Self {
        self.timestamp_tolerance = tolerance;
        self
    }

    /// **Opt-out of replay protection**, for senders that cannot send `X-Signature-Timestamp`:
    /// a request without that header is accepted when `X-Signature-256` is the HMAC of the body
    /// alone ([`signature`]). Such a request can be replayed: anyone who captures it can send it
    /// again, at any time, and it is accepted (and replayed to the target) again. Prefer the
    /// timestamped scheme (the default, [`timestamped_signature`]); use this only while a
    /// sender cannot do it, behind TLS. Requests that do carry a timestamp are still held to
    /// the timestamped scheme and its window, so senders can move over one at a time.
    pub fn body_only_signatures(mut self) -> Self {
        self.body_only_signatures = true;
        self
    }

    /// Time for a body to arrive whole once its headers are in (default 5 s,
    /// [`DEFAULT_RECEIVER_BODY_DEADLINE`]); slower bodies get 408 `body_timeout` and are dropped. A
    /// bearer request is authenticated on its headers before the body is read; a signed one
    /// can only be checked once the body is in, so this deadline bounds how long an
    /// unauthenticated client can make the receiver hold its bytes.
    pub fn body_deadline(mut self, deadline: Duration) -> Self {
        self.body_deadline = deadline;
        self
    }

    /// Bytes that signed bodies not yet verified may hold together (default 16 MiB,
    /// [`DEFAULT_UNAUTHENTICATED_BODY_BUDGET`]). Past it, a signed request is answered 503
    /// `busy` with `Retry-After: 1` instead of being buffered, so a flood of unauthenticated
    /// near-limit bodies cannot grow the process. Bearer-authenticated bodies do not count.
    pub fn unauthenticated_body_budget(mut self, bytes: usize) -> Self {
        self.unauthenticated_body_budget = bytes;
        self
    }

    /// The router with its single `POST` route. Fails without a secret, or with an empty or
    /// whitespace-only one; a secret under 32 bytes is accepted with a warning.
    pub fn router(self) -> Result<Router, ReceiverError> {
        if self.hmac_secrets.is_empty() && self.bearer_secrets.is_empty() {
            return Err(ReceiverError::NoAuthentication);
        }
        for secret in &self.hmac_secrets {
            signature::check_secret("the receiver's HMAC secret", secret)?;
        }
        for secret in &self.bearer_secrets {
            signature::check_secret("the receiver's bearer secret", secret)?;
        }
        let path = self.path.clone();
        let state = Arc::new(ReceiverState {
            replay: self.replay,
            max_body_bytes: self.max_body_bytes,
            hmac_secrets: self.hmac_secrets,
            bearer_digests: self
                .bearer_secrets
                .iter()
                .map(|s| Sha256::digest(s.expose_secret().as_bytes()).into())
                .collect(),
            signature_policy: signature::Policy {
                tolerance: self.timestamp_tolerance,
                body_only: self.body_only_signatures,
            },
            body_deadline: self.body_deadline,
            budget: body::BodyBudget::new(self.unauthenticated_body_budget),
            metrics: self.metrics,
        });
        Ok(Router::new().route(&path, post(receive)).with_state(state))
    }
}

struct ReceiverState {
    replay: Arc<Replay>,
    max_body_bytes: usize,
    hmac_secrets: Vec<SecretString>,
    /// SHA-256 of each bearer secret: comparing digests keeps the comparison constant-time
    /// whatever the length of what was sent.
    bearer_digests: Vec<[u8; 32]>,
    signature_policy: signature::Policy,
    body_deadline: Duration,
    budget: body::BodyBudget,
    metrics: ReceiverMetrics,
}

#[derive(Debug)]
enum Refusal {
    TooLarge(usize),
    BodyUnreadable,
    BodyTimeout,
    Busy,
    AuthMissing,
    SignatureTimestampMissing,
    SignatureExpired,
    AuthInvalid,
    InvalidJson(String),
    NotADeadLetter(String),
    Skipped(SkipReason, String),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            Refusal::TooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the body is larger than {limit} bytes"),
            ),
            Refusal::BodyUnreadable => (
                StatusCode::BAD_REQUEST,
                "body_unreadable",
                "the body could not be read".to_owned(),
            ),
            Refusal::BodyTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                "the body did not arrive in time".to_owned(),
            ),
            Refusal::Busy => {
                let body = json!({
                    "error": "busy",
                    "message": "too many signed bodies are being checked; retry later",
                });
                let mut response =
                    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, http::HeaderValue::from_static("1"));
                return response;
            }
            Refusal::AuthMissing => (
                StatusCode::UNAUTHORIZED,
                "auth_missing",
                "send Authorization: Bearer <secret> or X-Signature-256".to_owned(),
            ),
            Refusal::SignatureTimestampMissing => (
                StatusCode::UNAUTHORIZED,
                "signature_timestamp_missing",
                format!(
                    "send {TIMESTAMP_HEADER} (Unix seconds) with {SIGNATURE_HEADER} = sha256=HMAC(\"{{timestamp}}.{{body}}\")"
                ),
            ),
            Refusal::SignatureExpired => (
                StatusCode::UNAUTHORIZED,
                "signature_expired",
                format!("{TIMESTAMP_HEADER} is outside the accepted window"),
            ),
            Refusal::AuthInvalid => (
                StatusCode::UNAUTHORIZED,
                "auth_invalid",
                "the credentials or signature do not match".to_owned(),
            ),
            Refusal::InvalidJson(e) => (StatusCode::BAD_REQUEST, "invalid_json", e),
            Refusal::NotADeadLetter(e) => (StatusCode::BAD_REQUEST, "not_a_dead_letter", e),
            Refusal::Skipped(reason, message_id) => {
                let body = json!({
                    "status": "skipped",
                    "error": "not_replayed",
                    "message": reason.to_string(),
                    "reason": reason,
                    "messageId": message_id,
                });
                return (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response();
            }
        };
        (
            status,
            axum::Json(json!({"error": code, "message": message})),
        )
            .into_response()
    }
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    state.metrics.received();
    let letter = match accept(&state, &headers, body).await {
        Ok(letter) => letter,
        Err(refusal) => {
            tracing::info!(target: "sqs_dlq::receiver", refusal = refusal_kind(&refusal), "dead letter refused");
            state.metrics.record(outcome(&refusal));
            return refusal.into_response();
        }
    };
    match state.replay.replay_letter(&letter).await {
        Ok(accepted) => {
            state.metrics.record(Outcome::Replayed);
            tracing::info!(target: "sqs_dlq::receiver", message_id = letter.message_id(), attempt = accepted.attempt, "dead letter replayed");
            (
                StatusCode::OK,
                axum::Json(json!({
                    "status": "processed",
                    "attempt": accepted.attempt,
                    "messageId": letter.message_id(),
                })),
            )
                .into_response()
        }
        Err(ReplayLetterError::Skipped(reason)) => {
            state.metrics.record(Outcome::Skipped);
            Refusal::Skipped(reason, letter.message_id().to_owned()).into_response()
        }
        Err(ReplayLetterError::Rejected(rejected)) => {
            state.metrics.record(Outcome::ReplayFailed);
            tracing::warn!(target: "sqs_dlq::receiver", message_id = letter.message_id(), reason = %rejected.reason, "dead letter replay failed");
            (
                StatusCode::BAD_GATEWAY,
                axum::Json(json!({
                    "status": "failed",
                    "error": "replay_failed",
                    "message": rejected.reason,
                    "upstreamStatus": rejected.status,
                    "attempts": rejected.tries,
                    "retryable": rejected.retryable,
                    "messageId": letter.message_id(),
                })),
            )
                .into_response()
        }
    }
}

fn refusal_kind(r: &Refusal) -> &'static str {
    match r {
        Refusal::TooLarge(_) => "too_large",
        Refusal::BodyUnreadable => "unreadable",
        Refusal::BodyTimeout => "body_timeout",
        Refusal::Busy => "busy",
        Refusal::AuthMissing => "auth_missing",
        Refusal::SignatureTimestampMissing => "signature_timestamp_missing",
        Refusal::SignatureExpired => "signature_expired",
        Refusal::AuthInvalid => "auth_invalid",
        Refusal::InvalidJson(_) => "invalid_json",
        Refusal::NotADeadLetter(_) => "not_a_dead_letter",
        Refusal::Skipped(..) => "skipped",
    }
}

fn outcome(r: &Refusal) -> Outcome {
    match r {
        Refusal::TooLarge(_) => Outcome::TooLarge,
        Refusal::BodyUnreadable => Outcome::Unreadable,
        Refusal::BodyTimeout => Outcome::TimedOut,
        Refusal::Busy => Outcome::Busy,
        Refusal::AuthMissing | Refusal::SignatureTimestampMissing | Refusal::AuthInvalid => {
            Outcome::Unauthenticated { expired: false }
        }
        Refusal::SignatureExpired => Outcome::Unauthenticated { expired: true },
        Refusal::InvalidJson(_) => Outcome::InvalidJson,
        Refusal::NotADeadLetter(_) => Outcome::NotADeadLetter,
        Refusal::Skipped(..) => Outcome::Skipped,
    }
}

async fn accept(
    state: &ReceiverState,
    headers: &HeaderMap,
    body: Body,
) -> Result<DeadLetter, Refusal> {
    let limit = state.max_body_bytes;
    // Everything the headers can settle is settled before a byte of the body is read: a bearer
    // request is authenticated (or refused) here, and a signature with a missing, malformed or
    // stale timestamp is refused here.
    let pending = authenticate_headers(state, headers)?;
    let limits = body::ReadLimits {
        max_bytes: limit,
        deadline: Some(state.body_deadline),
        // Only bodies whose sender is still unknown count against the shared budget.
        budget: match pending {
            Pending::Authenticated => None,
            Pending::Signature { .. } => Some(&state.budget),
        },
    };
    let mut read = body::read_body(headers, body, limits)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => Refusal::TooLarge(limit),
            BodyError::Unreadable => Refusal::BodyUnreadable,
            BodyError::TimedOut => Refusal::BodyTimeout,
            BodyError::OverBudget => Refusal::Busy,
        })?;
    if let Pending::Signature {
        timestamp,
        provided,
    } = &pending
        && !signature::matches_any(&state.hmac_secrets, *timestamp, &read.bytes, provided)
    {
        return Err(Refusal::AuthInvalid);
    }
    read.release_budget();
    let body = read.bytes;
    let text = std::str::from_utf8(&body)
        .map_err(|e| Refusal::InvalidJson(format!("the body is not UTF-8: {e}")))?;
    let value: Value =
        serde_json::from_str(text).map_err(|e| Refusal::InvalidJson(e.to_string()))?;
    let letter = letter_from(text, value, headers)?;
    if let Some(error) = letter.parse_error() {
        return Err(Refusal::NotADeadLetter(error.to_string()));
    }
    Ok(letter)
}

/// What is left to check once the headers are read.
enum Pending {
    /// A bearer secret matched: nothing.
    Authenticated,
    /// The signature's MAC over the body (its headers are well formed and fresh).
    Signature {
        timestamp: Option<i64>,
        provided: Vec<u8>,
    },
}

fn authenticate_headers(state: &ReceiverState, headers: &HeaderMap) -> Result<Pending, Refusal> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let v = v.trim();
            v.get(..7)
                .filter(|scheme| scheme.eq_ignore_ascii_case("bearer "))
                .map(|_| v[7..].trim())
        });
    let signed = headers.contains_key(SIGNATURE_HEADER);
    if bearer.is_none() && !signed {
        return Err(Refusal::AuthMissing);
    }
    if let Some(token) = bearer {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut ok = subtle::Choice::from(0);
        for expected in &state.bearer_digests {
            ok |= expected.ct_eq(&digest);
        }
        if bool::from(ok) {
            return Ok(Pending::Authenticated);
        }
    }
    if !signed {
        return Err(Refusal::AuthInvalid);
    }
    match signature::check_headers(headers, state.signature_policy) {
        Ok((timestamp, provided)) => Ok(Pending::Signature {
            timestamp,
            provided,
        }),
        // Say why a signature failed only when it was the one credential sent: what is missing
        // or stale is no secret, and it tells a sender on the old body-only scheme what to
        // change.
        Err(failure) => Err(match (bearer, failure) {
            (None, signature::Failure::TimestampMissing) => Refusal::SignatureTimestampMissing,
            (None, signature::Failure::Expired) => Refusal::SignatureExpired,
            _ => Refusal::AuthInvalid,
        }),
    }
}

/// Turns an accepted request into a dead letter (see the module docs for the shapes).
fn letter_from(raw: &str, value: Value, headers: &HeaderMap) -> Result<DeadLetter, Refusal> {
    let Value::Object(map) = value else {
        return Err(Refusal::NotADeadLetter(
            "the body is not a JSON object".to_owned(),
        ));
    };
    let header_id = headers
        .get(MESSAGE_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (body, attributes, message_id) = if map.contains_key("detail-type") {
        let mut attributes = Attributes::new();
        for (header_name, attribute) in ATTRIBUTE_HEADERS {
            if let Some(v) = headers.get(header_name).and_then(|v| v.to_str().ok()) {
                attributes.insert(attribute.to_owned(), AttributeValue::String(v.to_owned()));
            }
        }
        (raw.to_owned(), attributes, header_id)
    } else if let Some(event) = map.get("event") {
        let body = match event {
            Value::String(s) => s.clone(),
            Value::Object(_) => event.to_string(),
            _ => {
                return Err(Refusal::NotADeadLetter(
                    "`event` must be an object or a string".to_owned(),
                ));
            }
        };
        let attributes = attributes_from(map.get("attributes"))?;
        let id = map
            .get("messageId")
            .and_then(Value::as_str)
            .map(str::to_owned);
        (body, attributes, id.or(header_id))
    } else if let Some(Value::String(body)) = map.get("body") {
        let attributes = attributes_from(map.get("messageAttributes"))?;
        let id = map
            .get("messageId")
            .and_then(Value::as_str)
            .map(str::to_owned);
        (body.clone(), attributes, id.or(header_id))
    } else {
        return Err(Refusal::NotADeadLetter(
            "expected an EventBridge event, {\"event\", \"attributes\"} or an SQS record {\"body\", \"messageAttributes\"}".to_owned(),
        ));
    };
    let id = match message_id {
        Some(id) => id,
        None => crate::dead_letter::event::parse_event(&body)
            .map(|e| e.id)
            .unwrap_or_else(|_| uuid::Uuid::new_v4().to_string()),
    };
    Ok(DeadLetter::parse(id, body, attributes))
}

fn attributes_from(value: Option<&Value>) -> Result<Attributes, Refusal> {
    let mut out = Attributes::new();
    let Some(value) = value else {
        return Ok(out);
    };
    let Value::Object(map) = value else {
        return Err(Refusal::NotADeadLetter(
            "attributes must be an object".to_owned(),
        ));
    };
    for (name, v) in map {
        let (text, number) = match v {
            Value::String(s) => (s.clone(), false),
            Value::Number(n) => (n.to_string(), true),
            Value::Object(o) => {
                let text = ["StringValue", "stringValue"]
                    .iter()
                    .find_map(|k| o.get(*k).and_then(Value::as_str));
                let kind = ["DataType", "dataType"]
                    .iter()
                    .find_map(|k| o.get(*k).and_then(Value::as_str))
                    .unwrap_or("String");
                match text {
                    Some(t) => (t.to_owned(), kind.starts_with("Number")),
                    // Binary attributes carry nothing the receiver uses.
                    None => continue,
                }
            }
            _ => {
                return Err(Refusal::NotADeadLetter(format!(
                    "attribute {name} must be a string, a number or an SQS attribute object"
                )));
            }
        };
        let value = if number {
            AttributeValue::Number(text)
        } else {
            AttributeValue::String(text)
        };
        out.insert(name.clone(), value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_vector() {
        // python3: hmac.new(b"secret", b'{"a":1}', hashlib.sha256).hexdigest()
        assert_eq!(
            signature(b"secret", br#"{"a":1}"#),
            format!(
                "sha256={}",
                hex::encode(signature::mac(b"secret", None, br#"{"a":1}"#))
            )
        );
        assert_ne!(
            signature(b"secret", b"x"),
            timestamped_signature(b"secret", 1, b"x")
        );
    }

    #[test]
    fn an_empty_or_blank_secret_is_refused() {
        let replay = || {
            Replay::builder(crate::dead_letter::QueueTarget::new(
                crate::queue::MemoryQueue::new("t"),
            ))
            .build()
        };
        for blank in ["", "   "] {
            let hmac = DeadLetterReceiver::builder(replay())
                .hmac_secret(SecretString::from(blank))
                .router();
            assert!(
                matches!(hmac, Err(ReceiverError::WeakSecret(_))),
                "{blank:?}"
            );
            let bearer = DeadLetterReceiver::builder(replay())
                .bearer_secret(SecretString::from(blank))
                .router();
            assert!(
                matches!(bearer, Err(ReceiverError::WeakSecret(_))),
                "{blank:?}"
            );
        }
        assert!(
            DeadLetterReceiver::builder(replay())
                .hmac_secret(SecretString::from("short"))
                .router()
                .is_ok()
        );
    }

    #[test]
    fn attributes_in_three_spellings() {
        let v = json!({
            "ERROR_CODE": "THROTTLING",
            "RETRY_ATTEMPTS": 3,
            "TARGET_ARN": {"StringValue": "arn:x", "DataType": "String"},
            "ERROR_MESSAGE": {"stringValue": "boom", "dataType": "String"},
            "BIN": {"binaryValue": "AAE=", "dataType": "Binary"},
        });
        let a = attributes_from(Some(&v)).unwrap();
        assert_eq!(a["ERROR_CODE"], AttributeValue::String("THROTTLING".into()));
        assert_eq!(a["RETRY_ATTEMPTS"], AttributeValue::Number("3".into()));
        assert_eq!(a["TARGET_ARN"], AttributeValue::String("arn:x".into()));
        assert_eq!(a["ERROR_MESSAGE"], AttributeValue::String("boom".into()));
        assert!(!a.contains_key("BIN"));
        assert!(attributes_from(Some(&json!([1]))).is_err());
    }
}
