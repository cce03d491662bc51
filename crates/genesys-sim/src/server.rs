//! The listening socket, one task per connection, and the [`SimOrg`] handle.
//!
//! The accept loop is ours (hyper directly, HTTP/1.1) rather than `axum::serve`, because the
//! connection-reset fault needs to drop one connection, with an RST, from inside a request.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt as _;

use crate::config::{Faults, SimConfig, check_share};
use crate::conn::ConnKill;
use crate::dataset::{Dataset, SimConversation};
use crate::error::SimError;
use crate::state::SimState;
use crate::stats::SimStats;
use crate::sync::lock;

/// The TCP stream, which on drop after [`ConnKill::fire`] closes with an RST (zero linger).
struct SimIo {
    inner: TcpStream,
    kill: Arc<ConnKill>,
}

impl Drop for SimIo {
    fn drop(&mut self) {
        if self.kill.fired.load(Ordering::SeqCst) {
            // Best effort: without it the peer sees a FIN instead of an RST, still no answer.
            let _ = self.inner.set_zero_linger();
        }
    }
}

impl AsyncRead for SimIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for SimIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A running simulated org. Serves on `127.0.0.1` until dropped.
#[derive(Debug)]
pub struct SimOrg {
    state: Arc<SimState>,
    accept: JoinHandle<()>,
}

impl Drop for SimOrg {
    fn drop(&mut self) {
        // Aborting the accept task drops the listener and its JoinSet, which aborts every
        // connection task.
        self.accept.abort();
    }
}

impl SimOrg {
    pub(crate) async fn start(mut config: SimConfig) -> Result<Self, SimError> {
        config.faults.validate()?;
        check_share("out_of_order_share", config.out_of_order_share)?;
        check_share("expired_attachment_share", config.expired_attachment_share)?;
        check_share("attachment_share", config.attachment_share)?;
        check_share("bot_share", config.bot_share)?;
        config.limit.validate()?;
        if config.max_page_size == 0 {
            return Err(SimError::InvalidConfig(
                "max_page_size must be at least 1".into(),
            ));
        }
        if config.token_lifetime.is_zero() {
            return Err(SimError::InvalidConfig(
                "token_lifetime must be positive".into(),
            ));
        }
        if config.clients.is_empty() {
            let h = crate::ids::hash(config.seed, &[0xC11E]);
            config.clients.push(crate::config::OAuthClient {
                id: crate::ids::make_id(config.seed, crate::ids::IdKind::Integration, u32::MAX, 0),
                secret: format!("sim-secret-{h:016x}"),
            });
        }
        let listener = TcpListener::bind(config.bind)
            .await
            .map_err(|source| SimError::Bind {
                addr: config.bind,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: config.bind,
            source,
        })?;
        let base_url = format!("http://{addr}");
        let data = Dataset::generate(&config);
        let state = Arc::new(SimState::new(config, data, base_url));
        let router = crate::routes::router(state.clone());
        let accept = tokio::spawn(accept_loop(listener, router));
        tracing::debug!(base_url = %state.base_url, "genesys-sim started");
        Ok(Self { state, accept })
    }

    /// `http://127.0.0.1:PORT`: the API base and the login base (`/oauth/token`) at once.
    pub fn base_url(&self) -> String {
        self.state.base_url.clone()
    }

    /// `ws://127.0.0.1:PORT/v1`: the guest web messaging WebSocket, served on the API's port
    /// (add `?deploymentId=…`, or give it to a guest client that adds it).
    pub fn guest_ws_url(&self) -> String {
        let base = &self.state.base_url;
        // http → ws, https → wss: the scheme's tail ("", "s") carries over.
        match base.strip_prefix("http") {
            Some(rest) => format!("ws{rest}/v1"),
            None => format!("{base}/v1"),
        }
    }

    /// The first OAuth client's id.
    pub fn client_id(&self) -> &str {
        self.state
            .config
            .clients
            .first()
            .map_or("", |c| c.id.as_str())
    }

    /// The first OAuth client's secret.
    pub fn client_secret(&self) -> &str {
        self.state
            .config
            .clients
            .first()
            .map_or("", |c| c.secret.as_str())
    }

    /// The seed the org was generated from.
    pub fn seed(&self) -> u64 {
        self.state.config.seed
    }

    /// Every conversation, in generation order.
    pub fn conversations(&self) -> Vec<SimConversation> {
        self.state
            .data
            .convs
            .iter()
            .map(|c| c.public.clone())
            .collect()
    }

    /// The guest JWT of a conversation.
    pub fn guest_jwt(&self, conversation_id: &str) -> Option<String> {
        self.state
            .data
            .conv_by_id(conversation_id)
            .map(|c| c.public.guest_jwt.clone())
    }

