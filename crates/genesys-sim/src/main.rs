//! `genesys-sim`: serve a simulated Genesys Cloud org until Ctrl-C.
//!
//! ```text
//! cargo run -p genesys-sim -- --port 8080 --conversations 50 --messages 500 --rate 5 --burst 5 --latency-ms 20
//! cargo run -p genesys-sim -- --window-allowed 10 --window-secs 5     # a fixed window instead
//! cargo run -p genesys-sim -- --rate 5 --burst 5 --bucket-headers bucket
//! ```
//! Prints `key=value` lines (base URL, client id and secret, a conversation and its guest JWT)
//! that scripts can read, then serves.
#![allow(clippy::print_stdout)]

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use clap::{Parser, ValueEnum};
use genesys_sim::{BucketHeaders, Faults, HistoryOrder, LimitModel, SimOrg};

/// `--bucket-headers`.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum BucketHeadersArg {
    PerMinute,
    Bucket,
}

/// A simulated Genesys Cloud org.
#[derive(Debug, Parser)]
#[command(name = "genesys-sim", version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Seed of the dataset, ids, credentials and fault draws.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Number of conversations.
    #[arg(long, default_value_t = 50)]
    conversations: u32,
    /// Messages per conversation.
    #[arg(long, default_value_t = 500)]
    messages: u32,
    /// Largest web messaging pageSize accepted.
    #[arg(long, default_value_t = 100)]
    max_page_size: u32,
    /// OAuth token lifetime in seconds.
    #[arg(long, default_value_t = 86_399)]
    token_lifetime_secs: u64,
    /// Org-wide rate limit as a token bucket, requests per second (omit for none).
    #[arg(long, conflicts_with = "window_allowed")]
    rate: Option<f64>,
    /// Burst of the rate limit.
    #[arg(long, default_value_t = 5)]
    burst: u32,
    /// What the token bucket's `inin-ratelimit-*` headers say: `per-minute` (rate × 60 per 60 s
    /// window) or `bucket` (the burst, tokens in use, seconds until full).
    #[arg(long, value_enum, default_value = "per-minute", requires = "rate")]
    bucket_headers: BucketHeadersArg,
    /// Org-wide limit as a fixed window: requests allowed per window (with --window-secs).
    #[arg(long, requires = "window_secs")]
    window_allowed: Option<u64>,
    /// Length of the fixed window, seconds (decimals allowed).
    #[arg(long, requires = "window_allowed")]
    window_secs: Option<f64>,
    /// Answer `Retry-After: 0` while still limited (the platform quirk).
    #[arg(long)]
    retry_after_zero: bool,
    /// Count `/oauth/token` against the rate limit too.
    #[arg(long)]
    token_rate_limited: bool,
    /// Apply faults to `/oauth/token` too.
    #[arg(long)]
    token_faults: bool,
    /// Fixed latency per request, milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Extra uniform latency jitter per request, milliseconds.
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// Share of API requests answered 500/502/503.
    #[arg(long, default_value_t = 0.0)]
    server_errors: f64,
    /// Share of API requests whose connection is reset.
    #[arg(long, default_value_t = 0.0)]
    resets: f64,
    /// Share of API answers with a truncated body.
    #[arg(long, default_value_t = 0.0)]
    truncated: f64,
    /// Share of API answers with an HTML body.
    #[arg(long, default_value_t = 0.0)]
    non_json: f64,
    /// Share of API answers delayed by --slow-ms.
    #[arg(long, default_value_t = 0.0)]
    slow: f64,
    /// Delay of a slow answer, milliseconds.
    #[arg(long, default_value_t = 30_000)]
    slow_ms: u64,
    /// Share of messages out of timestamp order.
    #[arg(long, default_value_t = 0.02)]
    out_of_order: f64,
    /// Share of attachments whose URL has expired.
    #[arg(long, default_value_t = 0.1)]
    expired_attachments: f64,
    /// Days of history the conversations spread over.
    #[arg(long, default_value_t = 45)]
    history_days: u64,
    /// Serve guest history oldest first (default newest first).
    #[arg(long)]
    oldest_first: bool,
    /// Milliseconds an analytics job takes to be FULFILLED.
    #[arg(long, default_value_t = 200)]
    job_delay_ms: u64,
    /// Make every analytics job FAILED.
    #[arg(long)]
    fail_jobs: bool,
    /// OAuth client id to accept (default: derived from the seed).
    #[arg(long, requires = "client_secret")]
    client_id: Option<String>,
    /// OAuth client secret to accept.
    #[arg(long, requires = "client_id")]
    client_secret: Option<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut builder = SimOrg::builder()
        .bind(SocketAddr::new(args.host, args.port))
        .seed(args.seed)
        .conversations(args.conversations)
        .messages_per_conversation(args.messages)
        .max_page_size(args.max_page_size)
        .token_lifetime(Duration::from_secs(args.token_lifetime_secs))
        .retry_after_zero(args.retry_after_zero)
        .token_rate_limited(args.token_rate_limited)
        .token_faults(args.token_faults)
        .latency(
            Duration::from_millis(args.latency_ms),
            Duration::from_millis(args.jitter_ms),
        )
        .faults(Faults {
            server_errors: args.server_errors,
            resets: args.resets,
            truncated: args.truncated,
            non_json: args.non_json,
            slow: args.slow,
            slow_by: Duration::from_millis(args.slow_ms),
        })
        .out_of_order_share(args.out_of_order)
        .expired_attachment_share(args.expired_attachments)
        .history_span(Duration::from_secs(args.history_days * 24 * 3600))
        .history_order(if args.oldest_first {
            HistoryOrder::OldestFirst
        } else {
            HistoryOrder::NewestFirst
        })
        .analytics_job_delay(Duration::from_millis(args.job_delay_ms))
        .analytics_jobs_fail(args.fail_jobs);
    if let Some(rate) = args.rate {
        builder = builder.limit_model(LimitModel::TokenBucket {
            rate,
            burst: args.burst,
            headers: match args.bucket_headers {
                BucketHeadersArg::PerMinute => BucketHeaders::PerMinute,
                BucketHeadersArg::Bucket => BucketHeaders::Bucket,
            },
        });
    }
    if let (Some(allowed), Some(secs)) = (args.window_allowed, args.window_secs) {
        let window = Duration::try_from_secs_f64(secs)
            .map_err(|_| format!("--window-secs {secs} is not a length of time"))?;
        builder = builder.limit_model(LimitModel::FixedWindow { allowed, window });
    }
    if let (Some(id), Some(secret)) = (args.client_id, args.client_secret) {
        builder = builder.client(id, secret);
    }
    let sim = builder.start().await?;
    let conversations = sim.conversations();
    println!("genesys-sim listening");
    println!("base_url={}", sim.base_url());
    println!("client_id={}", sim.client_id());
    println!("client_secret={}", sim.client_secret());
    println!("conversations={}", conversations.len());
    println!("messages_per_conversation={}", args.messages);
    println!("interval={}", sim.full_interval());
    if let Some(c) = conversations.first() {
        println!("conversation_id={}", c.id);
        println!("communication_id={}", c.communication_id);
        println!("guest_jwt={}", c.guest_jwt);
    }
    println!("stats={}/__sim/stats", sim.base_url());
    println!("ready");
    tokio::signal::ctrl_c().await?;
    drop(sim);
    Ok(())
}
