//! The one mapping from "the retry driver stopped" to this crate's errors, shared by the API
//! pipeline ([`GenesysError`]) and the token request ([`AuthError`]).

use std::time::Duration;

use retry_policy::{GiveUp, RetryError};

use crate::error::{AuthError, GenesysError};

/// An error type the retry driver's verdict can be folded into.
pub(crate) trait GiveUpError: Sized {
    /// The server asked to wait past the policy's cap.
    fn retry_after_too_long(last: Self, retry_after: Duration, cap: Duration) -> Self;
    /// The shared retry budget is drained.
    fn budget_exhausted(last: Self, attempts: u32, elapsed: Duration) -> Self;
    /// Attempts or time ran out after more than one attempt.
    fn retries_exhausted(last: Self, attempts: u32, elapsed: Duration) -> Self;
}

/// Folds the driver's verdict into an error: a permanent failure (or a single attempt that
/// ran out) is the attempt's own error; otherwise the error says why retrying stopped.
/// `sends` counts every request sent (a 401's re-send with a fresh token included), which is
/// what the errors report as attempts.
pub(crate) fn give_up<E: GiveUpError>(stopped: RetryError<E>, sends: u32) -> E {
    let RetryError {
        attempts,
        elapsed,
        last,
        reason,
    } = stopped;
    match reason {
        GiveUp::Permanent => last,
        GiveUp::RetryAfterTooLong { retry_after, cap } => {
            E::retry_after_too_long(last, retry_after, cap)
        }
        GiveUp::BudgetExhausted => E::budget_exhausted(last, sends, elapsed),
        _ if attempts == 1 => last,
        _ => E::retries_exhausted(last, sends, elapsed),
    }
}

impl GiveUpError for GenesysError {
    fn retry_after_too_long(last: Self, retry_after: Duration, cap: Duration) -> Self {
        match last {
            GenesysError::Api(error) => GenesysError::RetryAfterTooLong {
                retry_after,
                cap,
                error: Box::new(error),
            },
            other => other,
        }
    }

    fn budget_exhausted(last: Self, attempts: u32, _elapsed: Duration) -> Self {
        GenesysError::RetryBudgetExhausted {
            attempts,
            last: Box::new(last),
        }
    }

    fn retries_exhausted(last: Self, attempts: u32, elapsed: Duration) -> Self {
        GenesysError::RetriesExhausted {
            attempts,
            elapsed,
            last: Box::new(last),
        }
    }
}

impl GiveUpError for AuthError {
    fn retry_after_too_long(_last: Self, retry_after: Duration, cap: Duration) -> Self {
        AuthError::RetryAfterTooLong { retry_after, cap }
    }

    /// The token request has no budget variant: a drained budget reads as retries run out.
    fn budget_exhausted(last: Self, attempts: u32, elapsed: Duration) -> Self {
        if attempts == 1 {
            last
        } else {
            Self::retries_exhausted(last, attempts, elapsed)
        }
    }

    fn retries_exhausted(last: Self, attempts: u32, elapsed: Duration) -> Self {
        AuthError::RetriesExhausted {
            attempts,
            elapsed,
            last: Box::new(last),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stopped(attempts: u32, reason: GiveUp) -> RetryError<AuthError> {
        RetryError {
            attempts,
            elapsed: Duration::from_millis(300),
            last: AuthError::MalformedTokenResponse {
                reason: "x".to_owned(),
            },
            reason,
        }
    }

    #[test]
    fn the_verdict_decides_the_error() {
        assert!(matches!(
            give_up(stopped(1, GiveUp::Permanent), 1),
            AuthError::MalformedTokenResponse { .. }
        ));
        assert!(matches!(
            give_up(stopped(1, GiveUp::MaxAttempts), 1),
            AuthError::MalformedTokenResponse { .. }
        ));
        assert!(matches!(
            give_up(stopped(3, GiveUp::MaxElapsed), 4),
            AuthError::RetriesExhausted { attempts: 4, .. }
        ));
        assert!(matches!(
            give_up(stopped(2, GiveUp::BudgetExhausted), 2),
            AuthError::RetriesExhausted { attempts: 2, .. }
        ));
        let cap = Duration::from_secs(180);
        let retry_after = Duration::from_secs(500);
        assert!(matches!(
            give_up(stopped(1, GiveUp::RetryAfterTooLong { retry_after, cap }), 1),
            AuthError::RetryAfterTooLong { retry_after: r, cap: c } if r == retry_after && c == cap
        ));
        let api = RetryError {
            attempts: 1,
            elapsed: Duration::ZERO,
            last: GenesysError::InvalidInput("x".to_owned()),
            reason: GiveUp::BudgetExhausted,
        };
        assert!(matches!(
            give_up(api, 1),
            GenesysError::RetryBudgetExhausted { attempts: 1, .. }
        ));
    }
}
