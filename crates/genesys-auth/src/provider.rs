//! The OAuth client-credentials provider: one token request at a time, cached, refreshed early.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use retry_policy::{Classified, RetryClass, RetryPolicy};
use secrecy::ExposeSecret;
use tokio::time::Instant;
use tracing::Instrument as _;
use url::Url;

use crate::body::{BodyError, read_limited};
use crate::credentials::ClientCredentials;
use crate::error::{AuthError, GenesysError};
use crate::give_up::give_up;
use crate::oauth::{parse_oauth_error, parse_token_answer};
use crate::region::{Region, validate_base};
use crate::token::{AccessToken, TokenProvider};

/// Default lower bound of the refresh margin: a token is renewed at least 60 s before it
/// expires (as the Go SDK does).
pub const DEFAULT_MIN_REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// Default share of the lifetime used as refresh margin when it is larger than 60 s (10%).
pub const DEFAULT_REFRESH_FRACTION: f64 = 0.1;
/// The largest token answer read (64 KiB).
pub const MAX_TOKEN_ANSWER_BYTES: usize = 64 * 1024;

/// Tokens for an OAuth client (client-credentials grant), from `POST {login}/oauth/token` with
/// Basic auth and `grant_type=client_credentials`.
///
/// - **Cached**: a token is reused until its refresh point, the larger of 60 s and 10% of its
///   lifetime before it expires (never more than half the lifetime, so very short tokens are
///   still used). A warm `access_token()` is a read lock and a clone.
/// - **Single flight**: however many tasks ask at once on a cold or stale cache, one token
///   request is made and every waiter gets its result (the token, or the same error).
/// - **Retries**: 429 and 5xx answers, timeouts and connection failures of the token request are
///   retried per the [`RetryPolicy`]; 400/401 give [`AuthError::InvalidCredentials`] at once.
/// - **Resilient**: if a refresh fails while the cached token has not expired yet, the cached
///   token is handed out and the refresh is tried again a little later.
/// - [`TokenProvider::invalidate`] drops the cached token if it is the one given (so 100
///   concurrent 401s on the same token cause one new token request).
///
/// Clones share the cache.
#[derive(Clone)]
pub struct ClientCredentialsProvider {
    inner: Arc<Inner>,
}

struct Inner {
    credentials: ClientCredentials,
    token_url: Url,
    http: reqwest::Client,
    policy: RetryPolicy,
    min_margin: Duration,
    fraction: f64,
    max_body: usize,
    cache: RwLock<Option<Cached>>,
    /// Held while a token request is in flight; remembers the last failure for the callers
    /// that waited on it.
    refresh: tokio::sync::Mutex<Option<(u64, AuthError)>>,
    /// Bumped after every token request (success or failure).
    generation: AtomicU64,
    token_requests: Arc<AtomicU64>,
}

#[derive(Clone)]
struct Cached {
    token: AccessToken,
    refresh_at: Instant,
    expires_at: Instant,
}

impl ClientCredentialsProvider {
    /// A builder for `credentials` at `region`'s login service.
    pub fn builder(
        credentials: ClientCredentials,
        region: Region,
    ) -> ClientCredentialsProviderBuilder {
        ClientCredentialsProviderBuilder {
            credentials,
            region,
            http: None,
            policy: None,
            min_margin: DEFAULT_MIN_REFRESH_MARGIN,
            fraction: DEFAULT_REFRESH_FRACTION,
            connect_timeout: crate::transport::DEFAULT_CONNECT_TIMEOUT,
            request_timeout: crate::transport::DEFAULT_REQUEST_TIMEOUT,
            token_requests: None,
        }
    }

    /// Token requests made so far (every attempt counts).
    pub fn token_requests(&self) -> u64 {
        self.inner.token_requests.load(Ordering::Relaxed)
    }

    /// The token endpoint (`{login}/oauth/token`).
    pub fn token_url(&self) -> &Url {
        &self.inner.token_url
    }

