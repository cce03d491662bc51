//! The behavioural contract of a [`Queue`] backend (feature `test-util`): SQS semantics
//! (visibility timeouts, receive counts, redrive to a dead-letter queue, delays, batches with
//! per-entry results, long polls), written once and run against every backend.
//!
//! This crate runs it against [`MemoryQueue`](super::MemoryQueue) under paused tokio time and
//! against `SqsQueue` on moto's SQS server. A backend outside this crate runs the same checks:
//! give each a fresh [`Pair`] (a queue redriving to its dead-letter queue) and let
//! [`contract_tests!`] write one `#[tokio::test]` per check.
//!
//! ```no_run
//! # use sqs_dlq::queue::MemoryQueue as MyQueue;
//! use sqs_dlq::queue::contract::{Pair, Timing, contract_tests};
//!
//! async fn my_pair() -> Option<Pair<MyQueue>> {
//!     // Your backend: a queue that redrives to its dead-letter queue after 2 receives.
//!     let (queue, dlq) = MyQueue::with_dlq("suite", 2);
//!     Some(Pair::new(queue, dlq, 2, Timing::real()))
//! }
//!
//! contract_tests!(my_backend, #[tokio::test(flavor = "multi_thread")], super::my_pair());
//! # fn main() {}
//! ```
//!
//! Each check panics (the test fails) on the first broken rule, saying which.

// A contract suite reports a broken rule by panicking, as a test does.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::{Instant, sleep};

use super::{
    AttributeValue, OutgoingMessage, Queue, QueueDepth, QueueError, ReceiveOptions,
    ReceivedMessage, RequestStats,
};

/// Time settings of a backend under test.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Timing {
    /// Visibility timeout used on receives in the checks.
    pub visibility: Duration,
    /// Delay used on delayed sends.
    pub delay: Duration,
    /// Extra wait past a deadline before expecting its effect.
    pub settle: Duration,
    /// A long-poll wait that is surely longer than an arrival takes.
    pub long_poll: Duration,
}

impl Timing {
    /// Settings for a backend on tokio's clock under `tokio::time::pause()` (timeouts of 30 s
    /// pass instantly): visibility 30 s, delay 60 s, settle 10 ms, long poll 20 s.
    pub fn paused() -> Self {
        Self {
            visibility: Duration::from_secs(30),
            delay: Duration::from_secs(60),
            settle: Duration::from_millis(10),
            long_poll: Duration::from_secs(20),
        }
    }

    /// Settings for a backend on real time (a server): visibility 1 s, delay 1 s, settle
    /// 500 ms, long poll 5 s.
    pub fn real() -> Self {
        Self {
            visibility: Duration::from_secs(1),
            delay: Duration::from_secs(1),
            settle: Duration::from_millis(500),
            long_poll: Duration::from_secs(5),
        }
    }
}

/// A fresh queue and its dead-letter queue: `queue` redrives a message to `dlq` once it was
/// received `max_receive_count` times.
#[non_exhaustive]
pub struct Pair<Q> {
    /// The queue under test.
    pub queue: Q,
    /// Its dead-letter queue.
    pub dlq: Q,
    /// The redrive policy's `maxReceiveCount`.
    pub max_receive_count: u32,
    /// Time settings.
    pub timing: Timing,
    /// The backend's request counters, when it keeps them (checks the batch split).
    pub stats: Option<Box<dyn Fn() -> RequestStats + Send + Sync>>,
}

impl<Q> std::fmt::Debug for Pair<Q> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pair")
            .field("max_receive_count", &self.max_receive_count)
            .field("timing", &self.timing)
            .field("stats", &self.stats.is_some())
            .finish_non_exhaustive()
    }
}

impl<Q> Pair<Q> {
    /// A pair without request counters.
    pub fn new(queue: Q, dlq: Q, max_receive_count: u32, timing: Timing) -> Self {
        Self {
            queue,
            dlq,
            max_receive_count,
            timing,
            stats: None,
        }
    }

