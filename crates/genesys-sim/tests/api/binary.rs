//! The `genesys-sim` binary prints what a client needs and serves it.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::common::client;

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_prints_credentials_and_serves_them() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_genesys-sim"))
        .args([
            "--port",
            "0",
            "--seed",
            "9",
            "--conversations",
            "4",
            "--messages",
            "30",
        ])
        .args(["--rate", "100", "--burst", "10", "--latency-ms", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _running = Running(child);
    let printed = tokio::task::spawn_blocking(move || {
        let mut printed = HashMap::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if line == "ready" {
                break;
            }
            if let Some((k, v)) = line.split_once('=') {
                printed.insert(k.to_owned(), v.to_owned());
            }
        }
        printed
    })
    .await
    .unwrap();
    for key in [
        "base_url",
        "client_id",
        "client_secret",
        "guest_jwt",
        "conversation_id",
        "interval",
    ] {
        assert!(printed.contains_key(key), "{key} not printed: {printed:?}");
    }
    assert_eq!(printed["conversations"], "4");
    let base = &printed["base_url"];
    let token: Value = client()
        .post(format!("{base}/oauth/token"))
        .basic_auth(&printed["client_id"], Some(&printed["client_secret"]))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(token["access_token"].is_string());
    let resp = client()
        .get(format!("{base}/api/v2/webmessaging/messages"))
        .bearer_auth(&printed["guest_jwt"])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["inin-ratelimit-allowed"], "6000");
    let page: Value = resp.json().await.unwrap();
    assert_eq!(page["total"], 30);
}
