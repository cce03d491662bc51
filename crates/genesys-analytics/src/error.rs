//! The crate's errors: [`QueryError`] for a query refused before it is sent, and
//! [`AnalyticsError`] for everything a call can end with.

use std::time::Duration;

use chrono::{DateTime, Utc};
use genesys_auth::GenesysError;

use crate::job_state::JobState;

/// A query or setting refused before anything was sent. Fix the input and call again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// No interval was given; the API needs one.
    #[error("a conversation details query needs an interval")]
    MissingInterval,
    /// The interval's start is not before its end (compared at millisecond precision).
    #[error("interval start {start} is not before its end {end}")]
    IntervalNotIncreasing {
        /// The start given (cut to milliseconds).
        start: DateTime<Utc>,
        /// The end given (cut to milliseconds).
        end: DateTime<Utc>,
    },
    /// A relative interval reaches outside the representable dates.
    #[error("an interval of {span:?} is out of range")]
    IntervalOutOfRange {
        /// The span asked for.
        span: Duration,
    },
    /// An interval string is not `start/end` in RFC 3339.
    #[error("not an interval of the form start/end (RFC 3339): {input:?}")]
    IntervalSyntax {
        /// The input (first 100 characters).
        input: String,
    },
    /// pageSize must be 1..=100.
    #[error("page size {page_size} is outside 1..=100")]
    PageSizeOutOfRange {
        /// The size given.
        page_size: u32,
    },
    /// pageNumber starts at 1.
    #[error("page numbers start at 1")]
    PageNumberZero,
    /// A filter without predicates matches nothing useful and the API refuses it.
    #[error("a filter needs at least one predicate")]
    EmptyFilter,
    /// `conversation_ids` was given no id.
    #[error("conversation_ids was given no id")]
    NoConversationIds,
    /// `conversation_ids` was given an empty (or blank) id.
    #[error("conversation_ids was given an empty id")]
    EmptyConversationId,
    /// A predicate the platform refuses in this kind of filter (a segment dimension in a
    /// conversation filter, `conversationId` in a segment filter, a property without its type,
    /// a metric compared with a value instead of a range…).
    #[error("predicate {name:?} is not allowed in a {filter} filter: {reason}")]
    PredicateNotAllowed {
        /// The dimension, property or metric name.
        name: String,
        /// `conversation` or `segment`.
        filter: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// A client or correlation setting is out of range.
    #[error("setting {setting} {reason}")]
    InvalidSetting {
        /// Which setting.
        setting: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Everything an analytics call can end with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnalyticsError {
    /// The query or a setting was refused before anything was sent.
    #[error("invalid query: {0}")]
    InvalidQuery(#[from] QueryError),
    /// The query matches more conversations than a details query can page through.
    /// Narrow the interval or filters, or export with the async jobs API
    /// ([`AnalyticsClient::submit_job`](crate::AnalyticsClient::submit_job)).
    #[error(
        "the query matches {total_hits} conversations, over the {cap} a details query can page \
         through: narrow it or use the async jobs API (submit_job / wait_job / job_results)"
    )]
    TooManyResults {
        /// What the first page said the query matches.
        total_hits: u64,
        /// The cap in force.
        cap: u64,
    },
    /// The request failed in the `GenesysClient` pipeline (after its retries): API error
    /// (status, code, correlation id), timeout, transport, auth, body too large, invalid input.
    #[error("analytics request failed: {0}")]
    Request(#[source] Box<GenesysError>),
    /// The answer was not the JSON expected (not JSON, wrong types, cut short). Nothing was
    /// guessed; the body snippet shows what came.
    #[error("{endpoint} answered with a body that is not the expected JSON: {source}")]
    InvalidResponse {
        /// The API path template that answered.
        endpoint: &'static str,
        /// The start of the body (lossy UTF-8, at most 256 bytes).
        body_snippet: String,
        /// What the parser found.
        #[source]
        source: serde_json::Error,
    },
    /// The async job failed on the platform's side.
    #[error("analytics job {job_id} failed: {}", error_message.as_deref().unwrap_or("no reason given"))]
    JobFailed {
        /// The job.
        job_id: String,
        /// The platform's reason, when given.
        error_message: Option<String>,
    },
    /// The async job was cancelled.
    #[error("analytics job {job_id} was cancelled")]
    JobCancelled {
        /// The job.
        job_id: String,
    },
    /// The async job's results expired before they were read; submit it again.
    #[error("analytics job {job_id} expired; submit it again")]
    JobExpired {
        /// The job.
        job_id: String,
    },
    /// The job submission was answered without a job id.
    #[error("the job submission was answered without a jobId")]
    MissingJobId,
    /// The job results answered the same cursor they were asked with (the stream would never
    /// end); the pages read so far were delivered.
    #[error("analytics job {job_id} results repeat the cursor {cursor:?}")]
    CursorRepeated {
        /// The job.
        job_id: String,
        /// The repeated cursor.
        cursor: String,
    },
    /// The job was not fulfilled within the wait's deadline; it may still finish: wait again.
    #[error("analytics job {job_id} still {last_state} after {waited:?}")]
    JobDeadline {
        /// The job.
        job_id: String,
        /// How long this wait lasted.
        waited: Duration,
        /// The last state seen.
        last_state: JobState,
    },
}

impl From<GenesysError> for AnalyticsError {
    fn from(e: GenesysError) -> Self {
        Self::Request(Box::new(e))
    }
}

impl AnalyticsError {
    /// The `GenesysClient` error behind this one, if the request failed there.
    pub fn request_error(&self) -> Option<&GenesysError> {
        match self {
            Self::Request(e) => Some(e),
            _ => None,
        }
    }

    /// The HTTP status of the API answer behind this error, if any.
    pub fn status(&self) -> Option<u16> {
        self.request_error().and_then(GenesysError::status)
    }

    /// Whether this is an answer cut short (the body ended inside the JSON).
    pub fn is_truncated(&self) -> bool {
        matches!(self, Self::InvalidResponse { source, .. }
            if source.classify() == serde_json::error::Category::Eof)
    }
}
