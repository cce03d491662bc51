//! Diagnosis of a dead-letter queue on `MemoryQueue`: non-destructive by default, every
//! message counted once, acknowledge deletes only after the report is written, correlation
//! batched.
#![allow(clippy::unwrap_used)]

mod dlq_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use dlq_support::{conversation, fixtures, letter_message, seed};
use sqs_dlq::dead_letter::{
    CorrelateError, Correlation, Correlator, Diagnosis, DiagnosisError, FileReportWriter,
    MemoryReportWriter, ReportWriter, RootCauseReport,
};
use sqs_dlq::queue::{MemoryQueue, Queue};

struct FailingWriter;

#[async_trait]
impl ReportWriter for FailingWriter {
    async fn write_report(&mut self, _report: &RootCauseReport) -> std::io::Result<()> {
        Err(std::io::Error::other("disk full"))
    }
}

/// Records the queue depth at the moment the report is written.
struct DepthAtWrite {
    queue: MemoryQueue,
    depth_total: Option<u64>,
}

#[async_trait]
impl ReportWriter for DepthAtWrite {
    async fn write_report(&mut self, _report: &RootCauseReport) -> std::io::Result<()> {
        self.depth_total = Some(self.queue.depth().total());
        Ok(())
    }
}

fn bodies(queue: &MemoryQueue) -> BTreeSet<String> {
    queue.bodies().into_iter().collect()
}

#[tokio::test(start_paused = true)]
async fn diagnosis_is_non_destructive_and_counts_each_message_once() {
    let queue = MemoryQueue::new("genesys-dlq");
    let all = fixtures();
    seed(&queue, &all).await;
    let before = bodies(&queue);

    let mut writer = MemoryReportWriter::default();
    let outcome = Diagnosis::builder(queue.clone())
        .wait_time(Duration::ZERO)
        .build()
        .run(&mut writer)
        .await
        .unwrap();

    let report = writer.report.unwrap();
    assert_eq!(report.total, all.len());
    assert_eq!(outcome.released, all.len());
    assert_eq!(outcome.deleted, 0);
    let ids: BTreeSet<_> = report
        .records
        .iter()
        .map(|r| r.message_id.clone())
        .collect();
    assert_eq!(ids.len(), all.len(), "a message counted twice");
    // All back on the queue and visible at once.
    assert_eq!(bodies(&queue), before);
    assert_eq!(queue.depth().visible, all.len() as u64);

    // Expected categories, and every original body byte for byte.
    let expected: BTreeMap<_, _> = all
        .iter()
        .map(|f| (f.body.clone(), f.expected.category.clone()))
        .collect();
    for r in &report.records {
        assert_eq!(expected[&r.original_body], r.category.as_str());
    }
    let total: usize = report.by_category.values().sum();
    assert_eq!(total, all.len());
    assert!(report.by_error_code.contains_key("THROTTLING"));
    assert!(report.groups.iter().map(|g| g.count).sum::<usize>() == all.len());
}

#[tokio::test(start_paused = true)]
async fn a_message_seen_again_in_one_run_is_not_counted_twice() {
    let queue = MemoryQueue::new("dlq");
    for n in 0..25 {
        queue
            .send(letter_message(&conversation(n), "THROTTLING", 3))
            .await
            .unwrap();
    }
    // A visibility timeout shorter than the time between receives: messages come back during
    // the run. Each receive waits 1 s of paused time before the queue is found empty.
    let mut writer = MemoryReportWriter::default();
    let outcome = Diagnosis::builder(queue.clone())
        .visibility_timeout(Duration::from_millis(1))
        .wait_time(Duration::from_secs(1))
        .build()
        .run(&mut writer)
        .await
        .unwrap();
    let report = writer.report.unwrap();
    let ids: BTreeSet<_> = report
        .records
        .iter()
        .map(|r| r.message_id.clone())
        .collect();
    assert_eq!(report.total, 25);
    assert_eq!(ids.len(), 25);
    assert!(
        outcome.seen_again > 0,
        "the test did not make messages reappear"
    );
    assert_eq!(queue.depth().total(), 25);
}

#[tokio::test(start_paused = true)]
async fn max_messages_limits_the_drain() {
    let queue = MemoryQueue::new("dlq");
    for n in 0..30 {
        queue
            .send(letter_message(&conversation(n), "TIMEOUT", 1))
            .await
            .unwrap();
    }
    let mut writer = MemoryReportWriter::default();
    Diagnosis::builder(queue.clone())
        .max_messages(13)
        .wait_time(Duration::ZERO)
        .build()
        .run(&mut writer)
        .await
        .unwrap();
    assert_eq!(writer.report.unwrap().total, 13);
    assert_eq!(queue.depth().visible, 30);
}

