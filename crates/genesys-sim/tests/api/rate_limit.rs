//! The org-wide rate limit: 429 + Retry-After, the Retry-After: 0 quirk, headers.

use std::time::Duration;

use genesys_sim::SimOrg;

use crate::common::{client, genesys_error, get, start, token};

async fn history(sim: &SimOrg, jwt: &str) -> reqwest::Response {
    get(sim, jwt, "/api/v2/webmessaging/messages?pageSize=5").await
}

#[tokio::test]
async fn over_the_limit_is_429_with_retry_after_and_code() {
    // One token a second: the six requests below finish well inside that even on a loaded
    // machine, so exactly the burst (3) passes and the rest are limited.
    let sim = start(SimOrg::builder().rate_limit(1.0, 3)).await;
    let jwt = sim.conversations()[0].guest_jwt.clone();
    let mut statuses = Vec::new();
    let mut limited = None;
    for _ in 0..6 {
        let resp = history(&sim, &jwt).await;
        statuses.push(resp.status().as_u16());
        if resp.status() == 429 && limited.is_none() {
            limited = Some(resp);
        }
    }
    assert_eq!(&statuses[..3], &[200, 200, 200]);
    assert!(statuses[3..].iter().all(|s| *s == 429), "{statuses:?}");
    let resp = limited.unwrap();
    assert_eq!(resp.headers()["retry-after"], "1");
    assert_eq!(resp.headers()["inin-ratelimit-allowed"], "60");
    assert!(resp.headers().contains_key("inin-ratelimit-count"));
    assert!(resp.headers().contains_key("inin-ratelimit-reset"));
    let body = genesys_error(resp, 429).await;
    assert_eq!(body["code"], "too.many.requests.retry.after");
    assert_eq!(sim.stats().rate_limited, 3);
    // The bucket refills at the configured rate.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(history(&sim, &jwt).await.status(), 200);
}

#[tokio::test]
async fn ratelimit_headers_count_requests_in_the_window() {
    let sim = start(SimOrg::builder()).await;
    let jwt = sim.conversations()[0].guest_jwt.clone();
    for expected in 1..=3u64 {
        let resp = history(&sim, &jwt).await;
        let h = resp.headers();
        assert_eq!(h["inin-ratelimit-count"], expected.to_string().as_str());
        assert_eq!(h["inin-ratelimit-allowed"], "1000000");
        let reset: u64 = h["inin-ratelimit-reset"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&reset));
    }
}

#[tokio::test]
async fn quirk_mode_says_retry_after_zero_while_still_limited() {
    // One token every two seconds: the limit is still in force for every request below.
    let sim = start(SimOrg::builder().rate_limit(0.5, 1).retry_after_zero(true)).await;
    let jwt = sim.conversations()[0].guest_jwt.clone();
    assert_eq!(history(&sim, &jwt).await.status(), 200);
    for _ in 0..3 {
        let resp = history(&sim, &jwt).await;
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers()["retry-after"], "0");
    }
    sim.set_retry_after_zero(false);
    let resp = history(&sim, &jwt).await;
    assert_eq!(resp.status(), 429);
    let retry_after: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
}

#[tokio::test]
async fn the_limit_is_org_wide_and_can_change_at_runtime() {
    let sim = start(SimOrg::builder().conversations(3)).await;
    let t = token(&sim).await;
    for c in sim.conversations() {
        assert_eq!(history(&sim, &c.guest_jwt).await.status(), 200);
    }
    sim.set_rate_limit(5.0, 2).unwrap();
    let convs = sim.conversations();
    // Different guests and an OAuth client share one budget.
    assert_eq!(history(&sim, &convs[0].guest_jwt).await.status(), 200);
    assert_eq!(history(&sim, &convs[1].guest_jwt).await.status(), 200);
    let analytics = get(
        &sim,
        &t,
        &format!("/api/v2/analytics/conversations/{}/details", convs[2].id),
    )
    .await;
    assert_eq!(analytics.status(), 429);
    // The token endpoint is exempt by default.
    let resp = client()
        .post(format!("{}/oauth/token", sim.base_url()))
        .basic_auth(sim.client_id(), Some(sim.client_secret()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    sim.clear_rate_limit();
    assert_eq!(history(&sim, &convs[0].guest_jwt).await.status(), 200);
    assert!(sim.set_rate_limit(0.0, 1).is_err());
}

#[tokio::test]
async fn the_token_endpoint_can_be_limited_too() {
    let sim = start(
        SimOrg::builder()
            .rate_limit(1.0, 1)
            .token_rate_limited(true),
    )
    .await;
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let resp = client()
            .post(format!("{}/oauth/token", sim.base_url()))
            .basic_auth(sim.client_id(), Some(sim.client_secret()))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(statuses, [200, 429]);
}

#[tokio::test]
async fn a_fixed_window_model_announces_its_budget_and_answers_429_past_it() {
    let sim = start(
        SimOrg::builder().limit_model(genesys_sim::LimitModel::FixedWindow {
            allowed: 3,
            window: Duration::from_secs(30),
        }),
    )
    .await;
    let jwt = sim.conversations()[0].guest_jwt.clone();
    for expected in 1..=3u64 {
        let resp = history(&sim, &jwt).await;
        assert_eq!(resp.status(), 200);
        let h = resp.headers();
        assert_eq!(h["inin-ratelimit-allowed"], "3");
        assert_eq!(h["inin-ratelimit-count"], expected.to_string().as_str());
        let reset: u64 = h["inin-ratelimit-reset"].to_str().unwrap().parse().unwrap();
        assert!((1..=30).contains(&reset), "{reset}");
    }
    let resp = history(&sim, &jwt).await;
    let retry_after: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    let body = genesys_error(resp, 429).await;
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("Retry the request in [{retry_after}] seconds")),
        "{message}"
    );
    // Switched at runtime to a bucket that describes itself.
    sim.set_limit_model(genesys_sim::LimitModel::TokenBucket {
        rate: 1.0,
        burst: 2,
        headers: genesys_sim::BucketHeaders::Bucket,
    })
    .unwrap();
    let resp = history(&sim, &jwt).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["inin-ratelimit-allowed"], "2");
    assert_eq!(resp.headers()["inin-ratelimit-count"], "1");
    assert_eq!(resp.headers()["inin-ratelimit-reset"], "1");
}
