//! No client secret and no token ever appears in Debug, Display, errors or tracing output.
//!
//! Every tracing event and span (TRACE level, span open/close with their fields) is written to
//! a buffer while tokens are fetched, refreshed after a 401, refused and mangled; then the
//! buffer, plus the Debug and Display of every public type and error, is searched for the
//! secret, the tokens and the Base64 Basic credentials.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use genesys_auth::metric_names::TOKEN_FETCHES;
use genesys_auth::{
    AccessToken, ApiRequest, AuthError, ClientCredentialsProvider, ConfigError, EnvConfig,
    GenesysClient, GenesysError, StaticToken, TokenProvider,
};
use retry_policy::Pacer;
use retry_policy::test_util::MetricsCapture;
use secrecy::SecretString;
use serde_json::{Value, json};
use tracing_subscriber::fmt::format::FmtSpan;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN_A: &str = "tokA-0123456789-SECRET";
const TOKEN_B: &str = "tokB-9876543210-SECRET";
const TRUNCATED_TOKEN: &str = "tokT-truncated-SECRET";
const GUEST_JWT: &str = "eyJhbGciOi.guest-jwt.SECRET";

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn forbidden() -> Vec<String> {
    vec![
        CLIENT_SECRET.to_owned(),
        TOKEN_A.to_owned(),
        TOKEN_B.to_owned(),
        TRUNCATED_TOKEN.to_owned(),
        GUEST_JWT.to_owned(),
        basic().trim_start_matches("Basic ").to_owned(),
    ]
}

fn assert_clean(what: &str, text: &str) {
    for secret in forbidden() {
        assert!(!text.contains(&secret), "{what} leaks {secret:?}:\n{text}");
    }
}

