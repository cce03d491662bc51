//! [`GuestSession`]: one guest's session over the web messaging WebSocket, kept alive.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::{SinkExt, StreamExt};
use genesys_auth::{AccessToken, AuthError, GenesysClient, Region, TokenProvider};
use retry_policy::{Backoff, GiveUp, RetryClass, RetryPolicy, RetryableError, retry_with};
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use url::Url;

use super::action::{self, DEFAULT_MAX_CUSTOM_DATA_BYTES, ECHO_ID_PREFIX, OutgoingMessage};
use super::frame::{
    DEFAULT_MAX_INBOUND_FRAME_BYTES, FrameError, GuestEvent, JwtIssued, ServerError,
    ServerErrorKind, SessionInfo, parse_frame,
};
use crate::models::Direction;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What went wrong with a guest session, named for what the caller can do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GuestError {
    /// A setting is invalid (checked before connecting).
    #[error("invalid setting `{setting}`: {reason}")]
    InvalidConfig {
        /// The setting.
        setting: &'static str,
        /// Why.
        reason: String,
    },
    /// The WebSocket could not be opened (or broke).
    #[error("WebSocket to {url} failed: {source}")]
    Connect {
        /// Where (no credentials: the URL carries only the deployment id).
        url: String,
        /// The WebSocket library's error.
        #[source]
        source: Box<tungstenite::Error>,
    },
    /// The server answered with an error frame.
    #[error("server error {} ({:?}): {}", .0.code, .0.kind, .0.message)]
    Server(ServerError),
    /// A frame from the server could not be read; the session goes on.
    #[error("unreadable frame: {0}")]
    Frame(#[from] FrameError),
    /// The message is larger than the configured frame maximum; nothing was sent.
    #[error("outbound frame of {bytes} bytes exceeds the maximum of {max}; nothing was sent")]
    FrameTooLarge {
        /// The frame's size.
        bytes: usize,
        /// The maximum.
        max: usize,
    },
    /// `customAttributes` exceed the deployment's limit; nothing was sent.
    #[error("custom attributes of {bytes} bytes exceed the limit of {max}; nothing was sent")]
    CustomAttributesTooLarge {
        /// Their size as JSON.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The message has no text, attachment or button response.
    #[error("message has no text, attachment or quick-reply answer")]
    EmptyMessage,
    /// The outbound queue is full (only from the `try_` methods).
    #[error("outbound queue is full ({capacity} messages)")]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
    /// No answer in time.
    #[error("no {what} within {after:?}")]
    Timeout {
        /// What was awaited.
        what: &'static str,
        /// How long.
        after: Duration,
    },
    /// The session expired (the token can no longer resume it).
    #[error("the session expired")]
    SessionExpired,
    /// The session is closed (by [`GuestSession::close`], or after reconnecting gave up).
    #[error("the session is closed")]
    Closed,
    /// Reconnecting gave up.
    #[error("reconnecting gave up after {attempts} attempts: {last}")]
    ReconnectFailed {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        last: Box<GuestError>,
    },
    /// The connection dropped (one attempt of a reconnection, when it happens while resuming).
    #[error("the connection dropped: {reason}")]
    ConnectionLost {
        /// What the WebSocket library said.
        reason: String,
    },
    /// Messages re-sent after reconnects were still not acknowledged when the reconnect policy
    /// gave up: each reconnection dropped again before the server acknowledged them (a message
    /// the server cannot take and closes the socket over, say). The session ends.
    #[error(
        "gave up after {attempts} reconnections with {} message(s) unacknowledged: {last}",
        .unacknowledged.len()
    )]
    ResendFailed {
        /// Reconnection attempts made under the policy, for this one outage.
        attempts: u32,
        /// The `customMessageId`s never acknowledged, oldest first (they may or may not have
        /// reached the platform).
        unacknowledged: Vec<String>,
        /// The last attempt's error.
        #[source]
        last: Box<GuestError>,
    },
}

impl RetryableError for GuestError {
    fn retry_class(&self) -> RetryClass {
        match self {
            GuestError::Connect { source, .. } => match source.as_ref() {
                tungstenite::Error::Http(resp) => {
                    RetryClass::from_status(resp.status().as_u16(), None)
                }
                tungstenite::Error::Url(_)
                | tungstenite::Error::HttpFormat(_)
                | tungstenite::Error::Tls(_) => RetryClass::Fail,
                _ => RetryClass::retry(),
            },
            GuestError::Timeout { .. } => RetryClass::timeout(),
            GuestError::Server(e) => match e.kind {
                ServerErrorKind::TooManyRequests => RetryClass::retry_after(e.retry_after),
                _ if e.code >= 500 && e.code < 600 => RetryClass::retry(),
                _ => RetryClass::Fail,
            },
            GuestError::Frame(_) | GuestError::ConnectionLost { .. } => RetryClass::retry(),
            _ => RetryClass::Fail,
        }
    }
}

/// Settings of a guest session. Build with [`GuestConfig::builder`].
#[derive(Clone)]
pub struct GuestConfig {
    url: Url,
    deployment_id: String,
    settings: Settings,
}

/// What [`GuestConfigBuilder`] collects and [`GuestConfig`] keeps beside the URL and the
/// deployment (one list, so a new setting is added once).
#[derive(Clone, Debug)]
struct Settings {
    origin: Option<String>,
    token: Option<SecretString>,
    heartbeat: Duration,
    jwt_refresh_margin: Duration,
    queue_capacity: usize,
    event_capacity: usize,
    max_outbound_frame_bytes: usize,
    max_inbound_frame_bytes: usize,
    reconnect: RetryPolicy,
    connect_timeout: Duration,
    answer_timeout: Duration,
}

