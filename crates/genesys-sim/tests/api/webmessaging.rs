//! `GET /api/v2/webmessaging/messages`.

use std::collections::HashSet;

use genesys_sim::{HistoryOrder, SimOrg};
use serde_json::Value;

use crate::common::{genesys_error, get, small, start, token};

async fn page(sim: &SimOrg, jwt: &str, query: &str) -> Value {
    let resp = get(sim, jwt, &format!("/api/v2/webmessaging/messages{query}")).await;
    assert_eq!(resp.status(), 200);
    for h in [
        "inin-correlation-id",
        "inin-ratelimit-allowed",
        "inin-ratelimit-count",
        "inin-ratelimit-reset",
    ] {
        assert!(resp.headers().contains_key(h), "missing {h}");
    }
    resp.json().await.unwrap()
}

#[tokio::test]
async fn defaults_are_page_25_number_1_with_total_and_page_count() {
    let sim = small().await; // 60 messages
    let jwt = sim.conversations()[1].guest_jwt.clone();
    let body = page(&sim, &jwt, "").await;
    assert_eq!(body["pageSize"], 25);
    assert_eq!(body["pageNumber"], 1);
    assert_eq!(body["total"], 60);
    assert_eq!(body["pageCount"], 3);
    assert_eq!(body["entities"].as_array().unwrap().len(), 25);
    let last = page(&sim, &jwt, "?pageSize=25&pageNumber=3").await;
    assert_eq!(last["entities"].as_array().unwrap().len(), 10);
    let beyond = page(&sim, &jwt, "?pageSize=25&pageNumber=4").await;
    assert_eq!(beyond["entities"].as_array().unwrap().len(), 0);
    assert_eq!(beyond["total"], 60);
}

#[tokio::test]
async fn pages_cover_every_message_once_newest_first() {
    let sim = small().await;
    let conv = sim.conversations()[0].clone();
    let mut seen = Vec::new();
    for n in 1..=4 {
        let body = page(
            &sim,
            &conv.guest_jwt,
            &format!("?pageSize=16&pageNumber={n}"),
        )
        .await;
        for e in body["entities"].as_array().unwrap() {
            seen.push(e["id"].as_str().unwrap().to_owned());
        }
    }
    let mut expected = sim.message_ids(&conv.id).unwrap();
    expected.reverse();
    assert_eq!(seen, expected);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 60);
}

#[tokio::test]
async fn oldest_first_order_is_a_setting() {
    let sim = start(
        SimOrg::builder()
            .conversations(1)
            .messages_per_conversation(10)
            .history_order(HistoryOrder::OldestFirst),
    )
    .await;
    let conv = sim.conversations()[0].clone();
    let body = page(&sim, &conv.guest_jwt, "?pageSize=10").await;
    let ids: Vec<_> = body["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, sim.message_ids(&conv.id).unwrap());
}

#[tokio::test]
async fn messages_have_the_platform_shape_and_every_kind() {
    let sim = start(
        SimOrg::builder()
            .seed(3)
            .conversations(1)
            .messages_per_conversation(400)
            .attachment_share(0.3),
    )
    .await;
    let jwt = sim.conversations()[0].guest_jwt.clone();
    let mut types = HashSet::new();
    let (mut inbound, mut outbound, mut bot, mut human, mut attachments) = (0, 0, 0, 0, 0);
    for n in 1..=4 {
        let body = page(&sim, &jwt, &format!("?pageSize=100&pageNumber={n}")).await;
        for m in body["entities"].as_array().unwrap() {
            assert!(m["id"].is_string());
            assert!(m.get("timestamp").is_none(), "time lives in channel.time");
            let time = m["channel"]["time"].as_str().unwrap();
            assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{time}");
            assert!(m["channel"]["from"].is_object() && m["channel"]["to"].is_object());
            let t = m["type"].as_str().unwrap();
            types.insert(t.to_owned());
            match t {
                "Text" => assert!(m["text"].is_string()),
                "Receipt" => assert!(m["status"].is_string()),
                "Event" => assert!(m["events"].is_array()),
                "Structured" => assert!(m["content"].is_array()),
                other => panic!("unexpected type {other}"),
            }
            match m["direction"].as_str().unwrap() {
                "Inbound" => inbound += 1,
                "Outbound" => outbound += 1,
                other => panic!("direction {other}"),
            }
            match m["originatingEntity"].as_str().unwrap() {
                "Bot" => bot += 1,
                "Human" => human += 1,
                other => panic!("entity {other}"),
            }
            for c in m["content"].as_array().into_iter().flatten() {
                if c["contentType"] == "Attachment" {
                    attachments += 1;
                    let a = &c["attachment"];
                    for f in ["id", "mediaType", "url", "mime", "filename", "sha256"] {
                        assert!(a[f].is_string(), "attachment.{f}");
                    }
                    assert!(a["fileSize"].is_u64());
                    assert!(a["url"].as_str().unwrap().starts_with(&sim.base_url()));
                }
            }
        }
    }
    assert_eq!(types.len(), 4, "{types:?}");
    assert!(inbound > 50 && outbound > 50 && bot > 20 && human > 50 && attachments > 10);
}

#[tokio::test]
async fn page_size_over_the_maximum_is_400() {
    let sim = start(SimOrg::builder().max_page_size(50)).await;
    let jwt = sim.conversations()[0].guest_jwt.clone();
    assert_eq!(
        get(&sim, &jwt, "/api/v2/webmessaging/messages?pageSize=50")
            .await
            .status(),
        200
    );
    genesys_error(
        get(&sim, &jwt, "/api/v2/webmessaging/messages?pageSize=51").await,
        400,
    )
    .await;
    genesys_error(
        get(&sim, &jwt, "/api/v2/webmessaging/messages?pageSize=0").await,
        400,
    )
    .await;
    genesys_error(
        get(&sim, &jwt, "/api/v2/webmessaging/messages?pageNumber=0").await,
        400,
    )
    .await;
    genesys_error(
        get(&sim, &jwt, "/api/v2/webmessaging/messages?pageSize=ten").await,
        400,
    )
    .await;
}

#[tokio::test]
async fn needs_a_guest_jwt() {
    let sim = small().await;
    genesys_error(
        get(&sim, "not-a-jwt", "/api/v2/webmessaging/messages").await,
        401,
    )
    .await;
    let oauth = token(&sim).await;
    genesys_error(
        get(&sim, &oauth, "/api/v2/webmessaging/messages").await,
        401,
    )
    .await;
    let conv = &sim.conversations()[2];
    assert_eq!(
        sim.guest_jwt(&conv.id).as_deref(),
        Some(conv.guest_jwt.as_str())
    );
    assert!(sim.guest_jwt("nope").is_none());
}
