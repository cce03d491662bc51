//! The shared backend of a [`Pacer`](crate::Pacer): one pace for every process of a fleet, kept in Redis (or
//! Valkey).
//!
//! - **GCRA in one Lua script** (`lua/acquire.lua`), loaded once and called with EVALSHA
//!   (`redis::Script` falls back to loading it on NOSCRIPT): each acquire is one round trip, on
//!   the server's clock (`TIME`), so the processes' clocks never matter. The script reserves a
//!   slot at most [`RedisPacerBuilder::max_reserve`] ahead and tells the caller how long to wait
//!   for it.
//! - **Scopes:** a request can be paced by several limits at once (say the OAuth client's, and
//!   the analytics jobs'); one acquire takes a slot in all of them or in none. Keys carry a
//!   namespace in a hash tag (`{namespace}:pacer:SCOPE:tat`), so a Redis Cluster keeps them
//!   in one slot.
//! - **What the server says is shared:** a 429's pause ([`Pacer::on_rate_limited`](crate::Pacer::on_rate_limited)) and a
//!   rate learned from the `inin-ratelimit-*` headers ([`Pacer::observe`](crate::Pacer::observe)) are written to the
//!   first scope; every process obeys them at its next acquire.
//! - **Redis down or slow** (each call bounded by [`RedisPacerBuilder::timeout`]): the pacer
//!   falls back to its local pace, a share of the first scope's limit (the limit divided by
//!   [`RedisPacerBuilder::fleet_size`] unless [`RedisPacerBuilder::local_share`] says
//!   otherwise), logs it once, and tries Redis again every
//!   [`RedisPacerBuilder::retry_every`]. Never unpaced, never blocked forever.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use crate::redact::url as redact_url;

const ACQUIRE_LUA: &str = include_str!("lua/acquire.lua");
const PAUSE_LUA: &str = include_str!("lua/pause.lua");

/// A limit that a shared pacer keeps: `name` (part of the Redis keys), a ceiling in requests a
/// second and a burst.
#[derive(Clone, Debug, PartialEq)]
pub struct PacerScope {
    name: String,
    rate: f64,
    burst: u32,
}

impl PacerScope {
    /// `rate` requests a second with bursts of up to `burst` (0 counts as 1).
    pub fn per_second(name: impl Into<String>, rate: f64, burst: u32) -> Self {
        Self {
            name: name.into(),
            rate,
            burst: burst.max(1),
        }
    }

    /// `requests` a minute with bursts of up to `burst`.
    pub fn per_minute(name: impl Into<String>, requests: u32, burst: u32) -> Self {
        Self::per_second(name, f64::from(requests) / 60.0, burst)
    }

    /// The scope's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The scope's ceiling, requests a second.
    pub fn rate_per_second(&self) -> f64 {
        self.rate
    }
}

