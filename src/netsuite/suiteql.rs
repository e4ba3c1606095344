//! SuiteQL over REST (reference §3): `POST /services/rest/query/v1/suiteql?limit&offset` with
//! `Prefer: transient`, the paging envelope, and the rules for splicing literals (the REST body
//! carries only `q`, so every literal is built here from validated values and nothing else).

use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::transport::Request;
use super::{Client, Error, Result};

pub const SUITEQL_PATH: &str = "/services/rest/query/v1/suiteql";
/// NetSuite's maximum (and default) page size (§3.3).
pub const MAX_LIMIT: u32 = 1000;

/// One page of rows. `has_more` is the authoritative end-of-data signal (§3.2).
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
    pub total_results: Option<u64>,
}

/// Rows stay raw text until each is read as the caller's row type: no JSON tree is built for a
/// page of 1,000 rows, and a bad row is still reported as a bad row, not a bad page.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    items: Vec<Box<serde_json::value::RawValue>>,
    #[serde(rename = "hasMore")]
    has_more: bool,
    #[serde(rename = "totalResults", default)]
    total_results: Option<u64>,
}

impl Client {
    /// Runs one SuiteQL page. Callers page by keyset and always pass `offset = 0`; the offset is
    /// here for completeness and must be a multiple of `limit` (§3.3).
    pub async fn suiteql_page<T: DeserializeOwned>(
        &self,
        q: &str,
        limit: u32,
        offset: u64,
    ) -> Result<Page<T>> {
        if limit == 0 || limit > MAX_LIMIT {
            return Err(Error::InvalidInput(format!(
                "SuiteQL limit {limit} is outside 1..={MAX_LIMIT}"
            )));
        }
        if !offset.is_multiple_of(u64::from(limit)) {
            return Err(Error::InvalidInput(format!(
                "SuiteQL offset {offset} is not a multiple of limit {limit}"
            )));
        }
        let body = serde_json::json!({ "q": q });
        tracing::trace!(q, "suiteql");
        self.inner
            .send(
                Request {
                    method: Method::POST,
                    path: SUITEQL_PATH,
                    query: vec![("limit", limit.to_string()), ("offset", offset.to_string())],
                    json: Some(&body),
                    headers: vec![("Prefer", "transient")],
                    idempotent: true,
                },
                |reply| {
                    let env: Envelope = serde_json::from_slice(&reply.body)
                        .map_err(|e| format!("not a SuiteQL page: {e}"))?;
                    let items = env
                        .items
                        .iter()
                        .map(|row| serde_json::from_str(row.get()))
                        .collect::<std::result::Result<Vec<T>, _>>()
                        .map_err(|e| format!("unexpected SuiteQL row: {e}"))?;
                    Ok(Page {
                        items,
                        has_more: env.has_more,
                        total_results: env.total_results,
                    })
                },
            )
            .await
    }
}

/// Field names that may be spliced as column names: `^[a-z][a-z0-9_]*$` (custom fields are
/// `custbody_*`, `custcol_*`, `custitem_*`; standard fields are lower-case too).
pub fn validate_field_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 100;
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "field name {name:?} must match ^[a-z][a-z0-9_]*$"
        )))
    }
}

/// Cursor text must be exactly what `TO_CHAR(…, 'YYYY-MM-DD HH24:MI:SS')` returns (§3.1, §3.7).
pub fn validate_timestamp_text(text: &str) -> Result<()> {
    let b = text.as_bytes();
    let shape = b"0000-00-00 00:00:00";
    let ok = b.len() == shape.len()
        && b.iter().zip(shape).all(|(c, s)| {
            if *s == b'0' {
                c.is_ascii_digit()
            } else {
                c == s
            }
        });
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "timestamp {text:?} is not YYYY-MM-DD HH24:MI:SS"
        )))
    }
}

/// A quoted token literal for ids like an `externalId`: letters, digits and `_ . : -` only.
pub fn token_literal(value: &str) -> Result<String> {
    if value.is_empty()
        || value.len() > 300
        || !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
    {
        return Err(Error::InvalidInput(format!(
            "{value:?} may only contain letters, digits and _ . : -"
        )));
    }
    Ok(format!("'{value}'"))
}

/// `1, 2, 3` from integer ids (integers cannot inject anything).
pub fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses a SuiteQL value that must be an integer.
pub(crate) fn parse_i64(field: &str, v: &Option<String>) -> Result<i64> {
    v.as_deref()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| Error::Decode {
            context: "SuiteQL row".into(),
            reason: format!("{field} is {v:?}, expected an integer"),
        })
}

pub(crate) fn parse_opt_i64(v: &Option<String>) -> Option<i64> {
    v.as_deref().and_then(|s| s.trim().parse().ok())
}

pub(crate) fn parse_opt_f64(v: &Option<String>) -> Option<f64> {
    v.as_deref().and_then(|s| s.trim().parse().ok())
}

/// NetSuite booleans are `'T'`/`'F'`.
pub(crate) fn parse_bool(v: &Option<String>) -> bool {
    matches!(v.as_deref(), Some("T") | Some("t") | Some("true"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_rules() {
        assert!(validate_field_name("custbody_requestor").is_ok());
        assert!(validate_field_name("Custbody").is_err());
        assert!(validate_field_name("a; drop").is_err());
        assert!(validate_timestamp_text("2026-01-02 03:04:05").is_ok());
        assert!(validate_timestamp_text("2026-01-02 03:04:05' OR 1=1").is_err());
        assert!(validate_timestamp_text("2026-1-02 03:04:05").is_err());
        assert_eq!(
            token_literal("ion-receipt-1-2").unwrap(),
            "'ion-receipt-1-2'"
        );
        assert!(token_literal("x' OR 'a'='a").is_err());
        assert_eq!(id_list(&[1, 2]), "1, 2");
    }
}
