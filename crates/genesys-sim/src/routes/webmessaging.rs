//! `GET /api/v2/webmessaging/messages`: a guest session's history, by its JWT.

use axum::extract::State;
use http::{HeaderMap, StatusCode, Uri};
use serde_json::{Value, json};

use super::shared::{AppState, bearer, int_param, query};
use crate::config::{HistoryOrder, SimConfig};
use crate::error::{ApiResult, GenesysError};

pub(crate) async fn history(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult {
    let conv_index = bearer(&headers)
        .and_then(|jwt| state.data.by_jwt.get(jwt).copied())
        .ok_or_else(GenesysError::unauthorized)?;
    let total = u64::from(state.data.messages_per_conversation);
    history_page(&uri, &state.config, total, |index| {
        let m = state.data.message(conv_index, index as u32);
        state.data.webmessaging_json(&m, &state.base_url)
    })
}

/// One page of a guest history of `total` messages, as the platform pages it (`pageSize`,
/// `pageNumber`, the configured order). `entity(i)` renders the message at generation index
/// `i` (0 is the oldest). Shared by the dataset's guests and the guest WebSocket's sessions.
pub(crate) fn history_page(
    uri: &Uri,
    config: &SimConfig,
    total: u64,
    mut entity: impl FnMut(u64) -> Value,
) -> ApiResult {
    let q = query(uri);
    let page_size = int_param(&q, "pageSize", 25)?;
    let page_number = int_param(&q, "pageNumber", 1)?;
    let max = u64::from(config.max_page_size);
    if page_size == 0 || page_size > max {
        return Err(GenesysError::invalid_value(format!(
            "pageSize must be between 1 and {max}, got {page_size}"
        )));
    }
    if page_number == 0 {
        return Err(GenesysError::invalid_value("pageNumber must be at least 1"));
    }
    let first = (page_number - 1).saturating_mul(page_size).min(total);
    let last = first.saturating_add(page_size).min(total);
    let entities: Vec<Value> = (first..last)
        .map(|pos| {
            // pos counts in serving order; turn it into the generation index.
            entity(match config.history_order {
                HistoryOrder::OldestFirst => pos,
                _ => total - 1 - pos,
            })
        })
        .collect();
    Ok(super::shared::json(
        StatusCode::OK,
        &json!({
            "entities": entities,
            "pageSize": page_size,
            "pageNumber": page_number,
            "total": total,
            "pageCount": total.div_ceil(page_size),
        }),
    ))
}
