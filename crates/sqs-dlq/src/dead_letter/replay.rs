//! [`Replay`] and what it needs (its documentation is on the type).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use retry_policy::{Pacer, RetryPolicy};
use serde::{Deserialize, Serialize};

use crate::dead_letter::category::Category;
use crate::dead_letter::drain::{Drain, QueueCall, release};
use crate::dead_letter::event::DeadLetter;
use crate::queue::{
    AttributeValue, MAX_MESSAGE_ATTRIBUTES, MAX_VISIBILITY_TIMEOUT, MAX_WAIT_TIME, OutgoingMessage,
    Queue, QueueError,
};

/// Header carrying the attempt number (`RETRY_ATTEMPTS` + attempt of this replay).
pub const ATTEMPT_COUNT_HEADER: &str = "X-Attempt-Count";
/// Header naming the replayer.
pub const REPLAY_SOURCE_HEADER: &str = "X-Replay-Source";
/// Value of [`REPLAY_SOURCE_HEADER`].
pub const REPLAY_SOURCE: &str = "sqs-dlq";
/// Header carrying the EventBridge event id.
pub const EVENT_ID_HEADER: &str = "X-Event-Id";

/// The target took a dead letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Accepted {
    /// The attempt number sent with the accepted delivery (`X-Attempt-Count`).
    pub attempt: u32,
    /// Deliveries this replay made for the letter (1 without retries).
    pub tries: u32,
    /// The HTTP status, for HTTP targets.
    pub status: Option<u16>,
    /// The new message id, for queue targets.
    pub new_message_id: Option<String>,
}

/// The target did not take a dead letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{reason}")]
#[non_exhaustive]
pub struct Rejected {
    /// What happened.
    pub reason: String,
    /// The last HTTP status, for HTTP targets.
    pub status: Option<u16>,
    /// Deliveries made.
    pub tries: u32,
    /// Whether a later replay may succeed (the last failure was transient).
    pub retryable: bool,
}

/// Where dead letters are replayed to.
#[async_trait]
pub trait ReplayTarget: Send + Sync {
    /// A description for logs and reports (URL or queue name).
    fn describe(&self) -> String;

    /// Delivers these letters; one result per letter, in order.
    async fn deliver(&self, letters: &[DeadLetter]) -> Vec<Result<Accepted, Rejected>>;
}

/// Why a target could not be built or a run could not go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The target URL is not an absolute http(s) URL.
    #[error("invalid replay target URL {url:?}: {reason}")]
    InvalidTarget {
        /// The URL given, user info redacted ([`crate::redact::url`]).
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[cfg(feature = "replay-http")]
    #[error("the HTTP client could not be built: {0}")]
    Client(#[source] reqwest::Error),
    /// The target's signing secret is empty or blank.
    #[cfg(feature = "replay-http")]
    #[error("the replay target's signing secret is refused: {0}")]
    WeakSecret(#[source] signed_webhook::WeakSecret),
    /// Receiving from the DLQ failed; what was received and not delivered was released.
    #[error(
        "receiving from the dead-letter queue failed; {released} message(s) released: {source}"
    )]
    Receive {
        /// The queue error.
        #[source]
        source: QueueError,
        /// Messages released.
        released: usize,
        /// What the run did before the failure.
        partial: Box<ReplayReport>,
    },
}

// ---------------------------------------------------------------------------------------------
// Queue target

/// Replays back to a source queue: `SendMessageBatch`, paced.
#[derive(Clone)]
pub struct QueueTarget {
    queue: Arc<dyn Queue>,
    pacer: Pacer,
    policy: RetryPolicy,
    carry_attributes: bool,
}

impl std::fmt::Debug for QueueTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueTarget")
            .field("queue", &self.queue.name())
            .field("carry_attributes", &self.carry_attributes)
            .finish_non_exhaustive()
    }
}

impl QueueTarget {
    /// Replays to `queue`, unpaced, carrying the original attributes.
    pub fn new(queue: impl Queue) -> Self {
        Self::from_arc(Arc::new(queue))
    }

    /// Replays to a shared queue.
    pub fn from_arc(queue: Arc<dyn Queue>) -> Self {
        Self {
            queue,
            pacer: Pacer::unlimited(),
            policy: RetryPolicy::default(),
            carry_attributes: true,
        }
    }

    /// Takes one slot of this pacer per `SendMessageBatch` call.
    pub fn pacer(mut self, pacer: Pacer) -> Self {
        self.pacer = pacer;
        self
    }

