//! `DELETE /api/v2/analytics/conversations/details/jobs/{jobId}`: cancel a job.

use genesys_auth::{ApiResponse, Endpoint, GenesysError, Operation, PathSegment};
use http::Method;
use serde::de::IgnoredAny;

use crate::jobs::JobId;

/// Cancels an async job; whatever the answer's body holds is ignored.
#[derive(Debug, Clone)]
pub struct CancelDetailsJob {
    job: PathSegment,
}

impl CancelDetailsJob {
    /// Cancels `job` (refused if its id cannot be one path segment).
    pub fn new(job: &JobId) -> Result<Self, GenesysError> {
        Ok(Self {
            job: PathSegment::new(job.as_str())?,
        })
    }
}

impl Endpoint for CancelDetailsJob {
    type Response = IgnoredAny;
    const OPERATION: Operation = Operation::new(
        "deleteAnalyticsConversationsDetailsJob",
        Method::DELETE,
        "/api/v2/analytics/conversations/details/jobs/{jobId}",
    );

    fn path(&self) -> String {
        format!("/api/v2/analytics/conversations/details/jobs/{}", self.job)
    }

    /// The body is not read: a cancellation is done when the platform answers 2xx.
    fn decode(&self, _: &ApiResponse) -> Result<IgnoredAny, GenesysError> {
        Ok(IgnoredAny)
    }
}
