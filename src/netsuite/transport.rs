//! The one place that sends HTTP to NetSuite.
//!
//! Every request: waits for a slot of the in-flight semaphore (NetSuite's concurrency limit is
//! account-wide, reference §9), carries a cached bearer token (minted under the same slot, so a
//! token request counts against the cap too), has connect/read/total timeouts, and runs inside a
//! `netsuite_request` span with method, path, attempt, status and duration. Transient failures
//! are retried with the shared jittered backoff honouring `Retry-After`; a 401 re-mints the token
//! once, later 401s are treated as overload (§9). A non-idempotent request is only repeated when
//! it provably did not reach NetSuite (connect error, 429, 401); otherwise the caller gets
//! [`Error::OutcomeUnknown`].

use crate::http_body::{BodyError, MAX_BODY_BYTES, read_capped};
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Mutex, Semaphore};
use tracing::Instrument;
use url::Url;

use super::auth::{CachedToken, SigningKey, TokenError, TokenResponse};
use super::error::{ErrorBody, is_concurrency};
use super::{Error, Result, Settings};
use crate::retry::{Backoff, parse_retry_after};
use crate::telemetry::error_chain;

pub(crate) const TOKEN_PATH: &str = "/services/rest/auth/oauth2/v1/token";

pub(crate) struct Transport {
    http: reqwest::Client,
    base_url: Url,
    /// `{base_url}/services/rest/auth/oauth2/v1/token`: both where we POST and the JWT `aud`.
    token_url: Url,
    client_id: String,
    certificate_id: String,
    key: SigningKey,
    backoff: Backoff,
    /// The cached token plus a generation number, so that concurrent 401s re-mint only once.
    token: Mutex<(Option<CachedToken>, u64)>,
    /// Caps requests in flight across all clones of the client (SPEC §8, default 2).
    permits: Semaphore,
}

/// One logical request; `send` may turn it into several attempts.
pub(crate) struct Request<'a> {
    pub method: Method,
    pub path: &'a str,
    pub query: Vec<(&'static str, String)>,
    pub json: Option<&'a serde_json::Value>,
    pub headers: Vec<(&'static str, &'static str)>,
    /// Whether repeating the request after it may have reached NetSuite is harmless.
    pub idempotent: bool,
}

/// What came back from one successful attempt.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Why one attempt did not produce a value.
enum Failure {
    /// NetSuite answered with a non-2xx status.
    Status(Reply),
    /// Connect error: the request never left.
    NotSent(String),
    /// Timeout, reset, broken body: it may have been processed.
    Broken { reason: String, timed_out: bool },
    /// A 2xx that does not decode.
    Decode(String),
    /// Token endpoint failure (already an `Error`).
    Token(Error),
}

