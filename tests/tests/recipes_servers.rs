//! End-to-end: the long-running recipes, `dead-letter-receiver` and `webhook-consumer`,
//! started as processes, exercised over HTTP with reqwest, and stopped (SIGTERM, or the
//! consumer's `--exit-when-idle`); the consumer also against moto's SQS when
//! `AWS_ENDPOINT_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod recipes_support;

use std::collections::HashSet;
use std::time::Duration;

use recipes_support::{Server, command, moto_endpoint, temp_dir};
use serde_json::{Value, json};
use sqs_dlq::queue::{Queue, QueueSettings, SqsQueue};

const SECRET: &str = "receiver-test-secret";

fn event(id: &str) -> String {
    json!({
        "version": "0", "id": id, "detail-type": "v2.conversations.{id}.transcription",
        "source": "aws.partner/genesys.com/cloud/org/recipes", "account": "123456789012",
        "time": "2026-11-22T10:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"topicName": "v2.conversations.5f1c7a3e-9b2d-4c1a-8e3f-0a1b2c3d4e5f.transcription",
                   "version": "2", "eventBody": {"conversationId": "5f1c7a3e-9b2d-4c1a-8e3f-0a1b2c3d4e5f"}}
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn dead_letter_receiver_authenticates_and_replays() {
    let mut cmd = command("dead-letter-receiver");
    cmd.args(["--listen", "127.0.0.1:0", "--max-attempts", "2"])
        .env("DLQ_RECEIVER_SECRET", SECRET);
    let server = Server::start(cmd);
    assert!(
        server
            .stderr()
            .starts_with("dead-letter-receiver: simulated mode"),
        "{}",
        server.stderr()
    );
    let url = format!("{}/dead-letter", server.base);
    let http = reqwest::Client::new();

    // Bearer + attributes in headers: a throttled event is replayed.
    let answer = http
        .post(&url)
        .bearer_auth(SECRET)
        .header("x-dlq-error-code", "THROTTLING")
        .header("x-dlq-retry-attempts", "3")
        .body(event("e1"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["status"], "processed");
    assert_eq!(body["attempt"], 4, "RETRY_ATTEMPTS + 1");

    // HMAC over "{timestamp}.{body}", wrapper shape.
    let wrapper =
        json!({"event": event("e2"), "attributes": {"ERROR_CODE": "TIMEOUT"}, "messageId": "m2"})
            .to_string();
    let ts = now();
    let answer = http
        .post(&url)
        .header("x-signature-timestamp", ts.to_string())
        .header(
            "x-signature-256",
            sqs_dlq::http::timestamped_signature(SECRET.as_bytes(), ts, wrapper.as_bytes()),
        )
        .body(wrapper.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);

    // The old form, HMAC over the body alone, is refused by default; so is a stale timestamp.
    let body_only = http
        .post(&url)
        .header(
            "x-signature-256",
            sqs_dlq::http::signature(SECRET.as_bytes(), wrapper.as_bytes()),
        )
        .body(wrapper.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(body_only.status(), 401);
    let answer: Value = body_only.json().await.unwrap();
    assert_eq!(answer["error"], "signature_timestamp_missing");
    let old = ts - 3600;
    let stale = http
        .post(&url)
        .header("x-signature-timestamp", old.to_string())
        .header(
            "x-signature-256",
            sqs_dlq::http::timestamped_signature(SECRET.as_bytes(), old, wrapper.as_bytes()),
        )
        .body(wrapper)
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 401);

    // No credentials, wrong secret, unsafe category, not an event.
    let no_auth = http.post(&url).body(event("e3")).send().await.unwrap();
    assert_eq!(no_auth.status(), 401);
    let wrong = http
        .post(&url)
        .bearer_auth("nope")
        .body(event("e3"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let unsafe_category = http
        .post(&url)
        .bearer_auth(SECRET)
        .header("x-dlq-error-code", "NO_PERMISSIONS")
        .body(event("e4"))
        .send()
        .await
        .unwrap();
    assert_eq!(unsafe_category.status(), 422);
    let not_event = http
        .post(&url)
        .bearer_auth(SECRET)
        .body("{\"a\":1}")
        .send()
        .await
        .unwrap();
    assert_eq!(not_event.status(), 400);
    let too_big = http
        .post(&url)
        .bearer_auth(SECRET)
        .body(vec![b' '; 300 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), 413);

    let out = server.terminate();
    assert!(out.status.success(), "{}", out.stderr);
    // The counters, printed at exit: 2 replayed, 1 skipped, 1 not an event, 1 too large and
    // 4 unauthenticated (none, body-only, stale, wrong bearer), 1 of them expired.
    assert!(
        out.stdout.contains(
            "received 9: replayed 2, skipped 1, replay failed 0, refused 6 (unauthenticated 4, \
             of which expired 1; too large 1; invalid JSON 0; not a dead letter 1; unreadable 0; \
             timed out 0; busy 0)"
        ),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dead_letter_receiver_body_only_signatures_is_an_opt_out() {
    let mut cmd = command("dead-letter-receiver");
    cmd.args([
        "--listen",
        "127.0.0.1:0",
        "--max-attempts",
        "1",
        "--body-only-signatures",
        "--timestamp-tolerance-secs",
        "60",
    ])
    .env("DLQ_RECEIVER_SECRET", SECRET);
    let server = Server::start(cmd);
    let url = format!("{}/dead-letter", server.base);
    let http = reqwest::Client::new();
    let body = event("e5");
    let post = |sig: String, ts: Option<i64>| {
        let mut request = http
            .post(&url)
            .header("x-dlq-error-code", "THROTTLING")
            .header("x-signature-256", sig)
            .body(body.clone());
        if let Some(ts) = ts {
            request = request.header("x-signature-timestamp", ts.to_string());
        }
        request.send()
    };
    let body_only = sqs_dlq::http::signature(SECRET.as_bytes(), body.as_bytes());
    assert_eq!(post(body_only, None).await.unwrap().status(), 200);
    // Timestamped requests are still held to the window (60 s here).
    let old = now() - 120;
    let stale = sqs_dlq::http::timestamped_signature(SECRET.as_bytes(), old, body.as_bytes());
    assert_eq!(post(stale, Some(old)).await.unwrap().status(), 401);
    let out = server.terminate();
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stdout.contains("received 2: replayed 1"),
        "{}",
        out.stdout
    );
}

use genesys_integration_tests::unix_now as now;

#[test]
fn dead_letter_receiver_needs_a_secret() {
    let mut cmd = command("dead-letter-receiver");
    cmd.env_remove("DLQ_RECEIVER_SECRET")
        .args(["--listen", "127.0.0.1:0"]);
    let out = recipes_support::run(cmd, Duration::from_secs(20));
    assert!(!out.status.success());
    assert!(out.stderr.contains("--secret"), "{}", out.stderr);
}

fn written_pairs(path: &std::path::Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["outboundContactId"].as_str().unwrap().to_owned(),
                v["conversationId"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Posts the drill's events: 12 distinct pairs (in three shapes), 4 repeats, 2 without the
/// fields; returns the distinct pairs.
async fn post_events(base: &str) -> HashSet<(String, String)> {
    let http = reqwest::Client::new();
    let url = format!("{base}/events");
    let mut pairs = HashSet::new();
    for i in 0..12 {
        let (contact, conversation) = (format!("contact-{i}"), format!("conv-{}", i % 5));
        pairs.insert((contact.clone(), conversation.clone()));
        let fields = json!({"outboundContactId": contact, "conversationId": conversation, "wrapupCode": "ok"});
        let body = match i % 3 {
            0 => fields,
            1 => json!({"topicName": "v2.outbound.campaigns", "eventBody": fields}),
            _ => json!({"detail": {"eventBody": fields}}),
        };
        let answer = http.post(&url).body(body.to_string()).send().await.unwrap();
        assert_eq!(answer.status(), 202);
        if i < 4 {
            let again = http.post(&url).body(body.to_string()).send().await.unwrap();
            assert_eq!(again.status(), 202);
        }
    }
    for body in [json!({"outboundContactId": "c-x"}), json!([1, 2, 3])] {
        assert_eq!(
            http.post(&url)
                .body(body.to_string())
                .send()
                .await
                .unwrap()
                .status(),
            202
        );
    }
    let bad = http.post(&url).body("not json").send().await.unwrap();
    assert_eq!(bad.status(), 400, "the ingest refuses what is not JSON");
    pairs
}

fn consumer(out: &std::path::Path, failure_rate: &str, extra: &[&str]) -> std::process::Command {
    let mut cmd = command("webhook-consumer");
    cmd.args([
        "--listen",
        "127.0.0.1:0",
        "--out",
        out.to_str().unwrap(),
        "--exit-when-idle",
        "1.5",
    ])
    .args([
        "--transient-failure-rate",
        failure_rate,
        "--seed",
        "7",
        "--retry-delay-ms",
        "50",
    ])
    .args([
        "--max-receives",
        "20",
        "--concurrency",
        "4",
        "--report",
        "json",
    ])
    .args(extra);
    cmd
}

fn check_run(report: &Value, pairs: &HashSet<(String, String)>, out: &std::path::Path) {
    let n = |k: &str| report[k].as_u64().unwrap();
    assert_eq!(n("written"), pairs.len() as u64, "{report}");
    assert_eq!(n("missing_fields"), 2, "{report}");
    assert_eq!(n("dead_lettered"), 2, "{report}");
    assert_eq!(n("dlq_depth"), 2, "{report}");
    assert_eq!(n("queue_left"), 0, "{report}");
    assert!(n("injected_failures") > 0, "{report}");
    assert_eq!(n("retried"), n("injected_failures"), "{report}");
    // 18 messages entered the queue; each was deleted once (written, a duplicate, or copied
    // to the DLQ first).
    assert_eq!(n("deleted"), 18, "{report}");
    let written = written_pairs(out);
    let distinct: HashSet<_> = written.iter().cloned().collect();
    assert_eq!(written.len(), distinct.len(), "each pair once");
    assert_eq!(&distinct, pairs);
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_consumer_writes_each_event_once_and_survives_a_restart() {
    let dir = temp_dir();
    let out = dir.path().join("events.jsonl");
    let server = Server::start(consumer(&out, "0.3", &[]));
    assert!(
        server
            .stderr()
            .starts_with("webhook-consumer: simulated mode"),
        "{}",
        server.stderr()
    );
    let pairs = post_events(&server.base).await;
    let run = server.wait(Duration::from_secs(60));
    run.assert_success();
    check_run(&run.json(), &pairs, &out);

    // A second run over the same file: the same events are acknowledged, not written again.
    let server = Server::start(consumer(&out, "0", &[]));
    post_events(&server.base).await;
    let run = server.wait(Duration::from_secs(60));
    run.assert_success();
    let r = run.json();
    assert_eq!(r["written"], 0, "{r}");
    assert_eq!(r["already_written"], pairs.len() as u64, "{r}");
    assert_eq!(written_pairs(&out).len(), pairs.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_consumer_sigterm_drains_what_the_in_memory_ingest_accepted() {
    // SIGTERM right after the last 202, while events still wait on the in-memory queue (30%
    // of attempts fail and back off): the ingest closes first, then the consumer handles
    // everything accepted before the process exits, since an in-memory queue dies with it.
    let dir = temp_dir();
    let out = dir.path().join("events.jsonl");
    let server = Server::start(consumer(&out, "0.3", &["--drain-secs", "30"]));
    let pairs = post_events(&server.base).await;
    let run = server.terminate();
    run.assert_success();
    check_run(&run.json(), &pairs, &out);
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_consumer_handles_a_webhook_accepted_as_it_went_idle() {
    // In-memory mode with --exit-when-idle: the consumer stops on its own, and the ingest closes
    // after it. A webhook answered 202 in between sits on the in-memory queue; it must be handled
    // before the process exits, not lost with it. A hidden test knob keeps the ingest open for
    // 5 s after the idle stop, so the test can land a webhook in that window every time.
    let dir = temp_dir();
    let out = dir.path().join("events.jsonl");
    let mut cmd = command("webhook-consumer");
    cmd.args(["--listen", "127.0.0.1:0", "--out", out.to_str().unwrap()])
        .args(["--exit-when-idle", "0.3", "--ingest-linger-ms", "5000"])
        .args(["--wait-secs", "1", "--report", "json"])
        .env("RUST_LOG", "info"); // the test waits for the consumer's "queue idle" line
    let server = Server::start(cmd);
    let http = reqwest::Client::new();
    let url = format!("{}/events", server.base);
    let post = |contact: &'static str| {
        let body = json!({"outboundContactId": contact, "conversationId": "conv-late"});
        http.post(&url).body(body.to_string()).send()
    };
    assert_eq!(post("contact-early").await.unwrap().status(), 202);
    let waited = std::time::Instant::now();
    while !server.stderr().contains("queue idle; stopping") {
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "the consumer never went idle:\n{}",
            server.stderr()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        post("contact-late").await.unwrap().status(),
        202,
        "the ingest is still open after the consumer's idle stop"
    );
    let run = server.wait(Duration::from_secs(60));
    run.assert_success();
    let report = run.json();
    assert_eq!(report["written"], 2, "{report}\n{}", run.stderr);
    assert_eq!(report["queue_left"], 0, "{report}");
    assert_eq!(report["received"], 2, "counted over both runs: {report}");
    assert!(
        run.stderr
            .contains("webhooks arrived as the consumer went idle"),
        "{}",
        run.stderr
    );
    let written = written_pairs(&out);
    assert!(
        written.contains(&("contact-late".to_owned(), "conv-late".to_owned())),
        "{written:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_consumer_against_moto_sqs() {
    let Some(_endpoint) = moto_endpoint("webhook_consumer_against_moto_sqs") else {
        return;
    };
    let client = SqsQueue::default_client().await;
    let suffix = format!(
        "{}-{:x}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let settings = QueueSettings::new().visibility_timeout(Duration::from_secs(5));
    let queue = SqsQueue::create(
        client.clone(),
        &format!("recipes-hooks-{suffix}"),
        &settings,
    )
    .await
    .unwrap();
    let dlq = SqsQueue::create(client, &format!("recipes-hooks-dlq-{suffix}"), &settings)
        .await
        .unwrap();
    let dir = temp_dir();
    let out = dir.path().join("events.jsonl");
    let server = Server::start(consumer(
        &out,
        "0.3",
        &[
            "--queue-url",
            queue.url(),
            "--dlq-url",
            dlq.url(),
            "--wait-secs",
            "1",
        ],
    ));
    assert!(
        server
            .stderr()
            .starts_with("webhook-consumer: real services"),
        "{}",
        server.stderr()
    );
    let pairs = post_events(&server.base).await;
    let run = server.wait(Duration::from_secs(90));
    run.assert_success();
    check_run(&run.json(), &pairs, &out);
    assert_eq!(dlq.approximate_depth().await.unwrap().total(), 2);
    queue.delete_queue().await.unwrap();
    dlq.delete_queue().await.unwrap();
}
