//! End-to-end: the `history-export` recipe on the embedded simulator.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod recipes_support;

use recipes_support::{run_recipe, temp_dir};

/// The org the recipe starts by default (seed 42, 5 conversations of 300 messages).
async fn default_org() -> genesys_sim::SimOrg {
    genesys_sim::SimOrg::builder()
        .seed(42)
        .conversations(5)
        .messages_per_conversation(300)
        .start()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn exports_the_first_conversation_with_media_checks() {
    let dir = temp_dir();
    let out = dir.path().join("history.jsonl");
    let run = run_recipe(
        "history-export",
        &[
            "--out",
            out.to_str().unwrap(),
            "--verify-media",
            "--report",
            "json",
        ],
    );
    run.assert_success();
    assert!(
        run.first_stderr_line()
            .contains("history-export: simulated mode"),
        "{}",
        run.stderr
    );
    let r = run.json();
    let org = default_org().await;
    let first = &org.conversations()[0];
    assert_eq!(r["messages"], first.message_count as u64);
    assert_eq!(r["pages"], 3);
    assert_eq!(r["filtered"], 0);
    assert_eq!(r["duplicates"], 0);
    assert_eq!(r["depth_limit_reached"], false);
    assert!(r["elapsed_ms"].is_u64());
    for key in ["rate_limited", "retries", "ordering_violations"] {
        assert!(r[key].is_u64(), "{key}");
    }
    let media = &r["media"];
    assert!(media["valid"].as_u64().unwrap() > 0, "{media}");
    assert_eq!(media["blocked"], 0);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len() as u64, first.message_count as u64);
    let ids: std::collections::HashSet<&str> =
        lines.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), lines.len(), "every message once");
}

#[test]
fn the_type_filter_and_the_depth_guard_are_reported() {
    let run = run_recipe("history-export", &["--types", "text", "--report", "json"]);
    run.assert_success();
    let r = run.json();
    assert!(r["filtered"].as_u64().unwrap() > 0);
    assert_eq!(
        r["messages"].as_u64().unwrap() + r["filtered"].as_u64().unwrap(),
        300
    );

    let run = run_recipe(
        "history-export",
        &["--max-pages", "2", "--page-size", "50", "--report", "json"],
    );
    run.assert_success();
    let r = run.json();
    assert_eq!(r["depth_limit_reached"], true);
    assert_eq!(r["pages"], 2);
    assert_eq!(r["messages"], 100);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_agent_side_exports_a_conversation_by_id() {
    let org = default_org().await;
    let third = &org.conversations()[2];
    let run = run_recipe(
        "history-export",
        &[
            "--conversation",
            &third.id,
            "--page-size",
            "100",
            "--report",
            "json",
        ],
    );
    run.assert_success();
    assert_eq!(run.json()["messages"], third.message_count as u64);
}

#[test]
fn an_unknown_conversation_fails_with_one_line() {
    let run = run_recipe(
        "history-export",
        &["--conversation", "00000000-0000-4000-8000-000000000000"],
    );
    assert!(!run.status.success());
    let last = run.stderr.lines().last().unwrap();
    assert!(last.starts_with("history-export: error:"), "{}", run.stderr);
    assert!(last.contains("404"), "{last}");
}

/// A guest JWT with real settings (GENESYSCLOUD_API_URL) and no OAuth client means the real
/// guest API: the recipe must not start its embedded simulator (which would refuse the JWT
/// with a 401). A separately started sim plays the platform here.
#[tokio::test(flavor = "multi_thread")]
async fn a_guest_jwt_with_real_settings_uses_the_real_guest_api() {
    let platform = genesys_sim::SimOrg::builder()
        .seed(9)
        .conversations(2)
        .messages_per_conversation(120)
        .start()
        .await
        .unwrap();
    let conv = &platform.conversations()[1];
    let mut cmd = recipes_support::command("history-export");
    cmd.env("GENESYSCLOUD_API_URL", platform.base_url()).args([
        "--guest-jwt",
        &conv.guest_jwt,
        "--report",
        "json",
    ]);
    let run = tokio::task::spawn_blocking(move || {
        recipes_support::run(cmd, std::time::Duration::from_secs(60))
    })
    .await
    .unwrap();
    run.assert_success();
    assert!(
        run.first_stderr_line()
            .contains("history-export: real services"),
        "{}",
        run.stderr
    );
    assert_eq!(run.json()["messages"], 120);
    assert!(
        platform.stats().total_requests > 0,
        "the platform was asked"
    );
}
