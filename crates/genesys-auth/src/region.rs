//! Genesys Cloud regions and their API / login hosts.

use std::fmt;
use std::str::FromStr;

use url::Url;

/// A Genesys Cloud region: where the API (`https://api.<env>`) and the login service
/// (`https://login.<env>`) of an organization live.
///
/// Parse one from its AWS-style name or its environment domain:
///
/// ```
/// use genesys_auth::Region;
/// let a: Region = "eu-west-1".parse().unwrap();
/// let b: Region = "mypurecloud.ie".parse().unwrap();
/// assert_eq!(a, b);
/// assert_eq!(a.api_base().as_str(), "https://api.mypurecloud.ie/");
/// assert_eq!(a.login_base().as_str(), "https://login.mypurecloud.ie/");
/// ```
///
/// [`Region::Custom`] points at anything else (the simulator, a proxy, a test server).
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Region {
    /// us-east-1, `mypurecloud.com`
    UsEast1,
    /// eu-west-1, `mypurecloud.ie`
    EuWest1,
    /// ap-southeast-2, `mypurecloud.com.au`
    ApSoutheast2,
    /// ap-northeast-1, `mypurecloud.jp`
    ApNortheast1,
    /// eu-central-1, `mypurecloud.de`
    EuCentral1,
    /// us-west-2, `usw2.pure.cloud`
    UsWest2,
    /// ca-central-1, `cac1.pure.cloud`
    CaCentral1,
    /// ap-northeast-2, `apne2.pure.cloud`
    ApNortheast2,
    /// eu-west-2, `euw2.pure.cloud`
    EuWest2,
    /// ap-south-1, `aps1.pure.cloud`
    ApSouth1,
    /// us-east-2, `use2.us-gov-pure.cloud`
    UsEast2,
    /// sa-east-1, `sae1.pure.cloud`
    SaEast1,
    /// me-central-1, `mec1.pure.cloud`
    MeCentral1,
    /// ap-northeast-3, `apne3.pure.cloud`
    ApNortheast3,
    /// eu-central-2, `euc2.pure.cloud`
    EuCentral2,
    /// mx-central-1, `mxc1.pure.cloud`
    MxCentral1,
    /// ap-southeast-1, `apse1.pure.cloud`
    ApSoutheast1,
    /// eusc-de-east-1, `edee1.eusc-pure.cloud`
    EuscDeEast1,
    /// Any other pair of base URLs (simulator, proxy, tests). Build it with [`Region::custom`],
    /// which normalises both URLs (trailing `/`, no query or fragment).
    Custom {
        /// Base URL of the API; request paths (`/api/v2/...`) are appended to its path.
        api: Url,
        /// Base URL of the login service; `oauth/token` is appended to its path.
        login: Url,
    },
}

static ALL: [Region; 18] = [
    Region::UsEast1,
    Region::EuWest1,
    Region::ApSoutheast2,
    Region::ApNortheast1,
    Region::EuCentral1,
    Region::UsWest2,
    Region::CaCentral1,
    Region::ApNortheast2,
    Region::EuWest2,
    Region::ApSouth1,
    Region::UsEast2,
    Region::SaEast1,
    Region::MeCentral1,
    Region::ApNortheast3,
    Region::EuCentral2,
    Region::MxCentral1,
    Region::ApSoutheast1,
    Region::EuscDeEast1,
];

