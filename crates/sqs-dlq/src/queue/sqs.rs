//! [`SqsQueue`] and what it needs (its documentation is on the type).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{
    BatchResultErrorEntry, ChangeMessageVisibilityBatchRequestEntry,
    DeleteMessageBatchRequestEntry, MessageAttributeValue, MessageSystemAttributeName,
    QueueAttributeName, SendMessageBatchRequestEntry,
};
use bytes::Bytes;

use crate::metric_names as names;
use crate::queue::memory::{validate_outgoing, validate_receive};
use crate::queue::stats::{Op, RequestCounter, RequestStats};
use crate::queue::{
    AttributeValue, Attributes, BatchEntryFailure, BatchOutcome, MAX_BATCH_ENTRIES,
    MAX_VISIBILITY_TIMEOUT, OutgoingMessage, Queue, QueueDepth, QueueError, ReceiveOptions,
    ReceivedMessage,
};

/// An SQS queue. Cheap to clone: clones share the client and the request counters.
///
/// [`SqsQueue`]: the [`Queue`] trait over Amazon SQS through `aws-sdk-sqs`.
///
/// One [`aws_sdk_sqs::Client`] is shared by every queue made from it (clone the queue or build
/// more queues from [`SqsQueue::client`]): no client per call. [`SqsQueue::connect`] builds the
/// client from the standard AWS configuration chain
/// (`aws_config::load_defaults(BehaviorVersion::latest())`), so `AWS_ENDPOINT_URL`,
/// `AWS_REGION`, profiles and credentials work as users expect.
///
/// Calls map onto SQS like this:
/// - `receive` asks for `ApproximateReceiveCount`, `SentTimestamp` and all message attributes.
///   Durations are sent in whole seconds, rounded up (a 1.5 s visibility becomes 2 s, a 300 ms
///   long-poll wait becomes 1 s; zero stays zero).
/// - `send_batch`, `delete_batch` and `change_visibility_batch` split their input into requests
///   of ten entries (entry ids are the input indexes) and map each `Failed` entry back to its
///   index. Entries that break an SQS limit (checked before sending, like the in-memory queue
///   does) fail alone with `InvalidParameterValue`. If a later request of a long batch fails as
///   a whole, the outcome still reports what earlier requests did, and marks that request's and
///   all remaining entries failed with the error's code (`RequestThrottled`,
///   `ServiceUnavailable`, ...) and `sender_fault: false`; only a failure of the first request
///   is returned as an `Err`, since nothing happened then.
/// - Errors: throttling → [`QueueError::Throttled`], a missing queue → [`QueueError::NotFound`],
///   connection failures, timeouts and 5xx → [`QueueError::Unavailable`], anything else →
///   [`QueueError::Backend`] with the SQS error code.
///
/// Every request is counted by operation ([`SqsQueue::stats`]), as for the in-memory queue.
///
/// ```no_run
/// use std::time::Duration;
/// use sqs_dlq::queue::{OutgoingMessage, Queue, ReceiveOptions, SqsQueue};
///
/// # async fn run() -> Result<(), sqs_dlq::queue::QueueError> {
/// // By name (GetQueueUrl) or by URL; the client comes from the AWS config chain.
/// let queue = SqsQueue::connect("orders").await?;
/// queue.send(OutgoingMessage::new(r#"{"id":1}"#)).await?;
/// let opts = ReceiveOptions::default().wait_time(Duration::from_secs(20));
/// for message in queue.receive(&opts).await? {
///     queue.delete(&message.receipt_handle).await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    url: String,
    name: String,
    stats: Arc<RequestCounter>,
}

