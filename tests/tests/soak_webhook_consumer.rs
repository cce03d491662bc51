//! Fault soak of the `webhook-consumer` recipe over SQS (moto): 500 outbound events in the
//! normal suite, `500 × SOAK_SCALE` otherwise (`SOAK_SCALE=10` is the 5,000-event soak; moto
//! answers only a few requests a second on a loaded machine, so that run takes long). 2% of
//! the events are poison (no `outboundContactId`), 30% of handler attempts fail transiently,
//! and the process is killed with SIGKILL twice mid-run and restarted. Afterwards every event
//! is in the output file exactly once or on the DLQ with a reason (`ERROR_CODE`,
//! `ERROR_MESSAGE`), the work queue is empty, and the counts add up against what was sent.
//!
//! Needs moto (`scripts/moto start` exports `AWS_ENDPOINT_URL`); skipped with a notice without
//! it unless `SQS_DLQ_MOTO=1`, which makes a missing endpoint a failure. Needs the recipe
//! binary that `cargo test --workspace --all-targets` builds next to this test.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sqs_dlq::{OutgoingMessage, Queue, QueueSettings, ReceiveOptions, SqsQueue};

fn scale() -> usize {
    std::env::var("SOAK_SCALE")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1)
}

fn recipe() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe
        .parent()?
        .parent()?
        .join("examples")
        .join("webhook-consumer");
    path.exists().then_some(path)
}

fn start(bin: &Path, work: &SqsQueue, dlq: &SqsQueue, out: &Path, seed: u64, idle: bool) -> Child {
    let mut cmd = Command::new(bin);
    cmd.args([
        "--listen",
        "127.0.0.1:0",
        "--queue-url",
        work.url(),
        "--dlq-url",
        dlq.url(),
        "--out",
        out.to_str().unwrap(),
        "--max-receives",
        "5",
        "--transient-failure-rate",
        "0.3",
        "--seed",
        &seed.to_string(),
        "--visibility-timeout-secs",
        "2",
        "--retry-delay-ms",
        "20",
        "--wait-secs",
        "1",
        "--concurrency",
        "16",
        "--report",
        "json",
    ])
    .env("RUST_LOG", "warn")
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    if idle {
        cmd.args(["--exit-when-idle", "6"]);
    }
    cmd.spawn().unwrap()
}

