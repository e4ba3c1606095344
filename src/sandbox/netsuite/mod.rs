//! NetSuite simulator: an axum server on `127.0.0.1:0` that holds a client to
//! `shared/reference/netsuite.md`, not to this daemon's assumptions.
//!
//! - Token endpoint verifying the JWT assertion like NetSuite (signature against the mapped
//!   certificate, PS*/ES* only, kid, iss, aud, scope, lifetime); RFC 6749 error bodies; opaque
//!   bearer tokens that expire on the simulated clock.
//! - SuiteQL executed by SQLite over `transaction`, `transactionline`, `deletedrecord`,
//!   `vendor`, `item`, with NetSuite's paging rules and error format (modules `db`, `sql`).
//! - Record API (`purchaseOrder` GET) in NetSuite's shapes and the item-receipt transform.
//! - Governance and faults: the account concurrency limit (429 beyond it) and seeded latency and
//!   failures from [`crate::sandbox::faults`], so a failing run can be replayed.
//!
//! Two clocks: the *simulated* clock stamps data (`lastmodifieddate`, `deleteddate`) and access
//! token expiry, and tests move it; assertions and certificates are checked against the wall
//! clock, because the client signs with its own (NTP) clock, as it does against NetSuite.

mod auth;
mod db;
mod sql;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rand::Rng;
use secrecy::SecretString;
use serde_json::{Value as Json, json};
use tokio::sync::oneshot;
use url::Url;

pub use auth::LoginAuditEntry;
pub use db::{ItemReceiptInfo, ItemSpec, LineSpec, LineState, PoSpec, VendorSpec};

use crate::sandbox::faults::{Fault, FaultConfig, Faults, RoundTrip};
use db::{Db, NsError};

/// How the simulated account behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The integration user's time zone: `TO_CHAR` renders and `TO_TIMESTAMP` parses in it.
    pub time_zone: Tz,
    /// Access-token lifetime (NetSuite: 60 minutes); short values force refreshes.
    pub token_lifetime: Duration,
    /// Account-wide concurrent requests before 429 (developer accounts: 5).
    pub concurrency_limit: usize,
    /// Latency and faults for SuiteQL and record requests (the token endpoint is spared).
    pub faults: FaultConfig,
    /// The integration record's client ID.
    pub client_id: String,
    /// Account id, echoed as the `realm` of `WWW-Authenticate`.
    pub account_id: String,
    /// `Some(t)`: the simulated clock starts at `t` and only moves when told to (deterministic
    /// tests). `None`: it follows the wall clock plus whatever was advanced (`sandbox`).
    pub start_time: Option<DateTime<Utc>>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            time_zone: chrono_tz::America::Los_Angeles,
            token_lifetime: Duration::from_secs(3600),
            concurrency_limit: 5,
            faults: FaultConfig::default(),
            client_id: "sim-client-id-0123456789abcdef".into(),
            account_id: "1234567_SB1".into(),
            start_time: None,
        }
    }
}

/// Request counters, by endpoint: `token`, `suiteql`, `record.get`, `record.transform`, `other`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub requests: BTreeMap<&'static str, u64>,
    /// The most requests the simulator ever had in flight at once (rejected ones included).
    pub max_concurrency: usize,
    /// Requests refused with 429 by the concurrency limit.
    pub concurrency_rejections: u64,
    /// Faults injected from the seeded [`FaultConfig`].
    pub faults_injected: u64,
    in_flight: usize,
}

impl Counters {
    pub fn requests_to(&self, endpoint: &str) -> u64 {
        self.requests.get(endpoint).copied().unwrap_or(0)
    }
}

enum Clock {
    Frozen(DateTime<Utc>),
    Wall(chrono::Duration),
}

struct Shared {
    config: SimConfig,
    base_url: Url,
    token_url: String,
    clock: Mutex<Clock>,
    db: Mutex<Db>,
    auth: Mutex<auth::AuthState>,
    faults: RwLock<Arc<Faults>>,
    counters: Mutex<Counters>,
}

