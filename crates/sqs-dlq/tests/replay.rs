//! Replay to a wiremock HTTP target and back to a source queue: only accepted messages leave
//! the DLQ, unsafe categories are skipped unless forced, dry runs change nothing.
#![allow(clippy::unwrap_used)]

mod dlq_support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dlq_support::{conversation, fixture, letter_message};
use retry_policy::{Backoff, Jitter, Pacer, RetryPolicy};
use sqs_dlq::dead_letter::{Category, HttpTarget, QueueTarget, Replay, SkipReason};
use sqs_dlq::queue::{
    BatchEntryFailure, BatchOutcome, MemoryQueue, OutgoingMessage, Queue, QueueDepth, QueueError,
    ReceiveOptions, ReceivedMessage,
};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fast_policy() -> RetryPolicy {
    RetryPolicy::builder()
        .max_attempts(3)
        .backoff(Backoff::constant(Duration::from_millis(5)).jitter(Jitter::None))
        .retry_after_floor(Duration::from_millis(1))
        .no_budget()
        .build()
}

fn target(server: &MockServer) -> HttpTarget {
    HttpTarget::builder(format!("{}/events", server.uri()))
        .retry_policy(fast_policy())
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

/// One replay run over `dlq` to `target` (no long poll).
async fn drain_once(
    target: impl sqs_dlq::dead_letter::ReplayTarget + 'static,
    dlq: &MemoryQueue,
) -> sqs_dlq::dead_letter::ReplayReport {
    Replay::builder(target)
        .wait_time(Duration::ZERO)
        .build()
        .run(dlq)
        .await
        .unwrap()
}

async fn ids_on(queue: &MemoryQueue) -> BTreeSet<String> {
    queue.peek_all().into_iter().map(|m| m.message_id).collect()
}

#[tokio::test]
async fn http_replay_deletes_only_what_the_target_accepted() {
    let server = MockServer::start().await;
    let (ok, flaky, bad, unsafe_one) = (
        conversation(1),
        conversation(2),
        conversation(3),
        conversation(4),
    );
    // flaky: one 500, then accepted.
    Mock::given(method("POST"))
        .and(body_string_contains(flaky.as_str()))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains(bad.as_str()))
        .respond_with(ResponseTemplate::new(400).set_body_string("schema mismatch"))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/events"))
        .and(header("content-type", "application/json"))
        .and(header("x-replay-source", "sqs-dlq"))
        .respond_with(ResponseTemplate::new(202))
        .with_priority(5)
        .mount(&server)
        .await;

    let dlq = MemoryQueue::new("dlq");
    let ok_id = dlq
        .send(letter_message(&ok, "THROTTLING", 7))
        .await
        .unwrap();
    let flaky_id = dlq
        .send(letter_message(&flaky, "CONNECTION_FAILURE", 185))
        .await
        .unwrap();
    let bad_id = dlq.send(letter_message(&bad, "TIMEOUT", 3)).await.unwrap();
    let unsafe_id = dlq
        .send(letter_message(&unsafe_one, "NO_PERMISSIONS", 0))
        .await
        .unwrap();
    let not_json = fixture("json_not_event");
    let not_json_id = dlq.send(not_json.outgoing()).await.unwrap();

    let report = drain_once(target(&server), &dlq).await;

    let replayed: BTreeSet<_> = report
        .replayed_ids()
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(replayed, BTreeSet::from([ok_id.clone(), flaky_id.clone()]));
    assert!(report.replayed.iter().all(|r| r.removed_from_dlq));
    assert_eq!(report.failed_ids(), [bad_id.as_str()]);
    assert_eq!(report.failed[0].rejected.status, Some(400));
    assert!(!report.failed[0].rejected.retryable);
    assert_eq!(report.failed[0].rejected.tries, 1, "4xx is final");
    assert!(report.failed[0].rejected.reason.contains("schema mismatch"));
    let skipped: BTreeSet<_> = report
        .skipped_ids()
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        skipped,
        BTreeSet::from([unsafe_id.clone(), not_json_id.clone()])
    );
    assert!(report.skipped.iter().any(|s| s.reason
        == SkipReason::Unsafe {
            category: Category::AuthRejected
        }));

    // Exactly the refused and skipped ones are back on the DLQ, visible at once.
    assert_eq!(
        ids_on(&dlq).await,
        BTreeSet::from([bad_id, unsafe_id, not_json_id])
    );
    assert_eq!(dlq.depth().visible, 3);

    // Headers and bodies.
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 4, "ok 1 + flaky 2 + bad 1");
    let flaky_attempts: Vec<String> = requests
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains(flaky.as_str()))
        .map(|r| {
            r.headers
                .get("x-attempt-count")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(flaky_attempts, ["186", "187"]);
    let ok_request = requests
        .iter()
        .find(|r| String::from_utf8_lossy(&r.body).contains(ok.as_str()))
        .unwrap();
    assert_eq!(ok_request.headers.get("x-attempt-count").unwrap(), "8");
    assert_eq!(
        ok_request.headers.get("x-replay-source").unwrap(),
        "sqs-dlq"
    );
    assert_eq!(
        ok_request.headers.get("x-event-id").unwrap(),
        format!("evt-{ok}").as_str()
    );
    let original = letter_message(&ok, "THROTTLING", 7).body;
    assert_eq!(ok_request.body, original.as_bytes(), "body unchanged");
    let accepted = report
        .replayed
        .iter()
        .find(|r| r.message_id == ok_id)
        .unwrap();
    assert_eq!(
        (accepted.accepted.attempt, accepted.accepted.status),
        (8, Some(202))
    );
}

#[tokio::test]
async fn retries_give_up_and_the_message_stays() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let dlq = MemoryQueue::new("dlq");
    let id = dlq
        .send(letter_message(&conversation(9), "TIMEOUT", 1))
        .await
        .unwrap();
    let report = drain_once(target(&server), &dlq).await;
    assert_eq!(report.failed_ids(), [id.as_str()]);
    assert_eq!(report.failed[0].rejected.tries, 3);
    assert!(report.failed[0].rejected.retryable);
    assert_eq!(dlq.depth().visible, 1);
}

