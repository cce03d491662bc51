//! [`HistoryReport`]: what an export did, in numbers.

use std::time::Duration;

use serde::Serialize;

use crate::media::MediaStatus;

/// Most individual problems kept in a report (counts are always exact).
pub const MAX_SAMPLES: usize = 100;

/// A message that could not be decoded and was skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DecodeFailure {
    /// 1-based page.
    pub page: u32,
    /// 0-based position within the page.
    pub position: usize,
    /// The message's `id`, when it had a string one.
    pub id: Option<String>,
    /// What was wrong.
    pub error: String,
}

/// A page that held fewer messages than the paging figures promised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ShortPage {
    /// 1-based page.
    pub page: u32,
    /// Messages expected.
    pub expected: u64,
    /// Messages received.
    pub received: u64,
}

/// The server's `total` or `pageCount` changed during the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TotalChange {
    /// The page whose answer showed the change.
    pub page: u32,
    /// Total before.
    pub from_total: Option<u64>,
    /// Total now.
    pub to_total: Option<u64>,
    /// Page count before.
    pub from_pages: Option<u32>,
    /// Page count now.
    pub to_pages: Option<u32>,
}

/// Media check outcomes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MediaSummary {
    /// URLs checked.
    pub checked: u64,
    /// 2xx.
    pub valid: u64,
    /// Expired (signature or 403/404/410).
    pub expired: u64,
    /// Timeout, connection failure, other status.
    pub unreachable: u64,
    /// Refused (SSRF rules).
    pub blocked: u64,
}

impl MediaSummary {
    pub(crate) fn record(&mut self, status: &MediaStatus) {
        self.checked += 1;
        match status {
            MediaStatus::Valid { .. } => self.valid += 1,
            MediaStatus::Expired(_) => self.expired += 1,
            MediaStatus::Unreachable { .. } => self.unreachable += 1,
            MediaStatus::Blocked(_) => self.blocked += 1,
        }
    }
}

/// The numbers of one export. The client's requests, 429s and retries are metrics
/// (`http.client.request.duration`, `genesys.rate_limited`, `genesys.retries`: see the
/// workspace README), not report fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct HistoryReport {
    /// The conversation exported.
    pub conversation_id: String,
    /// Page count the server announced (the latest figure).
    pub pages_announced: u32,
    /// Pages fetched successfully.
    pub pages_fetched: u32,
    /// Pages that failed after retries (their messages are missing; the stream yielded an error).
    pub pages_failed: u32,
    /// Messages received in page answers.
    pub received: u64,
    /// Messages handed to the caller.
    pub yielded: u64,
    /// Messages dropped by the type, direction or time filters.
    pub filtered: u64,
    /// Duplicate ids dropped.
    pub duplicates: u64,
    /// Messages that did not decode (skipped).
    pub decode_failures: u64,
    /// The first [`MAX_SAMPLES`] decode failures.
    pub decode_failure_samples: Vec<DecodeFailure>,
    /// The order violations were counted against: the one set with
    /// [`expected_order`](super::HistoryExportBuilder::expected_order), else the order the
    /// first page's timestamps showed, else the source's natural order.
    pub order: Option<super::TimeOrder>,
    /// The order the first page's timestamps showed (`None`: too few or no clear way).
    pub detected_order: Option<super::TimeOrder>,
    /// Messages whose time broke the order in [`order`](Self::order) (as received).
    pub ordering_violations: u64,
    /// Out-of-order messages left in the output after the sort window (0 without sorting
    /// means nothing was sorted; equals `ordering_violations` then).
    pub ordering_violations_out: u64,
    /// Media check outcomes.
    pub media: MediaSummary,
    /// Wall time of the export.
    #[serde(with = "duration_ms")]
    pub elapsed: Duration,
    /// Yielded messages per second.
    pub messages_per_second: f64,
    /// The depth guard stopped the export before the last announced page.
    pub depth_limit_reached: bool,
    /// Pages shorter than announced (count).
    pub short_page_count: u64,
    /// The first [`MAX_SAMPLES`] short pages.
    pub short_pages: Vec<ShortPage>,
    /// Changes of `total` / `pageCount` seen during the export.
    pub total_changes: Vec<TotalChange>,
    /// The export ran to its end (false while running, or when stopped by an error).
    pub complete: bool,
}

mod duration_ms {
    use std::time::Duration;

    pub(super) fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}
