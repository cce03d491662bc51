//! The agent side: conversation, bulk, send, open messaging inbound.

use std::collections::HashSet;

use genesys_sim::SimOrg;
use serde_json::{Value, json};

use crate::common::{genesys_error, get, post_json, small, start, token};

#[tokio::test]
async fn conversation_lists_participants_and_every_message_id() {
    let sim = small().await;
    let t = token(&sim).await;
    let conv = sim.conversations()[0].clone();
    let resp = get(
        &sim,
        &t,
        &format!("/api/v2/conversations/messages/{}", conv.id),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["id"], conv.id.as_str());
    let mut ids = HashSet::new();
    let mut purposes = HashSet::new();
    for p in body["participants"].as_array().unwrap() {
        assert!(p["id"].is_string());
        purposes.insert(p["purpose"].as_str().unwrap().to_owned());
        for m in p["messages"].as_array().unwrap() {
            assert!(m["messageTime"].is_string() && m["messageStatus"].is_string());
            ids.insert(m["messageId"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(
        purposes,
        HashSet::from(["customer".into(), "agent".into(), "workflow".into()])
    );
    let expected: HashSet<_> = sim.message_ids(&conv.id).unwrap().into_iter().collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn unknown_conversation_is_404_and_token_required() {
    let sim = small().await;
    let t = token(&sim).await;
    genesys_error(
        get(&sim, &t, "/api/v2/conversations/messages/nope").await,
        404,
    )
    .await;
    let id = sim.conversations()[0].id.clone();
    genesys_error(
        get(&sim, "x", &format!("/api/v2/conversations/messages/{id}")).await,
        401,
    )
    .await;
}

#[tokio::test]
async fn bulk_returns_message_data_for_known_ids() {
    let sim = small().await;
    let t = token(&sim).await;
    let conv = sim.conversations()[1].clone();
    let mut ids = sim.message_ids(&conv.id).unwrap();
    ids.truncate(30);
    let mut asked = ids.clone();
    asked.push("unknown-id".into());
    asked.push(sim.message_ids(&sim.conversations()[0].id).unwrap()[0].clone()); // other conversation
    let resp = post_json(
        &sim,
        &t,
        &format!("/api/v2/conversations/messages/{}/messages/bulk", conv.id),
        &json!(asked),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let entities = body["entities"].as_array().unwrap();
    assert_eq!(entities.len(), 30);
    for (e, id) in entities.iter().zip(&ids) {
        assert_eq!(e["id"], id.as_str());
        assert_eq!(e["conversationId"], conv.id.as_str());
        for f in [
            "timestamp",
            "fromAddress",
            "toAddress",
            "direction",
            "messengerType",
            "status",
            "selfUri",
        ] {
            assert!(e[f].is_string(), "{f} in {e}");
        }
        assert!(e["normalizedMessage"].is_object());
        assert!(["inbound", "outbound"].contains(&e["direction"].as_str().unwrap()));
    }
}

#[tokio::test]
async fn bulk_over_1000_ids_is_400() {
    let sim = small().await;
    let t = token(&sim).await;
    let conv = sim.conversations()[0].id.clone();
    let path = format!("/api/v2/conversations/messages/{conv}/messages/bulk");
    let ids: Vec<String> = (0..1000).map(|i| format!("id-{i}")).collect();
    assert_eq!(post_json(&sim, &t, &path, &json!(ids)).await.status(), 200);
    let ids: Vec<String> = (0..1001).map(|i| format!("id-{i}")).collect();
    genesys_error(post_json(&sim, &t, &path, &json!(ids)).await, 400).await;
    genesys_error(post_json(&sim, &t, &path, &json!({"ids": []})).await, 400).await;
    genesys_error(post_json(&sim, &t, &path, &json!([1, 2])).await, 400).await;
}

#[tokio::test]
async fn sends_are_recorded_in_arrival_order_per_conversation() {
    let sim = small().await;
    let t = token(&sim).await;
    let convs = sim.conversations();
    for i in 0..5 {
        for c in &convs[..2] {
            let path = format!(
                "/api/v2/conversations/messages/{}/communications/{}/messages",
                c.id, c.communication_id
            );
            let resp = post_json(&sim, &t, &path, &json!({"textBody": format!("hello {i}")})).await;
            assert_eq!(resp.status(), 200);
            let body: Value = resp.json().await.unwrap();
            // MessageData has no textBody any more: the text is in normalizedMessage.
            assert!(body.get("textBody").is_none(), "{body}");
            assert_eq!(body["normalizedMessage"]["text"], format!("hello {i}"));
            assert_eq!(body["direction"], "outbound");
            assert_eq!(body["conversationId"], c.id.as_str());
            assert!(body["id"].is_string() && body["timestamp"].is_string());
        }
    }
    let stats = sim.stats();
    for c in &convs[..2] {
        assert_eq!(
            stats.sent_texts(&c.id),
            (0..5).map(|i| format!("hello {i}")).collect::<Vec<_>>()
        );
    }
    // A sent message shows up on the agent participant and in bulk.
    let sent_id = stats.sent[&convs[0].id][0].id.clone();
    let bulk = post_json(
        &sim,
        &t,
        &format!(
            "/api/v2/conversations/messages/{}/messages/bulk",
            convs[0].id
        ),
        &json!([sent_id]),
    )
    .await;
    let body: Value = bulk.json().await.unwrap();
    assert_eq!(body["entities"][0]["normalizedMessage"]["text"], "hello 0");
    let conv: Value = get(
        &sim,
        &t,
        &format!("/api/v2/conversations/messages/{}", convs[0].id),
    )
    .await
    .json()
    .await
    .unwrap();
    let agent = conv["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["purpose"] == "agent")
        .unwrap();
    assert!(
        agent["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["messageId"] == sent_id.as_str())
    );
}

#[tokio::test]
async fn send_validates_its_input() {
    let sim = small().await;
    let t = token(&sim).await;
    let c = sim.conversations()[0].clone();
    let path = format!(
        "/api/v2/conversations/messages/{}/communications/{}/messages",
        c.id, c.communication_id
    );
    genesys_error(post_json(&sim, &t, &path, &json!({})).await, 400).await;
    genesys_error(
        post_json(&sim, &t, &path, &json!({"textBody": 5})).await,
        400,
    )
    .await;
    genesys_error(
        post_json(&sim, &t, &path, &json!({"textBody": "x".repeat(2001)})).await,
        400,
    )
    .await;
    assert_eq!(
        post_json(&sim, &t, &path, &json!({"textBody": "é".repeat(2000)}))
            .await
            .status(),
        200
    );
    assert_eq!(
        post_json(&sim, &t, &path, &json!({"mediaIds": ["m1"]}))
            .await
            .status(),
        200
    );
    let wrong = format!(
        "/api/v2/conversations/messages/{}/communications/nope/messages",
        c.id
    );
    genesys_error(
        post_json(&sim, &t, &wrong, &json!({"textBody": "x"})).await,
        404,
    )
    .await;
    assert_eq!(sim.stats().sent[&c.id].len(), 2);
}

#[tokio::test]
async fn open_messaging_inbound_is_recorded() {
    let sim = start(SimOrg::builder().conversations(2)).await;
    let t = token(&sim).await;
    let c = sim.conversations()[1].clone();
    let integration = c.integration_id.clone().unwrap();
    let path = format!("/api/v2/conversations/messages/{integration}/inbound/open/message");
    // OpenInboundNormalizedMessage.
    let msg = json!({
        "channel": {"messageId": "ext-1",
                    "from": {"id": "guest-1", "idType": "Opaque", "nickname": "Guest"},
                    "time": "2026-11-22T10:00:00.000Z"},
        "text": "inbound hello",
    });
    let resp = post_json(&sim, &t, &path, &msg).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["text"], "inbound hello");
    assert_eq!(body["type"], "Text");
    assert_eq!(body["channel"]["messageId"], "ext-1");
    assert_eq!(body["channel"]["from"]["id"], "guest-1");
    assert!(body["id"].is_string());
    assert!(
        body.get("conversationId").is_none(),
        "the conversation id comes only with prefetchConversationId=true: {body}"
    );
    let prefetched: Value = post_json(
        &sim,
        &t,
        &format!("{path}?prefetchConversationId=true"),
        &msg,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(prefetched["conversationId"], c.id.as_str());
    let stats = sim.stats();
    let sent = &stats.sent[&c.id];
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0].integration_id.as_deref(),
        Some(integration.as_str())
    );
    assert_eq!(sent[0].text.as_deref(), Some("inbound hello"));
    for bad in [
        json!({"text": "no channel"}),
        json!({"channel": {}}),
        json!({"channel": {"from": {"id": "g"}}, "text": "no messageId"}),
        // The deprecated /inbound/open endpoint's OpenNormalizedMessage fields.
        json!({"channel": {"messageId": "m", "from": {"id": "g"}, "platform": "Open", "type": "Private",
               "to": {"id": integration}}, "text": "old shape"}),
        json!({"channel": {"messageId": "m", "from": {"id": "g"}}, "text": "old", "direction": "Inbound", "type": "Text"}),
    ] {
        genesys_error(post_json(&sim, &t, &path, &bad).await, 400).await;
    }
    genesys_error(
        post_json(
            &sim,
            &t,
            &format!("{path}?prefetchConversationId=maybe"),
            &msg,
        )
        .await,
        400,
    )
    .await;
    genesys_error(
        post_json(
            &sim,
            &t,
            "/api/v2/conversations/messages/unknown/inbound/open/message",
            &msg,
        )
        .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn agentless_messages_land_in_the_integrations_conversation() {
    let sim = start(SimOrg::builder().conversations(2)).await;
    let t = token(&sim).await;
    let c = sim.conversations()[0].clone();
    let integration = c.integration_id.clone().unwrap();
    let path = "/api/v2/conversations/messages/agentless";
    let body = json!({"fromAddress": integration, "toAddress": "+15550100",
        "toAddressMessengerType": "sms", "textBody": "your parcel is on its way"});
    let resp = post_json(&sim, &t, path, &body).await;
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["conversationId"], c.id.as_str());
    assert_eq!(answer["messengerType"], "sms");
    assert_eq!(
        answer["message"]["normalizedMessage"]["text"],
        "your parcel is on its way"
    );
    assert_eq!(
        sim.stats().sent_texts(&c.id),
        vec!["your parcel is on its way"]
    );
    for bad in [
        json!({"toAddress": "x", "toAddressMessengerType": "sms", "textBody": "t"}),
        json!({"fromAddress": integration, "toAddress": "x", "toAddressMessengerType": "line", "textBody": "t"}),
        json!({"fromAddress": integration, "toAddress": "x", "toAddressMessengerType": "sms"}),
        json!({"fromAddress": "unknown", "toAddress": "x", "toAddressMessengerType": "sms", "textBody": "t"}),
    ] {
        genesys_error(post_json(&sim, &t, path, &bad).await, 400).await;
    }
}

#[tokio::test]
async fn the_generic_conversation_names_the_agents_communication() {
    let sim = small().await;
    let t = token(&sim).await;
    let c = sim.conversations()[2].clone();
    let conv: Value = get(&sim, &t, &format!("/api/v2/conversations/{}", c.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(conv["id"], c.id.as_str());
    let agent = conv["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["purpose"] == "agent")
        .unwrap();
    assert_eq!(agent["messages"][0]["id"], c.communication_id.as_str());
    assert_eq!(agent["messages"][0]["state"], "connected");
    genesys_error(get(&sim, &t, "/api/v2/conversations/nope").await, 404).await;
}
