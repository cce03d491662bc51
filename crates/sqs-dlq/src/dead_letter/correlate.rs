//! [`Correlator`] and what it needs (its documentation is on the type).

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use serde_json::Value;

/// What a [`Correlator`] found for one batch of conversation ids.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Correlation {
    /// A summary (any JSON) per conversation id found.
    pub found: BTreeMap<String, Value>,
    /// Ids the source does not know.
    pub not_found: Vec<String>,
    /// Ids the source could not answer for (its request about them failed), with the reason.
    /// The rest of the batch still counts: only these ids are marked
    /// [`CorrelationOutcome::Failed`].
    pub failed: BTreeMap<String, String>,
}

impl Correlation {
    /// An empty correlation.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a found conversation.
    pub fn with_found(mut self, id: impl Into<String>, summary: Value) -> Self {
        self.found.insert(id.into(), summary);
        self
    }

    /// Adds an id the source does not know.
    pub fn with_not_found(mut self, id: impl Into<String>) -> Self {
        self.not_found.push(id.into());
        self
    }

    /// Adds an id whose lookup failed, with the reason (neither found nor known to be missing).
    pub fn with_failed(mut self, id: impl Into<String>, reason: impl Into<String>) -> Self {
        self.failed.insert(id.into(), reason.into());
        self
    }
}

/// Why a correlation call failed. Diagnosis goes on without the details and records the
/// failure on the affected records.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CorrelateError {
    /// The source could not answer (network, rate limit, server error…); a later run may work.
    #[error("correlation source unavailable: {message}")]
    Unavailable {
        /// What happened.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The source refused the request (permissions, bad query); retrying will not help.
    #[error("correlation request rejected: {message}")]
    Rejected {
        /// What happened.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl CorrelateError {
    /// A transient failure wrapping another error.
    pub fn unavailable(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        CorrelateError::Unavailable {
            message: source.to_string(),
            source: Some(Box::new(source)),
        }
    }

    /// A permanent failure wrapping another error.
    pub fn rejected(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        CorrelateError::Rejected {
            message: source.to_string(),
            source: Some(Box::new(source)),
        }
    }
}

/// Looks up conversations by id, many at a time.
///
/// Implementations should answer every id in `found`, `not_found` or `failed`; ids they leave
/// out are reported as not found. When only some ids of a batch could not be looked up, put
/// those in `failed` and answer the rest: an `Err` marks the whole batch failed.
///
/// Correlating dead letters with the conversations they are about.
///
/// This crate knows nothing of Genesys APIs: a [`Correlator`] is what the caller plugs in
/// (the recipes use genesys-analytics' conversation details query). [`correlate_all`] calls
/// it in batches, so 250 conversations cost ⌈250 / batch⌉ calls, not 250.
#[async_trait]
pub trait Correlator: Send + Sync {
    /// Most ids one call takes. [`correlate_all`] never passes more.
    fn max_batch(&self) -> usize {
        100
    }

    /// Looks up these conversation ids (at most [`Correlator::max_batch`], no duplicates).
    async fn correlate(&self, conversation_ids: &[String]) -> Result<Correlation, CorrelateError>;
}

/// The outcome of correlating one conversation id.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CorrelationOutcome {
    /// Found, with its summary.
    Found(Value),
    /// The source does not know it.
    NotFound,
    /// The call covering it failed.
    Failed(String),
}

/// Correlates every distinct id in batches of `min(batch, correlator.max_batch())`, one call
/// after another. A failed call marks its ids [`CorrelationOutcome::Failed`] and the rest go on;
/// so do the ids a call answered in [`Correlation::failed`].
pub async fn correlate_all<C: Correlator + ?Sized>(
    correlator: &C,
    ids: impl IntoIterator<Item = String>,
    batch: usize,
) -> BTreeMap<String, CorrelationOutcome> {
    let distinct: BTreeSet<String> = ids.into_iter().collect();
    let distinct: Vec<String> = distinct.into_iter().collect();
    let size = batch.min(correlator.max_batch()).max(1);
    let mut outcomes = BTreeMap::new();
    for chunk in distinct.chunks(size) {
        match correlator.correlate(chunk).await {
            Ok(mut correlation) => {
                for id in chunk {
                    let outcome = match correlation.found.remove(id) {
                        Some(summary) => CorrelationOutcome::Found(summary),
                        None => match correlation.failed.remove(id) {
                            Some(reason) => CorrelationOutcome::Failed(reason),
                            None => CorrelationOutcome::NotFound,
                        },
                    };
                    outcomes.insert(id.clone(), outcome);
                }
            }
            Err(error) => {
                tracing::warn!(ids = chunk.len(), error = %error, "correlation batch failed");
                for id in chunk {
                    outcomes.insert(id.clone(), CorrelationOutcome::Failed(error.to_string()));
                }
            }
        }
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recording {
        calls: Mutex<Vec<usize>>,
    }

    #[async_trait]
    impl Correlator for Recording {
        fn max_batch(&self) -> usize {
            40
        }
        async fn correlate(&self, ids: &[String]) -> Result<Correlation, CorrelateError> {
            self.calls.lock().unwrap().push(ids.len());
            if ids.iter().any(|id| id == "boom") {
                return Err(CorrelateError::Unavailable {
                    message: "down".into(),
                    source: None,
                });
            }
            let mut c = Correlation::new();
            for id in ids {
                if id.starts_with('f') {
                    c = c.with_failed(id.clone(), "lookup timed out");
                } else if id.starts_with('x') {
                    c = c.with_not_found(id.clone());
                } else {
                    c = c.with_found(id.clone(), serde_json::json!({"id": id}));
                }
            }
            Ok(c)
        }
    }

    #[tokio::test]
    async fn batches_dedupes_and_respects_max_batch() {
        let correlator = Recording::default();
        let ids = (0..100)
            .map(|i| format!("a{i}"))
            .chain(std::iter::once("a1".to_owned()));
        let out = correlate_all(&correlator, ids, 50).await;
        assert_eq!(out.len(), 100);
        assert_eq!(*correlator.calls.lock().unwrap(), vec![40, 40, 20]);
        assert_eq!(
            out["a1"],
            CorrelationOutcome::Found(serde_json::json!({"id": "a1"}))
        );
    }

    #[tokio::test]
    async fn a_failed_batch_marks_only_its_ids() {
        let correlator = Recording::default();
        let out = correlate_all(&correlator, ["boom", "xmissing", "ok"].map(String::from), 1).await;
        assert!(matches!(out["boom"], CorrelationOutcome::Failed(_)));
        assert_eq!(out["xmissing"], CorrelationOutcome::NotFound);
        assert!(matches!(out["ok"], CorrelationOutcome::Found(_)));
    }

    #[tokio::test]
    async fn ids_failed_within_an_answered_batch_fail_alone() {
        let correlator = Recording::default();
        let out = correlate_all(
            &correlator,
            ["ok", "failing", "xmissing"].map(String::from),
            10,
        )
        .await;
        assert_eq!(*correlator.calls.lock().unwrap(), vec![3], "one batch");
        assert_eq!(
            out["failing"],
            CorrelationOutcome::Failed("lookup timed out".into())
        );
        assert!(matches!(out["ok"], CorrelationOutcome::Found(_)));
        assert_eq!(out["xmissing"], CorrelationOutcome::NotFound);
    }
}