fn lines_in(out: &Path) -> usize {
    std::fs::read_to_string(out)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

fn wait_for_lines(child: &mut Child, out: &Path, n: usize, limit: Duration) {
    let started = Instant::now();
    while lines_in(out) < n && started.elapsed() < limit {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the recipe exited early"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_consumer_killed_twice_writes_every_event_once_or_dead_letters_it() {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        assert!(
            std::env::var("SQS_DLQ_MOTO").as_deref() != Ok("1"),
            "SQS_DLQ_MOTO=1 but AWS_ENDPOINT_URL is unset: run eval \"$(scripts/moto start)\""
        );
        eprintln!("soak_webhook_consumer: AWS_ENDPOINT_URL unset (no moto); skipped");
        return;
    }
    let Some(bin) = recipe() else {
        eprintln!("soak_webhook_consumer: the webhook-consumer recipe is not built; skipped");
        return;
    };
    let total = 500 * scale();
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let client = SqsQueue::default_client().await;
    let work = SqsQueue::create(
        client.clone(),
        &format!("soak-work-{run}"),
        &QueueSettings::new(),
    )
    .await
    .unwrap();
    let dlq = SqsQueue::create(
        client.clone(),
        &format!("soak-dlq-{run}"),
        &QueueSettings::new(),
    )
    .await
    .unwrap();

    // Events: 2% poison (no outboundContactId), the rest keyed by contact + conversation.
    let mut expected: HashSet<String> = HashSet::new();
    let mut poison = 0usize;
    let mut batch = Vec::new();
    for i in 0..total {
        let conversation = format!("conv-{:04}", i % 997);
        let body = if i % 50 == 7 {
            poison += 1;
            serde_json::json!({"conversationId": conversation, "n": i})
        } else {
            expected.insert(format!("contact-{i}|{conversation}"));
            serde_json::json!({"outboundContactId": format!("contact-{i}"), "conversationId": conversation, "n": i})
        };
        batch.push(OutgoingMessage::new(body.to_string()));
        if batch.len() == 10 || i + 1 == total {
            let outcome = work.send_batch(std::mem::take(&mut batch)).await.unwrap();
            assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("events.jsonl");
    let started = Instant::now();
    // Two runs killed with SIGKILL mid-work, then one that runs until the queue stays empty.
    let mut first = start(&bin, &work, &dlq, &out, 1, false);
    wait_for_lines(&mut first, &out, total / 5, Duration::from_secs(120));
    first.kill().unwrap();
    first.wait().unwrap();
    let after_first = lines_in(&out);
    let mut second = start(&bin, &work, &dlq, &out, 2, false);
    wait_for_lines(
        &mut second,
        &out,
        after_first + total / 3,
        Duration::from_secs(120),
    );
    second.kill().unwrap();
    second.wait().unwrap();
    let after_second = lines_in(&out);
    let last = start(&bin, &work, &dlq, &out, 3, true);
    let finished = last.wait_with_output().unwrap();
    assert!(finished.status.success(), "{}", finished.status);
    let report: serde_json::Value = serde_json::from_slice(&finished.stdout).unwrap();
    let elapsed = started.elapsed();

    // The output: one line per key, no torn lines.
    let text = std::fs::read_to_string(&out).unwrap();
    let mut written: HashMap<String, usize> = HashMap::new();
    for line in text.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("torn line {line:?}: {e}"));
        let key = format!(
            "{}|{}",
            v["outboundContactId"].as_str().unwrap(),
            v["conversationId"].as_str().unwrap()
        );
        *written.entry(key).or_default() += 1;
    }
    let duplicates: Vec<_> = written.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        duplicates.is_empty(),
        "written more than once: {duplicates:?}"
    );

    // The DLQ: every copy has a reason.
    // A kill between the DLQ copy and the delete of the original leaves a second copy of that
    // message on the DLQ (SQS has no transaction across queues): copies are counted by key,
    // and repeats are bounded by what can be in flight at a kill.
    let mut dead: HashMap<String, String> = HashMap::new();
    let mut dead_poison: HashSet<u64> = HashSet::new();
    let mut dlq_repeats = 0usize;
    let mut empty_receives = 0;
    while empty_receives < 3 {
        let got = dlq
            .receive(
                &ReceiveOptions::default()
                    .max_messages(10)
                    .wait_time(Duration::from_secs(1)),
            )
            .await
            .unwrap();
        if got.is_empty() {
            empty_receives += 1;
            continue;
        }
        empty_receives = 0;
        let mut handles = Vec::new();
        for m in got {
            let code = m.attribute("ERROR_CODE").unwrap_or_default().to_owned();
            let reason = m.attribute("ERROR_MESSAGE").unwrap_or_default();
            assert!(
                !code.is_empty() && !reason.is_empty(),
                "a dead letter without a reason: {m:?}"
            );
            let v: serde_json::Value = serde_json::from_str(&m.body).unwrap();
            let first = match v["outboundContactId"].as_str() {
                Some(contact) => {
                    let key = format!("{contact}|{}", v["conversationId"].as_str().unwrap());
                    dead.insert(key, code).is_none()
                }
                None => {
                    assert_eq!(code, "INVALID_PARAMETER");
                    dead_poison.insert(v["n"].as_u64().unwrap())
                }
            };
            if !first {
                dlq_repeats += 1;
            }
            handles.push(m.receipt_handle);
        }
        dlq.delete_batch(handles).await.unwrap();
    }
    let left = work.approximate_depth().await.unwrap();

    // Nothing lost, nothing doubled; the counts add up against what was sent.
    assert_eq!(
        dead_poison.len(),
        poison,
        "every poison event is on the DLQ"
    );
    assert!(
        dlq_repeats <= 2 * 16 * 2,
        "DLQ repeats beyond what two kills can leave: {dlq_repeats}"
    );
    let written_keys: HashSet<&String> = written.keys().collect();
    assert!(
        written_keys.iter().all(|k| expected.contains(*k)),
        "only sent events written"
    );
    let missing: Vec<_> = expected
        .iter()
        .filter(|k| !written.contains_key(*k) && !dead.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "{} events neither written nor dead-lettered: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let both = dead.keys().filter(|k| written.contains_key(*k)).count();
    assert_eq!(written.len() + dead.len() - both, expected.len());
    assert_eq!(left.total(), 0, "the work queue is empty: {left:?}");
    let _ = (work.delete_queue().await, dlq.delete_queue().await);

    println!(
        "soak webhook-consumer: {total} events ({poison} poison) in {elapsed:?}; killed at {after_first} and {after_second} lines; \
         written {}, dead-lettered {} (+{poison} poison; {both} of them written before their last failed retry; \
         {dlq_repeats} DLQ repeats from the kills), \
         last run report: {report}",
        written.len(),
        dead.len(),
    );
}
