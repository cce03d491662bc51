//! [`HistoryExport`]: concurrent, ordered, validated, deduplicated paging.

use std::collections::HashSet;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

use chrono::{DateTime, Utc};
use futures::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::dedup::DedupWindow;
use super::order::{OrderTracker, SortWindow, TimeOrder};
use super::record::HistoryRecord;
use super::report::{DecodeFailure, HistoryReport, MAX_SAMPLES, ShortPage, TotalChange};
use super::source::{HistorySource, RawPage};
use crate::archive::{ArchiveBatch, ArchiveSink, SinkError};
use crate::error::MessagingError;
use crate::media::{MediaCheck, MediaVerifier};
use crate::models::{Direction, MessageType};

/// Default page size.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Default depth guard (pages).
pub const DEFAULT_MAX_PAGES: u32 = 10_000;
/// Default number of pages in flight.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// One exported message with where it came from and its media checks.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ExportedMessage<R> {
    /// 1-based page it arrived on.
    pub page: u32,
    /// 0-based position within that page.
    pub position: usize,
    /// The message.
    pub message: R,
    /// Checks of its attachment URLs (empty without a verifier).
    pub media: Vec<MediaCheck>,
}

#[derive(Debug, Clone)]
struct Settings {
    page_size: u32,
    max_pages: u32,
    concurrency: usize,
    types: Option<HashSet<MessageType>>,
    directions: Option<HashSet<Direction>>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    /// Set by the caller: violations are counted against it, whatever the first page shows.
    order: Option<TimeOrder>,
    /// The source's natural order, used when the first page shows none.
    natural_order: TimeOrder,
    sort_window: usize,
    dedup_window: usize,
    verifier: Option<MediaVerifier>,
    channel_capacity: usize,
}

/// Builder for [`HistoryExport`]; see [`HistoryExport::builder`].
pub struct HistoryExportBuilder<S> {
    source: S,
    options: Options,
}

/// The builder's settings, apart from its source (so a builder can change source).
struct Options {
    page_size: u32,
    max_page_size: Option<u32>,
    max_pages: u32,
    concurrency: usize,
    types: Option<HashSet<MessageType>>,
    directions: Option<HashSet<Direction>>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    order: Option<TimeOrder>,
    sort_window: usize,
    dedup_window: Option<usize>,
    verifier: Option<MediaVerifier>,
}

impl<S: HistorySource> fmt::Debug for HistoryExportBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HistoryExportBuilder")
            .field("conversation_id", &self.source.conversation_id())
            .field("page_size", &self.options.page_size)
            .field("max_pages", &self.options.max_pages)
            .field("concurrency", &self.options.concurrency)
            .finish_non_exhaustive()
    }
}

impl HistoryExportBuilder<()> {
    /// Export settings chosen before the source is known (a service's configuration, a
    /// command line's arguments), with the same defaults as [`HistoryExport::builder`]. Give
    /// the source with [`source`](Self::source); only a builder with a source builds.
    ///
    /// ```
    /// use genesys_messaging::history::HistoryExportBuilder;
    /// let settings = HistoryExportBuilder::settings().page_size(50).concurrency(8);
    /// # let _ = settings;
    /// ```
    pub fn settings() -> Self {
        HistoryExportBuilder {
            source: (),
            options: Options {
                page_size: DEFAULT_PAGE_SIZE,
                max_page_size: None,
                max_pages: DEFAULT_MAX_PAGES,
                concurrency: DEFAULT_CONCURRENCY,
                types: None,
                directions: None,
                since: None,
                until: None,
                order: None,
                sort_window: 0,
                dedup_window: None,
                verifier: None,
            },
        }
    }
}

impl fmt::Debug for HistoryExportBuilder<()> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HistoryExportBuilder")
            .field("page_size", &self.options.page_size)
            .field("max_pages", &self.options.max_pages)
            .field("concurrency", &self.options.concurrency)
            .finish_non_exhaustive()
    }
}

impl<S> HistoryExportBuilder<S> {
    /// These settings over `source`, in place of the source given before (if any).
    pub fn source<T: HistorySource>(self, source: T) -> HistoryExportBuilder<T> {
        HistoryExportBuilder {
            source,
            options: self.options,
        }
    }

    /// Messages per page (default 100; must be within `1..=max_page_size`).
    pub fn page_size(mut self, size: u32) -> Self {
        self.options.page_size = size;
        self
    }