impl fmt::Debug for GuestConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuestConfig")
            .field("url", &self.url.as_str())
            .field("deployment_id", &self.deployment_id)
            .field("origin", &self.settings.origin)
            .field("resume", &self.settings.token.is_some())
            .field("heartbeat", &self.settings.heartbeat)
            .field("queue_capacity", &self.settings.queue_capacity)
            .finish_non_exhaustive()
    }
}

impl GuestConfig {
    /// Settings for `deployment_id` (the Messenger deployment). Give the region
    /// ([`GuestConfigBuilder::region`]) or the WebSocket URL ([`GuestConfigBuilder::url`]).
    pub fn builder(deployment_id: impl Into<String>) -> GuestConfigBuilder {
        GuestConfigBuilder {
            deployment_id: deployment_id.into(),
            base: None,
            settings: Settings {
                origin: None,
                token: None,
                heartbeat: Duration::from_secs(30),
                jwt_refresh_margin: Duration::from_secs(60),
                queue_capacity: 64,
                event_capacity: 256,
                max_outbound_frame_bytes: action::DEFAULT_MAX_OUTBOUND_FRAME_BYTES,
                max_inbound_frame_bytes: DEFAULT_MAX_INBOUND_FRAME_BYTES,
                reconnect: RetryPolicy::builder()
                    .max_attempts(8)
                    .max_elapsed(Duration::from_secs(120))
                    .backoff(Backoff::exponential(
                        Duration::from_millis(200),
                        Duration::from_secs(15),
                    ))
                    .no_budget()
                    .build(),
                connect_timeout: Duration::from_secs(10),
                answer_timeout: Duration::from_secs(10),
            },
        }
    }

    /// The WebSocket URL, with `deploymentId` in its query.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The deployment.
    pub fn deployment_id(&self) -> &str {
        &self.deployment_id
    }
}

/// Builder of [`GuestConfig`].
#[derive(Debug)]
pub struct GuestConfigBuilder {
    deployment_id: String,
    base: Option<Result<Url, String>>,
    settings: Settings,
}

/// The guest WebSocket endpoint of a region: `wss://webmessaging.<env>/v1`.
pub fn region_endpoint(region: &Region) -> Result<Url, GuestError> {
    let env = region
        .environment()
        .ok_or_else(|| GuestError::InvalidConfig {
            setting: "region",
            reason: "a custom region has no known web messaging host: give the WebSocket URL"
                .into(),
        })?;
    Url::parse(&format!("wss://webmessaging.{env}/v1")).map_err(|e| GuestError::InvalidConfig {
        setting: "region",
        reason: e.to_string(),
    })
}

impl GuestConfigBuilder {
    /// The region's endpoint, `wss://webmessaging.<env>/v1` (from genesys-auth's region table).
    pub fn region(mut self, region: &Region) -> Self {
        self.base = Some(region_endpoint(region).map_err(|e| e.to_string()));
        self
    }

    /// An explicit endpoint (`ws://` or `wss://`, path `/v1`), such as a simulator's.
    pub fn url(mut self, url: Url) -> Self {
        self.base = Some(Ok(url));
        self
    }

    /// The `Origin` header, for deployments that restrict their allowed domains.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.settings.origin = Some(origin.into());
        self
    }

    /// Resume the session of this token instead of starting a new one.
    pub fn resume(mut self, token: SecretString) -> Self {
        self.settings.token = Some(token);
        self
    }

    /// How often to send an `echo` heartbeat (default 30 s).
    pub fn heartbeat(mut self, every: Duration) -> Self {
        self.settings.heartbeat = every;
        self
    }

    /// Fetch a new JWT this long before the current one's `exp` (default 60 s).
    pub fn jwt_refresh_margin(mut self, margin: Duration) -> Self {
        self.settings.jwt_refresh_margin = margin;
        self
    }

    /// Messages waiting to be written, and messages written but not yet acknowledged, each at
    /// most this many (default 64). A full queue makes [`GuestSession::send`] wait.
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.settings.queue_capacity = n;
        self
    }

    /// Events read but not yet taken by [`GuestSession::next_event`] (default 256). When full,
    /// reading pauses (the socket then applies back-pressure to the server).
    pub fn event_capacity(mut self, n: usize) -> Self {
        self.settings.event_capacity = n;
        self
    }

    /// Largest frame this client sends (default 64 KiB).
    pub fn max_outbound_frame_bytes(mut self, n: usize) -> Self {
        self.settings.max_outbound_frame_bytes = n;
        self
    }

    /// Largest frame this client reads (default 1 MiB).
    pub fn max_inbound_frame_bytes(mut self, n: usize) -> Self {
        self.settings.max_inbound_frame_bytes = n;
        self
    }

    /// How to reconnect after the connection drops (retry-policy's driver runs it). One outage
    /// is one run of the policy: it lasts until the server acknowledged every message re-sent
    /// after the reconnect (or, with nothing to re-send, answered a heartbeat), so a connection
    /// that keeps dropping right after each reconnect uses up the same `max_attempts` and
    /// `max_elapsed` rather than starting over (default: 8 attempts within 120 s, backoff from
    /// 200 ms to 15 s). When it gives up, the session ends with [`GuestError::ResendFailed`]
    /// (or [`GuestError::ReconnectFailed`] when nothing was waiting).
    pub fn reconnect(mut self, policy: RetryPolicy) -> Self {
        self.settings.reconnect = policy;
        self
    }

    /// Time allowed to open the socket (default 10 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.settings.connect_timeout = d;
        self
    }

    /// Time allowed for an answer to configureSession or getJwt (default 10 s).
    pub fn answer_timeout(mut self, d: Duration) -> Self {
        self.settings.answer_timeout = d;
        self
    }

    /// Checks the settings.
    pub fn build(self) -> Result<GuestConfig, GuestError> {
        let invalid = |setting, reason: &str| GuestError::InvalidConfig {
            setting,
            reason: reason.to_owned(),
        };
        let id = self.deployment_id.trim();
        if id.is_empty()
            || id.len() > 128
            || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(invalid(
                "deployment_id",
                "letters, digits and '-', 1 to 128 of them",
            ));
        }
        let mut url = match self.base {
            None => return Err(invalid("url", "give a region or a WebSocket URL")),
            Some(Err(reason)) => return Err(invalid("region", &reason)),
            Some(Ok(url)) => url,
        };
        if !matches!(url.scheme(), "ws" | "wss") {
            return Err(invalid("url", "the scheme must be ws or wss"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("url", "credentials in the URL are not accepted"));
        }
        if self
            .settings
            .token
            .as_ref()
            .is_some_and(|t| t.expose_secret().trim().is_empty())
        {
            return Err(invalid(
                "token",
                "an empty session token cannot resume a session",
            ));
        }
        for (name, v) in [
            ("queue_capacity", self.settings.queue_capacity),
            ("event_capacity", self.settings.event_capacity),
            (
                "max_outbound_frame_bytes",
                self.settings.max_outbound_frame_bytes,
            ),
            (
                "max_inbound_frame_bytes",
                self.settings.max_inbound_frame_bytes,
            ),
        ] {
            if v == 0 {
                return Err(invalid(name, "must be at least 1"));
            }
        }
        if self.settings.heartbeat.is_zero() {
            return Err(invalid("heartbeat", "must be positive"));
        }
        url.query_pairs_mut()
            .clear()
            .append_pair("deploymentId", id);
        Ok(GuestConfig {
            url,
            deployment_id: id.to_owned(),
            settings: self.settings,
        })
    }
}

