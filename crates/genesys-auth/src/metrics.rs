//! Counters shared by every clone of a client.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a client's counters ([`crate::GenesysClient::metrics`]). Clones of a client,
/// and clients made with [`crate::GenesysClient::with_token_provider`], count together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientMetrics {
    /// API requests sent (every attempt counts).
    pub requests: u64,
    /// Retries made after a failed attempt (not counting the retry after a 401).
    pub retries: u64,
    /// 429 answers seen.
    pub rate_limited: u64,
    /// 5xx answers seen.
    pub server_errors: u64,
    /// Requests to the token endpoint (every attempt counts) by the client-credentials provider
    /// the client built; tokens from a provider you pass in are not counted.
    pub token_requests: u64,
    /// 401 answers seen (each makes the token be invalidated).
    pub unauthorized: u64,
    /// Attempts that timed out.
    pub timeouts: u64,
    /// Attempts that failed on the connection (refused, reset, TLS).
    pub transport_errors: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
    pub(crate) server_errors: AtomicU64,
    pub(crate) token_requests: Arc<AtomicU64>,
    pub(crate) unauthorized: AtomicU64,
    pub(crate) timeouts: AtomicU64,
    pub(crate) transport_errors: AtomicU64,
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn snapshot(&self) -> ClientMetrics {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ClientMetrics {
            requests: get(&self.requests),
            retries: get(&self.retries),
            rate_limited: get(&self.rate_limited),
            server_errors: get(&self.server_errors),
            token_requests: get(&self.token_requests),
            unauthorized: get(&self.unauthorized),
            timeouts: get(&self.timeouts),
            transport_errors: get(&self.transport_errors),
        }
    }
}