impl Transport {
    pub fn new(settings: Settings) -> Result<Self> {
        Settings::validate_base_url(&settings.base_url)?;
        let key = SigningKey::from_pem(&settings.private_key_pem)?;
        if settings.client_id.trim().is_empty() || settings.certificate_id.trim().is_empty() {
            return Err(Error::Config(
                "netsuite client_id and certificate_id must not be empty".into(),
            ));
        }
        let token_url = settings
            .base_url
            .join(TOKEN_PATH)
            .map_err(|e| Error::Config(format!("token URL: {e}")))?;
        let timeout = settings.request_timeout;
        let http = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .read_timeout(timeout)
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("netsuite-ion-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            base_url: settings.base_url,
            token_url,
            client_id: settings.client_id,
            certificate_id: settings.certificate_id,
            key,
            backoff: settings.backoff,
            token: Mutex::new((None, 0)),
            permits: Semaphore::new(settings.max_in_flight.max(1)),
        })
    }

    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// Makes sure a usable token is cached, minting one if the cache is empty or within
    /// 5 minutes of expiry (or always, with `force`).
    pub async fn access_token(&self, force: bool) -> Result<()> {
        self.token_for_attempt(if force { Some(u64::MAX) } else { None })
            .await
            .map(|_| ())
    }

    /// The token for one attempt. `stale`: the generation that just got a 401; it is re-minted
    /// only if still current, so concurrent 401s cause one token request, not one each.
    async fn token_for_attempt(&self, stale: Option<u64>) -> Result<(SecretString, u64)> {
        let mut guard = self.token.lock().await;
        let now = tokio::time::Instant::now();
        let generation = guard.1;
        let stale_now = stale.is_some_and(|g| g == u64::MAX || g == generation);
        if let Some(cached) = &guard.0
            && cached.is_fresh(now)
            && !stale_now
        {
            return Ok((cached.token.clone(), generation));
        }
        let cached = self.mint().await?;
        let token = cached.token.clone();
        guard.0 = Some(cached);
        guard.1 += 1;
        Ok((token, guard.1))
    }

    async fn mint(&self) -> Result<CachedToken> {
        let assertion = self.key.assertion(
            &self.client_id,
            &self.certificate_id,
            self.token_url.as_str(),
            SystemTime::now(),
        )?;
        let started = tokio::time::Instant::now();
        let form = [
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion.expose_secret()),
        ];
        let span = tracing::debug_span!(
            "netsuite_request",
            method = "POST",
            path = TOKEN_PATH,
            status = tracing::field::Empty,
            duration_ms = tracing::field::Empty
        );
        let res = self
            .http
            .post(self.token_url.clone())
            .form(&form)
            .send()
            .instrument(span.clone())
            .await
            .map_err(|e| transport_error("POST", TOKEN_PATH, &e))?;
        let status = res.status();
        span.record("status", status.as_u16());
        let body = match read_capped(res, MAX_BODY_BYTES).await {
            Ok(body) => body,
            Err(BodyError::Read(e)) => return Err(transport_error("POST", TOKEN_PATH, &e)),
            Err(e @ BodyError::TooLarge { .. }) => {
                return Err(Error::Decode {
                    context: "token endpoint".into(),
                    reason: e.to_string(),
                });
            }
        };
        span.record("duration_ms", started.elapsed().as_millis() as u64);
        if status.is_success() {
            let t: TokenResponse = serde_json::from_slice(&body).map_err(|e| Error::Decode {
                context: "token endpoint".into(),
                reason: format!("not a token response: {e}"),
            })?;
            return Ok(CachedToken::new(t.access_token, t.expires_in, started));
        }
        let err: TokenError = serde_json::from_slice(&body).unwrap_or_default();
        let error = Error::Auth {
            status: status.as_u16(),
            code: err.error.unwrap_or_else(|| "unknown".into()),
            description: err.error_description,
        };
        if !error.is_transient() {
            tracing::error!(error = %error, "netsuite token request refused");
        }
        Err(error)
    }

    /// Sends `req`, retrying as the module doc says, and decodes a 2xx with `decode`.
    pub async fn send<T>(
        &self,
        req: Request<'_>,
        decode: impl Fn(&Reply) -> std::result::Result<T, String>,
    ) -> Result<T> {
        let method = req.method.as_str().to_owned();
        let path = req.path.to_owned();
        let mut attempt: u32 = 0;
        let mut reauthed = false;
        let mut stale_gen = None;
        loop {
            attempt += 1;
            let span = tracing::debug_span!("netsuite_request", method = %method, path = %path,
                attempt, status = tracing::field::Empty, duration_ms = tracing::field::Empty);
            let outcome = self
                .attempt(&req, stale_gen.take(), &decode)
                .instrument(span.clone())
                .await;
            let (error, retry_after, may_repeat) = match outcome {
                Ok(value) => return Ok(value),
                Err((Failure::Status(reply), generation))
                    if reply.status == StatusCode::UNAUTHORIZED =>
                {
                    let err = auth_error_from(&reply);
                    if !reauthed {
                        // First 401: the token may have expired early; re-mint once, no delay.
                        reauthed = true;
                        stale_gen = Some(generation);
                        attempt -= 1;
                        continue;
                    }
                    // 401 with a fresh token: overload (§9) or a real refusal; back off.
                    (err, parse_retry(&reply.headers), true)
                }
                Err((Failure::Status(reply), _)) => {
                    let retry_after = parse_retry(&reply.headers);
                    let err = api_error(&method, &path, &reply, retry_after);
                    // 429 and concurrency codes are refused before any processing.
                    let refused_up_front = reply.status == StatusCode::TOO_MANY_REQUESTS
                        || is_concurrency(err.details());
                    if reply.status.is_server_error() && !req.idempotent {
                        return Err(Error::OutcomeUnknown {
                            method,
                            path,
                            reason: format!("HTTP {}", reply.status.as_u16()),
                        });
                    }
                    let transient = err.is_transient();
                    (
                        err,
                        retry_after,
                        transient && (req.idempotent || refused_up_front),
                    )
                }
                Err((Failure::NotSent(reason), _)) => (
                    Error::Transport {
                        method: method.clone(),
                        path: path.clone(),
                        reason,
                        timed_out: false,
                    },
                    None,
                    true,
                ),
                Err((Failure::Broken { reason, timed_out }, _)) => {
                    if !req.idempotent {
                        return Err(Error::OutcomeUnknown {
                            method,
                            path,
                            reason,
                        });
                    }
                    (
                        Error::Transport {
                            method: method.clone(),
                            path: path.clone(),
                            reason,
                            timed_out,
                        },
                        None,
                        true,
                    )
                }
                Err((Failure::Decode(reason), _)) => {
                    if !req.idempotent {
                        return Err(Error::OutcomeUnknown {
                            method,
                            path,
                            reason,
                        });
                    }
                    (
                        Error::Decode {
                            context: format!("{method} {path}"),
                            reason,
                        },
                        None,
                        true,
                    )
                }
                Err((Failure::Token(err), _)) => {
                    // The token request is itself idempotent; only its transient failures retry.
                    let transient = err.is_transient();
                    (err, None, transient)
                }
            };
            let retryable = may_repeat;
            if !retryable || !self.backoff.may_retry(attempt) {
                if retryable {
                    tracing::warn!(%method, %path, attempt, error = %error, "netsuite request failed, giving up");
                }
                return Err(error);
            }
            let delay = self.backoff.delay(attempt, retry_after);
            tracing::warn!(%method, %path, attempt, delay_ms = delay.as_millis() as u64, error = %error, "netsuite request failed, retrying");
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt<T>(
        &self,
        req: &Request<'_>,
        stale: Option<u64>,
        decode: &impl Fn(&Reply) -> std::result::Result<T, String>,
    ) -> std::result::Result<T, (Failure, u64)> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| (Failure::NotSent("client shut down".into()), 0))?;
        let (token, generation) = self
            .token_for_attempt(stale)
            .await
            .map_err(|e| (Failure::Token(e), 0))?;
        let mut url = self
            .base_url
            .join(req.path)
            .map_err(|e| (Failure::NotSent(format!("bad path: {e}")), generation))?;
        if !req.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &req.query {
                pairs.append_pair(k, v);
            }
        }
        let mut builder = self
            .http
            .request(req.method.clone(), url)
            .bearer_auth(token.expose_secret());
        for (k, v) in &req.headers {
            builder = builder.header(*k, *v);
        }
        if let Some(json) = req.json {
            builder = builder.json(json);
        }
        let started = Instant::now();
        let span = tracing::Span::current();
        let res = builder.send().await;
        let res = match res {
            Ok(r) => r,
            Err(e) => {
                span.record("duration_ms", started.elapsed().as_millis() as u64);
                return Err((classify(&e), generation));
            }
        };
        let status = res.status();
        span.record("status", status.as_u16());
        let headers = res.headers().clone();
        let body = read_capped(res, MAX_BODY_BYTES).await;
        span.record("duration_ms", started.elapsed().as_millis() as u64);
        let body = match body {
            Ok(b) => b,
            Err(e @ BodyError::TooLarge { .. }) => {
                return Err((Failure::Decode(e.to_string()), generation));
            }
            Err(BodyError::Read(e)) => {
                return Err((
                    Failure::Broken {
                        reason: format!("reading the response failed: {}", error_chain(&e)),
                        timed_out: e.is_timeout(),
                    },
                    generation,
                ));
            }
        };
        let reply = Reply {
            status,
            headers,
            body,
        };
        if !status.is_success() {
            return Err((Failure::Status(reply), generation));
        }
        decode(&reply).map_err(|reason| (Failure::Decode(reason), generation))
    }
}