/// Why a shared pacer could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SharedPacerError {
    /// The Redis URL could not be parsed (the message never contains the URL's password).
    #[error("invalid Redis URL {url}: {reason}")]
    InvalidUrl {
        /// The URL with any password replaced by `***`.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A shared pacer needs at least one scope.
    #[error("a shared pacer needs at least one scope")]
    NoScope,
    /// A scope's name or rate cannot be used.
    #[error("pacer scope {name:?}: {reason}")]
    InvalidScope {
        /// The scope's name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The pacer was built outside a tokio runtime (its Redis connection runs on one).
    #[error("a shared pacer must be built inside a tokio runtime")]
    NoRuntime,
}

/// Settings of a pacer shared through Redis: see [`Pacer::redis`](crate::Pacer::redis).
#[must_use]
pub struct RedisPacerBuilder {
    url: SecretString,
    namespace: String,
    scopes: Vec<PacerScope>,
    fleet_size: u32,
    local_share: Option<f64>,
    timeout: Duration,
    retry_every: Duration,
    max_reserve: Duration,
    learned_rate_ttl: Duration,
}

impl fmt::Debug for RedisPacerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisPacerBuilder")
            .field("url", &redact_url(self.url.expose_secret()))
            .field("namespace", &self.namespace)
            .field("scopes", &self.scopes)
            .field("fleet_size", &self.fleet_size)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisPacerBuilder {
    pub(super) fn new(url: SecretString) -> Self {
        Self {
            url,
            namespace: "genesys".to_owned(),
            scopes: Vec::new(),
            fleet_size: 1,
            local_share: None,
            timeout: Duration::from_millis(250),
            retry_every: Duration::from_secs(1),
            max_reserve: Duration::from_secs(1),
            learned_rate_ttl: Duration::from_secs(600),
        }
    }

    /// The prefix of every key (default `genesys`): fleets that must not share a pace use
    /// different namespaces on one Redis.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Adds a limit the pacer keeps. The first scope is the one 429 pauses and learned rates
    /// are written to (the OAuth client's limit, whose headers Genesys Cloud sends), and whose
    /// share the local fallback keeps.
    pub fn scope(mut self, scope: PacerScope) -> Self {
        self.scopes.push(scope);
        self
    }

    /// How many processes share the limit (default 1): the local fallback paces at the first
    /// scope's rate divided by this.
    pub fn fleet_size(mut self, processes: u32) -> Self {
        self.fleet_size = processes.max(1);
        self
    }

    /// The share of the first scope's rate the local fallback keeps, in `(0, 1]` (default
    /// `1 / fleet_size`).
    pub fn local_share(mut self, share: f64) -> Self {
        self.local_share = Some(share);
        self
    }

    /// The longest one Redis call may take before the pacer falls back (default 250 ms).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How often a fallen-back pacer tries Redis again (default 1 s).
    pub fn retry_every(mut self, every: Duration) -> Self {
        self.retry_every = every;
        self
    }

    /// How far ahead an acquire may reserve a slot (default 1 s); a caller whose slot would be
    /// further asks again later instead.
    pub fn max_reserve(mut self, ahead: Duration) -> Self {
        self.max_reserve = ahead;
        self
    }

    /// How long a rate learned from the headers stays in Redis without being confirmed
    /// (default 10 min).
    pub fn learned_rate_ttl(mut self, ttl: Duration) -> Self {
        self.learned_rate_ttl = ttl;
        self
    }

    /// What the pacer is built from ([`RedisPacerBuilder::build`], next to the pacer): the
    /// local rate and burst, and the Redis side. Connects lazily.
    pub(super) fn into_remote(self) -> Result<(f64, u32, Remote), SharedPacerError> {
        let Some(first) = self.scopes.first().cloned() else {
            return Err(SharedPacerError::NoScope);
        };
        for scope in &self.scopes {
            if scope.name.is_empty() {
                return Err(SharedPacerError::InvalidScope {
                    name: scope.name.clone(),
                    reason: "the name is empty",
                });
            }
            if !(scope.rate.is_finite() && scope.rate > 0.0) {
                return Err(SharedPacerError::InvalidScope {
                    name: scope.name.clone(),
                    reason: "the rate must be a positive number",
                });
            }
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(SharedPacerError::NoRuntime);
        }
        let redacted = redact_url(self.url.expose_secret());
        let client = redis::Client::open(self.url.expose_secret()).map_err(|error| {
            SharedPacerError::InvalidUrl {
                url: redacted.clone(),
                reason: error.to_string(),
            }
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_max_delay(self.retry_every);
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(|error| {
            SharedPacerError::InvalidUrl {
                url: redacted.clone(),
                reason: error.to_string(),
            }
        })?;
        let share = self
            .local_share
            .filter(|s| s.is_finite() && *s > 0.0)
            .unwrap_or(1.0 / f64::from(self.fleet_size))
            .min(1.0);
        let local_rate = first.rate * share;
        let mut keys = Vec::with_capacity(self.scopes.len() * 3);
        let mut args = Vec::with_capacity(self.scopes.len() * 2);
        for scope in &self.scopes {
            let prefix = format!("{{{}}}:pacer:{}", self.namespace, scope.name);
            keys.push(format!("{prefix}:tat"));
            keys.push(format!("{prefix}:pause"));
            keys.push(format!("{prefix}:rate"));
            args.push(scope.rate.to_string());
            args.push(scope.burst.to_string());
        }
        tracing::info!(
            redis = %redacted,
            namespace = %self.namespace,
            scopes = self.scopes.len(),
            rate = first.rate,
            local_rate,
            "shared pacer on Redis"
        );
        let remote = Remote {
            conn,
            acquire: redis::Script::new(ACQUIRE_LUA),
            pause: redis::Script::new(PAUSE_LUA),
            keys,
            args,
            ceiling: first.rate,
            timeout: self.timeout,
            retry_every: self.retry_every,
            max_reserve_us: u64::try_from(self.max_reserve.as_micros()).unwrap_or(u64::MAX),
            learned_rate_ttl: self.learned_rate_ttl,
            redacted_url: redacted,
            health: Mutex::new(Health::default()),
            shared_acquires: AtomicU64::new(0),
            fallback_acquires: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            written_rate: Mutex::new(None),
        };
        Ok((local_rate, first.burst, remote))
    }
}

#[derive(Debug, Default)]
struct Health {
    /// Set while Redis is failing: when to try it again.
    retry_at: Option<Instant>,
}

/// What one call of the acquire script said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// A slot is reserved: go after this long.
    Go(Duration),
    /// Nothing reserved: ask again after this long.
    Retry(Duration),
}

/// Why a Redis call failed.
#[derive(Debug)]
pub(crate) enum CallError {
    Redis(redis::RedisError),
    Timeout,
    Reply,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Redis(error) => write!(f, "{error}"),
            CallError::Timeout => f.write_str("timed out"),
            CallError::Reply => f.write_str("unexpected reply from the pacer script"),
        }
    }
}

