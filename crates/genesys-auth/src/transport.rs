//! The HTTP transport settings shared by the API client and the token provider: timeouts,
//! body limit, User-Agent, and the pooled `reqwest` client they build.

use std::time::Duration;

use crate::error::GenesysError;

/// Default connect timeout (10 s).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default whole-request timeout, body included (60 s).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Default limit of a response body (16 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// The `User-Agent` sent: crate name and version.
pub const USER_AGENT: &str = concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION"));

/// The pooled HTTP client: rustls with the platform's roots plus `extra_roots`, certificate
/// verification always on, timeouts, and the crate's User-Agent.
pub(crate) fn http_client(
    connect_timeout: Duration,
    request_timeout: Duration,
    extra_roots: Vec<reqwest::Certificate>,
) -> Result<reqwest::Client, GenesysError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(connect_timeout)
        .timeout(request_timeout)
        .redirect(reqwest::redirect::Policy::none());
    if !extra_roots.is_empty() {
        builder = builder.tls_certs_merge(extra_roots);
    }
    builder
        .build()
        .map_err(|source| GenesysError::Transport { source })
}
