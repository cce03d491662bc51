//! End-to-end: the `paced-sender` recipe on the embedded simulator (rate limited, with the
//! `Retry-After: 0` quirk).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod recipes_support;

use recipes_support::run_recipe;

#[test]
fn sends_everything_in_order_under_the_org_limit() {
    let run = run_recipe(
        "paced-sender",
        &[
            "--messages",
            "60",
            "--conversations",
            "4",
            "--workers",
            "3",
            "--rate",
            "100",
            "--sim-rate-limit",
            "40",
            "--report",
            "json",
        ],
    );
    run.assert_success();
    assert!(
        run.first_stderr_line()
            .contains("paced-sender: simulated mode"),
        "{}",
        run.stderr
    );
    let r = run.json();
    assert_eq!(r["sent"], 60);
    assert_eq!(r["failed"], 0);
    assert_eq!(r["order_ok"], true);
    assert!(r["rate_limited"].is_u64());
    let rps = r["achieved_rps"].as_f64().unwrap();
    assert!(rps > 0.0, "{rps}");
    assert!(r["elapsed_ms"].as_u64().unwrap() > 0);
}

#[test]
fn a_real_org_without_targets_is_refused() {
    let mut cmd = recipes_support::command("paced-sender");
    cmd.env("GENESYSCLOUD_OAUTHCLIENT_ID", "id")
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "secret")
        .env("GENESYSCLOUD_API_URL", "http://127.0.0.1:9");
    let run = recipes_support::run(cmd, std::time::Duration::from_secs(30));
    assert!(!run.status.success());
    assert!(
        run.first_stderr_line().contains("real services"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--target"), "{}", run.stderr);
}
