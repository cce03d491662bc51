//! EventBridge dead letters: parse ([`DeadLetter`]), categorize ([`Category`]), correlate
//! ([`Correlator`]), diagnose ([`Diagnosis`] writing a [`RootCauseReport`]) and replay
//! ([`Replay`] to a [`ReplayTarget`]).
//!
//! The files of this room, each with one job:
//! - `attributes`: the typed DLQ attributes EventBridge attaches (`ERROR_CODE`, ...);
//! - `event`: the EventBridge envelope and the never-dropping parser behind [`DeadLetter`];
//! - `category`: the failure categories, decided from the attributes only;
//! - `correlate`: conversation lookups through a [`Correlator`] the caller plugs in;
//! - `drain`: the one drain step [`Diagnosis`] and [`Replay`] share (receive with retries,
//!   count each message once, release or delete by receipt handle);
//! - `report`: the versioned [`RootCauseReport`] and its writers;
//! - `diagnosis` and `replay`: the two jobs built on the drain step.
//!
//! `HttpTarget` (reqwest) needs the `replay-http` feature; everything else here builds with
//! no HTTP client.

pub(crate) mod attributes;
pub(crate) mod category;
pub(crate) mod correlate;
pub(crate) mod diagnosis;
pub(crate) mod drain;
pub(crate) mod event;
#[cfg(feature = "replay-http")]
pub(crate) mod http_target;
pub(crate) mod replay;
pub(crate) mod report;

pub use attributes::{
    ATTR_ERROR_CODE, ATTR_ERROR_MESSAGE, ATTR_EXHAUSTED_RETRY_CONDITION, ATTR_RETRY_ATTEMPTS,
    ATTR_RULE_ARN, ATTR_TARGET_ARN, DlqAttributes, ErrorCode, ExhaustedRetryCondition,
};
pub use category::{
    Basis, Category, Classification, UnknownCategory, category_for_status, category_from_text,
    classify, code_category, code_reason, http_status_in,
};
pub use correlate::{CorrelateError, Correlation, CorrelationOutcome, Correlator, correlate_all};
pub use diagnosis::{
    DEFAULT_CORRELATION_BATCH, DEFAULT_DIAGNOSIS_VISIBILITY, DEFAULT_DIAGNOSIS_WAIT, Diagnosis,
    DiagnosisBuilder, DiagnosisError, DiagnosisOutcome,
};
pub use drain::EntryProblem;
pub use event::{
    DeadLetter, EventBridgeEvent, EventDetail, EventMetadata, MAX_SUMMARY_EVENT_IDS, ParseError,
    canonical_uuid, conversation_id, conversation_id_from_topic, parse_event,
};
#[cfg(feature = "replay-http")]
pub use http_target::{BearerError, BearerSource, HttpTarget, HttpTargetBuilder};
pub use replay::{
    ATTEMPT_COUNT_HEADER, Accepted, EVENT_ID_HEADER, FailedReplay, QueueTarget, REPLAY_SOURCE,
    REPLAY_SOURCE_HEADER, Rejected, Replay, ReplayBuilder, ReplayError, ReplayLetterError,
    ReplayReport, ReplayTarget, ReplayedMessage, SkipReason, SkippedMessage,
};
pub use report::{
    CorrelationStatus, CorrelationSummary, FileReportWriter, MemoryReportWriter,
    REPORT_SCHEMA_VERSION, ReportGroup, ReportRecord, ReportWriter, RootCauseReport,
};
