//! [`AnalyticsClient`]: the [`Analytics`] trait and the jobs API over a [`GenesysClient`].
//!
//! Every request goes through the `GenesysClient` pipeline (shared pacer, bearer token,
//! retries honouring `Retry-After`, typed errors); this module adds paths, bodies and models,
//! and no retry loop of its own.

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use genesys_auth::{Endpoint, GenesysClient, GenesysError};

use crate::analytics::{Analytics, RESULT_CAP, paginate};
use crate::correlate::{self, CorrelateOptions};
use crate::correlation::Correlation;
use crate::endpoints::{
    CancelDetailsJob, ConversationDetails, ConversationDetailsQuery, CreateDetailsJob,
    DetailsJobResults, DetailsJobStatus, DetailsJobsAvailability,
};
use crate::error::{AnalyticsError, QueryError};
use crate::jobs::{DataAvailability, JobId, JobResultsPage, JobStatus, JobWait, SubmittedJob};
use crate::model::{AnalyticsConversation, ConversationPage};
use crate::query::ConversationQuery;

/// Conversation details over HTTP. Cheap to clone (the `GenesysClient` inside is an `Arc`).
///
/// ```no_run
/// # async fn run(genesys: genesys_auth::GenesysClient) -> Result<(), genesys_analytics::AnalyticsError> {
/// use genesys_analytics::{Analytics, AnalyticsClient, CorrelateOptions, CorrelationWindow};
///
/// let analytics = AnalyticsClient::new(genesys).with_correlate_options(
///     CorrelateOptions::builder().window(CorrelationWindow::last_days(7)).build()?,
/// );
/// let ids = vec!["5f1c…".to_owned(), "77aa…".to_owned()];
/// let found = analytics.correlate(&ids).await?;
/// println!("{} found in {} requests", found.found.len(), found.requests());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AnalyticsClient {
    client: GenesysClient,
    result_cap: u64,
    correlate: CorrelateOptions,
}

impl AnalyticsClient {
    /// An analytics client over `client`, with the 100,000 result cap and the default
    /// [`CorrelateOptions`].
    pub fn new(client: GenesysClient) -> Self {
        Self {
            client,
            result_cap: RESULT_CAP,
            correlate: CorrelateOptions::default(),
        }
    }

    /// The most results [`Analytics::query_all`] accepts to page through (default 100,000,
    /// the platform's cap per query).
    #[must_use]
    pub fn with_result_cap(mut self, cap: u64) -> Self {
        self.result_cap = cap;
        self
    }

    /// How [`Analytics::correlate`] chunks, where it looks, how many requests it runs at once.
    #[must_use]
    pub fn with_correlate_options(mut self, options: CorrelateOptions) -> Self {
        self.correlate = options;
        self
    }

    /// The client every request goes through (its metrics count this crate's requests).
    pub fn genesys(&self) -> &GenesysClient {
        &self.client
    }

    /// The result cap in force.
    pub fn result_cap(&self) -> u64 {
        self.result_cap
    }

    /// The correlation settings in force.
    pub fn correlate_options(&self) -> &CorrelateOptions {
        &self.correlate
    }

    /// [`Analytics::correlate`] with other settings for this call.
    pub async fn correlate_with(
        &self,
        conversation_ids: &[String],
        options: &CorrelateOptions,
    ) -> Result<Correlation, AnalyticsError> {
        correlate::run(self, conversation_ids, options).await
    }

