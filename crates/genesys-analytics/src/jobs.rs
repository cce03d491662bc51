//! The async jobs API, for intervals too big for paging:
//! `POST …/details/jobs` → [`JobId`]; `GET …/details/jobs/{id}` → [`JobStatus`];
//! `GET …/details/jobs/{id}/results?cursor=` → [`JobResultsPage`].

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::AnalyticsError;
use crate::model::{AnalyticsConversation, null_as_default};
use crate::tolerant::tolerant_enum;

tolerant_enum! {
    /// Where an async job is.
    pub enum JobState {
        /// Waiting to start.
        Queued => "QUEUED",
        /// Running.
        Pending => "PENDING",
        /// Failed; see the error message.
        Failed => "FAILED",
        /// Cancelled.
        Cancelled => "CANCELLED",
        /// Done: results can be read.
        Fulfilled => "FULFILLED",
        /// Results are gone.
        Expired => "EXPIRED",
    }
}

impl JobState {
    /// Whether the job can no longer change state.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Failed | Self::Cancelled | Self::Fulfilled | Self::Expired
        )
    }
}

/// The id of an async job.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(String);

impl JobId {
    /// Wraps an id got elsewhere (e.g. stored from an earlier run).
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The answer to a job submission.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobSubmission {
    pub(crate) job_id: String,
}

/// The state of a job, as `GET …/details/jobs/{id}` tells it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct JobStatus {
    /// Where the job is.
    pub state: JobState,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// When it was submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submission_date: Option<DateTime<Utc>>,
    /// When its results stop being available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_date: Option<DateTime<Utc>>,
    /// Fields this crate does not model, kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl JobStatus {
    /// A status in the given state (for fakes and tests of your own code).
    pub fn new(state: JobState) -> Self {
        Self {
            state,
            error_message: None,
            submission_date: None,
            expiration_date: None,
            extra: Map::new(),
        }
    }
}

/// Whether to keep polling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Results are ready.
    Fulfilled,
    /// Not there yet (queued, pending, or a state this crate does not know).
    Waiting,
}

/// The job state machine: FULFILLED ends the wait, FAILED / CANCELLED / EXPIRED end it with
/// their typed error, anything else (QUEUED, PENDING, unknown) keeps it going.
pub(crate) fn progress(job_id: &JobId, status: &JobStatus) -> Result<Progress, AnalyticsError> {
    let job_id = || job_id.as_str().to_owned();
    match &status.state {
        JobState::Fulfilled => Ok(Progress::Fulfilled),
        JobState::Failed => Err(AnalyticsError::JobFailed {
            job_id: job_id(),
            error_message: status.error_message.clone(),
        }),
        JobState::Cancelled => Err(AnalyticsError::JobCancelled { job_id: job_id() }),
        JobState::Expired => Err(AnalyticsError::JobExpired { job_id: job_id() }),
        JobState::Queued | JobState::Pending | JobState::Unknown(_) => Ok(Progress::Waiting),
    }
}

/// One page of a job's results. An absent `cursor` means this is the last page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct JobResultsPage {
    /// The conversations on this page.
    #[serde(default, deserialize_with = "null_as_default")]
    pub conversations: Vec<AnalyticsConversation>,
    /// Where the next page starts; `None` on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Data up to this time is complete in the results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_availability_date: Option<DateTime<Utc>>,
    /// Fields this crate does not model, kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(json: &str) -> JobStatus {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn states_parse_tolerantly() {
        assert_eq!(status(r#"{"state":"QUEUED"}"#).state, JobState::Queued);
        assert_eq!(status(r#"{"state":"pending"}"#).state, JobState::Pending);
        let s = status(
            r#"{"state":"FAILED","errorMessage":"boom","expirationDate":"2026-11-02T00:00:00Z","x":1}"#,
        );
        assert_eq!(s.state, JobState::Failed);
        assert_eq!(s.error_message.as_deref(), Some("boom"));
        assert!(s.expiration_date.is_some());
        assert_eq!(s.extra["x"], 1);
        assert_eq!(
            status(r#"{"state":"ARCHIVED"}"#).state,
            JobState::Unknown("ARCHIVED".into())
        );
        assert!(serde_json::from_str::<JobStatus>("{}").is_err());
        assert!(serde_json::from_str::<JobStatus>(r#"{"state":1}"#).is_err());
    }

    #[test]
    fn the_state_machine_ends_only_on_terminal_states() {
        let id = JobId::new("j1");
        for s in [
            JobState::Queued,
            JobState::Pending,
            JobState::Unknown("NEW".into()),
        ] {
            assert!(!s.is_terminal());
            assert_eq!(
                progress(&id, &JobStatus::new(s)).unwrap(),
                Progress::Waiting
            );
        }
        assert!(JobState::Fulfilled.is_terminal());
        assert_eq!(
            progress(&id, &JobStatus::new(JobState::Fulfilled)).unwrap(),
            Progress::Fulfilled
        );
        let mut failed = JobStatus::new(JobState::Failed);
        failed.error_message = Some("quota".into());
        match progress(&id, &failed) {
            Err(AnalyticsError::JobFailed {
                job_id,
                error_message,
            }) => {
                assert_eq!(job_id, "j1");
                assert_eq!(error_message.as_deref(), Some("quota"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            progress(&id, &JobStatus::new(JobState::Cancelled)),
            Err(AnalyticsError::JobCancelled { .. })
        ));
        assert!(matches!(
            progress(&id, &JobStatus::new(JobState::Expired)),
            Err(AnalyticsError::JobExpired { .. })
        ));
    }

    #[test]
    fn results_pages_follow_the_cursor_and_tolerate_absence() {
        let p: JobResultsPage = serde_json::from_str(
            r#"{"conversations":[{"conversationId":"a"}],"cursor":"abc","dataAvailabilityDate":"2026-11-01T00:00:00.000Z"}"#,
        )
        .unwrap();
        assert_eq!(p.conversations.len(), 1);
        assert_eq!(p.cursor.as_deref(), Some("abc"));
        assert!(p.data_availability_date.is_some());
        let last: JobResultsPage = serde_json::from_str("{}").unwrap();
        assert!(last.conversations.is_empty());
        assert!(last.cursor.is_none());
    }

    #[test]
    fn job_ids_and_submissions() {
        let s: JobSubmission = serde_json::from_str(r#"{"jobId":"j-9","extra":true}"#).unwrap();
        assert_eq!(s.job_id, "j-9");
        let id = JobId::new(s.job_id);
        assert_eq!(id.to_string(), "j-9");
        assert_eq!(id.as_str(), "j-9");
        assert!(serde_json::from_str::<JobSubmission>("{}").is_err());
    }
}