    /// The largest page size allowed (default: the source's maximum).
    pub fn max_page_size(mut self, max: u32) -> Self {
        self.options.max_page_size = Some(max);
        self
    }

    /// Depth guard: fetch at most this many pages (default 10,000). Reaching it is reported
    /// (`depth_limit_reached`) and logged, never silent.
    pub fn max_pages(mut self, max: u32) -> Self {
        self.options.max_pages = max;
        self
    }

    /// Pages in flight at once (default 4, at least 1). All requests still go through the
    /// client's shared pacer.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.options.concurrency = n;
        self
    }

    /// Keep only these message types.
    pub fn message_types<I: IntoIterator<Item = MessageType>>(mut self, types: I) -> Self {
        self.options.types = Some(types.into_iter().collect());
        self
    }

    /// Keep only these directions.
    pub fn directions<I: IntoIterator<Item = Direction>>(mut self, directions: I) -> Self {
        self.options.directions = Some(directions.into_iter().collect());
        self
    }

    /// Keep only messages at or after this time (`channel.time`). Messages without a time are
    /// filtered out when a window is set.
    pub fn since(mut self, t: DateTime<Utc>) -> Self {
        self.options.since = Some(t);
        self
    }

    /// Keep only messages before this time.
    pub fn until(mut self, t: DateTime<Utc>) -> Self {
        self.options.until = Some(t);
        self
    }

    /// The order messages are expected in. By default it is detected from the first page's
    /// timestamps (see [`TimeOrder::detect`]), falling back to the source's natural order when
    /// the page shows none; a server that lists the other way round then reports no false
    /// violations. Set it to count violations against a known order instead.
    pub fn expected_order(mut self, order: TimeOrder) -> Self {
        self.options.order = Some(order);
        self
    }

    /// Re-order the output within a window of this many messages (0 = off, the default).
    /// Memory stays bounded by the window; a message displaced further than the window is
    /// still counted in `ordering_violations_out`.
    pub fn sort_window(mut self, n: usize) -> Self {
        self.options.sort_window = n;
        self
    }

    /// How many recent ids duplicate detection remembers (default
    /// `page_size × (concurrency + 2)`, at least 1,024). See the `dedup` notes in the crate docs.
    pub fn dedup_window(mut self, n: usize) -> Self {
        self.options.dedup_window = Some(n);
        self
    }

    /// Check attachment URLs with this verifier (its own concurrency bound applies).
    pub fn media_verifier(mut self, verifier: MediaVerifier) -> Self {
        self.options.verifier = Some(verifier);
        self
    }
}

impl<S: HistorySource> HistoryExportBuilder<S> {
    /// Validates the settings (no request is made).
    pub fn build(self) -> Result<HistoryExport<S>, MessagingError> {
        let max = self
            .options
            .max_page_size
            .unwrap_or_else(|| self.source.max_page_size());
        if max == 0 {
            return Err(MessagingError::InvalidConfig {
                setting: "max_page_size",
                reason: "must be at least 1".into(),
            });
        }
        if !(1..=max).contains(&self.options.page_size) {
            return Err(MessagingError::PageSizeOutOfRange {
                requested: self.options.page_size,
                max,
            });
        }
        if self.options.max_pages == 0 {
            return Err(MessagingError::InvalidConfig {
                setting: "max_pages",
                reason: "must be at least 1".into(),
            });
        }
        if self.options.concurrency == 0 {
            return Err(MessagingError::InvalidConfig {
                setting: "concurrency",
                reason: "must be at least 1".into(),
            });
        }
        if let (Some(since), Some(until)) = (self.options.since, self.options.until)
            && since >= until
        {
            return Err(MessagingError::InvalidConfig {
                setting: "since/until",
                reason: format!("{since} is not before {until}"),
            });
        }
        let page = self.options.page_size as usize;
        let natural_order = self.source.natural_order();
        let settings = Settings {
            page_size: self.options.page_size,
            max_pages: self.options.max_pages,
            concurrency: self.options.concurrency,
            types: self.options.types,
            directions: self.options.directions,
            since: self.options.since,
            until: self.options.until,
            order: self.options.order,
            natural_order,
            sort_window: self.options.sort_window,
            dedup_window: self
                .options
                .dedup_window
                .unwrap_or_else(|| (page * (self.options.concurrency + 2)).max(1024)),
            verifier: self.options.verifier,
            channel_capacity: page.clamp(16, 1024),
        };
        Ok(HistoryExport {
            source: Arc::new(self.source),
            settings,
        })
    }
}

