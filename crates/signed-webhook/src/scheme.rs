//! Signing: HMAC-SHA256 over `"{timestamp}.{body}"`, lowercase hex after `sha256=`.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::secret::{WeakSecret, check_secret};

/// The signature header: `sha256=<64 lowercase hex digits>`.
pub const SIGNATURE_HEADER: &str = "x-signature-256";
/// The timestamp header: unix seconds, decimal.
pub const TIMESTAMP_HEADER: &str = "x-signature-timestamp";
/// What precedes the hex digits in [`SIGNATURE_HEADER`].
pub const SIGNATURE_PREFIX: &str = "sha256=";
/// How far a timestamp may be from the receiver's clock, either way (5 minutes).
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// The exact bytes signed: the decimal timestamp, a `.`, the raw body.
pub fn signing_input(timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut input = timestamp.to_string().into_bytes();
    input.push(b'.');
    input.extend_from_slice(body);
    input
}

/// HMAC-SHA256 of `"{timestamp}.{body}"` under `secret` (of the body alone when `timestamp`
/// is `None`: only for [`crate::Verifier::allow_unstamped`]).
pub fn mac(secret: &[u8], timestamp: Option<i64>, body: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length; the error branch cannot happen.
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

/// `sha256=<lowercase hex>` for a MAC.
pub fn signature_value(mac: [u8; 32]) -> String {
    format!("{SIGNATURE_PREFIX}{}", hex::encode(mac))
}

/// Now, in unix seconds.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Signs bodies with the current secret. During a rotation, senders switch to the new secret
/// once every receiver accepts both.
#[derive(Clone)]
pub struct Signer {
    secret: SecretString,
}

impl Signer {
    /// A signer; refuses an empty or whitespace secret ([`crate::check_secret`]).
    pub fn new(secret: SecretString) -> Result<Self, WeakSecret> {
        check_secret("the webhook signing secret", &secret)?;
        Ok(Signer { secret })
    }

    /// Signs `body` at `timestamp` (unix seconds).
    pub fn sign_at(&self, timestamp: i64, body: &[u8]) -> Signed {
        Signed {
            timestamp,
            signature: signature_value(mac(
                self.secret.expose_secret().as_bytes(),
                Some(timestamp),
                body,
            )),
        }
    }

    /// Signs `body` now. Sign again for each retry: a retry sent after the tolerance would be
    /// refused as stale.
    pub fn sign_now(&self, body: &[u8]) -> Signed {
        self.sign_at(unix_now(), body)
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer").finish_non_exhaustive()
    }
}

/// The two header values of one signed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// Unix seconds, the [`TIMESTAMP_HEADER`].
    pub timestamp: i64,
    /// `sha256=<hex>`, the [`SIGNATURE_HEADER`].
    pub signature: String,
}

impl Signed {
    /// The [`TIMESTAMP_HEADER`] value.
    pub fn timestamp_header(&self) -> HeaderValue {
        HeaderValue::from(self.timestamp)
    }

    /// The [`SIGNATURE_HEADER`] value (ASCII: always a valid header value).
    pub fn signature_header(&self) -> HeaderValue {
        HeaderValue::from_str(&self.signature)
            .unwrap_or_else(|_| HeaderValue::from_static("sha256="))
    }

    /// Both headers, ready to add to a request.
    pub fn headers(&self) -> [(&'static str, HeaderValue); 2] {
        [
            (TIMESTAMP_HEADER, self.timestamp_header()),
            (SIGNATURE_HEADER, self.signature_header()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed vector a receiver in another language can check its code against (README).
    #[test]
    fn the_documented_test_vector() {
        let signer = Signer::new(SecretString::from("whsec_test")).unwrap();
        let signed = signer.sign_at(1_767_225_600, br#"{"hello":"world"}"#);
        assert_eq!(signed.timestamp_header(), "1767225600");
        assert_eq!(
            signed.signature,
            signature_value(mac(b"whsec_test", None, br#"1767225600.{"hello":"world"}"#))
        );
        assert_eq!(
            signing_input(1_767_225_600, b"{}"),
            b"1767225600.{}".to_vec()
        );
        assert_eq!(signed.signature, include_str!("../tests/vector.txt").trim());
    }

    #[test]
    fn the_timestamp_is_signed() {
        let signer = Signer::new(SecretString::from("k")).unwrap();
        assert_ne!(
            signer.sign_at(1, b"x").signature,
            signer.sign_at(2, b"x").signature
        );
        assert!(Signer::new(SecretString::from(" ")).is_err());
        assert_eq!(format!("{signer:?}"), "Signer { .. }");
    }
}
