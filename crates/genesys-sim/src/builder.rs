//! [`SimOrgBuilder`]: every setting of a simulated org, then [`SimOrgBuilder::start`].

use std::net::SocketAddr;
use std::time::Duration;

use crate::config::{Faults, HistoryOrder, OAuthClient, SimConfig};
use crate::error::SimError;
use crate::limits::{BucketHeaders, LimitModel};
use crate::server::SimOrg;

impl SimOrg {
    /// A builder with every default (see [`SimOrgBuilder`]).
    pub fn builder() -> SimOrgBuilder {
        SimOrgBuilder::default()
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
