//! `POST /oauth/token`.

use std::time::Duration;

use genesys_sim::SimOrg;
use serde_json::Value;

use crate::common::{client, genesys_error, get, small, start, token};

#[tokio::test]
async fn issues_a_bearer_token_for_basic_client_credentials() {
    let sim = small().await;
    let resp = client()
        .post(format!("{}/oauth/token", sim.base_url()))
        .basic_auth(sim.client_id(), Some(sim.client_secret()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("inin-correlation-id"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 86_399);
    assert!(body["access_token"].as_str().unwrap().len() > 20);
    assert_eq!(sim.stats().token_requests, 1);
    assert_eq!(sim.stats().tokens_issued, 1);
}

#[tokio::test]
async fn wrong_secret_is_401_with_oauth_error_fields() {
    let sim = small().await;
    for auth in [
        Some(("nobody", "x")),
        Some((sim.client_id(), "wrong")),
        None,
    ] {
        let mut req = client()
            .post(format!("{}/oauth/token", sim.base_url()))
            .form(&[("grant_type", "client_credentials")]);
        if let Some((id, secret)) = auth {
            req = req.basic_auth(id, Some(secret));
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client");
        assert!(body["description"].is_string());
        assert!(body["error_description"].is_string());
    }
}

#[tokio::test]
async fn id_and_secret_in_the_form_body_are_not_accepted() {
    let sim = small().await;
    let resp = client()
        .post(format!("{}/oauth/token", sim.base_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", sim.client_id()),
            ("client_secret", sim.client_secret()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn other_grant_types_are_400() {
    let sim = small().await;
    let resp = client()
        .post(format!("{}/oauth/token", sim.base_url()))
        .basic_auth(sim.client_id(), Some(sim.client_secret()))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn configured_clients_and_lifetime_apply_and_tokens_expire() {
    let sim = start(
        SimOrg::builder()
            .client("my-id", "my-secret")
            .client("other", "s2")
            .token_lifetime(Duration::from_millis(300)),
    )
    .await;
    assert_eq!(sim.client_id(), "my-id");
    assert_eq!(sim.client_secret(), "my-secret");
    let resp = client()
        .post(format!("{}/oauth/token", sim.base_url()))
        .basic_auth("other", Some("s2"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let t = token(&sim).await;
    let id = sim.conversations()[0].id.clone();
    let path = format!("/api/v2/analytics/conversations/{id}/details");
    assert_eq!(get(&sim, &t, &path).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(400)).await;
    genesys_error(get(&sim, &t, &path).await, 401).await;
    // A fresh token works again.
    let t2 = token(&sim).await;
    assert_eq!(get(&sim, &t2, &path).await.status(), 200);
    sim.expire_tokens();
    genesys_error(get(&sim, &t2, &path).await, 401).await;
}
