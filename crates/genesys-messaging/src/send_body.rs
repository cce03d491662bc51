//! What the three send endpoint types (`crate::endpoints`) share: a JSON body, and whether the send may be repeated.

use genesys_auth::{ApiRequest, GenesysError, JsonBody};
use serde_json::Value;

/// A send's body and its delivery rule.
#[derive(Debug, Clone)]
pub(crate) struct SendBody {
    body: Value,
    at_most_once: bool,
}

impl SendBody {
    pub(crate) fn new(body: Value) -> Self {
        Self {
            body,
            at_most_once: false,
        }
    }

    /// Retried only when the platform provably did not get it.
    pub(crate) fn at_most_once(mut self) -> Self {
        self.at_most_once = true;
        self
    }

    pub(crate) fn json(&self) -> &Value {
        &self.body
    }

    /// [`Endpoint::body`](genesys_auth::Endpoint::body).
    pub(crate) fn body(&self) -> Result<Option<JsonBody>, GenesysError> {
        JsonBody::new(&self.body).map(Some)
    }

    /// [`Endpoint::configure`](genesys_auth::Endpoint::configure).
    pub(crate) fn configure(&self, request: ApiRequest) -> ApiRequest {
        if self.at_most_once {
            request.at_most_once()
        } else {
            request
        }
    }
}
