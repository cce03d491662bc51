//! `dlq-diagnose`: read an EventBridge dead-letter queue, categorize every message from its
//! `ERROR_CODE`/`ERROR_MESSAGE` attributes, correlate the conversations through Genesys Cloud
//! analytics, and write a root cause report — without deleting anything unless `--ack`.
//!
//! ```text
//! cargo run --example dlq-diagnose -- --correlate --summary            # embedded DLQ + simulated org
//! cargo run --example dlq-diagnose -- --queue-url https://sqs.us-east-1.amazonaws.com/123456789012/genesys-dlq \
//!     --correlate --report dlq-report.json --payloads payloads/
//! ```
//!
//! Report (`--report FILE.json`, or `--report -` for stdout): the sqs-dlq root cause report,
//! schema version 1: `{version, generated_at, total, by_category: {rate_limited, auth_rejected,
//! endpoint_unreachable, target_missing, payload_rejected, transient, misconfigured, unknown},
//! records: [{message_id, category, error_code, topic, conversation_id, replay_safe,
//! correlated}]}` plus the further
//! fields documented in sqs-dlq's `report` module (`queue`, `acknowledged`, `by_error_code`,
//! `by_topic`, `by_target`, `groups`, `correlation`, and per record `category_basis`,
//! `error_message`, `rule_arn`, `target_arn`, `retry_attempts`, `exhausted_retry_condition`,
//! `receive_count`, `event_id`, `detail_type`, `source`, `event_time`, `correlation`,
//! `correlation_error`, `error_code_reason`, `parse_error`, `attributes`, `original_body`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use clap::Parser;
use genesys_analytics::AnalyticsClient;
use genesys_analytics::dlq::AnalyticsCorrelator;
use genesys_examples::cli::CommonArgs;
use genesys_examples::exit::{finish, say};
use genesys_examples::fleet::{self, FleetArgs};
use genesys_examples::mode::{self, Mode};
use genesys_examples::queues::RecipeQueue;
use genesys_examples::{dead_letters, logging, progress};
use retry_policy::{Pacer, RetryPolicy};
use sqs_dlq::dead_letter::{
    Diagnosis, FileReportWriter, MemoryReportWriter, ReportWriter, RootCauseReport,
};
use sqs_dlq::queue::Queue;

/// Diagnose an EventBridge dead-letter queue: categories, correlated conversations, a report.
#[derive(Debug, Parser)]
#[command(name = "dlq-diagnose", version)]
struct Args {
    /// The DLQ (SQS URL or name; AWS config chain incl. AWS_ENDPOINT_URL). Without it, an
    /// embedded DLQ filled with generated dead letters of every failure family.
    #[arg(long, conflicts_with = "sim")]
    queue_url: Option<String>,

    /// Stop after this many distinct messages (default: until the queue is empty).
    #[arg(long)]
    max: Option<usize>,

    /// Look the conversations up in Genesys Cloud analytics (the simulated org without
    /// GENESYSCLOUD_* settings).
    #[arg(long)]
    correlate: bool,

    /// Delete the messages once the report (and the payloads) are written. Default: leave
    /// every message on the queue.
    #[arg(long)]
    ack: bool,

    /// Write the JSON report to this file (`-` for stdout).
    #[arg(long, value_name = "FILE.json")]
    report: Option<PathBuf>,

    /// Print the Markdown summary on stdout.
    #[arg(long)]
    summary: bool,

    /// Write each original body, byte for byte, to DIR/<message_id>.json (for
    /// `curl --data @file` replays).
    #[arg(long, value_name = "DIR")]
    payloads: Option<PathBuf>,

    /// Embedded DLQ only: number of generated dead letters (all families from 26 on).
    #[arg(long, default_value_t = 30)]
    generated: usize,

    /// Simulated org and generated letters: seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,

    /// Simulated org: number of conversations.
    #[arg(long, default_value_t = 5)]
    conversations: u32,

    /// How long a message stays hidden while the run lasts (seconds).
    #[arg(long, default_value_t = 900)]
    visibility_secs: u64,

    #[command(flatten)]
    fleet: FleetArgs,

    #[command(flatten)]
    common: CommonArgs,
}

/// Writes the payload files, then the report; `Ok` only once both are stored, so `--ack`
/// deletes nothing whose copy is missing.
struct RecipeWriter {
    payloads: Option<PathBuf>,
    file: Option<FileReportWriter>,
    memory: MemoryReportWriter,
}

#[async_trait]
impl ReportWriter for RecipeWriter {
    async fn write_report(&mut self, report: &RootCauseReport) -> std::io::Result<()> {
        if let Some(dir) = &self.payloads {
            write_payloads(dir, report).await?;
        }
        if let Some(file) = &mut self.file {
            file.write_report(report).await?;
        }
        self.memory.write_report(report).await
    }
}

/// A message id as a file name: anything but `[A-Za-z0-9._-]` becomes `_`.
fn file_name(message_id: &str) -> String {
    let safe: String = message_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{}.json", safe.trim_start_matches('.'))
}

async fn write_payloads(dir: &Path, report: &RootCauseReport) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    tokio::fs::create_dir_all(dir).await?;
    for record in &report.records {
        let path = dir.join(file_name(&record.message_id));
        let mut file = tokio::fs::File::create(&path).await?;
        file.write_all(record.original_body.as_bytes()).await?;
        file.sync_all().await?;
    }
    Ok(())
}

