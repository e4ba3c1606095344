//! What can go wrong talking to ION, classified for the retry loop and for the operator.
//!
//! Why the classes matter: ION reports some failures as HTTP statuses and others as HTTP 200 with
//! `errors[]` (which is which is unverified, reference §8), so both levels end up here, and the
//! sync decides "retry later" vs "park and alert" from [`Error::is_transient`] alone.
//! No variant carries a token or the client secret.

use std::time::Duration;

use serde::Deserialize;

/// One entry of a GraphQL `errors[]` array.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct GraphQlError {
    pub message: String,
    #[serde(default)]
    pub path: Vec<serde_json::Value>,
    #[serde(default)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

impl GraphQlError {
    /// An optimistic-concurrency failure: an `extensions.code` of `CONFLICT`/`ETAG_MISMATCH`, or
    /// (servers that only give a message) a message naming the etag.
    pub fn is_conflict(&self) -> bool {
        let code = self
            .extensions
            .get("code")
            .and_then(|c| c.as_str())
            .unwrap_or("");
        matches!(code, "CONFLICT" | "ETAG_MISMATCH")
            || self.message.to_ascii_lowercase().contains("etag")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Settings that cannot work (bad URL, zero concurrency).
    #[error("invalid ION settings: {0}")]
    Config(String),
    /// Connection refused/reset, TLS, or a body cut short.
    #[error("ION transport error: {message}")]
    Transport {
        message: String,
        /// True when the request certainly did not reach ION (connect failed), so even a
        /// non-idempotent mutation may be retried.
        not_sent: bool,
    },
    #[error("ION request timed out after {0:?}")]
    Timeout(Duration),
    /// The token endpoint refused our credentials, or ION kept answering 401/403.
    #[error("ION authentication failed: {0}")]
    Auth(String),
    /// Optimistic concurrency: the `_etag` we sent is not the row's current one (HTTP 409 or a
    /// GraphQL error saying so). Re-read and retry once.
    #[error("ION etag conflict: {0}")]
    Conflict(String),
    /// Any other non-success HTTP status.
    #[error("ION answered HTTP {status}: {body}")]
    Http {
        status: u16,
        body: String,
        retry_after: Option<Duration>,
    },
    /// HTTP 200 (or 4xx) with GraphQL `errors[]`: validation errors, rules that BLOCK, refused
    /// deletes. Permanent: the same request will fail the same way.
    #[error("ION GraphQL error: {}", join(.0))]
    GraphQl(Vec<GraphQlError>),
    /// The body was not the JSON we expect (a proxy's HTML page, a truncated answer).
    #[error("unexpected ION response: {0}")]
    Decode(String),
    /// ION answered, but the data violates an assumption (e.g. an attribute definition with the
    /// wrong type, two POs for one NetSuite id).
    #[error("ION data problem: {0}")]
    Data(String),
}

fn join(errors: &[GraphQlError]) -> String {
    errors
        .iter()
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// Worth retrying later: timeouts, transport failures, 429, 5xx, garbled bodies.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport { .. } | Error::Timeout(_) | Error::Decode(_) => true,
            Error::Http { status, .. } => *status == 429 || *status >= 500,
            Error::Config(_)
            | Error::Auth(_)
            | Error::Conflict(_)
            | Error::GraphQl(_)
            | Error::Data(_) => false,
        }
    }

    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Conflict(_))
    }

    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether a failed attempt may be repeated without risk of applying a write twice.
    pub(crate) fn certainly_not_applied(&self) -> bool {
        match self {
            Error::Transport { not_sent, .. } => *not_sent,
            // ION has no rate-limit documentation; a 429 is assumed to refuse before applying.
            Error::Http { status, .. } => *status == 429,
            _ => false,
        }
    }
}