/// A configured export of one conversation's history.
///
/// Page 1 gives `pageCount`; pages 2..n are then fetched concurrently (up to the concurrency,
/// every request under the client's shared pacer and retry policy) and handed on **in page
/// order**. Each message is decoded on its own (a bad one is reported and skipped), checked for
/// duplicates and order, filtered, optionally media-checked, and yielded.
pub struct HistoryExport<S> {
    source: Arc<S>,
    settings: Settings,
}

impl<S: HistorySource> fmt::Debug for HistoryExport<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HistoryExport")
            .field("conversation_id", &self.source.conversation_id())
            .field("settings", &self.settings)
            .finish()
    }
}

/// The outcome of [`HistoryExport::archive`] when it stops early.
#[derive(Debug)]
#[non_exhaustive]
pub enum ArchiveError<M> {
    /// A batch could not be stored (after the sink's retries). The batch comes back so it can
    /// be stored elsewhere or retried later.
    Sink {
        /// The batch that failed.
        batch: Box<ArchiveBatch<M>>,
        /// Why.
        source: SinkError,
        /// The export's numbers up to the failure.
        report: Box<HistoryReport>,
    },
    /// The export itself failed (a page could not be fetched). Every message before the failed
    /// page was written to the sink.
    History {
        /// Why.
        source: MessagingError,
        /// The export's numbers up to the failure.
        report: Box<HistoryReport>,
    },
    /// Finishing the sink (flush, fsync) failed after every batch was written.
    Finish {
        /// Why.
        source: SinkError,
        /// The export's numbers.
        report: Box<HistoryReport>,
    },
}

impl<M> fmt::Display for ArchiveError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sink { batch, source, .. } => write!(
                f,
                "archive batch {} ({} messages) failed: {source}",
                batch.batch, batch.message_count
            ),
            Self::History { source, .. } => write!(f, "history export failed: {source}"),
            Self::Finish { source, .. } => write!(f, "archive could not be finished: {source}"),
        }
    }
}

impl<M: fmt::Debug> std::error::Error for ArchiveError<M> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Sink { source, .. } | Self::Finish { source, .. } => Some(source),
            Self::History { source, .. } => Some(source),
        }
    }
}

impl<M> ArchiveError<M> {
    /// The export's numbers up to the failure.
    pub fn report(&self) -> &HistoryReport {
        match self {
            Self::Sink { report, .. }
            | Self::History { report, .. }
            | Self::Finish { report, .. } => report,
        }
    }
}

impl<S: HistorySource> HistoryExport<S> {
    /// A builder over `source` with the defaults: page size 100, depth guard 10,000 pages,
    /// concurrency 4, no filters, the source's natural order, no sorting, no media checks.
    pub fn builder(source: S) -> HistoryExportBuilder<S> {
        HistoryExportBuilder::settings().source(source)
    }

    /// Starts the export; messages arrive in page order. Must be called within a tokio runtime
    /// (the paging runs on a task, which stops when the stream is dropped).
    pub fn stream(self) -> HistoryStream<S::Record> {
        let (tx, rx) = mpsc::channel(self.settings.channel_capacity);
        let shared = Arc::new(Mutex::new(ReportState::new(self.source.conversation_id())));
        let driver = Driver {
            source: self.source,
            settings: self.settings,
            tx,
            shared: Arc::clone(&shared),
        };
        let task = tokio::spawn(driver.run());
        HistoryStream {
            rx,
            shared,
            task: Some(task),
        }
    }

