//! ION simulator: an axum server on `127.0.0.1:0` speaking ION's token endpoint and GraphQL API.
//!
//! Faithful to the schema, not to our client: every document is validated against
//! `ion-schema.graphql` by apollo-compiler (invalid → HTTP 400 with graphql-js-style validation
//! messages, as graphene's HTTP layer answers), then executed against in-memory state ([`state`])
//! by apollo-compiler's executor, with resolvers over the state ([`exec`]). Root fields that are
//! valid but not simulated answer a GraphQL error naming them. Faults and latency come from the
//! shared seeded injector.
//!
//! Simulated root fields: queries `me`, `purchaseOrder(s)`, `purchaseOrderLine(s)`,
//! `supplier(s)`, `part(s)`, `receipt(s)`, `receiptItems`; mutations `create/update/delete
//! PurchaseOrder`, `create/update/deletePurchaseOrderLine`, `createSupplier`,
//! `updateOrganization{PurchaseOrder,PurchaseOrderLine,Receipt,Supplier,Part}Attributes`.
//! Receiving is not an API operation here (the daemon never receives): tests do it through
//! [`SimHandle::receive`] and friends, the way a person in the ION UI would.
//!
//! Etag conflicts: the response carries the error with `extensions.code = CONFLICT`, and by
//! default HTTP 409 (docs.firstresonance.io lists 409 for etag mismatch); with
//! [`SimConfig::conflict_as_http_409`] off it answers HTTP 200 + `errors[]` instead, so tests can
//! prove the client handles both.

mod exec;
pub mod state;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use apollo_compiler::ExecutableDocument;
use apollo_compiler::validation::Valid;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Form, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Utc};
use rand::Rng;
use serde::Deserialize;
use serde_json::{Value, json};

use state::State;
pub use state::{AttrScope, Kind, Received, Refusal};

use crate::ion::schema;
use crate::sandbox::faults::{Fault, FaultConfig, Faults, RoundTrip};

/// Path of the token endpoint (Keycloak realm `api-keys`, current path without `/auth/`).
pub const TOKEN_PATH: &str = "/realms/api-keys/protocol/openid-connect/token";

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub faults: FaultConfig,
    pub client_id: String,
    pub client_secret: String,
    /// `expires_in` of issued tokens (ION's real lifetime is undocumented).
    pub token_lifetime: Duration,
    /// Answer etag conflicts with HTTP 409 (default) rather than HTTP 200 + `errors[]`.
    pub conflict_as_http_409: bool,
    pub organization_name: String,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            faults: FaultConfig::default(),
            client_id: "sim-client".into(),
            client_secret: "sim-secret".into(),
            token_lifetime: Duration::from_secs(300),
            conflict_as_http_409: true,
            organization_name: "Simulated Org".into(),
        }
    }
}

struct Shared {
    config: SimConfig,
    state: Mutex<State>,
    faults: Faults,
    /// Issued tokens and when each stops being accepted.
    tokens: Mutex<HashMap<String, Instant>>,
    token_lifetime: Mutex<Duration>,
    /// Requests by GraphQL operation name (`<anonymous>` if none), token requests as `token`.
    counters: Mutex<BTreeMap<String, u64>>,
    /// GraphQL requests being handled now, and the most seen at once (to check client caps).
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// Time spent executing documents under the state lock (the simulator's serialised work,
    /// not its injected latency), so a benchmark can tell the server's share of the wall time.
    busy_nanos: AtomicU64,
    /// `fr-client-app` values seen, for attribution checks.
    client_apps: Mutex<BTreeMap<String, u64>>,
    /// Crash-test hook (see [`SimHandle::arm_crash_point`]).
    crash: Mutex<Option<CrashPoint>>,
    /// Race-test hooks (see [`SimHandle::hold`]).
    holds: Mutex<Vec<HoldRule>>,
    /// Operations whose next request is answered 500 unapplied ([`SimHandle::fail_next`]).
    failing: Mutex<Vec<String>>,
    /// Documents already validated, by their text: a client sends the same few documents over
    /// and over, and re-validating each against the 500 KB schema made the simulator, not the
    /// client, the bottleneck of the benchmark. Invalid documents are not cached (each gets its
    /// full error again).
    validated: Mutex<HashMap<String, Arc<Valid<ExecutableDocument>>>>,
}

