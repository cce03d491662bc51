//! HTTP (feature `http`): [`WebhookIngest`] puts signed webhooks on a queue,
//! [`DeadLetterReceiver`] takes dead letters POSTed in and replays them, and [`HttpServer`]
//! serves either router with the connection-level limits `axum::serve` lacks.
//!
//! Both routers check the one webhook signature of the workspace (HMAC-SHA256 over
//! `"{timestamp}.{body}"`, headers [`SIGNATURE_HEADER`] and [`TIMESTAMP_HEADER`]) through the
//! `signed-webhook` crate, and read bodies through one size- and time-limited reader.

pub(crate) mod body;
pub(crate) mod ingest;
pub(crate) mod receiver;
pub(crate) mod server;
pub(crate) mod signature;

pub use ingest::{
    DEFAULT_INGEST_BODY_BUDGET, DEFAULT_INGEST_DEADLINE, DEFAULT_INGEST_MAX_BODY_BYTES,
    IngestError, WebhookIngest, WebhookIngestBuilder, sign,
};
pub use receiver::{
    ATTRIBUTE_HEADERS, DEFAULT_RECEIVER_BODY_DEADLINE, DEFAULT_RECEIVER_MAX_BODY_BYTES,
    DEFAULT_UNAUTHENTICATED_BODY_BUDGET, DeadLetterReceiver, DeadLetterReceiverBuilder,
    MESSAGE_ID_HEADER, ReceiverError, signature, timestamped_signature,
};
pub use server::{
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_REQUESTS_PER_CONNECTION, DEFAULT_SHUTDOWN_GRACE, HttpServer, HttpServerBuilder,
    ServeSummary, ServerShutdown, ServerStats,
};
pub use signature::{
    DEFAULT_TIMESTAMP_TOLERANCE, RECOMMENDED_SECRET_BYTES, SIGNATURE_HEADER, TIMESTAMP_HEADER,
    WeakSecret,
};
