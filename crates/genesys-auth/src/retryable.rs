//! How the errors classify for [`retry_policy`]'s drivers (for callers that retry whole
//! operations, e.g. a replay; the client's own pipeline has already retried each request).

use retry_policy::{RetryClass, RetryableError, is_retryable_status};

use crate::error::{AuthError, GenesysError};

impl RetryableError for GenesysError {
    fn retry_class(&self) -> RetryClass {
        match self {
            GenesysError::Api(e) => RetryClass::from_status(e.status, e.retry_after),
            GenesysError::Timeout { .. } => RetryClass::timeout(),
            GenesysError::Transport { .. } => RetryClass::retry(),
            GenesysError::Auth(e) => e.retry_class(),
            GenesysError::RetriesExhausted { last, .. }
            | GenesysError::RetryBudgetExhausted { last, .. } => {
                match last.retry_class() {
                    // Later, a whole-operation retry may succeed; the backoff decides when.
                    RetryClass::Retry { timeout, .. } => RetryClass::Retry {
                        retry_after: None,
                        timeout,
                    },
                    other => other,
                }
            }
            _ => RetryClass::Fail,
        }
    }
}

impl RetryableError for AuthError {
    fn retry_class(&self) -> RetryClass {
        match self {
            AuthError::TokenEndpoint { status, .. } if is_retryable_status(*status) => {
                RetryClass::retry()
            }
            AuthError::Timeout { .. } => RetryClass::timeout(),
            AuthError::Transport { .. } | AuthError::RetriesExhausted { .. } => RetryClass::retry(),
            _ => RetryClass::Fail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api_error::ApiError;
    use std::time::Duration;

    fn api(status: u16, retry_after: Option<Duration>) -> GenesysError {
        let mut e = ApiError::from_response(status, &http::HeaderMap::new(), b"");
        e.retry_after = retry_after;
        GenesysError::Api(e)
    }

    #[test]
    fn classes() {
        let ra = Some(Duration::from_secs(2));
        assert_eq!(api(429, ra).retry_class(), RetryClass::retry_after(ra));
        assert_eq!(api(503, None).retry_class(), RetryClass::retry());
        assert_eq!(api(501, None).retry_class(), RetryClass::Fail);
        assert_eq!(api(404, None).retry_class(), RetryClass::Fail);
        let exhausted = GenesysError::RetriesExhausted {
            attempts: 4,
            elapsed: Duration::ZERO,
            last: Box::new(api(429, ra)),
        };
        assert_eq!(exhausted.retry_class(), RetryClass::retry());
        assert_eq!(
            GenesysError::InvalidInput("x".into()).retry_class(),
            RetryClass::Fail
        );
        let refused = AuthError::InvalidCredentials {
            status: 401,
            error: None,
            description: None,
        };
        assert_eq!(GenesysError::Auth(refused).retry_class(), RetryClass::Fail);
        let busy = AuthError::TokenEndpoint {
            status: 503,
            error: None,
            description: None,
        };
        assert_eq!(busy.retry_class(), RetryClass::retry());
    }
}