/// Settings of a queue created with [`SqsQueue::create`]. Unset settings keep SQS defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueSettings {
    /// `VisibilityTimeout` (default 30 s).
    pub visibility_timeout: Option<Duration>,
    /// `DelaySeconds` (default 0).
    pub delay: Option<Duration>,
    /// `MessageRetentionPeriod` (default 4 days).
    pub retention: Option<Duration>,
    /// `ReceiveMessageWaitTimeSeconds`: the default long-poll wait (default 0).
    pub receive_wait_time: Option<Duration>,
    /// Redrive policy: the dead-letter queue's ARN and `maxReceiveCount`.
    pub redrive: Option<(String, u32)>,
}

impl QueueSettings {
    /// SQS defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the default visibility timeout.
    pub fn visibility_timeout(mut self, timeout: Duration) -> Self {
        self.visibility_timeout = Some(timeout);
        self
    }
    /// Sets the default delivery delay.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
    /// Sets how long SQS keeps a message.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = Some(retention);
        self
    }
    /// Sets the default long-poll wait.
    pub fn receive_wait_time(mut self, wait: Duration) -> Self {
        self.receive_wait_time = Some(wait);
        self
    }
    /// Moves a message to the queue with ARN `dlq_arn` when a receive would exceed
    /// `max_receive_count`.
    pub fn redrive(mut self, dlq_arn: impl Into<String>, max_receive_count: u32) -> Self {
        self.redrive = Some((dlq_arn.into(), max_receive_count));
        self
    }
}

/// Whole seconds, rounded up, as SQS wants them.
fn secs(d: Duration) -> i32 {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    i32::try_from(s).unwrap_or(i32::MAX)
}

/// The queue name at the end of a queue URL.
fn name_from_url(url: &str) -> String {
    url.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(url)
        .to_owned()
}

/// Error codes SQS uses for throttling (query and JSON protocols).
fn is_throttling_code(code: &str) -> bool {
    matches!(
        code,
        "RequestThrottled"
            | "ThrottlingException"
            | "Throttling"
            | "ThrottledException"
            | "TooManyRequestsException"
            | "KmsThrottled"
            | "KMS.ThrottlingException"
            | "AWS.SimpleQueueService.RequestThrottled"
    )
}

/// Error codes SQS uses for a queue that does not exist.
fn is_not_found_code(code: &str) -> bool {
    matches!(
        code,
        "QueueDoesNotExist"
            | "AWS.SimpleQueueService.NonExistentQueue"
            | "NonExistentQueue"
            | "QueueDeletedRecently"
            | "AWS.SimpleQueueService.QueueDeletedRecently"
    )
}

/// Error codes for a failure on the service side that retrying later may cure.
fn is_unavailable_code(code: &str) -> bool {
    matches!(
        code,
        "ServiceUnavailable" | "InternalError" | "InternalFailure" | "RequestTimeout"
    )
}

/// Maps an SDK error to a [`QueueError`].
pub(crate) fn map_sdk_error<E>(queue: &str, err: SdkError<E, HttpResponse>) -> QueueError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let queue = queue.to_owned();
    match &err {
        SdkError::ConstructionFailure(_) => {
            return QueueError::InvalidRequest(DisplayErrorContext(&err).to_string());
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            return QueueError::Unavailable {
                queue,
                message: DisplayErrorContext(&err).to_string(),
                source: Some(Box::new(err)),
            };
        }
        _ => {}
    }
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code().unwrap_or_default().to_owned();
    let message = err
        .message()
        .map(str::to_owned)
        .unwrap_or_else(|| DisplayErrorContext(&err).to_string());
    if is_throttling_code(&code) || status == Some(429) {
        QueueError::Throttled { queue }
    } else if is_not_found_code(&code) {
        QueueError::NotFound { queue }
    } else if is_unavailable_code(&code)
        || status.is_some_and(|s| s >= 500)
        || matches!(err, SdkError::ResponseError(_))
        // An answer with no error code that the SDK could not read (a proxy's HTML page, a
        // truncated body): nothing says the request was wrong, so it is worth retrying.
        || (code.is_empty() && status.is_none_or(|s| s < 400))
    {
        QueueError::Unavailable {
            queue,
            message,
            source: Some(Box::new(err)),
        }
    } else {
        let code = if code.is_empty() {
            status.map_or_else(|| "Unknown".to_owned(), |s| format!("HTTP{s}"))
        } else {
            code
        };
        QueueError::Backend {
            queue,
            code,
            message,
        }
    }
}