    fn cached_fresh(&self, now: Instant) -> Option<AccessToken> {
        let cache = self.inner.cache.read().unwrap_or_else(|p| p.into_inner());
        cache
            .as_ref()
            .filter(|c| now < c.refresh_at)
            .map(|c| c.token.clone())
    }

    fn refresh_margin(&self, lifetime: Duration) -> Duration {
        let share = lifetime.mul_f64(self.inner.fraction.clamp(0.0, 1.0));
        self.inner.min_margin.max(share).min(lifetime / 2)
    }

    async fn refresh(&self) -> Result<AccessToken, AuthError> {
        let seen = self.inner.generation.load(Ordering::Acquire);
        let mut last_failure = self.inner.refresh.lock().await;
        // Someone else may have refreshed while this caller waited.
        if let Some(token) = self.cached_fresh(Instant::now()) {
            return Ok(token);
        }
        let current = self.inner.generation.load(Ordering::Acquire);
        if current != seen
            && let Some((generation, error)) = last_failure.as_ref()
            && *generation == current
        {
            return Err(error.clone());
        }
        metrics::counter!(crate::metric_names::TOKEN_REFRESHES).increment(1);
        let sent = Instant::now();
        let result = self.fetch().await;
        let generation = self.inner.generation.fetch_add(1, Ordering::AcqRel) + 1;
        let mut cache = self.inner.cache.write().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(answer) => {
                let lifetime = answer.lifetime;
                let token = AccessToken::new(answer.access_token);
                *cache = Some(Cached {
                    token: token.clone(),
                    refresh_at: sent + (lifetime - self.refresh_margin(lifetime)),
                    expires_at: sent + lifetime,
                });
                *last_failure = None;
                tracing::debug!(lifetime_s = lifetime.as_secs_f64(), "token obtained");
                Ok(token)
            }
            Err(error) => {
                let now = Instant::now();
                if let Some(cached) = cache.as_mut().filter(|c| now < c.expires_at) {
                    // Still valid: keep using it and try again a little later.
                    let retry_in = ((cached.expires_at - now) / 2).min(Duration::from_secs(30));
                    cached.refresh_at = now + retry_in;
                    tracing::warn!(error = %error, retry_in_ms = retry_in.as_millis() as u64,
                        "token refresh failed; using the cached token until it expires");
                    *last_failure = None;
                    return Ok(cached.token.clone());
                }
                *last_failure = Some((generation, error.clone()));
                Err(error)
            }
        }
    }

    /// The token request on the workspace's one retry driver; [`give_up`] maps its verdict.
    async fn fetch(&self) -> Result<crate::oauth::TokenAnswer, AuthError> {
        retry_policy::retry_classified(
            &self.inner.policy,
            |attempt| async move {
                let result = self.request_once(attempt).await;
                let outcome = if result.is_ok() { "ok" } else { "error" };
                metrics::counter!(crate::metric_names::TOKEN_FETCHES, "outcome" => outcome)
                    .increment(1);
                result
            },
            |error: &AuthError, attempt, delay| {
                tracing::debug!(attempt, delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    error = %error, "token request failed; retrying");
            },
        )
        .await
        .map_err(|stopped| {
            let attempts = stopped.attempts;
            give_up(stopped, attempts)
        })
    }

    async fn request_once(
        &self,
        attempt: u32,
    ) -> Result<crate::oauth::TokenAnswer, Classified<AuthError>> {
        let inner = &self.inner;
        inner.token_requests.fetch_add(1, Ordering::Relaxed);
        let span = tracing::debug_span!(
            "genesys_token_request",
            attempt,
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty
        );
        let started = Instant::now();
        let result = async {
            let response = inner
                .http
                .post(inner.token_url.clone())
                .header(AUTHORIZATION, basic_header(&inner.credentials))
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(ACCEPT, "application/json")
                .body("grant_type=client_credentials")
                .send()
                .await
                .map_err(transport)?;
            let status = response.status().as_u16();
            tracing::Span::current().record("status", status);
            let retry_after = retry_policy::retry_after(response.headers());
            let body = match read_limited(response, inner.max_body).await {
                Ok(body) => body,
                Err(BodyError::TooLarge) => {
                    return Err((
                        AuthError::BodyTooLarge {
                            limit: inner.max_body,
                        },
                        RetryClass::Fail,
                    ));
                }
                Err(BodyError::Read(e)) => return Err(transport(e)),
            };
            if (200..300).contains(&status) {
                return parse_token_answer(&body).map_err(|e| (e, RetryClass::Fail));
            }
            let (error, description) = parse_oauth_error(&body);
            if status == 400 || status == 401 {
                return Err((
                    AuthError::InvalidCredentials {
                        status,
                        error,
                        description,
                    },
                    RetryClass::Fail,
                ));
            }
            Err((
                AuthError::TokenEndpoint {
                    status,
                    error,
                    description,
                },
                RetryClass::from_status(status, retry_after),
            ))
        }
        .instrument(span.clone())
        .await;
        span.record("latency_ms", started.elapsed().as_secs_f64() * 1000.0);
        result.map_err(|(error, class)| Classified::new(error, class))
    }
}

