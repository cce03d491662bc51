//! Parsing the login service's answers: a token, or an OAuth error.
//!
//! The parsers never echo the body: a token answer may hold a token even when it is broken.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::Value;

use crate::error::AuthError;

/// Lifetime assumed when a token answer has no (or a `null`) `expires_in`: the shortest
/// lifetime an OAuth client can be configured with (300 s), so the token is refreshed early
/// rather than used after it expired.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// The longest lifetime believed: an `expires_in` above this (48 h, the platform's maximum) is
/// cut to it, so an absurd value cannot keep a token cached for years.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(172_800);

/// A token answer that was understood.
#[derive(Debug)]
pub(crate) struct TokenAnswer {
    pub(crate) access_token: SecretString,
    pub(crate) lifetime: Duration,
}

fn malformed(reason: &str) -> AuthError {
    AuthError::MalformedTokenResponse {
        reason: reason.to_owned(),
    }
}

/// Parses `{"access_token": "...", "token_type": "bearer", "expires_in": 86399}`.
///
/// - not JSON, truncated, not an object, no non-empty string `access_token` → error;
/// - `expires_in` missing or `null` → [`DEFAULT_TOKEN_LIFETIME`];
/// - `expires_in` a number (or a numeric string) ≤ 0, below 1 ms, or not a number → error;
/// - `expires_in` above [`MAX_TOKEN_LIFETIME`] → cut to it; fractions are kept.
pub(crate) fn parse_token_answer(body: &[u8]) -> Result<TokenAnswer, AuthError> {
    // Parse to a Value and pick fields by hand: serde's typed errors quote values, and a value
    // here may be the token.
    let value: Value =
        serde_json::from_slice(body).map_err(|e| AuthError::MalformedTokenResponse {
            reason: format!(
                "not JSON ({:?} at line {} column {})",
                e.classify(),
                e.line(),
                e.column()
            ),
        })?;
    let object = value
        .as_object()
        .ok_or_else(|| malformed("not a JSON object"))?;
    let token = match object.get("access_token") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::String(_)) => return Err(malformed("access_token is empty")),
        Some(_) => return Err(malformed("access_token is not a string")),
        None => return Err(malformed("no access_token")),
    };
    if token.chars().any(|c| c.is_control() || c == ' ') {
        return Err(malformed(
            "access_token contains whitespace or control characters",
        ));
    }
    if let Some(kind) = object.get("token_type").and_then(Value::as_str)
        && !kind.eq_ignore_ascii_case("bearer")
    {
        return Err(malformed("token_type is not bearer"));
    }
    let seconds = match object.get("expires_in") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(
            n.as_f64()
                .ok_or_else(|| malformed("expires_in is not a number"))?,
        ),
        Some(Value::String(s)) => Some(
            s.trim()
                .parse::<f64>()
                .map_err(|_| malformed("expires_in is not a number"))?,
        ),
        Some(_) => return Err(malformed("expires_in is not a number")),
    };
    let lifetime = match seconds {
        None => DEFAULT_TOKEN_LIFETIME,
        Some(s) if !s.is_finite() => return Err(malformed("expires_in is not a finite number")),
        Some(s) if s <= 0.0 => return Err(malformed("expires_in is zero or negative")),
        Some(s) if s < 0.001 => return Err(malformed("expires_in is below one millisecond")),
        Some(s) if s >= MAX_TOKEN_LIFETIME.as_secs_f64() => MAX_TOKEN_LIFETIME,
        Some(s) => Duration::from_secs_f64(s),
    };
    Ok(TokenAnswer {
        access_token: SecretString::from(token),
        lifetime,
    })
}