/// The code put on entries of a request that failed as a whole.
fn whole_request_code(err: &QueueError) -> String {
    match err {
        QueueError::Throttled { .. } => "RequestThrottled".into(),
        QueueError::NotFound { .. } => "QueueDoesNotExist".into(),
        QueueError::InvalidRequest(_) => "InvalidRequest".into(),
        QueueError::Backend { code, .. } => code.clone(),
        _ => "ServiceUnavailable".into(),
    }
}

fn to_sdk_attribute(name: &str, value: &AttributeValue) -> Result<MessageAttributeValue, String> {
    let builder = MessageAttributeValue::builder();
    let builder = match value {
        AttributeValue::String(s) => builder.data_type("String").string_value(s),
        AttributeValue::Number(n) => builder.data_type("Number").string_value(n),
        AttributeValue::Binary(b) => builder
            .data_type("Binary")
            .binary_value(Blob::new(b.to_vec())),
    };
    builder
        .build()
        .map_err(|e| format!("attribute {name:?}: {e}"))
}

fn to_sdk_attributes(
    attributes: &Attributes,
) -> Result<Option<HashMap<String, MessageAttributeValue>>, String> {
    if attributes.is_empty() {
        return Ok(None);
    }
    attributes
        .iter()
        .map(|(k, v)| Ok((k.clone(), to_sdk_attribute(k, v)?)))
        .collect::<Result<HashMap<_, _>, String>>()
        .map(Some)
}

fn from_sdk_attribute(value: &MessageAttributeValue) -> Option<AttributeValue> {
    let data_type = value.data_type();
    // Custom types ("String.uuid", "Number.int", "Binary.gif") keep their base type.
    if data_type.starts_with("Binary") {
        value
            .binary_value()
            .map(|b| AttributeValue::Binary(Bytes::copy_from_slice(b.as_ref())))
    } else if data_type.starts_with("Number") {
        value
            .string_value()
            .map(|s| AttributeValue::Number(s.to_owned()))
    } else {
        value
            .string_value()
            .map(|s| AttributeValue::String(s.to_owned()))
    }
}

fn convert_message(
    queue: &str,
    m: &aws_sdk_sqs::types::Message,
) -> Result<ReceivedMessage, QueueError> {
    let malformed = |what: &str| QueueError::Backend {
        queue: queue.to_owned(),
        code: "MalformedResponse".into(),
        message: format!("ReceiveMessage returned a message without {what}"),
    };
    let message_id = m.message_id().ok_or_else(|| malformed("a MessageId"))?;
    let receipt_handle = m
        .receipt_handle()
        .ok_or_else(|| malformed("a ReceiptHandle"))?;
    let system = m.attributes();
    let system_attr = |name: MessageSystemAttributeName| system.and_then(|a| a.get(&name));
    let receive_count = system_attr(MessageSystemAttributeName::ApproximateReceiveCount)
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or_else(|| {
            tracing::warn!(
                queue,
                message_id,
                "message without a readable ApproximateReceiveCount; assuming 1"
            );
            1
        });
    let sent_at = system_attr(MessageSystemAttributeName::SentTimestamp)
        .and_then(|v| v.parse::<u64>().ok())
        .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms));
    let mut attributes = Attributes::new();
    for (name, value) in m.message_attributes().into_iter().flatten() {
        match from_sdk_attribute(value) {
            Some(v) => {
                attributes.insert(name.clone(), v);
            }
            None => tracing::warn!(
                queue,
                message_id,
                attribute = %name,
                data_type = value.data_type(),
                "message attribute without a value; left out"
            ),
        }
    }
    Ok(ReceivedMessage::new(
        message_id,
        receipt_handle,
        m.body().unwrap_or_default(),
        attributes,
        receive_count,
        sent_at,
    ))
}

