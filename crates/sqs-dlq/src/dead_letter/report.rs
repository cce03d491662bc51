//! [`RootCauseReport`] and what it needs (its documentation is on the type).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::attributes::ErrorCode;
use super::event::{DeadLetter, ParseError};
use crate::dead_letter::category::{Basis, Category, code_reason};
use crate::dead_letter::correlate::CorrelationOutcome;
use crate::queue::AttributeValue;

/// Version of the report's JSON schema.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// Diagnosis of a dead-letter queue.
///
/// The root cause report a [`crate::dead_letter::Diagnosis`] writes: a JSON document with a stable,
/// versioned schema, a Markdown summary, and the writers that store them.
///
/// Schema (version [`REPORT_SCHEMA_VERSION`]); fields are only ever added, never renamed:
/// ```text
/// { "version": 1, "generated_at": RFC 3339, "queue": "...", "total": n, "acknowledged": bool,
///   "by_category": {"rate_limited": n, ...all six...}, "by_error_code": {...},
///   "by_topic": {...}, "by_target": {...},
///   "groups": [{"category", "error_code", "topic", "target", "count", "message_ids"}],
///   "correlation": {"requested", "found", "not_found", "failed", "without_conversation"},
///   "records": [{"message_id", "category", "category_basis", "replay_safe", "error_code",
///                "error_message", "rule_arn", "target_arn", "retry_attempts",
///                "exhausted_retry_condition", "receive_count", "event_id", "detail_type",
///                "topic", "source", "event_time", "conversation_id", "correlation",
///                "correlated", "parse_error", "attributes", "original_body"}] }
/// ```
/// `original_body` is the SQS body exactly as received, ready for a manual replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RootCauseReport {
    /// Schema version ([`REPORT_SCHEMA_VERSION`]).
    pub version: u32,
    /// When the report was made.
    pub generated_at: chrono::DateTime<chrono::Utc>,
    /// The queue diagnosed.
    pub queue: String,
    /// Number of distinct messages.
    pub total: usize,
    /// Whether the messages are deleted once this report is written.
    pub acknowledged: bool,
    /// Count per category; every category appears, with 0 when absent.
    pub by_category: BTreeMap<String, usize>,
    /// Count per `ERROR_CODE` (`"(none)"` when absent).
    pub by_error_code: BTreeMap<String, usize>,
    /// Count per topic template (`detail-type`; `"(not an event)"` for unparsed bodies).
    pub by_topic: BTreeMap<String, usize>,
    /// Count per `TARGET_ARN` (`"(none)"` when absent).
    pub by_target: BTreeMap<String, usize>,
    /// Messages grouped by category, error code, topic and target; largest group first.
    pub groups: Vec<ReportGroup>,
    /// Correlation counts.
    pub correlation: CorrelationSummary,
    /// One record per message, in receive order.
    pub records: Vec<ReportRecord>,
}

/// Messages sharing category, error code, topic template and target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReportGroup {
    /// The category.
    pub category: Category,
    /// The error code (`"(none)"` when absent).
    pub error_code: String,
    /// The topic template.
    pub topic: String,
    /// The target ARN.
    pub target: String,
    /// Messages in the group.
    pub count: usize,
    /// Their message ids.
    pub message_ids: Vec<String>,
}

/// How correlation went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CorrelationSummary {
    /// Distinct conversation ids looked up.
    pub requested: usize,
    /// Records whose conversation was found.
    pub found: usize,
    /// Records whose conversation the source does not know.
    pub not_found: usize,
    /// Records whose lookup failed.
    pub failed: usize,
    /// Records without a conversation id.
    pub without_conversation: usize,
}

/// How the correlation of one record went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CorrelationStatus {
    /// Found; details in `correlated`.
    Found,
    /// The source does not know the conversation.
    NotFound,
    /// The lookup failed; `correlation_error` says why.
    Failed,
    /// The record has no conversation id.
    NoConversation,
    /// No correlator was configured.
    NotRequested,
}

