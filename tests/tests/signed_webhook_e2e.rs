//! The toolkit's own signed sender is accepted by its own signed receiver: a `WebhookArchive`
//! batch POSTed over a real socket to sqs-dlq's `WebhookIngest` is verified and queued (202).
//! Before the `signed-webhook` crate the archive signed the body alone and the ingest refused it.
#![allow(clippy::unwrap_used)]

use genesys_messaging::archive::{ArchiveBatch, ArchiveSink, SinkError, WebhookArchive};
use retry_policy::{Backoff, RetryPolicy};
use secrecy::SecretString;
use serde_json::{Value, json};
use sqs_dlq::http::WebhookIngest;
use sqs_dlq::queue::MemoryQueue;
use std::time::Duration;

const SECRET: &str = "an-archive-secret-of-32-bytes-or-more";

async fn ingest(secrets: &[&str]) -> (MemoryQueue, String) {
    let queue = MemoryQueue::new("archive-ingest");
    let mut builder = WebhookIngest::builder(queue.clone());
    for s in secrets {
        builder = builder.signing_secret(SecretString::from(*s));
    }
    let app = builder.router().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (queue, format!("http://{addr}/"))
}

fn archive(url: &str, secret: &str) -> WebhookArchive {
    WebhookArchive::builder(url)
        .secret(SecretString::from(secret))
        .retry_policy(
            RetryPolicy::builder()
                .max_attempts(2)
                .backoff(Backoff::constant(Duration::from_millis(5)))
                .no_budget()
                .build(),
        )
        .build()
        .unwrap()
}

fn batch() -> ArchiveBatch<Value> {
    ArchiveBatch::new(
        "conv-1",
        1,
        0,
        vec![
            json!({"id": "m-1", "text": "hello"}),
            json!({"id": "m-2", "text": "bye"}),
        ],
    )
}

#[tokio::test]
async fn an_archive_batch_is_accepted_by_the_ingest() {
    let (queue, url) = ingest(&[SECRET]).await;
    archive(&url, SECRET).write_batch(&batch()).await.unwrap();
    assert_eq!(queue.depth().visible, 1, "the batch was queued");
}

#[tokio::test]
async fn rotation_and_a_wrong_secret() {
    // The ingest accepts the new and the old secret during a rotation.
    let (queue, url) = ingest(&["the-new-secret-of-32-bytes-or-more!!", SECRET]).await;
    archive(&url, SECRET).write_batch(&batch()).await.unwrap();
    assert_eq!(queue.depth().visible, 1);
    // A sender with a secret the ingest does not hold is refused (401), not retried into it.
    let (queue, url) = ingest(&[SECRET]).await;
    let err = archive(&url, "some-other-secret-of-32-bytes-or-more")
        .write_batch(&batch())
        .await
        .unwrap_err();
    match &err {
        SinkError::RetriesExhausted {
            attempts: 1, last, ..
        } => assert!(
            matches!(**last, SinkError::Rejected { status: 401, .. }),
            "{err:?}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(queue.depth().visible, 0);
}