    /// Runs the export into `sink` in batches of `batch_size` (at least 1) and returns the
    /// report. Stops at the first failure: a failed batch comes back in the error; a failed
    /// page stops the export after everything before it was written.
    pub async fn archive<K>(
        self,
        sink: &K,
        batch_size: usize,
    ) -> Result<HistoryReport, ArchiveError<S::Record>>
    where
        K: ArchiveSink<S::Record> + ?Sized,
    {
        let conversation_id = self.source.conversation_id().to_owned();
        let batch_size = batch_size.max(1);
        let mut stream = self.stream();
        let mut pending: Vec<S::Record> = Vec::with_capacity(batch_size);
        let mut batch_no = 0u64;
        let mut position = 0u64;
        let mut failure = None;
        loop {
            let next = stream.next().await;
            let flush = match &next {
                Some(Ok(_)) => false,
                Some(Err(_)) | None => true,
            };
            match next {
                Some(Ok(item)) => pending.push(item.message),
                Some(Err(e)) => failure = Some(e),
                None => {}
            }
            if (flush || pending.len() >= batch_size) && !pending.is_empty() {
                let messages = std::mem::replace(&mut pending, Vec::with_capacity(batch_size));
                let count = messages.len() as u64;
                let batch =
                    ArchiveBatch::new(conversation_id.clone(), batch_no, position, messages);
                if let Err(source) = sink.write_batch(&batch).await {
                    tracing::error!(batch = batch_no, messages = count, error = %source, "archive batch failed; export stopped");
                    return Err(ArchiveError::Sink {
                        batch: Box::new(batch),
                        source,
                        report: Box::new(incomplete(stream.report())),
                    });
                }
                batch_no += 1;
                position += count;
            }
            if let Some(source) = failure.take() {
                return Err(ArchiveError::History {
                    source,
                    report: Box::new(incomplete(stream.report())),
                });
            }
            if flush {
                break;
            }
        }
        let report = stream.finished_report().await;
        if let Err(source) = sink.finish().await {
            return Err(ArchiveError::Finish {
                source,
                report: Box::new(report),
            });
        }
        Ok(report)
    }
}

/// The running export: a [`Stream`] of messages in page order, plus its live report.
pub struct HistoryStream<R> {
    rx: mpsc::Receiver<Result<ExportedMessage<R>, MessagingError>>,
    shared: Arc<Mutex<ReportState>>,
    task: Option<JoinHandle<()>>,
}

impl<R> fmt::Debug for HistoryStream<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HistoryStream").finish_non_exhaustive()
    }
}

impl<R> HistoryStream<R> {
    /// The numbers so far (final once the stream has ended).
    pub fn report(&self) -> HistoryReport {
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .snapshot()
    }

    /// Waits for the export to end (discarding messages not yet read) and returns the final
    /// report. Call it after the stream returned `None` to get the final figures.
    pub async fn finished_report(mut self) -> HistoryReport {
        while self.rx.recv().await.is_some() {}
        // The driver closes the channel as it ends; the task has then finished its report.
        if let Some(task) = self.task.take() {
            // The task only ends by finishing or being aborted; either way the report is as final
            // as it will get.
            let _ = task.await;
        }
        self.report()
    }
}

impl<R> Stream for HistoryStream<R> {
    type Item = Result<ExportedMessage<R>, MessagingError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

impl<R> Drop for HistoryStream<R> {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Mutable export numbers, shared between the driver and the stream handle.
#[derive(Debug)]
struct ReportState {
    report: HistoryReport,
    started: Instant,
    finished: bool,
}

impl ReportState {
    fn new(conversation_id: &str) -> Self {
        let report = HistoryReport {
            conversation_id: conversation_id.to_owned(),
            ..HistoryReport::default()
        };
        Self {
            report,
            started: Instant::now(),
            finished: false,
        }
    }

    fn snapshot(&self) -> HistoryReport {
        let mut r = self.report.clone();
        if !self.finished {
            r.elapsed = self.started.elapsed();
        }
        let secs = r.elapsed.as_secs_f64();
        r.messages_per_second = if secs > 0.0 {
            r.yielded as f64 / secs
        } else {
            0.0
        };
        r
    }
}

struct Driver<S: HistorySource> {
    source: Arc<S>,
    settings: Settings,
    tx: mpsc::Sender<Result<ExportedMessage<S::Record>, MessagingError>>,
    shared: Arc<Mutex<ReportState>>,
}

/// Per-message state that lives for the whole export (all bounded).
struct Pipeline<R> {
    dedup: DedupWindow,
    order_in: OrderTracker,
    order_out: OrderTracker,
    sorter: Option<SortWindow<ExportedMessage<R>>>,
}

/// The paging figures as last announced.
#[derive(Debug, Clone, Copy)]
struct Figures {
    page_count: Option<u32>,
    total: Option<u64>,
}

/// Ends the driver early (the consumer went away).
struct Gone;

impl<S: HistorySource> Driver<S> {
    fn with_report<T>(&self, f: impl FnOnce(&mut HistoryReport) -> T) -> T {
        f(&mut self
            .shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .report)
    }

