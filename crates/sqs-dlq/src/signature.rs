//! The one signature scheme the HTTP entry points share: `X-Signature-256: sha256=<hex>`, the
//! HMAC-SHA256 of `"{X-Signature-Timestamp}.{body}"` (or of the body alone where a receiver
//! accepts untimestamped signatures), checked in constant time against every configured secret.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-signature-256";
/// The header carrying the signed Unix timestamp (seconds).
pub const TIMESTAMP_HEADER: &str = "x-signature-timestamp";

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
