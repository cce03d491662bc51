//! End-to-end: a long-running recipe's `--metrics-listen` endpoint, scraped over HTTP while
//! `webhook-consumer` runs, against the report the same run prints at exit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod recipes_support;

use std::time::{Duration, Instant};

use recipes_support::{Server, command, temp_dir};
use serde_json::json;

/// The sum of the samples of `name` whose labels include every `key="value"`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> u64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            (metric == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\""))))
            .then(|| value.parse::<f64>().ok())
            .flatten()
        })
        .map(|v| v.round() as u64)
        .sum()
}

fn metrics_url(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("metrics: "))
        .unwrap_or_else(|| panic!("no metrics address on stderr:\n{stderr}"))
        .trim()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_consumer_serves_prometheus_metrics_that_match_its_report() {
    let dir = temp_dir();
    let out = dir.path().join("events.jsonl");
    let mut cmd = command("webhook-consumer");
    cmd.args(["--listen", "127.0.0.1:0", "--out", out.to_str().unwrap()])
        .args(["--exit-when-idle", "3", "--metrics-listen", "127.0.0.1:0"])
        .args(["--transient-failure-rate", "0.3", "--seed", "7"])
        .args(["--retry-delay-ms", "50", "--max-receives", "20"])
        .args(["--concurrency", "4", "--report", "json"]);
    let server = Server::start(cmd);
    let url = metrics_url(&server.stderr());
    let http = reqwest::Client::new();

    // 10 events, 2 of them twice, and one without the fields the handler needs.
    let events = format!("{}/events", server.base);
    let mut sent = 0u64;
    for i in 0..10 {
        let body =
            json!({"outboundContactId": format!("c-{i}"), "conversationId": format!("conv-{i}")});
        for _ in 0..(if i < 2 { 2 } else { 1 }) {
            let answer = http
                .post(&events)
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 202);
            sent += 1;
        }
    }
    let answer = http
        .post(&events)
        .body(json!({"outboundContactId": "c-x"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    sent += 1;

    // Scrape while the recipe runs, until every queued message was deleted.
    let started = Instant::now();
    let scrape = loop {
        let text = http.get(&url).send().await.unwrap().text().await.unwrap();
        if sample(&text, "genesys_queue_deletes", &[("outcome", "ok")]) >= sent {
            break text;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "not drained in time:\n{text}\n{}",
            server.stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        scrape.contains("# TYPE messaging_process_duration histogram"),
        "{scrape}"
    );

    let run = server.wait(Duration::from_secs(60));
    run.assert_success();
    let report = run.json();
    let n = |k: &str| report[k].as_u64().unwrap();

    // The scrape and the report count the same run.
    assert_eq!(
        sample(&scrape, "genesys_ingest_answers", &[("outcome", "queued")]),
        sent
    );
    assert_eq!(
        sample(
            &scrape,
            "genesys_ingest_answers",
            &[("http_response_status_code", "202")]
        ),
        sent
    );
    let attrs = [("messaging_system", "aws_sqs")];
    assert_eq!(
        sample(&scrape, "messaging_client_consumed_messages", &attrs),
        n("received"),
        "{scrape}\n{report}"
    );
    let outcome = |o: &str| sample(&scrape, "genesys_consumer_outcomes", &[("outcome", o)]);
    assert_eq!(outcome("retried"), n("retried"), "{scrape}\n{report}");
    assert_eq!(
        outcome("dead_lettered"),
        n("dead_lettered"),
        "{scrape}\n{report}"
    );
    assert_eq!(outcome("duplicate"), n("duplicates"), "{scrape}\n{report}");
    assert_eq!(n("retried"), n("injected_failures"), "{report}");
    assert!(n("retried") > 0, "the run must exercise retries: {report}");
    assert_eq!(
        sample(&scrape, "genesys_queue_deletes", &[("outcome", "ok")]),
        n("deleted")
    );
    assert_eq!(
        sample(&scrape, "genesys_queue_dlq_copies", &[("outcome", "ok")]),
        n("dead_lettered")
    );
    assert_eq!(
        sample(
            &scrape,
            "genesys_queue_visibility_changes",
            &[("reason", "retry")]
        ),
        n("retried")
    );
    // One handler run per receive that reached the handler (duplicates and deferrals aside).
    let runs = sample(&scrape, "messaging_process_duration_count", &attrs);
    assert!(runs > 0 && runs <= n("received"), "{scrape}");
}

fn dead_letter(id: &str) -> String {
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
async fn dead_letter_receiver_serves_metrics_that_match_its_exit_summary() {
    const SECRET: &str = "metrics-test-secret";
    let mut cmd = command("dead-letter-receiver");
    cmd.args(["--listen", "127.0.0.1:0", "--max-attempts", "2"])
        .args(["--metrics-listen", "127.0.0.1:0"])
        .env("DLQ_RECEIVER_SECRET", SECRET);
    let server = Server::start(cmd);
    let url = metrics_url(&server.stderr());
    let route = format!("{}/dead-letter", server.base);
    let http = reqwest::Client::new();
    let post = |code: &'static str, secret: &'static str, id: &str| {
        http.post(&route)
            .bearer_auth(secret)
            .header("x-dlq-error-code", code)
            .body(dead_letter(id))
            .send()
    };
    assert_eq!(
        post("THROTTLING", SECRET, "e1").await.unwrap().status(),
        200
    );
    assert_eq!(post("TIMEOUT", SECRET, "e2").await.unwrap().status(), 200);
    assert_eq!(
        post("NO_PERMISSIONS", SECRET, "e3").await.unwrap().status(),
        422
    );
    assert_eq!(
        post("THROTTLING", "wrong", "e4").await.unwrap().status(),
        401
    );

    let scrape = http.get(&url).send().await.unwrap().text().await.unwrap();
    let outcome = |o: &str| sample(&scrape, "genesys_receiver_requests", &[("outcome", o)]);
    assert_eq!(
        sample(&scrape, "genesys_receiver_received", &[]),
        4,
        "{scrape}"
    );
    assert_eq!(
        (
            outcome("replayed"),
            outcome("skipped"),
            outcome("unauthenticated")
        ),
        (2, 1, 1),
        "{scrape}"
    );
    let replay = |o: &str| sample(&scrape, "genesys_replay_outcomes", &[("outcome", o)]);
    assert_eq!((replay("replayed"), replay("skipped")), (2, 1), "{scrape}");

    let out = server.terminate();
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stdout
            .contains("received 4: replayed 2, skipped 1, replay failed 0, refused 1"),
        "{}",
        out.stdout
    );
}
