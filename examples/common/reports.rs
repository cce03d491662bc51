//! The `--report json` documents of the recipes: a stable contract. Fields are only ever
//! added, never renamed or removed. Each is printed as one JSON object on stdout.

use genesys_messaging::history::HistoryReport;
use serde::Serialize;
use sqs_dlq::dead_letter::ReplayReport;

/// Media check outcomes of a history export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MediaCounts {
    /// Attachment URLs that answered and are not expired.
    pub valid: u64,
    /// Signed URLs past their expiry (or answering as expired).
    pub expired: u64,
    /// URLs that could not be fetched (errors, timeouts, 4xx/5xx).
    pub unreachable: u64,
    /// URLs refused without a request (scheme, host, private or loopback address).
    pub blocked: u64,
}

/// `history-export --report json`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HistoryExportReport {
    /// Pages fetched.
    pub pages: u32,
    /// Messages exported (after filters and deduplication).
    pub messages: u64,
    /// Messages dropped by `--types`, `--since`, `--until`.
    pub filtered: u64,
    /// Messages dropped as repeats of an id already exported.
    pub duplicates: u64,
    /// Messages whose time broke the expected order.
    pub ordering_violations: u64,
    /// 429 answers the client received (and waited out): the `genesys.rate_limited` metric.
    pub rate_limited: u64,
    /// Retries made (429, 5xx, connection errors): the `genesys.retries` metric.
    pub retries: u64,
    /// The `--max-pages` depth guard stopped the export before the last page.
    pub depth_limit_reached: bool,
    /// Media check outcomes (all 0 without `--verify-media`).
    pub media: MediaCounts,
    /// Wall time of the export in milliseconds.
    pub elapsed_ms: u64,
}

impl From<&HistoryReport> for HistoryExportReport {
    fn from(r: &HistoryReport) -> Self {
        Self {
            pages: r.pages_fetched,
            messages: r.yielded,
            filtered: r.filtered,
            duplicates: r.duplicates,
            ordering_violations: r.ordering_violations,
            rate_limited: crate::telemetry::total("genesys_rate_limited", &[]),
            retries: crate::telemetry::total("genesys_retries", &[]),
            depth_limit_reached: r.depth_limit_reached,
            media: MediaCounts {
                valid: r.media.valid,
                expired: r.media.expired,
                unreachable: r.media.unreachable,
                blocked: r.media.blocked,
            },
            elapsed_ms: millis(r.elapsed),
        }
    }
}

/// `dlq-replay --report json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReplayCounts {
    /// Dead letters the target accepted (and that were deleted from the DLQ).
    pub replayed: usize,
    /// Dead letters the target refused or that could not be delivered (back on the DLQ).
    pub failed: usize,
    /// Dead letters not sent: unsafe category without `--force`, outside `--only`, not an
    /// event, or `--dry-run` (back on the DLQ).
    pub skipped: usize,
}

impl From<&ReplayReport> for ReplayCounts {
    fn from(r: &ReplayReport) -> Self {
        Self {
            replayed: r.replayed.len(),
            failed: r.failed.len(),
            skipped: r.skipped.len(),
        }
    }
}

/// `paced-sender --report json`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SenderReport {
    /// Messages the platform accepted.
    pub sent: u64,
    /// Messages that finally failed (after the client's retries).
    pub failed: u64,
    /// 429 answers the client received.
    pub rate_limited: u64,
    /// Wall time from the first submit to the last outcome, in milliseconds.
    pub elapsed_ms: u64,
    /// `sent` per second of `elapsed_ms`.
    pub achieved_rps: f64,
    /// Every conversation received its messages in submission order.
    pub order_ok: bool,
    /// Requests sent in all (429s and retries included).
    pub requests: u64,
    /// `redis` (a pace shared by the fleet, `--redis-url`) or `local` (this process only).
    pub pacer: &'static str,
    /// Acquires served by the shared pace.
    pub shared_acquires: u64,
    /// Acquires served by the local share while Redis was unreachable.
    pub fallback_acquires: u64,
}

/// `webhook-consumer --report json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ConsumerReport {
    /// Messages received from the queue (redeliveries counted each time).
    pub received: u64,
    /// Events written to `--out` in this run.
    pub written: u64,
    /// Events acknowledged because `--out` already had them (redelivery after a restart).
    pub already_written: u64,
    /// Deliveries acknowledged by the idempotency store without running the handler.
    pub duplicates: u64,
    /// Transient failures put back with a backoff.
    pub retried: u64,
    /// Messages copied to the DLQ (missing fields, poison, retries exhausted).
    pub dead_lettered: u64,
    /// Events without `outboundContactId` and `conversationId`.
    pub missing_fields: u64,
    /// Transient failures injected by `--transient-failure-rate`.
    pub injected_failures: u64,
    /// Messages deleted from the queue.
    pub deleted: u64,
    /// Messages left on the queue at exit (visible, in flight or delayed).
    pub queue_left: u64,
    /// Messages on the DLQ at exit.
    pub dlq_depth: u64,
    /// Wall time of the run in milliseconds.
    pub elapsed_ms: u64,
}

/// Milliseconds of a duration, saturating.
pub fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
