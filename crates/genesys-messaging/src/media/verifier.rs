//! [`MediaVerifier`]: SSRF-safe checks of attachment URLs.
//!
//! How each rule is enforced:
//! - **scheme / host allowlist / IP-literal hosts** are checked on the URL before any request,
//!   and again on every redirect hop by a custom redirect policy (which also limits hops).
//! - **resolved addresses** are checked by a custom [`reqwest::dns::Resolve`]: the connection
//!   can only be made to the addresses the resolver vetted, so there is no window between
//!   "check" and "connect" for DNS rebinding. IP-literal hosts skip DNS, which is why they are
//!   checked on the URL (first hop and redirects) instead.
//! - the verifier's own `reqwest::Client` starts from `signed-webhook`'s [`HttpSettings`] (the
//!   timeouts, extra roots and user agent every client of the toolkit shares), with short
//!   timeouts, and ignores proxy settings (a proxy would connect on our behalf to an address we
//!   never vetted).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::stream::Stream;
use reqwest::StatusCode;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect::{Attempt, Policy};
use serde::Serialize;
use signed_webhook::HttpSettings;
use tokio::sync::Semaphore;
use url::{Host, Url};

use super::address::{AddressRange, check_address};
use super::expiry::signed_url_expiry;
use crate::error::MessagingError;

/// Why a URL was refused without being fetched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BlockReason {
    /// Not a valid absolute URL.
    InvalidUrl {
        /// What was wrong.
        detail: String,
    },
    /// A scheme other than https (or http when allowed), e.g. `file://`.
    Scheme {
        /// The scheme found.
        scheme: String,
    },
    /// The URL has no host.
    NoHost,
    /// The host is not on the allowlist.
    HostNotAllowed {
        /// The host found.
        host: String,
    },
    /// The host is, or resolves to, an address in a refused range.
    Address {
        /// The address.
        ip: IpAddr,
        /// Its range.
        range: AddressRange,
    },
    /// The host name did not resolve to any address.
    Unresolvable {
        /// The host.
        host: String,
    },
    /// More redirects than allowed.
    TooManyRedirects {
        /// The limit.
        max: usize,
    },
}

impl fmt::Display for BlockReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl { detail } => write!(f, "invalid URL: {detail}"),
            Self::Scheme { scheme } => write!(f, "scheme {scheme:?} is not allowed"),
            Self::NoHost => f.write_str("URL has no host"),
            Self::HostNotAllowed { host } => write!(f, "host {host:?} is not on the allowlist"),
            Self::Address { ip, range } => write!(f, "address {ip} is {range}"),
            Self::Unresolvable { host } => write!(f, "host {host:?} did not resolve"),
            Self::TooManyRedirects { max } => write!(f, "more than {max} redirects"),
        }
    }
}

/// The error value carried through reqwest from the resolver / redirect policy.
#[derive(Debug)]
struct Blocked(BlockReason);

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "blocked: {}", self.0)
    }
}

impl std::error::Error for Blocked {}

/// Why an expired URL was judged expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExpiryEvidence {
    /// The URL's own signature parameters say it expired at this time (no request made).
    Signature {
        /// When it expired.
        expired_at: DateTime<Utc>,
    },
    /// The server answered 403, 404 or 410.
    Status {
        /// The status.
        status: u16,
    },
}

/// The outcome of checking one URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum MediaStatus {
    /// The media answered 2xx.
    Valid {
        /// The final status (200, or 206 for the ranged GET).
        http_status: u16,
        /// Expiry read from the URL, when it has one.
        #[serde(skip_serializing_if = "Option::is_none")]
        expires_at: Option<DateTime<Utc>>,
    },
    /// Past its signed expiry, or 403 / 404 / 410.
    Expired(ExpiryEvidence),
    /// Could not tell: timeout, connection failure, or another status.
    Unreachable {
        /// The status, when there was an answer.
        #[serde(skip_serializing_if = "Option::is_none")]
        http_status: Option<u16>,
        /// What happened.
        detail: String,
    },
    /// Refused without (further) requests.
    Blocked(BlockReason),
}

impl MediaStatus {
    /// Short label: `valid`, `expired`, `unreachable`, `blocked`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Valid { .. } => "valid",
            Self::Expired(_) => "expired",
            Self::Unreachable { .. } => "unreachable",
            Self::Blocked(_) => "blocked",
        }
    }
}

