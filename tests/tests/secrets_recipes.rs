//! No client secret, access token or guest JWT appears in anything a recipe writes, with
//! `RUST_LOG=trace` (every crate's most verbose logging, dependencies included): stdout,
//! stderr and every file written.
//!
//! The Genesys recipes run in real mode against a simulator this test starts (credentials
//! through `GENESYSCLOUD_*`, the guest JWT through `GUEST_JWT`), so the secrets are known;
//! `quickstart` runs its embedded org, whose secret follows from the seed. Every issued token
//! of the simulator has the form `sim-` + 32 hex digits and every guest JWT starts with the
//! same header, so the output is also searched for those shapes.
//!
//! The recipes are the example binaries `cargo test --workspace --all-targets` builds next to
//! this test (`target/<profile>/examples/`); without them the test says so and checks nothing.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use genesys_sim::SimOrg;

/// The base64 header every simulator guest JWT starts with (`{"alg":"HS256","typ":"JWT"}`).
const JWT_HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.";

fn examples_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?.join("examples");
    dir.join("history-export").exists().then_some(dir)
}

/// Positions of `sim-` followed by 32 lowercase hex digits (a simulator access token).
fn token_shapes(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("sim-") {
        let start = from + i + 4;
        let tail: String = text[start..].chars().take(33).collect();
        let hex = tail
            .chars()
            .take_while(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            .count();
        if hex == 32 {
            found.push(format!("sim-{}", &tail[..32]));
        }
        from = start;
    }
    found
}

struct Run {
    name: String,
    output: Output,
    dir: PathBuf,
}

fn run(examples: &Path, recipe: &str, args: &[&str], env: &[(&str, String)], dir: &Path) -> Run {
    let mut cmd = Command::new(examples.join(recipe));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("GENESYSCLOUD_OAUTHCLIENT_ID")
        .env_remove("GENESYSCLOUD_OAUTHCLIENT_SECRET")
        .env_remove("GENESYSCLOUD_REGION")
        .env_remove("GENESYSCLOUD_API_URL")
        .env_remove("GENESYSCLOUD_LOGIN_URL")
        .env_remove("GUEST_JWT")
        .env("RUST_LOG", "trace")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().unwrap();
    assert!(
        output.status.success(),
        "{recipe} {args:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
            .chars()
            .rev()
            .take(3000)
            .collect::<String>()
            .chars()
            .rev()
            .collect::<String>()
    );
    Run {
        name: format!("{recipe} {}", args.join(" ")),
        output,
        dir: dir.to_owned(),
    }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn assert_clean(run: &Run, secrets: &[String]) -> usize {
    let mut texts = vec![
        (
            "stdout".to_owned(),
            String::from_utf8_lossy(&run.output.stdout).into_owned(),
        ),
        (
            "stderr".to_owned(),
            String::from_utf8_lossy(&run.output.stderr).into_owned(),
        ),
    ];
    let mut files = Vec::new();
    files_under(&run.dir, &mut files);
    for f in files {
        texts.push((
            f.display().to_string(),
            String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned(),
        ));
    }
    let mut bytes = 0;
    for (what, text) in &texts {
        bytes += text.len();
        for secret in secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{}: {what} contains the secret {secret:?}",
                run.name
            );
        }
        assert!(
            !text.contains(JWT_HEADER),
            "{}: {what} contains a guest JWT",
            run.name
        );
        let tokens = token_shapes(text);
        assert!(
            tokens.is_empty(),
            "{}: {what} contains access tokens {tokens:?}",
            run.name
        );
    }
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipes_at_trace_level_never_print_or_write_secrets() {
    let Some(examples) = examples_dir() else {
        eprintln!(
            "secrets_recipes: recipe binaries not built (run `cargo test --workspace --all-targets`); nothing checked"
        );
        return;
    };
    let sim = SimOrg::builder()
        .seed(11)
        .conversations(2)
        .messages_per_conversation(60)
        .start()
        .await
        .unwrap();
    let conv = sim.conversations()[0].clone();
    let secret = sim.client_secret().to_owned();
    // what an `Authorization: Basic` header carries
    let basic = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", sim.client_id(), secret))
    };
    let mut secrets = vec![secret.clone(), basic, "sim-secret-".to_owned()];
    secrets.extend(sim.conversations().iter().map(|c| c.guest_jwt.clone()));
    let real = vec![
        ("GENESYSCLOUD_OAUTHCLIENT_ID", sim.client_id().to_owned()),
        ("GENESYSCLOUD_OAUTHCLIENT_SECRET", secret.clone()),
        ("GENESYSCLOUD_API_URL", sim.base_url()),
        ("GENESYSCLOUD_LOGIN_URL", sim.base_url()),
    ];

    let mut runs = Vec::new();
    let tmp = tempfile::tempdir().unwrap();
    let dir = |name: &str| {
        let d = tmp.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        d
    };
    // OAuth side: the client-credentials token, bearer on every request.
    runs.push(run(
        &examples,
        "history-export",
        &[
            "--conversation",
            &conv.id,
            "--out",
            "agent.jsonl",
            "--verify-media",
            "--allow-loopback-media",
            "--report",
            "json",
        ],
        &real,
        &dir("agent"),
    ));
    // Guest side: the JWT given through the environment.
    let mut guest_env = real.clone();
    guest_env.push(("GUEST_JWT", conv.guest_jwt.clone()));
    runs.push(run(
        &examples,
        "history-export",
        &["--out", "guest.jsonl", "--log-format", "json"],
        &guest_env,
        &dir("guest"),
    ));
    // Sending with the org's token.
    let target = format!("{}:{}", conv.id, conv.communication_id);
    runs.push(run(
        &examples,
        "paced-sender",
        &["--target", &target, "--messages", "10", "--report", "json"],
        &real,
        &dir("sender"),
    ));
    // Dead letters correlated through analytics with the org's token.
    runs.push(run(
        &examples,
        "dlq-diagnose",
        &[
            "--generated",
            "12",
            "--correlate",
            "--report",
            "report.json",
            "--payloads",
            "payloads",
        ],
        &real,
        &dir("diagnose"),
    ));
    // The offline tour on its embedded org: the same seed gives the same client secret.
    let twin = SimOrg::builder()
        .seed(5)
        .conversations(1)
        .messages_per_conversation(1)
        .start()
        .await
        .unwrap();
    secrets.push(twin.client_secret().to_owned());
    runs.push(run(
        &examples,
        "quickstart",
        &["--seed", "5", "--out-dir", "out", "--report", "json"],
        &[],
        &dir("quickstart"),
    ));

    let mut checked = 0;
    for r in &runs {
        checked += assert_clean(r, &secrets);
    }
    // The runs really talked to the org (tokens issued) and logged at trace level.
    let stats = sim.stats();
    assert!(stats.tokens_issued >= 3, "{stats:?}");
    let stderr: usize = runs.iter().map(|r| r.output.stderr.len()).sum();
    assert!(
        stderr > 10_000,
        "trace logging produced output ({stderr} bytes)"
    );
    println!(
        "secrets_recipes: {} runs, {checked} bytes of output and files searched",
        runs.len()
    );
}

#[test]
fn the_token_search_finds_simulator_tokens() {
    let token = format!("sim-{:016x}{:016x}", 0xdead_beef_u64, 42_u64);
    assert_eq!(
        token_shapes(&format!("Bearer {token}\"")),
        vec![token.clone()]
    );
    assert!(token_shapes("sim-secret-00ff sim-abc").is_empty());
    assert!(token_shapes(&format!("sim-{}", "A".repeat(32))).is_empty());
}