    /// The ids of a conversation's generated messages, in generation order (mostly ascending
    /// `channel.time`).
    pub fn message_ids(&self, conversation_id: &str) -> Option<Vec<String>> {
        let conv = self.state.data.conv_by_id(conversation_id)?;
        Some(
            (0..self.state.data.messages_per_conversation)
                .map(|i| self.state.data.message(conv.index, i).id)
                .collect(),
        )
    }

    /// An interval (`start/end`, ISO-8601) that covers every conversation of the org.
    pub fn full_interval(&self) -> String {
        let start = self
            .state
            .data
            .convs
            .iter()
            .map(|c| c.public.start)
            .min()
            .unwrap_or(self.state.data.created);
        format!(
            "{}/{}",
            crate::dataset::iso(start - chrono::TimeDelta::hours(1)),
            crate::dataset::iso(self.state.data.created + chrono::TimeDelta::hours(1))
        )
    }

    /// Counters so far (same JSON as `GET /__sim/stats`).
    pub fn stats(&self) -> SimStats {
        crate::routes::admin::snapshot(&self.state)
    }

    /// Replaces the fault shares from now on.
    pub fn set_faults(&self, faults: Faults) -> Result<(), SimError> {
        faults.validate()?;
        lock(&self.state.live).faults = faults;
        Ok(())
    }

    /// Sets (or replaces) the org-wide rate limit from now on (a token bucket with per-minute
    /// headers, as [`SimOrgBuilder::rate_limit`](crate::SimOrgBuilder::rate_limit)).
    pub fn set_rate_limit(&self, rate_per_sec: f64, burst: u32) -> Result<(), SimError> {
        self.set_limit_model(crate::LimitModel::TokenBucket {
            rate: rate_per_sec,
            burst,
            headers: crate::BucketHeaders::PerMinute,
        })
    }

    /// Replaces the org-wide limit model from now on.
    pub fn set_limit_model(&self, model: crate::LimitModel) -> Result<(), SimError> {
        model.validate()?;
        lock(&self.state.live).limits.set(model);
        Ok(())
    }

    /// Turns the `Retry-After: 0` quirk on or off from now on.
    pub fn set_retry_after_zero(&self, on: bool) {
        lock(&self.state.live).retry_after_zero = on;
    }

    /// Removes the rate limit.
    pub fn clear_rate_limit(&self) {
        lock(&self.state.live).limits.set(crate::LimitModel::None);
    }

    /// Sets the per-request latency from now on.
    pub fn set_latency(&self, fixed: std::time::Duration, jitter: std::time::Duration) {
        let mut live = lock(&self.state.live);
        live.latency = fixed;
        live.jitter = jitter;
    }

    /// Expires every OAuth token issued so far (the next API call with one gets 401).
    pub fn expire_tokens(&self) {
        lock(&self.state.tokens).clear();
    }
}

async fn accept_loop(listener: TcpListener, router: axum::Router) {
    use retry_policy::{Backoff, Jitter, RetryClass, RetryPolicy};
    // Accept errors (EMFILE and friends) pause the loop until descriptors free up; the retry
    // driver waits, and never gives up.
    let accept_policy = RetryPolicy::builder()
        .max_attempts(u32::MAX)
        .max_elapsed(std::time::Duration::MAX)
        .backoff(Backoff::constant(std::time::Duration::from_millis(10)).jitter(Jitter::None))
        .no_budget()
        .build();
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = retry_policy::retry_with(
                &accept_policy,
                |_| listener.accept(),
                |_: &std::io::Error| RetryClass::retry(),
                |error: &std::io::Error, _, _| tracing::warn!(%error, "accept failed"),
            ) => {
                let (stream, _peer) = match accepted {
                    Ok(pair) => pair,
                    Err(failed) => {
                        tracing::error!(error = %failed.last, "accept stopped");
                        return;
                    }
                };
                let _ = stream.set_nodelay(true);
                conns.spawn(serve_connection(stream, router.clone()));
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn serve_connection(stream: TcpStream, router: axum::Router) {
    let kill = Arc::new(ConnKill::default());
    let io = TokioIo::new(SimIo {
        inner: stream,
        kill: kill.clone(),
    });
    let conn_kill = kill.clone();
    let service = tower::service_fn(move |mut req: http::Request<Incoming>| {
        req.extensions_mut().insert(conn_kill.clone());
        router.clone().oneshot(req.map(axum::body::Body::new))
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, TowerToHyperService::new(service))
        .with_upgrades();
    tokio::select! {
        result = conn => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        () = kill.notify.notified() => {
            tracing::debug!("connection reset by fault injection");
        }
    }
}
