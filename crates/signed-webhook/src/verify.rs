//! Checking: one header pair, a tolerance window, any of several secrets, constant time.

use std::fmt;
use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::scheme::{
    DEFAULT_TOLERANCE, SIGNATURE_HEADER, SIGNATURE_PREFIX, TIMESTAMP_HEADER, mac, unix_now,
};
use crate::secret::{WeakSecret, check_secret};

/// Why a request's signature was refused. Receivers answer 401 for each; the variant is for
/// their logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No [`SIGNATURE_HEADER`].
    #[error("the request has no X-Signature-256 header")]
    MissingSignature,
    /// No [`TIMESTAMP_HEADER`] (and unstamped signatures are not allowed).
    #[error("the request has no X-Signature-Timestamp header")]
    MissingTimestamp,
    /// A header is not `sha256=<64 hex digits>` or a decimal timestamp.
    #[error("the signature or timestamp header is malformed")]
    Malformed,
    /// The timestamp is further from now than the tolerance: a replay or a skewed clock.
    #[error("the signature timestamp is outside the tolerance window")]
    Stale,
    /// No secret produces this signature for this body and timestamp.
    #[error("the signature does not match the body")]
    Mismatch,
}

/// Checks signed requests against every current secret.
#[derive(Clone)]
pub struct Verifier {
    secrets: Vec<SecretString>,
    tolerance: Duration,
    allow_unstamped: bool,
}

/// The parsed headers of a request, before the (body-dependent) MAC check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The signed timestamp (`None` only for an allowed unstamped signature).
    pub timestamp: Option<i64>,
    /// The 32 MAC bytes.
    pub mac: [u8; 32],
}

impl Verifier {
    /// A verifier accepting a signature made with any of `secrets` (several during a rotation).
    /// Refuses an empty list or an empty/whitespace secret.
    pub fn new(secrets: Vec<SecretString>) -> Result<Self, WeakSecret> {
        if secrets.is_empty() {
            return Err(WeakSecret {
                what: "the webhook verification secret list",
            });
        }
        for secret in &secrets {
            check_secret("a webhook verification secret", secret)?;
        }
        Ok(Verifier {
            secrets,
            tolerance: DEFAULT_TOLERANCE,
            allow_unstamped: false,
        })
    }

    /// How far the timestamp may be from this clock, either way (default 300 s).
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Also accepts a signature over the body alone when the timestamp header is absent.
    /// Replayable forever: only to migrate old senders, never the default.
    pub fn allow_unstamped(mut self, allow: bool) -> Self {
        self.allow_unstamped = allow;
        self
    }

    /// Parses and time-checks the headers (no secret involved): lets a receiver refuse a
    /// request before reading its body.
    pub fn check_headers(&self, headers: &HeaderMap) -> Result<Claimed, VerifyError> {
        check_headers(headers, self.tolerance, self.allow_unstamped)
    }

    /// Whether any secret signed `body` as claimed; every secret is tried, in constant time.
    pub fn matches(&self, claimed: &Claimed, body: &[u8]) -> bool {
        matches_any(&self.secrets, claimed, body)
    }

    /// [`check_headers`](Self::check_headers) then [`matches`](Self::matches).
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), VerifyError> {
        let claimed = self.check_headers(headers)?;
        if self.matches(&claimed, body) {
            Ok(())
        } else {
            Err(VerifyError::Mismatch)
        }
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("secrets", &self.secrets.len())
            .field("tolerance", &self.tolerance)
            .field("allow_unstamped", &self.allow_unstamped)
            .finish()
    }
}

/// [`Verifier::check_headers`] for receivers that keep their secrets elsewhere.
pub fn check_headers(
    headers: &HeaderMap,
    tolerance: Duration,
    allow_unstamped: bool,
) -> Result<Claimed, VerifyError> {
    let provided = headers
        .get(SIGNATURE_HEADER)
        .ok_or(VerifyError::MissingSignature)?;
    let timestamp = match headers.get(TIMESTAMP_HEADER) {
        Some(value) => Some(parse_timestamp(value).ok_or(VerifyError::Malformed)?),
        None if allow_unstamped => None,
        None => return Err(VerifyError::MissingTimestamp),
    };
    let mac = parse_signature(provided).ok_or(VerifyError::Malformed)?;
    if let Some(ts) = timestamp
        && unix_now().abs_diff(ts) > tolerance.as_secs()
    {
        return Err(VerifyError::Stale);
    }
    Ok(Claimed { timestamp, mac })
}

