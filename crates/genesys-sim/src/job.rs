//! An analytics job the sim was asked to run: its state follows from its age.

use chrono::{DateTime, Utc};
use tokio::time::Instant;

/// A submitted job.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) submitted: Instant,
    pub(crate) submitted_at: DateTime<Utc>,
    pub(crate) fail: bool,
    pub(crate) cancelled: bool,
    pub(crate) results: Vec<u32>,
}

impl Job {
    pub(crate) fn state(&self, delay: std::time::Duration) -> &'static str {
        let elapsed = self.submitted.elapsed();
        if self.cancelled {
            "CANCELLED"
        } else if elapsed < delay / 2 {
            "QUEUED"
        } else if elapsed < delay {
            "PENDING"
        } else if self.fail {
            "FAILED"
        } else {
            "FULFILLED"
        }
    }
}
