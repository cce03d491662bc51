//! History export against hand-made answers (wiremock): bad pages, odd messages, moving totals.
#![allow(clippy::unwrap_used)]

mod common;

use futures::StreamExt;
use genesys_messaging::archive::{ArchiveBatch, ArchiveSink, SinkError};
use genesys_messaging::history::{ArchiveError, GuestSession, HistoryExport};
use genesys_messaging::{Direction, MessageType, MessagingError, WebMessagingMessage};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PATH: &str = "/api/v2/webmessaging/messages";

fn message(id: &str, minute: u32) -> Value {
    json!({"id": id, "type": "Text", "direction": "Inbound", "text": id,
           "channel": {"time": format!("2026-11-01T10:{:02}:00Z", 59 - minute)}})
}

fn page(entities: Vec<Value>, number: u32, count: u32, total: u64) -> Value {
    json!({"entities": entities, "pageSize": 3, "pageNumber": number, "pageCount": count, "total": total})
}

async fn serve(server: &MockServer, number: u32, body: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(PATH))
        .and(query_param("pageNumber", number.to_string()))
        .respond_with(body)
        .mount(server)
        .await;
}

fn source(server: &MockServer) -> GuestSession {
    GuestSession::new(
        &common::mock_client(&server.uri()),
        "guest-jwt".to_owned().into(),
        "conv-1",
    )
}

#[tokio::test]
async fn a_truncated_page_is_reported_and_the_other_pages_still_arrive() {
    let server = MockServer::start().await;
    serve(
        &server,
        1,
        ResponseTemplate::new(200).set_body_json(page(
            vec![message("a", 0), message("b", 1), message("c", 2)],
            1,
            3,
            9,
        )),
    )
    .await;
    serve(
        &server,
        2,
        ResponseTemplate::new(200).set_body_raw(
            r#"{"entities": [{"id": "d", "type": "Te"#,
            "application/json",
        ),
    )
    .await;
    serve(
        &server,
        3,
        ResponseTemplate::new(200).set_body_json(page(
            vec![message("g", 6), message("h", 7), message("i", 8)],
            3,
            3,
            9,
        )),
    )
    .await;
    let mut stream = HistoryExport::builder(source(&server))
        .page_size(3)
        .concurrency(2)
        .build()
        .unwrap()
        .stream();
    let mut ids = Vec::new();
    let mut errors = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(m) => ids.push(m.message.id),
            Err(e) => errors.push(e),
        }
    }
    assert_eq!(
        ids,
        ["a", "b", "c", "g", "h", "i"],
        "page order kept around the bad page"
    );
    assert_eq!(errors.len(), 1);
    assert!(
        matches!(&errors[0], MessagingError::Page { page: 2, .. }),
        "{:?}",
        errors[0]
    );
    let report = stream.finished_report().await;
    assert_eq!(report.pages_failed, 1);
    assert!(
        !report.complete,
        "an export with a missing page is not complete"
    );
    // The truncated page was fetched again under the client's retry policy before giving up.
    let page2 = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.query().unwrap_or("").contains("pageNumber=2"))
        .count();
    assert!(page2 > 1, "page 2 was requested {page2} times");
}