/// More distinct documents than any client sends; past it the cache starts over.
const VALIDATED_CAP: usize = 512;

/// "Answer nothing after the n-th request": lets a test SIGKILL a client at an exact point.
struct CrashPoint {
    /// GraphQL requests still to apply normally.
    remaining: u64,
    /// Notified once the point is reached.
    fired: Arc<tokio::sync::Notify>,
}

/// "Hold the n-th request of this operation until released" (see [`SimHandle::hold`]).
struct HoldRule {
    operation: String,
    /// Requests of the operation still to let through before the held one.
    pass: u64,
    reached: Arc<tokio::sync::Notify>,
    released: tokio::sync::watch::Receiver<bool>,
}

/// A held request (see [`SimHandle::hold`]). Dropping it releases the request, so a failing test
/// never leaves a client hanging.
pub struct Hold {
    reached: Arc<tokio::sync::Notify>,
    release: tokio::sync::watch::Sender<bool>,
}

impl Hold {
    /// Resolves once the held request has arrived (and is waiting, unapplied).
    pub async fn reached(&self) {
        self.reached.notified().await
    }

    /// Lets the held request go on: it is applied and answered as usual.
    pub fn release(&self) {
        self.release.send_replace(true);
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.release();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Entry point: `IonSim::start(config).await`.
pub struct IonSim;

impl IonSim {
    pub async fn start(config: SimConfig) -> anyhow::Result<SimHandle> {
        let shared = Arc::new(Shared {
            faults: Faults::new(config.faults.clone()),
            state: Mutex::new(State::new(&config.organization_name)),
            tokens: Mutex::new(HashMap::new()),
            token_lifetime: Mutex::new(config.token_lifetime),
            counters: Mutex::new(BTreeMap::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            busy_nanos: AtomicU64::new(0),
            client_apps: Mutex::new(BTreeMap::new()),
            crash: Mutex::new(None),
            holds: Mutex::new(Vec::new()),
            failing: Mutex::new(Vec::new()),
            validated: Mutex::new(HashMap::new()),
            config,
        });
        // Parse the schema now, not inside the first request's latency.
        let _ = &*schema::SCHEMA;
        let app = Router::new()
            .route(TOKEN_PATH, post(token))
            .route("/graphql", post(graphql))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the ION simulator")?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "ION simulator stopped");
            }
        });
        Ok(SimHandle {
            shared,
            addr,
            server,
        })
    }
}

