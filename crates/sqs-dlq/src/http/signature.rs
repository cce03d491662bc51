//! The one signature scheme the HTTP entry points share, from the `signed-webhook` crate:
//! `X-Signature-256: sha256=<hex>`, the HMAC-SHA256 of `"{X-Signature-Timestamp}.{body}"` with
//! the timestamp within a tolerance of now (or of the body alone where the dead-letter receiver
//! was told to accept untimestamped signatures), checked in constant time against every
//! configured secret. This module only maps that crate's errors to the receivers' refusals.

use std::time::Duration;

use http::HeaderMap;
#[cfg(test)]
use http::HeaderValue;
use secrecy::SecretString;
use signed_webhook::{Claimed, VerifyError};

/// The signature header.
pub const SIGNATURE_HEADER: &str = signed_webhook::SIGNATURE_HEADER;
/// The header carrying the signed Unix timestamp (seconds).
pub const TIMESTAMP_HEADER: &str = signed_webhook::TIMESTAMP_HEADER;
/// How far the signed timestamp may be from the receiving clock, either way, by default.
pub const DEFAULT_TIMESTAMP_TOLERANCE: Duration = signed_webhook::DEFAULT_TOLERANCE;

pub use signed_webhook::{RECOMMENDED_SECRET_BYTES, WeakSecret};

/// Why the headers were refused (the body-dependent mismatch is decided by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    Missing,
    TimestampMissing,
    Malformed,
    Expired,
    #[cfg(test)]
    Invalid,
}

/// How a receiver checks timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    pub(crate) tolerance: Duration,
    pub(crate) body_only: bool,
}

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

/// Parses and time-checks the headers: the signed timestamp (if any) and the MAC bytes.
pub(crate) fn check_headers(
    headers: &HeaderMap,
    policy: Policy,
) -> Result<(Option<i64>, Vec<u8>), Failure> {
    match signed_webhook::check_headers(headers, policy.tolerance, policy.body_only) {
        Ok(Claimed { timestamp, mac }) => Ok((timestamp, mac.to_vec())),
        Err(VerifyError::MissingSignature) => Err(Failure::Missing),
        Err(VerifyError::MissingTimestamp) => Err(Failure::TimestampMissing),
        Err(VerifyError::Stale) => Err(Failure::Expired),
        Err(_) => Err(Failure::Malformed),
    }
}

/// Refuses an empty or whitespace secret; warns about a short one.
pub(crate) fn check_secret(what: &'static str, secret: &SecretString) -> Result<(), WeakSecret> {
    signed_webhook::check_secret(what, secret)
}

/// The MAC of `"{timestamp}.{body}"` (of the body alone without a timestamp).
pub(crate) fn mac(secret: &[u8], timestamp: Option<i64>, body: &[u8]) -> [u8; 32] {
    signed_webhook::mac(secret, timestamp, body)
}

/// `sha256=<hex>`.
pub(crate) fn header_value(mac: [u8; 32]) -> String {
    signed_webhook::signature_value(mac)
}

#[cfg(test)]
pub(crate) fn parse_signature(value: &HeaderValue) -> Option<Vec<u8>> {
    signed_webhook::parse_signature(value).map(|mac| mac.to_vec())
}

#[cfg(test)]
pub(crate) fn parse_timestamp(value: &HeaderValue) -> Option<i64> {
    signed_webhook::parse_timestamp(value)
}

/// Whether any secret produced `provided`, in constant time.
pub(crate) fn matches_any(
    secrets: &[SecretString],
    timestamp: Option<i64>,
    body: &[u8],
    provided: &[u8],
) -> bool {
    let Ok(mac) = <[u8; 32]>::try_from(provided) else {
        return false;
    };
    signed_webhook::matches_any(secrets, &Claimed { timestamp, mac }, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

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