#[tokio::test]
async fn unreachable_target_is_retried_then_failed() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let target = HttpTarget::builder(format!("http://127.0.0.1:{port}/events"))
        .retry_policy(fast_policy())
        .build()
        .unwrap();
    let dlq = MemoryQueue::new("dlq");
    dlq.send(letter_message(&conversation(1), "CONNECTION_FAILURE", 1))
        .await
        .unwrap();
    let report = drain_once(target, &dlq).await;
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].rejected.tries, 3);
    assert_eq!(dlq.depth().visible, 1);
}

#[tokio::test]
async fn dry_run_changes_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let dlq = MemoryQueue::new("dlq");
    for n in 0..12 {
        let code = if n % 3 == 0 {
            "NO_RESOURCE"
        } else {
            "THROTTLING"
        };
        dlq.send(letter_message(&conversation(n), code, 1))
            .await
            .unwrap();
    }
    let before = ids_on(&dlq).await;
    let report = Replay::builder(target(&server))
        .dry_run(true)
        .wait_time(Duration::ZERO)
        .build()
        .run(&dlq)
        .await
        .unwrap();
    assert!(report.dry_run);
    assert!(report.replayed.is_empty() && report.failed.is_empty());
    assert_eq!(report.skipped.len(), 12);
    assert_eq!(
        report
            .skipped
            .iter()
            .filter(|s| s.reason == SkipReason::DryRun)
            .count(),
        8
    );
    assert_eq!(ids_on(&dlq).await, before);
    assert_eq!(dlq.depth().visible, 12);
    server.verify().await;
}

#[tokio::test]
async fn only_and_force_select_categories() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let dlq = MemoryQueue::new("dlq");
    let missing = dlq
        .send(letter_message(&conversation(1), "NO_RESOURCE", 1))
        .await
        .unwrap();
    let throttled = dlq
        .send(letter_message(&conversation(2), "THROTTLING", 1))
        .await
        .unwrap();

    // Only target_missing, not forced: skipped as unsafe; throttled filtered out.
    let report = Replay::builder(target(&server))
        .only(Category::TargetMissing)
        .wait_time(Duration::ZERO)
        .build()
        .run(&dlq)
        .await
        .unwrap();
    assert!(report.replayed.is_empty());
    assert!(report.skipped.iter().any(|s| s.message_id == throttled
        && s.reason
            == SkipReason::FilteredOut {
                category: Category::RateLimited
            }));

    // Forced after the target was re-created: replayed and deleted; throttled still filtered.
    let report = Replay::builder(target(&server))
        .only(Category::TargetMissing)
        .force(true)
        .wait_time(Duration::ZERO)
        .build()
        .run(&dlq)
        .await
        .unwrap();
    assert_eq!(report.replayed_ids(), [missing.as_str()]);
    assert_eq!(ids_on(&dlq).await, BTreeSet::from([throttled]));
}

/// A source queue that refuses bodies containing "reject-me", entry by entry.
struct PickyQueue(MemoryQueue);

