//! What every route handler shares: the app state, query and path parameters, JSON bodies
//! and answers, the OAuth check. Below the handlers and the router that lists them.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use serde_json::Value;

use crate::error::GenesysError;
use crate::state::SimState;

pub(crate) type AppState = Arc<SimState>;

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
