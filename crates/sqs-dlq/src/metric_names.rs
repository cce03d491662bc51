//! The names of the metrics this crate emits through the [`metrics`] facade. The crate installs
//! no recorder and no exporter: the application picks one (the recipes serve Prometheus text).
//! Queue metrics carry the OpenTelemetry messaging attributes [`SYSTEM`] (`aws_sqs`, for the
//! in-memory queue too) and [`DESTINATION`] (the queue's name).
//!
//! The workspace README has the table of every name, unit and attribute.

/// Attribute `messaging.system`.
pub const SYSTEM: &str = "messaging.system";
/// The value of [`SYSTEM`].
pub const AWS_SQS: &str = "aws_sqs";
/// Attribute `messaging.destination.name`: the queue's name.
pub const DESTINATION: &str = "messaging.destination.name";
/// Attribute `messaging.operation.name` (`receive`, `process`, `send`, `delete`,
/// `change_visibility`, `get_attributes`).
pub const OPERATION_NAME: &str = "messaging.operation.name";

/// Counter (OpenTelemetry): messages a consumer received.
pub const MESSAGING_CLIENT_CONSUMED_MESSAGES: &str = "messaging.client.consumed.messages";
/// Histogram, seconds (OpenTelemetry): one handler run, whatever its result.
pub const MESSAGING_PROCESS_DURATION: &str = "messaging.process.duration";
/// Histogram, seconds (OpenTelemetry): one call to SQS (`messaging.operation.name`, and
/// `error.type` when it failed).
pub const MESSAGING_CLIENT_OPERATION_DURATION: &str = "messaging.client.operation.duration";
/// Counter: how each handled message ended, `outcome` (`succeeded`, `retried`,
/// `dead_lettered`, `duplicate`, `deferred`) with `reason` for dead letters (`poison`,
/// `permanent`, `retries_exhausted`).
pub const CONSUMER_OUTCOMES: &str = "genesys.consumer.outcomes";
/// Counter: visibility changes by `reason` (`retry`: a transient failure's backoff,
/// `release`: handed back at shutdown).
pub const VISIBILITY_CHANGES: &str = "genesys.queue.visibility_changes";
/// Counter: heartbeat visibility extensions of running handlers, `outcome` (`ok`, `error`).
pub const HEARTBEAT_EXTENSIONS: &str = "genesys.consumer.heartbeat.extensions";
/// Counter: copies to the dead-letter queue, `outcome` (`ok`, `error`) and `reason`.
pub const DLQ_COPIES: &str = "genesys.queue.dlq_copies";
/// Counter: messages deleted from the source queue, `outcome` (`ok`, `error`).
pub const DELETES: &str = "genesys.queue.deletes";
/// Counter: failed receive calls (the loop backs off).
pub const RECEIVE_ERRORS: &str = "genesys.queue.receive_errors";
/// Gauge: a queue's approximate depth where it was read, `state` (`visible`, `in_flight`,
/// `delayed`).
pub const QUEUE_DEPTH: &str = "genesys.queue.depth";
/// Counter: HTTP ingest answers, `http.response.status_code` and `outcome` (`queued`,
/// `too_large`, `unauthenticated`, ...).
pub const INGEST_ANSWERS: &str = "genesys.ingest.answers";
/// Counter: replay outcomes by `outcome` (`replayed`, `skipped`, `failed`), from a
/// [`Replay`](crate::dead_letter::Replay) run and from the dead-letter receiver.
pub const REPLAY_OUTCOMES: &str = "genesys.replay.outcomes";
/// Counter: dead-letter receiver answers by `outcome` (`replayed`, `too_large`, `unreadable`,
/// `unauthenticated`, `expired_signature`, `invalid_json`, `not_a_dead_letter`, `skipped`,
/// `replay_failed`, `timed_out`, `busy`).
pub const RECEIVER_REQUESTS: &str = "genesys.receiver.requests";
/// Counter: requests that reached the dead-letter receiver's route.
pub const RECEIVER_RECEIVED: &str = "genesys.receiver.received";
