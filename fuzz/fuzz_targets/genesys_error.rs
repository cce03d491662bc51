//! Genesys error answers: any status, `inin-correlation-id` / `Retry-After` header values and
//! body bytes go to `ApiError::from_response`, which must never fail or panic and keeps a
//! bounded snippet.
#![no_main]

use genesys_auth::{ApiError, SNIPPET_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let status = u16::from_be_bytes([data[0], data[1]]);
    let (headers, body) = genesys_toolkit_fuzz::headers_and_body(
        &data[2..],
        &["inin-correlation-id", "retry-after", "content-type"],
    );
    let error = ApiError::from_response(status, &headers, body);
    assert_eq!(error.status, status);
    // 512 bytes, each at most one U+FFFD (3 bytes), plus the "… (N bytes in all)" note.
    assert!(error.body_snippet.len() <= SNIPPET_BYTES * 3 + 40);
    let _ = error.to_string();
    if let Some(code) = &error.code {
        assert!(code.chars().count() <= 1024);
    }
});
