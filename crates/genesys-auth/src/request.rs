//! A raw request to the API and its answer.

use std::fmt;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use retry_policy::RetryPolicy;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api_error::snippet;
use crate::error::GenesysError;

/// One API call for [`crate::GenesysClient::send`]: method, path (below the API base), query,
/// body, extra headers, and optionally a retry policy for this call only.
///
/// ```
/// # fn main() -> Result<(), genesys_auth::GenesysError> {
/// use genesys_auth::{ApiRequest, encode_path_segment};
/// use retry_policy::RetryPolicy;
/// let id = encode_path_segment("5f1c-42")?;
/// let req = ApiRequest::post(format!("/api/v2/conversations/messages/{id}/messages/bulk"))
///     .json(&["m1", "m2"])?
///     .retry_policy(RetryPolicy::no_retry());
/// assert_eq!(req.path(), "/api/v2/conversations/messages/5f1c-42/messages/bulk");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ApiRequest {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: Option<(Bytes, HeaderValue)>,
    pub(crate) headers: HeaderMap,
    pub(crate) retry_policy: Option<RetryPolicy>,
    pub(crate) at_most_once: bool,
    pub(crate) refetch_unparsable: bool,
}

impl ApiRequest {
    /// A request with any method. `path` starts with `/` (`/api/v2/...`); put ids through
    /// [`crate::encode_path_segment`].
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        ApiRequest {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            headers: HeaderMap::new(),
            retry_policy: None,
            at_most_once: false,
            refetch_unparsable: false,
        }
    }

    /// A GET.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    /// A POST.
    pub fn post(path: impl Into<String>) -> Self {
        Self::new(Method::POST, path)
    }

    /// A PUT.
    pub fn put(path: impl Into<String>) -> Self {
        Self::new(Method::PUT, path)
    }

    /// A PATCH.
    pub fn patch(path: impl Into<String>) -> Self {
        Self::new(Method::PATCH, path)
    }

    /// A DELETE.
    pub fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path)
    }

    /// Adds query parameters (percent-encoded when sent).
    pub fn query<K: AsRef<str>, V: ToString>(mut self, pairs: &[(K, V)]) -> Self {
        self.query.extend(
            pairs
                .iter()
                .map(|(k, v)| (k.as_ref().to_owned(), v.to_string())),
        );
        self
    }

    /// A JSON body (`Content-Type: application/json`).
    pub fn json<B: Serialize + ?Sized>(self, body: &B) -> Result<Self, GenesysError> {
        Ok(self.json_body(JsonBody::new(body)?))
    }

    /// A JSON body serialized before (`Content-Type: application/json`).
    pub fn json_body(mut self, body: JsonBody) -> Self {
        self.body = Some((body.0, HeaderValue::from_static("application/json")));
        self
    }

    /// A body of any type.
    pub fn body(mut self, body: impl Into<Bytes>, content_type: HeaderValue) -> Self {
        self.body = Some((body.into(), content_type));
        self
    }

    /// An extra header (an `Authorization` header is replaced by the bearer token).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// A retry policy for this call only (e.g. [`RetryPolicy::no_retry`] for a send that must
    /// not be repeated).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = Some(policy);
        self
    }

    /// Retries this call only when it provably did not reach the platform: a 429 (refused
    /// before it was processed) or a connection that could not be opened (no byte was sent).
    /// A 5xx, a timeout, or a connection lost after the request went out end the call with
    /// that error, as the platform may have acted on it (a message send without an idempotency
    /// key, for example). A 401 is still retried once with a fresh token.
    pub fn at_most_once(mut self) -> Self {
        self.at_most_once = true;
        self
    }

    /// Fetches a 2xx answer again, within the same retry loop and policy, when its body is not
    /// whole JSON (cut off mid-body, or a proxy's HTML page). Only for requests that are safe
    /// to repeat (reads, including reads sent as POST such as a bulk lookup): every fetch counts
    /// as an attempt, so the worst case is still the policy's attempt count. The last such
    /// answer gives [`GenesysError::Decode`] (inside `RetriesExhausted` after several).
    pub fn refetch_unparsable(mut self) -> Self {
        self.refetch_unparsable = true;
        self
    }

    /// Whether [`at_most_once`](Self::at_most_once) is set.
    pub fn is_at_most_once(&self) -> bool {
        self.at_most_once
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl fmt::Debug for ApiRequest {
    /// Header values and the body are left out (they may carry user data or credentials).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_bytes", &self.body.as_ref().map(|(b, _)| b.len()))
            .field("retry_policy", &self.retry_policy.is_some())
            .field("at_most_once", &self.at_most_once)
            .field("refetch_unparsable", &self.refetch_unparsable)
            .finish()
    }
}

