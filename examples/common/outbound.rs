//! The webhook consumer's sample handler: outbound events carrying `outboundContactId` and
//! `conversationId` (the real outbound topic fields, GENESYS_API.md) are written once each to
//! a JSON-lines file.
//!
//! - **Idempotent per event**: an event is identified by its contact and conversation *and* by
//!   what tells events of one contact apart: the EventBridge event `id` when there is one, else
//!   a digest of the event's JSON (so a redelivered copy is the same event, while the preContact
//!   and postContact events of one contact, which share both ids, are two). The consumer's
//!   idempotency store keeps concurrent duplicates apart, and the keys of the most recent
//!   written events (read back from the file at start, `--remember-keys` of them, 32 bytes
//!   each) make a redelivery after a crash or restart a no-op.
//! - **Nothing acknowledged is lost**: [`DurableLines`] appends, flushes and fsyncs each batch
//!   of lines before any handler of that batch returns, and the consumer deletes a message
//!   only after its handler returned `Ok`. A SIGKILL can lose no acknowledged event; it can
//!   only leave a written event unacknowledged, which the file's keys then skip.
//! - **The event is kept as received**: each line carries the body's bytes unchanged under
//!   `event` (big integers, `1e-400`, duplicate keys and all), or, for a body spread over
//!   several lines, as a JSON string under `eventText` (a JSON-lines file cannot hold a raw
//!   line break).
//! - An event without the two fields is a **permanent** failure (`ERROR_CODE` =
//!   `INVALID_PARAMETER`, which the dead-letter diagnosis files under `payload_rejected`); a
//!   body that is not JSON is poison (the consumer dead-letters it as `POISON_MESSAGE`).
//! - `--transient-failure-rate R --seed S` fails a share `R` of attempts transiently (drills).
//!
//! The fields are looked for at the top level, under `eventBody` (a notification) and under
//! `detail.eventBody` (an EventBridge event).

use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use sqs_dlq::consumer::{Decode, DecodeError, Delivery, Handler, HandlerError};
use sqs_dlq::queue::ReceivedMessage;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

/// Lines waiting to be written together at most.
const MAX_GROUP: usize = 256;
/// Written events remembered by default.
pub const DEFAULT_REMEMBERED_KEYS: usize = 100_000;

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

/// What tells one event of a contact from another: the EventBridge event id (`id` beside
/// `detail-type`), stable across EventBridge's redeliveries; otherwise the SHA-256 of the event
/// as canonical JSON (keys sorted), the same for every copy of one event.
pub fn event_identity(event: &Value) -> String {
    if event.get("detail-type").is_some()
        && let Some(id) = event.get("id").and_then(Value::as_str)
        && !id.trim().is_empty()
    {
        return format!("id:{}", id.trim());
    }
    // serde_json's map is ordered by key, so this is canonical whatever order the keys came in.
    format!("sha256:{}", hex_digest(event.to_string().as_bytes()))
}

fn hex_digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The idempotency key of an event: its contact, conversation and [`event_identity`].
pub fn key_of(contact: &str, conversation: &str, event: &Value) -> String {
    format!("{contact}:{conversation}:{}", event_identity(event))
}

/// The key of an outbound event, when it has the two fields.
pub fn event_key(event: &Value) -> Option<String> {
    outbound_key(event).map(|(c, k)| key_of(&c, &k, event))
}

/// The most recent `capacity` keys, as 32-byte digests, oldest forgotten first.
#[derive(Debug)]
pub struct KeyWindow {
    capacity: usize,
    set: HashSet<[u8; 32]>,
    order: VecDeque<[u8; 32]>,
}

