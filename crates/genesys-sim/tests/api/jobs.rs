//! The analytics details jobs API.

use std::time::Duration;

use genesys_sim::{FAIL_JOB_VALUE, SimOrg};
use serde_json::{Value, json};

use crate::common::{genesys_error, get, post_json, start, token};

const JOBS: &str = "/api/v2/analytics/conversations/details/jobs";

async fn submit(sim: &SimOrg, t: &str, body: Value) -> String {
    let resp = post_json(sim, t, JOBS, &body).await;
    assert_eq!(resp.status(), 202);
    let v: Value = resp.json().await.unwrap();
    v["jobId"].as_str().unwrap().to_owned()
}

async fn state(sim: &SimOrg, t: &str, job: &str) -> Value {
    let resp = get(sim, t, &format!("{JOBS}/{job}")).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn queued_then_pending_then_fulfilled_then_results_by_cursor() {
    let sim = start(
        SimOrg::builder()
            .conversations(25)
            .messages_per_conversation(3)
            .analytics_job_delay(Duration::from_millis(300)),
    )
    .await;
    let t = token(&sim).await;
    let job = submit(&sim, &t, json!({"interval": sim.full_interval()})).await;
    assert_eq!(state(&sim, &t, &job).await["state"], "QUEUED");
    genesys_error(get(&sim, &t, &format!("{JOBS}/{job}/results")).await, 400).await;
    tokio::time::sleep(Duration::from_millis(170)).await;
    assert_eq!(state(&sim, &t, &job).await["state"], "PENDING");
    tokio::time::sleep(Duration::from_millis(170)).await;
    let s = state(&sim, &t, &job).await;
    assert_eq!(s["state"], "FULFILLED");
    assert!(s["submissionDate"].is_string() && s["expirationDate"].is_string());

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = format!("{JOBS}/{job}/results?pageSize=10");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let resp = get(&sim, &t, &path).await;
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        assert!(body["dataAvailabilityDate"].is_string());
        pages += 1;
        for c in body["conversations"].as_array().unwrap() {
            seen.push(c["conversationId"].as_str().unwrap().to_owned());
        }
        match body.get("cursor") {
            Some(c) => cursor = Some(c.as_str().unwrap().to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 25);
    let mut all: Vec<_> = sim.conversations().into_iter().map(|c| c.id).collect();
    all.sort();
    seen.sort();
    assert_eq!(seen, all);
    genesys_error(
        get(&sim, &t, &format!("{JOBS}/{job}/results?cursor=garbage")).await,
        400,
    )
    .await;
}

#[tokio::test]
async fn jobs_can_be_made_to_fail() {
    let sim = start(SimOrg::builder().analytics_job_delay(Duration::ZERO)).await;
    let t = token(&sim).await;
    let job = submit(&sim, &t, json!({"interval": sim.full_interval(),
        "conversationFilters": [{"type": "or", "predicates": [{"dimension": "conversationId", "value": FAIL_JOB_VALUE}]}]})).await;
    let s = state(&sim, &t, &job).await;
    assert_eq!(s["state"], "FAILED");
    assert!(s["errorMessage"].is_string());
    genesys_error(get(&sim, &t, &format!("{JOBS}/{job}/results")).await, 400).await;

    let failing = start(
        SimOrg::builder()
            .analytics_job_delay(Duration::ZERO)
            .analytics_jobs_fail(true),
    )
    .await;
    let t = token(&failing).await;
    let job = submit(&failing, &t, json!({"interval": failing.full_interval()})).await;
    assert_eq!(state(&failing, &t, &job).await["state"], "FAILED");
}

#[tokio::test]
async fn cancel_unknown_and_bad_submissions() {
    let sim = start(SimOrg::builder()).await;
    let t = token(&sim).await;
    let job = submit(&sim, &t, json!({"interval": sim.full_interval()})).await;
    let resp = crate::common::client()
        .delete(format!("{}{JOBS}/{job}", sim.base_url()))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    assert_eq!(state(&sim, &t, &job).await["state"], "CANCELLED");
    genesys_error(get(&sim, &t, &format!("{JOBS}/nope")).await, 404).await;
    genesys_error(get(&sim, &t, &format!("{JOBS}/nope/results")).await, 404).await;
    genesys_error(
        post_json(&sim, &t, JOBS, &json!({"order": "asc"})).await,
        400,
    )
    .await;
}

#[tokio::test]
async fn an_empty_job_has_an_empty_page_and_no_cursor() {
    let sim = start(SimOrg::builder().analytics_job_delay(Duration::ZERO)).await;
    let t = token(&sim).await;
    let job = submit(
        &sim,
        &t,
        json!({"interval": "2001-01-01T00:00:00Z/2001-01-02T00:00:00Z"}),
    )
    .await;
    let body: Value = get(&sim, &t, &format!("{JOBS}/{job}/results"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["conversations"], json!([]));
    assert!(body.get("cursor").is_none());
}

#[tokio::test]
async fn availability_is_the_date_results_are_complete_to() {
    let sim = start(SimOrg::builder().conversations(2)).await;
    let t = token(&sim).await;
    let resp = get(&sim, &t, &format!("{JOBS}/availability")).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let date = body["dataAvailabilityDate"].as_str().unwrap().to_owned();
    assert!(
        chrono::DateTime::parse_from_rfc3339(&date).is_ok(),
        "{date}"
    );
    let job = submit(&sim, &t, json!({"interval": sim.full_interval()})).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut results = get(&sim, &t, &format!("{JOBS}/{job}/results")).await;
    for _ in 0..40 {
        if results.status() == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        results = get(&sim, &t, &format!("{JOBS}/{job}/results")).await;
    }
    let page: Value = results.json().await.unwrap();
    assert_eq!(page["dataAvailabilityDate"], date.as_str());
    genesys_error(
        get(&sim, "wrong-token", &format!("{JOBS}/availability")).await,
        401,
    )
    .await;
}
