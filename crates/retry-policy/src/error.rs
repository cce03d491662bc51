//! The error the retry driver returns when it stops.

use std::fmt;
use std::time::Duration;

use crate::policy::GiveUp;

/// The retry driver gave up: how many attempts it made, how long it took, the last error and
/// why it stopped. [`std::error::Error::source`] is the last error.
#[derive(Debug)]
pub struct RetryError<E> {
    /// Attempts made, the first included.
    pub attempts: u32,
    /// Time from the start of the first attempt to giving up.
    pub elapsed: Duration,
    /// The error of the last attempt.
    pub last: E,
    /// Why the driver stopped.
    pub reason: GiveUp,
}

impl<E> RetryError<E> {
    /// The last attempt's error, dropping the rest.
    pub fn into_last(self) -> E {
        self.last
    }

    /// Converts the last error, keeping the counts and the reason.
    pub fn map_last<F, E2>(self, f: F) -> RetryError<E2>
    where
        F: FnOnce(E) -> E2,
    {
        RetryError {
            attempts: self.attempts,
            elapsed: self.elapsed,
            last: f(self.last),
            reason: self.reason,
        }
    }
}

impl<E> fmt::Display for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.attempts == 1 { "" } else { "s" };
        write!(
            f,
            "gave up after {} attempt{plural} in {:?}: {}",
            self.attempts, self.elapsed, self.reason
        )
    }
}

impl<E: std::error::Error + 'static> std::error::Error for RetryError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn display_and_source() {
        let err = RetryError {
            attempts: 3,
            elapsed: Duration::from_millis(1500),
            last: std::io::Error::other("boom"),
            reason: GiveUp::MaxAttempts,
        };
        assert_eq!(
            err.to_string(),
            "gave up after 3 attempts in 1.5s: the maximum number of attempts was reached"
        );
        assert_eq!(err.source().map(|s| s.to_string()).as_deref(), Some("boom"));
        let mapped = err.map_last(|e| e.to_string());
        assert_eq!(mapped.last, "boom");
        assert_eq!(mapped.attempts, 3);
        assert_eq!(mapped.into_last(), "boom");
    }
}
