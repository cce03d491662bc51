//! TLS: certificate verification is never turned off anywhere, and a private root (a corporate
//! TLS-inspecting proxy, an internal CA) can be added through every builder that makes HTTPS
//! calls: `GenesysClient`, `MediaVerifier`, `WebhookArchive`, `HttpTarget`.
//!
//! A local HTTPS server presents a certificate for 127.0.0.1 signed by a test CA
//! (`tests/fixtures/tls/`): every client refuses it with the platform's roots alone and accepts
//! it once the CA is added.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use genesys_auth::{GenesysClient, GenesysError, Region, StaticToken};
use genesys_messaging::archive::{ArchiveBatch, ArchiveSink, WebhookArchive};
use genesys_messaging::media::{MediaStatus, MediaVerifier};
use genesys_messaging::{Direction, WebMessagingMessage};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use retry_policy::RetryPolicy;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use secrecy::SecretString;
use serde_json::Value;
use sqs_dlq::dead_letter::{DeadLetter, HttpTarget, ReplayTarget};
use sqs_dlq::queue::Attributes;

const CA: &[u8] = include_bytes!("../fixtures/tls/ca.pem");
const SERVER_CERT: &[u8] = include_bytes!("../fixtures/tls/server.pem");
const SERVER_KEY: &[u8] = include_bytes!("../fixtures/tls/server.key");

async fn https_server() -> SocketAddr {
    let certs = CertificateDer::pem_slice_iter(SERVER_CERT)
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(SERVER_KEY).unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().fallback(|| async { axum::Json(serde_json::json!({"ok": true})) });
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake: not an error here.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), TowerToHyperService::new(app))
                    .await;
            });
        }
    });
    addr
}

fn ca() -> reqwest::Certificate {
    reqwest::Certificate::from_pem(CA).unwrap()
}

#[tokio::test]
async fn genesys_client_needs_the_added_root() {
    let addr = https_server().await;
    let base = url::Url::parse(&format!("https://{addr}/")).unwrap();
    let build = |root: Option<reqwest::Certificate>| {
        let mut b = GenesysClient::builder()
            .region(Region::custom(base.clone(), base.clone()))
            .token_provider(Arc::new(StaticToken::new(SecretString::from("t"))))
            .retry_policy(RetryPolicy::no_retry())
            .request_timeout(Duration::from_secs(5));
        if let Some(root) = root {
            b = b.add_root_certificate(root);
        }
        b.build().unwrap()
    };
    let refused = build(None).get_json::<Value>("/api/v2/x", &[]).await;
    assert!(
        matches!(
            refused,
            Err(GenesysError::Transport { .. } | GenesysError::RetriesExhausted { .. })
        ),
        "{refused:?}"
    );
    let ok = build(Some(ca()))
        .get_json::<Value>("/api/v2/x", &[])
        .await
        .unwrap();
    assert_eq!(ok["ok"], true);
}

#[tokio::test]
async fn media_verifier_needs_the_added_root() {
    let addr = https_server().await;
    let url = format!("https://{addr}/a.png");
    let base = || {
        MediaVerifier::builder()
            .allow_loopback(true)
            .timeout(Duration::from_secs(5))
    };
    let refused = base().build().unwrap().verify(&url).await;
    assert!(
        matches!(refused.status, MediaStatus::Unreachable { .. }),
        "{refused:?}"
    );
    let ok = base()
        .add_root_certificate(ca())
        .build()
        .unwrap()
        .verify(&url)
        .await;
    assert!(matches!(ok.status, MediaStatus::Valid { .. }), "{ok:?}");
}

#[tokio::test]
async fn webhook_archive_needs_the_added_root() {
    let addr = https_server().await;
    let url = format!("https://{addr}/archive");
    let message = WebMessagingMessage::text("m-1", chrono::Utc::now(), Direction::Inbound, "hi");
    let batch = ArchiveBatch::new("conv-1", 1, 0, vec![message]);
    let base = || WebhookArchive::builder(url.clone()).retry_policy(RetryPolicy::no_retry());
    assert!(base().build().unwrap().write_batch(&batch).await.is_err());
    base()
        .add_root_certificate(ca())
        .build()
        .unwrap()
        .write_batch(&batch)
        .await
        .unwrap();
}

#[tokio::test]
async fn replay_http_target_needs_the_added_root() {
    let addr = https_server().await;
    let url = format!("https://{addr}/replay");
    let letter = DeadLetter::parse("m-1", r#"{"detail-type":"x"}"#, Attributes::new());
    let base = || HttpTarget::builder(url.clone()).retry_policy(RetryPolicy::no_retry());
    let refused = base()
        .build()
        .unwrap()
        .deliver(std::slice::from_ref(&letter))
        .await;
    assert!(refused[0].is_err(), "{refused:?}");
    let ok = base()
        .add_root_certificate(ca())
        .build()
        .unwrap()
        .deliver(std::slice::from_ref(&letter))
        .await;
    assert_eq!(ok[0].as_ref().unwrap().status, Some(200));
}

/// Fails if any source file of the workspace learns to switch certificate checks off.
#[test]
fn no_crate_turns_certificate_verification_off() {
    // Split so that this file does not match itself.
    let forbidden = [
        ["danger_accept_", "invalid_certs"].concat(),
        ["danger_accept_", "invalid_hostnames"].concat(),
        ["Server", "CertVerifier"].concat(),
        [".dang", "erous()"].concat(),
        ["tls_built_in_", "root_certs(false)"].concat(),
        ["NoCertificate", "Verification"].concat(),
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    for dir in ["crates", "examples", "tests", "fuzz"] {
        collect(&root.join(dir), &mut files);
    }
    assert!(
        files.len() > 50,
        "the walk found the sources ({})",
        files.len()
    );
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for needle in &forbidden {
            assert!(
                !text.contains(needle.as_str()),
                "{} contains {needle}",
                file.display()
            );
        }
    }
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && name != "corpus" && name != "artifacts" {
                collect(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs" || e == "toml") {
            out.push(path);
        }
    }
}