    /// Retries of throttled or unavailable send calls (default [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Whether the DLQ message's attributes go along (default true). `X-Replay-Source` and
    /// `X-Attempt-Count` are added while the ten-attribute limit allows.
    pub fn carry_attributes(mut self, carry: bool) -> Self {
        self.carry_attributes = carry;
        self
    }

    fn outgoing(&self, letter: &DeadLetter) -> OutgoingMessage {
        let mut attributes = if self.carry_attributes {
            letter.attributes().clone()
        } else {
            Default::default()
        };
        for (name, value) in [
            (
                REPLAY_SOURCE_HEADER,
                AttributeValue::String(REPLAY_SOURCE.to_owned()),
            ),
            (
                ATTEMPT_COUNT_HEADER,
                AttributeValue::Number(letter.next_attempt().to_string()),
            ),
        ] {
            if attributes.len() < MAX_MESSAGE_ATTRIBUTES {
                attributes.insert(name.to_owned(), value);
            }
        }
        OutgoingMessage::new(letter.raw_body()).with_attributes(attributes)
    }
}

#[async_trait]
impl ReplayTarget for QueueTarget {
    fn describe(&self) -> String {
        self.queue.name().to_owned()
    }

    async fn deliver(&self, letters: &[DeadLetter]) -> Vec<Result<Accepted, Rejected>> {
        let mut results = Vec::with_capacity(letters.len());
        for chunk in letters.chunks(crate::queue::MAX_BATCH_ENTRIES) {
            let messages: Vec<OutgoingMessage> = chunk.iter().map(|l| self.outgoing(l)).collect();
            let queue = &self.queue;
            let pacer = &self.pacer;
            let outcome = retry_policy::retry(&self.policy, |_| {
                let messages = messages.clone();
                async move {
                    pacer.acquire().await;
                    queue.send_batch(messages).await.map_err(QueueCall)
                }
            })
            .await;
            let mut chunk_results: Vec<Option<Result<Accepted, Rejected>>> =
                vec![None; chunk.len()];
            match outcome {
                Ok(outcome) => {
                    for (index, id) in outcome.ok {
                        if let (Some(slot), Some(letter)) =
                            (chunk_results.get_mut(index), chunk.get(index))
                        {
                            *slot = Some(Ok(Accepted {
                                attempt: letter.next_attempt(),
                                tries: 1,
                                status: None,
                                new_message_id: Some(id),
                            }));
                        }
                    }
                    for f in outcome.failed {
                        if let Some(slot) = chunk_results.get_mut(f.index) {
                            *slot = Some(Err(Rejected {
                                reason: format!("{}: {}", f.code, f.message),
                                status: None,
                                tries: 1,
                                retryable: !f.sender_fault,
                            }));
                        }
                    }
                }
                Err(e) => {
                    let retryable = e.last.0.is_transient();
                    for slot in &mut chunk_results {
                        *slot = Some(Err(Rejected {
                            reason: e.last.0.to_string(),
                            status: None,
                            tries: e.attempts,
                            retryable,
                        }));
                    }
                }
            }
            results.extend(chunk_results.into_iter().map(|r| {
                r.unwrap_or_else(|| {
                    Err(Rejected {
                        reason: "the queue did not report this entry".to_owned(),
                        status: None,
                        tries: 1,
                        retryable: true,
                    })
                })
            }));
        }
        results
    }
}

// ---------------------------------------------------------------------------------------------
// Replay

/// Why a dead letter was not replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SkipReason {
    /// Its category is not safe to replay unchanged and the run is not forced.
    Unsafe {
        /// The category.
        category: Category,
    },
    /// Its category is not among [`ReplayBuilder::only`].
    FilteredOut {
        /// The category.
        category: Category,
    },
    /// The body is not an EventBridge event and the run is not forced.
    NotAnEvent {
        /// The parse error.
        error: String,
    },
    /// Dry run: it would have been replayed.
    DryRun,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::Unsafe { category } => {
                write!(
                    f,
                    "{category} is not safe to replay as-is ({}); use force",
                    category.replay_advice()
                )
            }
            SkipReason::FilteredOut { category } => {
                write!(f, "{category} is not among the selected categories")
            }
            SkipReason::NotAnEvent { error } => {
                write!(f, "not an EventBridge event ({error}); use force")
            }
            SkipReason::DryRun => f.write_str("dry run: would be replayed"),
        }
    }
}