/// One checked URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MediaCheck {
    /// The URL as given.
    pub url: String,
    /// The outcome.
    pub status: MediaStatus,
}

#[derive(Debug, Clone)]
struct Rules {
    allow_http: bool,
    allow_loopback: bool,
    allowed_hosts: Option<Arc<Vec<String>>>,
    max_redirects: usize,
}

impl Rules {
    /// Checks a URL on its own (scheme, host, allowlist, IP literal).
    fn vet_url(&self, url: &Url) -> Result<(), BlockReason> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            other => {
                return Err(BlockReason::Scheme {
                    scheme: other.to_owned(),
                });
            }
        }
        let host = url.host().ok_or(BlockReason::NoHost)?;
        if let Some(allowed) = &self.allowed_hosts {
            let name = url.host_str().unwrap_or_default().to_ascii_lowercase();
            let name = name.trim_start_matches('[').trim_end_matches(']');
            if !allowed.iter().any(|pattern| host_matches(pattern, name)) {
                return Err(BlockReason::HostNotAllowed {
                    host: name.to_owned(),
                });
            }
        }
        let literal = match host {
            Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
            Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
            Host::Domain(_) => None,
        };
        if let Some(ip) = literal {
            check_address(ip, self.allow_loopback)
                .map_err(|range| BlockReason::Address { ip, range })?;
        }
        Ok(())
    }
}

/// `pattern` is an exact host or `*.suffix` (any subdomain of suffix, not suffix itself).
fn host_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(suffix) => {
            host.len() > suffix.len() + 1
                && host.ends_with(suffix)
                && host[..host.len() - suffix.len()].ends_with('.')
        }
        None => pattern == host,
    }
}

/// Resolves with the system resolver and refuses names that resolve to any refused address;
/// reqwest connects only to the addresses returned here.
#[derive(Debug, Clone)]
struct VettingResolver {
    allow_loopback: bool,
}

impl Resolve for VettingResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_loopback = self.allow_loopback;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() {
                return Err(Box::new(Blocked(BlockReason::Unresolvable { host }))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            // One refused address refuses the name: a host that answers with both a public and
            // an internal address is hostile or misconfigured.
            for addr in &addrs {
                let ip = addr.ip();
                if let Err(range) = check_address(ip, allow_loopback) {
                    tracing::warn!(host = %host, ip = %ip, range = %range, "media host resolves to a refused address");
                    return Err(Box::new(Blocked(BlockReason::Address { ip, range }))
                        as Box<dyn std::error::Error + Send + Sync>);
                }
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Builder for [`MediaVerifier`].
#[derive(Debug, Clone)]
pub struct MediaVerifierBuilder {
    rules: Rules,
    http: HttpSettings,
    concurrency: usize,
}

impl MediaVerifierBuilder {
    /// Allow plain `http://` URLs (off by default).
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.rules.allow_http = allow;
        self
    }

    /// Allow loopback addresses (127/8, ::1). Only for tests and the simulator; off by default.
    /// Private, link-local and the other ranges stay refused.
    pub fn allow_loopback(mut self, allow: bool) -> Self {
        self.rules.allow_loopback = allow;
        self
    }

    /// Only these hosts: exact names or `*.example.com` patterns. Unset = any public host.
    pub fn allowed_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rules.allowed_hosts = Some(Arc::new(hosts.into_iter().map(Into::into).collect()));
        self
    }

    /// Most redirects followed (default 3; every hop is vetted).
    pub fn max_redirects(mut self, max: usize) -> Self {
        self.rules.max_redirects = max;
        self
    }

    signed_webhook::http_settings_setters!(http, timeout = "5 s, per URL", connect_timeout = "3 s");

    /// Most checks in flight at once, across all callers of this verifier (default 8, min 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Builds the verifier and its HTTP client.
    pub fn build(self) -> Result<MediaVerifier, MessagingError> {
        let rules = self.rules.clone();
        let policy_rules = self.rules.clone();
        let policy = Policy::custom(move |attempt: Attempt<'_>| {
            // `previous` includes the first URL, so it holds one entry per hop already made.
            if attempt.previous().len() > policy_rules.max_redirects {
                let max = policy_rules.max_redirects;
                return attempt.error(Blocked(BlockReason::TooManyRedirects { max }));
            }
            match policy_rules.vet_url(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(reason) => attempt.error(Blocked(reason)),
            }
        });
        // The shared settings (timeouts, roots, user agent), then what only this client needs:
        // no proxy, a redirect policy that vets every hop, a resolver that vets every address.
        let http = self
            .http
            .client_builder()
            .no_proxy()
            .redirect(policy)
            .dns_resolver(Arc::new(VettingResolver {
                allow_loopback: self.rules.allow_loopback,
            }))
            .build()
            .map_err(|e| MessagingError::InvalidConfig {
                setting: "media verifier http client",
                reason: e.to_string(),
            })?;
        Ok(MediaVerifier {
            inner: Arc::new(Inner {
                rules,
                http,
                permits: Semaphore::new(self.concurrency),
                concurrency: self.concurrency,
            }),
        })
    }
}

