//! What the request pipeline emits through the [`metrics`] facade, and the names it uses. The
//! crate installs no recorder and no exporter: the application picks one (the recipes serve
//! Prometheus text). Clones of a client, and clients made with
//! [`crate::GenesysClient::with_token_provider`], emit under the same names and attributes; the
//! retry, give-up, pacer and budget metrics come from [`retry_policy::metric_names`].
//!
//! The workspace README has the table of every name, unit and attribute.

use std::time::Duration;

/// Histogram, seconds (OpenTelemetry `http.client.request.duration`): one per attempt sent,
/// with `http.request.method`, `server.address`, `genesys.operation` (the path with ids
/// replaced by `{id}`), and `http.response.status_code` when an answer came back, else
/// `error.type` (`timeout`, `transport`, `body_too_large`).
pub const HTTP_CLIENT_REQUEST_DURATION: &str = "http.client.request.duration";
/// Counter: 429 answers, with `genesys.operation` and `retry_after` (`header` when the answer
/// carried a `Retry-After`, else `derived`: the message's hint, the window's reset or the floor).
pub const RATE_LIMITED: &str = "genesys.rate_limited";
/// Histogram, seconds: the wait a 429 imposed (the pause every pacer holder takes).
pub const RATE_LIMITED_RETRY_AFTER: &str = "genesys.rate_limited.retry_after";
/// Counter: requests to the token endpoint (every attempt), with `outcome` (`ok`, `error`).
pub const TOKEN_FETCHES: &str = "genesys.token.fetches";
/// Counter: token refreshes started by a client-credentials provider (first token, expiry, or
/// a 401's invalidation); one refresh may take several fetches.
pub const TOKEN_REFRESHES: &str = "genesys.token.refreshes";

/// The attribute naming the operation: the request path with its ids replaced.
pub const OPERATION: &str = "genesys.operation";

/// The operation name of a request path: each segment that looks like an id (has a digit and is
/// 16 characters or more, or is all digits) becomes `{id}`, so the attribute stays low in
/// cardinality: `/api/v2/conversations/{id}/messages`.
pub fn operation_of(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let digits = segment.bytes().any(|b| b.is_ascii_digit());
        let all_digits = !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit());
        if all_digits || (digits && segment.len() >= 16) {
            out.push_str("{id}");
        } else {
            out.push_str(segment);
        }
    }
    out
}

pub(crate) fn status_label(status: u16) -> metrics::SharedString {
    match status {
        200 => "200".into(),
        201 => "201".into(),
        202 => "202".into(),
        204 => "204".into(),
        400 => "400".into(),
        401 => "401".into(),
        403 => "403".into(),
        404 => "404".into(),
        429 => "429".into(),
        500 => "500".into(),
        502 => "502".into(),
        503 => "503".into(),
        504 => "504".into(),
        other => other.to_string().into(),
    }
}

pub(crate) fn record_rate_limited(operation: &str, had_header: bool, wait: Duration) {
    let source = if had_header { "header" } else { "derived" };
    metrics::counter!(RATE_LIMITED, OPERATION => operation.to_owned(), "retry_after" => source)
        .increment(1);
    metrics::histogram!(RATE_LIMITED_RETRY_AFTER).record(wait.as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_replaced_and_names_kept() {
        assert_eq!(
            operation_of("/api/v2/conversations/3f1c2a4e-8b9d-4c6e-9a7b-1d2e3f4a5b6c/messages"),
            "/api/v2/conversations/{id}/messages"
        );
        assert_eq!(
            operation_of("/api/v2/analytics/conversations/details/query"),
            "/api/v2/analytics/conversations/details/query"
        );
        assert_eq!(operation_of("/api/v2/users/42"), "/api/v2/users/{id}");
        assert_eq!(operation_of("/api/v2/oauth2"), "/api/v2/oauth2");
        assert_eq!(&*status_label(429), "429");
        assert_eq!(&*status_label(418), "418");
    }
}
