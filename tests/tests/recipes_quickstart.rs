//! End-to-end: the `quickstart` recipe and every recipe's `--help`, run as processes on the
//! embedded simulator (see `recipes_support` for how the examples are built and found).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod recipes_support;

use std::time::Duration;

use recipes_support::{command, run, run_recipe, temp_dir};

const RECIPES: [&str; 7] = [
    "quickstart",
    "history-export",
    "dlq-diagnose",
    "dlq-replay",
    "dead-letter-receiver",
    "webhook-consumer",
    "paced-sender",
];

#[test]
fn every_recipe_has_help() {
    for name in RECIPES {
        let mut cmd = command(name);
        cmd.arg("--help");
        let out = run(cmd, Duration::from_secs(20));
        out.assert_success();
        assert!(out.stdout.contains("Usage:"), "{name}: {}", out.stdout);
        assert!(out.stdout.contains("--sim"), "{name} lacks --sim");
        assert!(
            out.stdout.contains("--log-format"),
            "{name} lacks --log-format"
        );
    }
}

#[test]
fn a_bad_flag_fails_with_a_reason() {
    let out = run_recipe("dlq-replay", &["--only", "sideways"]);
    assert!(!out.status.success());
    assert!(out.stderr.contains("unknown category"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn quickstart_runs_offline_and_its_figures_add_up() {
    let dir = temp_dir();
    let out_dir = dir.path().to_str().unwrap();
    let out = run_recipe("quickstart", &["--out-dir", out_dir, "--report", "json"]);
    out.assert_success();
    assert!(
        out.first_stderr_line()
            .contains("quickstart: simulated mode"),
        "{}",
        out.stderr
    );
    assert!(
        out.elapsed < Duration::from_secs(30),
        "took {:?}",
        out.elapsed
    );
    let r = out.json();

    // The same org the recipe started (seed 42, 5 conversations of 250 messages).
    let sim = genesys_sim::SimOrg::builder()
        .seed(42)
        .conversations(5)
        .messages_per_conversation(250)
        .start()
        .await
        .unwrap();
    let conversations = sim.conversations();
    let first = &conversations[0];

    let history = &r["history"];
    assert_eq!(history["messages"], first.message_count as u64);
    assert_eq!(history["duplicates"], 0);
    assert_eq!(history["pages"], 3); // 250 messages, pages of 100
    assert_eq!(history["archive"]["messages"], history["messages"]);
    assert_eq!(history["archive"]["bad_signatures"], 0);
    let media = &history["media"];
    let checked: u64 = ["valid", "expired", "unreachable", "blocked"]
        .iter()
        .map(|k| media[k].as_u64().unwrap())
        .sum();
    assert!(checked > 0, "no media checked: {media}");
    assert_eq!(
        media["blocked"], 0,
        "loopback media is allowed for the embedded org"
    );
    let lines = std::fs::read_to_string(dir.path().join("history.jsonl")).unwrap();
    assert_eq!(lines.lines().count() as u64, first.message_count as u64);

    let diagnosis = &r["diagnosis"];
    let total = diagnosis["total"].as_u64().unwrap();
    assert_eq!(total, 40);
    let by_category = diagnosis["by_category"].as_object().unwrap();
    for category in [
        "rate_limited",
        "auth_rejected",
        "endpoint_unreachable",
        "target_missing",
        "payload_rejected",
        "unknown",
    ] {
        assert!(
            by_category[category].as_u64().unwrap() > 0,
            "{category} missing"
        );
    }
    assert_eq!(
        by_category
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>(),
        total
    );
    let c = &diagnosis["correlation"];
    let correlated: u64 = ["found", "not_found", "failed", "without_conversation"]
        .iter()
        .map(|k| c[k].as_u64().unwrap())
        .sum();
    assert_eq!(correlated, total);
    assert_eq!(
        c["not_found"], 1,
        "one letter names a conversation the org does not know"
    );
    assert_eq!(c["without_conversation"], 1, "one body is not an event");
    assert_eq!(c["failed"], 0);
    // Every conversation looked up is one of the org's, plus the unknown one.
    assert_eq!(
        c["requested"].as_u64().unwrap(),
        conversations.len() as u64 + 1
    );

    let replay = &r["replay"];
    let (replayed, failed, skipped) = (
        replay["replayed"].as_u64().unwrap(),
        replay["failed"].as_u64().unwrap(),
        replay["skipped"].as_u64().unwrap(),
    );
    assert_eq!(replayed + failed + skipped, total);
    assert_eq!(replayed, diagnosis["replay_safe"].as_u64().unwrap());
    assert_eq!(failed, 0);
    assert_eq!(replay["target_posts"].as_u64().unwrap(), replayed);
    assert_eq!(replay["dlq_left"].as_u64().unwrap(), total - replayed);

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("dlq-report.json")).unwrap())
            .unwrap();
    assert_eq!(report["total"], 40);
    assert!(dir.path().join("dlq-report.md").exists());
}

#[test]
fn quickstart_prints_a_summary_of_each_step() {
    let dir = temp_dir();
    let out = run_recipe("quickstart", &["--out-dir", dir.path().to_str().unwrap()]);
    out.assert_success();
    for step in [
        "1. simulated org",
        "2. history",
        "3. DLQ",
        "4. diagnosis",
        "5. replay",
        "done in",
    ] {
        assert!(
            out.stdout.contains(step),
            "missing {step:?} in:\n{}",
            out.stdout
        );
    }
    assert!(out.stdout.contains("signed batches verified"));
}
