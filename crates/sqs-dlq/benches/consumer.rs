//! Consumer cost and speed on `MemoryQueue` with a no-op handler, beside the tutorial's pattern
//! (receive ten, then one `DeleteMessage` per message) measured in the same run.
//!
//! - SQS requests per consumed message, counted on the queue: target ≤ 0.21 (the floor with
//!   batches of ten is 0.2; the tutorial's pattern costs about 1.1).
//! - Throughput: target ≥ 50,000 messages/s on a 2-core machine.
//!
//! Run: `cargo bench -p sqs-dlq --bench consumer`.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use async_trait::async_trait;
use sqs_dlq::consumer::{Consumer, Delivery, Handler, HandlerError};
use sqs_dlq::queue::{MemoryQueue, OutgoingMessage, Queue, ReceiveOptions};
use tokio_util::sync::CancellationToken;

/// Does nothing with the body.
struct NoOp;

#[async_trait]
impl Handler for NoOp {
    type Payload = String;
    async fn handle(&self, _body: String, _: Delivery<'_>) -> Result<(), HandlerError> {
        Ok(())
    }
}

async fn fill(queue: &MemoryQueue, n: usize) {
    let mut left = n;
    let mut id = 0u64;
    while left > 0 {
        let chunk = left.min(10_000);
        let messages = (0..chunk)
            .map(|_| {
                id += 1;
                OutgoingMessage::new(format!(
                    r#"{{"id":{id},"contactId":"c-{id}","status":"CALL_COMPLETED"}}"#
                ))
            })
            .collect();
        assert!(queue.send_batch(messages).await.unwrap().all_ok());
        left -= chunk;
    }
    queue.reset_stats();
}

struct Figures {
    messages: u64,
    requests: u64,
    elapsed: Duration,
}

impl Figures {
    fn per_message(&self) -> f64 {
        self.requests as f64 / self.messages as f64
    }
    fn rate(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64()
    }
}

/// Ours: the consumer with defaults and a no-op handler.
async fn ours(n: usize, concurrency: usize) -> Figures {
    let queue = MemoryQueue::new("bench");
    fill(&queue, n).await;
    let stop = CancellationToken::new();
    // Stops the consumer once every message is deleted (the queue counts in-flight ones too).
    let watched = queue.clone();
    let stopper = stop.clone();
    tokio::spawn(async move {
        while watched.depth().total() > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        stopper.cancel();
    });
    let consumer = Consumer::builder(queue.clone(), NoOp)
        .dead_letter_queue(MemoryQueue::new("bench-dlq"))
        .concurrency(concurrency)
        .shutdown(stop)
        .build()
        .unwrap();
    let started = Instant::now();
    let summary = consumer.run().await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(summary.counters.succeeded, n as u64);
    assert_eq!(queue.depth().total(), 0);
    Figures {
        messages: summary.counters.deleted,
        requests: queue.stats().total(),
        elapsed,
    }
}

/// The tutorial's loop: receive up to ten, handle, delete each message on its own.
async fn tutorial_pattern(n: usize) -> Figures {
    let queue = MemoryQueue::new("baseline");
    fill(&queue, n).await;
    let opts = ReceiveOptions::default()
        .max_messages(10)
        .wait_time(Duration::ZERO);
    let started = Instant::now();
    let mut done = 0u64;
    while done < n as u64 {
        for message in queue.receive(&opts).await.unwrap() {
            // no-op handler, then DeleteMessage
            queue.delete(&message.receipt_handle).await.unwrap();
            done += 1;
        }
    }
    Figures {
        messages: done,
        requests: queue.stats().total(),
        elapsed: started.elapsed(),
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // Warm up allocator and code paths.
        ours(20_000, 64).await;

        let cost_n = 20_000;
        let ours_cost = ours(cost_n, 64).await;
        let base_cost = tutorial_pattern(cost_n).await;
        println!("SQS requests per consumed message ({cost_n} messages, no-op handler)");
        println!(
            "  consumer (batched receive + batched delete): {:.3}   target <= 0.21",
            ours_cost.per_message()
        );
        println!(
            "  tutorial (receive 10, delete each):          {:.3}",
            base_cost.per_message()
        );

        let n = 200_000;
        let mut best: Option<Figures> = None;
        for _ in 0..3 {
            let f = ours(n, 64).await;
            if best.as_ref().is_none_or(|b| f.rate() > b.rate()) {
                best = Some(f);
            }
        }
        let best = best.unwrap();
        let mut default_best: Option<Figures> = None;
        for _ in 0..3 {
            let f = ours(n, 16).await;
            if default_best.as_ref().is_none_or(|b| f.rate() > b.rate()) {
                default_best = Some(f);
            }
        }
        let default_best = default_best.unwrap();
        let base = tutorial_pattern(n).await;
        println!("Throughput on MemoryQueue ({n} messages, no-op handler, 2 worker threads)");
        println!(
            "  consumer, concurrency 64 (best of 3): {:>9.0} msg/s  ({:.2} s)   target >= 50000",
            best.rate(),
            best.elapsed.as_secs_f64()
        );
        println!(
            "  consumer, concurrency 16 (default):   {:>9.0} msg/s  ({:.2} s)",
            default_best.rate(),
            default_best.elapsed.as_secs_f64()
        );
        println!(
            "  tutorial loop, sequential:            {:>9.0} msg/s  ({:.2} s)   (in memory; on SQS each delete is a round trip)",
            base.rate(),
            base.elapsed.as_secs_f64()
        );
        println!(
            "  requests per message in the throughput run: {:.3}",
            best.per_message()
        );
    });
}