/// `error` and `description` (or `error_description`) of an OAuth error body, when it is JSON.
pub(crate) fn parse_oauth_error(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return (None, None);
    };
    let text = |name: &str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .map(|s| s.chars().take(512).collect::<String>())
            .filter(|s| !s.is_empty())
    };
    (
        text("error"),
        text("description").or_else(|| text("error_description")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn reason(body: &str) -> String {
        match parse_token_answer(body.as_bytes()) {
            Err(AuthError::MalformedTokenResponse { reason }) => reason,
            other => panic!("expected MalformedTokenResponse, got {other:?}"),
        }
    }

    #[test]
    fn the_documented_answer() {
        let a = parse_token_answer(
            br#"{"access_token":"tok","token_type":"bearer","expires_in":86399}"#,
        )
        .unwrap();
        assert_eq!(a.access_token.expose_secret(), "tok");
        assert_eq!(a.lifetime, Duration::from_secs(86399));
    }

    #[test]
    fn lifetimes_defaults_and_limits() {
        let life = |b: &str| parse_token_answer(b.as_bytes()).unwrap().lifetime;
        assert_eq!(life(r#"{"access_token":"t"}"#), DEFAULT_TOKEN_LIFETIME);
        assert_eq!(
            life(r#"{"access_token":"t","expires_in":null}"#),
            DEFAULT_TOKEN_LIFETIME
        );
        assert_eq!(
            life(r#"{"access_token":"t","expires_in":"600"}"#),
            Duration::from_secs(600)
        );
        assert_eq!(
            life(r#"{"access_token":"t","expires_in":0.25}"#),
            Duration::from_millis(250)
        );
        assert_eq!(
            life(r#"{"access_token":"t","expires_in":1e300}"#),
            MAX_TOKEN_LIFETIME
        );
        assert_eq!(
            life(r#"{"access_token":"t","expires_in":18446744073709551615}"#),
            MAX_TOKEN_LIFETIME
        );
        assert_eq!(
            life(r#"{"access_token":"t","token_type":"Bearer","expires_in":300}"#),
            Duration::from_secs(300)
        );
    }

    #[test]
    fn broken_answers_are_typed_errors_without_the_token() {
        assert!(
            reason(r#"{"access_token":"secret-tok","expires_in":0}"#).contains("zero or negative")
        );
        assert!(
            reason(r#"{"access_token":"secret-tok","expires_in":-5}"#).contains("zero or negative")
        );
        assert!(
            reason(r#"{"access_token":"secret-tok","expires_in":"soon"}"#).contains("not a number")
        );
        assert!(
            reason(r#"{"access_token":"secret-tok","expires_in":[1]}"#).contains("not a number")
        );
        assert!(reason(r#"{"expires_in":300}"#).contains("no access_token"));
        assert!(reason(r#"{"access_token":""}"#).contains("empty"));
        assert!(reason(r#"{"access_token":42}"#).contains("not a string"));
        assert!(reason(r#"{"access_token":"a b"}"#).contains("whitespace"));
        assert!(reason(r#"{"access_token":"t","token_type":"mac"}"#).contains("bearer"));
        assert!(reason(r#"["access_token"]"#).contains("object"));
        let truncated = reason(r#"{"access_token":"secret-tok-123","expi"#);
        assert!(truncated.contains("not JSON"), "{truncated}");
        assert!(!truncated.contains("secret-tok"));
        assert!(reason("<html>").contains("not JSON"));
        assert!(reason("").contains("not JSON"));
    }

    #[test]
    fn oauth_errors() {
        assert_eq!(
            parse_oauth_error(br#"{"error":"invalid_client","description":"bad secret"}"#),
            (Some("invalid_client".into()), Some("bad secret".into()))
        );
        assert_eq!(
            parse_oauth_error(br#"{"error":"invalid_grant","error_description":"nope"}"#),
            (Some("invalid_grant".into()), Some("nope".into()))
        );
        assert_eq!(parse_oauth_error(b"Unauthorized"), (None, None));
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_give_ok_or_a_typed_error(body in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            match parse_token_answer(&body) {
                Ok(a) => proptest::prop_assert!(a.lifetime > Duration::ZERO && a.lifetime <= MAX_TOKEN_LIFETIME),
                Err(AuthError::MalformedTokenResponse { .. }) => {}
                Err(other) => proptest::prop_assert!(false, "unexpected {other:?}"),
            }
            let _ = parse_oauth_error(&body);
        }

        #[test]
        fn json_shaped_answers_never_panic(
            token in proptest::option::of(".{0,20}"),
            expires in proptest::option::of(proptest::num::f64::ANY),
            kind in proptest::option::of("[a-zA-Z]{0,8}"),
        ) {
            let mut v = serde_json::Map::new();
            if let Some(t) = token { v.insert("access_token".into(), t.into()); }
            if let Some(e) = expires { v.insert("expires_in".into(), serde_json::json!(e)); }
            if let Some(k) = kind { v.insert("token_type".into(), k.into()); }
            let body = serde_json::to_vec(&v).unwrap();
            if let Ok(a) = parse_token_answer(&body) {
                proptest::prop_assert!(a.lifetime > Duration::ZERO && a.lifetime <= MAX_TOKEN_LIFETIME);
            }
        }
    }
}
