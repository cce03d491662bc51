//! What the crate emits through the `metrics` facade, read back with `metrics-util`'s
//! `DebuggingRecorder` installed for this thread only (tests in this binary run in parallel).

use std::time::Duration;

use retry_policy::metric_names::*;
use retry_policy::test_util::MetricsCapture;
use retry_policy::{
    Backoff, GiveUp, Pacer, RateLimitInfo, RetryBudget, RetryClass, RetryPolicy, retry_with,
};

#[tokio::test(start_paused = true)]
async fn the_pacer_reports_its_pace_its_source_and_the_wait_it_adds() {
    let m = MetricsCapture::install_local();

    let pacer = Pacer::per_second(2.0, 1);
    assert_eq!(m.gauge(PACER_RATE, &[]), Some(2.0));
    assert_eq!(
        m.gauge(PACER_RATE_SOURCE, &[("source", "configured")]),
        Some(1.0)
    );
    assert_eq!(m.gauge(PACER_RATE_SOURCE, &[("source", "aimd")]), Some(0.0));

    pacer.acquire().await; // the burst slot: no wait
    pacer.acquire().await; // waits 500 ms
    let waits = m.histogram(PACER_WAIT_DURATION, &[]);
    assert_eq!(waits.len(), 1, "{waits:?}");
    assert!((waits[0] - 0.5).abs() < 0.01, "{waits:?}");

    // The server announces a budget: the adaptive pace follows its headers.
    let adaptive = Pacer::adaptive();
    adaptive.observe(&RateLimitInfo::new(
        Some(600),
        Some(0),
        None,
        Some(Duration::from_secs(60)),
    ));
    assert_eq!(m.gauge(PACER_RATE, &[]), Some(10.0));
    assert_eq!(
        m.gauge(PACER_RATE_SOURCE, &[("source", "headers")]),
        Some(1.0)
    );
    assert_eq!(
        m.gauge(PACER_RATE_SOURCE, &[("source", "configured")]),
        Some(0.0)
    );

    adaptive.on_rate_limited(None, Duration::from_secs(1));
    assert_eq!(m.counter(PACER_RATE_LIMITED, &[]), 1);
}

#[tokio::test(start_paused = true)]
async fn retries_give_ups_and_budget_tokens_are_counted() {
    let m = MetricsCapture::install_local();

    let policy = RetryPolicy::builder()
        .max_attempts(3)
        .backoff(Backoff::constant(Duration::from_millis(10)))
        .budget(RetryBudget::new(100, 5, 10, 1))
        .build();
    // Two retries, then max attempts.
    let result: Result<(), _> = retry_with(
        &policy,
        |_| async { Err::<(), _>("boom") },
        |_| RetryClass::retry(),
        |_, _, _| {},
    )
    .await;
    assert!(result.is_err());
    assert_eq!(m.counter(RETRIES, &[]), 2);
    assert_eq!(m.counter(GIVE_UPS, &[("reason", "max_attempts")]), 1);
    assert_eq!(m.gauge(RETRY_BUDGET_TOKENS, &[]), Some(90.0));

    // A permanent failure is not a give-up.
    let _ = policy.next_delay(1, Duration::ZERO, &RetryClass::Fail, None);
    assert_eq!(m.counter(GIVE_UPS, &[("reason", "permanent")]), 0);

    // A success refunds the budget, and the gauge follows.
    policy.on_success();
    assert_eq!(m.gauge(RETRY_BUDGET_TOKENS, &[]), Some(91.0));

    // An empty budget refuses.
    let empty = RetryPolicy::builder()
        .max_attempts(5)
        .budget(RetryBudget::new(0, 5, 10, 1))
        .build();
    assert_eq!(
        empty.next_delay(1, Duration::ZERO, &RetryClass::retry(), None),
        Err(GiveUp::BudgetExhausted)
    );
    assert_eq!(m.counter(GIVE_UPS, &[("reason", "budget_exhausted")]), 1);
}