#[tokio::test]
async fn bad_messages_are_skipped_and_reported_never_failing_the_page() {
    let server = MockServer::start().await;
    let entities = vec![
        message("a", 0),
        json!({"type": "Text", "text": "no id", "channel": {"time": "2026-11-01T10:58:00Z"}}),
        json!({"id": "weird", "type": "Hologram", "direction": "Sideways", "originatingEntity": "Alien",
               "channel": {"time": "2026-11-01T10:57:00Z"}, "content": [{"contentType": "Smell", "smell": {}}]}),
        json!({"id": "bad-time", "channel": {"time": "yesterday"}}),
        json!("not even an object"),
        message("z", 5),
    ];
    serve(&server, 1, ResponseTemplate::new(200).set_body_json(json!({"entities": entities, "pageSize": 10, "pageNumber": 1, "pageCount": 1, "total": 6}))).await;
    let mut stream = HistoryExport::builder(source(&server))
        .page_size(10)
        .build()
        .unwrap()
        .stream();
    let mut kept: Vec<WebMessagingMessage> = Vec::new();
    while let Some(item) = stream.next().await {
        kept.push(item.unwrap().message);
    }
    let ids: Vec<&str> = kept.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["a", "weird", "z"]);
    assert_eq!(
        kept[1].message_type,
        Some(MessageType::Unknown("Hologram".into()))
    );
    assert_eq!(
        kept[1].direction,
        Some(Direction::Unknown("Sideways".into()))
    );
    let report = stream.finished_report().await;
    assert_eq!(report.decode_failures, 3);
    let positions: Vec<(usize, Option<&str>)> = report
        .decode_failure_samples
        .iter()
        .map(|f| (f.position, f.id.as_deref()))
        .collect();
    assert_eq!(positions, [(1, None), (3, Some("bad-time")), (4, None)]);
    assert!(
        report.decode_failure_samples[0].error.contains("id"),
        "{:?}",
        report.decode_failure_samples[0]
    );
    assert!(report.complete);
}

#[tokio::test]
async fn short_pages_and_a_growing_total_are_reported_and_duplicates_dropped() {
    let server = MockServer::start().await;
    // Page 1 announces 2 pages / 6 messages. By the time page 2 is read, two messages were
    // added at the head: page 2 repeats b and c, and the listing now has 3 pages.
    serve(
        &server,
        1,
        ResponseTemplate::new(200).set_body_json(page(
            vec![message("a", 0), message("b", 1), message("c", 2)],
            1,
            2,
            6,
        )),
    )
    .await;
    serve(
        &server,
        2,
        ResponseTemplate::new(200).set_body_json(page(
            vec![message("b", 1), message("c", 2), message("d", 3)],
            2,
            3,
            8,
        )),
    )
    .await;
    serve(
        &server,
        3,
        ResponseTemplate::new(200).set_body_json(page(vec![message("e", 4)], 3, 3, 8)),
    )
    .await;
    let mut stream = HistoryExport::builder(source(&server))
        .page_size(3)
        .build()
        .unwrap()
        .stream();
    let mut ids = Vec::new();
    while let Some(item) = stream.next().await {
        ids.push(item.unwrap().message.id);
    }
    assert_eq!(
        ids,
        ["a", "b", "c", "d", "e"],
        "page 3 (announced late) was fetched too"
    );
    let report = stream.finished_report().await;
    assert_eq!(report.duplicates, 2);
    assert_eq!(report.total_changes.len(), 1);
    assert_eq!(report.total_changes[0].to_total, Some(8));
    assert_eq!(report.pages_announced, 3);
    assert_eq!(
        report.short_page_count, 1,
        "page 3 should hold 2 of 8 but holds 1"
    );
    assert_eq!(
        (
            report.short_pages[0].page,
            report.short_pages[0].expected,
            report.short_pages[0].received
        ),
        (3, 2, 1)
    );
}

