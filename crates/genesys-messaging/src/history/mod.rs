//! History export: sources, the concurrent in-order export, and its report.

mod dedup;
mod export;
mod order;
mod record;
mod report;
mod source;

pub use export::{
    ArchiveError, DEFAULT_CONCURRENCY, DEFAULT_MAX_PAGES, DEFAULT_PAGE_SIZE, ExportedMessage,
    HistoryExport, HistoryExportBuilder, HistoryStream,
};
pub use order::TimeOrder;
pub use record::HistoryRecord;
pub use report::{DecodeFailure, HistoryReport, MAX_SAMPLES, MediaSummary, ShortPage, TotalChange};
pub use source::{
    ConversationHistory, GuestSession, HistorySource, MAX_BULK_IDS, RawPage,
    WEB_MESSAGING_MESSAGES_PATH,
};
