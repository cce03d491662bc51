//! `GET /__sim/stats`.

use axum::extract::State;
use axum::response::Response;
use http::StatusCode;

use super::shared::{AppState, json};
use crate::state::SimState;
use crate::stats::SimStats;
use crate::sync::lock;

/// A consistent copy of the counters and the outbox.
pub(crate) fn snapshot(state: &SimState) -> SimStats {
    let mut stats = lock(&state.stats).clone();
    stats.sent = lock(&state.outbox).by_conversation.clone();
    stats
}

pub(crate) async fn stats(State(state): State<AppState>) -> Response {
    let value = serde_json::to_value(snapshot(&state)).unwrap_or_default();
    json(StatusCode::OK, &value)
}
