//! `dead-letter-receiver`: an HTTP endpoint that takes one dead letter per POST, checks its
//! size and authentication (bearer secret or HMAC-SHA256 signature, constant-time), and
//! replays it to the target with `X-Attempt-Count` and backoff on 429/5xx.
//!
//! Signatures: `X-Signature-256: sha256=<hex>` is the HMAC-SHA256, under the secret, of
//! `"{X-Signature-Timestamp}.{body}"`, and `X-Signature-Timestamp` (Unix seconds) must be within
//! 300 s of the receiver's clock (`--timestamp-tolerance-secs` changes the window), so a
//! captured request cannot be replayed later. `--body-only-signatures` also accepts the HMAC of
//! the body alone from senders that cannot send a timestamp: such requests, like bearer
//! requests, can be replayed by whoever captures them (serve over TLS).
//!
//! ```text
//! DLQ_RECEIVER_SECRET=s3cret cargo run --example dead-letter-receiver -- --listen 127.0.0.1:8080
//! DLQ_RECEIVER_SECRET=s3cret cargo run --example dead-letter-receiver -- \
//!     --listen 0.0.0.0:8080 --target-url https://events.example.com/genesys
//! ```
//!
//! Accepted bodies: the EventBridge event itself (DLQ attributes in `X-Dlq-*` headers), a
//! wrapper `{"event", "attributes", "messageId"}`, or an SQS message record
//! `{"messageId", "body", "messageAttributes"}`. Answers: 200 `{"status":"processed",
//! "attempt":n}`, 401 (authentication), 413 (size), 400 (not an event), 422 (unsafe category
//! without `--force`), 502 (the target refused or was unreachable after retries).
//! Without `--target-url` it replays to a local target it starts (simulated mode). It runs until
//! Ctrl-C or SIGTERM, then prints the receiver's counts on stdout: `received N: replayed N,
//! skipped N, replay failed N, refused N (unauthenticated N, of which expired N; too large N;
//! invalid JSON N; not a dead letter N; unreadable N; timed out N; busy N)`.
//!
//! Connection-level limits (sqs-dlq's hardened server): `--header-read-timeout-ms`,
//! `--max-connections` (503 past it), `--max-requests-per-connection`, and a shutdown that
//! cannot hang (`--shutdown-grace-secs`; a second signal ends the wait). A bearer request is
//! authenticated on its headers before its body is read; a signed one must deliver its body
//! within `--body-timeout-ms`, and signed bodies not yet verified share
//! `--unauthenticated-body-budget` bytes. An empty or blank secret is refused; one under 32
//! bytes is accepted with a warning. User info in `--target-url` (`http://user:pw@host/…`) is
//! sent as Basic authentication and printed as `***`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use genesys_examples::cli::CommonArgs;
use genesys_examples::exit::{finish, notice, say};
use genesys_examples::http_server::{RunningServer, ServerArgs};
use genesys_examples::mode::{self, Mode};
use genesys_examples::servers::ReplayTargetServer;
use genesys_examples::telemetry;
use genesys_examples::{logging, shutdown};
use retry_policy::{Backoff, RetryPolicy};
use secrecy::SecretString;
use sqs_dlq::dead_letter::{Category, HttpTarget, Replay};
use sqs_dlq::http::DeadLetterReceiver;

