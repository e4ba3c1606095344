//! The simulator's HTTP side: routes, the governance layer every request passes, and the
//! handlers, which answer in NetSuite's shapes (bodies, headers and error format).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use rand::Rng;
use serde_json::{Value as Json, json};

use super::db::NsError;
use super::{LoginAuditEntry, Shared, lock};
use crate::sandbox::faults::{Fault, RoundTrip};

/// The routes: token, SuiteQL, record GET and the item-receipt transform, all behind the
/// governance layer (counting, the concurrency limit, latency and faults).
pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
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
        .with_state(shared)
}

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

/// NetSuite's REST error body: `type`, `title` (the status reason), `status` and one
/// `o:errorDetails` entry with `detail`, `o:errorCode` and, where a field is at fault,
/// `o:errorPath`.
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
