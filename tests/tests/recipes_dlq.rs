//! End-to-end: `dlq-diagnose` and `dlq-replay` on their embedded DLQ (generated dead letters
//! about the simulated org's conversations), and against moto's SQS when `AWS_ENDPOINT_URL`
//! is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod recipes_support;

use std::collections::{BTreeMap, HashSet};

use recipes_support::{moto_endpoint, run_recipe, temp_dir};
use serde_json::Value;
use sqs_dlq::queue::{OutgoingMessage, Queue, QueueSettings, SqsQueue};

const CATEGORIES: [&str; 8] = [
    "rate_limited",
    "auth_rejected",
    "endpoint_unreachable",
    "target_missing",
    "payload_rejected",
    "transient",
    "misconfigured",
    "unknown",
];

/// The categories whose events are replayed unchanged without `--force`.
const REPLAY_SAFE: [&str; 3] = ["rate_limited", "endpoint_unreachable", "transient"];

/// Conversation ids of the org dlq-diagnose starts by default (seed 42, 5 conversations).
async fn org_conversations() -> HashSet<String> {
    let org = genesys_sim::SimOrg::builder()
        .seed(42)
        .conversations(5)
        .messages_per_conversation(20)
        .start()
        .await
        .unwrap();
    org.conversations().into_iter().map(|c| c.id).collect()
}