/// Receive dead letters over HTTP and replay them to a target.
#[derive(Debug, Parser)]
#[command(name = "dead-letter-receiver", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port; the address is printed on stderr).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// Where to replay to. Without it, a local target on 127.0.0.1 (simulated mode).
    #[arg(long, conflicts_with = "sim")]
    target_url: Option<String>,

    /// Bearer token sent to the target (or set DLQ_TARGET_TOKEN).
    #[arg(long, env = "DLQ_TARGET_TOKEN", hide_env_values = true)]
    target_token: Option<String>,

    /// Shared secret: accepted as `Authorization: Bearer <secret>` and as the HMAC key of
    /// `X-Signature-256: sha256=<hex>` over "{X-Signature-Timestamp}.{body}" (or set
    /// DLQ_RECEIVER_SECRET).
    #[arg(long, env = "DLQ_RECEIVER_SECRET", hide_env_values = true)]
    secret: String,

    /// How far X-Signature-Timestamp may be from this clock, either way (seconds).
    #[arg(long, default_value_t = sqs_dlq::http::DEFAULT_TIMESTAMP_TOLERANCE.as_secs())]
    timestamp_tolerance_secs: u64,

    /// Also accept the HMAC of the body alone, without X-Signature-Timestamp, for senders that
    /// cannot send one. Such requests can be replayed by whoever captures them: prefer the
    /// timestamped signature, and serve over TLS.
    #[arg(long)]
    body_only_signatures: bool,

    /// The route.
    #[arg(long, default_value = "/dead-letter")]
    path: String,

    /// Largest accepted body in bytes.
    #[arg(long, default_value_t = sqs_dlq::http::DEFAULT_RECEIVER_MAX_BODY_BYTES)]
    max_body_bytes: usize,

    /// Replay unsafe categories too (after fixing the cause).
    #[arg(long)]
    force: bool,

    /// Accept only these categories (repeat for more).
    #[arg(long, value_name = "CATEGORY")]
    only: Vec<Category>,

    /// Attempts per delivery to the target (429/5xx/connection errors back off).
    #[arg(long, default_value_t = 4)]
    max_attempts: u32,

    /// Time a body has to arrive whole once its headers are in, in milliseconds (slower: 408).
    #[arg(long, default_value_t = sqs_dlq::http::DEFAULT_RECEIVER_BODY_DEADLINE.as_millis() as u64)]
    body_timeout_ms: u64,

    /// Bytes that signed bodies not yet verified may hold together; past it a signed request
    /// gets 503 with Retry-After instead of being buffered.
    #[arg(long, default_value_t = sqs_dlq::http::DEFAULT_UNAUTHENTICATED_BODY_BUDGET)]
    unauthenticated_body_budget: usize,

    #[command(flatten)]
    server: ServerArgs,

    #[command(flatten)]
    common: CommonArgs,
}

async fn run(args: Args) -> anyhow::Result<()> {
    match &args.target_url {
        Some(url) => mode::announce(
            "dead-letter-receiver",
            Mode::Real,
            &format!("replaying to {}", sqs_dlq::redact::url(url)),
        ),
        None => mode::announce(
            "dead-letter-receiver",
            Mode::Simulated,
            "replaying to a local target on 127.0.0.1 (no --target-url)",
        ),
    }
    logging::init(args.common.log_format);
    let _telemetry = genesys_examples::telemetry::init(args.common.metrics_listen).await?;

    let local = match &args.target_url {
        Some(_) => None,
        None => Some(ReplayTargetServer::start().await?),
    };
    let url = match (&args.target_url, &local) {
        (Some(url), _) => url.clone(),
        (None, Some(server)) => server.url(),
        (None, None) => anyhow::bail!("no target"),
    };
    let policy = RetryPolicy::builder()
        .max_attempts(args.max_attempts.max(1))
        .backoff(Backoff::exponential(
            Duration::from_millis(250),
            Duration::from_secs(10),
        ))
        .build();
    let mut target = HttpTarget::builder(url.clone()).retry_policy(policy);
    if let Some(token) = &args.target_token {
        target = target.bearer_token(SecretString::from(token.clone()));
    }
    let target = target.build().context("building the HTTP target")?;
    let mut replay = Replay::builder(target).force(args.force);
    for category in &args.only {
        replay = replay.only(*category);
    }
    let secret = SecretString::from(args.secret.clone());
    let mut receiver = DeadLetterReceiver::builder(replay.build())
        .path(args.path.clone())
        .max_body_bytes(args.max_body_bytes)
        .hmac_secret(secret.clone())
        .bearer_secret(secret)
        .signature_timestamp_tolerance(Duration::from_secs(args.timestamp_tolerance_secs))
        .body_deadline(Duration::from_millis(args.body_timeout_ms))
        .unauthenticated_body_budget(args.unauthenticated_body_budget);
    if args.body_only_signatures {
        tracing::warn!(
            "--body-only-signatures: requests signed over the body alone can be replayed"
        );
        receiver = receiver.body_only_signatures();
    }
    let router = receiver
        .router()
        .context("--secret / DLQ_RECEIVER_SECRET")?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    // The target URL may carry user info (sent as Basic authentication); it is printed only
    // through the one redaction helper.
    let shown = sqs_dlq::redact::url(&url);
    notice(format!(
        "dead-letter-receiver: listening on http://{addr}{} → {shown}",
        args.path
    ));
    tracing::info!(%addr, path = %args.path, target = %shown, "dead-letter receiver listening");
    let server = RunningServer::start(listener, router, &args.server);
    shutdown::signal().await;
    // Bounded: idle and half-open connections close at once, replays in progress get
    // --shutdown-grace-secs (a second signal ends the wait).
    let _ = server.stop().await;
    if let Some(server) = &local {
        let counts = server.counts();
        tracing::info!(
            posts = counts.posts,
            distinct_events = counts.distinct_events,
            "local target totals"
        );
    }
    say(summary(&ReceiverCounts::from_metrics()));
    Ok(())
}