#[tokio::test]
async fn secrets_never_reach_logs_debug_display_or_errors() {
    let m = MetricsCapture::install_local();
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::FULL)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut shown: Vec<(String, String)> = Vec::new();
    let mut show = |what: &str, debug: String, display: Option<String>| {
        shown.push((format!("{what} (Debug)"), debug));
        if let Some(d) = display {
            shown.push((format!("{what} (Display)"), d));
        }
    };

    // A full run: token, 401, refresh, retry, 503, success.
    let server = MockServer::start().await;
    token_mock(json!({"access_token": TOKEN_A, "expires_in": 3600}))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    token_mock(json!({"access_token": TOKEN_B, "expires_in": 3600}))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/x"))
        .and(header(
            "authorization",
            format!("Bearer {TOKEN_A}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"code": "bad.credentials"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/x"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/x"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": 1})))
        .mount(&server)
        .await;
    let client = client(&server, fast_policy(3));
    let v: Value = client.get_json("/api/v2/x", &[]).await.unwrap();
    assert_eq!(v["ok"], 1);
    assert_eq!(m.counter(TOKEN_FETCHES, &[]), 2);
    show("GenesysClient", format!("{client:?}"), None);
    show(
        "provider via client",
        format!("{:?}", client.token_provider()),
        None,
    );
    let response = client.send(ApiRequest::get("/api/v2/x")).await.unwrap();
    show("ApiResponse", format!("{response:?}"), None);

    // Errors from the login service, including a truncated answer holding a token.
    for answer in [
        ResponseTemplate::new(401)
            .set_body_json(json!({"error": "invalid_client", "description": "bad secret"})),
        ResponseTemplate::new(200)
            .set_body_string(format!(r#"{{"access_token":"{TRUNCATED_TOKEN}","expi"#)),
        ResponseTemplate::new(200)
            .set_body_json(json!({"access_token": TRUNCATED_TOKEN, "expires_in": -1})),
        ResponseTemplate::new(200)
            .set_body_json(json!({"access_token": 12345, "expires_in": TRUNCATED_TOKEN})),
        ResponseTemplate::new(503).set_body_string("down"),
    ] {
        let login = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .respond_with(answer)
            .mount(&login)
            .await;
        let provider = ClientCredentialsProvider::builder(credentials(), region(&login))
            .retry_policy(fast_policy(2))
            .build()
            .unwrap();
        show("ClientCredentialsProvider", format!("{provider:?}"), None);
        let err = provider.access_token().await.unwrap_err();
        show("AuthError", format!("{err:?}"), Some(err.to_string()));
        let err = GenesysError::from(err);
        show(
            "GenesysError::Auth",
            format!("{err:?}"),
            Some(err.to_string()),
        );
    }

    // A connection failure during the token request.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dead = url::Url::parse(&format!("http://{dead}/")).unwrap();
    let provider = ClientCredentialsProvider::builder(
        credentials(),
        genesys_auth::Region::custom(dead.clone(), dead),
    )
    .retry_policy(fast_policy(1))
    .build()
    .unwrap();
    let err = provider.access_token().await.unwrap_err();
    assert!(matches!(err, AuthError::Transport { .. }), "{err:?}");
    show(
        "AuthError::Transport",
        format!("{err:?}"),
        Some(err.to_string()),
    );

    // A guest JWT rejected by the API.
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&api)
        .await;
    let guest =
        client.with_token_provider(Arc::new(StaticToken::new(SecretString::from(GUEST_JWT))));
    let guest = GenesysClient::builder()
        .region(region(&api))
        .token_provider(Arc::clone(guest.token_provider()))
        .pacer(Pacer::unlimited())
        .build()
        .unwrap();
    let err = guest
        .get_json::<Value>("/api/v2/webmessaging/messages", &[])
        .await
        .unwrap_err();
    show(
        "GenesysError::Api",
        format!("{err:?}"),
        Some(err.to_string()),
    );
    show("guest client", format!("{guest:?}"), None);

    // Every type that holds a secret.
    let creds = credentials();
    show("ClientCredentials", format!("{creds:?}"), None);
    let token = AccessToken::new(SecretString::from(TOKEN_A));
    show("AccessToken", format!("{token:?}"), None);
    show(
        "StaticToken",
        format!("{:?}", StaticToken::new(SecretString::from(GUEST_JWT))),
        None,
    );
    let cfg = EnvConfig::from_lookup(|var| {
        Ok(match var {
            genesys_auth::ENV_CLIENT_ID => Some(CLIENT_ID.to_owned()),
            genesys_auth::ENV_CLIENT_SECRET => Some(CLIENT_SECRET.to_owned()),
            genesys_auth::ENV_REGION => Some("us-east-1".to_owned()),
            _ => None,
        })
    })
    .unwrap();
    show("EnvConfig", format!("{cfg:?}"), None);
    let bad_secret = EnvConfig::from_lookup(|var| {
        Ok(match var {
            genesys_auth::ENV_CLIENT_ID => Some(CLIENT_ID.to_owned()),
            genesys_auth::ENV_CLIENT_SECRET => Some(format!("{CLIENT_SECRET}\n")),
            _ => None,
        })
    })
    .unwrap_err();
    assert!(matches!(bad_secret, ConfigError::Malformed { .. }));
    show(
        "ConfigError",
        format!("{bad_secret:?}"),
        Some(bad_secret.to_string()),
    );
    let builder = GenesysClient::builder()
        .credentials(credentials())
        .region(genesys_auth::Region::UsEast1);
    show("GenesysClientBuilder", format!("{builder:?}"), None);
    let pbuilder = ClientCredentialsProvider::builder(credentials(), genesys_auth::Region::UsEast1);
    show(
        "ClientCredentialsProviderBuilder",
        format!("{pbuilder:?}"),
        None,
    );
    let req = ApiRequest::get("/api/v2/x").header(
        http::header::AUTHORIZATION,
        format!("Bearer {TOKEN_A}").parse().unwrap(),
    );
    show("ApiRequest", format!("{req:?}"), None);

    drop(_guard);
    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("genesys_request"),
        "the tracing capture works:\n{logs}"
    );
    assert!(logs.contains("genesys_token_request"));
    assert!(logs.contains("latency_ms"));
    assert_clean("tracing output", &logs);
    for (what, text) in &shown {
        assert_clean(what, text);
    }
    assert!(shown.len() > 20);
}
