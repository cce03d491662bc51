//! Genesys Cloud analytics conversation details: typed queries, paging streams, batched
//! correlation of many conversation ids, and the async jobs API.
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use genesys_analytics::{Analytics, AnalyticsClient, ConversationQuery, Filter, Order, Predicate, dimension};
//!
//! # async fn run(genesys: genesys_auth::GenesysClient) -> Result<(), genesys_analytics::AnalyticsError> {
//! let analytics = AnalyticsClient::new(genesys); // pacing, token, retries: the GenesysClient's
//! let end = chrono::Utc::now();
//! let query = ConversationQuery::builder()
//!     .interval(end - chrono::TimeDelta::days(1), end) // start before end, checked
//!     .order(Order::Desc)
//!     .page_size(100)
//!     .segment_filter(Filter::and([Predicate::dimension(dimension::MEDIA_TYPE).matches("message")]))
//!     .build()?;
//! let mut pages = analytics.query_all(query); // pageNumber 1, 2, … until totalHits
//! while let Some(page) = pages.try_next().await? {
//!     for c in &page.conversations {
//!         println!("{} started {:?}", c.conversation_id, c.conversation_start);
//!     }
//! }
//!
//! // many ids, few requests: 100 ids per query over the last 30 days, then details() for the rest
//! let ids = vec!["5f1c…".to_owned(), "77aa…".to_owned()];
//! let correlation = analytics.correlate(&ids).await?;
//! println!("{} found, not found: {:?}, {} requests",
//!     correlation.found.len(), correlation.not_found, correlation.requests());
//! # Ok(()) }
//! ```
//!
//! # What it does
//! - [`ConversationQuery`]: the body of `POST /api/v2/analytics/conversations/details/query`
//!   (`interval`, `order`, `orderBy`, `paging`, `conversationFilters`, `segmentFilters` with
//!   typed [`Predicate`]s), checked by its builder ([`QueryError`]).
//! - Models ([`AnalyticsConversation`] → [`Participant`] → [`Session`] → [`Segment`]) that keep
//!   unknown fields in `extra` and unknown enum values in `Unknown(String)`; a page without
//!   `conversations` is an empty page.
//! - The [`Analytics`] trait and [`AnalyticsClient`]: [`query`](Analytics::query),
//!   [`query_all`](Analytics::query_all) (a `Stream`; more than [`RESULT_CAP`] hits is refused
//!   after the first page with [`AnalyticsError::TooManyResults`]),
//!   [`details`](Analytics::details) (404 is `Ok(None)`), [`correlate`](Analytics::correlate)
//!   ([`CorrelateOptions`]: chunk size, window, concurrency).
//! - The async jobs API: [`AnalyticsClient::submit_job`], [`AnalyticsClient::wait_job`]
//!   ([`JobWait`]: backoff from `retry_policy`, deadline; typed errors for FAILED, CANCELLED,
//!   EXPIRED), [`AnalyticsClient::job_results`] (a `Stream` following the cursor).
//!   `submit_job` asks for the data availability date first
//!   ([`AnalyticsClient::data_availability`]) and says when the interval reaches past it
//!   ([`SubmittedJob::is_partial`]): results after that date are partial.
//! - With feature `sqs-dlq`: `dlq::AnalyticsCorrelator`, sqs-dlq's `Correlator` over
//!   [`correlate`](Analytics::correlate), so the dead-letter diagnosis names each letter's
//!   conversation (found, not found, or failed, per id).
//! - Predicates as the platform takes them: dimensions per filter kind ([`dimension`]),
//!   property predicates with their [`PropertyType`] (segment filters only), metric predicates
//!   with a [`NumericRange`].
//!
//! # What it does not do
//! - Retries, pacing, auth: the `GenesysClient` does them for every request; this crate has no
//!   loop of its own around 429s or 5xx. (Polling a job's state is the only loop, and it only
//!   polls.)
//! - Aggregate / observation queries, filter `clauses`, metric `range`s.
//! - Guess the platform's unknown limits (predicates per filter, longest interval): they are
//!   settings ([`CorrelateOptions::builder`], the query's interval).
//!
//! # Why correlate works this way
//! The tutorial it replaces made one analytics query per id. One `or` filter of 100
//! `conversationId` predicates over a window, with pageSize 100, answers 100 ids in one
//! request; only ids older than the window cost a request each (`GET …/{id}/details`).

mod analytics;
mod client;
mod correlate;
mod correlation;
mod decode;
#[cfg(feature = "sqs-dlq")]
pub mod dlq;
pub mod endpoints;
mod error;
mod job_state;
mod jobs;
mod model;
mod query;
mod tolerant;

pub use analytics::{Analytics, RESULT_CAP};
pub use client::AnalyticsClient;
pub use correlate::{CorrelateOptions, CorrelateOptionsBuilder, CorrelationWindow};
pub use correlation::{Correlation, CorrelationFailure, IdOutcome};
pub use endpoints::parse_conversation_page;
pub use error::{AnalyticsError, QueryError};
pub use job_state::JobState;
pub use jobs::{
    DataAvailability, JobId, JobResultsPage, JobStatus, JobSubmission, JobWait, SubmittedJob,
};
pub use model::{
    AnalyticsConversation, ConversationPage, Direction, DisconnectType, MediaType, MessageType,
    Participant, Purpose, Segment, SegmentType, Session,
};
pub use query::{
    ConversationQuery, ConversationQueryBuilder, DEFAULT_PAGE_SIZE, Filter, FilterType, Interval,
    MAX_PAGE_SIZE, MetricSubject, NumericRange, Operator, Order, OrderBy, Paging, Predicate,
    PredicateSubject, PredicateType, PropertyType, dimension,
};
