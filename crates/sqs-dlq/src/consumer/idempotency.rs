//! [`IdempotencyStore`] and what it needs (its documentation is on the type).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

/// The fencing token of one claim: `complete` and `release` take it back, and act only while
/// the claim it names is the key's current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClaimToken(pub u64);

/// What [`IdempotencyStore::try_begin`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claim {
    /// The key was free: the caller now holds it for the lease and must `complete` or
    /// `release` it with this token.
    Acquired(ClaimToken),
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

/// What [`IdempotencyStore::complete`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Completion {
    /// The key is recorded as done.
    Recorded,
    /// The key had been claimed anew by someone else (this claim's lease ran out): nothing was
    /// written, the newer claim stands.
    Fenced,
}

/// Where the consumer records keys. [`MemoryIdempotencyStore`] serves one process;
/// `RedisIdempotencyStore` (feature `redis`) shares it between the processes of a fleet; a
/// DynamoDB or SQL table fits behind it too (claim = conditional insert with an expiry,
/// complete/release = conditional update on the token).
///
/// Idempotency: remembering which pieces of work were done, so a message SQS delivers twice
/// (at-least-once delivery, a visibility timeout that ran out, a delete that failed) is
/// acknowledged instead of processed again.
///
/// A key moves through two states: *in progress* (claimed by a running handler for a **lease**; a
/// concurrent duplicate must wait) and *done* (a repeat is acknowledged without running the
/// handler, for the store's TTL). A failed attempt releases its claim so a retry can take it.
///
/// - **Leases.** A claim holds for its lease only: a consumer that crashed mid-handler never
///   completes nor releases, and its claim runs out, so the message (visible again after its
///   visibility timeout) is handled later instead of being turned away as "in progress" until
///   the TTL ends — the bug of AWS Powertools' idempotency utility before in-progress records got
///   an expiry (`in_progress_expiry_timestamp`).
/// - **Fencing.** Every claim carries a [`ClaimToken`]. `complete` and `release` act only while
///   the key is still claimed with that token (or, for `complete`, free again): a finisher whose
///   lease ran out and whose key was claimed anew cannot overwrite the newer claim.
///
/// [`MemoryIdempotencyStore`] serves one process; `RedisIdempotencyStore` (feature `redis`)
/// shares the record between the processes of a fleet.
#[async_trait]
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Claims `key` for a handler run of at most `lease` unless it is in progress (claimed and
    /// the lease not run out) or done.
    async fn try_begin(&self, key: &str, lease: Duration) -> Result<Claim, IdempotencyError>;
    /// Marks the key done, unless it was claimed anew since `token`'s claim (then
    /// [`Completion::Fenced`]).
    async fn complete(&self, key: &str, token: ClaimToken) -> Result<Completion, IdempotencyError>;
    /// Gives the claim `token` back after a failed or abandoned attempt, so a retry can take
    /// it; does nothing when the key is done or claimed by another token.
    async fn release(&self, key: &str, token: ClaimToken) -> Result<(), IdempotencyError>;
}

#[async_trait]
impl<S: IdempotencyStore + ?Sized> IdempotencyStore for std::sync::Arc<S> {
    async fn try_begin(&self, key: &str, lease: Duration) -> Result<Claim, IdempotencyError> {
        (**self).try_begin(key, lease).await
    }
    async fn complete(&self, key: &str, token: ClaimToken) -> Result<Completion, IdempotencyError> {
        (**self).complete(key, token).await
    }
    async fn release(&self, key: &str, token: ClaimToken) -> Result<(), IdempotencyError> {
        (**self).release(key, token).await
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
    /// The claim's token (in progress) or the token that completed it (done).
    token: u64,
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
    next_token: u64,
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
/// age out or are evicted can run again. An in-progress claim expires after its lease (at most
/// `ttl`), so a claim whose holder vanished cannot block a key.
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

    fn write(
        &self,
        inner: &mut Inner,
        key: Digest,
        state: State,
        token: u64,
        life: Duration,
        now: Instant,
    ) {
        let seq = inner.next_seq;
        inner.next_seq += 1;
        let expires_at = now + life.min(self.ttl);
        inner.entries.insert(
            key,
            Entry {
                state,
                expires_at,
                token,
                seq,
            },
        );
        inner.order.push_back((seq, key));
        self.evict(inner, now);
        // Stale records pile up when keys are rewritten; compact now and then (amortized O(1)).
        if inner.order.len() > 2 * self.capacity + 16 {
            let entries = &inner.entries;
            inner
                .order
                .retain(|(seq, key)| entries.get(key).is_some_and(|e| e.seq == *seq));
        }
    }

    fn evict(&self, inner: &mut Inner, now: Instant) {
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
                    // Done keys go first; a claim only once its lease ran out.
                    if entry.state == State::Done || entry.expires_at <= now {
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
    async fn try_begin(&self, key: &str, lease: Duration) -> Result<Claim, IdempotencyError> {
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
                inner.next_token += 1;
                let token = inner.next_token;
                self.write(&mut inner, key, State::InProgress, token, lease, now);
                Ok(Claim::Acquired(ClaimToken(token)))
            }
        }
    }

    async fn complete(&self, key: &str, token: ClaimToken) -> Result<Completion, IdempotencyError> {
        let key = digest(key);
        let now = Instant::now();
        let mut inner = self.lock();
        Self::expire(&mut inner, now);
        match inner.entries.get(&key).filter(|e| e.expires_at > now) {
            Some(e) if e.state == State::Done => return Ok(Completion::Recorded),
            Some(e) if e.token != token.0 => return Ok(Completion::Fenced),
            _ => {}
        }
        self.write(&mut inner, key, State::Done, token.0, self.ttl, now);
        Ok(Completion::Recorded)
    }

    async fn release(&self, key: &str, token: ClaimToken) -> Result<(), IdempotencyError> {
        let key = digest(key);
        let mut inner = self.lock();
        if inner
            .entries
            .get(&key)
            .is_some_and(|e| e.state == State::InProgress && e.token == token.0)
        {
            inner.entries.remove(&key);
        }
        Ok(())
    }
}

/// The crash-then-redelivery scenario that AWS Powertools' idempotency utility got wrong before
/// in-progress records had a deadline, run against any store: one event, delivered again every
/// visibility timeout up to `max_receives` times; the first delivery's consumer is killed
/// mid-handler (it neither completes nor releases its claim).
#[cfg(test)]
pub(crate) mod scenario {
    use super::*;

