//! The error types: [`AuthError`] (getting a token) and [`GenesysError`] (an API call).

use std::sync::Arc;
use std::time::Duration;

use crate::api_error::ApiError;

/// Getting a token failed. Never contains the client secret or a token.
///
/// `Clone` (sources are shared) so that every caller waiting on one token request gets the
/// same answer.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The login service refused the client (400/401): fix the client id, secret or grant.
    /// Never retried.
    #[error("the OAuth client was refused (HTTP {status}): {}", describe(.error, .description))]
    InvalidCredentials {
        /// HTTP status of the token endpoint (400 or 401).
        status: u16,
        /// OAuth `error` (`invalid_client`, ...).
        error: Option<String>,
        /// OAuth `description` / `error_description`.
        description: Option<String>,
    },
    /// The token endpoint answered with another non-success status that is not retried
    /// (403, 404, 501, ...): check the login URL and the client's grants.
    #[error("the token endpoint answered HTTP {status}: {}", describe(.error, .description))]
    TokenEndpoint {
        /// HTTP status.
        status: u16,
        /// OAuth `error`, if the body had one.
        error: Option<String>,
        /// OAuth description, if the body had one.
        description: Option<String>,
    },
    /// The token endpoint answered 2xx with something that is not a usable token (not JSON,
    /// truncated, no `access_token`, `expires_in` not positive). Never contains the body.
    #[error("the token endpoint's answer is unusable: {reason}")]
    MalformedTokenResponse {
        /// What is wrong.
        reason: String,
    },
    /// The token endpoint asked to wait longer than the policy's cap.
    #[error("the token endpoint asked to retry after {retry_after:?}, over the cap of {cap:?}")]
    RetryAfterTooLong {
        /// What the server asked for.
        retry_after: Duration,
        /// The policy's cap.
        cap: Duration,
    },
    /// Retries of the token request ran out (attempts, time or the shared retry budget).
    #[error("no token after {attempts} attempts in {elapsed:?}: {last}")]
    RetriesExhausted {
        /// Attempts made.
        attempts: u32,
        /// Time spent.
        elapsed: Duration,
        /// The last failure.
        last: Box<AuthError>,
    },
    /// The token request timed out.
    #[error("the token request timed out")]
    Timeout {
        /// The underlying error.
        #[source]
        source: Arc<reqwest::Error>,
    },
    /// The token request could not be sent or its answer not read (connection refused, reset).
    #[error("the token request failed: {source}")]
    Transport {
        /// The underlying error.
        #[source]
        source: Arc<reqwest::Error>,
    },
    /// The token endpoint's answer was larger than the client's body limit.
    #[error("the token endpoint's answer is larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A custom [`crate::TokenProvider`] failed.
    #[error("the token provider failed: {message}")]
    Provider {
        /// What failed (must not contain a secret).
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    },
}

fn describe(error: &Option<String>, description: &Option<String>) -> String {
    match (error, description) {
        (Some(e), Some(d)) => format!("{e}: {d}"),
        (Some(e), None) => e.clone(),
        (None, Some(d)) => d.clone(),
        (None, None) => "no details".to_owned(),
    }
}

/// An API call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenesysError {
    /// No token could be had.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The API answered with an error that is not retried (or the last one after a single
    /// attempt): see [`ApiError`].
    #[error(transparent)]
    Api(ApiError),
    /// A 429/503 asked to retry after more than the policy's cap: the call gives up at once
    /// instead of waiting. The shared pacer was paused for up to the cap.
    #[error("the API asked to retry after {retry_after:?}, over the cap of {cap:?}: {error}")]
    RetryAfterTooLong {
        /// What the server asked for.
        retry_after: Duration,
        /// The policy's cap.
        cap: Duration,
        /// The answer that asked for it.
        error: Box<ApiError>,
    },
    /// The request timed out (connect or whole-request timeout).
    #[error("the request timed out: {source}")]
    Timeout {
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// The request could not be sent or the answer not read (connection refused, reset, TLS).
    #[error("the request failed: {source}")]
    Transport {
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// A success answer whose body is not the expected JSON (or is truncated).
    #[error("could not decode the HTTP {status} answer: {source}; body starts {body_snippet:?}")]
    Decode {
        /// HTTP status.
        status: u16,
        /// The start of the body.
        body_snippet: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The answer's body is larger than the client's limit; it was not read further.
    #[error("the answer's body is larger than the limit of {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The request was not sent: a path, query or body is not acceptable.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Every attempt the retry policy allowed failed (attempts or time ran out).
    #[error("gave up after {attempts} attempts in {elapsed:?}: {last}")]
    RetriesExhausted {
        /// Attempts made.
        attempts: u32,
        /// Time spent.
        elapsed: Duration,
        /// The last failure.
        last: Box<GenesysError>,
    },
    /// The shared retry budget is drained (many calls are failing): no more retries for now.
    #[error("retry budget exhausted after {attempts} attempts: {last}")]
    RetryBudgetExhausted {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: Box<GenesysError>,
    },
}

impl GenesysError {
    /// The HTTP status of the API answer behind this error, if there was one (looking through
    /// retries). `None` for transport, timeout, auth and input errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            GenesysError::Decode { status, .. } => Some(*status),
            other => other.api_error().map(|e| e.status),
        }
    }

    /// True when the API answered 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// The correlation id of the API answer behind this error, if any.
    pub fn correlation_id(&self) -> Option<&str> {
        self.api_error().and_then(|e| e.correlation_id.as_deref())
    }

    /// The [`ApiError`] behind this error, if any (looking through retries).
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            GenesysError::Api(e) => Some(e),
            GenesysError::RetryAfterTooLong { error, .. } => Some(error),
            GenesysError::RetriesExhausted { last, .. }
            | GenesysError::RetryBudgetExhausted { last, .. } => last.api_error(),
            _ => None,
        }
    }
}
