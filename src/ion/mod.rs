//! ION GraphQL client: Keycloak client credentials, the daemon's documents, typed operations.
//!
//! Codemap:
//! - [`auth`]: token fetch and cache (private).
//! - [`transport`]: one request with retries, timeouts, the in-flight cap (private).
//! - [`documents`]: every GraphQL document we send (validated against [`schema`] in a test).
//! - [`attributes`], [`purchase_orders`], [`suppliers`], [`parts`], [`receipts`]: typed
//!   operations, each an `impl Client` block next to the types it returns.
//! - [`error`]: failures, classified by [`Error::is_transient`].
//!
//! Invariants: no other module writes GraphQL text; no error, log or `Debug` output contains the
//! client secret or a token; every update or delete sends the row's current `_etag`, and an etag
//! conflict is answered by one re-read and one retry, never more.

pub mod attributes;
mod auth;
pub mod documents;
mod error;
pub mod parts;
pub mod purchase_orders;
pub mod receipts;
pub mod schema;
pub mod suppliers;
mod transport;

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Deserializer};

pub use attributes::{
    Attribute, AttributeDefinition, AttributeDefinitions, AttributeEntity, AttributeType,
    AttributeValue, Me, REQUIRED_ATTRIBUTES, RequiredAttribute,
};
pub use error::{Error, GraphQlError};
pub use parts::Part;
pub use purchase_orders::{
    CreatedLine, CreatedPurchaseOrder, IonPurchaseOrder, IonPurchaseOrderLine, LineChanges,
    LineEdits, NewLine, NewPurchaseOrder, PoStatus, PurchaseOrderChanges, date_of, date_time,
};
pub use receipts::{
    ReceiptCursor, ReceiptHeader, ReceiptItem, ReceiptItemsPage, ReceiptLine, ReceivedInventory,
};
pub use suppliers::Supplier;
pub use transport::CLIENT_APP;

use transport::{Replay, Transport};

/// Production API base (reference §1.2). The GraphQL endpoint is `{api_url}/graphql`.
pub const PRODUCTION_API_URL: &str = "https://api.buildwithion.com";
/// Production token endpoint (Keycloak realm `api-keys`, without the legacy `/auth/` prefix).
pub const PRODUCTION_TOKEN_URL: &str =
    "https://auth.buildwithion.com/realms/api-keys/protocol/openid-connect/token";
/// Staging ("sandbox") API base.
pub const STAGING_API_URL: &str = "https://staging-api.buildwithion.com";
/// Staging token endpoint.
pub const STAGING_TOKEN_URL: &str =
    "https://staging-auth.buildwithion.com/realms/api-keys/protocol/openid-connect/token";

/// Everything the client needs; built by the config module.
#[derive(Debug, Clone)]
pub struct Settings {
    /// API base; requests go to `{api_url}/graphql`.
    pub api_url: url::Url,
    /// The full token URL: hosts and path prefixes differ per environment and era (§1.1).
    pub token_url: url::Url,
    pub client_id: String,
    pub client_secret: SecretString,
    /// Requests in flight at once (default 4).
    pub max_in_flight: usize,
    /// Per request, token fetch included (default 30 s, ION's own gateway limit).
    pub request_timeout: Duration,
    pub backoff: crate::retry::Backoff,
}

impl Settings {
    /// Settings with the defaults for everything but where and who.
    pub fn new(
        api_url: url::Url,
        token_url: url::Url,
        client_id: impl Into<String>,
        client_secret: SecretString,
    ) -> Self {
        Self {
            api_url,
            token_url,
            client_id: client_id.into(),
            client_secret,
            max_in_flight: 4,
            request_timeout: Duration::from_secs(30),
            backoff: crate::retry::Backoff::default(),
        }
    }
}

/// The ION client. Cheap to clone: all clones share the token cache and the in-flight cap.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Transport>,
}

impl Client {
    pub fn new(settings: Settings) -> Result<Self, Error> {
        if settings.max_in_flight == 0 {
            return Err(Error::Config("max_in_flight must be at least 1".into()));
        }
        let endpoint = graphql_endpoint(&settings.api_url)?;
        let http = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        let auth = auth::TokenSource::new(
            http.clone(),
            settings.token_url,
            settings.client_id,
            settings.client_secret,
            settings.request_timeout,
        );
        Ok(Self {
            inner: Arc::new(Transport::new(
                http,
                endpoint,
                auth,
                settings.max_in_flight,
                settings.request_timeout,
                settings.backoff,
            )),
        })
    }

