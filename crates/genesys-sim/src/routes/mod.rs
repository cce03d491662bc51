//! The routes: the router that maps each path to its handler. What handlers share is in
//! [`shared`].

pub(crate) mod admin;
pub(crate) mod analytics;
pub(crate) mod conversations;
pub(crate) mod guest_ws;
pub(crate) mod jobs;
pub(crate) mod media;
pub(crate) mod oauth;
pub(crate) mod shared;
pub(crate) mod webmessaging;

use axum::Router;
use axum::routing::{get, post};
use http::{StatusCode, Uri};

use crate::error::GenesysError;
use shared::AppState;

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
