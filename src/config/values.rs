//! Parsers of single values: each error names the key, the value and what was expected.

use std::time::Duration;

use url::Url;

use super::{ConfigError, Lenient, invalid};

pub(super) fn duration(key: &str, text: &str) -> Result<Duration, ConfigError> {
    match humantime::parse_duration(text.trim()) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(invalid(
            key,
            text,
            "a positive duration such as \"60s\", \"5m\" or \"1h 30m\"",
        )),
    }
}

pub(super) fn in_flight(key: &str, n: i64) -> Result<usize, ConfigError> {
    match usize::try_from(n) {
        Ok(v) if (1..=64).contains(&v) => Ok(v),
        _ => Err(invalid(key, n, "a whole number from 1 to 64")),
    }
}

pub(super) fn required(
    key: &str,
    value: Option<Lenient>,
    hint: &str,
) -> Result<String, ConfigError> {
    match value.map(Lenient::into_string) {
        Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        _ => Err(ConfigError::Missing {
            key: key.into(),
            hint: hint.into(),
        }),
    }
}

/// NetSuite field names are spliced into SuiteQL, so only plain identifiers are accepted.
pub(super) fn field_name(key: &str, text: &str) -> Result<String, ConfigError> {
    let t = text.trim();
    let ok = t.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && t.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(t.to_string())
    } else {
        Err(invalid(
            key,
            text,
            "a NetSuite field id in lower case (letters, digits, '_'), e.g. \"custbody_requestor\"",
        ))
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// https anywhere, plain http only on loopback (the simulators); no credentials in the URL.
pub(super) fn service_url(key: &str, text: &str) -> Result<Url, ConfigError> {
    let expected = "an https:// URL without user or password (plain http only for loopback)";
    let url = Url::parse(text.trim()).map_err(|_| invalid(key, text, expected))?;
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && is_loopback(&url));
    if !scheme_ok || !url.username().is_empty() || url.password().is_some() || url.host().is_none()
    {
        return Err(invalid(key, text, expected));
    }
    Ok(url)
}

/// The NetSuite host for an account id (NetSuite account URLs): lower-cased, `_` → `-`.
pub fn netsuite_base_url(account_id: &str) -> Result<Url, ConfigError> {
    let host = format!(
        "https://{}.suitetalk.api.netsuite.com",
        account_id.to_ascii_lowercase().replace('_', "-")
    );
    Url::parse(&host)
        .map_err(|_| invalid("netsuite.account_id", account_id, "a NetSuite account id"))
}

pub(super) fn netsuite_base(account_id: &str, base_url: Option<&str>) -> Result<Url, ConfigError> {
    let Some(text) = base_url.filter(|s| !s.trim().is_empty()) else {
        return netsuite_base_url(account_id);
    };
    let key = "netsuite.base_url";
    let expected = "the account's SuiteTalk URL from Setup > Company > Company URLs, e.g. \
                    \"https://1234567-sb1.suitetalk.api.netsuite.com\" (no path, query or user; \
                    plain http only for loopback)";
    let url = service_url(key, text).map_err(|_| invalid(key, text, expected))?;
    let host_ok = is_loopback(&url)
        || url.host_str().is_some_and(|h| {
            h.to_ascii_lowercase()
                .ends_with(".suitetalk.api.netsuite.com")
        });
    let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    if !host_ok || !bare {
        return Err(invalid(key, text, expected));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_derivation_follows_the_reference() {
        assert_eq!(
            netsuite_base_url("1234567_SB1").map(|u| u.to_string()).ok(),
            Some("https://1234567-sb1.suitetalk.api.netsuite.com/".to_string())
        );
    }

    #[test]
    fn base_url_override_rules() {
        assert!(netsuite_base("1", Some("https://1-sb1.suitetalk.api.netsuite.com")).is_ok());
        assert!(netsuite_base("1", Some("http://127.0.0.1:8080")).is_ok());
        assert!(netsuite_base("1", Some("http://1-sb1.suitetalk.api.netsuite.com")).is_err());
        assert!(netsuite_base("1", Some("https://evil.example.com")).is_err());
        assert!(netsuite_base("1", Some("https://1.suitetalk.api.netsuite.com/x")).is_err());
        assert!(netsuite_base("1", Some("https://u:p@1.suitetalk.api.netsuite.com")).is_err());
    }

    #[test]
    fn field_names_are_identifiers() {
        assert!(field_name("k", "custbody_requestor").is_ok());
        assert!(field_name("k", "custbody_x; DROP").is_err());
        assert!(field_name("k", "Itemid").is_err());
        assert!(field_name("k", "").is_err());
    }
}
