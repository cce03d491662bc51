//! `GET /api/v2/webmessaging/messages`: a guest session's history, by its JWT.

use axum::extract::State;
use http::{HeaderMap, StatusCode, Uri};
use serde_json::{Value, json};

use super::{AppState, bearer, int_param, query};
use crate::config::HistoryOrder;
use crate::error::{ApiResult, GenesysError};

pub(crate) async fn history(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult {
    let conv_index = bearer(&headers)
        .and_then(|jwt| state.data.by_jwt.get(jwt).copied())
        .ok_or_else(GenesysError::unauthorized)?;
    let q = query(&uri);
    let page_size = int_param(&q, "pageSize", 25)?;
    let page_number = int_param(&q, "pageNumber", 1)?;
    let max = u64::from(state.config.max_page_size);
    if page_size == 0 || page_size > max {
        return Err(GenesysError::invalid_value(format!(
            "pageSize must be between 1 and {max}, got {page_size}"
        )));
    }
    if page_number == 0 {
        return Err(GenesysError::invalid_value("pageNumber must be at least 1"));
    }
    let total = u64::from(state.data.messages_per_conversation);
    let page_count = total.div_ceil(page_size);
    let first = (page_number - 1).saturating_mul(page_size);
    let last = first.saturating_add(page_size).min(total);
    let entities: Vec<Value> = (first..last.max(first))
        .map(|pos| {
            // pos counts in serving order; turn it into the generation index.
            let index = match state.config.history_order {
                HistoryOrder::OldestFirst => pos,
                _ => total - 1 - pos,
            };
            let m = state.data.message(conv_index, index as u32);
            state.data.webmessaging_json(&m, &state.base_url)
        })
        .collect();
    Ok(super::json(
        StatusCode::OK,
        &json!({
            "entities": entities,
            "pageSize": page_size,
            "pageNumber": page_number,
            "total": total,
            "pageCount": page_count,
        }),
    ))
}
