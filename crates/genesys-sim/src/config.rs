//! The knobs: [`Faults`], [`HistoryOrder`], and the settings a [`crate::SimOrgBuilder`] fills in.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::SimError;
use crate::limits::LimitModel;

/// Seeded fault injection, as shares of API requests (each in `0.0..=1.0`).
///
/// One draw per request decides at most one fault, in this order: server error (500, 502 or 503
/// with a Genesys error body), connection reset (the connection is dropped with a TCP RST and no
/// answer), truncated body (the handler's answer cut in half: half of the time with an honest
/// `Content-Length` and the connection closed early, half of the time chunked and cut mid-JSON),
/// non-JSON body (`200` with `Content-Type: text/html` and an HTML page, like a proxy's), slow
/// answer (the real answer, `slow_by` later). Shares that add up to more than 1 are taken in order
/// until the total reaches 1.
///
/// Faults apply to `/api/v2/...` requests; to `/oauth/token` only with
/// [`SimOrgBuilder::token_faults`](crate::SimOrgBuilder::token_faults); never to `/__sim/*` or to attachment downloads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    /// Share answered 500, 502 or 503 (uniformly among the three).
    pub server_errors: f64,
    /// Share whose connection is reset without an answer.
    pub resets: f64,
    /// Share whose body is cut short.
    pub truncated: f64,
    /// Share answered with an HTML body instead of JSON.
    pub non_json: f64,
    /// Share answered only after `slow_by` (to outlast a client timeout).
    pub slow: f64,
    /// Extra delay of a slow answer.
    pub slow_by: Duration,
}

impl Faults {
    /// No faults at all (the default).
    pub fn none() -> Self {
        Self::default()
    }

    pub(crate) fn validate(&self) -> Result<(), SimError> {
        for (name, v) in [
            ("server_errors", self.server_errors),
            ("resets", self.resets),
            ("truncated", self.truncated),
            ("non_json", self.non_json),
            ("slow", self.slow),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(SimError::InvalidConfig(format!(
                    "fault share {name} = {v} is outside 0..=1"
                )));
            }
        }
        Ok(())
    }
}

/// Order of the guest history (`GET /api/v2/webmessaging/messages`).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum HistoryOrder {
    /// Page 1 holds the most recent messages, newest first (what the guest messenger shows when it
    /// scrolls back; the default).
    #[default]
    NewestFirst,
    /// Page 1 holds the oldest messages, oldest first.
    OldestFirst,
}

/// An OAuth client the token endpoint accepts.
#[derive(Clone, Debug)]
pub(crate) struct OAuthClient {
    pub id: String,
    pub secret: String,
}

/// Everything the builder collects (internal).
#[derive(Clone, Debug)]
pub(crate) struct SimConfig {
    pub seed: u64,
    pub conversations: u32,
    pub messages_per_conversation: u32,
    pub max_page_size: u32,
    pub token_lifetime: Duration,
    pub limit: LimitModel,
    pub retry_after_zero: bool,
    pub token_rate_limited: bool,
    pub token_faults: bool,
    pub latency: Duration,
    pub jitter: Duration,
    pub faults: Faults,
    pub out_of_order_share: f64,
    pub expired_attachment_share: f64,
    pub attachment_share: f64,
    pub bot_share: f64,
    pub history_span: Duration,
    pub history_order: HistoryOrder,
    pub analytics_job_delay: Duration,
    pub analytics_jobs_fail: bool,
    pub analytics_result_cap: u64,
    pub max_predicates: usize,
    pub clients: Vec<OAuthClient>,
    pub bind: SocketAddr,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            conversations: 5,
            messages_per_conversation: 50,
            max_page_size: 100,
            token_lifetime: Duration::from_secs(86_399),
            limit: LimitModel::None,
            retry_after_zero: false,
            token_rate_limited: false,
            token_faults: false,
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            faults: Faults::default(),
            out_of_order_share: 0.02,
            expired_attachment_share: 0.1,
            attachment_share: 0.12,
            bot_share: 0.4,
            history_span: Duration::from_secs(45 * 24 * 3600),
            history_order: HistoryOrder::NewestFirst,
            analytics_job_delay: Duration::from_millis(200),
            analytics_jobs_fail: false,
            analytics_result_cap: 100_000,
            max_predicates: 100,
            clients: Vec::new(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

pub(crate) fn check_share(name: &str, v: f64) -> Result<(), SimError> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(SimError::InvalidConfig(format!(
            "{name} = {v} is outside 0..=1"
        )))
    }
}
