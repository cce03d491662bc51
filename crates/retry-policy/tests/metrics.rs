//! What the crate emits through the `metrics` facade, read back with `metrics-util`'s
//! `DebuggingRecorder` installed for this thread only (tests in this binary run in parallel).

use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::{CompositeKey, MetricKind};
use retry_policy::metric_names::*;
use retry_policy::{
    Backoff, GiveUp, Pacer, RateLimitInfo, RetryBudget, RetryClass, RetryPolicy, retry_with,
};

type Row = (CompositeKey, DebugValue);

fn rows(snapshotter: &Snapshotter) -> Vec<Row> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| (key, value))
        .collect()
}

fn find<'a>(
    rows: &'a [Row],
    kind: MetricKind,
    name: &str,
    labels: &[(&str, &str)],
) -> Option<&'a DebugValue> {
    rows.iter()
        .find(|(key, _)| {
            key.kind() == kind
                && key.key().name() == name
                && labels
                    .iter()
                    .all(|(k, v)| key.key().labels().any(|l| l.key() == *k && l.value() == *v))
        })
        .map(|(_, value)| value)
}

fn counter(rows: &[Row], name: &str, labels: &[(&str, &str)]) -> u64 {
    match find(rows, MetricKind::Counter, name, labels) {
        Some(DebugValue::Counter(n)) => *n,
        _ => 0,
    }
}

fn gauge(rows: &[Row], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    match find(rows, MetricKind::Gauge, name, labels) {
        Some(DebugValue::Gauge(v)) => Some(v.into_inner()),
        _ => None,
    }
}

fn histogram(rows: &[Row], name: &str) -> Vec<f64> {
    match find(rows, MetricKind::Histogram, name, &[]) {
        Some(DebugValue::Histogram(v)) => v.iter().map(|x| x.into_inner()).collect(),
        _ => Vec::new(),
    }
}

#[tokio::test(start_paused = true)]
async fn the_pacer_reports_its_pace_its_source_and_the_wait_it_adds() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _guard = metrics::set_default_local_recorder(&recorder);

    let pacer = Pacer::per_second(2.0, 1);
    let r = rows(&snapshotter);
    assert_eq!(gauge(&r, PACER_RATE, &[]), Some(2.0));
    assert_eq!(
        gauge(&r, PACER_RATE_SOURCE, &[("source", "configured")]),
        Some(1.0)
    );
    assert_eq!(
        gauge(&r, PACER_RATE_SOURCE, &[("source", "aimd")]),
        Some(0.0)
    );

    pacer.acquire().await; // the burst slot: no wait
    pacer.acquire().await; // waits 500 ms
    let waits = histogram(&rows(&snapshotter), PACER_WAIT_DURATION);
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
    let r = rows(&snapshotter);
    assert_eq!(gauge(&r, PACER_RATE, &[]), Some(10.0));
    assert_eq!(
        gauge(&r, PACER_RATE_SOURCE, &[("source", "headers")]),
        Some(1.0)
    );
    assert_eq!(
        gauge(&r, PACER_RATE_SOURCE, &[("source", "configured")]),
        Some(0.0)
    );

    adaptive.on_rate_limited(None, Duration::from_secs(1));
    assert_eq!(counter(&rows(&snapshotter), PACER_RATE_LIMITED, &[]), 1);
}

#[tokio::test(start_paused = true)]
async fn retries_give_ups_and_budget_tokens_are_counted() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _guard = metrics::set_default_local_recorder(&recorder);

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
    let r = rows(&snapshotter);
    assert_eq!(counter(&r, RETRIES, &[]), 2);
    assert_eq!(counter(&r, GIVE_UPS, &[("reason", "max_attempts")]), 1);
    assert_eq!(gauge(&r, RETRY_BUDGET_TOKENS, &[]), Some(90.0));

    // A permanent failure is not a give-up.
    let _ = policy.next_delay(1, Duration::ZERO, &RetryClass::Fail, None);
    assert_eq!(
        counter(&rows(&snapshotter), GIVE_UPS, &[("reason", "permanent")]),
        0
    );

    // A success refunds the budget, and the gauge follows.
    policy.on_success();
    assert_eq!(
        gauge(&rows(&snapshotter), RETRY_BUDGET_TOKENS, &[]),
        Some(91.0)
    );

    // An empty budget refuses.
    let empty = RetryPolicy::builder()
        .max_attempts(5)
        .budget(RetryBudget::new(0, 5, 10, 1))
        .build();
    assert_eq!(
        empty.next_delay(1, Duration::ZERO, &RetryClass::retry(), None),
        Err(GiveUp::BudgetExhausted)
    );
    assert_eq!(
        counter(
            &rows(&snapshotter),
            GIVE_UPS,
            &[("reason", "budget_exhausted")]
        ),
        1
    );
}
