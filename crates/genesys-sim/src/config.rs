//! The knobs: [`SimOrgBuilder`], [`Faults`], [`HistoryOrder`].

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::SimError;
use crate::limits::{BucketHeaders, LimitModel};
use crate::server::SimOrg;

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
/// [`SimOrgBuilder::token_faults`]; never to `/__sim/*` or to attachment downloads.
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

/// Builds and starts a [`SimOrg`]. Every setting has a default; `SimOrg::builder().start().await`
/// serves 5 conversations of 50 messages with no rate limit, no latency and no faults.
#[derive(Clone, Debug, Default)]
pub struct SimOrgBuilder {
    pub(crate) config: SimConfig,
}

impl SimOrgBuilder {
    /// Seed of the dataset, the ids, the credentials and the fault draws (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }

    /// Number of conversations (default 5).
    pub fn conversations(mut self, n: u32) -> Self {
        self.config.conversations = n;
        self
    }

    /// Messages generated per conversation (default 50). Messages are generated on demand from
    /// `(seed, conversation, index)`, so a million of them cost no memory.
    pub fn messages_per_conversation(mut self, m: u32) -> Self {
        self.config.messages_per_conversation = m;
        self
    }

    /// Largest web messaging `pageSize` accepted; above it the answer is 400 (default 100).
    pub fn max_page_size(mut self, max: u32) -> Self {
        self.config.max_page_size = max;
        self
    }

    /// Lifetime of issued OAuth tokens (`expires_in`; default 86,399 s). Requests with an
    /// expired token get 401.
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.token_lifetime = lifetime;
        self
    }

    /// Org-wide GCRA limit over all API calls: `rate_per_sec` sustained, `burst` at once, with
    /// per-minute headers ([`LimitModel::TokenBucket`] with [`BucketHeaders::PerMinute`]).
    /// Over it: 429, `Retry-After` and code `too.many.requests.retry.after`.
    pub fn rate_limit(mut self, rate_per_sec: f64, burst: u32) -> Self {
        self.config.limit = LimitModel::TokenBucket {
            rate: rate_per_sec,
            burst,
            headers: BucketHeaders::PerMinute,
        };
        self
    }

    /// The org-wide limit and the headers it answers with (default [`LimitModel::None`]);
    /// replaces a [`rate_limit`](Self::rate_limit) set before.
    pub fn limit_model(mut self, model: LimitModel) -> Self {
        self.config.limit = model;
        self
    }

    /// The platform quirk: answer `Retry-After: 0` while the limit is still in force.
    pub fn retry_after_zero(mut self, on: bool) -> Self {
        self.config.retry_after_zero = on;
        self
    }

    /// Whether `/oauth/token` counts against the org-wide rate limit (default false: the real
    /// login host has its own limit).
    pub fn token_rate_limited(mut self, on: bool) -> Self {
        self.config.token_rate_limited = on;
        self
    }

    /// Whether [`Faults`] also hit `/oauth/token` (default false).
    pub fn token_faults(mut self, on: bool) -> Self {
        self.config.token_faults = on;
        self
    }

    /// Latency added to every request: `fixed` plus a uniform draw in `0..=jitter`.
    pub fn latency(mut self, fixed: Duration, jitter: Duration) -> Self {
        self.config.latency = fixed;
        self.config.jitter = jitter;
        self
    }

    /// Seeded faults (see [`Faults`]).
    pub fn faults(mut self, faults: Faults) -> Self {
        self.config.faults = faults;
        self
    }

    /// Share of messages whose `channel.time` is earlier than the message before it (default 0.02).
    pub fn out_of_order_share(mut self, share: f64) -> Self {
        self.config.out_of_order_share = share;
        self
    }

    /// Share of attachments whose URL has expired (403 or 404 on HEAD/GET; default 0.1).
    pub fn expired_attachment_share(mut self, share: f64) -> Self {
        self.config.expired_attachment_share = share;
        self
    }

    /// Share of Text and Structured messages that carry an attachment (default 0.12).
    pub fn attachment_share(mut self, share: f64) -> Self {
        self.config.attachment_share = share;
        self
    }

    /// Share of outbound messages sent by a bot rather than a human agent (default 0.4).
    pub fn bot_share(mut self, share: f64) -> Self {
        self.config.bot_share = share;
        self
    }

    /// Conversation starts are spread over `[now - span, now]` (default 45 days).
    pub fn history_span(mut self, span: Duration) -> Self {
        self.config.history_span = span;
        self
    }

    /// Order of the guest history pages (default [`HistoryOrder::NewestFirst`]).
    pub fn history_order(mut self, order: HistoryOrder) -> Self {
        self.config.history_order = order;
        self
    }

    /// Time an analytics job takes from submission to FULFILLED (QUEUED for the first half,
    /// PENDING for the second; default 200 ms).
    pub fn analytics_job_delay(mut self, delay: Duration) -> Self {
        self.config.analytics_job_delay = delay;
        self
    }

    /// Make every analytics job end FAILED instead of FULFILLED (default false). A single job
    /// fails too when any filter predicate has the value [`crate::FAIL_JOB_VALUE`].
    pub fn analytics_jobs_fail(mut self, on: bool) -> Self {
        self.config.analytics_jobs_fail = on;
        self
    }

    /// The per-query result cap of the details query (default 100,000, like the platform): a page
    /// that starts at or beyond it is a 400.
    pub fn analytics_result_cap(mut self, cap: u64) -> Self {
        self.config.analytics_result_cap = cap;
        self
    }

    /// Most predicates accepted in one analytics filter (default 100; the platform's is unknown).
    pub fn max_predicates(mut self, max: usize) -> Self {
        self.config.max_predicates = max;
        self
    }

    /// Adds an OAuth client the token endpoint accepts. Without any, one client with an id and
    /// secret derived from the seed is made.
    pub fn client(mut self, id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.config.clients.push(OAuthClient {
            id: id.into(),
            secret: secret.into(),
        });
        self
    }

    /// Address to listen on (default `127.0.0.1:0`, a free port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.config.bind = addr;
        self
    }

    /// Generates the org and starts serving it. Fails on an invalid setting or when the address
    /// cannot be bound.
    pub async fn start(self) -> Result<SimOrg, SimError> {
        SimOrg::start(self.config).await
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

pub(crate) fn check_rate(rate: f64, burst: u32) -> Result<(), SimError> {
    if rate.is_finite() && rate > 0.0 && burst >= 1 {
        Ok(())
    } else {
        Err(SimError::InvalidConfig(format!(
            "rate limit needs rate > 0 and burst >= 1 (got {rate}, {burst})"
        )))
    }
}
