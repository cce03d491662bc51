//! The recipes' HTTP servers: sqs-dlq's hardened [`HttpServer`] (header-read timeout,
//! connection cap, keep-alive limits, a shutdown that cannot hang) with its settings as flags,
//! wired to Ctrl-C / SIGTERM: the first signal begins the shutdown (stop accepting, close
//! idle and half-open connections, give requests in handlers `--shutdown-grace-secs`), a
//! second one ends the grace period at once.

use std::time::Duration;

use clap::Args;
use sqs_dlq::http::{DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_REQUESTS_PER_CONNECTION};
use sqs_dlq::http::{HttpServer, HttpServerBuilder, ServeSummary, ServerShutdown, ServerStats};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::shutdown;

/// Connection-level flags of a recipe that serves HTTP.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Time a client has to send a request's headers, and the longest a kept-alive
    /// connection may sit idle, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub header_read_timeout_ms: u64,

    /// Connections open at once; past it a new connection gets 503 with Retry-After.
    #[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,

    /// Requests one kept-alive connection may carry before the server closes it.
    #[arg(long, default_value_t = DEFAULT_MAX_REQUESTS_PER_CONNECTION)]
    pub max_requests_per_connection: u64,

    /// At shutdown, how long requests already in handlers may take to finish, in seconds (a
    /// second Ctrl-C/SIGTERM ends the wait at once).
    #[arg(long, default_value_t = 5.0)]
    pub shutdown_grace_secs: f64,
}

impl ServerArgs {
    /// The grace period as a duration (negative or non-finite values count as zero).
    pub fn grace(&self) -> Duration {
        Duration::try_from_secs_f64(self.shutdown_grace_secs.max(0.0)).unwrap_or(Duration::ZERO)
    }

    /// The server these flags describe.
    pub fn builder(&self) -> HttpServerBuilder {
        HttpServer::builder()
            .header_read_timeout(Duration::from_millis(self.header_read_timeout_ms))
            .max_connections(self.max_connections)
            .max_requests_per_connection(self.max_requests_per_connection)
            .shutdown_grace(self.grace())
    }
}

/// A server running on a task.
#[derive(Debug)]
pub struct RunningServer {
    /// Begins (and hurries) the shutdown.
    pub shutdown: ServerShutdown,
    /// Live counters.
    pub stats: ServerStats,
    task: JoinHandle<std::io::Result<ServeSummary>>,
}

impl RunningServer {
    /// Starts serving `router` on `listener`.
    pub fn start(listener: TcpListener, router: axum::Router, args: &ServerArgs) -> Self {
        let builder = args.builder();
        let stats = builder.stats();
        let shutdown = ServerShutdown::new();
        let task = tokio::spawn(builder.serve(listener, router, shutdown.clone()));
        Self {
            shutdown,
            stats,
            task,
        }
    }

    /// Begins the shutdown and waits for the server to stop, a second Ctrl-C/SIGTERM meanwhile
    /// ending the grace period. Logs the summary.
    pub async fn stop(self) -> Option<ServeSummary> {
        self.shutdown.begin();
        let hurry = self.shutdown.clone();
        let second = tokio::spawn(async move {
            shutdown::signal().await;
            tracing::warn!("second signal: ending the grace period for requests in handlers");
            hurry.hurry();
        });
        let summary = match self.task.await {
            Ok(Ok(summary)) => Some(summary),
            Ok(Err(error)) => {
                tracing::error!(%error, "HTTP server failed");
                None
            }
            Err(error) => {
                tracing::error!(%error, "HTTP server task failed");
                None
            }
        };
        second.abort();
        if let Some(s) = &summary {
            tracing::info!(
                accepted = s.accepted_connections,
                refused_over_cap = s.refused_connections,
                peak_connections = s.peak_connections,
                header_timeouts = s.header_timeouts,
                closed_idle_at_shutdown = s.closed_idle_at_shutdown,
                cut_at_grace_end = s.cut_at_grace_end,
                shutdown_ms = s.shutdown_took.as_millis() as u64,
                "HTTP server stopped"
            );
        }
        summary
    }
}
