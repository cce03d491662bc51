//! `history-export`: export one conversation's web messaging history — pages fetched
//! concurrently and handed on in order, filtered, deduplicated, order-checked, media URLs
//! checked without SSRF — to a JSON-lines file and/or a signed webhook archive.
//!
//! ```text
//! cargo run --example history-export -- --out history.jsonl --verify-media --report json   # simulated org
//! GENESYSCLOUD_OAUTHCLIENT_ID=… GENESYSCLOUD_OAUTHCLIENT_SECRET=… GENESYSCLOUD_REGION=eu-west-1 \
//!   cargo run --example history-export -- --conversation 5f1c… --types text,structured \
//!     --archive-url https://archive.example.com/genesys --archive-secret s3cret --out history.jsonl
//! cargo run --example history-export -- --guest-jwt "$JWT" --since 2026-11-01T00:00:00Z --out history.jsonl
//! GENESYSCLOUD_REGION=eu-west-1 … cargo run --example history-export -- --deployment-id 9f1e… \
//!     --session-token "$SESSION_TOKEN" --out history.jsonl   # a guest session's own history
//! ```
//!
//! `--report json` prints `{pages, messages, filtered, duplicates, ordering_violations,
//! rate_limited, retries, depth_limit_reached, media: {valid, expired, unreachable, blocked},
//! elapsed_ms}` (see `genesys_examples::reports::HistoryExportReport`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Parser;
use genesys_auth::TokenProvider;
use genesys_examples::cli::{CommonArgs, ReportFormat, comma_list};
use genesys_examples::exit::{finish, say};
use genesys_examples::fleet::{self, FleetArgs};
use genesys_examples::history::{self, ExportSettings, Source};
use genesys_examples::mode::{self, Mode};
use genesys_examples::reports::HistoryExportReport;
use genesys_examples::{guest, logging, progress};
use genesys_messaging::guest::GuestSession;
use genesys_messaging::history::HistoryExportBuilder;
use retry_policy::{Pacer, RetryPolicy};
use secrecy::SecretString;

/// Export one conversation's messaging history.
#[derive(Debug, Parser)]
#[command(name = "history-export", version)]
struct Args {
    /// The conversation, read with the OAuth client (agent side).
    #[arg(long, conflicts_with = "guest_jwt")]
    conversation: Option<String>,

    /// A guest session JWT (guest side; the JWT names the conversation). Or set GUEST_JWT.
    #[arg(long, env = "GUEST_JWT", hide_env_values = true)]
    guest_jwt: Option<String>,

    /// Open a guest session on this Messenger deployment (the region's web messaging
    /// WebSocket; the simulator's in simulated mode) and export that session's history with the
    /// JWT the session issues.
    #[arg(long, conflicts_with_all = ["conversation", "guest_jwt"])]
    deployment_id: Option<String>,

    /// Resume this guest session (its session token) instead of opening a new one. Or set
    /// GUEST_SESSION_TOKEN.
    #[arg(
        long,
        env = "GUEST_SESSION_TOKEN",
        hide_env_values = true,
        requires = "deployment_id"
    )]
    session_token: Option<String>,

    /// Messages per page.
    #[arg(long, default_value_t = 100)]
    page_size: u32,

    /// Depth guard: fetch at most this many pages (reported when reached).
    #[arg(long)]
    max_pages: Option<u32>,

    /// Keep only these message types: text,structured,receipt,event.
    #[arg(long, value_name = "TYPES")]
    types: Option<String>,

    /// Keep messages at or after this time (RFC 3339).
    #[arg(long)]
    since: Option<DateTime<Utc>>,

    /// Keep messages at or before this time (RFC 3339).
    #[arg(long)]
    until: Option<DateTime<Utc>>,

    /// Pages in flight at once (all under the org pacer).
    #[arg(long, default_value_t = 4)]
    concurrency: usize,

    /// Check every attachment URL (SSRF-safe: no private or loopback addresses).
    #[arg(long)]
    verify_media: bool,

    /// Allow loopback (and http) media URLs; the embedded simulator sets it for itself.
    #[arg(long)]
    allow_loopback_media: bool,

    /// POST batches to this webhook archive (idempotency key, signature, retries).
    #[arg(long)]
    archive_url: Option<String>,

    /// Sign archive batches with HMAC-SHA256 under this secret (or set ARCHIVE_SECRET).
    #[arg(long, env = "ARCHIVE_SECRET", hide_env_values = true)]
    archive_secret: Option<String>,

    /// Write the messages to this JSON-lines file.
    #[arg(long, value_name = "FILE.jsonl")]
    out: Option<PathBuf>,

    /// Messages per archive batch.
    #[arg(long, default_value_t = 100)]
    batch_size: usize,

    /// Org-wide pace: requests per minute (shared by every page request; with --redis-url, by
    /// every process on the same --redis-namespace).
    #[arg(long, default_value_t = 300)]
    requests_per_minute: u32,

    /// Simulated org: seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,

    /// Simulated org: number of conversations.
    #[arg(long, default_value_t = 5)]
    conversations: u32,

    /// Simulated org: messages per conversation.
    #[arg(long, default_value_t = 300)]
    messages: u32,

    /// Print the report as JSON on stdout.
    #[arg(long, value_enum)]
    report: Option<ReportFormat>,

    #[command(flatten)]
    fleet: FleetArgs,

    #[command(flatten)]
    common: CommonArgs,
}

