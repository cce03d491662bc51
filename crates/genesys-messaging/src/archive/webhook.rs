//! [`WebhookArchive`]: batches POSTed to an HTTP endpoint, signed, idempotent, retried, through
//! `signed-webhook`'s one client.

use std::fmt;
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use retry_policy::RetryPolicy;
use secrecy::SecretString;
use serde::Serialize;
use signed_webhook::{AttemptError, Signer, WebhookClient, WebhookClientBuilder};
use url::Url;

use super::batch::ArchiveBatch;
use super::sink::{ArchiveSink, SinkError};
use crate::error::{MessagingError, millis};

/// Header carrying the idempotency key (`Idempotency-Key`).
const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// Builder for [`WebhookArchive`].
pub struct WebhookArchiveBuilder {
    url: String,
    secret: Option<SecretString>,
    client: WebhookClientBuilder,
}

impl fmt::Debug for WebhookArchiveBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookArchiveBuilder")
            .field("url", &self.url)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("client", &self.client)
            .finish()
    }
}

impl WebhookArchiveBuilder {
    /// Sign every body with HMAC-SHA256 under this secret (`X-Signature-256`).
    pub fn secret(mut self, secret: SecretString) -> Self {
        self.secret = Some(secret);
        self
    }

    /// How failed POSTs are retried (default [`RetryPolicy::default`]: 4 attempts, full
    /// jitter, Retry-After honoured). 408/429/5xx and transport errors are retried; other
    /// statuses fail at once.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.client = self.client.retry_policy(policy);
        self
    }

    signed_webhook::http_settings_setters!(client, timeout = "30 s", connect_timeout = "5 s");

    /// Checks the URL and the secret, and builds the HTTP client.
    pub fn build(self) -> Result<WebhookArchive, MessagingError> {
        let url = Url::parse(&self.url).map_err(|e| MessagingError::InvalidConfig {
            setting: "webhook url",
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(MessagingError::InvalidConfig {
                setting: "webhook url",
                reason: format!("scheme {:?} is not http(s)", url.scheme()),
            });
        }
        let mut client = self.client;
        if let Some(secret) = self.secret {
            let signer = Signer::new(secret).map_err(|_| MessagingError::InvalidConfig {
                setting: "webhook secret",
                reason: "empty or whitespace: anyone could sign a batch with it".to_owned(),
            })?;
            client = client.signer(signer);
        }
        let client = client.build().map_err(|e| MessagingError::InvalidConfig {
            setting: "webhook http client",
            reason: e.to_string(),
        })?;
        Ok(WebhookArchive { url, client })
    }
}

/// Posts each batch as JSON `{conversationId, batch, messageCount, messages, exportedAt}`.
///
/// - `Idempotency-Key`: the same for the same conversation and batch range, on every retry and
///   every re-run of the export, so the receiver can drop repeats.
/// - `X-Signature-Timestamp` and `X-Signature-256: sha256=<hex>`: HMAC-SHA256 of
///   `"{timestamp}.{body}"` (the `signed-webhook` scheme, signed anew for each attempt), when a
///   secret is set: what sqs-dlq's `WebhookIngest` checks.
/// - Sent by `signed-webhook`'s [`WebhookClient`] (no redirects, retries per the
///   [`RetryPolicy`]); a batch that still fails comes back as an error.
///
/// ```no_run
/// # fn demo() -> Result<(), genesys_messaging::MessagingError> {
/// use genesys_messaging::archive::WebhookArchive;
/// let archive = WebhookArchive::builder("https://archive.example.com/genesys")
///     .secret("s3cret".to_owned().into())
///     .build()?;
/// # Ok(()) }
/// ```
pub struct WebhookArchive {
    url: Url,
    client: WebhookClient,
}

impl fmt::Debug for WebhookArchive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookArchive")
            .field("url", &self.url.as_str())
            .field("client", &self.client)
            .finish()
    }
}

impl WebhookArchive {
    /// A builder posting to `url`.
    pub fn builder(url: impl Into<String>) -> WebhookArchiveBuilder {
        WebhookArchiveBuilder {
            url: url.into(),
            secret: None,
            client: WebhookClient::builder(),
        }
    }

