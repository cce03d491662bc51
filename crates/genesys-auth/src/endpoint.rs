//! [`Endpoint`]: one Genesys operation as a type, sent by [`crate::GenesysClient::call`].

use std::fmt;

use http::Method;
use serde::de::DeserializeOwned;

use crate::error::GenesysError;
use crate::request::{ApiRequest, ApiResponse, JsonBody};

/// What an endpoint type calls, for lists of operations and the contract check: the platform's
/// operation id (a stable name, as in the API reference and the SDKs), the method and the path
/// template (`{conversationId}` for each parameter).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Operation {
    /// The operation id, e.g. `postAnalyticsConversationsDetailsQuery`.
    pub name: &'static str,
    /// The HTTP method.
    pub method: Method,
    /// The path template below the API base, e.g. `/api/v2/conversations/{conversationId}`.
    pub path: &'static str,
}

impl Operation {
    /// An operation.
    pub const fn new(name: &'static str, method: Method, path: &'static str) -> Self {
        Self { name, method, path }
    }

    /// Whether a concrete path fits the template: the same segments, each `{parameter}` standing
    /// for exactly one non-empty segment.
    ///
    /// ```
    /// use genesys_auth::Operation;
    /// let op = Operation::new("getConversation", http::Method::GET, "/api/v2/conversations/{conversationId}");
    /// assert!(op.matches("/api/v2/conversations/c%2F1"));
    /// assert!(!op.matches("/api/v2/conversations/c/1"));
    /// assert!(!op.matches("/api/v2/conversations/"));
    /// ```
    pub fn matches(&self, path: &str) -> bool {
        let mut template = self.path.split('/');
        let mut concrete = path.split('/');
        loop {
            match (template.next(), concrete.next()) {
                (None, None) => return true,
                (Some(t), Some(c)) if t.starts_with('{') && t.ends_with('}') => {
                    if c.is_empty() {
                        return false;
                    }
                }
                (Some(t), Some(c)) if t == c => {}
                _ => return false,
            }
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({})", self.method, self.path, self.name)
    }
}

/// One Genesys REST operation as a type: method, path, query, body, and the answer's type. The
/// client sends it through its one pipeline ([`crate::GenesysClient::call`]); adding an
/// endpoint is adding a type.
///
/// ```
/// use genesys_auth::{Endpoint, Operation, PathSegment};
/// use http::Method;
///
/// /// `GET /api/v2/conversations/{conversationId}`.
/// struct GetConversation {
///     conversation_id: PathSegment,
/// }
///
/// impl Endpoint for GetConversation {
///     type Response = serde_json::Value;
///     const OPERATION: Operation =
///         Operation::new("getConversation", Method::GET, "/api/v2/conversations/{conversationId}");
///     fn path(&self) -> String {
///         format!("/api/v2/conversations/{}", self.conversation_id)
///     }
/// }
///
/// # async fn run(client: genesys_auth::GenesysClient) -> Result<(), genesys_auth::GenesysError> {
/// let conversation = client.call(&GetConversation { conversation_id: PathSegment::new("5f1c…")? }).await?;
/// # Ok(()) }
/// ```
pub trait Endpoint: Sync {
    /// What a 2xx answer decodes to.
    type Response: DeserializeOwned;

    /// The operation this type calls.
    const OPERATION: Operation;

    /// The path below the API base, ids already encoded (hold them as
    /// [`PathSegment`](crate::PathSegment)s). Must fit [`Operation::matches`].
    fn path(&self) -> String;

    /// The method (default: the operation's).
    fn method(&self) -> Method {
        Self::OPERATION.method
    }

    /// Query parameters (default none); percent-encoded when sent.
    fn query(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// The JSON body, if the operation takes one (default none).
    fn body(&self) -> Result<Option<JsonBody>, GenesysError> {
        Ok(None)
    }

    /// Per-call settings of the pipeline for this operation (default none): e.g.
    /// [`ApiRequest::at_most_once`] for a send the platform may not receive twice,
    /// [`ApiRequest::refetch_unparsable`] for a read whose answer may come cut short.
    fn configure(&self, request: ApiRequest) -> ApiRequest {
        request
    }

    /// Decodes a 2xx answer (default: [`ApiResponse::json`], where an empty body is `null`).
    fn decode(&self, answer: &ApiResponse) -> Result<Self::Response, GenesysError> {
        answer.json()
    }

    /// The request [`crate::GenesysClient::send`] takes: method, path, query, body, settings.
    fn request(&self) -> Result<ApiRequest, GenesysError> {
        let path = self.path();
        debug_assert!(
            Self::OPERATION.matches(&path),
            "{path} does not fit {}",
            Self::OPERATION
        );
        let mut request = ApiRequest::new(self.method(), path);
        let query = self.query();
        if !query.is_empty() {
            request = request.query(&query);
        }
        if let Some(body) = self.body()? {
            request = request.json_body(body);
        }
        Ok(self.configure(request))
    }
}
