//! `AnalyticsClient` against the simulated org (genesys-sim): paging, empty pages, the result
//! cap, correlation request counts, details, the jobs API, and malformed answers the sim
//! injects. Real time with millisecond settings (a real local server).

#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use futures::{StreamExt, TryStreamExt};
use genesys_analytics::{
    Analytics, AnalyticsError, ConversationQuery, CorrelateOptions, CorrelationWindow, Filter,
    Interval, JobState, JobWait, MediaType, Order, OrderBy, Predicate, Purpose, dimension,
};
use genesys_auth::metric_names::HTTP_CLIENT_REQUEST_DURATION;
use genesys_sim::{FAIL_JOB_VALUE, Faults, SimOrg};
use retry_policy::Backoff;
use retry_policy::metric_names::RETRIES;
use retry_policy::test_util::MetricsCapture;

use common::{JOBS_PATH, QUERY_PATH, count, detail_requests, sim_client};

async fn sim(conversations: u32, span_days: u64) -> SimOrg {
    SimOrg::builder()
        .seed(7)
        .conversations(conversations)
        .messages_per_conversation(1)
        .history_span(Duration::from_secs(span_days * 86_400))
        // QUEUED for the first 200 ms: long enough to be seen right after submitting on a
        // loaded machine, short enough to keep the test quick
        .analytics_job_delay(Duration::from_millis(400))
        .start()
        .await
        .unwrap()
}

fn full(sim: &SimOrg) -> Interval {
    sim.full_interval().parse().unwrap()
}

#[tokio::test]
async fn query_all_pages_by_page_number_until_total_hits() {
    let sim = sim(230, 20).await;
    let analytics = sim_client(&sim);
    let q = ConversationQuery::builder()
        .with_interval(full(&sim))
        .order(Order::Asc)
        .order_by(OrderBy::ConversationStart)
        .page_size(100)
        .build()
        .unwrap();
    let pages: Vec<_> = analytics.query_all(q).try_collect().await.unwrap();
    let sizes: Vec<usize> = pages.iter().map(|p| p.conversations.len()).collect();
    assert_eq!(sizes, vec![100, 100, 30]);
    assert!(pages.iter().all(|p| p.total_hits == Some(230)));
    let ids: HashSet<&str> = pages
        .iter()
        .flat_map(|p| &p.conversations)
        .map(|c| c.conversation_id.as_str())
        .collect();
    assert_eq!(ids.len(), 230, "no conversation twice, none missing");
    let starts: Vec<_> = pages
        .iter()
        .flat_map(|p| &p.conversations)
        .map(|c| c.conversation_start.unwrap())
        .collect();
    assert!(
        starts.windows(2).all(|w| w[0] <= w[1]),
        "ascending order kept"
    );
    assert_eq!(
        count(&sim, QUERY_PATH, 200),
        3,
        "one request per page, no more"
    );

    // the models are filled from the sim's independent wire format
    let c = &pages[0].conversations[0];
    assert!(c.conversation_end.is_some() && c.originating_direction.is_some());
    assert_eq!(c.division_ids.len(), 1);
    assert_eq!(c.participants_with(&Purpose::Customer).count(), 1);
    assert!(
        c.sessions()
            .all(|s| s.media_type == Some(MediaType::Message))
    );
    assert!(
        c.sessions()
            .flat_map(|s| &s.segments)
            .all(|s| s.segment_type.is_some())
    );
}

#[tokio::test]
async fn an_answer_without_conversations_is_an_empty_page() {
    let sim = sim(20, 10).await;
    let analytics = sim_client(&sim);
    let long_ago = ConversationQuery::builder()
        .interval(
            Utc.with_ymd_and_hms(2001, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2001, 1, 2, 0, 0, 0).unwrap(),
        )
        .build()
        .unwrap();
    let page = analytics.query(&long_ago).await.unwrap();
    assert!(page.is_empty());
    assert_eq!(page.total_hits, Some(0));
    assert_eq!(analytics.query_all(long_ago).count().await, 0);

    // past the last page: also no `conversations`
    let beyond = ConversationQuery::builder()
        .with_interval(full(&sim))
        .page_size(10)
        .page_number(5)
        .build()
        .unwrap();
    let page = analytics.query(&beyond).await.unwrap();
    assert!(page.is_empty());
    assert_eq!(page.total_hits, Some(20));
}

