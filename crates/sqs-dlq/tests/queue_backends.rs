//! One behavioural suite for both [`Queue`] backends.
//!
//! The checks live in `sqs_dlq::queue::contract` (feature `test-util`), so a backend outside this
//! crate can run them too; each is a generic async body over a `Pair` (a fresh queue and its
//! dead-letter queue, redriving at `max_receive_count`). `contract_tests!` runs every check twice:
//! - `memory::*` on [`MemoryQueue`] under paused tokio time (timeouts of 30 s pass instantly);
//! - `moto::*` on [`SqsQueue`] against moto's SQS server with real time and 1 s settings.
//!   Without `AWS_ENDPOINT_URL` they are skipped with a notice, unless `SQS_DLQ_MOTO=1`
//!   (set by `scripts/moto start`, which `scripts/test` uses): then a missing server fails.
//!
//! Checks that only the in-memory queue can make (exact redrive timing, stale receipt handles,
//! injected failures, request counts) live in `memory_only`; error mapping of the SQS backend
//! against a scripted HTTP server and a closed port lives in `sqs_errors`.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use std::time::Duration;

#[cfg(feature = "sqs")]
use bytes::Bytes;
#[cfg(feature = "sqs")]
use sqs_dlq::queue::contract::receive_n;
use sqs_dlq::queue::contract::{Pair, Timing, contract_tests, short};
#[cfg(feature = "sqs")]
use sqs_dlq::queue::{AttributeValue, QueueSettings, SqsQueue};
use sqs_dlq::queue::{MemoryQueue, OutgoingMessage, Queue, QueueDepth, ReceiveOptions};
use tokio::time::{Instant, sleep};

const MAX_RECEIVES: u32 = 2;

async fn memory_pair() -> Option<Pair<MemoryQueue>> {
    let (queue, dlq) = MemoryQueue::with_dlq("suite", MAX_RECEIVES);
    let q = queue.clone();
    Some(Pair::new(queue, dlq, MAX_RECEIVES, Timing::paused()).with_stats(move || q.stats()))
}

/// A fresh SQS queue pair on the endpoint of `AWS_ENDPOINT_URL` (moto), or `None` (skip).
#[cfg(feature = "sqs")]
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
    Some(Pair::new(queue, dlq, MAX_RECEIVES, Timing::real()).with_stats(move || q.stats()))
}

/// Deletes the pair's queues from moto after a check.
#[cfg(feature = "sqs")]
async fn delete_queues(pair: Pair<SqsQueue>) {
    let _ = pair.queue.delete_queue().await;
    let _ = pair.dlq.delete_queue().await;
}

// The backend contract (`sqs_dlq::queue::contract`), once per backend.
contract_tests!(memory, #[tokio::test(start_paused = true)], super::memory_pair());
#[cfg(feature = "sqs")]
contract_tests!(
    moto,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)],
    super::sqs_pair(),
    cleanup = super::delete_queues
);

// ---------------------------------------------------------------------------------------------
// MemoryQueue only: what moto cannot show (it accepts stale receipt handles) or needs exact
// counts and injected failures.
// ---------------------------------------------------------------------------------------------
mod memory_only {
    use std::collections::HashSet;
    use std::sync::Arc;

    use super::*;
    use sqs_dlq::queue::{InjectedFailure, Operation, QueueError};

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
#[cfg(feature = "sqs")]
mod sqs_errors {
    use super::*;
    use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region, retry::RetryConfig};
    use sqs_dlq::queue::QueueError;
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
#[cfg(feature = "sqs")]
mod moto_only {
    use super::*;
    use sqs_dlq::queue::QueueError;

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
        super::delete_queues(p).await;
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
        super::delete_queues(p).await;
    }
}