struct Inner {
    rules: Rules,
    http: reqwest::Client,
    permits: Semaphore,
    concurrency: usize,
}

/// Checks attachment URLs (untrusted guest input) without ever connecting to an internal address.
///
/// Cheap to clone; clones share the HTTP client and the concurrency bound.
///
/// ```no_run
/// # async fn demo() -> Result<(), genesys_messaging::MessagingError> {
/// use genesys_messaging::media::{MediaStatus, MediaVerifier};
/// let verifier = MediaVerifier::builder().allowed_hosts(["*.amazonaws.com"]).build()?;
/// let check = verifier.verify("https://bucket.s3.amazonaws.com/cat.png").await;
/// assert!(matches!(check.status, MediaStatus::Valid { .. } | MediaStatus::Expired(_) | MediaStatus::Unreachable { .. }));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MediaVerifier {
    inner: Arc<Inner>,
}

impl fmt::Debug for MediaVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaVerifier")
            .field("rules", &self.inner.rules)
            .field("concurrency", &self.inner.concurrency)
            .finish()
    }
}

impl MediaVerifier {
    /// Safe defaults: https only, no loopback, any public host, 3 redirects, 5 s timeout.
    pub fn builder() -> MediaVerifierBuilder {
        MediaVerifierBuilder {
            rules: Rules {
                allow_http: false,
                allow_loopback: false,
                allowed_hosts: None,
                max_redirects: 3,
            },
            http: HttpSettings::new()
                .timeout(Duration::from_secs(5))
                .connect_timeout(Duration::from_secs(3))
                .user_agent(concat!("genesys-messaging/", env!("CARGO_PKG_VERSION"))),
            concurrency: 8,
        }
    }

    /// Checks one URL; never fails (every outcome is a [`MediaStatus`]).
    pub async fn verify(&self, raw: &str) -> MediaCheck {
        let status = self.status_of(raw).await;
        tracing::debug!(url_host = %host_for_log(raw), outcome = status.label(), "media checked");
        MediaCheck {
            url: raw.to_owned(),
            status,
        }
    }

    /// Checks many URLs with at most the configured concurrency, yielding in input order.
    pub fn verify_all<I>(&self, urls: I) -> impl Stream<Item = MediaCheck> + Send + 'static
    where
        I: IntoIterator<Item = String>,
        I::IntoIter: Send + 'static,
    {
        let this = self.clone();
        let n = self.inner.concurrency;
        futures::stream::iter(urls)
            .map(move |url| {
                let this = this.clone();
                async move { this.verify(&url).await }
            })
            .buffered(n)
    }

