//! [`Replay`]: deliver dead letters again, to an HTTP endpoint ([`HttpTarget`]) or back to a
//! source queue ([`QueueTarget`]), and remove from the DLQ only what the target accepted.
//!
//! - **A message leaves the DLQ only after the target accepted it**: a 2xx from the HTTP
//!   target, or a per-entry success of `SendMessageBatch` on the source queue. Everything else
//!   (skipped, rejected, not delivered) is released back to the DLQ at the end of the run.
//! - **Unsafe categories are skipped unless forced** ([`Category::replay_safe`]), and so are
//!   bodies that are not EventBridge events. [`ReplayBuilder::only`] narrows the run to some
//!   categories.
//! - **Dry run** receives and decides, sends nothing, deletes nothing, releases everything.
//! - HTTP: the original body, unchanged, `Content-Type: application/json`,
//!   `X-Attempt-Count: RETRY_ATTEMPTS + n` (n = 1 on the first POST of this replay, +1 on each
//!   retry), `X-Replay-Source: sqs-dlq`, and `X-Event-Id` (the event id, for deduplication).
//!   429, 408, 5xx and connection errors back off through [`RetryPolicy`] (Retry-After is
//!   honoured); other 4xx and 3xx are final. One `reqwest::Client` serves every request.
//! - Queue: `SendMessageBatch` in chunks of ten, one [`Pacer`] slot per call, then
//!   `DeleteMessageBatch` of exactly the entries that were sent.
//!
//! Delivery is at-least-once: a target that timed out may have processed the event; targets
//! should deduplicate on the event id.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use retry_policy::{Pacer, RetryClass, RetryPolicy, RetryableError};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::category::Category;
use crate::dead_letter::DeadLetter;
use crate::diagnosis::{QueueCall, release};
use crate::queue::{
    AttributeValue, MAX_MESSAGE_ATTRIBUTES, MAX_RECEIVE_BATCH, MAX_VISIBILITY_TIMEOUT,
    MAX_WAIT_TIME, OutgoingMessage, Queue, QueueError, ReceiveOptions,
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
    #[error("the HTTP client could not be built: {0}")]
    Client(#[source] reqwest::Error),
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
// HTTP target

/// Where an [`HttpTarget`] gets the bearer token of each POST, for targets whose tokens expire
/// (OAuth client credentials and the like): a replay of many letters can outlive one token.
///
/// Implement it over your token cache (for Genesys Cloud tokens, over
/// `genesys_auth::TokenProvider`). `bearer` is called once per POST, so it should answer from
/// a cache; when the target answers 401, [`invalidate`](Self::invalidate) is called with the
/// refused token and the letter is tried once more with a fresh one.
///
/// ```
/// use async_trait::async_trait;
/// use secrecy::SecretString;
/// use sqs_dlq::replay::{BearerError, BearerSource};
///
/// #[derive(Debug)]
/// struct FromEnv;
///
/// #[async_trait]
/// impl BearerSource for FromEnv {
///     async fn bearer(&self) -> Result<SecretString, BearerError> {
///         std::env::var("TARGET_TOKEN")
///             .map(SecretString::from)
///             .map_err(|_| BearerError::permanent("TARGET_TOKEN is not set"))
///     }
/// }
/// ```
#[async_trait]
pub trait BearerSource: Send + Sync + std::fmt::Debug {
    /// The token for the next POST.
    async fn bearer(&self) -> Result<SecretString, BearerError>;

    /// The target refused `token` (401): forget it, so the next [`bearer`](Self::bearer)
    /// fetches a new one. Default: nothing.
    fn invalidate(&self, token: &SecretString) {
        let _ = token;
    }
}

/// A [`BearerSource`] could not give a token. The letter is not posted; it stays on the DLQ
/// (a transient error is retried under the target's retry policy first).
#[derive(Debug, Clone, thiserror::Error)]
#[error("no bearer token for the target: {message}")]
pub struct BearerError {
    message: String,
    retryable: bool,
}

impl BearerError {
    /// A failure that may pass (the token service is down or slow): retried.
    pub fn transient(message: impl std::fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            retryable: true,
        }
    }

    /// A failure that retrying cannot fix (bad credentials, missing configuration).
    pub fn permanent(message: impl std::fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            retryable: false,
        }
    }

    /// Whether retrying may help.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
}

/// How an [`HttpTarget`] authenticates.
#[derive(Debug, Clone)]
enum Bearer {
    Fixed(SecretString),
    Source(Arc<dyn BearerSource>),
}

/// Replays to an HTTP endpoint. Built with [`HttpTarget::builder`]. User info in the URL
/// (`http://user:password@host/…`) is sent as HTTP Basic authentication and never shown:
/// `Debug`, [`ReplayTarget::describe`] and errors print the URL through [`crate::redact::url`].
#[derive(Clone)]
pub struct HttpTarget {
    client: reqwest::Client,
    url: reqwest::Url,
    policy: RetryPolicy,
    concurrency: usize,
    bearer: Option<Bearer>,
}

