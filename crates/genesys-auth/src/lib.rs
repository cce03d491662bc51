//! Genesys Cloud regions, OAuth client credentials with a single-flight token cache, and the
//! one request pipeline (pacing, bearer, retries, typed errors).

mod api_error;
mod credentials;
mod error;
mod oauth;
mod path;
mod region;
mod token;

pub use api_error::{ApiError, CORRELATION_HEADER, SNIPPET_BYTES};
pub use credentials::{
    ClientCredentials, ConfigError, ENV_API_URL, ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_LOGIN_URL,
    ENV_REGION, EnvConfig,
};
pub use error::{AuthError, GenesysError};
pub use oauth::{DEFAULT_TOKEN_LIFETIME, MAX_TOKEN_LIFETIME};
pub use path::encode_path_segment;
pub use region::{ParseRegionError, Region};
pub use token::{AccessToken, StaticToken, TokenProvider};
