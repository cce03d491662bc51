//! OAuth client credentials and configuration from the environment.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::region::{Region, validate_base};

/// Environment variable holding the OAuth client id.
pub const ENV_CLIENT_ID: &str = "GENESYSCLOUD_OAUTHCLIENT_ID";
/// Environment variable holding the OAuth client secret.
pub const ENV_CLIENT_SECRET: &str = "GENESYSCLOUD_OAUTHCLIENT_SECRET";
/// Environment variable holding the region (`us-east-1` or `mypurecloud.com`).
pub const ENV_REGION: &str = "GENESYSCLOUD_REGION";
/// Environment variable overriding the API base URL.
pub const ENV_API_URL: &str = "GENESYSCLOUD_API_URL";
/// Environment variable overriding the login base URL.
pub const ENV_LOGIN_URL: &str = "GENESYSCLOUD_LOGIN_URL";

/// An OAuth client (client-credentials grant). The secret never appears in `Debug`.
#[derive(Clone)]
pub struct ClientCredentials {
    /// The OAuth client id.
    pub client_id: String,
    /// The OAuth client secret.
    pub client_secret: SecretString,
}

impl ClientCredentials {
    /// Credentials from an id and a secret (`String`, `&str` or [`SecretString`]).
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<SecretString>) -> Self {
        ClientCredentials {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }

    /// The `Authorization: Basic ...` value for the token endpoint.
    pub(crate) fn basic_authorization(&self) -> String {
        use base64::Engine as _;
        let raw = format!("{}:{}", self.client_id, self.client_secret.expose_secret());
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .finish()
    }
}

/// Credentials and region read from the environment variables used across the Genesys tool
/// ecosystem (CLI, Terraform provider).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EnvConfig {
    /// From `GENESYSCLOUD_OAUTHCLIENT_ID` / `GENESYSCLOUD_OAUTHCLIENT_SECRET`.
    pub credentials: ClientCredentials,
    /// From `GENESYSCLOUD_REGION`, or custom from `GENESYSCLOUD_API_URL` / `GENESYSCLOUD_LOGIN_URL`.
    pub region: Region,
}

/// A configuration variable is missing or malformed. The message names the variable and never
/// contains a secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required variable is not set (or is empty): set it.
    #[error("environment variable {var} is not set")]
    Missing {
        /// The variable's name.
        var: &'static str,
    },
    /// A variable is set but cannot be used: fix its value.
    #[error("environment variable {var} is malformed: {reason}")]
    Malformed {
        /// The variable's name.
        var: &'static str,
        /// What is wrong (never the value of a secret).
        reason: String,
    },
}

impl EnvConfig {
    /// Reads the process environment:
    ///
    /// - `GENESYSCLOUD_OAUTHCLIENT_ID`, `GENESYSCLOUD_OAUTHCLIENT_SECRET`: required.
    /// - `GENESYSCLOUD_REGION`: `us-east-1` or `mypurecloud.com`; required unless
    ///   `GENESYSCLOUD_API_URL` is set.
    /// - `GENESYSCLOUD_API_URL`, `GENESYSCLOUD_LOGIN_URL`: overrides (simulator, proxy). When only
    ///   the API URL is set, the login URL defaults to the API URL (as the simulator serves both);
    ///   when only the login URL is set, the API URL comes from the region.
    ///
    /// An empty variable counts as missing.
    pub fn from_env() -> Result<EnvConfig, ConfigError> {
        Self::from_lookup(|var| match std::env::var(var) {
            Ok(v) => Ok(Some(v)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::Malformed {
                var,
                reason: "not valid Unicode".to_owned(),
            }),
        })
    }