    /// What became of the event.
    #[derive(Debug, PartialEq, Eq)]
    pub(crate) struct Fate {
        /// Handler runs that finished.
        pub handled: u32,
        /// Whether it ran out of receives (SQS would move it to the DLQ, unhandled).
        pub dead_lettered: bool,
    }

    pub(crate) async fn crash_then_redeliver(
        store: &dyn IdempotencyStore,
        key: &str,
        visibility: Duration,
        max_receives: u32,
    ) -> Fate {
        let mut handled = 0;
        for receive in 1..=max_receives {
            // The consumer claims for one visibility timeout, as `Consumer` does.
            match store.try_begin(key, visibility).await {
                Ok(Claim::Acquired(token)) if receive == 1 => {
                    let _ = token; // SIGKILLed mid-handler: no complete, no release
                }
                Ok(Claim::Acquired(token)) => {
                    handled += 1;
                    let _ = store.complete(key, token).await;
                }
                Ok(Claim::Done) => {
                    return Fate {
                        handled,
                        dead_lettered: false,
                    };
                }
                _ => {} // in progress elsewhere: put back
            }
            tokio::time::sleep(visibility).await; // SQS shows it again
        }
        Fate {
            handled,
            dead_lettered: handled == 0,
        }
    }

    /// The event must be handled exactly once and not dead-lettered.
    pub(crate) async fn assert_a_crash_is_handled_once(
        store: &dyn IdempotencyStore,
        key: &str,
        visibility: Duration,
    ) {
        let fate = crash_then_redeliver(store, key, visibility, 5).await;
        assert_eq!(
            fate,
            Fate {
                handled: 1,
                dead_lettered: false
            },
            "a crashed claim must not keep the event from being handled"
        );
    }

    /// A store whose in-progress records have no deadline of their own: they last the record's
    /// TTL (Powertools before `in_progress_expiry_timestamp`). For tests only.
    pub(crate) struct LeaselessStore(pub MemoryIdempotencyStore);