impl Region {
    /// The 18 known regions (no [`Region::Custom`]).
    pub fn all() -> &'static [Region] {
        &ALL
    }

    /// A region with custom base URLs. Both are normalised: the path gets a trailing `/`,
    /// query and fragment are dropped. Validation (scheme `http`/`https`, a host) happens
    /// where the URLs are used ([`crate::GenesysClient::builder`], [`crate::EnvConfig::from_env`]).
    pub fn custom(api: Url, login: Url) -> Self {
        Region::Custom {
            api: normalise_base(api),
            login: normalise_base(login),
        }
    }

    /// The AWS-style name (`us-east-1`), or `None` for [`Region::Custom`].
    pub fn name(&self) -> Option<&'static str> {
        self.known().map(|(name, _)| name)
    }

    /// The environment domain (`mypurecloud.com`), or `None` for [`Region::Custom`].
    pub fn environment(&self) -> Option<&'static str> {
        self.known().map(|(_, env)| env)
    }

    fn known(&self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            Region::UsEast1 => ("us-east-1", "mypurecloud.com"),
            Region::EuWest1 => ("eu-west-1", "mypurecloud.ie"),
            Region::ApSoutheast2 => ("ap-southeast-2", "mypurecloud.com.au"),
            Region::ApNortheast1 => ("ap-northeast-1", "mypurecloud.jp"),
            Region::EuCentral1 => ("eu-central-1", "mypurecloud.de"),
            Region::UsWest2 => ("us-west-2", "usw2.pure.cloud"),
            Region::CaCentral1 => ("ca-central-1", "cac1.pure.cloud"),
            Region::ApNortheast2 => ("ap-northeast-2", "apne2.pure.cloud"),
            Region::EuWest2 => ("eu-west-2", "euw2.pure.cloud"),
            Region::ApSouth1 => ("ap-south-1", "aps1.pure.cloud"),
            Region::UsEast2 => ("us-east-2", "use2.us-gov-pure.cloud"),
            Region::SaEast1 => ("sa-east-1", "sae1.pure.cloud"),
            Region::MeCentral1 => ("me-central-1", "mec1.pure.cloud"),
            Region::ApNortheast3 => ("ap-northeast-3", "apne3.pure.cloud"),
            Region::EuCentral2 => ("eu-central-2", "euc2.pure.cloud"),
            Region::MxCentral1 => ("mx-central-1", "mxc1.pure.cloud"),
            Region::ApSoutheast1 => ("ap-southeast-1", "apse1.pure.cloud"),
            Region::EuscDeEast1 => ("eusc-de-east-1", "edee1.eusc-pure.cloud"),
            Region::Custom { .. } => return None,
        })
    }

    /// Base URL of the API, with a trailing `/` (`https://api.mypurecloud.com/`).
    pub fn api_base(&self) -> Url {
        self.base("api")
    }

    /// Base URL of the login service, with a trailing `/` (`https://login.mypurecloud.com/`).
    pub fn login_base(&self) -> Url {
        self.base("login")
    }

    fn base(&self, host: &str) -> Url {
        match (self, self.known()) {
            (Region::Custom { api, .. }, _) if host == "api" => api.clone(),
            (Region::Custom { login, .. }, _) => login.clone(),
            (_, Some((_, env))) => known_url(host, env),
            (_, None) => unreachable_base(),
        }
    }
}

/// Builds `https://{host}.{env}/` for a known environment. The inputs are compile-time
/// constants that always parse; the fallback keeps this free of panics anyway.
fn known_url(host: &str, env: &str) -> Url {
    Url::parse(&format!("https://{host}.{env}/")).unwrap_or_else(|_| unreachable_base())
}

fn unreachable_base() -> Url {
    // `known()` returns None only for Custom, handled above; "https://invalid./" always parses.
    #[allow(clippy::expect_used)]
    Url::parse("https://invalid./").expect("static URL parses")
}

pub(crate) fn normalise_base(mut url: Url) -> Url {
    url.set_query(None);
    url.set_fragment(None);
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

/// Checks that a custom base URL can be used: `http` or `https`, with a host.
pub(crate) fn validate_base(url: &Url) -> Result<(), String> {
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(format!(
            "scheme must be http or https, not {:?}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the URL must not carry user info".to_owned());
    }
    Ok(())
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Region::Custom { api, login } => f
                .debug_struct("Custom")
                .field("api", &api.as_str())
                .field("login", &login.as_str())
                .finish(),
            other => f.write_str(other.name().unwrap_or("?")),
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Region::Custom { api, .. } => write!(f, "custom ({api})"),
            other => f.write_str(other.name().unwrap_or("?")),
        }
    }
}

