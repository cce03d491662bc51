//! Correlating many conversation ids in few requests.
//!
//! The tutorial this crate replaces made one details query per id. Here the ids are
//! deduplicated, cut into chunks (default 100), and each chunk goes out as **one** query
//! (`conversationId matches a OR b OR …`) over a window (default the last 30 days, pageSize 100
//! so a chunk of 100 fits one page). Only the ids the window missed are then looked up one by
//! one through `GET …/{id}/details`, with bounded concurrency. 1,000 ids inside the window cost
//! 10 requests instead of 1,000.
//!
//! A failed request costs only the ids it was about: the other chunks' (and the failed chunk's
//! earlier pages') conversations are kept, and [`Correlation::outcome`] tells per id whether it
//! was found, not found (a query or lookup answered without it) or failed (with the error).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::StreamExt;
use futures::stream;

use crate::analytics::Analytics;
use crate::correlation::{Correlation, CorrelationFailure};
use crate::error::{AnalyticsError, QueryError};
use crate::model::AnalyticsConversation;
use crate::query::{ConversationQuery, Interval, MAX_PAGE_SIZE};

/// Where correlation queries look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CorrelationWindow {
    /// The `Duration` up to the moment `correlate` is called.
    Last(Duration),
    /// A fixed range.
    Fixed(Interval),
}

impl CorrelationWindow {
    /// The last `days` days.
    pub fn last_days(days: u32) -> Self {
        Self::Last(Duration::from_secs(u64::from(days) * 86_400))
    }

    /// The interval this window covers now.
    pub fn resolve(&self) -> Result<Interval, QueryError> {
        match self {
            Self::Last(span) => Interval::last(*span),
            Self::Fixed(interval) => Ok(*interval),
        }
    }
}

impl Default for CorrelationWindow {
    fn default() -> Self {
        Self::last_days(30)
    }
}

/// How `correlate` spends its requests. Build with [`CorrelateOptions::builder`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CorrelateOptions {
    chunk_size: usize,
    window: CorrelationWindow,
    query_concurrency: usize,
    details_concurrency: usize,
    details_fallback: bool,
}

impl Default for CorrelateOptions {
    fn default() -> Self {
        Self {
            chunk_size: 100,
            window: CorrelationWindow::default(),
            query_concurrency: 2,
            details_concurrency: 4,
            details_fallback: true,
        }
    }
}

impl CorrelateOptions {
    /// Starts from the defaults: chunks of 100, the last 30 days, 2 queries and 4 detail
    /// lookups in flight, detail lookups on.
    pub fn builder() -> CorrelateOptionsBuilder {
        CorrelateOptionsBuilder {
            options: Self::default(),
        }
    }

    /// Ids per query.
    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    /// Where queries look.
    pub fn window(&self) -> &CorrelationWindow {
        &self.window
    }

    /// Chunk queries in flight at once.
    pub fn query_concurrency(&self) -> usize {
        self.query_concurrency
    }

    /// Detail lookups in flight at once.
    pub fn details_concurrency(&self) -> usize {
        self.details_concurrency
    }

    /// Whether ids the window missed are looked up one by one.
    pub fn details_fallback(&self) -> bool {
        self.details_fallback
    }
}

/// Builds [`CorrelateOptions`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until .build()"]
pub struct CorrelateOptionsBuilder {
    options: CorrelateOptions,
}

impl CorrelateOptionsBuilder {
    /// Ids per query (default 100; the platform's limit on predicates per filter is not
    /// documented, so lower it if the platform refuses big filters). Over 100, a chunk's
    /// results take more than one page.
    pub fn chunk_size(mut self, n: usize) -> Self {
        self.options.chunk_size = n;
        self
    }

    /// Where queries look (default the last 30 days).
    pub fn window(mut self, window: CorrelationWindow) -> Self {
        self.options.window = window;
        self
    }

    /// Chunk queries in flight at once (default 2; the client's pacer still applies).
    pub fn query_concurrency(mut self, n: usize) -> Self {
        self.options.query_concurrency = n;
        self
    }

    /// Detail lookups in flight at once (default 4).
    pub fn details_concurrency(mut self, n: usize) -> Self {
        self.options.details_concurrency = n;
        self
    }

