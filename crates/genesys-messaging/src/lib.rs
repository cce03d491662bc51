//! Genesys Cloud web messaging: concurrent, validated, deduplicated history export; SSRF-safe media checks; archive sinks; a paced message sender.
