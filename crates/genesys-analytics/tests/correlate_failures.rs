//! `correlate` when some requests fail: the chunk whose query fails (after the client's
//! retries) costs only its own ids, the other chunks' conversations are kept, and every id
//! says whether it was found, not found, or failed with the typed error. Served by wiremock
//! (a chunk fails by its content, so the outcome does not depend on timing) and by the
//! simulator with runtime fault injection.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use genesys_analytics::{AnalyticsError, CorrelateOptions, IdOutcome};
use genesys_sim::{Faults, SimOrg};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

use common::{QUERY_PATH, count, mock_client, sim_client};

/// Matches a request whose body names this conversation id.
struct Names(&'static str);

impl Match for Names {
    fn matches(&self, request: &Request) -> bool {
        String::from_utf8_lossy(&request.body).contains(&format!("\"value\":\"{}\"", self.0))
    }
}

fn page(ids: &[&str]) -> ResponseTemplate {
    let conversations: Vec<_> = ids
        .iter()
        .map(|id| json!({"conversationId": id, "conversationStart": "2026-11-01T10:00:00.000Z"}))
        .collect();
    ResponseTemplate::new(200)
        .set_body_json(json!({"conversations": conversations, "totalHits": ids.len()}))
}

fn details_path(id: &str) -> String {
    format!("/api/v2/analytics/conversations/{id}/details")
}

#[tokio::test]
async fn a_failing_chunk_costs_only_its_own_ids_and_each_id_says_what_happened() {
    let server = MockServer::start().await;
    // chunk 1 (a, b): both found
    Mock::given(method("POST"))
        .and(path(QUERY_PATH))
        .and(Names("a"))
        .respond_with(page(&["a", "b"]))
        .expect(1)
        .mount(&server)
        .await;
    // chunk 2 (c, d): the platform fails every attempt
    Mock::given(method("POST"))
        .and(path(QUERY_PATH))
        .and(Names("c"))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_json(json!({"message": "down", "code": "service.unavailable"})),
        )
        .mount(&server)
        .await;
    // chunk 3 (e, f): neither in the window, so each is looked up
    Mock::given(method("POST"))
        .and(path(QUERY_PATH))
        .and(Names("e"))
        .respond_with(page(&[]))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(details_path("e")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"code": "not.found"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(details_path("f")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"code": "bad.request"})))
        .expect(1)
        .mount(&server)
        .await;

    let analytics = mock_client(&server.uri());
    let options = CorrelateOptions::builder()
        .chunk_size(2)
        .query_concurrency(1)
        .build()
        .unwrap();
    let ids: Vec<String> = ["a", "b", "c", "d", "e", "f"].map(String::from).to_vec();
    let r = analytics.correlate_with(&ids, &options).await.unwrap();

    // the failed chunk did not take the others with it
    assert_eq!(r.found.len(), 2);
    assert!(r.outcome("a").unwrap().is_found());
    assert!(matches!(r.outcome("b"), Some(IdOutcome::Found(c)) if c.conversation_id == "b"));
    for id in ["c", "d"] {
        match r.outcome(id) {
            Some(IdOutcome::Failed(e @ AnalyticsError::Request(_))) => {
                assert_eq!(e.status(), Some(503), "{e}")
            }
            other => panic!("{id}: {other:?}"),
        }
    }
    assert!(
        r.outcome("e").unwrap().is_not_found(),
        "the lookup answered 404"
    );
    assert_eq!(r.outcome("f").unwrap().error().unwrap().status(), Some(400));
    assert_eq!(r.not_found, vec!["e".to_owned()]);
    assert!(!r.is_complete());
    let mut failed: Vec<&str> = r.failed_ids().map(|(id, _)| id).collect();
    failed.sort_unstable();
    assert_eq!(failed, vec!["c", "d", "f"]);
    assert_eq!(r.outcomes().count(), 6, "every id once");
    // the failed chunk was not retried id by id; the client retried it (4 attempts)
    assert_eq!((r.queries, r.detail_lookups), (3, 2));
    let queries = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == QUERY_PATH)
        .count();
    assert_eq!(queries, 2 + 4);
}

#[tokio::test]
async fn against_the_sim_a_batch_failing_under_injected_faults_is_failed_per_id() {
    let sim = SimOrg::builder()
        .seed(11)
        .conversations(30)
        .messages_per_conversation(1)
        .history_span(Duration::from_secs(5 * 86_400))
        .start()
        .await
        .unwrap();
    let analytics = sim_client(&sim);
    let ids: Vec<String> = sim.conversations().into_iter().map(|c| c.id).collect();
    let options = CorrelateOptions::builder().chunk_size(10).build().unwrap();

    let healthy = analytics
        .correlate_with(&ids[..10], &options)
        .await
        .unwrap();
    assert!(healthy.is_complete());
    assert!(
        ids[..10]
            .iter()
            .all(|id| healthy.outcome(id).unwrap().is_found())
    );

    // every answer is now a 5xx: the client gives up after its retries, per chunk
    sim.set_faults(Faults {
        server_errors: 1.0,
        ..Faults::default()
    })
    .unwrap();
    let failing = analytics
        .correlate_with(&ids[10..], &options)
        .await
        .unwrap();
    assert!(failing.found.is_empty() && failing.not_found.is_empty());
    assert_eq!(failing.failed.len(), 2, "one failure per chunk");
    for id in &ids[10..] {
        let error = failing.outcome(id).unwrap().error().unwrap();
        assert!(
            matches!(error.status(), Some(500 | 502 | 503)),
            "{id}: {error}"
        );
    }
    assert_eq!(
        failing.detail_lookups, 0,
        "a failed chunk is not retried id by id"
    );

    // healthy again: the failed ids are found on a second call
    sim.set_faults(Faults::none()).unwrap();
    let again = analytics
        .correlate_with(&ids[10..], &options)
        .await
        .unwrap();
    assert!(again.is_complete());
    assert_eq!(again.found.len(), 20);
    assert!(count(&sim, QUERY_PATH, 200) >= 3);
}