/// Poison-tolerant lock: a panicking test thread must not wedge the simulator.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn now(&self) -> DateTime<Utc> {
        let t = match &*lock(&self.clock) {
            Clock::Frozen(t) => *t,
            Clock::Wall(offset) => Utc::now() + *offset,
        };
        // One-second resolution, like the stored datetimes.
        DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
    }
    fn now_epoch(&self) -> i64 {
        self.now().timestamp()
    }
}

/// Internal ids created by [`SimHandle::load_sample_data`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleData {
    pub vendors: Vec<i64>,
    pub items: Vec<i64>,
    pub pos: Vec<i64>,
}

/// The simulator (a namespace for [`NetSuiteSim::start`]).
pub struct NetSuiteSim;

/// A running simulator. Dropping it stops the server.
pub struct SimHandle {
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl NetSuiteSim {
    /// Binds `127.0.0.1:0` and serves until the handle is dropped or shut down.
    pub async fn start(config: SimConfig) -> std::io::Result<SimHandle> {
        crate::netsuite::auth::install_crypto_provider();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let base_url = Url::parse(&format!("http://{addr}"))
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let db = Db::new(config.time_zone).map_err(|e| std::io::Error::other(e.to_string()))?;
        let clock = match config.start_time {
            Some(t) => Clock::Frozen(t),
            None => Clock::Wall(chrono::Duration::zero()),
        };
        let shared = Arc::new(Shared {
            token_url: format!("{}services/rest/auth/oauth2/v1/token", base_url),
            base_url,
            clock: Mutex::new(clock),
            db: Mutex::new(db),
            auth: Mutex::new(auth::AuthState::default()),
            faults: RwLock::new(Arc::new(Faults::new(config.faults.clone()))),
            counters: Mutex::new(Counters::default()),
            config,
        });
        let app = Router::new()
            .route("/services/rest/auth/oauth2/v1/token", post(token))
            .route("/services/rest/query/v1/suiteql", post(suiteql))
            .route("/services/rest/record/v1/{rtype}/{id}", get(get_record))
            .route(
                "/services/rest/record/v1/{rtype}/{id}/{transform}/{target}",
                post(transform),
            )
            .fallback(not_found)
            .layer(axum::middleware::from_fn_with_state(
                shared.clone(),
                governance,
            ))
            .with_state(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(SimHandle {
            shared,
            shutdown: Some(tx),
            task: Some(task),
        })
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

type SimResult<T> = Result<T, String>;

fn ns(e: NsError) -> String {
    format!("{} {}: {}", e.status, e.code, e.detail)
}

impl SimHandle {
    /// `http://127.0.0.1:<port>/`: use as the client's `base_url`.
    pub fn base_url(&self) -> Url {
        self.shared.base_url.clone()
    }

    /// The integration record's client ID (the JWT `iss`).
    pub fn client_id(&self) -> &str {
        &self.shared.config.client_id
    }

    pub fn account_id(&self) -> &str {
        &self.shared.config.account_id
    }

    /// The exact token URL (the JWT `aud`).
    pub fn token_url(&self) -> &str {
        &self.shared.token_url
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }

    // ---- certificates (M2M setup page) ----

    /// Maps an uploaded X.509 certificate; returns the new Certificate ID (the JWT `kid`).
    pub fn register_certificate_pem(&self, pem: &str) -> SimResult<String> {
        let id = format!("cert-{:016x}", rand::rng().random::<u64>());
        self.register_certificate_pem_as(&id, pem)?;
        Ok(id)
    }

    /// Maps a certificate under a chosen Certificate ID.
    pub fn register_certificate_pem_as(&self, certificate_id: &str, pem: &str) -> SimResult<()> {
        let cert = auth::Certificate::from_pem(pem)?;
        lock(&self.shared.auth)
            .certificates
            .insert(certificate_id.to_owned(), cert);
        Ok(())
    }

    /// Maps a bare public key (`BEGIN PUBLIC KEY`) under a chosen Certificate ID.
    pub fn register_public_key_pem_as(&self, certificate_id: &str, pem: &str) -> SimResult<()> {
        let cert = auth::Certificate::from_public_key_pem(pem)?;
        lock(&self.shared.auth)
            .certificates
            .insert(certificate_id.to_owned(), cert);
        Ok(())
    }

    /// Makes an EC P-256 key pair in-process and maps its public key: what `sandbox` uses, so
    /// it needs no key files. Returns `(certificate_id, private key PKCS#8 PEM)`.
    pub fn generate_key_pair(&self) -> SimResult<(String, SecretString)> {
        use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
        let secret = loop {
            let bytes: [u8; 32] = rand::rng().random();
            if let Ok(k) = p256::SecretKey::from_slice(&bytes) {
                break k;
            }
        };
        let private = secret
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| e.to_string())?;
        let public = secret
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| e.to_string())?;
        let id = format!("cert-{:016x}", rand::rng().random::<u64>());
        self.register_public_key_pem_as(&id, &public)?;
        Ok((id, SecretString::from(private.as_str().to_owned())))
    }

    /// Revokes a certificate: later assertions with its kid get `invalid_grant`.
    pub fn revoke_certificate(&self, certificate_id: &str) -> bool {
        lock(&self.shared.auth).revoke(certificate_id)
    }

    /// Invalidates every issued access token (as a password/role change would).
    pub fn revoke_all_tokens(&self) {
        lock(&self.shared.auth).tokens.clear();
    }

    /// The simulated Login Audit Trail, oldest first.
    pub fn login_audit_trail(&self) -> Vec<LoginAuditEntry> {
        lock(&self.shared.auth).audit.clone()
    }

    // ---- clock ----

    /// The simulated "now" (one-second resolution).
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.now()
    }

    /// Moves the simulated clock forward.
    pub fn advance(&self, by: Duration) {
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::zero());
        let mut c = lock(&self.shared.clock);
        *c = match &*c {
            Clock::Frozen(t) => Clock::Frozen(*t + by),
            Clock::Wall(o) => Clock::Wall(*o + by),
        };
    }

