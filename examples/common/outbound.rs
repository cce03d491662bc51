//! The webhook consumer's sample handler: outbound events carrying `outboundContactId` and
//! `conversationId` (the real outbound topic fields, GENESYS_API.md) are written once each to
//! a JSON-lines file.
//!
//! - **Idempotent on the pair**: the consumer's idempotency store keeps concurrent duplicates
//!   apart, and the keys already in the file (read at start) make a redelivery after a crash
//!   or restart a no-op.
//! - **Nothing acknowledged is lost**: [`DurableLines`] appends, flushes and fsyncs each batch
//!   of lines before any handler of that batch returns, and the consumer deletes a message
//!   only after its handler returned `Ok`. A SIGKILL can lose no acknowledged event; it can
//!   only leave a written event unacknowledged, which the file's keys then skip.
//! - An event without the two fields is a **permanent** failure (`ERROR_CODE` =
//!   `INVALID_PARAMETER`, which the dead-letter diagnosis files under `payload_rejected`); a
//!   body that is not JSON is poison (the consumer dead-letters it as `POISON_MESSAGE`).
//! - `--transient-failure-rate R --seed S` fails a share `R` of attempts transiently (drills).
//!
//! The fields are looked for at the top level, under `eventBody` (a notification) and under
//! `detail.eventBody` (an EventBridge event).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use sqs_dlq::{Delivery, Handler, HandlerError};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};

/// Lines waiting to be written together at most.
const MAX_GROUP: usize = 256;

/// `(outboundContactId, conversationId)` of an outbound event, when both are non-empty strings.
pub fn outbound_key(event: &Value) -> Option<(String, String)> {
    let candidates = [
        Some(event),
        event.get("eventBody"),
        event.get("detail").and_then(|d| d.get("eventBody")),
    ];
    candidates.into_iter().flatten().find_map(|v| {
        let contact = v.get("outboundContactId")?.as_str()?.trim();
        let conversation = v.get("conversationId")?.as_str()?.trim();
        (!contact.is_empty() && !conversation.is_empty())
            .then(|| (contact.to_owned(), conversation.to_owned()))
    })
}

/// The idempotency key of a pair.
pub fn key_of(contact: &str, conversation: &str) -> String {
    format!("{contact}:{conversation}")
}

type Job = (String, oneshot::Sender<std::io::Result<()>>);

/// An append-only JSON-lines file written by one task in groups: each group is written,
/// flushed and fsynced before the callers of its lines hear `Ok`.
#[derive(Debug, Clone)]
pub struct DurableLines {
    tx: mpsc::Sender<Job>,
    path: PathBuf,
}