/// A replayed message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReplayedMessage {
    /// DLQ message id.
    pub message_id: String,
    /// Its category.
    pub category: Category,
    /// What the target said.
    pub accepted: Accepted,
    /// Whether it was deleted from the DLQ (false: the delete failed and it will reappear).
    pub removed_from_dlq: bool,
    /// Why the delete failed.
    pub delete_error: Option<String>,
}

/// A message the target did not take; it is back on the DLQ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FailedReplay {
    /// DLQ message id.
    pub message_id: String,
    /// Its category.
    pub category: Category,
    /// What went wrong.
    pub rejected: Rejected,
}

/// A message not sent; it is back on the DLQ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SkippedMessage {
    /// DLQ message id.
    pub message_id: String,
    /// Its category.
    pub category: Category,
    /// Why.
    pub reason: SkipReason,
}

/// What a replay run did, message by message.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReplayReport {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// The target.
    pub target: String,
    /// Accepted by the target.
    pub replayed: Vec<ReplayedMessage>,
    /// Refused by the target or not delivered.
    pub failed: Vec<FailedReplay>,
    /// Not sent.
    pub skipped: Vec<SkippedMessage>,
}

impl ReplayReport {
    /// Ids of the replayed messages.
    pub fn replayed_ids(&self) -> Vec<&str> {
        self.replayed
            .iter()
            .map(|m| m.message_id.as_str())
            .collect()
    }
    /// Ids of the failed messages.
    pub fn failed_ids(&self) -> Vec<&str> {
        self.failed.iter().map(|m| m.message_id.as_str()).collect()
    }
    /// Ids of the skipped messages.
    pub fn skipped_ids(&self) -> Vec<&str> {
        self.skipped.iter().map(|m| m.message_id.as_str()).collect()
    }
}

/// Why one letter handed to [`Replay::replay_letter`] was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayLetterError {
    /// Not sent (policy or dry run).
    #[error("not replayed: {0}")]
    Skipped(SkipReason),
    /// The target refused it or could not be reached.
    #[error("replay failed: {0}")]
    Rejected(Rejected),
}

/// Replays dead letters to a [`ReplayTarget`]. Built with [`Replay::builder`].
///
/// ```no_run
/// # async fn run(dlq: sqs_dlq::queue::MemoryQueue) -> Result<(), Box<dyn std::error::Error>> {
/// use sqs_dlq::dead_letter::{Category, HttpTarget, Replay};
///
/// let target = HttpTarget::builder("https://events.example.com/genesys").build()?;
/// let report = Replay::builder(target).only(Category::RateLimited).build().run(&dlq).await?;
/// println!("replayed {:?}, failed {:?}", report.replayed_ids(), report.failed_ids());
/// # Ok(()) }
/// ```
///
/// [`Replay`]: deliver dead letters again, to an HTTP endpoint (`HttpTarget`, feature `replay-http`) or back to a
/// source queue ([`QueueTarget`]), and remove from the DLQ only what the target accepted.
///
/// - **A message leaves the DLQ only after the target accepted it**: a 2xx from the HTTP
///   target, or a per-entry success of `SendMessageBatch` on the source queue. Everything else
///   (skipped, rejected, not delivered) is released back to the DLQ at the end of the run.
/// - **Unsafe categories are skipped unless forced** ([`Category::replay_safe`]), and so are
///   bodies that are not EventBridge events. [`ReplayBuilder::only`] narrows the run to some
///   categories.
/// - **Dry run** receives and decides, sends nothing, deletes nothing, releases everything.
/// - HTTP: the original body, unchanged, `Content-Type: application/json`,
///   `X-Attempt-Count: RETRY_ATTEMPTS + n` (n = 1 on the first POST of this replay, +1 on each
///   retry), `X-Replay-Source: sqs-dlq`, and `X-Event-Id` (the event id, for deduplication).
///   429, 408, 5xx and connection errors back off through [`RetryPolicy`] (Retry-After is
///   honoured); other 4xx and 3xx are final. One `reqwest::Client` serves every request.
/// - Queue: `SendMessageBatch` in chunks of ten, one [`Pacer`] slot per call, then
///   `DeleteMessageBatch` of exactly the entries that were sent.
///
/// Delivery is at-least-once: a target that timed out may have processed the event; targets
/// should deduplicate on the event id.
#[derive(Clone)]
pub struct Replay {
    target: Arc<dyn ReplayTarget>,
    force: bool,
    only: Option<BTreeSet<Category>>,
    dry_run: bool,
    max_messages: Option<usize>,
    visibility_timeout: Duration,
    wait_time: Duration,
    queue_policy: RetryPolicy,
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replay")
            .field("target", &self.target.describe())
            .field("force", &self.force)
            .field("only", &self.only)
            .field("dry_run", &self.dry_run)
            .field("max_messages", &self.max_messages)
            .finish_non_exhaustive()
    }
}