async fn run(args: Args) -> anyhow::Result<()> {
    let env = mode::genesys_env(args.common.sim)?;
    let embedded_dlq = args.queue_url.is_none();
    let needs_org = args.correlate || embedded_dlq;
    let genesys_detail = match (&env, needs_org) {
        (_, false) => "no Genesys calls".to_owned(),
        (Some(_), true) => "Genesys Cloud from GENESYSCLOUD_*".to_owned(),
        (None, true) => format!(
            "embedded simulated Genesys org ({})",
            mode::sim_reason(args.common.sim)
        ),
    };
    let (queue_mode, queue_detail) = match &args.queue_url {
        Some(url) => (Mode::Real, format!("SQS DLQ {}", sqs_dlq::redact::url(url))),
        None => (
            Mode::Simulated,
            "embedded in-memory DLQ with generated dead letters".to_owned(),
        ),
    };
    let overall = if queue_mode == Mode::Real && (env.is_some() || !needs_org) {
        Mode::Real
    } else {
        Mode::Simulated
    };
    mode::announce(
        "dlq-diagnose",
        overall,
        &format!(
            "{queue_detail}; {genesys_detail}; {}",
            args.fleet.describe()
        ),
    );
    logging::init(args.common.log_format);
    let _telemetry = genesys_examples::telemetry::init(args.common.metrics_listen)
        .await?
        .summary_at_exit();

    let genesys = if needs_org {
        Some(
            mode::connect(
                env,
                mode::sim_org(args.seed, args.conversations, 20),
                args.fleet
                    .pacer(&fleet::oauth_scope(), 5.0, 10, Pacer::per_minute(300, 10))?,
                RetryPolicy::default(),
            )
            .await?,
        )
    } else {
        None
    };

    let queue = RecipeQueue::open(args.queue_url.as_deref(), "genesys-dlq").await?;
    if let RecipeQueue::Memory(memory) = &queue {
        let ids: Vec<String> = genesys
            .as_ref()
            .and_then(|g| g.sim.as_ref())
            .map(|sim| sim.conversations().into_iter().map(|c| c.id).collect())
            .unwrap_or_default();
        let letters = dead_letters::generate(&ids, args.generated, args.seed, true);
        let outcome = memory
            .send_batch(letters)
            .await
            .context("filling the embedded DLQ")?;
        anyhow::ensure!(
            outcome.all_ok(),
            "filling the embedded DLQ: {} sends failed",
            outcome.failed.len()
        );
        tracing::info!(
            messages = outcome.ok.len(),
            "embedded DLQ filled with generated dead letters"
        );
    }

    let mut builder = Diagnosis::builder(queue.shared())
        .acknowledge(args.ack)
        .visibility_timeout(Duration::from_secs(args.visibility_secs.max(1)))
        .wait_time(if queue.is_sqs() {
            Duration::from_secs(1)
        } else {
            Duration::ZERO
        });
    if let Some(max) = args.max {
        builder = builder.max_messages(max);
    }
    if args.correlate
        && let Some(g) = &genesys
    {
        let analytics = AnalyticsClient::new(g.client.clone());
        builder = builder.correlator(Arc::new(AnalyticsCorrelator::new(analytics)));
    }
    let report_to_stdout = args.report.as_deref() == Some(Path::new("-"));
    let mut writer = RecipeWriter {
        payloads: args.payloads.clone(),
        file: args
            .report
            .as_ref()
            .filter(|_| !report_to_stdout)
            .map(FileReportWriter::new),
        memory: MemoryReportWriter::default(),
    };
    let spinner = progress::spinner("diagnosing");
    let outcome = builder
        .build()
        .run(&mut writer)
        .await
        .context("diagnosing the dead-letter queue")?;
    spinner.finish_and_clear();
    let report = &outcome.report;

    if report_to_stdout {
        say(report.to_json().context("encoding the report")?);
    } else if args.summary {
        say(report.to_markdown());
    } else {
        let by_category: Vec<String> = report
            .by_category
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        say(format!(
            "diagnosed {} dead letter(s) from {}: {}",
            report.total,
            report.queue,
            by_category.join(" ")
        ));
        let c = &report.correlation;
        say(format!(
            "correlation: {} conversation(s) looked up; found {}, not found {}, failed {}, without conversation {}",
            c.requested, c.found, c.not_found, c.failed, c.without_conversation
        ));
        if c.failed > 0 {
            say(format!(
                "correlation: {} record(s) could not be looked up (their `correlation_error` says why; \
                 the rest of their batches were kept); run again to retry them",
                c.failed
            ));
        }
        let safe = report.records.iter().filter(|r| r.replay_safe).count();
        say(format!(
            "replay-safe: {safe}; deleted {}, released {}{}",
            outcome.deleted,
            outcome.released,
            args.report
                .as_ref()
                .map(|p| format!("; report written to {}", p.display()))
                .unwrap_or_default()
        ));
    }
    if !outcome.delete_failures.is_empty() || !outcome.release_failures.is_empty() {
        tracing::warn!(
            delete_failures = outcome.delete_failures.len(),
            release_failures = outcome.release_failures.len(),
            "some messages could not be deleted or released; they reappear after their visibility timeout"
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    finish("dlq-diagnose", run(args).await)
}
