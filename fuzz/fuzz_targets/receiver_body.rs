//! The dead-letter HTTP receiver, replaying into an in-memory queue. Its default scheme, HMAC
//! over `"{timestamp}.{body}"` within 5 minutes, and the `body_only_signatures` opt-out (the
//! HMAC of the body alone accepted when no timestamp is sent). The fuzz input gives the
//! timestamp, signature, one DLQ attribute header and the body; the first byte picks a correct
//! signature (timestamped at the current time, or the body's own MAC without a timestamp) or
//! the input's own (forged, stale, malformed) header values, and which of the two receivers
//! answers.
//!
//! Checked: only documented statuses; JSON answers; nothing is replayed (200) or even parsed
//! past authentication unless the signature is genuine (for the default receiver: timestamped
//! and fresh); the default receiver refuses a genuine body-only MAC with 401; a replay puts
//! exactly one message on the target queue.
#![no_main]

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use genesys_toolkit_fuzz::{genuine_timestamped, serve, signature_headers};
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
use sqs_dlq::dead_letter::{QueueTarget, Replay};
use sqs_dlq::http::DeadLetterReceiver;
use sqs_dlq::http::{DEFAULT_TIMESTAMP_TOLERANCE, signature, timestamped_signature};
use sqs_dlq::queue::MemoryQueue;

const SECRET: &[u8] = b"fuzz-receiver-secret";

struct Harness {
    runtime: tokio::runtime::Runtime,
    target: MemoryQueue,
    /// The default: timestamped signatures only.
    strict: Router,
    /// With `body_only_signatures()`.
    body_only: Router,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let target = MemoryQueue::new("fuzz-replay-target");
        let receiver = || {
            let replay = Replay::builder(QueueTarget::new(target.clone()))
                .force(true)
                .build();
            DeadLetterReceiver::builder(replay)
                .hmac_secret(SecretString::from(
                    String::from_utf8_lossy(SECRET).into_owned(),
                ))
                .max_body_bytes(8192)
        };
        let strict = receiver().router().expect("receiver");
        let body_only = receiver()
            .body_only_signatures()
            .router()
            .expect("receiver");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        Harness {
            runtime,
            target,
            strict,
            body_only,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (head, body) = genesys_toolkit_fuzz::split_once(rest, b"\n\n");
    let mut lines = head.split(|b| *b == b'\n');
    let (raw_ts, raw_sig, raw_code) = (lines.next(), lines.next(), lines.next());
    let signed = flags & 1 == 1;
    let lenient = flags & 2 == 2;
    let body_mac_only = signed && flags & 4 == 4;

    let sign = |ts| timestamped_signature(SECRET, ts, body);
    let headers = if body_mac_only {
        let mac = signature(SECRET, body);
        signature_headers(false, None, Some(mac.as_bytes()), sign)
    } else {
        signature_headers(signed, raw_ts, raw_sig, sign)
    };
    let mut request = Request::post("/");
    for (name, value) in &headers {
        request = request.header(name, value);
    }
    if let Some(v) = raw_code.and_then(|r| http::HeaderValue::from_bytes(r).ok()) {
        request = request.header("x-dlq-error-code", v);
    }
    let Ok(request) = request.body(Body::from(body.to_vec())) else {
        return;
    };
    let sent_timestamp = headers.contains_key("x-signature-timestamp");
    let sent_body_mac = headers
        .get("x-signature-256")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(&signature(SECRET, body)));

    let h = harness();
    let router = if lenient { &h.body_only } else { &h.strict };
    let before = h.target.depth().visible;
    let (status, answer) = serve(&h.runtime, router, request);
    let known = [200, 400, 401, 413, 422, 502];
    assert!(
        known.contains(&status.as_u16()),
        "undocumented status {status}"
    );
    let json: serde_json::Value = serde_json::from_slice(&answer).expect("answers are JSON");

    let tolerance = DEFAULT_SIGNATURE_TIMESTAMP_TOLERANCE.as_secs();
    // The opt-out accepts the body's own MAC only when no timestamp was sent.
    let genuine_body_only = lenient && !sent_timestamp && sent_body_mac;
    let genuinely_signed = (signed && !body_mac_only)
        || (!signed && genuine_timestamped(raw_ts, raw_sig, tolerance, sign))
        || genuine_body_only;
    if body_mac_only && !lenient {
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "the default accepted a body-only MAC: {json}"
        );
    }
    if !genuinely_signed {
        assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::PAYLOAD_TOO_LARGE,
            "unauthenticated request got {status}: {json}"
        );
    }
    let after = h.target.depth().visible;
    if status == StatusCode::OK {
        assert_eq!(
            after,
            before + 1,
            "a 200 without exactly one replayed message"
        );
    } else {
        assert_eq!(after, before, "{status} but a message was replayed");
    }
    if after > 10_000 {
        h.target.purge();
    }
});
