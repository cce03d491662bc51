//! One POST-with-retry for signed webhooks: one pooled rustls client ([`HttpSettings`]), a
//! fresh signature per attempt, per-attempt headers from an [`AttemptHook`], and retry-policy's
//! driver as the only retry loop.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use retry_policy::{Classified, GiveUp, RetryClass, RetryPolicy, RetryableError};

use crate::attempt::{Attempt, AttemptError, AttemptHook};
use crate::http::HttpSettings;
use crate::scheme::Signer;

/// How much of an error answer is kept (characters).
const SNIPPET: usize = 512;

/// A webhook POST was not accepted: every attempt the policy allowed failed, or one failed for
/// good.
#[derive(Debug, thiserror::Error)]
#[error("the webhook POST gave up after {attempts} attempt(s) in {elapsed:?} ({reason}): {last}")]
#[non_exhaustive]
pub struct PostError {
    /// Attempts made (at most the policy's `max_attempts`).
    pub attempts: u32,
    /// Time spent.
    pub elapsed: Duration,
    /// Why the driver stopped ([`GiveUp::Permanent`] for an answer not worth retrying).
    pub reason: GiveUp,
    /// The last attempt's failure.
    #[source]
    pub last: AttemptError,
}

impl PostError {
    /// The receiver's status in the last answer, if it answered.
    pub fn status(&self) -> Option<u16> {
        self.last.status()
    }

    /// Whether the last failure was of a kind worth retrying later (the policy ran out rather
    /// than the receiver refusing for good).
    pub fn is_retryable(&self) -> bool {
        self.reason != GiveUp::Permanent && self.last.retry_class().is_retry()
    }
}

/// The HTTP client of a [`WebhookClient`] could not be built (a root certificate the TLS
/// library refuses, say).
#[derive(Debug, thiserror::Error)]
#[error("the HTTP client could not be built: {0}")]
pub struct BuildError(#[source] pub reqwest::Error);

/// A POST the receiver accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delivered {
    /// The 2xx status.
    pub status: u16,
    /// The attempt that was accepted (1 when the first one was).
    pub attempts: u32,
}

/// Sends signed JSON POSTs with retries. Cheap to clone (the connection pool is shared).
///
/// Attempts are retried on 408/429/5xx (honouring Retry-After) and on transport errors,
/// including a timeout after the body was sent: receivers must deduplicate (send an
/// idempotency key header). Each attempt is signed anew, so a late retry is not stale. The
/// retry loop is retry-policy's driver; nothing else here retries.
#[derive(Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
    signer: Option<Signer>,
    policy: RetryPolicy,
}

/// Settings of a [`WebhookClient`].
pub struct WebhookClientBuilder {
    signer: Option<Signer>,
    policy: RetryPolicy,
    http: HttpSettings,
    client: Option<reqwest::Client>,
}

impl WebhookClient {
    /// A builder: unsigned, [`RetryPolicy::default`], [`HttpSettings::new`].
    pub fn builder() -> WebhookClientBuilder {
        WebhookClientBuilder {
            signer: None,
            policy: RetryPolicy::default(),
            http: HttpSettings::new(),
            client: None,
        }
    }

    /// The pooled HTTP client (for other requests that want the same timeouts and roots).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The retry policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// POSTs `body` (`Content-Type: application/json`) with the same `headers` on every
    /// attempt, signed when a signer is set, retried per the policy.
    /// `notify(&error, attempt, delay)` runs before each wait.
    pub async fn post<N>(
        &self,
        url: &reqwest::Url,
        body: Bytes,
        headers: &[(HeaderName, HeaderValue)],
        notify: N,
    ) -> Result<Delivered, PostError>
    where
        N: FnMut(&AttemptError, u32, Duration),
    {
        let mut fixed = HeaderMap::new();
        for (name, value) in headers {
            fixed.append(name.clone(), value.clone());
        }
        self.post_with(url, body, &fixed, notify).await
    }