fn classify(e: &reqwest::Error) -> Failure {
    if e.is_connect() {
        Failure::NotSent(format!("connect failed: {}", error_chain(e)))
    } else {
        Failure::Broken {
            // reqwest's Display hides the cause ("error sending request"); the chain says what
            // happened.
            reason: error_chain(e),
            timed_out: e.is_timeout(),
        }
    }
}

fn transport_error(method: &str, path: &str, e: &reqwest::Error) -> Error {
    Error::Transport {
        method: method.into(),
        path: path.into(),
        // reqwest's Display hides the cause ("error sending request"); the chain says what
        // happened.
        reason: error_chain(e),
        timed_out: e.is_timeout(),
    }
}

fn parse_retry(headers: &HeaderMap) -> Option<Duration> {
    parse_retry_after(headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()))
}

fn api_error(method: &str, path: &str, reply: &Reply, retry_after: Option<Duration>) -> Error {
    let body: ErrorBody = serde_json::from_slice(&reply.body).unwrap_or_default();
    let mut details = body.details;
    if details.is_empty()
        && let Some(title) = body.title
    {
        details.push(super::ErrorDetail {
            detail: title,
            ..Default::default()
        });
    }
    Error::Api {
        method: method.into(),
        path: path.into(),
        status: reply.status.as_u16(),
        details,
        retry_after,
    }
}

fn auth_error_from(reply: &Reply) -> Error {
    let body: ErrorBody = serde_json::from_slice(&reply.body).unwrap_or_default();
    let www = reply
        .headers
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let code = body
        .details
        .first()
        .and_then(|d| d.code.clone())
        .unwrap_or_else(|| {
            if www.contains("invalid_token") {
                "invalid_token".into()
            } else {
                "unauthorized".into()
            }
        });
    Error::Auth {
        status: 401,
        code,
        description: body.details.first().map(|d| d.detail.clone()),
    }
}
