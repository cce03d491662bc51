//! Seeded faults at their configured shares (loosely: the draws are random).

use std::collections::HashSet;
use std::time::Duration;

use genesys_sim::{Faults, SimOrg};
use serde_json::Value;

use crate::common::{client, start, token};

fn history_url(sim: &SimOrg) -> String {
    format!("{}/api/v2/webmessaging/messages?pageSize=3", sim.base_url())
}

#[tokio::test]
async fn server_errors_come_at_their_share_with_genesys_bodies() {
    let sim = start(SimOrg::builder().seed(1).faults(Faults {
        server_errors: 0.3,
        ..Faults::default()
    }))
    .await;
    let jwt = sim.conversations()[0].guest_jwt.clone();
    let (mut errors, mut statuses) = (0, HashSet::new());
    for _ in 0..200 {
        let resp = client()
            .get(history_url(&sim))
            .bearer_auth(&jwt)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        if status >= 500 {
            errors += 1;
            statuses.insert(status);
            assert!(resp.headers().contains_key("inin-correlation-id"));
            let body: Value = resp.json().await.unwrap();
            assert_eq!(body["status"], status);
        } else {
            assert_eq!(status, 200);
        }
    }
    assert!((30..=95).contains(&errors), "{errors} server errors of 200");
    assert_eq!(statuses, HashSet::from([500, 502, 503]));
    assert_eq!(sim.stats().faults.server_errors, errors);
}

#[tokio::test]
async fn resets_drop_the_connection_without_an_answer() {
    let sim = start(SimOrg::builder().seed(2).faults(Faults {
        resets: 0.25,
        ..Faults::default()
    }))
    .await;
    let jwt = sim.conversations()[0].guest_jwt.clone();
    let mut failures = 0u64;
    for _ in 0..200 {
        match client()
            .get(history_url(&sim))
            .bearer_auth(&jwt)
            .send()
            .await
        {
            Ok(resp) => assert_eq!(resp.status(), 200),
            Err(e) => {
                assert!(!e.is_timeout(), "{e}");
                failures += 1;
            }
        }
    }
    assert!((25..=80).contains(&failures), "{failures} resets of 200");
    let stats = sim.stats();
    assert_eq!(stats.faults.resets, failures);
    assert_eq!(stats.count("/api/v2/webmessaging/messages", 0), failures);
}

#[tokio::test]
async fn truncated_bodies_fail_to_read_or_parse_in_both_framings() {
    let sim = start(SimOrg::builder().seed(3).faults(Faults {
        truncated: 1.0,
        ..Faults::default()
    }))
    .await;
    let jwt = sim.conversations()[0].guest_jwt.clone();
    let (mut with_length, mut chunked) = (0, 0);
    for _ in 0..30 {
        let resp = client()
            .get(history_url(&sim))
            .bearer_auth(&jwt)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        if resp.content_length().is_some() {
            with_length += 1;
        } else {
            chunked += 1;
        }
        match resp.bytes().await {
            Err(_) => {}
            Ok(bytes) => assert!(
                serde_json::from_slice::<Value>(&bytes).is_err(),
                "a whole body"
            ),
        }
    }
    assert!(with_length > 0 && chunked > 0, "{with_length} / {chunked}");
}

#[tokio::test]
async fn non_json_bodies_are_html() {
    let sim = start(SimOrg::builder().faults(Faults {
        non_json: 1.0,
        ..Faults::default()
    }))
    .await;
    let jwt = sim.conversations()[0].guest_jwt.clone();
    let resp = client()
        .get(history_url(&sim))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/html");
    let text = resp.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err());
    assert!(text.starts_with("<html>"));
}

#[tokio::test]
async fn slow_answers_outlast_a_client_timeout() {
    let sim = start(SimOrg::builder().faults(Faults {
        slow: 1.0,
        slow_by: Duration::from_millis(400),
        ..Faults::default()
    }))
    .await;
    let jwt = sim.conversations()[0].guest_jwt.clone();
    let err = client()
        .get(history_url(&sim))
        .bearer_auth(&jwt)
        .timeout(Duration::from_millis(100))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    // Without the client timeout the answer does come, late.
    let started = std::time::Instant::now();
    let resp = client()
        .get(history_url(&sim))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(400));
}

#[tokio::test]
async fn faults_spare_the_token_endpoint_unless_asked_and_change_at_runtime() {
    let sim = start(SimOrg::builder().faults(Faults {
        server_errors: 1.0,
        ..Faults::default()
    }))
    .await;
    let t = token(&sim).await; // asserts 200
    let jwt = sim.conversations()[0].guest_jwt.clone();
    assert!(
        client()
            .get(history_url(&sim))
            .bearer_auth(&jwt)
            .send()
            .await
            .unwrap()
            .status()
            .is_server_error()
    );
    sim.set_faults(Faults::none()).unwrap();
    assert_eq!(
        client()
            .get(history_url(&sim))
            .bearer_auth(&jwt)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(
        sim.set_faults(Faults {
            resets: 1.5,
            ..Faults::default()
        })
        .is_err()
    );
    assert!(!t.is_empty());

    let strict = start(SimOrg::builder().token_faults(true).faults(Faults {
        server_errors: 1.0,
        ..Faults::default()
    }))
    .await;
    let resp = client()
        .post(format!("{}/oauth/token", strict.base_url()))
        .basic_auth(strict.client_id(), Some(strict.client_secret()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_server_error());
}

#[tokio::test]
async fn latency_is_added_to_every_request() {
    let sim =
        start(SimOrg::builder().latency(Duration::from_millis(60), Duration::from_millis(20)))
            .await;
    let jwt = sim.conversations()[0].guest_jwt.clone();
    let started = std::time::Instant::now();
    for _ in 0..3 {
        assert_eq!(
            client()
                .get(history_url(&sim))
                .bearer_auth(&jwt)
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(180), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}