    /// Adds the backend's request counters, read before and after a batch send.
    pub fn with_stats(mut self, stats: impl Fn() -> RequestStats + Send + Sync + 'static) -> Self {
        self.stats = Some(Box::new(stats));
        self
    }
}

/// The default cleanup of [`contract_tests!`]: nothing (the pair is dropped).
pub async fn keep<Q>(_pair: Pair<Q>) {}

/// Receive options that do not wait (`wait_time` zero).
pub fn short() -> ReceiveOptions {
    ReceiveOptions::default().wait_time(Duration::ZERO)
}

/// Receives until `n` messages came (or `within` passed), with visibility `vis`.
pub async fn receive_n<Q: Queue>(
    q: &Q,
    n: usize,
    vis: Duration,
    within: Duration,
) -> Vec<ReceivedMessage> {
    let end = Instant::now() + within;
    let mut got = Vec::new();
    while got.len() < n && Instant::now() < end {
        let opts = ReceiveOptions::default()
            .max_messages(n - got.len())
            .wait_time(Duration::from_secs(1))
            .visibility_timeout(vis);
        got.extend(q.receive(&opts).await.unwrap());
    }
    got
}

/// The contract: visibility hides a message until its timeout.
pub async fn visibility_hides_a_message_until_its_timeout<Q: Queue>(p: &Pair<Q>) {
    p.queue.send(OutgoingMessage::new("v")).await.unwrap();
    let vis = p.timing.visibility;
    let first = receive_n(&p.queue, 1, vis, Duration::from_secs(5)).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].receive_count, 1);
    assert!(
        p.queue.receive(&short()).await.unwrap().is_empty(),
        "in flight yet received"
    );
    sleep(vis / 2).await;
    assert!(
        p.queue.receive(&short()).await.unwrap().is_empty(),
        "visible before its timeout"
    );
    sleep(vis / 2 + p.timing.settle).await;
    let again = p
        .queue
        .receive(&short().visibility_timeout(vis))
        .await
        .unwrap();
    assert_eq!(again.len(), 1, "not visible again after its timeout");
    assert_eq!(again[0].message_id, first[0].message_id);
    assert_eq!(again[0].receive_count, 2);
    assert_ne!(again[0].receipt_handle, first[0].receipt_handle);
    p.queue.delete(&again[0].receipt_handle).await.unwrap();
}

/// The contract: receive count increments on each receive.
pub async fn receive_count_increments_on_each_receive<Q: Queue>(p: &Pair<Q>) {
    p.queue.send(OutgoingMessage::new("count")).await.unwrap();
    for expected in 1..=p.max_receive_count {
        let got = receive_n(&p.queue, 1, p.timing.visibility, Duration::from_secs(5)).await;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].receive_count, expected);
        p.queue
            .change_visibility(&got[0].receipt_handle, Duration::ZERO)
            .await
            .unwrap();
    }
}

