//! Fault soak of the `webhook-consumer` recipe over SQS (moto): 500 outbound webhooks in the
//! normal suite, `500 × SOAK_SCALE` otherwise (`SOAK_SCALE=10` is the 5,000-event soak).
//!
//! The events arrive the way they do in production: signed POSTs to the recipe's ingest, four
//! senders at a time, each retrying until it gets 202 (connection refused while the process is
//! down, or an answer lost to a kill, is retried; a retry after an answer was lost may queue the
//! event twice, which the consumer's idempotency must absorb). 2% of the events are poison (no
//! `outboundContactId`), 30% of handler attempts fail transiently, and the process is killed
//! with SIGKILL twice mid-run and restarted on the same port. Afterwards every event is in the
//! output file exactly once or on the DLQ with a reason (`ERROR_CODE`, `ERROR_MESSAGE`), the
//! work queue is empty, and the counts add up against what was sent.
//!
//! The senders hold back while the work queue holds more than [`BACKLOG`] messages, as a live
//! webhook stream would never be thousands ahead of a healthy consumer. That also keeps moto
//! usable: it scans every message of a queue, with several clock reads each, on every send and
//! receive (`Queue.attributes` in `SendMessage`), so a 5,000-message backlog costs it seconds
//! per request, which real SQS does not.
//!
//! Needs moto (`scripts/moto start` exports `AWS_ENDPOINT_URL`); skipped with a notice without
//! it unless `SQS_DLQ_MOTO=1`, which makes a missing endpoint a failure. The recipe binary
//! comes from `recipes_support::recipe`, which builds the examples if they are not built yet.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

mod recipes_support;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sqs_dlq::queue::{Queue, QueueSettings, ReceiveOptions, SqsQueue};
use tokio::process::{Child, Command};

/// Messages the work queue may hold before the senders wait.
const BACKLOG: usize = 200;
/// Webhook senders at once.
const SENDERS: usize = 4;
const SECRET: &str = "soak-signing-secret";