    /// POSTs `body` (`Content-Type: application/json`) with the headers `hook` gives each
    /// attempt, signed when a signer is set, in one retry loop (retry-policy's driver) under
    /// the client's policy. On a 401 the hook may refresh its credential, and that attempt is
    /// retried once, within the same loop: at most `max_attempts` requests are sent, whatever
    /// the answers. `notify(&error, attempt, delay)` runs before each wait.
    ///
    /// A dead-letter replay that counts deliveries in a header and takes its bearer token from
    /// a cache that may hold a token the receiver no longer accepts:
    ///
    /// ```
    /// use http::header::AUTHORIZATION;
    /// use http::{HeaderMap, HeaderValue};
    /// use signed_webhook::{Attempt, AttemptHook, HookError, WebhookClient};
    ///
    /// /// A token cache (client credentials, say).
    /// trait Tokens: Send + Sync {
    ///     /// The cached token, or a new one.
    ///     fn bearer(&self) -> impl Future<Output = Result<String, std::io::Error>> + Send;
    ///     /// The receiver refused `token`: the next `bearer` fetches a new one.
    ///     fn invalidate(&self, token: &str);
    /// }
    ///
    /// struct Replay<'a, T> {
    ///     /// Deliveries made before this replay (a dead letter's receive count, say).
    ///     earlier: u32,
    ///     tokens: &'a T,
    /// }
    ///
    /// impl<T: Tokens> AttemptHook for Replay<'_, T> {
    ///     async fn headers(&self, attempt: Attempt) -> Result<HeaderMap, HookError> {
    ///         let mut headers = HeaderMap::new();
    ///         let count = self.earlier.saturating_add(attempt.number);
    ///         headers.insert("x-attempt-count", HeaderValue::from(count));
    ///         // A token service that is down is worth another attempt.
    ///         let token = self.tokens.bearer().await.map_err(HookError::transient)?;
    ///         let bearer = HeaderValue::try_from(format!("Bearer {token}"))
    ///             .map_err(HookError::permanent)?;
    ///         headers.insert(AUTHORIZATION, bearer);
    ///         Ok(headers)
    ///     }
    ///
    ///     fn unauthorized(&self, _attempt: Attempt, sent: &HeaderMap) -> bool {
    ///         let refused = sent.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    ///         if let Some(token) = refused.and_then(|v| v.strip_prefix("Bearer ")) {
    ///             self.tokens.invalidate(token);
    ///         }
    ///         true // the next attempt carries a fresh token (granted once per POST)
    ///     }
    /// }
    ///
    /// async fn replay(
    ///     client: &WebhookClient,
    ///     url: &reqwest::Url,
    ///     tokens: &impl Tokens,
    ///     receive_count: u32,
    ///     body: bytes::Bytes,
    /// ) -> Result<u32, signed_webhook::PostError> {
    ///     let hook = Replay { earlier: receive_count, tokens };
    ///     let delivered = client
    ///         .post_with(url, body, &hook, |error, attempt, delay| {
    ///             tracing::warn!(attempt, ?delay, %error, "replay attempt failed; retrying");
    ///         })
    ///         .await?;
    ///     // The X-Attempt-Count of the accepted request.
    ///     Ok(receive_count + delivered.attempts)
    /// }
    /// ```
    pub async fn post_with<H, N>(
        &self,
        url: &reqwest::Url,
        body: Bytes,
        hook: &H,
        notify: N,
    ) -> Result<Delivered, PostError>
    where
        H: AttemptHook,
        N: FnMut(&AttemptError, u32, Duration),
    {
        // One 401 per POST may be retried; the attempt after it is marked for the hook.
        let refresh_used = AtomicBool::new(false);
        let refresh_next = AtomicBool::new(false);
        let (refresh_used, refresh_next) = (&refresh_used, &refresh_next);
        retry_policy::retry_classified(
            &self.policy,
            |number| {
                let body = body.clone();
                async move {
                    let attempt = Attempt {
                        number,
                        after_unauthorized: refresh_next.swap(false, Ordering::Relaxed),
                    };
                    let classified = |e: AttemptError| {
                        let class = e.retry_class();
                        Classified::new(e, class)
                    };
                    let headers = hook
                        .headers(attempt)
                        .await
                        .map_err(|e| classified(AttemptError::Hook(e)))?;
                    match self.post_once(url, body, &headers).await {
                        Ok(status) => Ok(Delivered {
                            status,
                            attempts: number,
                        }),
                        Err(e) if e.status() == Some(401) => {
                            // The hook hears of every 401 (to forget the token); one is retried.
                            if hook.unauthorized(attempt, &headers)
                                && !refresh_used.swap(true, Ordering::Relaxed)
                            {
                                tracing::info!(
                                    attempt = number,
                                    "receiver answered 401; retrying once with a fresh credential"
                                );
                                refresh_next.store(true, Ordering::Relaxed);
                                Err(Classified::new(e, RetryClass::retry()))
                            } else {
                                Err(Classified::fail(e))
                            }
                        }
                        Err(e) => Err(classified(e)),
                    }
                }
            },
            notify,
        )
        .await
        .map_err(|stopped| PostError {
            attempts: stopped.attempts,
            elapsed: stopped.elapsed,
            reason: stopped.reason,
            last: stopped.last,
        })
    }

