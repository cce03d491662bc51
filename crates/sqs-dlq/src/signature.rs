//! The one signature scheme the HTTP entry points share: `X-Signature-256: sha256=<hex>`, the
//! HMAC-SHA256 of `"{X-Signature-Timestamp}.{body}"` with the timestamp within a tolerance of
//! now (or of the body alone where the dead-letter receiver was told to accept untimestamped
//! signatures), checked in constant time against every configured secret.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-signature-256";
/// The header carrying the signed Unix timestamp (seconds).
pub const TIMESTAMP_HEADER: &str = "x-signature-timestamp";
/// How far the signed timestamp may be from the receiving clock, either way, by default.
pub const DEFAULT_TIMESTAMP_TOLERANCE: Duration = Duration::from_secs(300);

/// Why a signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// No `X-Signature-256`.
    Missing,
    /// `X-Signature-256` without the `X-Signature-Timestamp` it must sign.
    TimestampMissing,
    /// A header that is not `sha256=<64 hex digits>` or Unix seconds.
    Malformed,
    /// A timestamp outside the tolerance (a replay, or a skewed clock).
    Expired,
    /// Not the MAC of this request under any secret (the receivers compare the MAC themselves,
    /// once the body is in, with [`matches_any`]).
    #[cfg(test)]
    Invalid,
}

/// What [`verify`] accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    /// How far `X-Signature-Timestamp` may be from now, either way.
    pub(crate) tolerance: Duration,
    /// A request without `X-Signature-Timestamp` may carry the MAC of the body alone. Such a
    /// request can be replayed; a request that carries a timestamp is still held to it.
    pub(crate) body_only: bool,
}

/// Checks the request's signature headers against `secrets`: the MAC of
/// `"{X-Signature-Timestamp}.{body}"` with a fresh timestamp, or (when the policy allows it and
/// no timestamp was sent) of the body alone.
#[cfg(test)]
pub(crate) fn verify(
    headers: &HeaderMap,
    body: &[u8],
    secrets: &[SecretString],
    policy: Policy,
) -> Result<(), Failure> {
    let (timestamp, provided) = check_headers(headers, policy)?;
    if matches_any(secrets, timestamp, body, &provided) {
        Ok(())
    } else {
        Err(Failure::Invalid)
    }
}

/// Everything [`verify`] can check before the body is read: the headers are present and well
/// formed and the timestamp is fresh. Returns the timestamp (if any) and the sent MAC. The
/// receivers call it before reading a body, so a stale or malformed request is refused
/// without its body ever being buffered.
pub(crate) fn check_headers(
    headers: &HeaderMap,
    policy: Policy,
) -> Result<(Option<i64>, Vec<u8>), Failure> {
    let provided = headers.get(SIGNATURE_HEADER).ok_or(Failure::Missing)?;
    let timestamp = match headers.get(TIMESTAMP_HEADER) {
        Some(value) => Some(parse_timestamp(value).ok_or(Failure::Malformed)?),
        None if policy.body_only => None,
        None => return Err(Failure::TimestampMissing),
    };
    let provided = parse_signature(provided).ok_or(Failure::Malformed)?;
    if timestamp.is_some_and(|ts| !is_fresh(ts, policy.tolerance)) {
        return Err(Failure::Expired);
    }
    Ok((timestamp, provided))
}

/// Secrets shorter than this are accepted with a warning: an HMAC key should carry at least as
/// many bytes as the hash's output (RFC 2104 §3) to resist guessing.
pub const RECOMMENDED_SECRET_BYTES: usize = 32;

/// Refuses a secret that authenticates nothing (empty or whitespace only: anyone can compute
/// an HMAC under it, or send it as a bearer) and warns, naming the risk, about one shorter
/// than [`RECOMMENDED_SECRET_BYTES`]. `what` names the setting in the warning.
pub(crate) fn check_secret(what: &'static str, secret: &SecretString) -> Result<(), WeakSecret> {
    let text = secret.expose_secret();
    if text.trim().is_empty() {
        return Err(WeakSecret { what });
    }
    if text.len() < RECOMMENDED_SECRET_BYTES {
        tracing::warn!(
            target: "sqs_dlq::signature",
            setting = what,
            bytes = text.len(),
            recommended = RECOMMENDED_SECRET_BYTES,
            "short secret: a secret under 32 bytes can be guessed offline from one captured signed request; use 32 random bytes or more"
        );
    }
    Ok(())
}

/// An empty or whitespace-only secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{what} is empty or whitespace: it would let anyone authenticate")]
pub struct WeakSecret {
    /// The setting it was given to.
    pub what: &'static str,
}

/// HMAC-SHA256 of `"{timestamp}.{body}"`, or of `body` alone without a timestamp.
pub(crate) fn mac(secret: &[u8], timestamp: Option<i64>, body: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length: this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return [0; 32];
    };
    if let Some(ts) = timestamp {
        mac.update(ts.to_string().as_bytes());
        mac.update(b".");
    }
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// The header value `sha256=<hex>` for a MAC.
pub(crate) fn header_value(mac: [u8; 32]) -> String {
    format!("sha256={}", hex::encode(mac))
}

