//! A web messaging guest session: on a real deployment (the region's WebSocket) or on the
//! embedded simulator's `/v1`.

use anyhow::Context as _;
use genesys_auth::Region;
use genesys_messaging::guest::{GuestConfig, GuestConfigBuilder, GuestSession};
use genesys_sim::SimOrg;
use secrecy::SecretString;

/// The simulator's guest WebSocket endpoint (`ws://…/v1`).
pub fn sim_endpoint(sim: &SimOrg) -> anyhow::Result<reqwest::Url> {
    reqwest::Url::parse(&sim.guest_ws_url()).context("the simulator's WebSocket URL")
}

/// Settings for `deployment_id` on the simulator (when given) or the region.
pub fn config(
    deployment_id: &str,
    region: Option<&Region>,
    sim: Option<&SimOrg>,
) -> anyhow::Result<GuestConfigBuilder> {
    let builder = GuestConfig::builder(deployment_id);
    Ok(match (sim, region) {
        (Some(sim), _) => builder.url(sim_endpoint(sim)?),
        (None, Some(region)) => builder.region(region),
        (None, None) => anyhow::bail!("set GENESYSCLOUD_REGION for a guest session"),
    })
}

/// Opens (or, with `session_token`, resumes) a guest session.
pub async fn open(
    deployment_id: &str,
    region: Option<&Region>,
    sim: Option<&SimOrg>,
    session_token: Option<String>,
) -> anyhow::Result<GuestSession> {
    let mut builder = config(deployment_id, region, sim)?;
    if let Some(token) = session_token {
        builder = builder.resume(SecretString::from(token));
    }
    let config = builder.build().context("guest session settings")?;
    tracing::info!(url = %config.url(), "opening a web messaging guest session");
    GuestSession::connect(config)
        .await
        .context("opening the web messaging guest session")
}
