//! URLs as they may be printed: [`url`] replaces user info (`user:password@`) with `***@`.
//! It lives here, the crate every other depends on, so every crate (sqs-dlq's queue and replay
//! URLs, the shared pacer's Redis URL) and every recipe cleans URLs the same way, so a password given in a URL (`--target-url http://user:pw@host/…`) is used on the
//! wire but never shown.

/// `raw` with any user info in its authority replaced by `***`. Works on anything URL-like,
/// parsed or not (an unparsable string is still cleaned): the authority is what follows
/// `scheme://` (or the start) up to the first `/`, `?` or `#`, and the user info is everything
/// in it up to the last `@`.
///
/// ```
/// use retry_policy::redact;
/// assert_eq!(redact::url("https://user:pw@example.com/a?b"), "https://***@example.com/a?b");
/// assert_eq!(redact::url("https://example.com/a@b"), "https://example.com/a@b");
/// assert_eq!(redact::url("user:pw@host:80/x"), "***@host:80/x");
/// ```
pub fn url(raw: &str) -> String {
    let start = raw.find("://").map_or(0, |i| i + 3);
    let rest = &raw[start..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{}***{}", &raw[..start], &rest[at..]),
        None => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::url;

    #[test]
    fn user_info_never_survives() {
        let cases = [
            ("http://user:pw@host/p", "http://***@host/p"),
            ("http://user@host", "http://***@host"),
            ("http://a:b@c@host:8080/x@y", "http://***@host:8080/x@y"),
            ("http://:pw@host", "http://***@host"),
            ("http://host/p?u=a@b#c@d", "http://host/p?u=a@b#c@d"),
            (
                "https://sqs.eu-west-1.amazonaws.com/1/q",
                "https://sqs.eu-west-1.amazonaws.com/1/q",
            ),
            ("pw@host", "***@host"),
            (
                "redis://:pw@127.0.0.1:6379/0",
                "redis://***@127.0.0.1:6379/0",
            ),
            (
                "rediss://default:pw@cache.example:6380",
                "rediss://***@cache.example:6380",
            ),
            ("", ""),
        ];
        for (raw, shown) in cases {
            assert_eq!(url(raw), shown, "{raw}");
            assert!(!url(raw).contains("pw"), "{raw}");
        }
    }
}
