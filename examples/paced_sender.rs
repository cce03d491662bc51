//! `paced-sender`: send many messages into many conversations under one org-wide pace: one
//! bounded queue, a lane per conversation (so a retried send holds back the later messages of
//! its conversation and order is kept), every request through the shared pacer, 429s waited
//! out with Retry-After floored (the simulated org answers `Retry-After: 0` while still
//! limited, as the platform has been seen to do).
//!
//! ```text
//! cargo run --example paced-sender -- --messages 500 --conversations 10 --workers 8 --report json  # simulated org
//! GENESYSCLOUD_OAUTHCLIENT_ID=… GENESYSCLOUD_OAUTHCLIENT_SECRET=… GENESYSCLOUD_REGION=us-east-1 \
//!   cargo run --example paced-sender -- --target CONVERSATION_ID:COMMUNICATION_ID --messages 20 --rate 2
//! ```
//!
//! With `--redis-url` (env `REDIS_URL`) every process started with the same `--redis-namespace`
//! keeps one pace of `--rate` between them (GCRA in Redis; 429 pauses and learned limits shared;
//! Redis down: each process at `--rate / --fleet-size`). Without it, `--rate` is this process's
//! own pace, as before. `scripts/fleet-bench` runs N processes against one genesys-sim.
//!
//! `--report json` prints `{sent, failed, rate_limited, elapsed_ms, achieved_rps, order_ok,
//! requests, pacer, shared_acquires, fallback_acquires}`:
//! `order_ok` is true when every conversation received its messages in submission order —
//! checked against the simulated org's arrival log, or against the platform's `timestamp` of
//! each accepted message on a real org.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use genesys_examples::cli::{CommonArgs, ReportFormat};
use genesys_examples::exit::{finish, say};
use genesys_examples::fleet::{self, FleetArgs};
use genesys_examples::mode::{self, Mode};
use genesys_examples::reports::{SenderReport, millis};
use genesys_examples::telemetry;
use genesys_examples::{logging, progress};
use genesys_messaging::sender::{MessageSender, OutboundMessage};
use retry_policy::{Backoff, Pacer, RetryPolicy};

/// Send many messages under an org-wide rate limit, keeping per-conversation order.
#[derive(Debug, Parser)]
#[command(name = "paced-sender", version)]
struct Args {
    /// Messages to send in all.
    #[arg(long, default_value_t = 200)]
    messages: usize,

    /// Conversations to spread them over (simulated org; with --target, at most the targets).
    #[arg(long, default_value_t = 5)]
    conversations: usize,

    /// Sender workers (lanes).
    #[arg(long, default_value_t = 8)]
    workers: usize,

    /// Org-wide pace in requests per second (all workers together; with --redis-url, all
    /// processes of the fleet together).
    #[arg(long, default_value_t = 40.0)]
    rate: f64,

    /// Pacer burst.
    #[arg(long, default_value_t = 5)]
    burst: u32,

    /// Real org: CONVERSATION_ID:COMMUNICATION_ID of an agent communication to send into
    /// (repeat for more conversations).
    #[arg(long, value_name = "CONVERSATION:COMMUNICATION")]
    target: Vec<String>,

    /// Simulated org: its rate limit in requests per second (answers 429 beyond it).
    #[arg(long, default_value_t = 50.0)]
    sim_rate_limit: f64,