fn entry_failure(e: &BatchResultErrorEntry) -> Option<BatchEntryFailure> {
    Some(BatchEntryFailure {
        index: e.id().parse().ok()?,
        code: e.code().to_owned(),
        message: e.message().unwrap_or_default().to_owned(),
        sender_fault: e.sender_fault(),
    })
}

fn invalid_entry(index: usize, message: String) -> BatchEntryFailure {
    BatchEntryFailure {
        index,
        code: "InvalidParameterValue".into(),
        message,
        sender_fault: true,
    }
}

/// Collects one batch request's answer into `outcome`: successes by id, failures by id, and
/// any entry the answer left out as a failure, so each index appears exactly once.
fn merge_chunk<T>(
    outcome: &mut BatchOutcome<T>,
    sent: &[usize],
    ok: impl IntoIterator<Item = (String, T)>,
    failed: &[BatchResultErrorEntry],
) {
    let mut seen = HashSet::with_capacity(sent.len());
    for (id, value) in ok {
        if let Ok(index) = id.parse::<usize>()
            && sent.contains(&index)
            && seen.insert(index)
        {
            outcome.ok.push((index, value));
        }
    }
    for f in failed.iter().filter_map(entry_failure) {
        if sent.contains(&f.index) && seen.insert(f.index) {
            outcome.failed.push(f);
        }
    }
    for &index in sent {
        if !seen.contains(&index) {
            outcome.failed.push(BatchEntryFailure {
                index,
                code: "MissingFromResponse".into(),
                message: "SQS reported neither success nor failure for this entry".into(),
                sender_fault: false,
            });
        }
    }
}

/// Marks `indexes` failed because their request (or an earlier one) failed as a whole.
fn fail_all<T>(
    outcome: &mut BatchOutcome<T>,
    indexes: impl IntoIterator<Item = usize>,
    err: &QueueError,
) {
    let code = whole_request_code(err);
    let message = err.to_string();
    for index in indexes {
        outcome.failed.push(BatchEntryFailure {
            index,
            code: code.clone(),
            message: message.clone(),
            sender_fault: false,
        });
    }
}

impl SqsQueue {
    /// A client from the standard AWS configuration chain
    /// (`aws_config::load_defaults(BehaviorVersion::latest())`): environment
    /// (`AWS_ENDPOINT_URL`, `AWS_REGION`, credentials), profiles, instance roles.
    /// Build it once and share it.
    pub async fn default_client() -> Client {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Client::new(&config)
    }

    /// Connects to a queue given by URL (`https://...`, `http://...`) or by name (resolved with
    /// `GetQueueUrl`), with a client from [`SqsQueue::default_client`].
    pub async fn connect(queue: &str) -> Result<Self, QueueError> {
        let client = Self::default_client().await;
        if queue.starts_with("https://") || queue.starts_with("http://") {
            Ok(Self::from_url(client, queue))
        } else {
            Self::from_name(client, queue).await
        }
    }

    /// A queue by URL on an existing client. Makes no request.
    pub fn from_url(client: Client, url: impl Into<String>) -> Self {
        let url = url.into();
        Self {
            name: name_from_url(&url),
            client,
            url,
            stats: Arc::default(),
        }
    }

    /// A queue by name on an existing client, resolved with `GetQueueUrl`.
    pub async fn from_name(client: Client, name: &str) -> Result<Self, QueueError> {
        let stats = Arc::new(RequestCounter::default());
        stats.add(Op::GetQueueUrl, 1);
        let out = client
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .map_err(|e| map_sdk_error(name, e))?;
        let url = out.queue_url().ok_or_else(|| QueueError::Backend {
            queue: name.to_owned(),
            code: "MalformedResponse".into(),
            message: "GetQueueUrl returned no QueueUrl".into(),
        })?;
        Ok(Self {
            client,
            url: url.to_owned(),
            name: name.to_owned(),
            stats,
        })
    }