fn basic_header(credentials: &ClientCredentials) -> http::HeaderValue {
    match http::HeaderValue::from_str(&credentials.basic_authorization()) {
        Ok(mut value) => {
            value.set_sensitive(true);
            value
        }
        // Base64 is always a valid header value; an empty one makes the server answer 401.
        Err(_) => http::HeaderValue::from_static(""),
    }
}

fn transport(e: reqwest::Error) -> (AuthError, RetryClass) {
    let e = Arc::new(e.without_url());
    if e.is_timeout() {
        (AuthError::Timeout { source: e }, RetryClass::timeout())
    } else {
        (AuthError::Transport { source: e }, RetryClass::retry())
    }
}

#[async_trait::async_trait]
impl TokenProvider for ClientCredentialsProvider {
    async fn access_token(&self) -> Result<AccessToken, AuthError> {
        if let Some(token) = self.cached_fresh(Instant::now()) {
            return Ok(token);
        }
        self.refresh().await
    }

    fn invalidate(&self, token: &AccessToken) {
        let mut cache = self.inner.cache.write().unwrap_or_else(|p| p.into_inner());
        if cache.as_ref().is_some_and(|c| &c.token == token) {
            *cache = None;
            tracing::debug!("cached token invalidated");
        }
    }
}

impl fmt::Debug for ClientCredentialsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentialsProvider")
            .field("client_id", &self.inner.credentials.client_id)
            .field("token_url", &self.inner.token_url.as_str())
            .field("token_requests", &self.token_requests())
            .finish_non_exhaustive()
    }
}

/// Builds a [`ClientCredentialsProvider`].
#[must_use]
pub struct ClientCredentialsProviderBuilder {
    credentials: ClientCredentials,
    region: Region,
    http: Option<reqwest::Client>,
    policy: Option<RetryPolicy>,
    min_margin: Duration,
    fraction: f64,
    connect_timeout: Duration,
    request_timeout: Duration,
    token_requests: Option<Arc<AtomicU64>>,
}

impl ClientCredentialsProviderBuilder {
    /// The HTTP client to use (share the pool of a [`crate::GenesysClient`]); by default one is
    /// built with the timeouts below.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// How token requests are retried (default [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The smallest refresh margin (default 60 s).
    pub fn min_refresh_margin(mut self, margin: Duration) -> Self {
        self.min_margin = margin;
        self
    }

    /// The share of the lifetime used as refresh margin when larger than the minimum (default
    /// 0.1; clamped to 0..=1).
    pub fn refresh_fraction(mut self, fraction: f64) -> Self {
        self.fraction = if fraction.is_finite() {
            fraction.clamp(0.0, 1.0)
        } else {
            DEFAULT_REFRESH_FRACTION
        };
        self
    }

