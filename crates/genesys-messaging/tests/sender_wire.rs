//! The sender against wiremock (a stand-in that is not our simulator): a send is repeated only
//! when it provably did not happen.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use genesys_auth::{GenesysClient, Region, StaticToken};
use genesys_messaging::MessagingError;
use genesys_messaging::sender::{MessageSender, OutboundMessage};
use retry_policy::metric_names::RETRIES;
use retry_policy::test_util::MetricsCapture;
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SEND: &str = "/api/v2/conversations/messages/c1/communications/m1/messages";

fn answer() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(
        r#"{"id": "msg-1", "conversationId": "c1", "status": "sent"}"#,
        "application/json",
    )
}

fn fail(status: u16) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(
        r#"{"message": "boom", "code": "x", "status": 503}"#,
        "application/json",
    )
}

async fn send(client: &GenesysClient, retry_uncertain: bool) -> Result<String, MessagingError> {
    let sender = MessageSender::builder(client)
        .workers(1)
        .retry_uncertain_sends(retry_uncertain)
        .build()
        .unwrap();
    let outcome = sender
        .submit(OutboundMessage::agent_text("c1", "m1", "hello"))
        .await
        .unwrap()
        .await;
    sender.shutdown().await;
    outcome.map(|m| m.id)
}

/// The first send gets a 503, every later one succeeds.
async fn one_503_then_success(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(fail(503))
        .up_to_n_times(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(answer())
        .mount(server)
        .await;
}

async fn sends(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

#[tokio::test]
async fn a_5xx_is_an_unknown_outcome_and_is_sent_once_unless_the_caller_opts_in() {
    let server = MockServer::start().await;
    one_503_then_success(&server).await;
    let client = common::mock_client(&server.uri());
    match send(&client, false).await {
        Err(MessagingError::OutcomeUnknown(e)) => assert_eq!(e.status(), Some(503)),
        other => panic!("expected OutcomeUnknown, got {other:?}"),
    }
    assert_eq!(sends(&server).await, 1, "not repeated");

    server.reset().await;
    one_503_then_success(&server).await;
    assert_eq!(
        send(&client, true).await.unwrap(),
        "msg-1",
        "opted in: retried"
    );
    assert_eq!(sends(&server).await, 2);
}

#[tokio::test]
async fn a_timeout_after_sending_is_an_unknown_outcome_sent_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(answer().set_delay(Duration::from_millis(800)))
        .mount(&server)
        .await;
    let url = Url::parse(&server.uri()).unwrap();
    let client = GenesysClient::builder()
        .region(Region::custom(url.clone(), url))
        .token_provider(Arc::new(StaticToken::new("t".to_owned().into())))
        .retry_policy(common::fast_policy())
        .request_timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    assert!(matches!(
        send(&client, false).await,
        Err(MessagingError::OutcomeUnknown(_))
    ));
    assert_eq!(sends(&server).await, 1);
}

#[tokio::test]
async fn a_429_and_a_refused_connection_are_retried() {
    let m = MetricsCapture::install_local();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "0")
                .set_body_raw(r#"{"message": "slow down", "code": "too.many.requests.retry.after", "status": 429}"#, "application/json"),
        )
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(answer())
        .mount(&server)
        .await;
    let client = common::mock_client(&server.uri());
    assert_eq!(send(&client, false).await.unwrap(), "msg-1");
    assert_eq!(sends(&server).await, 3, "two 429s, then the send");

    // Nothing listens on this port: the connection is refused before a byte is sent.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let refused = common::mock_client(&format!("http://127.0.0.1:{port}"));
    let retries_before = m.counter(RETRIES, &[]);
    match send(&refused, false).await {
        Err(MessagingError::Send(_)) => {}
        other => panic!("a refused connection is a plain failure, got {other:?}"),
    }
    assert!(
        m.counter(RETRIES, &[]) > retries_before,
        "a refused connection is retried: {:?}",
        m.keys()
    );
}
