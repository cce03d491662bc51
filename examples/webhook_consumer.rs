//! `webhook-consumer`: HTTP ingest and a queue consumer in one process. Webhook POSTs are put
//! on a queue before the answer (202); the consumer runs the sample outbound handler over them:
//! each event with `outboundContactId` and `conversationId` is written once to `--out`
//! (appended and fsynced before its message is deleted), an event missing them goes to the DLQ
//! as a permanent failure, transient failures back off through the visibility timeout and go to
//! the DLQ after `--max-receives`.
//!
//! ```text
//! cargo run --example webhook-consumer -- --out events.jsonl              # in-memory queues
//! cargo run --example webhook-consumer -- --queue-url https://sqs.../outbound --dlq-url https://sqs.../outbound-dlq \
//!     --out events.jsonl --concurrency 32 --max-receives 5
//! curl -X POST localhost:8080/events -d '{"outboundContactId":"c1","conversationId":"5f1c…"}'
//! ```
//!
//! `--report json` prints, at exit, `{received, written, already_written, duplicates, retried,
//! dead_lettered, missing_fields, injected_failures, deleted, queue_left, dlq_depth,
//! elapsed_ms}` (see `genesys_examples::reports::ConsumerReport`). It runs until Ctrl-C,
//! SIGTERM, or once the queue has been idle `--exit-when-idle SECS` (sqs-dlq's
//! `ConsumerBuilder::stop_when_idle`: a message waiting out its retry backoff keeps it running).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use genesys_examples::cli::{CommonArgs, ReportFormat};
use genesys_examples::exit::{finish, notice, say};
use genesys_examples::mode::{self, Mode};
use genesys_examples::outbound::{DurableLines, OutboundHandler};
use genesys_examples::queues::RecipeQueue;
use genesys_examples::reports::{ConsumerReport, millis};
use genesys_examples::{logging, shutdown};
use retry_policy::{Backoff, Jitter};
use secrecy::SecretString;
use sqs_dlq::{Consumer, MemoryIdempotencyStore, Queue, WebhookIngest};
use tokio_util::sync::CancellationToken;

/// Take webhooks over HTTP into a queue and consume them idempotently into a JSON-lines file.
#[derive(Debug, Parser)]
#[command(name = "webhook-consumer", version)]
struct Args {
    /// Address the ingest listens on (port 0 picks a free port; printed on stderr).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// The route webhooks are POSTed to.
    #[arg(long, default_value = "/events")]
    path: String,

    /// The work queue (SQS URL or name; AWS config chain incl. AWS_ENDPOINT_URL). Without it,
    /// in-memory queues.
    #[arg(long, requires = "dlq_url", conflicts_with = "sim")]
    queue_url: Option<String>,

    /// The dead-letter queue for failed and poison messages (SQS URL or name).
    #[arg(long, requires = "queue_url")]
    dlq_url: Option<String>,

    /// Receives before a transiently failing message goes to the DLQ.
    #[arg(long, default_value_t = 5)]
    max_receives: u32,

    /// Handlers running at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,

    /// The JSON-lines file events are appended to (one line per event, written once).
    #[arg(long, default_value = "webhook-events.jsonl")]
    out: PathBuf,

    /// Stop once the queue has been idle this many seconds: nothing visible, in flight
    /// (including messages waiting out a retry backoff) or delayed, and no handler running.
    #[arg(long, value_name = "SECS")]
    exit_when_idle: Option<f64>,

    /// Fail this share (0..=1) of handler attempts transiently, for drills.
    #[arg(long, default_value_t = 0.0)]
    transient_failure_rate: f64,

    /// Seed of the injected failures and of the backoff jitter.
    #[arg(long, default_value_t = 0)]
    seed: u64,

    /// Require `X-Signature-256` (HMAC-SHA256 of "{X-Signature-Timestamp}.{body}") under this
    /// secret (or set WEBHOOK_SECRET).
    #[arg(long, env = "WEBHOOK_SECRET", hide_env_values = true)]
    secret: Option<String>,