    /// One signed POST; the 2xx status, or why not.
    async fn post_once(
        &self,
        url: &reqwest::Url,
        body: Bytes,
        extra: &HeaderMap,
    ) -> Result<u16, AttemptError> {
        let mut map = HeaderMap::new();
        map.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        map.extend(extra.clone());
        if let Some(signer) = &self.signer {
            for (name, value) in signer.sign_now(&body).headers() {
                map.insert(name, value);
            }
        }
        let response = self
            .http
            .post(url.clone())
            .headers(map)
            .body(body)
            .send()
            .await
            .map_err(|e| AttemptError::Transport {
                timeout: e.is_timeout(),
                source: e.without_url(),
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(status.as_u16());
        }
        let retry_after = retry_policy::retry_after(response.headers());
        Err(AttemptError::Rejected {
            status: status.as_u16(),
            body_snippet: snippet(response).await,
            retry_after,
        })
    }
}

/// The start of an error answer, reading only what is kept: an answer can be arbitrarily large.
async fn snippet(mut response: reqwest::Response) -> String {
    let mut head = Vec::new();
    while head.len() < SNIPPET * 4 {
        match response.chunk().await {
            Ok(Some(chunk)) => head.extend_from_slice(&chunk),
            _ => break,
        }
    }
    head.truncate(SNIPPET * 4);
    String::from_utf8_lossy(&head)
        .chars()
        .take(SNIPPET)
        .collect::<String>()
        .trim()
        .to_owned()
}

impl WebhookClientBuilder {
    /// Signs every request with this signer.
    pub fn signer(mut self, signer: Signer) -> Self {
        self.signer = Some(signer);
        self
    }

    /// Retries per this policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Timeouts, extra roots and user agent of the HTTP client, all at once (the setters below
    /// change one each).
    pub fn http(mut self, settings: HttpSettings) -> Self {
        self.http = settings;
        self
    }

    crate::http_settings_setters!(http, timeout = "30 s", connect_timeout = "5 s");

    /// Sends through this client (one shared with the rest of a program) instead of one built
    /// from the [`HttpSettings`], which are then ignored: its timeouts, roots and redirect
    /// policy are the caller's to choose (build it from [`HttpSettings::client_builder`] to keep
    /// ours, no redirects included).
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Builds the client (rustls, platform roots plus the added ones, no redirects), or takes
    /// the one given to [`client`](Self::client).
    pub fn build(self) -> Result<WebhookClient, BuildError> {
        let http = match self.client {
            Some(client) => client,
            None => self.http.build_client().map_err(BuildError)?,
        };
        Ok(WebhookClient {
            http,
            signer: self.signer,
            policy: self.policy,
        })
    }
}

impl fmt::Debug for WebhookClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookClient")
            .field("signed", &self.signer.is_some())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for WebhookClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookClientBuilder")
            .field("signed", &self.signer.is_some())
            .field("policy", &self.policy)
            .field("http", &self.http)
            .field("own_client", &self.client.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{HookError, SIGNATURE_HEADER, TIMESTAMP_HEADER, Verifier};
    use http::header::AUTHORIZATION;
    use retry_policy::Backoff;
    use secrecy::SecretString;
    use std::sync::Mutex;
    use wiremock::matchers::{header, method};
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};

