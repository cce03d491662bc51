//! One behavioural suite for both [`Queue`] backends.
//!
//! Each check is a generic async body over a [`Pair`] (a fresh queue and its dead-letter queue,
//! redriving at `max_receive_count`). `both!` runs every body twice:
//! - `memory::*` on [`MemoryQueue`] under paused tokio time (timeouts of 30 s pass instantly);
//! - `moto::*` on [`SqsQueue`] against moto's SQS server with real time and 1 s settings.
//!   Without `AWS_ENDPOINT_URL` they are skipped with a notice, unless `SQS_DLQ_MOTO=1`
//!   (set by `scripts/moto start`, which `scripts/test` uses): then a missing server fails.
//!
//! Checks that only the in-memory queue can make (exact redrive timing, stale receipt handles,
//! injected failures, request counts) live in `memory_only`; error mapping of the SQS backend
//! against a scripted HTTP server and a closed port lives in `sqs_errors`.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use sqs_dlq::{
    AttributeValue, MemoryQueue, OutgoingMessage, Queue, QueueDepth, QueueSettings, ReceiveOptions,
    ReceivedMessage, RequestStats, SqsQueue,
};
use tokio::time::{Instant, sleep};

/// Time settings of a backend.
#[derive(Clone, Copy)]
struct Timing {
    /// Visibility timeout used on receives in the tests.
    visibility: Duration,
    /// Delay used on delayed sends.
    delay: Duration,
    /// Extra wait past a deadline before expecting its effect.
    settle: Duration,
    /// A long-poll wait that is surely longer than an arrival takes.
    long_poll: Duration,
}

/// A fresh queue and its dead-letter queue.
struct Pair<Q> {
    queue: Q,
    dlq: Q,
    max_receive_count: u32,
    t: Timing,
    stats: Box<dyn Fn() -> RequestStats + Send + Sync>,
}

const MAX_RECEIVES: u32 = 2;

fn memory_pair() -> Pair<MemoryQueue> {
    let (queue, dlq) = MemoryQueue::with_dlq("suite", MAX_RECEIVES);
    let q = queue.clone();
    Pair {
        queue,
        dlq,
        max_receive_count: MAX_RECEIVES,
        t: Timing {
            visibility: Duration::from_secs(30),
            delay: Duration::from_secs(60),
            settle: Duration::from_millis(10),
            long_poll: Duration::from_secs(20),
        },
        stats: Box::new(move || q.stats()),
    }
}

/// A fresh SQS queue pair on the endpoint of `AWS_ENDPOINT_URL` (moto), or `None` (skip).
async fn sqs_pair() -> Option<Pair<SqsQueue>> {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        assert!(
            std::env::var("SQS_DLQ_MOTO").as_deref() != Ok("1"),
            "SQS_DLQ_MOTO=1 but AWS_ENDPOINT_URL is not set: the moto server is missing"
        );
        // Written to the stderr handle, not through eprintln!, so the test harness does not
        // capture it: a skip is visible in every `cargo test` run.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "NOTICE: skipping SQS backend test: AWS_ENDPOINT_URL is not set \
             (run `eval \"$(scripts/moto start)\"` or scripts/test)"
        );
        return None;
    }
    let client = SqsQueue::default_client().await;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let dlq = SqsQueue::create(
        client.clone(),
        &format!("suite-{id}-dlq"),
        &QueueSettings::new(),
    )
    .await
    .expect("create the dead-letter queue on moto");
    let arn = dlq.arn().await.unwrap();
    let queue = SqsQueue::create(
        client,
        &format!("suite-{id}"),
        &QueueSettings::new().redrive(arn, MAX_RECEIVES),
    )
    .await
    .expect("create the queue on moto");
    let q = queue.clone();
    Some(Pair {
        queue,
        dlq,
        max_receive_count: MAX_RECEIVES,
        t: Timing {
            visibility: Duration::from_secs(1),
            delay: Duration::from_secs(1),
            settle: Duration::from_millis(500),
            long_poll: Duration::from_secs(5),
        },
        stats: Box::new(move || q.stats()),
    })
}

impl Pair<SqsQueue> {
    async fn cleanup(self) {
        let _ = self.queue.delete_queue().await;
        let _ = self.dlq.delete_queue().await;
    }
}

