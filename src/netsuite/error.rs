//! The error type callers match on.
//!
//! Transient versus permanent follows reference §8/§9: 429, 5xx, connection errors, timeouts and
//! NetSuite's concurrency codes are worth a retry; everything else needs a human or a code fix.

use serde::Deserialize;

use crate::retry::Retry;

/// Where an admin sees the real reason behind a refused NetSuite login (reference §1.6).
pub const LOGIN_AUDIT_HINT: &str = "NetSuite shows the reason only in Setup > Users/Roles > User \
     Management > View Login Audit Trail (Detail column); check the certificate mapping, \
     client ID, certificate ID, role and the server clock";

/// One entry of NetSuite's `o:errorDetails` array.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ErrorDetail {
    #[serde(default)]
    pub detail: String,
    #[serde(rename = "o:errorCode", default)]
    pub code: Option<String>,
    /// JSON path into the request body (e.g. `item.items[0].orderLine`).
    #[serde(rename = "o:errorPath", default)]
    pub path: Option<String>,
}

/// NetSuite's REST error body (reference §8).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(rename = "o:errorDetails", default)]
    pub details: Vec<ErrorDetail>,
}

/// Error codes that mean "the account's concurrency limit was hit" (reference §9; the REST code
/// is not documented by Oracle, so the known variants are all listed).
const CONCURRENCY_CODES: &[&str] = &[
    "CONCURRENCY_LIMIT_EXCEEDED",
    "SSS_REQUEST_LIMIT_EXCEEDED",
    "ExceededConcurrentRequestLimitFault",
];

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad settings (account id, base URL, private key); the message says what to do.
    #[error("netsuite configuration: {0}")]
    Config(String),

    /// The token endpoint refused the assertion (RFC 6749 `error`), or a resource call kept
    /// answering 401 after a fresh token.
    #[error("netsuite login refused (HTTP {status}, {code}{}). {LOGIN_AUDIT_HINT}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Auth {
        status: u16,
        /// `invalid_grant`, `invalid_client`, … or `INVALID_LOGIN` for resource calls.
        code: String,
        description: Option<String>,
    },

    /// NetSuite answered with an error status and (usually) an `o:errorDetails` body.
    #[error("netsuite {method} {path}: HTTP {status}{}", format_details(details))]
    Api {
        method: String,
        path: String,
        status: u16,
        details: Vec<ErrorDetail>,
        /// Parsed `Retry-After`, if any (kept for callers that schedule their own retry).
        retry_after: Option<std::time::Duration>,
    },

    /// The request never got a usable answer (connect error, reset, timeout) and may be retried
    /// because it is idempotent or provably never reached NetSuite.
    #[error("netsuite {method} {path}: {reason}")]
    Transport {
        method: String,
        path: String,
        reason: String,
        timed_out: bool,
    },

    /// A non-idempotent request (item-receipt transform) may or may not have been applied: it
    /// timed out, the connection broke, or a 5xx came back after the body was sent. It is not
    /// re-sent; look the `externalId` up before deciding to create again.
    #[error(
        "netsuite {method} {path}: outcome unknown ({reason}); look the record up by externalId before retrying"
    )]
    OutcomeUnknown {
        method: String,
        path: String,
        reason: String,
    },

    /// A 2xx answer that does not have the documented shape (malformed JSON, missing header).
    #[error("netsuite {context}: unexpected response: {reason}")]
    Decode { context: String, reason: String },

    /// A value that cannot be spliced into SuiteQL safely (reference §3.1).
    #[error("refusing to build SuiteQL: {0}")]
    InvalidInput(String),
}

fn format_details(details: &[ErrorDetail]) -> String {
    details
        .iter()
        .map(|d| {
            let mut s = format!(" [{}] {}", d.code.as_deref().unwrap_or("-"), d.detail);
            if let Some(p) = &d.path {
                s.push_str(&format!(" (at {p})"));
            }
            s
        })
        .collect()
}

impl Error {
    /// Whether another attempt later can succeed without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        self.retry() == Retry::Transient
    }

    /// The same as [`Error::is_transient`], in the shared [`Retry`] vocabulary.
    pub fn retry(&self) -> Retry {
        match self {
            Error::Api {
                status, details, ..
            } => {
                if *status == 429 || *status >= 500 || is_concurrency(details) {
                    Retry::Transient
                } else {
                    Retry::Permanent
                }
            }
            Error::Transport { .. } => Retry::Transient,
            // Malformed bodies are what a flaky proxy produces; worth retrying a read.
            Error::Decode { .. } => Retry::Transient,
            Error::OutcomeUnknown { .. } => Retry::Transient,
            Error::Auth { status, .. } => {
                if *status == 429 || *status >= 500 {
                    Retry::Transient
                } else {
                    Retry::Permanent
                }
            }
            Error::Config(_) | Error::InvalidInput(_) => Retry::Permanent,
        }
    }

    /// The parsed `o:errorDetails`, empty for errors that did not come from a NetSuite body.
    pub fn details(&self) -> &[ErrorDetail] {
        match self {
            Error::Api { details, .. } => details,
            _ => &[],
        }
    }

    /// The HTTP status, when NetSuite answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Auth { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether any `o:errorCode` equals `code`.
    pub fn has_code(&self, code: &str) -> bool {
        self.details()
            .iter()
            .any(|d| d.code.as_deref() == Some(code))
    }
}

pub(crate) fn is_concurrency(details: &[ErrorDetail]) -> bool {
    details.iter().any(|d| {
        d.code
            .as_deref()
            .is_some_and(|c| CONCURRENCY_CODES.contains(&c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_error_details() {
        let body = r#"{"type":"x","title":"Bad Request","status":400,
          "o:errorDetails":[{"detail":"Invalid Field Value 9999","o:errorCode":"INVALID_CONTENT","o:errorPath":"item.items[0].item"}]}"#;
        let b: ErrorBody = serde_json::from_str(body).unwrap();
        assert_eq!(b.details[0].code.as_deref(), Some("INVALID_CONTENT"));
        assert_eq!(b.details[0].path.as_deref(), Some("item.items[0].item"));
        let e = Error::Api {
            method: "POST".into(),
            path: "/x".into(),
            status: 400,
            details: b.details,
            retry_after: None,
        };
        assert!(!e.is_transient());
        assert!(e.to_string().contains("INVALID_CONTENT"));
    }

    #[test]
    fn classification() {
        let api = |status, code: Option<&str>| Error::Api {
            method: "GET".into(),
            path: "/".into(),
            status,
            details: vec![ErrorDetail {
                code: code.map(String::from),
                ..Default::default()
            }],
            retry_after: None,
        };
        assert!(api(429, None).is_transient());
        assert!(api(503, None).is_transient());
        assert!(api(400, Some("SSS_REQUEST_LIMIT_EXCEEDED")).is_transient());
        assert!(!api(403, Some("INSUFFICIENT_PERMISSION")).is_transient());
        let auth = Error::Auth {
            status: 400,
            code: "invalid_grant".into(),
            description: None,
        };
        assert!(auth.to_string().contains("Login Audit Trail"));
        assert!(!auth.is_transient());
    }
}
