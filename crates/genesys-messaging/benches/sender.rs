//! Sender benchmark: 2,000 messages over 100 conversations, sim limited to 50 requests/s.
//!
//! - **ours**: one [`MessageSender`] with 8 workers sharing the client's org pacer (set to the
//!   limit); per-conversation lanes.
//! - **baseline**: 8 independent workers, each with its own client and no shared pace,
//!   retrying 429s with exponential backoff and full jitter (the usual fix), honouring
//!   Retry-After as the SDKs do. Each worker owns whole conversations, so order is kept too.
//!
//! The baseline sends the first fifth of the messages only: goodput is a rate, and the whole
//! plan takes it about seven minutes (its workers spend most of their time in Retry-After waits).
//!
//! Targets: goodput ≥ 97% of the limit and 429s ≤ 1% of requests. Both runs report goodput
//! (messages accepted ÷ elapsed), 429s and requests, and whether every conversation arrived in
//! order.
//!
//! `cargo bench -p genesys-messaging --bench sender`. Under `cargo test --all-targets` (no
//! `--bench` argument) a small smoke version runs instead.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use genesys_auth::{ClientCredentials, GenesysClient, Region};
use genesys_messaging::sender::{MessageSender, OutboundMessage};
use genesys_sim::{SimConversation, SimOrg};
use retry_policy::{Backoff, Jitter, Pacer, RetryPolicy};
use url::Url;

struct Scale {
    messages: usize,
    conversations: u32,
    rate: f64,
}

const FULL: Scale = Scale {
    messages: 2_000,
    conversations: 100,
    rate: 50.0,
};
const SMOKE: Scale = Scale {
    messages: 80,
    conversations: 16,
    rate: 100.0,
};
const BURST: u32 = 5;
const WORKERS: usize = 8;

fn client(sim: &SimOrg, pacer: Pacer, policy: RetryPolicy) -> GenesysClient {
    let base = Url::parse(&sim.base_url()).unwrap();
    GenesysClient::builder()
        .region(Region::custom(base.clone(), base))
        .credentials(ClientCredentials::new(
            sim.client_id(),
            sim.client_secret().to_owned(),
        ))
        .pacer(pacer)
        .retry_policy(policy)
        .build()
        .unwrap()
}

fn plan(convs: &[SimConversation], n: usize) -> Vec<OutboundMessage> {
    (0..n)
        .map(|i| {
            let c = &convs[i % convs.len()];
            OutboundMessage::agent_text(
                &c.id,
                &c.communication_id,
                format!("{}#{:05}", c.id, i / convs.len()),
            )
        })
        .collect()
}

struct Figures {
    elapsed: Duration,
    sent: u64,
    limited: u64,
    requests: u64,
    in_order: bool,
}

fn figures(sim: &SimOrg, elapsed: Duration, sent: u64, convs: &[SimConversation]) -> Figures {
    let stats = sim.stats();
    // Texts carry zero-padded sequence numbers, so sorted text order is submission order.
    let in_order = convs.iter().all(|c| {
        let texts: Vec<String> = stats
            .sent
            .get(&c.id)
            .map(|v| v.iter().filter_map(|m| m.text.clone()).collect())
            .unwrap_or_default();
        let mut sorted = texts.clone();
        sorted.sort();
        texts == sorted
    });
    let path_requests: u64 = stats
        .requests
        .iter()
        .filter(|(p, _)| p.ends_with("/messages") && p.contains("/communications/"))
        .flat_map(|(_, by)| by.values())
        .sum();
    Figures {
        elapsed,
        sent,
        limited: stats.rate_limited,
        requests: path_requests,
        in_order,
    }
}

async fn ours(scale: &Scale) -> Figures {
    let sim = SimOrg::builder()
        .seed(3)
        .conversations(scale.conversations)
        .messages_per_conversation(1)
        .rate_limit(scale.rate, BURST)
        .start()
        .await
        .unwrap();
    let convs = sim.conversations();
    let c = client(
        &sim,
        Pacer::per_second(scale.rate, BURST),
        RetryPolicy::default(),
    );
    // Get the token before the clock starts (both runs do).
    let _: serde_json::Value = c
        .get_json(
            &format!("/api/v2/conversations/messages/{}", convs[0].id),
            &[],
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs_f64(f64::from(BURST) / scale.rate)).await;
    let before = sim.stats().rate_limited;
    let sender = MessageSender::builder(&c)
        .workers(WORKERS)
        .queue_capacity(256)
        .build()
        .unwrap();
    let started = Instant::now();
    let producer = async {
        let mut pending = Vec::with_capacity(scale.messages);
        for m in plan(&convs, scale.messages) {
            pending.push(sender.submit(m).await.unwrap());
        }
        let mut ok = 0u64;
        for p in pending {
            if p.await.is_ok() {
                ok += 1;
            }
        }
        ok
    };
    let sent = producer.await;
    let elapsed = started.elapsed();
    sender.shutdown().await;
    let mut f = figures(&sim, elapsed, sent, &convs);
    f.limited -= before;
    f
}

