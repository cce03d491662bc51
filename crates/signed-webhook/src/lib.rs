//! One signed-webhook scheme for every signed HTTP hop, sending and receiving, and one
//! POST-with-retry. It knows nothing of Genesys or SQS.
//!
//! ```
//! use std::time::Duration;
//! use secrecy::SecretString;
//! use signed_webhook::{Signer, Verifier, SIGNATURE_HEADER, TIMESTAMP_HEADER};
//!
//! let secret = SecretString::from("0123456789abcdef0123456789abcdef");
//! let body = br#"{"batch":1}"#;
//! // sender
//! let signed = Signer::new(secret.clone()).unwrap().sign_now(body);
//! let mut headers = http::HeaderMap::new();
//! headers.insert(TIMESTAMP_HEADER, signed.timestamp_header());
//! headers.insert(SIGNATURE_HEADER, signed.signature_header());
//! // receiver (accepting the previous secret too, during a rotation)
//! let old = SecretString::from("an older secret, still accepted for a day");
//! let verifier = Verifier::new(vec![secret, old]).unwrap().tolerance(Duration::from_secs(300));
//! assert!(verifier.verify(&headers, body).is_ok());
//! assert!(verifier.verify(&headers, b"tampered").is_err());
//! ```
//!
//! Sending: [`WebhookClient`] (feature `client`) signs every attempt anew and retries in
//! retry-policy's driver; [`WebhookClient::post_with`] takes an [`AttemptHook`] for headers that
//! change per attempt (an attempt counter, a bearer refreshed once after a 401), and
//! [`HttpSettings`] is the one set of client settings (timeouts, extra roots, user agent).
//!
//! # The scheme
//! `X-Signature-256: sha256=<lowercase hex of HMAC-SHA256(secret, "{timestamp}.{body}")>` and
//! `X-Signature-Timestamp: <unix seconds>`; a receiver refuses a timestamp more than the
//! tolerance (default 300 s) away from its clock, and accepts a signature made with any of its
//! secrets (rotation). See the README for a receiver in another language.
//!
//! # What it does not do
//! - No replay cache: within the tolerance window a captured request verifies again; pair it
//!   with an idempotency key.
//! - No server: receivers call [`Verifier::verify`] from their own framework.
//! - No body-only signatures: the body alone is replayable forever. [`Verifier::allow_unstamped`]
//!   exists only so a receiver can migrate old senders, and is off by default.

mod scheme;
mod secret;
mod verify;

#[cfg(feature = "client")]
mod attempt;
#[cfg(feature = "client")]
mod http;
#[cfg(feature = "client")]
mod post;

pub use scheme::{
    DEFAULT_TOLERANCE, SIGNATURE_HEADER, SIGNATURE_PREFIX, Signed, Signer, TIMESTAMP_HEADER, mac,
    signature_value, signing_input, unix_now,
};
pub use secret::{RECOMMENDED_SECRET_BYTES, WeakSecret, check_secret};
pub use verify::{
    Claimed, Verifier, VerifyError, check_headers, matches_any, parse_signature, parse_timestamp,
};

#[cfg(feature = "client")]
pub use attempt::{Attempt, AttemptError, AttemptHook, HookError};
#[cfg(feature = "client")]
pub use http::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, HttpSettings};
/// What [`http_settings_setters!`] names in the code it adds; not an API.
#[cfg(feature = "client")]
#[doc(hidden)]
pub mod __private {
    pub use reqwest::Certificate;
}

#[cfg(feature = "client")]
pub use post::{BuildError, Delivered, PostError, WebhookClient, WebhookClientBuilder};
