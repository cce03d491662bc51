//! Real service or embedded simulator.
//!
//! A recipe talks to Genesys Cloud when `GENESYSCLOUD_OAUTHCLIENT_ID` is set (read with
//! [`genesys_auth::EnvConfig::from_env`]: `GENESYSCLOUD_OAUTHCLIENT_SECRET`,
//! `GENESYSCLOUD_REGION` or `GENESYSCLOUD_API_URL`/`GENESYSCLOUD_LOGIN_URL`), and otherwise
//! starts an embedded [`SimOrg`]. `--sim` forces the simulator. The recipe's first line on
//! stderr says which ([`announce`]), before any log line.

use std::time::Duration;

use anyhow::Context as _;
use genesys_auth::{ClientCredentials, ENV_CLIENT_ID, EnvConfig, GenesysClient, Region};
use genesys_sim::{SimOrg, SimOrgBuilder};
use retry_policy::{Pacer, RetryPolicy};

use crate::exit::notice;

/// Where a recipe's Genesys calls go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Genesys Cloud, from `GENESYSCLOUD_*`.
    Real,
    /// An embedded simulated org.
    Simulated,
}

/// Reads the Genesys settings: `None` → simulated (forced, or `GENESYSCLOUD_OAUTHCLIENT_ID`
/// unset); `Some` → real. A set but unusable configuration is an error, never a silent switch
/// to the simulator.
pub fn genesys_env(force_sim: bool) -> anyhow::Result<Option<EnvConfig>> {
    if force_sim {
        return Ok(None);
    }
    match std::env::var(ENV_CLIENT_ID) {
        Ok(v) if !v.trim().is_empty() => EnvConfig::from_env()
            .map(Some)
            .context("Genesys Cloud settings (GENESYSCLOUD_*) are incomplete"),
        _ => Ok(None),
    }
}

/// Prints the mode line: the recipe's first line on stderr.
pub fn announce(recipe: &str, mode: Mode, detail: &str) {
    match mode {
        Mode::Real => notice(format!("{recipe}: real services: {detail}")),
        Mode::Simulated => notice(format!("{recipe}: simulated mode: {detail}")),
    }
}

/// Why the simulator was chosen, for the mode line.
pub fn sim_reason(force_sim: bool) -> &'static str {
    if force_sim {
        "--sim given"
    } else {
        "GENESYSCLOUD_OAUTHCLIENT_ID is not set"
    }
}

/// A Genesys client and, in simulated mode, the org behind it (stopped on drop).
#[derive(Debug)]
pub struct Genesys {
    /// The client every call goes through.
    pub client: GenesysClient,
    /// The embedded org, in simulated mode.
    pub sim: Option<SimOrg>,
}

impl Genesys {
    /// The mode this client runs in.
    pub fn mode(&self) -> Mode {
        if self.sim.is_some() {
            Mode::Simulated
        } else {
            Mode::Real
        }
    }
}

/// Connects: a client from `env` when given, else starts `sim` and a client on it.
pub async fn connect(
    env: Option<EnvConfig>,
    sim: SimOrgBuilder,
    pacer: Pacer,
    policy: RetryPolicy,
) -> anyhow::Result<Genesys> {
    let builder = GenesysClient::builder()
        .pacer(pacer)
        .retry_policy(policy)
        .connect_timeout(Duration::from_secs(5))
        .request_timeout(Duration::from_secs(30));
    match env {
        Some(config) => {
            let client = builder
                .region(config.region)
                .credentials(config.credentials)
                .build()
                .context("building the Genesys client")?;
            Ok(Genesys { client, sim: None })
        }
        None => {
            let org = sim.start().await.context("starting the simulated org")?;
            let base = url_of(&org.base_url())?;
            let client = builder
                .region(Region::custom(base.clone(), base))
                .credentials(ClientCredentials::new(
                    org.client_id().to_owned(),
                    org.client_secret().to_owned(),
                ))
                .build()
                .context("building the Genesys client for the simulated org")?;
            tracing::info!(base_url = %org.base_url(), conversations = org.conversations().len(), "simulated org started");
            Ok(Genesys {
                client,
                sim: Some(org),
            })
        }
    }
}

/// Parses a base URL.
pub fn url_of(raw: &str) -> anyhow::Result<reqwest::Url> {
    reqwest::Url::parse(raw).with_context(|| format!("invalid URL {raw:?}"))
}

/// The simulated org the recipes use: `seed`, `conversations` conversations of `messages`
/// messages each. Tests rebuild the same dataset from the same three numbers.
pub fn sim_org(seed: u64, conversations: u32, messages: u32) -> SimOrgBuilder {
    SimOrg::builder()
        .seed(seed)
        .conversations(conversations)
        .messages_per_conversation(messages)
}
