//! Bad input gets Genesys-shaped 4xx answers and never takes the sim down.

use serde_json::json;

use crate::common::{client, genesys_error, get, small, token};

#[tokio::test]
async fn malformed_or_missing_bodies_are_400() {
    let sim = small().await;
    let t = token(&sim).await;
    let url = format!(
        "{}/api/v2/analytics/conversations/details/query",
        sim.base_url()
    );
    for body in ["{\"interval\": ", "", "[1,2", "\u{0}\u{1}garbage", "null"] {
        let resp = client()
            .post(&url)
            .bearer_auth(&t)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        genesys_error(resp, 400).await;
    }
    let c = sim.conversations()[0].clone();
    let send = format!(
        "{}/api/v2/conversations/messages/{}/communications/{}/messages",
        sim.base_url(),
        c.id,
        c.communication_id
    );
    let resp = client()
        .post(&send)
        .bearer_auth(&t)
        .body("not json")
        .send()
        .await
        .unwrap();
    genesys_error(resp, 400).await;
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405() {
    let sim = small().await;
    let t = token(&sim).await;
    let body = genesys_error(get(&sim, &t, "/api/v2/nothing/here").await, 404).await;
    assert_eq!(body["code"], "not.found");
    genesys_error(get(&sim, &t, "/").await, 404).await;
    let resp = get(&sim, &t, "/api/v2/analytics/conversations/details/query").await;
    genesys_error(resp, 405).await;
    let resp = client()
        .delete(format!("{}/api/v2/webmessaging/messages", sim.base_url()))
        .send()
        .await
        .unwrap();
    genesys_error(resp, 405).await;
    let resp = client()
        .get(format!("{}/oauth/token", sim.base_url()))
        .send()
        .await
        .unwrap();
    genesys_error(resp, 405).await;
}

#[tokio::test]
async fn bodies_over_512000_bytes_are_413() {
    let sim = small().await;
    let t = token(&sim).await;
    let url = format!(
        "{}/api/v2/analytics/conversations/details/query",
        sim.base_url()
    );
    let big = format!(
        "{{\"interval\": \"{}\", \"pad\": \"{}\"}}",
        sim.full_interval(),
        "x".repeat(512_000)
    );
    let resp = client()
        .post(&url)
        .bearer_auth(&t)
        .body(big.clone())
        .send()
        .await
        .unwrap();
    genesys_error(resp, 413).await;
    // Chunked (no Content-Length) too.
    let stream = futures::stream::iter(
        big.into_bytes()
            .chunks(10_000)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let resp = client()
        .post(&url)
        .bearer_auth(&t)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    genesys_error(resp, 413).await;
    // Just under the limit is fine (padded with JSON whitespace: the body stays a valid query).
    let ok = format!(
        "{{\"interval\": \"{}\"{}}}",
        sim.full_interval(),
        " ".repeat(500_000)
    );
    assert_eq!(
        client()
            .post(&url)
            .bearer_auth(&t)
            .body(ok)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn hostile_input_never_crashes_the_sim() {
    let sim = small().await;
    let t = token(&sim).await;
    for path in [
        "/api/v2/conversations/messages/%2e%2e%2f%2e%2e",
        "/api/v2/conversations/messages/..%00",
        "/api/v2/analytics/conversations/%ff%fe/details",
        "/api/v2/webmessaging/messages?pageSize=99999999999999999999999",
        "/api/v2/webmessaging/messages?pageNumber=-1",
    ] {
        let resp = get(&sim, &t, path).await;
        assert!(resp.status().is_client_error(), "{path}: {}", resp.status());
    }
    let resp = client()
        .post(format!("{}/oauth/token", sim.base_url()))
        .header("authorization", "Basic !!!not-base64")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let huge_page = json!({"interval": sim.full_interval(), "paging": {"pageSize": 10, "pageNumber": u64::MAX}});
    let resp = crate::common::post_json(
        &sim,
        &t,
        "/api/v2/analytics/conversations/details/query",
        &huge_page,
    )
    .await;
    genesys_error(resp, 400).await;
    // Still serving.
    let jwt = sim.conversations()[0].guest_jwt.clone();
    assert_eq!(
        get(&sim, &jwt, "/api/v2/webmessaging/messages")
            .await
            .status(),
        200
    );
}
