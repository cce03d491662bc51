//! Refusing secrets that would let anyone authenticate.

use secrecy::{ExposeSecret, SecretString};

/// Secrets shorter than this (bytes) are accepted with a warning: 32 random bytes cannot be
/// guessed offline from one captured signed request.
pub const RECOMMENDED_SECRET_BYTES: usize = 32;

/// A secret is empty or whitespace: a signature under it proves nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{what} is empty or whitespace: it would let anyone authenticate")]
pub struct WeakSecret {
    /// Which setting (for the operator), never the secret.
    pub what: &'static str,
}

/// Refuses an empty or whitespace secret; warns (tracing, never the secret) about a short one.
/// `what` names the setting in the error and the log.
pub fn check_secret(what: &'static str, secret: &SecretString) -> Result<(), WeakSecret> {
    let text = secret.expose_secret();
    if text.trim().is_empty() {
        return Err(WeakSecret { what });
    }
    if text.len() < RECOMMENDED_SECRET_BYTES {
        tracing::warn!(
            target: "signed_webhook",
            setting = what,
            bytes = text.len(),
            recommended = RECOMMENDED_SECRET_BYTES,
            "short secret: a secret under 32 bytes can be guessed offline from one captured signed request; use 32 random bytes or more"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_blank_secrets_are_refused_short_ones_accepted() {
        for weak in ["", "   ", "\t\n"] {
            assert_eq!(
                check_secret("s", &SecretString::from(weak)),
                Err(WeakSecret { what: "s" })
            );
        }
        assert_eq!(check_secret("s", &SecretString::from("short")), Ok(()));
        let long = "k".repeat(RECOMMENDED_SECRET_BYTES);
        assert_eq!(check_secret("s", &SecretString::from(long)), Ok(()));
    }
}
