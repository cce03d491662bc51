//! [`GenesysClient`]: the one request pipeline.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use http::HeaderValue;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use retry_policy::{Classified, Pacer, RateLimitInfo, RetryClass, RetryPolicy, rate_limited_wait};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument as _;
use tracing::field::Empty;
use url::Url;

use crate::api_error::ApiError;
use crate::body::{BodyError, read_limited};
use crate::credentials::ClientCredentials;
use crate::endpoint::Endpoint;
use crate::error::GenesysError;
use crate::give_up::give_up;
use crate::metric_names::{
    self as names, OPERATION, operation_of, record_rate_limited, status_label,
};
use crate::path::validate_request_path;
use crate::provider::ClientCredentialsProvider;
use crate::region::{Region, validate_base};
use crate::request::{ApiRequest, ApiResponse};
use crate::token::{AccessToken, TokenProvider};
use crate::transport::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_BYTES, DEFAULT_REQUEST_TIMEOUT, http_client,
};

/// The client every Genesys call goes through:
/// pace (shared [`Pacer`]) → bearer ([`TokenProvider`]) → send with timeouts → classify →
/// on 401 invalidate the token and retry once → on 429/5xx/timeouts/connection failures retry
/// per [`RetryPolicy`], honouring `Retry-After` (a 429 pauses the pacer for every holder; without
/// the header, for the "Retry the request in \[N\] seconds" of Genesys' message, else the
/// window's reset, else the policy's floor: see [`retry_policy::rate_limited_wait`]) →
/// a typed [`GenesysError`]. Every answer teaches the pacer: its rate-limit headers
/// ([`Pacer::observe`]), and whether it was a 429 ([`Pacer::on_rate_limited`]) or not
/// ([`Pacer::on_success`]).
/// Each request runs in a `genesys_request` tracing span (method, path, status, attempt,
/// latency_ms).
///
/// Cheap to clone: clones share the connection pool, pacer, policy (and its retry budget),
/// token provider. Metrics go to the [`metrics`] facade (see [`crate::metric_names`]).
#[derive(Clone)]
pub struct GenesysClient {
    shared: Arc<Shared>,
    tokens: Arc<dyn TokenProvider>,
}

struct Shared {
    http: reqwest::Client,
    api_base: Url,
    /// The base URL's path without its trailing `/` (empty for a host-only base), computed
    /// once so that building a request URL does not format strings.
    base_path: String,
    pacer: Pacer,
    policy: RetryPolicy,
    max_body: usize,
    /// The API host, the `server.address` attribute of the request metrics.
    server_address: String,
}

impl GenesysClient {
    /// A builder. Set a region and either credentials or a token provider.
    pub fn builder() -> GenesysClientBuilder {
        GenesysClientBuilder::default()
    }

    /// A client for another identity (e.g. a guest JWT) that shares this one's connection
    /// pool, pacer and retry policy.
    pub fn with_token_provider(&self, provider: Arc<dyn TokenProvider>) -> GenesysClient {
        GenesysClient {
            shared: Arc::clone(&self.shared),
            tokens: provider,
        }
    }

    /// The API base URL (with a trailing `/`).
    pub fn api_base(&self) -> &Url {
        &self.shared.api_base
    }

    /// The shared pacer.
    pub fn pacer(&self) -> &Pacer {
        &self.shared.pacer
    }

