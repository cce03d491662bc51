//! [`HttpTarget`] and what it needs (its documentation is on the type).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};
use retry_policy::RetryPolicy;
use secrecy::{ExposeSecret, SecretString};
use signed_webhook::{Attempt, AttemptHook, HookError, HttpSettings, WebhookClient};

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
/// refused token and the letter is tried once more with a fresh one (as one of the retry
/// policy's attempts, after its backoff).
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
///
/// Every POST goes through `signed-webhook`'s [`WebhookClient`]: one retry loop
/// (retry-policy's driver) per letter, so a letter is sent at most the policy's
/// `max_attempts` times, a 401 refreshed through a [`BearerSource`] included; each attempt is
/// signed afresh and carries `X-Attempt-Count` = the letter's `RETRY_ATTEMPTS` + the attempt's
/// number (from 1).
#[derive(Clone)]
pub struct HttpTarget {
    client: WebhookClient,
    url: reqwest::Url,
    concurrency: usize,
    bearer: Option<Bearer>,
}

impl std::fmt::Debug for HttpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTarget")
            .field("url", &crate::redact::url(self.url.as_str()))
            .field("client", &self.client)
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
    http: HttpSettings,
    bearer: Option<Bearer>,
    signing_secret: Option<SecretString>,
}

impl std::fmt::Debug for HttpTargetBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTargetBuilder")
            .field("url", &crate::redact::url(&self.url))
            .field("own_client", &self.client.is_some())
            .field("policy", &self.policy)
            .field("concurrency", &self.concurrency)
            .field("http", &self.http)
            .field("bearer", &self.bearer.is_some())
            .field("signed", &self.signing_secret.is_some())
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
            http: HttpSettings::new()
                .timeout(Duration::from_secs(30))
                .connect_timeout(Duration::from_secs(5))
                .user_agent(concat!("sqs-dlq/", env!("CARGO_PKG_VERSION"))),
            bearer: None,
            signing_secret: None,
        }
    }

    /// The URL posted to.
    pub fn url(&self) -> &reqwest::Url {
        &self.url
    }
}

impl HttpTargetBuilder {
    /// Uses this client (shared with the rest of the program); the timeouts, root
    /// certificates and user agent below are then ignored. Default: a client of this target
    /// built from them, with no redirects (a POST is not re-sent elsewhere).
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }
    /// Retries of 429/5xx/connection errors (default [`RetryPolicy::default`]); its
    /// `max_attempts` bounds the POSTs of one letter.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }
    /// Letters posted at once (default 4).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    signed_webhook::http_settings_setters!(http, timeout = "30 s", connect_timeout = "5 s");

    /// Sends `Authorization: Bearer <token>` with every POST (a token that does not expire;
    /// see [`bearer_source`](Self::bearer_source) for one that does).
    pub fn bearer_token(mut self, token: SecretString) -> Self {
        self.bearer = Some(Bearer::Fixed(token));
        self
    }
    /// Asks `source` for the bearer token of each POST; on a 401 the token is invalidated and
    /// the letter tried once more with a fresh one, as one of the retry policy's attempts.
    /// Replaces [`bearer_token`](Self::bearer_token).
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
        let mut client = WebhookClient::builder()
            .retry_policy(self.policy)
            .http(self.http);
        if let Some(secret) = self.signing_secret {
            let signer = signed_webhook::Signer::new(secret).map_err(ReplayError::WeakSecret)?;
            client = client.signer(signer);
        }
        if let Some(shared) = self.client {
            client = client.client(shared);
        }
        let client = client.build().map_err(|e| ReplayError::Client(e.0))?;
        Ok(HttpTarget {
            client,
            url,
            concurrency: self.concurrency,
            bearer: self.bearer,
        })
    }
}

/// The headers of each attempt at one letter, and its one token refresh after a 401.
struct LetterHook<'a> {
    letter: &'a DeadLetter,
    bearer: Option<&'a Bearer>,
    /// Set once a 401 has been answered with a refreshed token (once per letter).
    refreshed: AtomicBool,
}

impl AttemptHook for LetterHook<'_> {
    async fn headers(&self, attempt: Attempt) -> Result<HeaderMap, HookError> {
        let letter = self.letter;
        let mut headers = HeaderMap::new();
        let count = letter.retry_attempts().saturating_add(attempt.number);
        headers.insert(ATTEMPT_COUNT_HEADER, HeaderValue::from(count));
        headers.insert(
            REPLAY_SOURCE_HEADER,
            HeaderValue::from_static(REPLAY_SOURCE),
        );
        if let Some(id) = letter
            .event()
            .and_then(|e| HeaderValue::from_str(&e.id).ok())
        {
            headers.insert(EVENT_ID_HEADER, id);
        }
        // The trace the dead letter belongs to goes on to the target.
        if let Some(traceparent) = crate::trace_context::traceparent_of(letter.attributes())
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            headers.insert(crate::trace_context::TRACEPARENT, traceparent);
        }
        let token = match self.bearer {
            None => return Ok(headers),
            Some(Bearer::Fixed(token)) => token.clone(),
            Some(Bearer::Source(source)) => source.bearer().await.map_err(|e| {
                if e.is_retryable() {
                    HookError::transient(e)
                } else {
                    HookError::permanent(e)
                }
            })?,
        };
        let mut bearer = HeaderValue::try_from(format!("Bearer {}", token.expose_secret()))
            .map_err(|_| {
                HookError::permanent(BearerError::permanent(
                    "the token is not a valid header value",
                ))
            })?;
        bearer.set_sensitive(true);
        headers.insert(AUTHORIZATION, bearer);
        Ok(headers)
    }

    fn unauthorized(&self, _attempt: Attempt, sent: &HeaderMap) -> bool {
        let Some(Bearer::Source(source)) = self.bearer else {
            return false;
        };
        let refused = sent
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if let Some(token) = refused {
            source.invalidate(&SecretString::from(token.to_owned()));
        }
        let first = !self.refreshed.swap(true, Ordering::Relaxed);
        if first {
            tracing::info!(
                message_id = self.letter.message_id(),
                "target answered 401; token invalidated, trying once more"
            );
        }
        first
    }
}

impl HttpTarget {
    async fn post(&self, letter: &DeadLetter) -> Result<Accepted, Rejected> {
        let hook = LetterHook {
            letter,
            bearer: self.bearer.as_ref(),
            refreshed: AtomicBool::new(false),
        };
        let body = Bytes::from(letter.raw_body().to_owned());
        let notify = |error: &signed_webhook::AttemptError, attempt: u32, delay: Duration| {
            tracing::debug!(
                message_id = letter.message_id(),
                attempt,
                ?delay,
                %error,
                "replay attempt failed; retrying"
            );
        };
        match self.client.post_with(&self.url, body, &hook, notify).await {
            Ok(delivered) => {
                let attempt = letter.retry_attempts().saturating_add(delivered.attempts);
                tracing::info!(
                    message_id = letter.message_id(),
                    status = delivered.status,
                    attempt,
                    "dead letter replayed"
                );
                Ok(Accepted {
                    attempt,
                    tries: delivered.attempts,
                    status: Some(delivered.status),
                    new_message_id: None,
                })
            }
            Err(e) => {
                tracing::warn!(message_id = letter.message_id(), attempts = e.attempts, error = %e.last, "replay failed");
                Err(Rejected {
                    reason: format!(
                        "{} (after {} attempt(s): {:?})",
                        e.last, e.attempts, e.reason
                    ),
                    status: e.status(),
                    tries: e.attempts,
                    retryable: e.is_retryable(),
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
}
