//! The async jobs API, for intervals too big for paging:
//! `POST …/details/jobs` → [`JobId`]; `GET …/details/jobs/{id}` → [`JobStatus`];
//! `GET …/details/jobs/{id}/results?cursor=` → [`JobResultsPage`].

use std::fmt;
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use retry_policy::Backoff;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::error::AnalyticsError;
use crate::job_state::JobState;
use crate::model::{AnalyticsConversation, null_as_default};

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

/// The answer to a job submission (`POST …/details/jobs`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct JobSubmission {
    /// The new job's id.
    pub job_id: String,
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

/// `GET …/details/jobs/availability`: data up to this date is complete in job results.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DataAvailability {
    /// Results for times after this are partial (absent: the platform did not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_availability_date: Option<DateTime<Utc>>,
    /// Fields this crate does not model, kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A submitted job, with what the platform said about data availability before it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubmittedJob {
    /// The job's id.
    pub id: JobId,
    /// The data availability date asked for before submitting (`None`: the platform gave none).
    pub data_availability_date: Option<DateTime<Utc>>,
    /// The end of the job's interval.
    pub interval_end: DateTime<Utc>,
}

impl SubmittedJob {
    /// A submitted job (for fakes and tests of your own code).
    pub fn new(
        id: JobId,
        data_availability_date: Option<DateTime<Utc>>,
        interval_end: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            data_availability_date,
            interval_end,
        }
    }

    /// Whether the interval reaches past the data availability date, so the results miss
    /// what happened after it. Unknown availability counts as complete.
    pub fn is_partial(&self) -> bool {
        self.data_availability_date
            .is_some_and(|available| self.interval_end > available)
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

/// How [`AnalyticsClient::wait_job`](crate::AnalyticsClient::wait_job) polls: a backoff between
/// polls and an overall deadline.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JobWait {
    backoff: Backoff,
    timeout: Duration,
}

impl JobWait {
    /// Polls for at most `timeout`, backing off exponentially from 500 ms to 15 s with full
    /// jitter.
    pub fn new(timeout: Duration) -> Self {
        Self {
            backoff: Backoff::exponential(Duration::from_millis(500), Duration::from_secs(15)),
            timeout,
        }
    }

    /// The delay between polls.
    #[must_use]
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The overall deadline.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The backoff between polls.
    pub fn backoff_policy(&self) -> &Backoff {
        &self.backoff
    }
}

impl Default for JobWait {
    /// Ten minutes.
    fn default() -> Self {
        Self::new(Duration::from_secs(600))
    }
}

/// Polls `status` until the job is FULFILLED, a terminal failure, or the deadline. The last
/// poll happens at the deadline at the latest. Uses tokio time (paused-time tests work).
pub(crate) async fn wait<F, Fut>(
    job: &JobId,
    wait: &JobWait,
    mut status: F,
) -> Result<JobStatus, AnalyticsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<JobStatus, AnalyticsError>>,
{
    let started = Instant::now();
    let deadline = started + wait.timeout;
    let mut polls: u32 = 0;
    let mut previous: Option<Duration> = None;
    loop {
        let current = status().await?;
        polls = polls.saturating_add(1);
        if progress(job, &current)? == Progress::Fulfilled {
            tracing::info!(job_id = %job, polls, waited_ms = started.elapsed().as_millis() as u64, "analytics job fulfilled");
            return Ok(current);
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(AnalyticsError::JobDeadline {
                job_id: job.as_str().to_owned(),
                waited: now - started,
                last_state: current.state,
            });
        }
        let delay = wait.backoff.delay(polls, previous, &mut rand::rng());
        previous = Some(delay);
        tracing::debug!(job_id = %job, state = %current.state, polls, delay_ms = delay.as_millis() as u64, "analytics job not ready");
        // A poll interval, not a retry: a failed status request ends the wait above (`?`; the
        // client already retried it), and a job that is still running is not a failure.
        tokio::time::sleep(delay.min(deadline - now)).await;
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

    fn scripted(
        states: &[&str],
    ) -> impl FnMut() -> std::future::Ready<Result<JobStatus, AnalyticsError>> {
        let mut states: Vec<JobStatus> = states
            .iter()
            .rev()
            .map(|s| JobStatus::new(JobState::from(*s)))
            .collect();
        move || {
            let next = states
                .pop()
                .unwrap_or_else(|| JobStatus::new(JobState::Pending));
            std::future::ready(Ok(next))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn wait_polls_with_backoff_until_fulfilled() {
        let id = JobId::new("j");
        let w = JobWait::new(Duration::from_secs(60)).backoff(
            Backoff::exponential(Duration::from_secs(1), Duration::from_secs(4))
                .jitter(retry_policy::Jitter::None),
        );
        let t0 = Instant::now();
        let s = wait(
            &id,
            &w,
            scripted(&["QUEUED", "QUEUED", "PENDING", "PENDING", "FULFILLED"]),
        )
        .await
        .unwrap();
        assert_eq!(s.state, JobState::Fulfilled);
        // 1 + 2 + 4 + 4 seconds between the five polls
        assert_eq!(t0.elapsed(), Duration::from_secs(11));
    }

    #[tokio::test(start_paused = true)]
    async fn wait_ends_with_typed_errors() {
        let id = JobId::new("j");
        let w = JobWait::new(Duration::from_secs(60))
            .backoff(Backoff::constant(Duration::from_secs(1)));
        assert!(matches!(
            wait(&id, &w, scripted(&["QUEUED", "FAILED"])).await,
            Err(AnalyticsError::JobFailed { .. })
        ));
        assert!(matches!(
            wait(&id, &w, scripted(&["CANCELLED"])).await,
            Err(AnalyticsError::JobCancelled { .. })
        ));
        assert!(matches!(
            wait(&id, &w, scripted(&["PENDING", "EXPIRED"])).await,
            Err(AnalyticsError::JobExpired { .. })
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn wait_gives_up_at_the_deadline_after_a_last_poll() {
        let id = JobId::new("j");
        let w = JobWait::new(Duration::from_millis(2500))
            .backoff(Backoff::constant(Duration::from_secs(1)));
        let polls = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counter = polls.clone();
        let t0 = Instant::now();
        let err = wait(&id, &w, move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::future::ready(Ok(JobStatus::new(JobState::Unknown("WARMING".into()))))
        })
        .await
        .unwrap_err();
        match err {
            AnalyticsError::JobDeadline {
                waited, last_state, ..
            } => {
                assert_eq!(waited, Duration::from_millis(2500));
                assert_eq!(last_state, JobState::Unknown("WARMING".into()));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(t0.elapsed(), Duration::from_millis(2500));
        // polls at 0, 1, 2 and the deadline 2.5 s
        assert_eq!(polls.load(std::sync::atomic::Ordering::SeqCst), 4);
        assert_eq!(JobWait::default().timeout(), Duration::from_secs(600));
    }

    #[test]
    fn availability_decides_whether_results_are_partial() {
        let a: DataAvailability =
            serde_json::from_str(r#"{"dataAvailabilityDate":"2026-11-01T12:00:00.000Z"}"#).unwrap();
        let date = a.data_availability_date.unwrap();
        let id = || JobId::new("j");
        assert!(
            SubmittedJob::new(id(), Some(date), date + chrono::TimeDelta::seconds(1)).is_partial()
        );
        assert!(!SubmittedJob::new(id(), Some(date), date).is_partial());
        assert!(!SubmittedJob::new(id(), None, date).is_partial());
        let none: DataAvailability = serde_json::from_str("{}").unwrap();
        assert!(none.data_availability_date.is_none());
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