    /// Sends `endpoint` through the client and decodes its 2xx answer; a body that is not the
    /// expected JSON is [`AnalyticsError::InvalidResponse`] naming the operation's path.
    async fn call<E: Endpoint>(&self, endpoint: &E) -> Result<E::Response, AnalyticsError> {
        match self.client.call(endpoint).await {
            Ok(answer) => Ok(answer),
            Err(GenesysError::Decode {
                body_snippet,
                source,
                ..
            }) => Err(AnalyticsError::InvalidResponse {
                endpoint: E::OPERATION.path,
                body_snippet,
                source,
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// How far the jobs API's data is complete (`GET …/details/jobs/availability`): results for
    /// times after [`DataAvailability::data_availability_date`] are partial.
    pub async fn data_availability(&self) -> Result<DataAvailability, AnalyticsError> {
        self.call(&DetailsJobsAvailability).await
    }

    /// Asks for the data availability date, then submits `query` as an async job
    /// (`POST …/details/jobs`; its paging is left out, jobs have none). Use it for what
    /// [`Analytics::query_all`] refuses as too big. The answer says whether the interval reaches
    /// past the availability date, where the job's results are partial (logged as a warning
    /// too); wait and submit again to get the rest.
    pub async fn submit_job(
        &self,
        query: &ConversationQuery,
    ) -> Result<SubmittedJob, AnalyticsError> {
        let availability = self.data_availability().await?;
        let available_until = availability.data_availability_date;
        let interval_end = query.interval().end();
        let submitted = self.call(&CreateDetailsJob::new(query)).await?;
        if submitted.job_id.trim().is_empty() {
            return Err(AnalyticsError::MissingJobId);
        }
        let job = SubmittedJob::new(JobId::new(submitted.job_id), available_until, interval_end);
        if job.is_partial() {
            tracing::warn!(
                job_id = %job.id,
                interval = %query.interval(),
                data_availability_date = ?available_until,
                "analytics job submitted for an interval past the data availability date: its results will be partial"
            );
        } else {
            tracing::info!(job_id = %job.id, interval = %query.interval(), "analytics job submitted");
        }
        Ok(job)
    }

    /// The job's current state (one request).
    pub async fn job_status(&self, job: &JobId) -> Result<JobStatus, AnalyticsError> {
        self.call(&DetailsJobStatus::new(job)?).await
    }

    /// Cancels a job (`DELETE …/details/jobs/{id}`).
    pub async fn cancel_job(&self, job: &JobId) -> Result<(), AnalyticsError> {
        self.call(&CancelDetailsJob::new(job)?).await?;
        Ok(())
    }

    /// Polls the job's state with `wait`'s backoff until it is FULFILLED. FAILED, CANCELLED
    /// and EXPIRED end the wait with their typed error; the deadline with
    /// [`AnalyticsError::JobDeadline`] (the job may still finish: wait again).
    pub async fn wait_job(&self, job: &JobId, wait: &JobWait) -> Result<JobStatus, AnalyticsError> {
        crate::jobs::wait(job, wait, || self.job_status(job)).await
    }

    /// The job's results, page after page, following the cursor until a page comes without
    /// one. `page_size` is passed through (`None` = the platform's default).
    pub fn job_results(
        &self,
        job: &JobId,
        page_size: Option<u32>,
    ) -> BoxStream<'static, Result<JobResultsPage, AnalyticsError>> {
        let client = self.clone();
        let job = job.clone();
        stream::unfold(ResultsCursor::First, move |state| {
            let client = client.clone();
            let job = job.clone();
            async move {
                let cursor = match state {
                    ResultsCursor::First => None,
                    ResultsCursor::Next(c) => Some(c),
                    ResultsCursor::Repeated(cursor) => {
                        let e = AnalyticsError::CursorRepeated {
                            job_id: job.as_str().to_owned(),
                            cursor,
                        };
                        return Some((Err(e), ResultsCursor::Done));
                    }
                    ResultsCursor::Done => return None,
                };
                match client
                    .job_results_page(&job, cursor.as_deref(), page_size)
                    .await
                {
                    Err(e) => Some((Err(e), ResultsCursor::Done)),
                    Ok(page) => {
                        let next = match page.cursor.as_deref() {
                            None | Some("") => ResultsCursor::Done,
                            // the page is delivered; the loop ends with an error after it
                            Some(c) if Some(c) == cursor.as_deref() => {
                                ResultsCursor::Repeated(c.to_owned())
                            }
                            Some(c) => ResultsCursor::Next(c.to_owned()),
                        };
                        Some((Ok(page), next))
                    }
                }
            }
        })
        .boxed()
    }

    /// One page of a job's results.
    async fn job_results_page(
        &self,
        job: &JobId,
        cursor: Option<&str>,
        page_size: Option<u32>,
    ) -> Result<JobResultsPage, AnalyticsError> {
        let mut endpoint = DetailsJobResults::new(job)?;
        if let Some(cursor) = cursor {
            endpoint = endpoint.cursor(cursor);
        }
        if let Some(size) = page_size {
            if size == 0 {
                return Err(QueryError::InvalidSetting {
                    setting: "page_size",
                    reason: "must be at least 1",
                }
                .into());
            }
            endpoint = endpoint.page_size(size);
        }
        self.call(&endpoint).await
    }
}

/// Where a job results stream is.
enum ResultsCursor {
    /// Nothing read yet.
    First,
    /// The cursor for the next page.
    Next(String),
    /// The last page repeated the cursor it was asked with.
    Repeated(String),
    /// No more pages.
    Done,
}

#[async_trait]
impl Analytics for AnalyticsClient {
    async fn query(&self, query: &ConversationQuery) -> Result<ConversationPage, AnalyticsError> {
        self.call(&ConversationDetailsQuery::new(query)).await
    }

    fn query_all(
        &self,
        query: ConversationQuery,
    ) -> BoxStream<'_, Result<ConversationPage, AnalyticsError>> {
        paginate(self, query, self.result_cap)
    }

    async fn details(
        &self,
        conversation_id: &str,
    ) -> Result<Option<AnalyticsConversation>, AnalyticsError> {
        match self.call(&ConversationDetails::new(conversation_id)?).await {
            Ok(conversation) => Ok(Some(conversation)),
            Err(e) if e.request_error().is_some_and(GenesysError::is_not_found) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn correlate(&self, conversation_ids: &[String]) -> Result<Correlation, AnalyticsError> {
        correlate::run(self, conversation_ids, &self.correlate).await
    }
}
