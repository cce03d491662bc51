//! What happens to every request before and after its handler: in-flight count, latency, the
//! org-wide rate limit, the request body limit, fault injection, the correlation and rate-limit
//! headers, and the stats.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use rand::Rng;

use crate::conn::ConnKill;
use crate::error::GenesysError;
use crate::ratelimit::Admission;
use crate::state::SimState;
use crate::sync::lock;

/// The platform's `request.bytes.max`.
pub(crate) const MAX_BODY_BYTES: usize = 512_000;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    ServerError(StatusCode),
    Reset,
    Truncate { honest_length: bool },
    NonJson,
    Slow(Duration),
}

/// Decrements the in-flight count when the request ends, even if its future is dropped.
struct InFlight<'a>(&'a SimState);

impl<'a> InFlight<'a> {
    fn enter(state: &'a SimState) -> Self {
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let mut stats = lock(&state.stats);
        stats.max_in_flight = stats.max_in_flight.max(now);
        Self(state)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn record(state: &SimState, path: &str, status: u16) {
    let mut stats = lock(&state.stats);
    stats.total_requests += 1;
    *stats
        .requests
        .entry(path.to_owned())
        .or_default()
        .entry(status)
        .or_default() += 1;
}

pub(crate) async fn pipeline(
    State(state): State<Arc<SimState>>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    if path.starts_with("/__sim/") {
        return next.run(req).await;
    }
    let capture = (path.starts_with("/api/") && crate::capture::enabled()).then(|| {
        let route = req
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .map_or_else(|| path.clone(), |m| m.as_str().to_owned());
        (
            req.method().clone(),
            route,
            req.uri().query().map(str::to_owned),
        )
    });
    let _in_flight = InFlight::enter(&state);
    let correlation_id = uuid::Uuid::new_v4().to_string();
    let is_token = path == "/oauth/token";
    let is_media = path.starts_with("/__media/");
    let is_api = !is_media;
    if is_token {
        lock(&state.stats).token_requests += 1;
    }

    // Latency first: it is the network, and a 429 is just as slow to arrive.
    let (latency, jitter) = {
        let live = lock(&state.live);
        (live.latency, live.jitter)
    };
    let extra = if jitter.is_zero() {
        Duration::ZERO
    } else {
        let mut live = lock(&state.live);
        Duration::from_secs_f64(live.rng.random_range(0.0..=jitter.as_secs_f64()))
    };
    if !(latency + extra).is_zero() {
        tokio::time::sleep(latency + extra).await;
    }

    // Rate limit and the informational headers.
    let limited_path = is_api && (!is_token || state.config.token_rate_limited);
    let faulty_path = is_api && (!is_token || state.config.token_faults);
    let (admission, allowed, count, reset, fault, quirk) = {
        let mut live = lock(&state.live);
        let now = tokio::time::Instant::now();
        let (admission, allowed, count, reset) = if is_api {
            let d = live.limits.decide(now, limited_path);
            (d.admission, d.allowed, d.count, d.reset)
        } else {
            (Admission::Allowed, 0, 0, 0)
        };
        let fault = if faulty_path && admission == Admission::Allowed {
            draw_fault(&mut live)
        } else {
            None
        };
        (
            admission,
            allowed,
            count,
            reset,
            fault,
            live.retry_after_zero,
        )
    };

    let mut response = if let Admission::Limited(wait) = admission {
        lock(&state.stats).rate_limited += 1;
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        let mut e = GenesysError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too.many.requests.retry.after",
            format!("Rate limit exceeded the maximum. Retry the request in [{secs}] seconds"),
        );
        // The quirk: the limit is still in force, yet the header says 0.
        e.retry_after = Some(if quirk { 0 } else { secs });
        e.render(&correlation_id)
    } else {
        match run(&state, req, next, fault, &path).await {
            Some(r) => r,
            None => {
                // Reset: the connection is being dropped; never answer.
                record(&state, &path, 0);
                std::future::pending::<()>().await;
                unreachable_response()
            }
        }
    };

    if let Some(e) = response.extensions().get::<GenesysError>().cloned() {
        let ext = std::mem::take(response.extensions_mut());
        response = e.render(&correlation_id);
        *response.extensions_mut() = ext;
    }
    if let Some((method, route, query)) = &capture {
        response = crate::capture::record(method, route, query.as_deref(), response).await;
    }
    match fault {
        Some(Fault::NonJson) => response = non_json(response),
        Some(Fault::Truncate { honest_length }) => {
            response = truncate(response, honest_length).await;
        }
        _ => {}
    }
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&correlation_id) {
        headers.insert("inin-correlation-id", v);
    }
    if is_api {
        headers.insert("inin-ratelimit-allowed", HeaderValue::from(allowed));
        headers.insert("inin-ratelimit-count", HeaderValue::from(count));
        headers.insert("inin-ratelimit-reset", HeaderValue::from(reset));
    }
    record(&state, &path, response.status().as_u16());
    response
}

