//! Attachment URLs: HEAD/GET, some expired.

use genesys_sim::SimOrg;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::common::{client, get, start};

/// Every attachment (url, sha256, fileSize) of a conversation's history.
async fn attachments(sim: &SimOrg) -> Vec<(String, String, u64)> {
    let jwt = sim.conversations()[0].guest_jwt.clone();
    let mut out = Vec::new();
    for n in 1..=5 {
        let body: Value = get(
            sim,
            &jwt,
            &format!("/api/v2/webmessaging/messages?pageSize=100&pageNumber={n}"),
        )
        .await
        .json()
        .await
        .unwrap();
        for m in body["entities"].as_array().unwrap() {
            for c in m["content"].as_array().into_iter().flatten() {
                if c["contentType"] == "Attachment" {
                    let a = &c["attachment"];
                    out.push((
                        a["url"].as_str().unwrap().to_owned(),
                        a["sha256"].as_str().unwrap().to_owned(),
                        a["fileSize"].as_u64().unwrap(),
                    ));
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn most_attachments_download_and_a_share_is_expired() {
    let sim = start(
        SimOrg::builder()
            .seed(5)
            .conversations(1)
            .messages_per_conversation(500)
            .attachment_share(0.5)
            .expired_attachment_share(0.3),
    )
    .await;
    let list = attachments(&sim).await;
    assert!(list.len() > 80, "{}", list.len());
    let (mut ok, mut expired) = (0, 0);
    let http = client();
    for (url, sha, size) in &list {
        assert!(url.contains("X-Amz-Expires=") && url.contains("X-Amz-Date="));
        let head = http.head(url).send().await.unwrap();
        let get = http.get(url).send().await.unwrap();
        assert_eq!(head.status(), get.status());
        match get.status().as_u16() {
            200 => {
                ok += 1;
                assert_eq!(
                    head.headers()["content-length"].to_str().unwrap(),
                    size.to_string()
                );
                let bytes = get.bytes().await.unwrap();
                assert_eq!(bytes.len() as u64, *size);
                assert_eq!(hex::encode(Sha256::digest(&bytes)), *sha);
            }
            403 | 404 => expired += 1,
            other => panic!("status {other}"),
        }
    }
    let share = f64::from(expired) / f64::from(ok + expired);
    assert!((0.15..0.45).contains(&share), "expired share {share}");
}

#[tokio::test]
async fn tampered_or_unknown_urls_are_refused() {
    let sim = start(
        SimOrg::builder()
            .conversations(1)
            .messages_per_conversation(300)
            .attachment_share(0.5)
            .expired_attachment_share(0.0),
    )
    .await;
    let (url, _, _) = attachments(&sim).await.remove(0);
    let tampered = format!("{}0", url);
    assert_eq!(client().get(&tampered).send().await.unwrap().status(), 403);
    let unknown = format!(
        "{}/__media/00000000-0000-4000-8000-000000000000/x.png",
        sim.base_url()
    );
    assert_eq!(client().get(&unknown).send().await.unwrap().status(), 404);
}