    /// The client's retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.shared.policy
    }

    /// The token provider.
    pub fn token_provider(&self) -> &Arc<dyn TokenProvider> {
        &self.tokens
    }

    /// `GET {api}{path}?{query}` and decode the JSON answer.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, GenesysError> {
        self.send(ApiRequest::get(path).query(query)).await?.json()
    }

    /// `POST {api}{path}` with a JSON body and decode the JSON answer.
    pub async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, GenesysError> {
        self.send(ApiRequest::post(path).json(body)?).await?.json()
    }

    /// Sends one [`Endpoint`] through the pipeline ([`send`](Self::send): the same pacing,
    /// bearer, retries and typed errors) and decodes its 2xx answer with
    /// [`Endpoint::decode`].
    pub async fn call<E: Endpoint + ?Sized>(
        &self,
        endpoint: &E,
    ) -> Result<E::Response, GenesysError> {
        let request = endpoint.request()?;
        let answer = self.send(request).await?;
        endpoint.decode(&answer)
    }

    /// Sends a request through the pipeline and returns the 2xx answer.
    pub async fn send(&self, request: ApiRequest) -> Result<ApiResponse, GenesysError> {
        validate_request_path(&request.path)?;
        let url = self.url_for(&request);
        let span = tracing::debug_span!(
            "genesys_request",
            method = %request.method,
            path = %request.path,
            status = Empty,
            attempt = Empty,
            latency_ms = Empty,
        );
        self.run(&request, url).instrument(span).await
    }

    fn url_for(&self, request: &ApiRequest) -> Url {
        let shared = &*self.shared;
        let mut url = shared.api_base.clone();
        if shared.base_path.is_empty() {
            url.set_path(&request.path);
        } else {
            let mut path = String::with_capacity(shared.base_path.len() + request.path.len());
            path.push_str(&shared.base_path);
            path.push_str(&request.path);
            url.set_path(&path);
        }
        if !request.query.is_empty() {
            url.query_pairs_mut().extend_pairs(request.query.iter());
        }
        url
    }

    /// The pipeline's one retry loop: [`retry_policy::retry_classified`] runs [`Self::attempt`]
    /// (which owns the 401 → refresh-once step and the re-fetch of a truncated answer) and
    /// [`give_up`] turns the driver's verdict into the error.
    async fn run(&self, request: &ApiRequest, url: Url) -> Result<ApiResponse, GenesysError> {
        let shared = &*self.shared;
        let policy = request.retry_policy.as_ref().unwrap_or(&shared.policy);
        let state = AttemptState::default();
        let (state_ref, url_ref) = (&state, &url);
        retry_policy::retry_classified(
            policy,
            move |_| self.attempt(request, url_ref, policy, state_ref),
            |error: &GenesysError, attempt, delay| {
                tracing::debug!(
                    attempt,
                    status = error.status(),
                    delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    "retrying"
                );
            },
        )
        .await
        .map_err(|stopped| give_up(stopped, state.sends.load(Ordering::Relaxed)))
    }

    /// One attempt the driver counts: pace, bearer, send, classify. A 401 invalidates the token
    /// and re-sends once per request with a fresh one, inside this attempt (a renewed token is
    /// not a retry).
    async fn attempt(
        &self,
        request: &ApiRequest,
        url: &Url,
        policy: &RetryPolicy,
        state: &AttemptState,
    ) -> Result<ApiResponse, Classified<GenesysError>> {
        let shared = &*self.shared;
        let span = tracing::Span::current();
        let operation = operation_of(&request.path);
        loop {
            let attempt = state.sends.fetch_add(1, Ordering::Relaxed) + 1;
            shared.pacer.acquire().await;
            let token = self
                .tokens
                .access_token()
                .await
                .map_err(|e| Classified::fail(GenesysError::from(e)))?;
            // Latency is wall time (std clock: cheaper, and meaningful under paused tests too).
            let sent = std::time::Instant::now();
            let outcome = self.send_once(request, url.clone(), &token).await;
            let latency = sent.elapsed().as_secs_f64();
            let latency_ms = latency * 1000.0;
            self.record_duration(request, &operation, &outcome, latency);
            span.record("attempt", attempt);
            span.record("latency_ms", latency_ms);
            let (error, class, status) = match outcome {
                Ok(response) => {
                    let status = response.status;
                    span.record("status", status);
                    let limits = if has_rate_limit_headers(&response.headers) {
                        RateLimitInfo::from_headers(&response.headers)
                    } else {
                        None
                    };
                    if status != 429 {
                        if let Some(info) = &limits {
                            shared.pacer.observe(info);
                        }
                        shared.pacer.on_success();
                    }
                    if (200..300).contains(&status) {
                        if request.refetch_unparsable
                            && let Some(error) = unparsable(&response)
                        {
                            tracing::warn!(attempt, status, latency_ms, "answer is not whole JSON");
                            (error, RetryClass::retry(), Some(status))
                        } else {
                            tracing::debug!(attempt, status, latency_ms, "request succeeded");
                            return Ok(response);
                        }
                    } else {
                        let api =
                            ApiError::from_response(status, &response.headers, &response.body);
                        tracing::debug!(
                            attempt,
                            status,
                            latency_ms,
                            code = api.code.as_deref(),
                            correlation_id = api.correlation_id.as_deref(),
                            "request failed"
                        );
                        if status == 401 && !state.refreshed.swap(true, Ordering::Relaxed) {
                            self.tokens.invalidate(&token);
                            let fresh = self
                                .tokens
                                .access_token()
                                .await
                                .map_err(|e| Classified::fail(GenesysError::from(e)))?;
                            if fresh != token {
                                continue;
                            }
                            // The provider cannot renew (a static token): stop here.
                        }
                        // A 429 without Retry-After: the normalized message's "[N] seconds",
                        // else what is left of the window, else the policy's floor.
                        let mut retry_after = api.retry_after;
                        if status == 429 {
                            let reset = limits.and_then(|l| l.reset);
                            let hint = api.message_retry_hint();
                            let wait = rate_limited_wait(
                                api.retry_after,
                                hint,
                                reset,
                                policy.retry_after_floor(),
                                policy.retry_after_cap(),
                            );
                            shared.pacer.on_rate_limited(limits.as_ref(), wait);
                            record_rate_limited(&operation, api.retry_after.is_some(), wait);
                            // The request's own retry waits for the hint; the pause (which may
                            // come from the reset) holds it back as well.
                            retry_after = retry_after.or(hint);
                        }
                        let class = RetryClass::from_status(status, retry_after);
                        (GenesysError::Api(api), class, Some(status))
                    }
                }
                Err(error) => {
                    tracing::debug!(attempt, latency_ms, error = %error, "request failed");
                    let class = match &error {
                        GenesysError::Timeout { .. } => RetryClass::timeout(),
                        GenesysError::Transport { source } => {
                            if source.is_connect() || request.method.is_idempotent() {
                                RetryClass::retry()
                            } else {
                                RetryClass::Fail
                            }
                        }
                        _ => RetryClass::Fail,
                    };
                    (error, class, None)
                }
            };
            // An at-most-once call is retried only when it provably did not reach the server.
            let class = if request.at_most_once && !provably_unsent(status, &error) {
                RetryClass::Fail
            } else {
                class
            };
            return Err(Classified::new(error, class));
        }
    }

    /// One `http.client.request.duration` sample for an attempt.
    fn record_duration(
        &self,
        request: &ApiRequest,
        operation: &str,
        outcome: &Result<ApiResponse, GenesysError>,
        seconds: f64,
    ) {
        let method = request.method.as_str().to_owned();
        let server = self.shared.server_address.clone();
        let operation = operation.to_owned();
        match outcome {
            Ok(response) => metrics::histogram!(
                names::HTTP_CLIENT_REQUEST_DURATION,
                "http.request.method" => method,
                "http.response.status_code" => status_label(response.status),
                "server.address" => server,
                OPERATION => operation,
            )
            .record(seconds),
            Err(error) => {
                let kind = match error {
                    GenesysError::Timeout { .. } => "timeout",
                    GenesysError::BodyTooLarge { .. } => "body_too_large",
                    _ => "transport",
                };
                metrics::histogram!(
                    names::HTTP_CLIENT_REQUEST_DURATION,
                    "http.request.method" => method,
                    "error.type" => kind,
                    "server.address" => server,
                    OPERATION => operation,
                )
                .record(seconds);
            }
        }
    }

    async fn send_once(
        &self,
        request: &ApiRequest,
        url: Url,
        token: &AccessToken,
    ) -> Result<ApiResponse, GenesysError> {
        let shared = &*self.shared;
        // The request is assembled directly (no RequestBuilder): the extra headers, then the
        // bearer header built once per token, `Accept`, and the body with its content type.
        let mut http_request = match token.bearer_header() {
            Some(bearer) => {
                let mut http_request = reqwest::Request::new(request.method.clone(), url);
                let headers = http_request.headers_mut();
                if !request.headers.is_empty() {
                    *headers = request.headers.clone();
                }
                headers.append(AUTHORIZATION, bearer.clone());
                http_request
            }
            // A token that cannot be a header value: reqwest refuses it as it always did.
            None => {
                let mut builder = shared.http.request(request.method.clone(), url);
                if !request.headers.is_empty() {
                    builder = builder.headers(request.headers.clone());
                }
                builder
                    .bearer_auth(token.expose())
                    .build()
                    .map_err(transport)?
            }
        };
        http_request
            .headers_mut()
            .append(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some((body, content_type)) = &request.body {
            http_request
                .headers_mut()
                .append(CONTENT_TYPE, content_type.clone());
            *http_request.body_mut() = Some(body.clone().into());
        }
        let mut response = shared.http.execute(http_request).await.map_err(transport)?;
        let status = response.status().as_u16();
        let headers = std::mem::take(response.headers_mut());
        let body = match read_limited(response, shared.max_body).await {
            Ok(body) => body,
            Err(BodyError::TooLarge) => {
                return Err(GenesysError::BodyTooLarge {
                    limit: shared.max_body,
                });
            }
            Err(BodyError::Read(e)) => return Err(transport(e)),
        };
        Ok(ApiResponse {
            status,
            headers,
            body,
        })
    }
}

