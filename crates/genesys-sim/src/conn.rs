//! The switch a request pulls to drop its connection without an answer.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// Per-connection switch a request can pull to drop its connection without an answer.
#[derive(Debug, Default)]
pub(crate) struct ConnKill {
    pub(crate) fired: AtomicBool,
    pub(crate) notify: Notify,
}

impl ConnKill {
    pub fn fire(&self) {
        self.fired.store(true, Ordering::SeqCst);
        self.notify.notify_one();
    }
}