enum Command {
    Send {
        custom_id: String,
        frame: String,
    },
    Jwt(oneshot::Sender<Result<JwtIssued, GuestError>>),
    /// The API refused this JWT (401): forget it, so the next request fetches a new one.
    DropJwt(SecretString),
    Close(oneshot::Sender<()>),
}

/// The [`TokenProvider`] of [`GuestSession::token_provider`]: the session's current JWT.
#[derive(Clone)]
pub struct SessionJwt {
    commands: mpsc::Sender<Command>,
}

impl fmt::Debug for SessionJwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionJwt(***)")
    }
}

#[async_trait::async_trait]
impl TokenProvider for SessionJwt {
    async fn access_token(&self) -> Result<AccessToken, AuthError> {
        let jwt = ask_jwt(&self.commands)
            .await
            .map_err(|e| AuthError::Provider {
                message: format!("the guest session could not issue a JWT: {e}"),
                source: Some(Arc::new(e)),
            })?;
        Ok(AccessToken::new(jwt.jwt))
    }

    fn invalidate(&self, token: &AccessToken) {
        // Best effort: with the command queue full the session keeps the JWT until its own
        // refresh, and the request that saw the 401 fails as with any refused token.
        let _ = self.commands.try_send(Command::DropJwt(SecretString::from(
            token.expose().to_owned(),
        )));
    }
}

/// Asks the session's driver for a fresh JWT (it sends `getJwt` only when the one it holds is
/// within the refresh margin of its `exp`).
async fn ask_jwt(commands: &mpsc::Sender<Command>) -> Result<JwtIssued, GuestError> {
    let (tx, rx) = oneshot::channel();
    commands
        .send(Command::Jwt(tx))
        .await
        .map_err(|_| GuestError::Closed)?;
    rx.await.map_err(|_| GuestError::Closed)?
}

/// Counters of one session, for reports and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GuestStats {
    /// Messages written (resends included).
    pub frames_sent: u64,
    /// Messages acknowledged by the server.
    pub acknowledged: u64,
    /// Messages written again after a reconnect.
    pub resent: u64,
    /// Reconnections that resumed the session.
    pub reconnects: u64,
    /// Heartbeats sent.
    pub heartbeats: u64,
    /// Frames that could not be read.
    pub bad_frames: u64,
    /// JWTs received (the first, and each refresh).
    pub jwts_received: u64,
}

#[derive(Default)]
struct Shared {
    stats: Mutex<GuestStats>,
}

impl Shared {
    fn bump(&self, f: impl FnOnce(&mut GuestStats)) {
        let mut s = self
            .stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut s);
    }
}