    /// Like [`EnvConfig::from_env`], reading variables through `lookup` (for tests and for
    /// configuration stores other than the process environment).
    pub fn from_lookup<F>(mut lookup: F) -> Result<EnvConfig, ConfigError>
    where
        F: FnMut(&'static str) -> Result<Option<String>, ConfigError>,
    {
        let mut get = |var: &'static str| -> Result<Option<String>, ConfigError> {
            Ok(lookup(var)?.filter(|v| !v.trim().is_empty()))
        };
        let client_id = get(ENV_CLIENT_ID)?.ok_or(ConfigError::Missing { var: ENV_CLIENT_ID })?;
        if client_id.chars().any(|c| c.is_control() || c == ':') {
            return Err(ConfigError::Malformed {
                var: ENV_CLIENT_ID,
                reason: "contains a control character or ':'".to_owned(),
            });
        }
        let secret = get(ENV_CLIENT_SECRET)?.ok_or(ConfigError::Missing {
            var: ENV_CLIENT_SECRET,
        })?;
        let secret = SecretString::from(secret);
        if secret.expose_secret().chars().any(char::is_control) {
            return Err(ConfigError::Malformed {
                var: ENV_CLIENT_SECRET,
                reason: "contains a control character".to_owned(),
            });
        }
        let region = match get(ENV_REGION)? {
            Some(raw) => Some(raw.parse::<Region>().map_err(|e| ConfigError::Malformed {
                var: ENV_REGION,
                reason: e.to_string(),
            })?),
            None => None,
        };
        let api = get(ENV_API_URL)?
            .map(|raw| parse_url(ENV_API_URL, &raw))
            .transpose()?;
        let login = get(ENV_LOGIN_URL)?
            .map(|raw| parse_url(ENV_LOGIN_URL, &raw))
            .transpose()?;
        let region = match (region, api, login) {
            (None, None, _) => return Err(ConfigError::Missing { var: ENV_REGION }),
            (Some(region), None, None) => region,
            (Some(region), None, Some(login)) => Region::custom(region.api_base(), login),
            (_, Some(api), Some(login)) => Region::custom(api, login),
            (_, Some(api), None) => Region::custom(api.clone(), api),
        };
        Ok(EnvConfig {
            credentials: ClientCredentials {
                client_id: client_id.trim().to_owned(),
                client_secret: secret,
            },
            region,
        })
    }
}

