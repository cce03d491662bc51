//! One POST-with-retry for signed webhooks: one pooled rustls client (timeouts, extra roots,
//! no redirects), a fresh signature per attempt, and retry-policy's driver.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use retry_policy::{Classified, GiveUp, RetryClass, RetryPolicy};

use crate::scheme::Signer;

/// Default whole-request timeout (30 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default connect timeout (5 s).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How much of an error answer is kept (characters).
const SNIPPET: usize = 200;

/// A webhook POST failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostError {
    /// The receiver answered a non-2xx status.
    #[error("the receiver answered HTTP {status}: {body_snippet}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The start of the answer.
        body_snippet: String,
        /// The receiver's Retry-After, if any.
        retry_after: Option<Duration>,
    },
    /// No answer (connection refused, reset, TLS, timeout).
    #[error("the webhook request failed (timeout: {timeout}): {source}")]
    Transport {
        /// Whether it timed out.
        timeout: bool,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// The HTTP client could not be built.
    #[error("the HTTP client could not be built: {0}")]
    Client(#[source] reqwest::Error),
    /// Every attempt the policy allowed failed.
    #[error("gave up after {attempts} attempts in {elapsed:?} ({reason}): {last}")]
    RetriesExhausted {
        /// Attempts made.
        attempts: u32,
        /// Time spent.
        elapsed: Duration,
        /// Why the driver stopped.
        reason: GiveUp,
        /// The last failure.
        last: Box<PostError>,
    },
}

impl PostError {
    /// The receiver's status, looking through retries.
    pub fn status(&self) -> Option<u16> {
        match self {
            PostError::Rejected { status, .. } => Some(*status),
            PostError::RetriesExhausted { last, .. } => last.status(),
            _ => None,
        }
    }

    fn class(&self) -> RetryClass {
        match self {
            PostError::Rejected {
                status,
                retry_after,
                ..
            } => RetryClass::from_status(*status, *retry_after),
            PostError::Transport { timeout: true, .. } => RetryClass::timeout(),
            PostError::Transport { .. } => RetryClass::retry(),
            _ => RetryClass::Fail,
        }
    }
}

/// Sends signed JSON POSTs with retries. Cheap to clone (the connection pool is shared).
///
/// Every attempt is retried on 408/429/5xx (honouring Retry-After) and on transport errors,
/// including a timeout after the body was sent: receivers must deduplicate (send an
/// idempotency key header). Each attempt is signed anew, so a late retry is not stale.
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
    timeout: Duration,
    connect_timeout: Duration,
    roots: Vec<reqwest::Certificate>,
    user_agent: String,
}