fn short() -> ReceiveOptions {
    ReceiveOptions::default().wait_time(Duration::ZERO)
}

/// Receives until `n` messages came (or `within` passed), with visibility `vis`.
async fn receive_n<Q: Queue>(
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

// ---------------------------------------------------------------------------------------------
// The behavioural checks
// ---------------------------------------------------------------------------------------------

async fn visibility_hides_a_message_until_its_timeout<Q: Queue>(p: &Pair<Q>) {
    p.queue.send(OutgoingMessage::new("v")).await.unwrap();
    let vis = p.t.visibility;
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
    sleep(vis / 2 + p.t.settle).await;
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

async fn receive_count_increments_on_each_receive<Q: Queue>(p: &Pair<Q>) {
    p.queue.send(OutgoingMessage::new("count")).await.unwrap();
    for expected in 1..=p.max_receive_count {
        let got = receive_n(&p.queue, 1, p.t.visibility, Duration::from_secs(5)).await;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].receive_count, expected);
        p.queue
            .change_visibility(&got[0].receipt_handle, Duration::ZERO)
            .await
            .unwrap();
    }
}

async fn redrive_moves_a_message_to_the_dlq_at_max_receive_count<Q: Queue>(p: &Pair<Q>) {
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
    let moved = receive_n(&p.dlq, 1, p.t.visibility, Duration::from_secs(5)).await;
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

async fn delay_hides_a_message_until_it_is_over<Q: Queue>(p: &Pair<Q>) {
    p.queue
        .send(OutgoingMessage::new("later").with_delay(p.t.delay))
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
    sleep(p.t.delay + p.t.settle).await;
    let got = p.queue.receive(&short()).await.unwrap();
    assert_eq!(got.len(), 1, "not delivered after its delay");
    assert_eq!(got[0].body, "later");
    assert_eq!(got[0].receive_count, 1);
}

async fn partial_batch_failure_reports_only_the_bad_entry<Q: Queue>(p: &Pair<Q>) {
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
    let got = receive_n(&p.queue, 3, p.t.visibility * 10, Duration::from_secs(5)).await;
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

async fn send_batch_of_more_than_ten_reports_every_entry<Q: Queue>(p: &Pair<Q>) {
    let before = (p.stats)();
    let messages: Vec<_> = (0..25)
        .map(|i| OutgoingMessage::new(format!("b{i}")).with_number_attribute("n", i))
        .collect();
    let outcome = p.queue.send_batch(messages).await.unwrap();
    assert!(outcome.all_ok(), "{:?}", outcome.failed);
    let indexes: BTreeSet<usize> = outcome.ok.iter().map(|(i, _)| *i).collect();
    assert_eq!(indexes, (0..25).collect());
    let ids: BTreeSet<&String> = outcome.ok.iter().map(|(_, id)| id).collect();
    assert_eq!(ids.len(), 25, "message ids are not unique");
    assert_eq!(
        (p.stats)().send_message_batch - before.send_message_batch,
        3
    );

    let got = receive_n(&p.queue, 25, p.t.visibility * 10, Duration::from_secs(10)).await;
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

async fn send_batch_rejects_invalid_entries_alone<Q: Queue>(p: &Pair<Q>) {
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
    assert!(
        matches!(err, sqs_dlq::QueueError::InvalidRequest(_)),
        "{err:?}"
    );
}

async fn change_visibility_to_zero_releases_at_once<Q: Queue>(p: &Pair<Q>) {
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

async fn extending_visibility_keeps_a_message_hidden<Q: Queue>(p: &Pair<Q>) {
    p.queue
        .send(OutgoingMessage::new("long job"))
        .await
        .unwrap();
    let vis = p.t.visibility;
    let held = receive_n(&p.queue, 1, vis, Duration::from_secs(5)).await;
    assert_eq!(held.len(), 1);
    sleep(vis / 2).await;
    p.queue
        .change_visibility(&held[0].receipt_handle, vis * 3)
        .await
        .unwrap();
    sleep(vis + p.t.settle).await;
    assert!(
        p.queue.receive(&short()).await.unwrap().is_empty(),
        "heartbeat did not hold it"
    );
    p.queue.delete(&held[0].receipt_handle).await.unwrap();
}

async fn attributes_and_body_round_trip<Q: Queue>(p: &Pair<Q>) {
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
    let got = receive_n(&p.queue, 1, p.t.visibility * 10, Duration::from_secs(5)).await;
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

async fn depth_counts_visible_in_flight_and_delayed<Q: Queue>(p: &Pair<Q>) {
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

async fn long_poll_returns_when_a_message_arrives<Q: Queue + Clone>(p: &Pair<Q>) {
    let receiver = p.queue.clone();
    let wait = p.t.long_poll;
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

async fn deleting_twice_succeeds_like_sqs<Q: Queue>(p: &Pair<Q>) {
    p.queue.send(OutgoingMessage::new("once")).await.unwrap();
    let got = receive_n(&p.queue, 1, p.t.visibility * 10, Duration::from_secs(5)).await;
    p.queue.delete(&got[0].receipt_handle).await.unwrap();
    p.queue.delete(&got[0].receipt_handle).await.unwrap();
    assert_eq!(p.queue.approximate_depth().await.unwrap().total(), 0);
}

async fn receive_takes_at_most_ten<Q: Queue>(p: &Pair<Q>) {
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
    assert!(
        matches!(bad, sqs_dlq::QueueError::InvalidRequest(_)),
        "{bad:?}"
    );
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(start_paused = true)]
                async fn $name() {
                    let p = super::memory_pair();
                    super::$name(&p).await;
                }
            )*
        }
        mod moto {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(p) = super::sqs_pair().await else { return };
                    super::$name(&p).await;
                    p.cleanup().await;
                }
            )*
        }
    };
}

both!(
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

// ---------------------------------------------------------------------------------------------
// MemoryQueue only: what moto cannot show (it accepts stale receipt handles) or needs exact
// counts and injected failures.
// ---------------------------------------------------------------------------------------------
mod memory_only {
    use std::collections::HashSet;
    use std::sync::Arc;

    use super::*;
    use sqs_dlq::{InjectedFailure, Operation, QueueError};

    const VIS: Duration = Duration::from_secs(30);

    #[tokio::test(start_paused = true)]
    async fn a_stale_receipt_handle_is_rejected_after_a_re_receive() {
        let q = MemoryQueue::new("stale");
        q.send(OutgoingMessage::new("x")).await.unwrap();
        let first = q.receive(&short()).await.unwrap().remove(0);
        sleep(VIS + Duration::from_millis(1)).await;
        let second = q.receive(&short()).await.unwrap().remove(0);
        assert_eq!(second.receive_count, 2);
        for outcome in [
            q.delete_batch(vec![first.receipt_handle.clone()])
                .await
                .unwrap(),
            q.change_visibility_batch(vec![(first.receipt_handle.clone(), VIS)])
                .await
                .unwrap(),
        ] {
            assert_eq!(outcome.failed.len(), 1);
            assert_eq!(outcome.failed[0].code, "ReceiptHandleIsInvalid");
        }
        assert_eq!(
            q.depth(),
            QueueDepth::new(0, 1, 0),
            "the stale handle touched the message"
        );
        q.delete(&second.receipt_handle).await.unwrap();
        assert_eq!(q.depth().total(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_handle_of_another_queue_is_invalid() {
        let a = MemoryQueue::new("a");
        let b = MemoryQueue::new("b");
        a.send(OutgoingMessage::new("x")).await.unwrap();
        let m = a.receive(&short()).await.unwrap().remove(0);
        let err = b.delete(&m.receipt_handle).await.unwrap_err();
        assert!(
            matches!(err, QueueError::Backend { ref code, .. } if code == "ReceiptHandleIsInvalid")
        );
        assert_eq!(a.depth().in_flight, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_message_visible_again_is_not_in_flight_but_can_still_be_deleted() {
        let q = MemoryQueue::new("expired");
        q.send(OutgoingMessage::new("x")).await.unwrap();
        let m = q.receive(&short()).await.unwrap().remove(0);
        sleep(VIS + Duration::from_millis(1)).await;
        let err = q
            .change_visibility(&m.receipt_handle, VIS)
            .await
            .unwrap_err();
        assert!(
            matches!(err, QueueError::Backend { ref code, .. } if code == "MessageNotInflight"),
            "{err:?}"
        );
        // SQS lets the latest handle delete a message whose timeout ran out, until it is
        // received again.
        q.delete(&m.receipt_handle).await.unwrap();
        assert_eq!(q.depth().total(), 0);
        assert!(q.receive(&short()).await.unwrap().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn redrive_happens_on_the_receive_that_would_exceed_the_limit() {
        let (q, dlq) = MemoryQueue::with_dlq("orders", 1);
        assert_eq!(q.max_receive_count(), Some(1));
        assert_eq!(q.dead_letter_queue().unwrap().name(), "orders-dlq");
        q.send(OutgoingMessage::new("once")).await.unwrap();
        let m = q.receive(&short()).await.unwrap().remove(0);
        assert_eq!(m.receive_count, 1);
        sleep(VIS + Duration::from_millis(1)).await;
        // Visible again but still in the source queue: nothing moved it yet.
        assert_eq!(q.depth(), QueueDepth::new(1, 0, 0));
        assert_eq!(dlq.depth().total(), 0);
        // A waiting DLQ consumer is woken by the move.
        let waiter = {
            let dlq = dlq.clone();
            tokio::spawn(async move { dlq.receive(&ReceiveOptions::default()).await.unwrap() })
        };
        tokio::task::yield_now().await;
        assert!(q.receive(&short()).await.unwrap().is_empty());
        assert_eq!(q.depth().total(), 0);
        let started = Instant::now();
        let moved = waiter.await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(moved.len(), 1);
        assert_eq!(moved[0].message_id, m.message_id);
        assert_eq!(moved[0].receive_count, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_poll_is_woken_by_visibility_expiry_and_by_release() {
        let q = MemoryQueue::new("wake");
        q.send(OutgoingMessage::new("x")).await.unwrap();
        let vis = Duration::from_secs(5);
        let m = q
            .receive(&short().visibility_timeout(vis))
            .await
            .unwrap()
            .remove(0);
        let started = Instant::now();
        let again = q.receive(&ReceiveOptions::default()).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(
            started.elapsed(),
            vis,
            "woken at the expiry, not before or after"
        );
        // Released by a zero visibility change while someone waits.
        let waiter = {
            let q = q.clone();
            tokio::spawn(async move { q.receive(&ReceiveOptions::default()).await.unwrap() })
        };
        sleep(Duration::from_secs(1)).await;
        q.change_visibility(&again[0].receipt_handle, Duration::ZERO)
            .await
            .unwrap();
        let started = Instant::now();
        let got = waiter.await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].message_id, m.message_id);
        assert_eq!(started.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn zero_visibility_on_receive_leaves_the_message_visible() {
        let q = MemoryQueue::new("peek");
        q.send(OutgoingMessage::new("x")).await.unwrap();
        let a = q
            .receive(&short().visibility_timeout(Duration::ZERO))
            .await
            .unwrap();
        let b = q.receive(&short()).await.unwrap();
        assert_eq!((a.len(), b.len()), (1, 1));
        assert_eq!(b[0].receive_count, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn the_queue_default_delay_applies_unless_a_message_sets_its_own() {
        let q = MemoryQueue::builder("delayed")
            .delay(Duration::from_secs(10))
            .visibility_timeout(Duration::from_secs(5))
            .build();
        assert_eq!(q.visibility_timeout(), Duration::from_secs(5));
        q.send(OutgoingMessage::new("default")).await.unwrap();
        q.send(OutgoingMessage::new("now").with_delay(Duration::ZERO))
            .await
            .unwrap();
        assert_eq!(q.depth(), QueueDepth::new(1, 0, 1));
        let got = q.receive(&short()).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].body, "now");
        q.delete(&got[0].receipt_handle).await.unwrap();
        let started = Instant::now();
        let later = q.receive(&ReceiveOptions::default()).await.unwrap();
        assert_eq!(later[0].body, "default");
        assert_eq!(started.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn receive_ten_and_delete_ten_costs_a_fifth_of_a_request_per_message() {
        let q = MemoryQueue::new("cost");
        let out = q
            .send_batch(
                (0..1000)
                    .map(|i| OutgoingMessage::new(i.to_string()))
                    .collect(),
            )
            .await
            .unwrap();
        assert!(out.all_ok());
        assert_eq!(q.stats().send_message_batch, 100);
        q.reset_stats();
        let mut consumed = 0;
        loop {
            let got = q.receive(&short()).await.unwrap();
            if got.is_empty() {
                break;
            }
            consumed += got.len() as u64;
            let done = q
                .delete_batch(got.into_iter().map(|m| m.receipt_handle).collect())
                .await
                .unwrap();
            assert!(done.all_ok());
        }
        let s = q.stats();
        assert_eq!(consumed, 1000);
        assert_eq!(s.messages_received, 1000);
        assert_eq!(s.receive_message, 101);
        assert_eq!(s.empty_receives, 1);
        assert_eq!(s.delete_message_batch, 100);
        assert!(
            (s.per_message(consumed) - 0.201).abs() < 1e-9,
            "{}",
            s.per_message(consumed)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn injected_failures_fail_whole_calls_then_stop() {
        let q = MemoryQueue::new("faulty");
        q.fail_next(Operation::Receive, 2, InjectedFailure::Throttled);
        q.fail_next(Operation::Send, 1, InjectedFailure::Unavailable);
        let err = q.send(OutgoingMessage::new("x")).await.unwrap_err();
        assert!(matches!(err, QueueError::Unavailable { .. }) && err.is_transient());
        assert_eq!(q.depth().total(), 0, "a failed send enqueued the message");
        q.send(OutgoingMessage::new("x")).await.unwrap();
        for _ in 0..2 {
            let err = q.receive(&short()).await.unwrap_err();
            assert!(matches!(err, QueueError::Throttled { .. }));
        }
        assert_eq!(q.receive(&short()).await.unwrap().len(), 1);
        q.fail_next(Operation::Delete, 1, InjectedFailure::Throttled);
        q.fail_next(Operation::Delete, 0, InjectedFailure::Throttled);
        assert!(q.delete_batch(vec!["whatever".into()]).await.is_ok());
        assert_eq!(
            q.stats().receive_message,
            3,
            "failed calls are requests too"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn invalid_options_and_oversize_messages_are_refused() {
        let q = MemoryQueue::new("limits");
        let opts = short().visibility_timeout(Duration::from_secs(12 * 3600 + 1));
        assert!(matches!(
            q.receive(&opts).await,
            Err(QueueError::InvalidRequest(_))
        ));
        let big = OutgoingMessage::new("x".repeat(1024 * 1024 + 1));
        assert!(matches!(
            q.send(big).await,
            Err(QueueError::InvalidRequest(_))
        ));
        let mut many = OutgoingMessage::new("x");
        for i in 0..11 {
            many = many.with_attribute(format!("a{i}"), "v");
        }
        assert!(matches!(
            q.send(many).await,
            Err(QueueError::InvalidRequest(_))
        ));
        let nan = OutgoingMessage::new("x").with_number_attribute("n", "twelve");
        assert!(matches!(
            q.send(nan).await,
            Err(QueueError::InvalidRequest(_))
        ));
        let outcome = q
            .change_visibility_batch(vec![("h".into(), Duration::from_secs(43_201))])
            .await
            .unwrap();
        assert_eq!(outcome.failed[0].code, "InvalidParameterValue");
        assert!(q.send_batch(Vec::new()).await.unwrap().all_ok());
        assert_eq!(
            q.stats().send_message_batch,
            0,
            "an empty batch made a request"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn inspection_helpers_see_everything_without_receiving() {
        let q = MemoryQueue::new("inspect");
        q.send(OutgoingMessage::new("a")).await.unwrap();
        q.send(OutgoingMessage::new("b").with_delay(Duration::from_secs(5)))
            .await
            .unwrap();
        let got = q.receive(&short()).await.unwrap();
        assert_eq!(got.len(), 1);
        let mut bodies = q.bodies();
        bodies.sort();
        assert_eq!(bodies, vec!["a", "b"]);
        let peeked = q.peek_all();
        assert_eq!(peeked.len(), 2);
        assert!(peeked.iter().any(|m| m.body == "a" && m.receive_count == 1));
        q.purge();
        assert_eq!(q.depth().total(), 0);
        assert!(
            q.delete(&got[0].receipt_handle).await.is_ok(),
            "gone counts as deleted"
        );
    }

    /// Many receivers on a multi-threaded runtime: every message is delivered exactly once
    /// while nobody lets a visibility timeout run out.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_receivers_never_share_a_message() {
        let q = MemoryQueue::new("concurrent");
        let n = 5_000;
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut workers = Vec::new();
        for _ in 0..8 {
            let q = q.clone();
            let seen = seen.clone();
            workers.push(tokio::spawn(async move {
                loop {
                    let opts = ReceiveOptions::default().wait_time(Duration::from_millis(200));
                    let got = q.receive(&opts).await.unwrap();
                    if got.is_empty() {
                        break;
                    }
                    let handles = got.iter().map(|m| m.receipt_handle.clone()).collect();
                    seen.lock().unwrap().extend(got.into_iter().map(|m| m.body));
                    assert!(q.delete_batch(handles).await.unwrap().all_ok());
                }
            }));
        }
        for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
            let batch = chunk
                .iter()
                .map(|i| OutgoingMessage::new(i.to_string()))
                .collect();
            assert!(q.send_batch(batch).await.unwrap().all_ok());
        }
        for w in workers {
            w.await.unwrap();
        }
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), n, "some message was delivered twice or never");
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), n);
        assert_eq!(q.depth().total(), 0);
    }
}

// ---------------------------------------------------------------------------------------------
// SqsQueue error mapping and batch bookkeeping against a scripted HTTP server (wiremock
// speaking the SQS JSON protocol) and a closed port. No moto needed.
// ---------------------------------------------------------------------------------------------
mod sqs_errors {
    use super::*;
    use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region, retry::RetryConfig};
    use sqs_dlq::QueueError;
    use wiremock::matchers::{header, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn client(endpoint: &str) -> aws_sdk_sqs::Client {
        let config = aws_sdk_sqs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .retry_config(RetryConfig::disabled())
            .build();
        aws_sdk_sqs::Client::from_conf(config)
    }

    fn queue(server: &MockServer) -> SqsQueue {
        SqsQueue::from_url(
            client(&server.uri()),
            format!("{}/123456789012/q", server.uri()),
        )
    }

    fn json(status: u16, body: serde_json::Value) -> ResponseTemplate {
        ResponseTemplate::new(status)
            .insert_header("content-type", "application/x-amz-json-1.0")
            .set_body_string(body.to_string())
    }

    async fn failing_receive(response: ResponseTemplate) -> QueueError {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(response)
            .mount(&server)
            .await;
        queue(&server).receive(&short()).await.unwrap_err()
    }

    #[tokio::test]
    async fn throttling_maps_to_throttled() {
        let err = failing_receive(json(
            400,
            serde_json::json!({"__type": "com.amazonaws.sqs#RequestThrottled", "message": "slow down"}),
        ))
        .await;
        assert!(
            matches!(err, QueueError::Throttled { ref queue } if queue == "q"),
            "{err:?}"
        );
        assert!(err.is_transient());
    }

    #[tokio::test]
    async fn a_missing_queue_maps_to_not_found_in_both_error_dialects() {
        let err = failing_receive(json(
            400,
            serde_json::json!({"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "no such queue"}),
        ))
        .await;
        assert!(matches!(err, QueueError::NotFound { .. }), "{err:?}");
        let err = failing_receive(
            json(
                400,
                serde_json::json!({"__type": "com.amazonaws.sqs#QueueDoesNotExist"}),
            )
            .insert_header(
                "x-amzn-query-error",
                "AWS.SimpleQueueService.NonExistentQueue;Sender",
            ),
        )
        .await;
        assert!(matches!(err, QueueError::NotFound { .. }), "{err:?}");
        assert!(!err.is_transient());
    }

    #[tokio::test]
    async fn server_errors_map_to_unavailable_and_others_keep_their_code() {
        let err = failing_receive(json(
            500,
            serde_json::json!({"__type": "com.amazonaws.sqs#InternalError", "message": "boom"}),
        ))
        .await;
        assert!(matches!(err, QueueError::Unavailable { .. }), "{err:?}");
        assert!(err.is_transient());
        let err = failing_receive(json(
            400,
            serde_json::json!({"__type": "com.amazonaws.sqs#AccessDenied", "message": "not yours"}),
        ))
        .await;
        match err {
            QueueError::Backend { code, message, .. } => {
                assert_eq!(code, "AccessDenied");
                assert_eq!(message, "not yours");
            }
            other => panic!("{other:?}"),
        }
        let err =
            failing_receive(ResponseTemplate::new(200).set_body_string("<html>not json")).await;
        assert!(
            err.is_transient(),
            "an unreadable answer should be retried: {err:?}"
        );
    }

    #[tokio::test]
    async fn a_closed_port_maps_to_unavailable() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let endpoint = format!("http://127.0.0.1:{port}");
        let q = SqsQueue::from_url(client(&endpoint), format!("{endpoint}/1/q"));
        let err = q.approximate_depth().await.unwrap_err();
        assert!(
            matches!(err, QueueError::Unavailable { ref source, .. } if source.is_some()),
            "{err:?}"
        );
        assert_eq!(q.stats().get_queue_attributes, 1);
    }

    #[tokio::test]
    async fn receive_reads_counts_timestamps_and_attributes() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(header("x-amz-target", "AmazonSQS.ReceiveMessage"))
            .respond_with(json(
                200,
                serde_json::json!({"Messages": [{
                    "MessageId": "m-1",
                    "ReceiptHandle": "rh-1",
                    "Body": "{\"a\":1}",
                    "Attributes": {"ApproximateReceiveCount": "3", "SentTimestamp": "1700000000123"},
                    "MessageAttributes": {
                        "ERROR_CODE": {"DataType": "String", "StringValue": "THROTTLING"},
                        "RETRY_ATTEMPTS": {"DataType": "Number.int", "StringValue": "185"},
                        "raw": {"DataType": "Binary", "BinaryValue": "AAH/"}
                    }
                }]}),
            ))
            .expect(1)
            .mount(&server)
            .await;
        let q = queue(&server);
        let got = q.receive(&short()).await.unwrap();
        assert_eq!(got.len(), 1);
        let m = &got[0];
        assert_eq!(
            (m.message_id.as_str(), m.receipt_handle.as_str()),
            ("m-1", "rh-1")
        );
        assert_eq!(m.body, "{\"a\":1}");
        assert_eq!(m.receive_count, 3);
        assert_eq!(
            m.sent_at,
            Some(std::time::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123))
        );
        assert_eq!(m.attribute("ERROR_CODE"), Some("THROTTLING"));
        assert_eq!(
            m.attributes.get("RETRY_ATTEMPTS"),
            Some(&AttributeValue::Number("185".into()))
        );
        assert_eq!(
            m.attributes.get("raw"),
            Some(&AttributeValue::Binary(Bytes::from_static(&[0, 1, 255])))
        );
        let body: serde_json::Value =
            serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
        assert_eq!(body["MessageAttributeNames"], serde_json::json!(["All"]));
        let system = body["MessageSystemAttributeNames"].as_array().unwrap();
        assert!(system.contains(&serde_json::json!("ApproximateReceiveCount")));
        assert!(system.contains(&serde_json::json!("SentTimestamp")));
        assert_eq!(body["MaxNumberOfMessages"], 10);
        assert_eq!(body["WaitTimeSeconds"], 0);
    }

    #[tokio::test]
    async fn a_later_chunk_failing_as_a_whole_marks_only_its_entries_failed() {
        let server = MockServer::start().await;
        // First DeleteMessageBatch: entry "3" refused, the rest deleted.
        let ok: Vec<_> = (0..10)
            .filter(|i| *i != 3)
            .map(|i| serde_json::json!({"Id": i.to_string()}))
            .collect();
        Mock::given(method("POST"))
            .and(header("x-amz-target", "AmazonSQS.DeleteMessageBatch"))
            .respond_with(json(
                200,
                serde_json::json!({"Successful": ok, "Failed": [{
                    "Id": "3", "Code": "ReceiptHandleIsInvalid", "Message": "bad", "SenderFault": true
                }]}),
            ))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        // Second: throttled as a whole.
        Mock::given(method("POST"))
            .and(header("x-amz-target", "AmazonSQS.DeleteMessageBatch"))
            .respond_with(json(
                400,
                serde_json::json!({"__type": "com.amazonaws.sqs#RequestThrottled"}),
            ))
            .with_priority(2)
            .mount(&server)
            .await;
        let q = queue(&server);
        let handles = (0..12).map(|i| format!("rh-{i}")).collect();
        let outcome = q.delete_batch(handles).await.unwrap();
        let ok: Vec<usize> = outcome.ok.iter().map(|(i, ())| *i).collect();
        assert_eq!(ok, vec![0, 1, 2, 4, 5, 6, 7, 8, 9]);
        let failed: Vec<(usize, &str, bool)> = outcome
            .failed
            .iter()
            .map(|f| (f.index, f.code.as_str(), f.sender_fault))
            .collect();
        assert_eq!(
            failed,
            vec![
                (3, "ReceiptHandleIsInvalid", true),
                (10, "RequestThrottled", false),
                (11, "RequestThrottled", false)
            ]
        );
        assert_eq!(q.stats().delete_message_batch, 2);
        // Sent entries carry their input index as id.
        let first: serde_json::Value =
            serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
        assert_eq!(first["Entries"][3]["Id"], "3");
        assert_eq!(first["Entries"][3]["ReceiptHandle"], "rh-3");
        // A first request failing as a whole is the caller's error: nothing was done.
        let err = q.delete_batch(vec!["rh".into()]).await.unwrap_err();
        assert!(matches!(err, QueueError::Throttled { .. }));
    }
}

// ---------------------------------------------------------------------------------------------
// SqsQueue against moto: resolving queues, helpers, counters.
// ---------------------------------------------------------------------------------------------
mod moto_only {
    use super::*;
    use sqs_dlq::QueueError;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queues_resolve_by_name_and_by_url_and_share_counters_across_clones() {
        let Some(p) = sqs_pair().await else { return };
        let name = p.queue.name().to_owned();
        let by_name = SqsQueue::connect(&name).await.unwrap();
        assert_eq!(by_name.url(), p.queue.url());
        assert_eq!(by_name.stats().get_queue_url, 1);
        let by_url = SqsQueue::connect(p.queue.url()).await.unwrap();
        assert_eq!(by_url.name(), name);
        assert_eq!(by_url.stats().total(), 0, "resolving by URL made a request");
        let clone = by_url.clone();
        clone.send(OutgoingMessage::new("via clone")).await.unwrap();
        let got = receive_n(&by_url, 1, Duration::from_secs(30), Duration::from_secs(5)).await;
        assert_eq!(got[0].body, "via clone");
        let s = by_url.stats();
        assert_eq!(s.send_message, 1);
        assert!(s.receive_message >= 1);
        assert_eq!(s.messages_received, 1);
        by_url.delete(&got[0].receipt_handle).await.unwrap();
        assert!(p.dlq.arn().await.unwrap().ends_with(p.dlq.name()));
        p.cleanup().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_missing_queue_is_not_found() {
        if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
            let _ = sqs_pair().await; // prints the notice, or fails under SQS_DLQ_MOTO=1
            return;
        }
        let client = SqsQueue::default_client().await;
        let missing = format!("missing-{}", uuid::Uuid::new_v4().simple());
        let err = SqsQueue::from_name(client.clone(), &missing)
            .await
            .unwrap_err();
        assert!(
            matches!(err, QueueError::NotFound { ref queue } if *queue == missing),
            "{err:?}"
        );
        // A queue deleted under a holder of its URL.
        let q = SqsQueue::create(client, &missing, &QueueSettings::new())
            .await
            .unwrap();
        q.delete_queue().await.unwrap();
        let err = q.send(OutgoingMessage::new("x")).await.unwrap_err();
        assert!(matches!(err, QueueError::NotFound { .. }), "{err:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queue_settings_apply_on_create() {
        let Some(p) = sqs_pair().await else { return };
        let name = format!("{}-settings", p.queue.name());
        let q = SqsQueue::create(
            p.queue.client().clone(),
            &name,
            &QueueSettings::new()
                .visibility_timeout(Duration::from_secs(1))
                .delay(Duration::from_secs(1)),
        )
        .await
        .unwrap();
        q.send(OutgoingMessage::new("queue default delay"))
            .await
            .unwrap();
        assert!(
            q.receive(&short()).await.unwrap().is_empty(),
            "queue delay not applied"
        );
        assert_eq!(q.approximate_depth().await.unwrap().delayed, 1);
        // Received with the queue's 1 s visibility (no override), it comes back by itself.
        let got = q
            .receive(&ReceiveOptions::default().wait_time(Duration::from_secs(3)))
            .await
            .unwrap();
        assert_eq!(got.len(), 1);
        let again = q
            .receive(&ReceiveOptions::default().wait_time(Duration::from_secs(3)))
            .await
            .unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].receive_count, 2);
        q.delete_queue().await.unwrap();
        p.cleanup().await;
    }
}