impl std::fmt::Debug for HttpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTarget")
            .field("url", &crate::redact::url(self.url.as_str()))
            .field("policy", &self.policy)
            .field("concurrency", &self.concurrency)
            .field("bearer", &self.bearer.is_some())
            .finish_non_exhaustive()
    }
}

/// Settings of an [`HttpTarget`].
pub struct HttpTargetBuilder {
    url: String,
    client: Option<reqwest::Client>,
    policy: RetryPolicy,
    concurrency: usize,
    timeout: Duration,
    connect_timeout: Duration,
    bearer: Option<Bearer>,
    roots: Vec<reqwest::Certificate>,
}

impl std::fmt::Debug for HttpTargetBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTargetBuilder")
            .field("url", &crate::redact::url(&self.url))
            .field("policy", &self.policy)
            .field("concurrency", &self.concurrency)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("bearer", &self.bearer.is_some())
            .field("roots", &self.roots.len())
            .finish_non_exhaustive()
    }
}

impl HttpTarget {
    /// A target posting to `url`.
    pub fn builder(url: impl Into<String>) -> HttpTargetBuilder {
        HttpTargetBuilder {
            url: url.into(),
            client: None,
            policy: RetryPolicy::default(),
            concurrency: 4,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            bearer: None,
            roots: Vec::new(),
        }
    }

    /// The URL posted to.
    pub fn url(&self) -> &reqwest::Url {
        &self.url
    }
}

impl HttpTargetBuilder {
    /// Uses this client (shared with the rest of the program). Default: a client of this
    /// target with the timeouts below and no redirects (a POST is not re-sent elsewhere).
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }
    /// Retries of 429/5xx/connection errors (default [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }
    /// Letters posted at once (default 4).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }
    /// Whole-request timeout of the default client (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    /// Connect timeout of the default client (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }
    /// Sends `Authorization: Bearer <token>` with every POST (a token that does not expire;
    /// see [`bearer_source`](Self::bearer_source) for one that does).
    pub fn bearer_token(mut self, token: SecretString) -> Self {
        self.bearer = Some(Bearer::Fixed(token));
        self
    }
    /// Asks `source` for the bearer token of each POST; on a 401 the token is invalidated and
    /// the letter tried once more with a fresh one. Replaces [`bearer_token`](Self::bearer_token).
    pub fn bearer_source(mut self, source: Arc<dyn BearerSource>) -> Self {
        self.bearer = Some(Bearer::Source(source));
        self
    }
    /// Trusts one more root certificate in the default client (a corporate TLS-inspecting
    /// proxy, a private CA), in addition to the platform's roots. Ignored when
    /// [`client`](Self::client) is given. Certificate verification cannot be turned off.
    pub fn add_root_certificate(mut self, certificate: reqwest::Certificate) -> Self {
        self.roots.push(certificate);
        self
    }
    /// The target.
    pub fn build(self) -> Result<HttpTarget, ReplayError> {
        let url = reqwest::Url::parse(&self.url).map_err(|e| ReplayError::InvalidTarget {
            url: crate::redact::url(&self.url),
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(ReplayError::InvalidTarget {
                url: crate::redact::url(&self.url),
                reason: "only absolute http and https URLs are accepted".to_owned(),
            });
        }
        let client = match self.client {
            Some(c) => c,
            None => {
                let mut builder = reqwest::Client::builder();
                if !self.roots.is_empty() {
                    builder = builder.tls_certs_merge(self.roots);
                }
                builder
                    .timeout(self.timeout)
                    .connect_timeout(self.connect_timeout)
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(ReplayError::Client)?
            }
        };
        Ok(HttpTarget {
            client,
            url,
            policy: self.policy,
            concurrency: self.concurrency,
            bearer: self.bearer,
        })
    }
}

/// One failed POST.
#[derive(Debug)]
enum PostError {
    Status {
        status: u16,
        retry_after: Option<Duration>,
        snippet: String,
    },
    Timeout(String),
    Transport(String),
    Request(String),
    /// No token from the bearer source.
    Token(BearerError),
    /// 401 with a token from a bearer source, which was invalidated: worth one more try.
    StaleToken,
}

impl PostError {
    fn status(&self) -> Option<u16> {
        match self {
            PostError::Status { status, .. } => Some(*status),
            PostError::StaleToken => Some(401),
            _ => None,
        }
    }
}

