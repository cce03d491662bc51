//! Access tokens and the [`TokenProvider`] seam.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use crate::error::AuthError;

/// A bearer token. Cheap to clone (shared); `Debug` prints `AccessToken(***)`.
#[derive(Clone)]
pub struct AccessToken(Arc<Inner>);

struct Inner {
    secret: SecretString,
    /// `Bearer {token}`, built once per token (not per request) and marked sensitive; `None`
    /// when the token cannot be a header value (the request then fails as before).
    bearer: Option<HeaderValue>,
}

impl AccessToken {
    /// Wraps a token.
    pub fn new(token: SecretString) -> Self {
        let bearer = bearer_header(token.expose_secret());
        AccessToken(Arc::new(Inner {
            secret: token,
            bearer,
        }))
    }

    /// The token itself, for an `Authorization` header. Keep it out of logs.
    pub fn expose(&self) -> &str {
        self.0.secret.expose_secret()
    }

    /// The `Authorization: Bearer …` value (sensitive), shared by every request with this
    /// token.
    pub(crate) fn bearer_header(&self) -> Option<&HeaderValue> {
        self.0.bearer.as_ref()
    }
}

fn bearer_header(token: &str) -> Option<HeaderValue> {
    let mut value = Vec::with_capacity("Bearer ".len() + token.len());
    value.extend_from_slice(b"Bearer ");
    value.extend_from_slice(token.as_bytes());
    // Takes the buffer over without copying it (one copy of the header per token).
    let mut value = HeaderValue::from_maybe_shared(Bytes::from(value)).ok()?;
    value.set_sensitive(true);
    Some(value)
}

impl PartialEq for AccessToken {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.expose() == other.expose()
    }
}

impl Eq for AccessToken {}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(***)")
    }
}

/// Where the pipeline gets its bearer token.
///
/// Implemented by [`crate::ClientCredentialsProvider`] (an OAuth client, cached and refreshed)
/// and [`StaticToken`] (a guest JWT or a token obtained elsewhere); plug in your own for other
/// grants.
#[async_trait::async_trait]
pub trait TokenProvider: Send + Sync + fmt::Debug {
    /// A token that is valid now, fetching one if needed.
    async fn access_token(&self) -> Result<AccessToken, AuthError>;

    /// The API rejected `token` (401): do not hand it out again. A provider that cannot
    /// renew (a static token) may ignore this; the pipeline then stops after the 401.
    fn invalidate(&self, token: &AccessToken);
}

/// A fixed token: a web messaging guest JWT or a token obtained elsewhere. It cannot be
/// renewed; when the API rejects it, the request fails with the 401 [`crate::ApiError`] and
/// the caller must get a new token.
#[derive(Clone)]
pub struct StaticToken {
    token: AccessToken,
}

impl StaticToken {
    /// Wraps a token.
    pub fn new(token: SecretString) -> Self {
        StaticToken {
            token: AccessToken::new(token),
        }
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticToken(***)")
    }
}

#[async_trait::async_trait]
impl TokenProvider for StaticToken {
    async fn access_token(&self) -> Result<AccessToken, AuthError> {
        Ok(self.token.clone())
    }

    fn invalidate(&self, _token: &AccessToken) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_by_value_and_hide_it() {
        let a = AccessToken::new(SecretString::from("tok-123"));
        let b = AccessToken::new(SecretString::from("tok-123".to_owned()));
        let c = AccessToken::new(SecretString::from("tok-456"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.expose(), "tok-123");
        assert_eq!(format!("{a:?}"), "AccessToken(***)");
        let header = a.bearer_header().unwrap();
        assert_eq!(header.as_bytes(), b"Bearer tok-123");
        assert!(header.is_sensitive());
        assert!(!format!("{header:?}").contains("tok-123"));
        // Not a valid header value: no cached header (the request fails as reqwest fails it).
        let bad = AccessToken::new(SecretString::from("tok\nevil"));
        assert!(bad.bearer_header().is_none());
        assert_eq!(bad.expose(), "tok\nevil");
    }

    #[tokio::test]
    async fn static_token_hands_out_its_token() {
        let p = StaticToken::new(SecretString::from("guest-jwt"));
        let t = p.access_token().await.unwrap();
        assert_eq!(t.expose(), "guest-jwt");
        p.invalidate(&t);
        assert_eq!(p.access_token().await.unwrap(), t);
        assert_eq!(format!("{p:?}"), "StaticToken(***)");
    }
}
