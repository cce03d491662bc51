//! History export against the simulator: completeness, order, duplicates, faults, depth guard,
//! filters, the conversation (bulk) source, and media checks.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use futures::StreamExt;
use genesys_messaging::archive::JsonLinesFile;
use genesys_messaging::history::{
    ConversationHistory, GuestSession, HistoryExport, HistoryExportBuilder, TimeOrder,
};
use genesys_messaging::media::MediaVerifier;
use genesys_messaging::{Direction, MessageType, MessagingError};
use genesys_sim::{Faults, SimOrg};
use retry_policy::Pacer;

async fn collect<S: genesys_messaging::history::HistorySource>(
    export: HistoryExport<S>,
) -> (
    Vec<genesys_messaging::history::ExportedMessage<S::Record>>,
    genesys_messaging::history::HistoryReport,
) {
    let mut stream = export.stream();
    let mut out = Vec::new();
    while let Some(item) = stream.next().await {
        out.push(item.unwrap());
    }
    (out, stream.finished_report().await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_concurrently_under_rate_limit_and_503s_are_complete_in_order_without_duplicates()
 {
    let sim = SimOrg::builder()
        .seed(7)
        .conversations(1)
        .messages_per_conversation(10_000)
        .out_of_order_share(0.0)
        .rate_limit(400.0, 20)
        .faults(Faults {
            server_errors: 0.1,
            ..Faults::default()
        })
        .start()
        .await
        .unwrap();
    // The client paces a little above the limit, so the sim's limiter is exercised too.
    let client = common::sim_client(&sim, Pacer::per_second(500.0, 20));
    let conv = &sim.conversations()[0];
    let source = GuestSession::new(&client, conv.guest_jwt.clone().into(), conv.id.clone());
    let export = HistoryExport::builder(source)
        .page_size(100)
        .concurrency(8)
        .build()
        .unwrap();
    let (messages, report) = collect(export).await;

    assert_eq!(messages.len(), 10_000);
    let ids: HashSet<&str> = messages.iter().map(|m| m.message.id.as_str()).collect();
    assert_eq!(ids.len(), 10_000, "no duplicates");
    let expected: HashSet<String> = sim.message_ids(&conv.id).unwrap().into_iter().collect();
    assert_eq!(
        ids,
        expected.iter().map(String::as_str).collect(),
        "exactly the conversation's messages"
    );
    // In order: pages in page order, positions in page order, and times newest first.
    for pair in messages.windows(2) {
        assert!((pair[0].page, pair[0].position) < (pair[1].page, pair[1].position));
        assert!(pair[0].message.time().unwrap() >= pair[1].message.time().unwrap());
    }
    assert_eq!(report.pages_fetched, 100);
    assert_eq!(report.yielded, 10_000);
    assert_eq!(
        (
            report.duplicates,
            report.ordering_violations,
            report.pages_failed
        ),
        (0, 0, 0)
    );
    assert!(report.complete);
    let stats = sim.stats();
    assert!(stats.faults.server_errors > 0, "503s were injected");
    // The server's own count: every page once, plus one more ask for each 503 and 429.
    assert!(
        stats.total_requests - stats.token_requests
            >= u64::from(report.pages_fetched) + stats.faults.server_errors + stats.rate_limited,
        "every injected error was retried: {report:?} {stats:?}"
    );
    assert!(stats.max_in_flight > 1, "pages were fetched concurrently");
    assert!(
        stats.max_in_flight <= 8 + 1,
        "no more than the concurrency in flight"
    );
}

#[tokio::test]
async fn depth_guard_stops_and_is_reported() {
    let sim = SimOrg::builder()
        .seed(1)
        .conversations(1)
        .messages_per_conversation(1_000)
        .start()
        .await
        .unwrap();
    let client = common::sim_client(&sim, Pacer::unlimited());
    let conv = &sim.conversations()[0];
    let export = HistoryExport::builder(GuestSession::new(
        &client,
        conv.guest_jwt.clone().into(),
        conv.id.clone(),
    ))
    .page_size(50)
    .max_pages(3)
    .build()
    .unwrap();
    let (messages, report) = collect(export).await;
    assert_eq!(messages.len(), 150);
    assert!(report.depth_limit_reached);
    assert_eq!(report.pages_announced, 20);
    assert_eq!(report.pages_fetched, 3);
    assert_eq!(
        sim.stats().count("/api/v2/webmessaging/messages", 200),
        3,
        "no page past the guard was requested"
    );
}

#[tokio::test]
async fn type_direction_and_time_filters() {
    let sim = SimOrg::builder()
        .seed(3)
        .conversations(1)
        .messages_per_conversation(600)
        .start()
        .await
        .unwrap();
    let client = common::sim_client(&sim, Pacer::unlimited());
    let conv = &sim.conversations()[0];
    let source = || GuestSession::new(&client, conv.guest_jwt.clone().into(), conv.id.clone());

    let (all, _) = collect(HistoryExport::builder(source()).build().unwrap()).await;
    assert_eq!(all.len(), 600);
    let mut times: Vec<_> = all.iter().filter_map(|m| m.message.time()).collect();
    times.sort();
    let (since, until) = (times[100], times[400]);

    let export = HistoryExport::builder(source())
        .message_types([MessageType::Text])
        .directions([Direction::Inbound])
        .since(since)
        .until(until)
        .build()
        .unwrap();
    let (kept, report) = collect(export).await;
    let expected = all
        .iter()
        .filter(|m| {
            let t = m.message.time().unwrap();
            m.message.message_type == Some(MessageType::Text)
                && m.message.direction == Some(Direction::Inbound)
                && t >= since
                && t < until
        })
        .count();
    assert!(expected > 0);
    assert_eq!(kept.len(), expected);
    assert_eq!(report.yielded + report.filtered, 600);
    for m in &kept {
        assert_eq!(m.message.message_type, Some(MessageType::Text));
        assert_eq!(m.message.direction, Some(Direction::Inbound));
    }
}

#[tokio::test]
async fn page_size_over_the_maximum_is_refused_before_any_request() {
    let sim = SimOrg::builder()
        .seed(1)
        .conversations(1)
        .messages_per_conversation(10)
        .start()
        .await
        .unwrap();
    let client = common::sim_client(&sim, Pacer::unlimited());
    let conv = &sim.conversations()[0];
    let source = GuestSession::new(&client, conv.guest_jwt.clone().into(), conv.id.clone());
    let err = HistoryExport::builder(source)
        .page_size(101)
        .build()
        .unwrap_err();
    assert!(matches!(
        err,
        MessagingError::PageSizeOutOfRange {
            requested: 101,
            max: 100
        }
    ));
    let source = GuestSession::new(&client, conv.guest_jwt.clone().into(), conv.id.clone());
    assert!(matches!(
        HistoryExport::builder(source).page_size(0).build(),
        Err(MessagingError::PageSizeOutOfRange { .. })
    ));
    assert_eq!(sim.stats().total_requests, 0);
}

/// Settings chosen before the source is known (a recipe's arguments) carry over to the export.
#[tokio::test]
async fn settings_chosen_before_the_source_carry_over() {
    let sim = SimOrg::builder()
        .seed(1)
        .conversations(1)
        .messages_per_conversation(1_000)
        .start()
        .await
        .unwrap();
    let client = common::sim_client(&sim, Pacer::unlimited());
    let conv = &sim.conversations()[0];
    let guest = || GuestSession::new(&client, conv.guest_jwt.clone().into(), conv.id.clone());
    let too_big = HistoryExportBuilder::settings().page_size(101);
    assert!(matches!(
        too_big.source(guest()).build(),
        Err(MessagingError::PageSizeOutOfRange {
            requested: 101,
            max: 100
        })
    ));
    let settings = HistoryExportBuilder::settings()
        .page_size(50)
        .max_pages(3)
        .message_types([MessageType::Text]);
    let (messages, report) = collect(settings.source(guest()).build().unwrap()).await;
    assert_eq!(report.pages_fetched, 3);
    assert!(report.depth_limit_reached);
    assert!(!messages.is_empty() && messages.len() <= 150);
    assert!(
        messages
            .iter()
            .all(|m| m.message.message_type == Some(MessageType::Text))
    );
}

#[tokio::test]
async fn truncated_and_non_json_answers_are_fetched_again() {
    let sim = SimOrg::builder()
        .seed(11)
        .conversations(1)
        .messages_per_conversation(2_000)
        .faults(Faults {
            truncated: 0.15,
            non_json: 0.1,
            ..Faults::default()
        })
        .start()
        .await
        .unwrap();
    let client = common::sim_client(&sim, Pacer::unlimited());
    let conv = &sim.conversations()[0];
    let export = HistoryExport::builder(GuestSession::new(
        &client,
        conv.guest_jwt.clone().into(),
        conv.id.clone(),
    ))
    .concurrency(4)
    .build()
    .unwrap();
    let (messages, report) = collect(export).await;
    let faults = sim.stats().faults;
    assert!(
        faults.truncated + faults.non_json > 0,
        "faults were injected: {faults:?}"
    );
    assert_eq!(messages.len(), 2_000, "{report:?}");
    assert_eq!(report.pages_failed, 0);
}

#[tokio::test]
async fn conversation_source_reads_ids_then_bulk_chunks() {
    let sim = SimOrg::builder()
        .seed(5)
        .conversations(2)
        .messages_per_conversation(2_300)
        .start()
        .await
        .unwrap();
    let client = common::sim_client(&sim, Pacer::unlimited());
    let conv = &sim.conversations()[1];
    let source = ConversationHistory::new(&client, conv.id.clone()).unwrap();
    let export = HistoryExport::builder(source)
        .page_size(1_000)
        .concurrency(3)
        .build()
        .unwrap();
    let (messages, report) = collect(export).await;
    assert_eq!(messages.len(), 2_300);
    let ids: HashSet<String> = messages.iter().map(|m| m.message.id.clone()).collect();
    assert_eq!(
        ids,
        sim.message_ids(&conv.id)
            .unwrap()
            .into_iter()
            .collect::<HashSet<_>>()
    );
    assert!(
        messages
            .iter()
            .all(|m| m.message.conversation_id.as_deref() == Some(conv.id.as_str()))
    );
    let stats = sim.stats();
    let bulk = format!("/api/v2/conversations/messages/{}/messages/bulk", conv.id);
    assert_eq!(
        stats.count(&bulk, 200),
        3,
        "2,300 ids in chunks of at most 1,000"
    );
    assert_eq!(report.pages_fetched, 3);
    let source = ConversationHistory::new(&client, conv.id.clone()).unwrap();
    assert!(matches!(
        HistoryExport::builder(source).page_size(1_001).build(),
        Err(MessagingError::PageSizeOutOfRange { max: 1000, .. })
    ));
    assert!(ConversationHistory::new(&client, "..").is_err());
}

#[tokio::test]
async fn media_checks_find_valid_and_expired_attachments() {
    let sim = SimOrg::builder()
        .seed(9)
        .conversations(1)
        .messages_per_conversation(300)
        .attachment_share(0.3)
        .expired_attachment_share(0.3)
        .start()
        .await
        .unwrap();
    let client = common::sim_client(&sim, Pacer::unlimited());
    let conv = &sim.conversations()[0];
    // The sim serves media on http://127.0.0.1: loopback and http are opted in for the test only.
    let verifier = MediaVerifier::builder()
        .allow_http(true)
        .allow_loopback(true)
        .timeout(Duration::from_secs(2))
        .concurrency(4)
        .build()
        .unwrap();
    let export = HistoryExport::builder(GuestSession::new(
        &client,
        conv.guest_jwt.clone().into(),
        conv.id.clone(),
    ))
    .media_verifier(verifier)
    .build()
    .unwrap();
    let (messages, report) = collect(export).await;
    let with_media = messages.iter().filter(|m| !m.media.is_empty()).count();
    assert!(with_media > 0);
    assert!(report.media.valid > 0, "{:?}", report.media);
    assert!(report.media.expired > 0, "{:?}", report.media);
    assert_eq!(report.media.blocked, 0);
    assert_eq!(
        report.media.checked,
        messages.iter().map(|m| m.media.len() as u64).sum::<u64>()
    );

    // The same export without the loopback opt-in blocks every attachment and fetches none.
    let strict = MediaVerifier::builder().allow_http(true).build().unwrap();
    let export = HistoryExport::builder(GuestSession::new(
        &client,
        conv.guest_jwt.clone().into(),
        conv.id.clone(),
    ))
    .media_verifier(strict)
    .build()
    .unwrap();
    let (_, report) = collect(export).await;
    assert_eq!(report.media.blocked, report.media.checked);
}

#[tokio::test]
async fn sort_window_repairs_out_of_order_messages() {
    let sim = SimOrg::builder()
        .seed(21)
        .conversations(1)
        .messages_per_conversation(1_000)
        .out_of_order_share(0.05)
        .start()
        .await
        .unwrap();
    let client = common::sim_client(&sim, Pacer::unlimited());
    let conv = &sim.conversations()[0];
    let source = || GuestSession::new(&client, conv.guest_jwt.clone().into(), conv.id.clone());
    let (_, raw) = collect(HistoryExport::builder(source()).build().unwrap()).await;
    assert!(
        raw.ordering_violations > 0,
        "the sim shuffled some messages"
    );
    let (sorted, report) = collect(
        HistoryExport::builder(source())
            .sort_window(200)
            .expected_order(TimeOrder::NewestFirst)
            .build()
            .unwrap(),
    )
    .await;
    assert_eq!(sorted.len(), 1_000);
    assert_eq!(
        report.ordering_violations, raw.ordering_violations,
        "violations are counted as received"
    );
    assert!(
        report.ordering_violations_out < raw.ordering_violations,
        "{report:?}"
    );
}

#[tokio::test]
async fn archive_to_json_lines() {
    let sim = SimOrg::builder()
        .seed(2)
        .conversations(1)
        .messages_per_conversation(450)
        .start()
        .await
        .unwrap();
    let client = common::sim_client(&sim, Pacer::unlimited());
    let conv = &sim.conversations()[0];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let sink = JsonLinesFile::create(&path).await.unwrap();
    let export = HistoryExport::builder(GuestSession::new(
        &client,
        conv.guest_jwt.clone().into(),
        conv.id.clone(),
    ))
    .build()
    .unwrap();
    let report = export.archive(&sink, 100).await.unwrap();
    assert_eq!(report.yielded, 450);
    let text = std::fs::read_to_string(&path).unwrap();
    let ids: HashSet<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 450);
}

#[tokio::test]
async fn archive_to_a_signed_webhook_that_fails_at_first() {
    use genesys_messaging::archive::WebhookArchive;
    use hmac::{Hmac, Mac};
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let sim = SimOrg::builder()
        .seed(6)
        .conversations(1)
        .messages_per_conversation(250)
        .start()
        .await
        .unwrap();
    let client = common::sim_client(&sim, Pacer::unlimited());
    let conv = &sim.conversations()[0];
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&hook)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&hook)
        .await;
    let archive = WebhookArchive::builder(hook.uri())
        .secret("hook-secret".to_owned().into())
        .retry_policy(common::fast_policy())
        .build()
        .unwrap();
    let export = HistoryExport::builder(GuestSession::new(
        &client,
        conv.guest_jwt.clone().into(),
        conv.id.clone(),
    ))
    .build()
    .unwrap();
    let report = export.archive(&archive, 100).await.unwrap();
    assert_eq!(report.yielded, 250);

    let requests = hook.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3 + 2, "3 batches, the first sent 3 times");
    let mut keys = HashSet::new();
    let mut ids = HashSet::new();
    for r in &requests {
        // The signed-webhook scheme, recomputed independently: HMAC over "{timestamp}.{body}".
        let ts = r
            .headers
            .get("x-signature-timestamp")
            .unwrap()
            .to_str()
            .unwrap();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"hook-secret").unwrap();
        mac.update(ts.as_bytes());
        mac.update(b".");
        mac.update(&r.body);
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(
            r.headers.get("x-signature-256").unwrap().to_str().unwrap(),
            expected
        );
        keys.insert(
            r.headers
                .get("idempotency-key")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned(),
        );
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["conversationId"], conv.id.as_str());
        for m in body["messages"].as_array().unwrap() {
            ids.insert(m["id"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(keys.len(), 3, "one key per batch, the same on every retry");
    assert_eq!(ids.len(), 250);
}

/// A server that lists the guest history oldest first: the order is taken from the first
/// page's timestamps, so no message is a false "ordering violation" (the default used to be
/// newest first on trust, which counted almost every message).
#[tokio::test]
async fn the_order_is_detected_from_the_first_page_not_taken_on_trust() {
    let sim = SimOrg::builder()
        .seed(12)
        .conversations(1)
        .messages_per_conversation(600)
        .out_of_order_share(0.0)
        .history_order(genesys_sim::HistoryOrder::OldestFirst)
        .start()
        .await
        .unwrap();
    let client = common::sim_client(&sim, Pacer::unlimited());
    let conv = &sim.conversations()[0];
    let source = || GuestSession::new(&client, conv.guest_jwt.clone().into(), conv.id.clone());
    let (messages, report) = collect(HistoryExport::builder(source()).build().unwrap()).await;
    assert_eq!(messages.len(), 600);
    assert_eq!(report.detected_order, Some(TimeOrder::OldestFirst));
    assert_eq!(report.order, Some(TimeOrder::OldestFirst));
    assert_eq!(report.ordering_violations, 0, "{report:?}");
    // An order set by the caller is still what violations are counted against.
    let (_, pinned) = collect(
        HistoryExport::builder(source())
            .expected_order(TimeOrder::NewestFirst)
            .build()
            .unwrap(),
    )
    .await;
    assert_eq!(pinned.order, Some(TimeOrder::NewestFirst));
    assert!(pinned.ordering_violations > 500, "{pinned:?}");
}