/// Settings of a [`Replay`].
#[derive(Debug, Clone)]
pub struct ReplayBuilder {
    inner: Replay,
}

impl Replay {
    /// A replay to `target`: safe categories only, every message, not a dry run.
    pub fn builder(target: impl ReplayTarget + 'static) -> ReplayBuilder {
        Self::builder_arc(Arc::new(target))
    }

    /// A replay to a shared target.
    pub fn builder_arc(target: Arc<dyn ReplayTarget>) -> ReplayBuilder {
        ReplayBuilder {
            inner: Replay {
                target,
                force: false,
                only: None,
                dry_run: false,
                max_messages: None,
                visibility_timeout: Duration::from_secs(15 * 60),
                wait_time: Duration::from_secs(2),
                queue_policy: RetryPolicy::default(),
            },
        }
    }
}

impl ReplayBuilder {
    /// Replays unsafe categories and non-event bodies too (after the cause was fixed).
    pub fn force(mut self, force: bool) -> Self {
        self.inner.force = force;
        self
    }
    /// Replays only this category (call again to add more).
    pub fn only(mut self, category: Category) -> Self {
        self.inner
            .only
            .get_or_insert_with(BTreeSet::new)
            .insert(category);
        self
    }
    /// Decides and reports without sending or deleting anything.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.inner.dry_run = dry_run;
        self
    }
    /// Stops after this many distinct messages (default: until the DLQ is empty).
    pub fn max_messages(mut self, n: usize) -> Self {
        self.inner.max_messages = Some(n);
        self
    }
    /// How long received messages stay hidden during the run (default 15 min, at most 12 h).
    pub fn visibility_timeout(mut self, timeout: Duration) -> Self {
        self.inner.visibility_timeout = timeout.min(MAX_VISIBILITY_TIMEOUT);
        self
    }
    /// Long-poll wait of each receive (default 2 s); the run ends at the first empty receive.
    pub fn wait_time(mut self, wait: Duration) -> Self {
        self.inner.wait_time = wait.min(MAX_WAIT_TIME);
        self
    }
    /// Retries of transient DLQ receive and delete errors.
    pub fn queue_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.inner.queue_policy = policy;
        self
    }
    /// The replay.
    pub fn build(self) -> Replay {
        self.inner
    }
}

impl Replay {
    /// The target.
    pub fn target(&self) -> &Arc<dyn ReplayTarget> {
        &self.target
    }

    /// Whether a letter would be sent, by this replay's policy (dry run aside).
    pub fn decide(&self, letter: &DeadLetter) -> Result<(), SkipReason> {
        let category = letter.category();
        if let Some(only) = &self.only
            && !only.contains(&category)
        {
            return Err(SkipReason::FilteredOut { category });
        }
        if !self.force {
            if let Some(error) = letter.parse_error() {
                return Err(SkipReason::NotAnEvent {
                    error: error.to_string(),
                });
            }
            if !category.replay_safe() {
                return Err(SkipReason::Unsafe { category });
            }
        }
        Ok(())
    }

    /// Replays one letter that did not come from a queue (the HTTP receiver): policy, then
    /// the target. Nothing is deleted anywhere.
    pub async fn replay_letter(&self, letter: &DeadLetter) -> Result<Accepted, ReplayLetterError> {
        self.decide(letter).map_err(ReplayLetterError::Skipped)?;
        if self.dry_run {
            return Err(ReplayLetterError::Skipped(SkipReason::DryRun));
        }
        let mut results = self.target.deliver(std::slice::from_ref(letter)).await;
        match results.pop() {
            Some(Ok(accepted)) => Ok(accepted),
            Some(Err(rejected)) => Err(ReplayLetterError::Rejected(rejected)),
            None => Err(ReplayLetterError::Rejected(Rejected {
                reason: "the target returned no result".to_owned(),
                status: None,
                tries: 0,
                retryable: true,
            })),
        }
    }

