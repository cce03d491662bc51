//! The API paths this crate calls (templates name the endpoint in errors).

/// `POST` a conversation details query.
pub(crate) const QUERY: &str = "/api/v2/analytics/conversations/details/query";
/// `GET` one conversation's details (template; the id is encoded in between).
pub(crate) const DETAILS: &str = "/api/v2/analytics/conversations/{conversationId}/details";
/// `POST` an async details job.
pub(crate) const JOBS: &str = "/api/v2/analytics/conversations/details/jobs";
/// `GET` how far the jobs API's data is complete.
pub(crate) const JOBS_AVAILABILITY: &str =
    "/api/v2/analytics/conversations/details/jobs/availability";
/// `GET` a job's state (template).
pub(crate) const JOB: &str = "/api/v2/analytics/conversations/details/jobs/{jobId}";
/// `GET` a job's results (template).
pub(crate) const JOB_RESULTS: &str = "/api/v2/analytics/conversations/details/jobs/{jobId}/results";

/// The details path for an already encoded id.
pub(crate) fn details(encoded_id: &str) -> String {
    format!("/api/v2/analytics/conversations/{encoded_id}/details")
}

/// The job path for an already encoded id.
pub(crate) fn job(encoded_id: &str) -> String {
    format!("{JOBS}/{encoded_id}")
}

/// The job results path for an already encoded id.
pub(crate) fn job_results(encoded_id: &str) -> String {
    format!("{JOBS}/{encoded_id}/results")
}
