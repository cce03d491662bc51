//! The dead-letter HTTP receiver (HMAC over `"{timestamp}.{body}"` with a tolerance window),
//! replaying into an in-memory queue. The fuzz input gives the timestamp, signature, one DLQ
//! attribute header and the body; the first byte picks a correct signature (current time) or
//! the input's own (forged, stale, malformed) header values.
//!
//! Checked: only documented statuses; JSON answers; nothing is replayed (200) or even parsed
//! past authentication unless the signature is genuine; a replay puts exactly one message on
//! the target queue.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
use sqs_dlq::receiver::{SIGNATURE_HEADER, SIGNATURE_TIMESTAMP_HEADER, timestamped_signature};
use sqs_dlq::{DeadLetterReceiver, MemoryQueue, QueueTarget, Replay};
use tower::ServiceExt;

const SECRET: &[u8] = b"fuzz-receiver-secret";
const TOLERANCE: Duration = Duration::from_secs(300);

struct Harness {
    runtime: tokio::runtime::Runtime,
    target: MemoryQueue,
    router: Router,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let target = MemoryQueue::new("fuzz-replay-target");
        let replay = Replay::builder(QueueTarget::new(target.clone())).force(true).build();
        let router = DeadLetterReceiver::builder(replay)
            .hmac_secret(SecretString::from(String::from_utf8_lossy(SECRET).into_owned()))
            .signature_timestamp_tolerance(TOLERANCE)
            .max_body_bytes(8192)
            .router()
            .expect("receiver");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        Harness { runtime, target, router }
    })
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let (head, body) = genesys_toolkit_fuzz::split_once(rest, b"\n\n");
    let mut lines = head.split(|b| *b == b'\n');
    let (raw_ts, raw_sig, raw_code) = (lines.next(), lines.next(), lines.next());
    let signed = flags & 1 == 1;

    let mut request = Request::post("/");
    if signed {
        let ts = now();
        request = request
            .header(SIGNATURE_TIMESTAMP_HEADER, ts.to_string())
            .header(SIGNATURE_HEADER, timestamped_signature(SECRET, ts, body));
    } else {
        for (name, raw) in [(SIGNATURE_TIMESTAMP_HEADER, raw_ts), (SIGNATURE_HEADER, raw_sig)] {
            if let Some(v) = raw.and_then(|r| http::HeaderValue::from_bytes(r).ok()) {
                request = request.header(name, v);
            }
        }
    }
    if let Some(v) = raw_code.and_then(|r| http::HeaderValue::from_bytes(r).ok()) {
        request = request.header("x-dlq-error-code", v);
    }
    let Ok(request) = request.body(Body::from(body.to_vec())) else { return };

    let h = harness();
    let before = h.target.depth().visible;
    let (status, answer) = h.runtime.block_on(async {
        let response = h.router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("answer body");
        (status, bytes)
    });
    let known = [200, 400, 401, 413, 422, 502];
    assert!(known.contains(&status.as_u16()), "undocumented status {status}");
    let json: serde_json::Value = serde_json::from_slice(&answer).expect("answers are JSON");

    let genuinely_signed = signed
        || (|| {
            let ts: i64 = std::str::from_utf8(raw_ts?).ok()?.trim().parse().ok()?;
            let sig = std::str::from_utf8(raw_sig?).ok()?.trim();
            let fresh = ts.abs_diff(now()) <= TOLERANCE.as_secs();
            Some(fresh && sig.eq_ignore_ascii_case(&timestamped_signature(SECRET, ts, body)))
        })()
        .unwrap_or(false);
    if !genuinely_signed {
        assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::PAYLOAD_TOO_LARGE,
            "unauthenticated request got {status}: {json}"
        );
    }
    let after = h.target.depth().visible;
    if status == StatusCode::OK {
        assert_eq!(after, before + 1, "a 200 without exactly one replayed message");
    } else {
        assert_eq!(after, before, "{status} but a message was replayed");
    }
    if after > 10_000 {
        h.target.purge();
    }
});
