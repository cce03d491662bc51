//! The analytics conversation details jobs API.
//!
//! `POST …/details/jobs` → 202 `{"jobId"}`; `GET …/jobs/{id}` → `{"state", "submissionDate",
//! "expirationDate"}`: QUEUED for the first half of the configured delay, PENDING for the second,
//! then FULFILLED (or FAILED with `errorMessage`, when the builder says so or a predicate value is
//! [`FAIL_JOB_VALUE`](crate::FAIL_JOB_VALUE)). `DELETE` cancels (CANCELLED).
//! `GET …/jobs/{id}/results?cursor=&pageSize=` → `{"conversations", "cursor",
//! "dataAvailabilityDate"}`; `cursor` is absent on the last page; results of a job that is not
//! FULFILLED are a 400.

use axum::body::Bytes;
use axum::extract::{Path, State};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{TimeDelta, Utc};
use http::{HeaderMap, StatusCode, Uri};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::analytics::{DetailsQuery, conversation_json};
use super::shared::{AppState, int_param, json, parse_json, query, require_oauth};
use crate::dataset::iso;
use crate::error::{ApiResult, GenesysError};
use crate::job::Job;
use crate::sync::lock;

/// Default and largest page of job results.
const DEFAULT_RESULTS_PAGE: u64 = 1_000;
const MAX_RESULTS_PAGE: u64 = 10_000;

pub(crate) async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    require_oauth(&state, &headers)?;
    let value = parse_json(&body)?;
    let q = DetailsQuery::parse(&value, &state)?;
    let results = q.matching(&state);
    let job_id = uuid::Builder::from_random_bytes(
        ((u128::from(state.next_unique()) << 64) | u128::from(state.next_unique())).to_be_bytes(),
    )
    .into_uuid()
    .to_string();
    lock(&state.jobs).insert(
        job_id.clone(),
        Job {
            submitted: Instant::now(),
            submitted_at: Utc::now(),
            fail: q.fail_magic || state.config.analytics_jobs_fail,
            cancelled: false,
            results,
        },
    );
    Ok(json(StatusCode::ACCEPTED, &json!({ "jobId": job_id })))
}

/// `GET …/details/jobs/availability`: job results are complete up to the moment the org was
/// generated (the same `dataAvailabilityDate` every results page carries).
pub(crate) async fn availability(State(state): State<AppState>, headers: HeaderMap) -> ApiResult {
    require_oauth(&state, &headers)?;
    Ok(json(
        StatusCode::OK,
        &json!({ "dataAvailabilityDate": iso(state.data.created) }),
    ))
}

fn not_found(job_id: &str) -> GenesysError {
    GenesysError::not_found(format!("Job {job_id} was not found."))
}

pub(crate) async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(job_id): Path<String>,
) -> ApiResult {
    require_oauth(&state, &headers)?;
    let jobs = lock(&state.jobs);
    let job = jobs.get(&job_id).ok_or_else(|| not_found(&job_id))?;
    let job_state = job.state(state.config.analytics_job_delay);
    let mut body = json!({
        "state": job_state,
        "submissionDate": iso(job.submitted_at),
        "expirationDate": iso(job.submitted_at + TimeDelta::days(1)),
    });
    if job_state == "FAILED" {
        body["errorMessage"] = json!("The job failed (simulated).");
    }
    Ok(json(StatusCode::OK, &body))
}

pub(crate) async fn cancel(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(job_id): Path<String>,
) -> ApiResult {
    require_oauth(&state, &headers)?;
    let mut jobs = lock(&state.jobs);
    let job = jobs.get_mut(&job_id).ok_or_else(|| not_found(&job_id))?;
    job.cancelled = true;
    Ok(axum::response::IntoResponse::into_response(
        StatusCode::ACCEPTED,
    ))
}

fn encode_cursor(job_id: &str, offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{job_id}:{offset}"))
}

fn decode_cursor(job_id: &str, cursor: &str) -> Option<usize> {
    let raw = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, offset) = text.rsplit_once(':')?;
    (id == job_id).then_some(())?;
    offset.parse().ok()
}

pub(crate) async fn results(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(job_id): Path<String>,
    uri: Uri,
) -> ApiResult {
    require_oauth(&state, &headers)?;
    let q = query(&uri);
    let page_size = int_param(&q, "pageSize", DEFAULT_RESULTS_PAGE)?;
    if page_size == 0 || page_size > MAX_RESULTS_PAGE {
        return Err(GenesysError::invalid_value(format!(
            "pageSize must be between 1 and {MAX_RESULTS_PAGE}, got {page_size}."
        )));
    }
    let jobs = lock(&state.jobs);
    let job = jobs.get(&job_id).ok_or_else(|| not_found(&job_id))?;
    let job_state = job.state(state.config.analytics_job_delay);
    if job_state != "FULFILLED" {
        return Err(GenesysError::bad_request(format!(
            "Results are not available: the job is {job_state}."
        )));
    }
    let offset = match q.get("cursor").filter(|c| !c.is_empty()) {
        None => 0,
        Some(c) => decode_cursor(&job_id, c)
            .filter(|o| *o <= job.results.len())
            .ok_or_else(|| GenesysError::invalid_value("The cursor is not valid for this job."))?,
    };
    let end = offset
        .saturating_add(page_size as usize)
        .min(job.results.len());
    let conversations: Vec<Value> = job.results[offset..end]
        .iter()
        .map(|&i| conversation_json(&state.data.convs[i as usize]))
        .collect();
    let mut body = json!({
        "conversations": conversations,
        "dataAvailabilityDate": iso(state.data.created),
    });
    if end < job.results.len() {
        body["cursor"] = json!(encode_cursor(&job_id, end));
    }
    Ok(json(StatusCode::OK, &body))
}