    /// Sets the simulated clock (and freezes it there).
    pub fn set_now(&self, t: DateTime<Utc>) {
        *lock(&self.shared.clock) = Clock::Frozen(t);
    }

    // ---- data ----

    pub fn create_vendor(&self, v: VendorSpec) -> SimResult<i64> {
        let now = self.shared.now_epoch();
        lock(&self.shared.db).create_vendor(&v, now).map_err(ns)
    }

    pub fn create_item(&self, it: ItemSpec) -> SimResult<i64> {
        let now = self.shared.now_epoch();
        lock(&self.shared.db).create_item(&it, now).map_err(ns)
    }

    /// Creates a PO with any status letter; `lastmodifieddate` = simulated now.
    pub fn create_purchase_order(&self, po: PoSpec) -> SimResult<i64> {
        let now = self.shared.now_epoch();
        lock(&self.shared.db).create_po(&po, now).map_err(ns)
    }

    /// The stored value of date `d` in a date column, for [`Self::set_po_field`] and
    /// [`Self::set_line_field`] on `trandate`, `duedate` or `expectedreceiptdate`.
    pub fn date_value(&self, d: chrono::NaiveDate) -> i64 {
        lock(&self.shared.db).date_epoch(d)
    }

    /// Sets a header field (`memo`, `status`, `entity`, `custbody_*`, …); bumps lastmodified.
    pub fn set_po_field(&self, po: i64, field: &str, value: Option<&str>) -> SimResult<()> {
        let now = self.shared.now_epoch();
        lock(&self.shared.db)
            .set_header(po, field, value, now)
            .map_err(ns)
    }

    /// Sets a line field (`quantity`, `rate`, `memo`, `item`, `custcol_*`, …).
    pub fn set_line_field(&self, po: i64, line: i64, field: &str, value: Json) -> SimResult<()> {
        let now = self.shared.now_epoch();
        lock(&self.shared.db)
            .set_line(po, line, field, value, now)
            .map_err(ns)
    }

    /// Sets a PO's `lastmodifieddate` to `at` and changes nothing else. Run after an edit, it
    /// leaves what a change that does not bump the date leaves (reference §4.2: a line close or
    /// a receipt may not bump it; or a mass update, a time-zone shift): the PO changed, but
    /// behind every cursor — what only the full reconciliation can catch.
    pub fn set_po_lastmodified(&self, po: i64, at: DateTime<Utc>) -> SimResult<()> {
        lock(&self.shared.db)
            .set_lastmodified(po, at.timestamp())
            .map_err(ns)
    }

