//! Genesys Cloud regions, OAuth client credentials with a single-flight token cache, and the
//! one request pipeline every Genesys call goes through (pacing, bearer, retries, typed errors).
//!
//! ```no_run
//! use genesys_auth::{EnvConfig, GenesysClient};
//! use retry_policy::{Pacer, RetryPolicy};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // GENESYSCLOUD_OAUTHCLIENT_ID / _SECRET / _REGION (or _API_URL / _LOGIN_URL)
//! let config = EnvConfig::from_env()?;
//! let client = GenesysClient::builder()
//!     .region(config.region)
//!     .credentials(config.credentials)
//!     .pacer(Pacer::per_minute(300, 10)) // share one pacer across the org's workers
//!     .retry_policy(RetryPolicy::default())
//!     .build()?;
//! let me: serde_json::Value = client.get_json("/api/v2/organizations/me", &[]).await?;
//! println!("{}", me["name"]);
//! # Ok(()) }
//! ```
//!
//! What it does:
//! - [`Region`]: the 18 regions and custom base URLs; [`EnvConfig::from_env`].
//! - [`TokenProvider`]: [`ClientCredentialsProvider`] (cached, refreshed early, one token
//!   request however many callers) and [`StaticToken`] (a guest JWT).
//! - [`GenesysClient`]: pacer → bearer → send → classify → one retry with a new token after a
//!   401 → retries per [`retry_policy::RetryPolicy`] honouring `Retry-After` → typed
//!   [`GenesysError`] / [`ApiError`]; body size limit; a tracing span per request; metrics.
//! - [`Endpoint`]: one operation as a type (method, path, query, body, answer type), sent by
//!   [`GenesysClient::call`] through the same pipeline; [`Operation`] names it for lists.
//! - [`encode_path_segment`] and [`PathSegment`] for ids that go into paths.
//!
//! What it does not do: endpoint models (see `genesys-messaging`, `genesys-analytics`),
//! other OAuth grants (plug them in as a [`TokenProvider`]), or turning TLS verification off.
//! Secrets (client secret, tokens) never appear in `Debug`, `Display`, errors or tracing.

mod api_error;
mod body;
mod client;
mod credentials;
mod endpoint;
mod error;
mod give_up;
pub mod metric_names;
mod oauth;
mod path;
mod provider;
mod region;
mod request;
mod retryable;
mod token;
mod transport;
mod wire_enum;

pub use api_error::{ApiError, CORRELATION_HEADER, SNIPPET_BYTES};
pub use client::{GenesysClient, GenesysClientBuilder};
pub use credentials::{
    ClientCredentials, ConfigError, ENV_API_URL, ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_LOGIN_URL,
    ENV_REGION, EnvConfig,
};
pub use endpoint::{Endpoint, Operation};
pub use error::{AuthError, GenesysError};
pub use oauth::{DEFAULT_TOKEN_LIFETIME, MAX_TOKEN_LIFETIME};
pub use path::{PathSegment, encode_path_segment};
pub use provider::{
    ClientCredentialsProvider, ClientCredentialsProviderBuilder, DEFAULT_MIN_REFRESH_MARGIN,
    DEFAULT_REFRESH_FRACTION, MAX_TOKEN_ANSWER_BYTES,
};
pub use region::{ParseRegionError, Region};
pub use request::{ApiRequest, ApiResponse, JsonBody};
pub use token::{AccessToken, StaticToken, TokenProvider};
pub use transport::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_BYTES, DEFAULT_REQUEST_TIMEOUT, USER_AGENT,
};

/// Re-exports for this workspace's macros (`__wire_enum!`); not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use serde;
}
