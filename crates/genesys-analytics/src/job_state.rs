//! [`JobState`]: where an async job is. Below both the jobs API and the errors that name a
//! job's last state.

use crate::tolerant::tolerant_enum;

tolerant_enum! {
    /// Where an async job is.
    pub enum JobState {
        /// Waiting to start.
        Queued => "QUEUED",
        /// Running.
        Pending => "PENDING",
        /// Failed; see the error message.
        Failed => "FAILED",
        /// Cancelled.
        Cancelled => "CANCELLED",
        /// Done: results can be read.
        Fulfilled => "FULFILLED",
        /// Results are gone.
        Expired => "EXPIRED",
    }
}

impl JobState {
    /// Whether the job can no longer change state.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Failed | Self::Cancelled | Self::Fulfilled | Self::Expired
        )
    }
}