    pub fn add_line(&self, po: i64, line: LineSpec) -> SimResult<i64> {
        let now = self.shared.now_epoch();
        lock(&self.shared.db).add_line(po, &line, now).map_err(ns)
    }

    pub fn remove_line(&self, po: i64, line: i64) -> SimResult<()> {
        let now = self.shared.now_epoch();
        lock(&self.shared.db).remove_line(po, line, now).map_err(ns)
    }

    /// Closes one line (and recomputes the status letter).
    pub fn close_line(&self, po: i64, line: i64) -> SimResult<()> {
        self.set_line_field(po, line, "isclosed", Json::String("T".into()))
    }

    /// Closes the PO: every line closed, status H.
    pub fn close_purchase_order(&self, po: i64) -> SimResult<()> {
        let now = self.shared.now_epoch();
        lock(&self.shared.db).close_po(po, now).map_err(ns)
    }

    /// Deletes the PO; a `deletedrecord` row (type `purchaseorder`) records it.
    pub fn delete_purchase_order(&self, po: i64) -> SimResult<()> {
        let now = self.shared.now_epoch();
        lock(&self.shared.db).delete_po(po, now).map_err(ns)
    }

    pub fn po_status(&self, po: i64) -> Option<String> {
        lock(&self.shared.db).status(po)
    }

    pub fn po_lines(&self, po: i64) -> Vec<LineState> {
        lock(&self.shared.db).lines(po)
    }

    /// Every item receipt created so far.
    pub fn item_receipts(&self) -> Vec<ItemReceiptInfo> {
        lock(&self.shared.db).item_receipts()
    }

    /// A small account for `sandbox` and demos: three vendors, five items (one service), and
    /// four POs in different states (pending approval, pending receipt ×2, partially received).
    pub fn load_sample_data(&self) -> SimResult<SampleData> {
        let vendors = [
            ("V100", "Acme Metals"),
            ("V200", "Bolt & Nut Co"),
            ("V300", "Precision Optics"),
        ]
        .iter()
        .map(|(e, c)| {
            self.create_vendor(VendorSpec {
                entity_id: (*e).into(),
                company_name: Some((*c).into()),
            })
        })
        .collect::<SimResult<Vec<_>>>()?;
        let items = [
            ("WIDGET-100", "InvtPart"),
            ("BOLT-M6", "InvtPart"),
            ("LENS-25MM", "InvtPart"),
            ("BRACKET-7", "NonInvtPart"),
            ("INSTALL-SVC", "Service"),
        ]
        .iter()
        .map(|(id, t)| {
            self.create_item(ItemSpec {
                item_id: (*id).into(),
                item_type: (*t).into(),
                display_name: Some((*id).to_lowercase()),
                ..Default::default()
            })
        })
        .collect::<SimResult<Vec<_>>>()?;
        let line = |item: i64, quantity: f64, rate: f64| LineSpec {
            item,
            quantity,
            rate,
            ..Default::default()
        };
        let mut pos = Vec::new();
        for (status, vendor, lines) in [
            (
                "A",
                vendors[0],
                vec![line(items[0], 10.0, 4.5), line(items[4], 1.0, 250.0)],
            ),
            (
                "B",
                vendors[1],
                vec![line(items[1], 500.0, 0.12), line(items[3], 20.0, 3.0)],
            ),
            ("B", vendors[2], vec![line(items[2], 4.0, 89.0)]),
            (
                "B",
                vendors[0],
                vec![line(items[0], 6.0, 4.5), line(items[1], 100.0, 0.12)],
            ),
        ] {
            pos.push(self.create_purchase_order(PoSpec {
                vendor,
                status: Some(status.into()),
                memo: Some("sample purchase order".into()),
                lines,
                ..Default::default()
            })?);
        }
        // The last one is partially received already (as if someone received it in NetSuite).
        let first_line = self
            .po_lines(pos[3])
            .first()
            .map(|l| l.line_id)
            .unwrap_or(1);
        let now = self.shared.now_epoch();
        lock(&self.shared.db)
            .transform_to_receipt(
                pos[3],
                &json!({"externalId": "sample-receipt-1", "memo": "received in NetSuite",
                        "item": {"items": [{"orderLine": first_line, "itemReceive": true, "quantity": 2}]}}),
                true,
                false,
                now,
            )
            .map_err(ns)?;
        Ok(SampleData {
            vendors,
            items,
            pos,
        })
    }