/// The contract: redrive moves a message to the dlq at max receive count.
pub async fn redrive_moves_a_message_to_the_dlq_at_max_receive_count<Q: Queue>(p: &Pair<Q>) {
    let sent_id = p
        .queue
        .send(OutgoingMessage::new("poison").with_attribute("origin", "suite"))
        .await
        .unwrap();
    p.queue.send(OutgoingMessage::new("healthy")).await.unwrap();
    // Hold the healthy message for the whole test; release the poison after each receive.
    let long = Duration::from_secs(600);
    let mut healthy = None;
    for round in 1..=p.max_receive_count {
        let want = if round == 1 { 2 } else { 1 };
        for m in receive_n(&p.queue, want, long, Duration::from_secs(5)).await {
            if m.body == "poison" {
                assert_eq!(m.receive_count, round);
                p.queue
                    .change_visibility(&m.receipt_handle, Duration::ZERO)
                    .await
                    .unwrap();
            } else {
                healthy = Some(m);
            }
        }
    }
    // The next receive would exceed maxReceiveCount: the message moves instead of coming back.
    let after = p.queue.receive(&short()).await.unwrap();
    assert!(
        after.iter().all(|m| m.body != "poison"),
        "delivered past maxReceiveCount"
    );
    let moved = receive_n(&p.dlq, 1, p.timing.visibility, Duration::from_secs(5)).await;
    assert_eq!(moved.len(), 1, "not in the dead-letter queue");
    assert_eq!(moved[0].message_id, sent_id);
    assert_eq!(moved[0].body, "poison");
    assert_eq!(moved[0].attribute("origin"), Some("suite"));
    // The receive count travels with the message (memory and moto both keep it).
    assert_eq!(moved[0].receive_count, p.max_receive_count + 1);
    // The healthy message was never moved.
    let healthy = healthy.expect("the healthy message was received");
    p.queue.delete(&healthy.receipt_handle).await.unwrap();
    assert_eq!(p.queue.approximate_depth().await.unwrap().total(), 0);
}

/// The contract: delay hides a message until it is over.
pub async fn delay_hides_a_message_until_it_is_over<Q: Queue>(p: &Pair<Q>) {
    p.queue
        .send(OutgoingMessage::new("later").with_delay(p.timing.delay))
        .await
        .unwrap();
    assert!(
        p.queue.receive(&short()).await.unwrap().is_empty(),
        "delivered before its delay"
    );
    assert_eq!(
        p.queue.approximate_depth().await.unwrap(),
        QueueDepth::new(0, 0, 1)
    );
    sleep(p.timing.delay + p.timing.settle).await;
    let got = p.queue.receive(&short()).await.unwrap();
    assert_eq!(got.len(), 1, "not delivered after its delay");
    assert_eq!(got[0].body, "later");
    assert_eq!(got[0].receive_count, 1);
}

/// The contract: partial batch failure reports only the bad entry.
pub async fn partial_batch_failure_reports_only_the_bad_entry<Q: Queue>(p: &Pair<Q>) {
    let sent = p
        .queue
        .send_batch(
            (0..3)
                .map(|i| OutgoingMessage::new(format!("m{i}")))
                .collect(),
        )
        .await
        .unwrap();
    assert!(sent.all_ok());
    let got = receive_n(
        &p.queue,
        3,
        p.timing.visibility * 10,
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(got.len(), 3);
    let outcome = p
        .queue
        .delete_batch(vec![
            got[0].receipt_handle.clone(),
            "not-a-receipt-handle".to_owned(),
            got[2].receipt_handle.clone(),
        ])
        .await
        .unwrap();
    let ok: Vec<usize> = outcome.ok.iter().map(|(i, ())| *i).collect();
    assert_eq!(ok, vec![0, 2]);
    assert_eq!(outcome.failed.len(), 1);
    assert_eq!(outcome.failed[0].index, 1);
    assert_eq!(outcome.failed[0].code, "ReceiptHandleIsInvalid");
    assert!(outcome.failed[0].sender_fault);

    let outcome = p
        .queue
        .change_visibility_batch(vec![
            ("bogus".to_owned(), Duration::ZERO),
            (got[1].receipt_handle.clone(), Duration::ZERO),
        ])
        .await
        .unwrap();
    assert_eq!(outcome.ok, vec![(1, ())]);
    assert_eq!(outcome.failed.len(), 1);
    assert_eq!(outcome.failed[0].index, 0);
    assert_eq!(outcome.failed[0].code, "ReceiptHandleIsInvalid");
    // The released one is back; the deleted ones are gone.
    let back = p.queue.receive(&short()).await.unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].body, got[1].body);
}

