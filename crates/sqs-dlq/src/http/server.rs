//! [`HttpServer`] and what it needs (its documentation is on the type).

use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderValue, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use retry_policy::{Backoff, Jitter, RetryClass, RetryPolicy};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

/// Default header-read timeout: 5 s.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Default cap on open connections: 1,024.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default number of requests one connection may carry: 1,000.
pub const DEFAULT_MAX_REQUESTS_PER_CONNECTION: u64 = 1000;
/// Default buffer for one request head: 64 KiB.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 64 * 1024;
/// Default grace period for requests in handlers at shutdown: 5 s.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The answer written to a connection over the cap, without reading its request.
const OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\n\
retry-after: 1\r\n\
connection: close\r\n\
content-length: 82\r\n\
\r\n\
{\"error\":\"too_many_connections\",\"message\":\"connection limit reached; retry later\"}";

/// At shutdown, how long a connection without a request in a handler may take to flush an
/// answer already produced before it is closed.
const IDLE_CLOSE_FLUSH: Duration = Duration::from_millis(100);
/// Refusals written at once, at most; past it a connection over the cap is closed unanswered.
const MAX_REFUSALS_IN_PROGRESS: usize = 512;
/// How long a refused connection is given to close after its answer.
const REFUSAL_DRAIN_TIME: Duration = Duration::from_millis(250);
/// Bytes of a refused connection's request read and dropped, at most, while it closes.
const MAX_REFUSAL_DRAIN: usize = 64 * 1024;
/// How long the accept loop pauses after an accept error.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);
/// How long writing a refusal may take.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(1);

/// Starts and ends a server's shutdown; clones share the same state. See the
/// [`HttpServer`] docs.
#[derive(Debug, Clone, Default)]
pub struct ServerShutdown {
    begin: CancellationToken,
    hurry: CancellationToken,
}

impl ServerShutdown {
    /// A shutdown that has not started.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops accepting, closes connections without a request in a handler, and gives the
    /// requests in handlers the grace period.
    pub fn begin(&self) {
        self.begin.cancel();
    }

    /// Ends the grace period now (implies [`begin`](Self::begin)): requests still in handlers
    /// are dropped unanswered.
    pub fn hurry(&self) {
        self.begin.cancel();
        self.hurry.cancel();
    }

    /// Whether [`begin`](Self::begin) was called.
    pub fn is_begun(&self) -> bool {
        self.begin.is_cancelled()
    }
}

/// Counters of a running server; clones share them.
#[derive(Debug, Clone, Default)]
pub struct ServerStats {
    inner: Arc<StatsInner>,
}

#[derive(Debug, Default)]
struct StatsInner {
    open: AtomicUsize,
    peak: AtomicUsize,
    accepted: AtomicU64,
    refused: AtomicU64,
    header_timeouts: AtomicU64,
    in_flight: AtomicUsize,
}

impl ServerStats {
    /// Connections open now.
    pub fn open_connections(&self) -> usize {
        self.inner.open.load(Ordering::Relaxed)
    }
    /// Most connections open at once so far.
    pub fn peak_connections(&self) -> usize {
        self.inner.peak.load(Ordering::Relaxed)
    }
    /// Connections accepted and served.
    pub fn accepted_connections(&self) -> u64 {
        self.inner.accepted.load(Ordering::Relaxed)
    }
    /// Connections refused (503) over the cap.
    pub fn refused_connections(&self) -> u64 {
        self.inner.refused.load(Ordering::Relaxed)
    }
    /// Connections closed by the header-read timeout.
    pub fn header_timeouts(&self) -> u64 {
        self.inner.header_timeouts.load(Ordering::Relaxed)
    }
    /// Requests in handlers now.
    pub fn requests_in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::Relaxed)
    }
}

/// What a server run ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeSummary {
    /// Connections accepted and served.
    pub accepted_connections: u64,
    /// Connections refused (503) over the cap.
    pub refused_connections: u64,
    /// Most connections open at once.
    pub peak_connections: usize,
    /// Connections closed by the header-read timeout.
    pub header_timeouts: u64,
    /// Connections closed at shutdown with no request in a handler.
    pub closed_idle_at_shutdown: u64,
    /// Connections whose request was still in a handler when the grace period ended (dropped
    /// unanswered).
    pub cut_at_grace_end: u64,
    /// From [`ServerShutdown::begin`] to the last connection gone (zero if it never began).
    pub shutdown_took: Duration,
}

