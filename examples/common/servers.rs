//! Local HTTP peers the recipes start on 127.0.0.1 when no real endpoint is given:
//! - [`ReplayTargetServer`]: where replayed dead letters go (records each POST, answers 200);
//! - [`ArchiveReceiver`]: the history export's webhook archive; it verifies the
//!   `X-Signature-256` HMAC of every batch and drops repeated `Idempotency-Key`s.
//!
//! Both stop when dropped.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use secrecy::SecretString;
use serde::Serialize;
use sqs_dlq::http::{HttpServer, ServerShutdown};

/// A server running on a task (sqs-dlq's hardened `HttpServer`); stopped on drop.
#[derive(Debug)]
struct Running {
    addr: SocketAddr,
    stop: ServerShutdown,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.begin();
    }
}

async fn serve(router: Router, addr: SocketAddr) -> anyhow::Result<Running> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let stop = ServerShutdown::new();
    let server = HttpServer::builder().serve(listener, router, stop.clone());
    tokio::spawn(async move {
        if let Err(error) = server.await {
            tracing::error!(%error, "local server failed");
        }
    });
    Ok(Running { addr, stop })
}

/// What the replay target has seen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TargetCounts {
    /// POSTs received.
    pub posts: u64,
    /// Distinct `X-Event-Id`s among them.
    pub distinct_events: u64,
}

#[derive(Debug, Default)]
struct TargetState {
    posts: u64,
    events: HashSet<String>,
}

/// A local replay target: `POST /events` → 200, counting deliveries and distinct event ids.
#[derive(Debug)]
pub struct ReplayTargetServer {
    running: Running,
    state: Arc<Mutex<TargetState>>,
}

impl ReplayTargetServer {
    /// Starts on `127.0.0.1` with a free port.
    pub async fn start() -> anyhow::Result<Self> {
        let state = Arc::new(Mutex::new(TargetState::default()));
        let router = Router::new()
            .route("/events", post(target_post))
            .with_state(Arc::clone(&state));
        let running = serve(router, SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        Ok(Self { running, state })
    }

    /// The URL to replay to.
    pub fn url(&self) -> String {
        format!("http://{}/events", self.running.addr)
    }

    /// The counts so far.
    pub fn counts(&self) -> TargetCounts {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        TargetCounts {
            posts: state.posts,
            distinct_events: state.events.len() as u64,
        }
    }
}

async fn target_post(
    State(state): State<Arc<Mutex<TargetState>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    if serde_json::from_slice::<serde_json::Value>(&body).is_err() {
        return StatusCode::BAD_REQUEST;
    }
    let event_id = headers
        .get(sqs_dlq::dead_letter::EVENT_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let attempt = headers
        .get(sqs_dlq::dead_letter::ATTEMPT_COUNT_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    tracing::debug!(event_id = ?event_id, attempt = %attempt, bytes = body.len(), "replay target got an event");
    let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
    state.posts += 1;
    if let Some(id) = event_id {
        state.events.insert(id);
    }
    StatusCode::OK
}

/// What the archive receiver has stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ArchiveCounts {
    /// Batches stored (repeats of an `Idempotency-Key` not counted).
    pub batches: u64,
    /// Messages in the stored batches.
    pub messages: u64,
    /// Repeated batches acknowledged without storing.
    pub repeats: u64,
    /// Requests refused for a missing or wrong signature.
    pub bad_signatures: u64,
}

#[derive(Debug)]
struct ArchiveState {
    secret: SecretString,
    keys: HashSet<String>,
    counts: ArchiveCounts,
}

/// A local webhook archive: `POST /archive`, signature checked, idempotent.
#[derive(Debug)]
pub struct ArchiveReceiver {
    running: Running,
    state: Arc<Mutex<ArchiveState>>,
}

impl ArchiveReceiver {
    /// Starts on `127.0.0.1` with a free port, verifying signatures under `secret`.
    pub async fn start(secret: SecretString) -> anyhow::Result<Self> {
        let state = Arc::new(Mutex::new(ArchiveState {
            secret,
            keys: HashSet::new(),
            counts: ArchiveCounts::default(),
        }));
        let router = Router::new()
            .route("/archive", post(archive_post))
            .with_state(Arc::clone(&state));
        let running = serve(router, SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        Ok(Self { running, state })
    }

    /// The URL to archive to.
    pub fn url(&self) -> String {
        format!("http://{}/archive", self.running.addr)
    }

    /// The counts so far.
    pub fn counts(&self) -> ArchiveCounts {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .counts
            .clone()
    }
}

async fn archive_post(
    State(state): State<Arc<Mutex<ArchiveState>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
    // The archive's scheme, checked as any receiver would: the signed-webhook crate.
    let verified = signed_webhook::Verifier::new(vec![state.secret.clone()])
        .is_ok_and(|verifier| verifier.verify(&headers, &body).is_ok());
    if !verified {
        state.counts.bad_signatures += 1;
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(batch) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(key) = &key
        && !state.keys.insert(key.clone())
    {
        state.counts.repeats += 1;
        return StatusCode::OK;
    }
    state.counts.batches += 1;
    state.counts.messages += batch
        .get("messages")
        .and_then(|m| m.as_array())
        .map_or(0, |m| m.len() as u64);
    StatusCode::OK
}
