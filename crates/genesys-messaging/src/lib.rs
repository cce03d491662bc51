//! Genesys Cloud web messaging: concurrent, validated, deduplicated history export; SSRF-safe media checks; archive sinks; a paced message sender.

pub mod media;
pub mod models;

pub use models::*;
