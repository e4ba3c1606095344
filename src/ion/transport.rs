//! One GraphQL request, done properly: bearer token, `fr-client-app`, a cap on requests in
//! flight, a timeout, classification of HTTP and GraphQL failures, and bounded retries.
//!
//! Why retries depend on the operation: a query or an etag-guarded write can be repeated safely
//! (a repeated guarded write fails with a conflict at worst), but a `create*` whose answer was
//! lost may have been applied; repeating it would duplicate the row. Those are only retried when
//! the failure proves nothing reached ION (connect error, 429), and otherwise handed to the sync,
//! which looks the row up by its NetSuite id before creating again.

use crate::http_body::{BodyError, MAX_BODY_BYTES, read_capped};
use std::time::Duration;

use secrecy::ExposeSecret;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;

use super::auth::{TokenSource, clip};
use super::error::{Error, GraphQlError};
use crate::retry::{Backoff, parse_retry_after};

/// Sent as `fr-client-app` ("for API attribution", reference §1.3).
pub const CLIENT_APP: &str = concat!("netsuite-ion-sync/", env!("CARGO_PKG_VERSION"));

/// Whether an operation may be sent again after an ambiguous failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Queries and `_etag`-guarded updates/deletes.
    Safe,
    /// Creates: only after failures that prove the request was not applied.
    OnlyIfNotApplied,
}

#[derive(Debug)]
pub(crate) struct Transport {
    http: reqwest::Client,
    endpoint: url::Url,
    pub(crate) auth: TokenSource,
    /// Caps requests in flight (default 4): ION publishes no rate limits, and a burst of aliased
    /// batches from several loops should queue here rather than provoke 429s or 502s there.
    permits: Semaphore,
    timeout: Duration,
    backoff: Backoff,
}

/// `data` stays raw text until the caller's type reads it: no JSON tree is built and dropped
/// for every answer (that was a measurable share of the client's CPU on bulk syncs).
#[derive(Deserialize)]
struct GraphQlResponse {
    data: Option<Box<serde_json::value::RawValue>>,
    #[serde(default)]
    errors: Vec<GraphQlError>,
}

pub(crate) fn transport_error(e: reqwest::Error) -> Error {
    if e.is_timeout() {
        // reqwest does not say how long it waited; callers that know replace the duration.
        return Error::Timeout(Duration::ZERO);
    }
    Error::Transport {
        not_sent: e.is_connect(),
        // Without the URL: it carries nothing secret, but keeps messages short and stable.
        message: e.without_url().to_string(),
    }
}

impl Transport {
    pub(crate) fn new(
        http: reqwest::Client,
        endpoint: url::Url,
        auth: TokenSource,
        max_in_flight: usize,
        timeout: Duration,
        backoff: Backoff,
    ) -> Self {
        Self {
            http,
            endpoint,
            auth,
            permits: Semaphore::new(max_in_flight),
            timeout,
            backoff,
        }
    }

