//! The [`Analytics`] trait (what the rest of a system needs from conversation details) and the
//! paging logic every implementation shares.

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::{self, BoxStream};

use crate::correlation::Correlation;
use crate::error::AnalyticsError;
use crate::model::{AnalyticsConversation, ConversationPage};
use crate::query::ConversationQuery;

/// The most results one details query can page through (secondary source; the client makes
/// it a setting).
pub const RESULT_CAP: u64 = 100_000;

/// Conversation details: one page, every page, one conversation, many ids at once.
///
/// [`AnalyticsClient`](crate::AnalyticsClient) implements it over HTTP; implement it over
/// memory to test code that correlates conversations without a server.
#[async_trait]
pub trait Analytics: Send + Sync {
    /// One page of a details query (the page the query's paging names).
    async fn query(&self, query: &ConversationQuery) -> Result<ConversationPage, AnalyticsError>;

    /// Every page of a query, from its page number on, until `totalHits` results were read or
    /// a page comes back empty. A query matching more than the result cap fails with
    /// [`AnalyticsError::TooManyResults`] right after the first page (use the jobs API).
    /// The stream ends after its first error.
    fn query_all(
        &self,
        query: ConversationQuery,
    ) -> BoxStream<'_, Result<ConversationPage, AnalyticsError>>;

    /// One conversation by id; `Ok(None)` when the platform does not know it (404).
    async fn details(
        &self,
        conversation_id: &str,
    ) -> Result<Option<AnalyticsConversation>, AnalyticsError>;

    /// Many conversation ids in as few requests as possible (see
    /// [`CorrelateOptions`](crate::CorrelateOptions)).
    async fn correlate(&self, conversation_ids: &[String]) -> Result<Correlation, AnalyticsError>;
}

/// Pages `query` through `analytics.query` (see [`Analytics::query_all`]).
pub(crate) fn paginate<'a, A>(
    analytics: &'a A,
    query: ConversationQuery,
    cap: u64,
) -> BoxStream<'a, Result<ConversationPage, AnalyticsError>>
where
    A: Analytics + ?Sized,
{
    struct State {
        next: Option<ConversationQuery>,
        seen: u64,
    }
    let paging = query.paging();
    let seen = u64::from(paging.page_number() - 1) * u64::from(paging.page_size());
    let start = State {
        next: Some(query),
        seen,
    };
    stream::unfold(start, move |mut state| async move {
        let query = state.next.take()?;
        let paging = query.paging();
        let page = match analytics.query(&query).await {
            Ok(page) => page,
            Err(e) => return Some((Err(e), state)),
        };
        if let Some(total_hits) = page.total_hits
            && total_hits > cap
        {
            return Some((
                Err(AnalyticsError::TooManyResults { total_hits, cap }),
                state,
            ));
        }
        if page.is_empty() {
            return None;
        }
        let got = page.conversations.len() as u64;
        state.seen += got;
        let more = match page.total_hits {
            Some(total) => state.seen < total,
            // without totalHits, a full page means there may be more
            None => got >= u64::from(paging.page_size()),
        };
        if more {
            if state.seen >= cap {
                return Some((
                    Err(AnalyticsError::TooManyResults {
                        total_hits: state.seen,
                        cap,
                    }),
                    state,
                ));
            }
            state.next = paging
                .page_number()
                .checked_add(1)
                .and_then(|n| query.with_page_number(n).ok());
        }
        tracing::debug!(
            page = paging.page_number(),
            conversations = got,
            total_hits = page.total_hits,
            more,
            "analytics page read"
        );
        Some((Ok(page), state))
    })
    .boxed()
}