#[async_trait]
impl Queue for PickyQueue {
    fn name(&self) -> &str {
        self.0.name()
    }
    async fn receive(&self, o: &ReceiveOptions) -> Result<Vec<ReceivedMessage>, QueueError> {
        self.0.receive(o).await
    }
    async fn send(&self, m: OutgoingMessage) -> Result<String, QueueError> {
        self.0.send(m).await
    }
    async fn send_batch(
        &self,
        messages: Vec<OutgoingMessage>,
    ) -> Result<BatchOutcome<String>, QueueError> {
        let (reject, keep): (Vec<_>, Vec<_>) = messages
            .into_iter()
            .enumerate()
            .partition(|(_, m)| m.body.contains("reject-me"));
        let indexes: Vec<usize> = keep.iter().map(|(i, _)| *i).collect();
        let inner = self
            .0
            .send_batch(keep.into_iter().map(|(_, m)| m).collect())
            .await?;
        let mut outcome = BatchOutcome::empty();
        outcome.ok = inner
            .ok
            .into_iter()
            .map(|(i, id)| (indexes[i], id))
            .collect();
        outcome.failed = reject
            .into_iter()
            .map(|(index, _)| {
                let mut f = BatchEntryFailure::clone(&sample_failure());
                f.index = index;
                f
            })
            .collect();
        Ok(outcome)
    }
    async fn delete_batch(&self, h: Vec<String>) -> Result<BatchOutcome<()>, QueueError> {
        self.0.delete_batch(h).await
    }
    async fn change_visibility_batch(
        &self,
        e: Vec<(String, Duration)>,
    ) -> Result<BatchOutcome<()>, QueueError> {
        self.0.change_visibility_batch(e).await
    }
    async fn approximate_depth(&self) -> Result<QueueDepth, QueueError> {
        self.0.approximate_depth().await
    }
}

fn sample_failure() -> BatchEntryFailure {
    // Built through a real backend refusal so the test does not depend on constructors.
    let failures = futures::executor::block_on(async {
        let q = MemoryQueue::new("probe");
        q.delete_batch(vec!["not-a-handle".into()])
            .await
            .unwrap()
            .failed
    });
    failures.into_iter().next().unwrap()
}

#[tokio::test(start_paused = true)]
async fn queue_replay_sends_then_deletes_exactly_the_sent_ones() {
    let dlq = MemoryQueue::new("orders-dlq");
    let source = MemoryQueue::new("orders");
    let mut sent_bodies = BTreeSet::new();
    for n in 0..23 {
        let m = letter_message(&conversation(n), "THROTTLING", 4);
        sent_bodies.insert(m.body.clone());
        dlq.send(m).await.unwrap();
    }
    let rejected = letter_message("reject-me", "THROTTLING", 4);
    let rejected_id = dlq.send(rejected).await.unwrap();
    let unsafe_id = dlq
        .send(letter_message(&conversation(99), "INVALID_JSON", 1))
        .await
        .unwrap();

    let target = QueueTarget::new(PickyQueue(source.clone())).pacer(Pacer::per_second(5.0, 1));
    let started = tokio::time::Instant::now();
    let report = drain_once(target, &dlq).await;

    assert_eq!(report.replayed.len(), 23);
    assert_eq!(report.failed_ids(), [rejected_id.as_str()]);
    assert_eq!(report.skipped_ids(), [unsafe_id.as_str()]);
    let on_source: BTreeSet<_> = source.bodies().into_iter().collect();
    assert_eq!(on_source, sent_bodies, "bodies unchanged");
    assert_eq!(ids_on(&dlq).await, BTreeSet::from([rejected_id, unsafe_id]));
    // Attributes travel, with the replay marks.
    let one = &source.peek_all()[0];
    assert_eq!(one.attribute("ERROR_CODE"), Some("THROTTLING"));
    assert_eq!(one.attribute("X-Replay-Source"), Some("sqs-dlq"));
    assert_eq!(one.attribute("X-Attempt-Count"), Some("5"));
    assert!(
        report
            .replayed
            .iter()
            .all(|r| r.accepted.new_message_id.is_some())
    );
    // Paced: 3 send batches at 5/s with a burst of 1 take at least 0.4 s of (paused) time.
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn queue_replay_dry_run_and_outage() {
    let dlq = MemoryQueue::new("dlq");
    let source = MemoryQueue::new("src");
    for n in 0..5 {
        dlq.send(letter_message(&conversation(n), "TIMEOUT", 1))
            .await
            .unwrap();
    }
    let report = Replay::builder(QueueTarget::new(source.clone()))
        .dry_run(true)
        .wait_time(Duration::ZERO)
        .build()
        .run(&dlq)
        .await
        .unwrap();
    assert_eq!(report.skipped.len(), 5);
    assert_eq!(source.depth().total(), 0);
    assert_eq!(dlq.depth().visible, 5);

    // The source queue is down for longer than the retries: nothing leaves the DLQ.
    source.fail_next(
        sqs_dlq::queue::Operation::Send,
        100,
        sqs_dlq::queue::InjectedFailure::Unavailable,
    );
    let target = QueueTarget::new(source.clone()).retry_policy(fast_policy());
    let report = drain_once(target, &dlq).await;
    assert_eq!(report.failed.len(), 5);
    assert!(report.failed.iter().all(|f| f.rejected.retryable));
    assert_eq!(dlq.depth().visible, 5);
    assert_eq!(source.depth().total(), 0);
}

#[tokio::test]
async fn replay_letter_applies_the_policy() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let replay = Arc::new(Replay::builder(target(&server)).build());
    let f = fixture("throttling");
    let letter = sqs_dlq::dead_letter::DeadLetter::parse("m", f.body.clone(), f.attributes.clone());
    let accepted = replay.replay_letter(&letter).await.unwrap();
    assert_eq!(accepted.attempt, 186);
    let f = fixture("no_resource");
    let letter =
        sqs_dlq::dead_letter::DeadLetter::parse("m2", f.body.clone(), f.attributes.clone());
    assert!(matches!(
        replay.replay_letter(&letter).await,
        Err(sqs_dlq::dead_letter::ReplayLetterError::Skipped(
            SkipReason::Unsafe { .. }
        ))
    ));
}

