//! NetSuite client: OAuth 2.0 machine-to-machine auth, SuiteQL polling, the record API and item
//! receipts, exactly as `shared/reference/netsuite.md` describes them.
//!
//! # Layout
//! - [`settings`]: where the account lives and how the client behaves (built by `config`).
//! - [`auth`]: private-key loading, the JWT client assertion, the token cache.
//! - `transport`: the one place that sends HTTP: in-flight cap, timeouts, retries, re-auth.
//! - [`suiteql`]: the SuiteQL endpoint, its paging envelope, safe literal splicing.
//! - [`queries`]: the queries the sync needs (PO headers, lines, deletions, vendors, items).
//! - [`records`]: `purchaseOrder` through the REST record API, with lenient shapes.
//! - [`receipts`]: item receipts by transform, never blindly re-sent.
//! - [`error`]: the error type callers match on.
//!
//! # Invariants
//! - No secret (private key, assertion, access token) is ever part of a `Debug`/`Display` or log.
//! - Every SuiteQL query ends in an `ORDER BY` over a unique key and pages by keyset from
//!   `offset=0`, so the 100,000-row ceiling never applies.
//! - A non-idempotent POST is never re-sent after it may have reached NetSuite; the caller gets
//!   [`Error::OutcomeUnknown`] and looks the `externalId` up first.

pub mod auth;
pub mod error;
pub mod queries;
pub mod receipts;
pub mod records;
pub mod settings;
pub mod suiteql;
mod transport;

use std::sync::Arc;

pub use error::{Error, ErrorDetail};
pub use queries::{
    DeletedCursor, DeletedPage, DeletedPo, Item, PoCursor, PoHeader, PoHeaderPage, PoLine, Vendor,
};
pub use receipts::{ItemReceiptLine, ItemReceiptRequest};
pub use records::{PurchaseOrderLine, PurchaseOrderRecord, RecordRef};
pub use settings::Settings;
pub use suiteql::Page;

/// Result alias for this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The NetSuite client. Cheap to clone: all clones share one token cache and one in-flight
/// semaphore, which is what keeps the whole daemon under the account's concurrency limit.
#[derive(Clone)]
pub struct Client {
    inner: Arc<transport::Transport>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("netsuite::Client")
            .field("base_url", &self.inner.base_url().as_str())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds the client: loads and checks the private key (so a bad key fails at start-up, with
    /// advice, not at the first poll) and selects jsonwebtoken's crypto provider.
    pub fn new(settings: Settings) -> Result<Self> {
        Ok(Self {
            inner: Arc::new(transport::Transport::new(settings)?),
        })
    }

    /// The base URL every endpoint hangs off (token URL, SuiteQL, records).
    pub fn base_url(&self) -> &url::Url {
        self.inner.base_url()
    }

    /// Gets an access token now (minting one if none is cached). Used by `doctor` to check the
    /// login on its own, before any query.
    pub async fn check_login(&self) -> Result<()> {
        self.inner.access_token(false).await.map(|_| ())
    }
}