impl std::fmt::Display for PostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PostError::Status {
                status, snippet, ..
            } if snippet.is_empty() => {
                write!(f, "target answered {status}")
            }
            PostError::Status {
                status, snippet, ..
            } => {
                write!(f, "target answered {status}: {snippet}")
            }
            PostError::Timeout(e) => write!(f, "timed out: {e}"),
            PostError::Transport(e) => write!(f, "could not reach the target: {e}"),
            PostError::Request(e) => write!(f, "request could not be sent: {e}"),
            PostError::Token(e) => write!(f, "{e}"),
            PostError::StaleToken => write!(f, "target answered 401 (the token was refreshed)"),
        }
    }
}

impl RetryableError for PostError {
    fn retry_class(&self) -> RetryClass {
        match self {
            PostError::Status {
                status,
                retry_after,
                ..
            } if *status == 429 || *status == 408 || *status >= 500 => {
                RetryClass::retry_after(*retry_after)
            }
            PostError::Status { .. } | PostError::Request(_) => RetryClass::Fail,
            PostError::Token(e) if e.is_retryable() => RetryClass::retry(),
            PostError::Token(_) => RetryClass::Fail,
            PostError::StaleToken => RetryClass::retry(),
            PostError::Timeout(_) => RetryClass::timeout(),
            PostError::Transport(_) => RetryClass::retry(),
        }
    }
}

const SNIPPET_BYTES: usize = 512;

async fn snippet(mut response: reqwest::Response) -> String {
    let mut buf = Vec::new();
    while buf.len() < SNIPPET_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => buf.extend_from_slice(&chunk),
            _ => break,
        }
    }
    buf.truncate(SNIPPET_BYTES);
    String::from_utf8_lossy(&buf).trim().to_owned()
}

impl HttpTarget {
    /// One POST. `may_refresh`: set until a 401 with a token from a bearer source has been
    /// retried with a fresh token, which happens once per letter (the first such 401 clears it).
    async fn post_once(
        &self,
        letter: &DeadLetter,
        attempt: u32,
        may_refresh: &AtomicBool,
    ) -> Result<u16, PostError> {
        let mut request = self
            .client
            .post(self.url.clone())
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(ATTEMPT_COUNT_HEADER, attempt.to_string())
            .header(REPLAY_SOURCE_HEADER, REPLAY_SOURCE)
            .body(letter.raw_body().to_owned());
        if let Some(id) = letter
            .event()
            .map(|e| e.id.as_str())
            .filter(|id| http::HeaderValue::from_str(id).is_ok())
        {
            request = request.header(EVENT_ID_HEADER, id);
        }
        // The trace the dead letter belongs to goes on to the target.
        if let Some(traceparent) = crate::trace_context::traceparent_of(letter.attributes()) {
            request = request.header(crate::trace_context::TRACEPARENT, traceparent);
        }
        let token = match &self.bearer {
            None => None,
            Some(Bearer::Fixed(token)) => Some(token.clone()),
            Some(Bearer::Source(source)) => Some(source.bearer().await.map_err(PostError::Token)?),
        };
        if let Some(token) = &token {
            request = request.bearer_auth(token.expose_secret());
        }
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                PostError::Timeout(e.to_string())
            } else if e.is_builder() {
                PostError::Request(e.to_string())
            } else {
                PostError::Transport(e.to_string())
            }
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(status.as_u16());
        }
        if status == http::StatusCode::UNAUTHORIZED
            && let (Some(Bearer::Source(source)), Some(token)) = (&self.bearer, &token)
        {
            source.invalidate(token);
            if may_refresh.swap(false, Ordering::Relaxed) {
                tracing::info!(
                    message_id = letter.message_id(),
                    "target answered 401; token invalidated, trying once more"
                );
                return Err(PostError::StaleToken);
            }
        }
        let retry_after = retry_policy::retry_after(response.headers());
        Err(PostError::Status {
            status: status.as_u16(),
            retry_after,
            snippet: snippet(response).await,
        })
    }

    async fn post(&self, letter: &DeadLetter) -> Result<Accepted, Rejected> {
        let base = letter.retry_attempts();
        let may_refresh = AtomicBool::new(true);
        let may_refresh = &may_refresh;
        let result = retry_policy::retry(&self.policy, |try_number| async move {
            let attempt = base.saturating_add(try_number);
            self.post_once(letter, attempt, may_refresh)
                .await
                .map(|status| (status, attempt, try_number))
        })
        .await;
        match result {
            Ok((status, attempt, tries)) => {
                tracing::info!(
                    message_id = letter.message_id(),
                    status,
                    attempt,
                    "dead letter replayed"
                );
                Ok(Accepted {
                    attempt,
                    tries,
                    status: Some(status),
                    new_message_id: None,
                })
            }
            Err(e) => {
                let retryable = e.last.retry_class().is_retry();
                tracing::warn!(message_id = letter.message_id(), attempts = e.attempts, error = %e.last, "replay failed");
                Err(Rejected {
                    reason: format!(
                        "{} (after {} attempt(s): {:?})",
                        e.last, e.attempts, e.reason
                    ),
                    status: e.last.status(),
                    tries: e.attempts,
                    retryable,
                })
            }
        }
    }
}

