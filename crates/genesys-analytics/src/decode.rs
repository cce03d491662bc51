//! Turning answer bodies into models, with a typed error (never a panic) for anything else.

use serde::de::DeserializeOwned;

use genesys_auth::{ApiResponse, GenesysError};

use crate::error::AnalyticsError;

/// How much of a bad body an error keeps.
const SNIPPET_BYTES: usize = 256;

/// The start of a body for an error message: lossy UTF-8, at most 256 bytes, never split
/// inside a character.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(SNIPPET_BYTES)]);
    text.into_owned()
}

/// Parses `body` as `T`; anything else (not JSON, wrong types, cut short, trailing bytes) is
/// [`AnalyticsError::InvalidResponse`] naming the endpoint.
pub(crate) fn decode<T: DeserializeOwned>(
    endpoint: &'static str,
    body: &[u8],
) -> Result<T, AnalyticsError> {
    serde_json::from_slice(body).map_err(|source| AnalyticsError::InvalidResponse {
        endpoint,
        body_snippet: snippet(body),
        source,
    })
}

/// Decodes a 2xx answer of an endpoint as `T`, an empty body included (an error: the answer
/// was cut short, unlike [`ApiResponse::json`]'s `null`). The error is
/// [`GenesysError::Decode`] with this crate's snippet; the client names the endpoint in
/// [`AnalyticsError::InvalidResponse`].
pub(crate) fn strict_json<T: DeserializeOwned>(answer: &ApiResponse) -> Result<T, GenesysError> {
    serde_json::from_slice(&answer.body).map_err(|source| GenesysError::Decode {
        status: answer.status,
        body_snippet: snippet(&answer.body),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_are_bounded_and_lossy() {
        assert_eq!(snippet(&[b'x'; 1000]).len(), 256);
        let mut body = vec![b'a'; 255];
        body.extend_from_slice("é".as_bytes());
        let s = snippet(&body);
        assert!(s.starts_with("aaa"));
        assert!(s.len() <= 256 + 3);
    }
}