/// What one logical request carries from attempt to attempt.
#[derive(Default)]
struct AttemptState {
    /// Every request sent, a 401's re-send included.
    sends: AtomicU32,
    /// The 401 → fresh token step was taken (once per request).
    refreshed: AtomicBool,
}

/// A 2xx answer whose body is not whole JSON (cut off mid-body, or a gateway's HTML page): the
/// [`GenesysError::Decode`] to retry with, or `None` when the body is JSON (or empty). Only the
/// syntax is checked; a body of the wrong shape is the caller's decode error, not re-fetched.
fn unparsable(response: &ApiResponse) -> Option<GenesysError> {
    response.json::<serde::de::IgnoredAny>().err()
}

/// One pass over the names, so answers without rate-limit headers skip the parsing.
fn has_rate_limit_headers(headers: &http::HeaderMap) -> bool {
    headers.keys().any(|name| {
        let name = name.as_str();
        name.starts_with("inin-ratelimit-") || name.starts_with("x-ratelimit-")
    })
}

fn transport(e: reqwest::Error) -> GenesysError {
    if e.is_timeout() {
        GenesysError::Timeout { source: e }
    } else {
        GenesysError::Transport { source: e }
    }
}

impl fmt::Debug for GenesysClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenesysClient")
            .field("api_base", &self.shared.api_base.as_str())
            .field("tokens", &self.tokens)
            .field("pacer", &self.shared.pacer)
            .field("max_body", &self.shared.max_body)
            .finish_non_exhaustive()
    }
}