/// The region of a guest-only run: `GENESYSCLOUD_API_URL` (also the login base, unused by the
/// guest API), else `GENESYSCLOUD_REGION`. `None` when neither is set. The guest API needs no
/// OAuth client, so these settings with `--guest-jwt` mean real mode.
fn guest_region() -> anyhow::Result<Option<genesys_auth::Region>> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if let Some(raw) = var(genesys_auth::ENV_API_URL) {
        let url = reqwest::Url::parse(raw.trim()).context("GENESYSCLOUD_API_URL is not a URL")?;
        return Ok(Some(genesys_auth::Region::custom(url.clone(), url)));
    }
    var(genesys_auth::ENV_REGION)
        .map(|raw| raw.parse().context("GENESYSCLOUD_REGION is not a region"))
        .transpose()
}

async fn run(args: Args) -> anyhow::Result<()> {
    let env = mode::genesys_env(args.common.sim)?;
    // Guest only: a guest JWT and real settings, no OAuth client → the real guest API.
    let guest_only = match (&env, args.common.sim) {
        (None, false) if args.guest_jwt.is_some() || args.deployment_id.is_some() => {
            guest_region()?
        }
        _ => None,
    };
    if let Some(region) = guest_only {
        mode::announce(
            "history-export",
            Mode::Real,
            &format!("Genesys Cloud guest API at {}", region.api_base()),
        );
        logging::init(args.common.log_format);
        let _telemetry = genesys_examples::telemetry::init(args.common.metrics_listen)
            .await?
            .summary_at_exit();
        // With --deployment-id the session is opened here: its JWT (refreshed by the session
        // before each `exp`) is the client's bearer for as long as the export runs.
        let (tokens, held): (Arc<dyn TokenProvider>, _) =
            match (&args.guest_jwt, &args.deployment_id) {
                (Some(jwt), _) => (
                    Arc::new(genesys_auth::StaticToken::new(SecretString::from(
                        jwt.clone(),
                    ))),
                    None,
                ),
                (None, Some(id)) => {
                    let session =
                        guest::open(id, Some(&region), None, args.session_token.clone()).await?;
                    session
                        .jwt()
                        .await
                        .context("getting the guest JWT (getJwt)")?;
                    (Arc::new(session.token_provider()), Some(session))
                }
                (None, None) => anyhow::bail!("give --guest-jwt JWT or --deployment-id ID"),
            };
        let client = genesys_auth::GenesysClient::builder()
            .region(region.clone())
            .token_provider(tokens)
            .pacer(history_pacer(&args, "guest")?)
            .retry_policy(RetryPolicy::default())
            .build()
            .context("building the Genesys client")?;
        return export(
            &args,
            mode::Genesys { client, sim: None },
            Some(&region),
            held,
        )
        .await;
    }
    match &env {
        Some(config) => mode::announce(
            "history-export",
            Mode::Real,
            &format!(
                "Genesys Cloud at {}; {}",
                config.region.api_base(),
                args.fleet.describe()
            ),
        ),
        None => mode::announce(
            "history-export",
            Mode::Simulated,
            &format!(
                "embedded simulated org, {} conversations of {} messages ({})",
                args.conversations,
                args.messages,
                mode::sim_reason(args.common.sim)
            ),
        ),
    }
    logging::init(args.common.log_format);
    let _telemetry = genesys_examples::telemetry::init(args.common.metrics_listen)
        .await?
        .summary_at_exit();
    anyhow::ensure!(
        env.is_none()
            || args.conversation.is_some()
            || args.guest_jwt.is_some()
            || args.deployment_id.is_some(),
        "give --conversation ID, --guest-jwt JWT or --deployment-id ID"
    );
    let region = env.as_ref().map(|c| c.region.clone());
    let genesys = mode::connect(
        env,
        mode::sim_org(args.seed, args.conversations, args.messages),
        history_pacer(&args, &fleet::oauth_scope())?,
        RetryPolicy::default(),
    )
    .await?;
    export(&args, genesys, region.as_ref(), None).await
}

