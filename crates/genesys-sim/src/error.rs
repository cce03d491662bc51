//! Errors: [`SimError`] for the handle, [`GenesysError`] for what the server answers.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;

/// Why the simulator could not start or take a setting.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A builder or runtime setting is out of range; the message names it.
    #[error("invalid simulator setting: {0}")]
    InvalidConfig(String),
    /// The listening socket could not be bound (port in use, no permission).
    #[error("could not bind {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// A Genesys-shaped error answer: `{message, code, status, contextId, details, errors}`.
///
/// Handlers return it; the request pipeline fills `contextId` with the request's
/// `ININ-Correlation-Id` on the way out.
#[derive(Clone, Debug)]
pub(crate) struct GenesysError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl GenesysError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad.request", message)
    }

    pub fn invalid_value(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid.value", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not.found", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "bad.credentials",
            "Invalid login credentials.",
        )
    }

    /// The JSON body, with `context_id` as `contextId`.
    pub fn body(&self, context_id: &str) -> serde_json::Value {
        json!({
            "message": self.message,
            "code": self.code,
            "status": self.status.as_u16(),
            "contextId": context_id,
            "details": [],
            "errors": [],
        })
    }

    /// Renders the full answer for `context_id`.
    pub fn render(&self, context_id: &str) -> Response {
        let body = self.body(context_id).to_string();
        let mut resp = (self.status, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

impl IntoResponse for GenesysError {
    fn into_response(self) -> Response {
        let mut resp = self.render("");
        resp.extensions_mut().insert(self);
        resp
    }
}

/// Result of a handler.
pub(crate) type ApiResult = Result<Response, GenesysError>;