/// The server; start with [`HttpServer::builder`].
///
/// A hardened HTTP/1.1 server for the crate's routers ([`crate::http::WebhookIngest`],
/// [`crate::http::DeadLetterReceiver`]) or any axum [`Router`]: the connection-level defences
/// `axum::serve` leaves out, set on hyper's own connection builder.
///
/// ```no_run
/// use std::time::Duration;
/// use sqs_dlq::http::{HttpServer, ServerShutdown};
///
/// # async fn run(router: axum::Router) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// let shutdown = ServerShutdown::new();
/// let stop = shutdown.clone();
/// tokio::spawn(async move {
///     let _ = tokio::signal::ctrl_c().await;
///     stop.begin(); // stop accepting, close idle connections, give requests the grace period
///     let _ = tokio::signal::ctrl_c().await;
///     stop.hurry(); // a second Ctrl-C ends the grace period at once
/// });
/// let summary = HttpServer::builder()
///     .max_connections(512)
///     .shutdown_grace(Duration::from_secs(5))
///     .serve(listener, router, shutdown)
///     .await?;
/// println!("refused {} connections over the cap", summary.refused_connections);
/// # Ok(()) }
/// ```
///
/// # What it does
/// - **Header-read timeout** (default 5 s): a connection must deliver a request's complete
///   headers within it, counted from when the server starts waiting for them, which also covers
///   a kept-alive connection waiting for its next request (the keep-alive idle limit). A
///   slow-loris client that dribbles a request line is closed when it runs out.
/// - **Header size** (default 64 KiB of buffered request head, 100 headers): more closes the
///   connection (hyper answers 431), so a connection holds a bounded amount of memory before a
///   request reaches a handler. Bodies are the handlers' business: the ingest and the receiver
///   read them under a size limit and a deadline.
/// - **Connection cap** (default 1,024): past it a new connection gets
///   `503 Service Unavailable` with `Retry-After: 1` and `Connection: close`, written without
///   reading the request, and is closed. Connections in service are never starved by it. On
///   Linux the cap is lowered (with a warning) to fit under the process's open-files limit,
///   keeping 64 descriptors and the refusals' own in reserve, so a flood meets the 503 rather
///   than "too many open files".
/// - **Keep-alive limits**: a connection serves at most `max_requests_per_connection` requests
///   (default 1,000; the last answer carries `Connection: close`), and waits for the next one
///   no longer than the header-read timeout.
/// - **Shutdown that cannot hang** ([`ServerShutdown`]): [`begin`](ServerShutdown::begin) stops
///   accepting at once and closes every connection that has no request in a handler (idle
///   keep-alive connections, half-sent request heads, connections that never sent a byte).
///   Requests in handlers get [`shutdown_grace`](HttpServerBuilder::shutdown_grace) (default
///   5 s) to finish; whatever is still running then is dropped, its client sees the connection
///   close without an answer (so it keeps its copy and retries). [`hurry`](ServerShutdown::hurry)
///   ends the grace period early. [`HttpServerBuilder::serve`] returns when every connection is
///   gone: within the grace period after `begin`, whatever the clients do.
///
/// An answer already written is never taken back: what a handler acknowledged before the cut
/// stays acknowledged (the webhook ingest acknowledges only what is on its queue).
///
/// # What it does not do
/// TLS, HTTP/2, per-client rate limits (put a load balancer or proxy in front for those).
#[derive(Debug)]
pub struct HttpServer;

impl HttpServer {
    /// Settings with the defaults of the [`HttpServer`] docs.
    pub fn builder() -> HttpServerBuilder {
        HttpServerBuilder {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_requests_per_connection: DEFAULT_MAX_REQUESTS_PER_CONNECTION,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            stats: ServerStats::default(),
        }
    }
}

/// Settings of an [`HttpServer`].
#[derive(Debug, Clone)]
#[must_use]
pub struct HttpServerBuilder {
    header_read_timeout: Duration,
    max_connections: usize,
    max_requests_per_connection: u64,
    max_header_bytes: usize,
    shutdown_grace: Duration,
    stats: ServerStats,
}

impl HttpServerBuilder {
    /// Time to receive a request's complete headers, and the longest a kept-alive connection
    /// waits for its next request (default 5 s; at least 1 ms).
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Connections open at once (default 1,024; at least 1). Past it, new connections get 503.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Requests one connection may carry before it is closed (default 1,000; at least 1).
    pub fn max_requests_per_connection(mut self, max: u64) -> Self {
        self.max_requests_per_connection = max.max(1);
        self
    }

