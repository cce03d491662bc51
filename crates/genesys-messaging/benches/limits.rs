//! The history export under each limit model, against two servers that implement the limits
//! independently: the simulator (`genesys-sim`'s [`LimitModel`]s) and a stand-in written here
//! (an axum proxy in front of an unlimited simulator, with its own window and bucket code and
//! other header conventions: windows that start at the first request, `X-RateLimit-*` headers
//! for its bucket).
//!
//! 3,000 guest messages, page size 100 (30 requests), concurrency 8, 20 ms latency, the
//! client's default pacer (`Pacer::adaptive`). Models: fixed window 10 requests / 5 s; token
//! bucket 5/s burst 5, with and without `Retry-After: 0` while limited; no limit (a huge
//! announced limit). Each row prints the least time the model allows, ours, and the 429s; the
//! same export without a pacer runs beside it as the same-run baseline. No-limit rows compare
//! with the same export unpaced (the latency-bound floor).
//!
//! Goals: ≤ 1.10× the minimum with ≤ 2 429s in every limit model; with no limit, within 1.2×
//! the floor.
//!
//! `cargo bench -p genesys-messaging --bench limits`. Under `cargo test --all-targets` (no
//! `--bench` argument) a small smoke version runs instead.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use futures::StreamExt;
use genesys_auth::{GenesysClient, Region, StaticToken};
use genesys_messaging::history::{GuestSession, HistoryExport, HistoryReport};
use genesys_sim::{BucketHeaders, LimitModel, SimOrg};
use retry_policy::{Pacer, RetryPolicy};
use tokio::time::Instant;
use url::Url;

const PAGE: u32 = 100;
const CONCURRENCY: usize = 8;

struct Scale {
    messages: u32,
    latency: Duration,
    window_allowed: u64,
    window: Duration,
    bucket_rate: f64,
    bucket_burst: u32,
}

const FULL: Scale = Scale {
    messages: 3_000,
    latency: Duration::from_millis(20),
    window_allowed: 10,
    window: Duration::from_secs(5),
    bucket_rate: 5.0,
    bucket_burst: 5,
};
// Buckets refill fully within a second at both scales: a bucket that refills faster, described
// with whole-second resets, looks like one window per second (see the pacer's docs).
const SMOKE: Scale = Scale {
    messages: 600,
    latency: Duration::from_millis(2),
    window_allowed: 3,
    window: Duration::from_millis(1500),
    bucket_rate: 4.0,
    bucket_burst: 4,
};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Model {
    Window,
    Bucket { zero_retry_after: bool },
    None,
}

