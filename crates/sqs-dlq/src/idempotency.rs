//! Idempotency: remembering which pieces of work were done, so a message SQS delivers twice
//! (at-least-once delivery, a visibility timeout that ran out, a delete that failed) is
//! acknowledged instead of processed again.
//!
//! A key moves through two states: *in progress* (claimed by a running handler; a concurrent
//! duplicate must wait) and *done* (a repeat is acknowledged without running the handler).
//! A failed attempt releases its claim so a retry can take it.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

/// What [`IdempotencyStore::try_begin`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claim {
    /// The key was free: the caller now holds it and must `complete` or `release` it.
    Acquired,
    /// Another worker holds the key right now.
    InProgress,
    /// The work was done already.
    Done,
}

/// Why an idempotency store could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdempotencyError {
    /// The store could not be reached or failed; the consumer puts the message back for later
    /// rather than risk running it twice.
    #[error("idempotency store unavailable: {message}")]
    Unavailable {
        /// What happened.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

/// Where the consumer records keys. Implement it over Redis, DynamoDB or a SQL table to share
/// it between consumer processes; [`MemoryIdempotencyStore`] serves one process.
#[async_trait]
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Claims `key` for a handler run unless it is in progress or done.
    async fn try_begin(&self, key: &str) -> Result<Claim, IdempotencyError>;
    /// Marks the claimed key done.
    async fn complete(&self, key: &str) -> Result<(), IdempotencyError>;
    /// Gives a claim back after a failed or abandoned attempt, so a retry can take it.
    async fn release(&self, key: &str) -> Result<(), IdempotencyError>;
}

#[async_trait]
impl<S: IdempotencyStore + ?Sized> IdempotencyStore for std::sync::Arc<S> {
    async fn try_begin(&self, key: &str) -> Result<Claim, IdempotencyError> {
        (**self).try_begin(key).await
    }
    async fn complete(&self, key: &str) -> Result<(), IdempotencyError> {
        (**self).complete(key).await
    }
    async fn release(&self, key: &str) -> Result<(), IdempotencyError> {
        (**self).release(key).await
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    InProgress,
    Done,
}

#[derive(Debug)]
struct Entry {
    state: State,
    expires_at: Instant,
    /// Sequence number of this entry's newest record in the order queue.
    seq: u64,
}

/// A stored key: the SHA-256 of the handler's key, so every entry has the same size whatever
/// the key's length (a key can come from a message body, and bodies are attacker-sized).
type Digest = [u8; 32];

fn digest(key: &str) -> Digest {
    use sha2::Digest as _;
    sha2::Sha256::digest(key.as_bytes()).into()
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<Digest, Entry>,
    /// `(seq, key)` in the order entries were written; with one TTL for all, also their
    /// expiry order. Records whose seq no longer matches the entry are stale and skipped.
    order: VecDeque<(u64, Digest)>,
    next_seq: u64,
}

/// A bounded, in-memory [`IdempotencyStore`] with a time to live.
///
/// Keys are stored as their SHA-256 (32 bytes each), so memory is bounded by `capacity` alone,
/// however long the keys a handler derives from message bodies.
///
/// Every operation is O(1) amortized: a hash map plus a queue in write order (one TTL for all
/// entries, so write order is expiry order). Expired entries are dropped as operations pass
/// them; past `capacity` the oldest *done* key is forgotten first (an in-progress claim is
/// never evicted to make room, only when its TTL runs out, so a duplicate arriving while the
/// first copy runs is never run twice). Time is tokio's, so paused-time tests can age entries.
///
/// Size `capacity` for the number of messages that may arrive again within `ttl`; keys that
/// age out or are evicted can run again. Make `ttl` longer than the longest handler run: an
/// in-progress claim also expires after `ttl` (so a claim whose holder vanished cannot block a
/// key forever).
#[derive(Debug)]
pub struct MemoryIdempotencyStore {
    capacity: usize,
    ttl: Duration,
    inner: Mutex<Inner>,
}

impl MemoryIdempotencyStore {
    /// A store remembering at most `capacity` keys (at least 1), each for `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            capacity: capacity.max(1),
            ttl,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Keys currently remembered (in progress or done, not yet expired or evicted). O(n): for
    /// diagnostics and tests.
    pub fn len(&self) -> usize {
        let now = Instant::now();
        let mut inner = self.lock();
        Self::expire(&mut inner, now);
        inner
            .entries
            .values()
            .filter(|e| e.expires_at > now)
            .count()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The configured capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the maps inconsistent in a way that
        // matters more than losing the whole store, so recover the guard.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn expire(inner: &mut Inner, now: Instant) {
        while let Some((seq, key)) = inner.order.front() {
            match inner.entries.get(key) {
                Some(entry) if entry.seq == *seq => {
                    if entry.expires_at > now {
                        break;
                    }
                    inner.entries.remove(key);
                }
                _ => {} // stale record
            }
            inner.order.pop_front();
        }
    }

    fn write(&self, inner: &mut Inner, key: Digest, state: State, now: Instant) {
        let seq = inner.next_seq;
        inner.next_seq += 1;
        let expires_at = now + self.ttl;
        match inner.entries.get_mut(&key) {
            Some(entry) => {
                entry.state = state;
                entry.expires_at = expires_at;
                entry.seq = seq;
            }
            None => {
                inner.entries.insert(
                    key,
                    Entry {
                        state,
                        expires_at,
                        seq,
                    },
                );
            }
        }
        inner.order.push_back((seq, key));
        self.evict(inner);
        // Stale records pile up when keys are rewritten; compact now and then (amortized O(1)).
        if inner.order.len() > 2 * self.capacity + 16 {
            let entries = &inner.entries;
            inner
                .order
                .retain(|(seq, key)| entries.get(key).is_some_and(|e| e.seq == *seq));
        }
    }

