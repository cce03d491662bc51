//! `POST /oauth/token`: client credentials with HTTP Basic auth.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, StatusCode, header};
use serde_json::json;

use super::shared::{AppState, json};
use crate::sync::lock;

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json(
        status,
        &json!({"error": error, "description": description, "error_description": description}),
    )
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

pub(crate) async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let grant = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.into_owned());
    let Some((id, secret)) = basic_credentials(&headers) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed: an Authorization: Basic header is required",
        );
    };
    let known = state
        .config
        .clients
        .iter()
        .any(|c| c.id == id && c.secret == secret);
    if !known {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client not found",
        );
    }
    match grant.as_deref() {
        Some("client_credentials") => {}
        Some(other) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("unsupported grant type: {other}"),
            );
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            );
        }
    }
    let token = format!(
        "sim-{:016x}{:016x}",
        state.next_unique(),
        state.next_unique()
    );
    let lifetime = state.config.token_lifetime;
    lock(&state.tokens).insert(token.clone(), tokio::time::Instant::now() + lifetime);
    lock(&state.stats).tokens_issued += 1;
    tracing::debug!(client_id = %id, "token issued");
    json(
        StatusCode::OK,
        &json!({
            "access_token": token,
            "token_type": "bearer",
            "expires_in": lifetime.as_millis().div_ceil(1000),
        }),
    )
}