fn parse_url(var: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw.trim()).map_err(|e| ConfigError::Malformed {
        var,
        reason: format!("not a URL: {e}"),
    })?;
    validate_base(&url).map_err(|reason| ConfigError::Malformed { var, reason })?;
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(
        vars: &[(&'static str, &str)],
    ) -> impl FnMut(&'static str) -> Result<Option<String>, ConfigError> {
        let map: HashMap<&'static str, String> =
            vars.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        move |k| Ok(map.get(k).cloned())
    }

    const ID: (&str, &str) = (ENV_CLIENT_ID, "client-1");
    const SECRET: (&str, &str) = (ENV_CLIENT_SECRET, "s3cr3t-value");

    #[test]
    fn region_only() {
        let cfg =
            EnvConfig::from_lookup(lookup(&[ID, SECRET, (ENV_REGION, "eu-central-1")])).unwrap();
        assert_eq!(cfg.region, Region::EuCentral1);
        assert_eq!(cfg.credentials.client_id, "client-1");
        assert_eq!(
            cfg.credentials.client_secret.expose_secret(),
            "s3cr3t-value"
        );
        assert!(!format!("{cfg:?}").contains("s3cr3t-value"));
    }

    #[test]
    fn api_url_alone_is_also_the_login_url() {
        let cfg = EnvConfig::from_lookup(lookup(&[
            ID,
            SECRET,
            (ENV_API_URL, "http://127.0.0.1:9000"),
        ]))
        .unwrap();
        assert_eq!(cfg.region.api_base().as_str(), "http://127.0.0.1:9000/");
        assert_eq!(cfg.region.login_base().as_str(), "http://127.0.0.1:9000/");
    }

    #[test]
    fn both_overrides_win_over_the_region() {
        let cfg = EnvConfig::from_lookup(lookup(&[
            ID,
            SECRET,
            (ENV_REGION, "us-east-1"),
            (ENV_API_URL, "https://proxy.example/api"),
            (ENV_LOGIN_URL, "https://proxy.example/login"),
        ]))
        .unwrap();
        assert_eq!(cfg.region.api_base().as_str(), "https://proxy.example/api/");
        assert_eq!(
            cfg.region.login_base().as_str(),
            "https://proxy.example/login/"
        );
    }

    #[test]
    fn login_override_keeps_the_regions_api() {
        let cfg = EnvConfig::from_lookup(lookup(&[
            ID,
            SECRET,
            (ENV_REGION, "mypurecloud.jp"),
            (ENV_LOGIN_URL, "https://sso.example/"),
        ]))
        .unwrap();
        assert_eq!(
            cfg.region.api_base().as_str(),
            "https://api.mypurecloud.jp/"
        );
        assert_eq!(cfg.region.login_base().as_str(), "https://sso.example/");
    }

    #[test]
    fn missing_variables_are_named() {
        let err = EnvConfig::from_lookup(lookup(&[SECRET, (ENV_REGION, "us-east-1")])).unwrap_err();
        assert_eq!(err, ConfigError::Missing { var: ENV_CLIENT_ID });
        let err = EnvConfig::from_lookup(lookup(&[ID, (ENV_REGION, "us-east-1")])).unwrap_err();
        assert_eq!(
            err,
            ConfigError::Missing {
                var: ENV_CLIENT_SECRET
            }
        );
        let err = EnvConfig::from_lookup(lookup(&[ID, SECRET])).unwrap_err();
        assert_eq!(err, ConfigError::Missing { var: ENV_REGION });
        assert!(err.to_string().contains("GENESYSCLOUD_REGION"));
        let err = EnvConfig::from_lookup(lookup(&[
            ID,
            (ENV_CLIENT_SECRET, "  "),
            (ENV_REGION, "us-east-1"),
        ]))
        .unwrap_err();
        assert_eq!(
            err,
            ConfigError::Missing {
                var: ENV_CLIENT_SECRET
            }
        );
    }

    #[test]
    fn malformed_variables_are_named() {
        let err = EnvConfig::from_lookup(lookup(&[ID, SECRET, (ENV_REGION, "mars-north-1")]))
            .unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Malformed {
                    var: ENV_REGION,
                    ..
                }
            ),
            "{err}"
        );
        let err =
            EnvConfig::from_lookup(lookup(&[ID, SECRET, (ENV_API_URL, "not a url")])).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Malformed {
                    var: ENV_API_URL,
                    ..
                }
            ),
            "{err}"
        );
        let err = EnvConfig::from_lookup(lookup(&[
            ID,
            SECRET,
            (ENV_REGION, "us-east-1"),
            (ENV_LOGIN_URL, "ftp://x/"),
        ]))
        .unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Malformed {
                    var: ENV_LOGIN_URL,
                    ..
                }
            ),
            "{err}"
        );
        let err = EnvConfig::from_lookup(lookup(&[
            (ENV_CLIENT_ID, "a:b"),
            SECRET,
            (ENV_REGION, "us-east-1"),
        ]))
        .unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Malformed {
                    var: ENV_CLIENT_ID,
                    ..
                }
            ),
            "{err}"
        );
        let err = EnvConfig::from_lookup(lookup(&[
            ID,
            (ENV_CLIENT_SECRET, "s3cr3t\n-value"),
            (ENV_REGION, "us-east-1"),
        ]))
        .unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Malformed {
                    var: ENV_CLIENT_SECRET,
                    ..
                }
            ),
            "{err}"
        );
        assert!(!err.to_string().contains("s3cr3t"));
    }

    #[test]
    fn lookup_errors_propagate() {
        let err = EnvConfig::from_lookup(|var| {
            Err(ConfigError::Malformed {
                var,
                reason: "not valid Unicode".into(),
            })
        })
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Malformed {
                var: ENV_CLIENT_ID,
                ..
            }
        ));
    }

    #[test]
    fn basic_authorization_encodes_id_and_secret() {
        let c = ClientCredentials::new("id", "secret");
        assert_eq!(c.basic_authorization(), "Basic aWQ6c2VjcmV0");
        assert_eq!(
            format!("{c:?}"),
            "ClientCredentials { client_id: \"id\", client_secret: \"***\" }"
        );
    }
}
