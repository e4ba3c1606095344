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
mod http;
mod sql;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rand::Rng;
use secrecy::SecretString;
use serde_json::{Value as Json, json};
use tokio::sync::oneshot;
use url::Url;

pub use auth::LoginAuditEntry;
pub use db::{ItemReceiptInfo, ItemSpec, LineSpec, LineState, PoSpec, VendorSpec};

use crate::sandbox::faults::{FaultConfig, Faults};
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
    /// The base URL clients use when a reverse proxy stands in front of the simulator (tests
    /// of hostile answers): the JWT `aud` must be *that* token URL, as NetSuite requires the
    /// token endpoint the client addressed. `None`: the simulator's own address.
    pub public_url: Option<Url>,
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
            public_url: None,
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
            token_url: format!(
                "{}services/rest/auth/oauth2/v1/token",
                config.public_url.as_ref().unwrap_or(&base_url)
            ),
            base_url,
            clock: Mutex::new(clock),
            db: Mutex::new(db),
            auth: Mutex::new(auth::AuthState::default()),
            faults: RwLock::new(Arc::new(Faults::new(config.faults.clone()))),
            counters: Mutex::new(Counters::default()),
            config,
        });
        let app = http::router(shared.clone());
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
    /// leaves what a change that does not bump the date leaves (in NetSuite a line close or a
    /// receipt may not bump it, nor may a mass update or a time-zone shift): the PO changed, but
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
