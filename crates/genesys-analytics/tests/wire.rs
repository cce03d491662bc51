//! Narrow wire cases the simulator does not produce, served by wiremock: the exact request
//! bodies and paths, malformed answers (non-JSON, wrong types, truncated) as typed errors,
//! totalHits over the 100,000 cap, answers without totalHits, API errors, job answers
//! without an id or with a repeating cursor.

#![allow(clippy::unwrap_used)]

mod common;

use chrono::{TimeZone, Utc};
use futures::{StreamExt, TryStreamExt};
use genesys_analytics::{
    Analytics, AnalyticsError, ConversationQuery, JobId, JobState, JobWait, Order, OrderBy,
};
use retry_policy::Backoff;
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{body_json, body_partial_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use common::{JOBS_PATH, QUERY_PATH, mock_client};

fn query(page_size: u32) -> ConversationQuery {
    ConversationQuery::builder()
        .interval(
            Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap(),
        )
        .page_size(page_size)
        .build()
        .unwrap()
}

fn raw(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

fn convs(ids: &[&str]) -> Value {
    Value::Array(ids.iter().map(|id| json!({"conversationId": id})).collect())
}

async fn requests_to(server: &MockServer, p: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == p)
        .count()
}

#[tokio::test]
async fn the_query_body_on_the_wire_is_exactly_the_api_shape() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(QUERY_PATH))
        .and(body_json(json!({
            "interval": "2026-11-01T00:00:00.000Z/2026-11-02T00:00:00.000Z",
            "order": "desc",
            "orderBy": "conversationEnd",
            "paging": {"pageSize": 100, "pageNumber": 1},
            "conversationFilters": [{"type": "or", "predicates": [
                {"type": "dimension", "dimension": "conversationId", "operator": "matches", "value": "a"},
                {"type": "dimension", "dimension": "conversationId", "operator": "matches", "value": "b"}
            ]}]
        })))
        .respond_with(raw(200, r#"{"conversations":[{"conversationId":"a"}],"totalHits":1}"#))
        .expect(1)
        .mount(&server)
        .await;
    let q = ConversationQuery::builder()
        .interval(
            Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap(),
        )
        .order(Order::Desc)
        .order_by(OrderBy::ConversationEnd)
        .page_size(100)
        .conversation_ids(["a", "b"])
        .build()
        .unwrap();
    let page = mock_client(&server.uri()).query(&q).await.unwrap();
    assert_eq!(page.conversations[0].conversation_id, "a");
}

#[tokio::test]
async fn malformed_query_answers_are_typed_errors() {
    for (body, truncated) in [
        ("<html><body>gateway</body></html>", false),
        (
            r#"{"conversations": {"conversationId": "a"}, "totalHits": 1}"#,
            false,
        ),
        (
            r#"{"conversations": [{"conversationId": 42}], "totalHits": 1}"#,
            false,
        ),
        (r#"{"totalHits": "lots"}"#, false),
        (
            r#"{"conversations": [{"conversationId": "a", "participants": [{"sess"#,
            true,
        ),
        ("", true),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(QUERY_PATH))
            .respond_with(raw(200, body))
            .mount(&server)
            .await;
        let err = mock_client(&server.uri())
            .query(&query(25))
            .await
            .unwrap_err();
        match &err {
            AnalyticsError::InvalidResponse {
                endpoint,
                body_snippet,
                ..
            } => {
                assert_eq!(*endpoint, QUERY_PATH);
                assert_eq!(body_snippet, body);
            }
            other => panic!("{body}: {other:?}"),
        }
        assert_eq!(err.is_truncated(), truncated, "{body}: {err}");
        assert_eq!(
            requests_to(&server, QUERY_PATH).await,
            1,
            "a bad 200 is not retried"
        );
    }
}

#[tokio::test]
async fn unknown_fields_and_enum_values_do_not_fail_a_page() {
    let server = MockServer::start().await;
    let body = json!({"totalHits": 1, "newTopLevel": [1, 2], "conversations": [{
        "conversationId": "a", "originatingDirection": "sideways", "futureField": {"x": 1},
        "participants": [{"purpose": "hologram", "sessions": [{"mediaType": "telepathy",
            "segments": [{"segmentType": "daydream", "disconnectType": "nap"}]}]}]}]});
    Mock::given(method("POST"))
        .and(path(QUERY_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(&body))
        .mount(&server)
        .await;
    let page = mock_client(&server.uri()).query(&query(25)).await.unwrap();
    let c = &page.conversations[0];
    assert!(c.originating_direction.as_ref().unwrap().is_unknown());
    assert_eq!(c.extra["futureField"], json!({"x": 1}));
    assert_eq!(page.extra["newTopLevel"], json!([1, 2]));
    let seg = &c.participants[0].sessions[0].segments[0];
    assert_eq!(seg.segment_type.as_ref().unwrap().as_str(), "daydream");
    assert_eq!(seg.disconnect_type.as_ref().unwrap().as_str(), "nap");
}

#[tokio::test]
async fn total_hits_over_100000_is_refused_with_a_pointer_to_jobs() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(QUERY_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"conversations": convs(&["a", "b"]), "totalHits": 250_000})),
        )
        .mount(&server)
        .await;
    let analytics = mock_client(&server.uri());
    assert_eq!(analytics.result_cap(), 100_000);
    let all: Vec<_> = analytics.query_all(query(2)).collect().await;
    assert_eq!(all.len(), 1);
    match &all[0] {
        Err(
            e @ AnalyticsError::TooManyResults {
                total_hits: 250_000,
                cap: 100_000,
            },
        ) => {
            assert!(e.to_string().contains("submit_job"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(requests_to(&server, QUERY_PATH).await, 1);
    // exactly at the cap is fine
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(QUERY_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"conversations": convs(&["a"]), "totalHits": 100_000})),
        )
        .mount(&server)
        .await;
    let first = mock_client(&server.uri())
        .query_all(query(2))
        .next()
        .await
        .unwrap();
    assert!(first.is_ok());
}

