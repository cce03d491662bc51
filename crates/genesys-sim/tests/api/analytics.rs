//! `POST /api/v2/analytics/conversations/details/query` and `GET …/{id}/details`.

use std::collections::HashSet;

use genesys_sim::SimOrg;
use serde_json::{Value, json};

use crate::common::{genesys_error, get, post_json, start, token};

const QUERY: &str = "/api/v2/analytics/conversations/details/query";

async fn org(n: u32) -> (SimOrg, String) {
    let sim = start(
        SimOrg::builder()
            .seed(11)
            .conversations(n)
            .messages_per_conversation(5),
    )
    .await;
    let t = token(&sim).await;
    (sim, t)
}

async fn query(sim: &SimOrg, t: &str, body: Value) -> Value {
    let resp = post_json(sim, t, QUERY, &body).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn pages_through_every_conversation_in_order() {
    let (sim, t) = org(23).await;
    let interval = sim.full_interval();
    let mut seen = Vec::new();
    for n in 1..=3 {
        let body = query(
            &sim,
            &t,
            json!({"interval": interval, "order": "asc", "orderBy": "conversationStart",
                   "paging": {"pageSize": 10, "pageNumber": n}}),
        )
        .await;
        assert_eq!(body["totalHits"], 23);
        let convs = body["conversations"].as_array().unwrap();
        assert_eq!(convs.len(), if n < 3 { 10 } else { 3 });
        for c in convs {
            seen.push((
                c["conversationStart"].as_str().unwrap().to_owned(),
                c["conversationId"].as_str().unwrap().to_owned(),
            ));
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
    let ids: HashSet<_> = seen.iter().map(|(_, id)| id.clone()).collect();
    let all: HashSet<_> = sim.conversations().into_iter().map(|c| c.id).collect();
    assert_eq!(ids, all);

    let desc = query(
        &sim,
        &t,
        json!({"interval": interval, "order": "desc", "paging": {"pageSize": 100}}),
    )
    .await;
    let starts: Vec<_> = desc["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["conversationStart"].as_str().unwrap().to_owned())
        .collect();
    let mut rev = starts.clone();
    rev.sort();
    rev.reverse();
    assert_eq!(starts, rev);
}

#[tokio::test]
async fn an_empty_page_has_no_conversations_key() {
    let (sim, t) = org(3).await;
    let body = query(
        &sim,
        &t,
        json!({"interval": sim.full_interval(), "paging": {"pageSize": 25, "pageNumber": 2}}),
    )
    .await;
    assert_eq!(body["totalHits"], 3);
    assert!(body.get("conversations").is_none(), "{body}");
    let none = query(
        &sim,
        &t,
        json!({"interval": "2001-01-01T00:00:00.000Z/2001-01-02T00:00:00.000Z"}),
    )
    .await;
    assert_eq!(none, json!({"totalHits": 0}));
}

#[tokio::test]
async fn conversation_id_filters_select_conversations() {
    let (sim, t) = org(10).await;
    let convs = sim.conversations();
    let predicates: Vec<Value> = convs[..3]
        .iter()
        .map(|c| json!({"type": "dimension", "dimension": "conversationId", "operator": "matches", "value": c.id}))
        .collect();
    let body = query(
        &sim,
        &t,
        json!({
            "interval": sim.full_interval(),
            "conversationFilters": [{"type": "or", "predicates": predicates}],
        }),
    )
    .await;
    assert_eq!(body["totalHits"], 3);
    let got: HashSet<_> = body["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["conversationId"].as_str().unwrap().to_owned())
        .collect();
    let want: HashSet<_> = convs[..3].iter().map(|c| c.id.clone()).collect();
    assert_eq!(got, want);

    // "and" of two different ids matches nothing.
    let and = query(
        &sim,
        &t,
        json!({
            "interval": sim.full_interval(),
            "conversationFilters": [{"type": "and", "predicates": [
                {"dimension": "conversationId", "value": convs[0].id},
                {"dimension": "conversationId", "value": convs[1].id}]}],
        }),
    )
    .await;
    assert_eq!(and["totalHits"], 0);

    // Segment filters work on segment dimensions (conversationId is a conversation dimension).
    let seg = query(
        &sim,
        &t,
        json!({
            "interval": sim.full_interval(),
            "conversationFilters": [{"type": "and", "predicates": [
                {"dimension": "conversationId", "value": convs[4].id}]}],
            "segmentFilters": [{"type": "and", "predicates": [
                {"dimension": "purpose", "value": "agent"}]}],
        }),
    )
    .await;
    assert_eq!(seg["totalHits"], 1);
    assert_eq!(
        seg["conversations"][0]["conversationId"],
        convs[4].id.as_str()
    );
    let no_seg = query(&sim, &t, json!({
        "interval": sim.full_interval(),
        "conversationFilters": [{"type": "and", "predicates": [
            {"dimension": "conversationId", "value": "x"}]}],
        "segmentFilters": [{"type": "and", "predicates": [
            {"dimension": "purpose", "value": "agent"}, {"dimension": "segmentType", "value": "wrapup"}]}],
    })).await;
    assert_eq!(no_seg["totalHits"], 0);
}

#[tokio::test]
async fn conversations_have_the_analytics_shape() {
    let (sim, t) = org(2).await;
    let body = query(&sim, &t, json!({"interval": sim.full_interval()})).await;
    let c = &body["conversations"][0];
    for f in [
        "conversationId",
        "conversationStart",
        "conversationEnd",
        "originatingDirection",
    ] {
        assert!(c[f].is_string(), "{f}");
    }
    assert!(c["divisionIds"].is_array());
    let purposes: HashSet<_> = c["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["purpose"].as_str().unwrap().to_owned())
        .collect();
    assert!(purposes.contains("customer") && purposes.contains("agent"));
    for p in c["participants"].as_array().unwrap() {
        assert!(p["participantId"].is_string() && p["participantName"].is_string());
        for s in p["sessions"].as_array().unwrap() {
            assert_eq!(s["mediaType"], "message");
            assert!(s["sessionId"].is_string() && s["direction"].is_string());
            for seg in s["segments"].as_array().unwrap() {
                assert!(seg["segmentStart"].is_string() && seg["segmentEnd"].is_string());
                assert!(seg["segmentType"].is_string());
            }
        }
    }
    // The details endpoint answers the same conversation.
    let id = c["conversationId"].as_str().unwrap();
    let resp = get(
        &sim,
        &t,
        &format!("/api/v2/analytics/conversations/{id}/details"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let details: Value = resp.json().await.unwrap();
    assert_eq!(&details, c);
}

#[tokio::test]
async fn unknown_conversation_details_is_404() {
    let (sim, t) = org(1).await;
    let resp = get(
        &sim,
        &t,
        "/api/v2/analytics/conversations/00000000-0000-4000-8000-000000000000/details",
    )
    .await;
    genesys_error(resp, 404).await;
}

#[tokio::test]
async fn paging_limits_and_the_result_cap_are_400() {
    let (sim, t) = org(2).await;
    let i = sim.full_interval();
    assert_eq!(
        post_json(
            &sim,
            &t,
            QUERY,
            &json!({"interval": i, "paging": {"pageSize": 100, "pageNumber": 1000}})
        )
        .await
        .status(),
        200
    );
    let body = genesys_error(
        post_json(
            &sim,
            &t,
            QUERY,
            &json!({"interval": i, "paging": {"pageSize": 100, "pageNumber": 1001}}),
        )
        .await,
        400,
    )
    .await;
    assert!(
        body["message"].as_str().unwrap().contains("100000"),
        "{body}"
    );
    genesys_error(
        post_json(
            &sim,
            &t,
            QUERY,
            &json!({"interval": i, "paging": {"pageSize": 101}}),
        )
        .await,
        400,
    )
    .await;
    genesys_error(
        post_json(
            &sim,
            &t,
            QUERY,
            &json!({"interval": i, "paging": {"pageNumber": 0}}),
        )
        .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn a_smaller_cap_is_configurable() {
    let sim = start(SimOrg::builder().conversations(30).analytics_result_cap(20)).await;
    let t = token(&sim).await;
    let i = sim.full_interval();
    let second = query(
        &sim,
        &t,
        json!({"interval": i, "paging": {"pageSize": 15, "pageNumber": 2}}),
    )
    .await;
    assert_eq!(second["totalHits"], 30);
    assert_eq!(
        second["conversations"].as_array().unwrap().len(),
        5,
        "truncated at the cap"
    );
    genesys_error(
        post_json(
            &sim,
            &t,
            QUERY,
            &json!({"interval": i, "paging": {"pageSize": 10, "pageNumber": 3}}),
        )
        .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn interval_and_filters_are_validated() {
    let (sim, t) = org(1).await;
    for body in [
        json!({}),
        json!({"interval": "yesterday"}),
        json!({"interval": "2026-11-02T00:00:00Z/2026-11-01T00:00:00Z"}),
        json!({"interval": 5}),
        json!({"interval": sim.full_interval(), "order": "sideways"}),
        json!({"interval": sim.full_interval(), "orderBy": "mood"}),
        json!({"interval": sim.full_interval(), "conversationFilters": [{"type": "xor", "predicates": [{"dimension": "conversationId", "value": "a"}]}]}),
        json!({"interval": sim.full_interval(), "conversationFilters": [{"type": "or", "predicates": [{"dimension": "shoeSize", "value": "a"}]}]}),
        json!({"interval": sim.full_interval(), "conversationFilters": [{"type": "or", "predicates": []}]}),
        json!({"interval": sim.full_interval(), "conversationFilters": [{"type": "or", "predicates": [{"dimension": "conversationId"}]}]}),
        json!({"interval": sim.full_interval(), "conversationFilters": {"type": "or"}}),
    ] {
        genesys_error(post_json(&sim, &t, QUERY, &body).await, 400).await;
    }
}

#[tokio::test]
async fn what_the_platform_rejects_is_a_400_with_its_error_body() {
    let (sim, t) = org(1).await;
    let i = sim.full_interval();
    let seg =
        |p: Value| json!({"interval": i, "segmentFilters": [{"type": "and", "predicates": [p]}]});
    let conv = |p: Value| json!({"interval": i, "conversationFilters": [{"type": "and", "predicates": [p]}]});
    for (why, body) in [
        // No such segment dimensions on the platform.
        (
            "sessionId",
            seg(
                json!({"type": "dimension", "dimension": "sessionId", "operator": "matches", "value": "s"}),
            ),
        ),
        (
            "participantId",
            seg(
                json!({"type": "dimension", "dimension": "participantId", "operator": "matches", "value": "p"}),
            ),
        ),
        (
            "conversationId in a segment filter",
            seg(
                json!({"type": "dimension", "dimension": "conversationId", "operator": "matches", "value": "c"}),
            ),
        ),
        (
            "purpose in a conversation filter",
            conv(
                json!({"type": "dimension", "dimension": "purpose", "operator": "matches", "value": "agent"}),
            ),
        ),
        // Enum values outside the platform's lists.
        (
            "purpose bot",
            seg(
                json!({"type": "dimension", "dimension": "purpose", "operator": "matches", "value": "bot"}),
            ),
        ),
        (
            "segmentType scripted",
            seg(
                json!({"type": "dimension", "dimension": "segmentType", "operator": "matches", "value": "scripted"}),
            ),
        ),
        (
            "mediaType fax",
            seg(
                json!({"type": "dimension", "dimension": "mediaType", "operator": "matches", "value": "fax"}),
            ),
        ),
        (
            "originatingDirection up",
            conv(
                json!({"type": "dimension", "dimension": "originatingDirection", "operator": "matches", "value": "up"}),
            ),
        ),
        // Property and metric predicates.
        (
            "property without propertyType",
            seg(json!({"type": "property", "property": "p", "operator": "exists"})),
        ),
        (
            "propertyType colour",
            seg(
                json!({"type": "property", "property": "p", "propertyType": "colour", "operator": "exists"}),
            ),
        ),
        (
            "property in a conversation filter",
            conv(
                json!({"type": "property", "property": "p", "propertyType": "string", "operator": "exists"}),
            ),
        ),
        (
            "metric with a value",
            seg(
                json!({"type": "metric", "metric": "tSegmentDuration", "operator": "matches", "value": "5"}),
            ),
        ),
        (
            "unknown predicate type",
            seg(json!({"type": "mood", "dimension": "purpose", "value": "agent"})),
        ),
    ] {
        let body = genesys_error(post_json(&sim, &t, QUERY, &body).await, 400).await;
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{why}: {body}"
        );
    }
}

#[tokio::test]
async fn property_and_metric_predicates_are_evaluated() {
    let (sim, t) = org(3).await;
    let i = sim.full_interval();
    let seg =
        |p: Value| json!({"interval": i, "segmentFilters": [{"type": "and", "predicates": [p]}]});
    // Every conversation has a 30 s wrap-up segment; none has a segment of a day or more.
    let long = query(
        &sim,
        &t,
        seg(json!({"type": "metric", "metric": "tSegmentDuration",
        "operator": "matches", "range": {"gte": 86_400_000}})),
    )
    .await;
    assert_eq!(long["totalHits"], 0);
    let any = query(
        &sim,
        &t,
        seg(json!({"type": "metric", "metric": "tSegmentDuration",
        "operator": "matches", "range": {"gte": 30_000, "lte": 30_000}})),
    )
    .await;
    assert_eq!(any["totalHits"], 3);
    // The sim's segments carry no properties.
    let prop = query(
        &sim,
        &t,
        seg(json!({"type": "property", "property": "p",
        "propertyType": "string", "operator": "notExists"})),
    )
    .await;
    assert_eq!(prop["totalHits"], 3);
    let botflow = query(
        &sim,
        &t,
        seg(json!({"type": "dimension", "dimension": "purpose",
        "operator": "matches", "value": "botflow"})),
    )
    .await;
    assert_eq!(
        botflow["totalHits"], 0,
        "a valid purpose the sim does not generate"
    );
}

#[tokio::test]
async fn too_many_predicates_is_400() {
    let sim = start(SimOrg::builder().max_predicates(3)).await;
    let t = token(&sim).await;
    let preds: Vec<Value> = (0..4)
        .map(|i| json!({"dimension": "conversationId", "value": format!("id{i}")}))
        .collect();
    genesys_error(
        post_json(
            &sim,
            &t,
            QUERY,
            &json!({"interval": sim.full_interval(),
        "conversationFilters": [{"type": "or", "predicates": preds}]}),
        )
        .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn needs_an_oauth_token() {
    let (sim, _t) = org(1).await;
    genesys_error(
        post_json(
            &sim,
            "bogus",
            QUERY,
            &json!({"interval": sim.full_interval()}),
        )
        .await,
        401,
    )
    .await;
    let jwt = sim.conversations()[0].guest_jwt.clone();
    genesys_error(
        post_json(&sim, &jwt, QUERY, &json!({"interval": sim.full_interval()})).await,
        401,
    )
    .await;
}
