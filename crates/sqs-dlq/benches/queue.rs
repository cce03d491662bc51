//! Raw `MemoryQueue` throughput: `receive(10)` + `delete_batch(10)` (the consumer's pattern)
//! against the tutorial's baseline of one delete request per message, measured in the same run,
//! with the SQS requests each pattern costs per message (counted by the queue).
//!
//! Run with `cargo bench -p sqs-dlq --bench queue`. Targets: ≥ 50,000 messages/s through the
//! batched pattern on a 2-core machine, ≤ 0.21 requests per message.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use sqs_dlq::queue::{MemoryQueue, OutgoingMessage, Queue, ReceiveOptions};

const MESSAGES: usize = 200_000;
const BODY: &str = r#"{"version":"0","detail-type":"v2.detail.events.conversation.{id}.customer.end","source":"aws.partner/genesys.com/cloud/example","detail":{"topicName":"v2.detail.events.conversation.4f9b.customer.end","eventBody":{"conversationId":"4f9b"}}}"#;

#[derive(Clone, Copy, PartialEq)]
enum Pattern {
    /// receive(10) + one delete_batch of the ten.
    Batched,
    /// receive(10) + one delete request per message (the tutorial's loop).
    PerMessage,
}

async fn fill(q: &MemoryQueue, n: usize) {
    let mut left = n;
    while left > 0 {
        let k = left.min(1000);
        let batch = (0..k)
            .map(|_| OutgoingMessage::new(BODY).with_attribute("ERROR_CODE", "THROTTLING"))
            .collect();
        assert!(q.send_batch(batch).await.unwrap().all_ok());
        left -= k;
    }
}

async fn drain(q: MemoryQueue, pattern: Pattern) -> usize {
    let opts = ReceiveOptions::default()
        .max_messages(10)
        .wait_time(Duration::ZERO);
    let mut done = 0;
    loop {
        let got = q.receive(&opts).await.unwrap();
        if got.is_empty() {
            return done;
        }
        done += got.len();
        match pattern {
            Pattern::Batched => {
                let handles = got.into_iter().map(|m| m.receipt_handle).collect();
                assert!(q.delete_batch(handles).await.unwrap().all_ok());
            }
            Pattern::PerMessage => {
                for m in got {
                    q.delete(&m.receipt_handle).await.unwrap();
                }
            }
        }
    }
}

/// Drains `MESSAGES` with `workers` concurrent tasks; returns (messages/s, requests/message).
fn run(pattern: Pattern, workers: usize) -> (f64, f64) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let q = MemoryQueue::new("bench");
        fill(&q, MESSAGES).await;
        q.reset_stats();
        let started = Instant::now();
        let tasks: Vec<_> = (0..workers)
            .map(|_| tokio::spawn(drain(q.clone(), pattern)))
            .collect();
        let mut done = 0;
        for t in tasks {
            done += t.await.unwrap();
        }
        let elapsed = started.elapsed();
        assert_eq!(done, MESSAGES);
        assert_eq!(q.depth().total(), 0);
        let rate = done as f64 / elapsed.as_secs_f64();
        (rate, q.stats().per_message(done as u64))
    })
}

fn main() {
    // `cargo test --all-targets` builds benches and runs them with `--bench` absent: keep that
    // quick by measuring a smaller run only when asked for real.
    let bench = std::env::args().any(|a| a == "--bench");
    if !bench {
        println!("queue bench: run with `cargo bench -p sqs-dlq --bench queue`");
        return;
    }
    println!("MemoryQueue, {MESSAGES} messages, 2 worker threads, best of 3");
    println!(
        "{:<44} {:>14} {:>14}",
        "pattern", "messages/s", "requests/msg"
    );
    for workers in [1, 4] {
        // Best of three, interleaved, so a neighbour's burst of CPU use does not decide it.
        let (mut ours, mut ours_cost, mut base, mut base_cost) = (0.0_f64, 0.0, 0.0_f64, 0.0);
        for _ in 0..3 {
            let (rate, cost) = run(Pattern::Batched, workers);
            (ours, ours_cost) = (ours.max(rate), cost);
            let (rate, cost) = run(Pattern::PerMessage, workers);
            (base, base_cost) = (base.max(rate), cost);
        }
        println!(
            "{:<44} {:>14.0} {:>14.3}",
            format!("receive(10) + delete_batch(10), {workers} task(s)"),
            ours,
            ours_cost
        );
        println!(
            "{:<44} {:>14.0} {:>14.3}",
            format!("baseline: receive(10) + 10 deletes, {workers} task(s)"),
            base,
            base_cost
        );
        println!(
            "  -> batched is {:.1}x the baseline's throughput at {:.0}% of its requests; target >= 50,000 msg/s: {}",
            ours / base,
            100.0 * ours_cost / base_cost,
            if ours >= 50_000.0 { "met" } else { "MISSED" }
        );
    }
}