/// The Redis side of a shared pacer.
pub(crate) struct Remote {
    conn: ConnectionManager,
    acquire: redis::Script,
    pause: redis::Script,
    /// Three per scope: tat, pause, rate.
    keys: Vec<String>,
    /// Two per scope: ceiling, burst.
    args: Vec<String>,
    /// The first scope's ceiling.
    ceiling: f64,
    timeout: Duration,
    retry_every: Duration,
    max_reserve_us: u64,
    learned_rate_ttl: Duration,
    redacted_url: String,
    health: Mutex<Health>,
    pub(crate) shared_acquires: AtomicU64,
    pub(crate) fallback_acquires: AtomicU64,
    pub(crate) errors: AtomicU64,
    /// The learned rate last written, and when.
    written_rate: Mutex<Option<(f64, Instant)>>,
}

impl fmt::Debug for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Remote")
            .field("redis", &self.redacted_url)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl Remote {
    /// Whether this acquire should ask Redis (healthy, or due for a probe). A `true` while
    /// failing claims the probe by moving the next one a `retry_every` on, so the other
    /// acquirers stay local meanwhile and a probe whose caller is cancelled cannot stop later
    /// ones. The caller reports back with [`succeeded`](Self::succeeded) or
    /// [`failed`](Self::failed).
    pub(crate) fn should_try(&self) -> bool {
        let mut health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        match health.retry_at {
            None => true,
            Some(at) => {
                let now = Instant::now();
                if now < at {
                    return false;
                }
                health.retry_at = Some(now + self.retry_every);
                true
            }
        }
    }

    pub(crate) fn succeeded(&self) {
        let mut health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        if health.retry_at.take().is_some() {
            tracing::info!(redis = %self.redacted_url, "shared pacer back on Redis");
        }
    }

    pub(crate) fn failed(&self, error: &CallError) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        if health.retry_at.is_none() {
            tracing::warn!(
                redis = %self.redacted_url,
                %error,
                "shared pacer cannot reach Redis; pacing at the local share until it answers"
            );
        } else {
            tracing::debug!(%error, "shared pacer: Redis still failing");
        }
        health.retry_at = Some(Instant::now() + self.retry_every);
    }

    /// One call of the acquire script; `now_us` replaces the server's clock (tests).
    pub(crate) async fn call_acquire(&self, now_us: Option<u64>) -> Result<Slot, CallError> {
        let mut invocation = self.acquire.prepare_invoke();
        for key in &self.keys {
            invocation.key(key);
        }
        invocation.arg(now_us.map(|n| n.to_string()).unwrap_or_default());
        invocation.arg(self.max_reserve_us);
        for arg in &self.args {
            invocation.arg(arg);
        }
        let mut conn = self.conn.clone();
        let reply: (i64, i64) =
            match tokio::time::timeout(self.timeout, invocation.invoke_async(&mut conn)).await {
                Err(_) => return Err(CallError::Timeout),
                Ok(Err(error)) => return Err(CallError::Redis(error)),
                Ok(Ok(reply)) => reply,
            };
        let wait = Duration::from_micros(u64::try_from(reply.1).map_err(|_| CallError::Reply)?);
        match reply.0 {
            1 => Ok(Slot::Go(wait)),
            0 => Ok(Slot::Retry(wait.max(Duration::from_millis(1)))),
            _ => Err(CallError::Reply),
        }
    }

    /// Pauses every process for `wait` (the first scope); `now_us` replaces the server's clock.
    pub(crate) async fn call_pause(
        &self,
        wait: Duration,
        now_us: Option<u64>,
    ) -> Result<bool, CallError> {
        let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut invocation = self.pause.prepare_invoke();
        invocation
            .key(&self.keys[1])
            .arg(ms)
            .arg(now_us.map(|n| n.to_string()).unwrap_or_default());
        let mut conn = self.conn.clone();
        match tokio::time::timeout(self.timeout, invocation.invoke_async::<i64>(&mut conn)).await {
            Err(_) => Err(CallError::Timeout),
            Ok(Err(error)) => Err(CallError::Redis(error)),
            Ok(Ok(set)) => Ok(set == 1),
        }
    }

    /// Writes a learned rate for the first scope (kept for the learned-rate TTL).
    pub(crate) async fn call_set_rate(&self, rate: f64) -> Result<(), CallError> {
        let ttl = u64::try_from(self.learned_rate_ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut cmd = redis::cmd("SET");
        cmd.arg(&self.keys[2]).arg(rate).arg("PX").arg(ttl);
        let mut conn = self.conn.clone();
        match tokio::time::timeout(self.timeout, cmd.query_async::<()>(&mut conn)).await {
            Err(_) => Err(CallError::Timeout),
            Ok(Err(error)) => Err(CallError::Redis(error)),
            Ok(Ok(())) => Ok(()),
        }
    }

    /// Shares a 429's pause in the background (the local pause holds this process meanwhile).
    pub(crate) fn share_pause(self: &Arc<Self>, wait: Duration) {
        if wait.is_zero() || self.health_failing() {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let remote = Arc::clone(self);
        handle.spawn(async move {
            if let Err(error) = remote.call_pause(wait, None).await {
                tracing::debug!(%error, "shared pacer: could not share a pause");
            }
        });
    }

    /// Shares the rate the server announced (capped by the ceiling) when it moved by more than
    /// 1% or half its TTL went by.
    pub(crate) fn share_rate(self: &Arc<Self>, rate: f64) {
        if !(rate.is_finite() && rate > 0.0) || self.health_failing() {
            return;
        }
        let rate = rate.min(self.ceiling);
        let now = Instant::now();
        {
            let mut written = self
                .written_rate
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some((before, at)) = *written
                && (rate - before).abs() <= before * 0.01
                && now.duration_since(at) < self.learned_rate_ttl / 2
            {
                return;
            }
            *written = Some((rate, now));
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let remote = Arc::clone(self);
        handle.spawn(async move {
            match remote.call_set_rate(rate).await {
                Ok(()) => tracing::debug!(rate, "shared pacer: learned rate shared"),
                Err(error) => {
                    tracing::debug!(%error, "shared pacer: could not share a learned rate");
                    *remote
                        .written_rate
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner) = None;
                }
            }
        });
    }

    fn health_failing(&self) -> bool {
        self.health
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retry_at
            .is_some()
    }
}

#[cfg(test)]
mod tests;
