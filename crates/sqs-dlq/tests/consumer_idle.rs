//! `ConsumerBuilder::stop_when_idle` over `MemoryQueue`, in paused tokio time: the run ends on
//! its own once the queue has been idle, never while a message is waiting out its retry
//! backoff, delayed, or being handled, and never while messages keep arriving. Also
//! `ConsumerBuilder::drain_on_shutdown`, which uses the same idle check after the shutdown
//! token fires.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use retry_policy::Backoff;
use sqs_dlq::consumer::StopReason;
use sqs_dlq::consumer::{
    Consumer, ConsumerBuilder, Delivery, DrainOutcome, Handler, HandlerError, Json, RunSummary,
};
use sqs_dlq::queue::{
    BatchOutcome, InjectedFailure, MemoryQueue, Operation, OutgoingMessage, Queue, QueueDepth,
    QueueError,
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

#[derive(serde::Deserialize)]
struct Body {
    id: u32,
    /// Transient failures before the handler succeeds.
    #[serde(default)]
    fail: u32,
    /// How long the handler works, in seconds.
    #[serde(default)]
    work_secs: u64,
}

/// Records every attempt and every success, with the paused-clock time.
#[derive(Default)]
struct Log {
    attempts: Mutex<HashMap<u32, Vec<Instant>>>,
    done: Mutex<HashMap<u32, Instant>>,
}

impl Log {
    fn attempts(&self, id: u32) -> usize {
        self.attempts.lock().unwrap().get(&id).map_or(0, Vec::len)
    }
    fn done_at(&self, id: u32) -> Option<Instant> {
        self.done.lock().unwrap().get(&id).copied()
    }
    fn done(&self) -> usize {
        self.done.lock().unwrap().len()
    }
}

struct Recording(Arc<Log>);

#[async_trait]
impl Handler for Recording {
    type Payload = Json<Body>;

    async fn handle(&self, body: Self::Payload, _: Delivery<'_>) -> Result<(), HandlerError> {
        let Body {
            id,
            fail,
            work_secs,
        } = body.0;
        let attempt = {
            let mut attempts = self.0.attempts.lock().unwrap();
            let times = attempts.entry(id).or_default();
            times.push(Instant::now());
            times.len() as u32
        };
        if attempt <= fail {
            return Err(HandlerError::transient(format!("attempt {attempt} failed")));
        }
        tokio::time::sleep(Duration::from_secs(work_secs)).await;
        self.0.done.lock().unwrap().insert(id, Instant::now());
        Ok(())
    }
}

fn message(id: u32, fail: u32, work_secs: u64) -> OutgoingMessage {
    OutgoingMessage::new(format!(
        r#"{{"id":{id},"fail":{fail},"work_secs":{work_secs}}}"#
    ))
}

const IDLE: Duration = Duration::from_secs(10);

/// A work queue, its DLQ and an empty log.
fn setup() -> (MemoryQueue, MemoryQueue, Arc<Log>) {
    (
        MemoryQueue::new("q"),
        MemoryQueue::new("dlq"),
        Arc::new(Log::default()),
    )
}

fn consumer(
    queue: &MemoryQueue,
    dlq: &MemoryQueue,
    log: &Arc<Log>,
) -> ConsumerBuilder<MemoryQueue, Recording> {
    Consumer::builder(queue.clone(), Recording(log.clone()))
        .dead_letter_queue(dlq.clone())
        .wait_time(Duration::from_secs(20))
        .visibility_timeout(Duration::from_secs(30))
        .delete_flush_interval(Duration::from_millis(100))
        .seed(1)
}

/// Runs the consumer with a generous outer limit (in paused time) so a run that never stops
/// fails the test instead of hanging it.
async fn run_bounded(builder: ConsumerBuilder<MemoryQueue, Recording>) -> RunSummary {
    let consumer = builder.build().unwrap();
    tokio::time::timeout(Duration::from_secs(3600), consumer.run())
        .await
        .expect("the run stopped by itself")
        .unwrap()
}

/// The time from `from` to the end of a run that ended at `ended`, to compare with `IDLE`.
fn idle_tail(ended: Instant, from: Instant) -> Duration {
    ended.duration_since(from)
}

#[tokio::test(start_paused = true)]
async fn stops_once_the_queue_has_been_idle_for_the_period() {
    let (queue, dlq, log) = setup();
    let outcome = queue
        .send_batch((0..25).map(|id| message(id, 0, 0)).collect())
        .await
        .unwrap();
    assert!(outcome.all_ok());
    let started = Instant::now();
    let summary = run_bounded(consumer(&queue, &dlq, &log).stop_when_idle(IDLE)).await;
    let ended = Instant::now();

    assert_eq!(summary.stop_reason, StopReason::Idle);
    assert_eq!(log.done(), 25);
    assert_eq!(summary.counters.succeeded, 25);
    assert_eq!(
        summary.counters.deleted, 25,
        "every ack flushed before the run ended"
    );
    assert_eq!(queue.depth().total(), 0);
    assert!(dlq.peek_all().is_empty());
    let last_done = (0..25).filter_map(|id| log.done_at(id)).max().unwrap();
    let tail = idle_tail(ended, last_done);
    // one idle period after the work, plus at most a check interval (1 s) and the flush
    assert!(
        tail >= IDLE && tail <= IDLE + Duration::from_secs(2),
        "stopped {tail:?} after the last message"
    );
    assert_eq!(summary.elapsed, ended.duration_since(started));
}

#[tokio::test(start_paused = true)]
async fn an_empty_queue_stops_after_one_idle_period() {
    let (queue, dlq, log) = setup();
    let summary = run_bounded(consumer(&queue, &dlq, &log).stop_when_idle(IDLE)).await;
    assert_eq!(summary.stop_reason, StopReason::Idle);
    assert_eq!(summary.counters.received, 0);
    assert!(
        summary.elapsed >= IDLE && summary.elapsed <= IDLE + Duration::from_secs(2),
        "{:?}",
        summary.elapsed
    );
}

#[tokio::test(start_paused = true)]
async fn a_message_retried_through_visibility_is_handled_before_the_stop() {
    let (queue, dlq, log) = setup();
    queue.send(message(1, 1, 0)).await.unwrap();
    // The retry waits a minute, six idle periods: in flight all that time, so not idle.
    let backoff = Duration::from_secs(60);
    let summary = run_bounded(
        consumer(&queue, &dlq, &log)
            .retry_backoff(Backoff::constant(backoff))
            .stop_when_idle(IDLE),
    )
    .await;
    let ended = Instant::now();

    assert_eq!(summary.stop_reason, StopReason::Idle);
    assert_eq!(
        log.attempts(1),
        2,
        "failed once, then redelivered and handled"
    );
    let attempts = log.attempts.lock().unwrap()[&1].clone();
    let gap = attempts[1] - attempts[0];
    assert!(
        gap >= backoff && gap <= backoff + Duration::from_secs(2),
        "{gap:?}"
    );
    let done = log.done_at(1).expect("handled before the stop");
    assert!(idle_tail(ended, done) >= IDLE);
    assert_eq!(summary.counters.retried, 1);
    assert_eq!(summary.counters.succeeded, 1);
    assert_eq!(summary.counters.deleted, 1);
    assert_eq!(queue.depth().total(), 0, "nothing lost, nothing left");
    assert!(dlq.peek_all().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_message_that_fails_until_the_dead_letter_queue_is_settled_before_the_stop() {
    let (queue, dlq, log) = setup();
    queue.send(message(7, 99, 0)).await.unwrap();
    let summary = run_bounded(
        consumer(&queue, &dlq, &log)
            .max_receives(3)
            .retry_backoff(Backoff::constant(Duration::from_secs(45)))
            .stop_when_idle(IDLE),
    )
    .await;
    assert_eq!(summary.stop_reason, StopReason::Idle);
    assert_eq!(log.attempts(7), 3);
    assert_eq!(summary.counters.dead_lettered, 1);
    assert_eq!(dlq.peek_all().len(), 1);
    assert_eq!(queue.depth().total(), 0);
    assert!(summary.elapsed >= Duration::from_secs(90) + IDLE);
}

#[tokio::test(start_paused = true)]
async fn a_handler_running_longer_than_the_period_keeps_the_run_going() {
    let (queue, dlq, log) = setup();
    queue.send(message(3, 0, 95)).await.unwrap();
    let summary = run_bounded(consumer(&queue, &dlq, &log).stop_when_idle(IDLE)).await;
    let ended = Instant::now();
    assert_eq!(summary.stop_reason, StopReason::Idle);
    let done = log.done_at(3).expect("finished, not abandoned");
    assert!(idle_tail(ended, done) >= IDLE);
    assert_eq!(summary.counters.succeeded, 1);
    assert_eq!(summary.counters.released, 0);
    assert_eq!(queue.depth().total(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_delayed_message_keeps_the_run_going() {
    let (queue, dlq, log) = setup();
    let sent = Instant::now();
    queue
        .send(message(5, 0, 0).with_delay(Duration::from_secs(120)))
        .await
        .unwrap();
    let summary = run_bounded(consumer(&queue, &dlq, &log).stop_when_idle(IDLE)).await;
    assert_eq!(summary.stop_reason, StopReason::Idle);
    let done = log.done_at(5).expect("handled once its delay was over");
    assert!(done.duration_since(sent) >= Duration::from_secs(120));
    assert_eq!(queue.depth().total(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_queue_that_keeps_receiving_messages_keeps_the_run_going() {
    let (queue, dlq, log) = setup();
    // One message every 8 s for 4 minutes: the queue is never idle for 10 s in a row.
    let producer = {
        let queue = queue.clone();
        tokio::spawn(async move {
            for id in 0..30 {
                queue.send(message(id, 0, 0)).await.unwrap();
                tokio::time::sleep(Duration::from_secs(8)).await;
            }
            Instant::now()
        })
    };
    let summary = run_bounded(consumer(&queue, &dlq, &log).stop_when_idle(IDLE)).await;
    let ended = Instant::now();
    let last_sent = producer.await.unwrap() - Duration::from_secs(8);
    assert_eq!(summary.stop_reason, StopReason::Idle);
    assert_eq!(log.done(), 30, "every message handled");
    assert_eq!(summary.counters.succeeded, 30);
    assert!(
        ended.duration_since(last_sent) >= IDLE,
        "stopped only after the stream ended"
    );
    assert!(summary.elapsed >= Duration::from_secs(29 * 8) + IDLE);
    assert_eq!(queue.depth().total(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_message_in_flight_elsewhere_is_not_idle() {
    let (queue, dlq, log) = setup();
    queue.send(message(9, 0, 0)).await.unwrap();
    // Another consumer holds it for 100 s, then lets it go without deleting it.
    let taken = queue
        .receive(
            &sqs_dlq::queue::ReceiveOptions::default()
                .wait_time(Duration::ZERO)
                .visibility_timeout(Duration::from_secs(100)),
        )
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    let summary = run_bounded(consumer(&queue, &dlq, &log).stop_when_idle(IDLE)).await;
    assert_eq!(summary.stop_reason, StopReason::Idle);
    assert_eq!(
        log.done(),
        1,
        "handled once the other holder's timeout ran out"
    );
    assert!(summary.elapsed >= Duration::from_secs(100) + IDLE);
}

#[tokio::test(start_paused = true)]
async fn failed_depth_readings_restart_the_period() {
    let (queue, dlq, log) = setup();
    // The first 15 depth calls (checks once a second) fail.
    queue.fail_next(Operation::Depth, 15, InjectedFailure::Unavailable);
    let summary = run_bounded(consumer(&queue, &dlq, &log).stop_when_idle(IDLE)).await;
    assert_eq!(summary.stop_reason, StopReason::Idle);
    assert!(
        summary.elapsed >= Duration::from_secs(15) + IDLE,
        "{:?}",
        summary.elapsed
    );
}

#[tokio::test(start_paused = true)]
async fn the_shutdown_token_still_stops_a_run_that_would_stop_when_idle() {
    let (queue, dlq, log) = setup();
    queue.send(message(2, 0, 30)).await.unwrap();
    let shutdown = CancellationToken::new();
    let consumer = consumer(&queue, &dlq, &log)
        .stop_when_idle(Duration::from_secs(600))
        .shutdown(shutdown.clone())
        .build()
        .unwrap();
    let run = tokio::spawn(consumer.run());
    tokio::time::sleep(Duration::from_secs(5)).await;
    shutdown.cancel();
    let summary = run.await.unwrap().unwrap();
    assert_eq!(summary.stop_reason, StopReason::Shutdown);
    assert_eq!(
        summary.counters.succeeded, 1,
        "the running handler finished"
    );
    assert_eq!(queue.depth().total(), 0);
    assert!(summary.elapsed < Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn without_the_setting_an_idle_queue_does_not_stop_the_run() {
    let (queue, dlq, log) = setup();
    let consumer = consumer(&queue, &dlq, &log).build().unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(600), consumer.run()).await;
    assert!(outcome.is_err(), "still running after 10 idle minutes");
}

/// A queue whose depth figures trail reality (SQS's are approximate): it always reports empty.
struct LaggingDepth(MemoryQueue);

#[async_trait]
impl Queue for LaggingDepth {
    fn name(&self) -> &str {
        self.0.name()
    }
    async fn receive(
        &self,
        opts: &sqs_dlq::queue::ReceiveOptions,
    ) -> Result<Vec<sqs_dlq::queue::ReceivedMessage>, QueueError> {
        self.0.receive(opts).await
    }
    async fn send(&self, message: OutgoingMessage) -> Result<String, QueueError> {
        self.0.send(message).await
    }
    async fn send_batch(
        &self,
        messages: Vec<OutgoingMessage>,
    ) -> Result<BatchOutcome<String>, QueueError> {
        self.0.send_batch(messages).await
    }
    async fn delete_batch(&self, handles: Vec<String>) -> Result<BatchOutcome<()>, QueueError> {
        self.0.delete_batch(handles).await
    }
    async fn change_visibility_batch(
        &self,
        entries: Vec<(String, Duration)>,
    ) -> Result<BatchOutcome<()>, QueueError> {
        self.0.change_visibility_batch(entries).await
    }
    async fn approximate_depth(&self) -> Result<QueueDepth, QueueError> {
        Ok(QueueDepth::default())
    }
}

#[tokio::test(start_paused = true)]
async fn with_lagging_depth_figures_a_running_handler_and_new_receives_still_count() {
    let (queue, dlq, log) = setup();
    // a handler working 95 s, and a message every 8 s for a minute and a half
    queue.send(message(100, 0, 95)).await.unwrap();
    let producer = {
        let queue = queue.clone();
        tokio::spawn(async move {
            for id in 0..12 {
                queue.send(message(id, 0, 0)).await.unwrap();
                tokio::time::sleep(Duration::from_secs(8)).await;
            }
        })
    };
    let consumer = Consumer::builder(LaggingDepth(queue.clone()), Recording(log.clone()))
        .dead_letter_queue(dlq.clone())
        .stop_when_idle(IDLE)
        .build()
        .unwrap();
    let summary = tokio::time::timeout(Duration::from_secs(3600), consumer.run())
        .await
        .unwrap()
        .unwrap();
    let ended = Instant::now();
    producer.await.unwrap();
    assert_eq!(summary.stop_reason, StopReason::Idle);
    assert_eq!(
        log.done(),
        13,
        "the slow handler finished and every message was handled"
    );
    assert!(idle_tail(ended, log.done_at(100).unwrap()) >= IDLE);
    assert_eq!(summary.counters.released, 0, "nothing abandoned");
    assert_eq!(queue.depth().total(), 0);
}

/// Starts `builder` with a fresh shutdown token, fires it after `after`, and returns the run's
/// summary (bounded by an hour of paused time, so a drain that never ends fails the test).
async fn shut_down_after(
    builder: ConsumerBuilder<MemoryQueue, Recording>,
    after: Duration,
) -> RunSummary {
    let shutdown = CancellationToken::new();
    let consumer = builder.shutdown(shutdown.clone()).build().unwrap();
    let run = tokio::spawn(tokio::time::timeout(
        Duration::from_secs(3600),
        consumer.run(),
    ));
    tokio::time::sleep(after).await;
    shutdown.cancel();
    run.await
        .unwrap()
        .expect("the run stopped by itself")
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_drain_handles_everything_queued_before_stopping() {
    let (queue, dlq, log) = setup();
    queue
        .send_batch((0..30).map(|id| message(id, 0, 1)).collect())
        .await
        .unwrap();
    let summary = shut_down_after(
        consumer(&queue, &dlq, &log)
            .concurrency(4)
            .drain_on_shutdown(Duration::from_secs(600)),
        Duration::ZERO,
    )
    .await;
    assert_eq!(summary.stop_reason, StopReason::Shutdown);
    assert_eq!(summary.drain, Some(DrainOutcome::Emptied));
    assert_eq!(log.done(), 30);
    assert_eq!(summary.counters.succeeded, 30);
    assert_eq!(summary.counters.deleted, 30);
    assert_eq!(queue.depth().total(), 0);
    // 30 one-second handlers four at a time, then one idle check: no idle period is waited.
    assert!(
        summary.elapsed >= Duration::from_secs(8) && summary.elapsed < Duration::from_secs(10),
        "{:?}",
        summary.elapsed
    );
}

#[tokio::test(start_paused = true)]
async fn without_a_drain_the_shutdown_leaves_the_queue_as_it_is() {
    let (queue, dlq, log) = setup();
    queue
        .send_batch((0..30).map(|id| message(id, 0, 1)).collect())
        .await
        .unwrap();
    let summary =
        shut_down_after(consumer(&queue, &dlq, &log).concurrency(4), Duration::ZERO).await;
    assert_eq!(summary.stop_reason, StopReason::Shutdown);
    assert_eq!(summary.drain, None);
    assert!(log.done() < 30, "{} handled", log.done());
    assert_eq!(
        queue.depth().total() as usize,
        30 - log.done(),
        "the rest still queued"
    );
}

#[tokio::test(start_paused = true)]
async fn an_empty_queue_drains_at_the_first_check() {
    let (queue, dlq, log) = setup();
    let summary = shut_down_after(
        consumer(&queue, &dlq, &log).drain_on_shutdown(Duration::from_secs(600)),
        Duration::from_secs(1),
    )
    .await;
    assert_eq!(summary.drain, Some(DrainOutcome::Emptied));
    assert!(
        summary.elapsed < Duration::from_secs(2),
        "{:?}",
        summary.elapsed
    );
}

#[tokio::test(start_paused = true)]
async fn a_drain_waits_for_a_message_in_retry_backoff() {
    let (queue, dlq, log) = setup();
    queue.send(message(1, 1, 0)).await.unwrap();
    let backoff = Duration::from_secs(45);
    let summary = shut_down_after(
        consumer(&queue, &dlq, &log)
            .retry_backoff(Backoff::constant(backoff))
            .drain_on_shutdown(Duration::from_secs(600)),
        Duration::from_secs(1),
    )
    .await;
    assert_eq!(summary.drain, Some(DrainOutcome::Emptied));
    assert_eq!(log.attempts(1), 2, "failed once, then handled in the drain");
    assert!(log.done_at(1).is_some());
    assert_eq!(summary.counters.retried, 1);
    assert_eq!(summary.counters.succeeded, 1);
    assert_eq!(queue.depth().total(), 0);
    assert!(summary.elapsed >= backoff, "{:?}", summary.elapsed);
}

#[tokio::test(start_paused = true)]
async fn messages_that_arrive_during_a_drain_are_handled() {
    let (queue, dlq, log) = setup();
    let producer = {
        let queue = queue.clone();
        tokio::spawn(async move {
            // Starts after the shutdown token: one message every 50 ms for two seconds.
            tokio::time::sleep(Duration::from_millis(1_050)).await;
            for id in 0..40 {
                queue.send(message(id, 0, 0)).await.unwrap();
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let summary = shut_down_after(
        consumer(&queue, &dlq, &log).drain_on_shutdown(Duration::from_secs(600)),
        Duration::from_secs(1),
    )
    .await;
    producer.await.unwrap();
    assert_eq!(summary.drain, Some(DrainOutcome::Emptied));
    assert_eq!(log.done(), 40, "every message sent while draining");
    assert_eq!(queue.depth().total(), 0);
}

/// A message that always fails comes back only after 10 minutes, and never reaches the DLQ.
fn stuck(
    builder: ConsumerBuilder<MemoryQueue, Recording>,
) -> ConsumerBuilder<MemoryQueue, Recording> {
    builder
        .max_receives(1_000)
        .retry_backoff(Backoff::constant(Duration::from_secs(600)))
}

#[tokio::test(start_paused = true)]
async fn a_drain_stops_at_its_limit_and_leaves_the_rest_queued() {
    let (queue, dlq, log) = setup();
    queue.send(message(3, 100, 0)).await.unwrap();
    let limit = Duration::from_secs(10);
    let summary = shut_down_after(
        stuck(consumer(&queue, &dlq, &log)).drain_on_shutdown(limit),
        Duration::from_secs(1),
    )
    .await;
    assert_eq!(summary.drain, Some(DrainOutcome::LimitReached));
    assert!(
        summary.elapsed >= limit && summary.elapsed < limit + Duration::from_secs(3),
        "{:?}",
        summary.elapsed
    );
    assert_eq!(log.attempts(3), 1);
    assert_eq!(queue.depth().total(), 1, "still queued, not lost");
    assert!(dlq.peek_all().is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_cutoff_token_ends_a_drain() {
    let (queue, dlq, log) = setup();
    queue.send(message(4, 100, 0)).await.unwrap();
    let cutoff = CancellationToken::new();
    let cut = {
        let cutoff = cutoff.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(4)).await;
            cutoff.cancel();
        })
    };
    let summary = shut_down_after(
        stuck(consumer(&queue, &dlq, &log))
            .drain_on_shutdown(Duration::from_secs(3_000))
            .drain_cutoff(cutoff),
        Duration::from_secs(1),
    )
    .await;
    cut.await.unwrap();
    assert_eq!(summary.drain, Some(DrainOutcome::CutOff));
    assert!(
        summary.elapsed >= Duration::from_secs(4) && summary.elapsed < Duration::from_secs(6),
        "{:?}",
        summary.elapsed
    );
    assert_eq!(queue.depth().total(), 1, "still queued, not lost");
}

#[tokio::test(start_paused = true)]
async fn an_idle_stop_does_not_drain() {
    let (queue, dlq, log) = setup();
    let summary = run_bounded(
        consumer(&queue, &dlq, &log)
            .stop_when_idle(IDLE)
            .drain_on_shutdown(Duration::from_secs(600)),
    )
    .await;
    assert_eq!(summary.stop_reason, StopReason::Idle);
    assert_eq!(summary.drain, None, "already idle: nothing to drain");
}
