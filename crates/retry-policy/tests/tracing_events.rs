//! The retry driver's tracing events. In a test binary of its own: tracing's callsite interest
//! cache is process-global, so a scoped subscriber racing other tests' first events could miss
//! one.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use retry_policy::{Backoff, RetryClass, RetryPolicy, RetryableError, retry};
use tracing_subscriber::layer::SubscriberExt;

#[derive(Debug)]
struct Unavailable;

impl RetryableError for Unavailable {
    fn retry_class(&self) -> RetryClass {
        RetryClass::from_status(503, None)
    }
}

/// The fields of one tracing event, by name.
type EventFields = Vec<(String, String)>;

/// Collects the fields of every tracing event.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<EventFields>>>);

struct Fields<'a>(&'a mut EventFields);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0
            .push((field.name().to_string(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push((field.name().to_string(), value.to_string()));
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Events {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().push(fields);
    }
}

#[tokio::test(start_paused = true)]
async fn one_tracing_event_per_failed_attempt() {
    let events = Events::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(events.clone()));
    let policy = RetryPolicy::builder()
        .max_attempts(3)
        .backoff(Backoff::constant(Duration::from_millis(100)))
        .no_budget()
        .build();
    let _ = retry(&policy, |_| async { Err::<(), _>(Unavailable) }).await;
    let events = events.0.lock().unwrap().clone();
    let pick =
        |e: &EventFields, k: &str| e.iter().find(|(name, _)| name == k).map(|(_, v)| v.clone());
    let summary: Vec<_> = events
        .iter()
        .map(|e| (pick(e, "attempt"), pick(e, "delay_ms"), pick(e, "reason")))
        .collect();
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        summary,
        vec![
            (s("1"), s("100"), s("backoff")),
            (s("2"), s("100"), s("backoff")),
            (
                s("3"),
                s("0"),
                s("the maximum number of attempts was reached")
            ),
        ]
    );
}