    /// `sha256=<hex>` for `body` signed at `timestamp` (unix seconds) under `secret`: what a
    /// receiver computes to check a request (see the `signed-webhook` crate).
    pub fn signature(secret: &SecretString, timestamp: i64, body: &[u8]) -> String {
        use secrecy::ExposeSecret as _;
        signed_webhook::signature_value(signed_webhook::mac(
            secret.expose_secret().as_bytes(),
            Some(timestamp),
            body,
        ))
    }
}

/// A failed attempt as the sink's error.
fn sink_error(error: AttemptError) -> SinkError {
    match error {
        AttemptError::Rejected {
            status,
            body_snippet,
            retry_after,
        } => SinkError::Rejected {
            status,
            body_snippet,
            retry_after,
        },
        AttemptError::Transport { timeout, source } => SinkError::Transport { timeout, source },
        other => SinkError::Webhook(other),
    }
}

#[async_trait]
impl<M: Serialize + Send + Sync> ArchiveSink<M> for WebhookArchive {
    async fn write_batch(&self, batch: &ArchiveBatch<M>) -> Result<(), SinkError> {
        let body = Bytes::from(serde_json::to_vec(batch).map_err(SinkError::Encode)?);
        let key = (
            HeaderName::from_static(IDEMPOTENCY_KEY_HEADER),
            // Hex digits only (a SHA-256), so always a valid header value.
            HeaderValue::try_from(batch.idempotency_key())
                .expect("an idempotency key is hex digits"),
        );
        let started = Instant::now();
        let result = self
            .client
            .post(&self.url, body, &[key], |error, attempt, delay| {
                tracing::warn!(batch = batch.batch, attempt, delay_ms = millis(delay), error = %error, "archive batch failed; retrying");
            })
            .await;
        match result {
            Ok(_) => {
                tracing::debug!(
                    batch = batch.batch,
                    messages = batch.message_count,
                    elapsed_ms = millis(started.elapsed()),
                    "archive batch stored"
                );
                Ok(())
            }
            Err(e) => Err(SinkError::RetriesExhausted {
                attempts: e.attempts,
                elapsed: e.elapsed,
                reason: e.reason,
                last: Box::new(sink_error(e.last)),
            }),
        }
    }