impl Model {
    fn name(self, s: &Scale) -> String {
        match self {
            Model::Window => format!(
                "fixed window {} / {} s",
                s.window_allowed,
                s.window.as_secs_f64()
            ),
            Model::Bucket { zero_retry_after } => format!(
                "bucket {}/s burst {}{}",
                s.bucket_rate,
                s.bucket_burst,
                if zero_retry_after {
                    ", Retry-After: 0"
                } else {
                    ""
                }
            ),
            Model::None => "no limit".into(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The stand-in: its own limit code in front of an unlimited simulator.

#[derive(Debug)]
enum StandInLimit {
    /// A window opens at the first request after the last one closed.
    Window {
        allowed: u64,
        length: Duration,
        opened: Option<Instant>,
        count: u64,
    },
    /// Float tokens, refilled continuously.
    Bucket {
        rate: f64,
        burst: f64,
        tokens: f64,
        at: Instant,
        zero_retry_after: bool,
    },
    /// Announces a limit nobody reaches.
    None,
}

struct StandIn {
    upstream: String,
    http: reqwest::Client,
    limit: Mutex<StandInLimit>,
    limited: AtomicU64,
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Admission, and the headers to answer with (name, value), and the Retry-After of a 429.
fn stand_in_decide(limit: &mut StandInLimit, now: Instant) -> (bool, Vec<(String, String)>, u64) {
    match limit {
        StandInLimit::Window {
            allowed,
            length,
            opened,
            count,
        } => {
            if opened.is_none_or(|o| now >= o + *length) {
                *opened = Some(now);
                *count = 0;
            }
            let end = opened.unwrap() + *length;
            let admit = *count < *allowed;
            if admit {
                *count += 1;
            }
            let reset = ceil_secs(end - now).max(1);
            let headers = vec![
                ("inin-ratelimit-allowed".into(), allowed.to_string()),
                ("inin-ratelimit-count".into(), count.to_string()),
                ("inin-ratelimit-reset".into(), reset.to_string()),
            ];
            (admit, headers, reset)
        }
        StandInLimit::Bucket {
            rate,
            burst,
            tokens,
            at,
            zero_retry_after,
        } => {
            *tokens = (*tokens + (now - *at).as_secs_f64() * *rate).min(*burst);
            *at = now;
            let admit = *tokens >= 1.0;
            if admit {
                *tokens -= 1.0;
            }
            let until_full = Duration::from_secs_f64((*burst - *tokens) / *rate);
            let headers = vec![
                ("x-ratelimit-limit".into(), format!("{burst}")),
                (
                    "x-ratelimit-remaining".into(),
                    format!("{}", tokens.floor()),
                ),
                (
                    "x-ratelimit-reset".into(),
                    ceil_secs(until_full).to_string(),
                ),
            ];
            let retry = if *zero_retry_after {
                0
            } else {
                ceil_secs(Duration::from_secs_f64(((1.0 - *tokens) / *rate).max(0.0))).max(1)
            };
            (admit, headers, retry)
        }
        StandInLimit::None => (
            true,
            vec![
                ("x-ratelimit-limit".into(), "1000000".into()),
                ("x-ratelimit-remaining".into(), "999999".into()),
                ("x-ratelimit-reset".into(), "60".into()),
            ],
            0,
        ),
    }
}

async fn stand_in_handler(State(s): State<Arc<StandIn>>, req: Request) -> Response {
    let (admit, headers, retry) = stand_in_decide(&mut s.limit.lock().unwrap(), Instant::now());
    let mut response = if admit {
        let path = req
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let mut upstream = s.http.get(format!("{}{path}", s.upstream));
        if let Some(auth) = req.headers().get(http::header::AUTHORIZATION) {
            upstream = upstream.header(http::header::AUTHORIZATION, auth.clone());
        }
        match upstream.send().await {
            Ok(answer) => {
                let status = answer.status();
                let body = answer.bytes().await.unwrap_or_default();
                let mut r = Response::new(Body::from(body));
                *r.status_mut() = status;
                r.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/json"),
                );
                r
            }
            Err(_) => {
                let mut r = Response::new(Body::empty());
                *r.status_mut() = http::StatusCode::BAD_GATEWAY;
                r
            }
        }
    } else {
        s.limited.fetch_add(1, Ordering::Relaxed);
        let body = serde_json::json!({
            "message": format!("Rate limit exceeded the maximum. Retry the request in [{}] seconds", retry.max(1)),
            "code": "too.many.requests.retry.after",
            "status": 429,
        });
        let mut r = Response::new(Body::from(body.to_string()));
        *r.status_mut() = http::StatusCode::TOO_MANY_REQUESTS;
        r.headers_mut()
            .insert(http::header::RETRY_AFTER, http::HeaderValue::from(retry));
        r
    };
    for (name, value) in headers {
        response.headers_mut().insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            http::HeaderValue::from_str(&value).unwrap(),
        );
    }
    response
}

async fn start_stand_in(upstream: &SimOrg, limit: StandInLimit) -> (String, Arc<StandIn>) {
    let state = Arc::new(StandIn {
        upstream: upstream.base_url().trim_end_matches('/').to_owned(),
        http: reqwest::Client::new(),
        limit: Mutex::new(limit),
        limited: AtomicU64::new(0),
    });
    let app = axum::Router::new()
        .fallback(stand_in_handler)
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), state)
}

// ---------------------------------------------------------------------------------------------

struct Run {
    report: HistoryReport,
    limited: u64,
    /// How far into a clock-aligned window the export started.
    phase: Duration,
}

async fn export(base: &str, sim: &SimOrg, pacer: Pacer) -> HistoryReport {
    let base = Url::parse(base).unwrap();
    let conv = &sim.conversations()[0];
    let client = GenesysClient::builder()
        .region(Region::custom(base.clone(), base))
        .token_provider(Arc::new(StaticToken::new(conv.guest_jwt.clone().into())))
        .pacer(pacer)
        .retry_policy(RetryPolicy::default())
        .build()
        .unwrap();
    let session = GuestSession::new(&client, conv.guest_jwt.clone().into(), conv.id.clone());
    let export = HistoryExport::builder(session)
        .page_size(PAGE)
        .concurrency(CONCURRENCY)
        .build()
        .unwrap();
    let mut stream = export.stream();
    while stream.next().await.is_some() {}
    stream.finished_report().await
}

async fn sim_run(s: &Scale, model: Model, pacer: Pacer) -> Run {
    let limit = match model {
        Model::Window => LimitModel::FixedWindow {
            allowed: s.window_allowed,
            window: s.window,
        },
        Model::Bucket { .. } => LimitModel::TokenBucket {
            rate: s.bucket_rate,
            burst: s.bucket_burst,
            headers: BucketHeaders::Bucket,
        },
        Model::None => LimitModel::None,
    };
    let started = Instant::now();
    let sim = SimOrg::builder()
        .seed(13)
        .conversations(1)
        .messages_per_conversation(s.messages)
        .latency(s.latency, Duration::ZERO)
        .limit_model(limit)
        .retry_after_zero(matches!(
            model,
            Model::Bucket {
                zero_retry_after: true
            }
        ))
        .start()
        .await
        .unwrap();
    let phase = started.elapsed();
    let report = export(&sim.base_url(), &sim, pacer).await;
    Run {
        limited: sim.stats().rate_limited,
        report,
        phase,
    }
}

async fn stand_in_run(s: &Scale, model: Model, pacer: Pacer) -> Run {
    let sim = SimOrg::builder()
        .seed(13)
        .conversations(1)
        .messages_per_conversation(s.messages)
        .latency(s.latency, Duration::ZERO)
        .start()
        .await
        .unwrap();
    let limit = match model {
        Model::Window => StandInLimit::Window {
            allowed: s.window_allowed,
            length: s.window,
            opened: None,
            count: 0,
        },
        Model::Bucket { zero_retry_after } => StandInLimit::Bucket {
            rate: s.bucket_rate,
            burst: f64::from(s.bucket_burst),
            tokens: f64::from(s.bucket_burst),
            at: Instant::now(),
            zero_retry_after,
        },
        Model::None => StandInLimit::None,
    };
    let (base, stand_in) = start_stand_in(&sim, limit).await;
    let report = export(&base, &sim, pacer).await;
    Run {
        limited: stand_in.limited.load(Ordering::Relaxed),
        report,
        phase: Duration::ZERO,
    }
}

/// The least time the model allows `requests` (the first page alone, then the rest).
fn minimum(s: &Scale, model: Model, requests: u64, phase: Duration) -> Option<Duration> {
    match model {
        Model::Window => {
            let later_windows = (requests - 1) / s.window_allowed;
            let wait = (s.window * u32::try_from(later_windows).unwrap()).saturating_sub(phase);
            Some(wait + s.latency)
        }
        Model::Bucket { .. } => {
            let paced = requests.saturating_sub(u64::from(s.bucket_burst));
            #[allow(clippy::cast_precision_loss)]
            Some(Duration::from_secs_f64(paced as f64 / s.bucket_rate) + s.latency)
        }
        Model::None => None,
    }
}

static FULL_RUN: AtomicBool = AtomicBool::new(false);

fn verdict(ok: bool) -> &'static str {
    match (FULL_RUN.load(Ordering::Relaxed), ok) {
        (false, _) => "(smoke: not judged)",
        (true, true) => "OK",
        (true, false) => "MISSED",
    }
}