    async fn run(self) {
        let complete = self.export().await.is_ok();
        let mut state = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        state.report.elapsed = state.started.elapsed();
        state.report.complete = complete;
        state.finished = true;
        let r = state.snapshot();
        drop(state);
        tracing::info!(
            conversation_id = %r.conversation_id,
            pages = r.pages_fetched,
            pages_failed = r.pages_failed,
            yielded = r.yielded,
            filtered = r.filtered,
            duplicates = r.duplicates,
            decode_failures = r.decode_failures,
            ordering_violations = r.ordering_violations,
            elapsed_ms = u64::try_from(r.elapsed.as_millis()).unwrap_or(u64::MAX),
            depth_limit_reached = r.depth_limit_reached,
            "history export finished"
        );
    }

    async fn export(&self) -> Result<(), Gone> {
        let s = &self.settings;
        let first = match fetch_decoded(&*self.source, 1, s.page_size).await {
            Ok(page) => page,
            Err(e) => {
                self.with_report(|r| r.pages_failed += 1);
                self.send(Err(e)).await?;
                return Err(Gone);
            }
        };
        // The order is taken from the first page's timestamps unless the caller set one.
        let detected = TimeOrder::detect(
            first
                .messages
                .iter()
                .map(|m| m.as_ref().ok().and_then(HistoryRecord::time)),
        );
        let order = s.order.or(detected).unwrap_or(s.natural_order);
        if s.order.is_none() && detected.is_some_and(|d| d != s.natural_order) {
            tracing::info!(detected = ?detected, natural = ?s.natural_order, "history lists messages the other way round: counting order against the detected order");
        }
        self.with_report(|r| {
            r.order = Some(order);
            r.detected_order = detected;
        });
        let mut pipeline = Pipeline {
            dedup: DedupWindow::new(s.dedup_window),
            order_in: OrderTracker::new(order),
            order_out: OrderTracker::new(order),
            sorter: (s.sort_window > 0).then(|| SortWindow::new(order, s.sort_window)),
        };
        let mut figures = Figures {
            page_count: first.page_count,
            total: first.total,
        };
        let mut known = announced_pages(figures, s.page_size, first.messages.len());
        self.with_report(|r| r.pages_announced = known.unwrap_or(1));
        self.process_page(1, first, &mut figures, &mut known, &mut pipeline)
            .await?;

        let mut next = 2u32;
        let mut all_ok = true;
        while let Some(wanted) = known {
            let last = wanted.min(s.max_pages);
            if next > last {
                if wanted > s.max_pages {
                    self.with_report(|r| r.depth_limit_reached = true);
                    tracing::warn!(
                        max_pages = s.max_pages,
                        page_count = wanted,
                        "depth limit reached: export stopped before the last page"
                    );
                }
                break;
            }
            let source = Arc::clone(&self.source);
            let size = s.page_size;
            let mut pages = stream::iter(next..=last)
                .map(move |n| {
                    let source = Arc::clone(&source);
                    // Fetch and decode on their own task: decoding runs in parallel with the other
                    // pages and off the ordered hand-on path.
                    let task = tokio::spawn(async move { fetch_decoded(&*source, n, size).await });
                    async move { (n, task.await) }
                })
                .buffered(s.concurrency);
            while let Some((n, joined)) = pages.next().await {
                let result = joined.unwrap_or_else(|e| {
                    Err(MessagingError::TaskFailed {
                        page: n,
                        detail: e.to_string(),
                    })
                });
                match result {
                    Ok(page) => {
                        self.process_page(n, page, &mut figures, &mut known, &mut pipeline)
                            .await?
                    }
                    Err(e) => {
                        all_ok = false;
                        tracing::warn!(page = n, error = %e, "history page failed");
                        self.with_report(|r| r.pages_failed += 1);
                        self.send(Err(e)).await?;
                    }
                }
            }
            next = last + 1;
        }
        if let Some(sorter) = pipeline.sorter.as_mut() {
            while let Some(item) = sorter.pop() {
                pipeline.order_out.observe(item.message.time());
                self.emit(item).await?;
            }
        }
        self.with_report(|r| r.ordering_violations_out = pipeline.order_out.violations);
        if all_ok { Ok(()) } else { Err(Gone) }
    }