/// The 32 bytes of a `sha256=<64 hex digits>` header, or `None` when malformed.
pub(crate) fn parse_signature(value: &HeaderValue) -> Option<Vec<u8>> {
    value
        .to_str()
        .ok()
        .and_then(|s| s.trim().strip_prefix("sha256="))
        .and_then(|digits| hex::decode(digits).ok())
        .filter(|bytes| bytes.len() == 32)
}

/// A timestamp header's Unix seconds, or `None` when malformed.
pub(crate) fn parse_timestamp(value: &HeaderValue) -> Option<i64> {
    value.to_str().ok()?.trim().parse().ok()
}

/// Whether `timestamp` is within `tolerance` of now, either way.
pub(crate) fn is_fresh(timestamp: i64, tolerance: Duration) -> bool {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    now.abs_diff(timestamp) <= tolerance.as_secs()
}

/// Whether `provided` is the MAC of (`timestamp`, `body`) under any of `secrets`. Every secret
/// is checked (no early exit), so timing does not tell which one matched.
pub(crate) fn matches_any(
    secrets: &[SecretString],
    timestamp: Option<i64>,
    body: &[u8],
    provided: &[u8],
) -> bool {
    let mut matched = subtle::Choice::from(0);
    for secret in secrets {
        let expected = mac(secret.expose_secret().as_bytes(), timestamp, body);
        matched |= expected.ct_eq(provided);
    }
    bool::from(matched)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> i64 {
        i64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap()
    }

    fn headers(timestamp: Option<i64>, signature: Option<String>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(ts) = timestamp {
            h.insert(TIMESTAMP_HEADER, HeaderValue::from(ts));
        }
        if let Some(sig) = signature {
            h.insert(SIGNATURE_HEADER, HeaderValue::from_str(&sig).unwrap());
        }
        h
    }

    #[test]
    fn verify_requires_a_fresh_timestamp_unless_body_only_is_allowed() {
        let secrets = [SecretString::from("s")];
        let body = b"{}";
        let strict = Policy {
            tolerance: DEFAULT_TIMESTAMP_TOLERANCE,
            body_only: false,
        };
        let lenient = Policy {
            body_only: true,
            ..strict
        };
        let t = now();
        let signed = |ts| header_value(mac(b"s", ts, body));
        for policy in [strict, lenient] {
            assert_eq!(
                verify(
                    &headers(Some(t), Some(signed(Some(t)))),
                    body,
                    &secrets,
                    policy
                ),
                Ok(())
            );
            // A stale or shifted timestamp is refused in both modes.
            let old = t - 301;
            let stale = headers(Some(old), Some(signed(Some(old))));
            assert_eq!(
                verify(&stale, body, &secrets, policy),
                Err(Failure::Expired)
            );
            let shifted = headers(Some(t), Some(signed(Some(old))));
            assert_eq!(
                verify(&shifted, body, &secrets, policy),
                Err(Failure::Invalid)
            );
            assert_eq!(
                verify(&headers(Some(t), None), body, &secrets, policy),
                Err(Failure::Missing)
            );
            let bad_ts = {
                let mut h = headers(None, Some(signed(Some(t))));
                h.insert(TIMESTAMP_HEADER, HeaderValue::from_static("soon"));
                h
            };
            assert_eq!(
                verify(&bad_ts, body, &secrets, policy),
                Err(Failure::Malformed)
            );
            // A body-only MAC next to a timestamp is held to the timestamped scheme.
            let mixed = headers(Some(t), Some(signed(None)));
            assert_eq!(
                verify(&mixed, body, &secrets, policy),
                Err(Failure::Invalid)
            );
        }
        let body_only = headers(None, Some(signed(None)));
        assert_eq!(
            verify(&body_only, body, &secrets, strict),
            Err(Failure::TimestampMissing)
        );
        assert_eq!(verify(&body_only, body, &secrets, lenient), Ok(()));
        let wrong = headers(None, Some(header_value(mac(b"other", None, body))));
        assert_eq!(
            verify(&wrong, body, &secrets, lenient),
            Err(Failure::Invalid)
        );
    }

    #[test]
    fn timestamped_and_plain_macs_differ_and_match_only_their_secret() {
        let secrets = [SecretString::from("old"), SecretString::from("new")];
        let body = br#"{"a":1}"#;
        let signed = mac(b"new", Some(1_700_000_000), body);
        assert!(matches_any(&secrets, Some(1_700_000_000), body, &signed));
        assert!(!matches_any(&secrets, Some(1_700_000_001), body, &signed));
        assert!(!matches_any(&secrets, None, body, &signed));
        assert!(!matches_any(
            &[SecretString::from("other")],
            Some(1_700_000_000),
            body,
            &signed
        ));
    }

    #[test]
    fn malformed_headers_parse_to_none() {
        for bad in ["", "sha256=", "sha256=zz", "md5=00", "sha256=00"] {
            assert!(
                parse_signature(&HeaderValue::from_static(bad)).is_none(),
                "{bad}"
            );
        }
        let good = header_value([7; 32]);
        assert_eq!(
            parse_signature(&HeaderValue::from_str(&good).unwrap()),
            Some(vec![7; 32])
        );
        assert_eq!(parse_timestamp(&HeaderValue::from_static(" 12 ")), Some(12));
        assert!(parse_timestamp(&HeaderValue::from_static("1e3")).is_none());
    }
}