#[tokio::test]
async fn without_total_hits_paging_stops_at_a_short_page() {
    let server = MockServer::start().await;
    for (n, ids) in [(1, vec!["a", "b"]), (2, vec!["c", "d"]), (3, vec!["e"])] {
        Mock::given(method("POST"))
            .and(path(QUERY_PATH))
            .and(body_partial_json(json!({"paging": {"pageNumber": n}})))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"conversations": convs(&ids)})),
            )
            .expect(1)
            .mount(&server)
            .await;
    }
    let pages: Vec<_> = mock_client(&server.uri())
        .query_all(query(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        pages
            .iter()
            .map(|p| p.conversations.len())
            .collect::<Vec<_>>(),
        vec![2, 2, 1]
    );
}

#[tokio::test]
async fn an_empty_page_ends_the_stream_even_before_total_hits() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(QUERY_PATH))
        .and(body_partial_json(json!({"paging": {"pageNumber": 1}})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"conversations": convs(&["a", "b"]), "totalHits": 10})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(QUERY_PATH))
        .and(body_partial_json(json!({"paging": {"pageNumber": 2}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"totalHits": 10})))
        .mount(&server)
        .await;
    let pages: Vec<_> = mock_client(&server.uri())
        .query_all(query(2))
        .collect()
        .await;
    assert_eq!(pages.len(), 1);
    assert_eq!(requests_to(&server, QUERY_PATH).await, 2);
}

#[tokio::test]
async fn api_errors_keep_status_code_and_correlation_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(QUERY_PATH))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("ININ-Correlation-Id", "corr-1")
                .set_body_json(
                    json!({"message": "bad interval", "code": "bad.request", "status": 400}),
                ),
        )
        .mount(&server)
        .await;
    let err = mock_client(&server.uri())
        .query(&query(25))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    let e = err.request_error().unwrap();
    assert_eq!(e.correlation_id(), Some("corr-1"));
    assert_eq!(e.api_error().unwrap().code.as_deref(), Some("bad.request"));
}