async fn row(s: &Scale, server: &str, model: Model) {
    let stand_in = server == "stand-in";
    let go = |pacer: Pacer| async move {
        if stand_in {
            stand_in_run(s, model, pacer).await
        } else {
            sim_run(s, model, pacer).await
        }
    };
    let ours = go(Pacer::adaptive()).await;
    let base = go(Pacer::unlimited()).await;
    assert_eq!(ours.report.pages_failed, 0, "{:?}", ours.report);
    let pages = u64::from(s.messages / PAGE);
    let (reference, goal, limit_note) = match minimum(s, model, pages, ours.phase) {
        Some(min) => (min, 1.10, "minimum"),
        // No limit: the floor is the same export unpaced.
        None => (base.report.elapsed, 1.20, "unpaced"),
    };
    let ratio = ours.report.elapsed.as_secs_f64() / reference.as_secs_f64();
    let base_ratio = base.report.elapsed.as_secs_f64() / reference.as_secs_f64();
    let ok = ratio <= goal && ours.limited <= 2;
    let incomplete = if base.report.pages_failed > 0 {
        format!(" ({} pages given up)", base.report.pages_failed)
    } else {
        String::new()
    };
    println!(
        "| {server:<8} | {:<30} | {limit_note} {:>6.2} s | {:>6.2} s ({ratio:.2}x) | {:>3} | {:>6.2} s ({base_ratio:.2}x), {} x 429{incomplete} | {} |",
        model.name(s),
        reference.as_secs_f64(),
        ours.report.elapsed.as_secs_f64(),
        ours.limited,
        base.report.elapsed.as_secs_f64(),
        base.limited,
        verdict(ok),
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    FULL_RUN.store(full, Ordering::Relaxed);
    let s = if full { &FULL } else { &SMOKE };
    if !full {
        println!("(smoke run: pass --bench, i.e. `cargo bench`, for the real figures)");
    }
    println!(
        "history export, {} messages, page {PAGE}, concurrency {CONCURRENCY}, {} ms latency, default pacer (adaptive)",
        s.messages,
        s.latency.as_millis()
    );
    println!(
        "| server   | limit model                    | least time      | ours              | 429 | no pacer (same run)       | goal |"
    );
    println!("|---|---|---|---|---|---|---|");
    for server in ["sim", "stand-in"] {
        for model in [
            Model::Window,
            Model::Bucket {
                zero_retry_after: false,
            },
            Model::Bucket {
                zero_retry_after: true,
            },
            Model::None,
        ] {
            row(s, server, model).await;
        }
    }
    println!(
        "old pacer (from the issue, stand-in): fixed window 174 s (17.2x), bucket with Retry-After: 0 5.6 s (1.12x) and 8 x 429, no limit 18 s"
    );
}
