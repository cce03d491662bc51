//! Genesys Cloud analytics conversation details: typed queries, paging streams, batched
//! correlation of many conversation ids, and the async jobs API.

mod analytics;
mod client;
mod correlate;
mod decode;
mod endpoints;
mod error;
mod jobs;
mod model;
mod query;
mod tolerant;

pub use analytics::{Analytics, RESULT_CAP};
pub use client::AnalyticsClient;
pub use correlate::{
    CorrelateOptions, CorrelateOptionsBuilder, Correlation, CorrelationFailure, CorrelationWindow,
};
pub use decode::parse_conversation_page;
pub use error::{AnalyticsError, QueryError};
pub use jobs::{JobId, JobResultsPage, JobState, JobStatus, JobWait};
pub use model::{
    AnalyticsConversation, ConversationPage, Direction, DisconnectType, MediaType, MessageType,
    Participant, Purpose, Segment, SegmentType, Session,
};
pub use query::{
    ConversationQuery, ConversationQueryBuilder, DEFAULT_PAGE_SIZE, Filter, FilterType, Interval,
    MAX_PAGE_SIZE, Operator, Order, OrderBy, Paging, Predicate, PredicateSubject, PredicateType,
    dimension,
};
