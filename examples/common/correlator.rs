//! sqs-dlq's [`Correlator`] over genesys-analytics: the dead-letter diagnosis looks up the
//! conversations of its dead letters through the analytics conversation details API (100 ids
//! per query, one-by-one details only for ids outside the window).
//!
//! sqs-dlq's `Correlation` has `found` and `not_found` but no per-id failure, while
//! genesys-analytics can fail some ids of a batch and answer the others. So that a failed
//! lookup is never reported as "not found", the adapter asks once more for the failed ids and,
//! if some still fail, fails the whole batch (sqs-dlq then marks each id `failed`).

use async_trait::async_trait;
use genesys_analytics::{Analytics, AnalyticsClient, AnalyticsConversation};
use serde_json::{Value, json};
use sqs_dlq::{CorrelateError, Correlation, Correlator};

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

#[async_trait]
impl Correlator for AnalyticsCorrelator {
    fn max_batch(&self) -> usize {
        self.analytics.correlate_options().chunk_size().max(1)
    }

    async fn correlate(&self, conversation_ids: &[String]) -> Result<Correlation, CorrelateError> {
        let first = self
            .analytics
            .correlate(conversation_ids)
            .await
            .map_err(CorrelateError::unavailable)?;
        let mut out = Correlation::new();
        for (id, conversation) in &first.found {
            out = out.with_found(id.clone(), summary(conversation));
        }
        for id in &first.not_found {
            out = out.with_not_found(id.clone());
        }
        let failed: Vec<String> = first
            .failed
            .iter()
            .flat_map(|f| f.ids.iter().cloned())
            .collect();
        if failed.is_empty() {
            return Ok(out);
        }
        tracing::warn!(
            failed = failed.len(),
            "some conversation lookups failed; asking once more"
        );
        let second = self
            .analytics
            .correlate(&failed)
            .await
            .map_err(CorrelateError::unavailable)?;
        if let Some(failure) = second.failed.into_iter().next() {
            return Err(CorrelateError::unavailable(failure.error));
        }
        for (id, conversation) in &second.found {
            out = out.with_found(id.clone(), summary(conversation));
        }
        for id in second.not_found {
            out = out.with_not_found(id);
        }
        Ok(out)
    }
}