#[tokio::test(start_paused = true)]
async fn acknowledge_deletes_only_after_the_report_is_written() {
    let queue = MemoryQueue::new("dlq");
    let all = fixtures();
    seed(&queue, &all).await;
    let mut writer = DepthAtWrite {
        queue: queue.clone(),
        depth_total: None,
    };
    let outcome = Diagnosis::builder(queue.clone())
        .acknowledge(true)
        .wait_time(Duration::ZERO)
        .build()
        .run(&mut writer)
        .await
        .unwrap();
    // While the report was written every message was still on the queue.
    assert_eq!(writer.depth_total, Some(all.len() as u64));
    assert_eq!(outcome.deleted, all.len());
    assert!(outcome.report.acknowledged);
    assert_eq!(queue.depth().total(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_failing_writer_deletes_nothing() {
    let queue = MemoryQueue::new("dlq");
    let all = fixtures();
    seed(&queue, &all).await;
    let before = bodies(&queue);
    let err = Diagnosis::builder(queue.clone())
        .acknowledge(true)
        .wait_time(Duration::ZERO)
        .build()
        .run(&mut FailingWriter)
        .await
        .unwrap_err();
    match err {
        DiagnosisError::WriteReport { released, .. } => assert_eq!(released, all.len()),
        other => panic!("unexpected {other}"),
    }
    assert_eq!(bodies(&queue), before);
    assert_eq!(
        queue.depth().visible,
        all.len() as u64,
        "all released at once"
    );
}

#[tokio::test]
async fn acknowledged_report_goes_to_files_first() {
    let queue = MemoryQueue::new("dlq");
    let all = fixtures();
    seed(&queue, &all).await;
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let md = dir.path().join("report.md");
    Diagnosis::builder(queue.clone())
        .acknowledge(true)
        .wait_time(Duration::ZERO)
        .build()
        .run(&mut FileReportWriter::new(&json).with_markdown(&md))
        .await
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["version"], 1);
    assert_eq!(report["total"], all.len());
    let bodies: BTreeSet<_> = report["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["original_body"].as_str().unwrap().to_owned())
        .collect();
    let expected: BTreeSet<_> = all.iter().map(|f| f.body.clone()).collect();
    assert_eq!(bodies, expected, "original payloads exactly as received");
    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(markdown.contains("| Category | Messages | Replay as-is |"));
    assert_eq!(queue.depth().total(), 0);

    // A report path that cannot be written: nothing deleted.
    seed(&queue, &all).await;
    let bad = dir.path().join("no/such/dir/report.json");
    let result = Diagnosis::builder(queue.clone())
        .acknowledge(true)
        .wait_time(Duration::ZERO)
        .build()
        .run(&mut FileReportWriter::new(bad))
        .await;
    assert!(matches!(result, Err(DiagnosisError::WriteReport { .. })));
    assert_eq!(queue.depth().total(), all.len() as u64);
}

/// Counts calls and ids; knows conversations with an even number.
#[derive(Default)]
struct CountingCorrelator {
    calls: AtomicUsize,
    largest: AtomicUsize,
}

#[async_trait]
impl Correlator for CountingCorrelator {
    async fn correlate(&self, ids: &[String]) -> Result<Correlation, CorrelateError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.largest.fetch_max(ids.len(), Ordering::SeqCst);
        let mut c = Correlation::new();
        for id in ids {
            let n: u64 = id.rsplit('-').next().unwrap().parse().unwrap();
            c = if n.is_multiple_of(2) {
                c.with_found(
                    id.clone(),
                    serde_json::json!({"conversationId": id, "mediaType": "message"}),
                )
            } else {
                c.with_not_found(id.clone())
            };
        }
        Ok(c)
    }
}

#[tokio::test(start_paused = true)]
async fn correlation_is_batched() {
    let queue = MemoryQueue::new("dlq");
    for n in 0..250 {
        queue
            .send(letter_message(&conversation(n), "THROTTLING", 2))
            .await
            .unwrap();
    }
    // A second letter for one conversation: looked up once.
    queue
        .send(letter_message(&conversation(0), "TIMEOUT", 2))
        .await
        .unwrap();
    let correlator = Arc::new(CountingCorrelator::default());
    let batch = 40;
    let mut writer = MemoryReportWriter::default();
    Diagnosis::builder(queue.clone())
        .correlator(correlator.clone())
        .correlation_batch(batch)
        .wait_time(Duration::ZERO)
        .build()
        .run(&mut writer)
        .await
        .unwrap();
    assert_eq!(
        correlator.calls.load(Ordering::SeqCst),
        250usize.div_ceil(batch)
    );
    assert_eq!(correlator.largest.load(Ordering::SeqCst), batch);
    let report = writer.report.unwrap();
    assert_eq!(report.total, 251);
    assert_eq!(report.correlation.requested, 250);
    assert_eq!(report.correlation.found, 126);
    assert_eq!(report.correlation.not_found, 125);
    let found = report
        .records
        .iter()
        .find(|r| r.conversation_id.as_deref() == Some(conversation(2).as_str()))
        .unwrap();
    assert_eq!(found.correlated.as_ref().unwrap()["mediaType"], "message");
}

#[tokio::test(start_paused = true)]
async fn a_failing_correlator_does_not_stop_the_report() {
    struct Down;
    #[async_trait]
    impl Correlator for Down {
        async fn correlate(&self, _ids: &[String]) -> Result<Correlation, CorrelateError> {
            Err(CorrelateError::Unavailable {
                message: "analytics 503".into(),
                source: None,
            })
        }
    }
    let queue = MemoryQueue::new("dlq");
    for n in 0..5 {
        queue
            .send(letter_message(&conversation(n), "THROTTLING", 2))
            .await
            .unwrap();
    }
    let mut writer = MemoryReportWriter::default();
    Diagnosis::builder(queue.clone())
        .correlator(Arc::new(Down))
        .wait_time(Duration::ZERO)
        .build()
        .run(&mut writer)
        .await
        .unwrap();
    let report = writer.report.unwrap();
    assert_eq!(report.correlation.failed, 5);
    assert!(
        report.records[0]
            .correlation_error
            .as_deref()
            .unwrap()
            .contains("analytics 503")
    );
}

#[tokio::test(start_paused = true)]
async fn a_receive_failure_releases_what_was_held() {
    let queue = MemoryQueue::new("dlq");
    for n in 0..15 {
        queue
            .send(letter_message(&conversation(n), "THROTTLING", 2))
            .await
            .unwrap();
    }
    // The first receive works, then the queue throttles longer than the retry policy waits.
    struct FailAfterFirst {
        inner: MemoryQueue,
        calls: AtomicUsize,
    }
    #[async_trait]
    impl Queue for FailAfterFirst {
        fn name(&self) -> &str {
            self.inner.name()
        }
        async fn receive(
            &self,
            o: &sqs_dlq::queue::ReceiveOptions,
        ) -> Result<Vec<sqs_dlq::queue::ReceivedMessage>, sqs_dlq::queue::QueueError> {
            if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
                self.inner.receive(o).await
            } else {
                Err(sqs_dlq::queue::QueueError::InvalidRequest(
                    "AccessDenied".into(),
                ))
            }
        }
        async fn send(
            &self,
            m: sqs_dlq::queue::OutgoingMessage,
        ) -> Result<String, sqs_dlq::queue::QueueError> {
            self.inner.send(m).await
        }
        async fn send_batch(
            &self,
            m: Vec<sqs_dlq::queue::OutgoingMessage>,
        ) -> Result<sqs_dlq::queue::BatchOutcome<String>, sqs_dlq::queue::QueueError> {
            self.inner.send_batch(m).await
        }
        async fn delete_batch(
            &self,
            h: Vec<String>,
        ) -> Result<sqs_dlq::queue::BatchOutcome<()>, sqs_dlq::queue::QueueError> {
            self.inner.delete_batch(h).await
        }
        async fn change_visibility_batch(
            &self,
            e: Vec<(String, Duration)>,
        ) -> Result<sqs_dlq::queue::BatchOutcome<()>, sqs_dlq::queue::QueueError> {
            self.inner.change_visibility_batch(e).await
        }
        async fn approximate_depth(
            &self,
        ) -> Result<sqs_dlq::queue::QueueDepth, sqs_dlq::queue::QueueError> {
            self.inner.approximate_depth().await
        }
    }
    let wrapped = FailAfterFirst {
        inner: queue.clone(),
        calls: AtomicUsize::new(0),
    };
    let err = Diagnosis::builder(wrapped)
        .acknowledge(true)
        .wait_time(Duration::ZERO)
        .build()
        .run(&mut MemoryReportWriter::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, DiagnosisError::Receive { released: 10, .. }),
        "{err:?}"
    );
    assert_eq!(queue.depth().visible, 15);
}

#[tokio::test(start_paused = true)]
async fn transient_receive_errors_are_retried() {
    let queue = MemoryQueue::new("dlq");
    for n in 0..3 {
        queue
            .send(letter_message(&conversation(n), "THROTTLING", 2))
            .await
            .unwrap();
    }
    queue.fail_next(
        sqs_dlq::queue::Operation::Receive,
        2,
        sqs_dlq::queue::InjectedFailure::Throttled,
    );
    let mut writer = MemoryReportWriter::default();
    Diagnosis::builder(queue.clone())
        .wait_time(Duration::ZERO)
        .build()
        .run(&mut writer)
        .await
        .unwrap();
    assert_eq!(writer.report.unwrap().total, 3);
}
