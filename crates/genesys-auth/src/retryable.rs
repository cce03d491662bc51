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