fn scale() -> usize {
    std::env::var("SOAK_SCALE")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1)
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn start(
    bin: &Path,
    port: u16,
    work: &SqsQueue,
    dlq: &SqsQueue,
    out: &Path,
    seed: u64,
    idle: bool,
) -> Child {
    let mut cmd = Command::new(bin);
    cmd.args([
        "--listen",
        &format!("127.0.0.1:{port}"),
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
    .env("WEBHOOK_SECRET", SECRET)
    .kill_on_drop(true)
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    if idle {
        cmd.args(["--exit-when-idle", "10"]);
    }
    cmd.spawn().unwrap()
}

fn lines_in(out: &Path) -> usize {
    std::fs::read_to_string(out)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

async fn wait_for_lines(child: &mut Child, out: &Path, n: usize, limit: Duration) {
    let started = Instant::now();
    while lines_in(out) < n {
        assert!(
            started.elapsed() < limit,
            "{n} lines not written within {limit:?} ({} so far)",
            lines_in(out)
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the recipe exited early"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What the webhook senders did.
#[derive(Debug, Default)]
struct Senders {
    /// POSTs that got 202.
    accepted: AtomicUsize,
    /// POSTs refused before they reached the process (it was down): certainly not queued.
    refused: AtomicUsize,
    /// POSTs whose answer was lost or was 503: the event may have been queued anyway.
    uncertain: AtomicUsize,
}

/// Sends events `0..total` as signed webhooks to `port`, each until it gets 202, holding back
/// while the work queue is deeper than [`BACKLOG`].
async fn send_all(
    events: Arc<Vec<String>>,
    port: u16,
    depth: Arc<AtomicUsize>,
    stats: Arc<Senders>,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/events");
    let next = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for _ in 0..SENDERS {
        let (events, http, url, next, depth, stats) = (
            events.clone(),
            http.clone(),
            url.clone(),
            next.clone(),
            depth.clone(),
            stats.clone(),
        );
        senders.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = events.get(i) else { return };
                while depth.load(Ordering::Relaxed) > BACKLOG {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                loop {
                    let ts = genesys_integration_tests::unix_now();
                    let sent = http
                        .post(&url)
                        .header("content-type", "application/json")
                        .header("x-signature-timestamp", ts.to_string())
                        .header(
                            "x-signature-256",
                            sqs_dlq::http::sign(SECRET.as_bytes(), ts, body.as_bytes()),
                        )
                        .body(body.clone())
                        .send()
                        .await;
                    match sent {
                        Ok(answer) if answer.status() == 202 => {
                            stats.accepted.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        Ok(answer) if answer.status() == 503 => {
                            stats.uncertain.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(answer) => panic!("event {i}: the ingest answered {}", answer.status()),
                        Err(e) if e.is_connect() => {
                            stats.refused.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => {
                            stats.uncertain.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }));
    }
    for sender in senders {
        sender.await.unwrap();
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
    let bin = recipes_support::recipe("webhook-consumer");
    let total = 500 * scale();
    // Generous per-phase limits: a loaded 2-core machine runs moto slowly.
    let phase_limit = Duration::from_secs(120 + 30 * scale() as u64);
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
    let mut events = Vec::with_capacity(total);
    for i in 0..total {
        let conversation = format!("conv-{:04}", i % 997);
        let body = if i % 50 == 7 {
            poison += 1;
            serde_json::json!({"conversationId": conversation, "n": i})
        } else {
            expected.insert(format!("contact-{i}|{conversation}"));
            serde_json::json!({"outboundContactId": format!("contact-{i}"), "conversationId": conversation, "n": i})
        };
        events.push(body.to_string());
    }

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("events.jsonl");
    let port = free_port();
    let started = Instant::now();

    // The work queue's depth, for the senders' backlog limit.
    let depth = Arc::new(AtomicUsize::new(0));
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = {
        let (work, depth, watching) = (work.clone(), depth.clone(), watching.clone());
        tokio::spawn(async move {
            while watching.load(Ordering::Relaxed) {
                if let Ok(d) = work.approximate_depth().await {
                    depth.store(d.total() as usize, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let stats = Arc::new(Senders::default());

    // Two runs killed with SIGKILL mid-work, then one that runs until the queue stays empty.
    let mut first = start(&bin, port, &work, &dlq, &out, 1, false);
    let sending = tokio::spawn(send_all(
        Arc::new(events),
        port,
        depth.clone(),
        stats.clone(),
    ));
    wait_for_lines(&mut first, &out, total / 5, phase_limit).await;
    first.kill().await.unwrap();
    let after_first = lines_in(&out);
    let mut second = start(&bin, port, &work, &dlq, &out, 2, false);
    wait_for_lines(&mut second, &out, after_first + total / 3, phase_limit).await;
    second.kill().await.unwrap();
    let after_second = lines_in(&out);
    let last = start(&bin, port, &work, &dlq, &out, 3, true);
    tokio::time::timeout(phase_limit * 3, sending)
        .await
        .expect("the senders did not finish")
        .unwrap();
    let finished = tokio::time::timeout(phase_limit * 3, last.wait_with_output())
        .await
        .expect("the last run did not go idle")
        .unwrap();
    watching.store(false, Ordering::Relaxed);
    watcher.await.unwrap();
    assert!(finished.status.success(), "{}", finished.status);
    let report: serde_json::Value = serde_json::from_slice(&finished.stdout).unwrap();
    let elapsed = started.elapsed();
    assert_eq!(stats.accepted.load(Ordering::Relaxed), total);
    let uncertain = stats.uncertain.load(Ordering::Relaxed);

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
        dlq_repeats <= 2 * 16 * 2 + uncertain,
        "DLQ repeats beyond what two kills and {uncertain} uncertain POSTs can leave: {dlq_repeats}"
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
         {dlq_repeats} DLQ repeats from the kills); senders: {} refused while down, {uncertain} resent after a lost answer; \
         last run report: {report}",
        written.len(),
        dead.len(),
        stats.refused.load(Ordering::Relaxed),
    );
}