impl KeyWindow {
    /// An empty window of `capacity` keys (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            set: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    fn digest(key: &str) -> [u8; 32] {
        Sha256::digest(key.as_bytes()).into()
    }

    /// Remembers `key`, forgetting the oldest past the capacity.
    pub fn insert(&mut self, key: &str) {
        let d = Self::digest(key);
        if self.set.insert(d) {
            self.order.push_back(d);
            while self.order.len() > self.capacity {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }

    /// Whether `key` is remembered.
    pub fn contains(&self, key: &str) -> bool {
        self.set.contains(&Self::digest(key))
    }

    /// Keys remembered.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

/// A received event: the body's bytes as received, and the same parsed.
#[derive(Debug, Clone)]
pub struct OutboundEvent {
    /// The body exactly as received.
    pub raw: String,
    /// The body parsed (numbers may be rounded and duplicate keys merged here: write `raw`).
    pub value: Value,
}

impl Decode for OutboundEvent {
    fn decode(message: &ReceivedMessage) -> Result<Self, DecodeError> {
        let value = serde_json::from_str(&message.body).map_err(DecodeError::new)?;
        Ok(Self {
            raw: message.body.clone(),
            value,
        })
    }
}

/// The output line of an event: the fields, and the event's bytes as received.
pub fn line_of(
    contact: &str,
    conversation: &str,
    key: &str,
    message_id: &str,
    receive_count: u32,
    raw: &str,
) -> String {
    let s = |v: &str| Value::String(v.to_owned()).to_string();
    let event = if raw.contains(['\n', '\r']) {
        format!("\"eventText\":{}", s(raw))
    } else {
        format!("\"event\":{raw}")
    };
    format!(
        "{{\"outboundContactId\":{},\"conversationId\":{},\"dedupKey\":{},\"messageId\":{},\"receiveCount\":{receive_count},{event}}}",
        s(contact),
        s(conversation),
        s(key),
        s(message_id),
    )
}

/// The dedup key a written line carries (or, for lines written before it did, the key of its
/// event).
fn key_of_line(line: &Value) -> Option<String> {
    if let Some(key) = line.get("dedupKey").and_then(Value::as_str) {
        return Some(key.to_owned());
    }
    let event = match line.get("eventText").and_then(Value::as_str) {
        Some(text) => serde_json::from_str(text).ok()?,
        None => line.get("event")?.clone(),
    };
    event_key(&event)
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
    /// Opens `path` for appending (creating it) and returns the writer and the keys of the most
    /// recent `remember` events already in it (read line by line, never whole). Lines that do
    /// not parse (a torn last line) are skipped.
    pub async fn open(path: &Path, remember: usize) -> std::io::Result<(Self, KeyWindow)> {
        let mut keys = KeyWindow::new(remember);
        // A crash or power loss can leave a torn last line without its newline: the next
        // append must not be glued onto it, or that event could never be read back.
        let mut torn_tail = false;
        match tokio::fs::File::open(path).await {
            Ok(mut file) => {
                let len = file.metadata().await?.len();
                if len > 0 {
                    file.seek(std::io::SeekFrom::Start(len - 1)).await?;
                    let mut last = [0u8; 1];
                    file.read_exact(&mut last).await?;
                    torn_tail = last[0] != b'\n';
                    file.seek(std::io::SeekFrom::Start(0)).await?;
                }
                let mut lines = tokio::io::BufReader::new(file).lines();
                while let Some(line) = lines.next_line().await.ok().flatten() {
                    if let Ok(v) = serde_json::from_str::<Value>(&line)
                        && let Some(key) = key_of_line(&v)
                    {
                        keys.insert(&key);
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
    done: Mutex<KeyWindow>,
    transient_rate: f64,
    rng: Mutex<SmallRng>,
    counts: std::sync::Arc<HandlerCounts>,
}

impl OutboundHandler {
    /// A handler writing to `out`, skipping `already_written` keys (the window keeps
    /// remembering the newest written ones), failing a share `transient_rate` of attempts
    /// (drawn from `seed`).
    pub fn new(
        out: DurableLines,
        already_written: KeyWindow,
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
    type Payload = OutboundEvent;

    fn idempotency_key(&self, payload: &OutboundEvent, _: Delivery<'_>) -> Option<String> {
        event_key(&payload.value)
    }

    async fn handle(
        &self,
        payload: OutboundEvent,
        delivery: Delivery<'_>,
    ) -> Result<(), HandlerError> {
        let Some((contact, conversation)) = outbound_key(&payload.value) else {
            self.counts.missing_fields.fetch_add(1, Ordering::Relaxed);
            return Err(HandlerError::permanent(
                "event has no outboundContactId and conversationId",
            )
            .with_code("INVALID_PARAMETER"));
        };
        let key = key_of(&contact, &conversation, &payload.value);
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
        let line = line_of(
            &contact,
            &conversation,
            &key,
            &delivery.message().message_id,
            delivery.receive_count(),
            &payload.raw,
        );
        self.out
            .append(line)
            .await
            .map_err(|e| HandlerError::transient(e).with_code("OUTPUT_WRITE_FAILED"))?;
        self.done
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(&key);
        self.counts.written.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sqs_dlq::consumer::Consumer;
    use sqs_dlq::queue::{MemoryQueue, OutgoingMessage, Queue};
    use std::sync::Arc;
    use std::time::Duration;

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

    /// The preContact and postContact events of one contact share `outboundContactId` and
    /// `conversationId`; keyed on that pair alone, the postContact event (the one with the
    /// wrap-up code) was acknowledged as a duplicate and never written.
    fn pre_and_post_contact() -> Vec<Value> {
        let body = |kind: &str, extra: Value| {
            let mut body = json!({"outboundContactId": "oc-1", "conversationId": "conv-1", "outboundCampaignId": "camp-1"});
            if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
                b.extend(e.clone());
            }
            (kind.to_owned(), body)
        };
        let (pre_kind, pre) = body("preContact", json!({}));
        let (post_kind, post) = body("postContact", json!({"wrapupCode": "sale"}));
        vec![
            // EventBridge: distinct event ids
            json!({"version": "0", "id": "ev-pre", "detail-type": pre_kind, "detail": {"eventBody": pre}}),
            json!({"version": "0", "id": "ev-post", "detail-type": post_kind, "detail": {"eventBody": post}}),
            // notifications: no id, distinct topics and bodies
            json!({"topicName": "v2.outbound.precontact", "eventBody": pre}),
            json!({"topicName": "v2.outbound.postcontact", "eventBody": post}),
        ]
    }

    #[test]
    fn pre_and_post_contact_events_of_one_contact_have_different_keys() {
        let events = pre_and_post_contact();
        let keys: HashSet<String> = events.iter().map(|e| event_key(e).unwrap()).collect();
        assert_eq!(keys.len(), events.len(), "{keys:?}");
        // a redelivered copy (same event, keys in another order) keeps its key
        let copy: Value =
            serde_json::from_str(r#"{"eventBody":{"conversationId":"conv-1","outboundCampaignId":"camp-1","outboundContactId":"oc-1"},"topicName":"v2.outbound.precontact"}"#)
                .unwrap();
        assert_eq!(event_key(&copy), event_key(&events[2]));
        // EventBridge redeliveries keep the event id, whatever else changed
        let mut again = events[0].clone();
        again["time"] = json!("later");
        assert_eq!(event_key(&again), event_key(&events[0]));
    }

    async fn run_handler(events: &[String], out: &Path) -> (Arc<HandlerCounts>, String) {
        let (lines, keys) = DurableLines::open(out, 100).await.unwrap();
        let handler = Arc::new(OutboundHandler::new(lines, keys, 0.0, 1));
        let counts = handler.counts();
        let queue = MemoryQueue::new("outbound");
        for e in events {
            queue.send(OutgoingMessage::new(e.clone())).await.unwrap();
        }
        // One at a time, in order: the handler's own memory of written events decides.
        let summary = Consumer::builder(queue.clone(), handler)
            .concurrency(1)
            .dead_letter_queue(MemoryQueue::new("outbound-dlq"))
            .wait_time(Duration::from_millis(10))
            .stop_when_idle(Duration::from_millis(100))
            .build()
            .unwrap()
            .run()
            .await
            .unwrap();
        assert_eq!(summary.counters.dead_lettered, 0);
        (counts, tokio::fs::read_to_string(out).await.unwrap())
    }

    #[tokio::test]
    async fn post_contact_is_written_after_pre_contact() {
        let dir = tempfile_dir();
        let out = dir.join("out.jsonl");
        let events: Vec<String> = pre_and_post_contact()
            .iter()
            .map(Value::to_string)
            .collect();
        let (counts, text) = run_handler(&events, &out).await;
        assert_eq!(counts.written.load(Ordering::Relaxed), 4, "{text}");
        assert_eq!(text.matches("\"wrapupCode\":\"sale\"").count(), 2, "{text}");
        // and a restart reads every key back: redeliveries are skipped
        let (counts, _) = run_handler(&events, &out).await;
        assert_eq!(counts.written.load(Ordering::Relaxed), 0);
        assert_eq!(counts.already_written.load(Ordering::Relaxed), 4);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn events_are_written_byte_for_byte() {
        let dir = tempfile_dir();
        let out = dir.join("out.jsonl");
        let bodies = [
            // a big integer, a float under f64's range, a duplicate key, odd spacing
            r#"{"outboundContactId":"c1","conversationId":"v1","n":123456789012345678901234567890,"tiny":1e-400,"dup":1,"dup":2,  "s":"\u00e9"}"#,
            // spread over lines: kept as a string, still byte for byte
            "{\"outboundContactId\":\"c2\",\n \"conversationId\":\"v2\",\n \"n\":1e-400}",
        ];
        let events: Vec<String> = bodies.iter().map(|b| (*b).to_owned()).collect();
        let (counts, text) = run_handler(&events, &out).await;
        assert_eq!(counts.written.load(Ordering::Relaxed), 2, "{text}");
        let line = text.lines().find(|l| l.contains("\"c1\"")).unwrap();
        let start = line.find("\"event\":").unwrap() + "\"event\":".len();
        assert_eq!(&line[start..line.len() - 1], bodies[0]);
        let line: Value = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|v| v["outboundContactId"] == "c2")
            .unwrap();
        assert_eq!(line["eventText"].as_str().unwrap(), bodies[1]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_key_window_forgets_the_oldest() {
        let mut w = KeyWindow::new(2);
        for k in ["a", "b", "a", "c"] {
            w.insert(k);
        }
        assert_eq!(w.len(), 2);
        assert!(!w.contains("a") && w.contains("b") && w.contains("c"));
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("outbound-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn lines_are_durable_and_keys_survive_a_restart() {
        let dir = tempfile_dir();
        let path = dir.join("out.jsonl");
        let (lines, keys) = DurableLines::open(&path, 10).await.unwrap();
        assert!(keys.is_empty());
        let event = json!({"outboundContactId": "c1", "conversationId": "v1"});
        let key = event_key(&event).unwrap();
        lines
            .append(line_of("c1", "v1", &key, "m1", 1, &event.to_string()))
            .await
            .unwrap();
        drop(lines);
        let (_, keys) = DurableLines::open(&path, 10).await.unwrap();
        assert!(keys.contains(&key));
        let _ = tokio::fs::remove_dir_all(&dir).await;
    }

    #[tokio::test]
    async fn a_torn_last_line_is_not_glued_to_the_next_event() {
        let dir = tempfile_dir();
        let path = dir.join("out.jsonl");
        // an older line without dedupKey: its key is computed from its event
        let whole = json!({"outboundContactId": "c1", "conversationId": "v1", "event": {"outboundContactId": "c1", "conversationId": "v1"}}).to_string();
        tokio::fs::write(
            &path,
            format!("{whole}\n{{\"outboundContactId\": \"c2\", \"conv"),
        )
        .await
        .unwrap();
        let (lines, keys) = DurableLines::open(&path, 10).await.unwrap();
        assert_eq!(keys.len(), 1, "the torn line is skipped");
        let k1 = event_key(&json!({"outboundContactId": "c1", "conversationId": "v1"})).unwrap();
        assert!(keys.contains(&k1));
        let e3 = json!({"outboundContactId": "c3", "conversationId": "v3"});
        let k3 = event_key(&e3).unwrap();
        lines
            .append(line_of("c3", "v3", &k3, "m3", 1, &e3.to_string()))
            .await
            .unwrap();
        drop(lines);
        let (_, keys) = DurableLines::open(&path, 10).await.unwrap();
        assert!(keys.contains(&k1) && keys.contains(&k3));
        let _ = tokio::fs::remove_dir_all(&dir).await;
    }
}