/// A guest's session over the web messaging WebSocket.
///
/// - [`GuestSession::connect`] opens the socket and sends `configureSession` (with a new
///   session token, or the one given to [`GuestConfigBuilder::resume`]).
/// - [`GuestSession::send`] queues an `onMessage` (bounded queue: it waits when full);
///   [`GuestSession::next_event`] yields what the server sends, typed.
/// - A background task sends `echo` heartbeats, keeps a JWT fresh once one was asked for
///   ([`GuestSession::jwt`]), and when the connection drops reconnects through
///   `retry_policy::retry_with`, resumes with the same token, and writes again every message
///   the server had not acknowledged (they carry their `customMessageId`, so a duplicate is
///   recognisable). The whole outage, re-sends included, is one run of the reconnect policy
///   ([`GuestConfigBuilder::reconnect`]); when it gives up, [`GuestSession::next_event`] yields
///   [`GuestError::ResendFailed`] or [`GuestError::ReconnectFailed`] and the session ends.
/// - A frame it cannot read is an `Err` from [`GuestSession::next_event`]; the session goes on.
pub struct GuestSession {
    commands: mpsc::Sender<Command>,
    events: mpsc::Receiver<Result<GuestEvent, GuestError>>,
    token: SecretString,
    info: SessionInfo,
    max_outbound: usize,
    max_custom: usize,
    queue_capacity: usize,
    next_id: AtomicU64,
    id_prefix: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl fmt::Debug for GuestSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuestSession")
            .field("token", &"[redacted]")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Drop for GuestSession {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn new_token() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl GuestSession {
    /// Opens the socket and configures the session (retrying the connection under the
    /// config's reconnect policy). Returns once the server's `SessionResponse` arrived.
    pub async fn connect(config: GuestConfig) -> Result<Self, GuestError> {
        let token = config
            .settings
            .token
            .clone()
            .unwrap_or_else(|| SecretString::from(new_token()));
        let (ws, info, early) = open_with_retry(&config, &token).await?;
        let (cmd_tx, cmd_rx) = mpsc::channel(config.settings.queue_capacity);
        let (ev_tx, ev_rx) = mpsc::channel(config.settings.event_capacity);
        let shared = Arc::new(Shared::default());
        let max_custom = info
            .max_custom_data_bytes
            .filter(|b| b.is_finite() && *b >= 0.0)
            .map_or(DEFAULT_MAX_CUSTOM_DATA_BYTES, |b| b as usize);
        let driver = Driver {
            config: config.clone(),
            token: token.clone(),
            commands: cmd_rx,
            events: ev_tx,
            unacked: VecDeque::new(),
            jwt: None,
            jwt_waiters: Vec::new(),
            jwt_requested_at: None,
            shared: shared.clone(),
            echo_seq: 0,
            recovery: None,
        };
        let task = tokio::spawn(driver.run(ws, early));
        tracing::debug!(new_session = ?info.new_session, "guest session configured");
        Ok(Self {
            commands: cmd_tx,
            events: ev_rx,
            token,
            info,
            max_outbound: config.settings.max_outbound_frame_bytes,
            max_custom,
            queue_capacity: config.settings.queue_capacity,
            next_id: AtomicU64::new(0),
            id_prefix: new_token().chars().take(8).collect(),
            shared,
            task,
        })
    }

    /// The session token: give it to [`GuestConfigBuilder::resume`] to resume this session.
    pub fn token(&self) -> &SecretString {
        &self.token
    }

    /// The `SessionResponse` of the first connection.
    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    /// The session's counters.
    pub fn stats(&self) -> GuestStats {
        *self
            .shared
            .stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The `onMessage` command for `message` and its `customMessageId`, or why it is refused.
    fn prepare(&self, message: &OutgoingMessage) -> Result<(String, Command), GuestError> {
        if message.is_empty() {
            return Err(GuestError::EmptyMessage);
        }
        let custom = message.custom_attributes_bytes();
        if custom > self.max_custom {
            return Err(GuestError::CustomAttributesTooLarge {
                bytes: custom,
                max: self.max_custom,
            });
        }
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let custom_id = format!("{}-{n}", self.id_prefix);
        let frame = action::on_message(self.token.expose_secret(), message, &custom_id);
        if frame.len() > self.max_outbound {
            return Err(GuestError::FrameTooLarge {
                bytes: frame.len(),
                max: self.max_outbound,
            });
        }
        Ok((custom_id.clone(), Command::Send { custom_id, frame }))
    }

    /// Queues a message (`onMessage`), waiting while the queue is full. Returns the message's
    /// `customMessageId`, which the server's acknowledgement carries. Over-long frames and
    /// over-large custom attributes are refused here, before anything is sent.
    pub async fn send(&self, message: OutgoingMessage) -> Result<String, GuestError> {
        let (id, cmd) = self.prepare(&message)?;
        self.commands
            .send(cmd)
            .await
            .map_err(|_| GuestError::Closed)?;
        Ok(id)
    }

    /// [`GuestSession::send`] of a text.
    pub async fn send_text(&self, text: impl Into<String>) -> Result<String, GuestError> {
        self.send(OutgoingMessage::text(text)).await
    }

    /// Queues a message without waiting: [`GuestError::QueueFull`] when the queue is full.
    pub fn try_send(&self, message: OutgoingMessage) -> Result<String, GuestError> {
        let (id, cmd) = self.prepare(&message)?;
        self.commands.try_send(cmd).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => GuestError::QueueFull {
                capacity: self.queue_capacity,
            },
            mpsc::error::TrySendError::Closed(_) => GuestError::Closed,
        })?;
        Ok(id)
    }

    /// The next event from the server: `Ok` for a decoded frame, `Err` for a frame that could
    /// not be read (the session goes on) or for the end of the session. `None` once the
    /// session is over and every event was taken.
    pub async fn next_event(&mut self) -> Option<Result<GuestEvent, GuestError>> {
        self.events.recv().await
    }

    /// A JWT for the guest REST API (history), fresh for at least the refresh margin. The
    /// first call sends `getJwt`; the session then fetches a new one before each `exp`.
    pub async fn jwt(&self) -> Result<JwtIssued, GuestError> {
        ask_jwt(&self.commands).await
    }

    /// A history source over this session's JWT (see [`crate::history::HistoryExport`]).
    /// `name` names the archive batches (the guest API itself takes no conversation id).
    ///
    /// Each request takes the session's current JWT ([`GuestSession::token_provider`]), so an
    /// export that outlives one JWT goes on with the next. The first JWT is fetched here, so a
    /// session that cannot issue one fails now rather than at the first page.
    pub async fn history(
        &self,
        client: &GenesysClient,
        name: impl Into<String>,
    ) -> Result<crate::history::GuestSession, GuestError> {
        self.jwt().await?;
        Ok(crate::history::GuestSession::with_token_provider(
            client,
            Arc::new(self.token_provider()),
            name,
        ))
    }

    /// A [`TokenProvider`] over this session's JWT, for a [`GenesysClient`] that calls the guest
    /// REST API: each request gets the JWT the session holds (refreshed before its `exp`), and a
    /// 401 makes the session fetch a new one. It works while the session runs; once the session
    /// is closed or dropped it fails with [`AuthError::Provider`].
    pub fn token_provider(&self) -> SessionJwt {
        SessionJwt {
            commands: self.commands.clone(),
        }
    }

    /// Sends `closeSession` and closes the socket (messages still queued are written first).
    pub async fn close(self) -> Result<(), GuestError> {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Close(tx)).await.is_err() {
            return Ok(());
        }
        let _ = rx.await;
        Ok(())
    }
}

