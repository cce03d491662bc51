//! sqs-dlq's [`Correlator`] over analytics (feature `sqs-dlq`): the dead-letter diagnosis looks up the
//! conversations of its dead letters through the analytics conversation details API (100 ids
//! per query, one-by-one details only for ids outside the window).
//!
//! Each id keeps its own outcome: found (with a summary), not found (the API answered without
//! it), or failed (the request covering it failed after the client's retries; the report
//! carries the error as the record's `correlation_error`). A failed chunk never takes the ids
//! other requests answered with it, and a failed lookup is never reported as "not found".

use crate::{Analytics, AnalyticsClient, AnalyticsConversation, AnalyticsError, IdOutcome};
use async_trait::async_trait;
use serde_json::{Value, json};
use sqs_dlq::dead_letter::{CorrelateError, Correlation, Correlator};

/// Looks up dead-letter conversations in Genesys Cloud analytics.
#[derive(Debug, Clone)]
pub struct AnalyticsCorrelator {
    analytics: AnalyticsClient,
}

impl AnalyticsCorrelator {
    /// A correlator over `analytics` (its chunk size and window apply).
    pub fn new(analytics: AnalyticsClient) -> Self {
        Self { analytics }
    }
}

/// The summary a report record carries for a found conversation.
pub fn summary(conversation: &AnalyticsConversation) -> Value {
    let mut media: Vec<String> = conversation
        .sessions()
        .filter_map(|s| s.media_type.as_ref())
        .filter_map(|m| serde_json::to_value(m).ok())
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    media.sort();
    media.dedup();
    json!({
        "conversationId": conversation.conversation_id,
        "conversationStart": conversation.conversation_start,
        "conversationEnd": conversation.conversation_end,
        "originatingDirection": conversation.originating_direction,
        "divisionIds": conversation.division_ids,
        "participants": conversation.participants.len(),
        "mediaTypes": media,
    })
}

/// sqs-dlq's view of an analytics correlation: every id found, not found or failed, as the
/// analytics result says per id.
pub fn to_dlq_correlation(analytics: &crate::Correlation) -> Correlation {
    analytics
        .outcomes()
        .fold(Correlation::new(), |out, (id, outcome)| match outcome {
            IdOutcome::Found(conversation) => out.with_found(id, summary(conversation)),
            IdOutcome::Failed(error) => out.with_failed(id, error.to_string()),
            // IdOutcome::NotFound, and any outcome a later version adds: not found
            _ => out.with_not_found(id),
        })
}

#[async_trait]
impl Correlator for AnalyticsCorrelator {
    fn max_batch(&self) -> usize {
        self.analytics.correlate_options().chunk_size().max(1)
    }

    async fn correlate(&self, conversation_ids: &[String]) -> Result<Correlation, CorrelateError> {
        let found =
            self.analytics
                .correlate(conversation_ids)
                .await
                .map_err(|error| match error {
                    // refused before any request: the window or the ids, not the platform
                    AnalyticsError::InvalidQuery(_) => CorrelateError::rejected(error),
                    _ => CorrelateError::unavailable(error),
                })?;
        if !found.is_complete() {
            tracing::warn!(
                failed = found.failed_ids().count(),
                asked = conversation_ids.len(),
                "some conversation lookups failed; the others are kept"
            );
        }
        Ok(to_dlq_correlation(&found))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::CorrelationFailure;
    use sqs_dlq::dead_letter::{CorrelationOutcome, correlate_all};

    /// An analytics result with one id found ("a"), one not found ("b") and two failed ("c",
    /// "d", one request).
    fn sample() -> crate::Correlation {
        let mut analytics = crate::Correlation::default();
        analytics
            .found
            .insert("a".into(), AnalyticsConversation::new("a"));
        analytics.not_found.push("b".into());
        analytics.failed.push(CorrelationFailure::new(
            vec!["c".into(), "d".into()],
            AnalyticsError::MissingJobId,
        ));
        analytics
    }

    #[test]
    fn each_id_keeps_its_own_outcome() {
        let dlq = to_dlq_correlation(&sample());
        assert_eq!(dlq.found["a"]["conversationId"], "a");
        assert_eq!(dlq.not_found, vec!["b".to_owned()]);
        assert_eq!(dlq.failed.len(), 2);
        assert!(dlq.failed["c"].contains("jobId"), "{}", dlq.failed["c"]);
    }

    /// A correlator answering the sample, to run sqs-dlq's batching over it.
    struct Fixed;

    #[async_trait]
    impl Correlator for Fixed {
        async fn correlate(&self, _: &[String]) -> Result<Correlation, CorrelateError> {
            Ok(to_dlq_correlation(&sample()))
        }
    }

    #[tokio::test]
    async fn the_diagnosis_sees_found_not_found_and_failed_per_id() {
        let out = correlate_all(&Fixed, ["a", "b", "c"].map(String::from), 100).await;
        assert!(matches!(out["a"], CorrelationOutcome::Found(_)));
        assert_eq!(out["b"], CorrelationOutcome::NotFound);
        assert!(
            matches!(&out["c"], CorrelationOutcome::Failed(reason) if reason.contains("jobId"))
        );
    }
}
