//! `GET /api/v2/analytics/conversations/details/jobs/availability`: how far the jobs API's data
//! is complete.

use genesys_auth::{ApiResponse, Endpoint, GenesysError, Operation};
use http::Method;

use crate::decode::strict_json;
use crate::jobs::DataAvailability;

/// The jobs API's data availability date → [`DataAvailability`].
#[derive(Debug, Clone, Copy, Default)]
pub struct DetailsJobsAvailability;

impl Endpoint for DetailsJobsAvailability {
    type Response = DataAvailability;
    const OPERATION: Operation = Operation::new(
        "getAnalyticsConversationsDetailsJobsAvailability",
        Method::GET,
        "/api/v2/analytics/conversations/details/jobs/availability",
    );

    fn path(&self) -> String {
        Self::OPERATION.path.to_owned()
    }

    fn decode(&self, answer: &ApiResponse) -> Result<DataAvailability, GenesysError> {
        strict_json(answer)
    }
}
