//! Archive sinks: where exported messages go, in batches.
//!
//! [`ArchiveSink`] is the seam: [`WebhookArchive`] posts batches to an HTTP endpoint (signed,
//! idempotent, retried), [`JsonLinesFile`] writes one message per line to a file, [`TeeSink`] writes each batch
//! to several sinks, and a user's own store implements the same trait.
//!
//! An archive keeps what it was given: archive [`Verbatim`] messages (the body's bytes as
//! received, beside its parsed form) and both sinks store those bytes unchanged, so numbers
//! beyond `f64` (`123456789012345678901234567890`, `1e-400`) and repeated keys survive. A type
//! that is re-serialized (a `serde_json::Value`, a model struct) is stored as serde writes it.

mod batch;
mod jsonl;
mod sink;
mod tee;
mod verbatim;
mod webhook;

pub use batch::ArchiveBatch;
pub use jsonl::JsonLinesFile;
pub use sink::{ArchiveSink, SinkError};
pub use tee::TeeSink;
pub use verbatim::Verbatim;
pub use webhook::{WebhookArchive, WebhookArchiveBuilder};