fn counts(report: &Value) -> BTreeMap<String, u64> {
    report["by_category"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn diagnose_categorizes_correlates_and_writes_payloads() {
    let dir = temp_dir();
    let report_path = dir.path().join("report.json");
    let payloads = dir.path().join("payloads");
    let run = run_recipe(
        "dlq-diagnose",
        &[
            "--correlate",
            "--report",
            report_path.to_str().unwrap(),
            "--payloads",
            payloads.to_str().unwrap(),
        ],
    );
    run.assert_success();
    assert!(
        run.first_stderr_line()
            .contains("dlq-diagnose: simulated mode"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("diagnosed 30 dead letter(s)"),
        "{}",
        run.stdout
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    assert_eq!(report["version"], 1);
    assert!(report["generated_at"].is_string());
    assert_eq!(report["total"], 30);
    let by_category = counts(&report);
    for c in CATEGORIES {
        assert!(by_category[c] > 0, "{c} missing: {by_category:?}");
    }
    assert_eq!(by_category.values().sum::<u64>(), 30);

    let known = org_conversations().await;
    let records = report["records"].as_array().unwrap();
    assert_eq!(records.len(), 30);
    let mut found = 0;
    for r in records {
        for key in [
            "message_id",
            "category",
            "error_code",
            "topic",
            "conversation_id",
            "replay_safe",
            "correlated",
        ] {
            assert!(r.get(key).is_some(), "record lacks {key}: {r}");
        }
        let category = r["category"].as_str().unwrap();
        assert!(CATEGORIES.contains(&category));
        assert_eq!(r["replay_safe"], REPLAY_SAFE.contains(&category));
        if let Some(id) = r["conversation_id"].as_str() {
            assert!(r["topic"].as_str().unwrap().contains(id), "{r}");
            if known.contains(id) {
                found += 1;
                assert_eq!(r["correlated"]["conversationId"], id, "{r}");
            } else {
                assert!(r["correlated"].is_null());
            }
        }
        // The payload file holds the body byte for byte.
        let file = payloads.join(format!("{}.json", r["message_id"].as_str().unwrap()));
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            r["original_body"].as_str().unwrap()
        );
    }
    assert_eq!(found, 28, "28 letters name one of the org's conversations");
    assert_eq!(report["correlation"]["found"], 28);
    assert_eq!(report["correlation"]["not_found"], 1);
    assert_eq!(std::fs::read_dir(&payloads).unwrap().count(), 30);
}

#[test]
fn diagnose_summary_max_and_ack() {
    let run = run_recipe("dlq-diagnose", &["--summary", "--max", "5"]);
    run.assert_success();
    assert!(
        run.stdout.starts_with("# Dead-letter diagnosis"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("5 message(s)"), "{}", run.stdout);

    let run = run_recipe("dlq-diagnose", &["--ack"]);
    run.assert_success();
    assert!(
        run.stdout.contains("deleted 30, released 0"),
        "{}",
        run.stdout
    );

    let run = run_recipe("dlq-diagnose", &["--report", "-"]);
    run.assert_success();
    assert_eq!(run.json()["total"], 30);
    assert_eq!(run.json()["correlation"]["requested"], 0, "no --correlate");
}

#[test]
fn replay_counts_add_up_for_every_policy() {
    let diagnosed = run_recipe("dlq-diagnose", &["--report", "-"]);
    diagnosed.assert_success();
    let by_category = counts(&diagnosed.json());
    let safe: u64 = REPLAY_SAFE.iter().map(|c| by_category[*c]).sum();

    let replay_n = |args: &[&str], total: u64| {
        let mut all = vec!["--report", "json"];
        all.extend_from_slice(args);
        let run = run_recipe("dlq-replay", &all);
        run.assert_success();
        let r = run.json();
        let n = |k: &str| r[k].as_u64().unwrap();
        assert_eq!(n("replayed") + n("failed") + n("skipped"), total, "{r}");
        (n("replayed"), n("failed"), n("skipped"))
    };
    let replay = |args: &[&str]| replay_n(args, 30);
    assert_eq!(replay(&[]), (safe, 0, 30 - safe));
    assert_eq!(replay(&["--dry-run"]), (0, 0, 30));
    assert_eq!(
        replay(&["--only", "rate_limited"]),
        (
            by_category["rate_limited"],
            0,
            30 - by_category["rate_limited"]
        )
    );
    // Forced: everything is sent; the body that is not JSON is refused by the local target.
    assert_eq!(replay(&["--force"]), (29, 1, 0));
    let (replayed, failed, skipped) = replay_n(&["--max", "10", "--force"], 10);
    assert_eq!((replayed + failed, skipped), (10, 0));
    assert_eq!(
        replay(&["--to-queue", "genesys-events"]),
        (safe, 0, 30 - safe)
    );
}

fn event(conversation: &str, n: usize) -> String {
    serde_json::json!({
        "version": "0", "id": format!("evt-{n}"),
        "detail-type": "v2.conversations.{id}.transcription",
        "source": "aws.partner/genesys.com/cloud/org/recipes", "account": "123456789012",
        "time": "2026-11-22T10:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"topicName": format!("v2.conversations.{conversation}.transcription"),
                   "version": "2", "eventBody": {"conversationId": conversation},
                   "metadata": {"CorrelationId": format!("c-{n}")}, "timestamp": "2026-11-22T10:00:00.000Z"}
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn diagnose_and_replay_against_moto_sqs() {
    let Some(_endpoint) = moto_endpoint("diagnose_and_replay_against_moto_sqs") else {
        return;
    };
    let client = SqsQueue::default_client().await;
    let suffix = format!("{}-{}", std::process::id(), uuid_ish());
    let dlq = SqsQueue::create(
        client.clone(),
        &format!("recipes-dlq-{suffix}"),
        &QueueSettings::new(),
    )
    .await
    .unwrap();
    let source = SqsQueue::create(
        client,
        &format!("recipes-src-{suffix}"),
        &QueueSettings::new(),
    )
    .await
    .unwrap();
    let conversations: Vec<String> = org_conversations().await.into_iter().collect();
    let families = [
        ("THROTTLING", "rate exceeded"),
        ("TIMEOUT", "timed out"),
        ("NO_PERMISSIONS", "not authorized"),
        ("NO_RESOURCE", "does not exist"),
        ("INVALID_JSON", "bad input"),
        ("INTERNAL_ERROR", "internal error"),
        ("THIRD_ACCOUNT_HOP_DETECTED", "third account hop"),
        ("UNKNOWN", "no idea"),
    ];
    let letters: Vec<OutgoingMessage> = families
        .iter()
        .enumerate()
        .map(|(i, (code, message))| {
            OutgoingMessage::new(event(&conversations[i % conversations.len()], i))
                .with_attribute("ERROR_CODE", *code)
                .with_attribute("ERROR_MESSAGE", *message)
                .with_number_attribute("RETRY_ATTEMPTS", 185)
        })
        .collect();
    assert!(dlq.send_batch(letters).await.unwrap().all_ok());

    let dir = temp_dir();
    let report_path = dir.path().join("report.json");
    let run = run_recipe(
        "dlq-diagnose",
        &[
            "--queue-url",
            dlq.url(),
            "--correlate",
            "--report",
            report_path.to_str().unwrap(),
        ],
    );
    run.assert_success();
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    assert_eq!(report["total"], 8);
    let by_category = counts(&report);
    for c in CATEGORIES {
        assert_eq!(by_category[c], 1, "{c}: {by_category:?}");
    }
    assert_eq!(report["correlation"]["found"], 8);
    // Non-destructive: everything is still there.
    assert_eq!(dlq.approximate_depth().await.unwrap().total(), 8);

    let run = run_recipe(
        "dlq-replay",
        &[
            "--queue-url",
            dlq.url(),
            "--to-queue",
            source.url(),
            "--report",
            "json",
        ],
    );
    run.assert_success();
    let r = run.json();
    assert_eq!(
        (
            r["replayed"].as_u64(),
            r["failed"].as_u64(),
            r["skipped"].as_u64()
        ),
        (Some(3), Some(0), Some(5))
    );
    assert_eq!(dlq.approximate_depth().await.unwrap().total(), 5);
    assert_eq!(source.approximate_depth().await.unwrap().total(), 3);
    dlq.delete_queue().await.unwrap();
    source.delete_queue().await.unwrap();
}

fn uuid_ish() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{nanos:x}")
}