/// A request body serialized as JSON, ready to send (see [`ApiRequest::json_body`] and
/// [`crate::Endpoint::body`]).
#[derive(Clone)]
pub struct JsonBody(Bytes);

impl JsonBody {
    /// Serializes `body`; a value JSON cannot represent (a map with non-string keys...) is
    /// [`GenesysError::InvalidInput`].
    pub fn new<B: Serialize + ?Sized>(body: &B) -> Result<Self, GenesysError> {
        serde_json::to_vec(body)
            .map(|bytes| Self(Bytes::from(bytes)))
            .map_err(|e| GenesysError::InvalidInput(format!("the body cannot be serialized: {e}")))
    }

    /// The serialized bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for JsonBody {
    /// Only the length (a body may carry user data).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonBody")
            .field("bytes", &self.0.len())
            .finish()
    }
}

/// A success answer (2xx) from [`crate::GenesysClient::send`].
#[derive(Clone, Debug)]
pub struct ApiResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// The whole body (within the client's body limit).
    pub body: Bytes,
}

impl ApiResponse {
    /// Decodes the body as JSON. An empty body decodes as `null` (so `()` and `Option<T>`
    /// work for 204 answers). Truncated or unexpected JSON gives [`GenesysError::Decode`] with
    /// a snippet of the body.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, GenesysError> {
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &self.body
        };
        serde_json::from_slice(body).map_err(|source| GenesysError::Decode {
            status: self.status,
            body_snippet: snippet(&self.body),
            source,
        })
    }

    /// The correlation id (`ININ-Correlation-Id`), if the answer has one.
    pub fn correlation_id(&self) -> Option<&str> {
        self.headers
            .get(crate::api_error::CORRELATION_HEADER)
            .and_then(|v| v.to_str().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_decoding() {
        let ok = ApiResponse {
            status: 200,
            headers: HeaderMap::new(),
            body: Bytes::from_static(br#"{"a":1}"#),
        };
        assert_eq!(ok.json::<serde_json::Value>().unwrap()["a"], 1);
        let empty = ApiResponse {
            status: 204,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        };
        empty.json::<()>().unwrap();
        assert_eq!(empty.json::<Option<u32>>().unwrap(), None);
        let truncated = ApiResponse {
            status: 200,
            headers: HeaderMap::new(),
            body: Bytes::from_static(br#"{"entities":[{"id":"#),
        };
        match truncated.json::<serde_json::Value>() {
            Err(GenesysError::Decode {
                status: 200,
                body_snippet,
                ..
            }) => assert_eq!(body_snippet, r#"{"entities":[{"id":"#),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn requests_build_and_hide_headers() {
        let r = ApiRequest::get("/api/v2/x")
            .query(&[("pageSize", 100)])
            .query(&[("q", "a b".to_owned())])
            .header(
                http::header::HeaderName::from_static("x-secret"),
                HeaderValue::from_static("hidden-value"),
            );
        assert_eq!(
            r.query,
            vec![
                ("pageSize".into(), "100".into()),
                ("q".into(), "a b".into())
            ]
        );
        assert!(!format!("{r:?}").contains("hidden-value"));
        let bad = ApiRequest::post("/x").json(&std::collections::HashMap::from([((1, 2), 3)]));
        assert!(matches!(bad, Err(GenesysError::InvalidInput(_))));
    }
}
