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
//! With `--redis-url` (env `REDIS_URL`) every consumer process started with the same
//! `--redis-namespace` shares one idempotency record in Redis (a claim with a lease of one
//! visibility timeout, then a done marker kept 24 h; sqs-dlq's `RedisIdempotencyStore`), so a
//! duplicate delivered to another replica is acknowledged, not handled twice, and a replica
//! killed mid-handler leaves its events to be handled by another once its lease runs out.
//! Without it the record is in this process's memory, as before. SQS spreads the work; nothing
//! else is shared.
//!
//! `--report json` prints, at exit, `{received, written, already_written, duplicates, retried,
//! dead_lettered, missing_fields, injected_failures, deleted, queue_left, dlq_depth,
//! elapsed_ms}` (see `genesys_examples::reports::ConsumerReport`). It runs until Ctrl-C,
//! SIGTERM, or once the queue has been idle `--exit-when-idle SECS` (sqs-dlq's
//! `ConsumerBuilder::stop_when_idle`: a message waiting out its retry backoff keeps it running).
//! With in-memory queues nothing the ingest answered 202 is left behind at exit: once the ingest
//! is closed, whatever is still queued (after Ctrl-C, or a webhook that arrived as the consumer
//! went idle) is handled by one more, draining, run (`ConsumerBuilder::drain_on_shutdown`, up to
//! `--drain-secs`; further signals do not cut it, since it holds acknowledged webhooks).
//!
//! The ingest runs on sqs-dlq's hardened server (`sqs_dlq::http::HttpServer`): a header-read timeout
//! (`--header-read-timeout-ms`), a connection cap answered with 503 (`--max-connections`),
//! keep-alive limits, and a shutdown that cannot hang: on Ctrl-C/SIGTERM it stops accepting,
//! closes idle and half-open connections at once and gives requests in the ingest
//! `--shutdown-grace-secs` (a second signal ends that wait). The in-memory queue is bounded
//! (`--max-queue-messages`, `--max-queue-bytes`): past either the ingest answers 503 with
//! `Retry-After`. An empty `--secret` is refused; one under 32 bytes is accepted with a warning.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use genesys_examples::cli::{CommonArgs, ReportFormat};
use genesys_examples::exit::{finish, notice, say};
use genesys_examples::fleet::RedisUrl;
use genesys_examples::http_server::{RunningServer, ServerArgs};
use genesys_examples::mode::{self, Mode};
use genesys_examples::outbound::{DurableLines, OutboundHandler};
use genesys_examples::queues::RecipeQueue;
use genesys_examples::reports::{ConsumerReport, millis};
use genesys_examples::{logging, shutdown};
use retry_policy::{Backoff, Jitter};
use secrecy::SecretString;
use sqs_dlq::consumer::CounterSnapshot;
use sqs_dlq::consumer::{
    Consumer, IdempotencyStore, MemoryIdempotencyStore, RedisIdempotencyStore, StopReason,
};
use sqs_dlq::http::WebhookIngest;
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
    /// ingest already accepted (they are gone when the process exits, so a second Ctrl-C does
    /// not cut this wait short). SQS queues keep them, so there the consumer stops at once.
    #[arg(long, default_value_t = 30)]
    drain_secs: u64,

    /// Most messages the in-memory queue (and, separately, its DLQ) holds; past it the ingest
    /// answers 503 with Retry-After (nothing is accepted that cannot be kept). Ignored with SQS.
    #[arg(long, default_value_t = 10_000)]
    max_queue_messages: usize,

    /// Most bytes the in-memory queue (and, separately, its DLQ) holds (bodies, attributes and
    /// 128 bytes of bookkeeping a message); past it the ingest answers 503 with Retry-After.
    /// Ignored with SQS.
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    max_queue_bytes: usize,

    /// How many written events the sample handler remembers to skip redeliveries (the most
    /// recent ones, 32 bytes each; older ones fall to the consumer's idempotency store).
    #[arg(long, default_value_t = genesys_examples::outbound::DEFAULT_REMEMBERED_KEYS)]
    remember_keys: usize,

    /// Time the ingest has to read a webhook and put it on the queue, in milliseconds; past it
    /// the answer is 503 (senders such as Genesys Cloud wait 5 s).
    #[arg(long, default_value_t = sqs_dlq::http::DEFAULT_INGEST_DEADLINE.as_millis() as u64)]
    ingest_deadline_ms: u64,

    #[command(flatten)]
    server: ServerArgs,

    /// For tests: after the consumer stopped on its own (`--exit-when-idle`), keep the ingest
    /// open this long before closing it, which widens the window a late webhook can land in.
    #[arg(long, hide = true, default_value_t = 0)]
    ingest_linger_ms: u64,

    /// Print the report as JSON on stdout at exit.
    #[arg(long, value_enum)]
    report: Option<ReportFormat>,

    /// Redis (or Valkey) shared by every consumer process (env REDIS_URL): with it, processes
    /// with the same --redis-namespace share one idempotency record (a duplicate handled by one
    /// is acknowledged by the others); without it the record is in this process's memory. A
    /// password in the URL is never printed.
    #[arg(long, env = "REDIS_URL", hide_env_values = true, value_name = "URL")]
    redis_url: Option<RedisUrl>,

    /// Prefix of the shared Redis keys.
    #[arg(long, default_value = "genesys-toolkit", value_name = "NAME")]
    redis_namespace: String,

    #[command(flatten)]
    common: CommonArgs,
}