    /// Creates a queue (or returns the existing one with the same settings, as `CreateQueue`
    /// does) on `client`. For tests and recipes.
    pub async fn create(
        client: Client,
        name: &str,
        settings: &QueueSettings,
    ) -> Result<Self, QueueError> {
        let mut attributes = HashMap::new();
        if let Some(v) = settings.visibility_timeout {
            attributes.insert(QueueAttributeName::VisibilityTimeout, secs(v).to_string());
        }
        if let Some(d) = settings.delay {
            attributes.insert(QueueAttributeName::DelaySeconds, secs(d).to_string());
        }
        if let Some(r) = settings.retention {
            attributes.insert(
                QueueAttributeName::MessageRetentionPeriod,
                secs(r).to_string(),
            );
        }
        if let Some(w) = settings.receive_wait_time {
            attributes.insert(
                QueueAttributeName::ReceiveMessageWaitTimeSeconds,
                secs(w).to_string(),
            );
        }
        if let Some((arn, max)) = &settings.redrive {
            let policy = serde_json::json!({
                "deadLetterTargetArn": arn,
                "maxReceiveCount": max.to_string(),
            });
            attributes.insert(QueueAttributeName::RedrivePolicy, policy.to_string());
        }
        let req = client
            .create_queue()
            .queue_name(name)
            .set_attributes((!attributes.is_empty()).then_some(attributes));
        let out = req.send().await.map_err(|e| map_sdk_error(name, e))?;
        let url = out.queue_url().ok_or_else(|| QueueError::Backend {
            queue: name.to_owned(),
            code: "MalformedResponse".into(),
            message: "CreateQueue returned no QueueUrl".into(),
        })?;
        Ok(Self::from_url(client, url))
    }

    /// Deletes the queue and everything in it.
    pub async fn delete_queue(&self) -> Result<(), QueueError> {
        self.client
            .delete_queue()
            .queue_url(&self.url)
            .send()
            .await
            .map_err(|e| map_sdk_error(&self.name, e))?;
        Ok(())
    }

    /// Removes every message (`PurgeQueue`; SQS allows one purge a minute).
    pub async fn purge(&self) -> Result<(), QueueError> {
        self.client
            .purge_queue()
            .queue_url(&self.url)
            .send()
            .await
            .map_err(|e| map_sdk_error(&self.name, e))?;
        Ok(())
    }