/// One dead letter in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReportRecord {
    /// SQS message id.
    pub message_id: String,
    /// Failure category.
    pub category: Category,
    /// What decided the category.
    pub category_basis: Basis,
    /// Whether replaying unchanged is safe ([`Category::replay_safe`]).
    pub replay_safe: bool,
    /// `ERROR_CODE` as received.
    pub error_code: Option<String>,
    /// `ERROR_MESSAGE`.
    pub error_message: Option<String>,
    /// `RULE_ARN`.
    pub rule_arn: Option<String>,
    /// `TARGET_ARN`.
    pub target_arn: Option<String>,
    /// `RETRY_ATTEMPTS`.
    pub retry_attempts: Option<u32>,
    /// `EXHAUSTED_RETRY_CONDITION`.
    pub exhausted_retry_condition: Option<String>,
    /// SQS receive count at diagnosis.
    pub receive_count: u32,
    /// EventBridge event id.
    pub event_id: Option<String>,
    /// Topic template (`detail-type`).
    pub detail_type: Option<String>,
    /// Concrete topic (`detail.topicName`).
    pub topic: Option<String>,
    /// Event source.
    pub source: Option<String>,
    /// Event time as written.
    pub event_time: Option<String>,
    /// Conversation id, when one was found.
    pub conversation_id: Option<String>,
    /// How correlation went.
    pub correlation: CorrelationStatus,
    /// The correlator's summary of the conversation.
    pub correlated: Option<Value>,
    /// Why correlation failed.
    pub correlation_error: Option<String>,
    /// What the error code means (see [`crate::dead_letter::code_reason`]), when there is a code
    /// (from the attributes, or from the body of a failure record).
    pub error_code_reason: Option<String>,
    /// Why the body is not an EventBridge event (a failure record is its own kind,
    /// `failure_summary`).
    pub parse_error: Option<ParseError>,
    /// Text message attributes as received (binary ones are left out).
    pub attributes: BTreeMap<String, String>,
    /// The body exactly as received.
    pub original_body: String,
}

const NONE: &str = "(none)";
const NOT_AN_EVENT: &str = "(not an event)";

impl ReportRecord {
    /// Builds a record from a dead letter and its correlation outcome (`None` when no
    /// correlator was configured).
    pub fn new(letter: &DeadLetter, correlation: Option<&CorrelationOutcome>) -> Self {
        let classification = letter.classification();
        let dlq = letter.dlq_attributes();
        let event = letter.event();
        let conversation_id = letter.conversation_id();
        let (status, correlated, correlation_error) = match (&conversation_id, correlation) {
            (None, _) => (CorrelationStatus::NoConversation, None, None),
            (Some(_), None) => (CorrelationStatus::NotRequested, None, None),
            (Some(_), Some(CorrelationOutcome::Found(v))) => {
                (CorrelationStatus::Found, Some(v.clone()), None)
            }
            (Some(_), Some(CorrelationOutcome::NotFound)) => {
                (CorrelationStatus::NotFound, None, None)
            }
            (Some(_), Some(CorrelationOutcome::Failed(e))) => {
                (CorrelationStatus::Failed, None, Some(e.clone()))
            }
        };
        let attributes = letter
            .attributes()
            .iter()
            .filter_map(|(k, v)| match v {
                AttributeValue::Binary(_) => None,
                other => other.as_str().map(|s| (k.clone(), s.to_owned())),
            })
            .collect();
        Self {
            message_id: letter.message_id().to_owned(),
            category: classification.category,
            category_basis: classification.basis,
            replay_safe: classification.category.replay_safe(),
            error_code: dlq.error_code.as_ref().map(|c| c.as_str().to_owned()),
            error_message: dlq.error_message.clone(),
            rule_arn: dlq.rule_arn.clone(),
            target_arn: dlq.target_arn.clone(),
            retry_attempts: dlq.retry_attempts,
            exhausted_retry_condition: dlq
                .exhausted_retry_condition
                .as_ref()
                .map(|c| c.as_str().to_owned()),
            receive_count: letter.receive_count(),
            event_id: event.map(|e| e.id.clone()),
            detail_type: event.map(|e| e.detail_type.clone()),
            topic: letter.topic().map(str::to_owned),
            source: event.map(|e| e.source.clone()),
            event_time: event.map(|e| e.time.clone()),
            conversation_id,
            correlation: status,
            correlated,
            correlation_error,
            error_code_reason: dlq
                .error_code
                .clone()
                .or_else(|| match letter.parse_error() {
                    Some(ParseError::FailureSummary {
                        error_code: Some(code),
                        ..
                    }) => Some(ErrorCode::parse(code)),
                    _ => None,
                })
                .map(|code| code_reason(&code).to_owned()),
            parse_error: letter.parse_error().cloned(),
            attributes,
            original_body: letter.raw_body().to_owned(),
        }
    }

    fn topic_key(&self) -> String {
        self.detail_type
            .clone()
            .or_else(|| self.topic.clone())
            .unwrap_or_else(|| NOT_AN_EVENT.to_owned())
    }
}