    fn policy(attempts: u32) -> RetryPolicy {
        RetryPolicy::builder()
            .max_attempts(attempts)
            .backoff(Backoff::constant(Duration::from_millis(2)))
            .no_budget()
            .build()
    }

    fn client(secret: &str, attempts: u32) -> WebhookClient {
        WebhookClient::builder()
            .signer(Signer::new(SecretString::from(secret)).unwrap())
            .retry_policy(policy(attempts))
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap()
    }

    fn url(server: &MockServer) -> reqwest::Url {
        reqwest::Url::parse(&server.uri()).unwrap()
    }

    fn verify_all(secret: &str, requests: &[Request]) {
        let verifier = Verifier::new(vec![SecretString::from(secret)]).unwrap();
        for r in requests {
            assert!(r.headers.contains_key(TIMESTAMP_HEADER));
            assert!(r.headers.contains_key(SIGNATURE_HEADER));
            verifier.verify(&r.headers, &r.body).unwrap();
        }
    }

    /// Answers POSTs with `answer`: only those with `Authorization: Bearer <bearer>` when a
    /// bearer is given, and only the first `times` when given.
    async fn answer(
        server: &MockServer,
        bearer: Option<&str>,
        answer: ResponseTemplate,
        times: Option<u64>,
    ) {
        let mut mock = Mock::given(method("POST"));
        if let Some(token) = bearer {
            mock = mock.and(header("authorization", format!("Bearer {token}").as_str()));
        }
        let mut mock = mock.respond_with(answer);
        if let Some(n) = times {
            mock = mock.up_to_n_times(n);
        }
        mock.mount(server).await;
    }

    fn header_of(r: &Request, name: &str) -> String {
        r.headers.get(name).unwrap().to_str().unwrap().to_owned()
    }

