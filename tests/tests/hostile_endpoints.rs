//! Hostile input at every entry point that reads from outside, one test per threat (each named
//! in SECURITY.md): ids with `/`, `..`, `?`, `#` going into URL paths; deeply nested JSON;
//! invalid UTF-8; wrong types and huge numbers; oversized bodies; SSRF URLs. Forged and
//! replayed signatures are in `hostile_parsers.rs` (proptests) and `hostile_replay.rs`.
//!
//! The Genesys side is a local axum server that records the raw request target of every call
//! and answers whatever the test sets; nothing leaves 127.0.0.1.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use futures::StreamExt;
use genesys_analytics::{
    Analytics, AnalyticsClient, AnalyticsError, JobId, parse_conversation_page,
};
use genesys_auth::{
    AuthError, ClientCredentials, ClientCredentialsProvider, GenesysClient, GenesysError, Region,
    StaticToken, TokenProvider, encode_path_segment,
};
use genesys_messaging::MessagingError;
use genesys_messaging::history::{ConversationHistory, GuestSession, HistoryExport, HistorySource};
use genesys_messaging::media::{BlockReason, MediaStatus, MediaVerifier};
use retry_policy::RetryPolicy;
use secrecy::SecretString;
use serde_json::Value;
use sqs_dlq::consumer::{Decode, Json};
use sqs_dlq::dead_letter::{DeadLetter, ParseError, QueueTarget, Replay};
use sqs_dlq::http::{DeadLetterReceiver, WebhookIngest};
use sqs_dlq::queue::{AttributeValue, Attributes, MemoryQueue, ReceivedMessage};
use tower::ServiceExt;

// --- a recording Genesys stand-in ---------------------------------------------------------

#[derive(Clone, Default)]
struct Stand {
    seen: Arc<Mutex<Vec<String>>>,
    answer: Arc<Mutex<(u16, Vec<u8>)>>,
}