impl RootCauseReport {
    /// Builds a report from records: counts, groups and the correlation summary.
    pub fn from_records(
        queue: impl Into<String>,
        acknowledged: bool,
        correlation_requested: usize,
        records: Vec<ReportRecord>,
    ) -> Self {
        let mut by_category: BTreeMap<String, usize> = Category::ALL
            .iter()
            .map(|c| (c.as_str().to_owned(), 0))
            .collect();
        let mut by_error_code = BTreeMap::new();
        let mut by_topic = BTreeMap::new();
        let mut by_target = BTreeMap::new();
        let mut groups: BTreeMap<(Category, String, String, String), Vec<String>> = BTreeMap::new();
        let mut correlation = CorrelationSummary {
            requested: correlation_requested,
            ..CorrelationSummary::default()
        };
        for r in &records {
            let code = r.error_code.clone().unwrap_or_else(|| NONE.to_owned());
            let topic = r.topic_key();
            let target = r.target_arn.clone().unwrap_or_else(|| NONE.to_owned());
            *by_category
                .entry(r.category.as_str().to_owned())
                .or_default() += 1;
            *by_error_code.entry(code.clone()).or_default() += 1;
            *by_topic.entry(topic.clone()).or_default() += 1;
            *by_target.entry(target.clone()).or_default() += 1;
            groups
                .entry((r.category, code, topic, target))
                .or_default()
                .push(r.message_id.clone());
            match r.correlation {
                CorrelationStatus::Found => correlation.found += 1,
                CorrelationStatus::NotFound => correlation.not_found += 1,
                CorrelationStatus::Failed => correlation.failed += 1,
                CorrelationStatus::NoConversation => correlation.without_conversation += 1,
                CorrelationStatus::NotRequested => {}
            }
        }
        let mut groups: Vec<ReportGroup> = groups
            .into_iter()
            .map(
                |((category, error_code, topic, target), message_ids)| ReportGroup {
                    category,
                    error_code,
                    topic,
                    target,
                    count: message_ids.len(),
                    message_ids,
                },
            )
            .collect();
        groups.sort_by_key(|g| std::cmp::Reverse(g.count));
        Self {
            version: REPORT_SCHEMA_VERSION,
            generated_at: chrono::Utc::now(),
            queue: queue.into(),
            total: records.len(),
            acknowledged,
            by_category,
            by_error_code,
            by_topic,
            by_target,
            groups,
            correlation,
            records,
        }
    }

    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    /// A Markdown summary: totals, a table per category with the replay advice, and the groups.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# Dead-letter diagnosis: {}", cell(&self.queue));
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Generated {} · {} message(s) · {}",
            self.generated_at.to_rfc3339(),
            self.total,
            if self.acknowledged {
                "acknowledged (deleted after this report)"
            } else {
                "left on the queue"
            }
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "| Category | Messages | Replay as-is |");
        let _ = writeln!(out, "|---|---:|---|");
        for category in Category::ALL {
            let count = self
                .by_category
                .get(category.as_str())
                .copied()
                .unwrap_or(0);
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                category,
                count,
                category.replay_advice()
            );
        }
        if !self.groups.is_empty() {
            let _ = writeln!(out);
            let _ = writeln!(out, "| Category | Error code | Topic | Target | Messages |");
            let _ = writeln!(out, "|---|---|---|---|---:|");
            for g in &self.groups {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} |",
                    g.category,
                    cell(&g.error_code),
                    cell(&g.topic),
                    cell(&g.target),
                    g.count
                );
            }
        }
        let c = &self.correlation;
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Correlation: {} conversation(s) looked up; records found {}, not found {}, failed {}, without conversation {}.",
            c.requested, c.found, c.not_found, c.failed, c.without_conversation
        );
        out
    }
}

/// A Markdown table cell: pipes escaped, line breaks flattened.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// Where a report goes. The diagnosis deletes acknowledged messages only after
/// [`ReportWriter::write_report`] returned `Ok`, so an implementation must return `Ok` only
/// once the report is durably stored.
#[async_trait]
pub trait ReportWriter: Send {
    /// Stores the report.
    async fn write_report(&mut self, report: &RootCauseReport) -> std::io::Result<()>;
}

/// Writes the JSON report (and optionally the Markdown summary) to files, atomically: to a
/// temporary file in the same directory, synced, then renamed over the destination.
#[derive(Debug, Clone)]
pub struct FileReportWriter {
    json_path: PathBuf,
    markdown_path: Option<PathBuf>,
}

impl FileReportWriter {
    /// Writes the JSON report to `json_path`.
    pub fn new(json_path: impl Into<PathBuf>) -> Self {
        Self {
            json_path: json_path.into(),
            markdown_path: None,
        }
    }

    /// Also writes the Markdown summary to `path`.
    pub fn with_markdown(mut self, path: impl Into<PathBuf>) -> Self {
        self.markdown_path = Some(path.into());
        self
    }
}

async fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let file_name = path.file_name().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "report path has no file name",
        )
    })?;
    let mut tmp_name = file_name.to_os_string();
    tmp_name.push(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
    let tmp = path.with_file_name(tmp_name);
    let result = async {
        let mut file = tokio::fs::File::create(&tmp).await?;
        file.write_all(contents).await?;
        file.sync_all().await?;
        drop(file);
        tokio::fs::rename(&tmp, path).await
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    result
}

#[async_trait]
impl ReportWriter for FileReportWriter {
    async fn write_report(&mut self, report: &RootCauseReport) -> std::io::Result<()> {
        let json = report.to_json().map_err(std::io::Error::other)?;
        write_atomically(&self.json_path, json.as_bytes()).await?;
        if let Some(md) = &self.markdown_path {
            write_atomically(md, report.to_markdown().as_bytes()).await?;
        }
        Ok(())
    }
}

/// Keeps the report in memory (tests, or callers that store it themselves).
#[derive(Debug, Clone, Default)]
pub struct MemoryReportWriter {
    /// The last report written.
    pub report: Option<RootCauseReport>,
}

#[async_trait]
impl ReportWriter for MemoryReportWriter {
    async fn write_report(&mut self, report: &RootCauseReport) -> std::io::Result<()> {
        self.report = Some(report.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::Attributes;

    fn letter(id: &str, code: &str, body: &str) -> DeadLetter {
        let mut attrs = Attributes::new();
        attrs.insert("ERROR_CODE".into(), AttributeValue::String(code.into()));
        attrs.insert(
            "TARGET_ARN".into(),
            AttributeValue::String("arn:t|1".into()),
        );
        attrs.insert(
            "BIN".into(),
            AttributeValue::Binary(bytes::Bytes::from_static(b"\x00")),
        );
        DeadLetter::parse(id, body, attrs)
    }

    #[test]
    fn counts_groups_and_keeps_bodies() {
        let records = vec![
            ReportRecord::new(&letter("m1", "THROTTLING", "not json"), None),
            ReportRecord::new(&letter("m2", "THROTTLING", "not json either"), None),
            ReportRecord::new(&letter("m3", "NO_RESOURCE", "{}"), None),
        ];
        let report = RootCauseReport::from_records("dlq", false, 0, records);
        assert_eq!(report.total, 3);
        assert_eq!(report.by_category["rate_limited"], 2);
        assert_eq!(report.by_category["target_missing"], 1);
        assert_eq!(report.by_category["unknown"], 0);
        assert_eq!(report.by_category.len(), Category::ALL.len());
        assert_eq!(
            report.records[0].error_code_reason.as_deref(),
            Some("the target throttled EventBridge's deliveries")
        );
        assert_eq!(report.groups[0].count, 2);
        assert_eq!(report.groups[0].message_ids, ["m1", "m2"]);
        assert_eq!(report.records[1].original_body, "not json either");
        assert!(!report.records[0].attributes.contains_key("BIN"));
        assert_eq!(report.correlation.without_conversation, 3);

        let json: Value = serde_json::from_str(&report.to_json().unwrap()).unwrap();
        assert_eq!(json["version"], 1);
        assert_eq!(json["records"][0]["category"], "rate_limited");
        assert_eq!(json["records"][0]["replay_safe"], true);
        assert_eq!(json["records"][2]["parse_error"]["kind"], "not_an_event");
        let back: RootCauseReport = serde_json::from_value(json).unwrap();
        assert_eq!(back, report);

        let md = report.to_markdown();
        assert!(md.contains("| rate_limited | 2 |"));
        assert!(md.contains("arn:t\\|1"), "{md}");
    }

    #[tokio::test]
    async fn file_writer_writes_json_and_markdown() {
        let dir = tempfile::tempdir().unwrap();
        let json_path = dir.path().join("report.json");
        let md_path = dir.path().join("report.md");
        let report = RootCauseReport::from_records("dlq", true, 0, vec![]);
        FileReportWriter::new(&json_path)
            .with_markdown(&md_path)
            .write_report(&report)
            .await
            .unwrap();
        let back: RootCauseReport =
            serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
        assert_eq!(back, report);
        assert!(
            std::fs::read_to_string(&md_path)
                .unwrap()
                .contains("acknowledged")
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temp files left"
        );
    }

    #[tokio::test]
    async fn file_writer_fails_on_missing_directory() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = FileReportWriter::new(dir.path().join("missing/report.json"));
        let report = RootCauseReport::from_records("dlq", true, 0, vec![]);
        assert!(w.write_report(&report).await.is_err());
    }
}