/// Builds a [`GenesysClient`].
#[derive(Default)]
#[must_use]
pub struct GenesysClientBuilder {
    region: Option<Region>,
    credentials: Option<ClientCredentials>,
    tokens: Option<Arc<dyn TokenProvider>>,
    pacer: Option<Pacer>,
    policy: Option<RetryPolicy>,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    max_body: Option<usize>,
    roots: Vec<reqwest::Certificate>,
}

impl GenesysClientBuilder {
    /// Where the API (and, with credentials, the login service) is. Required.
    pub fn region(mut self, region: Region) -> Self {
        self.region = Some(region);
        self
    }

    /// An OAuth client: the client builds a [`ClientCredentialsProvider`] sharing its pool and
    /// retry policy. Replaces a token provider set before.
    pub fn credentials(mut self, credentials: ClientCredentials) -> Self {
        self.credentials = Some(credentials);
        self.tokens = None;
        self
    }

    /// Any token provider (a [`crate::StaticToken`], a provider shared between clients...).
    /// Replaces credentials set before.
    pub fn token_provider(mut self, provider: Arc<dyn TokenProvider>) -> Self {
        self.tokens = Some(provider);
        self.credentials = None;
        self
    }

    /// The pacer (share one between every client of an organization). Default:
    /// [`Pacer::adaptive`]: 300 a minute (the platform's default limit per OAuth client) until
    /// the server's answers say otherwise.
    pub fn pacer(mut self, pacer: Pacer) -> Self {
        self.pacer = Some(pacer);
        self
    }