/// `--requests-per-minute` in this process, or shared by the fleet with `--redis-url`.
fn history_pacer(args: &Args, scope: &str) -> anyhow::Result<Pacer> {
    let per_minute = args.requests_per_minute.max(1);
    args.fleet.pacer(
        scope,
        f64::from(per_minute) / 60.0,
        10,
        Pacer::per_minute(per_minute, 10),
    )
}

async fn export(
    args: &Args,
    genesys: mode::Genesys,
    region: Option<&genesys_auth::Region>,
    held: Option<GuestSession>,
) -> anyhow::Result<()> {
    // Held until the export ends: the session keeps its JWT fresh meanwhile.
    let mut guest_session = None;
    let source = match (&args.conversation, &args.guest_jwt, &genesys.sim) {
        (Some(id), _, _) => Source::Conversation(id.clone()),
        (None, None, sim) if args.deployment_id.is_some() => {
            let id = args.deployment_id.as_deref().unwrap_or_default();
            let session = match held {
                Some(session) => session,
                None => guest::open(id, region, sim.as_ref(), args.session_token.clone()).await?,
            };
            session
                .jwt()
                .await
                .context("getting the guest JWT (getJwt)")?;
            // Each page takes the session's current JWT, so an export longer than one JWT's
            // life goes on with the next.
            let tokens: Arc<dyn TokenProvider> = Arc::new(session.token_provider());
            guest_session = Some(session);
            Source::Guest {
                tokens,
                conversation_id: "guest-session".to_owned(),
            }
        }
        (None, Some(jwt), _) => Source::guest_jwt(SecretString::from(jwt.clone()), "guest-session"),
        (None, None, Some(sim)) => {
            let first = sim
                .conversations()
                .into_iter()
                .next()
                .context("the simulated org has no conversation")?;
            tracing::info!(conversation = %first.id, "exporting the simulated org's first conversation (guest side)");
            Source::guest_jwt(SecretString::from(first.guest_jwt), first.id)
        }
        (None, None, None) => anyhow::bail!("give --conversation ID or --guest-jwt JWT"),
    };
    let mut export = HistoryExportBuilder::settings()
        .page_size(args.page_size)
        .concurrency(args.concurrency);
    if let Some(max) = args.max_pages {
        export = export.max_pages(max);
    }
    let types = args.types.as_deref().map(comma_list).unwrap_or_default();
    if !types.is_empty() {
        export = export.message_types(types.iter().map(|t| history::parse_type(t)));
    }
    if let Some(since) = args.since {
        export = export.since(since);
    }
    if let Some(until) = args.until {
        export = export.until(until);
    }
    if args.verify_media {
        // The embedded simulator serves media on 127.0.0.1 over http.
        let loopback = args.allow_loopback_media || genesys.sim.is_some();
        export = export.media_verifier(history::media_verifier(loopback)?);
    }
    let settings = ExportSettings {
        export,
        archive_url: args.archive_url.clone(),
        archive_secret: args.archive_secret.clone().map(SecretString::from),
        out: args.out.clone(),
        batch_size: args.batch_size,
    };
    let spinner = progress::spinner("exporting");
    let report = history::export(&genesys.client, source, settings).await?;
    spinner.finish_and_clear();
    // Dropping the session closes its socket and leaves the session open for the guest (no
    // closeSession: a resumed guest's conversation goes on).
    drop(guest_session);
    let figures = HistoryExportReport::from(&report);
    if args.report.is_some() {
        say(serde_json::to_string(&figures).context("encoding the report")?);
    } else {
        say(format!(
            "exported {} message(s) of conversation {} in {} page(s) ({} ms): filtered {}, duplicates {}, ordering violations {}, 429s {}, retries {}{}",
            figures.messages,
            report.conversation_id,
            figures.pages,
            figures.elapsed_ms,
            figures.filtered,
            figures.duplicates,
            figures.ordering_violations,
            figures.rate_limited,
            figures.retries,
            if figures.depth_limit_reached {
                "; depth limit reached"
            } else {
                ""
            }
        ));
        if args.verify_media {
            let m = figures.media;
            say(format!(
                "media: valid {}, expired {}, unreachable {}, blocked {}",
                m.valid, m.expired, m.unreachable, m.blocked
            ));
        }
        if let Some(out) = &args.out {
            say(format!("written to {}", out.display()));
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    finish("history-export", run(args).await)
}
