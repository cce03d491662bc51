//! End-to-end: the `web-messaging-test` recipe on the embedded simulator's guest WebSocket.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod recipes_support;

use recipes_support::{run_recipe, temp_dir};

#[test]
fn with_no_arguments_the_bundled_sample_passes() {
    let run = run_recipe("web-messaging-test", &[]);
    run.assert_success();
    assert!(
        run.first_stderr_line()
            .contains("web-messaging-test: simulated mode"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("PASS greeting-and-options (5/5 steps"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("1 script(s): 1 passed, 0 failed"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_wrong_expectation_fails_with_a_readable_transcript_and_junit() {
    let dir = temp_dir();
    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        r#"{"name": "good", "steps": [{"say": "hello", "expect": "help"}, {"say": "card", "expect_content": "Card"}]}"#,
    )
    .unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "name: bad\ntimeout_ms: 300\nsteps:\n  - say: hello\n    expect: weather forecast\n  - say: bye\n    expect: goodbye\n",
    )
    .unwrap();
    let junit = dir.path().join("results.xml");
    let run = run_recipe(
        "web-messaging-test",
        &[
            good.to_str().unwrap(),
            bad.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
        ],
    );
    assert!(
        !run.status.success(),
        "a failed step must fail the run:\n{}",
        run.stdout
    );
    // The passing script is reported as such, concurrently with the failing one.
    assert!(
        run.stdout.contains("PASS good (2/2 steps"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("FAIL bad (0/2 steps"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("FAIL step 1: say \"hello\", expect \"weather forecast\""),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("no matching reply within 300 ms"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("skip step 2"), "{}", run.stdout);
    // The transcript shows what the bot did say.
    assert!(run.stdout.contains(">> guest: hello"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("<< bot: Hello! How can I help you today?"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("1 script(s) failed"), "{}", run.stderr);

    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("tests=\"4\" failures=\"1\""), "{xml}");
    assert!(xml.contains("<testsuite name=\"bad\""), "{xml}");
    assert!(
        xml.contains("<failure message=\"no matching reply within 300 ms"),
        "{xml}"
    );
    assert!(xml.contains("<skipped/>"), "{xml}");
}

#[test]
fn an_invalid_script_is_refused_before_anything_runs() {
    let dir = temp_dir();
    let bad = dir.path().join("typo.yaml");
    std::fs::write(&bad, "name: t\nsteps:\n  - sey: hello\n").unwrap();
    let run = run_recipe("web-messaging-test", &[bad.to_str().unwrap()]);
    assert!(!run.status.success());
    assert!(run.stderr.contains("typo.yaml"), "{}", run.stderr);
}

#[test]
fn history_export_opens_a_guest_session_on_a_deployment() {
    let run = run_recipe(
        "history-export",
        &["--deployment-id", "sim-deployment", "--report", "json"],
    );
    run.assert_success();
    let r = run.json();
    // A new session has no history yet: one empty page, read with the session's own JWT.
    assert_eq!(r["pages"], 1);
    assert_eq!(r["messages"], 0);
}
