//! Archive sinks: where exported messages go, in batches.
//!
//! [`ArchiveSink`] is the seam: [`WebhookArchive`] posts batches to an HTTP endpoint (signed,
//! idempotent, retried), [`JsonLinesFile`] writes one message per line to a file, and a user's
//! own store implements the same trait.

mod batch;
mod jsonl;
mod sink;
mod webhook;

pub use batch::ArchiveBatch;
pub use jsonl::JsonLinesFile;
pub use sink::{ArchiveSink, SinkError};
pub use webhook::{WebhookArchive, WebhookArchiveBuilder};