#[tokio::test]
async fn filters_reach_the_server_and_narrow_the_result() {
    let sim = sim(40, 10).await;
    let analytics = sim_client(&sim);
    let wanted: Vec<String> = sim
        .conversations()
        .iter()
        .take(3)
        .map(|c| c.id.clone())
        .collect();
    let q = ConversationQuery::builder()
        .with_interval(full(&sim))
        .conversation_ids(&wanted)
        .segment_filter(Filter::and([
            Predicate::dimension(dimension::PURPOSE).matches("agent"),
            Predicate::dimension(dimension::SEGMENT_TYPE).matches("wrapup"),
            Predicate::dimension(dimension::DISCONNECT_TYPE).not_exists(),
        ]))
        .build()
        .unwrap();
    let page = analytics.query(&q).await.unwrap();
    assert_eq!(page.total_hits, Some(3));
    let got: HashSet<String> = page
        .conversations
        .into_iter()
        .map(|c| c.conversation_id)
        .collect();
    assert_eq!(got, wanted.into_iter().collect());

    let none = ConversationQuery::builder()
        .with_interval(full(&sim))
        .segment_filter(Filter::and([
            Predicate::dimension(dimension::MEDIA_TYPE).matches("voice")
        ]))
        .build()
        .unwrap();
    assert_eq!(analytics.query(&none).await.unwrap().total_hits, Some(0));
}