    async fn status_of(&self, raw: &str) -> MediaStatus {
        let url = match Url::parse(raw) {
            Ok(url) => url,
            Err(e) => {
                return MediaStatus::Blocked(BlockReason::InvalidUrl {
                    detail: e.to_string(),
                });
            }
        };
        if let Err(reason) = self.inner.rules.vet_url(&url) {
            return MediaStatus::Blocked(reason);
        }
        let expires_at = signed_url_expiry(&url);
        if let Some(at) = expires_at
            && at <= Utc::now()
        {
            return MediaStatus::Expired(ExpiryEvidence::Signature { expired_at: at });
        }
        let Ok(_permit) = self.inner.permits.acquire().await else {
            return MediaStatus::Unreachable {
                http_status: None,
                detail: "verifier closed".into(),
            };
        };
        let head = self.inner.http.head(url.clone()).send().await;
        let response = match head {
            Ok(r)
                if matches!(
                    r.status(),
                    StatusCode::METHOD_NOT_ALLOWED | StatusCode::NOT_IMPLEMENTED
                ) =>
            {
                self.inner
                    .http
                    .get(url)
                    .header(reqwest::header::RANGE, "bytes=0-0")
                    .send()
                    .await
            }
            other => other,
        };
        match response {
            Ok(r) if r.status().is_redirection() => {
                // reqwest hands back a redirect it would not follow (e.g. to `file:`): say why.
                let target = r
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|loc| r.url().join(loc).ok());
                match target.map(|t| self.inner.rules.vet_url(&t)) {
                    Some(Err(reason)) => MediaStatus::Blocked(reason),
                    _ => classify_status(r.status(), expires_at),
                }
            }
            Ok(r) => classify_status(r.status(), expires_at),
            Err(e) => classify_error(&e),
        }
    }
}

fn classify_status(status: StatusCode, expires_at: Option<DateTime<Utc>>) -> MediaStatus {
    let code = status.as_u16();
    if status.is_success() {
        MediaStatus::Valid {
            http_status: code,
            expires_at,
        }
    } else if matches!(code, 403 | 404 | 410) {
        MediaStatus::Expired(ExpiryEvidence::Status { status: code })
    } else {
        MediaStatus::Unreachable {
            http_status: Some(code),
            detail: format!("answered {status}"),
        }
    }
}

fn classify_error(error: &reqwest::Error) -> MediaStatus {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(Blocked(reason)) = e.downcast_ref::<Blocked>() {
            return MediaStatus::Blocked(reason.clone());
        }
        source = e.source();
    }
    let detail = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "connection failed".to_owned()
    } else {
        error.to_string()
    };
    MediaStatus::Unreachable {
        http_status: None,
        detail,
    }
}