    /// Connect timeout of the built HTTP client (ignored with [`Self::http_client`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Whole-request timeout of the built HTTP client (ignored with [`Self::http_client`]).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The provider. Fails on a login URL that is not `http(s)://host/...` or when the HTTP
    /// client cannot be built.
    pub fn build(self) -> Result<ClientCredentialsProvider, GenesysError> {
        let login = self.region.login_base();
        validate_base(&login)
            .map_err(|why| GenesysError::InvalidInput(format!("login URL {login}: {why}")))?;
        let token_url = login
            .join("oauth/token")
            .map_err(|e| GenesysError::InvalidInput(format!("login URL {login}: {e}")))?;
        if self.credentials.client_id.is_empty()
            || self.credentials.client_secret.expose_secret().is_empty()
        {
            return Err(GenesysError::InvalidInput(
                "the client id and secret must not be empty".to_owned(),
            ));
        }
        let http = match self.http {
            Some(http) => http,
            None => crate::transport::http_client(
                self.connect_timeout,
                self.request_timeout,
                Vec::new(),
            )?,
        };
        Ok(ClientCredentialsProvider {
            inner: Arc::new(Inner {
                credentials: self.credentials,
                token_url,
                http,
                policy: self.policy.unwrap_or_default(),
                min_margin: self.min_margin,
                fraction: self.fraction,
                max_body: MAX_TOKEN_ANSWER_BYTES,
                cache: RwLock::new(None),
                refresh: tokio::sync::Mutex::new(None),
                generation: AtomicU64::new(0),
                token_requests: self.token_requests.unwrap_or_default(),
            }),
        })
    }
}

impl fmt::Debug for ClientCredentialsProviderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentialsProviderBuilder")
            .field("credentials", &self.credentials)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(min: Duration, fraction: f64) -> ClientCredentialsProvider {
        ClientCredentialsProvider::builder(ClientCredentials::new("id", "secret"), Region::UsEast1)
            .min_refresh_margin(min)
            .refresh_fraction(fraction)
            .build()
            .unwrap()
    }

    #[test]
    fn refresh_margin_is_the_larger_of_60s_and_a_tenth_but_at_most_half() {
        let p = provider(DEFAULT_MIN_REFRESH_MARGIN, DEFAULT_REFRESH_FRACTION);
        assert_eq!(
            p.refresh_margin(Duration::from_secs(86_400)),
            Duration::from_secs(8_640)
        );
        assert_eq!(
            p.refresh_margin(Duration::from_secs(300)),
            Duration::from_secs(60)
        );
        assert_eq!(
            p.refresh_margin(Duration::from_secs(1_000)),
            Duration::from_secs(100)
        );
        assert_eq!(
            p.refresh_margin(Duration::from_secs(90)),
            Duration::from_secs(45)
        );
        assert_eq!(
            p.refresh_margin(Duration::from_millis(400)),
            Duration::from_millis(200)
        );
        let q = provider(Duration::ZERO, f64::NAN);
        assert_eq!(
            q.refresh_margin(Duration::from_secs(1_000)),
            Duration::from_secs(100)
        );
        assert_eq!(
            p.token_url().as_str(),
            "https://login.mypurecloud.com/oauth/token"
        );
    }

    #[test]
    fn empty_credentials_and_bad_login_urls_are_refused() {
        let empty =
            ClientCredentialsProvider::builder(ClientCredentials::new("", "s"), Region::UsEast1)
                .build();
        assert!(matches!(empty, Err(GenesysError::InvalidInput(_))));
        let ftp = Url::parse("ftp://x.example/").unwrap();
        let bad = ClientCredentialsProvider::builder(
            ClientCredentials::new("id", "s"),
            Region::custom(ftp.clone(), ftp),
        )
        .build();
        assert!(matches!(bad, Err(GenesysError::InvalidInput(_))));
    }
}