#[tokio::test(start_paused = true)]
async fn a_skipped_message_that_reappears_is_not_processed_twice() {
    let dlq = MemoryQueue::new("dlq");
    let source = MemoryQueue::new("src");
    for n in 0..15 {
        let code = if n < 5 { "NO_RESOURCE" } else { "THROTTLING" };
        dlq.send(letter_message(&conversation(n), code, 1))
            .await
            .unwrap();
    }
    // Held messages reappear between receives (1 ms visibility, 1 s waits).
    let report = Replay::builder(QueueTarget::new(source.clone()))
        .visibility_timeout(Duration::from_millis(1))
        .wait_time(Duration::from_secs(1))
        .build()
        .run(&dlq)
        .await
        .unwrap();
    assert_eq!(report.replayed.len(), 10);
    assert_eq!(report.skipped.len(), 5);
    let skipped: BTreeSet<_> = report.skipped_ids().into_iter().collect();
    assert_eq!(skipped.len(), 5, "a skipped message was counted twice");
    assert_eq!(source.depth().total(), 10, "nothing sent twice");
    assert_eq!(dlq.depth().total(), 5);
}

/// Hands out `t1`, `t2`, … : the next one after each invalidation. Counts calls.
#[derive(Debug, Default)]
struct RotatingTokens {
    generation: std::sync::atomic::AtomicUsize,
    calls: std::sync::atomic::AtomicUsize,
    invalidated: std::sync::Mutex<Vec<String>>,
    /// Fail this many calls first (transiently).
    fail_first: std::sync::atomic::AtomicUsize,
    permanent: bool,
}

#[async_trait]
impl sqs_dlq::dead_letter::BearerSource for RotatingTokens {
    async fn bearer(&self) -> Result<secrecy::SecretString, sqs_dlq::dead_letter::BearerError> {
        use std::sync::atomic::Ordering::SeqCst;
        self.calls.fetch_add(1, SeqCst);
        if self.permanent {
            return Err(sqs_dlq::dead_letter::BearerError::permanent(
                "bad client credentials",
            ));
        }
        if self
            .fail_first
            .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(sqs_dlq::dead_letter::BearerError::transient(
                "token service unavailable",
            ));
        }
        let n = self.generation.load(SeqCst) + 1;
        Ok(secrecy::SecretString::from(format!("t{n}")))
    }

    fn invalidate(&self, token: &secrecy::SecretString) {
        use secrecy::ExposeSecret;
        self.invalidated
            .lock()
            .unwrap()
            .push(token.expose_secret().to_owned());
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

fn sourced_target(server: &MockServer, tokens: Arc<RotatingTokens>) -> HttpTarget {
    HttpTarget::builder(format!("{}/events", server.uri()))
        .retry_policy(fast_policy())
        .timeout(Duration::from_secs(2))
        .bearer_source(tokens)
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_the_letter_delivered() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer t1"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer t2"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let tokens = Arc::new(RotatingTokens::default());
    let dlq = MemoryQueue::new("dlq");
    let id = dlq
        .send(letter_message(&conversation(1), "TIMEOUT", 1))
        .await
        .unwrap();
    let report = drain_once(sourced_target(&server, tokens.clone()), &dlq).await;
    assert_eq!(report.replayed_ids(), [id.as_str()]);
    assert_eq!(*tokens.invalidated.lock().unwrap(), ["t1"]);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    assert_eq!(dlq.depth().total(), 0);
}

#[tokio::test]
async fn a_token_refused_twice_fails_the_letter_without_more_tries() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let tokens = Arc::new(RotatingTokens::default());
    let dlq = MemoryQueue::new("dlq");
    let id = dlq
        .send(letter_message(&conversation(2), "TIMEOUT", 1))
        .await
        .unwrap();
    let report = drain_once(sourced_target(&server, tokens.clone()), &dlq).await;
    assert_eq!(report.failed_ids(), [id.as_str()]);
    let rejected = &report.failed[0].rejected;
    assert_eq!((rejected.status, rejected.tries), (Some(401), 2));
    assert!(!rejected.retryable);
    assert_eq!(*tokens.invalidated.lock().unwrap(), ["t1", "t2"]);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    assert_eq!(dlq.depth().visible, 1, "the letter stays on the DLQ");
}

