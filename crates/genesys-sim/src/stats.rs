//! Introspection: what the sim saw, as [`SimStats`] (also served at `GET /__sim/stats`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A message received by one of the send endpoints, in arrival order.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SentMessage {
    /// The id the sim gave it (the `id` of the answer).
    pub id: String,
    /// The conversation it was recorded under.
    pub conversation_id: String,
    /// `communicationId` of the agent send endpoint; `None` for open messaging inbound.
    pub communication_id: Option<String>,
    /// `integrationId` of the open messaging inbound endpoint; `None` for agent sends.
    pub integration_id: Option<String>,
    /// The text sent (`textBody`, or `text` for open messaging), if any.
    pub text: Option<String>,
    /// The request body as received.
    pub body: serde_json::Value,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
}

/// Faults injected so far, by kind.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultCounts {
    /// 500/502/503 answers injected.
    pub server_errors: u64,
    /// Connections reset without an answer.
    pub resets: u64,
    /// Bodies cut short.
    pub truncated: u64,
    /// HTML bodies instead of JSON.
    pub non_json: u64,
    /// Answers delayed by `slow_by`.
    pub slow: u64,
}

/// A snapshot of the sim's counters.
///
/// `requests` maps the request path (without query) to counts by status code; status `0` means
/// the connection was reset without an answer. `/__sim/*` requests are not counted.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimStats {
    /// Path → status → count.
    pub requests: BTreeMap<String, BTreeMap<u16, u64>>,
    /// All counted requests.
    pub total_requests: u64,
    /// Requests to `/oauth/token` (any outcome).
    pub token_requests: u64,
    /// Tokens issued.
    pub tokens_issued: u64,
    /// 429 answers sent.
    pub rate_limited: u64,
    /// Most requests in flight at once.
    pub max_in_flight: u64,
    /// Faults injected.
    pub faults: FaultCounts,
    /// Conversation id → messages received by the send endpoints, in arrival order.
    pub sent: BTreeMap<String, Vec<SentMessage>>,
}

impl SimStats {
    /// Count of answers with `status` on `path`.
    pub fn count(&self, path: &str, status: u16) -> u64 {
        self.requests
            .get(path)
            .and_then(|m| m.get(&status))
            .copied()
            .unwrap_or(0)
    }

    /// Count of answers with `status` on any path.
    pub fn count_status(&self, status: u16) -> u64 {
        self.requests.values().filter_map(|m| m.get(&status)).sum()
    }

    /// Texts sent to `conversation_id`, in arrival order.
    pub fn sent_texts(&self, conversation_id: &str) -> Vec<String> {
        self.sent
            .get(conversation_id)
            .map(|v| v.iter().filter_map(|m| m.text.clone()).collect())
            .unwrap_or_default()
    }
}
