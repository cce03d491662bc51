//! [`Diagnosis`] and what it needs (its documentation is on the type).

use std::sync::Arc;
use std::time::Duration;

use retry_policy::RetryPolicy;

use super::correlate::{Correlator, correlate_all};
use super::drain::{Drain, EntryProblem, delete, release};
use super::event::DeadLetter;
use super::report::{ReportRecord, ReportWriter, RootCauseReport};
use crate::queue::{MAX_VISIBILITY_TIMEOUT, MAX_WAIT_TIME, Queue, QueueError};

/// Why a diagnosis failed. In every case no message was deleted, and every message received
/// was released (or will reappear when its visibility timeout ends).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiagnosisError {
    /// Receiving from the queue failed (after retries for transient errors).
    #[error(
        "receiving from the dead-letter queue failed; {released} message(s) released: {source}"
    )]
    Receive {
        /// The queue error.
        #[source]
        source: QueueError,
        /// Messages released back to the queue.
        released: usize,
    },
    /// The report could not be written; nothing was deleted.
    #[error(
        "the report could not be written; nothing deleted, {released} message(s) released: {source}"
    )]
    WriteReport {
        /// The writer's error.
        #[source]
        source: std::io::Error,
        /// Messages released back to the queue.
        released: usize,
    },
}

/// What a diagnosis run did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DiagnosisOutcome {
    /// The report that was written.
    pub report: RootCauseReport,
    /// Messages made visible again.
    pub released: usize,
    /// Messages deleted (only with `acknowledge`).
    pub deleted: usize,
    /// Receives that returned a message already held by this run.
    pub seen_again: usize,
    /// Deletes that failed (acknowledge mode); those messages were released instead.
    pub delete_failures: Vec<EntryProblem>,
    /// Releases that failed; those messages reappear when their visibility timeout ends.
    pub release_failures: Vec<EntryProblem>,
}

/// Reads a dead-letter queue and writes a root cause report. Built with [`Diagnosis::builder`].
///
/// ```no_run
/// # async fn run(queue: sqs_dlq::queue::MemoryQueue) -> Result<(), Box<dyn std::error::Error>> {
/// use sqs_dlq::dead_letter::{Diagnosis, FileReportWriter};
///
/// let outcome = Diagnosis::builder(queue)
///     .max_messages(1_000)
///     .build()
///     .run(&mut FileReportWriter::new("dlq-report.json").with_markdown("dlq-report.md"))
///     .await?;
/// println!("{}", outcome.report.to_markdown());
/// # Ok(()) }
/// ```
///
/// [`Diagnosis`]: read a dead-letter queue, categorize and correlate every message, write a
/// [`RootCauseReport`], and leave the queue as it was unless told to acknowledge.
///
/// How it avoids the tutorial's defects:
/// - **Non-destructive by default.** Received messages are held invisible while the run lasts
///   (so one run never sees the same message twice through normal receives) and released
///   (visibility 0) once the report is written, or when the run fails.
/// - **Each message counted once.** Messages are tracked by message id: if a message comes back
///   during the run (its visibility timeout ran out), it updates the receipt handle of the
///   record already held instead of adding a second one.
/// - **Acknowledge deletes only after the report is stored.** With
///   [`DiagnosisBuilder::acknowledge`], messages are deleted only after
///   [`ReportWriter::write_report`] returned `Ok`; a failing writer deletes nothing and releases
///   everything.
/// - **One queue client, batched calls, batched correlation.**
///
/// Receiving a message increments its `ApproximateReceiveCount` (an SQS fact): a DLQ normally
/// has no redrive policy of its own, so that changes nothing, but do not diagnose a queue whose
/// redrive policy would move messages on after a few receives.
pub struct Diagnosis<Q> {
    queue: Q,
    max_messages: Option<usize>,
    acknowledge: bool,
    correlator: Option<Arc<dyn Correlator>>,
    correlation_batch: usize,
    visibility_timeout: Duration,
    wait_time: Duration,
    retry_policy: RetryPolicy,
}

impl<Q> std::fmt::Debug for Diagnosis<Q> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Diagnosis")
            .field("max_messages", &self.max_messages)
            .field("acknowledge", &self.acknowledge)
            .field("correlator", &self.correlator.is_some())
            .field("correlation_batch", &self.correlation_batch)
            .field("visibility_timeout", &self.visibility_timeout)
            .field("wait_time", &self.wait_time)
            .finish_non_exhaustive()
    }
}

/// Settings of a [`Diagnosis`].
#[derive(Debug)]
pub struct DiagnosisBuilder<Q> {
    inner: Diagnosis<Q>,
}

/// Default hold on received messages during a run.
pub const DEFAULT_DIAGNOSIS_VISIBILITY: Duration = Duration::from_secs(15 * 60);
/// Default long-poll wait of each receive (a short poll may miss messages on real SQS).
pub const DEFAULT_DIAGNOSIS_WAIT: Duration = Duration::from_secs(2);
/// Default number of conversation ids per correlation call.
pub const DEFAULT_CORRELATION_BATCH: usize = 100;

impl<Q: Queue> Diagnosis<Q> {
    /// A diagnosis of `queue`: drain to empty, no correlation, non-destructive.
    pub fn builder(queue: Q) -> DiagnosisBuilder<Q> {
        DiagnosisBuilder {
            inner: Diagnosis {
                queue,
                max_messages: None,
                acknowledge: false,
                correlator: None,
                correlation_batch: DEFAULT_CORRELATION_BATCH,
                visibility_timeout: DEFAULT_DIAGNOSIS_VISIBILITY,
                wait_time: DEFAULT_DIAGNOSIS_WAIT,
                retry_policy: RetryPolicy::default(),
            },
        }
    }
}

