//! `POST /api/v2/analytics/conversations/details/jobs`: submit an async details job.

use genesys_auth::{ApiResponse, Endpoint, GenesysError, JsonBody, Operation};
use http::Method;

use crate::decode::strict_json;
use crate::jobs::JobSubmission;
use crate::query::ConversationQuery;

/// Submits a query as an async job (its paging left out: jobs have none) → [`JobSubmission`].
#[derive(Debug, Clone, Copy)]
pub struct CreateDetailsJob<'a> {
    query: &'a ConversationQuery,
}

impl<'a> CreateDetailsJob<'a> {
    /// A job for `query`.
    pub fn new(query: &'a ConversationQuery) -> Self {
        Self { query }
    }
}

impl Endpoint for CreateDetailsJob<'_> {
    type Response = JobSubmission;
    const OPERATION: Operation = Operation::new(
        "postAnalyticsConversationsDetailsJobs",
        Method::POST,
        "/api/v2/analytics/conversations/details/jobs",
    );

    fn path(&self) -> String {
        Self::OPERATION.path.to_owned()
    }

    fn body(&self) -> Result<Option<JsonBody>, GenesysError> {
        JsonBody::new(&self.query.job_body()).map(Some)
    }

    fn decode(&self, answer: &ApiResponse) -> Result<JobSubmission, GenesysError> {
        strict_json(answer)
    }
}
