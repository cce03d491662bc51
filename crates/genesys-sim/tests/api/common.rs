//! Helpers shared by the tests.

use genesys_sim::{SimOrg, SimOrgBuilder};
use serde_json::Value;

/// A client without idle connections, so each request opens its own (faults that drop a
/// connection then hit only that request). Building one costs milliseconds: reuse it in loops.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

pub async fn start(builder: SimOrgBuilder) -> SimOrg {
    builder.start().await.expect("sim starts")
}

pub async fn small() -> SimOrg {
    start(
        SimOrg::builder()
            .seed(7)
            .conversations(4)
            .messages_per_conversation(60),
    )
    .await
}

/// A client-credentials token from the sim.
pub async fn token(sim: &SimOrg) -> String {
    let resp = client()
        .post(format!("{}/oauth/token", sim.base_url()))
        .basic_auth(sim.client_id(), Some(sim.client_secret()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// Asserts the Genesys error body shape and returns it.
pub async fn genesys_error(resp: reqwest::Response, status: u16) -> Value {
    assert_eq!(resp.status().as_u16(), status);
    let correlation = resp
        .headers()
        .get("inin-correlation-id")
        .expect("correlation header")
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert!(
        body["code"].as_str().is_some_and(|c| !c.is_empty()),
        "{body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(body["contextId"], correlation.as_str());
    assert!(body["details"].is_array() && body["errors"].is_array());
    body
}

pub async fn post_json(sim: &SimOrg, token: &str, path: &str, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}{path}", sim.base_url()))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

pub async fn get(sim: &SimOrg, token: &str, path: &str) -> reqwest::Response {
    client()
        .get(format!("{}{path}", sim.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}