    /// Sends `document` (operation `operation`) and decodes `data` into `T`, retrying transient
    /// failures within the backoff policy.
    pub(crate) async fn execute<T: DeserializeOwned, V: serde::Serialize>(
        &self,
        operation: &str,
        document: &str,
        variables: &V,
        replay: Replay,
    ) -> Result<T, Error> {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a, V> {
            query: &'a str,
            variables: &'a V,
            operation_name: &'a str,
        }
        // Serialised once, straight from the caller's types; a retry re-sends the same bytes.
        let body = serde_json::to_vec(&Body {
            query: document,
            variables,
            operation_name: operation,
        })
        .map_err(|e| Error::Decode(format!("{operation}: encoding the request: {e}")))?;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let result = self.attempt(operation, &body).await;
            let error = match result {
                Ok(data) => {
                    return serde_json::from_str(data.get())
                        .map_err(|e| Error::Decode(format!("{operation}: {e}")));
                }
                Err(e) => e,
            };
            let may_replay = replay == Replay::Safe || error.certainly_not_applied();
            if error.is_transient() && may_replay && self.backoff.may_retry(attempt) {
                let delay = self.backoff.delay(attempt, error.retry_after());
                tracing::warn!(operation, attempt, ?delay, error = %error, "ION request failed; retrying");
                tokio::time::sleep(delay).await;
                continue;
            }
            return Err(error);
        }
    }

    /// One attempt, plus one immediate re-send with a fresh token after a 401.
    async fn attempt(
        &self,
        operation: &str,
        body: &[u8],
    ) -> Result<Box<serde_json::value::RawValue>, Error> {
        let queued = std::time::Instant::now();
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Error::Config("request semaphore closed".into()))?;
        let waited = queued.elapsed();
        let mut refreshed = false;
        loop {
            let sent = std::time::Instant::now();
            let token = self.auth.token().await?;
            let send = self
                .http
                .post(self.endpoint.clone())
                .bearer_auth(token.expose_secret())
                .header("fr-client-app", CLIENT_APP)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec())
                .send();
            let outcome = tokio::time::timeout(self.timeout, async {
                let response = send.await.map_err(transport_error)?;
                let status = response.status();
                let retry_after = parse_retry_after(
                    response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok()),
                );
                let bytes = match read_capped(response, MAX_BODY_BYTES).await {
                    Ok(bytes) => bytes,
                    Err(BodyError::Read(e)) => return Err(transport_error(e)),
                    Err(e @ BodyError::TooLarge { .. }) => {
                        return Err(Error::Decode(format!("{operation}: {e}")));
                    }
                };
                // JSON is UTF-8; anything else is a broken answer, not text to guess at.
                let text = String::from_utf8(bytes).map_err(|e| {
                    Error::Decode(format!(
                        "{operation}: the answer is not UTF-8 (invalid byte at {})",
                        e.utf8_error().valid_up_to()
                    ))
                })?;
                Ok::<_, Error>((status, retry_after, text))
            })
            .await;
            let (status, retry_after, text) = match outcome {
                Err(_) | Ok(Err(Error::Timeout(_))) => return Err(Error::Timeout(self.timeout)),
                Ok(Err(e)) => return Err(e),
                Ok(Ok(v)) => v,
            };
            // How long the request waited for an in-flight slot, and then for its answer: tells
            // a saturated cap (long waits) from a slow server (long answers).
            tracing::debug!(
                operation,
                status = status.as_u16(),
                waited_ms = waited.as_millis() as u64,
                answered_ms = sent.elapsed().as_millis() as u64,
                "ION GraphQL request"
            );
            if status.as_u16() == 401 {
                self.auth.invalidate(&token).await;
                if !refreshed {
                    refreshed = true;
                    continue;
                }
                return Err(Error::Auth(format!(
                    "{operation}: ION answered 401 with a fresh token"
                )));
            }
            return classify(status.as_u16(), retry_after, &text);
        }
    }
}

/// Turns one HTTP answer into data or an error. GraphQL `errors[]` fail the request even on 200.
fn classify(
    status: u16,
    retry_after: Option<Duration>,
    text: &str,
) -> Result<Box<serde_json::value::RawValue>, Error> {
    let parsed: Option<GraphQlResponse> = serde_json::from_str(text).ok();
    if status == 409 {
        let message = parsed
            .and_then(|p| p.errors.into_iter().next().map(|e| e.message))
            .unwrap_or_else(|| clip(text));
        return Err(Error::Conflict(message));
    }
    if status == 403 {
        return Err(Error::Auth(format!("ION answered 403: {}", clip(text))));
    }
    if status == 429 || status >= 500 {
        return Err(Error::Http {
            status,
            body: clip(text),
            retry_after,
        });
    }
    let Some(response) = parsed else {
        if (200..300).contains(&status) {
            return Err(Error::Decode(format!(
                "body is not GraphQL JSON: {}",
                clip(text)
            )));
        }
        return Err(Error::Http {
            status,
            body: clip(text),
            retry_after,
        });
    };
    if !response.errors.is_empty() {
        if let Some(conflict) = response.errors.iter().find(|e| e.is_conflict()) {
            return Err(Error::Conflict(conflict.message.clone()));
        }
        return Err(Error::GraphQl(response.errors));
    }
    if !(200..300).contains(&status) {
        return Err(Error::Http {
            status,
            body: clip(text),
            retry_after,
        });
    }
    response
        .data
        .ok_or_else(|| Error::Decode("GraphQL response without data or errors".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_on_200_are_failures() {
        let e = classify(200, None, r#"{"data":null,"errors":[{"message":"boom"}]}"#).unwrap_err();
        assert!(matches!(e, Error::GraphQl(ref v) if v[0].message == "boom"));
        assert!(!e.is_transient());
    }

    #[test]
    fn statuses_are_classified() {
        assert!(classify(429, None, "").unwrap_err().is_transient());
        assert!(classify(502, None, "<html>").unwrap_err().is_transient());
        assert!(classify(409, None, "{}").unwrap_err().is_conflict());
        assert!(!classify(422, None, "nope").unwrap_err().is_transient());
        assert!(classify(200, None, "{not json").unwrap_err().is_transient());
        let conflict =
            r#"{"data":null,"errors":[{"message":"x","extensions":{"code":"CONFLICT"}}]}"#;
        assert!(classify(200, None, conflict).unwrap_err().is_conflict());
    }
}