/// The contract: send batch of more than ten reports every entry.
pub async fn send_batch_of_more_than_ten_reports_every_entry<Q: Queue>(p: &Pair<Q>) {
    let before = p.stats.as_ref().map(|stats| stats());
    let messages: Vec<_> = (0..25)
        .map(|i| OutgoingMessage::new(format!("b{i}")).with_number_attribute("n", i))
        .collect();
    let outcome = p.queue.send_batch(messages).await.unwrap();
    assert!(outcome.all_ok(), "{:?}", outcome.failed);
    let indexes: BTreeSet<usize> = outcome.ok.iter().map(|(i, _)| *i).collect();
    assert_eq!(indexes, (0..25).collect());
    let ids: BTreeSet<&String> = outcome.ok.iter().map(|(_, id)| id).collect();
    assert_eq!(ids.len(), 25, "message ids are not unique");
    if let (Some(stats), Some(before)) = (&p.stats, before) {
        // 25 entries are three SendMessageBatch requests (10 + 10 + 5).
        assert_eq!(stats().send_message_batch - before.send_message_batch, 3);
    }

    let got = receive_n(
        &p.queue,
        25,
        p.timing.visibility * 10,
        Duration::from_secs(10),
    )
    .await;
    let bodies: BTreeSet<String> = got.iter().map(|m| m.body.clone()).collect();
    assert_eq!(bodies, (0..25).map(|i| format!("b{i}")).collect());
    for m in &got {
        let n: usize = m.attribute("n").unwrap().parse().unwrap();
        assert_eq!(m.body, format!("b{n}"));
    }
    let deleted = p
        .queue
        .delete_batch(got.iter().map(|m| m.receipt_handle.clone()).collect())
        .await
        .unwrap();
    assert!(deleted.all_ok());
    assert_eq!(deleted.ok.len(), 25);
    assert_eq!(p.queue.approximate_depth().await.unwrap().total(), 0);
}

/// The contract: send batch rejects invalid entries alone.
pub async fn send_batch_rejects_invalid_entries_alone<Q: Queue>(p: &Pair<Q>) {
    let outcome = p
        .queue
        .send_batch(vec![
            OutgoingMessage::new("fine"),
            OutgoingMessage::new(""),
            OutgoingMessage::new("too late").with_delay(Duration::from_secs(901)),
            OutgoingMessage::new("bad \u{0} char"),
            OutgoingMessage::new("also fine"),
        ])
        .await
        .unwrap();
    let ok: Vec<usize> = outcome.ok.iter().map(|(i, _)| *i).collect();
    assert_eq!(ok, vec![0, 4]);
    let failed: Vec<usize> = outcome.failed.iter().map(|f| f.index).collect();
    assert_eq!(failed, vec![1, 2, 3]);
    assert!(outcome.failed.iter().all(|f| f.sender_fault));
    let err = p.queue.send(OutgoingMessage::new("")).await.unwrap_err();
    assert!(matches!(err, QueueError::InvalidRequest(_)), "{err:?}");
}