    pub(crate) async fn run<T: serde::de::DeserializeOwned>(
        &self,
        operation: &str,
        document: &str,
        variables: impl serde::Serialize,
        replay: Replay,
    ) -> Result<T, Error> {
        self.inner
            .execute(operation, document, &variables, replay)
            .await
    }
}

fn graphql_endpoint(api_url: &url::Url) -> Result<url::Url, Error> {
    let base = api_url.as_str().trim_end_matches('/');
    url::Url::parse(&format!("{base}/graphql"))
        .map_err(|e| Error::Config(format!("api_url {api_url}: {e}")))
}

/// GraphQL lists are nullable and may hold nulls (`[PurchaseOrderAttribute]`); the sync wants a
/// plain `Vec` of the present items.
pub(crate) fn nullable_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let v: Option<Vec<Option<T>>> = Option::deserialize(d)?;
    Ok(v.unwrap_or_default().into_iter().flatten().collect())
}

/// `_etag` is nullable in the schema; an absent etag is kept as "" (and a write with it fails
/// loudly as a conflict rather than silently).
pub(crate) fn nullable_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// A connection page as every list query returns it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Connection<T> {
    pub page_info: PageInfo,
    #[serde(
        deserialize_with = "nullable_list",
        bound(deserialize = "T: Deserialize<'de>")
    )]
    pub edges: Vec<Edge<T>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Edge<T> {
    pub node: Option<T>,
}

/// Batches of names or ids per `in` filter: bounded so documents and answers stay small (§2.3).
pub(crate) const IN_CHUNK: usize = 50;
/// Page size for lookups by `in`.
pub(crate) const LOOKUP_PAGE: i64 = 100;

/// Runs a paged lookup query to the end, collecting nodes. `field` is the root field name.
/// Looks up `values` in chunks of [`IN_CHUNK`] (one `in` filter each), the chunks in flight
/// together (the transport's cap still bounds requests), results in chunk order. `vars` builds a
/// chunk's variables. One chunk after another made a 1,000-PO page wait 20 round trips.
pub(crate) async fn collect_chunks<T, F>(
    client: &Client,
    operation: &str,
    document: &str,
    field: &str,
    values: &[String],
    vars: F,
) -> Result<Vec<T>, Error>
where
    T: serde::de::DeserializeOwned,
    F: Fn(&[String]) -> serde_json::Map<String, serde_json::Value>,
{
    use futures_util::StreamExt as _;
    let lookups: Vec<_> = values
        .chunks(IN_CHUNK)
        .map(|chunk| collect_pages::<T>(client, operation, document, field, vars(chunk)))
        .collect();
    let pages: Vec<Result<Vec<T>, Error>> = futures_util::stream::iter(lookups)
        .buffered(CHUNKS_IN_FLIGHT)
        .collect()
        .await;
    let mut out = Vec::new();
    for page in pages {
        out.extend(page?);
    }
    Ok(out)
}

/// Lookup chunks started together; the transport's in-flight cap is the real bound.
const CHUNKS_IN_FLIGHT: usize = 16;

pub(crate) async fn collect_pages<T: serde::de::DeserializeOwned>(
    client: &Client,
    operation: &str,
    document: &str,
    field: &str,
    mut variables: serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<T>, Error> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    // A cursor ION gave before means the pages loop: stop with an error rather than read for
    // ever (or act on a partial list).
    let mut seen = std::collections::HashSet::new();
    loop {
        variables.insert("first".into(), LOOKUP_PAGE.into());
        variables.insert("after".into(), after.clone().into());
        let mut data: std::collections::HashMap<String, Connection<T>> = client
            .run(operation, document, &variables, Replay::Safe)
            .await?;
        let conn = data
            .remove(field)
            .ok_or_else(|| Error::Decode(format!("{operation}: no `{field}` in data")))?;
        out.extend(conn.edges.into_iter().filter_map(|e| e.node));
        match (conn.page_info.has_next_page, conn.page_info.end_cursor) {
            (true, Some(cursor)) => {
                if !seen.insert(cursor.clone()) {
                    return Err(Error::Decode(format!(
                        "{operation}: ION's `{field}` pages loop (cursor {cursor:?} came back \
                         after {} items); nothing from this answer is used",
                        out.len()
                    )));
                }
                after = Some(cursor)
            }
            _ => return Ok(out),
        }
    }
}
