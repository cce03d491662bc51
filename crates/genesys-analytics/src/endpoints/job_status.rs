//! `GET /api/v2/analytics/conversations/details/jobs/{jobId}`: a job's state.

use genesys_auth::{ApiResponse, Endpoint, GenesysError, Operation, PathSegment};
use http::Method;

use crate::decode::strict_json;
use crate::jobs::{JobId, JobStatus};

/// An async job's current state → [`JobStatus`].
#[derive(Debug, Clone)]
pub struct DetailsJobStatus {
    job: PathSegment,
}

impl DetailsJobStatus {
    /// The state of `job` (refused if its id cannot be one path segment).
    pub fn new(job: &JobId) -> Result<Self, GenesysError> {
        Ok(Self {
            job: PathSegment::new(job.as_str())?,
        })
    }
}

impl Endpoint for DetailsJobStatus {
    type Response = JobStatus;
    const OPERATION: Operation = Operation::new(
        "getAnalyticsConversationsDetailsJob",
        Method::GET,
        "/api/v2/analytics/conversations/details/jobs/{jobId}",
    );

    fn path(&self) -> String {
        format!("/api/v2/analytics/conversations/details/jobs/{}", self.job)
    }

    fn decode(&self, answer: &ApiResponse) -> Result<JobStatus, GenesysError> {
        strict_json(answer)
    }
}
