//! Parsing the server's pacing hints: `Retry-After` and the rate-limit header families.
//!
//! Every parser is total: a missing, malformed or absurd value gives `None`, never a panic.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;

/// Values of `X-RateLimit-Reset` at or above this are Unix timestamps in seconds (2001-09-09),
/// below it delta seconds.
const EPOCH_SECONDS_FROM: u64 = 1_000_000_000;
/// Values at or above this are Unix timestamps in milliseconds.
const EPOCH_MILLIS_FROM: u64 = 1_000_000_000_000;

/// Parses a `Retry-After` value: delta-seconds (`"120"`) or an HTTP-date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`, also the obsolete RFC 850 and asctime forms), relative to
/// `now`.
///
/// A date in the past gives `Duration::ZERO` (the policy's floor then applies). A delta too large
/// for a `u64` saturates at `u64::MAX` seconds, so a policy's cap rejects it rather than mistaking
/// it for "no hint". Decimal seconds (`"1.5"`), which some gateways send, are accepted. Negative
/// numbers, empty strings and anything else give `None`.
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use retry_policy::parse_retry_after;
///
/// let now = UNIX_EPOCH + Duration::from_secs(1_445_412_470); // 07:27:50 GMT
/// assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
/// assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), Some(Duration::from_secs(10)));
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    if let Some(d) = parse_decimal_seconds(value) {
        return Some(d);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// `digits.digits` as seconds; `None` for anything else (signs, exponents, `inf`, `NaN`).
fn parse_decimal_seconds(value: &str) -> Option<Duration> {
    let (whole, frac) = value.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(frac) {
        return None;
    }
    let secs: f64 = value.parse().ok()?;
    Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
}

/// The `Retry-After` of a response, relative to the system clock now. See [`parse_retry_after`].
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    retry_after_at(headers, SystemTime::now())
}

/// The `Retry-After` of a response, relative to `now`.
pub fn retry_after_at(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, now)
}

/// What the server said about its rate limit.
///
/// From Genesys Cloud's `inin-ratelimit-allowed` / `-count` / `-reset` (requests allowed per
/// window, used so far, seconds until the window resets), else the gateway family
/// `X-RateLimit-Limit` / `-Remaining` / `-Reset`. Missing fields are derived where the others
/// allow (`remaining = limit - used` and the converse).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RateLimitInfo {
    /// Requests allowed per window.
    pub limit: Option<u64>,
    /// Requests used in the current window.
    pub used: Option<u64>,
    /// Requests left in the current window.
    pub remaining: Option<u64>,
    /// Time until the window resets.
    pub reset: Option<Duration>,
}

impl RateLimitInfo {
    /// A value with these fields (the struct is `#[non_exhaustive]`; use this outside the crate).
    pub fn new(
        limit: Option<u64>,
        used: Option<u64>,
        remaining: Option<u64>,
        reset: Option<Duration>,
    ) -> Self {
        Self {
            limit,
            used,
            remaining,
            reset,
        }
    }

    /// Reads either header family, relative to the system clock now; `None` when neither
    /// family has a readable field.
    ///
    /// ```
    /// use http::{HeaderMap, HeaderValue};
    /// use retry_policy::RateLimitInfo;
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("inin-ratelimit-allowed", HeaderValue::from_static("180"));
    /// headers.insert("inin-ratelimit-count", HeaderValue::from_static("1"));
    /// headers.insert("inin-ratelimit-reset", HeaderValue::from_static("61"));
    /// let info = RateLimitInfo::from_headers(&headers).unwrap();
    /// assert_eq!((info.limit, info.used, info.remaining), (Some(180), Some(1), Some(179)));
    /// ```
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        Self::from_headers_at(headers, SystemTime::now())
    }

    /// [`from_headers`](Self::from_headers) with an explicit clock for epoch-timestamp resets.
    ///
    /// `X-RateLimit-Reset` may be delta seconds or a Unix timestamp: values from 10^9 are read
    /// as epoch seconds and from 10^12 as epoch milliseconds; a timestamp in the past gives
    /// zero. `inin-ratelimit-reset` is always delta seconds.
    pub fn from_headers_at(headers: &HeaderMap, now: SystemTime) -> Option<Self> {
        let inin = Self::new(
            number(headers, "inin-ratelimit-allowed"),
            number(headers, "inin-ratelimit-count"),
            None,
            header_str(headers, "inin-ratelimit-reset").and_then(parse_delta),
        );
        if !inin.is_empty() {
            return Some(inin.derive_missing());
        }
        let x = Self::new(
            number(headers, "x-ratelimit-limit"),
            None,
            number(headers, "x-ratelimit-remaining"),
            header_str(headers, "x-ratelimit-reset").and_then(|v| parse_reset(v, now)),
        );
        (!x.is_empty()).then(|| x.derive_missing())
    }

    fn is_empty(&self) -> bool {
        self.limit.is_none()
            && self.used.is_none()
            && self.remaining.is_none()
            && self.reset.is_none()
    }

    pub(crate) fn derive_missing(mut self) -> Self {
        if let Some(limit) = self.limit {
            if self.remaining.is_none() {
                self.remaining = self.used.map(|u| limit.saturating_sub(u));
            }
            if self.used.is_none() {
                self.used = self.remaining.map(|r| limit.saturating_sub(r));
            }
        }
        self
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

fn number(headers: &HeaderMap, name: &str) -> Option<u64> {
    let v = header_str(headers, name)?;
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// Delta seconds, whole or decimal; absurdly large values saturate.
fn parse_delta(v: &str) -> Option<Duration> {
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(v.parse::<u64>().unwrap_or(u64::MAX)));
    }
    parse_decimal_seconds(v)
}