async fn open_with_retry(
    config: &GuestConfig,
    token: &SecretString,
) -> Result<(Ws, SessionInfo, Vec<Result<GuestEvent, GuestError>>), GuestError> {
    retry_with(
        &config.settings.reconnect,
        |attempt| async move {
            tracing::debug!(attempt, url = %config.url, "opening guest WebSocket");
            open(config, token).await
        },
        RetryableError::retry_class,
        |e: &GuestError, attempt, delay| {
            tracing::info!(attempt, delay_ms = delay.as_millis() as u64, error = %e, "guest WebSocket: retrying");
        },
    )
    .await
    .map_err(|e| {
        if e.attempts <= 1 {
            e.last
        } else {
            GuestError::ReconnectFailed {
                attempts: e.attempts,
                last: Box::new(e.last),
            }
        }
    })
}

/// Opens one socket and configures the session; returns frames that arrived before the
/// `SessionResponse` as well.
async fn open(
    config: &GuestConfig,
    token: &SecretString,
) -> Result<(Ws, SessionInfo, Vec<Result<GuestEvent, GuestError>>), GuestError> {
    let connect_err = |source| GuestError::Connect {
        url: config.url.to_string(),
        source: Box::new(source),
    };
    let mut request = config
        .url
        .as_str()
        .into_client_request()
        .map_err(connect_err)?;
    if let Some(origin) = &config.settings.origin {
        let value = http::HeaderValue::from_str(origin).map_err(|e| GuestError::InvalidConfig {
            setting: "origin",
            reason: e.to_string(),
        })?;
        request.headers_mut().insert(http::header::ORIGIN, value);
    }
    // The library's own limit is a backstop at 4x the configured maximum (at least 1 MiB): a
    // frame between the two is read whole and refused by the parser with a typed error while
    // the connection goes on; only a frame beyond the backstop breaks the connection.
    let backstop = config
        .settings
        .max_inbound_frame_bytes
        .saturating_mul(4)
        .max(1024 * 1024);
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(backstop))
        .max_frame_size(Some(backstop));
    let (mut ws, _resp) = timeout(
        config.settings.connect_timeout,
        tokio_tungstenite::connect_async_with_config(request, Some(ws_config), true),
    )
    .await
    .map_err(|_| GuestError::Timeout {
        what: "WebSocket connection",
        after: config.settings.connect_timeout,
    })?
    .map_err(connect_err)?;
    ws.send(Message::text(action::configure_session(
        &config.deployment_id,
        token.expose_secret(),
    )))
    .await
    .map_err(connect_err)?;
    let deadline = Instant::now() + config.settings.answer_timeout;
    let mut early = Vec::new();
    loop {
        let next = timeout(
            deadline.saturating_duration_since(Instant::now()),
            ws.next(),
        )
        .await
        .map_err(|_| GuestError::Timeout {
            what: "SessionResponse",
            after: config.settings.answer_timeout,
        })?;
        let msg = match next {
            None => return Err(connect_err(tungstenite::Error::ConnectionClosed)),
            Some(m) => m.map_err(connect_err)?,
        };
        match read(msg, config.settings.max_inbound_frame_bytes) {
            None => continue,
            Some(Ok(GuestEvent::Session(info))) => return Ok((ws, info, early)),
            Some(Ok(GuestEvent::Error(e))) => {
                return Err(match e.kind {
                    ServerErrorKind::SessionExpired => GuestError::SessionExpired,
                    _ => GuestError::Server(e),
                });
            }
            Some(Ok(GuestEvent::SessionExpired)) => return Err(GuestError::SessionExpired),
            Some(other) => {
                if early.len() >= 64 {
                    return Err(GuestError::Timeout {
                        what: "SessionResponse (64 other frames came first)",
                        after: config.settings.answer_timeout,
                    });
                }
                early.push(other.map_err(GuestError::from));
            }
        }
    }
}

/// One WebSocket message as an event: `None` for control frames.
fn read(msg: Message, max: usize) -> Option<Result<GuestEvent, FrameError>> {
    match msg {
        Message::Text(text) => Some(parse_frame(text.as_str(), max)),
        Message::Binary(b) => Some(Err(FrameError::Binary { bytes: b.len() })),
        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) | Message::Close(_) => None,
    }
}

fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

enum Outcome {
    /// The connection dropped: reconnect.
    Dropped(String),
    /// While recovering: the server acknowledged what was re-sent (see [`Recovery`]).
    Recovered,
    /// The session is over (closed, expired, or every handle dropped).
    Done,
}

/// The state of a connection opened after a drop, until it proved to work: the server
/// acknowledged every message re-sent on it, or, when none was, answered a heartbeat.
struct Recovery {
    /// `customMessageId`s re-sent on this connection and not yet acknowledged.
    pending: Vec<String>,
    /// Whether anything was re-sent.
    resent: bool,
    /// Whether the server answered a heartbeat on this connection.
    heartbeat_answered: bool,
}

