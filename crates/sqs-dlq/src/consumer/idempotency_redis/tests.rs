//! Against a real Redis (`GENESYS_TEST_REDIS_URL`, started by `scripts/test` through
//! `scripts/redis`); skipped with a notice without it, unless `GENESYS_TEST_REDIS=1` says
//! Redis is expected, which makes a missing URL a failure. Real time, millisecond leases.

use std::sync::atomic::{AtomicU64, Ordering};

use super::*;
use crate::consumer::idempotency::scenario;

fn redis_url() -> Option<String> {
    match std::env::var("GENESYS_TEST_REDIS_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("GENESYS_TEST_REDIS").as_deref() != Ok("1"),
                "GENESYS_TEST_REDIS=1 but GENESYS_TEST_REDIS_URL is not set: redis-server is missing"
            );
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "NOTICE: skipping Redis idempotency test: GENESYS_TEST_REDIS_URL is not set \
                 (run `eval \"$(scripts/redis start)\"` or scripts/test)"
            );
            None
        }
    }
}

fn store(url: &str, ttl: Duration) -> RedisIdempotencyStore {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let ns = format!(
        "test-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    RedisIdempotencyStore::new(SecretString::from(url.to_owned()), ns, ttl).unwrap()
}

/// The lease of a claim meant to run out during a test.
const SHORT: Duration = Duration::from_millis(150);
/// The lease of a claim that must hold however slow this machine is.
const LEASE: Duration = Duration::from_secs(30);

async fn claim_for(store: &RedisIdempotencyStore, key: &str, lease: Duration) -> ClaimToken {
    match store.try_begin(key, lease).await.unwrap() {
        Claim::Acquired(token) => token,
        other => panic!("{key}: {other:?}"),
    }
}

async fn claim(store: &RedisIdempotencyStore, key: &str) -> ClaimToken {
    claim_for(store, key, LEASE).await
}

#[tokio::test]
async fn claim_then_done_then_duplicates_are_acknowledged() {
    let Some(url) = redis_url() else { return };
    let s = store(&url, Duration::from_secs(60));
    let t = claim(&s, "a").await;
    assert_eq!(s.try_begin("a", LEASE).await.unwrap(), Claim::InProgress);
    s.release("a", t).await.unwrap();
    let t = claim(&s, "a").await;
    assert_eq!(s.complete("a", t).await.unwrap(), Completion::Recorded);
    assert_eq!(s.try_begin("a", LEASE).await.unwrap(), Claim::Done);
    s.release("a", t).await.unwrap();
    assert_eq!(s.try_begin("a", LEASE).await.unwrap(), Claim::Done);
    // Two processes on one namespace see one record.
    let other = RedisIdempotencyStore::new(
        SecretString::from(url.clone()),
        s.namespace.clone(),
        Duration::from_secs(60),
    )
    .unwrap();
    assert_eq!(other.try_begin("a", LEASE).await.unwrap(), Claim::Done);
}

#[tokio::test]
async fn a_lease_runs_out_and_a_late_finisher_is_fenced() {
    let Some(url) = redis_url() else { return };
    let s = store(&url, Duration::from_secs(60));
    let slow = claim_for(&s, "a", SHORT).await;
    tokio::time::sleep(SHORT + Duration::from_millis(50)).await;
    let newer = claim(&s, "a").await;
    assert_ne!(slow, newer);
    assert_eq!(s.complete("a", slow).await.unwrap(), Completion::Fenced);
    s.release("a", slow).await.unwrap();
    assert_eq!(s.try_begin("a", LEASE).await.unwrap(), Claim::InProgress);
    assert_eq!(s.complete("a", newer).await.unwrap(), Completion::Recorded);
    assert_eq!(s.try_begin("a", LEASE).await.unwrap(), Claim::Done);
    // The done marker has its own TTL, not the lease's.
    tokio::time::sleep(SHORT * 2).await;
    assert_eq!(s.try_begin("a", LEASE).await.unwrap(), Claim::Done);
}

#[tokio::test]
async fn done_markers_expire_with_the_ttl() {
    let Some(url) = redis_url() else { return };
    let s = store(&url, Duration::from_millis(600));
    let t = claim(&s, "a").await;
    s.complete("a", t).await.unwrap();
    assert_eq!(s.try_begin("a", LEASE).await.unwrap(), Claim::Done);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(matches!(
        s.try_begin("a", LEASE).await.unwrap(),
        Claim::Acquired(_)
    ));
}

#[tokio::test]
async fn powertools_bug_a_crashed_claim_is_handled_again_once_its_lease_ran_out() {
    let Some(url) = redis_url() else { return };
    let s = store(&url, Duration::from_secs(60));
    scenario::assert_a_crash_is_handled_once(&s, "event-1", SHORT).await;
}

#[tokio::test]
async fn an_unreachable_redis_is_unavailable_within_the_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let s = RedisIdempotencyStore::new(
        SecretString::from(format!("redis://:hunter2@127.0.0.1:{port}")),
        "down",
        Duration::from_secs(60),
    )
    .unwrap()
    .with_timeout(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let error = s.try_begin("a", LEASE).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(!error.to_string().contains("hunter2"), "{error}");
    assert!(!format!("{s:?}").contains("hunter2"));
}
