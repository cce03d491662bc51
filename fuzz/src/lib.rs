//! Helpers shared by the fuzz targets: cutting one fuzz input into the pieces an HTTP answer
//! or request is made of (header values, a body), the same way in every target; and, for the
//! endpoints that check signatures (webhook ingest, dead-letter receiver), the signature
//! headers of a request, an independent model of the check, and serving a request in process.

use http::{HeaderMap, HeaderName, HeaderValue};

/// Splits `data` at the first `sep` byte sequence: `(before, after)`; no separator → `(data, [])`.
pub fn split_once<'a>(data: &'a [u8], sep: &[u8]) -> (&'a [u8], &'a [u8]) {
    match data.windows(sep.len()).position(|w| w == sep) {
        Some(i) => (&data[..i], &data[i + sep.len()..]),
        None => (data, &[]),
    }
}

/// The input cut into a header block and a body at the first `\n\n`; header lines are
/// `\n`-separated raw values (any bytes) that go, in order, under `names`. Values that HTTP
/// cannot carry (control bytes) are left out, as a real HTTP stack would refuse them.
pub fn headers_and_body<'a>(data: &'a [u8], names: &[&'static str]) -> (HeaderMap, &'a [u8]) {
    let (head, body) = split_once(data, b"\n\n");
    let mut headers = HeaderMap::new();
    for (name, line) in names.iter().zip(head.split(|b| *b == b'\n')) {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.append(HeaderName::from_static(name), value);
        }
    }
    (headers, body)
}

/// Unix seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The signature headers of a fuzzed request to an endpoint that checks `X-Signature-256`
/// over `"{X-Signature-Timestamp}.{body}"`: with `signed`, a correct signature made now by
/// `sign(timestamp)`; otherwise the input's own raw lines (forged, stale, malformed), each left
/// out when HTTP cannot carry it.
pub fn signature_headers(
    signed: bool,
    raw_ts: Option<&[u8]>,
    raw_sig: Option<&[u8]>,
    sign: impl Fn(i64) -> String,
) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let (ts_name, sig_name) = (
        HeaderName::from_static("x-signature-timestamp"),
        HeaderName::from_static("x-signature-256"),
    );
    if signed {
        let ts = now();
        for (name, value) in [(ts_name, ts.to_string()), (sig_name, sign(ts))] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
    } else {
        for (name, raw) in [(ts_name, raw_ts), (sig_name, raw_sig)] {
            if let Some(value) = raw.and_then(|r| HeaderValue::from_bytes(r).ok()) {
                headers.insert(name, value);
            }
        }
    }
    headers
}

/// An independent model of the timestamped check: whether the raw lines are a Unix timestamp
/// within `tolerance_secs` of now and the signature `sign(timestamp)` would make (hex case
/// ignored, surrounding blanks trimmed).
pub fn genuine_timestamped(
    raw_ts: Option<&[u8]>,
    raw_sig: Option<&[u8]>,
    tolerance_secs: u64,
    sign: impl Fn(i64) -> String,
) -> bool {
    (|| {
        let ts: i64 = std::str::from_utf8(raw_ts?).ok()?.trim().parse().ok()?;
        let sig = std::str::from_utf8(raw_sig?).ok()?.trim();
        let fresh = ts.abs_diff(now()) <= tolerance_secs;
        Some(fresh && sig.eq_ignore_ascii_case(&sign(ts)))
    })()
    .unwrap_or(false)
}

/// Serves `request` through `router` on `runtime`: the answer's status and body.
pub fn serve(
    runtime: &tokio::runtime::Runtime,
    router: &axum::Router,
    request: http::Request<axum::body::Body>,
) -> (http::StatusCode, bytes::Bytes) {
    use tower::ServiceExt as _;
    runtime.block_on(async {
        let response = router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("answer body");
        (status, bytes)
    })
}