    // ---- governance and faults ----

    pub fn counters(&self) -> Counters {
        lock(&self.shared.counters).clone()
    }

    /// Zeroes the counters (keeps the in-flight count).
    pub fn reset_counters(&self) {
        let mut c = lock(&self.shared.counters);
        let in_flight = c.in_flight;
        *c = Counters {
            in_flight,
            ..Default::default()
        };
    }

    /// Replaces the fault configuration (the RNG restarts from its seed).
    pub fn set_faults(&self, config: FaultConfig) {
        let mut f = self
            .shared
            .faults
            .write()
            .unwrap_or_else(|p| p.into_inner());
        *f = Arc::new(Faults::new(config));
    }
}

// ---- HTTP side ----

fn endpoint(path: &str) -> &'static str {
    if path.ends_with("/auth/oauth2/v1/token") {
        "token"
    } else if path.ends_with("/query/v1/suiteql") {
        "suiteql"
    } else if path.contains("/record/v1/") && path.contains("/!transform/") {
        "record.transform"
    } else if path.contains("/record/v1/") {
        "record.get"
    } else {
        "other"
    }
}

fn reason(status: u16) -> &'static str {
    StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
}

/// NetSuite's REST error body (reference §8).
fn error_response(e: NsError) -> Response {
    let mut detail = json!({"detail": e.detail, "o:errorCode": e.code});
    if let (Some(p), Json::Object(m)) = (e.path, &mut detail) {
        m.insert("o:errorPath".into(), Json::String(p));
    }
    let body = json!({
        "type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html",
        "title": reason(e.status),
        "status": e.status,
        "o:errorDetails": [detail],
    });
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(
            header::CONTENT_TYPE,
            "application/vnd.oracle.resource+json; type=error",
        )],
        body.to_string(),
    )
        .into_response()
}

fn unauthorized(shared: &Shared) -> Response {
    let mut r = error_response(NsError::new(
        401,
        "INVALID_LOGIN",
        "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at \
         Setup > Users/Roles > User Management > View Login Audit Trail.",
    ));
    let www = format!(
        "Bearer realm=\"{}\", error=\"invalid_token\", error_description=\"Invalid login attempt.\"",
        shared.config.account_id
    );
    if let Ok(v) = HeaderValue::from_str(&www) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

fn check_bearer(shared: &Shared, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let now = shared.now_epoch();
    let ok = token.is_some_and(|t| {
        lock(&shared.auth)
            .tokens
            .get(t)
            .is_some_and(|exp| now < *exp)
    });
    if ok {
        Ok(())
    } else {
        Err(Box::new(unauthorized(shared)))
    }
}

/// A response whose body breaks off: the client sees a reset / incomplete message.
fn broken_response() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "simulated connection reset",
        ))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

struct InFlight(Arc<Shared>);
impl Drop for InFlight {
    fn drop(&mut self) {
        let mut c = lock(&self.0.counters);
        c.in_flight = c.in_flight.saturating_sub(1);
    }
}