    async fn process_page(
        &self,
        n: u32,
        page: DecodedPage<S::Record>,
        figures: &mut Figures,
        known: &mut Option<u32>,
        pipeline: &mut Pipeline<S::Record>,
    ) -> Result<(), Gone> {
        let s = &self.settings;
        let received = page.messages.len();
        // A total or page count that moved since the last answer.
        if (page.total.is_some() && page.total != figures.total)
            || (page.page_count.is_some() && page.page_count != figures.page_count)
        {
            let change = TotalChange {
                page: n,
                from_total: figures.total,
                to_total: page.total,
                from_pages: figures.page_count,
                to_pages: page.page_count,
            };
            tracing::warn!(page = n, from_total = ?figures.total, to_total = ?page.total, "history total changed during the export");
            self.with_report(|r| r.total_changes.push(change));
            figures.total = page.total.or(figures.total);
            figures.page_count = page.page_count.or(figures.page_count);
            if let Some(count) = figures.page_count {
                *known = Some(known.map_or(count, |k| k.max(count)));
            }
        }
        if figures.page_count.is_none() && figures.total.is_none() {
            // No figures at all: keep going while pages come back full.
            *known = (received as u64 >= u64::from(s.page_size))
                .then_some(n + 1)
                .or(Some(n));
        }
        let expected = expected_len(n, s.page_size, *figures);
        if let Some(expected) = expected
            && (received as u64) < expected
        {
            tracing::warn!(
                page = n,
                expected,
                received,
                "history page shorter than announced"
            );
            self.with_report(|r| {
                r.short_page_count += 1;
                if r.short_pages.len() < MAX_SAMPLES {
                    r.short_pages.push(ShortPage {
                        page: n,
                        expected,
                        received: received as u64,
                    });
                }
            });
        }

        let mut kept: Vec<ExportedMessage<S::Record>> = Vec::with_capacity(received);
        let (mut filtered, mut duplicates) = (0u64, 0u64);
        let mut failures: Vec<DecodeFailure> = Vec::new();
        for (position, decoded) in page.messages.into_iter().enumerate() {
            let message = match decoded {
                Ok(m) => m,
                Err(failure) => {
                    tracing::warn!(page = n, position, id = failure.id.as_deref(), error = %failure.error, "message skipped: it does not decode");
                    failures.push(failure);
                    continue;
                }
            };
            if !pipeline.dedup.insert(message.id()) {
                duplicates += 1;
                continue;
            }
            pipeline.order_in.observe(message.time());
            if !self.passes_filters(&message) {
                filtered += 1;
                continue;
            }
            kept.push(ExportedMessage {
                page: n,
                position,
                message,
                media: Vec::new(),
            });
        }
        if let Some(verifier) = &s.verifier {
            self.check_media(verifier, &mut kept).await;
        }
        let violations = pipeline.order_in.violations;
        self.with_report(|r| {
            r.pages_fetched += 1;
            r.pages_announced = r.pages_announced.max(known.unwrap_or(n));
            r.received += received as u64;
            r.filtered += filtered;
            r.duplicates += duplicates;
            r.decode_failures += failures.len() as u64;
            let room = MAX_SAMPLES.saturating_sub(r.decode_failure_samples.len());
            r.decode_failure_samples
                .extend(failures.into_iter().take(room));
            r.ordering_violations = violations;
        });
        tracing::debug!(
            page = n,
            received,
            kept = kept.len(),
            duplicates,
            filtered,
            "history page processed"
        );
        for item in kept {
            let ready = match pipeline.sorter.as_mut() {
                Some(sorter) => sorter.push(item.message.time(), item),
                None => Some(item),
            };
            if let Some(item) = ready {
                pipeline.order_out.observe(item.message.time());
                self.emit(item).await?;
            }
        }
        Ok(())
    }

    fn passes_filters(&self, m: &S::Record) -> bool {
        let s = &self.settings;
        if let Some(types) = &s.types
            && !m.message_type().is_some_and(|t| types.contains(&t))
        {
            return false;
        }
        if let Some(directions) = &s.directions
            && !m.direction().is_some_and(|d| directions.contains(&d))
        {
            return false;
        }
        if s.since.is_some() || s.until.is_some() {
            let Some(t) = m.time() else { return false };
            if s.since.is_some_and(|since| t < since) || s.until.is_some_and(|until| t >= until) {
                return false;
            }
        }
        true
    }

