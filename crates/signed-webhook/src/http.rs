//! [`HttpSettings`]: the HTTP client settings every outbound hop shares (timeouts, extra roots,
//! user agent), and the one place a `reqwest::Client` is built from them.

use std::fmt;
use std::time::Duration;

/// Default whole-request timeout (30 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default connect timeout (5 s).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Timeouts, extra root certificates and the user agent of an HTTP client.
///
/// [`WebhookClient`](crate::WebhookClient) builds its client from these, and so do other
/// senders that need extra client settings of their own (a DNS resolver, a redirect policy):
/// they start from [`HttpSettings::client_builder`] and add to it, so a timeout or a private CA
/// is configured the same way everywhere.
///
/// ```
/// use std::time::Duration;
/// use signed_webhook::HttpSettings;
///
/// let settings = HttpSettings::new()
///     .timeout(Duration::from_secs(10))
///     .connect_timeout(Duration::from_secs(2))
///     .user_agent("my-service/1.0");
/// let client = settings.build_client().unwrap();
/// # let _ = client;
/// ```
#[derive(Clone)]
pub struct HttpSettings {
    timeout: Duration,
    connect_timeout: Duration,
    roots: Vec<reqwest::Certificate>,
    user_agent: String,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpSettings {
    /// [`DEFAULT_TIMEOUT`], [`DEFAULT_CONNECT_TIMEOUT`], the platform's roots only, and
    /// `signed-webhook/<version>` as the user agent.
    pub fn new() -> Self {
        HttpSettings {
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            roots: Vec::new(),
            user_agent: concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }

    /// Whole-request timeout (connect, send, and read the answer).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Trusts one more root certificate (a corporate TLS-inspecting proxy, a private CA), in
    /// addition to the platform's roots. Certificate verification cannot be turned off.
    pub fn add_root_certificate(mut self, root: reqwest::Certificate) -> Self {
        self.roots.push(root);
        self
    }

    /// The `User-Agent` header sent.
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = agent.into();
        self
    }

    /// A client builder with these settings: rustls with the platform's roots plus the added
    /// ones, both timeouts, the user agent, and **no redirects** (a 307/308 would re-send a
    /// signed body to wherever the answer points). Add to it before `build` (a resolver, a
    /// redirect policy that vets each hop); a later `redirect` replaces the default.
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        let mut builder = reqwest::Client::builder()
            .user_agent(self.user_agent.clone())
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none());
        if !self.roots.is_empty() {
            builder = builder.tls_certs_merge(self.roots.clone());
        }
        builder
    }

    /// [`HttpSettings::client_builder`], built.
    pub fn build_client(&self) -> Result<reqwest::Client, reqwest::Error> {
        self.client_builder().build()
    }
}

/// Adds [`HttpSettings`]' setters (`timeout`, `connect_timeout`, `add_root_certificate`,
/// `user_agent`) to a builder, forwarding each to its field `$field`: an [`HttpSettings`], or
/// another builder that has these setters (such as [`WebhookClientBuilder`](crate::WebhookClientBuilder)).
/// Every client builder of the toolkit takes its HTTP settings through this one definition, so
/// a setting added to [`HttpSettings`] reaches all of them. The two literals are the builder's
/// defaults, for the docs.
///
/// ```
/// use std::time::Duration;
/// use signed_webhook::HttpSettings;
///
/// /// Settings of a probe.
/// pub struct ProbeBuilder {
///     http: HttpSettings,
/// }
///
/// impl ProbeBuilder {
///     signed_webhook::http_settings_setters!(http, timeout = "30 s", connect_timeout = "5 s");
///
///     /// The client.
///     pub fn build(self) -> Result<reqwest::Client, reqwest::Error> {
///         self.http.build_client()
///     }
/// }
///
/// let probe = ProbeBuilder { http: HttpSettings::new() }
///     .timeout(Duration::from_secs(3))
///     .user_agent("probe/1")
///     .build()
///     .unwrap();
/// # let _ = probe;
/// ```
#[macro_export]
macro_rules! http_settings_setters {
    ($field:ident, timeout = $timeout:literal, connect_timeout = $connect:literal) => {
        #[doc = concat!("Whole-request timeout (default ", $timeout, ").")]
        pub fn timeout(mut self, timeout: ::std::time::Duration) -> Self {
            self.$field = self.$field.timeout(timeout);
            self
        }

        #[doc = concat!("Connect timeout (default ", $connect, ").")]
        pub fn connect_timeout(mut self, timeout: ::std::time::Duration) -> Self {
            self.$field = self.$field.connect_timeout(timeout);
            self
        }

        /// Trusts one more root certificate (a corporate TLS-inspecting proxy, a private CA),
        /// in addition to the platform's roots. Certificate verification cannot be turned off.
        pub fn add_root_certificate(mut self, root: $crate::__private::Certificate) -> Self {
            self.$field = self.$field.add_root_certificate(root);
            self
        }

        /// The `User-Agent` header sent.
        pub fn user_agent(
            mut self,
            agent: impl ::std::convert::Into<::std::string::String>,
        ) -> Self {
            self.$field = self.$field.user_agent(agent);
            self
        }
    };
}

impl fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSettings")
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("roots", &self.roots.len())
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use wiremock::matchers::{header, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    #[tokio::test]
    async fn the_client_sends_the_user_agent_and_never_follows_a_redirect() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(header("user-agent", "probe/1"))
            .respond_with(ResponseTemplate::new(308).insert_header("location", "/elsewhere"))
            .mount(&server)
            .await;
        let client = HttpSettings::new()
            .user_agent("probe/1")
            .build_client()
            .unwrap();
        let answer = client.post(server.uri()).send().await.unwrap();
        assert_eq!(answer.status().as_u16(), 308, "the redirect is handed back");
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn the_timeout_applies() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
            .mount(&server)
            .await;
        let client = HttpSettings::new()
            .timeout(Duration::from_millis(100))
            .build_client()
            .unwrap();
        let err = client.get(server.uri()).send().await.unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
    }
}