#[tokio::test]
async fn details_encodes_the_id_and_reads_404_as_none() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/analytics/conversations/a%2Fb%3Fc/details"))
        .respond_with(raw(
            200,
            r#"{"conversationId":"a/b?c","participants":null}"#,
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/analytics/conversations/gone/details"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"message": "not found", "code": "not.found", "status": 404})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/analytics/conversations/forbidden/details"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"message": "missing permission", "status": 403})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/analytics/conversations/weird/details"))
        .respond_with(raw(200, r#"{"conversationId":["weird"]}"#))
        .mount(&server)
        .await;
    let analytics = mock_client(&server.uri());
    let c = analytics.details("a/b?c").await.unwrap().unwrap();
    assert_eq!(c.conversation_id, "a/b?c");
    assert!(c.participants.is_empty());
    assert!(analytics.details("gone").await.unwrap().is_none());
    assert_eq!(
        analytics.details("forbidden").await.unwrap_err().status(),
        Some(403)
    );
    assert!(matches!(
        analytics.details("weird").await,
        Err(AnalyticsError::InvalidResponse {
            endpoint: "/api/v2/analytics/conversations/{conversationId}/details",
            ..
        })
    ));
}

#[tokio::test]
async fn job_answers_without_an_id_or_with_wrong_types_are_typed_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{JOBS_PATH}/availability")))
        .respond_with(raw(200, "{}"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(JOBS_PATH))
        .and(body_json(
            json!({"interval": "2026-11-01T00:00:00.000Z/2026-11-02T00:00:00.000Z"}),
        ))
        .respond_with(raw(202, r#"{"jobId": "  "}"#))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(JOBS_PATH))
        .respond_with(raw(202, r#"{"id": "j"}"#))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{JOBS_PATH}/j1")))
        .respond_with(raw(200, r#"{"state": 3}"#))
        .mount(&server)
        .await;
    let analytics = mock_client(&server.uri());
    assert!(matches!(
        analytics.submit_job(&query(25)).await,
        Err(AnalyticsError::MissingJobId)
    ));
    assert!(matches!(
        analytics.submit_job(&query(25)).await,
        Err(AnalyticsError::InvalidResponse {
            endpoint: JOBS_PATH,
            ..
        })
    ));
    assert!(matches!(
        analytics.job_status(&JobId::new("j1")).await,
        Err(AnalyticsError::InvalidResponse { .. })
    ));
}

#[tokio::test]
async fn unknown_job_states_keep_the_wait_going() {
    let server = MockServer::start().await;
    let status = format!("{JOBS_PATH}/j2");
    Mock::given(method("GET"))
        .and(path(&status))
        .respond_with(raw(200, r#"{"state": "WARMING_UP"}"#))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(&status))
        .respond_with(raw(200, r#"{"state": "FULFILLED", "newField": true}"#))
        .mount(&server)
        .await;
    let wait =
        JobWait::new(Duration::from_secs(2)).backoff(Backoff::constant(Duration::from_millis(5)));
    let s = mock_client(&server.uri())
        .wait_job(&JobId::new("j2"), &wait)
        .await
        .unwrap();
    assert_eq!(s.state, JobState::Fulfilled);
    assert_eq!(requests_to(&server, &status).await, 3);
}

#[tokio::test]
async fn job_results_follow_the_cursor_and_stop_on_a_repeated_one() {
    let server = MockServer::start().await;
    let results = format!("{JOBS_PATH}/j3/results");
    Mock::given(method("GET"))
        .and(path(&results))
        .and(query_param("cursor", "c1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"conversations": convs(&["b"]), "cursor": "c1"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(&results))
        .and(query_param("pageSize", "1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"conversations": convs(&["a"]), "cursor": "c1"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let pages: Vec<_> = mock_client(&server.uri())
        .job_results(&JobId::new("j3"), Some(1))
        .collect()
        .await;
    assert_eq!(pages.len(), 3);
    assert_eq!(
        pages[0].as_ref().unwrap().conversations[0].conversation_id,
        "a"
    );
    assert_eq!(
        pages[1].as_ref().unwrap().conversations[0].conversation_id,
        "b"
    );
    assert!(
        matches!(&pages[2], Err(AnalyticsError::CursorRepeated { cursor, .. }) if cursor == "c1")
    );

    // a malformed results page ends the stream with a typed error
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{JOBS_PATH}/j4/results")))
        .respond_with(raw(
            200,
            r#"{"conversations": [{"conversationId": "a"}], "cursor": 7}"#,
        ))
        .mount(&server)
        .await;
    let pages: Vec<_> = mock_client(&server.uri())
        .job_results(&JobId::new("j4"), None)
        .collect()
        .await;
    assert_eq!(pages.len(), 1);
    assert!(matches!(
        &pages[0],
        Err(AnalyticsError::InvalidResponse { .. })
    ));
}

#[tokio::test]
async fn a_job_is_submitted_after_the_availability_check_and_says_when_results_are_partial() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{JOBS_PATH}/availability")))
        .respond_with(raw(
            200,
            r#"{"dataAvailabilityDate": "2026-11-01T12:00:00.000Z"}"#,
        ))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(JOBS_PATH))
        .respond_with(raw(202, r#"{"jobId": "j-7"}"#))
        .expect(2)
        .mount(&server)
        .await;
    let analytics = mock_client(&server.uri());
    // query(25) covers 2026-11-01 to 2026-11-02: past the availability date.
    let job = analytics.submit_job(&query(25)).await.unwrap();
    assert_eq!(job.id.as_str(), "j-7");
    assert_eq!(
        job.data_availability_date,
        Some(Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap())
    );
    assert!(job.is_partial());
    let early = ConversationQuery::builder()
        .interval(
            Utc.with_ymd_and_hms(2026, 10, 31, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
        )
        .build()
        .unwrap();
    assert!(!analytics.submit_job(&early).await.unwrap().is_partial());
    let requests = server.received_requests().await.unwrap_or_default();
    let order: Vec<String> = requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(
        order,
        [
            format!("GET {JOBS_PATH}/availability"),
            format!("POST {JOBS_PATH}"),
            format!("GET {JOBS_PATH}/availability"),
            format!("POST {JOBS_PATH}"),
        ],
        "the availability check comes before each submission"
    );
}