async fn baseline(scale: &Scale) -> Figures {
    let sim = SimOrg::builder()
        .seed(3)
        .conversations(scale.conversations)
        .messages_per_conversation(1)
        .rate_limit(scale.rate, BURST)
        .start()
        .await
        .unwrap();
    let convs = sim.conversations();
    let policy = || {
        RetryPolicy::builder()
            .max_attempts(30)
            .max_elapsed(Duration::from_secs(300))
            .backoff(
                Backoff::exponential(Duration::from_millis(100), Duration::from_secs(10))
                    .jitter(Jitter::Full),
            )
            .no_budget()
            .build()
    };
    let clients: Vec<GenesysClient> = (0..WORKERS)
        .map(|_| client(&sim, Pacer::unlimited(), policy()))
        .collect();
    for (i, c) in clients.iter().enumerate() {
        let _: serde_json::Value = c
            .get_json(
                &format!(
                    "/api/v2/conversations/messages/{}",
                    convs[i % convs.len()].id
                ),
                &[],
            )
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = sim.stats().rate_limited;
    let messages = plan(&convs, scale.messages / 5);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (w, c) in clients.into_iter().enumerate() {
        // Worker w owns conversations w, w+8, …: its own order, no coordination with the others.
        let mine: Vec<OutboundMessage> = messages
            .iter()
            .enumerate()
            .filter(|(i, _)| (i % convs.len()) % WORKERS == w)
            .map(|(_, m)| m.clone())
            .collect();
        tasks.push(tokio::spawn(async move {
            let mut ok = 0u64;
            for m in mine {
                let OutboundMessage::Agent { conversation_id, communication_id, body, .. } = m else { unreachable!() };
                let path = format!("/api/v2/conversations/messages/{conversation_id}/communications/{communication_id}/messages");
                if c.post_json::<_, serde_json::Value>(&path, &body).await.is_ok() {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let mut sent = 0;
    for t in tasks {
        sent += t.await.unwrap();
    }
    let elapsed = started.elapsed();
    let mut f = figures(&sim, elapsed, sent, &convs);
    f.limited -= before;
    f
}

fn row(name: &str, f: &Figures, rate: f64) {
    let goodput = f.sent as f64 / f.elapsed.as_secs_f64();
    let share = 100.0 * f.limited as f64 / f.requests.max(1) as f64;
    println!(
        "   {name:<58} {:>7.2} s  goodput {goodput:>6.2}/s ({:>5.1}% of limit)  429s {:>4} / {:>5} requests ({share:.2}%)  sent {}  in order: {}",
        f.elapsed.as_secs_f64(),
        100.0 * goodput / rate,
        f.limited,
        f.requests,
        f.sent,
        f.in_order
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let scale = if full { &FULL } else { &SMOKE };
    if !full {
        println!("(smoke run: pass --bench, i.e. `cargo bench`, for the real figures)");
    }
    let o = ours(scale).await;
    let b = baseline(scale).await;
    println!(
        "4. sender: {} messages over {} conversations, {WORKERS} workers, sim at {} req/s burst {BURST}",
        scale.messages, scale.conversations, scale.rate
    );
    row("ours (MessageSender, shared pacer)", &o, scale.rate);
    row(
        &format!(
            "baseline (8 independent workers, exp backoff; {} msgs)",
            scale.messages / 5
        ),
        &b,
        scale.rate,
    );
    let goodput = 100.0 * o.sent as f64 / o.elapsed.as_secs_f64() / scale.rate;
    let share = 100.0 * o.limited as f64 / o.requests.max(1) as f64;
    let verdict = |ok: bool| match (full, ok) {
        (false, _) => "(smoke run: not judged)",
        (true, true) => "OK",
        (true, false) => "MISSED",
    };
    println!(
        "   ours: goodput {goodput:.1}% of limit (target >= 97%) {}, 429s {share:.2}% (target <= 1%) {}",
        verdict(goodput >= 97.0),
        verdict(share <= 1.0)
    );
}
