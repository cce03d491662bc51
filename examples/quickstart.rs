//! `quickstart`: the whole toolkit in one offline run (the README's main command).
//!
//! 1. starts a simulated Genesys Cloud org (genesys-sim) on 127.0.0.1;
//! 2. exports one conversation's history (guest side) to a JSON-lines file, checking every
//!    attachment URL (loopback allowed for the embedded org only) and archiving signed batches to
//!    a local webhook receiver it starts, which verifies each signature;
//! 3. feeds EventBridge-shaped dead letters of every failure family (about the org's
//!    conversations) into an in-memory DLQ;
//! 4. diagnoses them, correlating the conversations through analytics on the org;
//! 5. replays the replay-safe ones to a local target it starts;
//!
//! and prints a short summary of each step. `--report json` prints one JSON object instead:
//! `{output_dir, history: {pages, messages, filtered, duplicates, ordering_violations,
//! rate_limited, retries, depth_limit_reached, media: {valid, expired, unreachable, blocked},
//! elapsed_ms, archive: {batches, messages, repeats, bad_signatures}}, diagnosis: {total,
//! by_category, replay_safe, correlation: {requested, found, not_found, failed,
//! without_conversation}}, replay: {replayed, failed, skipped, target_posts, dlq_left},
//! elapsed_ms}`.
//!
//! ```text
//! cargo run --example quickstart
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use genesys_analytics::AnalyticsClient;
use genesys_analytics::dlq::AnalyticsCorrelator;
use genesys_examples::cli::{CommonArgs, ReportFormat};
use genesys_examples::exit::{finish, say};
use genesys_examples::history::{self, ExportSettings, Source};
use genesys_examples::mode::{self, Mode};
use genesys_examples::reports::{HistoryExportReport, ReplayCounts, millis};
use genesys_examples::servers::{ArchiveReceiver, ReplayTargetServer};
use genesys_examples::{dead_letters, logging};
use genesys_messaging::history::HistoryExportBuilder;
use rand::Rng;
use retry_policy::{Backoff, Pacer, RetryPolicy};
use secrecy::SecretString;
use serde_json::json;
use sqs_dlq::dead_letter::{Diagnosis, FileReportWriter, HttpTarget, Replay};
use sqs_dlq::queue::{MemoryQueue, Queue};

/// Run every job of the toolkit once against an embedded simulated org, offline.
#[derive(Debug, Parser)]
#[command(name = "quickstart", version)]
struct Args {
    /// Where the history file and the diagnosis report go (created).
    #[arg(long)]
    out_dir: Option<PathBuf>,

    /// Simulated org: seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,

    /// Simulated org: number of conversations.
    #[arg(long, default_value_t = 5)]
    conversations: u32,

    /// Simulated org: messages per conversation.
    #[arg(long, default_value_t = 250)]
    messages: u32,

    /// Dead letters fed into the DLQ (every family from 26 on).
    #[arg(long, default_value_t = 40)]
    dead_letters: usize,

    /// Print one JSON report on stdout instead of the step summaries.
    #[arg(long, value_enum)]
    report: Option<ReportFormat>,

    #[command(flatten)]
    common: CommonArgs,
}