    /// Largest request head buffered (default 64 KiB; at least 8 KiB, hyper's floor).
    pub fn max_header_bytes(mut self, max: usize) -> Self {
        self.max_header_bytes = max.max(8192);
        self
    }

    /// How long requests in handlers may run after [`ServerShutdown::begin`] (default 5 s).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// The live counters (take the handle before [`serve`](Self::serve)).
    pub fn stats(&self) -> ServerStats {
        self.stats.clone()
    }

    /// Serves `router` on `listener` until `shutdown` begins and every connection is gone (at
    /// most the grace period later). Accept errors such as "too many open files" do not end it:
    /// they are logged and the accept retried after a pause, so today it always returns `Ok`;
    /// the `io::Result` keeps room for listener set-up that can fail.
    pub async fn serve(
        self,
        listener: TcpListener,
        router: Router,
        shutdown: ServerShutdown,
    ) -> io::Result<ServeSummary> {
        let limits = Arc::new(self);
        let stats = limits.stats.clone();
        let (max_connections, max_refusals) =
            fit_to_descriptors(limits.max_connections, open_files_limit());
        if max_connections < limits.max_connections {
            tracing::warn!(
                target: "sqs_dlq::server",
                configured = limits.max_connections,
                effective = max_connections,
                "the open-files limit is too low for the connection cap: serving fewer connections, so the cap answers 503 before the process runs out of file descriptors"
            );
        }
        let permits = Arc::new(Semaphore::new(max_connections));
        let refusals = Arc::new(Semaphore::new(max_refusals));
        let mut conns: JoinSet<ConnEnd> = JoinSet::new();
        let mut ends = Ends::default();

        // Accept errors (EMFILE/ENFILE and friends) pause the accept loop: the listener
        // recovers once descriptors free up, and a busy loop would only burn the CPU meanwhile.
        // The retry driver waits; a shutdown or a connection ending cuts the wait short.
        let accept_policy = RetryPolicy::builder()
            .max_attempts(u32::MAX)
            .max_elapsed(Duration::MAX)
            .backoff(Backoff::constant(ACCEPT_ERROR_PAUSE).jitter(Jitter::None))
            .no_budget()
            .build();

        // Accept until shutdown begins.
        loop {
            tokio::select! {
                biased;
                () = shutdown.begin.cancelled() => break,
                Some(joined) = conns.join_next(), if !conns.is_empty() => ends.add(joined),
                accepted = retry_policy::retry_with(
                    &accept_policy,
                    |_| listener.accept(),
                    |_: &io::Error| RetryClass::retry(),
                    |error: &io::Error, _, _| {
                        tracing::warn!(target: "sqs_dlq::server", %error, "accept failed");
                    },
                ) => {
                    let stream = match accepted {
                        Ok((stream, _peer)) => stream,
                        // The policy never gives up; a give-up would end the accept loop.
                        Err(failed) => {
                            tracing::error!(target: "sqs_dlq::server", error = %failed.last, "accept stopped");
                            break;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    match Arc::clone(&permits).try_acquire_owned() {
                        Ok(permit) => {
                            stats.inner.accepted.fetch_add(1, Ordering::Relaxed);
                            let open = stats.inner.open.fetch_add(1, Ordering::Relaxed) + 1;
                            stats.inner.peak.fetch_max(open, Ordering::Relaxed);
                            let limits = Arc::clone(&limits);
                            let router = router.clone();
                            let shutdown = shutdown.clone();
                            conns.spawn(async move {
                                let end = serve_connection(stream, router, &limits, &shutdown).await;
                                limits.stats.inner.open.fetch_sub(1, Ordering::Relaxed);
                                drop(permit);
                                end
                            });
                        }
                        Err(_) => {
                            stats.inner.refused.fetch_add(1, Ordering::Relaxed);
                            refuse(stream, &refusals);
                        }
                    }
                }
            }
        }
        drop(listener);
        let began = Instant::now();
        tracing::info!(
            target: "sqs_dlq::server",
            open = stats.open_connections(),
            in_flight = stats.requests_in_flight(),
            grace_ms = limits.shutdown_grace.as_millis() as u64,
            "shutting down: not accepting; closing idle connections"
        );

        // Every connection task sees the shutdown itself (closing at once when idle, after the
        // grace period otherwise); this only collects them, with a backstop past the grace.
        let backstop = tokio::time::sleep(limits.shutdown_grace + Duration::from_secs(1));
        let mut backstop = pin!(backstop);
        loop {
            tokio::select! {
                joined = conns.join_next() => match joined {
                    Some(joined) => ends.add(joined),
                    None => break,
                },
                () = &mut backstop => {
                    tracing::warn!(target: "sqs_dlq::server", left = conns.len(), "connections still open past the grace period: aborting them");
                    ends.cut += conns.len() as u64;
                    conns.shutdown().await;
                    break;
                }
            }
        }
        let summary = ServeSummary {
            accepted_connections: stats.accepted_connections(),
            refused_connections: stats.refused_connections(),
            peak_connections: stats.peak_connections(),
            header_timeouts: stats.header_timeouts(),
            closed_idle_at_shutdown: ends.idle,
            cut_at_grace_end: ends.cut,
            shutdown_took: began.elapsed(),
        };
        tracing::info!(
            target: "sqs_dlq::server",
            closed_idle = summary.closed_idle_at_shutdown,
            cut = summary.cut_at_grace_end,
            took_ms = summary.shutdown_took.as_millis() as u64,
            "server stopped"
        );
        Ok(summary)
    }
}

/// How connections ended during shutdown.
#[derive(Debug, Default)]
struct Ends {
    idle: u64,
    cut: u64,
}

impl Ends {
    fn add(&mut self, joined: Result<ConnEnd, tokio::task::JoinError>) {
        match joined {
            Ok(ConnEnd::ClosedIdleAtShutdown) => self.idle += 1,
            Ok(ConnEnd::CutAtGraceEnd) => self.cut += 1,
            Ok(ConnEnd::Finished) => {}
            Err(error) => {
                tracing::error!(target: "sqs_dlq::server", %error, "connection task failed")
            }
        }
    }
}

/// How one connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnEnd {
    Finished,
    ClosedIdleAtShutdown,
    CutAtGraceEnd,
}

/// The process's soft limit on open files, where the platform says (Linux: `/proc/self/limits`).
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Descriptors kept out of the cap for everything else the process opens (files, outbound
/// connections, the runtime).
const RESERVED_DESCRIPTORS: usize = 64;

/// The connection cap and the refusals in progress that fit under `open_files` descriptors:
/// past the cap a client must get a 503, not a process stuck on "too many open files".
fn fit_to_descriptors(max_connections: usize, open_files: Option<usize>) -> (usize, usize) {
    let Some(open_files) = open_files else {
        return (max_connections, MAX_REFUSALS_IN_PROGRESS);
    };
    let refusals = MAX_REFUSALS_IN_PROGRESS.min(open_files / 8).max(1);
    let room = open_files
        .saturating_sub(RESERVED_DESCRIPTORS)
        .saturating_sub(refusals)
        .max(1);
    (max_connections.min(room), refusals)
}

/// Answers a connection over the cap with 503 and closes it, in the background and bounded.
fn refuse(stream: TcpStream, refusals: &Arc<Semaphore>) {
    let Ok(permit) = Arc::clone(refusals).try_acquire_owned() else {
        // Too many refusals in progress to wait on another: one non-blocking write (a fresh
        // socket's send buffer takes it whole), then close.
        let _ = stream.try_write(OVER_CAPACITY);
        return;
    };
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut stream = stream;
        let written = tokio::time::timeout(REFUSAL_TIMEOUT, async {
            stream.write_all(OVER_CAPACITY).await?;
            stream.shutdown().await
        })
        .await;
        if matches!(written, Ok(Ok(()))) {
            // Closing a socket with unread input sends a reset, which can destroy the answer
            // before the client reads it: read (and drop) what the client sent until it
            // closes, a little and briefly at most.
            let _ = tokio::time::timeout(REFUSAL_DRAIN_TIME, async {
                let mut sink = [0u8; 4096];
                let mut left = MAX_REFUSAL_DRAIN;
                while left > 0 {
                    match stream.read(&mut sink).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => left = left.saturating_sub(n),
                    }
                }
            })
            .await;
        }
        drop(permit);
    });
}

