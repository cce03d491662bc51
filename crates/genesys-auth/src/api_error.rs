//! The typed error of a failed API answer, parsed from Genesys' error body.

use std::fmt;
use std::time::Duration;

use http::HeaderMap;

/// Header carrying the id Genesys support asks for.
pub const CORRELATION_HEADER: &str = "inin-correlation-id";

/// How many bytes of a body an error keeps.
pub const SNIPPET_BYTES: usize = 512;

/// A non-success answer from the API.
///
/// Built from the Genesys error body `{"message", "code", "status", "contextId", "details",
/// "errors"}` when there is one; any other body (HTML from a proxy, plain text, truncated JSON)
/// still gives an `ApiError` with the status and a snippet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Genesys error code (`not.found`, `too.many.requests.retry.after`, ...).
    pub code: Option<String>,
    /// Human-readable message from the body.
    pub message: Option<String>,
    /// `ININ-Correlation-Id` header, else the body's `contextId`.
    pub correlation_id: Option<String>,
    /// `Retry-After` of the answer, if any.
    pub retry_after: Option<Duration>,
    /// The start of the body (at most [`SNIPPET_BYTES`] bytes, lossy UTF-8).
    pub body_snippet: String,
}

impl ApiError {
    /// Parses an error answer. Never fails: fields that cannot be read are `None`.
    pub fn from_response(status: u16, headers: &HeaderMap, body: &[u8]) -> ApiError {
        let parsed = serde_json::from_slice::<serde_json::Value>(body).ok();
        let field = |name: &str| -> Option<String> {
            parsed
                .as_ref()
                .and_then(|v| v.get(name))
                .and_then(|v| v.as_str())
                .map(|s| s.chars().take(1024).collect::<String>())
                .filter(|s| !s.is_empty())
        };
        let correlation_id = headers
            .get(CORRELATION_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .or_else(|| field("contextId"));
        ApiError {
            status,
            code: field("code"),
            message: field("message"),
            correlation_id,
            retry_after: retry_policy::retry_after(headers),
            body_snippet: snippet(body),
        }
    }
}

impl ApiError {
    /// The wait Genesys' normalized 429 message asks for: "… Retry the request in \[N\]
    /// seconds" gives N seconds. `None` when the message says no such thing (or N is not a
    /// whole number of seconds).
    ///
    /// ```
    /// use std::time::Duration;
    /// use genesys_auth::ApiError;
    ///
    /// let body = br#"{"message":"Rate limit exceeded the maximum. Retry the request in [3] seconds","code":"too.many.requests.retry.after","status":429}"#;
    /// let error = ApiError::from_response(429, &http::HeaderMap::new(), body);
    /// assert_eq!(error.message_retry_hint(), Some(Duration::from_secs(3)));
    /// ```
    pub fn message_retry_hint(&self) -> Option<Duration> {
        retry_hint_in(self.message.as_deref()?)
    }
}

/// N from "Retry the request in [N] seconds" (any case), if the text says so.
fn retry_hint_in(message: &str) -> Option<Duration> {
    const CUE: &str = "retry the request in [";
    let lower = message.to_ascii_lowercase();
    let start = lower.find(CUE)? + CUE.len();
    let rest = &lower[start..];
    let digits = rest.split(']').next()?.trim();
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !rest[digits.len()..]
        .trim_start_matches(']')
        .trim_start()
        .starts_with("second")
    {
        return None;
    }
    digits.parse().ok().map(Duration::from_secs)
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Genesys API answered HTTP {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        if let Some(id) = &self.correlation_id {
            write!(f, " [correlation id {id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// The start of a body for an error message: at most [`SNIPPET_BYTES`] bytes, lossy UTF-8, cut
/// on a character boundary, with a note of the full length when cut.
pub(crate) fn snippet(body: &[u8]) -> String {
    if body.len() <= SNIPPET_BYTES {
        return String::from_utf8_lossy(body).into_owned();
    }
    let mut text = String::from_utf8_lossy(&body[..SNIPPET_BYTES]).into_owned();
    // A multi-byte character cut in half shows as one U+FFFD at the end; drop it.
    if text.ends_with('\u{FFFD}') {
        text.pop();
    }
    format!("{text}… ({} bytes in all)", body.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn genesys_error_body() {
        let mut headers = HeaderMap::new();
        headers.insert(CORRELATION_HEADER, HeaderValue::from_static("corr-1"));
        headers.insert("retry-after", HeaderValue::from_static("7"));
        let body = br#"{"message":"Conversation not found","code":"not.found","status":404,"contextId":"ctx-1","details":[],"errors":[]}"#;
        let e = ApiError::from_response(404, &headers, body);
        assert_eq!(e.status, 404);
        assert_eq!(e.code.as_deref(), Some("not.found"));
        assert_eq!(e.message.as_deref(), Some("Conversation not found"));
        assert_eq!(e.correlation_id.as_deref(), Some("corr-1"));
        assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
        assert_eq!(
            e.to_string(),
            "Genesys API answered HTTP 404 (not.found): Conversation not found [correlation id corr-1]"
        );
    }

    #[test]
    fn the_normalized_429_message_gives_a_retry_hint() {
        assert_eq!(
            retry_hint_in("Rate limit exceeded the maximum. Retry the request in [7] seconds"),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_hint_in("retry the request in [0] seconds"),
            Some(Duration::ZERO)
        );
        for no in [
            "Rate limit exceeded the maximum",
            "Retry the request in [] seconds",
            "Retry the request in [-3] seconds",
            "Retry the request in [1.5] seconds",
            "Retry the request in [soon] seconds",
            "Retry the request in [99999999999999999999] seconds",
            "Retry the request in [3] minutes",
            "Retry the request in [3",
        ] {
            assert_eq!(retry_hint_in(no), None, "{no}");
        }
    }

    #[test]
    fn context_id_is_the_fallback_correlation_id() {
        let e = ApiError::from_response(500, &HeaderMap::new(), br#"{"contextId":"ctx-9"}"#);
        assert_eq!(e.correlation_id.as_deref(), Some("ctx-9"));
    }

    #[test]
    fn non_json_and_odd_json_bodies() {
        for body in [
            &b"<html>Bad Gateway</html>"[..],
            b"",
            b"[1,2]",
            b"{\"code\":5}",
            b"{\"mess",
            b"\xff\xfe",
        ] {
            let e = ApiError::from_response(502, &HeaderMap::new(), body);
            assert_eq!(e.status, 502);
            assert_eq!(e.code, None);
            assert_eq!(e.message, None);
            assert_eq!(e.body_snippet, String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn snippets_are_bounded_and_cut_on_char_boundaries() {
        let body = "é".repeat(1000);
        let s = snippet(body.as_bytes());
        assert!(s.len() < SNIPPET_BYTES + 40);
        assert!(!s.contains('\u{FFFD}'));
        assert!(s.ends_with("(2000 bytes in all)"));
    }

    #[test]
    fn retry_after_dates_and_garbage() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_policy::retry_after(&h), None);
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_policy::retry_after(&h), Some(Duration::ZERO));
        let future =
            httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(120));
        h.insert("retry-after", HeaderValue::from_str(&future).unwrap());
        let d = retry_policy::retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(100) && d <= Duration::from_secs(120),
            "{d:?}"
        );
    }
}
