//! `dlq-replay`: deliver EventBridge dead letters again — to an HTTP endpoint (`--to-url`) or
//! back to a source queue (`--to-queue`) — and delete from the DLQ only what the target
//! accepted. Unsafe categories (`auth_rejected`, `target_missing`, `payload_rejected`,
//! `unknown`) are skipped unless `--force`.
//!
//! ```text
//! cargo run --example dlq-replay -- --report json                      # embedded DLQ → local target
//! cargo run --example dlq-replay -- --queue-url https://sqs.../genesys-dlq --to-url https://events.example.com/genesys --only rate_limited
//! cargo run --example dlq-replay -- --queue-url genesys-dlq --to-queue genesys-events --dry-run
//! ```
//!
//! `--report json` prints `{replayed, failed, skipped}`: counts of dead letters the target
//! accepted (deleted from the DLQ), the target refused or could not take (back on the DLQ), and
//! did not send (policy, `--only`, not an event, `--dry-run`; back on the DLQ).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use genesys_examples::cli::{CommonArgs, ReportFormat};
use genesys_examples::exit::{finish, say};
use genesys_examples::fleet::FleetArgs;
use genesys_examples::mode::{self, Mode};
use genesys_examples::queues::RecipeQueue;
use genesys_examples::reports::ReplayCounts;
use genesys_examples::servers::ReplayTargetServer;
use genesys_examples::{dead_letters, logging, progress};
use retry_policy::{Backoff, Pacer, RetryPolicy};
use secrecy::SecretString;
use sqs_dlq::dead_letter::{Category, HttpTarget, QueueTarget, Replay, ReplayTarget};
use sqs_dlq::queue::Queue;

/// Replay dead letters to an HTTP endpoint or a queue; delete only what was delivered.
#[derive(Debug, Parser)]
#[command(name = "dlq-replay", version)]
struct Args {
    /// The DLQ (SQS URL or name; AWS config chain incl. AWS_ENDPOINT_URL). Without it, an
    /// embedded DLQ filled with generated dead letters of every failure family.
    #[arg(long, conflicts_with = "sim")]
    queue_url: Option<String>,

    /// POST each original body here (`X-Attempt-Count`, `X-Event-Id`, `X-Replay-Source`).
    /// Without it and `--to-queue`, an embedded DLQ replays to a local target it starts.
    #[arg(long, conflicts_with = "to_queue")]
    to_url: Option<String>,

    /// Send each dead letter back to this queue (SQS URL or name; with the embedded DLQ, an
    /// in-memory queue of that name).
    #[arg(long)]
    to_queue: Option<String>,

    /// Bearer token sent to `--to-url` (or set DLQ_REPLAY_TOKEN).
    #[arg(long, env = "DLQ_REPLAY_TOKEN", hide_env_values = true)]
    to_url_token: Option<String>,

    /// Decide and report, send nothing, delete nothing.
    #[arg(long)]
    dry_run: bool,

    /// Replay only this category (repeat for more): rate_limited, auth_rejected,
    /// endpoint_unreachable, target_missing, payload_rejected, unknown.
    #[arg(long, value_name = "CATEGORY")]
    only: Vec<Category>,

    /// Replay unsafe categories and non-event bodies too (after fixing the cause).
    #[arg(long)]
    force: bool,

    /// Stop after this many distinct messages.
    #[arg(long)]
    max: Option<usize>,

    /// Queue target: send batches per second at most (with --redis-url: all replaying processes
    /// on the same --redis-namespace together).
    #[arg(long, default_value_t = 10.0)]
    queue_rate: f64,

    /// Embedded DLQ only: number of generated dead letters.
    #[arg(long, default_value_t = 30)]
    generated: usize,

    /// Generated letters: seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,

    /// Print the report as JSON on stdout.
    #[arg(long, value_enum)]
    report: Option<ReportFormat>,

    #[command(flatten)]
    fleet: FleetArgs,

    #[command(flatten)]
    common: CommonArgs,
}

