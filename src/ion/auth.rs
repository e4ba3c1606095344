//! OAuth 2.0 client credentials against ION's Keycloak realm (`api-keys`), with a cached token.
//!
//! Why cache with a margin: every GraphQL call needs a bearer token, and fetching one per call
//! would double the round trips. The token is reused until shortly before `expires_in` runs out;
//! a 401 anyway (revoked, clock skew) invalidates it and the transport fetches one more.

use crate::http_body::{BodyError, MAX_BODY_BYTES, read_capped};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;

use super::Error;

/// How long before expiry we stop using a token: a tenth of its life, at most 30 s, so a request
/// sent just before expiry does not arrive just after.
fn refresh_margin(lifetime: Duration) -> Duration {
    (lifetime / 10).min(Duration::from_secs(30))
}

pub(crate) struct TokenSource {
    http: reqwest::Client,
    token_url: url::Url,
    client_id: String,
    client_secret: SecretString,
    /// The HTTP client's timeout, for error messages.
    timeout: Duration,
    /// The cached token and the instant after which it is no longer used.
    cached: Mutex<Option<(SecretString, Instant)>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    /// Not documented by ION; assumed present (Keycloak sends it). Default 60 s if missing.
    expires_in: Option<u64>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    pub(crate) fn new(
        http: reqwest::Client,
        token_url: url::Url,
        client_id: String,
        client_secret: SecretString,
        timeout: Duration,
    ) -> Self {
        Self {
            http,
            token_url,
            client_id,
            client_secret,
            timeout,
            cached: Mutex::new(None),
        }
    }

    /// A valid token, fetched if none is cached or the cached one is about to expire. The lock
    /// is held across the fetch so concurrent callers wait for one fetch instead of each doing one.
    pub(crate) async fn token(&self) -> Result<SecretString, Error> {
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let (token, lifetime) = self.fetch().await?;
        let until = Instant::now() + lifetime.saturating_sub(refresh_margin(lifetime));
        *cached = Some((token.clone(), until));
        Ok(token)
    }

    /// Forgets `rejected` (if it is still the cached one) after ION answered 401 with it.
    pub(crate) async fn invalidate(&self, rejected: &SecretString) {
        let mut cached = self.cached.lock().await;
        if cached
            .as_ref()
            .is_some_and(|(t, _)| t.expose_secret() == rejected.expose_secret())
        {
            *cached = None;
        }
    }

    fn fetch_error(&self, e: reqwest::Error) -> Error {
        match super::transport::transport_error(e) {
            Error::Timeout(_) => Error::Timeout(self.timeout),
            other => other,
        }
    }

    async fn fetch(&self) -> Result<(SecretString, Duration), Error> {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose_secret()),
        ];
        let response = self
            .http
            .post(self.token_url.clone())
            .form(&form)
            .send()
            .await
            .map_err(|e| self.fetch_error(e))?;
        let status = response.status();
        let body = match read_capped(response, MAX_BODY_BYTES).await {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(BodyError::Read(e)) => return Err(super::transport::transport_error(e)),
            Err(e @ BodyError::TooLarge { .. }) => {
                return Err(Error::Decode(format!("token endpoint: {e}")));
            }
        };
        if status.is_client_error() && status.as_u16() != 429 {
            // 400/401 from Keycloak: wrong id or secret. Keycloak's body names the error
            // (`invalid_client`) and never echoes the secret.
            return Err(Error::Auth(format!(
                "token endpoint answered {status}: {}",
                clip(&body)
            )));
        }
        if !status.is_success() {
            return Err(Error::Http {
                status: status.as_u16(),
                body: clip(&body),
                retry_after: None,
            });
        }
        let parsed: TokenResponse = serde_json::from_str(&body)
            .map_err(|e| Error::Decode(format!("token response: {e}")))?;
        let lifetime = Duration::from_secs(parsed.expires_in.unwrap_or(60));
        Ok((SecretString::from(parsed.access_token), lifetime))
    }
}

/// Bodies are quoted in errors for diagnosis, but bounded.
pub(crate) fn clip(body: &str) -> String {
    const MAX: usize = 500;
    if body.len() <= MAX {
        return body.to_string();
    }
    let mut end = MAX;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &body[..end])
}
