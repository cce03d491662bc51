//! The routes, and what handlers share: auth checks, query and JSON parsing, JSON answers.

pub(crate) mod admin;
pub(crate) mod analytics;
pub(crate) mod conversations;
pub(crate) mod guest_ws;
pub(crate) mod jobs;
pub(crate) mod media;
pub(crate) mod oauth;
pub(crate) mod webmessaging;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use serde_json::Value;

use crate::error::GenesysError;
use crate::state::SimState;

pub(crate) type AppState = Arc<SimState>;

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/oauth/token", post(oauth::token))
        .route("/api/v2/webmessaging/messages", get(webmessaging::history))
        .route(
            "/api/v2/conversations/messages/{id}",
            get(conversations::conversation),
        )
        .route(
            "/api/v2/conversations/messages/{id}/messages/bulk",
            post(conversations::bulk),
        )
        .route(
            "/api/v2/conversations/messages/{id}/communications/{communication_id}/messages",
            post(conversations::send),
        )
        .route(
            "/api/v2/conversations/messages/{id}/inbound/open/message",
            post(conversations::inbound_open),
        )
        .route(
            "/api/v2/conversations/messages/agentless",
            post(conversations::agentless),
        )
        .route(
            "/api/v2/conversations/{id}",
            get(conversations::conversation_generic),
        )
        .route(
            "/api/v2/analytics/conversations/details/query",
            post(analytics::query),
        )
        .route(
            "/api/v2/analytics/conversations/{id}/details",
            get(analytics::details),
        )
        .route(
            "/api/v2/analytics/conversations/details/jobs",
            post(jobs::submit),
        )
        .route(
            "/api/v2/analytics/conversations/details/jobs/availability",
            get(jobs::availability),
        )
        .route(
            "/api/v2/analytics/conversations/details/jobs/{job_id}",
            get(jobs::status).delete(jobs::cancel),
        )
        .route(
            "/api/v2/analytics/conversations/details/jobs/{job_id}/results",
            get(jobs::results),
        )
        .route("/__media/{attachment_id}/{filename}", get(media::download))
        .route("/__sim/stats", get(admin::stats))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            guest_ws::GuestWs::new(state.clone()),
            guest_ws::intercept,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::pipeline::pipeline,
        ))
        .with_state(state)
}

async fn not_found(uri: Uri) -> GenesysError {
    GenesysError::new(
        StatusCode::NOT_FOUND,
        "not.found",
        format!("The requested resource {} was not found.", uri.path()),
    )
}

async fn method_not_allowed(method: http::Method, uri: Uri) -> GenesysError {
    GenesysError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method.not.allowed",
        format!("HTTP {method} is not supported by {}.", uri.path()),
    )
}

/// A JSON answer.
pub(crate) fn json(status: StatusCode, value: &Value) -> Response {
    let mut resp = (status, value.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// The bearer token of a request.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Requires a valid OAuth (client credentials) token.
pub(crate) fn require_oauth(state: &SimState, headers: &HeaderMap) -> Result<(), GenesysError> {
    match bearer(headers) {
        Some(t) if state.token_valid(t) => Ok(()),
        _ => Err(GenesysError::unauthorized()),
    }
}

/// Query parameters (last value wins).
pub(crate) fn query(uri: &Uri) -> HashMap<String, String> {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// An optional positive integer query parameter.
pub(crate) fn int_param(
    q: &HashMap<String, String>,
    name: &str,
    default: u64,
) -> Result<u64, GenesysError> {
    match q.get(name) {
        None => Ok(default),
        Some(v) => v.trim().parse::<u64>().map_err(|_| {
            GenesysError::invalid_value(format!("{name} must be a positive integer, got {v:?}"))
        }),
    }
}

/// A JSON request body.
pub(crate) fn parse_json(body: &Bytes) -> Result<Value, GenesysError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(GenesysError::bad_request("A request body is required."));
    }
    serde_json::from_slice(body).map_err(|e| {
        GenesysError::bad_request(format!(
            "The request could not be understood by the server due to malformed syntax: {e}"
        ))
    })
}