/// A string that names no known region.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown Genesys Cloud region {input:?}: expected a name such as us-east-1 or an environment such as mypurecloud.com"
)]
pub struct ParseRegionError {
    /// The input, trimmed and cut to 64 characters.
    pub input: String,
}

impl FromStr for Region {
    type Err = ParseRegionError;

    /// Accepts a region name (`us-east-1`), an environment domain (`mypurecloud.com`), or the
    /// API/login host of one (`api.mypurecloud.com`), case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().trim_end_matches('.').to_ascii_lowercase();
        let host = wanted
            .strip_prefix("api.")
            .or_else(|| wanted.strip_prefix("login."))
            .unwrap_or(&wanted);
        ALL.iter()
            .find(|r| {
                r.known()
                    .is_some_and(|(name, env)| name == wanted || env == host)
            })
            .cloned()
            .ok_or_else(|| ParseRegionError {
                input: s.trim().chars().take(64).collect(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eighteen_distinct_regions_round_trip_by_name_and_environment() {
        assert_eq!(Region::all().len(), 18);
        let mut names = std::collections::HashSet::new();
        for region in Region::all() {
            let name = region.name().unwrap();
            let env = region.environment().unwrap();
            assert!(names.insert(name));
            assert_eq!(&name.parse::<Region>().unwrap(), region);
            assert_eq!(&env.parse::<Region>().unwrap(), region);
            assert_eq!(&name.to_uppercase().parse::<Region>().unwrap(), region);
            assert_eq!(region.api_base().as_str(), format!("https://api.{env}/"));
            assert_eq!(
                region.login_base().as_str(),
                format!("https://login.{env}/")
            );
            assert_eq!(region.to_string(), name);
        }
    }

    #[test]
    fn table_matches_the_platform_document() {
        assert_eq!(
            Region::UsEast2.environment(),
            Some("use2.us-gov-pure.cloud")
        );
        assert_eq!(
            Region::EuscDeEast1.environment(),
            Some("edee1.eusc-pure.cloud")
        );
        assert_eq!(
            "api.mypurecloud.com.au".parse::<Region>(),
            Ok(Region::ApSoutheast2)
        );
        assert_eq!(
            " login.usw2.pure.cloud ".parse::<Region>(),
            Ok(Region::UsWest2)
        );
    }

    #[test]
    fn unknown_regions_are_errors() {
        for bad in [
            "",
            "us-east-9",
            "purecloud.com",
            "api.",
            "mypurecloud.com/evil",
        ] {
            let err = bad.parse::<Region>().unwrap_err();
            assert!(err.to_string().contains("unknown Genesys Cloud region"));
        }
    }

    #[test]
    fn custom_urls_are_normalised() {
        let api = Url::parse("http://127.0.0.1:8080/proxy?x=1#f").unwrap();
        let login = Url::parse("http://127.0.0.1:8081").unwrap();
        let region = Region::custom(api, login);
        assert_eq!(region.api_base().as_str(), "http://127.0.0.1:8080/proxy/");
        assert_eq!(region.login_base().as_str(), "http://127.0.0.1:8081/");
        assert_eq!(region.name(), None);
        assert!(region.to_string().starts_with("custom"));
    }

    #[test]
    fn base_validation() {
        assert!(validate_base(&Url::parse("https://a.example/").unwrap()).is_ok());
        assert!(validate_base(&Url::parse("ftp://a.example/").unwrap()).is_err());
        assert!(validate_base(&Url::parse("https://u:p@a.example/").unwrap()).is_err());
        assert!(validate_base(&Url::parse("file:///tmp").unwrap()).is_err());
    }
}