    /// Drains the DLQ (up to the limit), replays what the policy allows, deletes exactly what
    /// the target accepted, and releases everything else at the end.
    pub async fn run<Q: Queue + ?Sized>(&self, dlq: &Q) -> Result<ReplayReport, ReplayError> {
        let mut report = ReplayReport {
            dry_run: self.dry_run,
            target: self.target.describe(),
            ..ReplayReport::default()
        };
        let mut drain = Drain::new(
            self.max_messages,
            self.wait_time,
            self.visibility_timeout,
            self.queue_policy.clone(),
        );
        let mut held: Vec<DeadLetter> = Vec::new();
        loop {
            let fresh = match drain.next(dlq, &mut held).await {
                Ok(fresh) if fresh.is_empty() => break,
                Ok(fresh) => fresh,
                Err(source) => {
                    let (released, _) = release(dlq, &held).await;
                    return Err(ReplayError::Receive {
                        source,
                        released,
                        partial: Box::new(report),
                    });
                }
            };
            let mut to_send = Vec::new();
            for letter in fresh {
                let decision = match self.decide(&letter) {
                    Ok(()) if self.dry_run => Err(SkipReason::DryRun),
                    other => other,
                };
                match decision {
                    Ok(()) => to_send.push(letter),
                    Err(reason) => {
                        report.skipped.push(SkippedMessage {
                            message_id: letter.message_id().to_owned(),
                            category: letter.category(),
                            reason,
                        });
                        drain.hold(letter, &mut held);
                    }
                }
            }
            if !to_send.is_empty() {
                self.deliver_and_delete(dlq, to_send, &mut report, &mut held, &mut drain)
                    .await;
            }
        }
        let (released, problems) = release(dlq, &held).await;
        for (outcome, n) in [
            ("replayed", report.replayed.len()),
            ("failed", report.failed.len()),
            ("skipped", report.skipped.len()),
        ] {
            metrics::counter!(
                crate::metric_names::REPLAY_OUTCOMES,
                "outcome" => outcome,
                "source" => "run",
            )
            .increment(u64::try_from(n).unwrap_or(u64::MAX));
        }
        tracing::info!(
            target = %report.target,
            replayed = report.replayed.len(),
            failed = report.failed.len(),
            skipped = report.skipped.len(),
            released,
            release_failures = problems.len(),
            dry_run = self.dry_run,
            "replay run done"
        );
        Ok(report)
    }

    async fn deliver_and_delete<Q: Queue + ?Sized>(
        &self,
        dlq: &Q,
        letters: Vec<DeadLetter>,
        report: &mut ReplayReport,
        held: &mut Vec<DeadLetter>,
        drain: &mut Drain,
    ) {
        let results = self.target.deliver(&letters).await;
        let mut accepted = Vec::new();
        for (i, letter) in letters.into_iter().enumerate() {
            let result = results.get(i).cloned().unwrap_or_else(|| {
                Err(Rejected {
                    reason: "the target returned no result".to_owned(),
                    status: None,
                    tries: 0,
                    retryable: true,
                })
            });
            match result {
                Ok(a) => accepted.push((letter, a)),
                Err(rejected) => {
                    report.failed.push(FailedReplay {
                        message_id: letter.message_id().to_owned(),
                        category: letter.category(),
                        rejected,
                    });
                    drain.hold(letter, held);
                }
            }
        }
        if accepted.is_empty() {
            return;
        }
        let handles: Vec<String> = accepted
            .iter()
            .map(|(l, _)| l.receipt_handle().unwrap_or_default().to_owned())
            .collect();
        let outcome = retry_policy::retry(&self.queue_policy, |_| {
            let handles = handles.clone();
            async move { dlq.delete_batch(handles).await.map_err(QueueCall) }
        })
        .await;
        let mut errors: HashMap<usize, String> = HashMap::new();
        match outcome {
            Ok(outcome) => {
                for f in outcome.failed {
                    errors.insert(f.index, format!("{}: {}", f.code, f.message));
                }
            }
            Err(e) => {
                for i in 0..accepted.len() {
                    errors.insert(i, e.last.0.to_string());
                }
            }
        }
        for (i, (letter, a)) in accepted.into_iter().enumerate() {
            let delete_error = errors.remove(&i);
            if let Some(error) = &delete_error {
                tracing::warn!(message_id = letter.message_id(), error = %error, "replayed but not deleted from the DLQ");
            }
            report.replayed.push(ReplayedMessage {
                message_id: letter.message_id().to_owned(),
                category: letter.category(),
                accepted: a,
                removed_from_dlq: delete_error.is_none(),
                delete_error,
            });
        }
    }
}