/// A running simulator; stops when dropped.
pub struct SimHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl SimHandle {
    /// API base (`{api_url}/graphql` is the endpoint), as `ion::Settings::api_url` expects.
    pub fn api_url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}/", self.addr)).expect("loopback URL parses")
    }

    /// The loopback address the simulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn token_url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}{TOKEN_PATH}", self.addr)).expect("loopback URL parses")
    }

    pub fn client_id(&self) -> &str {
        &self.shared.config.client_id
    }

    pub fn client_secret(&self) -> &str {
        &self.shared.config.client_secret
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.shared.state)
    }

    // ----- reference data -------------------------------------------------------------------

    /// Adds a part revision; the newest revision of a number is its latest.
    pub fn add_part(&self, part_number: &str, revision: &str) -> i64 {
        self.state().add_part(part_number, revision)
    }

    pub fn add_supplier(&self, name: &str) -> i64 {
        self.state().add_supplier(name)
    }

    /// Defines (or retypes) an org attribute; `attr_type` is an `attribute_typesattrtypesenum` value.
    pub fn define_attribute(&self, scope: AttrScope, key: &str, attr_type: &str) {
        self.state()
            .define_attribute(scope, key, attr_type, Vec::new())
    }

    /// The four definitions the sync needs, as `setup ion-attributes` would create them.
    pub fn define_required_attributes(&self) {
        let mut st = self.state();
        st.define_attribute(
            AttrScope::PurchaseOrder,
            "Netsuite PO Number",
            "STRING",
            Vec::new(),
        );
        st.define_attribute(
            AttrScope::PurchaseOrder,
            "Netsuite RecordID",
            "STRING",
            Vec::new(),
        );
        st.define_attribute(
            AttrScope::PurchaseOrderLine,
            "ns_line_id",
            "NUMBER",
            Vec::new(),
        );
        st.define_attribute(
            AttrScope::PurchaseOrderLine,
            "Non-receivable",
            "BOOLEAN",
            Vec::new(),
        );
    }

    /// `(key, type)` of the definitions in one scope.
    pub fn attribute_definitions(&self, scope: AttrScope) -> Vec<(String, String)> {
        self.state()
            .definitions
            .get(&scope)
            .into_iter()
            .flatten()
            .map(|d| (d.key.clone(), d.attr_type.clone()))
            .collect()
    }

    // ----- a person in the ION UI -----------------------------------------------------------

    /// "Save Receipt": a receipt with one item per `(line id, quantity)`, part inventory for
    /// part lines, line received quantities and PO status rolled up.
    pub fn receive(&self, items: &[(i64, f64)]) -> Result<Received, Refusal> {
        self.state().receive(items)
    }

    pub fn add_items_to_receipt(
        &self,
        receipt_id: i64,
        items: &[(i64, f64)],
    ) -> Result<Vec<i64>, Refusal> {
        self.state().add_items(receipt_id, items)
    }

    pub fn edit_receipt_item(&self, item_id: i64, quantity: f64) -> Result<(), Refusal> {
        self.state().edit_item_quantity(item_id, quantity)
    }

    pub fn delete_receipt_item(&self, item_id: i64) -> Result<(), Refusal> {
        self.state().delete_item(item_id)
    }

    pub fn delete_receipt(&self, receipt_id: i64) -> Result<(), Refusal> {
        self.state().delete_receipt(receipt_id)
    }

    /// Someone edits the PO in the UI: bumps its `_etag` (to provoke conflicts).
    pub fn touch_purchase_order(&self, id: i64) -> Result<(), Refusal> {
        let mut st = self.state();
        let etag = st
            .purchase_orders
            .get(&id)
            .map(|p| p.meta.etag.clone())
            .ok_or_else(|| Refusal::Invalid(format!("PurchaseOrder {id} does not exist")))?;
        st.update_purchase_order(&json!({"id": id, "etag": etag}))
            .map(|_| ())
    }

    // ----- crash tests ------------------------------------------------------------------------

    /// Crash-test hook: the `after_requests`-th GraphQL request from now is applied but never
    /// answered, and every later one hangs unapplied, until [`SimHandle::disarm_crash_point`].
    /// The returned `Notify` fires at that instant, so a test can SIGKILL the client exactly
    /// between "ION applied it" and "the client knows" (no sleeps, no polling).
    pub fn arm_crash_point(&self, after_requests: u64) -> Arc<tokio::sync::Notify> {
        let fired = Arc::new(tokio::sync::Notify::new());
        *lock(&self.shared.crash) = Some(CrashPoint {
            remaining: after_requests.max(1),
            fired: fired.clone(),
        });
        fired
    }

    pub fn disarm_crash_point(&self) {
        *lock(&self.shared.crash) = None;
    }

    /// Race-test hook: the `nth` (1-based, counted from now) request named `operation` waits,
    /// unapplied, until [`Hold::release`]; [`Hold::reached`] tells when it arrived. Lets a test
    /// put a client into an exact interleaving (say, a create in flight while a later lookup
    /// runs) without sleeps.
    pub fn hold(&self, operation: &str, nth: u64) -> Hold {
        let reached = Arc::new(tokio::sync::Notify::new());
        let (release, released) = tokio::sync::watch::channel(false);
        lock(&self.shared.holds).push(HoldRule {
            operation: operation.to_string(),
            pass: nth.max(1) - 1,
            reached: reached.clone(),
            released,
        });
        Hold { reached, release }
    }

    /// Test hook: the next request named `operation` is answered HTTP 500 without being
    /// applied (once per call). Lets a test fail one exact request, say a batch, and check the
    /// client's fallback.
    pub fn fail_next(&self, operation: &str) {
        lock(&self.shared.failing).push(operation.to_string());
    }

    // ----- inspection -----------------------------------------------------------------------

    /// A row as the schema shows it (scalar fields and attribute lists), or `None`.
    pub fn snapshot(&self, kind: Kind, id: i64) -> Option<Value> {
        self.state().fields(kind, id).map(Value::Object)
    }

    /// Ids of all rows of a kind.
    pub fn ids(&self, kind: Kind) -> Vec<i64> {
        self.state().ids(kind)
    }

    /// Lines of a PO, ascending id.
    pub fn line_ids(&self, po_id: i64) -> Vec<i64> {
        self.state().line_ids_of(po_id)
    }

    pub fn suppliers(&self) -> Vec<(i64, String)> {
        self.state()
            .suppliers
            .iter()
            .map(|(id, s)| (*id, s.name.clone()))
            .collect()
    }

    // ----- counters, tokens, clock ----------------------------------------------------------

    /// Requests seen for one GraphQL operation name (`token` for the token endpoint).
    pub fn requests(&self, operation: &str) -> u64 {
        lock(&self.shared.counters)
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    /// All counters.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        lock(&self.shared.counters).clone()
    }

    /// GraphQL requests of all operations (token requests excluded).
    pub fn graphql_requests(&self) -> u64 {
        lock(&self.shared.counters)
            .iter()
            .filter(|(k, _)| k.as_str() != "token")
            .map(|(_, v)| v)
            .sum()
    }

    pub fn reset_counters(&self) {
        lock(&self.shared.counters).clear();
        self.shared.max_in_flight.store(0, Ordering::SeqCst);
        self.shared.busy_nanos.store(0, Ordering::SeqCst);
    }

    /// Time the simulator spent executing GraphQL under its state lock (since the last reset).
    pub fn busy(&self) -> Duration {
        Duration::from_nanos(self.shared.busy_nanos.load(Ordering::SeqCst))
    }

    /// The most GraphQL requests the simulator was handling at once (since the last reset).
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// `fr-client-app` header values seen on GraphQL requests, with counts.
    pub fn client_apps(&self) -> BTreeMap<String, u64> {
        lock(&self.shared.client_apps).clone()
    }

    /// Lifetime of tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        *lock(&self.shared.token_lifetime) = lifetime;
    }

    /// Every issued token stops working now (as if they had expired or been revoked).
    pub fn expire_tokens(&self) {
        lock(&self.shared.tokens).clear();
    }

    /// Freezes the clock stamping `_created`/`_updated` at `at`.
    pub fn set_clock(&self, at: DateTime<Utc>) {
        self.state().clock.fixed = Some(at);
    }

    /// Moves a frozen clock forward (freezing it at now first if it was running).
    pub fn advance_clock(&self, by: Duration) {
        let mut st = self.state();
        let now = st.clock.now();
        st.clock.fixed = Some(now + chrono::Duration::from_std(by).unwrap_or_default());
    }

    /// Back to real time.
    pub fn use_real_clock(&self) {
        self.state().clock.fixed = None;
    }
}