#[async_trait]
impl ReplayTarget for HttpTarget {
    fn describe(&self) -> String {
        crate::redact::url(self.url.as_str())
    }

    async fn deliver(&self, letters: &[DeadLetter]) -> Vec<Result<Accepted, Rejected>> {
        // Futures built up front (they are lazy): a closure inside the stream trips the
        // higher-ranked lifetime check of a Send future.
        let posts: Vec<_> = letters.iter().map(|letter| self.post(letter)).collect();
        futures::stream::iter(posts)
            .buffered(self.concurrency)
            .collect()
            .await
    }
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
/// # async fn run(dlq: sqs_dlq::MemoryQueue) -> Result<(), Box<dyn std::error::Error>> {
/// use sqs_dlq::{Category, HttpTarget, Replay};
///
/// let target = HttpTarget::builder("https://events.example.com/genesys").build()?;
/// let report = Replay::builder(target).only(Category::RateLimited).build().run(&dlq).await?;
/// println!("replayed {:?}, failed {:?}", report.replayed_ids(), report.failed_ids());
/// # Ok(()) }
/// ```
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
        let limit = self.max_messages.unwrap_or(usize::MAX);
        let mut seen: HashMap<String, Option<usize>> = HashMap::new();
        let mut held: Vec<DeadLetter> = Vec::new();
        let mut processed = 0usize;
        while processed < limit {
            let opts = ReceiveOptions::default()
                .max_messages((limit - processed).min(MAX_RECEIVE_BATCH))
                .wait_time(self.wait_time)
                .visibility_timeout(self.visibility_timeout);
            let opts = &opts;
            let batch = match retry_policy::retry(&self.queue_policy, move |_| async move {
                dlq.receive(opts).await.map_err(QueueCall)
            })
            .await
            {
                Ok(batch) => batch,
                Err(e) => {
                    let (released, _) = release(dlq, &held).await;
                    return Err(ReplayError::Receive {
                        source: e.last.0,
                        released,
                        partial: Box::new(report),
                    });
                }
            };
            if batch.is_empty() {
                break;
            }
            let mut new = 0;
            let mut to_send = Vec::new();
            for message in batch {
                if let Some(slot) = seen.get(&message.message_id) {
                    // Back again within this run: refresh the handle of a held one, never
                    // process it twice.
                    if let Some(letter) = slot.and_then(|i| held.get_mut(i)) {
                        letter.set_receipt_handle(message.receipt_handle);
                    }
                    continue;
                }
                let letter = DeadLetter::from_received(message);
                if processed >= limit {
                    // Over the limit (a backend returned more than asked): release it unseen.
                    release(dlq, std::slice::from_ref(&letter)).await;
                    continue;
                }
                processed += 1;
                new += 1;
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
                        seen.insert(letter.message_id().to_owned(), Some(held.len()));
                        held.push(letter);
                    }
                }
            }
            if !to_send.is_empty() {
                self.deliver_and_delete(dlq, to_send, &mut report, &mut held, &mut seen)
                    .await;
            }
            if new == 0 {
                break;
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
        seen: &mut HashMap<String, Option<usize>>,
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
                Ok(a) => {
                    seen.insert(letter.message_id().to_owned(), None);
                    accepted.push((letter, a));
                }
                Err(rejected) => {
                    report.failed.push(FailedReplay {
                        message_id: letter.message_id().to_owned(),
                        category: letter.category(),
                        rejected,
                    });
                    seen.insert(letter.message_id().to_owned(), Some(held.len()));
                    held.push(letter);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_urls_are_checked() {
        assert!(HttpTarget::builder("ftp://x/y").build().is_err());
        assert!(HttpTarget::builder("/relative/path").build().is_err());
        assert!(HttpTarget::builder("not a url").build().is_err());
        assert!(HttpTarget::builder("http://").build().is_err());
        assert!(
            HttpTarget::builder("https://events.example.com/in")
                .build()
                .is_ok()
        );
    }

    #[test]
    fn statuses_are_classified() {
        let status = |s| PostError::Status {
            status: s,
            retry_after: None,
            snippet: String::new(),
        };
        for s in [429, 408, 500, 501, 502, 503, 504] {
            assert!(status(s).retry_class().is_retry(), "{s}");
        }
        for s in [400, 401, 403, 404, 413, 301] {
            assert!(!status(s).retry_class().is_retry(), "{s}");
        }
        assert!(
            PostError::Transport("refused".into())
                .retry_class()
                .is_retry()
        );
        assert_eq!(
            PostError::Timeout("t".into()).retry_class(),
            RetryClass::timeout()
        );
    }
}