/// `X-RateLimit-Reset`: delta seconds, or a Unix timestamp in seconds or milliseconds.
fn parse_reset(v: &str, now: SystemTime) -> Option<Duration> {
    let delta = parse_delta(v)?;
    let whole = delta.as_secs();
    let at = if whole >= EPOCH_MILLIS_FROM {
        UNIX_EPOCH.checked_add(Duration::from_millis(whole))?
    } else if whole >= EPOCH_SECONDS_FROM {
        UNIX_EPOCH.checked_add(delta)?
    } else {
        return Some(delta);
    };
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use proptest::prelude::*;

    /// 2015-10-21 07:27:50 GMT.
    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_445_412_470)
    }

    fn secs(n: u64) -> Option<Duration> {
        Some(Duration::from_secs(n))
    }

    #[test]
    fn retry_after_delta_seconds() {
        assert_eq!(parse_retry_after("0", now()), secs(0));
        assert_eq!(parse_retry_after("2", now()), secs(2));
        assert_eq!(parse_retry_after("  120 ", now()), secs(120));
        assert_eq!(parse_retry_after("0007", now()), secs(7));
        assert_eq!(
            parse_retry_after("1.5", now()),
            Some(Duration::from_millis(1500))
        );
    }

    #[test]
    fn retry_after_http_dates() {
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now()),
            secs(10)
        );
        assert_eq!(
            parse_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", now()),
            secs(10)
        );
        assert_eq!(
            parse_retry_after("Wed Oct 21 07:28:00 2015", now()),
            secs(10)
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:50 GMT", now()),
            secs(0)
        );
    }

    #[test]
    fn retry_after_past_date_is_zero() {
        assert_eq!(
            parse_retry_after("Tue, 20 Oct 2015 07:28:00 GMT", now()),
            secs(0)
        );
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", now()),
            secs(0)
        );
    }

    #[test]
    fn retry_after_garbage_is_none() {
        for bad in [
            "",
            "   ",
            "soon",
            "-5",
            "-0",
            "+5",
            "5s",
            "1e3",
            "inf",
            "NaN",
            "1.",
            ".5",
            "1.2.3",
            "0x10",
            "Wed, 32 Oct 2015 07:28:00 GMT",
            "Wed, 21 Oct 2015 25:28:00 GMT",
            "2015-10-21T07:28:00Z",
            "١٢",
        ] {
            assert_eq!(parse_retry_after(bad, now()), None, "{bad:?}");
        }
    }

    #[test]
    fn retry_after_huge_numbers_saturate() {
        assert_eq!(
            parse_retry_after("18446744073709551615", now()),
            secs(u64::MAX)
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999999", now()),
            secs(u64::MAX)
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999999.5", now()),
            Some(Duration::MAX)
        );
    }

    #[test]
    fn retry_after_from_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), secs(3));
        h.insert("retry-after", HeaderValue::from_bytes(b"\xff\xfe").unwrap());
        assert_eq!(retry_after(&h), None, "non-UTF-8 value");
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after_at(&h, now()), secs(10));
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn inin_family() {
        let h = headers(&[
            ("inin-ratelimit-allowed", "180"),
            ("inin-ratelimit-count", "1"),
            ("inin-ratelimit-reset", "61"),
        ]);
        assert_eq!(
            RateLimitInfo::from_headers_at(&h, now()),
            Some(RateLimitInfo::new(Some(180), Some(1), Some(179), secs(61)))
        );
        let over = headers(&[
            ("inin-ratelimit-allowed", "10"),
            ("inin-ratelimit-count", "12"),
        ]);
        assert_eq!(
            RateLimitInfo::from_headers_at(&over, now())
                .unwrap()
                .remaining,
            Some(0)
        );
    }

    #[test]
    fn inin_family_wins_over_x_family() {
        let h = headers(&[
            ("inin-ratelimit-allowed", "300"),
            ("x-ratelimit-limit", "50"),
        ]);
        assert_eq!(
            RateLimitInfo::from_headers_at(&h, now()).unwrap().limit,
            Some(300)
        );
    }

    #[test]
    fn x_family_with_delta_and_epoch_resets() {
        let h = headers(&[
            ("X-RateLimit-Limit", "100"),
            ("X-RateLimit-Remaining", "40"),
            ("X-RateLimit-Reset", "30"),
        ]);
        assert_eq!(
            RateLimitInfo::from_headers_at(&h, now()),
            Some(RateLimitInfo::new(Some(100), Some(60), Some(40), secs(30)))
        );
        // Epoch seconds 45 s after `now`, epoch milliseconds 2.5 s after, and one in the past.
        let h = headers(&[("x-ratelimit-reset", "1445412515")]);
        assert_eq!(
            RateLimitInfo::from_headers_at(&h, now()).unwrap().reset,
            secs(45)
        );
        let h = headers(&[("x-ratelimit-reset", "1445412472500")]);
        assert_eq!(
            RateLimitInfo::from_headers_at(&h, now()).unwrap().reset,
            Some(Duration::from_millis(2500))
        );
        let h = headers(&[("x-ratelimit-reset", "1400000000")]);
        assert_eq!(
            RateLimitInfo::from_headers_at(&h, now()).unwrap().reset,
            secs(0)
        );
        let h = headers(&[("x-ratelimit-reset", "99999999999999999999999")]);
        let far = RateLimitInfo::from_headers_at(&h, now())
            .unwrap()
            .reset
            .unwrap();
        assert!(
            far > Duration::from_secs(1 << 50),
            "absurd timestamps saturate far away"
        );
    }

    #[test]
    fn malformed_values_are_none() {
        let h = headers(&[
            ("inin-ratelimit-allowed", "lots"),
            ("inin-ratelimit-count", "-1"),
            ("inin-ratelimit-reset", "soon"),
        ]);
        assert_eq!(RateLimitInfo::from_headers_at(&h, now()), None);
        let h = headers(&[
            ("inin-ratelimit-allowed", "1e3"),
            ("inin-ratelimit-count", "7"),
        ]);
        assert_eq!(
            RateLimitInfo::from_headers_at(&h, now()),
            Some(RateLimitInfo::new(None, Some(7), None, None))
        );
        let h = headers(&[("x-ratelimit-limit", "99999999999999999999999")]);
        assert_eq!(
            RateLimitInfo::from_headers_at(&h, now()),
            None,
            "overflow is unreadable"
        );
        assert_eq!(RateLimitInfo::from_headers(&HeaderMap::new()), None);
    }

    proptest! {
        #[test]
        fn retry_after_never_panics(s in any::<String>(), t in any::<u64>()) {
            let _ = parse_retry_after(&s, UNIX_EPOCH + Duration::from_secs(t % (1u64 << 40)));
        }

        #[test]
        fn retry_after_numeric_like_strings_never_panic(s in "[-+0-9. a-zA-Z,:]{0,40}") {
            let _ = parse_retry_after(&s, now());
        }

        #[test]
        fn header_families_never_panic(
            vals in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 6),
        ) {
            let names = [
                "inin-ratelimit-allowed", "inin-ratelimit-count", "inin-ratelimit-reset",
                "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset",
            ];
            let mut h = HeaderMap::new();
            for (name, v) in names.iter().zip(&vals) {
                if let Ok(v) = HeaderValue::from_bytes(v) {
                    h.insert(*name, v.clone());
                    h.insert(http::header::RETRY_AFTER, v);
                }
            }
            let _ = RateLimitInfo::from_headers(&h);
            let _ = retry_after(&h);
        }

        #[test]
        fn header_strings_never_panic(s in "\\PC{0,30}", d in "[0-9]{0,30}") {
            for v in [s.as_str(), d.as_str()] {
                if let Ok(value) = HeaderValue::from_str(v) {
                    let mut h = HeaderMap::new();
                    for name in ["inin-ratelimit-allowed", "inin-ratelimit-reset", "x-ratelimit-reset", "x-ratelimit-limit"] {
                        h.insert(name, value.clone());
                    }
                    let _ = RateLimitInfo::from_headers(&h);
                }
            }
        }
    }
}