/// Counts a request as in flight for as long as it lives.
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn enter(shared: &'a Shared) -> Self {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Self(shared)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn count(shared: &Shared, name: &str) {
    *lock(&shared.counters).entry(name.to_string()).or_default() += 1;
}

// ----- HTTP handlers ----------------------------------------------------------------------------

#[derive(Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

async fn token(AxState(shared): AxState<Arc<Shared>>, Form(form): Form<TokenForm>) -> Response {
    count(&shared, "token");
    if form.grant_type.as_deref() != Some("client_credentials") {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "unsupported_grant_type", "error_description": "Unsupported grant_type"})),
        )
            .into_response();
    }
    let ok = form.client_id.as_deref() == Some(shared.config.client_id.as_str())
        && form.client_secret.as_deref() == Some(shared.config.client_secret.as_str());
    if !ok {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client", "error_description": "Invalid client or Invalid client credentials"})),
        )
            .into_response();
    }
    let lifetime = *lock(&shared.token_lifetime);
    let token: String = {
        let bytes: [u8; 24] = rand::rng().random();
        hex::encode(bytes)
    };
    lock(&shared.tokens).insert(token.clone(), Instant::now() + lifetime);
    axum::Json(json!({
        "access_token": token,
        "expires_in": lifetime.as_secs(),
        "token_type": "Bearer",
        "scope": "profile email",
    }))
    .into_response()
}