impl Recovery {
    fn done(&self) -> bool {
        self.pending.is_empty() && (self.resent || self.heartbeat_answered)
    }
}

struct Driver {
    config: GuestConfig,
    token: SecretString,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<Result<GuestEvent, GuestError>>,
    /// Written but not acknowledged: (customMessageId, frame).
    unacked: VecDeque<(String, String)>,
    jwt: Option<JwtIssued>,
    jwt_waiters: Vec<oneshot::Sender<Result<JwtIssued, GuestError>>>,
    jwt_requested_at: Option<Instant>,
    shared: Arc<Shared>,
    echo_seq: u64,
    /// Set while a connection opened after a drop has not yet proved to work.
    recovery: Option<Recovery>,
}

impl Driver {
    /// Hands `events` to the session's owner; false once nobody takes them.
    async fn forward(&self, events: Vec<Result<GuestEvent, GuestError>>) -> bool {
        for e in events {
            if self.events.send(e).await.is_err() {
                return false;
            }
        }
        true
    }

    async fn run(mut self, mut ws: Ws, early: Vec<Result<GuestEvent, GuestError>>) {
        if !self.forward(early).await {
            return;
        }
        loop {
            match self.serve(&mut ws).await {
                Outcome::Done => break,
                Outcome::Recovered => {}
                Outcome::Dropped(reason) => {
                    tracing::info!(
                        reason,
                        unacked = self.unacked.len(),
                        "guest WebSocket dropped; resuming"
                    );
                    match self.recover().await {
                        Ok(Some(resumed)) => ws = resumed,
                        Ok(None) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "guest session could not be resumed");
                            self.fail_waiters(|| GuestError::Closed);
                            let _ = self.events.send(Err(e)).await;
                            break;
                        }
                    }
                }
            }
        }
        self.fail_waiters(|| GuestError::Closed);
    }

    /// Resumes after a drop: one run of the reconnect policy (retry-policy's driver) in which an
    /// attempt is "reconnect, re-send what was not acknowledged, and serve until the server
    /// acknowledged it". A connection that drops before that is the next attempt of the same
    /// run, so the policy bounds the whole outage, re-sends included. `Ok(None)`: the session
    /// ended meanwhile.
    async fn recover(&mut self) -> Result<Option<Ws>, GuestError> {
        let policy = self.config.settings.reconnect.clone();
        // The attempts run one after another; the lock only lends the driver to each in turn.
        let this = tokio::sync::Mutex::new(&mut *self);
        let this = &this;
        let outcome = retry_with(
            &policy,
            |attempt| async move { this.lock().await.recover_once(attempt).await },
            RetryableError::retry_class,
            |e: &GuestError, attempt, delay| {
                tracing::info!(attempt, delay_ms = delay.as_millis() as u64, error = %e, "guest WebSocket: resuming again");
            },
        )
        .await;
        self.recovery = None;
        outcome.map_err(|e| {
            let unacknowledged: Vec<String> =
                self.unacked.iter().map(|(id, _)| id.clone()).collect();
            if e.reason == GiveUp::Permanent && e.attempts <= 1 {
                e.last
            } else if unacknowledged.is_empty() {
                GuestError::ReconnectFailed {
                    attempts: e.attempts,
                    last: Box::new(e.last),
                }
            } else {
                GuestError::ResendFailed {
                    attempts: e.attempts,
                    unacknowledged,
                    last: Box::new(e.last),
                }
            }
        })
    }

    /// One attempt of [`Driver::recover`].
    async fn recover_once(&mut self, attempt: u32) -> Result<Option<Ws>, GuestError> {
        tracing::debug!(attempt, url = %self.config.url, "resuming the guest session");
        let (mut ws, info, early) = open(&self.config, &self.token).await?;
        self.shared.bump(|s| s.reconnects += 1);
        let announced = std::iter::once(Ok(GuestEvent::Session(info)));
        if !self.forward(announced.chain(early).collect()).await {
            return Ok(None);
        }
        self.recovery = Some(Recovery {
            pending: self.unacked.iter().map(|(id, _)| id.clone()).collect(),
            resent: !self.unacked.is_empty(),
            heartbeat_answered: false,
        });
        let lost = |reason| GuestError::ConnectionLost { reason };
        self.resend(&mut ws).await.map_err(lost)?;
        if !self.jwt_waiters.is_empty() {
            self.request_jwt(&mut ws).await.map_err(lost)?;
        }
        match self.serve(&mut ws).await {
            Outcome::Recovered => {
                self.recovery = None;
                Ok(Some(ws))
            }
            Outcome::Done => Ok(None),
            Outcome::Dropped(reason) => Err(lost(reason)),
        }
    }

    fn fail_waiters(&mut self, err: impl Fn() -> GuestError) {
        for w in self.jwt_waiters.drain(..) {
            let _ = w.send(Err(err()));
        }
    }

    async fn write(&mut self, ws: &mut Ws, frame: String) -> Result<(), String> {
        ws.send(Message::text(frame))
            .await
            .map_err(|e| e.to_string())
    }

    async fn resend(&mut self, ws: &mut Ws) -> Result<(), String> {
        let frames: Vec<String> = self.unacked.iter().map(|(_, f)| f.clone()).collect();
        for f in frames {
            self.write(ws, f).await?;
            self.shared.bump(|s| {
                s.resent += 1;
                s.frames_sent += 1;
            });
        }
        Ok(())
    }

    async fn request_jwt(&mut self, ws: &mut Ws) -> Result<(), String> {
        self.jwt_requested_at = Some(Instant::now());
        let frame = action::get_jwt(self.token.expose_secret());
        self.write(ws, frame).await
    }

    fn jwt_fresh(&self) -> Option<JwtIssued> {
        let jwt = self.jwt.as_ref()?;
        match jwt.exp {
            Some(exp)
                if exp - now_epoch() <= self.config.settings.jwt_refresh_margin.as_secs_f64() =>
            {
                None
            }
            _ => Some(jwt.clone()),
        }
    }

    /// When to fetch the next JWT: `exp - margin`, if a JWT is held.
    fn jwt_refresh_at(&self) -> Option<Instant> {
        let exp = self.jwt.as_ref()?.exp?;
        let left = exp - now_epoch() - self.config.settings.jwt_refresh_margin.as_secs_f64();
        Some(Instant::now() + Duration::from_secs_f64(left.clamp(0.0, 86_400.0)))
    }

    /// Serves one connection until it drops or the session ends.
    async fn serve(&mut self, ws: &mut Ws) -> Outcome {
        let mut heartbeat = tokio::time::interval_at(
            Instant::now() + self.config.settings.heartbeat,
            self.config.settings.heartbeat,
        );
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let refresh_at = if self.jwt_requested_at.is_some() {
                None
            } else {
                self.jwt_refresh_at()
            };
            let jwt_overdue = self
                .jwt_requested_at
                .map(|t| t + self.config.settings.answer_timeout);
            let can_take = self.unacked.len() < self.config.settings.queue_capacity;
            tokio::select! {
                cmd = self.commands.recv(), if can_take => match cmd {
                    None => {
                        let _ = ws.close(None).await;
                        return Outcome::Done;
                    }
                    Some(Command::Send { custom_id, frame }) => {
                        self.unacked.push_back((custom_id, frame.clone()));
                        self.shared.bump(|s| s.frames_sent += 1);
                        if let Err(reason) = self.write(ws, frame).await {
                            return Outcome::Dropped(reason);
                        }
                    }
                    Some(Command::Jwt(reply)) => {
                        if let Some(jwt) = self.jwt_fresh() {
                            let _ = reply.send(Ok(jwt));
                        } else {
                            self.jwt_waiters.push(reply);
                            if self.jwt_requested_at.is_none()
                                && let Err(reason) = self.request_jwt(ws).await
                            {
                                return Outcome::Dropped(reason);
                            }
                        }
                    }
                    Some(Command::DropJwt(refused)) => {
                        if self
                            .jwt
                            .as_ref()
                            .is_some_and(|j| j.jwt.expose_secret() == refused.expose_secret())
                        {
                            self.jwt = None;
                        }
                    }
                    Some(Command::Close(reply)) => {
                        // Everything queued before the close is written first.
                        while let Ok(cmd) = self.commands.try_recv() {
                            if let Command::Send { frame, .. } = cmd {
                                let _ = self.write(ws, frame).await;
                            }
                        }
                        let _ = self.write(ws, action::close_session(self.token.expose_secret())).await;
                        let _ = ws.close(None).await;
                        let _ = reply.send(());
                        return Outcome::Done;
                    }
                },
                incoming = ws.next() => {
                    let msg = match incoming {
                        None => return Outcome::Dropped("connection closed".into()),
                        Some(Err(e)) => return Outcome::Dropped(e.to_string()),
                        Some(Ok(Message::Close(_))) => return Outcome::Dropped("close frame".into()),
                        Some(Ok(m)) => m,
                    };
                    let Some(event) = read(msg, self.config.settings.max_inbound_frame_bytes) else {
                        continue;
                    };
                    match self.route(event) {
                        Routed::Forward(ev) => {
                            let end = matches!(ev, Ok(GuestEvent::SessionExpired))
                                || matches!(&ev, Ok(GuestEvent::Error(e)) if matches!(e.kind, ServerErrorKind::SessionExpired | ServerErrorKind::SessionNotFound));
                            if self.events.send(ev).await.is_err() {
                                let _ = ws.close(None).await;
                                return Outcome::Done;
                            }
                            if end {
                                self.fail_waiters(|| GuestError::SessionExpired);
                                let _ = ws.close(None).await;
                                return Outcome::Done;
                            }
                        }
                        Routed::Swallowed => {}
                    }
                    if self.recovery.as_ref().is_some_and(Recovery::done) {
                        return Outcome::Recovered;
                    }
                }
                _ = heartbeat.tick() => {
                    self.echo_seq += 1;
                    let id = format!("{ECHO_ID_PREFIX}{}", self.echo_seq);
                    let frame = action::echo(self.token.expose_secret(), &id);
                    self.shared.bump(|s| s.heartbeats += 1);
                    if let Err(reason) = self.write(ws, frame).await {
                        return Outcome::Dropped(reason);
                    }
                }
                () = sleep_until(refresh_at.unwrap_or_else(Instant::now)), if refresh_at.is_some() => {
                    tracing::debug!("refreshing the guest JWT before its exp");
                    if let Err(reason) = self.request_jwt(ws).await {
                        return Outcome::Dropped(reason);
                    }
                }
                () = sleep_until(jwt_overdue.unwrap_or_else(Instant::now)), if jwt_overdue.is_some() => {
                    self.jwt_requested_at = None;
                    let after = self.config.settings.answer_timeout;
                    self.fail_waiters(|| GuestError::Timeout { what: "JwtResponse", after });
                }
            }
        }
    }

    fn route(&mut self, event: Result<GuestEvent, FrameError>) -> Routed {
        let event = match event {
            Ok(e) => e,
            Err(e) => {
                self.shared.bump(|s| s.bad_frames += 1);
                tracing::debug!(error = %e, "unreadable guest frame");
                return Routed::Forward(Err(GuestError::Frame(e)));
            }
        };
        match event {
            GuestEvent::Jwt(jwt) => {
                self.jwt_requested_at = None;
                self.shared.bump(|s| s.jwts_received += 1);
                for w in self.jwt_waiters.drain(..) {
                    let _ = w.send(Ok(jwt.clone()));
                }
                self.jwt = Some(jwt);
                Routed::Swallowed
            }
            GuestEvent::Message { kind, message } => {
                let custom_id = message
                    .metadata
                    .as_ref()
                    .and_then(|m| m.get("customMessageId"))
                    .and_then(|v| v.as_str())
                    .map(str::to_owned);
                if custom_id
                    .as_deref()
                    .is_some_and(|id| id.starts_with(ECHO_ID_PREFIX))
                {
                    if let Some(recovery) = &mut self.recovery {
                        recovery.heartbeat_answered = true;
                    }
                    return Routed::Swallowed;
                }
                if message.direction == Some(Direction::Inbound) {
                    let pos = match &custom_id {
                        Some(id) => self.unacked.iter().position(|(c, _)| c == id),
                        None => None,
                    };
                    if let Some(pos) = pos {
                        self.unacked.remove(pos);
                        self.shared.bump(|s| s.acknowledged += 1);
                        if let (Some(recovery), Some(id)) = (&mut self.recovery, &custom_id) {
                            recovery.pending.retain(|p| p != id);
                        }
                    }
                }
                Routed::Forward(Ok(GuestEvent::Message { kind, message }))
            }
            GuestEvent::Error(e)
                if self.jwt_requested_at.is_some() && e.kind == ServerErrorKind::Unauthorized =>
            {
                self.jwt_requested_at = None;
                let err = e.clone();
                self.fail_waiters(|| GuestError::Server(err.clone()));
                Routed::Forward(Ok(GuestEvent::Error(e)))
            }
            other => Routed::Forward(Ok(other)),
        }
    }
}

