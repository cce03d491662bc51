//! `--redis-url` (env `REDIS_URL`): one pace for every process of a fleet, and for the webhook
//! consumer one idempotency store. Without it each process keeps its own, as before.
//!
//! The URL is held in a [`SecretString`] from the moment it is parsed and printed only through
//! [`retry_policy::redact::url`] (a password in it never reaches a log, an error or `--help`).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use retry_policy::{Pacer, PacerScope};
use secrecy::{ExposeSecret, SecretString};

/// A Redis URL that is never printed with its password.
#[derive(Clone)]
pub struct RedisUrl(Arc<SecretString>);

impl RedisUrl {
    /// The URL, for a client that needs it.
    pub fn secret(&self) -> SecretString {
        SecretString::from(self.0.expose_secret().to_owned())
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        retry_policy::redact::url(self.0.expose_secret())
    }
}

impl FromStr for RedisUrl {
    type Err = std::convert::Infallible;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Ok(Self(Arc::new(SecretString::from(raw.trim().to_owned()))))
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RedisUrl").field(&self.redacted()).finish()
    }
}

/// `--redis-url`, `--redis-namespace`, `--fleet-size`, flattened into the recipes that pace.
#[derive(Debug, Clone, Args)]
pub struct FleetArgs {
    /// Redis (or Valkey) shared by every process of a fleet (env REDIS_URL): with it, all
    /// processes with the same --redis-namespace keep ONE pace (429 pauses and learned limits
    /// shared); without it each process paces on its own, as before. A password in the URL is
    /// never printed.
    #[arg(long, env = "REDIS_URL", hide_env_values = true, value_name = "URL")]
    pub redis_url: Option<RedisUrl>,

    /// Prefix of the shared Redis keys: processes with the same namespace share a pace.
    #[arg(long, default_value = "genesys-toolkit", value_name = "NAME")]
    pub redis_namespace: String,

    /// Processes expected to share the limit (with --redis-url): while Redis is down each
    /// process paces at the limit divided by this.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub fleet_size: u32,
}

impl FleetArgs {
    /// The pacer: shared through Redis at `rate` requests a second (burst `burst`) in `scope`
    /// when `--redis-url` is given, else `local`. A Genesys client's scope is
    /// [`oauth_scope`]: the limit belongs to the OAuth client.
    pub fn pacer(&self, scope: &str, rate: f64, burst: u32, local: Pacer) -> anyhow::Result<Pacer> {
        let Some(url) = &self.redis_url else {
            return Ok(local);
        };
        Pacer::redis(url.secret())
            .namespace(&self.redis_namespace)
            .scope(PacerScope::per_second(scope, rate, burst))
            .fleet_size(self.fleet_size)
            .build()
            .with_context(|| format!("shared pacer on {}", url.redacted()))
    }

    /// One line for the mode banner: which pace is in force.
    pub fn describe(&self) -> String {
        match &self.redis_url {
            Some(url) => format!(
                "pace shared through Redis at {} (namespace {}, fleet of {})",
                url.redacted(),
                self.redis_namespace,
                self.fleet_size
            ),
            None => "pace kept in this process (no --redis-url)".to_owned(),
        }
    }
}

/// The scope of a Genesys client's limit: `oauth-client:ID` from `GENESYSCLOUD_OAUTHCLIENT_ID`
/// (`oauth-client:simulated` for the embedded org).
pub fn oauth_scope() -> String {
    let id = std::env::var(genesys_auth::ENV_CLIENT_ID)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "simulated".to_owned());
    format!("oauth-client:{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_never_printed() {
        let url: RedisUrl = "redis://:hunter2@127.0.0.1:6379/0".parse().unwrap();
        assert_eq!(url.redacted(), "redis://***@127.0.0.1:6379/0");
        assert!(!format!("{url:?}").contains("hunter2"));
        let args = FleetArgs {
            redis_url: Some(url),
            redis_namespace: "n".into(),
            fleet_size: 2,
        };
        assert!(!args.describe().contains("hunter2"));
        assert!(!format!("{args:?}").contains("hunter2"));
    }
}
