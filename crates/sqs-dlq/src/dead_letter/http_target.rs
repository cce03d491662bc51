//! [`HttpTarget`] and what it needs (its documentation is on the type).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use retry_policy::{RetryClass, RetryPolicy, RetryableError};
use secrecy::{ExposeSecret, SecretString};

use super::event::DeadLetter;
use super::replay::{
    ATTEMPT_COUNT_HEADER, Accepted, EVENT_ID_HEADER, REPLAY_SOURCE, REPLAY_SOURCE_HEADER, Rejected,
    ReplayError, ReplayTarget,
};

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
/// use sqs_dlq::dead_letter::{BearerError, BearerSource};
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
///
/// [`HttpTarget`] (feature `replay-http`): replays dead letters as POSTs of their original
/// body, with `X-Attempt-Count`, `X-Replay-Source` and `X-Event-Id`, backing off on 429/5xx
/// through the retry driver, and signing each POST when given a signing secret.
#[derive(Clone)]
pub struct HttpTarget {
    client: reqwest::Client,
    url: reqwest::Url,
    policy: RetryPolicy,
    concurrency: usize,
    bearer: Option<Bearer>,
    signer: Option<signed_webhook::Signer>,
}

impl std::fmt::Debug for HttpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTarget")
            .field("url", &crate::redact::url(self.url.as_str()))
            .field("policy", &self.policy)
            .field("concurrency", &self.concurrency)
            .field("bearer", &self.bearer.is_some())
            .field("signed", &self.signer.is_some())
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
    signing_secret: Option<SecretString>,
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
            .field("signed", &self.signing_secret.is_some())
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
            signing_secret: None,
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
    /// Signs every POST with the workspace's webhook signature (HMAC-SHA256 over
    /// `"{timestamp}.{body}"` in `X-Signature-256`, the time in `X-Signature-Timestamp`), signed
    /// afresh for each try so a retry is never stale: the toolkit's own ingest and dead-letter
    /// receiver accept what this target sends. An empty or blank secret fails
    /// [`build`](Self::build).
    pub fn signing_secret(mut self, secret: SecretString) -> Self {
        self.signing_secret = Some(secret);
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
        let signer = self
            .signing_secret
            .map(signed_webhook::Signer::new)
            .transpose()
            .map_err(ReplayError::WeakSecret)?;
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
            signer,
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
        if let Some(signer) = &self.signer {
            for (name, value) in signer.sign_now(letter.raw_body().as_bytes()).headers() {
                request = request.header(name, value);
            }
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
