//! Token answers of the login service, through the real public path: a
//! `ClientCredentialsProvider` asks a loopback server that answers with the fuzz input (first
//! byte picks the status: 200, 400, 401 or 500; the rest is the body). Every outcome must be a
//! token or a typed `AuthError`, and no error may echo the `access_token` the body carried.
#![no_main]

use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use genesys_auth::{
    AuthError, ClientCredentials, ClientCredentialsProvider, Region, TokenProvider,
};
use libfuzzer_sys::fuzz_target;
use retry_policy::RetryPolicy;
use secrecy::SecretString;

type Answer = Arc<Mutex<(u16, Vec<u8>)>>;

struct Harness {
    runtime: tokio::runtime::Runtime,
    answer: Answer,
    provider: ClientCredentialsProvider,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let answer: Answer = Arc::new(Mutex::new((200, Vec::new())));
        let app = Router::new()
            .route(
                "/oauth/token",
                post(|State(a): State<Answer>| async move {
                    let (status, body) = a.lock().expect("answer").clone();
                    (StatusCode::from_u16(status).expect("status"), body)
                }),
            )
            .with_state(answer.clone());
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        runtime.spawn(async move { axum::serve(listener, app).await });
        let base = url::Url::parse(&format!("http://{addr}/")).expect("url");
        let provider = ClientCredentialsProvider::builder(
            ClientCredentials::new("fuzz-client", SecretString::from("fuzz-client-secret-0123")),
            Region::custom(base.clone(), base),
        )
        .retry_policy(RetryPolicy::no_retry())
        .build()
        .expect("provider");
        Harness {
            runtime,
            answer,
            provider,
        }
    })
}

/// The `access_token` string the body carries, when it is JSON with one.
fn carried_token(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("access_token")?.as_str().map(str::to_owned)
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let status = [200, 400, 401, 500][usize::from(pick % 4)];
    let h = harness();
    *h.answer.lock().expect("answer") = (status, body.to_vec());
    match h.runtime.block_on(h.provider.access_token()) {
        Ok(token) => {
            assert_eq!(status, 200, "a token from a {status} answer");
            assert!(!token.expose().is_empty());
            h.provider.invalidate(&token);
        }
        Err(error) => {
            assert!(
                matches!(
                    error,
                    AuthError::MalformedTokenResponse { .. }
                        | AuthError::InvalidCredentials { .. }
                        | AuthError::TokenEndpoint { .. }
                        | AuthError::RetriesExhausted { .. }
                ),
                "unexpected error kind: {error:?}"
            );
            if let Some(token) = carried_token(body).filter(|t| t.len() >= 6) {
                let shown = format!("{error} {error:?}");
                assert!(!shown.contains(&token), "error echoes the token: {shown}");
            }
        }
    }
});
