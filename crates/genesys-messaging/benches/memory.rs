//! Memory benchmark: export 1,000,000 messages into a JSON-lines file and report this
//! process's peak RSS (`VmHWM` from `/proc/self/status`). Target: under 64 MB.
//!
//! The simulator runs in its own process (the `genesys-sim` binary), so its memory is not
//! counted. **Prerequisite**: build it first with `cargo build -p genesys-sim --release`
//! (a nested cargo build from inside `cargo bench` could wait on the build directory lock, so
//! the bench does not try; it stops with that instruction when the binary is missing). The
//! smoke run under `cargo test` uses the binary when present and an in-process simulator
//! otherwise.
//!
//! Baseline, in the same run: the peak RSS before the export (runtime, client, sink) — what
//! the export itself adds is the difference.
//!
//! `cargo bench -p genesys-messaging --bench memory`. Under `cargo test --all-targets` (no
//! `--bench` argument) a smoke version exports 20,000 messages instead.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use genesys_auth::{GenesysClient, Region};
use genesys_messaging::archive::JsonLinesFile;
use genesys_messaging::history::{GuestSession, HistoryExport};
use retry_policy::{Pacer, RetryPolicy};
use url::Url;

const PAGE: u32 = 1_000;
const TARGET_MB: f64 = 64.0;

/// Kills the simulator when the bench ends, however it ends.
struct SimProcess(Child);

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sim_binary() -> Option<PathBuf> {
    // The bench binary lives in target/<profile>/deps/; the simulator in target/<profile>/.
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?.to_owned();
    let candidates = [
        profile_dir.join("genesys-sim"),
        profile_dir.parent()?.join("release").join("genesys-sim"),
    ];
    candidates.into_iter().find(|p| p.exists())
}

fn start_sim(binary: PathBuf, messages: u32) -> (SimProcess, String, String, String) {
    let mut child = Command::new(binary)
        .args([
            "--port",
            "0",
            "--conversations",
            "1",
            "--messages",
            &messages.to_string(),
            "--max-page-size",
            &PAGE.to_string(),
            "--out-of-order",
            "0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start genesys-sim");
    let stdout = child.stdout.take().unwrap();
    let process = SimProcess(child);
    let (mut base, mut conv, mut jwt) = (String::new(), String::new(), String::new());
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(v) = line.strip_prefix("base_url=") {
            base = v.to_owned();
        } else if let Some(v) = line.strip_prefix("conversation_id=") {
            conv = v.to_owned();
        } else if let Some(v) = line.strip_prefix("guest_jwt=") {
            jwt = v.to_owned();
        } else if line == "ready" {
            break;
        }
    }
    assert!(
        !base.is_empty() && !jwt.is_empty(),
        "the simulator did not print its address"
    );
    (process, base, conv, jwt)
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    kb / 1024.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let messages: u32 = if full { 1_000_000 } else { 20_000 };
    if !full {
        println!("(smoke run: pass --bench, i.e. `cargo bench`, for the real figures)");
    }
    let mut _in_process = None;
    let mut _process = None;
    let (base, conv, jwt) = match sim_binary() {
        Some(binary) => {
            let (p, base, conv, jwt) = start_sim(binary, messages);
            _process = Some(p);
            (base, conv, jwt)
        }
        None if full => {
            panic!("genesys-sim binary not found: run `cargo build -p genesys-sim --release` first")
        }
        None => {
            let sim = genesys_sim::SimOrg::builder()
                .conversations(1)
                .messages_per_conversation(messages)
                .max_page_size(PAGE)
                .start()
                .await
                .unwrap();
            let c = sim.conversations()[0].clone();
            let base = sim.base_url();
            _in_process = Some(sim);
            println!("(genesys-sim binary not built: in-process simulator, RSS includes it)");
            (base, c.id, c.guest_jwt)
        }
    };
    let base = Url::parse(&base).unwrap();
    let client = GenesysClient::builder()
        .region(Region::custom(base.clone(), base))
        .token_provider(std::sync::Arc::new(genesys_auth::StaticToken::new(
            "unused".to_owned().into(),
        )))
        .pacer(Pacer::unlimited())
        .retry_policy(RetryPolicy::default())
        .request_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let sink = JsonLinesFile::create(&path).await.unwrap();
    let before = peak_rss_mb();

    let source = GuestSession::new(&client, jwt.into(), conv).max_page_size(PAGE);
    let export = HistoryExport::builder(source)
        .page_size(PAGE)
        .concurrency(4)
        .build()
        .unwrap();
    let started = Instant::now();
    let report = export.archive(&sink, 1_000).await.unwrap();
    let elapsed = started.elapsed();
    let peak = peak_rss_mb();
    let file_mb = std::fs::metadata(&path)
        .map(|m| m.len() as f64 / 1e6)
        .unwrap_or(0.0);

    assert_eq!(report.yielded, u64::from(messages), "{report:?}");
    println!(
        "5. memory: {messages} messages exported to JSON lines ({file_mb:.0} MB file) in {:.1} s ({:.0} msg/s)",
        elapsed.as_secs_f64(),
        report.messages_per_second
    );
    println!(
        "   peak RSS (VmHWM) after export  {peak:>7.1} MB   (target < {TARGET_MB} MB) {}",
        match (full, peak < TARGET_MB) {
            (false, _) => "(smoke run: not judged)",
            (true, true) => "OK",
            (true, false) => "MISSED",
        }
    );
    println!(
        "   baseline: peak RSS before      {before:>7.1} MB   (runtime, client, sink; the export added {:.1} MB)",
        peak - before
    );
}