impl WebhookClient {
    /// A builder: unsigned, [`RetryPolicy::default`], default timeouts, platform roots.
    pub fn builder() -> WebhookClientBuilder {
        WebhookClientBuilder {
            signer: None,
            policy: RetryPolicy::default(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            roots: Vec::new(),
            user_agent: concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION")).to_owned(),
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

    /// POSTs `body` (`Content-Type: application/json`) with `headers`, signed when a signer is
    /// set, retried per the policy. `notify(&error, attempt, delay)` runs before each wait.
    pub async fn post<N>(
        &self,
        url: &reqwest::Url,
        body: Bytes,
        headers: &[(HeaderName, HeaderValue)],
        notify: N,
    ) -> Result<(), PostError>
    where
        N: FnMut(&PostError, u32, Duration),
    {
        retry_policy::retry_classified(
            &self.policy,
            |_| {
                let body = body.clone();
                async move {
                    self.post_once(url, body, headers).await.map_err(|e| {
                        let class = e.class();
                        Classified::new(e, class)
                    })
                }
            },
            notify,
        )
        .await
        .map_err(|stopped| {
            if stopped.attempts == 1 {
                stopped.last
            } else {
                PostError::RetriesExhausted {
                    attempts: stopped.attempts,
                    elapsed: stopped.elapsed,
                    reason: stopped.reason,
                    last: Box::new(stopped.last),
                }
            }
        })
    }

    async fn post_once(
        &self,
        url: &reqwest::Url,
        body: Bytes,
        headers: &[(HeaderName, HeaderValue)],
    ) -> Result<(), PostError> {
        let mut map = HeaderMap::new();
        map.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (name, value) in headers {
            map.insert(name.clone(), value.clone());
        }
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
            .map_err(|e| PostError::Transport {
                timeout: e.is_timeout(),
                source: e.without_url(),
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = retry_policy::retry_after(response.headers());
        // Read only what the snippet keeps: an error answer can be arbitrarily large.
        let mut response = response;
        let mut head = Vec::new();
        while head.len() < SNIPPET * 4 {
            match response.chunk().await {
                Ok(Some(chunk)) => head.extend_from_slice(&chunk),
                _ => break,
            }
        }
        head.truncate(SNIPPET * 4);
        Err(PostError::Rejected {
            status: status.as_u16(),
            body_snippet: String::from_utf8_lossy(&head)
                .chars()
                .take(SNIPPET)
                .collect(),
            retry_after,
        })
    }
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

    /// Whole-request timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Trusts this root certificate too (a private CA); verification stays on.
    pub fn add_root_certificate(mut self, root: reqwest::Certificate) -> Self {
        self.roots.push(root);
        self
    }

    /// The `User-Agent` sent.
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = agent.into();
        self
    }

    /// The client for a request of the given settings; see [`WebhookClientBuilder::build`].
    pub fn build_http(&self) -> Result<reqwest::Client, PostError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(self.user_agent.clone())
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none());
        if !self.roots.is_empty() {
            builder = builder.tls_certs_merge(self.roots.clone());
        }
        builder.build().map_err(PostError::Client)
    }

    /// Builds the client (rustls, platform roots plus the added ones, no redirects).
    pub fn build(self) -> Result<WebhookClient, PostError> {
        let http = self.build_http()?;
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
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for WebhookClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookClientBuilder")
            .field("signed", &self.signer.is_some())
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("roots", &self.roots.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{SIGNATURE_HEADER, TIMESTAMP_HEADER, Verifier};
    use retry_policy::Backoff;
    use secrecy::SecretString;
    use wiremock::matchers::{header, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn client(secret: &str) -> WebhookClient {
        WebhookClient::builder()
            .signer(Signer::new(SecretString::from(secret)).unwrap())
            .retry_policy(
                RetryPolicy::builder()
                    .max_attempts(3)
                    .backoff(Backoff::constant(Duration::from_millis(2)))
                    .no_budget()
                    .build(),
            )
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn posts_signed_and_retries_5xx_up_to_the_policy() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(header("idempotency-key", "k-1"))
            .respond_with(ResponseTemplate::new(202))
            .mount(&server)
            .await;
        let url = reqwest::Url::parse(&server.uri()).unwrap();
        let key = (
            HeaderName::from_static("idempotency-key"),
            HeaderValue::from_static("k-1"),
        );
        let mut retries = 0;
        client("s3cret")
            .post(&url, Bytes::from_static(b"{\"a\":1}"), &[key], |_, _, _| {
                retries += 1
            })
            .await
            .unwrap();
        assert_eq!(retries, 1);
        let requests = server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 2);
        let verifier = Verifier::new(vec![SecretString::from("s3cret")]).unwrap();
        for r in &requests {
            assert!(r.headers.contains_key(TIMESTAMP_HEADER));
            assert!(r.headers.contains_key(SIGNATURE_HEADER));
            verifier.verify(&r.headers, &r.body).unwrap();
        }
    }

    #[tokio::test]
    async fn gives_up_after_the_policys_attempts_and_not_on_4xx() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(500).set_body_string("down"))
            .mount(&server)
            .await;
        let url = reqwest::Url::parse(&server.uri()).unwrap();
        let err = client("k")
            .post(&url, Bytes::new(), &[], |_, _, _| {})
            .await
            .unwrap_err();
        assert!(
            matches!(
                &err,
                PostError::RetriesExhausted {
                    attempts: 3,
                    reason: GiveUp::MaxAttempts,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.status(), Some(500));
        assert_eq!(server.received_requests().await.unwrap().len(), 3);

        let refusing = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(401))
            .mount(&refusing)
            .await;
        let url = reqwest::Url::parse(&refusing.uri()).unwrap();
        let err = client("k")
            .post(&url, Bytes::new(), &[], |_, _, _| {})
            .await
            .unwrap_err();
        assert!(
            matches!(err, PostError::Rejected { status: 401, .. }),
            "{err:?}"
        );
        assert_eq!(refusing.received_requests().await.unwrap().len(), 1);
    }
}