/// Counting, the account concurrency limit, then seeded latency and faults.
async fn governance(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let ep = endpoint(req.uri().path());
    let in_flight = {
        let mut c = lock(&shared.counters);
        *c.requests.entry(ep).or_default() += 1;
        c.in_flight += 1;
        c.max_concurrency = c.max_concurrency.max(c.in_flight);
        c.in_flight
    };
    let _guard = InFlight(shared.clone());
    if ep == "token" || ep == "other" {
        return next.run(req).await;
    }
    if in_flight > shared.config.concurrency_limit {
        lock(&shared.counters).concurrency_rejections += 1;
        return error_response(NsError::new(
            429,
            "CONCURRENCY_LIMIT_EXCEEDED",
            "Concurrent request limit exceeded. Request blocked.",
        ));
    }
    let faults = shared
        .faults
        .read()
        .map(|f| f.clone())
        .unwrap_or_else(|p| p.into_inner().clone());
    let trip = RoundTrip::start(faults.latency());
    trip.way_in().await;
    let fault = faults.draw();
    if fault.is_some() {
        lock(&shared.counters).faults_injected += 1;
    }
    let response = match fault {
        None => next.run(req).await,
        Some(Fault::TooManyRequests) => error_response(NsError::new(
            429,
            "CONCURRENCY_LIMIT_EXCEEDED",
            "Concurrent request limit exceeded. Request blocked.",
        )),
        Some(Fault::ServerError) => error_response(NsError::new(
            500,
            "UNEXPECTED_ERROR",
            "An unexpected error occurred. Error ID: sim",
        )),
        Some(Fault::ResetBeforeApply) => broken_response(),
        Some(Fault::ResetAfterApply) => {
            let _ = next.run(req).await;
            broken_response()
        }
        Some(Fault::MalformedJson) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"links\": [{\"rel\": \"self\"",
        )
            .into_response(),
        Some(Fault::Timeout) => {
            let r = next.run(req).await;
            // An unset stall still has to outlast any sane client timeout.
            let stall = if faults.stall().is_zero() {
                Duration::from_secs(300)
            } else {
                faults.stall()
            };
            tokio::time::sleep(stall).await;
            r
        }
    };
    trip.way_back().await;
    response
}

async fn not_found() -> Response {
    error_response(NsError::new(
        404,
        "NONEXISTENT_ID",
        "The requested resource does not exist.",
    ))
}

async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_request"})),
        )
            .into_response();
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let wall = Utc::now().timestamp();
    let mut st = lock(&shared.auth);
    match st.check_token_request(&form, &shared.config.client_id, &shared.token_url, wall) {
        Ok(()) => {
            let token: String = (0..32)
                .map(|_| format!("{:02x}", rand::rng().random::<u8>()))
                .collect();
            let lifetime = shared.config.token_lifetime.as_secs();
            st.tokens
                .insert(token.clone(), shared.now_epoch() + lifetime as i64);
            st.audit.push(LoginAuditEntry {
                status: "Success".into(),
                detail: String::new(),
                note: String::new(),
            });
            axum::Json(
                json!({"access_token": token, "expires_in": lifetime, "token_type": "bearer"}),
            )
            .into_response()
        }
        Err(r) => {
            st.audit.push(LoginAuditEntry {
                status: "Failure".into(),
                detail: r.audit.into(),
                note: r.note,
            });
            let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST);
            (status, axum::Json(json!({"error": r.error}))).into_response()
        }
    }
}

async fn suiteql(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = check_bearer(&shared, &headers) {
        return *r;
    }
    let prefer_ok = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("transient"))
        });
    if !prefer_ok {
        return error_response(NsError::new(
            400,
            "INVALID_HEADER",
            "SuiteQL queries require the header 'Prefer: transient'.",
        ));
    }
    let num = |name: &str, default: u64| -> Result<u64, NsError> {
        match params.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                NsError::new(
                    400,
                    "INVALID_PARAMETER",
                    format!("Invalid value for query parameter {name}: {v}"),
                )
            }),
        }
    };
    let (limit, offset) = match (num("limit", 1000), num("offset", 0)) {
        (Ok(l), Ok(o)) => (l, o),
        (Err(e), _) | (_, Err(e)) => return error_response(e),
    };
    if limit == 0 || limit > 1000 {
        return error_response(NsError::new(
            400,
            "INVALID_PARAMETER",
            format!(
                "Invalid value for query parameter limit: {limit}. The value must be between 1 and 1000."
            ),
        ));
    }
    if offset % limit != 0 {
        return error_response(NsError::new(
            400,
            "INVALID_PARAMETER",
            format!(
                "Invalid value for query parameter offset: {offset}. The offset must be a multiple of the limit ({limit})."
            ),
        ));
    }
    if offset + limit > 100_000 {
        return error_response(NsError::new(
            400,
            "INVALID_PARAMETER",
            "SuiteQL through REST returns at most 100000 rows per query.",
        ));
    }
    let q = match serde_json::from_slice::<Json>(&body)
        .ok()
        .and_then(|j| j.get("q").and_then(Json::as_str).map(str::to_owned))
    {
        Some(q) => q,
        None => {
            return error_response(NsError::new(
                400,
                "INVALID_CONTENT",
                "The request body must be {\"q\": \"<SuiteQL>\"}.",
            ));
        }
    };
    // On a blocking thread: a query over thousands of lines takes milliseconds of CPU, and on
    // a runtime worker it would stall every other task there (on two cores, the client being
    // measured and the ION simulator too).
    let answer = {
        let shared = Arc::clone(&shared);
        tokio::task::spawn_blocking(move || suiteql_answer(&shared, &q, limit, offset)).await
    };
    match answer {
        Ok(r) => r,
        Err(e) => error_response(NsError::new(
            500,
            "UNEXPECTED_ERROR",
            format!("NetSuite simulator: {e}"),
        )),
    }
}

