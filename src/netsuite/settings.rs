//! Where the NetSuite account lives and how the client talks to it.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use super::{Error, Result};
use crate::retry::Backoff;

/// Everything the client needs; `config` builds it from the TOML file and the credentials.
#[derive(Clone)]
pub struct Settings {
    /// `https://<account-slug>.suitetalk.api.netsuite.com` (or a loopback simulator). The token
    /// URL, the JWT `aud`, SuiteQL and the record API all hang off this one base (reference §2.4).
    pub base_url: Url,
    /// Only used for log context and the `realm` check; the host comes from `base_url`.
    pub account_id: String,
    /// The integration record's client ID: the JWT `iss`.
    pub client_id: String,
    /// The certificate ID from the M2M setup page: the JWT `kid`.
    pub certificate_id: String,
    /// PKCS#8 or PKCS#1 PEM of the key whose certificate was uploaded.
    pub private_key_pem: SecretString,
    /// Requests in flight at once, across all clones. NetSuite's limit is account-wide and
    /// shared with every other integration, so the default is a modest 2.
    pub max_in_flight: usize,
    /// Total time one attempt may take (connect + send + read).
    pub request_timeout: Duration,
    /// Retry policy for transient failures.
    pub backoff: Backoff,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("base_url", &self.base_url.as_str())
            .field("account_id", &self.account_id)
            .field("client_id", &self.client_id)
            .field("certificate_id", &self.certificate_id)
            .field("private_key_pem", &"[redacted]")
            .field("max_in_flight", &self.max_in_flight)
            .field("request_timeout", &self.request_timeout)
            .field("backoff", &self.backoff)
            .finish()
    }
}

impl Settings {
    /// Default in-flight cap (SPEC §8).
    pub const DEFAULT_MAX_IN_FLIGHT: usize = 2;

    /// Derives the base URL from an account id (reference §2): lower-case, `_` → `-`. The id is
    /// interpolated into a host name, so only ASCII letters, digits and `_` are accepted.
    pub fn base_url_for_account(account_id: &str) -> Result<Url> {
        validate_account_id(account_id)?;
        let slug = account_id.to_ascii_lowercase().replace('_', "-");
        Url::parse(&format!("https://{slug}.suitetalk.api.netsuite.com")).map_err(|e| {
            Error::Config(format!(
                "account id {account_id:?} gives no valid host: {e}"
            ))
        })
    }

    /// Checks an explicit `base_url` (reference §2.3): https with a host under
    /// `.suitetalk.api.netsuite.com`, or plain http/https on a loopback address (simulators);
    /// no user-info, path, query or fragment.
    pub fn validate_base_url(url: &Url) -> Result<()> {
        let bad = |why: &str| Err(Error::Config(format!("netsuite base_url {url}: {why}")));
        if !url.username().is_empty() || url.password().is_some() {
            return bad("must not carry a user name or password");
        }
        if !(url.path().is_empty() || url.path() == "/") {
            return bad("must have no path (copy only the scheme and host from Company URLs)");
        }
        if url.query().is_some() || url.fragment().is_some() {
            return bad("must have no query or fragment");
        }
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => return bad("has no host"),
        };
        match url.scheme() {
            "https" if loopback => Ok(()),
            "https" => match url.host_str() {
                Some(h) if h.ends_with(".suitetalk.api.netsuite.com") => Ok(()),
                _ => bad("host must end in .suitetalk.api.netsuite.com"),
            },
            "http" if loopback => Ok(()),
            _ => bad("must use https (plain http only for loopback simulators)"),
        }
    }

    /// Settings with the defaults of SPEC §10 for everything the config file may leave out.
    pub fn new(
        base_url: Url,
        account_id: impl Into<String>,
        client_id: impl Into<String>,
        certificate_id: impl Into<String>,
        private_key_pem: SecretString,
    ) -> Self {
        Self {
            base_url,
            account_id: account_id.into(),
            client_id: client_id.into(),
            certificate_id: certificate_id.into(),
            private_key_pem,
            max_in_flight: Self::DEFAULT_MAX_IN_FLIGHT,
            request_timeout: Duration::from_secs(60),
            backoff: Backoff::default(),
        }
    }
}

/// Letters, digits and `_` only, non-empty (reference §2.2).
pub fn validate_account_id(account_id: &str) -> Result<()> {
    if account_id.is_empty()
        || !account_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(Error::Config(format!(
            "netsuite account_id {account_id:?}: expected ASCII letters, digits and '_' only \
             (e.g. 1234567 or 1234567_SB1)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_hosts() {
        let u = Settings::base_url_for_account("123456_SB1").unwrap();
        assert_eq!(u.as_str(), "https://123456-sb1.suitetalk.api.netsuite.com/");
        assert!(Settings::base_url_for_account("1234.evil.com").is_err());
        assert!(Settings::base_url_for_account("").is_err());
        assert!(Settings::base_url_for_account("a/b").is_err());
    }

    #[test]
    fn base_url_rules() {
        let ok = |s: &str| Settings::validate_base_url(&Url::parse(s).unwrap()).is_ok();
        assert!(ok("https://4083091-sb2.suitetalk.api.netsuite.com"));
        assert!(ok("http://127.0.0.1:8080"));
        assert!(!ok("http://4083091-sb2.suitetalk.api.netsuite.com"));
        assert!(!ok("https://evil.example.com"));
        assert!(!ok("https://a.suitetalk.api.netsuite.com/services"));
        assert!(!ok("https://u:p@a.suitetalk.api.netsuite.com"));
        assert!(!ok("https://a.suitetalk.api.netsuite.com/?x=1"));
    }
}