    #[tokio::test]
    async fn posts_signed_and_retries_5xx_up_to_the_policy() {
        let server = MockServer::start().await;
        answer(&server, None, ResponseTemplate::new(503), Some(1)).await;
        Mock::given(method("POST"))
            .and(header("idempotency-key", "k-1"))
            .respond_with(ResponseTemplate::new(202))
            .mount(&server)
            .await;
        let key = (
            HeaderName::from_static("idempotency-key"),
            HeaderValue::from_static("k-1"),
        );
        let mut retries = 0;
        let delivered = client("s3cret", 3)
            .post(
                &url(&server),
                Bytes::from_static(b"{\"a\":1}"),
                &[key],
                |_, _, _| retries += 1,
            )
            .await
            .unwrap();
        assert_eq!((delivered.status, delivered.attempts), (202, 2));
        assert_eq!(retries, 1);
        let requests = server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 2);
        verify_all("s3cret", &requests);
    }

    #[tokio::test]
    async fn a_given_client_is_the_one_that_sends() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(header("x-shared-client", "yes"))
            .respond_with(ResponseTemplate::new(204))
            .mount(&server)
            .await;
        answer(&server, None, ResponseTemplate::new(418), None).await;
        let mut defaults = HeaderMap::new();
        defaults.insert("x-shared-client", HeaderValue::from_static("yes"));
        let shared = HttpSettings::new()
            .client_builder()
            .default_headers(defaults)
            .build()
            .unwrap();
        let delivered = WebhookClient::builder()
            .client(shared)
            .retry_policy(policy(1))
            .build()
            .unwrap()
            .post(&url(&server), Bytes::new(), &[], |_, _, _| {})
            .await
            .unwrap();
        assert_eq!(delivered.status, 204);
    }

    #[tokio::test]
    async fn gives_up_after_the_policys_attempts_and_not_on_4xx() {
        let server = MockServer::start().await;
        let down = ResponseTemplate::new(500).set_body_string("down");
        answer(&server, None, down, None).await;
        let err = client("k", 3)
            .post(&url(&server), Bytes::new(), &[], |_, _, _| {})
            .await
            .unwrap_err();
        assert_eq!(
            (err.attempts, err.reason),
            (3, GiveUp::MaxAttempts),
            "{err}"
        );
        assert_eq!(err.status(), Some(500));
        assert!(err.is_retryable());
        assert!(
            matches!(&err.last, AttemptError::Rejected { body_snippet, .. } if body_snippet == "down")
        );
        assert_eq!(server.received_requests().await.unwrap().len(), 3);

        let refusing = MockServer::start().await;
        answer(&refusing, None, ResponseTemplate::new(401), None).await;
        let err = client("k", 3)
            .post(&url(&refusing), Bytes::new(), &[], |_, _, _| {})
            .await
            .unwrap_err();
        assert_eq!((err.attempts, err.reason), (1, GiveUp::Permanent), "{err}");
        assert_eq!(err.status(), Some(401));
        assert!(!err.is_retryable());
        assert_eq!(refusing.received_requests().await.unwrap().len(), 1);
    }

    /// A hook like a dead-letter replay's: an attempt counter after earlier deliveries, and a
    /// bearer from a cache that hands out a new token once the refused one is forgotten.
    struct Replay {
        earlier: u32,
        tokens: Mutex<Vec<&'static str>>,
        refreshes: Mutex<Vec<(u32, String)>>,
        seen: Mutex<Vec<Attempt>>,
    }

    impl Replay {
        fn new(earlier: u32, tokens: &[&'static str]) -> Self {
            Replay {
                earlier,
                tokens: Mutex::new(tokens.iter().rev().copied().collect()),
                refreshes: Mutex::new(Vec::new()),
                seen: Mutex::new(Vec::new()),
            }
        }
    }

    impl AttemptHook for Replay {
        async fn headers(&self, attempt: Attempt) -> Result<HeaderMap, HookError> {
            self.seen.lock().unwrap().push(attempt);
            let token = *self
                .tokens
                .lock()
                .unwrap()
                .last()
                .ok_or_else(|| HookError::permanent("no token left"))?;
            let mut headers = HeaderMap::new();
            headers.insert(
                "x-attempt-count",
                HeaderValue::from(self.earlier + attempt.number),
            );
            headers.insert(
                AUTHORIZATION,
                HeaderValue::try_from(format!("Bearer {token}")).unwrap(),
            );
            Ok(headers)
        }

        fn unauthorized(&self, attempt: Attempt, sent: &HeaderMap) -> bool {
            let refused = sent.get(AUTHORIZATION).unwrap().to_str().unwrap();
            self.refreshes
                .lock()
                .unwrap()
                .push((attempt.number, refused.to_owned()));
            let mut tokens = self.tokens.lock().unwrap();
            if tokens.len() > 1 {
                tokens.pop();
            }
            true
        }
    }

    #[tokio::test]
    async fn a_401_refreshes_the_bearer_once_inside_the_same_loop() {
        let server = MockServer::start().await;
        answer(&server, Some("stale"), ResponseTemplate::new(401), None).await;
        answer(&server, Some("fresh"), ResponseTemplate::new(503), Some(1)).await;
        answer(&server, Some("fresh"), ResponseTemplate::new(200), None).await;
        let hook = Replay::new(3, &["stale", "fresh"]);
        let mut waits = Vec::new();
        let delivered = client("whsec", 4)
            .post_with(
                &url(&server),
                Bytes::from_static(b"{}"),
                &hook,
                |e, n, _| waits.push((n, e.status())),
            )
            .await
            .unwrap();
        assert_eq!((delivered.status, delivered.attempts), (200, 3));
        assert_eq!(waits, [(1, Some(401)), (2, Some(503))]);
        assert_eq!(
            *hook.refreshes.lock().unwrap(),
            [(1, "Bearer stale".to_owned())],
            "exactly one refresh"
        );
        let seen = hook.seen.lock().unwrap().clone();
        assert_eq!(
            seen.iter()
                .map(|a| (a.number, a.after_unauthorized))
                .collect::<Vec<_>>(),
            [(1, false), (2, true), (3, false)]
        );
        let requests = server.received_requests().await.unwrap();
        let counts: Vec<_> = requests
            .iter()
            .map(|r| header_of(r, "x-attempt-count"))
            .collect();
        assert_eq!(counts, ["4", "5", "6"], "the attempt header increments");
        let bearers: Vec<_> = requests
            .iter()
            .map(|r| header_of(r, "authorization"))
            .collect();
        assert_eq!(bearers, ["Bearer stale", "Bearer fresh", "Bearer fresh"]);
        verify_all("whsec", &requests);
    }

    #[tokio::test]
    async fn a_second_401_is_final_and_the_hook_still_hears_of_it() {
        let server = MockServer::start().await;
        let refusal = ResponseTemplate::new(401).set_body_string("who are you");
        answer(&server, None, refusal, None).await;
        let hook = Replay::new(0, &["a", "b", "c"]);
        let err = client("whsec", 5)
            .post_with(
                &url(&server),
                Bytes::from_static(b"{}"),
                &hook,
                |_, _, _| {},
            )
            .await
            .unwrap_err();
        assert_eq!((err.attempts, err.reason), (2, GiveUp::Permanent), "{err}");
        assert_eq!(err.status(), Some(401));
        assert_eq!(server.received_requests().await.unwrap().len(), 2);
        assert_eq!(
            *hook.refreshes.lock().unwrap(),
            [(1, "Bearer a".to_owned()), (2, "Bearer b".to_owned())],
            "both refused tokens were forgotten, only the first 401 was retried"
        );
    }

    #[tokio::test]
    async fn worst_case_sends_equal_the_policys_attempts() {
        // Every attempt fails, the first with a 401 that is refreshed: the refresh is one of the
        // policy's attempts, not an extra one.
        for attempts in [1, 2, 4] {
            let server = MockServer::start().await;
            answer(&server, Some("stale"), ResponseTemplate::new(401), None).await;
            answer(&server, None, ResponseTemplate::new(502), None).await;
            let hook = Replay::new(0, &["stale", "fresh"]);
            let err = client("whsec", attempts)
                .post_with(
                    &url(&server),
                    Bytes::from_static(b"{}"),
                    &hook,
                    |_, _, _| {},
                )
                .await
                .unwrap_err();
            let sent = server.received_requests().await.unwrap();
            assert_eq!(sent.len() as u32, attempts);
            assert_eq!(err.attempts, attempts);
            if attempts > 1 {
                assert_eq!((err.reason, err.status()), (GiveUp::MaxAttempts, Some(502)));
            }
            let counts: Vec<_> = sent
                .iter()
                .map(|r| header_of(r, "x-attempt-count"))
                .collect();
            let expected: Vec<_> = (1..=attempts).map(|n| n.to_string()).collect();
            assert_eq!(counts, expected);
            verify_all("whsec", &sent);
        }
    }

    #[tokio::test]
    async fn a_hook_error_sends_nothing_and_follows_its_kind() {
        struct NoToken {
            transient: bool,
        }
        impl AttemptHook for NoToken {
            async fn headers(&self, _attempt: Attempt) -> Result<HeaderMap, HookError> {
                let cause = std::io::Error::other("token service down");
                Err(if self.transient {
                    HookError::transient(cause)
                } else {
                    HookError::permanent(cause)
                })
            }
        }
        let server = MockServer::start().await;
        for (transient, attempts) in [(true, 3), (false, 1)] {
            let err = client("whsec", 3)
                .post_with(
                    &url(&server),
                    Bytes::new(),
                    &NoToken { transient },
                    |_, _, _| {},
                )
                .await
                .unwrap_err();
            assert_eq!(err.attempts, attempts, "{err}");
            assert!(matches!(err.last, AttemptError::Hook(_)), "{err:?}");
            assert_eq!(err.status(), None);
        }
        assert!(server.received_requests().await.unwrap().is_empty());
    }
}