    /// The retry policy (default [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Connect timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Timeout of one attempt, body included (default 60 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Largest response body read (default 16 MiB); a larger one gives
    /// [`GenesysError::BodyTooLarge`] without being read further.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body = Some(limit);
        self
    }

    /// Trusts one more root certificate (a corporate proxy, a test CA), in addition to the
    /// platform's roots. Certificate verification cannot be turned off.
    pub fn add_root_certificate(mut self, certificate: reqwest::Certificate) -> Self {
        self.roots.push(certificate);
        self
    }

    /// The client. Fails when the region or the identity is missing, a custom URL is not
    /// `http(s)://host/...`, or the HTTP client cannot be built.
    pub fn build(self) -> Result<GenesysClient, GenesysError> {
        let region = self
            .region
            .ok_or_else(|| GenesysError::InvalidInput("a region is required".to_owned()))?;
        let api_base = region.api_base();
        validate_base(&api_base)
            .map_err(|why| GenesysError::InvalidInput(format!("API URL {api_base}: {why}")))?;
        let connect_timeout = self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        let request_timeout = self.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT);
        let http = http_client(connect_timeout, request_timeout, self.roots)?;
        let policy = self.policy.unwrap_or_default();
        let tokens: Arc<dyn TokenProvider> = match (self.tokens, self.credentials) {
            (Some(tokens), _) => tokens,
            (None, Some(credentials)) => Arc::new(
                ClientCredentialsProvider::builder(credentials, region)
                    .http_client(http.clone())
                    .retry_policy(policy.clone())
                    .build()?,
            ),
            (None, None) => {
                return Err(GenesysError::InvalidInput(
                    "credentials or a token provider are required".to_owned(),
                ));
            }
        };
        let base_path = api_base.path().trim_end_matches('/').to_owned();
        let server_address = api_base.host_str().unwrap_or_default().to_owned();
        Ok(GenesysClient {
            shared: Arc::new(Shared {
                http,
                api_base,
                base_path,
                pacer: self.pacer.unwrap_or_else(Pacer::adaptive),
                policy,
                max_body: self.max_body.unwrap_or(DEFAULT_MAX_BODY_BYTES),
                server_address,
            }),
            tokens,
        })
    }
}

impl fmt::Debug for GenesysClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenesysClientBuilder")
            .field("region", &self.region)
            .field("credentials", &self.credentials)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

/// Whether a failed attempt provably never reached the platform: a 429 (the gateway refused it
/// before it was processed) or a connection that could not be opened.
fn provably_unsent(status: Option<u16>, error: &GenesysError) -> bool {
    status == Some(429)
        || matches!(error, GenesysError::Transport { source } if source.is_connect())
}
