//! Start-up is fast (loosely here; `cargo run --release --example startup` measures it) and the
//! org stops when its handle is dropped.

use std::time::{Duration, Instant};

use genesys_sim::SimOrg;

#[tokio::test]
async fn starts_well_under_a_second_and_stops_on_drop() {
    for _ in 0..5 {
        let started = Instant::now();
        let sim = SimOrg::builder()
            .conversations(100)
            .messages_per_conversation(1000)
            .start()
            .await
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        let url = format!("{}/api/v2/webmessaging/messages", sim.base_url());
        let jwt = sim.conversations()[0].guest_jwt.clone();
        assert_eq!(
            reqwest::Client::new()
                .get(&url)
                .bearer_auth(&jwt)
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        drop(sim);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let fresh = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        assert!(
            fresh.get(&url).bearer_auth(&jwt).send().await.is_err(),
            "still serving after drop"
        );
    }
}

#[tokio::test]
async fn invalid_settings_are_refused() {
    assert!(SimOrg::builder().max_page_size(0).start().await.is_err());
    assert!(SimOrg::builder().rate_limit(-1.0, 1).start().await.is_err());
    assert!(
        SimOrg::builder()
            .out_of_order_share(2.0)
            .start()
            .await
            .is_err()
    );
    assert!(
        SimOrg::builder()
            .token_lifetime(Duration::ZERO)
            .start()
            .await
            .is_err()
    );
    let taken = SimOrg::builder().start().await.unwrap();
    let addr: std::net::SocketAddr = taken
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    assert!(matches!(
        SimOrg::builder().bind(addr).start().await,
        Err(genesys_sim::SimError::Bind { .. })
    ));
}