#[tokio::test]
async fn a_query_over_the_cap_is_refused_after_the_first_page() {
    let sim = SimOrg::builder()
        .seed(3)
        .conversations(120)
        .messages_per_conversation(1)
        .analytics_result_cap(50)
        .start()
        .await
        .unwrap();
    let analytics = sim_client(&sim).with_result_cap(50);
    let q = ConversationQuery::builder()
        .with_interval(full(&sim))
        .page_size(20)
        .build()
        .unwrap();
    let results: Vec<_> = analytics.query_all(q).collect().await;
    assert_eq!(results.len(), 1);
    match &results[0] {
        Err(e @ AnalyticsError::TooManyResults { total_hits, cap }) => {
            assert_eq!((*total_hits, *cap), (120, 50));
            assert!(e.to_string().contains("jobs API"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        count(&sim, QUERY_PATH, 200),
        1,
        "refused up front, not after 3 pages"
    );
}

#[tokio::test]
async fn correlating_250_ids_takes_3_queries_not_250() {
    let m = MetricsCapture::install_local();
    let sim = sim(250, 20).await;
    let analytics = sim_client(&sim);
    let ids: Vec<String> = sim.conversations().into_iter().map(|c| c.id).collect();
    let before = m.histogram(HTTP_CLIENT_REQUEST_DURATION, &[]).len();
    let r = analytics.correlate(&ids).await.unwrap();
    assert_eq!(r.found.len(), 250);
    assert!(r.not_found.is_empty() && r.failed.is_empty());
    assert_eq!((r.queries, r.detail_lookups), (3, 0));
    assert_eq!(count(&sim, QUERY_PATH, 200), 3);
    assert_eq!(detail_requests(&sim), 0);
    assert_eq!(
        m.histogram(HTTP_CLIENT_REQUEST_DURATION, &[]).len() - before,
        3
    );
    for id in &ids {
        assert_eq!(&r.get(id).unwrap().conversation_id, id);
    }
}

#[tokio::test]
async fn ids_outside_the_window_are_found_through_details() {
    let sim = sim(40, 90).await;
    let analytics = sim_client(&sim);
    let window_start = Utc::now() - chrono::TimeDelta::days(30);
    let convs = sim.conversations();
    let outside = convs.iter().filter(|c| c.start < window_start).count() as u32;
    assert!(
        outside > 5 && outside < 40,
        "the seed spreads starts over 90 days: {outside}"
    );
    let mut ids: Vec<String> = convs.iter().map(|c| c.id.clone()).collect();
    ids.push("00000000-0000-4000-8000-00000000dead".into());
    ids.push("not/a real id?".into());
    ids.push(ids[0].clone());

    let r = analytics.correlate(&ids).await.unwrap();
    assert_eq!(r.found.len(), 40);
    assert_eq!(
        r.not_found,
        vec![
            "00000000-0000-4000-8000-00000000dead".to_owned(),
            "not/a real id?".to_owned()
        ]
    );
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert_eq!(r.queries, 1);
    assert_eq!(r.detail_lookups, outside + 2);
    assert_eq!(count(&sim, QUERY_PATH, 200), 1);
    assert_eq!(detail_requests(&sim), u64::from(outside + 2));

    // a window over the whole history needs no lookup at all
    let wide = CorrelateOptions::builder()
        .window(CorrelationWindow::Fixed(full(&sim)))
        .details_fallback(false)
        .build()
        .unwrap();
    let r = analytics.correlate_with(&ids, &wide).await.unwrap();
    assert_eq!((r.found.len(), r.requests()), (40, 1));
}

#[tokio::test]
async fn details_finds_one_conversation_and_404_is_none() {
    let sim = sim(5, 5).await;
    let analytics = sim_client(&sim);
    let id = sim.conversations()[2].id.clone();
    let c = analytics.details(&id).await.unwrap().unwrap();
    assert_eq!(c.conversation_id, id);
    assert_eq!(c.participants.len(), 3);
    assert!(
        analytics
            .details("no-such-conversation")
            .await
            .unwrap()
            .is_none()
    );
    // ids go into the path encoded: '/' cannot reach another endpoint
    assert!(
        analytics
            .details("../../oauth/token")
            .await
            .unwrap()
            .is_none()
    );
    match analytics.details("..").await {
        Err(AnalyticsError::Request(e)) => {
            assert!(matches!(*e, genesys_auth::GenesysError::InvalidInput(_)))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_job_goes_from_queued_to_fulfilled_and_its_results_follow_the_cursor() {
    let sim = sim(45, 10).await;
    let analytics = sim_client(&sim);
    let q = ConversationQuery::builder()
        .with_interval(full(&sim))
        .order(Order::Desc)
        .build()
        .unwrap();
    let submitted = analytics.submit_job(&q).await.unwrap();
    // The full interval reaches an hour past the org's data availability date.
    assert!(submitted.is_partial(), "{submitted:?}");
    assert_eq!(
        submitted.data_availability_date,
        analytics
            .data_availability()
            .await
            .unwrap()
            .data_availability_date
    );
    let job = submitted.id;
    assert_eq!(
        analytics.job_status(&job).await.unwrap().state,
        JobState::Queued
    );
    let wait = JobWait::new(Duration::from_secs(5)).backoff(Backoff::exponential(
        Duration::from_millis(10),
        Duration::from_millis(40),
    ));
    let status = analytics.wait_job(&job, &wait).await.unwrap();
    assert_eq!(status.state, JobState::Fulfilled);
    assert!(status.expiration_date.is_some());
    let polls = count(&sim, &format!("{JOBS_PATH}/{job}"), 200);
    assert!(
        (3..40).contains(&polls),
        "backed off, not a busy loop: {polls} polls"
    );

    let pages: Vec<_> = analytics
        .job_results(&job, Some(10))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 5);
    assert!(pages[..4].iter().all(|p| p.cursor.is_some()));
    assert!(pages[4].cursor.is_none());
    let ids: HashSet<String> = pages
        .into_iter()
        .flat_map(|p| p.conversations)
        .map(|c| c.conversation_id)
        .collect();
    assert_eq!(ids.len(), 45);
}

#[tokio::test]
async fn a_failed_job_is_a_typed_error() {
    let sim = sim(5, 5).await;
    let analytics = sim_client(&sim);
    let q = ConversationQuery::builder()
        .with_interval(full(&sim))
        .conversation_ids([FAIL_JOB_VALUE])
        .build()
        .unwrap();
    let job = analytics.submit_job(&q).await.unwrap().id;
    let wait =
        JobWait::new(Duration::from_secs(5)).backoff(Backoff::constant(Duration::from_millis(20)));
    match analytics.wait_job(&job, &wait).await {
        Err(AnalyticsError::JobFailed {
            job_id,
            error_message,
        }) => {
            assert_eq!(job_id, job.as_str());
            assert!(error_message.unwrap().contains("failed"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_cancelled_job_and_a_deadline_are_typed_errors() {
    let sim = SimOrg::builder()
        .seed(1)
        .conversations(3)
        .messages_per_conversation(1)
        .analytics_job_delay(Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    let analytics = sim_client(&sim);
    let q = ConversationQuery::builder()
        .with_interval(full(&sim))
        .build()
        .unwrap();
    let wait = JobWait::new(Duration::from_millis(120))
        .backoff(Backoff::constant(Duration::from_millis(30)));

    let slow = analytics.submit_job(&q).await.unwrap().id;
    match analytics.wait_job(&slow, &wait).await {
        Err(AnalyticsError::JobDeadline {
            last_state, waited, ..
        }) => {
            assert_eq!(last_state, JobState::Queued);
            assert!(waited >= Duration::from_millis(120));
        }
        other => panic!("{other:?}"),
    }

    analytics.cancel_job(&slow).await.unwrap();
    assert!(matches!(
        analytics.wait_job(&slow, &wait).await,
        Err(AnalyticsError::JobCancelled { .. })
    ));
}

#[tokio::test]
async fn non_json_answers_from_the_sim_are_typed_errors() {
    let sim = sim(5, 5).await;
    let analytics = sim_client(&sim);
    let q = ConversationQuery::builder()
        .with_interval(full(&sim))
        .build()
        .unwrap();
    sim.set_faults(Faults {
        non_json: 1.0,
        ..Faults::default()
    })
    .unwrap();
    match analytics.query(&q).await {
        Err(AnalyticsError::InvalidResponse {
            endpoint,
            body_snippet,
            ..
        }) => {
            assert_eq!(endpoint, QUERY_PATH);
            assert!(!body_snippet.is_empty());
        }
        // the sim may turn the answer into a 5xx HTML page, which the client reports as such
        Err(AnalyticsError::Request(e)) => assert!(e.status().is_some(), "{e}"),
        other => panic!("{other:?}"),
    }
    sim.set_faults(Faults {
        truncated: 1.0,
        ..Faults::default()
    })
    .unwrap();
    for _ in 0..4 {
        match analytics.query(&q).await {
            Err(e @ AnalyticsError::InvalidResponse { .. }) => assert!(e.is_truncated(), "{e}"),
            // a body shorter than its Content-Length fails in the transport (after retries)
            Err(AnalyticsError::Request(_)) => {}
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn server_errors_are_retried_by_the_client_not_by_this_crate() {
    let m = MetricsCapture::install_local();
    let sim = sim(150, 10).await;
    let analytics = sim_client(&sim);
    sim.set_faults(Faults {
        server_errors: 0.3,
        ..Faults::default()
    })
    .unwrap();
    let ids: Vec<String> = sim.conversations().into_iter().map(|c| c.id).collect();
    let r = analytics.correlate(&ids).await.unwrap();
    // a chunk may still fail when every attempt drew a fault; nothing is lost either way
    let failed: usize = r.failed.iter().map(|f| f.ids.len()).sum();
    assert_eq!(r.found.len() + failed, 150);
    assert_eq!(r.queries, 2, "this crate sent each chunk once");
    let requests = m.histogram(HTTP_CLIENT_REQUEST_DURATION, &[]).len() as u64;
    assert_eq!(
        requests,
        2 + m.counter(RETRIES, &[]),
        "every extra request was the client's retry"
    );
}