/// [`Verifier::matches`] for receivers that keep their secrets elsewhere: every secret is
/// tried, in constant time.
pub fn matches_any(secrets: &[SecretString], claimed: &Claimed, body: &[u8]) -> bool {
    let mut matched = subtle::Choice::from(0);
    for secret in secrets {
        let expected = mac(secret.expose_secret().as_bytes(), claimed.timestamp, body);
        matched |= expected.ct_eq(&claimed.mac);
    }
    bool::from(matched)
}

/// The 32 bytes of a `sha256=<hex>` value (upper- or lowercase hex, surrounding spaces allowed).
pub fn parse_signature(value: &HeaderValue) -> Option<[u8; 32]> {
    let digits = value.to_str().ok()?.trim().strip_prefix(SIGNATURE_PREFIX)?;
    let bytes = hex::decode(digits).ok()?;
    bytes.try_into().ok()
}

/// A decimal unix-seconds timestamp.
pub fn parse_timestamp(value: &HeaderValue) -> Option<i64> {
    value.to_str().ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::{Signer, signature_value};

    fn secret(s: &str) -> SecretString {
        SecretString::from(s)
    }

    fn headers(timestamp: Option<&str>, signature: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(ts) = timestamp {
            h.insert(TIMESTAMP_HEADER, HeaderValue::from_str(ts).unwrap());
        }
        if let Some(sig) = signature {
            h.insert(SIGNATURE_HEADER, HeaderValue::from_str(sig).unwrap());
        }
        h
    }

    fn signed(secret_text: &str, ts: i64, body: &[u8]) -> HeaderMap {
        let s = Signer::new(secret(secret_text)).unwrap().sign_at(ts, body);
        headers(Some(&ts.to_string()), Some(&s.signature))
    }

    #[test]
    fn each_failure_has_its_own_error() {
        let v = Verifier::new(vec![secret("current")]).unwrap();
        let now = unix_now();
        let body = b"{}";
        assert_eq!(v.verify(&signed("current", now, body), body), Ok(()));
        assert_eq!(
            v.verify(&signed("current", now, body), b"{ }"),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            v.verify(&signed("other", now, body), body),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            v.verify(&headers(Some("1"), None), body),
            Err(VerifyError::MissingSignature)
        );
        let sig = signature_value(mac(b"current", None, body));
        assert_eq!(
            v.verify(&headers(None, Some(&sig)), body),
            Err(VerifyError::MissingTimestamp)
        );
        for (ts, sig) in [
            ("yesterday", sig.as_str()),
            (&now.to_string(), "sha256=zz"),
            (&now.to_string(), "md5=00"),
            (&now.to_string(), "sha256=abcd"),
        ] {
            assert_eq!(
                v.verify(&headers(Some(ts), Some(sig)), body),
                Err(VerifyError::Malformed),
                "{ts} {sig}"
            );
        }
        // A signature moved to a new timestamp does not verify.
        let old = signed("current", now - 10, body);
        let mut moved = old.clone();
        moved.insert(TIMESTAMP_HEADER, HeaderValue::from(now));
        assert_eq!(v.verify(&moved, body), Err(VerifyError::Mismatch));
    }

    #[test]
    fn the_tolerance_window_is_both_ways() {
        let v = Verifier::new(vec![secret("k")])
            .unwrap()
            .tolerance(Duration::from_secs(60));
        let now = unix_now();
        for (offset, ok) in [(-61, false), (-59, true), (59, true), (61, false)] {
            let got = v.verify(&signed("k", now + offset, b"b"), b"b");
            assert_eq!(got.is_ok(), ok, "{offset}: {got:?}");
            if !ok {
                assert_eq!(got, Err(VerifyError::Stale));
            }
        }
    }

    #[test]
    fn rotation_accepts_any_current_secret() {
        let v = Verifier::new(vec![secret("new"), secret("old")]).unwrap();
        let now = unix_now();
        assert!(v.verify(&signed("new", now, b"x"), b"x").is_ok());
        assert!(v.verify(&signed("old", now, b"x"), b"x").is_ok());
        assert_eq!(
            v.verify(&signed("retired", now, b"x"), b"x"),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn unstamped_only_when_allowed_and_weak_secrets_refused() {
        let sig = signature_value(mac(b"k", None, b"x"));
        let h = headers(None, Some(&sig));
        let strict = Verifier::new(vec![secret("k")]).unwrap();
        assert_eq!(strict.verify(&h, b"x"), Err(VerifyError::MissingTimestamp));
        assert_eq!(
            strict.clone().allow_unstamped(true).verify(&h, b"x"),
            Ok(())
        );
        assert!(Verifier::new(vec![]).is_err());
        assert!(Verifier::new(vec![secret("k"), secret("  ")]).is_err());
        let hidden = Verifier::new(vec![secret("hunter2-secret")]).unwrap();
        assert!(!format!("{hidden:?}").contains("hunter2"));
    }
}
