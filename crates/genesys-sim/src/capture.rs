//! Traffic capture for the contract check: with `GENESYS_SIM_CAPTURE_DIR` set, every `/api`
//! exchange (request body and answer body, with the route template) is appended to one JSONL
//! file per process in that directory, so `scripts/contract_check.py` can validate both sides
//! against the official SDK models. Off (and free) when the variable is unset.
//!
//! One line per exchange: `{"method", "route", "query": [names], "status", "request",
//! "response"}`; bodies are JSON values, or `null` when absent or not JSON. Each line is written
//! with one `write` call on a file opened for appending, so parallel servers in one process
//! never interleave, and each process has its own file so parallel test binaries never do.
//! Memory is bounded: at most [`MAX_PER_ROUTE`] exchanges per route and status class are
//! written per process (the counters are keyed by the few route templates).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use axum::body::{Body, Bytes};
use axum::response::Response;
use serde_json::{Value, json};

use crate::sync::lock;

/// The environment variable naming the capture directory.
pub const CAPTURE_DIR_ENV: &str = "GENESYS_SIM_CAPTURE_DIR";
/// Most exchanges written per (method, route, status class) and process.
pub(crate) const MAX_PER_ROUTE: u32 = 300;
/// Bodies larger than this are not captured (the contract check needs shapes, not volume).
const MAX_CAPTURED_BODY: usize = 2 * 1024 * 1024;

/// The request body of an exchange, handed from the body-limit step to the capture step.
#[derive(Clone, Debug)]
pub(crate) struct CapturedRequest(pub Bytes);

struct Sink {
    file: Mutex<File>,
    written: Mutex<HashMap<(String, String, u16), u32>>,
}

fn sink() -> Option<&'static Sink> {
    static SINK: OnceLock<Option<Sink>> = OnceLock::new();
    SINK.get_or_init(|| {
        let dir = PathBuf::from(std::env::var_os(CAPTURE_DIR_ENV)?);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::warn!(dir = %dir.display(), error = %e, "capture directory unusable; capture off");
            return None;
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = dir.join(format!("sim-{}-{nanos}.jsonl", std::process::id()));
        match OpenOptions::new().create(true).append(true).open(&path) {
            Ok(file) => Some(Sink {
                file: Mutex::new(file),
                written: Mutex::new(HashMap::new()),
            }),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "capture file unusable; capture off");
                None
            }
        }
    })
    .as_ref()
}

/// Whether capture is on in this process.
pub(crate) fn enabled() -> bool {
    sink().is_some()
}

fn as_json(bytes: &[u8]) -> Value {
    if bytes.is_empty() || bytes.len() > MAX_CAPTURED_BODY {
        return Value::Null;
    }
    serde_json::from_slice(bytes).unwrap_or(Value::Null)
}

/// Records one exchange (when capture is on and the route's quota is not used up) and gives
/// the response back unchanged.
pub(crate) async fn record(
    method: &http::Method,
    route: &str,
    query: Option<&str>,
    response: Response,
) -> Response {
    let Some(sink) = sink() else {
        return response;
    };
    let status = response.status().as_u16();
    {
        let mut written = lock(&sink.written);
        let n = written
            .entry((method.to_string(), route.to_owned(), status / 100))
            .or_default();
        if *n >= MAX_PER_ROUTE {
            return response;
        }
        *n += 1;
    }
    let request = response
        .extensions()
        .get::<CapturedRequest>()
        .map_or(Value::Null, |r| as_json(&r.0));
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            tracing::debug!(error = %e, "capture: the answer body failed");
            Bytes::new()
        }
    };
    let names: Vec<String> = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, _)| k.into_owned())
        .collect();
    let line = json!({
        "method": method.as_str(),
        "route": route,
        "query": names,
        "status": status,
        "request": request,
        "response": as_json(&bytes),
    });
    let mut text = line.to_string();
    text.push('\n');
    if let Err(e) = lock(&sink.file).write_all(text.as_bytes()) {
        tracing::warn!(error = %e, "capture write failed");
    }
    Response::from_parts(parts, Body::from(bytes))
}