    /// Whether ids the window missed are looked up one by one (default on).
    pub fn details_fallback(mut self, on: bool) -> Self {
        self.options.details_fallback = on;
        self
    }

    /// Checks the settings.
    pub fn build(self) -> Result<CorrelateOptions, QueryError> {
        let o = &self.options;
        if o.chunk_size == 0 {
            return Err(QueryError::InvalidSetting {
                setting: "chunk_size",
                reason: "must be at least 1",
            });
        }
        if o.query_concurrency == 0 || o.details_concurrency == 0 {
            return Err(QueryError::InvalidSetting {
                setting: "concurrency",
                reason: "must be at least 1",
            });
        }
        Ok(self.options)
    }
}

/// Distinct ids in input order, blank ones apart.
pub(crate) fn dedupe(ids: &[String]) -> (Vec<String>, Vec<String>) {
    let mut seen = HashSet::with_capacity(ids.len());
    let mut unique = Vec::with_capacity(ids.len());
    let mut blank = Vec::new();
    for id in ids {
        if id.trim().is_empty() {
            if seen.insert(id.clone()) {
                blank.push(id.clone());
            }
        } else if seen.insert(id.clone()) {
            unique.push(id.clone());
        }
    }
    (unique, blank)
}

/// The query for one chunk: the window, the chunk's ids, pages of 100.
pub(crate) fn chunk_query(
    window: Interval,
    chunk: &[String],
) -> Result<ConversationQuery, QueryError> {
    ConversationQuery::builder()
        .with_interval(window)
        .page_size(MAX_PAGE_SIZE)
        .conversation_ids(chunk)
        .build()
}

/// The outcome of one chunk.
struct ChunkOutcome {
    found: Vec<AnalyticsConversation>,
    queries: u32,
    error: Option<AnalyticsError>,
}

/// Runs one chunk's query, page after page until every id of the chunk is found or the
/// results end.
async fn run_chunk<A: Analytics + ?Sized>(
    analytics: &A,
    query: ConversationQuery,
    chunk: &[String],
) -> ChunkOutcome {
    let wanted: HashSet<&str> = chunk.iter().map(String::as_str).collect();
    let mut found: HashMap<String, AnalyticsConversation> = HashMap::new();
    let mut queries = 0;
    let mut query = query;
    let mut seen: u64 = 0;
    loop {
        queries += 1;
        let page = match analytics.query(&query).await {
            Ok(page) => page,
            Err(error) => {
                return ChunkOutcome {
                    found: found.into_values().collect(),
                    queries,
                    error: Some(error),
                };
            }
        };
        let got = page.conversations.len();
        seen += got as u64;
        for c in page.conversations {
            if wanted.contains(c.conversation_id.as_str()) {
                found.insert(c.conversation_id.clone(), c);
            }
        }
        let more = got > 0
            && found.len() < wanted.len()
            && match page.total_hits {
                Some(total) => seen < total,
                None => got >= query.paging().page_size() as usize,
            };
        let next = query.paging().page_number().checked_add(1);
        match next.and_then(|n| query.clone().with_page_number(n).ok()) {
            Some(q) if more => query = q,
            _ => break,
        }
    }
    ChunkOutcome {
        found: found.into_values().collect(),
        queries,
        error: None,
    }
}

