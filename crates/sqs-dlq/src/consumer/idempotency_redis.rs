//! [`RedisIdempotencyStore`] and what it needs (its documentation is on the type).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::{ExposeSecret, SecretString};

use crate::consumer::idempotency::{
    Claim, ClaimToken, Completion, IdempotencyError, IdempotencyStore,
};

const COMPLETE_LUA: &str = r"
local v = redis.call('GET', KEYS[1])
if v == 'done' then return 1 end
if v and v ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2])
return 1
";

const RELEASE_LUA: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// An [`IdempotencyStore`] in Redis, shared by every process that uses the same URL and
/// namespace. See the module docs for the protocol.
///
/// ```no_run
/// # async fn demo() -> Result<(), sqs_dlq::consumer::IdempotencyError> {
/// use std::time::Duration;
/// use sqs_dlq::consumer::RedisIdempotencyStore;
///
/// let store = RedisIdempotencyStore::new(
///     "redis://127.0.0.1:6379".into(),
///     "acme-consumer",
///     Duration::from_secs(24 * 3600), // how long finished work is remembered
/// )?;
/// # Ok(()) }
/// ```
///
/// [`RedisIdempotencyStore`]: one idempotency record for every consumer process of a fleet, in
/// Redis (or Valkey).
///
/// - **Claim** = `SET key claim:TOKEN NX PX lease`: one round trip; the key expires with the
///   lease, so a claimer that crashed mid-handler lets the message be handled again once SQS
///   shows it again (not turned away as "in progress" for the whole TTL).
/// - **Complete** = a Lua compare-and-set: the key becomes `done` with the store's TTL only while
///   it still holds this claim's token (or is free again); a late finisher whose lease ran out
///   and whose key was claimed anew is fenced off ([`Completion::Fenced`]).
/// - **Release** = a Lua compare-and-delete on the token.
/// - Keys are `NAMESPACE:idem:SHA256(key)`: fixed size whatever the handler's key.
///
/// Every call is bounded by a timeout; an unreachable Redis is
/// [`IdempotencyError::Unavailable`], which the consumer answers by putting the message back for
/// later (never by running it unguarded).
pub struct RedisIdempotencyStore {
    conn: ConnectionManager,
    namespace: String,
    ttl: Duration,
    timeout: Duration,
    redacted_url: String,
    complete: redis::Script,
    release: redis::Script,
}

impl fmt::Debug for RedisIdempotencyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisIdempotencyStore")
            .field("redis", &self.redacted_url)
            .field("namespace", &self.namespace)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

fn unavailable(message: impl Into<String>, source: Option<redis::RedisError>) -> IdempotencyError {
    IdempotencyError::Unavailable {
        message: message.into(),
        source: source.map(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>),
    }
}

impl RedisIdempotencyStore {
    /// A store on `url` whose keys start with `namespace`, remembering finished work for `ttl`.
    /// Connects lazily (Redis need not be up yet); must be called inside a tokio runtime. Each
    /// call is bounded by 1 s (see [`with_timeout`](Self::with_timeout)).
    pub fn new(
        url: SecretString,
        namespace: impl Into<String>,
        ttl: Duration,
    ) -> Result<Self, IdempotencyError> {
        let redacted_url = crate::redact::url(url.expose_secret());
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(unavailable(
                "a Redis idempotency store must be made inside a tokio runtime",
                None,
            ));
        }
        let client = redis::Client::open(url.expose_secret()).map_err(|error| {
            unavailable(format!("invalid Redis URL {redacted_url}"), Some(error))
        })?;
        let timeout = Duration::from_secs(1);
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|error| unavailable(format!("Redis at {redacted_url}"), Some(error)))?;
        Ok(Self {
            conn,
            namespace: namespace.into(),
            ttl,
            timeout,
            redacted_url,
            complete: redis::Script::new(COMPLETE_LUA),
            release: redis::Script::new(RELEASE_LUA),
        })
    }

    /// The longest one Redis call may take (default 1 s); past it the call is
    /// [`IdempotencyError::Unavailable`].
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn key(&self, key: &str) -> String {
        use sha2::Digest as _;
        format!(
            "{}:idem:{}",
            self.namespace,
            hex::encode(sha2::Sha256::digest(key.as_bytes()))
        )
    }

    async fn bounded<T>(
        &self,
        what: &str,
        call: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, IdempotencyError> {
        match tokio::time::timeout(self.timeout, call).await {
            Err(_) => Err(unavailable(
                format!("Redis at {} timed out ({what})", self.redacted_url),
                None,
            )),
            Ok(Err(error)) => Err(unavailable(
                format!("Redis at {} ({what})", self.redacted_url),
                Some(error),
            )),
            Ok(Ok(value)) => Ok(value),
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn claim_value(token: ClaimToken) -> String {
    format!("claim:{}", token.0)
}

#[async_trait]
impl IdempotencyStore for RedisIdempotencyStore {
    async fn try_begin(&self, key: &str, lease: Duration) -> Result<Claim, IdempotencyError> {
        let key = self.key(key);
        let token = ClaimToken(rand::random::<u64>().max(1));
        let mut conn = self.conn.clone();
        let mut set = redis::cmd("SET");
        set.arg(&key)
            .arg(claim_value(token))
            .arg("NX")
            .arg("PX")
            .arg(millis(lease));
        let set: Option<String> = self.bounded("claim", set.query_async(&mut conn)).await?;
        if set.is_some() {
            return Ok(Claim::Acquired(token));
        }
        let mut get = redis::cmd("GET");
        get.arg(&key);
        let current: Option<String> = self.bounded("read", get.query_async(&mut conn)).await?;
        Ok(match current.as_deref() {
            Some("done") => Claim::Done,
            // Claimed by another holder, or its lease ran out between the two calls: look again
            // later either way.
            _ => Claim::InProgress,
        })
    }

    async fn complete(&self, key: &str, token: ClaimToken) -> Result<Completion, IdempotencyError> {
        let mut invocation = self.complete.prepare_invoke();
        invocation
            .key(self.key(key))
            .arg(claim_value(token))
            .arg(millis(self.ttl));
        let mut conn = self.conn.clone();
        let recorded: i64 = self
            .bounded("complete", invocation.invoke_async(&mut conn))
            .await?;
        Ok(if recorded == 1 {
            Completion::Recorded
        } else {
            Completion::Fenced
        })
    }

    async fn release(&self, key: &str, token: ClaimToken) -> Result<(), IdempotencyError> {
        let mut invocation = self.release.prepare_invoke();
        invocation.key(self.key(key)).arg(claim_value(token));
        let mut conn = self.conn.clone();
        let _: i64 = self
            .bounded("release", invocation.invoke_async(&mut conn))
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
