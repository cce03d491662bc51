//! Amazon SQS (and an in-memory twin) queues, EventBridge dead letters parsed and categorized, diagnosis reports, replay, and a consumer that never loses a message.

pub mod category;
pub mod correlate;
pub mod dead_letter;
pub mod diagnosis;
pub mod memory;
pub mod queue;
pub mod queue_stats;
pub mod replay;
pub mod sqs;
pub mod report;

pub use queue::{
    AttributeValue, Attributes, BatchEntryFailure, BatchOutcome, OutgoingMessage, Queue,
    QueueDepth, QueueError, ReceiveOptions, ReceivedMessage,
};
pub use memory::{InjectedFailure, MemoryQueue, MemoryQueueBuilder, Operation};
pub use queue_stats::RequestStats;
pub use sqs::{QueueSettings, SqsQueue};
pub use category::{Basis, Category, Classification, classify};
pub use correlate::{Correlation, CorrelateError, CorrelationOutcome, Correlator, correlate_all};
pub use dead_letter::{
    DeadLetter, DlqAttributes, ErrorCode, EventBridgeEvent, EventDetail, EventMetadata,
    ExhaustedRetryCondition, ParseError,
};
pub use diagnosis::{Diagnosis, DiagnosisBuilder, DiagnosisError, DiagnosisOutcome, EntryProblem};
pub use replay::{
    Accepted, FailedReplay, HttpTarget, HttpTargetBuilder, QueueTarget, Rejected, Replay,
    ReplayBuilder, ReplayError, ReplayLetterError, ReplayReport, ReplayTarget, ReplayedMessage,
    SkipReason, SkippedMessage,
};
pub use report::{
    FileReportWriter, MemoryReportWriter, REPORT_SCHEMA_VERSION, ReportRecord, ReportWriter,
    RootCauseReport,
};

pub mod consumer;
pub mod handler;
pub mod idempotency;
pub mod metrics;

pub use consumer::{Consumer, ConsumerBuilder, ConsumerError, RunSummary};
pub use handler::{BoxError, Decode, DecodeError, Delivery, Handler, HandlerError, Json};
pub use idempotency::{Claim, IdempotencyError, IdempotencyStore, MemoryIdempotencyStore};
pub use metrics::{
    ConsumerCounters, ConsumerMetrics, CounterSnapshot, DeadLetterReason, NoMetrics,
};
#[cfg(feature = "http")]
pub mod ingest;
#[cfg(feature = "http")]
pub use ingest::{WebhookIngest, WebhookIngestBuilder};
#[cfg(feature = "http")]
pub mod receiver;
#[cfg(feature = "http")]
pub use receiver::{DeadLetterReceiver, DeadLetterReceiverBuilder, ReceiverError};
