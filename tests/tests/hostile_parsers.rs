//! Short proptest runs of the parsers of outside input that had none in their own crate (the
//! long runs are the `cargo fuzz` targets in `fuzz/`): Genesys error bodies, web messaging
//! pages (guest and agent message shapes, attachment URLs), signed-URL expiry, and the two HTTP
//! endpoints that check signatures (webhook ingest, dead-letter receiver). Retry-After and
//! rate-limit headers, token answers, analytics pages, path segments and EventBridge dead
//! letters already have proptests next to their code.
//!
//! Every input gives a value or a typed error; none panics; no forged or stale signature is
//! ever accepted.
#![allow(clippy::unwrap_used)]

use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use genesys_auth::{ApiError, SNIPPET_BYTES};
use genesys_messaging::history::HistoryRecord;
use genesys_messaging::media::signed_url_expiry;
use genesys_messaging::{EntityList, MessageData, WebMessagingMessage};
use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use secrecy::SecretString;
use serde_json::{Value, json};
use sqs_dlq::dead_letter::{QueueTarget, Replay};
use sqs_dlq::http::{DeadLetterReceiver, WebhookIngest};
use sqs_dlq::queue::MemoryQueue;
use tower::ServiceExt;

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        // values the models give meaning to
        prop::sample::select(vec![
            "Text",
            "Event",
            "Structured",
            "Inbound",
            "Outbound",
            "Attachment",
            "Human",
            "2026-11-01T09:15:30.123Z",
            "not-a-date",
            "https://x.example/a.png?X-Amz-Date=20261101T000000Z&X-Amz-Expires=99999999999",
            "http://169.254.169.254/latest/meta-data",
            "file:///etc/passwd",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop::sample::select(vec![
            "id",
            "channel",
            "time",
            "type",
            "text",
            "content",
            "contentType",
            "attachment",
            "url",
            "mediaType",
            "direction",
            "events",
            "status",
            "reasons",
            "metadata",
            "messageTime",
            "timestamp",
            "media",
            "textBody",
            "normalizedMessage",
            "entities",
            "pageCount",
            "total",
            "pageSize",
            "other",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(keys, inner, 0..6).prop_map(|m| Value::Object(
                m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

fn exercise<R: HistoryRecord>(record: &R) {
    let _ = (
        record.id(),
        record.time(),
        record.message_type(),
        record.direction(),
    );
    for raw in record.attachment_urls() {
        if let Ok(url) = url::Url::parse(&raw) {
            let _ = signed_url_expiry(&url);
        }
    }
    serde_json::to_vec(record).unwrap();
}

fn decode_page(body: &[u8]) {
    if let Ok(page) = serde_json::from_slice::<EntityList<Value>>(body) {
        for entity in page.entities {
            if let Ok(m) = serde_json::from_value::<WebMessagingMessage>(entity.clone()) {
                exercise(&m);
            }
            if let Ok(m) = serde_json::from_value::<MessageData>(entity) {
                exercise(&m);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn genesys_error_bodies_never_fail(
        status in any::<u16>(),
        body in prop::collection::vec(any::<u8>(), 0..2048),
        correlation in prop::collection::vec(any::<u8>(), 0..40),
        retry_after in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_bytes(&correlation) { headers.insert("inin-correlation-id", v); }
        if let Ok(v) = HeaderValue::from_bytes(&retry_after) { headers.insert("retry-after", v); }
        let e = ApiError::from_response(status, &headers, &body);
        prop_assert_eq!(e.status, status);
        prop_assert!(e.body_snippet.len() <= SNIPPET_BYTES * 3 + 40);
        let _ = e.to_string();
    }

    #[test]
    fn genesys_error_json_fields_of_any_type(fields in prop::collection::btree_map(
        prop::sample::select(vec!["message", "code", "status", "contextId", "details", "errors"]),
        arb_json(), 0..6)
    ) {
        let body = serde_json::to_vec(&fields).unwrap();
        let e = ApiError::from_response(503, &HeaderMap::new(), &body);
        // a field is kept only when it is a non-empty string
        if let Some(Value::String(code)) = fields.get("code") {
            prop_assert_eq!(e.code.is_some(), !code.is_empty());
        } else {
            prop_assert!(e.code.is_none());
        }
    }

    #[test]
    fn web_messaging_pages_of_any_shape(entities in prop::collection::vec(arb_json(), 0..6), count in arb_json()) {
        let body = serde_json::to_vec(&json!({"entities": entities, "pageCount": count, "total": 3})).unwrap();
        decode_page(&body);
    }

    #[test]
    fn web_messaging_pages_of_any_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
        decode_page(&body);
    }

    #[test]
    fn signed_url_expiry_of_any_query(pairs in prop::collection::vec((
        prop::sample::select(vec!["X-Amz-Date", "X-Amz-Expires", "x-goog-date", "X-Goog-Expires", "Expires", "se", "sig", "other"]),
        prop_oneof![".{0,24}", "[0-9]{1,25}", "-?[0-9]{1,20}", Just("20261101T000000Z".to_owned()), Just("9999-12-31T23:59:59Z".to_owned())],
    ), 0..6)) {
        let mut url = url::Url::parse("https://media.example/a.png").unwrap();
        url.query_pairs_mut().extend_pairs(pairs);
        let _ = signed_url_expiry(&url);
    }
}

// --- HTTP endpoints with signatures -------------------------------------------------------

const SECRET: &[u8] = b"hostile-parsers-secret";
const TOLERANCE: Duration = Duration::from_secs(300);

use genesys_integration_tests::unix_now as now;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

fn ingest() -> &'static (MemoryQueue, Router) {
    static APP: OnceLock<(MemoryQueue, Router)> = OnceLock::new();
    APP.get_or_init(|| {
        let queue = MemoryQueue::new("hostile-ingest");
        let router = WebhookIngest::builder(queue.clone())
            .signing_secret(SecretString::from(
                String::from_utf8(SECRET.to_vec()).unwrap(),
            ))
            .timestamp_tolerance(TOLERANCE)
            .max_body_bytes(2048)
            .router()
            .unwrap();
        (queue, router)
    })
}

fn receiver() -> &'static (MemoryQueue, Router) {
    static APP: OnceLock<(MemoryQueue, Router)> = OnceLock::new();
    APP.get_or_init(|| {
        let target = MemoryQueue::new("hostile-receiver-target");
        let replay = Replay::builder(QueueTarget::new(target.clone()))
            .force(true)
            .build();
        // The default: HMAC over "{timestamp}.{body}" within 5 minutes (TOLERANCE).
        let router = DeadLetterReceiver::builder(replay)
            .hmac_secret(SecretString::from(
                String::from_utf8(SECRET.to_vec()).unwrap(),
            ))
            .router()
            .unwrap();
        (target, router)
    })
}

fn call(
    router: &Router,
    ts: Option<String>,
    sig: Option<String>,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut req = Request::post("/");
    if let Some(ts) = ts {
        req = req.header("x-signature-timestamp", ts);
    }
    if let Some(sig) = sig {
        req = req.header("x-signature-256", sig);
    }
    let req = req.body(Body::from(body)).unwrap();
    runtime().block_on(async {
        let res = router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    })
}

#[derive(Debug, Clone)]
enum Forgery {
    /// The right MAC under another secret.
    WrongSecret,
    /// The right MAC for another body.
    OtherBody,
    /// A genuine signature from outside the tolerance window (a replay).
    Stale(u64),
    /// A genuine signature whose timestamp header was changed afterwards.
    ShiftedTimestamp(i64),
    /// Random header bytes.
    Garbage(String, String),
    /// No signature at all.
    Missing,
    /// The genuine MAC of the body alone, without a timestamp (replayable, so refused).
    BodyOnly,
}

fn arb_forgery() -> impl Strategy<Value = Forgery> {
    prop_oneof![
        Just(Forgery::WrongSecret),
        Just(Forgery::OtherBody),
        (TOLERANCE.as_secs() + 1..10_000_000u64).prop_map(Forgery::Stale),
        (1..1_000i64).prop_map(Forgery::ShiftedTimestamp),
        ("[ -~]{0,30}", "(sha256=)?[0-9a-fA-F]{0,70}").prop_map(|(a, b)| Forgery::Garbage(a, b)),
        Just(Forgery::Missing),
        Just(Forgery::BodyOnly),
    ]
}

fn forged_headers(
    forgery: &Forgery,
    body: &[u8],
    sign: fn(&[u8], i64, &[u8]) -> String,
) -> (Option<String>, Option<String>) {
    let ts = now();
    match forgery {
        Forgery::WrongSecret => (
            Some(ts.to_string()),
            Some(sign(b"not-the-secret", ts, body)),
        ),
        Forgery::OtherBody => (
            Some(ts.to_string()),
            Some(sign(SECRET, ts, b"{\"other\":1}")),
        ),
        Forgery::Stale(age) => {
            let old = ts - i64::try_from(*age).unwrap();
            (Some(old.to_string()), Some(sign(SECRET, old, body)))
        }
        Forgery::ShiftedTimestamp(d) => (Some((ts + d).to_string()), Some(sign(SECRET, ts, body))),
        Forgery::Garbage(a, b) => (Some(a.clone()), Some(b.clone())),
        Forgery::Missing => (None, None),
        Forgery::BodyOnly => (None, Some(sqs_dlq::http::signature(SECRET, body))),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn ingest_accepts_genuine_and_refuses_forged_signatures(
        body in prop_oneof![
            arb_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
            prop::collection::vec(any::<u8>(), 0..300),
        ],
        forgery in arb_forgery(),
    ) {
        let (queue, router) = ingest();
        let before = queue.depth().visible;
        let (ts, sig) = forged_headers(&forgery, &body, sqs_dlq::http::sign);
        let (status, answer) = call(router, ts, sig, body.clone());
        prop_assert_eq!(status, StatusCode::UNAUTHORIZED, "{:?} -> {}", forgery, answer);
        prop_assert!(answer["error"].as_str().unwrap().starts_with("signature_"));
        prop_assert_eq!(queue.depth().visible, before, "nothing queued");

        let ts = now();
        let (status, answer) = call(router, Some(ts.to_string()), Some(sqs_dlq::http::sign(SECRET, ts, &body)), body.clone());
        let sqs_safe = std::str::from_utf8(&body).is_ok_and(|s| !s.is_empty()
            && s.chars().all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')));
        if serde_json::from_slice::<Value>(&body).is_ok() && sqs_safe {
            prop_assert_eq!(status, StatusCode::ACCEPTED, "{}", answer);
        } else {
            prop_assert_eq!(status, StatusCode::BAD_REQUEST, "{}", answer);
        }
    }

    #[test]
    fn receiver_refuses_forged_signatures_before_parsing(
        body in prop::collection::vec(any::<u8>(), 0..300),
        forgery in arb_forgery(),
    ) {
        let (target, router) = receiver();
        let before = target.depth().visible;
        let (ts, sig) = forged_headers(&forgery, &body, sqs_dlq::http::timestamped_signature);
        let (status, answer) = call(router, ts, sig, body);
        prop_assert_eq!(status, StatusCode::UNAUTHORIZED, "{:?} -> {}", forgery, answer);
        prop_assert_eq!(target.depth().visible, before, "nothing replayed");
    }
}