/// Runs a SuiteQL page and writes its answer (links, count, hasMore, items, totalResults).
fn suiteql_answer(shared: &Shared, q: &str, limit: u64, offset: u64) -> Response {
    let result = lock(&shared.db).suiteql(q, limit, offset);
    let (items, total) = match result {
        Ok(x) => x,
        Err(e) => return error_response(e),
    };
    let count = items.len() as u64;
    let has_more = offset + count < total;
    let href = |o: u64| {
        format!(
            "{}services/rest/query/v1/suiteql?limit={limit}&offset={o}",
            shared.base_url
        )
    };
    let mut links = vec![json!({"rel": "self", "href": href(offset)})];
    if total > 0 {
        let last = (total - 1) / limit * limit;
        links.push(json!({"rel": "first", "href": href(0)}));
        if offset > 0 {
            links.push(json!({"rel": "prev", "href": href(offset - limit)}));
        }
        if has_more {
            links.push(json!({"rel": "next", "href": href(offset + limit)}));
        }
        links.push(json!({"rel": "last", "href": href(last)}));
    }
    axum::Json(json!({
        "links": links, "count": count, "hasMore": has_more, "items": items,
        "offset": offset, "totalResults": total,
    }))
    .into_response()
}

fn is_po(rtype: &str) -> bool {
    rtype.eq_ignore_ascii_case("purchaseorder")
}

async fn get_record(
    State(shared): State<Arc<Shared>>,
    Path((rtype, id)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_bearer(&shared, &headers) {
        return *r;
    }
    let Ok(id) = id.parse::<i64>() else {
        return not_found().await;
    };
    if !is_po(&rtype) {
        return not_found().await;
    }
    let expand = params
        .get("expandSubResources")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let base = shared.base_url.as_str().trim_end_matches('/').to_owned();
    let result = lock(&shared.db).purchase_order_json(id, &base, expand);
    match result {
        Ok(j) => axum::Json(j).into_response(),
        Err(e) => error_response(e),
    }
}

async fn transform(
    State(shared): State<Arc<Shared>>,
    Path((rtype, id, transform, target)): Path<(String, String, String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = check_bearer(&shared, &headers) {
        return *r;
    }
    let (Ok(id), true, true, true) = (
        id.parse::<i64>(),
        is_po(&rtype),
        transform == "!transform",
        target.eq_ignore_ascii_case("itemreceipt"),
    ) else {
        return not_found().await;
    };
    let json: Json = match serde_json::from_slice(&body) {
        Ok(j) => j,
        Err(e) => {
            return error_response(NsError::new(
                400,
                "INVALID_CONTENT",
                format!("Invalid JSON: {e}"),
            ));
        }
    };
    let replace_item = params
        .get("replace")
        .is_some_and(|v| v.split(',').any(|x| x.trim().eq_ignore_ascii_case("item")));
    let strict = headers
        .get("x-netsuite-propertynamevalidation")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("error"));
    let now = shared.now_epoch();
    let result = lock(&shared.db).transform_to_receipt(id, &json, replace_item, strict, now);
    match result {
        Ok(new_id) => {
            let location = format!(
                "{}services/rest/record/v1/itemReceipt/{new_id}",
                shared.base_url
            );
            let mut r = StatusCode::NO_CONTENT.into_response();
            if let Ok(v) = HeaderValue::from_str(&location) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        Err(e) => error_response(e),
    }
}