async fn run(args: Args) -> anyhow::Result<()> {
    let embedded = args.queue_url.is_none();
    let target_detail = match (&args.to_url, &args.to_queue) {
        (Some(url), _) => format!("HTTP target {}", sqs_dlq::redact::url(url)),
        (None, Some(q)) if embedded => format!("in-memory queue {q}"),
        (None, Some(q)) => format!("SQS queue {q}"),
        (None, None) => "a local HTTP target on 127.0.0.1".to_owned(),
    };
    match &args.queue_url {
        Some(url) => mode::announce(
            "dlq-replay",
            Mode::Real,
            &format!("SQS DLQ {} → {target_detail}", sqs_dlq::redact::url(url)),
        ),
        None => mode::announce(
            "dlq-replay",
            Mode::Simulated,
            &format!(
                "embedded in-memory DLQ with generated dead letters → {target_detail} (no --queue-url)"
            ),
        ),
    }
    logging::init(args.common.log_format);
    let _telemetry = genesys_examples::telemetry::init(args.common.metrics_listen)
        .await?
        .summary_at_exit();
    anyhow::ensure!(
        embedded || args.to_url.is_some() || args.to_queue.is_some(),
        "--queue-url needs a target: --to-url URL or --to-queue URL"
    );

    let dlq = RecipeQueue::open(args.queue_url.as_deref(), "genesys-dlq").await?;
    if let RecipeQueue::Memory(memory) = &dlq {
        // Conversation ids as the embedded simulated org (seed, 5 conversations) has them.
        let sim = mode::sim_org(args.seed, 5, 1)
            .start()
            .await
            .context("starting the simulated org")?;
        let ids: Vec<String> = sim.conversations().into_iter().map(|c| c.id).collect();
        let outcome = memory
            .send_batch(dead_letters::generate(
                &ids,
                args.generated,
                args.seed,
                false,
            ))
            .await
            .context("filling the embedded DLQ")?;
        anyhow::ensure!(outcome.all_ok(), "filling the embedded DLQ failed");
    }

    let mut local_target = None;
    let mut memory_target = None;
    let policy = RetryPolicy::builder()
        .max_attempts(4)
        .backoff(Backoff::exponential(
            Duration::from_millis(200),
            Duration::from_secs(10),
        ))
        .build();
    let target: Box<dyn ReplayTarget> = match (&args.to_url, &args.to_queue) {
        (Some(url), _) => {
            let mut b = HttpTarget::builder(url.clone()).retry_policy(policy);
            if let Some(token) = &args.to_url_token {
                b = b.bearer_token(SecretString::from(token.clone()));
            }
            Box::new(b.build().context("building the HTTP target")?)
        }
        (None, Some(name)) => {
            let queue = if embedded {
                let q = sqs_dlq::queue::MemoryQueue::new(name.clone());
                memory_target = Some(q.clone());
                RecipeQueue::Memory(q)
            } else {
                RecipeQueue::open(Some(name), name).await?
            };
            Box::new(
                QueueTarget::from_arc(queue.shared())
                    .pacer(args.fleet.pacer(
                        &format!("replay-queue:{name}"),
                        args.queue_rate.max(0.1),
                        1,
                        Pacer::per_second(args.queue_rate.max(0.1), 1),
                    )?)
                    .retry_policy(policy),
            )
        }
        (None, None) => {
            let server = ReplayTargetServer::start().await?;
            let target = HttpTarget::builder(server.url())
                .retry_policy(policy)
                .build()
                .context("building the local HTTP target")?;
            local_target = Some(server);
            Box::new(target)
        }
    };

    let mut builder = Replay::builder_arc(target.into())
        .force(args.force)
        .dry_run(args.dry_run)
        .wait_time(if dlq.is_sqs() {
            Duration::from_secs(1)
        } else {
            Duration::ZERO
        });
    for category in &args.only {
        builder = builder.only(*category);
    }
    if let Some(max) = args.max {
        builder = builder.max_messages(max);
    }
    let spinner = progress::spinner("replaying");
    let report = builder
        .build()
        .run(dlq.shared().as_ref())
        .await
        .context("replaying the dead-letter queue")?;
    spinner.finish_and_clear();
    let counts = ReplayCounts::from(&report);

    if args.report.is_some() {
        say(serde_json::to_string(&counts).context("encoding the report")?);
    } else {
        say(format!(
            "{}replayed {} to {}, failed {}, skipped {}",
            if report.dry_run { "dry run: " } else { "" },
            counts.replayed,
            report.target,
            counts.failed,
            counts.skipped
        ));
        for skipped in report.skipped.iter().take(20) {
            say(format!(
                "  skipped {}: {}",
                skipped.message_id, skipped.reason
            ));
        }
        for failed in &report.failed {
            say(format!(
                "  failed {}: {}",
                failed.message_id, failed.rejected.reason
            ));
        }
    }
    let left = dlq.depth_total().await;
    tracing::info!(
        replayed = counts.replayed,
        failed = counts.failed,
        skipped = counts.skipped,
        dlq_left = left,
        local_target = ?local_target.as_ref().map(ReplayTargetServer::counts),
        memory_target_depth = ?memory_target.as_ref().map(|q| q.depth().total()),
        "replay finished"
    );
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    finish("dlq-replay", run(args).await)
}