    /// The queue's ARN (`QueueArn` attribute), e.g. to name it as a dead-letter target.
    pub async fn arn(&self) -> Result<String, QueueError> {
        self.stats.add(Op::GetAttributes, 1);
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| map_sdk_error(&self.name, e))?;
        out.attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .cloned()
            .ok_or_else(|| QueueError::Backend {
                queue: self.name.clone(),
                code: "MalformedResponse".into(),
                message: "GetQueueAttributes returned no QueueArn".into(),
            })
    }

    /// The queue URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The shared client (to open more queues on it).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Requests made so far through this queue (and its clones), by operation.
    pub fn stats(&self) -> RequestStats {
        self.stats.snapshot()
    }

    /// Sets every request counter back to zero.
    pub fn reset_stats(&self) {
        self.stats.reset();
    }

    fn err<E>(&self, e: SdkError<E, HttpResponse>) -> QueueError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let err = map_sdk_error(&self.name, e);
        tracing::debug!(queue = %self.name, error = %err, "SQS request failed");
        err
    }

    /// Sends `items` (input index, item) in requests of ten entries whose ids are the input
    /// indexes, and adds what SQS answered to `outcome`, returned with its failures in index
    /// order (successes stay in the order SQS answered). `entry` builds one request entry
    /// from its id and item, or says why the item breaks an SQS limit (it then fails alone with
    /// `InvalidParameterValue` and is not sent); `request` sends one request and returns the
    /// successful `(id, value)` pairs and the failed entries. A failure of the first request is
    /// the caller's error, since nothing happened then; a later one marks that request's and all
    /// remaining entries failed (see the module docs).
    /// Runs one SQS call and records its `messaging.client.operation.duration`.
    async fn timed<T>(
        &self,
        op: Op,
        call: impl std::future::Future<Output = Result<T, QueueError>>,
    ) -> Result<T, QueueError> {
        let started = std::time::Instant::now();
        let result = call.await;
        let seconds = started.elapsed().as_secs_f64();
        let name = self.name.clone();
        match &result {
            Ok(_) => metrics::histogram!(
                names::MESSAGING_CLIENT_OPERATION_DURATION,
                names::SYSTEM => names::AWS_SQS,
                names::DESTINATION => name,
                names::OPERATION_NAME => op.operation_name(),
            )
            .record(seconds),
            Err(_) => metrics::histogram!(
                names::MESSAGING_CLIENT_OPERATION_DURATION,
                names::SYSTEM => names::AWS_SQS,
                names::DESTINATION => name,
                names::OPERATION_NAME => op.operation_name(),
                "error.type" => "error",
            )
            .record(seconds),
        }
        result
    }

    async fn batched<I, E, T, Fut>(
        &self,
        op: Op,
        items: Vec<(usize, I)>,
        mut outcome: BatchOutcome<T>,
        entry: impl Fn(String, &I) -> Result<E, String>,
        request: impl Fn(Vec<E>) -> Fut,
    ) -> Result<BatchOutcome<T>, QueueError>
    where
        Fut: Future<Output = Result<ChunkAnswer<T>, QueueError>>,
    {
        for (n, chunk) in items.chunks(MAX_BATCH_ENTRIES).enumerate() {
            let mut entries = Vec::with_capacity(chunk.len());
            let mut sent = Vec::with_capacity(chunk.len());
            for (index, item) in chunk {
                match entry(index.to_string(), item) {
                    Ok(e) => {
                        entries.push(e);
                        sent.push(*index);
                    }
                    Err(why) => outcome.failed.push(invalid_entry(*index, why)),
                }
            }
            if entries.is_empty() {
                continue;
            }
            self.stats.add(op, 1);
            match self.timed(op, request(entries)).await {
                Ok((ok, failed)) => merge_chunk(&mut outcome, &sent, ok, &failed),
                Err(err) if n == 0 => return Err(err),
                Err(err) => {
                    let already: HashSet<usize> = outcome
                        .ok
                        .iter()
                        .map(|(i, _)| *i)
                        .chain(outcome.failed.iter().map(|f| f.index))
                        .collect();
                    let rest = items[n * MAX_BATCH_ENTRIES..]
                        .iter()
                        .map(|(i, _)| *i)
                        .filter(|i| !already.contains(i));
                    fail_all(&mut outcome, rest, &err);
                    break;
                }
            }
        }
        outcome.failed.sort_by_key(|f| f.index);
        Ok(outcome)
    }
}

/// What one batch request answered: the successful `(entry id, value)` pairs and the failed
/// entries.
type ChunkAnswer<T> = (Vec<(String, T)>, Vec<BatchResultErrorEntry>);

#[async_trait]
impl Queue for SqsQueue {
    fn name(&self) -> &str {
        &self.name
    }

    async fn receive(&self, opts: &ReceiveOptions) -> Result<Vec<ReceivedMessage>, QueueError> {
        let max = validate_receive(opts)?;
        self.stats.add(Op::Receive, 1);
        let call = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(i32::try_from(max).unwrap_or(10))
            .wait_time_seconds(secs(opts.wait_time))
            .set_visibility_timeout(opts.visibility_timeout.map(secs))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .message_attribute_names("All")
            .send();
        let out = self
            .timed(Op::Receive, async { call.await.map_err(|e| self.err(e)) })
            .await?;
        let messages = out
            .messages()
            .iter()
            .map(|m| convert_message(&self.name, m))
            .collect::<Result<Vec<_>, _>>()?;
        self.stats.received(messages.len());
        Ok(messages)
    }

