//! `GET /api/v2/analytics/conversations/details/jobs/{jobId}/results`: one page of a job's
//! results.

use genesys_auth::{ApiResponse, Endpoint, GenesysError, Operation, PathSegment};
use http::Method;

use crate::decode::strict_json;
use crate::jobs::{JobId, JobResultsPage};

/// One page of a fulfilled job's results → [`JobResultsPage`] (its `cursor` asks for the next).
#[derive(Debug, Clone)]
pub struct DetailsJobResults {
    job: PathSegment,
    cursor: Option<String>,
    page_size: Option<u32>,
}

impl DetailsJobResults {
    /// The first page of `job`'s results (refused if its id cannot be one path segment).
    pub fn new(job: &JobId) -> Result<Self, GenesysError> {
        Ok(Self {
            job: PathSegment::new(job.as_str())?,
            cursor: None,
            page_size: None,
        })
    }

    /// The page `cursor` (from the previous page) names.
    #[must_use]
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }

    /// The page size (default: the platform's).
    #[must_use]
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }
}

impl Endpoint for DetailsJobResults {
    type Response = JobResultsPage;
    const OPERATION: Operation = Operation::new(
        "getAnalyticsConversationsDetailsJobResults",
        Method::GET,
        "/api/v2/analytics/conversations/details/jobs/{jobId}/results",
    );

    fn path(&self) -> String {
        format!(
            "/api/v2/analytics/conversations/details/jobs/{}/results",
            self.job
        )
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        let mut query = Vec::new();
        if let Some(cursor) = &self.cursor {
            query.push(("cursor", cursor.clone()));
        }
        if let Some(size) = self.page_size {
            query.push(("pageSize", size.to_string()));
        }
        query
    }

    fn decode(&self, answer: &ApiResponse) -> Result<JobResultsPage, GenesysError> {
        strict_json(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_and_page_size_are_query_parameters() {
        let e = DetailsJobResults::new(&JobId::new("j 1"))
            .unwrap()
            .cursor("c+1")
            .page_size(50);
        assert_eq!(
            e.path(),
            "/api/v2/analytics/conversations/details/jobs/j%201/results"
        );
        assert!(DetailsJobResults::OPERATION.matches(&e.path()));
        assert_eq!(
            e.query(),
            vec![("cursor", "c+1".to_owned()), ("pageSize", "50".to_owned())]
        );
    }
}