impl Stand {
    async fn start() -> (Stand, url::Url) {
        let stand = Stand {
            answer: Arc::new(Mutex::new((200, b"{}".to_vec()))),
            ..Stand::default()
        };
        let app = Router::new()
            .fallback(|State(s): State<Stand>, req: Request| async move {
                s.seen.lock().unwrap().push(req.uri().to_string());
                let (status, body) = s.answer.lock().unwrap().clone();
                (StatusCode::from_u16(status).unwrap(), body).into_response()
            })
            .with_state(stand.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (stand, url::Url::parse(&format!("http://{addr}/")).unwrap())
    }

    fn answer(&self, status: u16, body: impl Into<Vec<u8>>) {
        *self.answer.lock().unwrap() = (status, body.into());
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn client(base: &url::Url, max_body: usize) -> GenesysClient {
    GenesysClient::builder()
        .region(Region::custom(base.clone(), base.clone()))
        .token_provider(Arc::new(StaticToken::new(SecretString::from(
            "hostile-token",
        ))))
        .retry_policy(RetryPolicy::no_retry())
        .max_body_bytes(max_body)
        .request_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn nested(depth: usize) -> Vec<u8> {
    let mut body = vec![b'['; depth];
    body.extend(std::iter::repeat_n(b']', depth));
    body
}

/// `{"entities":[X],"conversations":[X]}` with X = `{"a":{"a":…1}}` `depth` deep: the depth
/// sits where each parser reads (an ignored field would be skipped without recursion).
fn nested_object(depth: usize) -> Vec<u8> {
    let mut x = Vec::new();
    x.extend(std::iter::repeat_n(b"{\"a\":".as_slice(), depth).flatten());
    x.extend(b"1");
    x.extend(std::iter::repeat_n(b'}', depth));
    let mut body = b"{\"entities\":[".to_vec();
    body.extend(&x);
    body.extend(b"],\"conversations\":[");
    body.extend(&x);
    body.extend(b"]}");
    body
}

const INVALID_UTF8: &[u8] =
    b"{\"conversations\":[{\"conversationId\":\"\xff\xfe\xc3\"}],\"totalHits\":1}";

// --- ids in URL paths ---------------------------------------------------------------------

#[tokio::test]
async fn ids_with_slash_dotdot_query_hash_are_escaped_or_refused_before_the_wire() {
    let (stand, base) = Stand::start().await;
    let genesys = client(&base, 1 << 20);
    let analytics = AnalyticsClient::new(genesys.clone());
    stand.answer(404, r#"{"code":"not.found","status":404}"#);

    let hostile = "../../users/me?x=1#frag";
    assert_eq!(analytics.details(hostile).await.unwrap(), None);
    let job = JobId::new("a/../b?c#d");
    let _ = analytics.job_status(&job).await;
    stand.answer(200, r#"{"entities":[]}"#);
    let history = ConversationHistory::new(&genesys, "conv/../../x?y#z").unwrap();
    let _ = history.fetch_page(1, 10).await;

    let seen = stand.seen();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(
        seen[0],
        "/api/v2/analytics/conversations/..%2F..%2Fusers%2Fme%3Fx%3D1%23frag/details"
    );
    assert!(seen[1].ends_with("/a%2F..%2Fb%3Fc%23d"), "{seen:?}");
    assert!(
        seen[2].starts_with("/api/v2/conversations/messages/conv%2F..%2F..%2Fx%3Fy%23z"),
        "{seen:?}"
    );
    for target in &seen {
        let path = target.split('?').next().unwrap();
        assert!(!path.split('/').any(|s| s == ".." || s == "."), "{target}");
        assert!(!target.contains('#'), "{target}");
    }

    // Whole-segment dot ids and control characters never reach the wire.
    for bad in ["..", ".", "", "a\nb", "a\u{0}b"] {
        assert!(encode_path_segment(bad).is_err(), "{bad:?}");
        assert!(
            matches!(
                analytics.details(bad).await,
                Err(AnalyticsError::Request(_))
            ),
            "{bad:?}"
        );
        assert!(
            matches!(
                ConversationHistory::new(&genesys, bad),
                Err(MessagingError::InvalidId(_))
            ),
            "{bad:?}"
        );
    }
    assert_eq!(stand.seen().len(), 3, "refused ids made no request");
}

#[tokio::test]
async fn request_paths_cannot_leave_the_api_host() {
    let (stand, base) = Stand::start().await;
    let genesys = client(&base, 1 << 20);
    stand.answer(200, r#"{"from":"the api host"}"#);
    let mut sent = 0;
    for path in [
        "https://evil.example/x",
        "//evil.example/x",
        "http:evil.example",
        "api/v2/no-slash",
        "/\\evil.example/x",
    ] {
        // Either refused as input, or sent to the configured API host: the path only ever
        // replaces the URL's path, never its host (no internet here, so another host would
        // fail to connect).
        match genesys.get_json::<Value>(path, &[]).await {
            Err(GenesysError::InvalidInput(_)) => {}
            Ok(v) => {
                assert_eq!(v["from"], "the api host", "{path}");
                sent += 1;
            }
            Err(other) => panic!("{path}: {other:?}"),
        }
    }
    assert_eq!(stand.seen().len(), sent);
}

// --- deeply nested JSON -------------------------------------------------------------------

#[tokio::test]
async fn deeply_nested_json_is_a_typed_error_at_every_parser() {
    let (stand, base) = Stand::start().await;
    let genesys = client(&base, 16 << 20);
    for body in [nested(50_000), nested_object(10_000)] {
        // the pipeline
        stand.answer(200, body.clone());
        let r = genesys.get_json::<Value>("/api/v2/anything", &[]).await;
        assert!(matches!(r, Err(GenesysError::Decode { .. })), "{r:?}");
        // web messaging history
        let guest = GuestSession::new(&genesys, SecretString::from("guest-jwt"), "c-1");
        assert!(matches!(
            guest.fetch_page(1, 25).await,
            Err(MessagingError::Page { .. })
        ));
        // analytics
        assert!(matches!(
            parse_conversation_page(&body),
            Err(AnalyticsError::InvalidResponse { .. })
        ));
        // token answers (kept under the token answer limit, so the depth is what fails)
        let provider = token_provider(&base);
        stand.answer(200, nested(10_000));
        assert!(matches!(
            provider.access_token().await,
            Err(AuthError::MalformedTokenResponse { .. })
        ));
        // EventBridge dead letters are kept, with the reason
        let letter = DeadLetter::parse(
            "m-1",
            String::from_utf8(body.clone()).unwrap(),
            Attributes::new(),
        );
        assert!(matches!(
            letter.parse_error(),
            Some(ParseError::NotJson { .. } | ParseError::NotAnEvent { .. })
        ));
        assert_eq!(letter.raw_body().len(), body.len(), "nothing dropped");
        // HTTP ingest parses the body as serde_json does downstream, depth limit included:
        // refused with 400 at the edge rather than queued as a poison message.
        assert_eq!(ingest_signed(&body).await, StatusCode::BAD_REQUEST);
        // Should such a body reach a queue another way, the consumer's decoder refuses it
        // (a poison message for the DLQ, with the reason), never a crash.
        let queued = ReceivedMessage::new(
            "m-1",
            "r-1",
            String::from_utf8(body.clone()).unwrap(),
            Attributes::new(),
            1,
            None,
        );
        assert!(<Json<Value> as Decode>::decode(&queued).is_err());
        // The dead-letter receiver parses before replaying: refused with 400.
        assert_eq!(receive_signed(&body).await, StatusCode::BAD_REQUEST);
    }
}

// --- invalid UTF-8 ------------------------------------------------------------------------

#[tokio::test]
async fn invalid_utf8_is_a_typed_error_at_every_parser() {
    let (stand, base) = Stand::start().await;
    let genesys = client(&base, 1 << 20);
    stand.answer(200, INVALID_UTF8);
    assert!(matches!(
        genesys.get_json::<Value>("/api/v2/x", &[]).await,
        Err(GenesysError::Decode { .. })
    ));
    let guest = GuestSession::new(&genesys, SecretString::from("guest-jwt"), "c-1");
    let page = br#"{"entities":[{"id":"ok-1","type":"Text","text":"hi"},{"id":"bad","text":"#;
    let mut bad_page = page.to_vec();
    bad_page.extend(b"\"\xff\xfe\"}],\"pageCount\":1}");
    stand.answer(200, bad_page);
    assert!(matches!(
        guest.fetch_page(1, 25).await,
        Err(MessagingError::Page { .. })
    ));
    assert!(matches!(
        parse_conversation_page(INVALID_UTF8),
        Err(AnalyticsError::InvalidResponse { .. })
    ));
    let provider = token_provider(&base);
    stand.answer(
        200,
        b"{\"access_token\":\"\xff\xfe\",\"expires_in\":60}".to_vec(),
    );
    assert!(matches!(
        provider.access_token().await,
        Err(AuthError::MalformedTokenResponse { .. })
    ));
    // ingest: valid JSON syntax around invalid UTF-8 is still refused (400), never queued
    // a lone surrogate escape is well-formed by the grammar but no decoder here reads it
    assert_eq!(
        ingest_signed(br#"{"a\ud800":1}"#).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        ingest_signed(b"{\"a\":\"\xff\"}").await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        receive_signed(b"{\"a\":\"\xff\"}").await,
        StatusCode::BAD_REQUEST
    );
    // the error snippet of an API error is lossy text, not a panic
    stand.answer(500, b"\xff\xfe error \xc3".to_vec());
    match genesys.get_json::<Value>("/api/v2/x", &[]).await {
        Err(GenesysError::Api(e)) => assert!(e.body_snippet.contains("error")),
        other => panic!("{other:?}"),
    }
}

// --- wrong types and huge numbers ---------------------------------------------------------

#[tokio::test]
async fn wrong_types_and_huge_numbers_are_typed_errors_or_clamped() {
    let (stand, base) = Stand::start().await;
    let genesys = client(&base, 1 << 20);
    // analytics: totalHits as a string, negative, beyond u64, 1e400
    for body in [
        r#"{"totalHits":"7"}"#,
        r#"{"totalHits":-1}"#,
        r#"{"totalHits":18446744073709551616}"#,
        r#"{"totalHits":1e400}"#,
        r#"{"conversations":{"conversationId":"x"}}"#,
    ] {
        assert!(
            matches!(
                parse_conversation_page(body.as_bytes()),
                Err(AnalyticsError::InvalidResponse { .. })
            ),
            "{body}"
        );
    }
    // web messaging: pageCount beyond u32, a string, entities not a list
    let guest = GuestSession::new(&genesys, SecretString::from("guest-jwt"), "c-1");
    for body in [
        r#"{"entities":[],"pageCount":99999999999}"#,
        r#"{"entities":[],"pageCount":"3"}"#,
        r#"{"entities":{"id":"x"}}"#,
    ] {
        stand.answer(200, body);
        assert!(
            matches!(
                guest.fetch_page(1, 25).await,
                Err(MessagingError::Page { .. })
            ),
            "{body}"
        );
    }
    // one message of the wrong shape fails alone: the export reports it, keeps the others
    stand.answer(
        200,
        r#"{"entities":[{"id":"ok-1","type":"Text","text":"hi","channel":{"time":"2026-11-01T09:00:00Z"}},
                        {"id":42,"type":["Text"]},
                        {"id":"ok-2","type":"Text","text":"yo","channel":{"time":"2026-11-01T08:00:00Z"}}],
            "pageCount":1,"total":3}"#,
    );
    let export = HistoryExport::builder(guest).page_size(25).build().unwrap();
    let mut stream = export.stream();
    let mut ids = Vec::new();
    while let Some(item) = stream.next().await {
        ids.push(item.unwrap().message.id);
    }
    let report = stream.finished_report().await;
    assert_eq!(ids, ["ok-1", "ok-2"]);
    assert_eq!(report.decode_failures, 1, "{report:?}");
    // token answers: a lifetime too large is clamped, one out of f64 range refused
    let provider = token_provider(&base);
    stand.answer(200, r#"{"access_token":"tok-huge","expires_in":1e308}"#);
    assert!(provider.access_token().await.is_ok());
    let provider = token_provider(&base);
    stand.answer(200, r#"{"access_token":"tok-huge","expires_in":1e999}"#);
    assert!(matches!(
        provider.access_token().await,
        Err(AuthError::MalformedTokenResponse { .. })
    ));
    // EventBridge attributes of the wrong type or absurd size are kept, never trusted
    let mut attributes = Attributes::new();
    attributes.insert(
        "RETRY_ATTEMPTS".into(),
        AttributeValue::Number("99999999999999999999999".into()),
    );
    attributes.insert(
        "ERROR_CODE".into(),
        AttributeValue::Binary(bytes::Bytes::from_static(b"\xff")),
    );
    let letter = DeadLetter::parse("m-1", "{}", attributes);
    let _ = letter.category();
    assert_eq!(
        letter.retry_attempts(),
        u32::MAX,
        "saturates, as SECURITY.md says"
    );
    assert_eq!(letter.next_attempt(), u32::MAX);
}

/// `RETRY_ATTEMPTS` beyond `u32` saturates: a replay says so in `X-Attempt-Count` instead of
/// starting again at 1 (it read as absent, hence 0, before).
#[tokio::test]
async fn an_overflowing_retry_attempts_saturates_in_the_attempt_header_sent() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let record = Arc::clone(&seen);
    let app = Router::new().route(
        "/events",
        axum::routing::post(move |request: Request| {
            let record = Arc::clone(&record);
            async move {
                if let Some(v) = request
                    .headers()
                    .get(sqs_dlq::dead_letter::ATTEMPT_COUNT_HEADER)
                {
                    record
                        .lock()
                        .unwrap()
                        .push(v.to_str().unwrap_or("").to_owned());
                }
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let target = sqs_dlq::dead_letter::HttpTarget::builder(format!("http://{addr}/events"))
        .build()
        .unwrap();
    let replay = sqs_dlq::dead_letter::Replay::builder(target)
        .force(true)
        .build();
    let event = r#"{"version":"0","id":"e-1","detail-type":"t","source":"s","account":"1","time":"2026-11-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{}}"#;
    let mut attributes = Attributes::new();
    attributes.insert(
        "RETRY_ATTEMPTS".into(),
        AttributeValue::Number("99999999999999999999".into()),
    );
    attributes.insert(
        "ERROR_CODE".into(),
        AttributeValue::String("THROTTLING".into()),
    );
    let letter = DeadLetter::parse("m-1", event, attributes);
    let accepted = replay.replay_letter(&letter).await.unwrap();
    assert_eq!(accepted.attempt, u32::MAX);
    assert_eq!(*seen.lock().unwrap(), [u32::MAX.to_string()]);
}

// --- oversized bodies ---------------------------------------------------------------------

#[tokio::test]
async fn oversized_bodies_are_refused_without_being_read_whole() {
    let (stand, base) = Stand::start().await;
    let genesys = client(&base, 64 * 1024);
    let big = vec![b' '; 512 * 1024];
    stand.answer(200, big.clone());
    assert!(matches!(
        genesys.get_json::<Value>("/api/v2/x", &[]).await,
        Err(GenesysError::BodyTooLarge { limit: 65_536 })
    ));
    let guest = GuestSession::new(&genesys, SecretString::from("guest-jwt"), "c-1");
    assert!(matches!(
        guest.fetch_page(1, 25).await,
        Err(MessagingError::Page { .. })
    ));
    let provider = token_provider(&base);
    let mut token = br#"{"access_token":"tok","expires_in":60,"pad":""#.to_vec();
    token.extend(vec![b'x'; genesys_auth::MAX_TOKEN_ANSWER_BYTES + 1]);
    token.extend(b"\"}");
    stand.answer(200, token);
    assert!(provider.access_token().await.is_err());

    // ingest and receiver: declared and streamed
    let body = vec![b'1'; 300 * 1024];
    assert_eq!(ingest_signed(&body).await, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(receive_signed(&body).await, StatusCode::PAYLOAD_TOO_LARGE);
    let (_, router) = ingest_app();
    let streamed = Body::from_stream(futures::stream::iter(
        (0..100).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; 8192]))),
    ));
    // Signature headers well formed and fresh (the MAC can only be checked once the body is
    // in): the size limit is what stops the stream. Without them the answer is 401 before a
    // byte of the body is read.
    let ts = now();
    let signed = axum::http::Request::post("/")
        .header("x-signature-timestamp", ts.to_string())
        .header("x-signature-256", format!("sha256={}", "0".repeat(64)));
    let res = router
        .clone()
        .oneshot(signed.body(streamed).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let unsigned = Body::from_stream(futures::stream::iter(
        (0..100).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; 8192]))),
    ));
    let res = router
        .oneshot(axum::http::Request::post("/").body(unsigned).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

// --- SSRF ---------------------------------------------------------------------------------

#[tokio::test]
async fn media_urls_to_internal_addresses_are_blocked_before_any_connection() {
    let verifier = MediaVerifier::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let urls = [
        "https://127.0.0.1/a.png",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/x",
        "https://192.168.0.1/x",
        "https://[::1]/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://2130706433/x",
        "https://0x7f.1/x",
        "https://0/x",
        "https://localhost/x",
        "http://media.example/x",
        "file:///etc/passwd",
        "gopher://127.0.0.1:25/",
        "not a url",
    ];
    let checks: Vec<_> = verifier
        .verify_all(urls.iter().map(|u| (*u).to_owned()).collect::<Vec<_>>())
        .collect()
        .await;
    assert_eq!(checks.len(), urls.len());
    for check in checks {
        assert!(
            matches!(
                check.status,
                MediaStatus::Blocked(
                    BlockReason::Address { .. }
                        | BlockReason::Scheme { .. }
                        | BlockReason::InvalidUrl { .. }
                        | BlockReason::Unresolvable { .. }
                )
            ),
            "{}: {:?}",
            check.url,
            check.status
        );
    }
}

// --- helpers for the HTTP endpoints -------------------------------------------------------

const SECRET: &str = "hostile-endpoint-secret";

fn token_provider(base: &url::Url) -> ClientCredentialsProvider {
    ClientCredentialsProvider::builder(
        ClientCredentials::new("client", SecretString::from("client-secret")),
        Region::custom(base.clone(), base.clone()),
    )
    .retry_policy(RetryPolicy::no_retry())
    .build()
    .unwrap()
}

use genesys_integration_tests::unix_now as now;

fn ingest_app() -> (MemoryQueue, Router) {
    let queue = MemoryQueue::new("hostile");
    let router = WebhookIngest::builder(queue.clone())
        .signing_secret(SecretString::from(SECRET))
        .router()
        .unwrap();
    (queue, router)
}

async fn ingest_signed(body: &[u8]) -> StatusCode {
    let (queue, router) = ingest_app();
    let ts = now();
    let req = axum::http::Request::post("/")
        .header("x-signature-timestamp", ts.to_string())
        .header(
            "x-signature-256",
            sqs_dlq::http::sign(SECRET.as_bytes(), ts, body),
        )
        .header("content-length", body.len())
        .body(Body::from(body.to_vec()))
        .unwrap();
    let status = router.oneshot(req).await.unwrap().status();
    if status != StatusCode::ACCEPTED {
        assert_eq!(queue.depth().visible, 0, "a refused body was queued");
    }
    status
}

async fn receive_signed(body: &[u8]) -> StatusCode {
    let target = MemoryQueue::new("hostile-target");
    let replay = Replay::builder(QueueTarget::new(target.clone())).build();
    // The default scheme: HMAC over "{timestamp}.{body}" within 5 minutes.
    let router = DeadLetterReceiver::builder(replay)
        .hmac_secret(SecretString::from(SECRET))
        .router()
        .unwrap();
    let ts = now();
    let req = axum::http::Request::post("/")
        .header("x-signature-timestamp", ts.to_string())
        .header(
            "x-signature-256",
            sqs_dlq::http::timestamped_signature(SECRET.as_bytes(), ts, body),
        )
        .header("content-length", body.len())
        .body(Body::from(body.to_vec()))
        .unwrap();
    let status = router.oneshot(req).await.unwrap().status();
    if status != StatusCode::OK {
        assert_eq!(target.depth().visible, 0, "a refused body was replayed");
    }
    status
}

#[tokio::test]
async fn the_archive_never_follows_a_redirect_with_a_signed_batch() {
    use genesys_messaging::archive::{ArchiveBatch, ArchiveSink, WebhookArchive};
    // Where a 307 points: must never see the batch.
    let (elsewhere, elsewhere_base) = Stand::start().await;
    let redirect_to = format!("{elsewhere_base}stolen");
    let app = Router::new().fallback(move || {
        let to = redirect_to.clone();
        async move {
            (
                StatusCode::TEMPORARY_REDIRECT,
                [(axum::http::header::LOCATION, to)],
                "",
            )
                .into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let archive = WebhookArchive::builder(format!("http://{addr}/archive"))
        .secret(SecretString::from("archive-secret"))
        .retry_policy(RetryPolicy::no_retry())
        .build()
        .unwrap();
    let message = genesys_messaging::WebMessagingMessage::text(
        "m-1",
        chrono::Utc::now(),
        genesys_messaging::Direction::Inbound,
        "private",
    );
    let batch = ArchiveBatch::new("conv-1", 1, 0, vec![message]);
    assert!(
        archive.write_batch(&batch).await.is_err(),
        "a redirect is a failure"
    );
    assert!(
        elsewhere.seen().is_empty(),
        "the batch went to {:?}",
        elsewhere.seen()
    );
}
