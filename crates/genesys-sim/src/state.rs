//! State shared by every request of one org.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

use crate::config::{Faults, SimConfig};
use crate::dataset::Dataset;
use crate::ids::hash;
use crate::job::Job;
use crate::limits::Limits;
use crate::stats::{SentMessage, SimStats};
use crate::sync::lock;

/// Settings that tests may change while the org runs.
#[derive(Debug)]
pub(crate) struct Live {
    pub faults: Faults,
    pub limits: Limits,
    pub rng: SmallRng,
    pub latency: Duration,
    pub jitter: Duration,
    pub retry_after_zero: bool,
}

/// A sent message, kept for bulk lookups too.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    pub by_conversation: std::collections::BTreeMap<String, Vec<SentMessage>>,
    /// Message id → (conversation id, position) for the bulk endpoint.
    pub index: HashMap<String, (String, usize)>,
    pub answers: HashMap<String, serde_json::Value>,
}

#[derive(Debug)]
pub(crate) struct SimState {
    pub config: SimConfig,
    pub data: Dataset,
    pub base_url: String,
    pub live: Mutex<Live>,
    pub tokens: Mutex<HashMap<String, Instant>>,
    pub stats: Mutex<SimStats>,
    pub in_flight: AtomicU64,
    pub outbox: Mutex<Outbox>,
    pub jobs: Mutex<HashMap<String, Job>>,
    pub counter: AtomicU64,
}

impl SimState {
    pub fn new(config: SimConfig, data: Dataset, base_url: String) -> Self {
        let live = Live {
            faults: config.faults,
            limits: Limits::new(config.limit, Instant::now()),
            rng: SmallRng::seed_from_u64(hash(config.seed, &[0xFA17])),
            latency: config.latency,
            jitter: config.jitter,
            retry_after_zero: config.retry_after_zero,
        };
        Self {
            config,
            data,
            base_url,
            live: Mutex::new(live),
            tokens: Mutex::new(HashMap::new()),
            stats: Mutex::new(SimStats::default()),
            in_flight: AtomicU64::new(0),
            outbox: Mutex::new(Outbox::default()),
            jobs: Mutex::new(HashMap::new()),
            counter: AtomicU64::new(0),
        }
    }

    /// A fresh opaque value (tokens, sent message ids), unique within this org.
    pub fn next_unique(&self) -> u64 {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let salt: u64 = rand::rng().random();
        hash(self.config.seed, &[0x70CE, n, salt])
    }

    /// Whether `token` is an unexpired OAuth token of this org.
    pub fn token_valid(&self, token: &str) -> bool {
        lock(&self.tokens)
            .get(token)
            .is_some_and(|exp| *exp > Instant::now())
    }
}