    /// Simulated org: seed.
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

/// Per conversation: (seq, platform timestamp) of each accepted message, in submission order.
type Accepted = BTreeMap<String, Vec<(usize, Option<String>)>>;

fn parse_target(raw: &str) -> anyhow::Result<(String, String)> {
    let (conversation, communication) = raw
        .split_once(':')
        .filter(|(a, b)| !a.trim().is_empty() && !b.trim().is_empty())
        .with_context(|| format!("--target {raw:?} is not CONVERSATION_ID:COMMUNICATION_ID"))?;
    Ok((
        conversation.trim().to_owned(),
        communication.trim().to_owned(),
    ))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let env = mode::genesys_env(args.common.sim)?;
    match &env {
        Some(config) => mode::announce(
            "paced-sender",
            Mode::Real,
            &format!(
                "Genesys Cloud at {}; {}",
                config.region.api_base(),
                args.fleet.describe()
            ),
        ),
        None => mode::announce(
            "paced-sender",
            Mode::Simulated,
            &format!(
                "embedded simulated org, {} conversations, rate limit {}/s with Retry-After: 0 quirk ({}); {}",
                args.conversations,
                args.sim_rate_limit,
                mode::sim_reason(args.common.sim),
                args.fleet.describe()
            ),
        ),
    }
    logging::init(args.common.log_format);
    let _telemetry = genesys_examples::telemetry::init(args.common.metrics_listen).await?;
    anyhow::ensure!(args.conversations > 0, "--conversations must be at least 1");
    anyhow::ensure!(args.rate > 0.0, "--rate must be above 0");
    let real = env.is_some();
    let conversations_n = u32::try_from(args.conversations).context("--conversations")?;
    let sim = mode::sim_org(args.seed, conversations_n, 1)
        .rate_limit(args.sim_rate_limit.max(0.1), 10)
        .retry_after_zero(true);
    let policy = RetryPolicy::builder()
        .max_attempts(8)
        .backoff(Backoff::exponential(
            Duration::from_millis(250),
            Duration::from_secs(10),
        ))
        .max_elapsed(Duration::from_secs(120))
        .build();
    let burst = args.burst.max(1);
    let pacer = args.fleet.pacer(
        &fleet::oauth_scope(),
        args.rate,
        burst,
        Pacer::per_second(args.rate, burst),
    )?;
    let genesys = mode::connect(env, sim, pacer, policy).await?;

    let targets: Vec<(String, String)> = match &genesys.sim {
        Some(sim) => sim
            .conversations()
            .into_iter()
            .map(|c| (c.id, c.communication_id))
            .collect(),
        None => args
            .target
            .iter()
            .map(|t| parse_target(t))
            .collect::<anyhow::Result<_>>()?,
    };
    anyhow::ensure!(
        !targets.is_empty(),
        "a real org needs --target CONVERSATION_ID:COMMUNICATION_ID"
    );
    let targets: Vec<(String, String)> = targets.into_iter().take(args.conversations).collect();

    let sender = Arc::new(
        MessageSender::builder(&genesys.client)
            .workers(args.workers.max(1))
            .build()
            .context("starting the sender")?,
    );
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let bar = progress::bar(args.messages as u64, "sending");
    let accepted: Arc<Mutex<Accepted>> = Arc::default();
    let started = Instant::now();
    let (limited_before, retries_before, requests_before) = (
        telemetry::total("genesys_rate_limited", &[]),
        telemetry::total("genesys_retries", &[]),
        telemetry::total("http_client_request_duration_count", &[]),
    );
    let mut producers = Vec::new();
    for (index, (conversation, communication)) in targets.iter().cloned().enumerate() {
        let count = (args.messages + targets.len() - 1 - index) / targets.len();
        let sender = Arc::clone(&sender);
        let accepted = Arc::clone(&accepted);
        let run_id = run_id.clone();
        let bar = bar.clone();
        producers.push(tokio::spawn(async move {
            let mut pending = Vec::with_capacity(count);
            for seq in 0..count {
                let text = format!("paced-sender {run_id} #{seq}");
                let message =
                    OutboundMessage::agent_text(conversation.clone(), communication.clone(), text);
                match sender.submit(message).await {
                    Ok(p) => pending.push((seq, p)),
                    Err(error) => {
                        tracing::warn!(%error, conversation = %conversation, seq, "not submitted")
                    }
                }
            }
            let (mut sent, mut failed) = (0u64, 0u64);
            for (seq, p) in pending {
                match p.await {
                    Ok(message) => {
                        sent += 1;
                        let stamp = message
                            .answer
                            .get("timestamp")
                            .and_then(|t| t.as_str())
                            .map(str::to_owned);
                        accepted
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .entry(conversation.clone())
                            .or_default()
                            .push((seq, stamp));
                    }
                    Err(error) => {
                        failed += 1;
                        tracing::warn!(%error, conversation = %conversation, seq, "send failed");
                    }
                }
                bar.inc(1);
            }
            (sent, failed, count as u64)
        }));
    }
    let (mut sent, mut failed, mut planned) = (0u64, 0u64, 0u64);
    for producer in producers {
        let (s, f, n) = producer.await.context("a producer task failed")?;
        sent += s;
        failed += f;
        planned += n;
    }
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    // Messages never submitted (validation) count as failed.
    failed += planned.saturating_sub(sent + failed);
    let (limited_after, retries_after, requests_after) = (
        telemetry::total("genesys_rate_limited", &[]),
        telemetry::total("genesys_retries", &[]),
        telemetry::total("http_client_request_duration_count", &[]),
    );

    let accepted = accepted
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let order_ok = match &genesys.sim {
        Some(sim) => {
            let stats = sim.stats();
            targets.iter().all(|(conversation, _)| {
                let arrived: Vec<String> = stats
                    .sent_texts(conversation)
                    .into_iter()
                    .filter(|t| t.contains(&run_id))
                    .collect();
                let expected: Vec<String> = accepted
                    .get(conversation)
                    .map(|v| {
                        v.iter()
                            .map(|(seq, _)| format!("paced-sender {run_id} #{seq}"))
                            .collect()
                    })
                    .unwrap_or_default();
                arrived == expected
            })
        }
        None => accepted.values().all(|v| {
            let stamps: Vec<chrono::DateTime<chrono::Utc>> = v
                .iter()
                .filter_map(|(_, s)| s.as_deref())
                .filter_map(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&chrono::Utc))
                .collect();
            stamps.len() == v.len() && stamps.windows(2).all(|w| w[0] <= w[1])
        }),
    };
    let report = SenderReport {
        sent,
        failed,
        rate_limited: limited_after.saturating_sub(limited_before),
        elapsed_ms: millis(elapsed),
        achieved_rps: if elapsed.as_secs_f64() > 0.0 {
            (sent as f64 / elapsed.as_secs_f64() * 100.0).round() / 100.0
        } else {
            0.0
        },
        order_ok,
        requests: requests_after.saturating_sub(requests_before),
        pacer: if args.fleet.redis_url.is_some() {
            "redis"
        } else {
            "local"
        },
        shared_acquires: genesys.client.pacer().stats().shared_acquires,
        fallback_acquires: genesys.client.pacer().stats().fallback_acquires,
    };
    if let Ok(sender) = Arc::try_unwrap(sender) {
        sender.shutdown().await;
    }
    if args.report.is_some() {
        say(serde_json::to_string(&report).context("encoding the report")?);
    } else {
        say(format!(
            "sent {} of {} message(s) into {} conversation(s) in {} ms ({} msg/s, pace {}/s{}): failed {}, 429s {}, retries {}, order kept: {}",
            report.sent,
            planned,
            targets.len(),
            report.elapsed_ms,
            report.achieved_rps,
            args.rate,
            if real { "" } else { ", simulated" },
            report.failed,
            report.rate_limited,
            retries_after.saturating_sub(retries_before),
            report.order_ok
        ));
    }
    anyhow::ensure!(report.order_ok, "messages arrived out of order");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    finish("paced-sender", run(args).await)
}