/// Never called: the branch above awaits forever. Present so the types line up.
fn unreachable_response() -> Response {
    Response::new(Body::empty())
}

fn draw_fault(live: &mut crate::state::Live) -> Option<Fault> {
    let f = live.faults;
    let total = f.server_errors + f.resets + f.truncated + f.non_json + f.slow;
    if total <= 0.0 {
        return None;
    }
    let u: f64 = live.rng.random();
    let mut edge = f.server_errors;
    if u < edge {
        let status = [
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::BAD_GATEWAY,
            StatusCode::SERVICE_UNAVAILABLE,
        ][live.rng.random_range(0..3usize)];
        return Some(Fault::ServerError(status));
    }
    edge += f.resets;
    if u < edge {
        return Some(Fault::Reset);
    }
    edge += f.truncated;
    if u < edge {
        return Some(Fault::Truncate {
            honest_length: live.rng.random_bool(0.5),
        });
    }
    edge += f.non_json;
    if u < edge {
        return Some(Fault::NonJson);
    }
    edge += f.slow;
    if u < edge {
        return Some(Fault::Slow(f.slow_by));
    }
    None
}

/// Runs the handler (with the body limit); `None` when the connection must be reset.
async fn run(
    state: &SimState,
    req: Request,
    next: Next,
    fault: Option<Fault>,
    path: &str,
) -> Option<Response> {
    {
        let mut stats = lock(&state.stats);
        match fault {
            Some(Fault::ServerError(_)) => stats.faults.server_errors += 1,
            Some(Fault::Reset) => stats.faults.resets += 1,
            Some(Fault::Truncate { .. }) => stats.faults.truncated += 1,
            Some(Fault::NonJson) => stats.faults.non_json += 1,
            Some(Fault::Slow(_)) => stats.faults.slow += 1,
            None => {}
        }
    }
    match fault {
        Some(Fault::Reset) => {
            if let Some(kill) = req.extensions().get::<Arc<ConnKill>>() {
                kill.fire();
            }
            tracing::debug!(path, "fault: connection reset");
            return None;
        }
        Some(Fault::ServerError(status)) => {
            let (code, message) = match status {
                StatusCode::BAD_GATEWAY => ("bad.gateway", "The gateway got an invalid answer."),
                StatusCode::SERVICE_UNAVAILABLE => (
                    "service.unavailable",
                    "The service is currently unavailable.",
                ),
                _ => (
                    "internal.server.error",
                    "The server encountered an unexpected condition which prevented it from fulfilling the request.",
                ),
            };
            return Some(GenesysError::new(status, code, message).into_response_ext());
        }
        Some(Fault::Slow(by)) => tokio::time::sleep(by).await,
        _ => {}
    }
    // Body limit: buffer the body (API bodies are small) so every handler sees whole bytes.
    let too_large = || {
        GenesysError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request.entity.too.large",
            format!("The request body exceeds the maximum of {MAX_BODY_BYTES} bytes (request.bytes.max)."),
        )
        .into_response_ext()
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Some(too_large());
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => return Some(too_large()),
    };
    let captured =
        crate::capture::enabled().then(|| crate::capture::CapturedRequest(bytes.clone()));
    let req = Request::from_parts(parts, Body::from(bytes));
    let mut response = next.run(req).await;
    if let Some(c) = captured {
        response.extensions_mut().insert(c);
    }
    Some(response)
}

impl GenesysError {
    fn into_response_ext(self) -> Response {
        axum::response::IntoResponse::into_response(self)
    }
}

fn non_json(mut response: Response) -> Response {
    let html = "<html><head><title>Gateway</title></head><body><h1>Request could not be processed</h1></body></html>";
    let headers = std::mem::take(response.headers_mut());
    let status = response.status();
    let mut r = Response::new(Body::from(html));
    *r.status_mut() = status;
    *r.headers_mut() = headers;
    r.headers_mut().remove(header::CONTENT_LENGTH);
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    r
}

async fn truncate(response: Response, honest_length: bool) -> Response {
    let (mut parts, body) = response.into_parts();
    let full = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let cut = full.len() / 2;
    let first: Bytes = full.slice(..cut);
    // Yield the first half, let it reach the wire, then fail the body: hyper closes the
    // connection without finishing it.
    let stream = futures::stream::unfold(0u8, move |step| {
        let first = first.clone();
        async move {
            match step {
                0 => Some((Ok::<Bytes, std::io::Error>(first), 1)),
                1 => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Some((
                        Err(std::io::Error::new(
                            std::io::ErrorKind::ConnectionAborted,
                            "genesys-sim: truncated body fault",
                        )),
                        2,
                    ))
                }
                _ => None,
            }
        }
    });
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::TRANSFER_ENCODING);
    if honest_length {
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(full.len()));
    }
    Response::from_parts(parts, Body::from_stream(stream))
}