    /// Visibility timeout of received messages, in seconds (a heartbeat extends it).
    #[arg(long, default_value_t = 30)]
    visibility_timeout_secs: u64,

    /// First retry delay after a transient failure, in milliseconds (doubles, equal jitter).
    #[arg(long, default_value_t = 5000)]
    retry_delay_ms: u64,

    /// Long-poll wait of each receive, in seconds (at most 20).
    #[arg(long, default_value_t = 20)]
    wait_secs: u64,

    /// With in-memory queues, how long a shutdown waits for the consumer to handle what the
    /// ingest already accepted (they are gone when the process exits; a second Ctrl-C stops
    /// waiting). SQS queues keep them, so there the consumer stops at once.
    #[arg(long, default_value_t = 30)]
    drain_secs: u64,

    /// Print the report as JSON on stdout at exit.
    #[arg(long, value_enum)]
    report: Option<ReportFormat>,

    #[command(flatten)]
    common: CommonArgs,
}

/// Waits until the in-memory `queue` holds nothing (visible, in flight or delayed), `limit`
/// passes, or a second Ctrl-C/SIGTERM comes; says what is left if it gives up.
async fn drain(queue: &RecipeQueue, limit: Duration) {
    let q = queue.shared();
    let empty = async {
        loop {
            match q.approximate_depth().await {
                Ok(depth) if depth.total() == 0 => return,
                Ok(depth) => tracing::info!(left = depth.total(), "draining the in-memory queue"),
                Err(error) => tracing::warn!(%error, "queue depth unavailable"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let gave_up = tokio::select! {
        () = empty => false,
        () = tokio::time::sleep(limit) => true,
        () = shutdown::signal() => true,
    };
    if gave_up {
        let left = q
            .approximate_depth()
            .await
            .map(|d| d.total())
            .unwrap_or_default();
        if left > 0 {
            tracing::error!(
                left,
                "stopping with accepted webhooks still on the in-memory queue: they are lost (use SQS queues to keep them)"
            );
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    match (&args.queue_url, &args.dlq_url) {
        (Some(q), Some(d)) => mode::announce(
            "webhook-consumer",
            Mode::Real,
            &format!("SQS queue {q}, DLQ {d}"),
        ),
        _ => mode::announce(
            "webhook-consumer",
            Mode::Simulated,
            "in-memory queue and DLQ (no --queue-url)",
        ),
    }
    logging::init(args.common.log_format);
    anyhow::ensure!(
        (0.0..=1.0).contains(&args.transient_failure_rate),
        "--transient-failure-rate must be within 0..=1"
    );
    let stop_when_idle = args
        .exit_when_idle
        .map(|secs| Duration::try_from_secs_f64(secs.max(0.0)))
        .transpose()
        .context("--exit-when-idle must be a number of seconds")?;
    let started = Instant::now();
    let queue = RecipeQueue::open(args.queue_url.as_deref(), "outbound-webhooks").await?;
    let dlq = RecipeQueue::open(args.dlq_url.as_deref(), "outbound-webhooks-dlq").await?;
    let (lines, already) = DurableLines::open(&args.out)
        .await
        .with_context(|| format!("opening {}", args.out.display()))?;
    tracing::info!(file = %args.out.display(), events_already_written = already.len(), "output opened");
    let handler = OutboundHandler::new(lines, already, args.transient_failure_rate, args.seed);
    let counts = handler.counts();

    // Two stops, in this order: the ingest first (its in-flight requests finish, so every 202
    // is on the queue), then the consumer. In-memory queues die with the process, so there the
    // consumer first drains what the ingest accepted (up to --drain-secs).
    let ingest_stop = CancellationToken::new();
    let consume_stop = CancellationToken::new();
    let mut ingest = WebhookIngest::builder(queue.shared()).path(args.path.clone());
    if let Some(secret) = &args.secret {
        ingest = ingest.signing_secret(SecretString::from(secret.clone()));
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let server_stop = ingest_stop.clone();
    let mut server = tokio::spawn(async move {
        axum::serve(listener, ingest.router())
            .with_graceful_shutdown(async move { server_stop.cancelled().await })
            .await
    });
    notice(format!(
        "webhook-consumer: listening on http://{addr}{} → {}",
        args.path,
        queue.name()
    ));

    let mut consumer = Consumer::builder(queue.shared(), handler)
        .dead_letter_queue(dlq.shared())
        .concurrency(args.concurrency.max(1))
        .max_receives(args.max_receives.max(1))
        .visibility_timeout(Duration::from_secs(args.visibility_timeout_secs.max(1)))
        .wait_time(Duration::from_secs(args.wait_secs.min(20)))
        .retry_backoff(
            Backoff::exponential(
                Duration::from_millis(args.retry_delay_ms.max(1)),
                Duration::from_secs(15 * 60),
            )
            .jitter(Jitter::Equal),
        )
        .idempotency_store(MemoryIdempotencyStore::new(
            100_000,
            Duration::from_secs(24 * 3600),
        ))
        .shutdown(consume_stop.clone())
        .shutdown_timeout(Duration::from_secs(10))
        .seed(args.seed);
    if let Some(idle) = stop_when_idle {
        consumer = consumer.stop_when_idle(idle);
    }
    let consumer = consumer.build().context("building the consumer")?;

    let run = consumer.run();
    tokio::pin!(run);
    let mut server_result = None;
    let summary = tokio::select! {
        // Idle (or a receive failure): the consumer ended by itself.
        summary = &mut run => summary,
        () = shutdown::signal() => {
            ingest_stop.cancel();
            let drained = async {
                server_result = Some((&mut server).await);
                if !queue.is_sqs() {
                    drain(&queue, Duration::from_secs(args.drain_secs)).await;
                }
            };
            tokio::select! {
                // The consumer ended while the ingest was closing or the queue draining.
                summary = &mut run => summary,
                () = drained => {
                    consume_stop.cancel();
                    run.await
                }
            }
        }
    };
    ingest_stop.cancel();
    let server_result = match server_result {
        Some(result) => result,
        None => server.await,
    };
    match server_result {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::error!(%error, "ingest server failed"),
        Err(error) => tracing::error!(%error, "ingest server task failed"),
    }
    let summary = summary.context("consuming the queue")?;
    tracing::info!(stop_reason = ?summary.stop_reason, "consumer finished");
    let depth = |q: &RecipeQueue| {
        let q = q.shared();
        async move {
            q.approximate_depth()
                .await
                .map(|d| d.total())
                .unwrap_or_default()
        }
    };
    let c = summary.counters;
    let report = ConsumerReport {
        received: c.received,
        written: counts.written.load(Ordering::Relaxed),
        already_written: counts.already_written.load(Ordering::Relaxed),
        duplicates: c.duplicates,
        retried: c.retried,
        dead_lettered: c.dead_lettered,
        missing_fields: counts.missing_fields.load(Ordering::Relaxed),
        injected_failures: counts.injected_failures.load(Ordering::Relaxed),
        deleted: c.deleted,
        queue_left: depth(&queue).await,
        dlq_depth: depth(&dlq).await,
        elapsed_ms: millis(started.elapsed()),
    };
    if args.report.is_some() {
        say(serde_json::to_string(&report).context("encoding the report")?);
    } else {
        say(format!(
            "received {}, written {} to {}, dead-lettered {}, retried {}, queue left {}, DLQ {}",
            report.received,
            report.written,
            args.out.display(),
            report.dead_lettered,
            report.retried,
            report.queue_left,
            report.dlq_depth
        ));
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    finish("webhook-consumer", run(args).await)
}
