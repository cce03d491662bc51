//! HTTP webhook ingest, signature path first: a `WebhookIngest` router with a signing secret
//! (served in process through `tower::ServiceExt::oneshot`) gets the fuzz input as
//! `X-Signature-Timestamp`, `X-Signature-256`, `Content-Length` and body. The first byte picks
//! whether the request is signed correctly (with the current time) or carries the input's own
//! header values (forged, stale, malformed).
//!
//! Checked: every answer is one of the documented statuses with a JSON error code; a request
//! is queued (202) only when its signature is the HMAC of `"{timestamp}.{body}"` under the
//! secret with a timestamp inside the tolerance; a correctly signed JSON body is queued unless
//! SQS would refuse its characters.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use genesys_toolkit_fuzz::{genuine_timestamped, serve, signature_headers};
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
use sqs_dlq::http::WebhookIngest;
use sqs_dlq::http::sign;
use sqs_dlq::queue::MemoryQueue;

const SECRET: &[u8] = b"fuzz-ingest-secret";
const LIMIT: usize = 4096;
const TOLERANCE: Duration = Duration::from_secs(300);

struct Harness {
    runtime: tokio::runtime::Runtime,
    queue: MemoryQueue,
    router: Router,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let queue = MemoryQueue::new("fuzz-ingest");
        let router = WebhookIngest::builder(queue.clone())
            .signing_secret(SecretString::from(
                String::from_utf8_lossy(SECRET).into_owned(),
            ))
            .timestamp_tolerance(TOLERANCE)
            .max_body_bytes(LIMIT)
            .router()
            .expect("a non-empty secret");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        Harness {
            runtime,
            queue,
            router,
        }
    })
}

fn sqs_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (head, body) = genesys_toolkit_fuzz::split_once(rest, b"\n\n");
    let mut lines = head.split(|b| *b == b'\n');
    let (raw_ts, raw_sig, raw_len) = (lines.next(), lines.next(), lines.next());
    let signed = flags & 1 == 1;

    let mut request = Request::post("/");
    for (name, value) in &signature_headers(signed, raw_ts, raw_sig, |ts| sign(SECRET, ts, body)) {
        request = request.header(name, value);
    }
    if flags & 2 == 2
        && let Some(v) = raw_len.and_then(|r| http::HeaderValue::from_bytes(r).ok())
    {
        request = request.header(http::header::CONTENT_LENGTH, v);
    }
    let Ok(request) = request.body(Body::from(body.to_vec())) else {
        return;
    };

    let h = harness();
    let (status, answer) = serve(&h.runtime, &h.router, request);

    let known = [
        StatusCode::ACCEPTED,
        StatusCode::BAD_REQUEST,
        StatusCode::UNAUTHORIZED,
        StatusCode::PAYLOAD_TOO_LARGE,
        StatusCode::SERVICE_UNAVAILABLE,
    ];
    assert!(known.contains(&status), "undocumented status {status}");
    let json: serde_json::Value = serde_json::from_slice(&answer).expect("answers are JSON");
    if status != StatusCode::ACCEPTED {
        assert!(
            json["error"].is_string(),
            "error answer without a code: {json}"
        );
    }

    // Independent model of what must be accepted.
    let body_ok = body.len() <= LIMIT
        && serde_json::from_slice::<serde_json::Value>(body).is_ok()
        && std::str::from_utf8(body).is_ok_and(|s| !s.is_empty() && s.chars().all(sqs_char));
    let genuinely_signed = signed
        || genuine_timestamped(raw_ts, raw_sig, TOLERANCE.as_secs(), |ts| {
            sign(SECRET, ts, body)
        });
    if status == StatusCode::ACCEPTED {
        assert!(genuinely_signed, "accepted a forged or stale signature");
        assert!(
            body_ok,
            "accepted a body that is not SQS-safe JSON within the limit"
        );
    }
    if signed && body_ok && flags & 2 == 0 {
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "refused a good request: {json}"
        );
    }
    if h.queue.depth().visible > 10_000 {
        h.queue.purge();
    }
});