    async fn finish(&self) -> Result<(), SinkError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{ArchiveBatch, Verbatim};
    use retry_policy::Backoff;
    use signed_webhook::SIGNATURE_HEADER;
    use std::time::Duration;
    use wiremock::matchers::{header_exists, method};
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};

    fn fast_policy(attempts: u32) -> RetryPolicy {
        RetryPolicy::builder()
            .max_attempts(attempts)
            .backoff(Backoff::constant(Duration::from_millis(5)))
            .retry_after_floor(Duration::from_millis(5))
            .no_budget()
            .build()
    }

    fn batch() -> ArchiveBatch<serde_json::Value> {
        ArchiveBatch::new(
            "conv-1",
            2,
            200,
            vec![
                serde_json::json!({"id": "a"}),
                serde_json::json!({"id": "b"}),
            ],
        )
    }

    #[tokio::test]
    async fn signs_and_retries_until_accepted() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(2)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(header_exists(SIGNATURE_HEADER))
            .respond_with(ResponseTemplate::new(204))
            .mount(&server)
            .await;
        let secret: SecretString = "top-secret".to_owned().into();
        let archive = WebhookArchive::builder(server.uri())
            .secret(secret.clone())
            .retry_policy(fast_policy(4))
            .build()
            .unwrap();
        let b = batch();
        archive.write_batch(&b).await.unwrap();

        let requests: Vec<Request> = server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 3, "two 503s then success");
        let first = &requests[0];
        for r in &requests {
            assert_eq!(r.body, first.body, "every attempt sends the same bytes");
            assert_eq!(
                r.headers
                    .get(IDEMPOTENCY_KEY_HEADER)
                    .unwrap()
                    .to_str()
                    .unwrap(),
                b.idempotency_key()
            );
            // Verified as a receiver would: over "{timestamp}.{body}", with the shared verifier.
            let verifier = signed_webhook::Verifier::new(vec![secret.clone()]).unwrap();
            verifier.verify(&r.headers, &r.body).unwrap();
        }
        let body: serde_json::Value = serde_json::from_slice(&first.body).unwrap();
        assert_eq!(body["conversationId"], "conv-1");
        assert_eq!(body["batch"], 2);
        assert_eq!(body["messageCount"], 2);
        assert_eq!(body["messages"][1]["id"], "b");
        assert!(body["exportedAt"].is_string());
    }

    #[test]
    fn an_empty_or_blank_secret_is_refused() {
        for blank in ["", "  \t"] {
            let built = WebhookArchive::builder("https://archive.example.com/x")
                .secret(blank.to_owned().into())
                .build();
            assert!(
                matches!(
                    built,
                    Err(MessagingError::InvalidConfig {
                        setting: "webhook secret",
                        ..
                    })
                ),
                "{blank:?}"
            );
        }
    }

    /// A mock endpoint answering every POST 200, and an archive without a secret posting to it.
    async fn unsigned_archive_answering_200() -> (MockServer, WebhookArchive) {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        let archive = WebhookArchive::builder(server.uri()).build().unwrap();
        (server, archive)
    }

    #[tokio::test]
    async fn verbatim_messages_reach_the_endpoint_byte_for_byte() {
        let (server, archive) = unsigned_archive_answering_200().await;
        let raw = super::super::verbatim::tests::HOSTILE_NUMBERS;
        let message = Verbatim::<serde_json::Value>::from_json(raw).unwrap();
        archive
            .write_batch(&ArchiveBatch::new("conv-1", 0, 0, vec![message]))
            .await
            .unwrap();
        let requests = server.received_requests().await.unwrap();
        let body = String::from_utf8(requests[0].body.clone()).unwrap();
        assert!(body.contains(raw), "{body}");
    }

    #[tokio::test]
    async fn wrong_secret_does_not_verify() {
        let good: SecretString = "a".to_owned().into();
        let bad: SecretString = "b".to_owned().into();
        assert_ne!(
            WebhookArchive::signature(&good, 1, b"{}"),
            WebhookArchive::signature(&bad, 1, b"{}")
        );
        assert_ne!(
            WebhookArchive::signature(&good, 1, b"{}"),
            WebhookArchive::signature(&good, 1, b"{ }")
        );
        assert_ne!(
            WebhookArchive::signature(&good, 1, b"{}"),
            WebhookArchive::signature(&good, 2, b"{}"),
            "the timestamp is signed"
        );
    }

    #[tokio::test]
    async fn unsigned_without_secret() {
        let (server, archive) = unsigned_archive_answering_200().await;
        archive.write_batch(&batch()).await.unwrap();
        let requests = server.received_requests().await.unwrap();
        assert!(requests[0].headers.get(SIGNATURE_HEADER).is_none());
    }

    #[tokio::test]
    async fn final_failure_is_an_error_with_the_cause() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(500).set_body_string("db down"))
            .mount(&server)
            .await;
        let archive = WebhookArchive::builder(server.uri())
            .retry_policy(fast_policy(3))
            .build()
            .unwrap();
        let err = archive.write_batch(&batch()).await.unwrap_err();
        match err {
            SinkError::RetriesExhausted { attempts, last, .. } => {
                assert_eq!(attempts, 3);
                assert!(
                    matches!(*last, SinkError::Rejected { status: 500, ref body_snippet, .. } if body_snippet == "db down")
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(server.received_requests().await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn client_errors_are_not_retried() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(400))
            .mount(&server)
            .await;
        let archive = WebhookArchive::builder(server.uri())
            .retry_policy(fast_policy(4))
            .build()
            .unwrap();
        assert!(archive.write_batch(&batch()).await.is_err());
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }

    #[test]
    fn rejects_non_http_urls_and_hides_the_secret() {
        assert!(WebhookArchive::builder("ftp://x").build().is_err());
        assert!(WebhookArchive::builder("not a url").build().is_err());
        let b = WebhookArchive::builder("https://x.example").secret("hunter2".to_owned().into());
        assert!(!format!("{b:?}").contains("hunter2"));
        assert!(!format!("{:?}", b.build().unwrap()).contains("hunter2"));
    }
}
