//! One retry loop per logical request: the worst case of sends is the policy's attempt count,
//! never the product of two layered policies. Real sockets (wiremock counts every request),
//! real time with millisecond waits.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use genesys_auth::{GenesysClient, GenesysError, Region, StaticToken};
use genesys_messaging::history::{ConversationHistory, GuestSession, HistorySource};
use retry_policy::{Backoff, RetryPolicy};
use serde_json::{Value, json};
use url::Url;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const ATTEMPTS: u32 = 4;

fn policy() -> RetryPolicy {
    RetryPolicy::builder()
        .max_attempts(ATTEMPTS)
        .backoff(Backoff::constant(Duration::from_millis(2)))
        .retry_after_floor(Duration::from_millis(2))
        .max_elapsed(Duration::from_secs(20))
        .no_budget()
        .build()
}

fn client(server: &MockServer) -> GenesysClient {
    let url = Url::parse(&server.uri()).unwrap();
    GenesysClient::builder()
        .region(Region::custom(url.clone(), url))
        .token_provider(Arc::new(StaticToken::new("test-token".to_owned().into())))
        .retry_policy(policy())
        .request_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// What the server answers, by request number (1-based, counted across the test).
#[derive(Clone, Copy)]
enum Script {
    Unavailable,
    Truncated,
    /// `ATTEMPTS - 1` 503s, then a truncated 200, over and over: each truncated answer reaches
    /// the decoder only after the client's own retries, which is where a second layer of
    /// retries around the client multiplies the sends.
    UnavailableThenTruncated,
}

struct Counting {
    script: Script,
    seen: Arc<AtomicU32>,
}

impl Respond for Counting {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        let truncated = || {
            ResponseTemplate::new(200)
                .set_body_raw(r#"{"entities":[{"id":"m1"},{"id":"#, "application/json")
        };
        match self.script {
            Script::Unavailable => ResponseTemplate::new(503),
            Script::Truncated => truncated(),
            Script::UnavailableThenTruncated if n.is_multiple_of(ATTEMPTS) => truncated(),
            Script::UnavailableThenTruncated => ResponseTemplate::new(503),
        }
    }
}

async fn serve(script: Script) -> (MockServer, Arc<AtomicU32>) {
    let server = MockServer::start().await;
    let seen = Arc::new(AtomicU32::new(0));
    Mock::given(wiremock::matchers::any())
        .respond_with(Counting {
            script,
            seen: seen.clone(),
        })
        .mount(&server)
        .await;
    (server, seen)
}

#[tokio::test]
async fn a_history_page_is_sent_at_most_the_policys_attempts() {
    for script in [
        Script::Unavailable,
        Script::Truncated,
        Script::UnavailableThenTruncated,
    ] {
        let (server, seen) = serve(script).await;
        let guest = GuestSession::new(&client(&server), "guest-jwt".to_owned().into(), "c-1");
        let err = guest.fetch_page(1, 25).await.unwrap_err();
        assert_eq!(
            seen.load(Ordering::SeqCst),
            ATTEMPTS,
            "one loop: {err}; a retry layer around the client would send up to {}",
            ATTEMPTS * ATTEMPTS
        );
    }
}

#[tokio::test]
async fn a_bulk_history_read_is_sent_at_most_the_policys_attempts() {
    for script in [
        Script::Unavailable,
        Script::Truncated,
        Script::UnavailableThenTruncated,
    ] {
        let (server, seen) = serve(script).await;
        let history = ConversationHistory::new(&client(&server), "c-1").unwrap();
        assert!(history.message_ids().await.is_err());
        assert_eq!(seen.load(Ordering::SeqCst), ATTEMPTS);
    }
}

#[tokio::test]
async fn a_plain_client_call_is_sent_the_policys_attempts() {
    let (server, seen) = serve(Script::Unavailable).await;
    let err = client(&server)
        .get_json::<Value>("/api/v2/x", &[])
        .await
        .unwrap_err();
    assert_eq!(seen.load(Ordering::SeqCst), ATTEMPTS);
    assert!(
        matches!(
            err,
            GenesysError::RetriesExhausted {
                attempts: ATTEMPTS,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(503));
    // A plain call does not re-fetch a truncated answer: it may not be safe to repeat.
    let (server, seen) = serve(Script::Truncated).await;
    let err = client(&server)
        .post_json::<_, Value>("/api/v2/x", &json!({}))
        .await
        .unwrap_err();
    assert!(matches!(err, GenesysError::Decode { .. }), "{err:?}");
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_truncated_answer_fetched_whole_on_a_later_attempt_succeeds() {
    let server = MockServer::start().await;
    let seen = Arc::new(AtomicU32::new(0));
    struct ThenWhole(Arc<AtomicU32>);
    impl Respond for ThenWhole {
        fn respond(&self, _: &Request) -> ResponseTemplate {
            if self.0.fetch_add(1, Ordering::SeqCst) == 0 {
                ResponseTemplate::new(200).set_body_raw(r#"{"entities":["#, "application/json")
            } else {
                ResponseTemplate::new(200).set_body_json(json!({"entities": [], "pageCount": 1}))
            }
        }
    }
    Mock::given(wiremock::matchers::any())
        .respond_with(ThenWhole(seen.clone()))
        .mount(&server)
        .await;
    let guest = GuestSession::new(&client(&server), "guest-jwt".to_owned().into(), "c-1");
    let page = guest.fetch_page(1, 25).await.unwrap();
    assert_eq!(page.page_count, Some(1));
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}
