//! The toolkit's own hops agree on one signature: a dead letter replayed by an [`HttpTarget`]
//! with a signing secret is accepted by the toolkit's own [`WebhookIngest`] (over a real
//! socket), body byte for byte; a target signing with another secret, or not at all, is refused.
#![allow(clippy::unwrap_used)]

mod dlq_support;

use std::time::Duration;

use retry_policy::RetryPolicy;
use secrecy::SecretString;
use sqs_dlq::dead_letter::{DeadLetter, HttpTarget, ReplayError, ReplayTarget};
use sqs_dlq::http::WebhookIngest;
use sqs_dlq::queue::{MemoryQueue, Queue, ReceiveOptions};

const SECRET: &str = "whsec-replay-1";

/// Serves an ingest that requires `SECRET` on a local port; returns its URL and its queue.
async fn ingest() -> (String, MemoryQueue) {
    let queue = MemoryQueue::new("ingested");
    let router = WebhookIngest::builder(queue.clone())
        .path("/hooks")
        .signing_secret(SecretString::from(SECRET))
        .router()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}/hooks"), queue)
}

fn letter() -> DeadLetter {
    DeadLetter::from_received(dlq_support::fixture("throttling").received())
}

fn target(url: &str, secret: Option<&str>) -> HttpTarget {
    let builder = HttpTarget::builder(url).retry_policy(RetryPolicy::no_retry());
    match secret {
        Some(secret) => builder.signing_secret(SecretString::from(secret)),
        None => builder,
    }
    .build()
    .unwrap()
}

async fn queued(queue: &MemoryQueue) -> Vec<String> {
    let opts = ReceiveOptions::default().wait_time(Duration::ZERO);
    let got = queue.receive(&opts).await.unwrap();
    got.into_iter().map(|m| m.body).collect()
}

#[tokio::test]
async fn the_toolkits_ingest_accepts_a_signed_replay() {
    let (url, queue) = ingest().await;
    let letter = letter();
    let results = target(&url, Some(SECRET))
        .deliver(std::slice::from_ref(&letter))
        .await;
    let accepted = results[0]
        .as_ref()
        .expect("the ingest accepts the signed replay");
    assert_eq!(accepted.status, Some(202));
    assert_eq!(queued(&queue).await, [letter.raw_body().to_owned()]);
}

#[tokio::test]
async fn a_replay_signed_with_another_secret_or_unsigned_is_refused() {
    let (url, queue) = ingest().await;
    let letter = letter();
    for secret in [Some("another-secret"), None] {
        let results = target(&url, secret)
            .deliver(std::slice::from_ref(&letter))
            .await;
        let rejected = results[0].as_ref().expect_err("refused");
        assert_eq!(rejected.status, Some(401), "{secret:?}: {rejected:?}");
        assert!(!rejected.retryable);
    }
    assert!(queued(&queue).await.is_empty());
}

#[test]
fn a_blank_signing_secret_fails_the_build() {
    let built = HttpTarget::builder("https://events.example.com/in")
        .signing_secret(SecretString::from("  "))
        .build();
    assert!(
        matches!(built, Err(ReplayError::WeakSecret(_))),
        "{built:?}"
    );
}