/// The host only: signed URLs carry credentials in the query, which never go to logs.
fn host_for_log(raw: &str) -> String {
    Url::parse(raw)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{header, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn strict() -> MediaVerifier {
        MediaVerifier::builder().build().unwrap()
    }

    fn local() -> MediaVerifier {
        MediaVerifier::builder()
            .allow_http(true)
            .allow_loopback(true)
            .timeout(Duration::from_millis(500))
            .build()
            .unwrap()
    }

    fn blocked(check: &MediaCheck) -> &BlockReason {
        match &check.status {
            MediaStatus::Blocked(r) => r,
            other => panic!("expected Blocked for {}, got {other:?}", check.url),
        }
    }

    #[tokio::test]
    async fn internal_literals_and_bad_schemes_are_blocked_without_a_request() {
        let v = strict();
        let cases = [
            ("https://127.0.0.1/x", Some(AddressRange::Loopback)),
            ("https://10.0.0.1/x", Some(AddressRange::Private)),
            (
                "https://169.254.169.254/latest/meta-data/",
                Some(AddressRange::LinkLocal),
            ),
            ("https://[::1]/x", Some(AddressRange::Loopback)),
            ("https://[::ffff:10.0.0.1]/x", Some(AddressRange::Private)),
            ("https://[fd00::1]/x", Some(AddressRange::UniqueLocal)),
            ("https://0.0.0.0/x", Some(AddressRange::Unspecified)),
            ("https://100.64.1.1/x", Some(AddressRange::SharedCgnat)),
            ("https://2130706433/x", Some(AddressRange::Loopback)), // 127.0.0.1 as a decimal integer
        ];
        for (url, range) in cases {
            let check = v.verify(url).await;
            match blocked(&check) {
                BlockReason::Address { range: r, .. } => assert_eq!(Some(*r), range, "{url}"),
                other => panic!("{url}: {other:?}"),
            }
        }
        assert!(
            matches!(blocked(&v.verify("file:///etc/passwd").await), BlockReason::Scheme { scheme } if scheme == "file")
        );
        assert!(matches!(
            blocked(&v.verify("http://example.com/x").await),
            BlockReason::Scheme { .. }
        ));
        assert!(matches!(
            blocked(&v.verify("gopher://example.com/").await),
            BlockReason::Scheme { .. }
        ));
        assert!(matches!(
            blocked(&v.verify("not a url").await),
            BlockReason::InvalidUrl { .. }
        ));
    }

    #[tokio::test]
    async fn loopback_opt_in_does_not_open_private_ranges() {
        let v = local();
        for url in [
            "http://10.0.0.1/x",
            "http://169.254.169.254/",
            "http://192.168.0.1/",
        ] {
            assert!(
                matches!(blocked(&v.verify(url).await), BlockReason::Address { .. }),
                "{url}"
            );
        }
    }

    #[tokio::test]
    async fn host_names_resolving_to_loopback_are_blocked_by_the_resolver() {
        let server = MockServer::start().await;
        Mock::given(method("HEAD"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        let v = MediaVerifier::builder().allow_http(true).build().unwrap();
        let url = format!("http://localhost:{}/a.png", server.address().port());
        let check = v.verify(&url).await;
        assert!(
            matches!(
                blocked(&check),
                BlockReason::Address {
                    range: AddressRange::Loopback,
                    ..
                }
            ),
            "{check:?}"
        );
        assert!(
            server.received_requests().await.unwrap().is_empty(),
            "no request may reach the server"
        );
    }

    #[tokio::test]
    async fn allowlist_limits_hosts() {
        let v = MediaVerifier::builder()
            .allowed_hosts(["media.example.com", "*.cdn.example"])
            .build()
            .unwrap();
        assert!(matches!(
            blocked(&v.verify("https://evil.example/x").await),
            BlockReason::HostNotAllowed { .. }
        ));
        assert!(matches!(
            blocked(&v.verify("https://cdn.example/x").await),
            BlockReason::HostNotAllowed { .. }
        ));
        assert!(matches!(
            blocked(&v.verify("https://evilcdn.example/x").await),
            BlockReason::HostNotAllowed { .. }
        ));
        assert!(host_matches("*.cdn.example", "a.cdn.example"));
        assert!(host_matches("MEDIA.example.com", "media.example.com"));
    }

    #[tokio::test]
    async fn head_answers_are_classified() {
        let server = MockServer::start().await;
        for (path, status) in [
            ("/ok", 200),
            ("/gone", 410),
            ("/missing", 404),
            ("/denied", 403),
            ("/broken", 500),
        ] {
            Mock::given(method("HEAD"))
                .and(wiremock::matchers::path(path))
                .respond_with(ResponseTemplate::new(status))
                .mount(&server)
                .await;
        }
        let v = local();
        let base = server.uri();
        assert!(matches!(
            v.verify(&format!("{base}/ok")).await.status,
            MediaStatus::Valid {
                http_status: 200,
                ..
            }
        ));
        for (path, status) in [("/gone", 410), ("/missing", 404), ("/denied", 403)] {
            assert_eq!(
                v.verify(&format!("{base}{path}")).await.status,
                MediaStatus::Expired(ExpiryEvidence::Status { status })
            );
        }
        assert!(matches!(
            v.verify(&format!("{base}/broken")).await.status,
            MediaStatus::Unreachable {
                http_status: Some(500),
                ..
            }
        ));
    }

    #[tokio::test]
    async fn method_not_allowed_falls_back_to_a_one_byte_ranged_get() {
        let server = MockServer::start().await;
        Mock::given(method("HEAD"))
            .respond_with(ResponseTemplate::new(405))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(header("range", "bytes=0-0"))
            .respond_with(ResponseTemplate::new(206).set_body_bytes(vec![0u8]))
            .expect(1)
            .mount(&server)
            .await;
        let check = local().verify(&format!("{}/file.pdf", server.uri())).await;
        assert!(
            matches!(
                check.status,
                MediaStatus::Valid {
                    http_status: 206,
                    ..
                }
            ),
            "{check:?}"
        );
    }

    #[tokio::test]
    async fn signed_url_past_expiry_is_expired_without_a_request() {
        let server = MockServer::start().await;
        let url = format!(
            "{}/k?X-Amz-Date=20200101T000000Z&X-Amz-Expires=60&X-Amz-Signature=x",
            server.uri()
        );
        let check = local().verify(&url).await;
        assert!(
            matches!(
                check.status,
                MediaStatus::Expired(ExpiryEvidence::Signature { .. })
            ),
            "{check:?}"
        );
        assert!(server.received_requests().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn redirect_to_a_private_address_is_blocked_before_connecting() {
        // The first hop is a local server (loopback opted in); it redirects to 10.0.0.1. The
        // redirect policy refuses the hop, so nothing ever connects to 10.0.0.1.
        let server = MockServer::start().await;
        Mock::given(method("HEAD"))
            .and(wiremock::matchers::path("/private"))
            .respond_with(
                ResponseTemplate::new(302).insert_header("location", "http://10.0.0.1/secret"),
            )
            .mount(&server)
            .await;
        Mock::given(method("HEAD"))
            .and(wiremock::matchers::path("/metadata"))
            .respond_with(
                ResponseTemplate::new(301)
                    .insert_header("location", "http://169.254.169.254/latest/meta-data/"),
            )
            .mount(&server)
            .await;
        Mock::given(method("HEAD"))
            .and(wiremock::matchers::path("/scheme"))
            .respond_with(
                ResponseTemplate::new(302).insert_header("location", "file:///etc/passwd"),
            )
            .mount(&server)
            .await;
        let v = local();
        let check = v.verify(&format!("{}/private", server.uri())).await;
        assert_eq!(
            blocked(&check),
            &BlockReason::Address {
                ip: "10.0.0.1".parse().unwrap(),
                range: AddressRange::Private
            }
        );
        let check = v.verify(&format!("{}/metadata", server.uri())).await;
        assert!(matches!(
            blocked(&check),
            BlockReason::Address {
                range: AddressRange::LinkLocal,
                ..
            }
        ));
        let check = v.verify(&format!("{}/scheme", server.uri())).await;
        assert!(
            matches!(blocked(&check), BlockReason::Scheme { .. }),
            "{check:?}"
        );
    }

    #[tokio::test]
    async fn redirect_chains_are_limited_and_allowed_hops_followed() {
        let server = MockServer::start().await;
        Mock::given(method("HEAD"))
            .and(wiremock::matchers::path("/loop"))
            .respond_with(ResponseTemplate::new(302).insert_header("location", "/loop"))
            .mount(&server)
            .await;
        Mock::given(method("HEAD"))
            .and(wiremock::matchers::path("/hop"))
            .respond_with(ResponseTemplate::new(302).insert_header("location", "/final"))
            .mount(&server)
            .await;
        Mock::given(method("HEAD"))
            .and(wiremock::matchers::path("/final"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        let v = local();
        assert!(matches!(
            v.verify(&format!("{}/hop", server.uri())).await.status,
            MediaStatus::Valid { .. }
        ));
        let check = v.verify(&format!("{}/loop", server.uri())).await;
        assert_eq!(blocked(&check), &BlockReason::TooManyRedirects { max: 3 });
    }

    #[tokio::test]
    async fn slow_servers_are_unreachable_after_the_timeout() {
        let server = MockServer::start().await;
        Mock::given(method("HEAD"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
            .mount(&server)
            .await;
        let v = MediaVerifier::builder()
            .allow_http(true)
            .allow_loopback(true)
            .timeout(Duration::from_millis(100))
            .build()
            .unwrap();
        let check = v.verify(&server.uri()).await;
        assert!(
            matches!(
                check.status,
                MediaStatus::Unreachable {
                    http_status: None,
                    ..
                }
            ),
            "{check:?}"
        );
    }

    #[tokio::test]
    async fn verify_all_keeps_input_order_and_bounds_concurrency() {
        let server = MockServer::start().await;
        Mock::given(method("HEAD"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(20)))
            .mount(&server)
            .await;
        let v = MediaVerifier::builder()
            .allow_http(true)
            .allow_loopback(true)
            .concurrency(2)
            .build()
            .unwrap();
        let urls: Vec<String> = (0..6)
            .map(|i| format!("{}/{i}", server.uri()))
            .chain(["file:///x".to_owned()])
            .collect();
        let checks: Vec<MediaCheck> = v.verify_all(urls.clone()).collect().await;
        assert_eq!(
            checks.iter().map(|c| c.url.clone()).collect::<Vec<_>>(),
            urls
        );
        assert_eq!(
            checks
                .iter()
                .filter(|c| c.status.label() == "valid")
                .count(),
            6
        );
        assert_eq!(checks[6].status.label(), "blocked");
    }
}