#[tokio::test]
async fn a_fixed_token_refused_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let dlq = MemoryQueue::new("dlq");
    dlq.send(letter_message(&conversation(3), "TIMEOUT", 1))
        .await
        .unwrap();
    let target = HttpTarget::builder(format!("{}/events", server.uri()))
        .retry_policy(fast_policy())
        .bearer_token(secrecy::SecretString::from("fixed"))
        .build()
        .unwrap();
    let report = drain_once(target, &dlq).await;
    assert_eq!(report.failed[0].rejected.tries, 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn token_source_failures_keep_the_letter_and_transient_ones_are_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer t1"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    // Transient: the first call fails, the retry gets a token and delivers.
    let tokens = Arc::new(RotatingTokens::default());
    tokens
        .fail_first
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let dlq = MemoryQueue::new("dlq");
    dlq.send(letter_message(&conversation(4), "TIMEOUT", 1))
        .await
        .unwrap();
    let report = drain_once(sourced_target(&server, tokens.clone()), &dlq).await;
    assert_eq!(report.replayed.len(), 1);
    assert_eq!(tokens.calls.load(std::sync::atomic::Ordering::SeqCst), 2);

    // Permanent: nothing is posted, the letter stays, the reason says why.
    let broken = Arc::new(RotatingTokens {
        permanent: true,
        ..RotatingTokens::default()
    });
    let before = server.received_requests().await.unwrap().len();
    let dlq = MemoryQueue::new("dlq2");
    dlq.send(letter_message(&conversation(5), "TIMEOUT", 1))
        .await
        .unwrap();
    let report = drain_once(sourced_target(&server, broken.clone()), &dlq).await;
    let rejected = &report.failed[0].rejected;
    assert!(!rejected.retryable && rejected.tries == 1, "{rejected:?}");
    assert!(
        rejected.reason.contains("bad client credentials"),
        "{}",
        rejected.reason
    );
    assert_eq!(server.received_requests().await.unwrap().len(), before);
    assert_eq!(dlq.depth().visible, 1);
}

#[tokio::test]
async fn a_refreshed_token_is_one_of_the_policys_attempts_not_an_extra_one() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer t1"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let tokens = Arc::new(RotatingTokens::default());
    let dlq = MemoryQueue::new("dlq");
    dlq.send(letter_message(&conversation(6), "TIMEOUT", 4))
        .await
        .unwrap();
    let report = drain_once(sourced_target(&server, tokens.clone()), &dlq).await;
    let rejected = &report.failed[0].rejected;
    assert_eq!((rejected.status, rejected.tries), (Some(503), 3));
    assert!(rejected.retryable);
    assert_eq!(*tokens.invalidated.lock().unwrap(), ["t1"]);
    let requests = server.received_requests().await.unwrap();
    let sent: Vec<_> = requests
        .iter()
        .map(|r| {
            let get = |name: &str| r.headers.get(name).unwrap().to_str().unwrap().to_owned();
            (get("x-attempt-count"), get("authorization"))
        })
        .collect();
    assert_eq!(
        sent,
        [
            ("5".to_owned(), "Bearer t1".to_owned()),
            ("6".to_owned(), "Bearer t2".to_owned()),
            ("7".to_owned(), "Bearer t2".to_owned()),
        ],
        "three sends for a three-attempt policy, counted on from RETRY_ATTEMPTS"
    );
    assert_eq!(dlq.depth().visible, 1);
}
