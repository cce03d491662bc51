//! `Retry-After` (delta-seconds, HTTP-date, garbage) and the rate-limit headers
//! (`inin-ratelimit-*`, `X-RateLimit-*`), fed to the parsers and to a pacer that adapts to them.
#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use retry_policy::{Pacer, RateLimitInfo, parse_retry_after, retry_after};

const NAMES: [&str; 7] = [
    "retry-after",
    "inin-ratelimit-allowed",
    "inin-ratelimit-count",
    "inin-ratelimit-reset",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
];

fuzz_target!(|data: &[u8]| {
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    for line in data.split(|b| *b == b'\n') {
        if let Ok(text) = std::str::from_utf8(line) {
            let _ = parse_retry_after(text, now);
            let _ = parse_retry_after(text, SystemTime::now());
        }
    }
    let (headers, _) = genesys_toolkit_fuzz::headers_and_body(data, &NAMES);
    let _ = retry_after(&headers);
    if let Some(info) = RateLimitInfo::from_headers(&headers) {
        let pacer = Pacer::per_second(50.0, 5);
        pacer.set_pause_when_exhausted(true);
        pacer.observe(&info);
        let rate = pacer.rate_per_second();
        assert!(
            rate.is_finite() && rate > 0.0 && rate <= 50.0,
            "rate {rate}"
        );
    }
});
