//! `GET /__sim/stats` and `SimOrg::stats()`.

use std::time::Duration;

use genesys_sim::{SimOrg, SimStats};
use serde_json::json;

use crate::common::{client, get, post_json, start, token};

#[tokio::test]
async fn counts_requests_by_path_and_status() {
    let sim = start(SimOrg::builder().conversations(2)).await;
    let t = token(&sim).await;
    let jwt = sim.conversations()[0].guest_jwt.clone();
    for _ in 0..3 {
        get(&sim, &jwt, "/api/v2/webmessaging/messages").await;
    }
    get(&sim, &jwt, "/api/v2/webmessaging/messages?pageSize=1000").await;
    get(&sim, &t, "/api/v2/unknown").await;
    post_json(
        &sim,
        &t,
        "/api/v2/analytics/conversations/details/query",
        &json!({"interval": sim.full_interval()}),
    )
    .await;
    let stats = sim.stats();
    assert_eq!(stats.count("/api/v2/webmessaging/messages", 200), 3);
    assert_eq!(stats.count("/api/v2/webmessaging/messages", 400), 1);
    assert_eq!(stats.count("/api/v2/unknown", 404), 1);
    assert_eq!(stats.count("/oauth/token", 200), 1);
    assert_eq!(
        stats.count("/api/v2/analytics/conversations/details/query", 200),
        1
    );
    assert_eq!(stats.total_requests, 7);
    assert_eq!(stats.token_requests, 1);
    assert_eq!(stats.count_status(200), 5);

    // The endpoint serves the same JSON, and is not counted itself.
    let served: SimStats = client()
        .get(format!("{}/__sim/stats", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served, sim.stats());
    let raw: serde_json::Value = client()
        .get(format!("{}/__sim/stats", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(raw["requests"]["/api/v2/webmessaging/messages"]["200"], 3);
    assert_eq!(raw["totalRequests"], 7);
    assert!(raw["maxInFlight"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn max_in_flight_sees_concurrent_requests() {
    let sim = start(SimOrg::builder().latency(Duration::from_millis(150), Duration::ZERO)).await;
    let jwt = sim.conversations()[0].guest_jwt.clone();
    let url = format!("{}/api/v2/webmessaging/messages", sim.base_url());
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (url, jwt) = (url.clone(), jwt.clone());
            tokio::spawn(async move {
                client()
                    .get(url)
                    .bearer_auth(jwt)
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let stats = sim.stats();
    assert!(stats.max_in_flight >= 5, "{}", stats.max_in_flight);
    assert_eq!(stats.count("/api/v2/webmessaging/messages", 200), 6);
}
