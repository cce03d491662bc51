//! Which outcomes are worth another attempt.

use std::time::Duration;

/// What to do about a failed attempt.
///
/// Errors describe themselves through [`RetryableError`]; a caller who knows better for one call
/// can pass its own classifier to [`retry_with`](crate::retry_with).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RetryClass {
    /// Worth another attempt.
    Retry {
        /// The server's Retry-After, when it sent one: it replaces the backoff delay.
        retry_after: Option<Duration>,
        /// The attempt timed out (a retry then costs more of the [`RetryBudget`](crate::RetryBudget)).
        timeout: bool,
    },
    /// Permanent: another attempt would fail the same way.
    Fail,
}

impl RetryClass {
    /// Retry with the policy's backoff.
    pub const fn retry() -> Self {
        RetryClass::Retry {
            retry_after: None,
            timeout: false,
        }
    }

    /// Retry after the server's Retry-After (`None` means: use the backoff).
    pub const fn retry_after(retry_after: Option<Duration>) -> Self {
        RetryClass::Retry {
            retry_after,
            timeout: false,
        }
    }

    /// Retry an attempt that timed out.
    pub const fn timeout() -> Self {
        RetryClass::Retry {
            retry_after: None,
            timeout: true,
        }
    }

    /// The class of an HTTP answer with this status: see [`is_retryable_status`].
    pub fn from_status(status: u16, retry_after: Option<Duration>) -> Self {
        if is_retryable_status(status) {
            RetryClass::retry_after(retry_after)
        } else {
            RetryClass::Fail
        }
    }

    /// True for [`RetryClass::Retry`].
    pub fn is_retry(&self) -> bool {
        matches!(self, RetryClass::Retry { .. })
    }
}

/// An error that knows whether the operation that produced it is worth retrying.
pub trait RetryableError {
    /// How the retry driver should treat this error.
    fn retry_class(&self) -> RetryClass;
}

/// True for the HTTP statuses worth retrying: 408, 429, 500, 502, 503 and 504.
///
/// 501 (Not Implemented) and every other 4xx are permanent; 2xx and 3xx are not failures.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// I/O errors: timeouts and broken or refused connections retry; everything else is permanent.
impl RetryableError for std::io::Error {
    fn retry_class(&self) -> RetryClass {
        use std::io::ErrorKind as K;
        match self.kind() {
            K::TimedOut | K::WouldBlock => RetryClass::timeout(),
            K::ConnectionRefused
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::NotConnected
            | K::BrokenPipe
            | K::Interrupted
            | K::UnexpectedEof => RetryClass::retry(),
            _ => RetryClass::Fail,
        }
    }
}

/// A `tokio::time::timeout` that fired: retry, counted as a timeout.
impl RetryableError for tokio::time::error::Elapsed {
    fn retry_class(&self) -> RetryClass {
        RetryClass::timeout()
    }
}

impl<E: RetryableError + ?Sized> RetryableError for Box<E> {
    fn retry_class(&self) -> RetryClass {
        (**self).retry_class()
    }
}

impl<E: RetryableError + ?Sized> RetryableError for &E {
    fn retry_class(&self) -> RetryClass {
        (**self).retry_class()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let retry: Vec<u16> = (100..600).filter(|s| is_retryable_status(*s)).collect();
        assert_eq!(retry, vec![408, 429, 500, 502, 503, 504]);
        assert!(!is_retryable_status(501));
        assert!(!is_retryable_status(400));
        assert!(!is_retryable_status(401));
        assert!(!is_retryable_status(404));
        assert!(!is_retryable_status(0));
        assert!(!is_retryable_status(u16::MAX));
    }

    #[test]
    fn from_status_keeps_retry_after() {
        let ra = Some(Duration::from_secs(2));
        assert_eq!(
            RetryClass::from_status(429, ra),
            RetryClass::Retry {
                retry_after: ra,
                timeout: false
            }
        );
        assert_eq!(RetryClass::from_status(501, ra), RetryClass::Fail);
        assert!(RetryClass::from_status(503, None).is_retry());
    }

    #[test]
    fn io_errors() {
        use std::io::{Error, ErrorKind};
        assert_eq!(
            Error::from(ErrorKind::TimedOut).retry_class(),
            RetryClass::timeout()
        );
        assert_eq!(
            Error::from(ErrorKind::ConnectionRefused).retry_class(),
            RetryClass::retry()
        );
        assert_eq!(
            Error::from(ErrorKind::ConnectionReset).retry_class(),
            RetryClass::retry()
        );
        assert_eq!(
            Error::from(ErrorKind::PermissionDenied).retry_class(),
            RetryClass::Fail
        );
        assert_eq!(
            Error::from(ErrorKind::InvalidData).retry_class(),
            RetryClass::Fail
        );
        let boxed: Box<Error> = Box::new(Error::from(ErrorKind::TimedOut));
        assert_eq!(boxed.retry_class(), RetryClass::timeout());
    }

    #[tokio::test(start_paused = true)]
    async fn elapsed_is_a_timeout() {
        let err = tokio::time::timeout(Duration::from_millis(1), std::future::pending::<()>())
            .await
            .unwrap_err();
        assert_eq!(err.retry_class(), RetryClass::timeout());
    }
}