/// The contract: change visibility to zero releases at once.
pub async fn change_visibility_to_zero_releases_at_once<Q: Queue>(p: &Pair<Q>) {
    p.queue
        .send(OutgoingMessage::new("release me"))
        .await
        .unwrap();
    let held = receive_n(
        &p.queue,
        1,
        Duration::from_secs(600),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(held.len(), 1);
    p.queue
        .change_visibility(&held[0].receipt_handle, Duration::ZERO)
        .await
        .unwrap();
    let got = p.queue.receive(&short()).await.unwrap();
    assert_eq!(got.len(), 1, "not released");
    assert_eq!(got[0].message_id, held[0].message_id);
    assert_eq!(got[0].receive_count, 2);
}

/// The contract: extending visibility keeps a message hidden.
pub async fn extending_visibility_keeps_a_message_hidden<Q: Queue>(p: &Pair<Q>) {
    p.queue
        .send(OutgoingMessage::new("long job"))
        .await
        .unwrap();
    let vis = p.timing.visibility;
    let held = receive_n(&p.queue, 1, vis, Duration::from_secs(5)).await;
    assert_eq!(held.len(), 1);
    sleep(vis / 2).await;
    p.queue
        .change_visibility(&held[0].receipt_handle, vis * 3)
        .await
        .unwrap();
    sleep(vis + p.timing.settle).await;
    assert!(
        p.queue.receive(&short()).await.unwrap().is_empty(),
        "heartbeat did not hold it"
    );
    p.queue.delete(&held[0].receipt_handle).await.unwrap();
}

/// The contract: attributes and body round trip.
pub async fn attributes_and_body_round_trip<Q: Queue>(p: &Pair<Q>) {
    let body = "{\"detail\":{\"eventBody\":\"h\\u00e9llo \u{2603} \u{1F600}\",\"n\":1.50}}\r\n\ttrailing space ";
    let binary = Bytes::from_static(&[0, 1, 2, 254, 255]);
    let mut message = OutgoingMessage::new(body)
        .with_attribute("ERROR_CODE", "THROTTLING")
        .with_attribute("unicode", "ünï ☃")
        .with_number_attribute("RETRY_ATTEMPTS", 185);
    message
        .attributes
        .insert("blob".into(), AttributeValue::Binary(binary.clone()));
    let before = std::time::SystemTime::now() - Duration::from_secs(5);
    p.queue.send(message.clone()).await.unwrap();
    let got = receive_n(
        &p.queue,
        1,
        p.timing.visibility * 10,
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, body);
    assert_eq!(got[0].attributes, message.attributes);
    assert_eq!(got[0].attribute("RETRY_ATTEMPTS"), Some("185"));
    assert_eq!(
        got[0].attributes.get("blob"),
        Some(&AttributeValue::Binary(binary))
    );
    let sent_at = got[0].sent_at.expect("SentTimestamp");
    assert!(sent_at >= before, "sent_at {sent_at:?} is too old");
}

/// The contract: depth counts visible in flight and delayed.
pub async fn depth_counts_visible_in_flight_and_delayed<Q: Queue>(p: &Pair<Q>) {
    assert_eq!(
        p.queue.approximate_depth().await.unwrap(),
        QueueDepth::new(0, 0, 0)
    );
    for i in 0..3 {
        p.queue
            .send(OutgoingMessage::new(format!("d{i}")))
            .await
            .unwrap();
    }
    p.queue
        .send(OutgoingMessage::new("delayed").with_delay(Duration::from_secs(600)))
        .await
        .unwrap();
    let got = receive_n(
        &p.queue,
        1,
        Duration::from_secs(600),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(got.len(), 1);
    let depth = p.queue.approximate_depth().await.unwrap();
    assert_eq!(depth, QueueDepth::new(2, 1, 1));
    assert_eq!(depth.total(), 4);
    p.queue.delete(&got[0].receipt_handle).await.unwrap();
    assert_eq!(
        p.queue.approximate_depth().await.unwrap(),
        QueueDepth::new(2, 0, 1)
    );
}

/// The contract: long poll returns when a message arrives.
pub async fn long_poll_returns_when_a_message_arrives<Q: Queue + Clone>(p: &Pair<Q>) {
    let receiver = p.queue.clone();
    let wait = p.timing.long_poll;
    let started = Instant::now();
    let poll = tokio::spawn(async move {
        receiver
            .receive(&ReceiveOptions::default().wait_time(wait))
            .await
            .unwrap()
    });
    sleep(Duration::from_millis(300)).await;
    p.queue.send(OutgoingMessage::new("wake up")).await.unwrap();
    let got = poll.await.unwrap();
    assert_eq!(got.len(), 1, "long poll returned without the message");
    assert_eq!(got[0].body, "wake up");
    assert!(
        started.elapsed() < wait,
        "long poll waited its full {wait:?} instead of waking on the arrival"
    );
    // An empty long poll waits its time and returns nothing.
    let started = Instant::now();
    let nothing = p
        .queue
        .receive(&ReceiveOptions::default().wait_time(Duration::from_secs(1)))
        .await
        .unwrap();
    assert!(nothing.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(900));
}

/// The contract: deleting twice succeeds like sqs.
pub async fn deleting_twice_succeeds_like_sqs<Q: Queue>(p: &Pair<Q>) {
    p.queue.send(OutgoingMessage::new("once")).await.unwrap();
    let got = receive_n(
        &p.queue,
        1,
        p.timing.visibility * 10,
        Duration::from_secs(5),
    )
    .await;
    p.queue.delete(&got[0].receipt_handle).await.unwrap();
    p.queue.delete(&got[0].receipt_handle).await.unwrap();
    assert_eq!(p.queue.approximate_depth().await.unwrap().total(), 0);
}

/// The contract: receive takes at most ten.
pub async fn receive_takes_at_most_ten<Q: Queue>(p: &Pair<Q>) {
    let outcome = p
        .queue
        .send_batch(
            (0..15)
                .map(|i| OutgoingMessage::new(format!("r{i}")))
                .collect(),
        )
        .await
        .unwrap();
    assert!(outcome.all_ok());
    let opts = ReceiveOptions::default()
        .max_messages(50)
        .wait_time(Duration::from_secs(1));
    let got = p.queue.receive(&opts).await.unwrap();
    assert!(!got.is_empty() && got.len() <= 10, "received {}", got.len());
    let bad = p
        .queue
        .receive(&ReceiveOptions::default().wait_time(Duration::from_secs(21)))
        .await
        .unwrap_err();
    assert!(matches!(bad, QueueError::InvalidRequest(_)), "{bad:?}");
}

/// Writes one test per contract check, in a module named `$module`, each on a fresh pair.
///
/// `contract_tests!(name, #[test attribute], pair_future)` or with `, cleanup = path` (an
/// `async fn(Pair<Q>)` run after each check, e.g. deleting server-side queues). `pair_future`
/// is evaluated once per test from inside the generated module (use `super::` paths) and gives
/// an `Option<Pair<Q>>`: `None` skips the test (say why on stderr).
#[doc(hidden)]
#[macro_export]
macro_rules! __sqs_dlq_queue_contract_tests {
    ($module:ident, #[$test:meta], $pair:expr $(,)?) => {
        $crate::__sqs_dlq_queue_contract_tests!(
            $module, #[$test], $pair, cleanup = $crate::queue::contract::keep
        );
    };
    ($module:ident, #[$test:meta], $pair:expr, cleanup = $cleanup:path $(,)?) => {
        $crate::__sqs_dlq_queue_contract_tests!(@each $module, [$test], [$pair], [$cleanup],
            visibility_hides_a_message_until_its_timeout,
            receive_count_increments_on_each_receive,
            redrive_moves_a_message_to_the_dlq_at_max_receive_count,
            delay_hides_a_message_until_it_is_over,
            partial_batch_failure_reports_only_the_bad_entry,
            send_batch_of_more_than_ten_reports_every_entry,
            send_batch_rejects_invalid_entries_alone,
            change_visibility_to_zero_releases_at_once,
            extending_visibility_keeps_a_message_hidden,
            attributes_and_body_round_trip,
            depth_counts_visible_in_flight_and_delayed,
            long_poll_returns_when_a_message_arrives,
            deleting_twice_succeeds_like_sqs,
            receive_takes_at_most_ten,
        );
    };
    (@each $module:ident, [$test:meta], [$pair:expr], [$cleanup:path], $($name:ident),* $(,)?) => {
        mod $module {
            $(
                #[$test]
                async fn $name() {
                    let Some(pair) = $pair.await else { return };
                    $crate::queue::contract::$name(&pair).await;
                    $cleanup(pair).await;
                }
            )*
        }
    };
}

pub use crate::__sqs_dlq_queue_contract_tests as contract_tests;
