//! The Genesys operations this crate calls, one type per operation and one file per type
//! (method, path, query, body, answer type), each sent by
//! [`GenesysClient::call`](genesys_auth::GenesysClient::call). [`AnalyticsClient`](crate::AnalyticsClient)
//! is built on them; call them directly for what it does not wrap.
//!
//! ```no_run
//! # async fn run(client: genesys_auth::GenesysClient) -> Result<(), genesys_auth::GenesysError> {
//! use genesys_analytics::endpoints::ConversationDetails;
//! let conversation = client.call(&ConversationDetails::new("5f1c…")?).await?;
//! println!("{:?}", conversation.conversation_start);
//! # Ok(()) }
//! ```
//!
//! [`operations`] lists them: what the contract check of recorded traffic must cover.

mod cancel_job;
mod create_job;
mod details;
mod details_query;
mod job_results;
mod job_status;
mod jobs_availability;

use genesys_auth::{Endpoint, Operation};

pub use cancel_job::CancelDetailsJob;
pub use create_job::CreateDetailsJob;
pub use details::ConversationDetails;
pub use details_query::{ConversationDetailsQuery, parse_conversation_page};
pub use job_results::DetailsJobResults;
pub use job_status::DetailsJobStatus;
pub use jobs_availability::DetailsJobsAvailability;

static OPERATIONS: [Operation; 7] = [
    ConversationDetailsQuery::OPERATION,
    ConversationDetails::OPERATION,
    CreateDetailsJob::OPERATION,
    DetailsJobsAvailability::OPERATION,
    DetailsJobStatus::OPERATION,
    CancelDetailsJob::OPERATION,
    DetailsJobResults::OPERATION,
];

/// Every operation this crate calls, one per endpoint type of this module.
pub fn operations() -> &'static [Operation] {
    &OPERATIONS
}