async fn run(args: Args) -> anyhow::Result<()> {
    mode::announce(
        "quickstart",
        Mode::Simulated,
        "embedded simulated org, local archive receiver and replay target, in-memory DLQ (offline)",
    );
    logging::init(args.common.log_format);
    let _telemetry = genesys_examples::telemetry::init(args.common.metrics_listen)
        .await?
        .summary_at_exit();
    let started = Instant::now();
    let json_report = args.report.is_some();
    let step = |line: String| {
        if !json_report {
            say(line);
        }
    };
    let out_dir = args.out_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("genesys-quickstart-{}", std::process::id()))
    });
    tokio::fs::create_dir_all(&out_dir)
        .await
        .with_context(|| format!("creating {}", out_dir.display()))?;

    // 1. The org.
    let genesys = mode::connect(
        None,
        mode::sim_org(args.seed, args.conversations, args.messages),
        Pacer::per_minute(6_000, 20),
        RetryPolicy::default(),
    )
    .await?;
    let sim = genesys
        .sim
        .as_ref()
        .context("the simulated org did not start")?;
    let conversations = sim.conversations();
    let first = conversations
        .first()
        .cloned()
        .context("the simulated org has no conversation")?;
    step(format!(
        "1. simulated org at {}: {} conversations of {} messages",
        sim.base_url(),
        conversations.len(),
        args.messages
    ));

    // 2. History export with media checks and a signed webhook archive.
    let secret: String = {
        let mut rng = rand::rng();
        (0..32)
            .map(|_| format!("{:02x}", rng.random::<u8>()))
            .collect()
    };
    let archive = ArchiveReceiver::start(SecretString::from(secret.clone())).await?;
    let history_file = out_dir.join("history.jsonl");
    let settings = ExportSettings {
        // The simulator serves media on 127.0.0.1 over http.
        export: HistoryExportBuilder::settings().media_verifier(history::media_verifier(true)?),
        archive_url: Some(archive.url()),
        archive_secret: Some(SecretString::from(secret)),
        out: Some(history_file.clone()),
        batch_size: 50,
    };
    let exported = history::export(
        &genesys.client,
        Source::guest_jwt(
            SecretString::from(first.guest_jwt.clone()),
            first.id.clone(),
        ),
        settings,
    )
    .await?;
    let history = HistoryExportReport::from(&exported);
    let archived = archive.counts();
    anyhow::ensure!(
        archived.messages == history.messages && archived.bad_signatures == 0,
        "the archive received {} of {} messages ({} bad signatures)",
        archived.messages,
        history.messages,
        archived.bad_signatures
    );
    step(format!(
        "2. history of {}: {} messages in {} pages → {} ({} ms); ordering violations {}, duplicates {}; media valid {}, expired {}, unreachable {}, blocked {}; archive: {} signed batches verified",
        first.id,
        history.messages,
        history.pages,
        history_file.display(),
        history.elapsed_ms,
        history.ordering_violations,
        history.duplicates,
        history.media.valid,
        history.media.expired,
        history.media.unreachable,
        history.media.blocked,
        archived.batches
    ));

    // 3. Dead letters of every failure family into a DLQ.
    let dlq = MemoryQueue::new("genesys-events-dlq");
    let ids: Vec<String> = conversations.iter().map(|c| c.id.clone()).collect();
    let fed = dlq
        .send_batch(dead_letters::generate(
            &ids,
            args.dead_letters,
            args.seed,
            true,
        ))
        .await
        .context("filling the DLQ")?;
    anyhow::ensure!(
        fed.all_ok(),
        "{} dead letters were refused",
        fed.failed.len()
    );
    step(format!(
        "3. DLQ {}: {} EventBridge dead letters ({} failure families)",
        dlq.name(),
        fed.ok.len(),
        dead_letters::FAMILIES.len().min(args.dead_letters)
    ));

    // 4. Diagnosis with correlation through analytics.
    let report_file = out_dir.join("dlq-report.json");
    let correlator = AnalyticsCorrelator::new(AnalyticsClient::new(genesys.client.clone()));
    let diagnosis = Diagnosis::builder(dlq.clone())
        .correlator(Arc::new(correlator))
        .wait_time(Duration::ZERO)
        .build()
        .run(&mut FileReportWriter::new(&report_file).with_markdown(out_dir.join("dlq-report.md")))
        .await
        .context("diagnosing the DLQ")?;
    let diag = &diagnosis.report;
    let replay_safe = diag.records.iter().filter(|r| r.replay_safe).count();
    let categories: Vec<String> = diag
        .by_category
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    step(format!(
        "4. diagnosis of {} dead letters → {}: {}; replay-safe {}; correlated: found {}, not found {}, failed {}, without conversation {}",
        diag.total,
        report_file.display(),
        categories.join(", "),
        replay_safe,
        diag.correlation.found,
        diag.correlation.not_found,
        diag.correlation.failed,
        diag.correlation.without_conversation
    ));

    // 5. Replay of the safe ones to a local target.
    let target = ReplayTargetServer::start().await?;
    let replay = Replay::builder(
        HttpTarget::builder(target.url())
            .retry_policy(
                RetryPolicy::builder()
                    .max_attempts(3)
                    .backoff(Backoff::exponential(
                        Duration::from_millis(100),
                        Duration::from_secs(2),
                    ))
                    .build(),
            )
            .build()
            .context("building the replay target")?,
    )
    .wait_time(Duration::ZERO)
    .build()
    .run(&dlq)
    .await
    .context("replaying the DLQ")?;
    let counts = ReplayCounts::from(&replay);
    let dlq_left = dlq.depth().total();
    let received = target.counts();
    step(format!(
        "5. replay to {}: replayed {}, failed {}, skipped {} (unsafe categories); target received {}; {} left on the DLQ",
        target.url(),
        counts.replayed,
        counts.failed,
        counts.skipped,
        received.posts,
        dlq_left
    ));
    let elapsed = started.elapsed();
    step(format!(
        "done in {} ms; files in {}",
        millis(elapsed),
        out_dir.display()
    ));

    if json_report {
        let mut history_json = serde_json::to_value(history).context("encoding the report")?;
        history_json["archive"] = serde_json::to_value(&archived).context("encoding the report")?;
        say(json!({
            "output_dir": out_dir,
            "history": history_json,
            "diagnosis": {
                "total": diag.total,
                "by_category": diag.by_category,
                "replay_safe": replay_safe,
                "correlation": diag.correlation,
            },
            "replay": {
                "replayed": counts.replayed,
                "failed": counts.failed,
                "skipped": counts.skipped,
                "target_posts": received.posts,
                "dlq_left": dlq_left,
            },
            "elapsed_ms": millis(elapsed),
        }));
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    finish("quickstart", run(args).await)
}
