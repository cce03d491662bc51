//! Backoff with jitter, Retry-After and rate-limit headers, a retry budget and a shared GCRA pacer for async Rust clients.