enum Routed {
    Forward(Result<GuestEvent, GuestError>),
    Swallowed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_v4_uuids_and_differ() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    }

    #[test]
    fn region_endpoint_uses_the_region_table() {
        let url = region_endpoint(&Region::EuWest1).unwrap();
        assert_eq!(url.as_str(), "wss://webmessaging.mypurecloud.ie/v1");
        let url = region_endpoint(&Region::UsWest2).unwrap();
        assert_eq!(url.as_str(), "wss://webmessaging.usw2.pure.cloud/v1");
    }

    #[test]
    fn builder_checks_settings() {
        let ok = GuestConfig::builder("abc-123")
            .region(&Region::UsEast1)
            .build()
            .unwrap();
        assert_eq!(
            ok.url().as_str(),
            "wss://webmessaging.mypurecloud.com/v1?deploymentId=abc-123"
        );
        assert!(matches!(
            GuestConfig::builder("").region(&Region::UsEast1).build(),
            Err(GuestError::InvalidConfig {
                setting: "deployment_id",
                ..
            })
        ));
        assert!(matches!(
            GuestConfig::builder("a/b").region(&Region::UsEast1).build(),
            Err(GuestError::InvalidConfig {
                setting: "deployment_id",
                ..
            })
        ));
        assert!(matches!(
            GuestConfig::builder("d").build(),
            Err(GuestError::InvalidConfig { setting: "url", .. })
        ));
        assert!(matches!(
            GuestConfig::builder("d")
                .url(Url::parse("https://x/v1").unwrap())
                .build(),
            Err(GuestError::InvalidConfig { setting: "url", .. })
        ));
        assert!(matches!(
            GuestConfig::builder("d")
                .url(Url::parse("wss://u:p@x/v1").unwrap())
                .build(),
            Err(GuestError::InvalidConfig { setting: "url", .. })
        ));
        assert!(matches!(
            GuestConfig::builder("d")
                .region(&Region::UsEast1)
                .resume(SecretString::from(" "))
                .build(),
            Err(GuestError::InvalidConfig {
                setting: "token",
                ..
            })
        ));
        assert!(matches!(
            GuestConfig::builder("d")
                .region(&Region::UsEast1)
                .queue_capacity(0)
                .build(),
            Err(GuestError::InvalidConfig {
                setting: "queue_capacity",
                ..
            })
        ));
        let custom = Region::custom(
            Url::parse("http://127.0.0.1:1/").unwrap(),
            Url::parse("http://127.0.0.1:1/").unwrap(),
        );
        assert!(matches!(
            GuestConfig::builder("d").region(&custom).build(),
            Err(GuestError::InvalidConfig {
                setting: "region",
                ..
            })
        ));
    }

    #[test]
    fn debug_never_shows_the_token() {
        let cfg = GuestConfig::builder("d")
            .region(&Region::UsEast1)
            .resume(SecretString::from("very-secret-token"))
            .build()
            .unwrap();
        assert!(!format!("{cfg:?}").contains("very-secret-token"));
    }

    #[test]
    fn retry_classes() {
        let e = GuestError::Server(ServerError {
            code: 4006,
            kind: ServerErrorKind::SessionExpired,
            class: "string".into(),
            message: "expired".into(),
            retry_after: None,
        });
        assert_eq!(e.retry_class(), RetryClass::Fail);
        let e = GuestError::Connect {
            url: "ws://x".into(),
            source: Box::new(tungstenite::Error::ConnectionClosed),
        };
        assert!(e.retry_class().is_retry());
        let e = GuestError::Timeout {
            what: "x",
            after: Duration::from_secs(1),
        };
        assert_eq!(e.retry_class(), RetryClass::timeout());
    }
}