    #[async_trait]
    impl IdempotencyStore for LeaselessStore {
        async fn try_begin(&self, key: &str, _lease: Duration) -> Result<Claim, IdempotencyError> {
            self.0.try_begin(key, Duration::MAX).await
        }
        async fn complete(
            &self,
            key: &str,
            token: ClaimToken,
        ) -> Result<Completion, IdempotencyError> {
            self.0.complete(key, token).await
        }
        async fn release(&self, key: &str, token: ClaimToken) -> Result<(), IdempotencyError> {
            self.0.release(key, token).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: Duration = Duration::from_secs(30);

    async fn claim(store: &MemoryIdempotencyStore, key: &str) -> ClaimToken {
        match store.try_begin(key, LEASE).await.unwrap() {
            Claim::Acquired(token) => token,
            other => panic!("{key}: {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn claim_complete_release() {
        let store = MemoryIdempotencyStore::new(10, Duration::from_secs(60));
        let t = claim(&store, "a").await;
        assert_eq!(
            store.try_begin("a", LEASE).await.unwrap(),
            Claim::InProgress
        );
        store.release("a", t).await.unwrap();
        let t = claim(&store, "a").await;
        assert_eq!(store.complete("a", t).await.unwrap(), Completion::Recorded);
        assert_eq!(store.try_begin("a", LEASE).await.unwrap(), Claim::Done);
        // release never forgets finished work
        store.release("a", t).await.unwrap();
        assert_eq!(store.try_begin("a", LEASE).await.unwrap(), Claim::Done);
    }

    #[tokio::test(start_paused = true)]
    async fn entries_expire_after_ttl() {
        let store = MemoryIdempotencyStore::new(10, Duration::from_secs(60));
        let t = claim(&store, "a").await;
        store.complete("a", t).await.unwrap();
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(store.try_begin("a", LEASE).await.unwrap(), Claim::Done);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(matches!(
            store.try_begin("a", LEASE).await.unwrap(),
            Claim::Acquired(_)
        ));
        assert_eq!(store.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_lease_runs_out_and_a_late_finisher_is_fenced() {
        let store = MemoryIdempotencyStore::new(10, Duration::from_secs(3600));
        let crashed = claim(&store, "a").await;
        tokio::time::advance(LEASE - Duration::from_secs(1)).await;
        assert_eq!(
            store.try_begin("a", LEASE).await.unwrap(),
            Claim::InProgress
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        // The first holder's lease ran out: the redelivery takes the key.
        let second = claim(&store, "a").await;
        assert_ne!(second, crashed);
        // The first holder was only slow: its late finish and release leave the new claim be.
        assert_eq!(
            store.complete("a", crashed).await.unwrap(),
            Completion::Fenced
        );
        store.release("a", crashed).await.unwrap();
        assert_eq!(
            store.try_begin("a", LEASE).await.unwrap(),
            Claim::InProgress
        );
        assert_eq!(
            store.complete("a", second).await.unwrap(),
            Completion::Recorded
        );
        assert_eq!(store.try_begin("a", LEASE).await.unwrap(), Claim::Done);
        // A finisher whose lease ran out with nobody else claiming still records the work.
        let slow = claim(&store, "b").await;
        tokio::time::advance(LEASE * 2).await;
        assert_eq!(
            store.complete("b", slow).await.unwrap(),
            Completion::Recorded
        );
        assert_eq!(store.try_begin("b", LEASE).await.unwrap(), Claim::Done);
    }

    #[tokio::test(start_paused = true)]
    async fn capacity_evicts_oldest_done_never_a_live_claim() {
        let store = MemoryIdempotencyStore::new(3, Duration::from_secs(600));
        claim(&store, "running").await;
        for k in ["d1", "d2", "d3", "d4"] {
            let t = claim(&store, k).await;
            store.complete(k, t).await.unwrap();
        }
        assert_eq!(store.len(), 3);
        assert_eq!(
            store.try_begin("running", LEASE).await.unwrap(),
            Claim::InProgress
        );
        // d1 and d2 were the oldest done keys
        assert_eq!(store.try_begin("d4", LEASE).await.unwrap(), Claim::Done);
        assert_eq!(store.try_begin("d3", LEASE).await.unwrap(), Claim::Done);
        assert!(matches!(
            store.try_begin("d1", LEASE).await.unwrap(),
            Claim::Acquired(_)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn huge_keys_are_stored_as_fixed_size_digests() {
        let store = MemoryIdempotencyStore::new(10, Duration::from_secs(60));
        let huge = "k".repeat(125_000);
        let other = format!("{}x", &huge[1..]);
        let t = claim(&store, &huge).await;
        store.complete(&huge, t).await.unwrap();
        assert_eq!(store.try_begin(&huge, LEASE).await.unwrap(), Claim::Done);
        claim(&store, &other).await;
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
            if let Claim::Acquired(t) = store.try_begin(&k, LEASE).await.unwrap() {
                store.release(&k, t).await.unwrap();
            }
        }
        let inner = store.lock();
        assert!(inner.order.len() <= 2 * 4 + 17, "{}", inner.order.len());
    }

    #[tokio::test(start_paused = true)]
    async fn powertools_bug_a_crashed_claim_is_handled_again_once_its_lease_ran_out() {
        let store = MemoryIdempotencyStore::new(10, Duration::from_secs(3600));
        scenario::assert_a_crash_is_handled_once(&store, "event-1", LEASE).await;
    }

    /// The same check fails on a store without leases: the crashed claim turns every
    /// redelivery away as "in progress" until the event runs out of receives.
    #[tokio::test(start_paused = true)]
    #[should_panic(expected = "a crashed claim must not keep the event from being handled")]
    async fn powertools_bug_reproduced_on_a_leaseless_store() {
        let store =
            scenario::LeaselessStore(MemoryIdempotencyStore::new(10, Duration::from_secs(3600)));
        scenario::assert_a_crash_is_handled_once(&store, "event-1", LEASE).await;
    }
}