/// Counts one request in a handler for as long as it lives.
struct InFlight {
    conn: Arc<AtomicUsize>,
    stats: ServerStats,
}

impl InFlight {
    fn enter(conn: &Arc<AtomicUsize>, stats: &ServerStats) -> Self {
        conn.fetch_add(1, Ordering::SeqCst);
        stats.inner.in_flight.fetch_add(1, Ordering::Relaxed);
        Self {
            conn: Arc::clone(conn),
            stats: stats.clone(),
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.conn.fetch_sub(1, Ordering::SeqCst);
        self.stats.inner.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn serve_connection(
    stream: TcpStream,
    router: Router,
    limits: &HttpServerBuilder,
    shutdown: &ServerShutdown,
) -> ConnEnd {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let served = Arc::new(AtomicU64::new(0));
    let max_requests = limits.max_requests_per_connection;
    let stats = limits.stats.clone();
    let service = {
        let in_flight = Arc::clone(&in_flight);
        tower::service_fn(move |req: http::Request<Incoming>| {
            let guard = InFlight::enter(&in_flight, &stats);
            let nth = served.fetch_add(1, Ordering::Relaxed) + 1;
            let router = router.clone();
            async move {
                let result = router.oneshot(req.map(axum::body::Body::new)).await;
                drop(guard);
                result.map(|mut response| {
                    if nth >= max_requests {
                        response
                            .headers_mut()
                            .insert(header::CONNECTION, HeaderValue::from_static("close"));
                    }
                    response
                })
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true)
        .max_headers(100)
        .max_buf_size(limits.max_header_bytes);
    let conn = builder.serve_connection(
        TokioIo::new(stream),
        hyper_util::service::TowerToHyperService::new(service),
    );
    let mut conn = pin!(conn);

    tokio::select! {
        result = conn.as_mut() => {
            note_end(result, &limits.stats);
            return ConnEnd::Finished;
        }
        () = shutdown.begin.cancelled() => {}
    }
    // Shutting down. No request in a handler: nothing to wait for (an idle keep-alive, a
    // half-sent head, a client that never spoke). Otherwise let hyper finish the current
    // exchange and close, within the grace period.
    conn.as_mut().graceful_shutdown();
    if in_flight.load(Ordering::SeqCst) == 0 {
        // An answer may still be on its way out (its handler has returned): a moment to flush
        // it, never the whole grace period.
        tokio::select! {
            result = conn.as_mut() => note_end(result, &limits.stats),
            () = tokio::time::sleep(IDLE_CLOSE_FLUSH) => {}
            () = shutdown.hurry.cancelled() => {}
        }
        return ConnEnd::ClosedIdleAtShutdown;
    }
    let grace = tokio::time::sleep(limits.shutdown_grace);
    tokio::select! {
        result = conn.as_mut() => {
            note_end(result, &limits.stats);
            ConnEnd::Finished
        }
        () = grace => ConnEnd::CutAtGraceEnd,
        () = shutdown.hurry.cancelled() => ConnEnd::CutAtGraceEnd,
    }
}

fn note_end(result: Result<(), hyper::Error>, stats: &ServerStats) {
    if let Err(error) = result {
        if error.is_timeout() {
            stats.inner.header_timeouts.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(target: "sqs_dlq::server", "connection closed: request head not received in time");
        } else {
            tracing::debug!(target: "sqs_dlq::server", %error, "connection ended with an error");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_declares_its_own_length() {
        let text = std::str::from_utf8(OVER_CAPACITY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert!(serde_json::from_str::<serde_json::Value>(body).is_ok());
    }

    #[test]
    fn the_cap_fits_under_the_open_files_limit() {
        assert_eq!(fit_to_descriptors(1024, None), (1024, 512));
        assert_eq!(fit_to_descriptors(1024, Some(20_000)), (1024, 512));
        // ulimit -n 256: 32 refusals, 64 reserved, 160 connections
        assert_eq!(fit_to_descriptors(1024, Some(256)), (160, 32));
        assert_eq!(fit_to_descriptors(100, Some(256)), (100, 32));
        assert_eq!(fit_to_descriptors(1024, Some(10)), (1, 1));
        assert!(open_files_limit().is_none_or(|n| n > 0));
    }

    #[test]
    fn builder_floors() {
        let b = HttpServer::builder()
            .max_connections(0)
            .max_requests_per_connection(0)
            .max_header_bytes(1)
            .header_read_timeout(Duration::ZERO);
        assert_eq!(b.max_connections, 1);
        assert_eq!(b.max_requests_per_connection, 1);
        assert_eq!(b.max_header_bytes, 8192);
        assert_eq!(b.header_read_timeout, Duration::from_millis(1));
    }
}