    fn evict(&self, inner: &mut Inner) {
        // Walk at most the records present now: in-progress claims met on the way are moved to
        // the back (their count is bounded by the consumers' concurrency).
        let mut budget = inner.order.len();
        while inner.entries.len() > self.capacity && budget > 0 {
            budget -= 1;
            let Some((seq, key)) = inner.order.pop_front() else {
                break;
            };
            match inner.entries.get(&key) {
                Some(entry) if entry.seq == seq => {
                    if entry.state == State::Done {
                        inner.entries.remove(&key);
                    } else {
                        inner.order.push_back((seq, key));
                    }
                }
                _ => {}
            }
        }
    }
}

#[async_trait]
impl IdempotencyStore for MemoryIdempotencyStore {
    async fn try_begin(&self, key: &str) -> Result<Claim, IdempotencyError> {
        let key = digest(key);
        let now = Instant::now();
        let mut inner = self.lock();
        Self::expire(&mut inner, now);
        // An in-progress claim moved behind younger records by eviction can be expired while
        // not at the front yet: check the time here too.
        match inner
            .entries
            .get(&key)
            .filter(|e| e.expires_at > now)
            .map(|e| e.state)
        {
            Some(State::Done) => Ok(Claim::Done),
            Some(State::InProgress) => Ok(Claim::InProgress),
            None => {
                self.write(&mut inner, key, State::InProgress, now);
                Ok(Claim::Acquired)
            }
        }
    }

    async fn complete(&self, key: &str) -> Result<(), IdempotencyError> {
        let key = digest(key);
        let now = Instant::now();
        let mut inner = self.lock();
        Self::expire(&mut inner, now);
        self.write(&mut inner, key, State::Done, now);
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<(), IdempotencyError> {
        let key = digest(key);
        let mut inner = self.lock();
        if inner
            .entries
            .get(&key)
            .is_some_and(|e| e.state == State::InProgress)
        {
            inner.entries.remove(&key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn claim_complete_release() {
        let store = MemoryIdempotencyStore::new(10, Duration::from_secs(60));
        assert_eq!(store.try_begin("a").await.unwrap(), Claim::Acquired);
        assert_eq!(store.try_begin("a").await.unwrap(), Claim::InProgress);
        store.release("a").await.unwrap();
        assert_eq!(store.try_begin("a").await.unwrap(), Claim::Acquired);
        store.complete("a").await.unwrap();
        assert_eq!(store.try_begin("a").await.unwrap(), Claim::Done);
        // release never forgets finished work
        store.release("a").await.unwrap();
        assert_eq!(store.try_begin("a").await.unwrap(), Claim::Done);
    }

    #[tokio::test(start_paused = true)]
    async fn entries_expire_after_ttl() {
        let store = MemoryIdempotencyStore::new(10, Duration::from_secs(60));
        store.try_begin("a").await.unwrap();
        store.complete("a").await.unwrap();
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(store.try_begin("a").await.unwrap(), Claim::Done);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(store.try_begin("a").await.unwrap(), Claim::Acquired);
        assert_eq!(store.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn capacity_evicts_oldest_done_never_in_progress() {
        let store = MemoryIdempotencyStore::new(3, Duration::from_secs(600));
        assert_eq!(store.try_begin("running").await.unwrap(), Claim::Acquired);
        for k in ["d1", "d2", "d3", "d4"] {
            store.try_begin(k).await.unwrap();
            store.complete(k).await.unwrap();
        }
        assert_eq!(store.len(), 3);
        assert_eq!(store.try_begin("running").await.unwrap(), Claim::InProgress);
        // d1 and d2 were the oldest done keys
        assert_eq!(store.try_begin("d4").await.unwrap(), Claim::Done);
        assert_eq!(store.try_begin("d3").await.unwrap(), Claim::Done);
        assert_eq!(store.try_begin("d1").await.unwrap(), Claim::Acquired);
    }

    #[tokio::test(start_paused = true)]
    async fn huge_keys_are_stored_as_fixed_size_digests() {
        let store = MemoryIdempotencyStore::new(10, Duration::from_secs(60));
        let huge = "k".repeat(125_000);
        let other = format!("{}x", &huge[1..]);
        assert_eq!(store.try_begin(&huge).await.unwrap(), Claim::Acquired);
        store.complete(&huge).await.unwrap();
        assert_eq!(store.try_begin(&huge).await.unwrap(), Claim::Done);
        assert_eq!(store.try_begin(&other).await.unwrap(), Claim::Acquired);
        let inner = store.lock();
        // what is held per key is the 32-byte digest, not the 125 KB key
        assert_eq!(std::mem::size_of_val(inner.order.front().unwrap()), 8 + 32);
        assert_eq!(inner.entries.len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn order_queue_stays_bounded_under_rewrites() {
        let store = MemoryIdempotencyStore::new(4, Duration::from_secs(600));
        for i in 0..10_000 {
            let k = format!("k{}", i % 3);
            if store.try_begin(&k).await.unwrap() == Claim::Acquired {
                store.release(&k).await.unwrap();
            }
        }
        let inner = store.lock();
        assert!(inner.order.len() <= 2 * 4 + 17, "{}", inner.order.len());
    }
}
