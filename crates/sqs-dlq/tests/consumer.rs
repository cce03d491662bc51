//! The consumer over `MemoryQueue`, in paused tokio time: nothing lost, nothing handled twice,
//! failures routed to the DLQ with their reason, heartbeat, idempotency, shutdown and backoff.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use retry_policy::test_util::MetricsCapture;
use sqs_dlq::metric_names::*;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use retry_policy::{Backoff, Jitter};
use sqs_dlq::consumer::codes;
use sqs_dlq::consumer::{
    Claim, ClaimToken, Completion, Consumer, ConsumerError, Delivery, Handler, HandlerError,
    IdempotencyError, IdempotencyStore, Json, MemoryIdempotencyStore, RunSummary,
};
use sqs_dlq::queue::{
    BatchOutcome, InjectedFailure, MemoryQueue, Operation, OutgoingMessage, Queue, QueueDepth,
    QueueError, ReceiveOptions, ReceivedMessage,
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

#[derive(serde::Deserialize)]
struct Body {
    id: u32,
    #[serde(default)]
    key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Plan {
    Ok,
    /// Fails transiently on this many attempts, then succeeds.
    Transient(u32),
    Permanent,
    /// Permanent, with the handler's own dead-letter error code.
    PermanentCoded,
    Poison,
    /// Never finishes.
    Stuck,
    /// Sleeps this long, then succeeds.
    Slow(Duration),
    Panic,
}

#[derive(Default)]
struct Log {
    plan: HashMap<u32, Plan>,
    attempts: Mutex<HashMap<u32, u32>>,
    handled: Mutex<HashMap<u32, u32>>,
    attempt_times: Mutex<HashMap<u32, Vec<Instant>>>,
    receive_counts: Mutex<HashMap<u32, Vec<u32>>>,
}

impl Log {
    fn handled(&self, id: u32) -> u32 {
        self.handled.lock().unwrap().get(&id).copied().unwrap_or(0)
    }
    fn attempts(&self, id: u32) -> u32 {
        self.attempts.lock().unwrap().get(&id).copied().unwrap_or(0)
    }
    fn total_handled(&self) -> u32 {
        self.handled.lock().unwrap().values().sum()
    }
}

struct Scripted(Arc<Log>);

#[async_trait]
impl Handler for Scripted {
    type Payload = Json<Body>;

    fn idempotency_key(&self, body: &Self::Payload, _: Delivery<'_>) -> Option<String> {
        body.0.key.clone()
    }

    async fn handle(
        &self,
        body: Self::Payload,
        delivery: Delivery<'_>,
    ) -> Result<(), HandlerError> {
        let id = body.0.id;
        let attempt = {
            let mut attempts = self.0.attempts.lock().unwrap();
            let n = attempts.entry(id).or_default();
            *n += 1;
            *n
        };
        self.0
            .attempt_times
            .lock()
            .unwrap()
            .entry(id)
            .or_default()
            .push(Instant::now());
        self.0
            .receive_counts
            .lock()
            .unwrap()
            .entry(id)
            .or_default()
            .push(delivery.receive_count());
        match self.0.plan.get(&id).copied().unwrap_or(Plan::Ok) {
            Plan::Ok | Plan::Poison => {}
            Plan::Transient(fails) if attempt <= fails => {
                return Err(HandlerError::transient(format!(
                    "attempt {attempt} timed out"
                )));
            }
            Plan::Transient(_) => {}
            Plan::Permanent => {
                return Err(HandlerError::permanent(format!("record {id} rejected")));
            }
            Plan::PermanentCoded => {
                return Err(
                    HandlerError::permanent("target answered 400").with_code("ERROR_FROM_TARGET")
                );
            }
            Plan::Stuck => std::future::pending::<()>().await,
            Plan::Slow(d) => tokio::time::sleep(d).await,
            Plan::Panic => panic!("handler bug on {id}"),
        }
        *self.0.handled.lock().unwrap().entry(id).or_default() += 1;
        Ok(())
    }
}

fn body_of(id: u32, plan: Plan) -> String {
    match plan {
        Plan::Poison => format!("poison #{id} {{not json"),
        _ => format!(r#"{{"id":{id}}}"#),
    }
}

/// Id of a body written by `body_of`.
fn id_of(body: &str) -> u32 {
    if let Some(rest) = body.strip_prefix("poison #") {
        return rest.split(' ').next().unwrap().parse().unwrap();
    }
    serde_json::from_str::<serde_json::Value>(body).unwrap()["id"]
        .as_u64()
        .unwrap() as u32
}

async fn send_all(queue: &MemoryQueue, plans: &HashMap<u32, Plan>) {
    let mut ids: Vec<_> = plans.keys().copied().collect();
    ids.sort_unstable();
    let messages = ids
        .iter()
        .map(|id| {
            OutgoingMessage::new(body_of(*id, plans[id]))
                .with_attribute("origin", "test")
                .with_number_attribute("seq", id)
        })
        .collect();
    let outcome = queue.send_batch(messages).await.unwrap();
    assert!(outcome.all_ok());
}

fn fast_backoff() -> Backoff {
    Backoff::exponential(Duration::from_secs(1), Duration::from_secs(10)).jitter(Jitter::Equal)
}

/// Waits (in paused time) until `cond` holds, failing after `limit`.
async fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < limit,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn spawn_run(
    consumer: Consumer<MemoryQueue, Scripted>,
) -> tokio::task::JoinHandle<Result<RunSummary, ConsumerError>> {
    tokio::spawn(consumer.run())
}

#[tokio::test(start_paused = true)]
async fn thousand_messages_each_handled_once_or_dead_lettered_with_reason() {
    let m = MetricsCapture::install_local();
    let mut rng = SmallRng::seed_from_u64(4);
    let max_receives = 5;
    let mut plans = HashMap::new();
    for id in 0..1000u32 {
        let roll: f64 = rng.random();
        let plan = if roll < 0.01 {
            Plan::Poison
        } else if roll < 0.03 {
            Plan::Permanent
        } else if roll < 0.13 {
            // Most recover; those failing max_receives times or more run out of retries.
            Plan::Transient(rng.random_range(1..=max_receives + 1))
        } else {
            Plan::Ok
        };
        plans.insert(id, plan);
    }
    let count = |f: &dyn Fn(&Plan) -> bool| plans.values().filter(|p| f(p)).count();
    let poison = count(&|p| *p == Plan::Poison);
    let permanent = count(&|p| *p == Plan::Permanent);
    let exhausted = count(&|p| matches!(p, Plan::Transient(n) if *n >= max_receives));
    let transient = count(&|p| matches!(p, Plan::Transient(_)));
    assert!(poison >= 3 && permanent >= 10 && transient >= 60 && exhausted >= 5);

    let queue = MemoryQueue::new("webhooks");
    let dlq = MemoryQueue::new("webhooks-dlq");
    send_all(&queue, &plans).await;
    let log = Arc::new(Log {
        plan: plans.clone(),
        ..Log::default()
    });
    let shutdown = CancellationToken::new();
    let consumer = Consumer::builder(queue.clone(), Scripted(log.clone()))
        .dead_letter_queue(dlq.clone())
        .concurrency(25)
        .max_receives(max_receives)
        .retry_backoff(fast_backoff())
        .shutdown(shutdown.clone())
        .seed(7)
        .build()
        .unwrap();
    let run = spawn_run(consumer);
    wait_for(Duration::from_secs(600), || queue.depth().total() == 0).await;
    shutdown.cancel();
    let summary = run.await.unwrap().unwrap();

    // Every message ended exactly once: handled, or in the DLQ with its reason.
    let dead: Vec<ReceivedMessage> = dlq.peek_all();
    let mut dead_ids = HashSet::new();
    for letter in &dead {
        let id = id_of(&letter.body);
        assert!(dead_ids.insert(id), "message {id} dead-lettered twice");
        let code = letter.attribute(codes::ATTR_ERROR_CODE).unwrap();
        let message = letter.attribute(codes::ATTR_ERROR_MESSAGE).unwrap();
        let retries: u32 = letter
            .attribute(codes::ATTR_RETRY_ATTEMPTS)
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            letter.attribute("origin"),
            Some("test"),
            "original attributes kept"
        );
        assert_eq!(letter.attribute("seq"), Some(id.to_string().as_str()));
        assert_eq!(letter.body, body_of(id, plans[&id]), "body byte for byte");
        match plans[&id] {
            Plan::Poison => {
                assert_eq!(code, codes::POISON_MESSAGE);
                assert!(message.contains("could not be decoded"), "{message}");
                assert_eq!(retries, 0);
            }
            Plan::Permanent => {
                assert_eq!(code, codes::PERMANENT_FAILURE);
                assert_eq!(message, format!("record {id} rejected"));
                assert_eq!(retries, 0);
            }
            Plan::Transient(n) if n >= max_receives => {
                assert_eq!(code, codes::MAX_RECEIVES_EXCEEDED);
                assert!(message.contains("timed out"), "{message}");
                assert_eq!(retries, max_receives - 1);
                assert_eq!(log.attempts(id), max_receives);
            }
            other => panic!("message {id} ({other:?}) should not be dead-lettered"),
        }
        assert_eq!(
            log.handled(id),
            0,
            "dead-lettered message {id} was also handled"
        );
    }
    for (id, plan) in &plans {
        let should_succeed = match plan {
            Plan::Ok => true,
            Plan::Transient(n) => *n < max_receives,
            _ => false,
        };
        if should_succeed {
            assert_eq!(log.handled(*id), 1, "message {id} ({plan:?})");
            assert!(!dead_ids.contains(id));
        }
        if let Plan::Transient(n) = plan
            && *n < max_receives
        {
            assert_eq!(log.attempts(*id), n + 1);
        }
    }
    assert_eq!(dead_ids.len(), poison + permanent + exhausted);
    assert_eq!(
        log.total_handled() as usize + dead_ids.len(),
        1000,
        "none lost"
    );
    assert_eq!(queue.depth(), QueueDepth::default());

    // Transient failures were retried through the visibility timeout, never re-sent.
    let stats = queue.stats();
    assert_eq!(stats.send_message + stats.send_message_batch, 100);

    let c = summary.counters;
    assert_eq!(c.succeeded as usize, 1000 - dead_ids.len());
    assert_eq!(c.dead_lettered as usize, dead_ids.len());
    assert_eq!(c.deleted, 1000);
    assert_eq!(c.delete_failures, 0);
    let expected_retries: u32 = plans
        .values()
        .map(|p| match p {
            Plan::Transient(n) => (*n).min(max_receives - 1),
            _ => 0,
        })
        .sum();
    assert_eq!(c.retried, u64::from(expected_retries));
    assert_eq!(c.received, 1000 + c.retried);
    // The metrics facade saw what the summary counts.
    let queue_attrs = [(SYSTEM, AWS_SQS), (DESTINATION, "webhooks")];
    assert_eq!(
        m.counter(MESSAGING_CLIENT_CONSUMED_MESSAGES, &queue_attrs),
        c.received
    );
    let outcome = |o: &str| m.counter(CONSUMER_OUTCOMES, &[("outcome", o)]);
    assert_eq!(outcome("succeeded"), c.succeeded);
    assert_eq!(outcome("retried"), c.retried);
    assert_eq!(outcome("dead_lettered"), c.dead_lettered);
    assert_eq!(
        m.counter(CONSUMER_OUTCOMES, &[("reason", "poison")]),
        poison as u64
    );
    assert_eq!(m.counter(DLQ_COPIES, &[("outcome", "ok")]), c.dead_lettered);
    assert_eq!(m.counter(DELETES, &[("outcome", "ok")]), c.deleted);
    assert_eq!(
        m.counter(VISIBILITY_CHANGES, &[("reason", "retry")]),
        c.retried
    );
    assert_eq!(
        m.histogram(MESSAGING_PROCESS_DURATION, &queue_attrs).len() as u64,
        c.handler_runs
    );
    assert_eq!(c.handler_runs, c.received - poison as u64);
}

#[tokio::test(start_paused = true)]
async fn transient_failures_back_off_through_visibility() {
    let queue = MemoryQueue::new("q");
    let dlq = MemoryQueue::new("dlq");
    let plans = HashMap::from([(1, Plan::Transient(2))]);
    send_all(&queue, &plans).await;
    let log = Arc::new(Log {
        plan: plans,
        ..Log::default()
    });
    let shutdown = CancellationToken::new();
    let consumer = Consumer::builder(queue.clone(), Scripted(log.clone()))
        .dead_letter_queue(dlq.clone())
        .retry_backoff(Backoff::constant(Duration::from_secs(7)))
        .delete_flush_interval(Duration::from_millis(100))
        .shutdown(shutdown.clone())
        .build()
        .unwrap();
    let run = spawn_run(consumer);
    wait_for(Duration::from_secs(60), || queue.depth().total() == 0).await;
    shutdown.cancel();
    run.await.unwrap().unwrap();
    let times = log.attempt_times.lock().unwrap()[&1].clone();
    assert_eq!(times.len(), 3);
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_secs(7) && gap <= Duration::from_millis(7_200),
            "{gap:?}"
        );
    }
    assert_eq!(log.receive_counts.lock().unwrap()[&1], vec![1, 2, 3]);
    assert_eq!(log.handled(1), 1);
    assert!(dlq.peek_all().is_empty());
    let stats = queue.stats();
    assert_eq!(
        stats.send_message_batch, 1,
        "no copies sent back to the queue"
    );
    assert_eq!(stats.change_message_visibility_batch, 2);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_consumer_mid_batch_leaves_the_unfinished_to_come_back() {
    let queue = MemoryQueue::new("q");
    let dlq = MemoryQueue::new("dlq");
    let plans: HashMap<u32, Plan> = (0..20)
        .map(|id| (id, if id % 2 == 0 { Plan::Ok } else { Plan::Stuck }))
        .collect();
    send_all(&queue, &plans).await;
    let log = Arc::new(Log {
        plan: plans,
        ..Log::default()
    });
    let consumer = Consumer::builder(queue.clone(), Scripted(log.clone()))
        .dead_letter_queue(dlq.clone())
        .concurrency(20)
        .visibility_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let run = spawn_run(consumer);
    wait_for(Duration::from_secs(5), || log.total_handled() == 10).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    tokio::time::sleep(Duration::from_millis(10)).await;

    // The finished ones were deleted; the unfinished are in flight until the timeout runs out,
    // then visible again (no heartbeat keeps them hidden after the drop).
    assert_eq!(queue.depth().total(), 10);
    assert_eq!(queue.depth().visible, 0);
    tokio::time::sleep(Duration::from_secs(30)).await;
    let back = queue
        .receive(&ReceiveOptions::default().wait_time(Duration::ZERO))
        .await
        .unwrap();
    let back_ids: HashSet<u32> = back.iter().map(|m| id_of(&m.body)).collect();
    let odd: HashSet<u32> = (0..20).filter(|id| id % 2 == 1).collect();
    assert_eq!(back_ids, odd);
    assert!(back.iter().all(|m| m.receive_count == 2));
    for id in 0..20 {
        assert_eq!(log.handled(id), u32::from(id % 2 == 0));
    }
}

#[tokio::test(start_paused = true)]
async fn repeats_of_finished_work_are_acknowledged_without_running_the_handler() {
    let queue = MemoryQueue::new("q");
    let dlq = MemoryQueue::new("dlq");
    for id in 0..5 {
        queue
            .send(OutgoingMessage::new(format!(
                r#"{{"id":{id},"key":"contact-1:conv-9"}}"#
            )))
            .await
            .unwrap();
    }
    queue
        .send(OutgoingMessage::new(
            r#"{"id":99,"key":"contact-2:conv-9"}"#,
        ))
        .await
        .unwrap();
    let log = Arc::new(Log::default());
    let shutdown = CancellationToken::new();
    let consumer = Consumer::builder(queue.clone(), Scripted(log.clone()))
        .dead_letter_queue(dlq.clone())
        .concurrency(1)
        .idempotency_store(MemoryIdempotencyStore::new(1000, Duration::from_secs(3600)))
        .shutdown(shutdown.clone())
        .build()
        .unwrap();
    let run = spawn_run(consumer);
    wait_for(Duration::from_secs(60), || queue.depth().total() == 0).await;
    shutdown.cancel();
    let summary = run.await.unwrap().unwrap();
    assert_eq!(log.total_handled(), 2, "one run per key");
    assert_eq!(log.handled(0) + log.handled(99), 2);
    assert_eq!(summary.counters.duplicates, 4);
    assert_eq!(summary.counters.deleted, 6);
    assert_eq!(summary.counters.handler_runs, 2);
}

/// Queues messages 1 and 2 with the same idempotency key ("k"); each takes `work` to handle.
async fn two_copies_of_one_key(queue: &MemoryQueue, work: Duration) -> Arc<Log> {
    for id in [1, 2] {
        queue
            .send(OutgoingMessage::new(format!(r#"{{"id":{id},"key":"k"}}"#)))
            .await
            .unwrap();
    }
    Arc::new(Log {
        plan: HashMap::from([(1, Plan::Slow(work)), (2, Plan::Slow(work))]),
        ..Log::default()
    })
}

#[tokio::test(start_paused = true)]
async fn a_concurrent_duplicate_waits_for_the_first_then_is_acknowledged() {
    let queue = MemoryQueue::new("q");
    let dlq = MemoryQueue::new("dlq");
    let log = two_copies_of_one_key(&queue, Duration::from_secs(5)).await;
    let shutdown = CancellationToken::new();
    let consumer = Consumer::builder(queue.clone(), Scripted(log.clone()))
        .dead_letter_queue(dlq.clone())
        .concurrency(2)
        .idempotency_store(MemoryIdempotencyStore::new(1000, Duration::from_secs(3600)))
        .shutdown(shutdown.clone())
        .build()
        .unwrap();
    let run = spawn_run(consumer);
    wait_for(Duration::from_secs(120), || queue.depth().total() == 0).await;
    shutdown.cancel();
    let summary = run.await.unwrap().unwrap();
    assert_eq!(log.total_handled(), 1, "the duplicate never ran");
    assert_eq!(log.attempts.lock().unwrap().len(), 1);
    assert!(summary.counters.deferred >= 1, "{:?}", summary.counters);
    assert_eq!(summary.counters.duplicates, 1);
    assert!(dlq.peek_all().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_deferred_duplicate_comes_back_after_the_retry_backoff_not_a_visibility_timeout() {
    let queue = MemoryQueue::new("q");
    let dlq = MemoryQueue::new("dlq");
    let log = two_copies_of_one_key(&queue, Duration::from_secs(1)).await;
    let shutdown = CancellationToken::new();
    let consumer = Consumer::builder(queue.clone(), Scripted(log.clone()))
        .dead_letter_queue(dlq.clone())
        .concurrency(2)
        .visibility_timeout(Duration::from_secs(60))
        .retry_backoff(Backoff::constant(Duration::from_millis(500)).jitter(Jitter::None))
        .idempotency_store(MemoryIdempotencyStore::new(1000, Duration::from_secs(3600)))
        .shutdown(shutdown.clone())
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let run = spawn_run(consumer);
    wait_for(Duration::from_secs(120), || queue.depth().total() == 0).await;
    let took = started.elapsed();
    shutdown.cancel();
    let summary = run.await.unwrap().unwrap();
    assert!(
        took < Duration::from_secs(5),
        "the duplicate waited {took:?}; the first copy took 1 s and the backoff is 0.5 s"
    );
    assert_eq!(log.total_handled(), 1, "the duplicate never ran");
    assert!(summary.counters.deferred >= 1, "{:?}", summary.counters);
    assert_eq!(summary.counters.duplicates, 1);
}

#[tokio::test(start_paused = true)]
async fn heartbeat_keeps_a_slow_message_invisible() {
    let queue = MemoryQueue::new("q");
    let dlq = MemoryQueue::new("dlq");
    let plans = HashMap::from([(1, Plan::Slow(Duration::from_secs(20)))]);
    send_all(&queue, &plans).await;
    let log = Arc::new(Log {
        plan: plans,
        ..Log::default()
    });
    let shutdown = CancellationToken::new();
    let consumer = Consumer::builder(queue.clone(), Scripted(log.clone()))
        .dead_letter_queue(dlq.clone())
        .visibility_timeout(Duration::from_secs(3))
        .heartbeat_interval(Duration::from_secs(1))
        .shutdown(shutdown.clone())
        .build()
        .unwrap();
    let run = spawn_run(consumer);
    wait_for(Duration::from_secs(1), || log.attempts(1) == 1).await;
    // Sample for the whole run: the message never becomes visible (the timeout is 3 s, the
    // handler takes 20 s).
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(19) {
        assert_eq!(
            queue.depth().visible,
            0,
            "visible after {:?}",
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    wait_for(Duration::from_secs(5), || queue.depth().total() == 0).await;
    shutdown.cancel();
    run.await.unwrap().unwrap();
    assert_eq!(log.attempts(1), 1, "never delivered twice");
    assert_eq!(log.handled(1), 1);
    let beats = queue.stats().change_message_visibility_batch;
    assert!((18..=21).contains(&beats), "{beats} heartbeats");
}

#[tokio::test(start_paused = true)]
async fn shutdown_finishes_in_flight_then_releases_the_rest() {
    let queue = MemoryQueue::new("q");
    let dlq = MemoryQueue::new("dlq");
    let plans = HashMap::from([
        (1, Plan::Slow(Duration::from_secs(2))),
        (2, Plan::Slow(Duration::from_secs(2))),
        (3, Plan::Stuck),
        (4, Plan::Stuck),
    ]);
    send_all(&queue, &plans).await;
    let log = Arc::new(Log {
        plan: plans,
        ..Log::default()
    });
    let shutdown = CancellationToken::new();
    let consumer = Consumer::builder(queue.clone(), Scripted(log.clone()))
        .dead_letter_queue(dlq.clone())
        .visibility_timeout(Duration::from_secs(60))
        .idempotency_store(MemoryIdempotencyStore::new(100, Duration::from_secs(600)))
        .shutdown(shutdown.clone())
        .shutdown_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let run = spawn_run(consumer);
    wait_for(Duration::from_secs(1), || {
        log.attempts.lock().unwrap().len() == 4
    })
    .await;
    let stopped_at = Instant::now();
    shutdown.cancel();
    let summary = run.await.unwrap().unwrap();
    let took = stopped_at.elapsed();
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(6),
        "{took:?}"
    );
    assert_eq!(summary.counters.succeeded, 2);
    assert_eq!(summary.counters.released, 2);
    assert_eq!(summary.counters.deleted, 2);
    // The stuck ones are visible again at once, for another consumer (not after 60 s).
    let depth = queue.depth();
    assert_eq!((depth.visible, depth.in_flight), (2, 0));
    let ids: HashSet<u32> = queue.bodies().iter().map(|b| id_of(b)).collect();
    assert_eq!(ids, HashSet::from([3, 4]));
}

#[tokio::test(start_paused = true)]
async fn no_delete_without_a_stored_dead_letter_copy() {
    let queue = MemoryQueue::new("q");
    let dlq = MemoryQueue::new("dlq");
    let plans = HashMap::from([(1, Plan::Poison), (2, Plan::Permanent)]);
    send_all(&queue, &plans).await;
    // The DLQ is down for a while.
    dlq.fail_next(Operation::Send, 1_000_000, InjectedFailure::Unavailable);
    let log = Arc::new(Log {
        plan: plans,
        ..Log::default()
    });
    let shutdown = CancellationToken::new();
    let consumer = Consumer::builder(queue.clone(), Scripted(log.clone()))
        .dead_letter_queue(dlq.clone())
        .visibility_timeout(Duration::from_secs(10))
        .shutdown(shutdown.clone())
        .build()
        .unwrap();
    let run = spawn_run(consumer);
    tokio::time::sleep(Duration::from_secs(45)).await;
    // Tried on every delivery; never deleted.
    assert_eq!(queue.depth().total(), 2);
    assert_eq!(queue.stats().delete_message_batch, 0);
    assert!(dlq.peek_all().is_empty());
    assert!(log.attempts(2) >= 4, "{}", log.attempts(2));

    // The DLQ recovers: both end there, then leave the source queue.
    dlq.fail_next(Operation::Send, 0, InjectedFailure::Unavailable);
    wait_for(Duration::from_secs(30), || queue.depth().total() == 0).await;
    shutdown.cancel();
    let summary = run.await.unwrap().unwrap();
    assert!(summary.counters.dead_letter_failures >= 8);
    assert_eq!(summary.counters.dead_lettered, 2);
    let ids: HashSet<u32> = dlq.bodies().iter().map(|b| id_of(b)).collect();
    assert_eq!(ids, HashSet::from([1, 2]));
}

#[tokio::test(start_paused = true)]
async fn a_panicking_handler_is_retried_then_dead_lettered() {
    let queue = MemoryQueue::new("q");
    let dlq = MemoryQueue::new("dlq");
    let plans = HashMap::from([(1, Plan::Panic)]);
    send_all(&queue, &plans).await;
    let log = Arc::new(Log {
        plan: plans,
        ..Log::default()
    });
    let shutdown = CancellationToken::new();
    let consumer = Consumer::builder(queue.clone(), Scripted(log.clone()))
        .dead_letter_queue(dlq.clone())
        .max_receives(3)
        .retry_backoff(fast_backoff())
        .shutdown(shutdown.clone())
        .build()
        .unwrap();
    let run = spawn_run(consumer);
    wait_for(Duration::from_secs(60), || queue.depth().total() == 0).await;
    shutdown.cancel();
    run.await.unwrap().unwrap();
    assert_eq!(log.attempts(1), 3);
    let dead = dlq.peek_all();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0].attribute(codes::ATTR_ERROR_CODE),
        Some(codes::MAX_RECEIVES_EXCEEDED)
    );
    assert!(
        dead[0]
            .attribute(codes::ATTR_ERROR_MESSAGE)
            .unwrap()
            .contains("handler panicked: handler bug on 1")
    );
}

/// A queue whose receive always fails with `error`, counting the calls.
struct FailingReceive {
    inner: MemoryQueue,
    receives: Arc<AtomicU32>,
    error: fn() -> QueueError,
}

#[async_trait]
impl Queue for FailingReceive {
    fn name(&self) -> &str {
        "failing"
    }
    async fn receive(&self, _opts: &ReceiveOptions) -> Result<Vec<ReceivedMessage>, QueueError> {
        self.receives.fetch_add(1, Ordering::SeqCst);
        Err((self.error)())
    }
    async fn send(&self, message: OutgoingMessage) -> Result<String, QueueError> {
        self.inner.send(message).await
    }
    async fn send_batch(
        &self,
        messages: Vec<OutgoingMessage>,
    ) -> Result<BatchOutcome<String>, QueueError> {
        self.inner.send_batch(messages).await
    }
    async fn delete_batch(&self, handles: Vec<String>) -> Result<BatchOutcome<()>, QueueError> {
        self.inner.delete_batch(handles).await
    }
    async fn change_visibility_batch(
        &self,
        entries: Vec<(String, Duration)>,
    ) -> Result<BatchOutcome<()>, QueueError> {
        self.inner.change_visibility_batch(entries).await
    }
    async fn approximate_depth(&self) -> Result<QueueDepth, QueueError> {
        self.inner.approximate_depth().await
    }
}

#[tokio::test(start_paused = true)]
async fn receive_errors_pause_the_loop_with_backoff() {
    let receives = Arc::new(AtomicU32::new(0));
    let queue = FailingReceive {
        inner: MemoryQueue::new("q"),
        receives: receives.clone(),
        error: || QueueError::Unavailable {
            queue: "q".into(),
            message: "connection reset".into(),
            source: None,
        },
    };
    let shutdown = CancellationToken::new();
    let consumer = Consumer::builder(queue, Scripted(Arc::new(Log::default())))
        .dead_letter_queue(MemoryQueue::new("dlq"))
        .receive_error_backoff(
            Backoff::exponential(Duration::from_millis(500), Duration::from_secs(30))
                .jitter(Jitter::None),
        )
        .shutdown(shutdown.clone())
        .build()
        .unwrap();
    let run = tokio::spawn(consumer.run());
    tokio::time::sleep(Duration::from_secs(60)).await;
    shutdown.cancel();
    let summary = run.await.unwrap().unwrap();
    // 0.5 + 1 + 2 + 4 + 8 + 16 + 30 > 60: seven or eight calls in a minute, not thousands.
    let calls = receives.load(Ordering::SeqCst);
    assert!((6..=8).contains(&calls), "{calls} receive calls");
    assert_eq!(summary.counters.receive_errors, u64::from(calls));
}

#[tokio::test(start_paused = true)]
async fn throttling_pauses_then_consumption_resumes() {
    let queue = MemoryQueue::new("q");
    let dlq = MemoryQueue::new("dlq");
    let plans: HashMap<u32, Plan> = (0..30).map(|id| (id, Plan::Ok)).collect();
    send_all(&queue, &plans).await;
    queue.fail_next(Operation::Receive, 3, InjectedFailure::Throttled);
    let log = Arc::new(Log {
        plan: plans,
        ..Log::default()
    });
    let shutdown = CancellationToken::new();
    let consumer = Consumer::builder(queue.clone(), Scripted(log.clone()))
        .dead_letter_queue(dlq)
        .shutdown(shutdown.clone())
        .build()
        .unwrap();
    let started = Instant::now();
    let run = spawn_run(consumer);
    wait_for(Duration::from_secs(60), || queue.depth().total() == 0).await;
    assert!(started.elapsed() >= Duration::from_millis(250 + 500 + 1000));
    shutdown.cancel();
    let summary = run.await.unwrap().unwrap();
    assert_eq!(summary.counters.receive_errors, 3);
    assert_eq!(log.total_handled(), 30);
}

#[tokio::test(start_paused = true)]
async fn a_missing_queue_stops_the_run_with_an_error() {
    let queue = FailingReceive {
        inner: MemoryQueue::new("q"),
        receives: Arc::new(AtomicU32::new(0)),
        error: || QueueError::NotFound { queue: "q".into() },
    };
    let consumer = Consumer::builder(queue, Scripted(Arc::new(Log::default())))
        .dead_letter_queue(MemoryQueue::new("dlq"))
        .build()
        .unwrap();
    match consumer.run().await {
        Err(ConsumerError::ReceiveFailed {
            source: QueueError::NotFound { .. },
            summary,
            ..
        }) => assert_eq!(summary.counters.received, 0),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn deletes_go_out_in_batches_of_ten() {
    let queue = MemoryQueue::new("q");
    let dlq = MemoryQueue::new("dlq");
    let plans: HashMap<u32, Plan> = (0..1000).map(|id| (id, Plan::Ok)).collect();
    send_all(&queue, &plans).await;
    queue.reset_stats();
    let shutdown = CancellationToken::new();
    let consumer = Consumer::builder(
        queue.clone(),
        Scripted(Arc::new(Log {
            plan: plans,
            ..Log::default()
        })),
    )
    .dead_letter_queue(dlq)
    .concurrency(50)
    .shutdown(shutdown.clone())
    .build()
    .unwrap();
    let run = spawn_run(consumer);
    wait_for(Duration::from_secs(60), || queue.depth().total() == 0).await;
    shutdown.cancel();
    run.await.unwrap().unwrap();
    let stats = queue.stats();
    assert_eq!(stats.messages_received, 1000);
    // 100 full receives, plus the long poll on the empty queue that shutdown dropped.
    assert!(stats.receive_message <= 101, "{stats:?}");
    assert_eq!(stats.delete_message_batch, 100);
    assert_eq!(stats.change_message_visibility_batch, 0);
}

#[test]
fn builder_refuses_unsafe_settings() {
    let log = || Scripted(Arc::new(Log::default()));
    let err = Consumer::builder(MemoryQueue::new("q"), log())
        .build()
        .unwrap_err();
    assert!(matches!(err, ConsumerError::NoDeadLetterQueue));
    let err = Consumer::builder(MemoryQueue::new("q"), log())
        .dead_letter_queue(MemoryQueue::new("d"))
        .visibility_timeout(Duration::from_secs(10))
        .heartbeat_interval(Duration::from_secs(10))
        .build()
        .unwrap_err();
    assert!(matches!(
        err,
        ConsumerError::InvalidSetting {
            setting: "heartbeat_interval",
            ..
        }
    ));
    for bad in [
        Consumer::builder(MemoryQueue::new("q"), log()).concurrency(0),
        Consumer::builder(MemoryQueue::new("q"), log()).receive_batch(11),
        Consumer::builder(MemoryQueue::new("q"), log()).max_receives(0),
        Consumer::builder(MemoryQueue::new("q"), log()).wait_time(Duration::from_secs(21)),
    ] {
        assert!(matches!(
            bad.dead_letter_queue(MemoryQueue::new("d")).build(),
            Err(ConsumerError::InvalidSetting { .. })
        ));
    }
}

#[tokio::test(start_paused = true)]
async fn the_handler_can_name_the_dead_letter_error_code() {
    let queue = MemoryQueue::new("q");
    let dlq = MemoryQueue::new("dlq");
    let plans = HashMap::from([(1, Plan::PermanentCoded)]);
    send_all(&queue, &plans).await;
    let shutdown = CancellationToken::new();
    let consumer = Consumer::builder(
        queue.clone(),
        Scripted(Arc::new(Log {
            plan: plans,
            ..Log::default()
        })),
    )
    .dead_letter_queue(dlq.clone())
    .shutdown(shutdown.clone())
    .build()
    .unwrap();
    let run = spawn_run(consumer);
    wait_for(Duration::from_secs(10), || queue.depth().total() == 0).await;
    shutdown.cancel();
    run.await.unwrap().unwrap();
    let dead = dlq.peek_all();
    assert_eq!(
        dead[0].attribute(codes::ATTR_ERROR_CODE),
        Some("ERROR_FROM_TARGET")
    );
    assert_eq!(
        dead[0].attribute(codes::ATTR_ERROR_MESSAGE),
        Some("target answered 400")
    );
}

/// An idempotency store that is down.
struct DownStore;

#[async_trait]
impl IdempotencyStore for DownStore {
    async fn try_begin(&self, _key: &str, _lease: Duration) -> Result<Claim, IdempotencyError> {
        Err(IdempotencyError::Unavailable {
            message: "redis: connection refused".into(),
            source: None,
        })
    }
    async fn complete(
        &self,
        _key: &str,
        _token: ClaimToken,
    ) -> Result<Completion, IdempotencyError> {
        Ok(Completion::Recorded)
    }
    async fn release(&self, _key: &str, _token: ClaimToken) -> Result<(), IdempotencyError> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_idempotency_store_puts_messages_back_unrun() {
    let queue = MemoryQueue::new("q");
    let dlq = MemoryQueue::new("dlq");
    queue
        .send(OutgoingMessage::new(r#"{"id":1,"key":"k"}"#))
        .await
        .unwrap();
    let log = Arc::new(Log::default());
    let shutdown = CancellationToken::new();
    let consumer = Consumer::builder(queue.clone(), Scripted(log.clone()))
        .dead_letter_queue(dlq.clone())
        .idempotency_store(DownStore)
        .retry_backoff(Backoff::constant(Duration::from_secs(10)))
        .shutdown(shutdown.clone())
        .build()
        .unwrap();
    let run = spawn_run(consumer);
    tokio::time::sleep(Duration::from_secs(35)).await;
    shutdown.cancel();
    let summary = run.await.unwrap().unwrap();
    assert_eq!(log.attempts(1), 0, "never run without the duplicate check");
    assert!(summary.counters.deferred >= 3, "{:?}", summary.counters);
    assert_eq!(queue.depth().total(), 1, "not lost, not dead-lettered");
    assert!(dlq.peek_all().is_empty());
}