    async fn send(&self, message: OutgoingMessage) -> Result<String, QueueError> {
        validate_outgoing(&message).map_err(QueueError::InvalidRequest)?;
        let attributes =
            to_sdk_attributes(&message.attributes).map_err(QueueError::InvalidRequest)?;
        self.stats.add(Op::Send, 1);
        let call = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(message.body)
            .set_delay_seconds(message.delay.map(secs))
            .set_message_attributes(attributes)
            .send();
        let out = self
            .timed(Op::Send, async { call.await.map_err(|e| self.err(e)) })
            .await?;
        out.message_id()
            .map(str::to_owned)
            .ok_or_else(|| QueueError::Backend {
                queue: self.name.clone(),
                code: "MalformedResponse".into(),
                message: "SendMessage returned no MessageId".into(),
            })
    }

    async fn send_batch(
        &self,
        messages: Vec<OutgoingMessage>,
    ) -> Result<BatchOutcome<String>, QueueError> {
        let mut outcome = BatchOutcome::empty();
        // Entries that break an SQS limit fail alone, before anything is sent.
        let mut valid = Vec::with_capacity(messages.len());
        for (index, m) in messages.into_iter().enumerate() {
            match validate_outgoing(&m) {
                Ok(()) => valid.push((index, m)),
                Err(why) => outcome.failed.push(invalid_entry(index, why)),
            }
        }
        let mut outcome = self
            .batched(
                Op::SendBatch,
                valid,
                outcome,
                |id, m: &OutgoingMessage| {
                    SendMessageBatchRequestEntry::builder()
                        .id(id)
                        .message_body(&m.body)
                        .set_delay_seconds(m.delay.map(secs))
                        .set_message_attributes(to_sdk_attributes(&m.attributes)?)
                        .build()
                        .map_err(|e| e.to_string())
                },
                |entries| async move {
                    let out = self
                        .client
                        .send_message_batch()
                        .queue_url(&self.url)
                        .set_entries(Some(entries))
                        .send()
                        .await
                        .map_err(|e| self.err(e))?;
                    let ok = out
                        .successful
                        .into_iter()
                        .map(|s| (s.id, s.message_id))
                        .collect();
                    Ok((ok, out.failed))
                },
            )
            .await?;
        outcome.ok.sort_by_key(|(i, _)| *i);
        Ok(outcome)
    }

