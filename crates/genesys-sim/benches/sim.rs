//! Start-up time and message generation of genesys-sim, with the floor measured in the same run.
//!
//! `cargo bench -p genesys-sim --bench sim` prints:
//! - start-up of an org (100 conversations × 1,000 messages) against the floor of binding a bare
//!   `TcpListener` (target: ≤ 50 ms);
//! - generating and id-resolving 1,000,000 messages (1,000 × 1,000) through the public API,
//!   with the process's resident memory before and after (messages are never stored);
//! - rendering one page of 100 guest messages over HTTP.
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it runs a small smoke version.
#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::time::{Duration, Instant};

use genesys_sim::SimOrg;

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // `cargo bench` passes --bench; `cargo test --all-targets` does not: then only a smoke run.
    let full = std::env::args().any(|a| a == "--bench");
    let (runs, side, pages_n) = if full {
        (50, 1000u32, 200)
    } else {
        (3, 50u32, 5)
    };
    rt.block_on(async {
        let mut ours = Vec::with_capacity(runs);
        let mut floor = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            floor.push(t.elapsed());
            drop(l);
            let t = Instant::now();
            let sim = SimOrg::builder()
                .conversations(100)
                .messages_per_conversation(1000)
                .start()
                .await
                .unwrap();
            ours.push(t.elapsed());
            drop(sim);
        }
        ours.sort();
        floor.sort();
        println!("start-up over {runs} runs (100 conversations x 1,000 messages):");
        println!(
            "  genesys-sim      median {:>9.3?}  p99 {:>9.3?}  max {:>9.3?}   (target <= 50 ms)",
            percentile(&ours, 0.5),
            percentile(&ours, 0.99),
            ours[runs - 1]
        );
        println!(
            "  bare bind floor  median {:>9.3?}  p99 {:>9.3?}  max {:>9.3?}",
            percentile(&floor, 0.5),
            percentile(&floor, 0.99),
            floor[runs - 1]
        );

        let before = rss_kib();
        let t = Instant::now();
        let sim = SimOrg::builder()
            .conversations(side)
            .messages_per_conversation(side)
            .start()
            .await
            .unwrap();
        let started = t.elapsed();
        let t = Instant::now();
        let mut total = 0usize;
        for c in sim.conversations() {
            total += sim.message_ids(&c.id).unwrap().len();
        }
        let generated = t.elapsed();
        let after = rss_kib();
        println!("{side} x {side} org: start-up {started:.3?}; {total} messages generated in {generated:.3?} ({:.0} messages/s)",
            total as f64 / generated.as_secs_f64());
        if let (Some(b), Some(a)) = (before, after) {
            println!("  resident memory before {b} KiB, after {a} KiB (+{} KiB)", a.saturating_sub(b));
        }

        let jwt = sim.conversations()[0].guest_jwt.clone();
        let url = format!("{}/api/v2/webmessaging/messages?pageSize=100", sim.base_url());
        let client = reqwest::Client::new();
        let mut pages = Vec::new();
        for _ in 0..pages_n {
            let t = Instant::now();
            let body = client.get(&url).bearer_auth(&jwt).send().await.unwrap().bytes().await.unwrap();
            pages.push(t.elapsed());
            assert!(body.len() > 1000);
        }
        pages.sort();
        println!(
            "guest history page of 100 over HTTP: median {:.3?}, p99 {:.3?}",
            percentile(&pages, 0.5),
            percentile(&pages, 0.99)
        );
    });
}
