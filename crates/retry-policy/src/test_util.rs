//! Reading back what the workspace emits through the [`metrics`] facade, in tests (feature
//! `test-util`): a [`MetricsCapture`] installs a recorder over `metrics-util`'s registry for the
//! current thread only, so tests in one binary do not see each other's metrics. Run the code
//! under test on that thread (`#[tokio::test]`'s default current-thread runtime does).

use std::sync::Arc;

use metrics::{
    Counter, Gauge, Histogram, Key, KeyName, LocalRecorderGuard, Metadata, Recorder, SharedString,
    Unit,
};
use metrics_util::MetricKind;
use metrics_util::registry::{AtomicStorage, Registry};

/// A recorder over `metrics-util`'s [`Registry`] that reads values without resetting them
/// (the `DebuggingRecorder`'s snapshots drain counters and gauges).
struct Capturing {
    registry: Registry<Key, AtomicStorage>,
}

impl Recorder for Capturing {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        self.registry
            .get_or_create_counter(key, |c| Counter::from_arc(Arc::clone(c)))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        self.registry
            .get_or_create_gauge(key, |g| Gauge::from_arc(Arc::clone(g)))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        self.registry
            .get_or_create_histogram(key, |h| Histogram::from_arc(Arc::clone(h)))
    }
}

fn matches(key: &Key, name: &str, labels: &[(&str, &str)]) -> bool {
    key.name() == name
        && labels
            .iter()
            .all(|(k, v)| key.labels().any(|l| l.key() == *k && l.value() == *v))
}

/// One recorded series: its kind, name and attributes.
pub type Series = (MetricKind, String, Vec<(String, String)>);

/// A thread-local recorder and its snapshots, for the lifetime of the value.
///
/// ```
/// use retry_policy::test_util::MetricsCapture;
/// let capture = MetricsCapture::install_local();
/// metrics::counter!("genesys.retries").increment(2);
/// assert_eq!(capture.counter("genesys.retries", &[]), 2);
/// ```
pub struct MetricsCapture {
    recorder: &'static Capturing,
    _guard: Option<LocalRecorderGuard<'static>>,
}

impl std::fmt::Debug for MetricsCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsCapture").finish_non_exhaustive()
    }
}

impl MetricsCapture {
    /// Installs a fresh recorder for this thread until the capture is dropped. (Each capture
    /// leaks one small recorder: meant for tests.)
    pub fn install_local() -> Self {
        let recorder: &'static Capturing = Box::leak(Box::new(Capturing {
            registry: Registry::atomic(),
        }));
        let guard = metrics::set_default_local_recorder(recorder);
        Self {
            recorder,
            _guard: Some(guard),
        }
    }

    /// Installs a fresh recorder for the whole process (every thread, for multi-threaded
    /// runtimes). Once per process: give such a test a binary of its own. `None` when a global
    /// recorder is already installed.
    pub fn install_global() -> Option<Self> {
        let recorder: &'static Capturing = Box::leak(Box::new(Capturing {
            registry: Registry::atomic(),
        }));
        metrics::set_global_recorder(recorder).ok()?;
        Some(Self {
            recorder,
            _guard: None,
        })
    }

    /// The sum of every counter `name` whose attributes include `labels` (0 when none).
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        let mut sum = 0;
        self.recorder.registry.visit_counters(|key, c| {
            if matches(key, name, labels) {
                sum += c.load(std::sync::atomic::Ordering::Acquire);
            }
        });
        sum
    }

    /// The value of a gauge `name` whose attributes include `labels`.
    pub fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut found = None;
        self.recorder.registry.visit_gauges(|key, g| {
            if found.is_none() && matches(key, name, labels) {
                found = Some(f64::from_bits(g.load(std::sync::atomic::Ordering::Acquire)));
            }
        });
        found
    }

    /// Every sample of the histograms `name` whose attributes include `labels`.
    pub fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        let mut samples = Vec::new();
        self.recorder.registry.visit_histograms(|key, h| {
            if matches(key, name, labels) {
                samples.extend(h.data());
            }
        });
        samples
    }

    /// Every series recorded so far, as `(kind, name, [(key, value)])`, for failure messages.
    pub fn keys(&self) -> Vec<Series> {
        let mut out = Vec::new();
        let row = |kind, key: &Key| {
            let labels = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            (kind, key.name().to_owned(), labels)
        };
        let registry = &self.recorder.registry;
        registry.visit_counters(|key, _| out.push(row(MetricKind::Counter, key)));
        registry.visit_gauges(|key, _| out.push(row(MetricKind::Gauge, key)));
        registry.visit_histograms(|key, _| out.push(row(MetricKind::Histogram, key)));
        out
    }
}
