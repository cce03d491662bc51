//! Genesys Cloud web messaging: concurrent, validated, deduplicated history export; SSRF-safe media checks; archive sinks; a paced message sender.

pub mod archive;
mod error;
pub mod history;
pub mod media;
pub mod models;
pub mod sender;

pub use error::MessagingError;
pub use models::*;