impl<Q: Queue> DiagnosisBuilder<Q> {
    /// Stops after this many distinct messages (default: until the queue is empty).
    pub fn max_messages(mut self, n: usize) -> Self {
        self.inner.max_messages = Some(n);
        self
    }

    /// Deletes the messages once the report is written (default: release them).
    pub fn acknowledge(mut self, acknowledge: bool) -> Self {
        self.inner.acknowledge = acknowledge;
        self
    }

    /// Looks up the conversations through this correlator.
    pub fn correlator(mut self, correlator: Arc<dyn Correlator>) -> Self {
        self.inner.correlator = Some(correlator);
        self
    }

    /// Conversation ids per correlation call (default 100; also capped by the correlator).
    pub fn correlation_batch(mut self, n: usize) -> Self {
        self.inner.correlation_batch = n.max(1);
        self
    }

    /// How long received messages stay hidden while the run lasts (default 15 min, at most
    /// 12 h). Make it longer than the run, or messages reappear (they are still counted once).
    pub fn visibility_timeout(mut self, timeout: Duration) -> Self {
        self.inner.visibility_timeout = timeout.min(MAX_VISIBILITY_TIMEOUT);
        self
    }

    /// Long-poll wait of each receive (default 2 s, at most 20 s); the drain ends at the first
    /// empty receive.
    pub fn wait_time(mut self, wait: Duration) -> Self {
        self.inner.wait_time = wait.min(MAX_WAIT_TIME);
        self
    }

    /// Retries of transient queue errors (default [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.inner.retry_policy = policy;
        self
    }

    /// The diagnosis.
    pub fn build(self) -> Diagnosis<Q> {
        self.inner
    }
}

impl<Q: Queue> Diagnosis<Q> {
    /// Drains, categorizes, correlates, writes the report through `writer`, then releases (or,
    /// with `acknowledge`, deletes) the messages.
    pub async fn run(
        &self,
        writer: &mut dyn ReportWriter,
    ) -> Result<DiagnosisOutcome, DiagnosisError> {
        let (letters, seen_again) = match self.drain().await {
            Ok(drained) => drained,
            Err((source, held)) => {
                let (released, _) = release(&self.queue, &held).await;
                return Err(DiagnosisError::Receive { source, released });
            }
        };

        let outcomes = match &self.correlator {
            Some(correlator) => {
                let ids = letters.iter().filter_map(DeadLetter::conversation_id);
                Some(correlate_all(correlator.as_ref(), ids, self.correlation_batch).await)
            }
            None => None,
        };
        let requested = outcomes.as_ref().map_or(0, |o| o.len());
        let records = letters
            .iter()
            .map(|letter| {
                let outcome = outcomes
                    .as_ref()
                    .zip(letter.conversation_id())
                    .and_then(|(o, id)| o.get(&id));
                ReportRecord::new(letter, outcome)
            })
            .collect();
        let report =
            RootCauseReport::from_records(self.queue.name(), self.acknowledge, requested, records);

        if let Err(source) = writer.write_report(&report).await {
            tracing::error!(queue = self.queue.name(), error = %source, "report not written; releasing every message");
            let (released, _) = release(&self.queue, &letters).await;
            return Err(DiagnosisError::WriteReport { source, released });
        }

        let mut outcome = DiagnosisOutcome {
            report,
            released: 0,
            deleted: 0,
            seen_again,
            delete_failures: Vec::new(),
            release_failures: Vec::new(),
        };
        let to_release: Vec<DeadLetter> = if self.acknowledge {
            let (deleted, failed) = delete(&self.queue, &letters).await;
            outcome.deleted = deleted;
            let failed_ids: std::collections::HashSet<&str> =
                failed.iter().map(|p| p.message_id.as_str()).collect();
            let back = letters
                .iter()
                .filter(|l| failed_ids.contains(l.message_id()))
                .cloned()
                .collect();
            outcome.delete_failures = failed;
            back
        } else {
            letters
        };
        let (released, release_failures) = release(&self.queue, &to_release).await;
        outcome.released = released;
        outcome.release_failures = release_failures;
        tracing::info!(
            queue = self.queue.name(),
            total = outcome.report.total,
            deleted = outcome.deleted,
            released = outcome.released,
            "dead-letter diagnosis done"
        );
        Ok(outcome)
    }

    /// Receives until empty or the limit; returns letters in receive order and how many
    /// receives returned an already-held message. On error returns what is held.
    async fn drain(&self) -> Result<(Vec<DeadLetter>, usize), (QueueError, Vec<DeadLetter>)> {
        let mut drain = Drain::new(
            self.max_messages,
            self.wait_time,
            self.visibility_timeout,
            self.retry_policy.clone(),
        );
        let mut letters: Vec<DeadLetter> = Vec::new();
        loop {
            match drain.next(&self.queue, &mut letters).await {
                Ok(fresh) if fresh.is_empty() => break,
                Ok(fresh) => {
                    for letter in fresh {
                        drain.hold(letter, &mut letters);
                    }
                }
                Err(source) => return Err((source, letters)),
            }
        }
        Ok((letters, drain.seen_again()))
    }
}