    async fn check_media(&self, verifier: &MediaVerifier, kept: &mut [ExportedMessage<S::Record>]) {
        let mut owners = Vec::new();
        let mut urls = Vec::new();
        for (i, item) in kept.iter().enumerate() {
            for url in item.message.attachment_urls() {
                owners.push(i);
                urls.push(url);
            }
        }
        if urls.is_empty() {
            return;
        }
        let checks: Vec<MediaCheck> = verifier.verify_all(urls).collect().await;
        self.with_report(|r| checks.iter().for_each(|c| r.media.record(&c.status)));
        for (owner, check) in owners.into_iter().zip(checks) {
            if let Some(item) = kept.get_mut(owner) {
                item.media.push(check);
            }
        }
    }

    async fn emit(&self, item: ExportedMessage<S::Record>) -> Result<(), Gone> {
        self.send(Ok(item)).await?;
        self.with_report(|r| r.yielded += 1);
        Ok(())
    }

    async fn send(
        &self,
        item: Result<ExportedMessage<S::Record>, MessagingError>,
    ) -> Result<(), Gone> {
        self.tx.send(item).await.map_err(|_| Gone)
    }
}

/// A page whose messages were decoded one by one.
struct DecodedPage<R> {
    messages: Vec<Result<R, DecodeFailure>>,
    page_count: Option<u32>,
    total: Option<u64>,
}

/// Fetches page `n` and decodes each message on its own: one bad message is a
/// [`DecodeFailure`] at its position, never a failed page.
async fn fetch_decoded<S: HistorySource>(
    source: &S,
    n: u32,
    size: u32,
) -> Result<DecodedPage<S::Record>, MessagingError> {
    let RawPage {
        entities,
        page_count,
        total,
    } = source.fetch_page(n, size).await?;
    let messages = entities
        .into_iter()
        .enumerate()
        .map(|(position, value)| {
            S::Record::deserialize(&value).map_err(|e| DecodeFailure {
                page: n,
                position,
                id: value.get("id").and_then(|v| v.as_str()).map(str::to_owned),
                error: e.to_string(),
            })
        })
        .collect();
    Ok(DecodedPage {
        messages,
        page_count,
        total,
    })
}

/// The archive stopped early, whatever the stream had done.
fn incomplete(mut report: HistoryReport) -> HistoryReport {
    report.complete = false;
    report
}

/// Pages to fetch according to the first answer.
fn announced_pages(f: Figures, page_size: u32, first_len: usize) -> Option<u32> {
    if let Some(count) = f.page_count {
        return Some(count.max(1));
    }
    if let Some(total) = f.total {
        return Some(
            u32::try_from(total.div_ceil(u64::from(page_size)))
                .unwrap_or(u32::MAX)
                .max(1),
        );
    }
    // Neither figure: page 2 exists only if page 1 was full.
    Some(if first_len as u64 >= u64::from(page_size) {
        2
    } else {
        1
    })
}

/// How many messages page `n` should hold under the figures, when they say.
fn expected_len(n: u32, page_size: u32, f: Figures) -> Option<u64> {
    let size = u64::from(page_size);
    let before = u64::from(n - 1) * size;
    match (f.total, f.page_count) {
        (Some(total), _) => Some(total.saturating_sub(before).min(size)),
        (None, Some(count)) if n < count => Some(size),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_lengths() {
        let f = Figures {
            page_count: Some(3),
            total: Some(250),
        };
        assert_eq!(expected_len(1, 100, f), Some(100));
        assert_eq!(expected_len(3, 100, f), Some(50));
        assert_eq!(expected_len(4, 100, f), Some(0));
        let no_total = Figures {
            page_count: Some(3),
            total: None,
        };
        assert_eq!(expected_len(2, 100, no_total), Some(100));
        assert_eq!(expected_len(3, 100, no_total), None);
        assert_eq!(
            announced_pages(
                Figures {
                    page_count: None,
                    total: Some(201)
                },
                100,
                100
            ),
            Some(3)
        );
        assert_eq!(
            announced_pages(
                Figures {
                    page_count: Some(0),
                    total: Some(0)
                },
                100,
                0
            ),
            Some(1)
        );
        assert_eq!(
            announced_pages(
                Figures {
                    page_count: None,
                    total: None
                },
                100,
                100
            ),
            Some(2)
        );
    }
}
