//! The shared pacer against a real Redis (`GENESYS_TEST_REDIS_URL`, started by `scripts/test`
//! through `scripts/redis`). Without it these tests are skipped with a notice, unless
//! `GENESYS_TEST_REDIS=1` says Redis is expected: then a missing URL fails them.
//!
//! The Lua script's edge cases are driven with a clock the test supplies; the cross-pacer tests
//! run in real time with millisecond-scale settings.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::*;
use crate::headers::RateLimitInfo;
use crate::pacer::Pacer;

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
                "NOTICE: skipping Redis pacer test: GENESYS_TEST_REDIS_URL is not set \
                 (run `eval \"$(scripts/redis start)\"` or scripts/test)"
            );
            None
        }
    }
}

/// A namespace no other test (or earlier run) uses.
fn namespace(test: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "test-{test}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn builder(url: &str, test: &str) -> RedisPacerBuilder {
    Pacer::redis(SecretString::from(url.to_owned())).namespace(namespace(test))
}

fn remote(pacer: &Pacer) -> &Remote {
    pacer.shared.remote.as_deref().expect("a shared pacer")
}

const T: u64 = 1_800_000_000_000_000; // a fixed "server clock", microseconds

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A refusal of about `expected`: a pause is also bounded by its key's PTTL, which runs in real
/// time, so a few real milliseconds between setting and reading it may shave the wait.
fn assert_paused_for(slot: Slot, expected: Duration) {
    match slot {
        Slot::Retry(wait) => assert!(
            wait <= expected && wait + ms(100) >= expected,
            "paused {wait:?}, expected {expected:?}"
        ),
        other => panic!("expected a pause of {expected:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn a_burst_goes_at_once_then_slots_are_reserved_then_refused() {
    let Some(url) = redis_url() else { return };
    let pacer = builder(&url, "burst")
        .scope(PacerScope::per_second("client", 10.0, 3))
        .max_reserve(ms(250))
        .build()
        .unwrap();
    let r = remote(&pacer);
    for _ in 0..3 {
        assert_eq!(r.call_acquire(Some(T)).await.unwrap(), Slot::Go(ms(0)));
    }
    assert_eq!(r.call_acquire(Some(T)).await.unwrap(), Slot::Go(ms(100)));
    assert_eq!(r.call_acquire(Some(T)).await.unwrap(), Slot::Go(ms(200)));
    // The next slot (300 ms) is beyond the 250 ms reservation: nothing taken, ask in 50 ms.
    assert_eq!(r.call_acquire(Some(T)).await.unwrap(), Slot::Retry(ms(50)));
    assert_eq!(r.call_acquire(Some(T)).await.unwrap(), Slot::Retry(ms(50)));
    // 50 ms later that slot can be reserved.
    assert_eq!(
        r.call_acquire(Some(T + 50_000)).await.unwrap(),
        Slot::Go(ms(250))
    );
    // After a long idle the burst is back, and only the burst.
    let later = T + 10_000_000;
    for _ in 0..3 {
        assert_eq!(r.call_acquire(Some(later)).await.unwrap(), Slot::Go(ms(0)));
    }
    assert_eq!(
        r.call_acquire(Some(later)).await.unwrap(),
        Slot::Go(ms(100))
    );
}

#[tokio::test]
async fn pauses_extend_and_never_shorten() {
    let Some(url) = redis_url() else { return };
    let pacer = builder(&url, "pause")
        .scope(PacerScope::per_second("client", 100.0, 1))
        .build()
        .unwrap();
    let r = remote(&pacer);
    assert!(r.call_pause(ms(5_000), Some(T)).await.unwrap());
    assert_paused_for(r.call_acquire(Some(T)).await.unwrap(), ms(5_000));
    assert!(
        !r.call_pause(ms(2_000), Some(T)).await.unwrap(),
        "a shorter pause leaves the longer one"
    );
    assert_paused_for(
        r.call_acquire(Some(T + 1_000_000)).await.unwrap(),
        ms(4_000),
    );
    assert!(r.call_pause(ms(8_000), Some(T + 1_000_000)).await.unwrap());
    assert_paused_for(
        r.call_acquire(Some(T + 1_000_000)).await.unwrap(),
        ms(8_000),
    );
    // Once the pause is over, slots are given again.
    assert_eq!(
        r.call_acquire(Some(T + 9_000_000)).await.unwrap(),
        Slot::Go(ms(0))
    );
}

#[tokio::test]
async fn a_clock_that_jumps_back_costs_one_slot_not_the_jump() {
    let Some(url) = redis_url() else { return };
    let pacer = builder(&url, "clock-back")
        .scope(PacerScope::per_second("client", 10.0, 1))
        .max_reserve(ms(500))
        .build()
        .unwrap();
    let r = remote(&pacer);
    for _ in 0..5 {
        assert!(matches!(
            r.call_acquire(Some(T)).await.unwrap(),
            Slot::Go(_)
        ));
    }
    // The server's clock goes back an hour: the stored TAT is an hour ahead of "now".
    let back = T - 3_600_000_000;
    match r.call_acquire(Some(back)).await.unwrap() {
        Slot::Go(wait) | Slot::Retry(wait) => {
            assert!(wait <= ms(600), "waited {wait:?} for a clock jump")
        }
    }
    // A pause set just before the jump ends with its key, not an hour later.
    assert!(r.call_pause(ms(300), Some(T + 1_000_000)).await.unwrap());
    match r.call_acquire(Some(back)).await.unwrap() {
        Slot::Retry(wait) => assert!(wait <= ms(300), "paused {wait:?}"),
        other => panic!("paused, yet {other:?}"),
    }
}

#[tokio::test]
async fn a_clock_that_jumps_forward_gives_one_burst() {
    let Some(url) = redis_url() else { return };
    let pacer = builder(&url, "clock-forward")
        .scope(PacerScope::per_second("client", 10.0, 2))
        .build()
        .unwrap();
    let r = remote(&pacer);
    for _ in 0..5 {
        r.call_acquire(Some(T)).await.unwrap();
    }
    let ahead = T + 86_400_000_000;
    assert_eq!(r.call_acquire(Some(ahead)).await.unwrap(), Slot::Go(ms(0)));
    assert_eq!(r.call_acquire(Some(ahead)).await.unwrap(), Slot::Go(ms(0)));
    assert_eq!(
        r.call_acquire(Some(ahead)).await.unwrap(),
        Slot::Go(ms(100))
    );
}

#[tokio::test]
async fn every_scope_must_have_a_slot_and_pauses_go_to_the_first() {
    let Some(url) = redis_url() else { return };
    let ns = namespace("scopes");
    let both = Pacer::redis(SecretString::from(url.clone()))
        .namespace(&ns)
        .scope(PacerScope::per_second("client", 10.0, 1))
        .scope(PacerScope::per_second("analytics-jobs", 2.0, 1))
        .build()
        .unwrap();
    let client_only = Pacer::redis(SecretString::from(url))
        .namespace(&ns)
        .scope(PacerScope::per_second("client", 10.0, 1))
        .build()
        .unwrap();
    let (b, c) = (remote(&both), remote(&client_only));
    assert_eq!(b.call_acquire(Some(T)).await.unwrap(), Slot::Go(ms(0)));
    // The jobs scope holds the next one for 500 ms; the client scope advances with it.
    assert_eq!(b.call_acquire(Some(T)).await.unwrap(), Slot::Go(ms(500)));
    // A client-only caller shares the client scope: its next slot is after that.
    assert_eq!(c.call_acquire(Some(T)).await.unwrap(), Slot::Go(ms(600)));
    // A pause through the two-scope pacer stops the client-only one too.
    assert!(b.call_pause(ms(2_000), Some(T)).await.unwrap());
    assert_paused_for(c.call_acquire(Some(T)).await.unwrap(), ms(2_000));
}

#[tokio::test]
async fn a_learned_rate_lowers_the_ceiling_and_never_raises_it() {
    let Some(url) = redis_url() else { return };
    let pacer = builder(&url, "learned")
        .scope(PacerScope::per_second("client", 10.0, 1))
        .build()
        .unwrap();
    let r = remote(&pacer);
    r.call_set_rate(4.0).await.unwrap();
    assert_eq!(r.call_acquire(Some(T)).await.unwrap(), Slot::Go(ms(0)));
    assert_eq!(r.call_acquire(Some(T)).await.unwrap(), Slot::Go(ms(250)));
    r.call_set_rate(1000.0).await.unwrap();
    let later = T + 5_000_000;
    assert_eq!(r.call_acquire(Some(later)).await.unwrap(), Slot::Go(ms(0)));
    assert_eq!(
        r.call_acquire(Some(later)).await.unwrap(),
        Slot::Go(ms(100))
    );
}

/// The busiest window of `width` over instants.
fn busiest(times: &[std::time::Instant], width: Duration) -> usize {
    times
        .iter()
        .map(|s| {
            times
                .iter()
                .filter(|t| **t >= *s && **t < *s + width)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pacers_on_one_redis_share_one_pace() {
    let Some(url) = redis_url() else { return };
    let ns = namespace("two");
    let make = || {
        Pacer::redis(SecretString::from(url.clone()))
            .namespace(&ns)
            .scope(PacerScope::per_second("client", 100.0, 1))
            .build()
            .unwrap()
    };
    let (a, b) = (make(), make());
    assert!(
        !a.shares_pace_with(&b),
        "two separate pacers, like two processes"
    );
    let start = std::time::Instant::now();
    let run = |p: Pacer| {
        tokio::spawn(async move {
            let mut times = Vec::new();
            for _ in 0..20 {
                p.acquire().await;
                times.push(std::time::Instant::now());
            }
            times
        })
    };
    let (ta, tb) = (run(a.clone()), run(b.clone()));
    let mut times = ta.await.unwrap();
    times.extend(tb.await.unwrap());
    let elapsed = start.elapsed();
    // 40 slots at 100 a second: 390 ms at least (two local pacers would take 190 ms).
    assert!(elapsed >= ms(370), "40 acquires in {elapsed:?}");
    // Never a burst beyond what a stall of this loaded machine can bunch together (two local
    // pacers would allow 10 in any 50 ms as a matter of course).
    assert!(
        busiest(&times, ms(50)) <= 10,
        "{} in 50 ms",
        busiest(&times, ms(50))
    );
    assert_eq!(a.stats().shared_acquires + b.stats().shared_acquires, 40);
    assert_eq!(a.stats().fallback_acquires, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_in_one_process_pauses_the_other_at_its_next_acquire() {
    let Some(url) = redis_url() else { return };
    let ns = namespace("pause-shared");
    let make = || {
        Pacer::redis(SecretString::from(url.clone()))
            .namespace(&ns)
            .scope(PacerScope::per_second("client", 1000.0, 1))
            .build()
            .unwrap()
    };
    let (a, b) = (make(), make());
    b.acquire().await;
    let start = std::time::Instant::now();
    a.on_rate_limited(None, ms(400));
    // The write is in the background: wait until it landed (b's next look sees the pause).
    while !matches!(remote(&b).call_acquire(None).await.unwrap(), Slot::Retry(_)) {
        assert!(start.elapsed() < ms(2_000), "the pause never reached Redis");
        tokio::time::sleep(ms(5)).await;
    }
    b.acquire().await;
    assert!(
        start.elapsed() >= ms(390),
        "b went after {:?}",
        start.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_learned_from_headers_in_one_process_paces_the_other() {
    let Some(url) = redis_url() else { return };
    let ns = namespace("rate-shared");
    let make = || {
        Pacer::redis(SecretString::from(url.clone()))
            .namespace(&ns)
            .scope(PacerScope::per_second("client", 1000.0, 1))
            .build()
            .unwrap()
    };
    let (a, b) = (make(), make());
    // 1200 allowed in a 60 s window: 20 a second.
    a.observe(&RateLimitInfo::new(
        Some(1200),
        Some(0),
        None,
        Some(Duration::from_secs(60)),
    ));
    // The write is in the background: wait until it landed.
    let waited = std::time::Instant::now();
    loop {
        let mut conn = remote(&b).conn.clone();
        let rate: Option<f64> = redis::cmd("GET")
            .arg(&remote(&b).keys[2])
            .query_async(&mut conn)
            .await
            .unwrap();
        if rate.is_some() {
            assert_eq!(rate, Some(20.0));
            break;
        }
        assert!(waited.elapsed() < ms(2_000), "the rate never reached Redis");
        tokio::time::sleep(ms(5)).await;
    }
    let start = std::time::Instant::now();
    for _ in 0..6 {
        b.acquire().await;
    }
    // 6 slots at 20 a second: 250 ms at least.
    assert!(
        start.elapsed() >= ms(240),
        "6 acquires in {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn redis_down_falls_back_to_the_local_share_and_is_never_unpaced() {
    // Nothing listens on this port: every Redis call fails at once.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let pacer = Pacer::redis(SecretString::from(format!(
        "redis://:hunter2@127.0.0.1:{port}"
    )))
    .namespace(namespace("down"))
    .scope(PacerScope::per_second("client", 200.0, 1))
    .fleet_size(2)
    .timeout(ms(100))
    .build()
    .unwrap();
    let start = std::time::Instant::now();
    for _ in 0..21 {
        pacer.acquire().await;
    }
    let elapsed = start.elapsed();
    // The local share is 100 a second: 21 acquires take 200 ms.
    assert!(elapsed >= ms(190), "21 acquires in {elapsed:?}");
    assert!(elapsed < ms(2_000), "21 acquires in {elapsed:?}");
    let stats = pacer.stats();
    assert_eq!(stats.fallback_acquires, 21);
    assert_eq!(stats.shared_acquires, 0);
    // One probe failed; the others waited for `retry_every` (1 s) to pass (a second probe only
    // if this loaded machine took longer than that).
    assert!(
        (1..=2).contains(&stats.shared_errors),
        "{}",
        stats.shared_errors
    );
    assert!(!format!("{pacer:?}").contains("hunter2"));
}

#[tokio::test]
async fn a_redis_that_never_answers_costs_the_timeout_once_then_local() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let pacer = Pacer::redis(SecretString::from(format!("redis://127.0.0.1:{port}")))
        .scope(PacerScope::per_second("client", 1000.0, 1))
        .timeout(ms(100))
        .build()
        .unwrap();
    let start = std::time::Instant::now();
    for _ in 0..10 {
        pacer.acquire().await;
    }
    let elapsed = start.elapsed();
    assert!(elapsed < ms(1_000), "10 acquires in {elapsed:?}");
    assert_eq!(pacer.stats().fallback_acquires, 10);
    hold.abort();
}

#[tokio::test]
async fn bad_settings_are_errors() {
    let url = || SecretString::from("redis://:secret@127.0.0.1:6379".to_owned());
    assert!(matches!(
        Pacer::redis(url()).build(),
        Err(SharedPacerError::NoScope)
    ));
    assert!(matches!(
        Pacer::redis(url())
            .scope(PacerScope::per_second("c", 0.0, 1))
            .build(),
        Err(SharedPacerError::InvalidScope { .. })
    ));
    let error = Pacer::redis(SecretString::from("http://:secret@x/".to_owned()))
        .scope(PacerScope::per_second("c", 1.0, 1))
        .build()
        .unwrap_err();
    assert!(!error.to_string().contains("secret"), "{error}");
}

#[test]
fn building_outside_a_runtime_is_an_error() {
    let result = Pacer::redis(SecretString::from("redis://127.0.0.1:6379".to_owned()))
        .scope(PacerScope::per_second("c", 1.0, 1))
        .build();
    assert!(matches!(result, Err(SharedPacerError::NoRuntime)));
}

#[tokio::test]
async fn back_on_redis_once_it_answers_again() {
    // Needs the redis-server binary, which scripts/test installs along with the test Redis.
    if redis_url().is_none() {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let pacer = Pacer::redis(SecretString::from(format!("redis://127.0.0.1:{port}")))
        .namespace(namespace("recover"))
        .scope(PacerScope::per_second("client", 1000.0, 1))
        .timeout(ms(100))
        .retry_every(ms(100))
        .build()
        .unwrap();
    pacer.acquire().await;
    assert_eq!(pacer.stats().fallback_acquires, 1, "down at first");
    /// Stops the server however the test ends.
    struct Server(std::process::Child);
    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _server = Server(
        std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (scripts/redis installs it)"),
    );
    let started = std::time::Instant::now();
    while pacer.stats().shared_acquires == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never went back to Redis: {:?}",
            pacer.stats()
        );
        pacer.acquire().await;
        tokio::time::sleep(ms(20)).await;
    }
}