impl DurableLines {
    /// Opens `path` for appending (creating it) and returns the writer and the keys of the
    /// events already in it. Lines that do not parse (a torn last line) are skipped.
    pub async fn open(path: &Path) -> std::io::Result<(Self, HashSet<String>)> {
        let mut keys = HashSet::new();
        // A crash or power loss can leave a torn last line without its newline: the next
        // append must not be glued onto it, or that event could never be read back.
        let mut torn_tail = false;
        match tokio::fs::read_to_string(path).await {
            Ok(text) => {
                torn_tail = !text.is_empty() && !text.ends_with('\n');
                for line in text.lines() {
                    if let Ok(v) = serde_json::from_str::<Value>(line)
                        && let Some((c, k)) = outbound_key(&v)
                    {
                        keys.insert(key_of(&c, &k));
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await?;
        if torn_tail {
            use tokio::io::AsyncWriteExt;
            file.write_all(b"\n").await?;
            file.sync_data().await?;
        }
        let (tx, rx) = mpsc::channel(1024);
        tokio::spawn(write_loop(file, rx));
        Ok((
            Self {
                tx,
                path: path.to_owned(),
            },
            keys,
        ))
    }

    /// Appends `line` (a newline is added) and returns once it is on disk.
    pub async fn append(&self, line: String) -> std::io::Result<()> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send((line, done))
            .await
            .map_err(|_| std::io::Error::other("the output writer stopped"))?;
        wait.await
            .map_err(|_| std::io::Error::other("the output writer stopped"))?
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

async fn write_loop(mut file: tokio::fs::File, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let mut buffer = Vec::new();
        for (line, _) in &group {
            buffer.extend_from_slice(line.as_bytes());
            buffer.push(b'\n');
        }
        let written = async {
            file.write_all(&buffer).await?;
            file.flush().await?;
            file.sync_data().await
        }
        .await;
        match &written {
            Ok(()) => tracing::debug!(lines = group.len(), "output group written and synced"),
            Err(error) => tracing::error!(%error, lines = group.len(), "output group not written"),
        }
        for (_, done) in group {
            let _ = done.send(match &written {
                Ok(()) => Ok(()),
                Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
            });
        }
    }
}

/// Counts of the sample handler.
#[derive(Debug, Default)]
pub struct HandlerCounts {
    /// Events written to the file.
    pub written: AtomicU64,
    /// Events already in the file (acknowledged without writing).
    pub already_written: AtomicU64,
    /// Events without the two fields (dead-lettered as permanent).
    pub missing_fields: AtomicU64,
    /// Transient failures injected.
    pub injected_failures: AtomicU64,
}

/// The sample handler over outbound events.
#[derive(Debug)]
pub struct OutboundHandler {
    out: DurableLines,
    done: Mutex<HashSet<String>>,
    transient_rate: f64,
    rng: Mutex<SmallRng>,
    counts: std::sync::Arc<HandlerCounts>,
}

impl OutboundHandler {
    /// A handler writing to `out`, skipping `already_written` keys, failing a share
    /// `transient_rate` of attempts (drawn from `seed`).
    pub fn new(
        out: DurableLines,
        already_written: HashSet<String>,
        transient_rate: f64,
        seed: u64,
    ) -> Self {
        Self {
            out,
            done: Mutex::new(already_written),
            transient_rate: transient_rate.clamp(0.0, 1.0),
            rng: Mutex::new(SmallRng::seed_from_u64(seed)),
            counts: std::sync::Arc::default(),
        }
    }

    /// The handler's counters (shared).
    pub fn counts(&self) -> std::sync::Arc<HandlerCounts> {
        std::sync::Arc::clone(&self.counts)
    }
}

#[async_trait]
impl Handler for OutboundHandler {
    type Payload = Value;

    fn idempotency_key(&self, payload: &Value, _: Delivery<'_>) -> Option<String> {
        outbound_key(payload).map(|(c, k)| key_of(&c, &k))
    }

    async fn handle(&self, payload: Value, delivery: Delivery<'_>) -> Result<(), HandlerError> {
        let Some((contact, conversation)) = outbound_key(&payload) else {
            self.counts.missing_fields.fetch_add(1, Ordering::Relaxed);
            return Err(HandlerError::permanent(
                "event has no outboundContactId and conversationId",
            )
            .with_code("INVALID_PARAMETER"));
        };
        let key = key_of(&contact, &conversation);
        if self
            .done
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&key)
        {
            self.counts.already_written.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        if self.transient_rate > 0.0 {
            let draw: f64 = self
                .rng
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .random();
            if draw < self.transient_rate {
                self.counts
                    .injected_failures
                    .fetch_add(1, Ordering::Relaxed);
                return Err(HandlerError::transient(
                    "injected transient failure (--transient-failure-rate)",
                ));
            }
        }
        let line = json!({
            "outboundContactId": contact,
            "conversationId": conversation,
            "messageId": delivery.message().message_id,
            "receiveCount": delivery.receive_count(),
            "event": payload,
        })
        .to_string();
        self.out
            .append(line)
            .await
            .map_err(|e| HandlerError::transient(e).with_code("OUTPUT_WRITE_FAILED"))?;
        self.done
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key);
        self.counts.written.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_where_events_carry_them() {
        let top = json!({"outboundContactId": "c1", "conversationId": "v1"});
        let note = json!({"topicName": "t", "eventBody": {"outboundContactId": "c2", "conversationId": "v2"}});
        let eb =
            json!({"detail": {"eventBody": {"outboundContactId": "c3", "conversationId": "v3"}}});
        assert_eq!(outbound_key(&top), Some(("c1".into(), "v1".into())));
        assert_eq!(outbound_key(&note), Some(("c2".into(), "v2".into())));
        assert_eq!(outbound_key(&eb), Some(("c3".into(), "v3".into())));
        assert_eq!(outbound_key(&json!({"outboundContactId": "c"})), None);
        assert_eq!(
            outbound_key(&json!({"outboundContactId": " ", "conversationId": "v"})),
            None
        );
        assert_eq!(outbound_key(&json!([1, 2])), None);
    }

    #[tokio::test]
    async fn lines_are_durable_and_keys_survive_a_restart() {
        let dir = std::env::temp_dir().join(format!("outbound-{}", uuid::Uuid::new_v4()));
        tokio::fs::create_dir_all(&dir).await.unwrap();
        let path = dir.join("out.jsonl");
        let (lines, keys) = DurableLines::open(&path).await.unwrap();
        assert!(keys.is_empty());
        lines
            .append(json!({"outboundContactId": "c1", "conversationId": "v1"}).to_string())
            .await
            .unwrap();
        drop(lines);
        tokio::fs::write(&dir.join("junk"), b"x").await.unwrap();
        let (_, keys) = DurableLines::open(&path).await.unwrap();
        assert!(keys.contains("c1:v1"));
        let _ = tokio::fs::remove_dir_all(&dir).await;
    }

    #[tokio::test]
    async fn a_torn_last_line_is_not_glued_to_the_next_event() {
        let dir = std::env::temp_dir().join(format!("outbound-{}", uuid::Uuid::new_v4()));
        tokio::fs::create_dir_all(&dir).await.unwrap();
        let path = dir.join("out.jsonl");
        let whole = json!({"outboundContactId": "c1", "conversationId": "v1"}).to_string();
        tokio::fs::write(
            &path,
            format!("{whole}\n{{\"outboundContactId\": \"c2\", \"conv"),
        )
        .await
        .unwrap();
        let (lines, keys) = DurableLines::open(&path).await.unwrap();
        assert_eq!(keys.len(), 1, "the torn line is skipped: {keys:?}");
        lines
            .append(json!({"outboundContactId": "c3", "conversationId": "v3"}).to_string())
            .await
            .unwrap();
        drop(lines);
        let (_, keys) = DurableLines::open(&path).await.unwrap();
        assert!(keys.contains("c1:v1") && keys.contains("c3:v3"), "{keys:?}");
        let _ = tokio::fs::remove_dir_all(&dir).await;
    }
}