/// The receiver's totals, read back from the metrics it emitted (`genesys.receiver.*`).
struct ReceiverCounts {
    received: u64,
    replayed: u64,
    skipped: u64,
    replay_failed: u64,
    unauthenticated: u64,
    expired_signatures: u64,
    too_large: u64,
    invalid_json: u64,
    not_a_dead_letter: u64,
    unreadable: u64,
    timed_out: u64,
    busy: u64,
}

impl ReceiverCounts {
    fn from_metrics() -> Self {
        let outcome = |o: &str| telemetry::total("genesys_receiver_requests", &[("outcome", o)]);
        Self {
            received: telemetry::total("genesys_receiver_received", &[]),
            replayed: outcome("replayed"),
            skipped: outcome("skipped"),
            replay_failed: outcome("replay_failed"),
            unauthenticated: outcome("unauthenticated"),
            expired_signatures: outcome("expired_signature"),
            too_large: outcome("too_large"),
            invalid_json: outcome("invalid_json"),
            not_a_dead_letter: outcome("not_a_dead_letter"),
            unreadable: outcome("unreadable"),
            timed_out: outcome("timed_out"),
            busy: outcome("busy"),
        }
    }

    fn refused(&self) -> u64 {
        self.too_large
            + self.unreadable
            + self.unauthenticated
            + self.invalid_json
            + self.not_a_dead_letter
            + self.timed_out
            + self.busy
    }
}

/// The one-line account printed at exit.
fn summary(c: &ReceiverCounts) -> String {
    tracing::info!(
        received = c.received,
        replayed = c.replayed,
        skipped = c.skipped,
        replay_failed = c.replay_failed,
        unauthenticated = c.unauthenticated,
        expired_signatures = c.expired_signatures,
        too_large = c.too_large,
        invalid_json = c.invalid_json,
        not_a_dead_letter = c.not_a_dead_letter,
        unreadable = c.unreadable,
        timed_out = c.timed_out,
        busy = c.busy,
        "receiver totals"
    );
    format!(
        "received {}: replayed {}, skipped {}, replay failed {}, refused {} (unauthenticated {}, of which expired {}; too large {}; invalid JSON {}; not a dead letter {}; unreadable {}; timed out {}; busy {})",
        c.received,
        c.replayed,
        c.skipped,
        c.replay_failed,
        c.refused(),
        c.unauthenticated,
        c.expired_signatures,
        c.too_large,
        c.invalid_json,
        c.not_a_dead_letter,
        c.unreadable,
        c.timed_out,
        c.busy
    )
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    finish("dead-letter-receiver", run(args).await)
}