/// Awaits a consumer run that is draining. The drain handles webhooks the ingest already
/// answered 202: a signal meanwhile does not cut it (that would lose them with the process), it
/// is only logged; `--drain-secs` bounds it.
async fn keep_draining_on_signal<F: Future + Unpin>(run: F, left: u64) -> F::Output {
    let signals = async {
        loop {
            shutdown::signal().await;
            tracing::warn!(
                left,
                "signal during the drain: still handling accepted webhooks (bounded by --drain-secs)"
            );
        }
    };
    tokio::select! {
        output = run => output,
        never = signals => never,
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    match (&args.queue_url, &args.dlq_url) {
        (Some(q), Some(d)) => mode::announce(
            "webhook-consumer",
            Mode::Real,
            &format!(
                "SQS queue {}, DLQ {}",
                sqs_dlq::redact::url(q),
                sqs_dlq::redact::url(d)
            ),
        ),
        _ => mode::announce(
            "webhook-consumer",
            Mode::Simulated,
            "in-memory queue and DLQ (no --queue-url)",
        ),
    }
    logging::init(args.common.log_format);
    let _telemetry = genesys_examples::telemetry::init(args.common.metrics_listen).await?;
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
    let queue = RecipeQueue::open_bounded(
        args.queue_url.as_deref(),
        "outbound-webhooks",
        args.max_queue_messages,
        args.max_queue_bytes,
    )
    .await?;
    // The DLQ is bounded the same way: a dead-letter copy the DLQ cannot take fails like any
    // transient send, and the message stays on the work queue for a later try.
    let dlq = RecipeQueue::open_bounded(
        args.dlq_url.as_deref(),
        "outbound-webhooks-dlq",
        args.max_queue_messages,
        args.max_queue_bytes,
    )
    .await?;
    let (lines, already) = DurableLines::open(&args.out, args.remember_keys)
        .await
        .with_context(|| format!("opening {}", args.out.display()))?;
    tracing::info!(file = %args.out.display(), events_already_written = already.len(), "output opened");
    let handler = Arc::new(OutboundHandler::new(
        lines,
        already,
        args.transient_failure_rate,
        args.seed,
    ));
    let counts = handler.counts();

    // On Ctrl-C/SIGTERM the ingest and the consumer stop together; with --exit-when-idle the
    // consumer stops first. Either way, once the ingest is closed every webhook answered 202 is
    // on the queue, and in-memory mode (whose queue dies with the process) drains what is left.
    let consume_stop = CancellationToken::new();
    let mut ingest = WebhookIngest::builder(queue.shared())
        .path(args.path.clone())
        .deadline(Duration::from_millis(args.ingest_deadline_ms.max(1)));
    if let Some(secret) = &args.secret {
        ingest = ingest.signing_secret(SecretString::from(secret.clone()));
    }
    let router = ingest.router().context("--secret / WEBHOOK_SECRET")?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let server = RunningServer::start(listener, router, &args.server);
    notice(format!(
        "webhook-consumer: listening on http://{addr}{} → {}",
        args.path,
        queue.name()
    ));

    let remember = Duration::from_secs(24 * 3600);
    let idempotency: Arc<dyn IdempotencyStore> = match &args.redis_url {
        Some(url) => {
            notice(format!(
                "webhook-consumer: idempotency shared through Redis at {} (namespace {})",
                url.redacted(),
                args.redis_namespace
            ));
            Arc::new(
                RedisIdempotencyStore::new(
                    url.secret(),
                    format!("{}:webhook-consumer", args.redis_namespace),
                    remember,
                )
                .with_context(|| format!("Redis at {}", url.redacted()))?,
            )
        }
        None => Arc::new(MemoryIdempotencyStore::new(100_000, remember)),
    };
    let consumer = |shutdown: &CancellationToken| {
        Consumer::builder(queue.shared(), handler.clone())
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
            .idempotency_store(idempotency.clone())
            .shutdown(shutdown.clone())
            .shutdown_timeout(Duration::from_secs(10))
            .seed(args.seed)
    };

    let mut first = consumer(&consume_stop);
    if let Some(idle) = stop_when_idle {
        first = first.stop_when_idle(idle);
    }
    let run = first.build().context("building the consumer")?.run();
    tokio::pin!(run);
    let first = tokio::select! {
        // Idle (or a receive failure): the consumer ended by itself.
        summary = &mut run => summary,
        () = shutdown::signal() => {
            server.shutdown.begin();
            consume_stop.cancel();
            run.await
        }
    };
    let first = first.context("consuming the queue")?;
    let idle_stop = first.stop_reason == StopReason::Idle;
    if idle_stop && args.ingest_linger_ms > 0 {
        tokio::time::sleep(Duration::from_millis(args.ingest_linger_ms)).await;
    }
    // Bounded: idle and half-open connections close at once, requests in the ingest get the
    // grace period (a second signal ends it), then the server is gone.
    let _ = server.stop().await;
    let mut runs = vec![first];
    // The ingest is closed: what is queued now stays queued. SQS keeps it for the next start; an
    // in-memory queue would lose it at exit, so one more run drains it (up to --drain-secs;
    // signals do not cut it short: what it holds was acknowledged).
    let left = queue.depth_total().await;
    if left > 0 && !queue.is_sqs() {
        let why = if idle_stop {
            "webhooks arrived as the consumer went idle"
        } else {
            "accepted webhooks are still queued"
        };
        tracing::info!(left, "{why}; handling them before exit");
        let fired = CancellationToken::new();
        fired.cancel();
        let drain = consumer(&fired)
            .drain_on_shutdown(Duration::from_secs(args.drain_secs))
            .build()
            .context("building the draining consumer")?
            .run();
        let summary = keep_draining_on_signal(std::pin::pin!(drain), left).await;
        runs.push(summary.context("draining the in-memory queue")?);
    }
    for summary in &runs {
        tracing::info!(stop_reason = ?summary.stop_reason, drain = ?summary.drain, "consumer finished");
    }
    let total = |field: fn(&CounterSnapshot) -> u64| -> u64 {
        runs.iter().map(|summary| field(&summary.counters)).sum()
    };
    let report = ConsumerReport {
        received: total(|c| c.received),
        written: counts.written.load(Ordering::Relaxed),
        already_written: counts.already_written.load(Ordering::Relaxed),
        duplicates: total(|c| c.duplicates),
        retried: total(|c| c.retried),
        dead_lettered: total(|c| c.dead_lettered),
        missing_fields: counts.missing_fields.load(Ordering::Relaxed),
        injected_failures: counts.injected_failures.load(Ordering::Relaxed),
        deleted: total(|c| c.deleted),
        queue_left: queue.depth_total().await,
        dlq_depth: dlq.depth_total().await,
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