/// The correlation algorithm over any [`Analytics`] implementation.
pub(crate) async fn run<A: Analytics + ?Sized>(
    analytics: &A,
    ids: &[String],
    options: &CorrelateOptions,
) -> Result<Correlation, AnalyticsError> {
    let (unique, blank) = dedupe(ids);
    let mut result = Correlation::default();
    if unique.is_empty() {
        result.not_found = blank;
        return Ok(result);
    }
    let window = options.window.resolve()?;
    let mut queries = Vec::new();
    for chunk in unique.chunks(options.chunk_size) {
        queries.push((chunk_query(window, chunk)?, chunk.to_vec()));
    }
    tracing::debug!(
        ids = unique.len(),
        chunks = queries.len(),
        window = %window,
        "correlating conversation ids"
    );

    let mut chunk_runs = stream::iter(queries)
        .map(
            |(query, chunk): (ConversationQuery, Vec<String>)| async move {
                let outcome = run_chunk(analytics, query, &chunk).await;
                (chunk, outcome)
            },
        )
        .buffer_unordered(options.query_concurrency);
    let mut settled: HashSet<String> = HashSet::new();
    while let Some((chunk, outcome)) = chunk_runs.next().await {
        result.queries += outcome.queries;
        for c in outcome.found {
            settled.insert(c.conversation_id.clone());
            result.found.insert(c.conversation_id.clone(), c);
        }
        if let Some(error) = outcome.error {
            let ids: Vec<String> = chunk
                .iter()
                .filter(|id| !settled.contains(*id))
                .cloned()
                .collect();
            tracing::warn!(ids = ids.len(), error = %error, "correlation chunk failed");
            settled.extend(ids.iter().cloned());
            result.failed.push(CorrelationFailure { ids, error });
        }
    }
    drop(chunk_runs);

    let missed: Vec<String> = unique
        .iter()
        .filter(|id| !settled.contains(*id))
        .cloned()
        .collect();
    if options.details_fallback && !missed.is_empty() {
        tracing::debug!(ids = missed.len(), "looking up ids the window missed");
        let mut lookups = stream::iter(missed)
            .map(|id: String| async move {
                let outcome = analytics.details(&id).await;
                (id, outcome)
            })
            .buffer_unordered(options.details_concurrency);
        while let Some((id, outcome)) = lookups.next().await {
            result.detail_lookups += 1;
            match outcome {
                Ok(Some(c)) => {
                    settled.insert(id.clone());
                    result.found.insert(id, c);
                }
                Ok(None) => {}
                Err(error) => {
                    settled.insert(id.clone());
                    result.failed.push(CorrelationFailure {
                        ids: vec![id],
                        error,
                    });
                }
            }
        }
    }
    result.not_found = unique
        .into_iter()
        .filter(|id| !settled.contains(id))
        .chain(blank)
        .collect();
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::{RESULT_CAP, paginate};
    use crate::correlation::IdOutcome;
    use crate::model::ConversationPage;
    use crate::query::{Operator, PredicateType};
    use async_trait::async_trait;
    use chrono::{DateTime, TimeDelta, Utc};
    use futures::stream::BoxStream;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// An in-memory analytics backend that honours the interval, conversation id filters and
    /// paging, and counts requests.
    #[derive(Debug, Default)]
    struct Memory {
        conversations: Vec<(String, DateTime<Utc>)>,
        queries: AtomicU32,
        details: AtomicU32,
        fail_query_containing: Option<String>,
        fail_query_page: Option<u32>,
        fail_details_for: Option<String>,
        predicates_seen: Mutex<Vec<usize>>,
    }

    impl Memory {
        fn with(ids_and_ages_days: &[(&str, i64)]) -> Self {
            let now = Utc::now();
            Self {
                conversations: ids_and_ages_days
                    .iter()
                    .map(|(id, age)| ((*id).to_owned(), now - TimeDelta::days(*age)))
                    .collect(),
                ..Self::default()
            }
        }

        fn many(n: usize, age_days: impl Fn(usize) -> i64) -> Self {
            let now = Utc::now();
            Self {
                conversations: (0..n)
                    .map(|i| (format!("c{i:05}"), now - TimeDelta::days(age_days(i))))
                    .collect(),
                ..Self::default()
            }
        }
    }

    #[async_trait]
    impl Analytics for Memory {
        async fn query(&self, q: &ConversationQuery) -> Result<ConversationPage, AnalyticsError> {
            self.queries.fetch_add(1, Ordering::SeqCst);
            let mut ids: Option<HashSet<String>> = None;
            for f in q.conversation_filters() {
                let mut set = HashSet::new();
                for p in f.predicates() {
                    assert_eq!(p.kind(), PredicateType::Dimension);
                    assert_eq!(p.name(), "conversationId");
                    if let Operator::Matches(v) = p.operator() {
                        set.insert(v.clone());
                    }
                }
                self.predicates_seen.lock().unwrap().push(set.len());
                ids = Some(set);
            }
            if let (Some(bad), Some(ids)) = (&self.fail_query_containing, &ids)
                && ids.contains(bad)
            {
                return Err(AnalyticsError::InvalidQuery(QueryError::EmptyFilter));
            }
            if self.fail_query_page == Some(q.paging().page_number()) {
                return Err(AnalyticsError::MissingJobId);
            }
            let matching: Vec<&(String, DateTime<Utc>)> = self
                .conversations
                .iter()
                .filter(|(id, start)| {
                    q.interval().contains(*start) && ids.as_ref().is_none_or(|s| s.contains(id))
                })
                .collect();
            let size = q.paging().page_size() as usize;
            let skip = (q.paging().page_number() as usize - 1) * size;
            let page: Vec<AnalyticsConversation> = matching
                .iter()
                .skip(skip)
                .take(size)
                .map(|(id, _)| AnalyticsConversation::new(id.clone()))
                .collect();
            Ok(ConversationPage {
                conversations: page,
                total_hits: Some(matching.len() as u64),
                ..ConversationPage::default()
            })
        }

        fn query_all(
            &self,
            query: ConversationQuery,
        ) -> BoxStream<'_, Result<ConversationPage, AnalyticsError>> {
            paginate(self, query, RESULT_CAP)
        }

        async fn details(&self, id: &str) -> Result<Option<AnalyticsConversation>, AnalyticsError> {
            self.details.fetch_add(1, Ordering::SeqCst);
            if self.fail_details_for.as_deref() == Some(id) {
                return Err(AnalyticsError::JobExpired { job_id: id.into() });
            }
            Ok(self
                .conversations
                .iter()
                .find(|(c, _)| c == id)
                .map(|(c, _)| AnalyticsConversation::new(c.clone())))
        }

        async fn correlate(&self, ids: &[String]) -> Result<Correlation, AnalyticsError> {
            run(self, ids, &CorrelateOptions::default()).await
        }
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i:05}")).collect()
    }

    #[tokio::test]
    async fn two_hundred_fifty_ids_take_three_queries() {
        let m = Memory::many(250, |i| (i % 20) as i64);
        // the trait is object safe: code can hold a `dyn Analytics`
        let dynamic: &dyn Analytics = &m;
        let r = dynamic.correlate(&ids(250)).await.unwrap();
        assert_eq!(r.found.len(), 250);
        assert!(r.not_found.is_empty() && r.failed.is_empty());
        assert_eq!(r.queries, 3);
        assert_eq!(r.detail_lookups, 0);
        assert_eq!(r.requests(), 3);
        assert_eq!(m.queries.load(Ordering::SeqCst), 3);
        let mut sizes = m.predicates_seen.lock().unwrap().clone();
        sizes.sort_unstable();
        assert_eq!(sizes, vec![50, 100, 100]);
    }

    #[tokio::test]
    async fn duplicates_and_blanks_cost_nothing() {
        let m = Memory::many(3, |_| 1);
        let mut input = ids(3);
        input.extend(ids(3));
        input.push(String::new());
        input.push("  ".into());
        input.push(String::new());
        let r = m.correlate(&input).await.unwrap();
        assert_eq!(r.found.len(), 3);
        assert_eq!(r.queries, 1);
        assert_eq!(r.not_found, vec![String::new(), "  ".to_owned()]);
        let r = m.correlate(&[String::new()]).await.unwrap();
        assert_eq!(r.requests(), 0);
        assert_eq!(r.not_found.len(), 1);
    }

    #[tokio::test]
    async fn ids_outside_the_window_go_through_details_and_unknown_ids_are_reported() {
        let m = Memory::with(&[("new", 1), ("old", 90), ("older", 400)]);
        let input: Vec<String> = ["new", "old", "ghost", "older"].map(String::from).to_vec();
        let r = m.correlate(&input).await.unwrap();
        assert_eq!(r.queries, 1);
        assert_eq!(r.detail_lookups, 3, "old, older and ghost");
        assert!(r.get("new").is_some() && r.get("old").is_some() && r.get("older").is_some());
        assert_eq!(r.not_found, vec!["ghost".to_owned()]);
    }

    #[tokio::test]
    async fn without_fallback_missed_ids_are_not_found() {
        let m = Memory::with(&[("new", 1), ("old", 90)]);
        let opts = CorrelateOptions::builder()
            .details_fallback(false)
            .build()
            .unwrap();
        let r = run(&m, &["new".into(), "old".into()], &opts).await.unwrap();
        assert_eq!(r.requests(), 1);
        assert_eq!(r.not_found, vec!["old".to_owned()]);
    }

    #[tokio::test]
    async fn chunk_size_and_window_are_settings() {
        let m = Memory::many(250, |i| if i < 200 { 5 } else { 50 });
        let opts = CorrelateOptions::builder()
            .chunk_size(250)
            .window(CorrelationWindow::last_days(60))
            .query_concurrency(1)
            .build()
            .unwrap();
        assert_eq!(opts.chunk_size(), 250);
        let r = run(&m, &ids(250), &opts).await.unwrap();
        assert_eq!(r.found.len(), 250);
        assert_eq!(r.queries, 3, "one chunk of 250 over 3 pages of 100");
        assert_eq!(r.detail_lookups, 0);

        let opts = CorrelateOptions::builder()
            .chunk_size(10)
            .window(CorrelationWindow::last_days(7))
            .build()
            .unwrap();
        let r = run(&m, &ids(250), &opts).await.unwrap();
        assert_eq!(r.queries, 25);
        assert_eq!(r.detail_lookups, 50);
        assert_eq!(r.found.len(), 250);
    }

    #[tokio::test]
    async fn a_failed_chunk_is_reported_not_lost_and_not_retried_one_by_one() {
        let mut m = Memory::many(150, |_| 1);
        m.fail_query_containing = Some("c00120".into());
        m.fail_details_for = Some("zzz".into());
        let mut input = ids(150);
        input.push("zzz".into());
        let r = m.correlate(&input).await.unwrap();
        assert_eq!(r.found.len(), 100);
        assert_eq!(r.failed.len(), 1);
        assert_eq!(r.failed[0].ids.len(), 51, "50 of the second chunk and zzz");
        assert!(r.failed[0].ids.contains(&"zzz".to_owned()));
        assert!(r.not_found.is_empty());
        assert_eq!(r.detail_lookups, 0);
        // every input id is accounted for exactly once
        let total =
            r.found.len() + r.not_found.len() + r.failed.iter().map(|f| f.ids.len()).sum::<usize>();
        assert_eq!(total, 151);

        // per id: the first chunk's ids found, the failed chunk's ids failed with its error
        assert!(r.outcome("c00000").unwrap().is_found());
        assert!(matches!(
            r.outcome("c00120"),
            Some(IdOutcome::Failed(AnalyticsError::InvalidQuery(
                QueryError::EmptyFilter
            )))
        ));
        assert!(matches!(
            r.outcome("zzz").unwrap().error(),
            Some(AnalyticsError::InvalidQuery(_))
        ));
        assert!(r.outcome("never-asked").is_none());
        assert!(!r.is_complete());
        assert_eq!(r.failed_ids().count(), 51);
        let outcomes: Vec<(&str, IdOutcome<'_>)> = r.outcomes().collect();
        assert_eq!(outcomes.len(), 151);
        let distinct: HashSet<&str> = outcomes.iter().map(|(id, _)| *id).collect();
        assert_eq!(distinct.len(), 151, "each id once");
        assert_eq!(outcomes.iter().filter(|(_, o)| o.is_found()).count(), 100);
    }

    #[tokio::test]
    async fn a_page_failing_keeps_the_pages_before_it() {
        // one chunk of 250 ids over 3 pages; page 3 fails
        let mut m = Memory::many(250, |_| 1);
        m.fail_query_page = Some(3);
        let opts = CorrelateOptions::builder().chunk_size(250).build().unwrap();
        let r = run(&m, &ids(250), &opts).await.unwrap();
        assert_eq!(r.queries, 3);
        assert_eq!(r.found.len(), 200, "the two pages answered are kept");
        assert_eq!(r.failed_ids().count(), 50);
        assert!(r.not_found.is_empty());
        for id in ids(250) {
            let outcome = r.outcome(&id).unwrap();
            assert!(outcome.is_found() || outcome.error().is_some(), "{id}");
        }
    }

    #[tokio::test]
    async fn every_id_has_one_outcome() {
        let mut m = Memory::with(&[("new", 1), ("old", 90)]);
        m.fail_details_for = Some("broken".into());
        let input: Vec<String> = ["new", "old", "ghost", "broken", "", "new"]
            .map(String::from)
            .to_vec();
        let r = m.correlate(&input).await.unwrap();
        assert!(
            matches!(r.outcome("new"), Some(IdOutcome::Found(c)) if c.conversation_id == "new")
        );
        assert!(
            r.outcome("old").unwrap().is_found(),
            "found through details"
        );
        assert!(r.outcome("ghost").unwrap().is_not_found());
        assert!(
            r.outcome("").unwrap().is_not_found(),
            "blank: not asked, not found"
        );
        assert!(matches!(
            r.outcome("broken"),
            Some(IdOutcome::Failed(AnalyticsError::JobExpired { .. }))
        ));
        let mut ids: Vec<&str> = r.outcomes().map(|(id, _)| id).collect();
        ids.sort_unstable();
        assert_eq!(ids, vec!["", "broken", "ghost", "new", "old"]);

        // an implementation of its own can build the same result
        let mut own = Correlation::default();
        own.failed.push(CorrelationFailure::new(
            vec!["x".into()],
            AnalyticsError::MissingJobId,
        ));
        assert!(own.outcome("x").unwrap().error().is_some());
        assert!(!own.is_complete());
        assert!(Correlation::default().is_complete());
    }

    #[tokio::test]
    async fn a_failed_lookup_is_reported() {
        let mut m = Memory::with(&[("a", 1)]);
        m.fail_details_for = Some("gone".into());
        let r = m.correlate(&["a".into(), "gone".into()]).await.unwrap();
        assert_eq!(r.found.len(), 1);
        assert_eq!(r.failed.len(), 1);
        assert_eq!(r.failed[0].ids, vec!["gone".to_owned()]);
        assert!(r.not_found.is_empty());
    }

    #[test]
    fn options_are_checked() {
        assert!(CorrelateOptions::builder().chunk_size(0).build().is_err());
        assert!(
            CorrelateOptions::builder()
                .query_concurrency(0)
                .build()
                .is_err()
        );
        assert!(
            CorrelateOptions::builder()
                .details_concurrency(0)
                .build()
                .is_err()
        );
        let o = CorrelateOptions::default();
        assert_eq!(o.chunk_size(), 100);
        assert_eq!(o.window(), &CorrelationWindow::last_days(30));
        assert!(o.details_fallback());
        assert_eq!((o.query_concurrency(), o.details_concurrency()), (2, 4));
    }

    #[test]
    fn chunk_queries_use_full_pages_and_the_window() {
        let w = CorrelationWindow::last_days(30).resolve().unwrap();
        let q = chunk_query(w, &ids(3)).unwrap();
        assert_eq!(q.paging().page_size(), 100);
        assert_eq!(q.interval(), &w);
        assert_eq!(q.conversation_filters()[0].predicates().len(), 3);
        let span = w.end() - w.start();
        assert_eq!(span, TimeDelta::days(30));
    }

    #[tokio::test]
    async fn paging_follows_total_hits_and_refuses_the_cap() {
        let m = Memory::many(250, |_| 1);
        let q = ConversationQuery::builder()
            .with_interval(CorrelationWindow::last_days(30).resolve().unwrap())
            .page_size(100)
            .build()
            .unwrap();
        let pages: Vec<_> = m.query_all(q.clone()).collect().await;
        assert_eq!(pages.len(), 3);
        let sizes: Vec<usize> = pages
            .iter()
            .map(|p| p.as_ref().unwrap().conversations.len())
            .collect();
        assert_eq!(sizes, vec![100, 100, 50]);
        assert_eq!(m.queries.load(Ordering::SeqCst), 3);

        let capped: Vec<_> = paginate(&m, q.clone(), 200).collect().await;
        assert_eq!(capped.len(), 1);
        assert!(matches!(
            capped[0],
            Err(AnalyticsError::TooManyResults {
                total_hits: 250,
                cap: 200
            })
        ));

        let from_two: Vec<_> = m.query_all(q.with_page_number(2).unwrap()).collect().await;
        assert_eq!(from_two.len(), 2);
    }

    #[tokio::test]
    async fn an_empty_result_yields_no_page() {
        let m = Memory::default();
        let q = ConversationQuery::builder()
            .with_interval(CorrelationWindow::last_days(1).resolve().unwrap())
            .build()
            .unwrap();
        assert_eq!(m.query_all(q).count().await, 0);
    }
}
