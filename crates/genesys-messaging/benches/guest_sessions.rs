//! 200 concurrent guest sessions against the simulator from one process.
//!
//! Baseline: a bare tokio-tungstenite client per session that sends `configureSession`, then
//! `onMessage`, and waits for the bot's reply frame (the simulator's own round trip plus the
//! least a client can do). Ours: `GuestSession` doing the same through its queue, driver task
//! and typed frames. Printed side by side from the same run: resident memory added per session
//! (simulator's side included in both, so the difference is the client's), and p50/p99 reply
//! latency; "added" is ours minus the baseline.
//!
//! `cargo bench -p genesys-messaging --bench guest_sessions` (`GUEST_SESSIONS=N` to change 200).
#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use genesys_messaging::Direction;
use genesys_messaging::guest::{GuestConfig, GuestEvent, GuestSession};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use url::Url;

const ROUNDS: usize = 5;

fn rss_kb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

type Raw =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn raw_open(url: &Url, i: usize) -> (Raw, String) {
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    let token = format!("00000000-0000-4000-8000-{i:012}");
    ws.send(Message::text(
        json!({"action":"configureSession","deploymentId":"bench","token":token}).to_string(),
    ))
    .await
    .unwrap();
    while let Some(Ok(m)) = ws.next().await {
        if let Message::Text(t) = m
            && t.as_str().contains("SessionResponse")
        {
            break;
        }
    }
    (ws, token)
}

async fn raw_round(ws: &mut Raw, token: &str, n: usize) -> Duration {
    let started = Instant::now();
    ws.send(Message::text(
        json!({"action":"onMessage","token":token,
               "message":{"type":"Text","text":"hello","metadata":{"customMessageId":format!("r{n}")}}})
        .to_string(),
    ))
    .await
    .unwrap();
    while let Some(Ok(m)) = ws.next().await {
        if let Message::Text(t) = m {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["body"]["direction"] == "Outbound" && v["body"]["type"] == "Text" {
                break;
            }
        }
    }
    started.elapsed()
}

async fn ours_round(s: &mut GuestSession) -> Duration {
    let started = Instant::now();
    s.send_text("hello").await.unwrap();
    while let Some(ev) = s.next_event().await {
        if let Ok(GuestEvent::Message { message, .. }) = ev
            && message.direction == Some(Direction::Outbound)
            && message
                .text
                .as_deref()
                .is_some_and(|t| t.starts_with("Hello"))
        {
            break;
        }
    }
    started.elapsed()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::var("GUEST_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let sim = genesys_sim::SimOrg::builder()
        .conversations(1)
        .messages_per_conversation(1)
        .start()
        .await
        .unwrap();
    let url = Url::parse(&format!("{}?deploymentId=bench", sim.guest_ws_url())).unwrap();

    // Baseline: bare clients.
    let before = rss_kb();
    let mut raws = futures::future::join_all((0..n).map(|i| raw_open(&url, i))).await;
    let raw_kb = (rss_kb() - before) / n as f64;
    let mut raw_lat = Vec::new();
    for round in 0..ROUNDS {
        let times = futures::future::join_all(
            raws.iter_mut()
                .map(|(ws, token)| raw_round(ws, token, round)),
        )
        .await;
        raw_lat.extend(times);
    }
    drop(raws);
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Ours: GuestSession.
    let before = rss_kb();
    let config = GuestConfig::builder("bench")
        .url(url.join("/v1").unwrap())
        .build()
        .unwrap();
    let mut sessions =
        futures::future::join_all((0..n).map(|_| GuestSession::connect(config.clone())))
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
    let ours_kb = (rss_kb() - before) / n as f64;
    let mut ours_lat = Vec::new();
    for _ in 0..ROUNDS {
        let times = futures::future::join_all(sessions.iter_mut().map(ours_round)).await;
        ours_lat.extend(times);
    }
    raw_lat.sort();
    ours_lat.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("guest sessions: {n} concurrent, {ROUNDS} rounds of send → bot reply each");
    println!(
        "{:<28} {:>14} {:>14} {:>14}",
        "", "baseline", "GuestSession", "added"
    );
    println!(
        "{:<28} {:>14.1} {:>14.1} {:>14.1}",
        "memory per session (KiB)",
        raw_kb,
        ours_kb,
        ours_kb - raw_kb
    );
    for (label, p) in [
        ("reply latency p50 (ms)", 0.5),
        ("reply latency p99 (ms)", 0.99),
    ] {
        let (b, o) = (ms(percentile(&raw_lat, p)), ms(percentile(&ours_lat, p)));
        println!("{label:<28} {b:>14.2} {o:>14.2} {:>14.2}", o - b);
    }
    drop(sessions);
}
