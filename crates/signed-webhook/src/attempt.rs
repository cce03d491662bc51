//! What a sender can do per attempt of a POST: [`AttemptHook`] (headers that change per
//! attempt, a bearer refreshed once after a 401), and the per-attempt failure [`AttemptError`].

use std::future::Future;
use std::time::Duration;

use http::HeaderMap;
use retry_policy::{RetryClass, RetryableError};

/// An error from the code of an [`AttemptHook`].
type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// One attempt of a [`WebhookClient::post_with`](crate::WebhookClient::post_with), as its
/// [`AttemptHook`] sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attempt {
    /// The attempt's number within this POST, from 1, as counted by retry-policy's driver:
    /// it never exceeds the policy's `max_attempts`.
    pub number: u32,
    /// The previous attempt was answered 401 and [`AttemptHook::unauthorized`] said a fresh
    /// credential is available: this attempt is the one retry that a 401 gets.
    pub after_unauthorized: bool,
}

/// What a sender adds to each attempt of [`WebhookClient::post_with`](crate::WebhookClient::post_with):
/// headers that change per attempt (an attempt counter, a bearer token fetched from a cache),
/// and what to do when the receiver answers 401.
///
/// The client calls [`headers`](Self::headers) before every attempt, sends, and on a 401 calls
/// [`unauthorized`](Self::unauthorized). When that returns `true` (the hook forgot the refused
/// token and the next `headers` will fetch a fresh one), the 401 is retried **once** per POST,
/// as one more attempt of the same retry loop: the policy's `max_attempts` still bounds the
/// number of requests. Every other 401 is final.
///
/// See [`WebhookClient::post_with`](crate::WebhookClient::post_with) for a complete example.
pub trait AttemptHook: Sync {
    /// The headers of this attempt. They are added after `Content-Type` (which they may
    /// replace) and before the signature headers (which they cannot). An error stops this
    /// attempt before anything is sent: retried per the policy when
    /// [`HookError::transient`], final when [`HookError::permanent`].
    fn headers(
        &self,
        attempt: Attempt,
    ) -> impl Future<Output = Result<HeaderMap, HookError>> + Send;

    /// The receiver answered 401 to `attempt`, which carried `sent` (what
    /// [`headers`](Self::headers) returned for it). Forget the refused credential here, and
    /// return `true` when the next attempt would carry a fresh one. Called on every 401; the
    /// retry it asks for is granted once per POST. The default: `false` (a 401 is final).
    fn unauthorized(&self, attempt: Attempt, sent: &HeaderMap) -> bool {
        let _ = (attempt, sent);
        false
    }
}

/// The same headers on every attempt: what [`WebhookClient::post`](crate::WebhookClient::post)
/// sends.
impl AttemptHook for HeaderMap {
    async fn headers(&self, _attempt: Attempt) -> Result<HeaderMap, HookError> {
        Ok(self.clone())
    }
}

/// An [`AttemptHook`] could not prepare an attempt (no token from the token service, say).
#[derive(Debug, thiserror::Error)]
#[error("the attempt could not be prepared: {source}")]
pub struct HookError {
    retryable: bool,
    #[source]
    source: BoxError,
}

impl HookError {
    /// A failure that may pass (a token service that is down or slow): the attempt counts, and
    /// the policy decides whether another one follows.
    pub fn transient(source: impl Into<BoxError>) -> Self {
        HookError {
            retryable: true,
            source: source.into(),
        }
    }

    /// A failure that will not pass (refused client credentials): the POST stops.
    pub fn permanent(source: impl Into<BoxError>) -> Self {
        HookError {
            retryable: false,
            source: source.into(),
        }
    }

    /// Whether it was [`HookError::transient`].
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
}

/// One attempt of a POST failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AttemptError {
    /// The receiver answered a non-2xx status.
    #[error("the receiver answered HTTP {status}: {body_snippet}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The start of the answer (at most 512 characters).
        body_snippet: String,
        /// The receiver's Retry-After, if any.
        retry_after: Option<Duration>,
    },
    /// No answer (connection refused, reset, TLS, timeout).
    #[error("the webhook request failed (timeout: {timeout}): {source}")]
    Transport {
        /// Whether it timed out.
        timeout: bool,
        /// The underlying error (without the URL, which may carry credentials).
        #[source]
        source: reqwest::Error,
    },
    /// The [`AttemptHook`] could not prepare the attempt; nothing was sent.
    #[error(transparent)]
    Hook(HookError),
}

impl AttemptError {
    /// The receiver's status, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            AttemptError::Rejected { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// 408/429/5xx (honouring Retry-After), transport errors (including a timeout after the body
/// was sent: receivers deduplicate) and transient hook errors are retried; the rest are final.
impl RetryableError for AttemptError {
    fn retry_class(&self) -> RetryClass {
        match self {
            AttemptError::Rejected {
                status,
                retry_after,
                ..
            } => RetryClass::from_status(*status, *retry_after),
            AttemptError::Transport { timeout: true, .. } => RetryClass::timeout(),
            AttemptError::Transport { .. } => RetryClass::retry(),
            AttemptError::Hook(e) if e.is_retryable() => RetryClass::retry(),
            AttemptError::Hook(_) => RetryClass::Fail,
        }
    }
}
