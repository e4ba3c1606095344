//! `purchaseOrder` through the REST record API (reference §6). Used for verification and
//! `doctor`, not for change detection (SuiteQL does that in pages).
//!
//! Shapes are lenient on purpose: every field is optional, references are `{id, refName}` with
//! string ids, and unknown fields (custom `custbody_*`/`custcol_*` in their native types) land
//! in a flattened map.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::Deserialize;

use super::transport::Request;
use super::{Client, Result};

/// A reference to another record: `{id, refName, links}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct RecordRef {
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: Option<String>,
    #[serde(rename = "refName", default)]
    pub ref_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Sublist<T> {
    #[serde(default)]
    pub items: Vec<T>,
    #[serde(rename = "totalResults", default)]
    pub total_results: Option<u64>,
}

/// One `item.items[]` element of a purchase order.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PurchaseOrderLine {
    /// The candidate `orderLine` of the transform (equals `transactionline.id`, VERIFY).
    #[serde(default)]
    pub line: Option<i64>,
    #[serde(default)]
    pub item: Option<RecordRef>,
    #[serde(default)]
    pub item_type: Option<RecordRef>,
    #[serde(default)]
    pub quantity: Option<f64>,
    #[serde(default)]
    pub quantity_received: Option<f64>,
    #[serde(default)]
    pub quantity_billed: Option<f64>,
    #[serde(default)]
    pub rate: Option<f64>,
    #[serde(default)]
    pub amount: Option<f64>,
    #[serde(default)]
    pub is_closed: Option<bool>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub expected_receipt_date: Option<String>,
    /// Custom line fields and anything else, in their native JSON types.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// A purchase order as `GET purchaseOrder/{id}?expandSubResources=true` returns it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PurchaseOrderRecord {
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: Option<String>,
    #[serde(default)]
    pub tran_id: Option<String>,
    /// The vendor (typed as a customer reference in the schema; the href says vendor).
    #[serde(default)]
    pub entity: Option<RecordRef>,
    /// Display-text status (`{"id": "Pending Receipt"}` in a real response); do not key on it.
    #[serde(default)]
    pub status: Option<RecordRef>,
    /// The status letter: key off this one (reference §5).
    #[serde(default)]
    pub order_status: Option<RecordRef>,
    #[serde(default)]
    pub approval_status: Option<RecordRef>,
    #[serde(default)]
    pub tran_date: Option<String>,
    /// ISO-8601 UTC.
    #[serde(default)]
    pub last_modified_date: Option<String>,
    #[serde(default)]
    pub memo: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub item: Option<Sublist<PurchaseOrderLine>>,
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

impl PurchaseOrderRecord {
    /// The status letter (`orderStatus.id`), e.g. `B`.
    pub fn status_letter(&self) -> Option<&str> {
        self.order_status.as_ref()?.id.as_deref()
    }

    /// The item lines (empty when the sublist was not expanded).
    pub fn lines(&self) -> &[PurchaseOrderLine] {
        self.item
            .as_ref()
            .map(|s| s.items.as_slice())
            .unwrap_or(&[])
    }
}

/// Ids arrive as strings, but be lenient with numbers.
fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

pub(crate) const RECORD_PATH: &str = "/services/rest/record/v1";

impl Client {
    /// `GET purchaseOrder/{id}?expandSubResources=true`.
    pub async fn get_purchase_order(&self, id: i64) -> Result<PurchaseOrderRecord> {
        let path = format!("{RECORD_PATH}/purchaseOrder/{id}");
        self.inner
            .send(
                Request {
                    method: Method::GET,
                    path: &path,
                    query: vec![("expandSubResources", "true".into())],
                    json: None,
                    headers: vec![],
                    idempotent: true,
                },
                |reply| {
                    serde_json::from_slice(&reply.body)
                        .map_err(|e| format!("not a purchaseOrder record: {e}"))
                },
            )
            .await
    }
}