#[tokio::test]
async fn a_failing_first_page_ends_the_stream_with_its_error() {
    let server = MockServer::start().await;
    serve(
        &server,
        1,
        ResponseTemplate::new(401)
            .set_body_json(json!({"message": "expired", "code": "bad.credentials", "status": 401})),
    )
    .await;
    let mut stream = HistoryExport::builder(source(&server))
        .build()
        .unwrap()
        .stream();
    let first = stream.next().await.unwrap();
    assert!(
        matches!(first, Err(ref e @ MessagingError::Page { page: 1, .. }) if e.status() == Some(401))
    );
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn answers_without_paging_figures_are_followed_until_a_short_page() {
    let server = MockServer::start().await;
    serve(
        &server,
        1,
        ResponseTemplate::new(200)
            .set_body_json(json!({"entities": [message("a", 0), message("b", 1)]})),
    )
    .await;
    serve(
        &server,
        2,
        ResponseTemplate::new(200)
            .set_body_json(json!({"entities": [message("c", 2), message("d", 3)]})),
    )
    .await;
    serve(
        &server,
        3,
        ResponseTemplate::new(200).set_body_json(json!({"entities": [message("e", 4)]})),
    )
    .await;
    let mut stream = HistoryExport::builder(source(&server))
        .page_size(2)
        .build()
        .unwrap()
        .stream();
    let mut n = 0;
    while let Some(item) = stream.next().await {
        item.unwrap();
        n += 1;
    }
    assert_eq!(n, 5);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

/// A sink that fails on its second batch.
struct FailingSink;

#[async_trait::async_trait]
impl ArchiveSink<WebMessagingMessage> for FailingSink {
    async fn write_batch(
        &self,
        batch: &ArchiveBatch<WebMessagingMessage>,
    ) -> Result<(), SinkError> {
        if batch.batch == 1 {
            Err(SinkError::Rejected {
                status: 400,
                body_snippet: "no".into(),
                retry_after: None,
            })
        } else {
            Ok(())
        }
    }
    async fn finish(&self) -> Result<(), SinkError> {
        Ok(())
    }
}

#[tokio::test]
async fn a_failed_batch_comes_back_in_the_error() {
    let server = MockServer::start().await;
    serve(
        &server,
        1,
        ResponseTemplate::new(200).set_body_json(page(
            vec![message("a", 0), message("b", 1), message("c", 2)],
            1,
            2,
            5,
        )),
    )
    .await;
    serve(
        &server,
        2,
        ResponseTemplate::new(200).set_body_json(page(
            vec![message("d", 3), message("e", 4)],
            2,
            2,
            5,
        )),
    )
    .await;
    let export = HistoryExport::builder(source(&server))
        .page_size(3)
        .build()
        .unwrap();
    let err = export.archive(&FailingSink, 2).await.unwrap_err();
    match err {
        ArchiveError::Sink {
            batch,
            source,
            report,
        } => {
            assert_eq!(batch.batch, 1);
            assert_eq!(
                batch
                    .messages
                    .iter()
                    .map(|m| m.id.as_str())
                    .collect::<Vec<_>>(),
                ["c", "d"]
            );
            assert_eq!(batch.range(), (2, 3));
            assert!(matches!(source, SinkError::Rejected { status: 400, .. }));
            assert!(!report.complete);
        }
        other => panic!("{other}"),
    }
}

/// `message(id, minute)` times go down as `minute` goes up: serving minutes 8, 7, … lists the
/// history oldest first. The export follows the first page's order, so it reports no
/// violation; the one message out of place on page 2 is still counted.
#[tokio::test]
async fn an_oldest_first_listing_is_detected_and_only_real_violations_count() {
    let server = MockServer::start().await;
    let pages = [
        vec![message("a", 8), message("b", 7), message("c", 6)],
        vec![message("d", 5), message("e", 1), message("f", 4)],
        vec![message("g", 3), message("h", 2), message("i", 0)],
    ];
    for (n, entities) in pages.into_iter().enumerate() {
        let n = n as u32 + 1;
        serve(
            &server,
            n,
            ResponseTemplate::new(200).set_body_json(page(entities, n, 3, 9)),
        )
        .await;
    }
    let mut stream = HistoryExport::builder(source(&server))
        .page_size(3)
        .build()
        .unwrap()
        .stream();
    let mut n = 0;
    while let Some(item) = stream.next().await {
        item.unwrap();
        n += 1;
    }
    let report = stream.finished_report().await;
    assert_eq!(n, 9);
    assert_eq!(
        report.detected_order,
        Some(genesys_messaging::history::TimeOrder::OldestFirst)
    );
    // e (minute 1) comes before f (minute 4): one message is older than the one before it.
    assert_eq!(report.ordering_violations, 1, "{report:?}");
}