#[derive(Deserialize)]
struct GraphQlRequest {
    query: String,
    #[serde(default)]
    variables: Option<serde_json::Map<String, Value>>,
    #[serde(default, rename = "operationName")]
    operation_name: Option<String>,
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    // Bearer (what we send) and the bare token (what First Resonance's examples send).
    let token = value.strip_prefix("Bearer ").unwrap_or(value).trim();
    lock(&shared.tokens)
        .get(token)
        .is_some_and(|until| Instant::now() < *until)
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// A response whose body fails mid-stream: the client sees the connection cut.
fn reset() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "simulated reset",
        ))
    });
    Response::new(Body::from_stream(stream))
}

fn operation_label(request: &GraphQlRequest) -> String {
    if let Some(name) = &request.operation_name {
        return name.clone();
    }
    // Cheap guess for logs/counters when no operationName was sent: `query Name` / `mutation Name`.
    let mut words = request
        .query
        .split(|c: char| c.is_whitespace() || c == '(' || c == '{');
    match (words.next(), words.find(|w| !w.is_empty())) {
        (Some("query" | "mutation"), Some(name)) => name.to_string(),
        _ => "<anonymous>".into(),
    }
}

async fn graphql(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // The request has arrived: reading it is already part of the server's time to answer.
    let trip = RoundTrip::start(shared.faults.latency());
    let request: GraphQlRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            count(&shared, "<unparsable>");
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({"errors": [{"message": format!("POST body must be JSON {{query, variables, operationName}}: {e}")}]}),
            );
        }
    };
    let label = operation_label(&request);
    count(&shared, &label);
    if let Some(app) = headers.get("fr-client-app").and_then(|v| v.to_str().ok()) {
        *lock(&shared.client_apps)
            .entry(app.to_string())
            .or_default() += 1;
    }
    let _gauge = InFlight::enter(&shared);
    if !authorized(&shared, &headers) {
        return json_response(
            StatusCode::UNAUTHORIZED,
            &json!({"errors": [{"message": "Unauthorized: invalid or expired token"}]}),
        );
    }
    trip.way_in().await;
    let answer = handle(&shared, request, &label).await;
    trip.way_back().await;
    answer
}

