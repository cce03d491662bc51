//! Safe path segments for ids that go into URL paths.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::error::GenesysError;

/// Everything but the RFC 3986 unreserved characters is percent-encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Encodes an id (conversation id, job id, ...) for use as one URL path segment.
///
/// Rejects what could change the meaning of the path: the empty string, `.` and `..`, and
/// control characters. Percent-encodes everything except `A-Z a-z 0-9 - . _ ~`, so `/`, `?`,
/// `#` and `%` cannot escape the segment.
///
/// ```
/// use genesys_auth::encode_path_segment;
/// assert_eq!(encode_path_segment("a1b2-c3").unwrap(), "a1b2-c3");
/// assert_eq!(encode_path_segment("../admin?x#y").unwrap(), "..%2Fadmin%3Fx%23y");
/// assert!(encode_path_segment("..").is_err());
/// ```
pub fn encode_path_segment(raw: &str) -> Result<String, GenesysError> {
    if raw.is_empty() {
        return Err(GenesysError::InvalidInput(
            "a path segment is empty".to_owned(),
        ));
    }
    if raw == "." || raw == ".." {
        return Err(GenesysError::InvalidInput(format!(
            "{raw:?} is not a valid path segment"
        )));
    }
    if raw.chars().any(char::is_control) {
        let shown: String = raw.chars().take(64).collect();
        return Err(GenesysError::InvalidInput(format!(
            "path segment {shown:?} contains a control character"
        )));
    }
    Ok(utf8_percent_encode(raw, SEGMENT).to_string())
}

/// One URL path segment, already percent-encoded by [`encode_path_segment`]: the form in which
/// endpoint types (see [`crate::Endpoint`]) hold the ids that go into their paths, so that a
/// path built from them needs no further checks.
///
/// ```
/// use genesys_auth::PathSegment;
/// let id = PathSegment::new("a/b")?;
/// assert_eq!(id.as_str(), "a%2Fb");
/// assert_eq!(format!("/api/v2/conversations/{id}"), "/api/v2/conversations/a%2Fb");
/// # Ok::<(), genesys_auth::GenesysError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PathSegment(String);

impl PathSegment {
    /// Encodes `raw` (see [`encode_path_segment`] for what is refused).
    pub fn new(raw: &str) -> Result<Self, GenesysError> {
        encode_path_segment(raw).map(Self)
    }

    /// The encoded segment.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PathSegment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a request path built by a caller: it must start with `/`, and contain no query,
/// fragment, control character, whitespace, or `.`/`..` segment.
pub(crate) fn validate_request_path(path: &str) -> Result<(), GenesysError> {
    let bad = |why: &str| {
        let shown: String = path.chars().take(128).collect();
        Err(GenesysError::InvalidInput(format!(
            "request path {shown:?} {why}"
        )))
    };
    if !path.starts_with('/') {
        return bad("must start with '/'");
    }
    // ASCII fast path: one pass over the bytes.
    let clean = if path.is_ascii() {
        !path
            .bytes()
            .any(|b| b == b'?' || b == b'#' || b <= b' ' || b == 0x7f)
    } else {
        !path
            .chars()
            .any(|c| c == '?' || c == '#' || c.is_control() || c.is_whitespace())
    };
    if !clean {
        return bad(
            "must not contain '?', '#', whitespace or a control character (pass query parameters separately)",
        );
    }
    let dot_segment = |s: &str| {
        s == "."
            || s == ".."
            || s.eq_ignore_ascii_case("%2e")
            || s.eq_ignore_ascii_case("%2e%2e")
            || s.eq_ignore_ascii_case(".%2e")
            || s.eq_ignore_ascii_case("%2e.")
    };
    if (path.contains('.') || path.contains('%')) && path.split('/').any(dot_segment) {
        return bad("contains a '.' or '..' segment");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_reserved_characters() {
        assert_eq!(encode_path_segment("abc-DEF_1.2~").unwrap(), "abc-DEF_1.2~");
        assert_eq!(encode_path_segment("a/b").unwrap(), "a%2Fb");
        assert_eq!(encode_path_segment("a?b#c%d").unwrap(), "a%3Fb%23c%25d");
        assert_eq!(encode_path_segment("a b+c").unwrap(), "a%20b%2Bc");
        assert_eq!(encode_path_segment("é").unwrap(), "%C3%A9");
        assert_eq!(encode_path_segment("...").unwrap(), "...");
    }

    #[test]
    fn rejects_dangerous_segments() {
        for bad in ["", ".", "..", "a\nb", "a\0", "\u{7f}", "x\u{85}"] {
            assert!(
                matches!(encode_path_segment(bad), Err(GenesysError::InvalidInput(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn request_paths() {
        assert!(validate_request_path("/api/v2/conversations/abc%2Fdef").is_ok());
        for bad in [
            "api/v2",
            "/api/../x",
            "/a/./b",
            "/a?b=1",
            "/a#f",
            "/a b",
            "/a/%2e%2e/b",
            "/a\r\n",
        ] {
            assert!(validate_request_path(bad).is_err(), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_accepted_segment_stays_one_segment(raw in ".*") {
            if let Ok(enc) = encode_path_segment(&raw) {
                proptest::prop_assert!(!enc.contains(['/', '?', '#']));
                proptest::prop_assert!(enc != "." && enc != "..");
                proptest::prop_assert!(enc.bytes().all(|b| b.is_ascii_graphic()));
                let decoded = percent_encoding::percent_decode_str(&enc).decode_utf8().unwrap();
                proptest::prop_assert_eq!(decoded, raw.as_str());
            }
        }
    }
}