    async fn delete_batch(
        &self,
        receipt_handles: Vec<String>,
    ) -> Result<BatchOutcome<()>, QueueError> {
        self.batched(
            Op::DeleteBatch,
            receipt_handles.into_iter().enumerate().collect(),
            BatchOutcome::empty(),
            |id, handle: &String| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(id)
                    .receipt_handle(handle)
                    .build()
                    .map_err(|e| e.to_string())
            },
            |entries| async move {
                let out = self
                    .client
                    .delete_message_batch()
                    .queue_url(&self.url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| self.err(e))?;
                let ok = out.successful.into_iter().map(|s| (s.id, ())).collect();
                Ok((ok, out.failed))
            },
        )
        .await
    }

    async fn change_visibility_batch(
        &self,
        entries: Vec<(String, Duration)>,
    ) -> Result<BatchOutcome<()>, QueueError> {
        self.batched(
            Op::ChangeVisibilityBatch,
            entries.into_iter().enumerate().collect(),
            BatchOutcome::empty(),
            |id, (handle, timeout): &(String, Duration)| {
                if *timeout > MAX_VISIBILITY_TIMEOUT {
                    return Err(format!(
                        "visibility timeout of {} s; SQS allows at most {} s",
                        timeout.as_secs(),
                        MAX_VISIBILITY_TIMEOUT.as_secs()
                    ));
                }
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(id)
                    .receipt_handle(handle)
                    .visibility_timeout(secs(*timeout))
                    .build()
                    .map_err(|e| e.to_string())
            },
            |entries| async move {
                let out = self
                    .client
                    .change_message_visibility_batch()
                    .queue_url(&self.url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| self.err(e))?;
                let ok = out.successful.into_iter().map(|s| (s.id, ())).collect();
                Ok((ok, out.failed))
            },
        )
        .await
    }

    async fn approximate_depth(&self) -> Result<QueueDepth, QueueError> {
        self.stats.add(Op::GetAttributes, 1);
        let call = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send();
        let out = self
            .timed(Op::GetAttributes, async {
                call.await.map_err(|e| self.err(e))
            })
            .await?;
        let attrs = out.attributes();
        let count = |name: QueueAttributeName| {
            attrs
                .and_then(|a| a.get(&name))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let depth = QueueDepth::new(
            count(QueueAttributeName::ApproximateNumberOfMessages),
            count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
            count(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
        );
        crate::queue::record_depth(&self.name, &depth);
        Ok(depth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_up_and_zero_stays_zero() {
        assert_eq!(secs(Duration::ZERO), 0);
        assert_eq!(secs(Duration::from_millis(300)), 1);
        assert_eq!(secs(Duration::from_millis(1500)), 2);
        assert_eq!(secs(Duration::from_secs(20)), 20);
    }

    #[test]
    fn queue_name_comes_from_the_url() {
        assert_eq!(
            name_from_url("https://sqs.us-east-1.amazonaws.com/123456789012/orders-dlq"),
            "orders-dlq"
        );
        assert_eq!(name_from_url("http://127.0.0.1:5000/123/q/"), "q");
    }

    #[test]
    fn chunk_answers_map_back_to_input_indexes() {
        let mut outcome = BatchOutcome::<()>::empty();
        let failed = [BatchResultErrorEntry::builder()
            .id("12")
            .code("ReceiptHandleIsInvalid")
            .message("bad")
            .sender_fault(true)
            .build()
            .unwrap()];
        merge_chunk(
            &mut outcome,
            &[11, 12, 13],
            [("11".to_owned(), ()), ("999".to_owned(), ())],
            &failed,
        );
        assert_eq!(outcome.ok, vec![(11, ())]);
        assert_eq!(outcome.failed.len(), 2);
        assert_eq!(outcome.failed[0].index, 12);
        assert_eq!(outcome.failed[0].code, "ReceiptHandleIsInvalid");
        assert!(outcome.failed[0].sender_fault);
        assert_eq!(outcome.failed[1].index, 13);
        assert_eq!(outcome.failed[1].code, "MissingFromResponse");
        assert!(!outcome.failed[1].sender_fault);
    }

    #[test]
    fn attributes_convert_both_ways() {
        let mut attrs = Attributes::new();
        attrs.insert("s".into(), AttributeValue::String("text".into()));
        attrs.insert("n".into(), AttributeValue::Number("-1.5".into()));
        attrs.insert(
            "b".into(),
            AttributeValue::Binary(Bytes::from_static(&[0, 255])),
        );
        let sdk = to_sdk_attributes(&attrs).unwrap().unwrap();
        let back: Attributes = sdk
            .iter()
            .map(|(k, v)| (k.clone(), from_sdk_attribute(v).unwrap()))
            .collect();
        assert_eq!(back, attrs);
        let custom = MessageAttributeValue::builder()
            .data_type("Number.int")
            .string_value("7")
            .build()
            .unwrap();
        assert_eq!(
            from_sdk_attribute(&custom),
            Some(AttributeValue::Number("7".into()))
        );
        assert_eq!(to_sdk_attributes(&Attributes::new()).unwrap(), None);
    }
}
