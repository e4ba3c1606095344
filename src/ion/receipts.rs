//! Receipt items changed since a cursor: the ION → NetSuite direction's only read.
//!
//! Why a keyset cursor `(_updated, id)` and not `after`: the cursor is stored between polls (and
//! restarts); a keyset is meaningful forever, an opaque connection cursor may not be. Receipt
//! items are the unit because one receipt can span several POs and change after its first save.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::attributes::Attribute;
use super::transport::Replay;
use super::{
    Client, Connection, Error, IN_CHUNK, collect_pages, documents, nullable_list, nullable_string,
};

/// Position in the `(_updated, id)` order of receipt items; the next page starts strictly after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptCursor {
    /// `_updated` exactly as ION returned it (its offset format is unverified, so it is echoed,
    /// never reformatted).
    pub updated: String,
    pub id: i64,
}

impl ReceiptCursor {
    /// Before everything.
    pub fn start() -> Self {
        Self {
            updated: "1970-01-01T00:00:00Z".into(),
            id: 0,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptItem {
    pub id: i64,
    #[serde(rename = "_etag", deserialize_with = "nullable_string")]
    pub etag: String,
    #[serde(rename = "_updated", deserialize_with = "nullable_string")]
    pub updated: String,
    pub quantity: f64,
    pub receipt_id: i64,
    pub receipt: Option<ReceiptHeader>,
    pub purchase_order_line_id: Option<i64>,
    pub purchase_order_line: Option<ReceiptLine>,
    pub part_inventory_id: Option<i64>,
    /// Lot, serial and location of what was received (NetSuite inventory detail needs them).
    pub part_inventory: Option<ReceivedInventory>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReceivedInventory {
    pub id: i64,
    pub lot_number: Option<String>,
    pub serial_number: Option<String>,
    pub location_id: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptHeader {
    pub id: i64,
    pub received_at: String,
    #[serde(rename = "_updated", default)]
    pub updated: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptLine {
    pub id: i64,
    pub purchase_order_id: i64,
    pub part_id: Option<i64>,
    #[serde(default, deserialize_with = "nullable_list")]
    pub attributes: Vec<Attribute>,
}

impl ReceiptLine {
    pub fn ns_line_id(&self) -> Option<i64> {
        super::purchase_orders::ns_line_id(&self.attributes)
    }
}

#[derive(Debug, Clone)]
pub struct ReceiptItemsPage {
    pub items: Vec<ReceiptItem>,
    /// Where the next page starts (the last item's position, or the input cursor if empty).
    pub next: ReceiptCursor,
    pub has_more: bool,
}

impl Client {
    /// One page of receipt items against PO lines, strictly after `cursor`, in `(_updated, id)`
    /// order. Loop while `has_more`, storing `next` only once the page is applied.
    pub async fn receipt_items_changed_since(
        &self,
        cursor: &ReceiptCursor,
        page_size: usize,
    ) -> Result<ReceiptItemsPage, Error> {
        let mut data: Map<String, Value> = self
            .run(
                "ReceiptItemsChangedSince",
                documents::RECEIPT_ITEMS_CHANGED_SINCE,
                json!({"since": cursor.updated, "afterId": cursor.id, "first": page_size}),
                Replay::Safe,
            )
            .await?;
        let conn: Connection<ReceiptItem> =
            serde_json::from_value(data.remove("receiptItems").unwrap_or(Value::Null))
                .map_err(|e| Error::Decode(format!("receiptItems: {e}")))?;
        let items: Vec<ReceiptItem> = conn.edges.into_iter().filter_map(|e| e.node).collect();
        let next = items
            .last()
            .map(|i| ReceiptCursor {
                updated: i.updated.clone(),
                id: i.id,
            })
            .unwrap_or_else(|| cursor.clone());
        // Every item of a page is strictly after the cursor we sent; a page that ends where it
        // started repeats rows, and following it would read the same page for ever.
        if !items.is_empty() && next == *cursor {
            return Err(Error::Decode(format!(
                "receiptItems: the page after {cursor:?} ends at the same position (its items \
                 repeat the previous page)"
            )));
        }
        Ok(ReceiptItemsPage {
            has_more: conn.page_info.has_next_page && !items.is_empty(),
            items,
            next,
        })
    }

    /// Every PO-line item of the given receipts (chunked `in` filter, paged to the end), in id
    /// order per chunk. A receipt with no items left (or deleted) contributes nothing: that
    /// absence is how the caller sees deletions after mirroring.
    pub async fn receipt_items_of_receipts(
        &self,
        receipt_ids: &[i64],
    ) -> Result<Vec<ReceiptItem>, Error> {
        let mut out = Vec::new();
        for chunk in receipt_ids.chunks(IN_CHUNK) {
            let mut vars = Map::new();
            vars.insert("receiptIds".into(), json!(chunk));
            out.extend(
                collect_pages::<ReceiptItem>(
                    self,
                    "ReceiptItemsOfReceipts",
                    documents::RECEIPT_ITEMS_OF_RECEIPTS,
                    "receiptItems",
                    vars,
                )
                .await?,
            );
        }
        Ok(out)
    }
}