/// One authorised request, from its way in to its answer: faults, holds, crash points, the
/// execution itself.
async fn handle(shared: &Arc<Shared>, request: GraphQlRequest, label: &str) -> Response {
    // A test's `fail_next` stands in for a drawn fault: the same 500, unapplied.
    let failing = {
        let mut failing = lock(&shared.failing);
        let at = failing.iter().position(|o| o == label);
        at.map(|i| failing.remove(i))
    };
    let fault = match failing {
        Some(_) => Some(Fault::ServerError),
        None => shared.faults.draw(),
    };
    match fault {
        Some(Fault::TooManyRequests) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    (header::RETRY_AFTER, "0"),
                    (header::CONTENT_TYPE, "application/json"),
                ],
                json!({"errors": [{"message": "Too Many Requests"}]}).to_string(),
            )
                .into_response();
        }
        Some(Fault::ServerError) => {
            return json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"errors": [{"message": "Internal Server Error"}]}),
            );
        }
        Some(Fault::ResetBeforeApply) => return reset(),
        Some(Fault::Timeout) => tokio::time::sleep(shared.faults.stall()).await,
        _ => {}
    }
    if let Some(mut released) = held(shared, label) {
        // Closed without a release only if the `Hold` is gone, which also means "go on".
        let _ = released.wait_for(|r| *r).await;
    }
    if crash_reached(shared) {
        // Past the crash point: apply nothing more, answer never (the client is being killed).
        return std::future::pending().await;
    }
    // On a blocking thread: the state lock serialises executions, and a runtime worker parked
    // on it could not run anything else (with two cores, not even the client being measured).
    let (status, body) = {
        let shared = Arc::clone(shared);
        match tokio::task::spawn_blocking(move || run(&shared, request)).await {
            Ok(answer) => answer,
            Err(e) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"errors": [{"message": format!("ION simulator: {e}")}]}).to_string(),
            ),
        }
    };
    if crash_after(shared) {
        // The crash point: this request is applied, its answer is never sent.
        return std::future::pending().await;
    }
    match fault {
        Some(Fault::ResetAfterApply) => reset(),
        Some(Fault::MalformedJson) => {
            let text = body;
            let cut = text.len() / 2;
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                text[..cut].to_string(),
            )
                .into_response()
        }
        _ => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
    }
}

/// Counts a request against the hold rules for its operation; the release signal to wait for
/// if this is a held one (the rule is then used up).
fn held(shared: &Shared, operation: &str) -> Option<tokio::sync::watch::Receiver<bool>> {
    let mut holds = lock(&shared.holds);
    let mut fired = None;
    for (i, rule) in holds.iter_mut().enumerate() {
        if rule.operation != operation {
            continue;
        }
        if rule.pass > 0 {
            rule.pass -= 1;
        } else if fired.is_none() {
            fired = Some(i);
        }
    }
    let rule = holds.remove(fired?);
    rule.reached.notify_one();
    Some(rule.released)
}

/// Whether an armed crash point has already fired (every later request hangs unapplied).
fn crash_reached(shared: &Shared) -> bool {
    lock(&shared.crash)
        .as_ref()
        .is_some_and(|c| c.remaining == 0)
}

/// Counts one applied request against an armed crash point; true when this one is the point.
fn crash_after(shared: &Shared) -> bool {
    let mut crash = lock(&shared.crash);
    let Some(c) = crash.as_mut() else {
        return false;
    };
    if c.remaining == 0 {
        return true;
    }
    c.remaining -= 1;
    if c.remaining == 0 {
        c.fired.notify_one();
        return true;
    }
    false
}

/// Validates and executes one request; the answer's status and body.
fn run(shared: &Shared, request: GraphQlRequest) -> (StatusCode, String) {
    let cached = lock(&shared.validated).get(&request.query).cloned();
    let validated = match cached {
        Some(d) => Ok(d),
        None => schema::validate(&request.query).map(|d| {
            let d = Arc::new(d);
            let mut cache = lock(&shared.validated);
            if cache.len() >= VALIDATED_CAP {
                cache.clear();
            }
            cache.insert(request.query.clone(), Arc::clone(&d));
            d
        }),
    };
    let document = match validated {
        Ok(d) => d,
        Err(messages) => {
            let errors: Vec<Value> = messages
                .into_iter()
                .map(|m| json!({"message": m}))
                .collect();
            return (
                StatusCode::BAD_REQUEST,
                json!({"errors": errors}).to_string(),
            );
        }
    };
    // Choosing the operation and coercing the variables needs no state: not under the lock.
    let variables = request.variables.unwrap_or_default();
    let prepared = match exec::prepare(&document, request.operation_name.as_deref(), variables) {
        Ok(p) => p,
        Err(body) => return (StatusCode::OK, body),
    };
    let executed = {
        let mut st = lock(&shared.state);
        let started = Instant::now();
        let executed = exec::execute(&mut st, &document, &prepared);
        let busy = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        shared.busy_nanos.fetch_add(busy, Ordering::SeqCst);
        executed
    };
    let status = if executed.conflict && shared.config.conflict_as_http_409 {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    (status, executed.body)
}
